/*  rb_node: the runtime every regiebus daemon runs.
 *
 *  A node is one single-threaded loop over its sockets: the peer ROUTER
 *  (CURVE server, zauth allowlist), one DEALER per peer link, and the local
 *  API ROUTER. Each turn of the loop tells the node's story once:
 *
 *    receive   drain whatever is ready on every socket
 *    validate  decode and check it, refusing with a code and a field
 *    commit    apply all of it in one LMDB write transaction (group commit),
 *              each request or batch in a child transaction of its own
 *    route     send batches to peers from the on-disk outboxes
 *    acknowledge  answer clients and peers, only after the commit held
 *
 *  The same node runs inside a daemon's main() and inside tests.
 */
#ifndef RB_NODE_H
#define RB_NODE_H

#include "rb_config.h"
#include "rb_inbox.h"

typedef struct _rb_node_t rb_node_t;

//  Open the store, write the allowlist, bind and connect. config is
//  borrowed and must outlive the node. NULL and a refusal on failure.
rb_node_t *rb_node_new (const rb_config_t *config, rb_refusal_t *refusal);

//  Close everything and null the caller's pointer.
void rb_node_destroy (rb_node_t **self_p);

//  Let a daemon see every accepted inbound envelope inside its commit.
void rb_node_set_handler (rb_node_t *self, rb_inbox_handler_fn *handler, void *arg);

//  Call hook after every group commit that held, on the node's thread:
//  for work that must only follow durability (benchmarks stamp times here).
typedef void (rb_node_commit_fn) (void *arg);
void rb_node_set_commit_hook (rb_node_t *self, rb_node_commit_fn *hook, void *arg);

//  Run the loop until SIGINT/SIGTERM or rb_node_stop. Returns 0.
int rb_node_run (rb_node_t *self);

//  Ask the loop to stop after its current turn. Safe from any thread.
void rb_node_stop (rb_node_t *self);

#endif
