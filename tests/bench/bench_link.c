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
#include "bench.h"
#include "rb_client.h"
#include "rb_config.h"
#include "rb_keys.h"
#include "rb_log.h"
#include "rb_node.h"
#include <arpa/inet.h>
#include <czmq.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

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
    char a_log [460];               //  A's stderr
    pid_t a_pid;                    //  A's process, 0 when not running
    rb_config_t *b_config;          //  B's configuration
    pthread_t b_thread;             //  runs node B
    bool b_started;                 //  b_thread was created
    atomic_int b_state;             //  0 starting, 1 running, -1 failed to start
    rb_node_t *b_node;              //  node B, valid once b_state is 1
    rb_refusal_t b_why;             //  why B did not start
    s_observer_t obs;               //  what B's handler and hook saw
    rb_client_t *client;            //  on A's API
    double a_cpu, a_sys;            //  A's CPU seconds (user + system, system), once it ended
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

//  Two TCP ports on 127.0.0.1 that were free a moment ago.
static int
s_free_ports (int *port_a, int *port_b)
{
    int fds [2] = { -1, -1 }, ports [2] = { 0, 0 };
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
        addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        fds [i] = socket (AF_INET, SOCK_STREAM, 0);
        if (fds [i] >= 0 && bind (fds [i], (struct sockaddr *) &addr, sizeof addr) == 0
        &&  getsockname (fds [i], (struct sockaddr *) &addr, &len) == 0)
            ports [i] = ntohs (addr.sin_port);
    }
    for (int i = 0; i < 2; i++)
        if (fds [i] >= 0)
            close (fds [i]);
    *port_a = ports [0];
    *port_b = ports [1];
    return ports [0] && ports [1]? 0: -1;
}

static int
s_write_config_a (const s_pair_t *self, const char *path, int port_a, int port_b,
                  const char *key_b)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fprintf (file,
             "#   node A of a regiebus-bench pair\n"
             "node\n"
             "    name = a\n"
             "    data_dir = %s/a\n"
             "    bind = tcp://127.0.0.1:%d\n"
             "    cert = %s/keys/a.cert\n"
             "    map_size_mb = 4096\n"
             "    log_level = warn\n"
             "api\n"
             "    endpoint = %s\n"
             "peer\n"
             "    b\n"
             "        endpoint = tcp://127.0.0.1:%d\n"
             "        public_key = \"%s\"\n",
             self->dir, port_a, self->dir, self->a_api, port_b, key_b);
    return fclose (file)? -1: 0;
}

