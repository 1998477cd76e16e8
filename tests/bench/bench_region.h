/*  bench_region: a region of real daemons and holder nodes to measure.
 *
 *  A region is one municipality (regiebus-municipality, always nodes [0])
 *  with around it schools (regiebus-school) and holder nodes
 *  (bench_holder.h), each a peer of the municipality only, as agencies
 *  are in a real region. Every node is a child process with its own LMDB
 *  store at default (durable) settings, its own CURVE keypair, ports on
 *  127.0.0.1 and an ipc:// API the benchmark is a client of. The region
 *  shares a region key (for the schools' pseudonyms); a school's pupils
 *  live in municipality 0363, which is nodes [0].
 *
 *  The first-absence and fan-out parts (bench_first.c, bench_fanout.c)
 *  each start a fresh region, set its cases up through the real calls and
 *  envelopes, measure, stop it, and then read what the holders stamped.
 */
#ifndef RB_BENCH_REGION_H
#define RB_BENCH_REGION_H

#include "bench_child.h"
#include "bench_holder.h"

#define BENCH_REGION_MAX 8      //  most nodes in a region
#define BENCH_LOCATION "12AB00" //  the schools' location code

typedef enum { BENCH_MUNICIPALITY, BENCH_SCHOOL, BENCH_HOLDER } bench_role_t;

//  A node a region is made of.
typedef struct {
    const char *name;           //  node name
    bench_role_t role;          //  what runs it
    uint64_t stamps;            //  holders: room in their stamp table
} bench_member_t;

typedef struct {
    char name [64];             //  node name
    bench_role_t role;          //  what runs it
    char key [41];              //  public key, Z85
    char api [480];             //  its API endpoint
    char stamps_name [96];      //  holders: the shared memory of their stamps
    bench_stamps_t *stamps;     //  holders: what they committed
    uint64_t baseline;          //  holders: their stamps before what is measured
    bench_child_t child;        //  its process
    rb_client_t *client;        //  on its API, while it runs
} bench_node_t;

typedef struct {
    char dir [400];             //  the region's own directory
    char key_file [460];        //  the region key
    int32_t date;               //  the school day measured: today, or the last school day before
    int32_t enrolled_on;        //  four weeks before it
    bench_node_t nodes [BENCH_REGION_MAX];
    int count;                  //  nodes started or being started
} bench_region_t;

//  Start the members (members [0] the municipality) in parent/name and
//  wait until every node sees its peers up. 0 when the region runs; on
//  failure call bench_region_stop and bench_region_destroy all the same.
int bench_region_start (bench_region_t *self, const bench_opts_t *opts, const char *parent,
                        const char *name, const bench_member_t *members, int count);

//  Stop every node (SIGTERM) and note its CPU time. 0 when all exited 0.
int bench_region_stop (bench_region_t *self);

//  Stop node i alone (SIGTERM), so that its store can be written while
//  it is down; start it again with the same configuration and wait until
//  it sees its peers up. 0 on success.
int bench_region_stop_node (bench_region_t *self, int i);
int bench_region_start_node (bench_region_t *self, const bench_opts_t *opts, int i);

//  Free the holders' stamp tables, which stay readable after the stop.
void bench_region_destroy (bench_region_t *self);

//  Make one call on node's API: the reply when OK, else NULL and a line
//  on stderr naming the refusal. Free with rb_wire_free.
Regiebus__ApiReply *bench_region_call (bench_node_t *node, Regiebus__ApiRequest__CallCase call,
                                       const ProtobufCMessage *msg, int timeout_ms);

//  A status counter of node; -1 when it cannot be read.
int64_t bench_region_counter (bench_node_t *node, const char *name);

//  Wait up to timeout_ms until the municipality has committed received
//  [i] envelopes from nodes [i] (i >= 1) and its queue to every peer is
//  empty: all it routed was acknowledged. 0 when that came.
int bench_region_settle (bench_region_t *self, const uint64_t *received, int timeout_ms);

//  What is measured starts here: every holder's stamps so far are the
//  setup's (call it once the region settled).
void bench_region_mark (bench_region_t *self);

//  Notifications node (a holder) committed since the mark.
uint64_t bench_region_stamped (const bench_node_t *node);

//  Wait up to timeout_ms until every holder nodes [i] committed at least
//  want [i] notifications since the mark (want [0], and a want for a
//  node that is not a holder, are ignored). 0 when they did.
int bench_region_wait_stamped (bench_region_t *self, const uint64_t *want, int timeout_ms);

//  From node (a holder), submit count envelopes of kind with payload to
//  the municipality, envelope n about cases [n % case_count], with keys
//  prefix-n, per_request and in_flight as opts say. accepted_ns (may be
//  NULL) gets when the last was accepted. 0 when all were.
int bench_region_submit (bench_region_t *self, bench_node_t *node, int kind,
                         const ProtobufCMessage *payload, char **cases, size_t case_count,
                         uint64_t count, const char *prefix, const bench_opts_t *opts,
                         int64_t *accepted_ns);

#endif
