/*  rb_escalation: the escalation ladder of a case; see rb_escalation.h.
 *
 *  Design. The state is one small fixed record per case; every call reads
 *  it, decides on plain dates and writes it back whole. The levels'
 *  dates are not stored: they follow from the episode's start and the
 *  policy, so a region that changes its weeks changes every open case's
 *  next date at once (the daemon sets the timers again on its next look).
 */
#include "rb_escalation.h"
#include "rb_calendar.h"
#include "rb_wire.h"
#include "case.pb-c.h"
#include <string.h>

//  Version 1 records lack the timer's time (read as 0); version 2 is written.
#define S_VERSION 2
#define S_SIZE_V1 (3 + 6 * 4)
#define S_SIZE (S_SIZE_V1 + 8)

struct _rb_escalation_t {
    rb_table_t table;                   //  "escalation"
};


// ---------------------------------------------------------------------------
//  Policy, instances, records

rb_escalation_policy_t
rb_escalation_policy_default (void)
{
    return (rb_escalation_policy_t) {
        .casusregisseur_weeks = 4, .doorbraakteam_weeks = 8, .thuiszitter_weeks = 12,
        .remind_days = 7, .recheck_days = 7, .early_stalls = 2, .resume_days = 10
    };
}

rb_err_t
rb_escalation_policy_check (const rb_escalation_policy_t *p, rb_refusal_t *refusal)
{
    if (p->casusregisseur_weeks < 1 || p->casusregisseur_weeks > 104)
        return rb_refuse (refusal, RB_EINVALID, "casusregisseur_weeks", "must be 1-104");
    if (p->doorbraakteam_weeks <= p->casusregisseur_weeks || p->doorbraakteam_weeks > 104)
        return rb_refuse (refusal, RB_EINVALID, "doorbraakteam_weeks",
                          "must be after casusregisseur_weeks and at most 104");
    if (p->thuiszitter_weeks <= p->doorbraakteam_weeks || p->thuiszitter_weeks > 104)
        return rb_refuse (refusal, RB_EINVALID, "thuiszitter_weeks",
                          "must be after doorbraakteam_weeks and at most 104");
    if (p->remind_days < 1 || p->remind_days > 365)
        return rb_refuse (refusal, RB_EINVALID, "remind_days", "must be 1-365");
    if (p->recheck_days < 1 || p->recheck_days > 365)
        return rb_refuse (refusal, RB_EINVALID, "recheck_days", "must be 1-365");
    if (p->early_stalls > 100)
        return rb_refuse (refusal, RB_EINVALID, "early_stalls", "must be 0-100");
    if (p->resume_days > 365)
        return rb_refuse (refusal, RB_EINVALID, "resume_days", "must be 0-365");
    return RB_OK;
}

rb_escalation_t *
rb_escalation_new_on (rb_table_t table)
{
    rb_escalation_t *self = calloc (1, sizeof *self);
    if (self)
        self->table = table;
    return self;
}

rb_escalation_t *
rb_escalation_new (rb_store_t *store)
{
    rb_table_t table;
    if (rb_store_table (store, RB_ESCALATION_TABLE, &table))
        return NULL;
    return rb_escalation_new_on (table);
}

void
rb_escalation_destroy (rb_escalation_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_i32_put (uint8_t *out, int32_t v)
{
    uint32_t u = (uint32_t) v;
    out [0] = (uint8_t) (u >> 24);
    out [1] = (uint8_t) (u >> 16);
    out [2] = (uint8_t) (u >> 8);
    out [3] = (uint8_t) u;
}

static int32_t
s_i32_get (const uint8_t *in)
{
    return (int32_t) ((uint32_t) in [0] << 24 | (uint32_t) in [1] << 16
                    | (uint32_t) in [2] << 8 | in [3]);
}

//  The dates of a record, in their stored order.
#define S_DATES(s) { &(s)->level_since, &(s)->episode_started, &(s)->episode_closed_on, \
                     &(s)->thuiszitter_since, &(s)->next_remind_on, &(s)->deferred_to }

