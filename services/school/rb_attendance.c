/*  rb_attendance: the attendance rules; see rb_attendance.h and README.md.
 *
 *  Design. A call works on a copy of the state inside an s_run_t, which
 *  also collects the signals; only when the whole record has been applied
 *  does the copy replace the caller's state and the signals go out. So a
 *  refusal can come from anywhere without undoing anything.
 *
 *  Time moves in one direction: the state knows the latest date processed
 *  (last_date). A record for a later date first walks every calendar day
 *  in between, clearing its slot in the ring and counting each school day
 *  as present; then the date itself gets a fresh slot. The ring keeps
 *  RB_ATTENDANCE_RING_DAYS calendar days by day number modulo its size, so
 *  the days (last_date - RING_DAYS, last_date] are always exact, and both
 *  windows are sums over the slots that end at last_date.
 */
#include "rb_attendance.h"
#include <string.h>

_Static_assert (sizeof (rb_attendance_day_t) == 8, "a ring day is 8 bytes");
_Static_assert (sizeof (rb_attendance_state_t) == 24 + 8 * RB_ATTENDANCE_RING_DAYS,
                "the state has no padding: its bytes are stored as they are");

//  The largest values some rules may take.
#define S_DAY_MINUTES_MAX 1440
#define S_DAYS_MAX 365

//  One call: the working copy of the state and the signals so far.
typedef struct {
    rb_attendance_state_t state;                        //  replaces the caller's on success
    const rb_attendance_rules_t *rules;                 //  the school's rules
    const rb_calendar_t *calendar;                      //  the school's calendar
    rb_attendance_signal_t signal [RB_ATTENDANCE_SIGNALS_MAX];  //  raised so far
    size_t signals;                                     //  how many
} s_run_t;

//  Sums over a window of the ring.
typedef struct {
    uint32_t absent;                //  minutes of every reason
    uint32_t unexcused;             //  minutes with reason UNEXCUSED
    uint32_t scheduled;             //  scheduled minutes of known school days
    uint32_t known_days;            //  known school days
} s_sums_t;

// ---------------------------------------------------------------------------
//  Rules

rb_attendance_rules_t
rb_attendance_rules_default (void)
{
    rb_attendance_rules_t rules = {
        .present_days_to_reopen = 1,
        .streak_days = 3,
        .legal_minutes = 960,
        .legal_window_days = 28,
        .count_all_absence = false,
        .rate_permille = 200,
        .rate_window_days = 28,
        .min_rate_days = 5,
        .day_minutes = 300,
        .lesson_minutes = 50,
    };
    return rules;
}

static rb_err_t
s_range (uint32_t value, uint32_t min, uint32_t max, const char *field, rb_refusal_t *refusal)
{
    if (value < min || value > max)
        return rb_refuse (refusal, RB_EINVALID, field, "%u is out of range %u..%u",
                          (unsigned) value, (unsigned) min, (unsigned) max);
    return RB_OK;
}

rb_err_t
rb_attendance_rules_check (const rb_attendance_rules_t *rules, rb_refusal_t *refusal)
{
    if (!rules)
        return rb_refuse (refusal, RB_EMISSING, "rules", "no rules given");
    rb_err_t rc;
    if ((rc = s_range (rules->present_days_to_reopen, 1, S_DAYS_MAX, "rules.present_days_to_reopen", refusal))
    ||  (rc = s_range (rules->streak_days, 1, S_DAYS_MAX, "rules.streak_days", refusal))
    ||  (rc = s_range (rules->legal_minutes, 1, RB_ATTENDANCE_RING_DAYS * S_DAY_MINUTES_MAX,
                       "rules.legal_minutes", refusal))
    ||  (rc = s_range (rules->legal_window_days, 1, RB_ATTENDANCE_RING_DAYS, "rules.legal_window_days", refusal))
    ||  (rc = s_range (rules->rate_permille, 0, 1000, "rules.rate_permille", refusal))
    ||  (rc = s_range (rules->rate_window_days, 1, RB_ATTENDANCE_RING_DAYS, "rules.rate_window_days", refusal))
    ||  (rc = s_range (rules->min_rate_days, 0, RB_ATTENDANCE_RING_DAYS, "rules.min_rate_days", refusal))
    ||  (rc = s_range (rules->day_minutes, 1, S_DAY_MINUTES_MAX, "rules.day_minutes", refusal))
    ||  (rc = s_range (rules->lesson_minutes, 1, rules->day_minutes, "rules.lesson_minutes", refusal)))
        return rc;
    return RB_OK;
}

