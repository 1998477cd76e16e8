/*  unit_mun_timers: the municipality's timer dispatch (rb_mun_timers.h).
 *
 *  A daemon registers a fire function per id prefix and runs the
 *  dispatcher on each tick in the tick's transaction. Here: kinds and
 *  their refusals; due timers go to the function of their prefix, in due
 *  order, deleted in the same transaction, so a run whose transaction is
 *  dropped (the crash before the commit) leaves them due and a committed
 *  run never fires them again; the per-run bound; a function that sets
 *  its own id again; a timer no kind owns is dropped; a refusing function
 *  stops the run and its timer is dropped at the start of the next run,
 *  unless it was set again since; a storage fault keeps every timer.
 */
#include "rb_test.h"
#include "rb_mun_timers.h"

static rb_store_t *s_store;
static rb_timers_t *s_timers;

//  What the fire functions saw, and what they are told to do.
typedef struct {
    char ids [32][RB_TIMER_ID_MAX + 1];     //  ids fired, in order
    size_t count;                       //  how many
    rb_err_t refuse_with;               //  refuse the timer named refuse_id with this
    char refuse_id [RB_TIMER_ID_MAX + 1];
    bool repeat;                        //  set the timer again, 1000 ms later
    rb_timers_t *timers;                //  for repeat
} s_seen_t;

static rb_err_t
s_fire (void *arg, rb_txn_t *txn, const rb_timer_t *timer, int64_t now_ms, rb_refusal_t *why)
{
    s_seen_t *seen = arg;
    CHECK (timer->due_ms <= now_ms);
    if (seen->refuse_with && strcmp (timer->id, seen->refuse_id) == 0)
        return rb_refuse (why, seen->refuse_with, "payload", "refused by the test");
    //  Its deletion came first: the timer is no longer set.
    rb_timer_t gone;
    CHECK_INT (rb_timers_get (seen->timers, txn, timer->id, &gone), RB_ENOTFOUND);
    CHECK (seen->count < 32);
    snprintf (seen->ids [seen->count++], sizeof seen->ids [0], "%s", timer->id);
    if (seen->repeat)
        return rb_timers_set (seen->timers, txn, timer->id, timer->due_ms + 1000,
                              timer->payload, timer->payload_size, why);
    return RB_OK;
}

static void
s_set (const char *id, int64_t due_ms)
{
    rb_txn_t *txn;
    rb_refusal_t r;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_timers_set (s_timers, txn, id, due_ms, "p", 1, &r), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

static bool
s_is_set (const char *id)
{
    rb_txn_t *txn;
    rb_timer_t timer;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    rb_err_t rc = rb_timers_get (s_timers, txn, id, &timer);
    rb_txn_destroy (&txn);
    return rc == RB_OK;
}

//  One run at now_ms; commit its transaction when commit and it held.
static rb_err_t
s_run (rb_mun_timers_t *dispatch, int64_t now_ms, bool commit, rb_mun_timers_run_t *run,
       rb_refusal_t *why)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    rb_err_t rc = rb_mun_timers_run (dispatch, txn, now_ms, run, why);
    if (!rc && commit)
        CHECK_INT (rb_txn_commit (&txn), RB_OK);
    rb_txn_destroy (&txn);
    return rc;
}


// ---------------------------------------------------------------------------
//  Tests

