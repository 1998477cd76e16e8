/*  unit_attendance: the school's attendance rules (rb_attendance.h).
 *
 *  Each scenario is one pupil's weeks, told as records and the signals
 *  they raise; together they are the rules' documentation. The calendar is
 *  a Monday-to-Friday week with the Christmas holiday 21 December 2026 to
 *  1 January 2027. Useful dates:
 *
 *      Mon 20261102 .. Fri 20261106     Mon 20261123 .. Fri 20261127
 *      Mon 20261109 .. Fri 20261113     Mon 20261130 .. Fri 20261204
 *      Mon 20261116 .. Fri 20261120     Mon 20261214 .. Fri 20261218
 *      holiday 20261221 .. 20270101     Mon 20270104 .. Fri 20270108
 *
 *  A school day is 300 minutes, a lesson 50; the legal threshold is more
 *  than 960 minutes (16 hours) of unexcused absence in 28 days, the rate
 *  threshold more than 200 permille over 28 days after 5 known school days.
 */
#include "rb_test.h"
#include "case.pb-c.h"
#include "rb_attendance.h"
#include <stdio.h>

//  One pupil: state, rules, calendar and what the last call gave back.
typedef struct {
    rb_attendance_state_t state;                        //  as the daemon would store it
    rb_attendance_rules_t rules;                        //  the defaults unless a test changes them
    rb_calendar_t *calendar;                            //  Monday to Friday, Christmas off
    rb_attendance_signal_t out [RB_ATTENDANCE_SIGNALS_MAX]; //  signals of the last call
    size_t n;                                           //  how many
    rb_refusal_t refusal;                               //  refusal of the last call
    char kinds [160];                                   //  "first_absence,streak" or "refused date"
} s_pupil_t;

static void
s_pupil_begin (s_pupil_t *self)
{
    memset (self, 0, sizeof *self);
    rb_attendance_state_init (&self->state);
    self->rules = rb_attendance_rules_default ();
    self->calendar = rb_calendar_new ();
    CHECK (self->calendar);
    CHECK_INT (rb_calendar_add_holiday (self->calendar, 20261221, 20270101, NULL), RB_OK);
}

static void
s_pupil_end (s_pupil_t *self)
{
    rb_calendar_destroy (&self->calendar);
}

//  What a call gave, as text: the signal names joined by commas, "" for
//  none, or "refused FIELD" with the refusal kept in self->refusal.
static const char *
s_kinds (s_pupil_t *self, rb_err_t rc)
{
    self->kinds [0] = 0;
    if (rc != RB_OK) {
        snprintf (self->kinds, sizeof self->kinds, "refused %s", self->refusal.field);
        return self->kinds;
    }
    for (size_t i = 0; i < self->n; i++) {
        size_t used = strlen (self->kinds);
        snprintf (self->kinds + used, sizeof self->kinds - used, "%s%s", i? ",": "",
                  rb_attendance_signal_name (self->out [i].kind));
    }
    return self->kinds;
}

static const char *
s_record (s_pupil_t *self, rb_attendance_record_t record)
{
    rb_refusal_clear (&self->refusal);
    self->n = 99;
    rb_err_t rc = rb_attendance_apply (&self->state, &self->rules, self->calendar, &record,
                                       self->out, RB_ATTENDANCE_SIGNALS_MAX, &self->n, &self->refusal);
    CHECK_INT (rc, self->refusal.code);
    if (rc)
        CHECK_INT (self->n, 0);
    return s_kinds (self, rc);
}

//  Absent for minutes on date, for reason.
static const char *
s_absent (s_pupil_t *self, int32_t date, uint16_t minutes, uint8_t reason)
{
    return s_record (self, (rb_attendance_record_t) { .date = date, .minutes = minutes, .reason = reason });
}

//  Absent for a number of lesson hours.
static const char *
s_lessons (s_pupil_t *self, int32_t date, uint16_t lessons, uint8_t reason)
{
    return s_record (self, (rb_attendance_record_t) { .date = date, .lessons = lessons, .reason = reason });
}

//  An explicit present record.
static const char *
s_present (s_pupil_t *self, int32_t date)
{
    return s_record (self, (rb_attendance_record_t) { .date = date, .present = true });
}

//  The daemon closes a school day that had no record.
static const char *
s_close (s_pupil_t *self, int32_t date)
{
    rb_refusal_clear (&self->refusal);
    self->n = 99;
    rb_err_t rc = rb_attendance_close_day (&self->state, &self->rules, self->calendar, date,
                                           self->out, RB_ATTENDANCE_SIGNALS_MAX, &self->n, &self->refusal);
    return s_kinds (self, rc);
}

//  The signal of a kind from the last call; fails the test when absent.
static const rb_attendance_signal_t *
s_signal (s_pupil_t *self, rb_signal_kind_t kind)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->out [i].kind == kind)
            return &self->out [i];
    CHECK (!"the signal was raised");
    return NULL;
}

//  Close every school day from..to (the pupil was there).
static void
s_close_days (s_pupil_t *self, int32_t from, int32_t to)
{
    for (int32_t date = from; date && date <= to; date = rb_calendar_add_days (date, 1))
        if (rb_calendar_is_school_day (self->calendar, date))
            CHECK_STR (s_close (self, date), "");
}

// ---------------------------------------------------------------------------

