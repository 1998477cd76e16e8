/*  regiebus-bench: run the benchmarks and print one table.
 *
 *  Usage: regiebus-bench [options]      (tests/bench/run builds and runs it)
 *
 *  The raw limits run first, on a quiet machine; then the link throughput,
 *  then LMDB once more at the batch size node B actually committed in the
 *  throughput run, then the latency at a fixed rate. Every figure of the
 *  table comes from this one run. The exit code says whether everything
 *  asked for ran (0) or something failed (1); it never judges the speed.
 */
#include "bench.h"
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#ifndef RB_BENCH_NODE_BIN
#   define RB_BENCH_NODE_BIN "regiebus-node"
#endif
#ifndef RB_BENCH_BUILD_TYPE
#   define RB_BENCH_BUILD_TYPE "unknown"
#endif

#define S_TARGET_RATE 100000.0      //  events/s through one durable link
#define S_TARGET_P99_US 5000.0      //  p99 at 1,000 events/s

//  Everything measured in this run; a negative rate means not measured.
typedef struct {
    double lmdb [3];                //  records/s at 1, 100, 1,000 per commit
    bench_dist_t lmdb_commit [3];   //  their commit durations
    double lmdb_link;               //  records/s at B's mean batch size
    size_t link_batch;              //  that batch size, 0 when unknown
    double push_pull;               //  messages/s
    double req_rep_us;              //  mean round trip
    double req_rep_p99_us;          //  its 99th percentile
    bench_throughput_t throughput;
    bench_latency_t latency;
    double load_start, load_end;    //  1-minute load average before and after
} s_results_t;

static const size_t s_lmdb_batches [3] = { 1, 100, 1000 };

static int
s_usage (FILE *to)
{
    fprintf (to,
        "usage: regiebus-bench [options]\n"
        "  --smoke               tiny counts: only checks that everything runs\n"
        "  --only LIST           comma-separated parts: raw, throughput, latency (default all)\n"
        "  --dir DIR             where the temporary directory goes (default $TMPDIR or /tmp)\n"
        "  --keep                keep the temporary directory (node A's log is in it)\n"
        "  --node PATH           regiebus-node binary for node A (default %s)\n"
        "  --events N            events through the link (default 500000)\n"
        "  --per-request N       events per SubmitRequest (default 1000)\n"
        "  --in-flight N         SubmitRequests outstanding (default 4)\n"
        "  --seconds S           stop submitting after S seconds (default 60)\n"
        "  --rate N              latency run: events per second (default 1000)\n"
        "  --warmup S            latency run: seconds not counted (default 1)\n"
        "  --latency-seconds S   latency run: seconds counted (default 10)\n"
        "  --raw-seconds S       time bound of each raw measurement (default 3)\n"
        "  --set SECTION/KEY=V   node setting for both nodes, e.g. link/batch_events=1024\n",
        RB_BENCH_NODE_BIN);
    return 2;
}

// ---------------------------------------------------------------------------
//  Formatting

//  A whole number with thousands separators.
static const char *
s_num (char *buf, size_t size, double value)
{
    char digits [32];
    snprintf (digits, sizeof digits, "%.0f", value < 0? 0: value);
    size_t len = strlen (digits), out = 0;
    for (size_t i = 0; i < len && out + 2 < size; i++) {
        if (i && (len - i) % 3 == 0)
            buf [out++] = ',';
        buf [out++] = digits [i];
    }
    buf [out] = 0;
    return buf;
}

static const char *
s_rate (char *buf, size_t size, double value, const char *unit)
{
    if (value < 0)
        snprintf (buf, size, "not measured");
    else {
        char n [40];
        snprintf (buf, size, "%s %s", s_num (n, sizeof n, value), unit);
    }
    return buf;
}

static const char *
s_ms (char *buf, size_t size, double us)
{
    snprintf (buf, size, "%.2f ms", us / 1000.0);
    return buf;
}

static void
s_row (const char *what, const char *measured, const char *limit, const char *ratio)
{
    printf ("| %s | %s | %s | %s |\n", what, measured, limit, ratio);
}

