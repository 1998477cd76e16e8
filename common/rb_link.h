/*  rb_link: one peer, both directions.
 *
 *  Outbound, the link owns a DEALER connected to the peer's ROUTER with
 *  CURVE client keys, and runs the sender's side of the delivery protocol
 *  (see common/README.md): send batches from the on-disk outbox while the
 *  credit window allows, ping on every heartbeat, treat any Ack as proof
 *  of life, rewind and resend on reconnect, on a gap report and when no
 *  acknowledgement progress is seen within the retransmit timeout.
 *
 *  Inbound, the peer's own DEALER reaches our ROUTER; the link remembers
 *  its routing id and what to acknowledge after the node's next commit.
 *
 *  An Ack moves `acked` (what the peer holds) at once. Trimming the outbox
 *  to match changes the store, so it takes two steps: rb_link_stage writes
 *  it into the node's group transaction, and rb_link_committed makes it
 *  the link's stored truth once that commit holds. The node stages with
 *  any commit it makes anyway, and on its own only when rb_link_stage_due.
 */
#ifndef RB_LINK_H
#define RB_LINK_H

#include "rb_config.h"
#include "rb_outbox.h"
#include <czmq.h>

typedef struct _rb_link_t rb_link_t;

//  Counters and state for status reporting.
typedef struct {
    bool up;                    //  heard from within the peer timeout
    uint64_t assigned;          //  last seq given out to this peer
    uint64_t acked;             //  acknowledged (committed by the peer) up to
    uint64_t sent;              //  sent up to, in this connection
    uint64_t retransmits;       //  envelopes sent again
    uint64_t batches;           //  batch frames sent
    uint64_t refusals;          //  refusals this peer sent us
    int64_t heard_mono_ms;      //  monotonic ms of last frame from peer, 0 never
    int64_t rtt_ms;             //  last ping round trip
    //  inbound
    uint64_t received;          //  committed from this peer up to
    uint64_t duplicates;        //  inbound envelopes already committed
    uint64_t gaps;              //  inbound batches that skipped ahead
    uint64_t refused;           //  inbound frames or envelopes refused
} rb_link_stats_t;

//  Create a link to peer and connect. cert is this node's certificate.
//  Returns NULL if the socket cannot be set up.
rb_link_t *rb_link_new (const rb_peer_config_t *peer, const rb_config_t *config,
                        zcert_t *cert, rb_outbox_t *outbox);

//  Take the peer's config again (endpoint, keys, revocation) and this
//  node's keypair cert, and reconnect: the new connection starts down and
//  resends from what was acknowledged, so nothing in flight is lost. A
//  revoked peer gets no connection; its queue waits in the outbox.
rb_err_t rb_link_configure (rb_link_t *self, const rb_peer_config_t *peer, zcert_t *cert);

//  True when key (Z85) is one of the peer's keys and it is not revoked.
bool rb_link_admits (rb_link_t *self, const char *key);

//  The peer key the link connects with now ("" when revoked). With two
//  keys listed (a rotation), a link that hears nothing for peer_timeout_ms
//  reconnects with the other one.
const char *rb_link_server_key (rb_link_t *self);

//  Close the socket, destroy and null the caller's pointer.
void rb_link_destroy (rb_link_t **self_p);

const char *rb_link_name (rb_link_t *self);
const char *rb_link_public_key (rb_link_t *self);
zsock_t *rb_link_socket (rb_link_t *self);      //  NULL when revoked
rb_link_stats_t *rb_link_stats (rb_link_t *self);

//  Load assigned/acked from the store, at start.
rb_err_t rb_link_load (rb_link_t *self, rb_txn_t *txn);

//  Handle one frame that arrived on our DEALER (Ack or Refusal).
void rb_link_on_frame (rb_link_t *self, const Regiebus__LinkFrame *frame, int64_t now_ms);

//  True when an Ack has moved past what the store holds.
bool rb_link_has_progress (rb_link_t *self);

//  True when that progress has waited long enough (link/ack_stage_ms, or
//  half the window) to be worth a commit of its own.
bool rb_link_stage_due (rb_link_t *self, int64_t now_ms);

//  How far the outbox is trimmed (acknowledged and committed as such).
uint64_t rb_link_stored (rb_link_t *self);

//  Write acknowledged progress into the group transaction.
rb_err_t rb_link_stage (rb_link_t *self, rb_txn_t *txn);

//  The group transaction committed (ok) or failed.
void rb_link_committed (rb_link_t *self, bool ok);

//  New envelopes up to seq were committed to this peer's outbox.
void rb_link_assigned (rb_link_t *self, uint64_t seq);

//  Heartbeats, up/down and retransmit timeout. Call every loop turn.
void rb_link_tick (rb_link_t *self, int64_t now_ms);

//  Send what the window allows, reading batches inside txn (read-only ok).
void rb_link_pump (rb_link_t *self, rb_txn_t *txn);

//  Inbound: of want envelopes new to this node, how many the peer's rate
//  (limits/peer_rate, in bursts of limits/peer_burst) lets it apply now.
uint64_t rb_link_admit (rb_link_t *self, uint64_t want, int64_t now_ms);

//  Inbound side: remember the peer's routing id, and that an Ack is due.
void rb_link_inbound (rb_link_t *self, zframe_t *routing_id);
void rb_link_inbound_result (rb_link_t *self, uint64_t committed, bool gap);
void rb_link_inbound_ping (rb_link_t *self, int64_t sent_at_ms);
bool rb_link_ack_due (rb_link_t *self);

//  Send the due Ack (echoing a ping if one came) on the peer ROUTER, then
//  clear. Call only after the commit that the Ack reports.
void rb_link_send_ack (rb_link_t *self, zsock_t *router);

//  Send a frame to the peer on the ROUTER (a Refusal, for example); with
//  no ROUTER (a node that is not bound) the frame is dropped.
void rb_link_send_inbound (rb_link_t *self, zsock_t *router, zframe_t **frame_p);

#endif
