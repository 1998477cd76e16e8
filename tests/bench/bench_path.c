/*  bench_path: the raw floor under a first absence's path.
 *
 *  The region's first absence crosses two durable commits in series: the
 *  municipality's, then each holder's, while the school commits the next
 *  absences and its own copies on the same disk. This part runs that
 *  shape with nothing of regiebus in it: four processes, each with one
 *  LMDB environment (default, durable flags) and group commits, passing
 *  absence numbers over pipes:
 *
 *      school --> mun --> holder 1
 *        ^         |----> holder 2
 *        '---------'      (the school's own copy)
 *
 *  The school commits the absences that fell due (one record each, paced
 *  by absolute deadlines) and passes them on after its commit: that is
 *  "accepted". The municipality commits everything it has read since its
 *  last commit and passes it to both holders and back to the school,
 *  which commit what they have read likewise; a holder's commit is
 *  "committed". The figure is the later holder's commit minus accepted:
 *  what any design that commits at the municipality and then at the
 *  holders must pay on this disk at this rate. With one table (the
 *  default) each node writes one record per absence where the daemons
 *  write several; --path-tables N writes one to each of N tables, as a
 *  node that keeps its records in N tables does.
 *
 *  Bounded: the school stops after rate x seconds absences or the time,
 *  whichever first; every process gives up after the time plus 30 s.
 */
#include "bench.h"
#include <errno.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_NS 1000000000LL
#define S_READ_MAX 4096         //  absence numbers read at once
#define S_MAX_TABLES 16         //  tables an absence may be written to

enum { S_SCHOOL, S_MUN, S_HOLDER1, S_HOLDER2, S_PROCS };
//  The pipes, each [read end, write end].
enum { S_TO_MUN, S_TO_H1, S_TO_H2, S_TO_SCHOOL, S_PIPES };

typedef struct {
    MDB_env *env;
    MDB_dbi dbi [S_MAX_TABLES];
    uint64_t seq;               //  last key written
    const uint8_t *value;
    size_t value_bytes;
    size_t tables;              //  tables written per absence, one record each
} s_store_t;

static int
s_store_open (s_store_t *self, const char *path)
{
    MDB_txn *txn = NULL;
    int rc = mdb_env_create (&self->env);
    if (!rc)
        rc = mdb_env_set_mapsize (self->env, (size_t) 1 << 30);
    if (!rc)
        rc = mdb_env_set_maxdbs (self->env, S_MAX_TABLES);
    if (!rc)
        rc = mdb_env_open (self->env, path, MDB_NOTLS, 0600);
    if (!rc)
        rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    for (size_t t = 0; t < self->tables && !rc; t++) {
        char name [32];
        snprintf (name, sizeof name, "records-%zu", t);
        rc = mdb_dbi_open (txn, name, MDB_CREATE, &self->dbi [t]);
    }
    if (!rc)
        rc = mdb_txn_commit (txn);
    return rc;
}

//  One durable commit of count absences' records, keys in time order as
//  the daemons' are.
static int
s_store_commit (s_store_t *self, size_t count)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    for (size_t i = 0; i < count && !rc; i++) {
        uint8_t key [8];
        uint64_t v = ++self->seq;
        for (int b = 7; b >= 0; b--, v >>= 8)
            key [b] = (uint8_t) v;
        MDB_val k = { 8, key }, d = { self->value_bytes, (void *) self->value };
        for (size_t t = 0; t < self->tables && !rc; t++)
            rc = mdb_put (txn, self->dbi [t], &k, &d, MDB_APPEND);
    }
    if (rc) {
        mdb_txn_abort (txn);
        return rc;
    }
    return mdb_txn_commit (txn);
}

