/*  bench_link: one durable CURVE link between two fresh nodes, measured.
 *
 *  A pair is node A, a regiebus-node child process, and node B, an rb_node
 *  run on its own thread in this process. Both have their own LMDB store
 *  with default (durable) settings, their own CURVE keypair made with
 *  rb_keys_make, and listen on 127.0.0.1 ports that were free a moment
 *  before. A client (rb_client) on A's ipc:// API submits TEST events for
 *  B; B's handler sees every accepted envelope inside B's write transaction
 *  and B's commit hook runs once that commit held, so the hook's clock
 *  reading is the moment those envelopes became durable at the receiver.
 *
 *  Throughput: SubmitRequests of per_request events, in_flight of them
 *  outstanding, timed from the first submit until B committed the last
 *  event. Latency: one single-event SubmitRequest per tick at a fixed rate,
 *  paced by absolute deadlines; for every origin_seq the time A's OK reply
 *  reached the client ("accepted") and the time B's commit holding it held.
 *
 *  Threads: the main thread owns the client and the pair; B's thread owns
 *  node B and everything it calls, and publishes what it observed through
 *  atomics (and, for latency, an array read only after B's thread ended).
 */
#include "bench_child.h"
#include "bench_submit.h"
#include "rb_config.h"
#include "rb_keys.h"
#include "rb_log.h"
#include "rb_node.h"
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define S_NS 1000000000.0
#define S_START_MS 15000        //  longest wait for a pair to come up
#define S_STOP_MS 5000          //  longest wait for node A to exit on SIGTERM
#define S_SETTLE_MS 10000       //  longest wait for B after the last submit

//  The case every benchmark event is about: 64 lowercase hex characters.
static const char *s_case = "5f0e3c1ab2d4968e7a1c3b5d7f9e2a4c6b8d0f1e3a5c7b9d2f4e6a8c0b1d3e5f";

// ---------------------------------------------------------------------------
//  What node B observes

typedef struct {
    //  B's thread only
    uint64_t open_seq;                  //  highest seq applied in the open transaction
    uint64_t open_count;                //  envelopes applied in it
    //  written by B's thread, read by the main thread
    atomic_uint_fast64_t committed;     //  highest seq whose commit held at B
    atomic_uint_fast64_t commits;       //  B's commits that held envelopes
    atomic_uint_fast64_t envelopes;     //  envelopes in those commits
    atomic_int_fast64_t last_ns;        //  when the last of those commits held
    //  set before B starts; entries written by B's thread, read after it ended
    int64_t *applied_ns;                //  per origin_seq: when B's handler saw it, or NULL
    int64_t *commit_ns;                 //  per origin_seq: when its commit held, or NULL
    uint64_t cap;                       //  entries in both
} s_observer_t;

//  Node B's handler: inside B's write transaction, per accepted envelope.
static rb_err_t
s_on_envelope (rb_txn_t *txn, const Regiebus__Envelope *e, void *arg, rb_refusal_t *why)
{
    (void) txn;
    (void) why;
    s_observer_t *self = arg;
    if (e->origin_seq > self->open_seq)
        self->open_seq = e->origin_seq;
    self->open_count++;
    if (self->applied_ns && e->origin_seq < self->cap && !self->applied_ns [e->origin_seq])
        self->applied_ns [e->origin_seq] = bench_now_ns ();
    return RB_OK;
}

//  Node B's commit hook: the commit that holds what the handler saw held.
//  (A commit that failed would be counted with the next one; the node logs
//  such a failure, and a benchmark run with one is not worth reading.)
static void
s_on_commit (void *arg)
{
    s_observer_t *self = arg;
    if (!self->open_count)
        return;
    int64_t now = bench_now_ns ();
    uint64_t from = atomic_load_explicit (&self->committed, memory_order_relaxed);
    for (uint64_t seq = from + 1; self->commit_ns && seq <= self->open_seq && seq < self->cap; seq++)
        self->commit_ns [seq] = now;
    atomic_fetch_add_explicit (&self->commits, 1, memory_order_relaxed);
    atomic_fetch_add_explicit (&self->envelopes, self->open_count, memory_order_relaxed);
    atomic_store_explicit (&self->last_ns, now, memory_order_relaxed);
    if (self->open_seq > from)
        atomic_store_explicit (&self->committed, self->open_seq, memory_order_release);
    self->open_count = 0;
}

// ---------------------------------------------------------------------------
//  A pair of nodes

