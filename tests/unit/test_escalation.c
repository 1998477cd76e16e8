/*  unit_escalation: the escalation ladder (services/municipality/rb_escalation.h).
 *
 *  A case's continuous absence climbs the ladder by the calendar: 4 weeks
 *  a casusregisseur is needed (reminded weekly until one holds the case),
 *  8 weeks the doorbraakteam (deferred while a fitting plan is there, not
 *  past 12 weeks), 12 weeks thuiszitter. Stalled plans climb it early, up
 *  to the doorbraakteam. A closed episode pauses it; one that starts again
 *  soon resumes it, a later one starts afresh. Each look takes every step
 *  due once, the state survives reopening the store, and refusals write
 *  nothing.
 */
#include "rb_test.h"
#include "rb_escalation.h"
#include "rb_calendar.h"
#include "case.pb-c.h"
#include <stdio.h>

#define START 20260907                  //  a Monday: the first day of absence
#define FIRST REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE
#define DIGEST REGIEBUS__ABSENCE_SIGNAL_KIND__DAILY_DIGEST
#define CLOSED REGIEBUS__ABSENCE_SIGNAL_KIND__EPISODE_CLOSED

static rb_store_t *s_store;
static rb_escalation_t *s_esc;
static rb_escalation_policy_t s_policy;
static char s_cases [8][65];
static const rb_escalation_facts_t s_nobody = { false, false };

static const char *
s_case (unsigned i)
{
    snprintf (s_cases [i], sizeof s_cases [i], "%064x", 0xe5c0u + i);
    return s_cases [i];
}

static int32_t
s_day (int days)
{
    return rb_calendar_add_days (START, days);
}

static rb_txn_t *
s_write (void)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    return txn;
}

static rb_escalation_state_t
s_state (rb_txn_t *txn, const char *p)
{
    rb_escalation_state_t s;
    CHECK_INT (rb_escalation_get (s_esc, txn, p, &s), RB_OK);
    return s;
}

static int32_t
s_next (rb_txn_t *txn, const char *p)
{
    rb_escalation_state_t s = s_state (txn, p);
    return rb_escalation_next_on (&s_policy, &s);
}

static void
s_absence (rb_txn_t *txn, const char *p, int signal, int32_t started, int32_t date, bool changed)
{
    rb_refusal_t r;
    bool did;
    CHECK_INT (rb_escalation_on_absence (s_esc, txn, &s_policy, p, signal, started, date, &did, &r), RB_OK);
    CHECK_INT (did, changed);
}

//  Look on day and expect the step kinds given (0-terminated).
static void
s_look (rb_txn_t *txn, const char *p, int days, const rb_escalation_facts_t *facts,
        const int *kinds, rb_escalation_step_t *steps)
{
    rb_refusal_t r;
    rb_escalation_step_t local [RB_ESCALATION_STEPS_MAX];
    steps = steps? steps: local;
    size_t count, expected = 0;
    CHECK_INT (rb_escalation_look (s_esc, txn, &s_policy, p, s_day (days), facts, steps, &count, &r),
               RB_OK);
    while (kinds [expected])
        expected++;
    CHECK_UINT (count, expected);
    for (size_t i = 0; i < count; i++)
        CHECK_INT (steps [i].kind, kinds [i]);
}

static const int s_none [] = { 0 };

