/*  bench_holder: a regie holder's node whose commits can be timed.
 *
 *  `regiebus-bench --holder STAMPS -c CONFIG [--set ...]` is this program
 *  run again as a child: the runtime's own main() (rb_daemon_main) with a
 *  bare node of any role, plus two hooks. Its handler notes every
 *  NOTIFICATION envelope inside the receive transaction that the runtime
 *  stores it in (rb_notices), exactly as a care or portal node stores it,
 *  and refuses other kinds as those daemons do; it notes the case and the
 *  time, and does not decode the payload again (the benchmark knows what
 *  it sent after the setup). Its commit hook reads
 *  CLOCK_MONOTONIC, which is one clock for every process on the machine,
 *  once that transaction's commit held, and stamps the notifications it
 *  held. Everything else a holder does is what every node does: it
 *  submits the events with which it plays a care provider, the portal or
 *  a school on the wire through the ordinary submit call.
 *
 *  The stamps go to a table in POSIX shared memory (shm_open) that the
 *  benchmark made before starting the child: the child writes entries and
 *  publishes them with release stores, the benchmark reads the counters
 *  while the run goes and the entries once they are published. Nothing of
 *  it touches the disk the nodes fsync on.
 */
#ifndef RB_BENCH_HOLDER_H
#define RB_BENCH_HOLDER_H

#include <stdatomic.h>
#include <stdint.h>

//  One notification a holder committed, in the order it applied them.
typedef struct {
    char case_pseudonym [64];   //  the case (not NUL-terminated)
    uint64_t origin_seq;        //  the envelope's place in the municipality's stream
    int64_t applied_ns;         //  when the handler saw it (CLOCK_MONOTONIC)
    int64_t commit_ns;          //  when the commit holding it held
} bench_stamp_t;

//  The shared table: written by the holder, read by the benchmark.
typedef struct {
    uint64_t capacity;                      //  entries
    atomic_uint_fast64_t published;         //  entries [0, published) are committed and complete
    atomic_uint_fast64_t dropped;           //  notifications past capacity: not stamped
    bench_stamp_t entries [];
} bench_stamps_t;

//  Make the table name ("/regiebus-bench-..."), for up to capacity
//  entries, zeroed, and map it. NULL on failure.
bench_stamps_t *bench_stamps_new (const char *name, uint64_t capacity);

//  Unmap the table and null the caller's pointer; with name, also remove
//  the shared memory object (the holder may still have it mapped).
void bench_stamps_destroy (bench_stamps_t **self_p, const char *name);

//  The child's main() is bench_holder_main (bench.h).

#endif