typedef struct {
    char dir [400];                 //  the pair's own directory
    char a_api [460];               //  A's API endpoint
    bench_child_t a;                //  node A's process
    rb_config_t *b_config;          //  B's configuration
    pthread_t b_thread;             //  runs node B
    bool b_started;                 //  b_thread was created
    atomic_int b_state;             //  0 starting, 1 running, -1 failed to start
    rb_node_t *b_node;              //  node B, valid once b_state is 1
    rb_refusal_t b_why;             //  why B did not start
    s_observer_t obs;               //  what B's handler and hook saw
    rb_client_t *client;            //  on A's API
    double b_cpu;                   //  B's loop thread CPU seconds, once it ended
} s_pair_t;

static void *
s_node_b (void *arg)
{
    s_pair_t *self = arg;
    rb_node_t *node = rb_node_new (self->b_config, &self->b_why);
    if (!node) {
        atomic_store (&self->b_state, -1);
        return NULL;
    }
    rb_node_set_handler (node, s_on_envelope, &self->obs);
    rb_node_set_commit_hook (node, s_on_commit, &self->obs);
    self->b_node = node;
    atomic_store (&self->b_state, 1);
    rb_node_run (node);
    struct timespec cpu;
    if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
        self->b_cpu = (double) cpu.tv_sec + (double) cpu.tv_nsec / S_NS;
    rb_node_destroy (&node);
    return NULL;
}

//  Stop the pair: A by SIGTERM, B through rb_node_stop. Returns 0 when
//  both ended cleanly.
static int
s_pair_stop (s_pair_t *self)
{
    rb_client_destroy (&self->client);
    bench_child_term (&self->a);
    int rc = bench_child_wait (&self->a, S_STOP_MS);
    if (self->b_started) {
        //  b_node is set before b_state turns 1, and only read after that.
        if (atomic_load (&self->b_state) == 1)
            rb_node_stop (self->b_node);
        pthread_join (self->b_thread, NULL);
        self->b_started = false;
        self->b_node = NULL;
    }
    rb_config_destroy (&self->b_config);
    return rc;
}

//  Start a fresh pair in parent/name. obs.commit_ns and obs.cap must be set.
static int
s_pair_start (s_pair_t *self, const bench_opts_t *opts, const char *parent, const char *name)
{
    atomic_init (&self->b_state, 0);
    atomic_init (&self->obs.committed, 0);
    atomic_init (&self->obs.commits, 0);
    atomic_init (&self->obs.envelopes, 0);
    atomic_init (&self->obs.last_ns, 0);
    snprintf (self->dir, sizeof self->dir, "%s/%s", parent, name);
    snprintf (self->a_api, sizeof self->a_api, "ipc://%s/a.api", self->dir);
    char keys [460], key_a [41], key_b [41], config_a [460], log_a [460];
    snprintf (keys, sizeof keys, "%s/keys", self->dir);
    snprintf (config_a, sizeof config_a, "%s/a.cfg", self->dir);
    snprintf (log_a, sizeof log_a, "%s/a.log", self->dir);
    rb_refusal_t why;
    int ports [2];
    if (zsys_dir_create ("%s", self->dir)
    ||  rb_keys_make (keys, "a", key_a, &why) || rb_keys_make (keys, "b", key_b, &why)) {
        fprintf (stderr, "bench: cannot make keys in %s\n", keys);
        return -1;
    }
    bench_peer_t b = { "b", 0, key_b, "node" };
    if (bench_free_ports (ports, 2) == 0)
        b.port = ports [1];
    if (!b.port || bench_config_write (config_a, self->dir, "a", "node", ports [0], self->a_api, &b, 1, NULL)) {
        fprintf (stderr, "bench: cannot prepare node A in %s\n", self->dir);
        return -1;
    }
    //  Node B's configuration: the same settings as A's, mirrored.
    char text [10][600];
    const char *overrides [10 + BENCH_MAX_SETS];
    int count = 0;
    snprintf (text [count], sizeof text [0], "node/name=b");
    snprintf (text [++count], sizeof text [0], "node/data_dir=%s/b", self->dir);
    snprintf (text [++count], sizeof text [0], "node/bind=tcp://127.0.0.1:%d", ports [1]);
    snprintf (text [++count], sizeof text [0], "node/cert=%s/b.cert", keys);
    snprintf (text [++count], sizeof text [0], "node/map_size_mb=4096");
    snprintf (text [++count], sizeof text [0], "node/log_level=warn");
    snprintf (text [++count], sizeof text [0], "api/endpoint=ipc://%s/b.api", self->dir);
    snprintf (text [++count], sizeof text [0], "peer/a/endpoint=tcp://127.0.0.1:%d", ports [0]);
    snprintf (text [++count], sizeof text [0], "peer/a/public_key=%s", key_a);
    //  The link's own limit is measured, not the policy's fairness rate.
    snprintf (text [++count], sizeof text [0], "limits/peer_rate=0");
    count++;
    for (int i = 0; i < count; i++)
        overrides [i] = text [i];
    for (int i = 0; i < opts->set_count; i++)
        overrides [count++] = opts->sets [i];
    self->b_config = rb_config_load (NULL, overrides, count, &why);
    if (!self->b_config) {
        fprintf (stderr, "bench: node B's configuration: %s (%s)\n", why.message, why.field);
        return -1;
    }
    rb_log_setup ((rb_log_level_t) rb_log_level_parse (self->b_config->log_level), "b");
    const char *args [] = { opts->node_bin, "-c", config_a };
    if (bench_child_start (&self->a, "node A", args, 3, opts, log_a))
        return -1;
    if (pthread_create (&self->b_thread, NULL, s_node_b, self)) {
        fprintf (stderr, "bench: cannot start node B's thread\n");
        return -1;
    }
    self->b_started = true;
    int64_t deadline = zclock_mono () + S_START_MS;
    while (atomic_load (&self->b_state) == 0 && zclock_mono () < deadline)
        zclock_sleep (5);
    if (atomic_load (&self->b_state) != 1) {
        fprintf (stderr, "bench: node B did not start: %s (%s)\n", self->b_why.message, self->b_why.field);
        return -1;
    }
    self->client = rb_client_new (self->a_api, NULL, NULL);
    if (!self->client) {
        fprintf (stderr, "bench: cannot connect to %s\n", self->a_api);
        return -1;
    }
    //  Bounded: S_START_MS, each round at most one 500 ms status call.
    while (zclock_mono () < deadline && bench_child_alive (&self->a)) {
        if (bench_peers_up (self->client, 1))
            return 0;
        zclock_sleep (20);
    }
    fprintf (stderr, "bench: the link from A to B did not come up within %d ms; see %s\n",
             S_START_MS, log_a);
    return -1;
}

