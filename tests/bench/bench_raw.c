/*  bench_raw: the raw limits a durable link is measured against.
 *
 *  LMDB: sequential big-endian u64 keys with fixed-size values put into a
 *  fresh environment with LMDB's default (durable) flags, so every commit
 *  ends in an fsync; the same put pattern as a node's outbox and inbox.
 *
 *  ZeroMQ: plain libzmq, no CZMQ and no CURVE, each end with a context of
 *  its own (as two processes would have) on loopback TCP. PUSH/PULL counts
 *  messages from the first received to the last; REQ/REP times every round
 *  trip of one message echoed back.
 */
#include "bench.h"
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_NS 1000000000.0

// ---------------------------------------------------------------------------
//  Shared helpers

int64_t
bench_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

uint64_t
bench_random (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

void
bench_sort (int64_t *values, size_t count)
{
    if (count > 1)
        qsort (values, count, sizeof *values, s_cmp_i64);
}

int64_t
bench_percentile (const int64_t *sorted, size_t count, double pct)
{
    if (count == 0)
        return 0;
    //  Nearest rank: the smallest value with at least pct% at or below it.
    size_t rank = (size_t) (pct / 100.0 * (double) count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return sorted [rank - 1];
}

bench_dist_t
bench_dist (int64_t *values, size_t count)
{
    bench_sort (values, count);
    bench_dist_t d = {
        (double) bench_percentile (values, count, 50) / 1000.0,
        (double) bench_percentile (values, count, 90) / 1000.0,
        (double) bench_percentile (values, count, 99) / 1000.0,
        count? (double) values [count - 1] / 1000.0: 0
    };
    return d;
}

// ---------------------------------------------------------------------------
//  LMDB

static void
s_put_be64 (uint8_t out [8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out [i] = (uint8_t) v;
}

static void
s_remove_env (const char *path)
{
    char file [600];
    snprintf (file, sizeof file, "%s/data.mdb", path);
    unlink (file);
    snprintf (file, sizeof file, "%s/lock.mdb", path);
    unlink (file);
    rmdir (path);
}

//  Commit per_commit records at a time into a fresh environment at path
//  until seconds pass or max_records or max_commits are reached; each
//  commit's duration in ns goes to commits, their number to *count and
//  the records to *records. Returns the LMDB error, 0 when all went well.
static int
s_lmdb_run (const char *path, size_t per_commit, const uint8_t *value, size_t value_bytes,
            double seconds, uint64_t max_records, uint64_t max_commits, int64_t *commits,
            uint64_t *count, uint64_t *records, int64_t *elapsed_ns)
{
    //  Room for every record twice over: copy-on-write pages need slack.
    size_t map = (size_t) (max_records + per_commit) * (value_bytes + 64) * 2 + (64u << 20);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi = 0;
    int rc = mdb_env_create (&env);
    if (!rc)
        rc = mdb_env_set_mapsize (env, map);
    if (!rc)
        rc = mdb_env_set_maxdbs (env, 4);
    if (!rc)
        rc = mdb_env_open (env, path, MDB_NOTLS, 0600);
    if (!rc)
        rc = mdb_txn_begin (env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open (txn, "records", MDB_CREATE, &dbi);
    if (!rc)
        rc = mdb_txn_commit (txn);
    uint64_t seq = 0, n = 0;
    int64_t start = bench_now_ns ();
    int64_t deadline = start + (int64_t) (seconds * S_NS);
    int64_t now = start;
    while (!rc && seq < max_records && n < max_commits && now < deadline) {
        rc = mdb_txn_begin (env, NULL, 0, &txn);
        for (size_t i = 0; i < per_commit && !rc; i++) {
            uint8_t key_bytes [8];
            s_put_be64 (key_bytes, ++seq);
            MDB_val k = { 8, key_bytes }, v = { value_bytes, (void *) value };
            rc = mdb_put (txn, dbi, &k, &v, 0);
        }
        int64_t before = bench_now_ns ();
        if (!rc)
            rc = mdb_txn_commit (txn);
        else
        if (txn)
            mdb_txn_abort (txn);
        now = bench_now_ns ();
        commits [n++] = now - before;
    }
    if (env)
        mdb_env_close (env);
    s_remove_env (path);
    *count = n;
    *records = seq;
    *elapsed_ns = now - start;
    return rc;
}

static uint8_t *
s_value (size_t value_bytes)
{
    uint8_t *value = malloc (value_bytes? value_bytes: 1);
    for (size_t i = 0; value && i < value_bytes; i++)
        value [i] = (uint8_t) ('a' + i % 26);
    return value;
}

double
bench_lmdb_rate (const char *dir, size_t per_commit, size_t value_bytes, double seconds,
                 uint64_t max_records, bench_dist_t *commit_us)
{
    char path [512];
    snprintf (path, sizeof path, "%s/lmdb-%zu", dir, per_commit);
    if (mkdir (path, 0700) && errno != EEXIST) {
        fprintf (stderr, "bench: cannot create %s: %s\n", path, strerror (errno));
        return -1;
    }
    uint8_t *value = s_value (value_bytes);
    uint64_t max_commits = max_records / per_commit + 1;
    int64_t *commits = calloc (max_commits, sizeof *commits);
    if (!value || !commits) {
        free (value);
        free (commits);
        return -1;
    }
    uint64_t count, records;
    int64_t elapsed;
    int rc = s_lmdb_run (path, per_commit, value, value_bytes, seconds, max_records, max_commits,
                         commits, &count, &records, &elapsed);
    if (commit_us)
        *commit_us = bench_dist (commits, count);
    free (commits);
    free (value);
    if (rc)
        fprintf (stderr, "bench: LMDB at %zu per commit: %s\n", per_commit, mdb_strerror (rc));
    if (rc || elapsed <= 0)
        return -1;
    return (double) records / ((double) elapsed / S_NS);
}

double
bench_lmdb_shared (const char *dir, int writers, size_t per_commit, size_t value_bytes,
                   double seconds, uint64_t max_records, bench_dist_t *commit_us)
{
    //  Each writer is a process of its own, as each node is: one LMDB
    //  environment per process. Their commit times come back through a
    //  shared map; a pipe starts them together.
    uint64_t max_commits = max_records / per_commit + 1;
    size_t slot = sizeof (uint64_t) * 2 + max_commits * sizeof (int64_t);
    uint8_t *shared = mmap (NULL, slot * (size_t) writers, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    uint8_t *value = s_value (value_bytes);
    int start [2] = { -1, -1 };
    if (shared == MAP_FAILED || !value || pipe (start)) {
        fprintf (stderr, "bench: cannot set up %d LMDB writers: %s\n", writers, strerror (errno));
        if (shared != MAP_FAILED)
            munmap (shared, slot * (size_t) writers);
        free (value);
        return -1;
    }
    fflush (NULL);
    pid_t pids [16];
    int started = 0;
    for (; started < writers && started < 16; started++) {
        pids [started] = fork ();
        if (pids [started] < 0)
            break;
        if (pids [started] == 0) {
            close (start [1]);
            char go;
            if (read (start [0], &go, 1) < 0)
                _exit (2);
            char path [512];
            snprintf (path, sizeof path, "%s/lmdb-shared-%d", dir, started);
            if (mkdir (path, 0700) && errno != EEXIST)
                _exit (2);
            uint8_t *mine = shared + slot * (size_t) started;
            uint64_t count, records;
            int64_t elapsed;
            int rc = s_lmdb_run (path, per_commit, value, value_bytes, seconds, max_records, max_commits,
                                 (int64_t *) (mine + 16), &count, &records, &elapsed);
            memcpy (mine, &count, 8);
            memcpy (mine + 8, &elapsed, 8);
            _exit (rc? 1: 0);
        }
    }
    close (start [0]);
    close (start [1]);          //  every writer reads end of file: go
    int failed = started < writers;
    for (int i = 0; i < started; i++) {
        int status;
        failed += waitpid (pids [i], &status, 0) != pids [i] || !WIFEXITED (status)
               || WEXITSTATUS (status) != 0;
    }
    //  Gather every commit into one distribution; the rate is the sum of
    //  each writer's own.
    uint64_t total = 0;
    double rate = 0;
    for (int i = 0; !failed && i < writers; i++) {
        uint64_t count;
        int64_t elapsed;
        memcpy (&count, shared + slot * (size_t) i, 8);
        memcpy (&elapsed, shared + slot * (size_t) i + 8, 8);
        total += count;
        rate += elapsed > 0? (double) count / ((double) elapsed / S_NS): 0;
    }
    int64_t *all = failed? NULL: calloc (total + 1, sizeof *all);
    size_t at = 0;
    for (int i = 0; all && i < writers; i++) {
        uint64_t count;
        memcpy (&count, shared + slot * (size_t) i, 8);
        memcpy (all + at, shared + slot * (size_t) i + 16, count * sizeof *all);
        at += count;
    }
    if (all && commit_us)
        *commit_us = bench_dist (all, at);
    munmap (shared, slot * (size_t) writers);
    free (value);
    if (!all) {
        fprintf (stderr, "bench: %d LMDB writers at once: a writer failed\n", writers);
        return -1;
    }
    free (all);
    return rate;
}

// ---------------------------------------------------------------------------
//  ZeroMQ PUSH/PULL

typedef struct {
    char endpoint [128];        //  where the PULL listens
    size_t bytes;               //  message size
    uint64_t count;             //  messages to send
    atomic_bool stop;           //  receiver is done: give up sending
    int error;                  //  errno of a failure, 0 when fine
} s_push_t;

static void *
s_pusher (void *arg)
{
    s_push_t *self = arg;
    void *ctx = zmq_ctx_new ();
    void *push = ctx? zmq_socket (ctx, ZMQ_PUSH): NULL;
    int linger = 0, timeout = 100;
    char *message = calloc (1, self->bytes? self->bytes: 1);
    if (!push || !message || zmq_setsockopt (push, ZMQ_LINGER, &linger, sizeof linger)
    ||  zmq_setsockopt (push, ZMQ_SNDTIMEO, &timeout, sizeof timeout)
    ||  zmq_connect (push, self->endpoint))
        self->error = errno? errno: EINVAL;
    //  Bounded: at most count sends, and each retry checks stop.
    for (uint64_t sent = 0; !self->error && sent < self->count && !atomic_load (&self->stop); ) {
        if (zmq_send (push, message, self->bytes, 0) >= 0)
            sent++;
        else
        if (zmq_errno () != EAGAIN && zmq_errno () != EINTR)
            self->error = zmq_errno ();
    }
    free (message);
    if (push)
        zmq_close (push);
    if (ctx)
        zmq_ctx_term (ctx);
    return NULL;
}

double
bench_zmq_push_pull (size_t message_bytes, uint64_t max_messages, double seconds)
{
    s_push_t push = { .bytes = message_bytes, .count = max_messages };
    atomic_init (&push.stop, false);
    void *ctx = zmq_ctx_new ();
    void *pull = ctx? zmq_socket (ctx, ZMQ_PULL): NULL;
    int linger = 0, timeout = 2000;
    size_t size = sizeof push.endpoint;
    if (!pull || zmq_setsockopt (pull, ZMQ_LINGER, &linger, sizeof linger)
    ||  zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout)
    ||  zmq_bind (pull, "tcp://127.0.0.1:*")
    ||  zmq_getsockopt (pull, ZMQ_LAST_ENDPOINT, push.endpoint, &size)) {
        fprintf (stderr, "bench: PULL socket: %s\n", zmq_strerror (zmq_errno ()));
        if (pull)
            zmq_close (pull);
        if (ctx)
            zmq_ctx_term (ctx);
        return -1;
    }
    pthread_t thread;
    if (pthread_create (&thread, NULL, s_pusher, &push)) {
        zmq_close (pull);
        zmq_ctx_term (ctx);
        return -1;
    }
    char *buffer = malloc (message_bytes + 1);
    uint64_t received = 0;
    int64_t first = 0, last = 0, deadline = 0;
    while (buffer && received < max_messages) {
        int rc = zmq_recv (pull, buffer, message_bytes + 1, 0);
        if (rc < 0 && zmq_errno () == EINTR)
            continue;
        if (rc < 0)
            break;          //  nothing for two seconds: the sender is gone
        last = bench_now_ns ();
        if (received++ == 0) {
            first = last;
            deadline = first + (int64_t) (seconds * S_NS);
        }
        if (last >= deadline)
            break;
    }
    atomic_store (&push.stop, true);
    pthread_join (thread, NULL);
    free (buffer);
    zmq_close (pull);
    zmq_ctx_term (ctx);
    if (push.error)
        fprintf (stderr, "bench: PUSH socket: %s\n", zmq_strerror (push.error));
    if (received < 2 || last <= first)
        return -1;
    //  The clock starts at the first message: count the ones after it.
    return (double) (received - 1) / ((double) (last - first) / S_NS);
}

// ---------------------------------------------------------------------------
//  ZeroMQ REQ/REP

typedef struct {
    char endpoint [128];        //  where the REP listens
    size_t bytes;               //  message size
    void *ctx;                  //  the echo side's context
    void *rep;                  //  bound before the thread starts
    atomic_bool stop;           //  requester is done
} s_echo_t;

static void *
s_echo (void *arg)
{
    s_echo_t *self = arg;
    char *buffer = malloc (self->bytes + 1);
    //  Bounded by the stop flag, checked at least every 100 ms.
    while (buffer && !atomic_load (&self->stop)) {
        int rc = zmq_recv (self->rep, buffer, self->bytes + 1, 0);
        if (rc < 0)
            continue;
        size_t size = (size_t) rc > self->bytes? self->bytes: (size_t) rc;
        while (zmq_send (self->rep, buffer, size, 0) < 0 && !atomic_load (&self->stop))
            ;
    }
    free (buffer);
    return NULL;
}

double
bench_zmq_req_rep (size_t message_bytes, uint64_t max_trips, double seconds, double *p99_us)
{
    s_echo_t echo = { .bytes = message_bytes };
    atomic_init (&echo.stop, false);
    int linger = 0, timeout = 100, req_timeout = 2000;
    size_t size = sizeof echo.endpoint;
    echo.ctx = zmq_ctx_new ();
    echo.rep = echo.ctx? zmq_socket (echo.ctx, ZMQ_REP): NULL;
    void *ctx = zmq_ctx_new ();
    void *req = ctx? zmq_socket (ctx, ZMQ_REQ): NULL;
    int64_t *trips = calloc (max_trips + 1, sizeof *trips);
    char *message = calloc (1, message_bytes + 1);
    bool ok = echo.rep && req && trips && message
        && !zmq_setsockopt (echo.rep, ZMQ_LINGER, &linger, sizeof linger)
        && !zmq_setsockopt (echo.rep, ZMQ_RCVTIMEO, &timeout, sizeof timeout)
        && !zmq_setsockopt (echo.rep, ZMQ_SNDTIMEO, &timeout, sizeof timeout)
        && !zmq_bind (echo.rep, "tcp://127.0.0.1:*")
        && !zmq_getsockopt (echo.rep, ZMQ_LAST_ENDPOINT, echo.endpoint, &size)
        && !zmq_setsockopt (req, ZMQ_LINGER, &linger, sizeof linger)
        && !zmq_setsockopt (req, ZMQ_RCVTIMEO, &req_timeout, sizeof req_timeout)
        && !zmq_connect (req, echo.endpoint);
    pthread_t thread;
    bool started = ok && pthread_create (&thread, NULL, s_echo, &echo) == 0;
    uint64_t count = 0;
    //  A few untimed trips first: connection set-up is not a round trip.
    int warm = 0;
    for (; started && warm < 100; warm++)
        if (zmq_send (req, message, message_bytes, 0) < 0
        ||  zmq_recv (req, message, message_bytes + 1, 0) < 0)
            break;
    int64_t start = bench_now_ns ();
    int64_t deadline = start + (int64_t) (seconds * S_NS);
    while (warm == 100 && count < max_trips) {
        int64_t t0 = bench_now_ns ();
        if (zmq_send (req, message, message_bytes, 0) < 0
        ||  zmq_recv (req, message, message_bytes + 1, 0) < 0)
            break;
        int64_t t1 = bench_now_ns ();
        trips [count++] = t1 - t0;
        if (t1 >= deadline)
            break;
    }
    if (started) {
        atomic_store (&echo.stop, true);
        pthread_join (thread, NULL);
    }
    if (req)
        zmq_close (req);
    if (echo.rep)
        zmq_close (echo.rep);
    if (ctx)
        zmq_ctx_term (ctx);
    if (echo.ctx)
        zmq_ctx_term (echo.ctx);
    double mean = -1;
    if (count) {
        double sum = 0;
        for (uint64_t i = 0; i < count; i++)
            sum += (double) trips [i];
        mean = sum / (double) count / 1000.0;
        bench_sort (trips, count);
        *p99_us = (double) bench_percentile (trips, count, 99) / 1000.0;
    }
    else
        fprintf (stderr, "bench: REQ/REP failed: %s\n", zmq_strerror (zmq_errno ()));
    free (trips);
    free (message);
    return mean;
}