static const char *
s_fraction (char *buf, size_t size, double measured, double limit)
{
    if (measured <= 0 || limit <= 0)
        snprintf (buf, size, "-");
    else
        snprintf (buf, size, "%.3f", measured / limit);
    return buf;
}

static const char *
s_times (char *buf, size_t size, double measured, double limit)
{
    if (measured <= 0 || limit <= 0)
        snprintf (buf, size, "-");
    else
        snprintf (buf, size, "%.1fx", measured / limit);
    return buf;
}

static const char *
s_fs_name (const char *dir)
{
    struct statfs fs;
    if (statfs (dir, &fs))
        return "unknown";
    switch ((unsigned long) fs.f_type) {
        case 0xEF53: return "ext4";
        case 0x01021994: return "tmpfs";
        case 0x58465342: return "xfs";
        case 0x9123683E: return "btrfs";
        case 0x794C7630: return "overlayfs";
        default: return "other";
    }
}

//  The 1-minute load average, -1 when unknown.
static double
s_load (void)
{
    double load = -1;
    FILE *file = fopen ("/proc/loadavg", "r");
    if (file) {
        if (fscanf (file, "%lf", &load) != 1)
            load = -1;
        fclose (file);
    }
    return load;
}

static void
s_print (const bench_opts_t *o, const s_results_t *r, const char *dir)
{
    char when [64], a [96], b [160], c [32];
    time_t now = time (NULL);
    strftime (when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime (&now));
    printf ("\nregiebus-bench %s%s: %ld cores, %s build, data in %s (%s)\n\n", when,
            o->smoke? " (smoke: tiny counts, figures meaningless)": "",
            sysconf (_SC_NPROCESSORS_ONLN), RB_BENCH_BUILD_TYPE, dir, s_fs_name (dir));
    printf ("load average (1 min) before %.2f, after %.2f: other work on the machine skews every figure\n\n",
            r->load_start, r->load_end);
    printf ("| what | measured | raw limit (same run) | ratio |\n|---|---:|---:|---:|\n");
    if (o->run_raw) {
        for (int i = 0; i < 3; i++) {
            char what [96];
            snprintf (what, sizeof what, "raw: LMDB, %s record%s of %zu B per fsync'd commit",
                      s_num (c, sizeof c, (double) s_lmdb_batches [i]), i? "s": "", o->record_bytes);
            char measured [160];
            s_rate (a, sizeof a, r->lmdb [i], "rec/s");
            if (r->lmdb [i] > 0)
                snprintf (measured, sizeof measured, "%s (commit p50 %.0f µs, p99 %.0f µs)", a,
                          r->lmdb_commit [i].p50, r->lmdb_commit [i].p99);
            else
                snprintf (measured, sizeof measured, "%s", a);
            s_row (what, measured, "", "");
        }
        char what [96];
        snprintf (what, sizeof what, "raw: ZeroMQ PUSH/PULL, %zu B messages, loopback TCP", o->record_bytes);
        s_row (what, s_rate (a, sizeof a, r->push_pull, "msg/s"), "", "");
        snprintf (what, sizeof what, "raw: ZeroMQ REQ/REP round trip, %zu B, loopback TCP", o->record_bytes);
        if (r->req_rep_us > 0)
            snprintf (a, sizeof a, "%.1f µs (p99 %.1f µs)", r->req_rep_us, r->req_rep_p99_us);
        else
            snprintf (a, sizeof a, "not measured");
        s_row (what, a, "", "");
    }
    if (o->run_throughput) {
        const bench_throughput_t *t = &r->throughput;
        char what [200], limit [96];
        snprintf (what, sizeof what, "link A→B, durable at both ends, CURVE: %s events, %s per submit, %d in flight",
                  s_num (a, sizeof a, (double) (t->ran? t->events: o->events)),
                  s_num (b, sizeof b, (double) o->per_request), o->in_flight);
        char measured [64];
        s_rate (measured, sizeof measured, t->ran? t->rate: -1, "events/s");
        if (r->link_batch) {
            snprintf (limit, sizeof limit, "LMDB at B's batch (%zu/commit): %s", r->link_batch,
                      s_rate (b, sizeof b, r->lmdb_link, "rec/s"));
            s_row (what, measured, limit, s_fraction (c, sizeof c, t->rate, r->lmdb_link));
            snprintf (what, sizeof what, "〃");
            measured [0] = 0;
        }
        snprintf (limit, sizeof limit, "LMDB 1,000/commit: %s", s_rate (b, sizeof b, r->lmdb [2], "rec/s"));
        s_row (what, measured, limit, s_fraction (c, sizeof c, t->ran? t->rate: -1, r->lmdb [2]));
        snprintf (limit, sizeof limit, "ZeroMQ PUSH/PULL: %s", s_rate (b, sizeof b, r->push_pull, "msg/s"));
        s_row ("〃", "", limit, s_fraction (c, sizeof c, t->ran? t->rate: -1, r->push_pull));
    }
    if (o->run_latency) {
        const bench_latency_t *l = &r->latency;
        const char *names [4] = { "p50", "p90", "p99", "max" };
        double values [4] = { l->latency.p50, l->latency.p90, l->latency.p99, l->latency.max };
        char limit [96];
        if (r->req_rep_us > 0)
            snprintf (limit, sizeof limit, "REQ/REP round trip: %.1f µs", r->req_rep_us);
        else
            snprintf (limit, sizeof limit, "-");
        for (int i = 0; i < 4; i++) {
            char what [160];
            if (i)
                snprintf (what, sizeof what, "〃 %s", names [i]);
            else
                snprintf (what, sizeof what, "latency accepted at A → committed at B, %s events/s: p50",
                          s_num (b, sizeof b, (double) o->rate));
            s_row (what, l->ran? s_ms (a, sizeof a, values [i]): "not measured", i == 0 || i == 2? limit: "",
                   l->ran && (i == 0 || i == 2)? s_times (c, sizeof c, values [i], r->req_rep_us): "");
            if (i == 2 && r->lmdb [0] > 0) {
                snprintf (limit, sizeof limit, "LMDB 1-record commit p99: %.0f µs", r->lmdb_commit [0].p99);
                s_row ("〃 p99, against LMDB", "", limit,
                       l->ran? s_times (c, sizeof c, values [i], r->lmdb_commit [0].p99): "");
            }
        }
    }
    printf ("\n");
    if (o->run_throughput && r->throughput.ran) {
        const bench_throughput_t *t = &r->throughput;
        printf ("throughput: %s events committed at B %.2f s after the first submit; A had accepted"
                " them all after %.2f s (%s events/s); B made %s commits holding events, %.0f per commit\n",
                s_num (a, sizeof a, (double) t->events), t->seconds, t->accept_seconds,
                s_num (b, sizeof b, (double) t->events / t->accept_seconds),
                s_num (c, sizeof c, (double) t->b_commits), t->b_mean_batch);
        printf ("throughput: CPU per event: node A %.2f µs (process, %.0f%% of it in the kernel),"
                " node B %.2f µs (its loop thread)\n",
                t->a_cpu_seconds * 1e6 / (double) t->events,
                t->a_cpu_seconds > 0? 100.0 * t->a_sys_seconds / t->a_cpu_seconds: 0,
                t->b_cpu_seconds * 1e6 / (double) t->events);
    }
    if (o->run_latency && r->latency.ran) {
        const bench_latency_t *l = &r->latency;
        printf ("latency: %s events counted after %.1f s of warm-up; submits made at %.1f/s; %llu missing;"
                " %llu committed at B before A's reply reached the client\n",
                s_num (a, sizeof a, (double) l->samples), o->warmup_seconds, l->achieved_rate,
                (unsigned long long) l->missing, (unsigned long long) l->negative);
        const char *labels [4] = { "client sent -> A's OK reply received",
                                   "reply received -> applied in B's transaction",
                                   "applied at B -> B's commit held",
                                   "client sent -> committed at B" };
        const bench_dist_t *d [4] = { &l->submit, &l->transit, &l->commit, &l->end_to_end };
        printf ("latency, where the time goes (p50 / p90 / p99 / max, ms):\n");
        for (int i = 0; i < 4; i++)
            printf ("  %-46s %6.2f / %6.2f / %6.2f / %6.2f\n", labels [i], d [i]->p50 / 1000.0,
                    d [i]->p90 / 1000.0, d [i]->p99 / 1000.0, d [i]->max / 1000.0);
    }
    if (o->smoke)
        return;     //  tiny counts: the targets mean nothing here
    if (o->run_throughput && r->throughput.ran)
        printf ("target: >= 100,000 events/s through one durable link: %s events/s (%s)\n",
                s_num (a, sizeof a, r->throughput.rate), r->throughput.rate >= S_TARGET_RATE? "met": "MISSED");
    if (o->run_latency && r->latency.ran)
        printf ("target: p99 < 5 ms at 1,000 events/s: %.2f ms (%s)\n", r->latency.latency.p99 / 1000.0,
                r->latency.latency.p99 < S_TARGET_P99_US? "met": "MISSED");
    if (strcmp (RB_BENCH_BUILD_TYPE, "Release") != 0 && !o->smoke)
        printf ("note: not a Release build; tests/bench/run builds and runs the optimised one\n");
}