// ---------------------------------------------------------------------------
//  State

void
rb_attendance_state_init (rb_attendance_state_t *state)
{
    memset (state, 0, sizeof *state);
    state->version = RB_ATTENDANCE_STATE_VERSION;
    state->size = sizeof *state;
}

static bool
s_date_or_zero (int32_t date)
{
    return date == 0 || rb_calendar_date_valid (date);
}

rb_err_t
rb_attendance_state_check (const void *bytes, size_t size, rb_refusal_t *refusal)
{
    if (!bytes || size < sizeof (uint16_t))
        return rb_refuse (refusal, RB_EMALFORMED, "state", "%zu bytes are not an attendance state", size);
    uint16_t version;
    memcpy (&version, bytes, sizeof version);
    if (version != RB_ATTENDANCE_STATE_VERSION)
        return rb_refuse (refusal, RB_EVERSION, "state", "attendance state version %u, this build reads %u",
                          (unsigned) version, RB_ATTENDANCE_STATE_VERSION);
    if (size != sizeof (rb_attendance_state_t))
        return rb_refuse (refusal, RB_EMALFORMED, "state", "attendance state of %zu bytes, expected %zu",
                          size, sizeof (rb_attendance_state_t));
    rb_attendance_state_t state;
    memcpy (&state, bytes, sizeof state);
    const char *wrong = NULL;
    if (state.size != sizeof state)
        wrong = "its size field";
    else
    if (state.episode_open > 1 || state.rate_reported > 1)
        wrong = "a flag";
    else
    if (!s_date_or_zero (state.last_date) || !s_date_or_zero (state.episode_started))
        wrong = "a date";
    else
    if ((state.episode == 0) != (state.episode_started == 0)
    ||  (state.episode == 0 && state.episode_open)
    ||  (state.episode_started > state.last_date))
        wrong = "the episode";
    else {
        for (int i = 0; i < RB_ATTENDANCE_RING_DAYS && !wrong; i++) {
            const rb_attendance_day_t *day = &state.day [i];
            if (day->unexcused_minutes > day->absent_minutes
            ||  day->absent_minutes > S_DAY_MINUTES_MAX
            ||  day->scheduled_minutes > S_DAY_MINUTES_MAX
            ||  (day->flags & ~RB_ATTENDANCE_DAY_FLAGS)
            ||  (state.last_date == 0 && memcmp (day, &(rb_attendance_day_t) { 0 }, sizeof *day)))
                wrong = "a day";
        }
    }
    if (wrong)
        return rb_refuse (refusal, RB_EMALFORMED, "state", "attendance state has an impossible value in %s",
                          wrong);
    return RB_OK;
}

// ---------------------------------------------------------------------------
//  The ring and the windows

static rb_attendance_day_t *
s_slot (rb_attendance_state_t *state, int32_t number)
{
    return &state->day [number % RB_ATTENDANCE_RING_DAYS];
}

//  Sums over the window_days calendar days that end at last_date.
static s_sums_t
s_window (const rb_attendance_state_t *state, uint32_t window_days)
{
    s_sums_t sums = { 0, 0, 0, 0 };
    int32_t last = rb_calendar_day_number (state->last_date);
    if (last < 0)
        return sums;                //  nothing processed yet
    for (int32_t number = last - (int32_t) window_days + 1; number <= last; number++) {
        const rb_attendance_day_t *day = &state->day [number % RB_ATTENDANCE_RING_DAYS];
        sums.absent += day->absent_minutes;
        sums.unexcused += day->unexcused_minutes;
        sums.scheduled += day->scheduled_minutes;
        sums.known_days += day->scheduled_minutes > 0;
    }
    return sums;
}

//  Absence the legal threshold counts.
static uint32_t
s_counted (const rb_attendance_rules_t *rules, s_sums_t sums)
{
    return rules->count_all_absence? sums.absent: sums.unexcused;
}

//  Multiples of legal_minutes that counted strictly exceeds.
static uint32_t
s_multiples (const rb_attendance_rules_t *rules, uint32_t counted)
{
    return counted == 0? 0: (counted - 1) / rules->legal_minutes;
}

static uint32_t
s_permille (s_sums_t sums)
{
    return sums.scheduled? (uint32_t) ((uint64_t) sums.absent * 1000 / sums.scheduled): 0;
}

// ---------------------------------------------------------------------------
//  Signals