rb_err_t
rb_escalation_get (rb_escalation_t *self, rb_txn_t *txn, const char *case_pseudonym,
                   rb_escalation_state_t *state)
{
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->table, (rb_val_t) { (void *) case_pseudonym, 64 }, &value);
    if (rc)
        return rc;
    const uint8_t *v = value.data;
    bool v1 = value.size == S_SIZE_V1 && v [0] == 1;
    if (!v1 && (value.size != S_SIZE || v [0] != S_VERSION))
        return RB_ESTORE;
    if (v [1] > RB_ESCALATION_THUISZITTER)
        return RB_ESTORE;
    memset (state, 0, sizeof *state);
    state->level = v [1];
    state->reminders = v [2];
    int32_t *dates [] = S_DATES (state);
    for (size_t i = 0; i < 6; i++)
        *dates [i] = s_i32_get (v + 3 + 4 * i);
    state->timer_made_ms = v1? 0: (int64_t) rb_u64_get (v + S_SIZE_V1);
    return RB_OK;
}

static rb_err_t
s_put (rb_escalation_t *self, rb_txn_t *txn, const char *case_pseudonym,
       rb_escalation_state_t *state)
{
    uint8_t v [S_SIZE];
    v [0] = S_VERSION;
    v [1] = (uint8_t) state->level;
    v [2] = (uint8_t) (state->reminders > 255? 255: state->reminders);
    int32_t *dates [] = S_DATES (state);
    for (size_t i = 0; i < 6; i++)
        s_i32_put (v + 3 + 4 * i, *dates [i]);
    rb_u64_put (v + S_SIZE_V1, (uint64_t) state->timer_made_ms);
    return rb_txn_put (txn, self->table, (rb_val_t) { (void *) case_pseudonym, 64 },
                       (rb_val_t) { v, sizeof v });
}

//  The state, or a fresh one when the ladder never saw the case.
static rb_err_t
s_load (rb_escalation_t *self, rb_txn_t *txn, const char *case_pseudonym,
        rb_escalation_state_t *state, rb_refusal_t *refusal)
{
    rb_err_t rc = rb_escalation_get (self, txn, case_pseudonym, state);
    if (rc == RB_ENOTFOUND) {
        memset (state, 0, sizeof *state);
        return RB_OK;
    }
    return rc? rb_refuse (refusal, rc, NULL, "cannot read the ladder: %s", rb_strerror (rc)): RB_OK;
}

static rb_err_t
s_store (rb_escalation_t *self, rb_txn_t *txn, const char *case_pseudonym,
         rb_escalation_state_t *state, rb_refusal_t *refusal)
{
    rb_err_t rc = s_put (self, txn, case_pseudonym, state);
    return rc? rb_refuse (refusal, rc, NULL, "cannot write the ladder: %s", rb_strerror (rc)): RB_OK;
}

rb_err_t
rb_escalation_set_timer_made (rb_escalation_t *self, rb_txn_t *txn, const char *case_pseudonym,
                              int64_t made_ms, rb_refusal_t *refusal)
{
    if (!case_pseudonym || !rb_wire_pseudonym_valid (case_pseudonym))
        return rb_refuse (refusal, RB_EINVALID, "case_pseudonym", "not 64 lowercase hex characters");
    if (made_ms <= 0)
        return rb_refuse (refusal, RB_EINVALID, "made_ms", "made_ms must be positive, not %lld",
                          (long long) made_ms);
    rb_escalation_state_t state;
    rb_err_t rc = rb_escalation_get (self, txn, case_pseudonym, &state);
    if (rc == RB_ENOTFOUND)
        return rb_refuse (refusal, rc, "case_pseudonym", "the ladder never saw case %.12s...",
                          case_pseudonym);
    if (rc)
        return rb_refuse (refusal, rc, NULL, "cannot read the ladder: %s", rb_strerror (rc));
    state.timer_made_ms = made_ms;
    return s_store (self, txn, case_pseudonym, &state, refusal);
}

static rb_err_t
s_check (const char *case_pseudonym, int32_t date, const char *field, rb_refusal_t *refusal)
{
    if (!case_pseudonym || !rb_wire_pseudonym_valid (case_pseudonym))
        return rb_refuse (refusal, RB_EINVALID, "case_pseudonym", "not 64 lowercase hex characters");
    if (!rb_calendar_date_valid (date))
        return rb_refuse (refusal, RB_EINVALID, field, "%s %d is not a YYYYMMDD date", field, (int) date);
    return RB_OK;
}


// ---------------------------------------------------------------------------
//  Dates

static bool
s_open (const rb_escalation_state_t *s)
{
    return s->episode_started && !s->episode_closed_on;
}

//  The day level is due by the calendar.
static int32_t
s_level_on (const rb_escalation_policy_t *p, const rb_escalation_state_t *s, uint32_t level)
{
    uint32_t weeks = level == RB_ESCALATION_CASUSREGISSEUR? p->casusregisseur_weeks:
                     level == RB_ESCALATION_DOORBRAAKTEAM? p->doorbraakteam_weeks: p->thuiszitter_weeks;
    return rb_calendar_add_days (s->episode_started, (int32_t) weeks * 7);
}