// ---------------------------------------------------------------------------
//  Throughput

int
bench_link_throughput (const bench_opts_t *opts, const char *dir, bench_throughput_t *out)
{
    memset (out, 0, sizeof *out);
    s_pair_t pair;
    memset (&pair, 0, sizeof pair);
    bench_submit_t sub;
    char *cases [1] = { (char *) s_case };
    int rc = bench_submit_new (&sub, opts->per_request, "b", REGIEBUS__EVENT_KIND__TEST, cases, 1,
                               NULL, opts->payload_bytes);
    if (!rc)
        rc = s_pair_start (&pair, opts, dir, "throughput");
    uint64_t accepted = 0;
    int64_t start = bench_now_ns (), accepted_ns = start;
    if (!rc)
        rc = bench_submit_stream (&sub, pair.client, "t", opts->events, opts->per_request,
                                  opts->in_flight, opts->seconds, &accepted, &accepted_ns);
    //  Wait for B to commit what A accepted.
    int64_t settle = bench_now_ns () + (int64_t) S_SETTLE_MS * 1000000;
    while (!rc && atomic_load (&pair.obs.committed) < accepted && bench_now_ns () < settle)
        zclock_sleep (1);
    uint64_t committed = atomic_load (&pair.obs.committed);
    if (!rc && committed < accepted) {
        fprintf (stderr, "bench: B committed %llu of %llu accepted events\n",
                 (unsigned long long) committed, (unsigned long long) accepted);
        rc = -1;
    }
    if (s_pair_stop (&pair))
        rc = -1;
    if (!rc && committed) {
        out->ran = true;
        out->events = committed;
        out->seconds = (double) (atomic_load (&pair.obs.last_ns) - start) / S_NS;
        out->rate = (double) committed / out->seconds;
        out->accept_seconds = (double) (accepted_ns - start) / S_NS;
        out->b_commits = atomic_load (&pair.obs.commits);
        out->b_mean_batch = out->b_commits?
            (double) atomic_load (&pair.obs.envelopes) / (double) out->b_commits: 0;
        out->a_cpu_seconds = pair.a.cpu;
        out->a_sys_seconds = pair.a.sys;
        out->b_cpu_seconds = pair.b_cpu;
    }
    bench_submit_destroy (&sub);
    return out->ran? 0: -1;
}

// ---------------------------------------------------------------------------
//  Latency

//  The latency run's client side: one single-event submit per tick, and
//  when each OK reply arrived, by origin_seq.
typedef struct {
    bench_submit_t sub;             //  one TEST event per request
    int64_t *accepted_ns;           //  per origin_seq
    uint64_t cap;                   //  entries in accepted_ns
    uint64_t stamped;               //  replies noted
} s_latency_t;

