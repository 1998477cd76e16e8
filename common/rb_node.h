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

//  Let a daemon see every valid inbound envelope inside its commit, in a
//  nested transaction of its own (see rb_inbox_handler_fn): a refusal
//  dead-letters that envelope, and whatever the handler emitted for it
//  (rb_node_emit) is taken back with it.
void rb_node_set_handler (rb_node_t *self, rb_inbox_handler_fn *handler, void *arg);

//  This node's name, role and clock (for handlers and daemons).
const char *rb_node_name (rb_node_t *self);
int64_t rb_node_now_ms (rb_node_t *self);

//  An envelope a handler derives from what it received: to a peer, about
//  a case, of a kind, with a payload, caused by an event (causation_id,
//  16 bytes, may be NULL); occurred_at_ms 0 means now.
typedef struct {
    const char *destination;
    const char *case_pseudonym;
    int kind;
    const uint8_t *payload;
    size_t payload_size;
    const uint8_t *causation_id;
    int64_t occurred_at_ms;
} rb_emit_t;

//  From inside a handler (or any code holding the node's open transaction
//  txn): put a new envelope in the destination's outbox in that same
//  transaction, so what a daemon derives from an event is committed, and
//  later sent, exactly when the event is. Refuses an unknown destination,
//  a bad pseudonym or kind, an oversized payload, with the field named.
//  event_id_out (16 bytes, may be NULL) receives the new event's id.
rb_err_t rb_node_emit (rb_node_t *self, rb_txn_t *txn, const rb_emit_t *emit,
                       uint8_t *event_id_out, rb_refusal_t *refusal);

//  Call hook after every group commit that held, on the node's thread:
//  for work that must only follow durability (benchmarks stamp times here).
typedef void (rb_node_commit_fn) (void *arg);
void rb_node_set_commit_hook (rb_node_t *self, rb_node_commit_fn *hook, void *arg);

//  Run the loop until SIGINT/SIGTERM or rb_node_stop. Returns 0.
int rb_node_run (rb_node_t *self);

//  Ask the loop to stop after its current turn. Safe from any thread.
void rb_node_stop (rb_node_t *self);

#endif