// ---------------------------------------------------------------------------
//  Options and the run

static int
s_parse (bench_opts_t *o, int argc, char *argv [])
{
    const char *only = NULL;
    //  First pass: --smoke changes every default.
    for (int i = 1; i < argc; i++)
        if (strcmp (argv [i], "--smoke") == 0)
            o->smoke = true;
    o->run_raw = o->run_throughput = o->run_latency = true;
    o->dir = getenv ("TMPDIR") && *getenv ("TMPDIR")? getenv ("TMPDIR"): "/tmp";
    o->node_bin = RB_BENCH_NODE_BIN;
    o->record_bytes = 200;
    o->payload_bytes = 100;
    o->in_flight = 4;
    o->rate = 1000;
    o->raw_seconds = o->smoke? 0.2: 3;
    o->zmq_messages = o->smoke? 20000: 2000000;
    o->zmq_round_trips = o->smoke? 200: 20000;
    o->events = o->smoke? 3000: 500000;
    o->per_request = o->smoke? 250: 1000;
    o->seconds = o->smoke? 20: 60;
    o->warmup_seconds = o->smoke? 0.1: 1;
    o->latency_seconds = o->smoke? 0.3: 10;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        const char *value = i + 1 < argc? argv [i + 1]: NULL;
        #define OPT(name_) (strcmp (arg, name_) == 0 && value && ++i)
        if (strcmp (arg, "--smoke") == 0)
            ;
        else
        if (strcmp (arg, "--keep") == 0)
            o->keep = true;
        else
        if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0) {
            s_usage (stdout);
            return 1;
        }
        else
        if (OPT ("--only"))
            only = value;
        else
        if (OPT ("--dir"))
            o->dir = value;
        else
        if (OPT ("--node"))
            o->node_bin = value;
        else
        if (OPT ("--events"))
            o->events = strtoull (value, NULL, 10);
        else
        if (OPT ("--per-request"))
            o->per_request = strtoull (value, NULL, 10);
        else
        if (OPT ("--in-flight"))
            o->in_flight = atoi (value);
        else
        if (OPT ("--seconds"))
            o->seconds = atof (value);
        else
        if (OPT ("--rate"))
            o->rate = strtoull (value, NULL, 10);
        else
        if (OPT ("--warmup"))
            o->warmup_seconds = atof (value);
        else
        if (OPT ("--latency-seconds"))
            o->latency_seconds = atof (value);
        else
        if (OPT ("--raw-seconds"))
            o->raw_seconds = atof (value);
        else
        if (OPT ("--set")) {
            if (o->set_count == BENCH_MAX_SETS || !strchr (value, '='))
                return s_usage (stderr);
            o->sets [o->set_count++] = value;
        }
        else
            return s_usage (stderr);
        #undef OPT
    }
    if (only) {
        o->run_raw = strstr (only, "raw") != NULL;
        o->run_throughput = strstr (only, "throughput") != NULL;
        o->run_latency = strstr (only, "latency") != NULL;
        if (!o->run_raw && !o->run_throughput && !o->run_latency)
            return s_usage (stderr);
    }
    if (o->events == 0 || o->per_request == 0 || o->per_request > 10000 || o->in_flight < 1
    ||  o->in_flight > 1000 || o->seconds <= 0 || o->rate == 0 || o->rate > 100000
    ||  o->latency_seconds <= 0 || o->warmup_seconds < 0 || o->raw_seconds <= 0
    ||  o->events > 100000000 || o->latency_seconds * (double) o->rate > 10000000)
        return s_usage (stderr);
    return 0;
}