static int
s_latency_send (void *arg, rb_client_t *client, uint64_t n)
{
    s_latency_t *self = arg;
    return bench_submit_send (&self->sub, client, "l", n, 1);
}

static int
s_latency_reply (void *arg, Regiebus__ApiReply *reply, int64_t at_ns)
{
    s_latency_t *self = arg;
    if (bench_submit_accepted (reply) != 1)
        return -1;
    uint64_t seq = reply->submit->accepted [0]->origin_seq;
    if (seq < self->cap && self->accepted_ns [seq] == 0) {
        self->accepted_ns [seq] = at_ns;
        self->stamped++;
    }
    return 0;
}

int
bench_link_latency (const bench_opts_t *opts, const char *dir, bench_latency_t *out)
{
    memset (out, 0, sizeof *out);
    uint64_t warm = (uint64_t) ((double) opts->rate * opts->warmup_seconds);
    uint64_t total = warm + (uint64_t) ((double) opts->rate * opts->latency_seconds);
    if (total <= warm || opts->rate == 0)
        return -1;
    s_pair_t pair;
    memset (&pair, 0, sizeof pair);
    pair.obs.cap = total + 1;
    pair.obs.commit_ns = calloc (pair.obs.cap, sizeof (int64_t));
    pair.obs.applied_ns = calloc (pair.obs.cap, sizeof (int64_t));
    //  One client, one event per request: request n gets seq n + 1.
    int64_t *sent_ns = calloc (pair.obs.cap, sizeof (int64_t));
    s_latency_t client = { .accepted_ns = calloc (pair.obs.cap, sizeof (int64_t)), .cap = pair.obs.cap };
    int64_t *spans [5];
    bool ok = pair.obs.commit_ns && pair.obs.applied_ns && sent_ns && client.accepted_ns;
    for (int i = 0; i < 5; i++)
        ok &= (spans [i] = calloc (pair.obs.cap, sizeof (int64_t))) != NULL;
    char *cases [1] = { (char *) s_case };
    int rc = !ok? -1: bench_submit_new (&client.sub, 1, "b", REGIEBUS__EVENT_KIND__TEST, cases, 1,
                                        NULL, opts->payload_bytes);
    if (!rc)
        rc = s_pair_start (&pair, opts, dir, "latency");
    if (!rc)
        rc = bench_submit_paced (pair.client, opts->rate, total, s_latency_send, s_latency_reply, &client,
                                 S_SETTLE_MS, sent_ns + 1, &out->achieved_rate);
    //  Then B's commits, bounded.
    int64_t settle = bench_now_ns () + (int64_t) S_SETTLE_MS * 1000000;
    while (!rc && atomic_load (&pair.obs.committed) < client.stamped && bench_now_ns () < settle)
        zclock_sleep (1);
    if (s_pair_stop (&pair))
        rc = -1;
    //  B's thread has ended: its arrays are complete and ours to read.
    if (!rc) {
        const int64_t *applied_ns = pair.obs.applied_ns, *commit_ns = pair.obs.commit_ns;
        const int64_t *accepted_ns = client.accepted_ns;
        size_t count = 0;
        for (uint64_t seq = warm + 1; seq <= total; seq++) {
            if (!sent_ns [seq] || !accepted_ns [seq] || !applied_ns [seq] || !commit_ns [seq]) {
                out->missing++;
                continue;
            }
            spans [0] [count] = commit_ns [seq] - accepted_ns [seq];
            spans [1] [count] = accepted_ns [seq] - sent_ns [seq];
            spans [2] [count] = applied_ns [seq] - accepted_ns [seq];
            spans [3] [count] = commit_ns [seq] - applied_ns [seq];
            spans [4] [count] = commit_ns [seq] - sent_ns [seq];
            out->negative += spans [0] [count] < 0;
            count++;
        }
        out->ran = count > 0;
        out->samples = count;
        out->latency = bench_dist (spans [0], count);
        out->submit = bench_dist (spans [1], count);
        out->transit = bench_dist (spans [2], count);
        out->commit = bench_dist (spans [3], count);
        out->end_to_end = bench_dist (spans [4], count);
    }
    bench_submit_destroy (&client.sub);
    for (int i = 0; i < 5; i++)
        free (spans [i]);
    free (sent_ns);
    free (client.accepted_ns);
    free (pair.obs.applied_ns);
    free (pair.obs.commit_ns);
    return out->ran? 0: -1;
}