static int32_t
s_earliest (int32_t a, int32_t b)
{
    return !a? b: !b? a: a < b? a: b;
}

int32_t
rb_escalation_next_on (const rb_escalation_policy_t *p, const rb_escalation_state_t *s)
{
    int32_t next = 0;
    if (s_open (s) && s->level < RB_ESCALATION_THUISZITTER) {
        next = s_level_on (p, s, s->level + 1);
        if (s->level + 1 == RB_ESCALATION_DOORBRAAKTEAM && s->deferred_to > next)
            next = s_earliest (s->deferred_to, s_level_on (p, s, RB_ESCALATION_THUISZITTER));
    }
    //  Reminders go on while the absence does, or for a case raised by stalls.
    if (s->level >= RB_ESCALATION_CASUSREGISSEUR && (s_open (s) || !s->episode_started))
        next = s_earliest (next, s->next_remind_on);
    return next;
}

static uint32_t
s_weeks (const rb_escalation_state_t *s, int32_t today)
{
    if (!s->episode_started)
        return 0;
    int32_t days = rb_calendar_day_number (today) - rb_calendar_day_number (s->episode_started);
    return days > 0? (uint32_t) days / 7: 0;
}


// ---------------------------------------------------------------------------
//  What happens

rb_err_t
rb_escalation_on_absence (rb_escalation_t *self, rb_txn_t *txn, const rb_escalation_policy_t *p,
                          const char *case_pseudonym, int signal, int32_t episode_started,
                          int32_t date, bool *changed, rb_refusal_t *refusal)
{
    *changed = false;
    rb_escalation_state_t s;
    rb_err_t rc = s_check (case_pseudonym, date, "date", refusal);
    if (!rc && episode_started && !rb_calendar_date_valid (episode_started))
        rc = rb_refuse (refusal, RB_EINVALID, "episode_started", "not a YYYYMMDD date");
    if (!rc)
        rc = s_load (self, txn, case_pseudonym, &s, refusal);
    if (rc)
        return rc;
    int32_t start = episode_started? episode_started: date;
    if (signal == REGIEBUS__ABSENCE_SIGNAL_KIND__EPISODE_CLOSED) {
        if (!s_open (&s))
            return RB_OK;
        s.episode_closed_on = date;
    }
    else
    if (s_open (&s))
        return RB_OK;               //  the same absence going on
    else
    if (s.episode_closed_on && start >= s.episode_closed_on
    &&  rb_calendar_day_number (start) - rb_calendar_day_number (s.episode_closed_on)
        <= (int32_t) p->resume_days)
        s.episode_closed_on = 0;    //  back for a day or two: it goes on
    else {
        int64_t timer_made_ms = s.timer_made_ms;    //  the case's timer keeps its id
        memset (&s, 0, sizeof s);
        s.episode_started = start;
        s.timer_made_ms = timer_made_ms;
    }
    *changed = true;
    return s_store (self, txn, case_pseudonym, &s, refusal);
}

static void
s_step (rb_escalation_step_t *steps, size_t *count, rb_escalation_step_kind_t kind,
        const rb_escalation_state_t *s, int32_t today)
{
    steps [*count] = (rb_escalation_step_t) {
        .kind = kind, .level = s->level, .reminder = s->reminders, .weeks_absent = s_weeks (s, today)
    };
    (*count)++;
}

//  Reach level on today.
static void
s_reach (const rb_escalation_policy_t *p, rb_escalation_state_t *s, uint32_t level, int32_t today)
{
    s->level = level;
    s->level_since = today;
    if (level == RB_ESCALATION_CASUSREGISSEUR)
        s->next_remind_on = rb_calendar_add_days (today, (int32_t) p->remind_days);
    if (level == RB_ESCALATION_THUISZITTER)
        s->thuiszitter_since = today;
    s->deferred_to = 0;
}

