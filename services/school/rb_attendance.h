/*  rb_attendance: the school's attendance rules, one pupil at a time.
 *
 *  The school daemon keeps, per pupil, an rb_attendance_state_t as opaque
 *  bytes in LMDB. For every attendance record from the school's system it
 *  calls rb_attendance_apply() with that state, the school's rules and its
 *  calendar, and sends the signals it gets back to the pupil's home
 *  municipality. The module does no I/O: it is a function from (state,
 *  record) to (state, signals), so every rule is unit-tested on its own.
 *
 *  The rules, in the field's terms (see README.md in this folder):
 *
 *    episode    the first absence, or the first after enough present school
 *               days, opens an episode (FIRST_ABSENCE); enough present
 *               school days close it (EPISODE_CLOSED).
 *    streak     absent on streak_days consecutive school days (STREAK), and
 *               again at each further multiple.
 *    legal      counted absence over the trailing legal window passes a
 *               multiple of legal_minutes (LEGAL_THRESHOLD): by default
 *               unexcused absence, more than 16 hours in 28 days.
 *    rate       absent share of scheduled time over the trailing rate
 *               window above rate_permille (HIGH_RATE), once per episode.
 *    digest     any other absent day of an open episode: one DAILY_DIGEST
 *               per date at most.
 *
 *  Only school days count (rb_calendar.h). Many school systems send
 *  absences only, so a school day without a record counts as present once a
 *  later day is processed, or when the daemon closes the day with
 *  rb_attendance_close_day().
 *
 *  The state is a fixed-size struct without pointers: the daemon stores its
 *  bytes as they are (host byte order; LMDB files do not move between
 *  architectures either) and checks them with rb_attendance_state_check()
 *  after reading. Its version field lets the layout evolve. A call that is
 *  refused leaves the state untouched: the rules are applied to a copy that
 *  replaces the state only on success.
 */
#ifndef RB_ATTENDANCE_H
#define RB_ATTENDANCE_H

#include "rb_calendar.h"
#include "rb_error.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  What the rules detected. The numbers are the AbsenceSignalKind values
//  of proto/case.proto.
typedef enum {
    RB_SIGNAL_UNSPECIFIED = 0,
    RB_SIGNAL_FIRST_ABSENCE = 1,    //  an absence after enough present days: an episode opens
    RB_SIGNAL_STREAK = 2,           //  absent on streak_days consecutive school days (or a multiple)
    RB_SIGNAL_LEGAL_THRESHOLD = 3,  //  counted absence over a multiple of legal_minutes
    RB_SIGNAL_HIGH_RATE = 4,        //  absence rate over rate_permille
    RB_SIGNAL_DAILY_DIGEST = 5,     //  a further absent day of an open episode
    RB_SIGNAL_EPISODE_CLOSED = 6    //  present again: the episode ends
} rb_signal_kind_t;

//  Why a pupil was absent. The numbers are the AbsenceReason values of
//  proto/case.proto.
typedef enum {
    RB_ABSENCE_UNSPECIFIED = 0,     //  only on present records and EPISODE_CLOSED
    RB_ABSENCE_SICK = 1,
    RB_ABSENCE_UNEXCUSED = 2,       //  ongeoorloofd: what the law counts
    RB_ABSENCE_EXCUSED_OTHER = 3,   //  leave granted, appointment
    RB_ABSENCE_LATE = 4,
    RB_ABSENCE_SUSPENDED = 5,       //  schorsing
    RB_ABSENCE_NO_PLACE = 6         //  no fitting place: the thuiszitter case
} rb_absence_reason_t;

#define RB_ABSENCE_REASON_MAX 6

//  Calendar days the state remembers: the windows of the rules can be at
//  most this long, and a record older than this, counted back from the
//  latest date processed, is refused.
#define RB_ATTENDANCE_RING_DAYS 42

//  The layout version of rb_attendance_state_t.
#define RB_ATTENDANCE_STATE_VERSION 1

//  At most this many signals come from one call; out[] must have room.
#define RB_ATTENDANCE_SIGNALS_MAX 5

// ---------------------------------------------------------------------------
//  Rules

//  A school's (or region's) rules: plain data, from configuration.
typedef struct {
    uint32_t present_days_to_reopen;    //  present school days that close an episode (1)
    uint32_t streak_days;               //  consecutive absent school days for STREAK (3)
    uint32_t legal_minutes;             //  LEGAL_THRESHOLD above each multiple (960: 16 h)
    uint32_t legal_window_days;         //  calendar days of the legal window (28)
    bool count_all_absence;             //  legal counts every reason, not only unexcused (false)
    uint32_t rate_permille;             //  HIGH_RATE above this share of scheduled time (200)
    uint32_t rate_window_days;          //  calendar days of the rate window (28)
    uint32_t min_rate_days;             //  known school days in the window before HIGH_RATE (5)
    uint32_t day_minutes;               //  scheduled minutes of a school day (300)
    uint32_t lesson_minutes;            //  minutes of a lesson hour (50)
} rb_attendance_rules_t;

//  The defaults of the seed documents (values in brackets above). The law
//  counts unexcused absence; the seeds recommend counting all absence, a
//  region's choice made with count_all_absence.
rb_attendance_rules_t rb_attendance_rules_default (void);

//  Check rules: every number in its range, each refusal naming the field
//  ("rules.streak_days"). apply and close_day check the rules they get.
rb_err_t rb_attendance_rules_check (const rb_attendance_rules_t *rules, rb_refusal_t *refusal);

// ---------------------------------------------------------------------------
//  State