static int
s_spawn_a (s_pair_t *self, const bench_opts_t *opts, const char *config_path)
{
    const char *argv [3 + 2 * BENCH_MAX_SETS + 1];
    int argc = 0;
    argv [argc++] = opts->node_bin;
    argv [argc++] = "-c";
    argv [argc++] = config_path;
    for (int i = 0; i < opts->set_count; i++) {
        argv [argc++] = "--set";
        argv [argc++] = opts->sets [i];
    }
    argv [argc] = NULL;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, 2, self->a_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2 (&actions, 2, 1);
    int rc = posix_spawn (&self->a_pid, opts->node_bin, &actions, NULL, (char **) argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    if (rc) {
        fprintf (stderr, "bench: cannot start %s: %s\n", opts->node_bin, strerror (rc));
        self->a_pid = 0;
        return -1;
    }
    return 0;
}

//  True while node A runs; reaps it and says how it ended otherwise.
static bool
s_a_alive (s_pair_t *self)
{
    int status;
    if (!self->a_pid)
        return false;
    if (waitpid (self->a_pid, &status, WNOHANG) != self->a_pid)
        return true;
    self->a_pid = 0;
    fprintf (stderr, "bench: node A ended (%s %d); see %s\n",
             WIFSIGNALED (status)? "signal": "exit code",
             WIFSIGNALED (status)? WTERMSIG (status): WEXITSTATUS (status), self->a_log);
    return false;
}

//  True once A answers status and sees B up.
static bool
s_link_up (s_pair_t *self)
{
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_STATUS;
    request.status = &status;
    Regiebus__ApiReply *reply = rb_client_call (self->client, &request, 500);
    bool up = reply && reply->code == REGIEBUS__ERROR_CODE__OK
           && reply->result_case == REGIEBUS__API_REPLY__RESULT_STATUS
           && reply->status->n_peers == 1 && reply->status->peers [0]->up;
    rb_wire_free (&reply);
    return up;
}

//  Stop the pair: A by SIGTERM, B through rb_node_stop. Returns 0 when
//  both ended cleanly.
static int
s_pair_stop (s_pair_t *self)
{
    int rc = 0;
    rb_client_destroy (&self->client);
    if (self->a_pid) {
        kill (self->a_pid, SIGTERM);
        int status = 0;
        pid_t done = 0;
        struct rusage usage;
        memset (&usage, 0, sizeof usage);
        for (int i = 0; i < S_STOP_MS / 10 && done == 0; i++) {
            done = wait4 (self->a_pid, &status, WNOHANG, &usage);
            if (done == 0)
                zclock_sleep (10);
        }
        if (done == 0) {
            fprintf (stderr, "bench: node A did not stop within %d ms; killing it\n", S_STOP_MS);
            kill (self->a_pid, SIGKILL);
            waitpid (self->a_pid, &status, 0);
            rc = -1;
        }
        else
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
            fprintf (stderr, "bench: node A ended badly (status %d); see %s\n", status, self->a_log);
            rc = -1;
        }
        self->a_sys = (double) usage.ru_stime.tv_sec + (double) usage.ru_stime.tv_usec / 1e6;
        self->a_cpu = self->a_sys + (double) usage.ru_utime.tv_sec + (double) usage.ru_utime.tv_usec / 1e6;
        self->a_pid = 0;
    }
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
    snprintf (self->a_log, sizeof self->a_log, "%s/a.log", self->dir);
    char keys [460], key_a [41], key_b [41], config_a [460];
    snprintf (keys, sizeof keys, "%s/keys", self->dir);
    snprintf (config_a, sizeof config_a, "%s/a.cfg", self->dir);
    rb_refusal_t why;
    int port_a, port_b;
    if (zsys_dir_create ("%s", self->dir)
    ||  rb_keys_make (keys, "a", key_a, &why) || rb_keys_make (keys, "b", key_b, &why)) {
        fprintf (stderr, "bench: cannot make keys in %s\n", keys);
        return -1;
    }
    if (s_free_ports (&port_a, &port_b)
    ||  s_write_config_a (self, config_a, port_a, port_b, key_b)) {
        fprintf (stderr, "bench: cannot prepare node A in %s\n", self->dir);
        return -1;
    }
    //  Node B's configuration: the same settings as A's, mirrored.
    char text [10][600];
    const char *overrides [10 + BENCH_MAX_SETS];
    int count = 0;
    snprintf (text [count], sizeof text [0], "node/name=b");
    snprintf (text [++count], sizeof text [0], "node/data_dir=%s/b", self->dir);
    snprintf (text [++count], sizeof text [0], "node/bind=tcp://127.0.0.1:%d", port_b);
    snprintf (text [++count], sizeof text [0], "node/cert=%s/b.cert", keys);
    snprintf (text [++count], sizeof text [0], "node/map_size_mb=4096");
    snprintf (text [++count], sizeof text [0], "node/log_level=warn");
    snprintf (text [++count], sizeof text [0], "api/endpoint=ipc://%s/b.api", self->dir);
    snprintf (text [++count], sizeof text [0], "peer/a/endpoint=tcp://127.0.0.1:%d", port_a);
    snprintf (text [++count], sizeof text [0], "peer/a/public_key=%s", key_a);
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
    if (s_spawn_a (self, opts, config_a))
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
    while (zclock_mono () < deadline && s_a_alive (self)) {
        if (s_link_up (self))
            return 0;
        zclock_sleep (20);
    }
    fprintf (stderr, "bench: the link from A to B did not come up within %d ms; see %s\n",
             S_START_MS, self->a_log);
    return -1;
}

// ---------------------------------------------------------------------------
//  Submitting

//  A reusable SubmitRequest of up to `capacity` TEST events for node b.
typedef struct {
    Regiebus__ApiRequest request;
    Regiebus__SubmitRequest submit;
    Regiebus__Submission *items;
    Regiebus__Submission **list;
    char (*keys) [32];
    uint8_t *payload;
    size_t capacity;
} s_submit_t;

