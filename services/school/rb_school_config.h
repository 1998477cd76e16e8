/*  rb_school_config: the school daemon's own configuration sections.
 *
 *  The runtime checks node, api, limits, link and peer (rb_config); the
 *  sections a school node adds are read here, as strictly:
 *
 *    school  location (required), contact, holidays, close_day_at
 *    rules   every field of rb_attendance_rules_t, each optional
 *    homes   <4-digit CBS municipality code> = <node name of that
 *            municipality>, which must be a configured peer; at least one
 *    region  key_file (required): the region key of the case pseudonyms
 *
 *  An unknown key, a missing required one or a bad value is refused with
 *  the key named ("homes/0363", "rules/streak_days"), and the daemon exits
 *  with code 2. What comes out is plain data plus the calendar, the homes
 *  map and the region key, owned by the rb_school_config_t.
 */
#ifndef RB_SCHOOL_CONFIG_H
#define RB_SCHOOL_CONFIG_H

#include "rb_attendance.h"
#include "rb_config.h"
#include "rb_homes.h"
#include "rb_pseudonym.h"
#include "rb_text.h"

#define RB_SCHOOL_LOCATION_LEN 6        //  BRIN + location code: "12AB00"
#define RB_SCHOOL_NEVER (-1)            //  close_minute when days are not closed by time

typedef struct {
    char location [RB_SCHOOL_LOCATION_LEN + 1];     //  school/location
    char contact [RB_TEXT_MAX + 1];     //  school/contact: the attendance desk
    int close_minute;                   //  school/close_day_at as minutes after midnight, or NEVER
    rb_calendar_t *calendar;            //  Monday to Friday with school/holidays
    rb_attendance_rules_t rules;        //  rules/*, checked
    rb_homes_t *homes;                  //  homes: CBS code -> municipality node
    rb_pseudonym_t *region;             //  region/key_file
} rb_school_config_t;

//  Read and check the school's sections of config. NULL and a refusal
//  naming the key on any error.
rb_school_config_t *rb_school_config_new (const rb_config_t *config, rb_refusal_t *why);

//  Free everything and null the caller's pointer. Idempotent.
void rb_school_config_destroy (rb_school_config_t **self_p);

//  True for a school location: 4 of [0-9A-Z] (the BRIN) then 2 digits.
bool rb_school_location_valid (const char *text);

#endif
