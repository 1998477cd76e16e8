/*  bench_timers: how long finding and firing the due timers takes when
 *  very many are set.
 *
 *  One fresh store with LMDB's default (durable) flags, as a
 *  municipality's would be, holding `timers` timers due at random times
 *  over the coming year (one per open case, say a milestone each) and
 *  `timers_due` more that are due now, spread over the past hour. They
 *  are set in random due order, 10,000 per commit, through rb_timers as a
 *  daemon would set them: ids like "milestone/<case>/1", a 64-byte
 *  payload.
 *
 *  Then, with the store warm in the page cache as it is on a running node:
 *
 *    scan   a read transaction visits every due timer (rb_timers_due at
 *           now, no limit) and does nothing else; timed `S_SCANS` times,
 *           the median and the slowest reported
 *    fire   a write transaction visits the due timers and fires each
 *           (rb_timers_fire: two deletes), then commits; timed once from
 *           the begin until the commit held, with the commit alone beside
 *           and the bytes the commit wrote (wchar of /proc/self/io: the
 *           dirty pages LMDB writes out, whatever the page cache does)
 *
 *  Afterwards nothing is due and every other timer is still set, which
 *  the run checks. Every count is bounded; nothing leaves the machine.
 */
#include "bench.h"
#include "rb_timers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PER_COMMIT 10000              //  timers set per setup commit
#define S_SCANS 5                       //  read-only scans timed
#define S_YEAR_MS (365LL * 24 * 3600 * 1000)
#define S_HOUR_MS (3600LL * 1000)
#define S_NOW_MS 1795000000000LL        //  "now": a fixed day in 2026
#define S_PAYLOAD 64                    //  bytes of payload per timer
#define S_MAP_MB 4096                   //  room for 1,000,000 timers and more

//  The state of one run.
typedef struct {
    rb_store_t *store;                  //  the fresh store
    rb_timers_t *timers;                //  its timers
    uint64_t random;                    //  xorshift state: the same timers every run
    uint64_t visited;                   //  timers the current visit saw
    rb_txn_t *txn;                      //  the firing visit's transaction
    bool fire_failed;                   //  a fire in the visit was refused
} s_run_t;

//  Set timer number n, due now or at a random time in the coming year.
static rb_err_t
s_set_one (s_run_t *self, rb_txn_t *txn, uint64_t n, bool due_now)
{
    char id [RB_TIMER_ID_MAX + 1];
    uint8_t payload [S_PAYLOAD];
    snprintf (id, sizeof id, "milestone/%016llx/1", (unsigned long long) n);
    memset (payload, (int) (n & 0xff), sizeof payload);
    int64_t due = due_now? S_NOW_MS - (int64_t) (bench_random (&self->random) % S_HOUR_MS)
                         : S_NOW_MS + 1 + (int64_t) (bench_random (&self->random) % S_YEAR_MS);
    rb_refusal_t r;
    return rb_timers_set (self->timers, txn, id, due, payload, sizeof payload, &r);
}

//  Set every timer: the due ones spread evenly among the others.
static int
s_setup (s_run_t *self, uint64_t total, uint64_t due)
{
    uint64_t every = due? total / due: 0, set_due = 0;
    for (uint64_t n = 0; n < total;) {
        rb_txn_t *txn;
        if (rb_txn_begin (self->store, true, &txn))
            return -1;
        rb_err_t rc = RB_OK;
        for (uint64_t i = 0; i < S_PER_COMMIT && n < total && !rc; i++, n++) {
            bool due_now = set_due < due && every && n % every == 0;
            set_due += due_now;
            rc = s_set_one (self, txn, n, due_now);
        }
        if (rc || rb_txn_commit (&txn)) {
            rb_txn_destroy (&txn);
            fprintf (stderr, "bench: timers: setting failed: %s\n", rb_store_errmsg (self->store));
            return -1;
        }
    }
    return set_due == due? 0: -1;
}

static int
s_count (const rb_timer_t *timer, void *arg)
{
    (void) timer;
    ((s_run_t *) arg)->visited++;
    return 0;
}

static int
s_fire (const rb_timer_t *timer, void *arg)
{
    s_run_t *self = arg;
    rb_refusal_t r;
    self->visited++;
    if (rb_timers_fire (self->timers, self->txn, timer->id, &r)) {
        self->fire_failed = true;
        return 1;
    }
    return 0;
}