static void
s_test_contract (void)
{
    rb_test_section ("signal kinds and reasons carry the numbers of proto/case.proto");
    CHECK_INT (RB_SIGNAL_FIRST_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE);
    CHECK_INT (RB_SIGNAL_STREAK, REGIEBUS__ABSENCE_SIGNAL_KIND__STREAK);
    CHECK_INT (RB_SIGNAL_LEGAL_THRESHOLD, REGIEBUS__ABSENCE_SIGNAL_KIND__LEGAL_THRESHOLD);
    CHECK_INT (RB_SIGNAL_HIGH_RATE, REGIEBUS__ABSENCE_SIGNAL_KIND__HIGH_RATE);
    CHECK_INT (RB_SIGNAL_DAILY_DIGEST, REGIEBUS__ABSENCE_SIGNAL_KIND__DAILY_DIGEST);
    CHECK_INT (RB_SIGNAL_EPISODE_CLOSED, REGIEBUS__ABSENCE_SIGNAL_KIND__EPISODE_CLOSED);
    CHECK_INT (RB_ABSENCE_SICK, REGIEBUS__ABSENCE_REASON__SICK);
    CHECK_INT (RB_ABSENCE_UNEXCUSED, REGIEBUS__ABSENCE_REASON__UNEXCUSED);
    CHECK_INT (RB_ABSENCE_EXCUSED_OTHER, REGIEBUS__ABSENCE_REASON__EXCUSED_OTHER);
    CHECK_INT (RB_ABSENCE_LATE, REGIEBUS__ABSENCE_REASON__LATE);
    CHECK_INT (RB_ABSENCE_SUSPENDED, REGIEBUS__ABSENCE_REASON__SUSPENDED);
    CHECK_INT (RB_ABSENCE_NO_PLACE, REGIEBUS__ABSENCE_REASON__NO_PLACE);
    CHECK_STR (rb_attendance_signal_name (RB_SIGNAL_FIRST_ABSENCE), "first_absence");
    CHECK_STR (rb_attendance_signal_name (RB_SIGNAL_EPISODE_CLOSED), "episode_closed");
    CHECK_STR (rb_attendance_signal_name ((rb_signal_kind_t) 7), "unknown");
    CHECK_STR (rb_attendance_reason_name (RB_ABSENCE_NO_PLACE), "no_place");
    CHECK_STR (rb_attendance_reason_name (0), "unspecified");
    CHECK_STR (rb_attendance_reason_name (7), "unknown");

    rb_test_section ("the default rules are the seeds' numbers");
    rb_attendance_rules_t rules = rb_attendance_rules_default ();
    CHECK_INT (rules.present_days_to_reopen, 1);
    CHECK_INT (rules.streak_days, 3);
    CHECK_INT (rules.legal_minutes, 960);
    CHECK_INT (rules.legal_window_days, 28);
    CHECK (!rules.count_all_absence);
    CHECK_INT (rules.rate_permille, 200);
    CHECK_INT (rules.rate_window_days, 28);
    CHECK_INT (rules.min_rate_days, 5);
    CHECK_INT (rules.day_minutes, 300);
    CHECK_INT (rules.lesson_minutes, 50);
    rb_refusal_t refusal;
    rb_refusal_clear (&refusal);
    CHECK_INT (rb_attendance_rules_check (&rules, &refusal), RB_OK);

    rb_test_section ("rules out of range are refused by name");
    static const struct {
        size_t offset;
        uint32_t value;
        const char *field;
    } bad [] = {
        { offsetof (rb_attendance_rules_t, present_days_to_reopen), 0, "rules.present_days_to_reopen" },
        { offsetof (rb_attendance_rules_t, streak_days), 0, "rules.streak_days" },
        { offsetof (rb_attendance_rules_t, legal_minutes), 0, "rules.legal_minutes" },
        { offsetof (rb_attendance_rules_t, legal_window_days), 0, "rules.legal_window_days" },
        { offsetof (rb_attendance_rules_t, legal_window_days), RB_ATTENDANCE_RING_DAYS + 1, "rules.legal_window_days" },
        { offsetof (rb_attendance_rules_t, rate_permille), 1001, "rules.rate_permille" },
        { offsetof (rb_attendance_rules_t, rate_window_days), 0, "rules.rate_window_days" },
        { offsetof (rb_attendance_rules_t, min_rate_days), RB_ATTENDANCE_RING_DAYS + 1, "rules.min_rate_days" },
        { offsetof (rb_attendance_rules_t, day_minutes), 0, "rules.day_minutes" },
        { offsetof (rb_attendance_rules_t, day_minutes), 1441, "rules.day_minutes" },
        { offsetof (rb_attendance_rules_t, lesson_minutes), 0, "rules.lesson_minutes" },
        { offsetof (rb_attendance_rules_t, lesson_minutes), 301, "rules.lesson_minutes" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        rb_attendance_rules_t broken = rb_attendance_rules_default ();
        memcpy ((char *) &broken + bad [i].offset, &bad [i].value, sizeof (uint32_t));
        CHECK_INT (rb_attendance_rules_check (&broken, &refusal), RB_EINVALID);
        CHECK_REFUSAL (&refusal, RB_EINVALID, bad [i].field);
    }
    CHECK_INT (rb_attendance_rules_check (NULL, &refusal), RB_EMISSING);
}

static void
s_test_first_absence (void)
{
    rb_test_section ("the very first absence, whatever its reason, opens episode 1");
    s_pupil_t p;
    s_pupil_begin (&p);
    CHECK_STR (s_absent (&p, 20261102, 300, RB_ABSENCE_SICK), "first_absence");
    const rb_attendance_signal_t *s = s_signal (&p, RB_SIGNAL_FIRST_ABSENCE);
    CHECK_INT (s->episode, 1);
    CHECK_INT (s->date, 20261102);
    CHECK_INT (s->episode_started, 20261102);
    CHECK_INT (s->reason, RB_ABSENCE_SICK);
    CHECK_INT (s->streak_days, 1);
    CHECK_INT (s->absent_minutes_4w, 300);
    CHECK_INT (s->counted_minutes_4w, 0);           //  sick: the law does not count it
    CHECK_INT (s->rate_permille_4w, 1000);          //  the one known day, all absent
    CHECK_INT (s->absences_today, 1);
    CHECK_INT (p.state.episode, 1);
    CHECK (p.state.episode_open);
    CHECK_INT (p.state.last_date, 20261102);

    rb_test_section ("the next day is the same episode: a digest, not a new first absence");
    CHECK_STR (s_absent (&p, 20261103, 300, RB_ABSENCE_SICK), "daily_digest");
    s = s_signal (&p, RB_SIGNAL_DAILY_DIGEST);
    CHECK_INT (s->episode, 1);
    CHECK_INT (s->episode_started, 20261102);
    CHECK_INT (s->streak_days, 2);
    CHECK_INT (s->absent_minutes_4w, 600);

    rb_test_section ("the third consecutive school day is a streak");
    CHECK_STR (s_absent (&p, 20261104, 300, RB_ABSENCE_SICK), "streak");
    CHECK_INT (s_signal (&p, RB_SIGNAL_STREAK)->streak_days, 3);
    CHECK_STR (s_absent (&p, 20261105, 300, RB_ABSENCE_SICK), "daily_digest");
    //  Day 5: enough history for the rate, which is 100%.
    CHECK_STR (s_absent (&p, 20261106, 300, RB_ABSENCE_SICK), "high_rate");
    CHECK_INT (s_signal (&p, RB_SIGNAL_HIGH_RATE)->rate_permille_4w, 1000);
    //  Each further multiple of the streak.
    CHECK_STR (s_absent (&p, 20261109, 300, RB_ABSENCE_SICK), "streak");
    CHECK_INT (s_signal (&p, RB_SIGNAL_STREAK)->streak_days, 6);
    CHECK_STR (s_absent (&p, 20261110, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_STR (s_absent (&p, 20261111, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_STR (s_absent (&p, 20261112, 300, RB_ABSENCE_SICK), "streak");
    CHECK_INT (s_signal (&p, RB_SIGNAL_STREAK)->streak_days, 9);
    CHECK_INT (p.state.episode, 1);
    s_pupil_end (&p);
}

static void
s_test_days_off (void)
{
    rb_test_section ("weekends and holidays neither break a streak nor count");
    s_pupil_t p;
    s_pupil_begin (&p);
    CHECK_STR (s_absent (&p, 20261218, 300, RB_ABSENCE_SICK), "first_absence");    //  Friday
    //  Two weeks of Christmas holiday and two weekends later.
    CHECK_STR (s_absent (&p, 20270104, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_INT (s_signal (&p, RB_SIGNAL_DAILY_DIGEST)->streak_days, 2);
    CHECK_STR (s_absent (&p, 20270105, 300, RB_ABSENCE_SICK), "streak");
    const rb_attendance_signal_t *s = s_signal (&p, RB_SIGNAL_STREAK);
    CHECK_INT (s->streak_days, 3);
    CHECK_INT (s->episode_started, 20261218);
    //  Three known school days, all absent: days off add no scheduled time.
    CHECK_INT (s->absent_minutes_4w, 900);
    CHECK_INT (s->rate_permille_4w, 1000);
    s_pupil_end (&p);
}

static void
s_test_episode_closed (void)
{
    rb_test_section ("an explicit present record closes the episode; the next absence opens a new one");
    s_pupil_t p;
    s_pupil_begin (&p);
    p.rules.rate_permille = 1000;                   //  the rate rule out of the way
    CHECK_STR (s_absent (&p, 20261102, 100, RB_ABSENCE_UNEXCUSED), "first_absence");
    CHECK_STR (s_present (&p, 20261103), "episode_closed");
    const rb_attendance_signal_t *s = s_signal (&p, RB_SIGNAL_EPISODE_CLOSED);
    CHECK_INT (s->episode, 1);
    CHECK_INT (s->date, 20261103);
    CHECK_INT (s->episode_started, 20261102);
    CHECK_INT (s->reason, 0);
    CHECK_INT (s->streak_days, 0);
    CHECK_INT (s->counted_minutes_4w, 100);
    CHECK (!p.state.episode_open);
    //  Present again the same day: nothing new.
    CHECK_STR (s_present (&p, 20261103), "");
    CHECK_STR (s_absent (&p, 20261104, 300, RB_ABSENCE_SICK), "first_absence");
    s = s_signal (&p, RB_SIGNAL_FIRST_ABSENCE);
    CHECK_INT (s->episode, 2);
    CHECK_INT (s->episode_started, 20261104);
    CHECK_INT (s->streak_days, 1);

    rb_test_section ("a later record implies presence on the school days without one");
    //  Nothing on Thursday: Friday's absence first closes episode 2 on Thursday.
    CHECK_STR (s_absent (&p, 20261106, 300, RB_ABSENCE_SICK), "episode_closed,first_absence");
    CHECK_INT (p.out [0].episode, 2);
    CHECK_INT (p.out [0].date, 20261105);
    CHECK_INT (p.out [1].episode, 3);
    CHECK_INT (p.out [1].date, 20261106);
    CHECK_INT (p.out [1].streak_days, 1);

    rb_test_section ("absent and then present on the same day: late, but there");
    CHECK_STR (s_absent (&p, 20261109, 50, RB_ABSENCE_LATE), "daily_digest");
    CHECK_STR (s_present (&p, 20261109), "episode_closed");
    CHECK_INT (p.out [0].date, 20261109);
    CHECK_INT (p.out [0].absences_today, 1);

    rb_test_section ("present and then absent on the same day: left early, a new episode");
    CHECK_STR (s_absent (&p, 20261109, 100, RB_ABSENCE_UNEXCUSED), "first_absence");
    CHECK_INT (p.out [0].episode, 4);
    CHECK_INT (p.out [0].episode_started, 20261109);
    CHECK_INT (p.out [0].streak_days, 1);
    CHECK_INT (p.out [0].absences_today, 2);
    CHECK_STR (s_absent (&p, 20261110, 100, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_INT (p.out [0].streak_days, 2);
    s_pupil_end (&p);
}

static void
s_test_close_day (void)
{
    rb_test_section ("the daemon closes a school day without a record: present");
    s_pupil_t p;
    s_pupil_begin (&p);
    p.rules.rate_permille = 1000;                   //  the rate rule out of the way
    //  A new pupil's days build history and raise nothing.
    CHECK_STR (s_close (&p, 20261102), "");
    CHECK_INT (p.state.last_date, 20261102);
    CHECK_INT (p.state.episode, 0);
    CHECK_STR (s_absent (&p, 20261103, 300, RB_ABSENCE_UNEXCUSED), "first_absence");
    //  Closing a day with a record, or an earlier day, changes nothing.
    rb_attendance_state_t before = p.state;
    CHECK_STR (s_close (&p, 20261103), "");
    CHECK_STR (s_close (&p, 20261102), "");
    CHECK (memcmp (&before, &p.state, sizeof before) == 0);
    //  The next school day without a record closes the episode.
    CHECK_STR (s_close (&p, 20261104), "episode_closed");
    CHECK_INT (p.out [0].date, 20261104);
    CHECK_INT (p.out [0].episode, 1);
    CHECK_STR (s_close (&p, 20261105), "");
    //  Closing a later day also counts the school days in between.
    CHECK_STR (s_absent (&p, 20261106, 300, RB_ABSENCE_UNEXCUSED), "first_absence");
    CHECK_STR (s_close (&p, 20261110), "episode_closed");
    CHECK_INT (p.out [0].date, 20261109);              //  Monday, the first present day
    CHECK_INT (p.state.last_date, 20261110);

    rb_test_section ("days off and invalid dates cannot be closed");
    before = p.state;
    CHECK_STR (s_close (&p, 20261114), "refused date");    //  Saturday
    CHECK_STR (s_close (&p, 20261131), "refused date");
    CHECK (memcmp (&before, &p.state, sizeof before) == 0);
    s_pupil_end (&p);
}

static void
s_test_reopen_after_days (void)
{
    rb_test_section ("with present_days_to_reopen 2, one present day does not end the episode");
    s_pupil_t p;
    s_pupil_begin (&p);
    p.rules.present_days_to_reopen = 2;
    p.rules.rate_permille = 1000;                   //  the rate rule out of the way
    CHECK_STR (s_absent (&p, 20261102, 300, RB_ABSENCE_SICK), "first_absence");
    CHECK_STR (s_present (&p, 20261103), "");
    //  Same episode; the present day broke the streak.
    CHECK_STR (s_absent (&p, 20261104, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_INT (p.out [0].episode, 1);
    CHECK_INT (p.out [0].streak_days, 1);
    CHECK_STR (s_present (&p, 20261105), "");
    CHECK_STR (s_present (&p, 20261106), "episode_closed");
    CHECK_INT (p.out [0].date, 20261106);
    CHECK_STR (s_absent (&p, 20261109, 300, RB_ABSENCE_SICK), "first_absence");
    CHECK_INT (p.out [0].episode, 2);
    s_pupil_end (&p);
}

static void
s_test_legal_threshold (void)
{
    rb_test_section ("more than 16 hours of unexcused absence in 4 weeks: LEGAL_THRESHOLD");
    s_pupil_t p;
    s_pupil_begin (&p);
    //  Only the legal rule here: the streak and rate rules out of the way.
    p.rules.streak_days = 365;
    p.rules.rate_permille = 1000;
    CHECK_STR (s_absent (&p, 20261102, 300, RB_ABSENCE_UNEXCUSED), "first_absence");
    CHECK_STR (s_absent (&p, 20261103, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_STR (s_absent (&p, 20261104, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    //  Exactly 960 minutes is not more than 16 hours.
    CHECK_STR (s_absent (&p, 20261105, 60, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_INT (p.out [0].counted_minutes_4w, 960);
    //  One minute more is.
    CHECK_STR (s_absent (&p, 20261105, 1, RB_ABSENCE_UNEXCUSED), "legal_threshold");
    const rb_attendance_signal_t *s = s_signal (&p, RB_SIGNAL_LEGAL_THRESHOLD);
    CHECK_INT (s->date, 20261105);
    CHECK_INT (s->counted_minutes_4w, 961);
    CHECK_INT (s->absent_minutes_4w, 961);
    CHECK_INT (s->absences_today, 2);
    CHECK_INT (s->episode, 1);
    //  No second report until the next multiple is passed.
    CHECK_STR (s_absent (&p, 20261106, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_STR (s_absent (&p, 20261109, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_STR (s_absent (&p, 20261110, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_STR (s_absent (&p, 20261111, 59, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_INT (p.out [0].counted_minutes_4w, 1920);
    CHECK_STR (s_absent (&p, 20261111, 1, RB_ABSENCE_UNEXCUSED), "legal_threshold");
    CHECK_INT (p.out [0].counted_minutes_4w, 1921);
    s_pupil_end (&p);

    rb_test_section ("sick absence does not count, unless the region counts all absence");
    s_pupil_begin (&p);
    p.rules.streak_days = 365;
    p.rules.rate_permille = 1000;
    CHECK_STR (s_absent (&p, 20261102, 300, RB_ABSENCE_SICK), "first_absence");
    CHECK_STR (s_absent (&p, 20261103, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_STR (s_absent (&p, 20261104, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_STR (s_absent (&p, 20261105, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_INT (p.out [0].absent_minutes_4w, 1200);
    CHECK_INT (p.out [0].counted_minutes_4w, 0);
    //  Unexcused absence counts, sick alongside it still does not.
    CHECK_STR (s_absent (&p, 20261106, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_INT (p.out [0].counted_minutes_4w, 300);
    //  The region's choice, the seeds' advice: count every reason.
    p.rules.count_all_absence = true;
    CHECK_STR (s_absent (&p, 20261109, 50, RB_ABSENCE_EXCUSED_OTHER), "legal_threshold");
    CHECK_INT (p.out [0].counted_minutes_4w, 1550);
    CHECK_INT (p.out [0].reason, RB_ABSENCE_EXCUSED_OTHER);
    s_pupil_end (&p);
}

static void
s_test_window_slides (void)
{
    rb_test_section ("absence older than 28 days drops out of the window");
    s_pupil_t p;
    s_pupil_begin (&p);
    p.rules.rate_permille = 1000;
    CHECK_STR (s_absent (&p, 20261102, 100, RB_ABSENCE_UNEXCUSED), "first_absence");
    CHECK_STR (s_close (&p, 20261103), "episode_closed");
    //  Friday 27 November: the window 31 October .. 27 November holds 2 November.
    CHECK_STR (s_absent (&p, 20261127, 300, RB_ABSENCE_UNEXCUSED), "first_absence");
    CHECK_INT (p.out [0].counted_minutes_4w, 400);
    //  Monday 30 November: the window starts on 3 November.
    CHECK_STR (s_absent (&p, 20261130, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_INT (p.out [0].counted_minutes_4w, 600);
    CHECK_INT (p.out [0].absent_minutes_4w, 600);
    s_pupil_end (&p);

    rb_test_section ("once the window has slid below it, 16 hours is reported again");
    s_pupil_begin (&p);
    p.rules.rate_permille = 1000;
    p.rules.streak_days = 365;
    CHECK_STR (s_absent (&p, 20261102, 300, RB_ABSENCE_UNEXCUSED), "first_absence");
    CHECK_STR (s_absent (&p, 20261103, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_STR (s_absent (&p, 20261104, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_STR (s_absent (&p, 20261105, 61, RB_ABSENCE_UNEXCUSED), "legal_threshold");
    CHECK_INT (p.state.legal_reported, 1);
    //  Five weeks later the November absence is out of the window.
    CHECK_STR (s_absent (&p, 20261207, 300, RB_ABSENCE_UNEXCUSED), "episode_closed,first_absence");
    CHECK_INT (p.out [0].date, 20261106);
    CHECK_INT (p.out [1].counted_minutes_4w, 300);
    CHECK_INT (p.state.legal_reported, 0);
    CHECK_STR (s_absent (&p, 20261208, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_STR (s_absent (&p, 20261209, 300, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_STR (s_absent (&p, 20261210, 61, RB_ABSENCE_UNEXCUSED), "legal_threshold");
    CHECK_INT (p.out [0].episode, 2);
    CHECK_INT (p.out [0].counted_minutes_4w, 961);
    s_pupil_end (&p);
}

static void
s_test_high_rate (void)
{
    rb_test_section ("more than 20% absence in 4 weeks: HIGH_RATE, once per episode");
    s_pupil_t p;
    s_pupil_begin (&p);
    s_close_days (&p, 20261102, 20261106);                          //  a week at school
    CHECK_STR (s_absent (&p, 20261109, 300, RB_ABSENCE_SICK), "first_absence");
    CHECK_INT (p.out [0].rate_permille_4w, 166);                    //  300 of 1800
    CHECK_STR (s_absent (&p, 20261110, 300, RB_ABSENCE_SICK), "high_rate");
    const rb_attendance_signal_t *s = s_signal (&p, RB_SIGNAL_HIGH_RATE);
    CHECK_INT (s->rate_permille_4w, 285);                           //  600 of 2100
    CHECK_INT (s->episode, 1);
    CHECK_INT (s->streak_days, 2);
    CHECK_STR (s_absent (&p, 20261111, 300, RB_ABSENCE_SICK), "streak");
    CHECK_STR (s_absent (&p, 20261112, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_STR (s_present (&p, 20261113), "episode_closed");
    //  A new episode may raise it again.
    CHECK_STR (s_absent (&p, 20261116, 300, RB_ABSENCE_SICK), "first_absence,high_rate");
    CHECK_INT (p.out [1].episode, 2);
    CHECK_INT (p.out [1].rate_permille_4w, 454);                    //  1500 of 3300
    s_pupil_end (&p);

    rb_test_section ("not before 5 known school days: one absent day is not 100%");
    s_pupil_begin (&p);
    CHECK_STR (s_absent (&p, 20261102, 300, RB_ABSENCE_SICK), "first_absence");
    CHECK_INT (p.out [0].rate_permille_4w, 1000);
    CHECK_STR (s_present (&p, 20261103), "episode_closed");
    CHECK_STR (s_absent (&p, 20261104, 300, RB_ABSENCE_SICK), "first_absence");
    CHECK_STR (s_absent (&p, 20261105, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_INT (p.out [0].rate_permille_4w, 750);
    CHECK_STR (s_absent (&p, 20261106, 300, RB_ABSENCE_SICK), "streak,high_rate");
    CHECK_INT (p.out [1].rate_permille_4w, 800);
    s_pupil_end (&p);
}

static void
s_test_lessons (void)
{
    rb_test_section ("a record may count lesson hours instead of minutes");
    s_pupil_t p;
    s_pupil_begin (&p);
    CHECK_STR (s_lessons (&p, 20261102, 2, RB_ABSENCE_UNEXCUSED), "first_absence");
    CHECK_INT (p.out [0].absent_minutes_4w, 100);
    CHECK_INT (p.out [0].counted_minutes_4w, 100);
    //  Minutes win when both are given.
    CHECK_STR (s_record (&p, (rb_attendance_record_t) { .date = 20261102, .minutes = 30, .lessons = 1,
                                                          .reason = RB_ABSENCE_UNEXCUSED }), "");
    CHECK_STR (s_lessons (&p, 20261103, 1, RB_ABSENCE_UNEXCUSED), "daily_digest");
    CHECK_INT (p.out [0].absent_minutes_4w, 100 + 30 + 50);

    rb_test_section ("a school's own lesson length");
    p.rules.lesson_minutes = 45;
    CHECK_STR (s_lessons (&p, 20261104, 2, RB_ABSENCE_UNEXCUSED), "streak");
    CHECK_INT (p.out [0].absent_minutes_4w, 180 + 90);
    CHECK_STR (s_lessons (&p, 20261105, 7, RB_ABSENCE_UNEXCUSED), "refused lessons");  //  315 > 300
    CHECK_INT (p.refusal.code, RB_EINVALID);
    CHECK_STR (s_lessons (&p, 20261105, 6, RB_ABSENCE_UNEXCUSED), "daily_digest");     //  270
    CHECK_STR (s_lessons (&p, 20261105, 1, RB_ABSENCE_UNEXCUSED), "refused lessons");  //  315 that day
    s_pupil_end (&p);
}

static void
s_test_same_day (void)
{
    rb_test_section ("several lessons on one day: their minutes add up, one signal per day");
    s_pupil_t p;
    s_pupil_begin (&p);
    CHECK_STR (s_lessons (&p, 20261102, 1, RB_ABSENCE_SICK), "first_absence");
    CHECK_STR (s_lessons (&p, 20261102, 1, RB_ABSENCE_SICK), "");
    CHECK_STR (s_lessons (&p, 20261102, 1, RB_ABSENCE_UNEXCUSED), "");
    CHECK_STR (s_lessons (&p, 20261103, 1, RB_ABSENCE_SICK), "daily_digest");
    const rb_attendance_signal_t *s = s_signal (&p, RB_SIGNAL_DAILY_DIGEST);
    CHECK_INT (s->absences_today, 1);
    CHECK_INT (s->streak_days, 2);                  //  days, not lessons
    CHECK_INT (s->absent_minutes_4w, 200);
    CHECK_INT (s->counted_minutes_4w, 50);
    CHECK_STR (s_lessons (&p, 20261103, 1, RB_ABSENCE_SICK), "");
    CHECK_STR (s_lessons (&p, 20261103, 1, RB_ABSENCE_SICK), "");
    CHECK_STR (s_lessons (&p, 20261104, 1, RB_ABSENCE_SICK), "streak");
    CHECK_INT (p.out [0].streak_days, 3);
    CHECK_INT (p.out [0].absences_today, 1);

    rb_test_section ("a day holds no more absence than its scheduled minutes");
    CHECK_STR (s_absent (&p, 20261104, 250, RB_ABSENCE_SICK), "");
    CHECK_STR (s_absent (&p, 20261104, 1, RB_ABSENCE_SICK), "refused minutes");
    CHECK_INT (p.refusal.code, RB_EINVALID);
    CHECK (strstr (p.refusal.message, "20261104"));
    s_pupil_end (&p);
}

static bool
s_unchanged (const s_pupil_t *p, const rb_attendance_state_t *before)
{
    return memcmp (&p->state, before, sizeof *before) == 0;
}

static void
s_test_refusals (void)
{
    rb_test_section ("every refusal names the field and leaves the state as it was");
    s_pupil_t p;
    s_pupil_begin (&p);
    CHECK_STR (s_absent (&p, 20261102, 300, RB_ABSENCE_SICK), "first_absence");
    CHECK_STR (s_absent (&p, 20261103, 100, RB_ABSENCE_UNEXCUSED), "daily_digest");
    rb_attendance_state_t before = p.state;

    CHECK_STR (s_absent (&p, 20261131, 300, RB_ABSENCE_SICK), "refused date");
    CHECK_REFUSAL (&p.refusal, RB_EINVALID, "date");
    CHECK (s_unchanged (&p, &before));
    CHECK_STR (s_absent (&p, 20261107, 300, RB_ABSENCE_SICK), "refused date");     //  Saturday
    CHECK_REFUSAL (&p.refusal, RB_EINVALID, "date");
    CHECK_STR (p.refusal.message, "20261107 is not a school day");
    CHECK_STR (s_absent (&p, 20261223, 300, RB_ABSENCE_SICK), "refused date");     //  Christmas holiday
    CHECK_STR (s_present (&p, 20261226), "refused date");
    CHECK (s_unchanged (&p, &before));

    CHECK_STR (s_absent (&p, 20261104, 300, 7), "refused reason");
    CHECK_REFUSAL (&p.refusal, RB_EINVALID, "reason");
    CHECK_STR (s_absent (&p, 20261104, 300, RB_ABSENCE_UNSPECIFIED), "refused reason");
    CHECK_REFUSAL (&p.refusal, RB_EMISSING, "reason");
    CHECK (s_unchanged (&p, &before));

    CHECK_STR (s_absent (&p, 20261104, 301, RB_ABSENCE_SICK), "refused minutes");
    CHECK_REFUSAL (&p.refusal, RB_EINVALID, "minutes");
    CHECK_STR (s_lessons (&p, 20261104, 7, RB_ABSENCE_SICK), "refused lessons");
    CHECK_REFUSAL (&p.refusal, RB_EINVALID, "lessons");
    CHECK_STR (s_absent (&p, 20261104, 0, RB_ABSENCE_SICK), "refused minutes");
    CHECK_REFUSAL (&p.refusal, RB_EMISSING, "minutes");
    //  100 minutes already on 3 November.
    CHECK_STR (s_absent (&p, 20261103, 201, RB_ABSENCE_SICK), "refused minutes");
    CHECK_REFUSAL (&p.refusal, RB_EINVALID, "minutes");
    CHECK (s_unchanged (&p, &before));

    CHECK_STR (s_record (&p, (rb_attendance_record_t) { .date = 20261104, .present = true, .minutes = 50 }),
               "refused present");
    CHECK_REFUSAL (&p.refusal, RB_EINVALID, "present");
    CHECK_STR (s_record (&p, (rb_attendance_record_t) { .date = 20261104, .present = true, .lessons = 1 }),
               "refused present");
    CHECK_STR (s_record (&p, (rb_attendance_record_t) { .date = 20261104, .present = true,
                                                          .reason = RB_ABSENCE_SICK }), "refused reason");
    CHECK_REFUSAL (&p.refusal, RB_EINVALID, "reason");
    CHECK (s_unchanged (&p, &before));

    //  The ring holds 42 days up to 3 November: 22 September is one too many.
    CHECK_STR (s_absent (&p, 20260922, 300, RB_ABSENCE_SICK), "refused date");
    CHECK_REFUSAL (&p.refusal, RB_EPRECONDITION, "date");
    CHECK (strstr (p.refusal.message, "too old"));
    CHECK_STR (s_present (&p, 20260922), "refused date");
    CHECK (s_unchanged (&p, &before));

    //  Rules out of range.
    p.rules.day_minutes = 0;
    CHECK_STR (s_absent (&p, 20261104, 30, RB_ABSENCE_SICK), "refused rules.day_minutes");
    CHECK_STR (s_close (&p, 20261104), "refused rules.day_minutes");
    p.rules = rb_attendance_rules_default ();
    CHECK (s_unchanged (&p, &before));

    rb_test_section ("calls that cannot work: no room for signals, no record, a broken state");
    rb_attendance_record_t record = { .date = 20261104, .minutes = 30, .reason = RB_ABSENCE_SICK };
    rb_attendance_signal_t out [RB_ATTENDANCE_SIGNALS_MAX];
    size_t n = 99;
    rb_refusal_t refusal;
    CHECK_INT (rb_attendance_apply (&p.state, &p.rules, p.calendar, &record, out,
                                    RB_ATTENDANCE_SIGNALS_MAX - 1, &n, &refusal), RB_EINVALID);
    CHECK_REFUSAL (&refusal, RB_EINVALID, "max_out");
    CHECK_INT (n, 0);
    CHECK_INT (rb_attendance_apply (&p.state, &p.rules, p.calendar, NULL, out,
                                    RB_ATTENDANCE_SIGNALS_MAX, &n, &refusal), RB_EMISSING);
    CHECK_REFUSAL (&refusal, RB_EMISSING, "record");
    CHECK_INT (rb_attendance_close_day (&p.state, &p.rules, p.calendar, 20261104, out, 1, &n, &refusal),
               RB_EINVALID);
    CHECK_REFUSAL (&refusal, RB_EINVALID, "max_out");
    CHECK (s_unchanged (&p, &before));

    rb_attendance_state_t broken = p.state;
    broken.version = 2;
    CHECK_INT (rb_attendance_apply (&broken, &p.rules, p.calendar, &record, out,
                                    RB_ATTENDANCE_SIGNALS_MAX, &n, &refusal), RB_EVERSION);
    CHECK_REFUSAL (&refusal, RB_EVERSION, "state");
    broken = p.state;
    broken.episode_open = 7;
    CHECK_INT (rb_attendance_apply (&broken, &p.rules, p.calendar, &record, out,
                                    RB_ATTENDANCE_SIGNALS_MAX, &n, &refusal), RB_EMALFORMED);
    CHECK_REFUSAL (&refusal, RB_EMALFORMED, "state");
    CHECK_INT (broken.episode_open, 7);

    //  After all that, the same record is accepted.
    CHECK_STR (s_record (&p, record), "streak");
    s_pupil_end (&p);
}

static void
s_test_late_records (void)
{
    rb_test_section ("a late record adds to the sums and may pass the legal threshold");
    s_pupil_t p;
    s_pupil_begin (&p);
    s_close_days (&p, 20261102, 20261106);
    CHECK_STR (s_absent (&p, 20261109, 300, RB_ABSENCE_UNEXCUSED), "first_absence");
    CHECK_STR (s_absent (&p, 20261110, 300, RB_ABSENCE_UNEXCUSED), "high_rate");
    CHECK_STR (s_absent (&p, 20261111, 300, RB_ABSENCE_UNEXCUSED), "streak");
    CHECK_STR (s_present (&p, 20261112), "episode_closed");
    //  The school enters last week's absences: no episode, no digest.
    CHECK_STR (s_absent (&p, 20261103, 60, RB_ABSENCE_UNEXCUSED), "");
    CHECK_STR (s_absent (&p, 20261104, 1, RB_ABSENCE_UNEXCUSED), "legal_threshold");
    const rb_attendance_signal_t *s = s_signal (&p, RB_SIGNAL_LEGAL_THRESHOLD);
    CHECK_INT (s->date, 20261104);
    CHECK_INT (s->episode, 1);
    CHECK_INT (s->counted_minutes_4w, 961);
    CHECK_INT (s->streak_days, 0);
    //  History stays as it was: episode 1 closed on 12 November.
    CHECK_INT (p.state.episode, 1);
    CHECK (!p.state.episode_open);
    CHECK_INT (p.state.last_date, 20261112);
    CHECK_STR (s_absent (&p, 20261113, 300, RB_ABSENCE_SICK), "first_absence,high_rate");
    CHECK_INT (p.out [0].episode, 2);
    CHECK_INT (p.out [1].rate_permille_4w, 420);    //  1261 of 3000
    s_pupil_end (&p);

    rb_test_section ("a late record inside an open episode may raise its rate");
    s_pupil_begin (&p);
    s_close_days (&p, 20261102, 20261113);
    CHECK_STR (s_absent (&p, 20261116, 300, RB_ABSENCE_SICK), "first_absence");
    CHECK_INT (p.out [0].rate_permille_4w, 90);     //  300 of 3300
    CHECK_STR (s_absent (&p, 20261110, 300, RB_ABSENCE_SICK), "");
    CHECK_STR (s_absent (&p, 20261111, 300, RB_ABSENCE_SICK), "high_rate");
    CHECK_INT (p.out [0].date, 20261111);
    CHECK_INT (p.out [0].rate_permille_4w, 272);    //  900 of 3300
    CHECK_INT (p.out [0].streak_days, 1);           //  the streak is not rewritten
    CHECK_STR (s_absent (&p, 20261117, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_INT (p.out [0].streak_days, 2);
    //  A late present record changes nothing that was signalled.
    CHECK_STR (s_present (&p, 20261112), "");
    CHECK_INT (p.state.episode, 1);
    CHECK (p.state.episode_open);
    s_pupil_end (&p);

    rb_test_section ("the ring reaches further back than the windows");
    s_pupil_begin (&p);
    CHECK_STR (s_absent (&p, 20261102, 300, RB_ABSENCE_SICK), "first_absence");
    CHECK_STR (s_absent (&p, 20261103, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_STR (s_absent (&p, 20260923, 300, RB_ABSENCE_SICK), "");   //  41 days back: accepted
    CHECK_STR (s_absent (&p, 20261104, 300, RB_ABSENCE_SICK), "streak");
    CHECK_INT (p.out [0].absent_minutes_4w, 900);   //  23 September is not in the 28 days
    s_pupil_end (&p);
}

static void
s_test_state_bytes (void)
{
    rb_test_section ("the state is plain bytes the daemon stores and checks");
    rb_attendance_state_t state;
    rb_attendance_state_init (&state);
    CHECK_INT (state.version, RB_ATTENDANCE_STATE_VERSION);
    CHECK_INT (state.size, sizeof state);
    CHECK_INT (state.episode, 0);
    CHECK_INT (state.last_date, 0);
    rb_refusal_t refusal;
    CHECK_INT (rb_attendance_state_check (&state, sizeof state, &refusal), RB_OK);

    //  A pupil's state goes to bytes and back between records.
    s_pupil_t p;
    s_pupil_begin (&p);
    uint8_t stored [sizeof (rb_attendance_state_t)];
    CHECK_STR (s_absent (&p, 20261102, 300, RB_ABSENCE_SICK), "first_absence");
    memcpy (stored, &p.state, sizeof stored);
    memset (&p.state, 0xA5, sizeof p.state);
    CHECK_INT (rb_attendance_state_check (stored, sizeof stored, &refusal), RB_OK);
    memcpy (&p.state, stored, sizeof stored);
    CHECK_STR (s_absent (&p, 20261103, 300, RB_ABSENCE_SICK), "daily_digest");
    CHECK_INT (rb_attendance_state_check (&p.state, sizeof p.state, NULL), RB_OK);

    rb_test_section ("bytes of the wrong size or version are refused");
    memcpy (stored, &p.state, sizeof stored);
    CHECK_INT (rb_attendance_state_check (stored, sizeof stored - 1, &refusal), RB_EMALFORMED);
    CHECK_REFUSAL (&refusal, RB_EMALFORMED, "state");
    CHECK_INT (rb_attendance_state_check (stored, 1, &refusal), RB_EMALFORMED);
    CHECK_INT (rb_attendance_state_check (stored, 0, &refusal), RB_EMALFORMED);
    CHECK_INT (rb_attendance_state_check (NULL, sizeof stored, &refusal), RB_EMALFORMED);
    uint8_t longer [sizeof stored + 1];
    memcpy (longer, stored, sizeof stored);
    longer [sizeof stored] = 0;
    CHECK_INT (rb_attendance_state_check (longer, sizeof longer, &refusal), RB_EMALFORMED);
    CHECK_REFUSAL (&refusal, RB_EMALFORMED, "state");

    rb_attendance_state_t bad = p.state;
    bad.version = RB_ATTENDANCE_STATE_VERSION + 1;
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EVERSION);
    CHECK_REFUSAL (&refusal, RB_EVERSION, "state");
    bad.version = 0;
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EVERSION);

    rb_test_section ("values no state can hold are refused");
    bad = p.state;
    bad.size = 12;
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EMALFORMED);
    bad = p.state;
    bad.episode_open = 2;
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EMALFORMED);
    bad = p.state;
    bad.last_date = 20261131;
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EMALFORMED);
    bad = p.state;
    bad.episode = 0;
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EMALFORMED);
    bad = p.state;
    bad.episode_started = 20261104;                 //  after the last date processed
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EMALFORMED);
    bad = p.state;
    bad.day [5].flags = 0x80;
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EMALFORMED);
    bad = p.state;
    bad.day [5].unexcused_minutes = bad.day [5].absent_minutes + 1;
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EMALFORMED);
    bad = state;                                    //  a new pupil has an empty ring
    bad.day [0].absent_minutes = 1;
    CHECK_INT (rb_attendance_state_check (&bad, sizeof bad, &refusal), RB_EMALFORMED);
    CHECK_REFUSAL (&refusal, RB_EMALFORMED, "state");
    s_pupil_end (&p);
}

int
main (void)
{
    rb_test_begin ("attendance");
    s_test_contract ();
    s_test_first_absence ();
    s_test_days_off ();
    s_test_episode_closed ();
    s_test_close_day ();
    s_test_reopen_after_days ();
    s_test_legal_threshold ();
    s_test_window_slides ();
    s_test_high_rate ();
    s_test_lessons ();
    s_test_same_day ();
    s_test_refusals ();
    s_test_late_records ();
    s_test_state_bytes ();
    return rb_test_end ();
}