//  Add a signal dated date with the state's figures as they are now.
static void
s_emit (s_run_t *run, rb_signal_kind_t kind, int32_t date, uint8_t reason)
{
    if (run->signals == RB_ATTENDANCE_SIGNALS_MAX)
        return;                     //  cannot happen: at most five per call
    rb_attendance_state_t *state = &run->state;
    s_sums_t legal = s_window (state, run->rules->legal_window_days);
    s_sums_t rate = s_window (state, run->rules->rate_window_days);
    rb_attendance_signal_t *signal = &run->signal [run->signals++];
    memset (signal, 0, sizeof *signal);
    signal->kind = kind;
    signal->episode = state->episode;
    signal->date = date;
    signal->episode_started = state->episode_started;
    signal->reason = reason;
    signal->streak_days = state->streak;
    signal->absent_minutes_4w = legal.absent;
    signal->counted_minutes_4w = s_counted (run->rules, legal);
    signal->rate_permille_4w = s_permille (rate);
    signal->absences_today = s_slot (state, rb_calendar_day_number (date))->absences;
}

// ---------------------------------------------------------------------------
//  Days

//  The pupil was present on date (number): a present record, an implied
//  present day or a closed day. Enough present days close the episode.
static void
s_present (s_run_t *run, int32_t number, int32_t date)
{
    rb_attendance_state_t *state = &run->state;
    rb_attendance_day_t *day = s_slot (state, number);
    if (day->scheduled_minutes == 0)
        day->scheduled_minutes = (uint16_t) run->rules->day_minutes;
    if (day->flags & RB_ATTENDANCE_DAY_PRESENT)
        return;
    day->flags |= RB_ATTENDANCE_DAY_PRESENT;
    if (state->present_run < UINT16_MAX)
        state->present_run++;
    state->streak = 0;
    if (state->episode_open && state->present_run >= run->rules->present_days_to_reopen) {
        state->episode_open = 0;
        s_emit (run, RB_SIGNAL_EPISODE_CLOSED, date, RB_ABSENCE_UNSPECIFIED);
    }
}

//  Move last_date forward to the day number to: each calendar day after
//  last_date gets a fresh slot, each school day before to counts as
//  present. Days are walked one by one so the windows are exact whenever a
//  signal is raised on the way.
static void
s_advance (s_run_t *run, int32_t to)
{
    rb_attendance_state_t *state = &run->state;
    if (state->last_date == 0) {
        state->last_date = rb_calendar_date_of (to);
        return;                     //  a new state's ring is all zero
    }
    int32_t from = rb_calendar_day_number (state->last_date) + 1;
    for (int32_t number = from; number <= to; number++) {
        int32_t date = rb_calendar_date_of (number);
        memset (s_slot (state, number), 0, sizeof (rb_attendance_day_t));
        state->last_date = date;
        if (number < to && rb_calendar_is_school_day (run->calendar, date))
            s_present (run, number, date);
    }
    //  As the window slides, absence drops out of it: a multiple that is
    //  no longer exceeded may be signalled again when it is passed again.
    uint32_t multiples = s_multiples (run->rules, s_counted (run->rules,
                                      s_window (state, run->rules->legal_window_days)));
    if (multiples < state->legal_reported)
        state->legal_reported = (uint16_t) multiples;
}

//  The checks of the window sums after absence was added: the legal
//  threshold always, the rate once per open episode.
static void
s_check_windows (s_run_t *run, int32_t date, uint8_t reason)
{
    rb_attendance_state_t *state = &run->state;
    const rb_attendance_rules_t *rules = run->rules;
    uint32_t multiples = s_multiples (rules, s_counted (rules, s_window (state, rules->legal_window_days)));
    if (multiples > state->legal_reported) {
        state->legal_reported = (uint16_t) multiples;
        s_emit (run, RB_SIGNAL_LEGAL_THRESHOLD, date, reason);
    }
    if (state->episode_open && !state->rate_reported) {
        s_sums_t rate = s_window (state, rules->rate_window_days);
        if (rate.known_days >= rules->min_rate_days && rate.scheduled > 0
        &&  (uint64_t) rate.absent * 1000 > (uint64_t) rules->rate_permille * rate.scheduled) {
            state->rate_reported = 1;
            s_emit (run, RB_SIGNAL_HIGH_RATE, date, reason);
        }
    }
}