static int
s_submit_new (s_submit_t *self, size_t capacity, size_t payload_bytes)
{
    memset (self, 0, sizeof *self);
    self->capacity = capacity;
    self->items = calloc (capacity, sizeof *self->items);
    self->list = calloc (capacity, sizeof *self->list);
    self->keys = calloc (capacity, sizeof *self->keys);
    self->payload = malloc (payload_bytes? payload_bytes: 1);
    if (!self->items || !self->list || !self->keys || !self->payload)
        return -1;
    for (size_t i = 0; i < payload_bytes; i++)
        self->payload [i] = (uint8_t) i;
    for (size_t i = 0; i < capacity; i++) {
        Regiebus__Submission *s = &self->items [i];
        regiebus__submission__init (s);
        s->idempotency_key = self->keys [i];
        s->destination = "b";
        s->case_pseudonym = (char *) s_case;
        s->kind = REGIEBUS__EVENT_KIND__TEST;
        s->payload.data = self->payload;
        s->payload.len = payload_bytes;
        self->list [i] = s;
    }
    regiebus__api_request__init (&self->request);
    regiebus__submit_request__init (&self->submit);
    self->request.call_case = REGIEBUS__API_REQUEST__CALL_SUBMIT;
    self->request.submit = &self->submit;
    self->submit.events = self->list;
    return 0;
}

static void
s_submit_destroy (s_submit_t *self)
{
    free (self->items);
    free (self->list);
    free (self->keys);
    free (self->payload);
    memset (self, 0, sizeof *self);
}

//  Send events first .. first+count-1 with keys PREFIX-N. 0 when sent.
static int
s_submit_send (s_submit_t *self, rb_client_t *client, const char *prefix, uint64_t first, size_t count)
{
    for (size_t i = 0; i < count; i++)
        snprintf (self->keys [i], sizeof self->keys [i], "%s-%llu", prefix, (unsigned long long) (first + i));
    self->submit.n_events = count;
    self->request.request_id = 0;
    return rb_client_send (client, &self->request)? 0: -1;
}

//  Events accepted by an OK submit reply, -1 for anything else.
static int64_t
s_accepted (const Regiebus__ApiReply *reply)
{
    if (!reply)
        return -1;
    if (reply->code != REGIEBUS__ERROR_CODE__OK || reply->result_case != REGIEBUS__API_REPLY__RESULT_SUBMIT) {
        fprintf (stderr, "bench: submit refused: code %d field '%s': %s\n", (int) reply->code,
                 reply->field, reply->message);
        return -1;
    }
    return (int64_t) reply->submit->n_accepted;
}

// ---------------------------------------------------------------------------
//  Throughput

int
bench_link_throughput (const bench_opts_t *opts, const char *dir, bench_throughput_t *out)
{
    memset (out, 0, sizeof *out);
    s_pair_t pair;
    memset (&pair, 0, sizeof pair);
    s_submit_t sub;
    int rc = s_submit_new (&sub, opts->per_request, opts->payload_bytes);
    if (!rc)
        rc = s_pair_start (&pair, opts, dir, "throughput");
    uint64_t sent = 0, accepted = 0;
    int in_flight = 0;
    int64_t start = bench_now_ns ();
    int64_t submit_deadline = start + (int64_t) (opts->seconds * S_NS);
    int64_t accepted_ns = start;
    //  Bounded: at most events / per_request sends, each reply waited for
    //  at most 5 s, and no new sends after submit_deadline.
    while (!rc) {
        while (in_flight < opts->in_flight && sent < opts->events && bench_now_ns () < submit_deadline) {
            size_t count = opts->events - sent < opts->per_request? opts->events - sent: opts->per_request;
            if (s_submit_send (&sub, pair.client, "t", sent, count)) {
                rc = -1;
                break;
            }
            sent += count;
            in_flight++;
        }
        if (in_flight == 0)
            break;
        Regiebus__ApiReply *reply = rb_client_recv (pair.client, 5000);
        int64_t n = s_accepted (reply);
        rb_wire_free (&reply);
        if (n < 0) {
            fprintf (stderr, "bench: no good reply to a submit within 5 s\n");
            rc = -1;
            break;
        }
        accepted += (uint64_t) n;
        accepted_ns = bench_now_ns ();
        in_flight--;
    }
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
        out->a_cpu_seconds = pair.a_cpu;
        out->a_sys_seconds = pair.a_sys;
        out->b_cpu_seconds = pair.b_cpu;
    }
    s_submit_destroy (&sub);
    return out->ran? 0: -1;
}