//  One calendar day of the ring.
typedef struct {
    uint16_t absent_minutes;        //  absence of every reason
    uint16_t unexcused_minutes;     //  absence with reason UNEXCUSED
    uint16_t scheduled_minutes;     //  day_minutes on a known school day, else 0
    uint8_t absences;               //  absence records of the day (saturates at 255)
    uint8_t flags;                  //  RB_ATTENDANCE_DAY_* below
} rb_attendance_day_t;

#define RB_ATTENDANCE_DAY_ABSENT 0x01   //  the day counted as absent in the episode
#define RB_ATTENDANCE_DAY_PRESENT 0x02  //  present record, implied or closed day
#define RB_ATTENDANCE_DAY_SIGNAL 0x04   //  an absence of the day raised a signal
#define RB_ATTENDANCE_DAY_FLAGS 0x07

//  One pupil's attendance state; fixed size, no pointers, no padding.
typedef struct {
    uint16_t version;               //  RB_ATTENDANCE_STATE_VERSION
    uint16_t size;                  //  sizeof (rb_attendance_state_t)
    uint32_t episode;               //  number of the latest episode; 0 before the first
    int32_t episode_started;        //  first absent day of the latest episode, or 0
    int32_t last_date;              //  latest date processed, or 0 before the first
    uint16_t streak;                //  consecutive absent school days up to last_date
    uint16_t present_run;           //  present school days since the last absent one (saturates)
    uint16_t legal_reported;        //  multiples of legal_minutes already signalled in the window
    uint8_t episode_open;           //  1 while the latest episode is open
    uint8_t rate_reported;          //  1 when the latest episode raised HIGH_RATE
    rb_attendance_day_t day [RB_ATTENDANCE_RING_DAYS];
                                    //  the days up to last_date, by day number modulo
                                    //  RB_ATTENDANCE_RING_DAYS
} rb_attendance_state_t;

//  A new pupil: no episode, nothing processed yet.
void rb_attendance_state_init (rb_attendance_state_t *state);

//  Check stored bytes before using them as a state: RB_EVERSION for
//  another layout version, RB_EMALFORMED for the wrong size or values no
//  state can hold (field "state"). refusal may be NULL.
rb_err_t rb_attendance_state_check (const void *bytes, size_t size, rb_refusal_t *refusal);

// ---------------------------------------------------------------------------
//  Records and signals

//  One attendance record from the school's system.
typedef struct {
    int32_t date;               //  the school day, YYYYMMDD
    uint16_t minutes;           //  absent minutes; 0 with lessons > 0: lessons * lesson_minutes
    uint16_t lessons;           //  absent lesson hours, used when minutes is 0
    bool present;               //  a present record: no minutes, no lessons, no reason
    uint8_t reason;             //  rb_absence_reason_t, 1..6, for an absence
} rb_attendance_record_t;

//  A signal for the pupil's case, as AbsenceSignal in proto/case.proto.
typedef struct {
    rb_signal_kind_t kind;          //  what was detected
    uint32_t episode;               //  episode number; 0 when no episode was ever opened
    int32_t date;                   //  the school day that raised it
    int32_t episode_started;        //  first absent day of the episode, or 0
    uint8_t reason;                 //  reason of the absence that raised it; 0 for EPISODE_CLOSED
    uint32_t streak_days;           //  consecutive absent school days so far
    uint32_t absent_minutes_4w;     //  all absence in the legal window
    uint32_t counted_minutes_4w;    //  absence the legal threshold counts, same window
    uint32_t rate_permille_4w;      //  absent share of scheduled time, rate window
    uint32_t absences_today;        //  absence records on date so far
} rb_attendance_signal_t;

//  Apply one record to a pupil's state and give the signals it raises, in
//  order, in out[0 .. *n_out - 1]; max_out must be at least
//  RB_ATTENDANCE_SIGNALS_MAX.
//
//  A record for a date after the latest processed one first counts every
//  school day in between as present. A record for an earlier date inside
//  the ring (a late record) only adds to the window sums: it can raise
//  LEGAL_THRESHOLD or HIGH_RATE but never changes the episode. Records of
//  one date add up.
//
//  Refused, with the state untouched: an invalid state ("state") or rules
//  ("rules.*"), out too small ("max_out"), an invalid date or a day off
//  ("date"), a date RB_ATTENDANCE_RING_DAYS or more before the latest
//  processed one ("date", RB_EPRECONDITION), an absence without reason or
//  an unknown reason ("reason"), a present record with minutes, lessons
//  ("present") or a reason ("reason"), an absence without minutes or
//  lessons, or over day_minutes alone or with the date's earlier absence
//  ("minutes" or "lessons").
rb_err_t rb_attendance_apply (rb_attendance_state_t *state, const rb_attendance_rules_t *rules,
                              const rb_calendar_t *calendar, const rb_attendance_record_t *record,
                              rb_attendance_signal_t out [], size_t max_out, size_t *n_out,
                              rb_refusal_t *refusal);

//  End of a school day: count the pupil present on date unless a record
//  already made it known. A date after the latest processed one counts as
//  a present record for it (and the school days in between); a date not
//  after it changes nothing. Same refusals as apply for the state, rules,
//  out and date.
rb_err_t rb_attendance_close_day (rb_attendance_state_t *state, const rb_attendance_rules_t *rules,
                                  const rb_calendar_t *calendar, int32_t date,
                                  rb_attendance_signal_t out [], size_t max_out, size_t *n_out,
                                  rb_refusal_t *refusal);

//  Stable lowercase names for logs: "first_absence", "sick"; "unknown"
//  out of range.
const char *rb_attendance_signal_name (rb_signal_kind_t kind);
const char *rb_attendance_reason_name (uint8_t reason);

#endif
