/*  rb_node_priv: the node's insides, shared by rb_node.c (the loop and the
 *  peer side) and rb_api.c (the client side). Nothing else includes this.
 */
#ifndef RB_NODE_PRIV_H
#define RB_NODE_PRIV_H

#include "rb_audit.h"
#include "rb_clock.h"
#include "rb_link.h"
#include "rb_node.h"
#include "rb_notices.h"
#include "rb_outbox.h"
#include <stdatomic.h>

//  Counters since start, exported by status.
typedef struct {
    uint64_t api_requests;              //  requests decoded
    uint64_t api_accepted;              //  events newly accepted
    uint64_t api_duplicates;            //  events answered from an idempotency key
    uint64_t api_refused [RB_ERR_COUNT];//  requests refused, by reason
    uint64_t link_batches;              //  inbound batches applied
    uint64_t link_received;             //  inbound envelopes committed
    uint64_t link_duplicates;           //  inbound envelopes seen before
    uint64_t link_gaps;                 //  inbound batches that skipped ahead
    uint64_t link_refused [RB_ERR_COUNT];//  inbound frames/envelopes refused, by reason
    uint64_t auth_failures;             //  CURVE handshakes refused by the allowlist
    uint64_t reloads;                   //  reloads of keys and peers applied
    uint64_t reloads_refused;           //  reloads refused: the running config stayed
    uint64_t commits;                   //  group commits
    uint64_t commit_failures;           //  group commits that failed
    uint64_t commit_us;                 //  time spent committing (fsync included), µs
    uint64_t commit_us_max;             //  the longest commit, µs
} rb_counters_t;

//  A counter of rb_node_count. What is counted in the open group
//  transaction is pending until that commit holds; the marks let a
//  refused batch, envelope or child take back what it counted.
typedef struct {
    char name [48];
    uint64_t value;             //  counted in commits that held
    uint64_t pending;           //  counted in the open group transaction
    uint64_t mark_batch;        //  pending before the inbound batch
    uint64_t mark_saved;        //  pending before one handler or child
} rb_daemon_counter_t;

//  A reply waiting for the group commit.
typedef struct {
    zmsg_t *route;          //  routing frames to send back on
    uint64_t request_id;    //  for an error reply if the commit fails
    zframe_t *body;         //  the packed ApiReply
} rb_pending_t;