// ---------------------------------------------------------------------------
//  Latency

//  Note when an OK single-event reply arrived, by origin_seq.
static int
s_stamp (Regiebus__ApiReply *reply, int64_t now, int64_t *accepted_ns, uint64_t cap, uint64_t *count)
{
    if (s_accepted (reply) != 1)
        return -1;
    uint64_t seq = reply->submit->accepted [0]->origin_seq;
    if (seq < cap && accepted_ns [seq] == 0) {
        accepted_ns [seq] = now;
        (*count)++;
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
    int64_t *sent_ns = calloc (pair.obs.cap, sizeof (int64_t));
    int64_t *accepted_ns = calloc (pair.obs.cap, sizeof (int64_t));
    int64_t *spans [5];
    bool ok = pair.obs.commit_ns && pair.obs.applied_ns && sent_ns && accepted_ns;
    for (int i = 0; i < 5; i++)
        ok &= (spans [i] = calloc (pair.obs.cap, sizeof (int64_t))) != NULL;
    s_submit_t sub;
    memset (&sub, 0, sizeof sub);
    int rc = !ok? -1: s_submit_new (&sub, 1, opts->payload_bytes);
    if (!rc)
        rc = s_pair_start (&pair, opts, dir, "latency");
    int64_t period = (int64_t) (S_NS / (double) opts->rate);
    int64_t first = bench_now_ns (), next = first, last = first;
    uint64_t sent = 0, stamped = 0;
    //  Bounded: exactly `total` sends, one per tick; between ticks, wait
    //  for replies at most until the next tick.
    while (!rc && sent < total) {
        int64_t now = bench_now_ns ();
        if (now >= next) {
            if (s_submit_send (&sub, pair.client, "l", sent, 1)) {
                rc = -1;
                break;
            }
            last = now;
            //  One client, one event per request: the n-th sent gets seq n.
            sent_ns [++sent] = now;
            next += period;
            continue;
        }
        int timeout_ms = (int) ((next - now + 999999) / 1000000);
        Regiebus__ApiReply *reply = rb_client_recv (pair.client, timeout_ms);
        int64_t at = bench_now_ns ();
        if (reply && s_stamp (reply, at, accepted_ns, pair.obs.cap, &stamped))
            rc = -1;
        rb_wire_free (&reply);
    }
    //  The replies still on their way, then B's commits, each bounded.
    int64_t settle = bench_now_ns () + (int64_t) S_SETTLE_MS * 1000000;
    while (!rc && stamped < sent && bench_now_ns () < settle) {
        Regiebus__ApiReply *reply = rb_client_recv (pair.client, 100);
        int64_t at = bench_now_ns ();
        if (reply && s_stamp (reply, at, accepted_ns, pair.obs.cap, &stamped))
            rc = -1;
        rb_wire_free (&reply);
    }
    while (!rc && atomic_load (&pair.obs.committed) < stamped && bench_now_ns () < settle)
        zclock_sleep (1);
    if (s_pair_stop (&pair))
        rc = -1;
    //  B's thread has ended: its arrays are complete and ours to read.
    if (!rc) {
        const int64_t *applied_ns = pair.obs.applied_ns, *commit_ns = pair.obs.commit_ns;
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
        out->achieved_rate = sent > 1 && last > first? (double) (sent - 1) / ((double) (last - first) / S_NS): 0;
        out->latency = bench_dist (spans [0], count);
        out->submit = bench_dist (spans [1], count);
        out->transit = bench_dist (spans [2], count);
        out->commit = bench_dist (spans [3], count);
        out->end_to_end = bench_dist (spans [4], count);
    }
    if (sub.items)
        s_submit_destroy (&sub);
    for (int i = 0; i < 5; i++)
        free (spans [i]);
    free (sent_ns);
    free (accepted_ns);
    free (pair.obs.applied_ns);
    free (pair.obs.commit_ns);
    return out->ran? 0: -1;
}
