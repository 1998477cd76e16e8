/*  bench: the pieces of regiebus-bench, the benchmark suite.
 *
 *  regiebus-bench measures, in one run, what one durable link between two
 *  nodes achieves and the raw limits of the building blocks underneath it
 *  on the same machine, and prints them side by side as ratios:
 *
 *    raw      LMDB records per second at 1, 100 and 1,000 records per
 *             fsync'd commit (and at the batch size the link produced);
 *             four environments committing at once; ZeroMQ PUSH/PULL
 *             messages per second and the REQ/REP round trip, over
 *             loopback TCP (bench_raw.c); the first absence's path over
 *             plain LMDB, two commits in a row (bench_path.c)
 *    link     events per second from a client's first submit at node A
 *             until node B has committed them all, and the latency from
 *             "accepted" at A to "committed" at B at a fixed rate
 *             (bench_link.c)
 *    region   the real school and municipality daemons with holder nodes
 *             around them: the latency of a first absence from the
 *             school's "accepted" until it is committed at every timed
 *             regie holder, at a fixed rate over many pupils
 *             (bench_first.c), and the notifications per second one case
 *             with eight holders fans out to (bench_fanout.c)
 *    timers   one store with 1,000,000 durable timers set and 10,000 due:
 *             the due scan, and the scan with firing them all in one
 *             commit (bench_timers.c)
 *    plans    the real municipality with 1,000,000 open cases, each with a
 *             plan and its timers, when 10,000 milestones pass: the due
 *             scan, and the stalls fired and notified to both holders
 *             (bench_plans.c)
 *
 *  For the link, node A is a child process (the regiebus-node binary) and
 *  node B runs in this process on its own thread so that its handler and
 *  commit hook can stamp the moment each envelope became durable. Two
 *  nodes cannot share a process: each starts a zauth actor, and zauth
 *  binds the one fixed ZAP endpoint of the process-wide CZMQ context. A
 *  region's nodes are all child processes; its holders are this program
 *  run again (bench_holder.h), stamping commits with CLOCK_MONOTONIC,
 *  which is one clock for every process of the machine.
 *
 *  Every loop is bounded in count and in time; only loopback is used.
 */
#ifndef RB_BENCH_H
#define RB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_SETS 32

//  What to run and how big.
typedef struct {
    bool smoke;                 //  tiny counts: checks that everything runs
    bool run_raw;               //  LMDB and ZeroMQ raw limits
    bool run_throughput;        //  events/s through one link
    bool run_latency;           //  latency at a fixed rate
    bool run_first_absence;     //  region: first absence latency
    bool run_fanout;            //  region: fan-out rate of one case
    bool run_timers;            //  durable timers: the due scan and firing
    bool run_plans;             //  a municipality's plan stalls among many open cases
    const char *dir;            //  parent of the run's temporary directory
    bool keep;                  //  keep the temporary directory
    const char *node_bin;       //  regiebus-node, run as node A
    const char *school_bin;     //  regiebus-school
    const char *municipality_bin;   //  regiebus-municipality
    //  raw
    double raw_seconds;         //  time bound of each raw measurement
    uint64_t zmq_messages;      //  count bound of PUSH/PULL
    uint64_t zmq_round_trips;   //  count bound of REQ/REP
    size_t record_bytes;        //  LMDB value and ZeroMQ message size
    size_t path_tables;         //  the raw path: tables each node writes an absence to
    //  throughput
    uint64_t events;            //  events to push through the link
    uint64_t per_request;       //  events per SubmitRequest
    int in_flight;              //  SubmitRequests outstanding at once
    double seconds;             //  time bound of the submitting
    size_t payload_bytes;       //  TEST event payload size
    //  latency, of the link and of a first absence
    uint64_t rate;              //  events (absences) per second, one per request
    double warmup_seconds;      //  not counted
    double latency_seconds;     //  counted
    //  region
    uint64_t pupils;            //  enrolled before the first absences
    uint64_t signals;           //  fan-out: absence signals on the one case
    //  timers
    uint64_t timers;            //  set, due over the coming year
    uint64_t timers_due;        //  set besides them, due now
    //  plans
    uint64_t plans;             //  open cases, each with a plan and two timers
    uint64_t plans_due;         //  of which this many have a milestone passing
    //  extra node settings, applied to both nodes
    const char *sets [BENCH_MAX_SETS];
    int set_count;
} bench_opts_t;

