/*  bench_plans: a municipality with very many open plans, when 10,000 of
 *  their milestones pass on one day.
 *
 *  A region of the real regiebus-municipality (mun-p, with a test clock)
 *  and one holder node (hold-p, bench_holder.h). Every case is held by
 *  hold-p as SCHOOL_MENTOR and by mun-p's own leerplicht, and has one open
 *  plan owned by the school, with one milestone and a yearly review: two
 *  durable timers per plan (the milestone's stall and the review's), with
 *  the ids and payload the daemon gives them (rb_mun_plans.h). Writing a
 *  million cases through the API would measure the API; so the benchmark
 *  stops mun-p after it first came up, writes the cases, holders, plans
 *  and timers into its store with the register's own modules (rb_regie,
 *  rb_plan, rb_timers; 10,000 cases per commit, in rising pseudonym order), and
 *  starts it again.
 *  `plans_due` of the plans have their milestone tomorrow, the others
 *  from the day after tomorrow to a year on.
 *
 *  Measured:
 *
 *    scan   on the prepared store, before mun-p starts again: a read
 *           transaction visits every timer due the day after tomorrow
 *           (rb_timers_due, no limit), S_SCANS times, median and slowest
 *    fire   mun-p's clock is advanced to the day after tomorrow; from that
 *           call until hold-p has committed the last stall notification.
 *           Each due timer is one stall: recorded on its plan, notified to
 *           both holders (one envelope to hold-p, one local notice for
 *           leerplicht), all in the commit that deletes the timer, at most
 *           1,000 timers per tick of the daemon. The municipality's
 *           counters must say plans_due stalls and twice as many copies.
 *
 *  Every wait is bounded; nothing leaves the machine.
 */
#include "bench_region.h"
#include "rb_calendar.h"
#include "rb_plan.h"
#include "rb_timers.h"
#include <czmq.h>
#include <time.h>

#define S_PER_COMMIT 10000              //  cases written per setup commit
#define S_SCANS 5                       //  read-only due scans timed
#define S_FIRE_MS 300000                //  longest wait for the stalls to land
#define S_MAP_MB 4096                   //  the nodes' map (bench_child.c)
#define S_ID_HEX 48                     //  pseudonym digits in a timer id (rb_mun_plans.h)

//  The run's state.
typedef struct {
    rb_store_t *store;                  //  mun-p's store, while mun-p is down
    rb_regie_t *regie;                  //  its regie register
    rb_plan_register_t *plans;          //  its plan register
    rb_timers_t *timers;                //  its timers
    uint64_t random;                    //  xorshift state: the same cases every run
    int32_t today;                      //  the day the plans are registered
    int64_t due_ms;                     //  the moment the due ones are due at
    uint64_t visited;                   //  timers a scan saw
} s_run_t;

//  The start of date in the local time zone, in ms, as the daemon counts it.
static int64_t
s_day_start_ms (int32_t date)
{
    struct tm tm = { .tm_year = date / 10000 - 1900, .tm_mon = date / 100 % 100 - 1,
                     .tm_mday = date % 100, .tm_isdst = -1 };
    return (int64_t) mktime (&tm) * 1000;
}

//  One timer of plan 1 of the case, as rb_mun_plans sets it.
static rb_err_t
s_timer (s_run_t *self, rb_txn_t *txn, const char *pseudonym, const char *what, int32_t day)
{
    char id [RB_TIMER_ID_MAX + 1];
    rb_refusal_t r;
    snprintf (id, sizeof id, "plan/%.*s/1/%s", S_ID_HEX, pseudonym, what);
    return rb_timers_set (self->timers, txn, id, s_day_start_ms (day), pseudonym, 64, &r);
}

