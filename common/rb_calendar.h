/*  rb_calendar: a school's dates, its school week and its holidays.
 *
 *  Dates are YYYYMMDD in an int32_t (20261123), the form the wire and the
 *  school's administration system use. For arithmetic a date becomes a day
 *  number, the days since 1970-01-01; only the years 2000 to 2100 are
 *  valid, which keeps every day number small and positive and every
 *  conversion exact without a time zone.
 *
 *  A calendar says which dates are school days: a weekday of the school
 *  week (Monday to Friday unless set otherwise) that falls in no holiday.
 *  Holidays are inclusive ranges of dates; they may overlap. The attendance
 *  rules (rb_attendance.h) count only school days, so weekends and holidays
 *  never count as absent nor as present.
 *
 *  The functions on plain dates need no calendar and never fail: an invalid
 *  date gives 0 (or -1 for a day number, false for a test).
 */
#ifndef RB_CALENDAR_H
#define RB_CALENDAR_H

#include "rb_error.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The valid range of dates.
#define RB_CALENDAR_FIRST_DATE 20000101
#define RB_CALENDAR_LAST_DATE 21001231

//  Weekdays, ISO numbering: rb_calendar_weekday() gives 1 for Monday to 7
//  for Sunday; the school week is a mask of these bits.
#define RB_CALENDAR_MONDAY (1u << 0)
#define RB_CALENDAR_TUESDAY (1u << 1)
#define RB_CALENDAR_WEDNESDAY (1u << 2)
#define RB_CALENDAR_THURSDAY (1u << 3)
#define RB_CALENDAR_FRIDAY (1u << 4)
#define RB_CALENDAR_SATURDAY (1u << 5)
#define RB_CALENDAR_SUNDAY (1u << 6)
#define RB_CALENDAR_MON_FRI 0x1Fu
#define RB_CALENDAR_ALL_DAYS 0x7Fu

//  Holiday ranges one calendar holds; more is refused (RB_ETOOLARGE).
#define RB_CALENDAR_HOLIDAYS_MAX 256

typedef struct _rb_calendar_t rb_calendar_t;

// ---------------------------------------------------------------------------
//  Plain dates

//  True for a real calendar date YYYYMMDD (leap years included) between
//  RB_CALENDAR_FIRST_DATE and RB_CALENDAR_LAST_DATE.
bool rb_calendar_date_valid (int32_t date);

//  Days since 1970-01-01 (20000101 is 10957), or -1 for an invalid date.
int32_t rb_calendar_day_number (int32_t date);

//  The date of a day number, or 0 when it lies outside the valid range.
int32_t rb_calendar_date_of (int32_t day_number);

//  The date days later (or earlier, for days < 0), or 0 when the date is
//  invalid or the result leaves the valid range.
int32_t rb_calendar_add_days (int32_t date, int32_t days);

//  ISO weekday: 1 Monday ... 7 Sunday; 0 for an invalid date.
int rb_calendar_weekday (int32_t date);

//  The date of an instant (ms since the epoch) in the process's local time
//  zone (TZ): how a node turns its clock into "today". 0 when the instant
//  falls outside the valid range.
int32_t rb_calendar_date_at (int64_t ms);

//  The instant date starts in the local time zone, in ms since the epoch:
//  how a node turns a date into a timer's due time. 0 for an invalid date.
int64_t rb_calendar_day_start_ms (int32_t date);

// ---------------------------------------------------------------------------
//  A school's calendar

//  A calendar with a Monday-to-Friday week and no holidays, or NULL on no
//  memory.
rb_calendar_t *rb_calendar_new (void);

//  Destroy the calendar and null the caller's pointer. Idempotent.
void rb_calendar_destroy (rb_calendar_t **self_p);

//  Set the school week: a non-empty mask of RB_CALENDAR_MONDAY ... SUNDAY.
//  An empty mask or unknown bits are refused (field "weekdays").
rb_err_t rb_calendar_set_weekdays (rb_calendar_t *self, unsigned mask, rb_refusal_t *refusal);

//  The school week's mask.
unsigned rb_calendar_weekdays (const rb_calendar_t *self);

//  Add the holiday from..to, both included. Refuses an invalid date
//  (field "holiday.from" or "holiday.to"), to before from ("holiday.to")
//  and a full calendar ("holiday", RB_ETOOLARGE).
rb_err_t rb_calendar_add_holiday (rb_calendar_t *self, int32_t from, int32_t to,
                                  rb_refusal_t *refusal);

//  Add holidays from text as a configuration file holds them: items
//  separated by commas, each "YYYYMMDD-YYYYMMDD" or a single "YYYYMMDD",
//  spaces allowed around items, e.g. "20261221-20270101, 20270406".
//  Empty text adds nothing. A bad item is refused with the field naming it
//  ("holidays[1]", counting from 0) and the calendar is left unchanged.
rb_err_t rb_calendar_parse_holidays (rb_calendar_t *self, const char *text,
                                     rb_refusal_t *refusal);

//  The number of holiday ranges added.
size_t rb_calendar_holiday_count (const rb_calendar_t *self);

//  True when date is valid, on a weekday of the school week and in no
//  holiday.
bool rb_calendar_is_school_day (const rb_calendar_t *self, int32_t date);

//  School days from from to to, both included; 0 when from > to or either
//  date is invalid.
int32_t rb_calendar_school_days_between (const rb_calendar_t *self, int32_t from, int32_t to);

//  The first school day after date (date itself excluded), or 0 when there
//  is none before the end of the valid range or date is invalid.
int32_t rb_calendar_next_school_day (const rb_calendar_t *self, int32_t date);

//  The last school day before date (date itself excluded), or 0 when there
//  is none after the start of the valid range or date is invalid.
int32_t rb_calendar_previous_school_day (const rb_calendar_t *self, int32_t date);

#endif