static void
s_test_kinds (void)
{
    rb_test_section ("kinds of timer: one function per prefix, prefixes apart");
    rb_mun_timers_t *dispatch = rb_mun_timers_new (s_timers, 0);
    CHECK (dispatch);
    s_seen_t seen = { .timers = s_timers };
    rb_refusal_t r;
    CHECK_INT (rb_mun_timers_on (dispatch, "plan/", s_fire, &seen, &r), RB_OK);
    CHECK_INT (rb_mun_timers_on (dispatch, "", s_fire, &seen, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "prefix");
    CHECK_INT (rb_mun_timers_on (dispatch, NULL, s_fire, &seen, &r), RB_EINVALID);
    CHECK_INT (rb_mun_timers_on (dispatch, "a-prefix-far-too-long/", s_fire, &seen, &r), RB_EINVALID);
    CHECK_INT (rb_mun_timers_on (dispatch, "esc/", NULL, &seen, &r), RB_EMISSING);
    CHECK_REFUSAL (&r, RB_EMISSING, "fn");
    //  "plan" would take "plan/" ids, "plan/x/" some of them: refused.
    CHECK_INT (rb_mun_timers_on (dispatch, "plan", s_fire, &seen, &r), RB_EINVALID);
    CHECK_INT (rb_mun_timers_on (dispatch, "plan/x/", s_fire, &seen, &r), RB_EINVALID);
    CHECK_INT (rb_mun_timers_on (dispatch, "plan/", s_fire, &seen, &r), RB_EINVALID);
    const char *more [] = { "esc/", "ack/", "k3/", "k4/", "k5/", "k6/", "k7/" };
    for (size_t i = 0; i < 7; i++)
        CHECK_INT (rb_mun_timers_on (dispatch, more [i], s_fire, &seen, &r), RB_OK);
    CHECK_INT (rb_mun_timers_on (dispatch, "k8/", s_fire, &seen, &r), RB_ETOOLARGE);
    CHECK_REFUSAL (&r, RB_ETOOLARGE, "prefix");
    rb_mun_timers_destroy (&dispatch);
    rb_mun_timers_destroy (&dispatch);      //  idempotent
    CHECK (dispatch == NULL);
}

static void
s_test_dispatch (void)
{
    rb_test_section ("due timers go to their prefix's function, in due order, once");
    rb_mun_timers_t *dispatch = rb_mun_timers_new (s_timers, 0);
    s_seen_t plans = { .timers = s_timers }, esc = { .timers = s_timers };
    rb_refusal_t r;
    CHECK_INT (rb_mun_timers_on (dispatch, "plan/", s_fire, &plans, &r), RB_OK);
    CHECK_INT (rb_mun_timers_on (dispatch, "esc/", s_fire, &esc, &r), RB_OK);
    s_set ("plan/a/1/m1", 300);
    s_set ("esc/a/4w", 100);
    s_set ("plan/a/1/v", 200);
    s_set ("plan/b/1/m1", 5000);            //  not due
    rb_mun_timers_run_t run;

    //  The transaction dropped: nothing happened, all still due.
    CHECK_INT (s_run (dispatch, 1000, false, &run, &r), RB_OK);
    CHECK_INT (run.fired, 3);
    CHECK (s_is_set ("plan/a/1/m1") && s_is_set ("esc/a/4w") && s_is_set ("plan/a/1/v"));

    plans.count = esc.count = 0;
    CHECK_INT (s_run (dispatch, 1000, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 3);
    CHECK_INT (run.dropped, 0);
    CHECK_INT (plans.count, 2);
    CHECK_STR (plans.ids [0], "plan/a/1/v");
    CHECK_STR (plans.ids [1], "plan/a/1/m1");
    CHECK_INT (esc.count, 1);
    CHECK_STR (esc.ids [0], "esc/a/4w");
    CHECK (!s_is_set ("plan/a/1/m1") && !s_is_set ("esc/a/4w") && !s_is_set ("plan/a/1/v"));

    //  Committed: never again.
    CHECK_INT (s_run (dispatch, 2000, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 0);
    CHECK_INT (plans.count, 2);
    CHECK_INT (s_run (dispatch, 5000, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 1);
    CHECK_STR (plans.ids [2], "plan/b/1/m1");
    rb_mun_timers_destroy (&dispatch);
}

static void
s_test_bound_and_repeat (void)
{
    rb_test_section ("at most per_tick timers a run; a function may set its id again");
    rb_mun_timers_t *dispatch = rb_mun_timers_new (s_timers, 3);
    s_seen_t seen = { .timers = s_timers };
    rb_refusal_t r;
    CHECK_INT (rb_mun_timers_on (dispatch, "plan/", s_fire, &seen, &r), RB_OK);
    char id [32];
    for (int i = 0; i < 5; i++) {
        snprintf (id, sizeof id, "plan/c/%d/m1", i);
        s_set (id, 10000 + i);
    }
    rb_mun_timers_run_t run;
    CHECK_INT (s_run (dispatch, 20000, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 3);
    CHECK_INT (s_run (dispatch, 20000, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 2);
    CHECK_STR (seen.ids [4], "plan/c/4/m1");

    //  Set again 1000 ms later: it stays, fires again when due again.
    seen.repeat = true;
    s_set ("plan/d/1/r1", 30000);
    CHECK_INT (s_run (dispatch, 30000, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 1);
    CHECK (s_is_set ("plan/d/1/r1"));
    seen.repeat = false;
    CHECK_INT (s_run (dispatch, 30999, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 0);
    CHECK_INT (s_run (dispatch, 31000, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 1);
    CHECK (!s_is_set ("plan/d/1/r1"));
    rb_mun_timers_destroy (&dispatch);
}

static void
s_test_drops (void)
{
    rb_test_section ("no kind, a refusal: dropped without effect; a fault: kept");
    rb_mun_timers_t *dispatch = rb_mun_timers_new (s_timers, 0);
    s_seen_t seen = { .timers = s_timers };
    rb_refusal_t r;
    CHECK_INT (rb_mun_timers_on (dispatch, "plan/", s_fire, &seen, &r), RB_OK);
    rb_mun_timers_run_t run;

    //  Nobody owns "old/": dropped at once, the rest fires.
    s_set ("old/x", 40000);
    s_set ("plan/e/1/m1", 40001);
    CHECK_INT (s_run (dispatch, 40001, true, &run, &r), RB_OK);
    CHECK_INT (run.dropped, 1);
    CHECK_INT (run.fired, 1);
    CHECK (!s_is_set ("old/x"));

    //  A refusal stops the run; the runtime drops its transaction, so the
    //  timer fired before it comes again; the refused one is dropped first.
    s_set ("plan/f/1/m1", 50000);
    s_set ("plan/f/1/m2", 50001);
    s_set ("plan/f/1/m3", 50002);
    seen.count = 0;
    seen.refuse_with = RB_ENOTFOUND;
    snprintf (seen.refuse_id, sizeof seen.refuse_id, "plan/f/1/m2");
    CHECK_INT (s_run (dispatch, 60000, true, &run, &r), RB_ENOTFOUND);
    CHECK_REFUSAL (&r, RB_ENOTFOUND, "payload");
    CHECK (s_is_set ("plan/f/1/m1") && s_is_set ("plan/f/1/m2") && s_is_set ("plan/f/1/m3"));
    seen.count = 0;
    CHECK_INT (s_run (dispatch, 60000, true, &run, &r), RB_OK);
    CHECK_INT (run.dropped, 1);
    CHECK_INT (run.fired, 2);
    CHECK_INT (seen.count, 2);
    CHECK_STR (seen.ids [0], "plan/f/1/m1");
    CHECK_STR (seen.ids [1], "plan/f/1/m3");
    CHECK (!s_is_set ("plan/f/1/m2"));

    //  Refused, then set again before the next run (a new due time): that
    //  is a new deed, kept and fired when it is due.
    s_set ("plan/g/1/m1", 70000);
    snprintf (seen.refuse_id, sizeof seen.refuse_id, "plan/g/1/m1");
    CHECK_INT (s_run (dispatch, 70000, true, &run, &r), RB_ENOTFOUND);
    seen.refuse_with = RB_OK;
    s_set ("plan/g/1/m1", 80000);
    CHECK_INT (s_run (dispatch, 70000, true, &run, &r), RB_OK);
    CHECK_INT (run.dropped, 0);
    CHECK (s_is_set ("plan/g/1/m1"));
    CHECK_INT (s_run (dispatch, 80000, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 1);

    //  A fault of the node stops the run and keeps the timer for later.
    s_set ("plan/h/1/m1", 90000);
    seen.refuse_with = RB_ESTORE;
    snprintf (seen.refuse_id, sizeof seen.refuse_id, "plan/h/1/m1");
    CHECK_INT (s_run (dispatch, 90000, true, &run, &r), RB_ESTORE);
    CHECK_INT (s_run (dispatch, 90000, true, &run, &r), RB_ESTORE);
    CHECK (s_is_set ("plan/h/1/m1"));
    seen.refuse_with = RB_OK;
    CHECK_INT (s_run (dispatch, 90000, true, &run, &r), RB_OK);
    CHECK_INT (run.fired, 1);
    CHECK_INT (run.dropped, 0);
    rb_mun_timers_destroy (&dispatch);
}

int
main (void)
{
    rb_test_begin ("mun_timers");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    //  The tables by their names, as a daemon opens them in its node.
    rb_table_t due, ids;
    CHECK_INT (rb_store_table (s_store, RB_TIMERS_TABLE_DUE, &due), RB_OK);
    CHECK_INT (rb_store_table (s_store, RB_TIMERS_TABLE_IDS, &ids), RB_OK);
    s_timers = rb_timers_new_on (due, ids);
    CHECK (s_timers);
    s_test_kinds ();
    s_test_dispatch ();
    s_test_bound_and_repeat ();
    s_test_drops ();
    rb_timers_destroy (&s_timers);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