//  Absence of minutes on date (number). A late record (before last_date)
//  only adds to the sums; a current one also moves the episode.
static void
s_absent (s_run_t *run, int32_t number, int32_t date, uint32_t minutes, uint8_t reason, bool late)
{
    rb_attendance_state_t *state = &run->state;
    const rb_attendance_rules_t *rules = run->rules;
    rb_attendance_day_t *day = s_slot (state, number);
    day->absent_minutes += (uint16_t) minutes;
    if (reason == RB_ABSENCE_UNEXCUSED)
        day->unexcused_minutes += (uint16_t) minutes;
    if (day->absences < UINT8_MAX)
        day->absences++;
    if (day->scheduled_minutes == 0)
        day->scheduled_minutes = (uint16_t) rules->day_minutes;
    if (late) {
        s_check_windows (run, date, reason);
        return;
    }
    size_t before = run->signals;
    bool opened = false, streak = false;
    if (!state->episode_open) {
        state->episode++;
        state->episode_open = 1;
        state->episode_started = date;
        state->streak = 0;
        state->rate_reported = 0;
        opened = true;
    }
    state->present_run = 0;
    //  A day enters the streak once; again only when a present record of
    //  the same day broke the streak in between.
    if (!(day->flags & RB_ATTENDANCE_DAY_ABSENT) || state->streak == 0) {
        day->flags |= RB_ATTENDANCE_DAY_ABSENT;
        if (state->streak < UINT16_MAX)
            state->streak++;
        streak = state->streak % rules->streak_days == 0;
    }
    if (opened)
        s_emit (run, RB_SIGNAL_FIRST_ABSENCE, date, reason);
    if (streak)
        s_emit (run, RB_SIGNAL_STREAK, date, reason);
    s_check_windows (run, date, reason);
    if (run->signals == before && !(day->flags & RB_ATTENDANCE_DAY_SIGNAL))
        s_emit (run, RB_SIGNAL_DAILY_DIGEST, date, reason);
    if (run->signals > before)
        day->flags |= RB_ATTENDANCE_DAY_SIGNAL;
}

// ---------------------------------------------------------------------------
//  Calls

//  The checks apply and close_day share; on success run holds a copy of
//  the state and *number the date's day number.
static rb_err_t
s_begin (s_run_t *run, rb_attendance_state_t *state, const rb_attendance_rules_t *rules,
         const rb_calendar_t *calendar, int32_t date, rb_attendance_signal_t out [],
         size_t max_out, size_t *n_out, int32_t *number, rb_refusal_t *refusal)
{
    if (n_out)
        *n_out = 0;
    if (!out || !n_out || max_out < RB_ATTENDANCE_SIGNALS_MAX)
        return rb_refuse (refusal, RB_EINVALID, "max_out", "room for %d signals is needed",
                          RB_ATTENDANCE_SIGNALS_MAX);
    if (!state)
        return rb_refuse (refusal, RB_EMISSING, "state", "no state given");
    rb_err_t rc = rb_attendance_state_check (state, sizeof *state, refusal);
    if (!rc)
        rc = rb_attendance_rules_check (rules, refusal);
    if (rc)
        return rc;
    if (!calendar)
        return rb_refuse (refusal, RB_EMISSING, "calendar", "no calendar given");
    if (!rb_calendar_date_valid (date))
        return rb_refuse (refusal, RB_EINVALID, "date", "%d is not a date (YYYYMMDD, %d..%d)",
                          (int) date, RB_CALENDAR_FIRST_DATE, RB_CALENDAR_LAST_DATE);
    if (!rb_calendar_is_school_day (calendar, date))
        return rb_refuse (refusal, RB_EINVALID, "date", "%d is not a school day", (int) date);
    memset (run, 0, sizeof *run);
    memcpy (&run->state, state, sizeof *state);
    run->rules = rules;
    run->calendar = calendar;
    *number = rb_calendar_day_number (date);
    return RB_OK;
}

//  Hand the copy and the signals back.
static void
s_commit (s_run_t *run, rb_attendance_state_t *state, rb_attendance_signal_t out [], size_t *n_out)
{
    memcpy (state, &run->state, sizeof *state);
    memcpy (out, run->signal, run->signals * sizeof run->signal [0]);
    *n_out = run->signals;
}

