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
#include "rb_notices.h"
#include "case.pb-c.h"

typedef struct _rb_node_t rb_node_t;

//  Open the store, write the allowlist, bind and connect. config is
//  borrowed and must outlive the node. NULL and a refusal on failure.
rb_node_t *rb_node_new (const rb_config_t *config, rb_refusal_t *refusal);

//  The same in two steps, so a daemon can open its own tables and check
//  its own configuration before anyone can reach the node: open the store
//  and the links (NULL and a refusal on failure), then bind the peer
//  ROUTER, the allowlist and the API (a refusal naming the endpoint; the
//  caller then destroys the node). rb_node_run needs a bound node.
rb_node_t *rb_node_open (const rb_config_t *config, rb_refusal_t *refusal);
rb_err_t rb_node_bind (rb_node_t *self, rb_refusal_t *refusal);

//  Let the node reload its peers and keys while it runs, on SIGHUP and on
//  the API's `reload`: it re-reads path with the same overrides and, when
//  only peers, node/cert, node/next_cert or node/log_level changed, takes
//  them into config (the running config, which the daemon and the node
//  share) and applies them to its links, allowlist and sockets. Anything
//  else is refused with the key named, and config stays as it was. See
//  rb_reload.c for what a reload does and common/README.md for its rules.
void rb_node_set_reload (rb_node_t *self, rb_config_t *config, const char *path,
                         const char **overrides, int override_count);

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

//  A new event id (rb_wire_event_id), made at the node clock's now: for
//  every event this node originates, so that ids sort by when they were made.
void rb_node_event_id (rb_node_t *self, uint8_t event_id [16]);

//  Open (creating) a daemon's own table in the node's store, for its
//  setup: call it before the loop runs. Name it after the daemon
//  ("school_pupil") so it cannot meet a runtime table.
rb_err_t rb_node_table (rb_node_t *self, const char *name, rb_table_t *table);

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

// ---------------------------------------------------------------------------
//  What a daemon adds to the runtime. Every hook runs on the node's thread,
//  inside a child of the group transaction, so what it writes and emits
//  commits with the turn or, when it refuses, leaves no trace.

//  One API call of the daemon's own (agency.proto) being answered.
typedef struct _rb_call_t rb_call_t;

//  A daemon's calls: every call the runtime does not answer itself
//  (submit, status, list_received, advance_clock, list_notifications,
//  ack_notification) goes to fn. fn validates, writes in txn, emits, and
//  answers with rb_call_reply, then returns RB_OK; the reply is sent after
//  the group commit holds. To refuse, it fills why and returns its code:
//  nothing it wrote or emitted remains, and the client gets the refusal.
//  A node without a call handler, or a call fn does not take, answers
//  FAILED_PRECONDITION on field "call".
typedef rb_err_t (rb_node_call_fn) (rb_node_t *node, rb_call_t *call, rb_txn_t *txn,
                                    const Regiebus__ApiRequest *request, void *arg,
                                    rb_refusal_t *why);
void rb_node_set_call_handler (rb_node_t *self, rb_node_call_fn *fn, void *arg);

//  Inside a call fn: the reply to send once the call commits. It is packed
//  at once, so reply and what it points to may be freed on return. version
//  and request_id are filled in. RB_EINTERNAL when out of memory.
rb_err_t rb_call_reply (rb_call_t *call, Regiebus__ApiReply *reply);

//  Run fn every interval_ms (by the monotonic clock; the first run one
//  interval after start) for work that comes with time: closing a school
//  day, reminders. A refusal or storage error is logged and the child
//  transaction dropped; the next tick tries again.
typedef rb_err_t (rb_node_tick_fn) (rb_node_t *node, rb_txn_t *txn, void *arg, rb_refusal_t *why);
void rb_node_set_tick (rb_node_t *self, int64_t interval_ms, rb_node_tick_fn *fn, void *arg);

//  How this node's users know a case's child, for notification listings:
//  fill label (size bytes, "" when none) for case_pseudonym, and return
//  false to leave the notification out of this listing (a portal shows a
//  parent account only its own children: account is the listing's
//  filter, "" for none). Without a label fn every case is shown unnamed.
//  size is RB_TEXT_MAX + 1, so every name rb_text_check passed fits whole.
typedef bool (rb_node_label_fn) (rb_txn_t *txn, const char *case_pseudonym, const char *account,
                                 char *label, size_t size, void *arg);