//  Case n: opened, two holders, a plan with one milestone, its two timers.
static rb_err_t
s_case (s_run_t *self, rb_txn_t *txn, uint64_t n, bool due, const char *holder, const char *mun)
{
    //  Pseudonyms in rising order: the cases are written as appends, so
    //  setting a million up is bound by the records, not by rewriting
    //  random pages. Which cases are due is spread evenly all the same.
    char pseudonym [65];
    snprintf (pseudonym, sizeof pseudonym, "%016llx%016llx%016llx%016llx", (unsigned long long) n,
              (unsigned long long) bench_random (&self->random), (unsigned long long) bench_random (&self->random),
              (unsigned long long) bench_random (&self->random));
    rb_actor_t school = rb_regie_actor (holder, RB_ROLE_SCHOOL_MENTOR);
    rb_actor_t leerplicht = rb_regie_actor (mun, RB_ROLE_LEERPLICHT);
    int64_t now_ms = zclock_time ();
    bool changed;
    rb_refusal_t r;
    rb_err_t rc = rb_regie_case_open (self->regie, txn, pseudonym, now_ms, &changed, &r);
    if (!rc)
        rc = rb_regie_join (self->regie, txn, pseudonym, &school, "mentor", "enrolment", now_ms, &changed, &r);
    if (!rc)
        rc = rb_regie_join (self->regie, txn, pseudonym, &leerplicht, NULL, "legal_threshold", now_ms,
                            &changed, &r);
    int32_t date = rb_calendar_add_days (self->today, due? 1: 3 + (int32_t) (n % 360));
    rb_plan_step_t step = { "education plan", date };
    rb_plan_spec_t spec = { RB_PLAN_TYPE_ACTION, school, 365, &step, 1 };
    rb_plan_change_t change;
    if (!rc)
        rc = rb_plan_register (self->plans, txn, pseudonym, &spec, self->today, &change, &r);
    if (!rc)
        rc = s_timer (self, txn, pseudonym, "m1", rb_calendar_add_days (date, 1));
    if (!rc)
        rc = s_timer (self, txn, pseudonym, "v", rb_calendar_add_days (self->today, 366));
    return rc;
}

//  Every case, the due ones spread evenly among the others.
static int
s_populate (s_run_t *self, const bench_opts_t *o, const char *holder, const char *mun)
{
    uint64_t every = o->plans / o->plans_due, set_due = 0;
    for (uint64_t n = 0; n < o->plans;) {
        rb_txn_t *txn;
        if (rb_txn_begin (self->store, true, &txn))
            return -1;
        rb_err_t rc = RB_OK;
        for (uint64_t i = 0; i < S_PER_COMMIT && n < o->plans && !rc; i++, n++) {
            bool due = set_due < o->plans_due && n % every == 0;
            set_due += due;
            rc = s_case (self, txn, n, due, holder, mun);
        }
        if (rc || rb_txn_commit (&txn)) {
            rb_txn_destroy (&txn);
            fprintf (stderr, "bench: plans: writing the cases failed: %s\n", rb_store_errmsg (self->store));
            return -1;
        }
    }
    return set_due == o->plans_due? 0: -1;
}

static int
s_count (const rb_timer_t *timer, void *arg)
{
    (void) timer;
    ((s_run_t *) arg)->visited++;
    return 0;
}

//  The due scans on the prepared store.
static int
s_scans (s_run_t *self, const bench_opts_t *o, bench_plans_t *out)
{
    int64_t scans [S_SCANS];
    for (int i = 0; i < S_SCANS; i++) {
        rb_txn_t *txn;
        self->visited = 0;
        int64_t start = bench_now_ns ();
        if (rb_txn_begin (self->store, false, &txn))
            return -1;
        rb_err_t rc = rb_timers_due (self->timers, txn, self->due_ms, NULL, 0, s_count, self);
        rb_txn_destroy (&txn);
        scans [i] = bench_now_ns () - start;
        if (rc || self->visited != o->plans_due)
            return -1;
    }
    bench_sort (scans, S_SCANS);
    out->scan_ms = (double) scans [S_SCANS / 2] / 1e6;
    out->scan_max_ms = (double) scans [S_SCANS - 1] / 1e6;
    return 0;
}

//  Write the cases into mun-p's store (mun-p is down) and scan it.
static int
s_prepare (bench_region_t *region, const bench_opts_t *o, bench_plans_t *out, int64_t *due_ms)
{
    char path [480];
    rb_refusal_t r;
    snprintf (path, sizeof path, "%s/%s", region->dir, region->nodes [0].name);
    s_run_t run = { .random = 0x2545f4914f6cdd1dULL, .today = rb_calendar_date_at (zclock_time ()) };
    run.due_ms = s_day_start_ms (rb_calendar_add_days (run.today, 2)) + 60000;
    run.store = rb_store_new (path, S_MAP_MB, &r);
    if (run.store) {
        run.regie = rb_regie_new (run.store);
        run.plans = run.regie? rb_plan_register_new (run.store, run.regie): NULL;
        run.timers = rb_timers_new (run.store);
    }
    int rc = run.plans && run.timers? 0: -1;
    int64_t start = bench_now_ns ();
    if (!rc)
        rc = s_populate (&run, o, region->nodes [1].name, region->nodes [0].name);
    out->setup_seconds = (double) (bench_now_ns () - start) / 1e9;
    if (!rc)
        rc = s_scans (&run, o, out);
    uint64_t used = 0, map = 0;
    if (run.store)
        rb_store_usage (run.store, &used, &map);
    out->store_mb = (double) used / (1024.0 * 1024.0);
    rb_timers_destroy (&run.timers);
    rb_plan_register_destroy (&run.plans);
    rb_regie_destroy (&run.regie);
    rb_store_destroy (&run.store);
    *due_ms = run.due_ms;
    return rc;
}