//  Bytes this process has passed to write calls so far; 0 when unknown.
static uint64_t
s_written (void)
{
    unsigned long long wchar = 0;
    char line [128];
    FILE *file = fopen ("/proc/self/io", "r");
    while (file && fgets (line, sizeof line, file))
        if (sscanf (line, "wchar: %llu", &wchar) == 1)
            break;
    if (file)
        fclose (file);
    return wchar;
}

//  One read-only due scan; its duration in ns, or -1.
static int64_t
s_scan (s_run_t *self)
{
    rb_txn_t *txn;
    int64_t start = bench_now_ns ();
    self->visited = 0;
    if (rb_txn_begin (self->store, false, &txn))
        return -1;
    rb_err_t rc = rb_timers_due (self->timers, txn, S_NOW_MS, NULL, 0, s_count, self);
    rb_txn_destroy (&txn);
    return rc? -1: bench_now_ns () - start;
}

//  Visit and fire every due timer in one transaction and commit it.
static int
s_fire_all (s_run_t *self, bench_timers_t *out)
{
    self->visited = 0;
    int64_t start = bench_now_ns ();
    if (rb_txn_begin (self->store, true, &self->txn))
        return -1;
    rb_err_t rc = rb_timers_due (self->timers, self->txn, S_NOW_MS, NULL, 0, s_fire, self);
    uint64_t written = s_written ();
    int64_t commit = bench_now_ns ();
    if (rc || self->fire_failed || rb_txn_commit (&self->txn)) {
        rb_txn_destroy (&self->txn);
        return -1;
    }
    int64_t end = bench_now_ns ();
    out->fired = self->visited;
    out->fire_ms = (double) (end - start) / 1e6;
    out->fire_commit_ms = (double) (end - commit) / 1e6;
    out->fire_commit_mb = (double) (s_written () - written) / (1024.0 * 1024.0);
    return 0;
}

//  The scans, the firing and the check that only the due ones went.
static int
s_measure (s_run_t *self, const bench_opts_t *o, bench_timers_t *out)
{
    int64_t scans [S_SCANS];
    for (int i = 0; i < S_SCANS; i++) {
        scans [i] = s_scan (self);
        if (scans [i] < 0 || self->visited != o->timers_due)
            return -1;
    }
    bench_sort (scans, S_SCANS);
    out->scanned = self->visited;
    out->scan_ms = (double) scans [S_SCANS / 2] / 1e6;
    out->scan_max_ms = (double) scans [S_SCANS - 1] / 1e6;
    if (s_fire_all (self, out) || out->fired != o->timers_due)
        return -1;
    int64_t after = s_scan (self);
    out->after_ms = (double) after / 1e6;
    return after < 0 || self->visited != 0? -1: 0;
}

int
bench_timers (const bench_opts_t *o, const char *dir, bench_timers_t *out)
{
    memset (out, 0, sizeof *out);
    char path [400];
    snprintf (path, sizeof path, "%s/timers", dir);
    rb_refusal_t r;
    s_run_t run = { .random = 0x9e3779b97f4a7c15ULL };
    run.store = rb_store_new (path, S_MAP_MB, &r);
    if (!run.store) {
        fprintf (stderr, "bench: timers: %s\n", r.message);
        return -1;
    }
    run.timers = rb_timers_new (run.store);
    int rc = run.timers? 0: -1;
    int64_t start = bench_now_ns ();
    if (!rc)
        rc = s_setup (&run, o->timers + o->timers_due, o->timers_due);
    out->setup_seconds = (double) (bench_now_ns () - start) / 1e9;
    uint64_t used = 0, map = 0;
    rb_store_usage (run.store, &used, &map);
    out->store_mb = (double) used / (1024.0 * 1024.0);
    if (!rc)
        rc = s_measure (&run, o, out);
    out->set = o->timers;
    out->due = o->timers_due;
    out->ran = rc == 0;
    rb_timers_destroy (&run.timers);
    rb_store_destroy (&run.store);
    if (rc)
        fprintf (stderr, "bench: timers: the run failed\n");
    return rc;
}