void rb_node_set_label (rb_node_t *self, rb_node_label_fn *fn, void *arg);

//  Add delta to the daemon counter name (at most 47 characters, created
//  at 0), shown by status beside the runtime's counters. A count made in
//  a handler, a call or a tick shows once the group commit holding that
//  work holds, and is taken back with it: when the envelope or call is
//  refused, when a batch is applied again, when the commit fails. So a
//  daemon counts what it did, where it did it, and never counts twice.
void rb_node_count (rb_node_t *self, const char *name, uint64_t delta);

//  Store a notification for one of this node's own actors, as if it had
//  arrived (a municipality is a regie holder too: leerplicht, the duty
//  desk). It is numbered like any other; its origin is this node with
//  origin_seq 0. Same refusals as rb_notices_store.
rb_err_t rb_node_notify_local (rb_node_t *self, rb_txn_t *txn, const char *case_pseudonym,
                               const Regiebus__Notification *notification, rb_refusal_t *why);

//  One of this node's actors acknowledged a notice (ack_notification).
//  The runtime tells the node the notice came from, in the ack's own
//  transaction: a NOTIFICATION_ACK envelope (payload AckReceipt: the
//  notification id, or for a reminder the id it reminds of, the
//  recipient actor and the time) to the notice's origin when that is a
//  peer; an origin that is no longer a peer is logged and not told. A
//  notice that came from this node itself (rb_node_notify_local) has no
//  envelope to answer: fn, when set, hears of every acknowledgement in
//  that transaction, with the notice as rb_notices shows it (valid during
//  the call), and a refusal refuses the acknowledgement.
typedef rb_err_t (rb_node_ack_fn) (rb_node_t *node, rb_txn_t *txn, const rb_notice_t *notice,
                                   void *arg, rb_refusal_t *why);
void rb_node_set_ack_hook (rb_node_t *self, rb_node_ack_fn *fn, void *arg);

// ---------------------------------------------------------------------------
//  The loop's steps without its sockets, for the fuzz targets (tests/fuzz):
//  they put bytes through the same decode, validate and apply path as the
//  loop does, on a node that is opened (rb_node_open) and need not be
//  bound. What the node would send back goes out on its sockets when
//  bound; when not, Acks and Refusals to peers are dropped and the API's
//  replies are kept for rb_node_api_reply.

//  One frame as if it had come on the peer ROUTER from peer, whose key
//  CURVE and the allowlist vouched for (a Batch or a Ping), or on this
//  node's own DEALER to peer (an Ack or a Refusal). RB_EPEER when peer is
//  not configured; the frame's own refusals are the node's business.
rb_err_t rb_node_take_peer_frame (rb_node_t *self, const char *peer, const uint8_t *data,
                                  size_t size);
rb_err_t rb_node_take_link_frame (rb_node_t *self, const char *peer, const uint8_t *data,
                                  size_t size);

//  One ApiRequest frame as if a client had sent it.
void rb_node_take_api_frame (rb_node_t *self, const uint8_t *data, size_t size);

//  The oldest API reply a node that is not bound has not handed out yet
//  (the packed ApiReply, the caller's to destroy), or NULL.
zframe_t *rb_node_api_reply (rb_node_t *self);

//  End the turn as the loop does: commit what it took, then release what
//  waited for the commit. With keep false the turn's transaction is
//  dropped instead, as a failed group commit is, and the node reloads its
//  state from the store: every turn then starts from the same store.
void rb_node_end_turn (rb_node_t *self, bool keep);

//  Run the loop until SIGINT/SIGTERM or rb_node_stop. Returns 0, or -1
//  at once when the node was never bound.
int rb_node_run (rb_node_t *self);

//  Have SIGTERM and SIGINT stop rb_node_run through the node's own
//  handler instead of CZMQ's, whose zsys_interrupted also ends the node's
//  actors before their time (rb_node.c says how that hung a daemon). A
//  daemon calls it before zsys_init, so that no stop ever goes to CZMQ's.
void rb_node_catch_stop (void);

//  Ask the loop to stop after its current turn. Safe from any thread.
void rb_node_stop (rb_node_t *self);

#endif