//  Level 2 by the calendar: deferred while a fitting plan is there, but
//  not past the thuiszitter line.
static void
s_look_doorbraak (const rb_escalation_policy_t *p, rb_escalation_state_t *s, int32_t today,
                  const rb_escalation_facts_t *facts, rb_escalation_step_t *steps, size_t *count)
{
    if (s->level >= RB_ESCALATION_DOORBRAAKTEAM || today < s_level_on (p, s, RB_ESCALATION_DOORBRAAKTEAM))
        return;
    bool last_chance = today >= s_level_on (p, s, RB_ESCALATION_THUISZITTER);
    if (!last_chance && s->deferred_to > today)
        return;
    if (!last_chance && facts->has_fitting_plan) {
        s->deferred_to = rb_calendar_add_days (today, (int32_t) p->recheck_days);
        return;
    }
    s_reach (p, s, RB_ESCALATION_DOORBRAAKTEAM, today);
    s_step (steps, count, RB_ESCALATION_STEP_DOORBRAAKTEAM, s, today);
}

rb_err_t
rb_escalation_look (rb_escalation_t *self, rb_txn_t *txn, const rb_escalation_policy_t *p,
                    const char *case_pseudonym, int32_t today, const rb_escalation_facts_t *facts,
                    rb_escalation_step_t *steps, size_t *count, rb_refusal_t *refusal)
{
    *count = 0;
    rb_escalation_state_t s;
    rb_err_t rc = s_check (case_pseudonym, today, "today", refusal);
    if (!rc)
        rc = rb_escalation_get (self, txn, case_pseudonym, &s);
    if (rc == RB_ENOTFOUND)
        return RB_OK;
    if (rc)
        return rc == RB_EINVALID? rc: rb_refuse (refusal, rc, NULL, "cannot read the ladder: %s",
                                                 rb_strerror (rc));
    rb_escalation_state_t before = s;
    if (s_open (&s) && s.level < RB_ESCALATION_CASUSREGISSEUR
    &&  today >= s_level_on (p, &s, RB_ESCALATION_CASUSREGISSEUR)) {
        s_reach (p, &s, RB_ESCALATION_CASUSREGISSEUR, today);
        s_step (steps, count, RB_ESCALATION_STEP_CASUSREGISSEUR_NEEDED, &s, today);
    }
    bool reminding = s.level >= RB_ESCALATION_CASUSREGISSEUR && s.next_remind_on
                  && (s_open (&s) || !s.episode_started);
    if (reminding && facts->has_casusregisseur)
        s.next_remind_on = 0;       //  someone holds the case: no more reminders
    else
    if (reminding && today >= s.next_remind_on) {
        s.reminders++;
        s.next_remind_on = rb_calendar_add_days (today, (int32_t) p->remind_days);
        s_step (steps, count, RB_ESCALATION_STEP_NO_CASUSREGISSEUR, &s, today);
    }
    if (s_open (&s))
        s_look_doorbraak (p, &s, today, facts, steps, count);
    if (s_open (&s) && s.level < RB_ESCALATION_THUISZITTER
    &&  today >= s_level_on (p, &s, RB_ESCALATION_THUISZITTER)) {
        s_reach (p, &s, RB_ESCALATION_THUISZITTER, today);
        s_step (steps, count, RB_ESCALATION_STEP_THUISZITTER, &s, today);
    }
    if (memcmp (&s, &before, sizeof s) == 0)
        return RB_OK;
    return s_store (self, txn, case_pseudonym, &s, refusal);
}

rb_err_t
rb_escalation_on_stall (rb_escalation_t *self, rb_txn_t *txn, const rb_escalation_policy_t *p,
                        const char *case_pseudonym, uint32_t plan_id, uint32_t stalls,
                        int32_t today, rb_escalation_step_t *steps, size_t *count,
                        rb_refusal_t *refusal)
{
    *count = 0;
    rb_escalation_state_t s;
    rb_err_t rc = s_check (case_pseudonym, today, "today", refusal);
    if (!rc && plan_id == 0)
        rc = rb_refuse (refusal, RB_EINVALID, "plan_id", "plan_id must be 1 or more");
    if (!rc && stalls == 0)
        rc = rb_refuse (refusal, RB_EINVALID, "stalls", "stalls must be 1 or more");
    if (!rc)
        rc = s_load (self, txn, case_pseudonym, &s, refusal);
    if (rc || p->early_stalls == 0 || stalls % p->early_stalls != 0
    ||  s.level >= RB_ESCALATION_DOORBRAAKTEAM)
        return rc;
    s_reach (p, &s, s.level + 1, today);
    s_step (steps, count, s.level == RB_ESCALATION_CASUSREGISSEUR?
            RB_ESCALATION_STEP_CASUSREGISSEUR_NEEDED: RB_ESCALATION_STEP_DOORBRAAKTEAM, &s, today);
    steps [0].plan_id = plan_id;
    steps [0].plan_stalls = stalls;
    return s_store (self, txn, case_pseudonym, &s, refusal);
}
