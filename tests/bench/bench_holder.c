/*  bench_holder: a regie holder's node whose commits can be timed; see
 *  bench_holder.h.
 *
 *  The handler runs once per NOTIFICATION envelope in the node's open
 *  write transaction and notes an entry past the published ones; the
 *  commit hook stamps every entry noted since the last commit that held
 *  and publishes them. A holder has one peer, its municipality, so the
 *  envelopes it sees come in origin_seq order; when the runtime applies a
 *  batch again (it does so without an envelope the handler refused, and
 *  after a group commit that failed) the handler meets a seq it noted
 *  before, and drops the entries from that seq on before noting it anew.
 */
#include "bench_holder.h"
#include "bench.h"
#include "rb_daemon.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t
s_size (uint64_t capacity)
{
    return sizeof (bench_stamps_t) + capacity * sizeof (bench_stamp_t);
}

bench_stamps_t *
bench_stamps_new (const char *name, uint64_t capacity)
{
    int fd = shm_open (name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return NULL;
    //  ftruncate fills with zeros: every counter starts at 0.
    void *map = ftruncate (fd, (off_t) s_size (capacity)) == 0?
        mmap (NULL, s_size (capacity), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0): MAP_FAILED;
    close (fd);
    if (map == MAP_FAILED) {
        shm_unlink (name);
        return NULL;
    }
    bench_stamps_t *self = map;
    self->capacity = capacity;
    return self;
}

//  The holder's side: map a table the benchmark made, every page of it
//  at once, so that no page fault falls into what is measured.
static bench_stamps_t *
s_stamps_attach (const char *name)
{
    struct stat st;
    int fd = shm_open (name, O_RDWR, 0);
    if (fd < 0)
        return NULL;
    void *map = fstat (fd, &st) == 0 && (size_t) st.st_size >= sizeof (bench_stamps_t)?
        mmap (NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0): MAP_FAILED;
    close (fd);
    if (map == MAP_FAILED)
        return NULL;
    bench_stamps_t *self = map;
    if (s_size (self->capacity) != (size_t) st.st_size) {
        munmap (map, (size_t) st.st_size);
        return NULL;
    }
    return self;
}

void
bench_stamps_destroy (bench_stamps_t **self_p, const char *name)
{
    if (*self_p) {
        munmap (*self_p, s_size ((*self_p)->capacity));
        *self_p = NULL;
    }
    if (name)
        shm_unlink (name);
}


// ---------------------------------------------------------------------------
//  The holder node

typedef struct {
    rb_node_t *node;            //  the holder's node
    bench_stamps_t *stamps;     //  the shared table
    uint64_t open;              //  entries noted so far: [published, open) wait for a commit
} s_holder_t;

static const char *s_stamps_name;      //  from the command line, for the setup

//  Every valid inbound envelope, inside the receive transaction.
static rb_err_t
s_on_envelope (rb_txn_t *txn, const Regiebus__Envelope *e, void *arg, rb_refusal_t *why)
{
    (void) txn;
    (void) why;
    s_holder_t *self = arg;
    //  The runtime's permission table lets nothing else reach a holder.
    if (e->kind != REGIEBUS__EVENT_KIND__NOTIFICATION)
        return RB_OK;
    bench_stamps_t *stamps = self->stamps;
    uint64_t published = atomic_load_explicit (&stamps->published, memory_order_relaxed);
    while (self->open > published && stamps->entries [self->open - 1].origin_seq >= e->origin_seq)
        self->open--;
    if (self->open == stamps->capacity) {
        atomic_fetch_add_explicit (&stamps->dropped, 1, memory_order_relaxed);
        return RB_OK;
    }
    bench_stamp_t *entry = &stamps->entries [self->open++];
    memcpy (entry->case_pseudonym, e->case_pseudonym, sizeof entry->case_pseudonym);
    entry->origin_seq = e->origin_seq;
    entry->applied_ns = bench_now_ns ();
    entry->commit_ns = 0;
    return RB_OK;
}

//  After every group commit that held: stamp and publish what it held.
static void
s_on_commit (void *arg)
{
    s_holder_t *self = arg;
    bench_stamps_t *stamps = self->stamps;
    uint64_t from = atomic_load_explicit (&stamps->published, memory_order_relaxed);
    if (self->open == from)
        return;
    int64_t now = bench_now_ns ();
    for (uint64_t i = from; i < self->open; i++)
        stamps->entries [i].commit_ns = now;
    atomic_store_explicit (&stamps->published, self->open, memory_order_release);
}

static rb_err_t
s_setup (rb_node_t *node, const rb_config_t *config, void **state_p, rb_refusal_t *why)
{
    (void) config;
    s_holder_t *self = calloc (1, sizeof *self);
    if (self)
        self->stamps = s_stamps_attach (s_stamps_name);
    if (!self || !self->stamps) {
        free (self);
        return rb_refuse (why, RB_EINTERNAL, "stamps", "cannot map the stamp table '%s'", s_stamps_name);
    }
    self->node = node;
    self->open = atomic_load (&self->stamps->published);
    rb_node_set_handler (node, s_on_envelope, self);
    rb_node_set_commit_hook (node, s_on_commit, self);
    *state_p = self;
    return RB_OK;
}

static void
s_teardown (void **state_p)
{
    s_holder_t *self = *state_p;
    if (self) {
        bench_stamps_destroy (&self->stamps, NULL);
        free (self);
        *state_p = NULL;
    }
}

int
bench_holder_main (int argc, char *argv [])
{
    if (argc < 3) {
        fprintf (stderr, "usage: regiebus-bench --holder STAMPS -c CONFIG [--set section/key=value ...]\n");
        return 2;
    }
    s_stamps_name = argv [2];
    //  rb_daemon_main reads its flags after argv [0]: hand it the rest.
    argv [2] = argv [0];
    return rb_daemon_main (argc - 2, argv + 2, "regiebus-bench --holder", NULL, s_setup, s_teardown);
}
