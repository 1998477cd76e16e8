/*  regiebus-bench: run the benchmarks and print one table.
 *
 *  Usage: regiebus-bench [options]      (tests/bench/run builds and runs it)
 *         regiebus-bench --holder ...   (a holder node: the benchmark's own child)
 *
 *  The raw limits run first, on a quiet machine; then the link throughput,
 *  then LMDB once more at the batch size node B actually committed in the
 *  throughput run, then the latency at a fixed rate; then the region: the
 *  first absence latency, the fan-out rate and LMDB once more at the
 *  holders' batch size; last the durable timers. Every figure of the
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
#ifndef RB_BENCH_SCHOOL_BIN
#   define RB_BENCH_SCHOOL_BIN "regiebus-school"
#endif
#ifndef RB_BENCH_MUNICIPALITY_BIN
#   define RB_BENCH_MUNICIPALITY_BIN "regiebus-municipality"
#endif
#ifndef RB_BENCH_BUILD_TYPE
#   define RB_BENCH_BUILD_TYPE "unknown"
#endif

#define S_TARGET_RATE 100000.0      //  events/s through one durable link
#define S_TARGET_P99_US 5000.0      //  p99 at 1,000 events/s
#define S_TARGET_FIRST_P99_US 10000.0   //  first absence p99 at 1,000 absences/s
#define S_SHARED_WRITERS 4              //  the first-absence region's nodes, one disk
#define S_TARGET_FANOUT 50000.0     //  notifications/s of one case
#define S_TARGET_TIMERS_MS 100.0    //  the due scan of 10,000 among 1,000,000

//  Everything measured in this run; a negative rate means not measured.
typedef struct {
    double lmdb [3];                //  records/s at 1, 100, 1,000 per commit
    bench_dist_t lmdb_commit [3];   //  their commit durations
    double lmdb_shared;             //  commits/s of 4 environments committing at once
    bench_dist_t lmdb_shared_commit;    //  their commit durations
    bool lmdb_path_ran;             //  the first absence's path over plain LMDB
    bench_dist_t lmdb_path;         //  its latency
    uint64_t lmdb_path_count;       //  absences counted
    double lmdb_link;               //  records/s at B's mean batch size
    size_t link_batch;              //  that batch size, 0 when unknown
    double push_pull;               //  messages/s
    double req_rep_us;              //  mean round trip
    double req_rep_p99_us;          //  its 99th percentile
    bench_throughput_t throughput;
    bench_latency_t latency;
    bench_first_absence_t first;
    bench_fanout_t fanout;
    double lmdb_fanout;             //  records/s at the holders' mean batch size
    size_t fanout_batch;            //  that batch size, 0 when unknown
    bench_timers_t timers;
    bench_plans_t plans;
    double load_start, load_end;    //  1-minute load average before and after
} s_results_t;

static const size_t s_lmdb_batches [3] = { 1, 100, 1000 };

static int
s_usage (FILE *to)
{
    fprintf (to,
        "usage: regiebus-bench [options]\n"
        "  --smoke               tiny counts: only checks that everything runs\n"
        "  --only LIST           comma-separated parts: raw, throughput, latency, first-absence,\n"
        "                        fan-out, timers, plans; region means first-absence and fan-out\n"
        "                        (default all)\n"
        "  --dir DIR             where the temporary directory goes (default $TMPDIR or /tmp)\n"
        "  --keep                keep the temporary directory (the nodes' logs are in it)\n"
        "  --node PATH           regiebus-node binary for node A (default %s)\n"
        "  --school PATH         regiebus-school binary (default %s)\n"
        "  --municipality PATH   regiebus-municipality binary (default %s)\n"
        "  --events N            events through the link (default 500000)\n"
        "  --per-request N       events per SubmitRequest (default 1000)\n"
        "  --in-flight N         SubmitRequests outstanding (default 4)\n"
        "  --seconds S           stop submitting after S seconds (default 60)\n"
        "  --rate N              latency runs: events or absences per second (default 1000)\n"
        "  --warmup S            latency runs: seconds not counted (default 1)\n"
        "  --latency-seconds S   latency runs: seconds counted (default 10)\n"
        "  --pupils N            first absence: pupils enrolled beforehand (default 20000)\n"
        "  --signals N           fan-out: absence signals on the one case (default 25000)\n"
        "  --timers N            timers: set due over the coming year (default 1000000)\n"
        "  --timers-due N        timers: set due now besides them (default 10000)\n"
        "  --plans N             plans: open cases with a plan each (default 1000000)\n"
        "  --plans-due N         plans: of which milestones pass (default 10000)\n"
        "  --raw-seconds S       time bound of each raw measurement (default 3)\n"
        "  --path-tables N       the first absence's path over plain LMDB: tables each node\n"
        "                        writes an absence to, one record each (1 to 16, default 1)\n"
        "  --set SECTION/KEY=V   setting for every node, e.g. link/batch_events=1024\n",
        RB_BENCH_NODE_BIN, RB_BENCH_SCHOOL_BIN, RB_BENCH_MUNICIPALITY_BIN);
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

//  A run's stages: p50 / p90 / p99 / max of each, in ms.
static void
s_where (const char *part, const char **labels, const bench_dist_t **d, int count)
{
    printf ("%s, where the time goes (p50 / p90 / p99 / max, ms):\n", part);
    for (int i = 0; i < count; i++)
        printf ("  %-52s %6.2f / %6.2f / %6.2f / %6.2f\n", labels [i], d [i]->p50 / 1000.0,
                d [i]->p90 / 1000.0, d [i]->p99 / 1000.0, d [i]->max / 1000.0);
}

static void
s_print_raw (const bench_opts_t *o, const s_results_t *r)
{
    char a [96], c [32], what [200], measured [160];
    for (int i = 0; i < 3; i++) {
        snprintf (what, sizeof what, "raw: LMDB, %s record%s of %zu B per fsync'd commit",
                  s_num (c, sizeof c, (double) s_lmdb_batches [i]), i? "s": "", o->record_bytes);
        s_rate (a, sizeof a, r->lmdb [i], "rec/s");
        if (r->lmdb [i] > 0)
            snprintf (measured, sizeof measured, "%s (commit p50 %.0f µs, p99 %.0f µs)", a,
                      r->lmdb_commit [i].p50, r->lmdb_commit [i].p99);
        else
            snprintf (measured, sizeof measured, "%s", a);
        s_row (what, measured, "", "");
    }
    snprintf (what, sizeof what, "raw: LMDB, %d environments committing at once, 1 record of %zu B "
              "per fsync'd commit each", S_SHARED_WRITERS, o->record_bytes);
    s_rate (a, sizeof a, r->lmdb_shared, "commits/s in all");
    if (r->lmdb_shared > 0)
        snprintf (measured, sizeof measured, "%s (commit p50 %.0f µs, p99 %.0f µs)", a,
                  r->lmdb_shared_commit.p50, r->lmdb_shared_commit.p99);
    else
        snprintf (measured, sizeof measured, "%s", a);
    s_row (what, measured, "", "");
    snprintf (what, sizeof what, "raw: the first absence's path over plain LMDB (school → municipality → "
              "2 holders, 4 processes, group commits, 1 record per absence in %s%zu table%s), %s absences/s",
              o->path_tables == 1? "": "each of ", o->path_tables, o->path_tables == 1? "": "s",
              s_num (c, sizeof c, (double) o->rate));
    if (r->lmdb_path_ran)
        snprintf (measured, sizeof measured, "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
                  r->lmdb_path.p50 / 1000.0, r->lmdb_path.p90 / 1000.0, r->lmdb_path.p99 / 1000.0,
                  r->lmdb_path.max / 1000.0);
    else
        snprintf (measured, sizeof measured, "not measured");
    s_row (what, measured, "", "");
    snprintf (what, sizeof what, "raw: ZeroMQ PUSH/PULL, %zu B messages, loopback TCP", o->record_bytes);
    s_row (what, s_rate (a, sizeof a, r->push_pull, "msg/s"), "", "");
    snprintf (what, sizeof what, "raw: ZeroMQ REQ/REP round trip, %zu B, loopback TCP", o->record_bytes);
    if (r->req_rep_us > 0)
        snprintf (a, sizeof a, "%.1f µs (p99 %.1f µs)", r->req_rep_us, r->req_rep_p99_us);
    else
        snprintf (a, sizeof a, "not measured");
    s_row (what, a, "", "");
}

//  A raw limit a rate is compared with.
typedef struct {
    const char *name;
    double value;               //  negative: not measured
    const char *unit;
} s_limit_t;

//  A rate's rows: against LMDB at the batch size seen (when measured),
//  then against more limits.
static void
s_rate_rows (const char *what, double rate, const char *unit, size_t batch, const char *batch_of,
             double lmdb_batch, const s_limit_t *limits, int count)
{
    char measured [64], limit [128], b [64], c [32];
    s_rate (measured, sizeof measured, rate, unit);
    if (batch) {
        snprintf (limit, sizeof limit, "LMDB at %s (%zu/commit): %s", batch_of, batch,
                  s_rate (b, sizeof b, lmdb_batch, "rec/s"));
        s_row (what, measured, limit, s_fraction (c, sizeof c, rate, lmdb_batch));
        what = "〃";
        measured [0] = 0;
    }
    for (int i = 0; i < count; i++) {
        snprintf (limit, sizeof limit, "%s: %s", limits [i].name,
                  s_rate (b, sizeof b, limits [i].value, limits [i].unit));
        s_row (what, measured, limit, s_fraction (c, sizeof c, rate, limits [i].value));
        what = "〃";
        measured [0] = 0;
    }
}

static void
s_print_throughput (const bench_opts_t *o, const s_results_t *r)
{
    const bench_throughput_t *t = &r->throughput;
    char what [200], a [32], b [32];
    snprintf (what, sizeof what, "link A→B, durable at both ends, CURVE: %s events, %s per submit, %d in flight",
              s_num (a, sizeof a, (double) (t->ran? t->events: o->events)),
              s_num (b, sizeof b, (double) o->per_request), o->in_flight);
    s_limit_t limits [2] = { { "LMDB 1,000/commit", r->lmdb [2], "rec/s" },
                             { "ZeroMQ PUSH/PULL", r->push_pull, "msg/s" } };
    s_rate_rows (what, t->ran? t->rate: -1, "events/s", r->link_batch, "B's batch", r->lmdb_link, limits, 2);
}

//  p50, p90, p99 and max of a latency, against the REQ/REP round trip and
//  the p99 of a one-record LMDB commit.
static void
s_latency_rows (const char *what, bool ran, const bench_dist_t *d, const s_results_t *r, bool region)
{
    const char *names [4] = { "p50", "p90", "p99", "max" };
    double values [4] = { d->p50, d->p90, d->p99, d->max };
    char limit [96], a [32], c [32], row [200];
    if (r->req_rep_us > 0)
        snprintf (limit, sizeof limit, "REQ/REP round trip: %.1f µs", r->req_rep_us);
    else
        snprintf (limit, sizeof limit, "-");
    for (int i = 0; i < 4; i++) {
        if (i)
            snprintf (row, sizeof row, "〃 %s", names [i]);
        else
            snprintf (row, sizeof row, "%s: p50", what);
        bool against = i == 0 || i == 2;
        s_row (row, ran? s_ms (a, sizeof a, values [i]): "not measured", against? limit: "",
               ran && against? s_times (c, sizeof c, values [i], r->req_rep_us): "");
        if (i == 2 && r->lmdb [0] > 0) {
            char lmdb [96];
            snprintf (lmdb, sizeof lmdb, "LMDB 1-record commit p99: %.0f µs", r->lmdb_commit [0].p99);
            s_row ("〃 p99, against LMDB", "", lmdb, ran? s_times (c, sizeof c, values [i], r->lmdb_commit [0].p99): "");
        }
        if (i == 2 && region && r->lmdb_shared > 0) {
            char lmdb [96];
            snprintf (lmdb, sizeof lmdb, "LMDB, %d committing at once: commit p99 %.0f µs",
                      S_SHARED_WRITERS, r->lmdb_shared_commit.p99);
            s_row ("〃 p99, against the shared disk", "", lmdb,
                   ran? s_times (c, sizeof c, values [i], r->lmdb_shared_commit.p99): "");
        }
        if ((i == 0 || i == 2) && region && r->lmdb_path_ran) {
            char lmdb [96], row2 [64];
            double floor = i? r->lmdb_path.p99: r->lmdb_path.p50;
            snprintf (lmdb, sizeof lmdb, "the path over plain LMDB: %s %.2f ms", names [i], floor / 1000.0);
            snprintf (row2, sizeof row2, "〃 %s, against the raw path", names [i]);
            s_row (row2, "", lmdb, ran? s_times (c, sizeof c, values [i], floor): "");
        }
    }
}

static void
s_print_region (const bench_opts_t *o, const s_results_t *r)
{
    char what [200], a [32], b [32];
    if (o->run_first_absence) {
        snprintf (what, sizeof what, "first absence: accepted at the school → committed at the portal's and "
                  "care's nodes, %s absences/s over %s pupils", s_num (a, sizeof a, (double) o->rate),
                  s_num (b, sizeof b, (double) o->pupils));
        s_latency_rows (what, r->first.ran, &r->first.latency, r, true);
    }
    if (o->run_fanout) {
        const bench_fanout_t *f = &r->fanout;
        snprintf (what, sizeof what, "fan-out: one case, 8 holders (4 holder nodes and the municipality), "
                  "%s absence signals", s_num (a, sizeof a, (double) o->signals));
        s_limit_t limits [1] = { { "ZeroMQ PUSH/PULL", r->push_pull, "msg/s" } };
        s_rate_rows (what, f->ran? f->rate: -1, "notifications/s", r->fanout_batch, "the holders' batch",
                     r->lmdb_fanout, limits, 1);
    }
}

static void
s_print_timers (const bench_opts_t *o, const s_results_t *r)
{
    const bench_timers_t *t = &r->timers;
    char what [200], a [32], b [32], measured [96], limit [128], c [32];
    snprintf (what, sizeof what, "timers: due scan, %s due among %s set, read-only",
              s_num (a, sizeof a, (double) o->timers_due),
              s_num (b, sizeof b, (double) (o->timers + o->timers_due)));
    if (t->ran)
        snprintf (measured, sizeof measured, "%.2f ms (median of 5, slowest %.2f ms)", t->scan_ms,
                  t->scan_max_ms);
    else
        snprintf (measured, sizeof measured, "not measured");
    snprintf (limit, sizeof limit, "target: %.0f ms", S_TARGET_TIMERS_MS);
    s_row (what, measured, limit, t->ran? s_fraction (c, sizeof c, t->scan_ms, S_TARGET_TIMERS_MS): "");

    //  Firing is two deletes per timer: what raw LMDB takes for as many
    //  records at 1,000 per commit.
    double records = 2.0 * (double) o->timers_due;
    snprintf (what, sizeof what, "timers: scan and fire all %s due (%s deletes), one commit",
              s_num (a, sizeof a, (double) o->timers_due), s_num (b, sizeof b, records));
    if (t->ran)
        snprintf (measured, sizeof measured, "%.2f ms (commit %.2f ms, %.1f MB written)", t->fire_ms,
                  t->fire_commit_ms, t->fire_commit_mb);
    double raw_ms = r->lmdb [2] > 0? records / r->lmdb [2] * 1000.0: -1;
    if (raw_ms > 0)
        snprintf (limit, sizeof limit, "LMDB 1,000/commit: %s rec/s, %.2f ms for as many records",
                  s_num (a, sizeof a, r->lmdb [2]), raw_ms);
    else
        snprintf (limit, sizeof limit, "LMDB 1,000/commit: not measured (--only raw,timers)");
    s_row (what, measured, limit, t->ran && raw_ms > 0? s_times (c, sizeof c, t->fire_ms, raw_ms): "");
}

static void
s_print_plans (const bench_opts_t *o, const s_results_t *r)
{
    const bench_plans_t *p = &r->plans;
    char what [200], a [32], b [32], measured [96], limit [128], c [32];
    snprintf (what, sizeof what, "plans: due scan, %s stall timers due among the %s of %s open cases",
              s_num (a, sizeof a, (double) o->plans_due), s_num (b, sizeof b, 2.0 * (double) o->plans),
              s_num (c, sizeof c, (double) o->plans));
    if (p->ran)
        snprintf (measured, sizeof measured, "%.2f ms (median of 5, slowest %.2f ms)", p->scan_ms, p->scan_max_ms);
    else
        snprintf (measured, sizeof measured, "not measured");
    snprintf (limit, sizeof limit, "target: %.0f ms", S_TARGET_TIMERS_MS);
    s_row (what, measured, limit, p->ran? s_fraction (c, sizeof c, p->scan_ms, S_TARGET_TIMERS_MS): "");
    snprintf (what, sizeof what, "plans: %s milestones pass: stalls recorded and notified to 2 holders each, "
              "clock advanced → last copy committed at the holder", s_num (a, sizeof a, (double) o->plans_due));
    s_limit_t limits [1] = { { "LMDB 1,000/commit", r->lmdb [2], "rec/s" } };
    s_rate_rows (what, p->ran? p->rate: -1, "notifications/s", 0, NULL, 0, limits, 1);
}

//  How often each node of the first-absence region committed, and how
//  long a commit took: the fsyncs every absence waits behind.
static void
s_commit_rows (const bench_first_absence_t *f)
{
    const char *names [4] = { "mun-a", "school-a", "portal-a", "care-a" };
    printf ("first absence, group commits while the absences ran (%.1f s):\n", f->absences_seconds);
    for (int i = 0; i < 4; i++) {
        if (f->commits [i] <= 0 || f->commit_us [i] < 0)
            printf ("  %-9s not known\n", names [i]);
        else
            printf ("  %-9s %6.0f commits/s, mean %5.0f µs, longest since start %6.0f µs\n", names [i],
                    (double) f->commits [i] / f->absences_seconds,
                    (double) f->commit_us [i] / (double) f->commits [i], (double) f->commit_us_max [i]);
    }
}

static void
s_details_link (const bench_opts_t *o, const s_results_t *r)
{
    char a [32], b [32], c [32];
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
        s_where ("latency", labels, d, 4);
    }
}

static void
s_details_region (const bench_opts_t *o, const s_results_t *r)
{
    char a [32], b [32], c [32], d [32];
    if (o->run_first_absence && r->first.ran) {
        const bench_first_absence_t *f = &r->first;
        printf ("first absence: %s pupils enrolled, linked at the portal and with care involved in %.1f s;"
                " %s absences counted after %.1f s of warm-up; calls made at %.1f/s; %llu missing;"
                " %llu raised no FIRST_ABSENCE; %llu committed at both holders before the school's reply"
                " reached the client\n",
                s_num (a, sizeof a, (double) f->pupils), f->setup_seconds, s_num (b, sizeof b, (double) f->samples),
                o->warmup_seconds, f->achieved_rate, (unsigned long long) f->missing,
                (unsigned long long) f->not_first, (unsigned long long) f->negative);
        char school [96];
        snprintf (school, sizeof school, "accepted -> stored at the school (±0.5 ms; %s)",
                  s_num (c, sizeof c, (double) f->school_samples));
        const char *labels [7] = { "client sent -> the school's OK reply received",
                                   "accepted -> applied in the portal's transaction",
                                   "accepted -> committed at the portal's node",
                                   "accepted -> applied in the care node's transaction",
                                   "accepted -> committed at the care node",
                                   "accepted -> committed at both (the figure)", school };
        const bench_dist_t *d [7] = { &f->submit, &f->applied [0], &f->committed [0], &f->applied [1],
                                      &f->committed [1], &f->latency, &f->school };
        s_where ("first absence", labels, d, 7);
        s_commit_rows (f);
    }
    if (o->run_fanout && r->fanout.ran) {
        const bench_fanout_t *f = &r->fanout;
        printf ("fan-out: %s notifications (%s of them leerplicht's at the municipality, the rest"
                " envelopes to %d holder nodes) committed %.2f s after the first of %s signals was submitted;"
                " all signals were accepted after %.2f s; the holders made %s commits, %.0f notifications"
                " per commit\n",
                s_num (a, sizeof a, (double) f->notifications), s_num (b, sizeof b, (double) f->local),
                f->holder_nodes, f->seconds, s_num (c, sizeof c, (double) f->signals), f->accept_seconds,
                s_num (d, sizeof d, (double) f->holder_commits), f->holder_mean_batch);
        printf ("fan-out: CPU per notification: municipality %.2f µs (process, %.0f%% of it in the kernel),"
                " holder nodes together %.2f µs per envelope\n",
                f->mun_cpu_seconds * 1e6 / (double) f->notifications,
                f->mun_cpu_seconds > 0? 100.0 * f->mun_sys_seconds / f->mun_cpu_seconds: 0,
                f->holders_cpu_seconds * 1e6 / (double) (f->notifications - f->local));
    }
}

static void
s_targets (const bench_opts_t *o, const s_results_t *r)
{
    char a [32], b [32];
    if (o->run_throughput && r->throughput.ran)
        printf ("target: >= 100,000 events/s through one durable link: %s events/s (%s)\n",
                s_num (a, sizeof a, r->throughput.rate), r->throughput.rate >= S_TARGET_RATE? "met": "MISSED");
    if (o->run_latency && r->latency.ran)
        printf ("target: p99 < 5 ms at 1,000 events/s: %.2f ms at %s events/s (%s)\n",
                r->latency.latency.p99 / 1000.0, s_num (a, sizeof a, (double) o->rate),
                r->latency.latency.p99 < S_TARGET_P99_US? "met": "MISSED");
    if (o->run_first_absence && r->first.ran)
        printf ("target: first absence p99 < 10 ms at 1,000 absences/s: %.2f ms at %s absences/s (%s)\n",
                r->first.latency.p99 / 1000.0, s_num (a, sizeof a, (double) o->rate),
                r->first.latency.p99 < S_TARGET_FIRST_P99_US? "met": "MISSED");
    if (o->run_timers && r->timers.ran)
        printf ("target: due scan of 10,000 due among 1,000,000 < 100 ms: %.2f ms for %s among %s (%s)\n",
                r->timers.scan_ms, s_num (a, sizeof a, (double) o->timers_due),
                s_num (b, sizeof b, (double) o->timers), r->timers.scan_ms < S_TARGET_TIMERS_MS? "met": "MISSED");
    if (o->run_fanout && r->fanout.ran)
        printf ("target: fan-out >= 50,000 notifications/s: %s notifications/s (%s)\n",
                s_num (a, sizeof a, r->fanout.rate), r->fanout.rate >= S_TARGET_FANOUT? "met": "MISSED");
}

static void
s_print (const bench_opts_t *o, const s_results_t *r, const char *dir)
{
    char when [64];
    time_t now = time (NULL);
    strftime (when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime (&now));
    printf ("\nregiebus-bench %s%s: %ld cores, %s build, data in %s (%s)\n\n", when,
            o->smoke? " (smoke: tiny counts, figures meaningless)": "",
            sysconf (_SC_NPROCESSORS_ONLN), RB_BENCH_BUILD_TYPE, dir, s_fs_name (dir));
    printf ("load average (1 min) before %.2f, after %.2f: other work on the machine skews every figure\n\n",
            r->load_start, r->load_end);
    printf ("| what | measured | raw limit (same run) | ratio |\n|---|---:|---:|---:|\n");
    if (o->run_raw)
        s_print_raw (o, r);
    if (o->run_throughput)
        s_print_throughput (o, r);
    if (o->run_latency) {
        char what [160], b [32];
        snprintf (what, sizeof what, "latency accepted at A → committed at B, %s events/s",
                  s_num (b, sizeof b, (double) o->rate));
        s_latency_rows (what, r->latency.ran, &r->latency.latency, r, false);
    }
    s_print_region (o, r);
    if (o->run_timers)
        s_print_timers (o, r);
    if (o->run_plans)
        s_print_plans (o, r);
    printf ("\n");
    s_details_link (o, r);
    s_details_region (o, r);
    if (o->run_timers && r->timers.ran) {
        const bench_timers_t *t = &r->timers;
        char a [32], b [32];
        printf ("timers: %s set in %.1f s (%s timers/s, 10,000 per commit), store %.0f MB;"
                " a due scan after the firing found none in %.3f ms\n",
                s_num (a, sizeof a, (double) (t->set + t->due)), t->setup_seconds,
                s_num (b, sizeof b, (double) (t->set + t->due) / t->setup_seconds), t->store_mb,
                t->after_ms);
    }
    if (o->run_plans && r->plans.ran) {
        const bench_plans_t *p = &r->plans;
        char a [32], b [32], c [32], d [32], e [32];
        printf ("plans: %s cases, holders, plans and %s timers written in %.1f s (%s cases/s, 10,000 per"
                " commit), store %.0f MB; %s stalls fired and %s notifications made in %.2f s"
                " (%.0f stalls/s); municipality CPU %.1f µs per stall (its whole run after the restart)\n",
                s_num (a, sizeof a, (double) p->plans), s_num (b, sizeof b, 2.0 * (double) p->plans),
                p->setup_seconds, s_num (c, sizeof c, (double) p->plans / p->setup_seconds), p->store_mb,
                s_num (d, sizeof d, (double) p->stalls), s_num (e, sizeof e, (double) p->notifications),
                p->fire_seconds, (double) p->stalls / p->fire_seconds,
                p->mun_cpu_seconds * 1e6 / (double) p->stalls);
    }
    if (o->smoke)
        return;     //  tiny counts: the targets mean nothing here
    s_targets (o, r);
    if (strcmp (RB_BENCH_BUILD_TYPE, "Release") != 0)
        printf ("note: not a Release build; tests/bench/run builds and runs the optimised one\n");
}

// ---------------------------------------------------------------------------
//  Options and the run

//  Every default; --smoke makes the counts tiny.
static void
s_defaults (bench_opts_t *o)
{
    o->run_raw = o->run_throughput = o->run_latency = o->run_first_absence = o->run_fanout = true;
    o->run_timers = true;
    o->dir = getenv ("TMPDIR") && *getenv ("TMPDIR")? getenv ("TMPDIR"): "/tmp";
    o->node_bin = RB_BENCH_NODE_BIN;
    o->school_bin = RB_BENCH_SCHOOL_BIN;
    o->municipality_bin = RB_BENCH_MUNICIPALITY_BIN;
    o->record_bytes = 200;
    o->path_tables = 1;
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
    o->pupils = o->smoke? 500: 20000;
    o->signals = o->smoke? 200: 25000;
    o->timers = o->smoke? 2000: 1000000;
    o->timers_due = o->smoke? 200: 10000;
    o->plans = o->smoke? 2000: 1000000;
    o->plans_due = o->smoke? 200: 10000;
    o->run_plans = true;
}

//  The parts --only names; false when it names none.
static bool
s_only (bench_opts_t *o, const char *only)
{
    bool region = strstr (only, "region") != NULL;
    o->run_raw = strstr (only, "raw") != NULL;
    o->run_throughput = strstr (only, "throughput") != NULL;
    o->run_latency = strstr (only, "latency") != NULL;
    o->run_first_absence = region || strstr (only, "first-absence") != NULL;
    o->run_fanout = region || strstr (only, "fan-out") != NULL;
    o->run_timers = strstr (only, "timers") != NULL;
    o->run_plans = strstr (only, "plans") != NULL;
    return o->run_raw || o->run_throughput || o->run_latency || o->run_first_absence || o->run_fanout
        || o->run_timers || o->run_plans;
}

//  The counts must make sense: a first absence per pupil, bounded runs.
static bool
s_valid (const bench_opts_t *o)
{
    double absences = (o->warmup_seconds + o->latency_seconds) * (double) o->rate;
    if (o->run_first_absence && absences > (double) o->pupils)
        fprintf (stderr, "bench: %.0f absences need as many pupils, not %llu (--pupils)\n", absences,
                 (unsigned long long) o->pupils);
    return o->events > 0 && o->per_request > 0 && o->per_request <= 10000 && o->in_flight >= 1
        && o->in_flight <= 1000 && o->seconds > 0 && o->rate > 0 && o->rate <= 100000
        && o->latency_seconds > 0 && o->warmup_seconds >= 0 && o->raw_seconds > 0
        && o->events <= 100000000 && o->latency_seconds * (double) o->rate <= 10000000
        && o->pupils <= 1000000 && o->signals > 0 && o->signals <= 10000000
        && o->timers_due > 0 && o->timers_due <= o->timers && o->timers <= 20000000
        && o->plans_due > 0 && o->plans_due <= o->plans && o->plans <= 5000000
        && o->path_tables >= 1 && o->path_tables <= 16
        && (!o->run_first_absence || absences <= (double) o->pupils);
}

static int
s_parse (bench_opts_t *o, int argc, char *argv [])
{
    const char *only = NULL;
    //  First pass: --smoke changes every default.
    for (int i = 1; i < argc; i++)
        if (strcmp (argv [i], "--smoke") == 0)
            o->smoke = true;
    s_defaults (o);
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
        if (OPT ("--school"))
            o->school_bin = value;
        else
        if (OPT ("--municipality"))
            o->municipality_bin = value;
        else
        if (OPT ("--pupils"))
            o->pupils = strtoull (value, NULL, 10);
        else
        if (OPT ("--signals"))
            o->signals = strtoull (value, NULL, 10);
        else
        if (OPT ("--timers"))
            o->timers = strtoull (value, NULL, 10);
        else
        if (OPT ("--timers-due"))
            o->timers_due = strtoull (value, NULL, 10);
        else
        if (OPT ("--plans"))
            o->plans = strtoull (value, NULL, 10);
        else
        if (OPT ("--plans-due"))
            o->plans_due = strtoull (value, NULL, 10);
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
        if (OPT ("--path-tables"))
            o->path_tables = (size_t) strtoull (value, NULL, 10);
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
    if ((only && !s_only (o, only)) || !s_valid (o))
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

static uint64_t
s_max_records (const bench_opts_t *o)
{
    return o->smoke? 20000: 2000000;
}

//  LMDB once more at the mean batch size a part committed, rounded. 0
//  when measured (or there was no batch), 1 when it failed.
static int
s_lmdb_at (const bench_opts_t *o, const char *dir, double mean, const char *what, size_t *batch,
           double *rate)
{
    if (mean < 1)
        return 0;
    *batch = (size_t) (mean + 0.5);
    fprintf (stderr, "bench: LMDB, %zu per commit (%s) ...\n", *batch, what);
    *rate = bench_lmdb_rate (dir, *batch, o->record_bytes, o->raw_seconds, s_max_records (o), NULL);
    return *rate < 0;
}

int
main (int argc, char *argv [])
{
    if (argc > 1 && strcmp (argv [1], "--holder") == 0)
        return bench_holder_main (argc, argv);
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
    r.lmdb [0] = r.lmdb [1] = r.lmdb [2] = r.lmdb_link = r.lmdb_fanout = r.lmdb_shared = r.push_pull = r.req_rep_us = -1;
    r.load_start = s_load ();
    int failed = 0;
    if (opts.run_raw) {
        for (int i = 0; i < 3; i++) {
            fprintf (stderr, "bench: LMDB, %zu per commit ...\n", s_lmdb_batches [i]);
            r.lmdb [i] = bench_lmdb_rate (dir, s_lmdb_batches [i], opts.record_bytes, opts.raw_seconds,
                                          s_max_records (&opts), &r.lmdb_commit [i]);
            failed += r.lmdb [i] < 0;
        }
        fprintf (stderr, "bench: LMDB, %d environments committing at once ...\n", S_SHARED_WRITERS);
        r.lmdb_shared = bench_lmdb_shared (dir, S_SHARED_WRITERS, 1, opts.record_bytes, opts.raw_seconds,
                                           s_max_records (&opts), &r.lmdb_shared_commit);
        failed += r.lmdb_shared < 0;
        fprintf (stderr, "bench: the first absence's path over plain LMDB at %llu/s ...\n",
                 (unsigned long long) opts.rate);
        r.lmdb_path_ran = bench_lmdb_path (dir, opts.rate, opts.warmup_seconds, opts.latency_seconds,
                                           opts.record_bytes, opts.path_tables, &r.lmdb_path,
                                           &r.lmdb_path_count) == 0;
        failed += !r.lmdb_path_ran;
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
        if (r.throughput.ran && opts.run_raw)
            failed += s_lmdb_at (&opts, dir, r.throughput.b_mean_batch, "B's batch", &r.link_batch, &r.lmdb_link);
    }
    if (opts.run_latency) {
        fprintf (stderr, "bench: link latency at %llu events/s ...\n", (unsigned long long) opts.rate);
        failed += bench_link_latency (&opts, dir, &r.latency) != 0;
    }
    if (opts.run_first_absence) {
        fprintf (stderr, "bench: region, %llu pupils, first absences at %llu/s ...\n",
                 (unsigned long long) opts.pupils, (unsigned long long) opts.rate);
        failed += bench_first_absence (&opts, dir, &r.first) != 0;
    }
    if (opts.run_fanout) {
        fprintf (stderr, "bench: region, fan-out of %llu signals on one case ...\n",
                 (unsigned long long) opts.signals);
        failed += bench_fanout (&opts, dir, &r.fanout) != 0;
        if (r.fanout.ran && opts.run_raw)
            failed += s_lmdb_at (&opts, dir, r.fanout.holder_mean_batch, "the holders' batch", &r.fanout_batch,
                                 &r.lmdb_fanout);
    }
    if (opts.run_timers) {
        fprintf (stderr, "bench: timers, %llu set and %llu due ...\n", (unsigned long long) opts.timers,
                 (unsigned long long) opts.timers_due);
        failed += bench_timers (&opts, dir, &r.timers) != 0;
    }
    if (opts.run_plans) {
        fprintf (stderr, "bench: plans, %llu open cases and %llu milestones passing ...\n",
                 (unsigned long long) opts.plans, (unsigned long long) opts.plans_due);
        failed += bench_plans (&opts, dir, &r.plans) != 0;
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