//  Results of the link throughput run.
typedef struct {
    bool ran;                   //  false: failed or not run
    uint64_t events;            //  committed at B
    double seconds;             //  first submit until B committed the last
    double rate;                //  events / seconds
    double accept_seconds;      //  first submit until A accepted the last
    uint64_t b_commits;         //  B's commits that held envelopes
    double b_mean_batch;        //  envelopes per such commit
    double a_cpu_seconds;       //  node A's process, user + system, start to exit
    double a_sys_seconds;       //  of which system
    double b_cpu_seconds;       //  node B's loop thread, start to stop
} bench_throughput_t;

//  A distribution of durations, in microseconds.
typedef struct {
    double p50, p90, p99, max;
} bench_dist_t;

//  Results of the latency run.
typedef struct {
    bool ran;                   //  false: failed or not run
    uint64_t samples;           //  events counted
    uint64_t missing;           //  sent but not accepted or not committed in time
    double achieved_rate;       //  submits per second actually made
    bench_dist_t latency;       //  accepted at A -> committed at B: the figure
    uint64_t negative;          //  committed at B before the reply reached the client
    //  where the time goes, per event
    bench_dist_t submit;        //  client sent -> A's OK reply received (A's commit)
    bench_dist_t transit;       //  accepted -> applied in B's open transaction
    bench_dist_t commit;        //  applied at B -> that transaction's commit held
    bench_dist_t end_to_end;    //  client sent -> committed at B
} bench_latency_t;

//  Results of the first-absence run.
typedef struct {
    bool ran;                   //  false: failed or not run
    uint64_t pupils;            //  enrolled, each with school, portal and care as holders
    double setup_seconds;       //  enrolments, links, involvements until all were routed
    uint64_t samples;           //  absences counted
    uint64_t missing;           //  counted, but not accepted, or not committed at a holder in time
    uint64_t not_first;         //  accepted without raising exactly FIRST_ABSENCE
    double achieved_rate;       //  record_attendance calls per second actually made
    bench_dist_t latency;       //  accepted -> committed at both timed holders: the figure
    uint64_t negative;          //  committed at both before the reply reached the client
    bench_dist_t submit;        //  client sent -> the school's OK reply received
    bench_dist_t applied [2];   //  accepted -> applied in the transaction of the portal's, the care node
    bench_dist_t committed [2]; //  accepted -> committed at the portal's, the care node
    bench_dist_t school;        //  accepted -> the school's own copy stored (its ms clock)
    uint64_t school_samples;    //  counted absences whose school copy was found
    //  each node's group commits while the absences ran: mun-a, school-a,
    //  portal-a, care-a (status counters; -1 unknown)
    int64_t commits [4], commit_us [4], commit_us_max [4];
    double absences_seconds;    //  the span those counts cover
} bench_first_absence_t;

//  Results of the fan-out run.
typedef struct {
    bool ran;                   //  false: failed or not run
    uint64_t signals;           //  absence signals streamed on the case
    uint64_t notifications;     //  committed for the case's holders, local ones included
    uint64_t local;             //  of which at the municipality itself (leerplicht)
    int holders;                //  actors holding regie on the case
    int holder_nodes;           //  holder nodes they are on, besides the municipality
    double seconds;             //  first submit -> the last holder commit
    double rate;                //  notifications / seconds
    double accept_seconds;      //  first submit -> the last signal accepted
    uint64_t holder_commits;    //  holder commits that held absence notifications
    double holder_mean_batch;   //  notifications per such commit
    double mun_cpu_seconds;     //  the municipality's process, start to exit
    double mun_sys_seconds;     //  of which system
    double holders_cpu_seconds; //  every holder process, start to exit
} bench_fanout_t;

//  Results of the timers run.
typedef struct {
    bool ran;                   //  false: failed or not run
    uint64_t set;               //  timers due later
    uint64_t due;               //  timers due now
    double setup_seconds;       //  setting them all, 10,000 per commit
    double store_mb;            //  the store's size after setting them
    uint64_t scanned;           //  timers one due scan visited
    double scan_ms;             //  one read-only due scan, median
    double scan_max_ms;         //  the slowest of them
    uint64_t fired;             //  timers fired in one transaction
    double fire_ms;             //  begin, scan, fire each, commit held
    double fire_commit_ms;      //  of which the commit
    double fire_commit_mb;      //  what that commit wrote
    double after_ms;            //  a due scan after the firing (finds none)
} bench_timers_t;

