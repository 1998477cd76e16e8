/*  fuzz_node: the in-process node every fuzz target feeds.
 *
 *  A target is one daemon of a small region, run in the fuzzer's process:
 *  mun-a (municipality, CBS code 0363), school-a (location 12AB00), care-a
 *  and portal-a, each the others' peer. The node is opened on a temporary
 *  LMDB store with its real configuration and its daemon's own setup, and
 *  never bound: nothing listens, and what it would answer is dropped
 *  (the links' DEALERs only try to reach 127.0.0.1:9, where nothing is).
 *  Bytes go in through rb_node_take_*, the same decode, validate and apply
 *  path the loop runs, including every daemon hook.
 *
 *  Before the first input the region's story so far is committed: both
 *  test children enrolled at school-a, child A's parent linked at the
 *  portal, care-a involved and a plan registered by the school, so that
 *  inputs reach the deep paths (an absence signal on a case the school
 *  holds, a report from a linked parent, a milestone of plan 1). Every input's turn is then dropped, as a failed commit is,
 *  so each input meets that same store and a crash found reproduces from
 *  its input alone. FUZZ_KEEP=1 in the environment keeps every turn
 *  instead, for long stateful runs; FUZZ_VERBOSE=1 logs what the node
 *  does and prints every API reply, to see what an input reaches.
 *
 *  The daemon's setup comes from its own main.c, compiled with main
 *  renamed to fuzz_daemon_main: that main calls rb_daemon_main, which in
 *  a fuzz target is the one in fuzz_node.c, keeping the setup and
 *  teardown it is given instead of running the loop.
 */
#ifndef FUZZ_NODE_H
#define FUZZ_NODE_H

#include "rb_node.h"

//  The region's node names and the test children's case pseudonyms
//  (region key: the bytes 0..31; citizen numbers 111222333, 123456782).
#define FUZZ_MUNICIPALITY "mun-a"
#define FUZZ_SCHOOL "school-a"
#define FUZZ_CARE "care-a"
#define FUZZ_PORTAL "portal-a"
#define FUZZ_BSN_A "111222333"
#define FUZZ_BSN_B "123456782"
extern const char *fuzz_case_a;
extern const char *fuzz_case_b;

//  The node of role (municipality, school, care, portal, or node for a
//  bare regiebus-node named node-a), started and seeded on first use;
//  exits the process when it cannot start.
rb_node_t *fuzz_node (const char *role);

//  The next origin_seq the node expects from peer.
uint64_t fuzz_next_seq (const char *peer);

//  An API request's bytes into the node, then the turn ends.
void fuzz_api (rb_node_t *node, const uint8_t *data, size_t size);

//  A Batch of one envelope from peer, with the next seq, about
//  case_pseudonym, of kind with payload, into the node; then the turn
//  ends.
void fuzz_envelope (rb_node_t *node, const char *peer, const char *case_pseudonym, int kind,
                    const uint8_t *payload, size_t size);

//  A Batch of one envelope's bytes from peer, with the next seq, into
//  the node; then the turn ends.
void fuzz_batch (rb_node_t *node, const char *peer, const uint8_t *envelope, size_t size);

//  End the turn: dropped, unless FUZZ_KEEP is set or keep is true.
void fuzz_end_turn (rb_node_t *node, bool keep);

#endif