//  Move mun-p's clock to due_ms; when the call was made, in ns.
static int
s_advance (bench_node_t *mun, int64_t due_ms, int64_t *start_ns)
{
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    Regiebus__ApiReply *reply = bench_region_call (mun, REGIEBUS__API_REQUEST__CALL_STATUS, &status.base, 5000);
    int64_t by_ms = reply? due_ms - reply->status->now_ms: 0;
    rb_wire_free (&reply);
    if (by_ms <= 0)
        return -1;
    Regiebus__AdvanceClockRequest advance = REGIEBUS__ADVANCE_CLOCK_REQUEST__INIT;
    advance.by_ms = by_ms;
    *start_ns = bench_now_ns ();
    reply = bench_region_call (mun, REGIEBUS__API_REQUEST__CALL_ADVANCE_CLOCK, &advance.base, 5000);
    int rc = reply? 0: -1;
    rb_wire_free (&reply);
    return rc;
}

//  Wait until hold-p committed every stall and mun-p counts them all.
static int
s_fire (bench_region_t *region, const bench_opts_t *o, int64_t due_ms, bench_plans_t *out)
{
    bench_region_mark (region);
    int64_t start = 0;
    uint64_t want [2] = { 0, o->plans_due };
    if (s_advance (&region->nodes [0], due_ms, &start)
    ||  bench_region_wait_stamped (region, want, S_FIRE_MS))
        return -1;
    const bench_stamps_t *stamps = region->nodes [1].stamps;
    uint64_t published = atomic_load (&stamps->published);
    int64_t last = 0;
    for (uint64_t i = published - o->plans_due; i < published; i++)
        last = stamps->entries [i].commit_ns > last? stamps->entries [i].commit_ns: last;
    out->fire_seconds = (double) (last - start) / 1e9;
    out->stalls = (uint64_t) bench_region_counter (&region->nodes [0], "municipality_plan_stalls");
    out->notifications = (uint64_t) bench_region_counter (&region->nodes [0], "municipality_notifications_sent");
    out->fired = (uint64_t) bench_region_counter (&region->nodes [0], "municipality_timers_fired");
    out->rate = out->fire_seconds > 0? (double) out->notifications / out->fire_seconds: 0;
    if (out->stalls != o->plans_due || out->fired != o->plans_due || out->notifications != 2 * o->plans_due) {
        fprintf (stderr, "bench: plans: mun-p counts %llu stalls, %llu timers fired, %llu notifications\n",
                 (unsigned long long) out->stalls, (unsigned long long) out->fired,
                 (unsigned long long) out->notifications);
        return -1;
    }
    return 0;
}

int
bench_plans (const bench_opts_t *opts, const char *dir, bench_plans_t *out)
{
    memset (out, 0, sizeof *out);
    //  mun-p needs a clock it can be told to move.
    bench_opts_t o = *opts;
    if (o.set_count == BENCH_MAX_SETS)
        return -1;
    o.sets [o.set_count++] = "node/clock=test";
    bench_member_t members [2] = { { "mun-p", BENCH_MUNICIPALITY, 0 },
                                   { "hold-p", BENCH_HOLDER, opts->plans_due + 64 } };
    bench_region_t region;
    int64_t due_ms = 0;
    int rc = bench_region_start (&region, &o, dir, "plans", members, 2);
    if (!rc)
        rc = bench_region_stop_node (&region, 0);
    if (!rc)
        rc = s_prepare (&region, &o, out, &due_ms);
    if (!rc)
        rc = bench_region_start_node (&region, &o, 0);
    if (!rc)
        rc = s_fire (&region, &o, due_ms, out);
    if (bench_region_stop (&region))
        rc = -1;
    out->mun_cpu_seconds = region.nodes [0].child.cpu;
    out->plans = opts->plans;
    out->due = opts->plans_due;
    out->ran = rc == 0;
    bench_region_destroy (&region);
    if (rc)
        fprintf (stderr, "bench: plans: the run failed; see %s\n", region.dir);
    return rc;
}