//  Results of the plans run.
typedef struct {
    bool ran;                   //  false: failed or not run
    uint64_t plans;             //  open cases with a plan
    uint64_t due;               //  milestones passing
    double setup_seconds;       //  writing the cases into the store
    double store_mb;            //  the store's size then
    double scan_ms;             //  one read-only due scan, median
    double scan_max_ms;         //  the slowest of them
    double fire_seconds;        //  clock advanced -> the holder committed the last stall
    uint64_t fired;             //  timers the municipality fired
    uint64_t stalls;            //  stalls it recorded
    uint64_t notifications;     //  copies it made: the holder's and leerplicht's
    double rate;                //  notifications / fire_seconds
    double mun_cpu_seconds;     //  the restarted municipality, start to exit
} bench_plans_t;

//  Monotonic clock in nanoseconds.
int64_t bench_now_ns (void);

//  Value at percentile pct (0..100) of sorted values, nearest rank.
int64_t bench_percentile (const int64_t *sorted, size_t count, double pct);

//  The next number of a xorshift generator with state *state (not 0): the
//  same sequence every run.
uint64_t bench_random (uint64_t *state);

//  Sort int64 values ascending.
void bench_sort (int64_t *values, size_t count);

// ---------------------------------------------------------------------------
//  Raw limits (bench_raw.c). Each returns a negative value on failure.

//  Records per second into a fresh LMDB environment under dir, per_commit
//  records of value_bytes per durable (fsync'd) commit. commit_us (may be
//  NULL) gets the distribution of mdb_txn_commit durations.
double bench_lmdb_rate (const char *dir, size_t per_commit, size_t value_bytes,
                        double seconds, uint64_t max_records, bench_dist_t *commit_us);

//  Commits per second of writers processes at once, each committing
//  per_commit records at a time into an environment of its own under dir,
//  as the nodes of a region on one machine share its disk. commit_us (may
//  be NULL) gets the distribution of all their commit durations.
double bench_lmdb_shared (const char *dir, int writers, size_t per_commit, size_t value_bytes,
                          double seconds, uint64_t max_records, bench_dist_t *commit_us);

//  The first absence's path over plain LMDB (bench_path.c): four
//  processes, school -> municipality -> two holders, each group-committing
//  one record of value_bytes per absence to each of tables tables (1 to
//  16), at rate absences/s for
//  warmup_seconds + seconds. latency_us gets the distribution from the
//  school's commit to the later holder's commit of the absences after the
//  warm-up, counted their number. Returns 0, or -1 on failure.
int bench_lmdb_path (const char *dir, uint64_t rate, double warmup_seconds, double seconds,
                     size_t value_bytes, size_t tables, bench_dist_t *latency_us, uint64_t *counted);

//  The distribution of count values in ns (sorted in place), in µs.
bench_dist_t bench_dist (int64_t *values, size_t count);

//  Messages per second over PUSH/PULL on loopback TCP.
double bench_zmq_push_pull (size_t message_bytes, uint64_t max_messages, double seconds);

//  Mean REQ/REP round trip in microseconds on loopback TCP; p99_us gets
//  the 99th percentile.
double bench_zmq_req_rep (size_t message_bytes, uint64_t max_trips, double seconds,
                          double *p99_us);

// ---------------------------------------------------------------------------
//  The link (bench_link.c). Each starts a fresh pair of nodes in a new
//  directory under dir and stops it again. 0 on success.

int bench_link_throughput (const bench_opts_t *opts, const char *dir, bench_throughput_t *out);
int bench_link_latency (const bench_opts_t *opts, const char *dir, bench_latency_t *out);

// ---------------------------------------------------------------------------
//  The region (bench_first.c, bench_fanout.c). Each starts a fresh region
//  in a new directory under dir and stops it again. 0 on success.

int bench_first_absence (const bench_opts_t *opts, const char *dir, bench_first_absence_t *out);
int bench_fanout (const bench_opts_t *opts, const char *dir, bench_fanout_t *out);

// ---------------------------------------------------------------------------
//  Durable timers (bench_timers.c): a fresh store in dir. 0 on success.

int bench_timers (const bench_opts_t *opts, const char *dir, bench_timers_t *out);

//  Plans at the municipality (bench_plans.c): a region in dir. 0 on success.
int bench_plans (const bench_opts_t *opts, const char *dir, bench_plans_t *out);

//  The child's side of a holder node (bench_holder.c): argv is
//  `regiebus-bench --holder STAMPS -c CONFIG [--set ...]`.
int bench_holder_main (int argc, char *argv []);

#endif