rb_err_t
rb_attendance_apply (rb_attendance_state_t *state, const rb_attendance_rules_t *rules,
                     const rb_calendar_t *calendar, const rb_attendance_record_t *record,
                     rb_attendance_signal_t out [], size_t max_out, size_t *n_out,
                     rb_refusal_t *refusal)
{
    if (!record) {
        if (n_out)
            *n_out = 0;
        return rb_refuse (refusal, RB_EMISSING, "record", "no record given");
    }
    s_run_t run;
    int32_t number = 0;
    rb_err_t rc = s_begin (&run, state, rules, calendar, record->date, out, max_out, n_out,
                           &number, refusal);
    if (rc)
        return rc;
    int32_t last = state->last_date? rb_calendar_day_number (state->last_date): number;
    if (number <= last - RB_ATTENDANCE_RING_DAYS)
        return rb_refuse (refusal, RB_EPRECONDITION, "date",
                          "%d is too old to apply: records count up to %d days before the latest, %d",
                          (int) record->date, RB_ATTENDANCE_RING_DAYS - 1, (int) state->last_date);

    if (record->present) {
        if (record->minutes || record->lessons)
            return rb_refuse (refusal, RB_EINVALID, "present",
                              "a present record has no absent minutes or lessons");
        if (record->reason)
            return rb_refuse (refusal, RB_EINVALID, "reason", "a present record has no reason");
        if (number > last || state->last_date == 0)
            s_advance (&run, number);
        if (number >= last)
            s_present (&run, number, record->date);
        else {
            //  A late present record: the day is known, the episode stays as it is.
            rb_attendance_day_t *day = s_slot (&run.state, number);
            if (day->scheduled_minutes == 0)
                day->scheduled_minutes = (uint16_t) rules->day_minutes;
            day->flags |= RB_ATTENDANCE_DAY_PRESENT;
        }
        s_commit (&run, state, out, n_out);
        return RB_OK;
    }

    if (record->reason == RB_ABSENCE_UNSPECIFIED)
        return rb_refuse (refusal, RB_EMISSING, "reason", "an absence needs a reason (1..%d)",
                          RB_ABSENCE_REASON_MAX);
    if (record->reason > RB_ABSENCE_REASON_MAX)
        return rb_refuse (refusal, RB_EINVALID, "reason", "%u is not a known absence reason (1..%d)",
                          (unsigned) record->reason, RB_ABSENCE_REASON_MAX);
    if (record->minutes == 0 && record->lessons == 0)
        return rb_refuse (refusal, RB_EMISSING, "minutes", "an absence needs minutes or lessons");
    const char *field = record->minutes? "minutes": "lessons";
    uint32_t minutes = record->minutes? record->minutes: (uint32_t) record->lessons * rules->lesson_minutes;
    if (minutes > rules->day_minutes)
        return rb_refuse (refusal, RB_EINVALID, field, "%u absent minutes, more than the %u of a school day",
                          (unsigned) minutes, (unsigned) rules->day_minutes);
    uint32_t earlier = state->last_date && number <= last? s_slot (state, number)->absent_minutes: 0;
    if (earlier + minutes > rules->day_minutes)
        return rb_refuse (refusal, RB_EINVALID, field,
                          "%d would have %u absent minutes, more than the %u of a school day",
                          (int) record->date, (unsigned) (earlier + minutes), (unsigned) rules->day_minutes);

    bool late = state->last_date && number < last;
    if (!late)
        s_advance (&run, number);
    s_absent (&run, number, record->date, minutes, record->reason, late);
    s_commit (&run, state, out, n_out);
    return RB_OK;
}

rb_err_t
rb_attendance_close_day (rb_attendance_state_t *state, const rb_attendance_rules_t *rules,
                         const rb_calendar_t *calendar, int32_t date,
                         rb_attendance_signal_t out [], size_t max_out, size_t *n_out,
                         rb_refusal_t *refusal)
{
    s_run_t run;
    int32_t number = 0;
    rb_err_t rc = s_begin (&run, state, rules, calendar, date, out, max_out, n_out, &number, refusal);
    if (rc)
        return rc;
    if (state->last_date && date <= state->last_date)
        return RB_OK;               //  already known: a record or an earlier close
    s_advance (&run, number);
    s_present (&run, number, date);
    s_commit (&run, state, out, n_out);
    return RB_OK;
}

// ---------------------------------------------------------------------------
//  Names

const char *
rb_attendance_signal_name (rb_signal_kind_t kind)
{
    static const char *names [] = {
        "unspecified", "first_absence", "streak", "legal_threshold",
        "high_rate", "daily_digest", "episode_closed"
    };
    if ((unsigned) kind < sizeof names / sizeof names [0])
        return names [kind];
    return "unknown";
}

const char *
rb_attendance_reason_name (uint8_t reason)
{
    static const char *names [] = {
        "unspecified", "sick", "unexcused", "excused_other", "late", "suspended", "no_place"
    };
    if (reason < sizeof names / sizeof names [0])
        return names [reason];
    return "unknown";
}