//  Reads every absence number the pipe holds now, after waiting up to
//  wait_ns for the first (negative: until one comes). Returns how many, 0
//  at end of file or timeout, -1 on error; *eof says the writer is gone.
static ssize_t
s_read_all (int fd, int64_t wait_ns, uint32_t *into, size_t room, bool *eof)
{
    struct pollfd p = { fd, POLLIN, 0 };
    struct timespec wait = { (time_t) (wait_ns / S_NS), (long) (wait_ns % S_NS) };
    int ready = ppoll (&p, 1, wait_ns < 0? NULL: &wait, NULL);
    if (ready < 0)
        return errno == EINTR? 0: -1;
    if (ready == 0)
        return 0;
    ssize_t got = read (fd, into, room * sizeof *into);
    if (got == 0)
        *eof = true;
    if (got < 0)
        return errno == EAGAIN || errno == EINTR? 0: -1;
    //  Writes are whole numbers of 4 bytes and at most PIPE_BUF: never split.
    return got / (ssize_t) sizeof *into;
}

static int
s_write_all (int fd, const uint32_t *what, size_t count)
{
    const uint8_t *at = (const uint8_t *) what;
    size_t left = count * sizeof *what;
    while (left) {
        ssize_t n = write (fd, at, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        at += n;
        left -= (size_t) n;
    }
    return 0;
}

typedef struct {
    uint64_t total;             //  absences the school makes
    uint64_t rate;              //  per second
    int64_t *accepted;          //  per absence, CLOCK_MONOTONIC ns (shared map)
    int64_t *committed [2];     //  per absence, at each holder
} s_path_t;

//  The school: commits due absences and returned copies, passes absences on.
static int
s_school (s_path_t *self, s_store_t *store, int to_mun, int from_mun)
{
    uint32_t in [S_READ_MAX], out [S_READ_MAX];
    int64_t start = bench_now_ns ();
    uint64_t next = 0;
    bool eof = false;
    while (!eof) {
        int64_t now = bench_now_ns ();
        int64_t wait_ns = -1;
        if (next < self->total) {
            int64_t due = start + (int64_t) (next * S_NS / self->rate);
            wait_ns = due > now? due - now: 0;
        }
        ssize_t copies = s_read_all (from_mun, wait_ns, in, S_READ_MAX, &eof);
        if (copies < 0)
            return -1;
        now = bench_now_ns ();
        size_t fresh = 0;
        while (next < self->total && fresh < S_READ_MAX
           &&  start + (int64_t) (next * S_NS / self->rate) <= now)
            out [fresh++] = (uint32_t) next++;
        if (fresh + (size_t) copies == 0)
            continue;
        if (s_store_commit (store, fresh + (size_t) copies))
            return -1;
        int64_t accepted = bench_now_ns ();
        for (size_t i = 0; i < fresh; i++)
            self->accepted [out [i]] = accepted;
        if (fresh && s_write_all (to_mun, out, fresh))
            return -1;
        if (next == self->total && to_mun >= 0) {
            close (to_mun);         //  the municipality ends, then so do we
            to_mun = -1;
        }
    }
    return 0;
}

//  The municipality and the holders: commit what came, pass it on.
static int
s_forward (s_path_t *self, s_store_t *store, int from, const int *to, int outputs, int64_t *stamp)
{
    uint32_t in [S_READ_MAX];
    bool eof = false;
    while (!eof) {
        ssize_t got = s_read_all (from, -1, in, S_READ_MAX, &eof);
        if (got < 0)
            return -1;
        if (got == 0)
            continue;
        if (s_store_commit (store, (size_t) got))
            return -1;
        int64_t now = bench_now_ns ();
        for (ssize_t i = 0; stamp && i < got; i++)
            if (in [i] < self->total)
                stamp [in [i]] = now;
        for (int o = 0; o < outputs; o++)
            if (s_write_all (to [o], in, (size_t) got))
                return -1;
    }
    return 0;
}

static void
s_close_except (int pipes [S_PIPES][2], int keep_a, int keep_b)
{
    for (int p = 0; p < S_PIPES; p++)
        for (int e = 0; e < 2; e++) {
            int fd = pipes [p][e];
            if (fd >= 0 && fd != keep_a && fd != keep_b)
                close (fd);
        }
}

static int
s_child (int which, s_path_t *self, s_store_t *store, int pipes [S_PIPES][2])
{
    int rc = 0;
    if (which == S_SCHOOL) {
        s_close_except (pipes, pipes [S_TO_MUN][1], pipes [S_TO_SCHOOL][0]);
        rc = s_school (self, store, pipes [S_TO_MUN][1], pipes [S_TO_SCHOOL][0]);
    }
    else
    if (which == S_MUN) {
        int to [3] = { pipes [S_TO_H1][1], pipes [S_TO_H2][1], pipes [S_TO_SCHOOL][1] };
        for (int p = 0; p < S_PIPES; p++) {
            if (p != S_TO_MUN)
                close (pipes [p][0]);
            if (p == S_TO_MUN)
                close (pipes [p][1]);
        }
        rc = s_forward (self, store, pipes [S_TO_MUN][0], to, 3, NULL);
    }
    else {
        int pipe_in = which == S_HOLDER1? S_TO_H1: S_TO_H2;
        s_close_except (pipes, pipes [pipe_in][0], -1);
        rc = s_forward (self, store, pipes [pipe_in][0], NULL, 0,
                        self->committed [which == S_HOLDER1? 0: 1]);
    }
    return rc;
}

int
bench_lmdb_path (const char *dir, uint64_t rate, double warmup_seconds, double seconds,
                 size_t value_bytes, size_t tables, bench_dist_t *latency_us, uint64_t *counted)
{
    if (tables < 1 || tables > S_MAX_TABLES) {
        fprintf (stderr, "bench: path: tables must be 1 to %d\n", S_MAX_TABLES);
        return -1;
    }
    s_path_t self = { (uint64_t) ((warmup_seconds + seconds) * (double) rate), rate, NULL, { NULL, NULL } };
    size_t bytes = (size_t) self.total * sizeof (int64_t) * 3;
    int64_t *shared = mmap (NULL, bytes + 8, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint8_t *value = calloc (1, value_bytes + 1);
    if (shared == MAP_FAILED || !value || self.total == 0 || self.total > UINT32_MAX) {
        fprintf (stderr, "bench: path: cannot set up %llu absences\n", (unsigned long long) self.total);
        if (shared != MAP_FAILED)
            munmap (shared, bytes + 8);
        free (value);
        return -1;
    }
    memset (value, 'v', value_bytes);
    self.accepted = shared;
    self.committed [0] = shared + self.total;
    self.committed [1] = shared + 2 * self.total;
    int pipes [S_PIPES][2];
    for (int p = 0; p < S_PIPES; p++)
        if (pipe (pipes [p]))
            pipes [p][0] = pipes [p][1] = -1;
    fflush (NULL);
    pid_t pids [S_PROCS];
    int started = 0;
    for (; started < S_PROCS; started++) {
        pids [started] = fork ();
        if (pids [started] < 0)
            break;
        if (pids [started] == 0) {
            alarm ((unsigned) (warmup_seconds + seconds) + 30);
            char path [512];
            snprintf (path, sizeof path, "%s/lmdb-path-%d", dir, started);
            s_store_t store = { .value = value, .value_bytes = value_bytes, .tables = tables };
            if ((mkdir (path, 0700) && errno != EEXIST) || s_store_open (&store, path))
                _exit (2);
            int rc = s_child (started, &self, &store, pipes);
            mdb_env_close (store.env);
            _exit (rc? 1: 0);
        }
    }
    s_close_except (pipes, -1, -1);
    int failed = started < S_PROCS;
    for (int i = 0; i < started; i++) {
        int status;
        failed += waitpid (pids [i], &status, 0) != pids [i] || !WIFEXITED (status)
               || WEXITSTATUS (status) != 0;
    }
    uint64_t first = (uint64_t) (warmup_seconds * (double) rate), n = 0;
    int64_t *late = calloc (self.total + 1, sizeof *late);
    for (uint64_t i = first; late && !failed && i < self.total; i++) {
        int64_t done = self.committed [0][i] > self.committed [1][i]? self.committed [0][i]: self.committed [1][i];
        if (self.accepted [i] && self.committed [0][i] && self.committed [1][i])
            late [n++] = done - self.accepted [i];
        else
            failed++;
    }
    if (!failed && latency_us)
        *latency_us = bench_dist (late, n);
    if (counted)
        *counted = n;
    free (late);
    munmap (shared, bytes + 8);
    free (value);
    if (failed)
        fprintf (stderr, "bench: path: a process failed or an absence went missing\n");
    return failed? -1: 0;
}