static int
s_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

int
main (int argc, char *argv [])
{
    bench_opts_t opts;
    memset (&opts, 0, sizeof opts);
    int rc = s_parse (&opts, argc, argv);
    if (rc)
        return rc == 1? 0: rc;
    setvbuf (stdout, NULL, _IOLBF, 0);
    char dir [300];
    snprintf (dir, sizeof dir, "%s/regiebus-bench-XXXXXX", opts.dir);
    if (!mkdtemp (dir)) {
        fprintf (stderr, "bench: cannot make a directory in %s: %s\n", opts.dir, strerror (errno));
        return 1;
    }
    s_results_t r;
    memset (&r, 0, sizeof r);
    r.lmdb [0] = r.lmdb [1] = r.lmdb [2] = r.lmdb_link = r.push_pull = r.req_rep_us = -1;
    r.load_start = s_load ();
    int failed = 0;
    uint64_t max_records = opts.smoke? 20000: 2000000;
    if (opts.run_raw) {
        for (int i = 0; i < 3; i++) {
            fprintf (stderr, "bench: LMDB, %zu per commit ...\n", s_lmdb_batches [i]);
            r.lmdb [i] = bench_lmdb_rate (dir, s_lmdb_batches [i], opts.record_bytes, opts.raw_seconds,
                                          max_records, &r.lmdb_commit [i]);
            failed += r.lmdb [i] < 0;
        }
        fprintf (stderr, "bench: ZeroMQ PUSH/PULL ...\n");
        r.push_pull = bench_zmq_push_pull (opts.record_bytes, opts.zmq_messages, opts.raw_seconds + 2);
        fprintf (stderr, "bench: ZeroMQ REQ/REP ...\n");
        r.req_rep_us = bench_zmq_req_rep (opts.record_bytes, opts.zmq_round_trips, opts.raw_seconds,
                                          &r.req_rep_p99_us);
        failed += r.push_pull < 0;
        failed += r.req_rep_us < 0;
    }
    if (opts.run_throughput) {
        fprintf (stderr, "bench: link throughput, %llu events ...\n", (unsigned long long) opts.events);
        failed += bench_link_throughput (&opts, dir, &r.throughput) != 0;
        if (r.throughput.ran && opts.run_raw && r.throughput.b_mean_batch >= 1) {
            r.link_batch = (size_t) (r.throughput.b_mean_batch + 0.5);
            fprintf (stderr, "bench: LMDB, %zu per commit (B's batch) ...\n", r.link_batch);
            r.lmdb_link = bench_lmdb_rate (dir, r.link_batch, opts.record_bytes, opts.raw_seconds,
                                           max_records, NULL);
            failed += r.lmdb_link < 0;
        }
    }
    if (opts.run_latency) {
        fprintf (stderr, "bench: link latency at %llu events/s ...\n", (unsigned long long) opts.rate);
        failed += bench_link_latency (&opts, dir, &r.latency) != 0;
    }
    r.load_end = s_load ();
    s_print (&opts, &r, dir);
    if (opts.keep)
        printf ("kept: %s\n", dir);
    else
        nftw (dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (failed)
        fprintf (stderr, "bench: %d part%s failed (see above)\n", failed, failed == 1? "": "s");
    return failed? 1: 0;
}