struct _rb_node_t {
    const rb_config_t *config;  //  borrowed
    rb_store_t *store;          //  the node's LMDB environment
    rb_table_t meta;            //  "meta": clock offset and node facts
    rb_table_t idem;            //  "idem": idempotency key -> outcome
    rb_outbox_t *outbox;        //  per-peer send queues
    rb_inbox_t *inbox;          //  per-origin receive state
    rb_clock_t *clock;          //  wall or test clock
    zcert_t *cert;              //  this node's keypair
    zactor_t *auth;             //  zauth: CURVE allowlist
    zactor_t *monitor;          //  zmonitor on the peer ROUTER: auth failures
    zactor_t *api_monitor;      //  the same on a tcp API, NULL for ipc
    zsock_t *router;            //  peers connect here
    zsock_t *api;               //  clients connect here
    zhashx_t *api_clients;      //  tcp API: Z85 keys allowed to call it
    rb_link_t **links;          //  one per configured peer
    int link_count;
    uint64_t *assigned;         //  per link: seq assigned in the open commit
    uint64_t *assigned_batch;   //  its copy before an inbound batch, to put back if it fails
    uint64_t *assigned_saved;   //  its copy before one envelope's handler or one child (a call,
                                //  a tick), to put back when that is refused; these never nest
    zlist_t *pending;           //  rb_pending_t waiting for the commit
    zlist_t *unsent;            //  replies of a node without an API socket (rb_node_api_reply)
    zlist_t *refusals;          //  (link index, frame) pairs sent after commit
    rb_txn_t *txn;              //  the open group transaction, NULL if none
    rb_counters_t counters;     //  since start
    int64_t clock_offset_pending; //  test clock offset to apply once committed, 0 none
    bool store_nudge;           //  a write hit MAP_FULL: commit something this turn
    bool stopping;              //  the loop has ended: trim every acknowledged envelope now
    int64_t started_at_ms;      //  wall clock at start
    atomic_bool terminated;     //  stop after this turn; set from any thread
    rb_inbox_handler_fn *handler; //  the daemon's handler for inbound envelopes
    void *handler_arg;          //  its argument
    rb_node_commit_fn *commit_hook; //  called after each commit that held
    void *commit_hook_arg;      //  its argument
    rb_notices_t *notices;      //  notifications for this node's actors
    rb_audit_t *audit;          //  the hash-chained record of deliveries and notices
    rb_audit_pos_t audit_batch; //  its position before the inbound batch
    rb_audit_pos_t audit_saved; //  its position before one handler or child
    rb_node_call_fn *call_fn;   //  the daemon's own API calls
    void *call_arg;
    rb_node_tick_fn *tick_fn;   //  the daemon's periodic work
    void *tick_arg;
    int64_t tick_interval_ms;
    int64_t tick_next_mono_ms;
    rb_node_label_fn *label_fn; //  local names of cases for listings
    void *label_arg;
    rb_node_ack_fn *ack_fn;     //  the daemon hears of acknowledgements
    void *ack_arg;
    zlistx_t *daemon_counters;  //  rb_daemon_counter_t, in creation order
    FILE *capture;              //  node/capture_file: peer frames received, NULL when off
    uint8_t id_pool [4096];     //  random bytes for new event ids
    size_t id_pool_used;        //  bytes of it given out
    rb_config_t *reload_config; //  the running config a reload updates; NULL: no reload
    char *reload_path;          //  the config file it re-reads
    char **reload_overrides;    //  the --set flags it was loaded with
    int reload_override_count;
    zmsg_t *reload_route;       //  an API reload waiting for the end of the turn
    uint64_t reload_request_id; //  its request id
    int64_t api_rebind_mono_ms; //  when a tcp API takes the node's new key, 0 never
};

//  Run fn on a fresh child of the group transaction and commit or drop it;
//  the links' assigned counters are put back when it fails.
typedef rb_err_t (rb_node_child_fn) (rb_node_t *self, rb_txn_t *child, void *arg, rb_refusal_t *why);
rb_err_t rb_node_in_child (rb_node_t *self, rb_node_child_fn *fn, void *arg, rb_refusal_t *why);

//  Mark every counter's pending count and the audit's position, or put
//  them back to the mark; batch picks the batch mark, else the
//  handler-or-child one.
void rb_node_counters_mark (rb_node_t *self, bool batch);
void rb_node_counters_restore (rb_node_t *self, bool batch);

//  Record in the audit that notice (its seq, origin, event id, case and
//  notification) was stored, shown to who or acknowledged by who.
rb_err_t rb_node_audit_notice (rb_node_t *self, rb_txn_t *txn, rb_audit_kind_t kind,
                               const rb_notice_t *notice, const char *who);

//  Begin the group transaction if it is not open yet.
rb_err_t rb_node_txn (rb_node_t *self);

//  Handle one message from the API socket (rb_api.c).
void rb_api_handle (rb_node_t *self, zmsg_t *msg);

//  Send a reply now, or queue it until the commit when after_commit.
void rb_api_reply (rb_node_t *self, zmsg_t **route_p, Regiebus__ApiReply *reply, bool after_commit);

//  Turn queued replies into error replies: the commit failed.
void rb_api_fail_pending (rb_node_t *self, rb_err_t code, const char *message);

//  Send every queued reply.
void rb_api_flush (rb_node_t *self);

//  Reload and keys (rb_reload.c): take an API reload, to run at the end of
//  the turn; run a reload that SIGHUP or the API asked for, between two
//  commits; answer the keys call; free what rb_node_set_reload kept.
void rb_reload_request (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req);
void rb_reload_turn (rb_node_t *self);
void rb_reload_keys (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req);
void rb_reload_free (rb_node_t *self);

//  The link for a peer name, or NULL.
rb_link_t *rb_node_link (rb_node_t *self, const char *name, int *index);

#endif