static void
s_test_policy (void)
{
    rb_test_section ("policy: the seeds' defaults; every bad value named");
    rb_refusal_t r;
    CHECK_UINT (s_policy.casusregisseur_weeks, 4);
    CHECK_UINT (s_policy.doorbraakteam_weeks, 8);
    CHECK_UINT (s_policy.thuiszitter_weeks, 12);
    CHECK_UINT (s_policy.early_stalls, 2);
    CHECK_INT (rb_escalation_policy_check (&s_policy, &r), RB_OK);
    struct { uint32_t *field; uint32_t value; const char *name; } bad [] = {
        { &s_policy.casusregisseur_weeks, 0, "casusregisseur_weeks" },
        { &s_policy.doorbraakteam_weeks, 4, "doorbraakteam_weeks" },
        { &s_policy.thuiszitter_weeks, 8, "thuiszitter_weeks" },
        { &s_policy.thuiszitter_weeks, 105, "thuiszitter_weeks" },
        { &s_policy.remind_days, 0, "remind_days" },
        { &s_policy.recheck_days, 366, "recheck_days" },
        { &s_policy.early_stalls, 101, "early_stalls" },
        { &s_policy.resume_days, 366, "resume_days" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        rb_escalation_policy_t keep = s_policy;
        *bad [i].field = bad [i].value;
        CHECK_INT (rb_escalation_policy_check (&s_policy, &r), RB_EINVALID);
        CHECK_REFUSAL (&r, RB_EINVALID, bad [i].name);
        s_policy = keep;
    }
}

static void
s_test_calendar (void)
{
    rb_test_section ("the calendar: 4 weeks, weekly reminders, 8 weeks, 12 weeks");
    rb_txn_t *txn = s_write ();
    const char *p = s_case (0);
    rb_escalation_state_t s;
    CHECK_INT (rb_escalation_get (s_esc, txn, p, &s), RB_ENOTFOUND);
    s_look (txn, p, 200, &s_nobody, s_none, NULL);          //  never seen: nothing
    s_absence (txn, p, FIRST, START, START, true);
    s_absence (txn, p, DIGEST, START, s_day (1), false);    //  the same absence
    s_absence (txn, p, FIRST, s_day (2), s_day (2), false); //  an open episode keeps its start
    s = s_state (txn, p);
    CHECK_INT (s.episode_started, START);
    CHECK_UINT (s.level, 0);
    CHECK_INT (rb_escalation_next_on (&s_policy, &s), s_day (28));

    s_look (txn, p, 27, &s_nobody, s_none, NULL);
    rb_escalation_step_t steps [RB_ESCALATION_STEPS_MAX];
    s_look (txn, p, 28, &s_nobody, (int []) { RB_ESCALATION_STEP_CASUSREGISSEUR_NEEDED, 0 }, steps);
    CHECK_UINT (steps [0].level, 1);
    CHECK_UINT (steps [0].weeks_absent, 4);
    CHECK_UINT (steps [0].plan_id, 0);
    s_look (txn, p, 28, &s_nobody, s_none, NULL);           //  once
    s = s_state (txn, p);
    CHECK_INT (s.level_since, s_day (28));
    CHECK_INT (s.next_remind_on, s_day (35));
    CHECK_INT (rb_escalation_next_on (&s_policy, &s), s_day (35));

    s_look (txn, p, 35, &s_nobody, (int []) { RB_ESCALATION_STEP_NO_CASUSREGISSEUR, 0 }, steps);
    CHECK_UINT (steps [0].reminder, 1);
    s_look (txn, p, 42, &s_nobody, (int []) { RB_ESCALATION_STEP_NO_CASUSREGISSEUR, 0 }, steps);
    CHECK_UINT (steps [0].reminder, 2);
    //  Someone holds the case now: the reminders stop.
    rb_escalation_facts_t assigned = { true, false };
    s_look (txn, p, 49, &assigned, s_none, NULL);
    s = s_state (txn, p);
    CHECK_INT (s.next_remind_on, 0);
    CHECK_INT (rb_escalation_next_on (&s_policy, &s), s_day (56));

    s_look (txn, p, 56, &assigned, (int []) { RB_ESCALATION_STEP_DOORBRAAKTEAM, 0 }, steps);
    CHECK_UINT (steps [0].level, 2);
    CHECK_UINT (steps [0].weeks_absent, 8);
    CHECK_INT (s_next (txn, p), s_day (84));
    s_look (txn, p, 83, &assigned, s_none, NULL);
    s_look (txn, p, 84, &assigned, (int []) { RB_ESCALATION_STEP_THUISZITTER, 0 }, steps);
    s = s_state (txn, p);
    CHECK_UINT (s.level, 3);
    CHECK_INT (s.thuiszitter_since, s_day (84));
    CHECK_INT (rb_escalation_next_on (&s_policy, &s), 0);
    s_look (txn, p, 300, &assigned, s_none, NULL);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

static void
s_test_jump (void)
{
    rb_test_section ("twelve weeks at once: every level, in order, in one look");
    rb_txn_t *txn = s_write ();
    const char *p = s_case (1);
    s_absence (txn, p, FIRST, START, s_day (3), true);
    rb_escalation_step_t steps [RB_ESCALATION_STEPS_MAX];
    s_look (txn, p, 90, &s_nobody, (int []) { RB_ESCALATION_STEP_CASUSREGISSEUR_NEEDED,
            RB_ESCALATION_STEP_DOORBRAAKTEAM, RB_ESCALATION_STEP_THUISZITTER, 0 }, steps);
    CHECK_UINT (steps [2].weeks_absent, 12);
    CHECK_INT (s_state (txn, p).level_since, s_day (90));
    rb_txn_destroy (&txn);
}

static void
s_test_fitting_plan (void)
{
    rb_test_section ("a fitting plan defers the doorbraakteam, not past the thuiszitter line");
    rb_txn_t *txn = s_write ();
    const char *p = s_case (2);
    rb_escalation_facts_t plan = { true, true };
    s_absence (txn, p, FIRST, START, START, true);
    s_look (txn, p, 28, &plan, (int []) { RB_ESCALATION_STEP_CASUSREGISSEUR_NEEDED, 0 }, NULL);
    s_look (txn, p, 56, &plan, s_none, NULL);
    CHECK_INT (s_state (txn, p).deferred_to, s_day (63));
    CHECK_INT (s_next (txn, p), s_day (63));
    s_look (txn, p, 60, &plan, s_none, NULL);               //  still deferred
    s_look (txn, p, 63, &plan, s_none, NULL);
    CHECK_INT (s_state (txn, p).deferred_to, s_day (70));
    //  The plan stalls: no longer fitting.
    rb_escalation_facts_t stalled = { true, false };
    s_look (txn, p, 70, &stalled, (int []) { RB_ESCALATION_STEP_DOORBRAAKTEAM, 0 }, NULL);
    rb_txn_destroy (&txn);

    txn = s_write ();
    s_absence (txn, p, FIRST, START, START, true);
    s_look (txn, p, 56, &plan, (int []) { RB_ESCALATION_STEP_CASUSREGISSEUR_NEEDED, 0 }, NULL);
    s_look (txn, p, 84, &plan, (int []) { RB_ESCALATION_STEP_DOORBRAAKTEAM,
            RB_ESCALATION_STEP_THUISZITTER, 0 }, NULL);
    rb_txn_destroy (&txn);
}

static void
s_test_stalls (void)
{
    rb_test_section ("every second stall climbs one level early, up to the doorbraakteam");
    rb_txn_t *txn = s_write ();
    const char *p = s_case (3);
    rb_refusal_t r;
    rb_escalation_step_t steps [RB_ESCALATION_STEPS_MAX];
    size_t count;
    s_absence (txn, p, FIRST, START, START, true);
    CHECK_INT (rb_escalation_on_stall (s_esc, txn, &s_policy, p, 1, 1, s_day (10), steps, &count, &r), RB_OK);
    CHECK_UINT (count, 0);
    CHECK_INT (rb_escalation_on_stall (s_esc, txn, &s_policy, p, 1, 2, s_day (11), steps, &count, &r), RB_OK);
    CHECK_UINT (count, 1);
    CHECK_INT (steps [0].kind, RB_ESCALATION_STEP_CASUSREGISSEUR_NEEDED);
    CHECK_UINT (steps [0].plan_id, 1);
    CHECK_UINT (steps [0].plan_stalls, 2);
    CHECK_UINT (steps [0].weeks_absent, 1);
    //  The calendar's level 1 is then passed by; its reminders run.
    s_look (txn, p, 18, &s_nobody, (int []) { RB_ESCALATION_STEP_NO_CASUSREGISSEUR, 0 }, NULL);
    s_look (txn, p, 28, &s_nobody, (int []) { RB_ESCALATION_STEP_NO_CASUSREGISSEUR, 0 }, steps);
    CHECK_UINT (steps [0].level, 1);
    CHECK_UINT (steps [0].reminder, 2);
    CHECK_INT (rb_escalation_on_stall (s_esc, txn, &s_policy, p, 2, 4, s_day (30), steps, &count, &r), RB_OK);
    CHECK_UINT (count, 1);
    CHECK_INT (steps [0].kind, RB_ESCALATION_STEP_DOORBRAAKTEAM);
    CHECK_UINT (steps [0].level, 2);
    CHECK_INT (rb_escalation_on_stall (s_esc, txn, &s_policy, p, 2, 6, s_day (31), steps, &count, &r), RB_OK);
    CHECK_UINT (count, 0);                                  //  never thuiszitter early
    //  Still nobody holds the case: reminded at every level.
    s_look (txn, p, 56, &s_nobody, (int []) { RB_ESCALATION_STEP_NO_CASUSREGISSEUR, 0 }, NULL);
    rb_escalation_facts_t assigned = { true, false };
    s_look (txn, p, 84, &assigned, (int []) { RB_ESCALATION_STEP_THUISZITTER, 0 }, NULL);

    //  A case without an absence: a stalling plan is reason enough.
    const char *q = s_case (4);
    CHECK_INT (rb_escalation_on_stall (s_esc, txn, &s_policy, q, 1, 2, START, steps, &count, &r), RB_OK);
    CHECK_UINT (count, 1);
    CHECK_UINT (steps [0].weeks_absent, 0);
    CHECK_INT (s_next (txn, q), s_day (7));
    s_look (txn, q, 7, &s_nobody, (int []) { RB_ESCALATION_STEP_NO_CASUSREGISSEUR, 0 }, NULL);
    //  early_stalls 0: stalls never climb.
    rb_escalation_policy_t never = s_policy;
    never.early_stalls = 0;
    const char *n = s_case (5);
    CHECK_INT (rb_escalation_on_stall (s_esc, txn, &never, n, 1, 2, START, steps, &count, &r), RB_OK);
    CHECK_UINT (count, 0);
    rb_escalation_state_t none;
    CHECK_INT (rb_escalation_get (s_esc, txn, n, &none), RB_ENOTFOUND);
    rb_txn_destroy (&txn);
}

static void
s_test_close_resume (void)
{
    rb_test_section ("closing pauses; back within resume_days resumes; later starts afresh");
    rb_txn_t *txn = s_write ();
    const char *p = s_case (6);
    s_absence (txn, p, FIRST, START, START, true);
    s_look (txn, p, 30, &s_nobody, (int []) { RB_ESCALATION_STEP_CASUSREGISSEUR_NEEDED, 0 }, NULL);
    s_absence (txn, p, CLOSED, START, s_day (31), true);
    s_absence (txn, p, CLOSED, START, s_day (32), false);
    rb_escalation_state_t s = s_state (txn, p);
    CHECK_INT (s.episode_closed_on, s_day (31));
    CHECK_INT (rb_escalation_next_on (&s_policy, &s), 0);
    s_look (txn, p, 60, &s_nobody, s_none, NULL);           //  paused: nothing due
    //  Absent again 3 days later: the same absence goes on.
    s_absence (txn, p, FIRST, s_day (34), s_day (34), true);
    s = s_state (txn, p);
    CHECK_INT (s.episode_started, START);
    CHECK_INT (s.episode_closed_on, 0);
    CHECK_UINT (s.level, 1);
    s_look (txn, p, 56, &s_nobody, (int []) { RB_ESCALATION_STEP_NO_CASUSREGISSEUR,
            RB_ESCALATION_STEP_DOORBRAAKTEAM, 0 }, NULL);
    //  Closed, and absent again after a month: a new ladder.
    s_absence (txn, p, CLOSED, START, s_day (57), true);
    s_absence (txn, p, FIRST, s_day (90), s_day (90), true);
    s = s_state (txn, p);
    CHECK_INT (s.episode_started, s_day (90));
    CHECK_UINT (s.level, 0);
    CHECK_UINT (s.reminders, 0);
    CHECK_INT (s.thuiszitter_since, 0);
    CHECK_INT (rb_escalation_next_on (&s_policy, &s), s_day (118));
    //  A case first heard of by a later signal opens its episode all the same.
    const char *q = s_case (7);
    s_absence (txn, q, DIGEST, s_day (2), s_day (5), true);
    CHECK_INT (s_state (txn, q).episode_started, s_day (2));
    s_absence (txn, s_case (2), CLOSED, START, s_day (5), false);   //  nothing open: nothing
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

static void
s_test_refusals (void)
{
    rb_test_section ("refusals name their field and write nothing");
    rb_txn_t *txn = s_write ();
    rb_refusal_t r;
    bool changed;
    size_t count;
    rb_escalation_step_t steps [RB_ESCALATION_STEPS_MAX];
    const char *fresh = "00000000000000000000000000000000000000000000000000000000000000ff";
    CHECK_INT (rb_escalation_on_absence (s_esc, txn, &s_policy, "ABC", FIRST, START, START, &changed, &r),
               RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "case_pseudonym");
    CHECK_INT (rb_escalation_on_absence (s_esc, txn, &s_policy, fresh, FIRST, START, 20261331, &changed, &r),
               RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "date");
    CHECK_INT (rb_escalation_on_absence (s_esc, txn, &s_policy, fresh, FIRST, 20260230, START, &changed, &r),
               RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "episode_started");
    CHECK_INT (rb_escalation_look (s_esc, txn, &s_policy, fresh, 0, &s_nobody, steps, &count, &r),
               RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "today");
    CHECK_INT (rb_escalation_on_stall (s_esc, txn, &s_policy, fresh, 0, 2, START, steps, &count, &r),
               RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "plan_id");
    CHECK_INT (rb_escalation_on_stall (s_esc, txn, &s_policy, fresh, 1, 0, START, steps, &count, &r),
               RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "stalls");
    rb_escalation_state_t s;
    CHECK_INT (rb_escalation_get (s_esc, txn, fresh, &s), RB_ENOTFOUND);
    rb_txn_destroy (&txn);
}

static void
s_test_durable (void)
{
    rb_test_section ("the ladder survives reopening the store; a damaged record is no state");
    rb_escalation_destroy (&s_esc);
    rb_store_destroy (&s_store);
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_esc = rb_escalation_new (s_store);
    CHECK (s_esc);
    rb_table_t table;
    CHECK_INT (rb_store_table (s_store, RB_ESCALATION_TABLE, &table), RB_OK);
    rb_txn_t *txn = s_write ();
    rb_escalation_state_t s = s_state (txn, s_case (0));
    CHECK_UINT (s.level, 3);
    CHECK_INT (s.thuiszitter_since, s_day (84));
    CHECK_INT (s_state (txn, s_case (6)).episode_started, s_day (90));
    CHECK_INT (rb_txn_put (txn, table, (rb_val_t) { s_cases [0], 64 }, rb_val_str ("junk")), RB_OK);
    CHECK_INT (rb_escalation_get (s_esc, txn, s_cases [0], &s), RB_ESTORE);
    rb_txn_destroy (&txn);
}

static void
s_test_timer_made (void)
{
    rb_test_section ("the timer's time is kept, survives a new episode, and a version 1 record reads as 0");
    rb_table_t table;
    CHECK_INT (rb_store_table (s_store, RB_ESCALATION_TABLE, &table), RB_OK);
    rb_txn_t *txn = s_write ();
    rb_refusal_t r;
    const char *p = s_case (5);
    s_absence (txn, p, FIRST, START, START, true);
    CHECK_INT (s_state (txn, p).timer_made_ms, 0);
    CHECK_INT (rb_escalation_set_timer_made (s_esc, txn, p, 1790000000123LL, &r), RB_OK);
    CHECK_INT (s_state (txn, p).timer_made_ms, 1790000000123LL);
    s_absence (txn, p, CLOSED, START, s_day (3), true);
    s_absence (txn, p, FIRST, s_day (40), s_day (40), true);     //  a new episode
    rb_escalation_state_t s = s_state (txn, p);
    CHECK_INT (s.episode_started, s_day (40));
    CHECK_INT (s.timer_made_ms, 1790000000123LL);
    //  Refusals write nothing.
    const char *fresh = "00000000000000000000000000000000000000000000000000000000000000fe";
    CHECK_INT (rb_escalation_set_timer_made (s_esc, txn, "ABC", 1, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "case_pseudonym");
    CHECK_INT (rb_escalation_set_timer_made (s_esc, txn, p, 0, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "made_ms");
    CHECK_INT (rb_escalation_set_timer_made (s_esc, txn, fresh, 1, &r), RB_ENOTFOUND);
    CHECK_REFUSAL (&r, RB_ENOTFOUND, "case_pseudonym");
    CHECK_INT (rb_escalation_get (s_esc, txn, fresh, &s), RB_ENOTFOUND);
    //  A record as version 1 wrote it: 27 bytes, no timer time.
    uint8_t v1 [27] = { 1, 1, 0 };
    const int32_t dates [6] = { s_day (28), START, 0, 0, s_day (35), 0 };
    for (int i = 0; i < 6; i++)
        for (int b = 0; b < 4; b++)
            v1 [3 + 4 * i + b] = (uint8_t) ((uint32_t) dates [i] >> (24 - 8 * b));
    CHECK_INT (rb_txn_put (txn, table, (rb_val_t) { fresh, 64 }, (rb_val_t) { v1, sizeof v1 }), RB_OK);
    s = s_state (txn, fresh);
    CHECK_UINT (s.level, 1);
    CHECK_INT (s.level_since, s_day (28));
    CHECK_INT (s.episode_started, START);
    CHECK_INT (s.next_remind_on, s_day (35));
    CHECK_INT (s.timer_made_ms, 0);
    v1 [0] = 2;                                 //  version 2 must be 35 bytes
    CHECK_INT (rb_txn_put (txn, table, (rb_val_t) { fresh, 64 }, (rb_val_t) { v1, sizeof v1 }), RB_OK);
    CHECK_INT (rb_escalation_get (s_esc, txn, fresh, &s), RB_ESTORE);
    rb_txn_destroy (&txn);
}

int
main (void)
{
    rb_test_begin ("escalation");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_esc = rb_escalation_new (s_store);
    CHECK (s_esc);
    s_policy = rb_escalation_policy_default ();
    s_test_policy ();
    s_test_calendar ();
    s_test_jump ();
    s_test_fitting_plan ();
    s_test_stalls ();
    s_test_close_resume ();
    s_test_refusals ();
    s_test_durable ();
    s_test_timer_made ();
    rb_escalation_destroy (&s_esc);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
