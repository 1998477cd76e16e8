/*  rb_link: per-peer sender state machine and inbound bookkeeping; see rb_link.h.
 *
 *  Sender states, driven by rb_link_tick and arriving Acks:
 *
 *    down --(any Ack)--> up: rewind `sent` to `acked`, resend everything
 *    up --(silence > peer_timeout)--> down: stop sending, keep pinging
 *    up, sent > acked, no progress for retransmit_ms: rewind and resend
 *    up, Ack with gap: rewind to the receiver's committed seq
 *
 *  `sent` only ever runs ahead of `acked` by the credit window, and every
 *  byte sent is read from the outbox on disk, never held in memory.
 *
 *  `acked` is what the peer has committed, and moves the moment its Ack
 *  arrives; `stored` is how far the outbox has been trimmed to match. The
 *  trim costs a commit, so it rides along with the node's next commit
 *  for other work, and forces one of its own only when it has waited
 *  link/ack_stage_ms or half the window: a node busy with traffic thus
 *  never spends an fsync on acknowledgements alone; a node that stops
 *  trims what is left in its last commit. Losing an untrimmed Ack in a
 *  crash only means resending what the peer already has, which
 *  it recognises as duplicates.
 */
#include "rb_link.h"
#include "rb_clock.h"
#include "rb_log.h"
#include "rb_rate.h"

struct _rb_link_t {
    char name [RB_NAME_MAX + 1];    //  peer node name
    char public_key [41];           //  peer CURVE key, Z85
    char next_key [41];             //  its other key while it rotates, "" none
    char endpoint [256];            //  its ROUTER
    bool revoked;                   //  no key of it is used or admitted
    int key_index;                  //  0: connect with public_key, 1: with next_key
    int64_t connected_at;           //  monotonic ms the dealer was made
    zcert_t *cert;                  //  not owned: this node's keypair
    zsock_t *dealer;                //  our connection to the peer's ROUTER, NULL when revoked
    rb_outbox_t *outbox;            //  not owned
    const rb_config_t *config;      //  not owned: window, timings, limits
    rb_link_stats_t stats;          //  what status shows
    uint64_t stored;                //  the outbox is trimmed up to here
    int64_t unstored_since;         //  monotonic ms when acked first passed stored
    uint64_t staged_ack;            //  what the open group transaction holds
    int64_t ping_due;               //  monotonic ms of next ping
    int64_t progress_at;            //  monotonic ms of last ack progress or first send
    uint64_t gap_seq;               //  committed seq of the last gap rewind
    int64_t gap_at;                 //  monotonic ms of that rewind
    zframe_t *inbound_id;           //  routing id of the peer's DEALER at our ROUTER
    bool ack_due;                   //  inbound: send an Ack after commit
    bool inbound_gap;               //  inbound: that Ack reports a gap
    int64_t ping_echo;              //  inbound: ping to echo, 0 none
    rb_rate_t rate;                 //  inbound: what the peer may send us
    int64_t paused_until;           //  the peer said we are over its rate: send nothing before
};

//  The key the link connects with: the peer's key, or during its rotation
//  the one that key_index picks; "" when revoked.
static const char *
s_server_key (rb_link_t *self)
{
    if (self->revoked)
        return "";
    return self->key_index && *self->next_key? self->next_key: self->public_key;
}

//  (Re)make the DEALER with this node's key and the peer's current one.
//  A new connection starts down and resends from what was acknowledged.
static rb_err_t
s_connect (rb_link_t *self)
{
    zsock_destroy (&self->dealer);
    self->stats.up = false;
    self->stats.sent = self->stats.acked;
    self->connected_at = rb_clock_mono_ms ();
    if (self->revoked)
        return RB_OK;
    const rb_config_t *config = self->config;
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer)
        return RB_EINTERNAL;
    zcert_apply (self->cert, self->dealer);
    zsock_set_curve_serverkey (self->dealer, s_server_key (self));
    //  Never queue for a peer that is not connected: the outbox is the queue.
    zsock_set_immediate (self->dealer, 1);
    zsock_set_sndhwm (self->dealer, (int) (config->window / config->batch_events) + 16);
    zsock_set_rcvhwm (self->dealer, 10000);
    zsock_set_sndtimeo (self->dealer, 0);
    zsock_set_linger (self->dealer, 0);
    zsock_set_maxmsgsize (self->dealer, (int64_t) config->max_frame_bytes * 4);
    zsock_set_reconnect_ivl (self->dealer, 100);
    zsock_set_reconnect_ivl_max (self->dealer, 2000);
    if (zsock_connect (self->dealer, "%s", self->endpoint)) {
        rb_log_error ("msg=\"cannot connect\" peer=%s endpoint=%s", self->name, self->endpoint);
        zsock_destroy (&self->dealer);
        return RB_EINVALID;
    }
    return RB_OK;
}

static void
s_take_peer (rb_link_t *self, const rb_peer_config_t *peer, zcert_t *cert)
{
    snprintf (self->public_key, sizeof self->public_key, "%s", peer->public_key);
    snprintf (self->next_key, sizeof self->next_key, "%s", peer->next_public_key);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", peer->endpoint);
    self->revoked = peer->revoked;
    self->key_index = 0;
    self->cert = cert;
}

rb_link_t *
rb_link_new (const rb_peer_config_t *peer, const rb_config_t *config, zcert_t *cert,
             rb_outbox_t *outbox)
{
    rb_link_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->name, sizeof self->name, "%s", peer->name);
    s_take_peer (self, peer, cert);
    self->outbox = outbox;
    self->config = config;
    rb_rate_init (&self->rate, config->peer_rate, config->peer_burst, rb_clock_mono_ms ());
    if (s_connect (self))
        rb_link_destroy (&self);
    return self;
}

rb_err_t
rb_link_configure (rb_link_t *self, const rb_peer_config_t *peer, zcert_t *cert)
{
    s_take_peer (self, peer, cert);
    rb_log_info ("msg=\"link configured\" peer=%s endpoint=%s key=%.8s next_key=%.8s revoked=%d",
                 self->name, self->endpoint, self->public_key, self->next_key, self->revoked);
    return s_connect (self);
}

bool
rb_link_admits (rb_link_t *self, const char *key)
{
    return !self->revoked && key
        && (streq (key, self->public_key) || (*self->next_key && streq (key, self->next_key)));
}

const char *
rb_link_server_key (rb_link_t *self)
{
    return s_server_key (self);
}

void
rb_link_destroy (rb_link_t **self_p)
{
    if (self_p && *self_p) {
        rb_link_t *self = *self_p;
        zsock_destroy (&self->dealer);
        zframe_destroy (&self->inbound_id);
        free (self);
        *self_p = NULL;
    }
}

const char *rb_link_name (rb_link_t *self) { return self->name; }
const char *rb_link_public_key (rb_link_t *self) { return self->public_key; }
zsock_t *rb_link_socket (rb_link_t *self) { return self->dealer; }
rb_link_stats_t *rb_link_stats (rb_link_t *self) { return &self->stats; }

rb_err_t
rb_link_load (rb_link_t *self, rb_txn_t *txn)
{
    rb_outstate_t state;
    rb_err_t rc = rb_outbox_state (self->outbox, txn, self->name, &state);
    if (!rc) {
        self->stats.assigned = state.assigned;
        self->stats.acked = self->stats.sent = self->stored = state.acked;
    }
    return rc;
}

//  Start again from what the peer has acknowledged.
static void
s_rewind (rb_link_t *self, uint64_t to, const char *why, int64_t now_ms)
{
    if (self->stats.sent > to) {
        self->stats.retransmits += self->stats.sent - to;
        rb_log_info ("msg=\"resending\" peer=%s from_seq=%llu to_seq=%llu reason=%s", self->name,
                     (unsigned long long) to + 1, (unsigned long long) self->stats.sent, why);
    }
    self->stats.sent = to;
    self->progress_at = now_ms;
}

//  The peer applied nothing from seq on: we are over the rate it takes
//  from us. Send from there again, after a heartbeat's pause. Refusals of
//  batches that were in flight behind the first say the same or more, and
//  never move sending forward.
static void
s_slow_down (rb_link_t *self, uint64_t seq, int64_t now_ms)
{
    if (seq == 0 || seq - 1 >= self->stats.sent)
        return;
    rb_log_debug ("msg=\"peer over its rate for us\" peer=%s resend_from=%llu", self->name,
                  (unsigned long long) seq);
    s_rewind (self, seq - 1 > self->stats.acked? seq - 1: self->stats.acked, "rate_limited", now_ms);
    self->paused_until = now_ms + (int64_t) self->config->heartbeat_ms;
}

void
rb_link_on_frame (rb_link_t *self, const Regiebus__LinkFrame *frame, int64_t now_ms)
{
    if (frame->body_case == REGIEBUS__LINK_FRAME__BODY_REFUSAL) {
        Regiebus__Refusal *r = frame->refusal;
        self->stats.refusals++;
        if ((rb_err_t) r->code == RB_ERATELIMITED) {
            s_slow_down (self, r->seq, now_ms);
            return;
        }
        rb_log_warn ("msg=\"peer refused\" peer=%s code=%s field=\"%s\" seq=%llu detail=\"%s\"",
                     self->name, rb_errname ((rb_err_t) r->code), r->field,
                     (unsigned long long) r->seq, r->message);
        return;
    }
    if (frame->body_case != REGIEBUS__LINK_FRAME__BODY_ACK)
        return;
    Regiebus__Ack *ack = frame->ack;
    bool was_up = self->stats.up;
    self->stats.heard_mono_ms = now_ms;
    //  An echo of one of our pings carries a time of our clock, never
    //  after now: anything else is the peer's, and no round trip.
    if (ack->sent_at_ms > 0 && ack->sent_at_ms <= now_ms)
        self->stats.rtt_ms = now_ms - ack->sent_at_ms;
    if (!was_up) {
        self->stats.up = true;
        rb_log_info ("msg=\"peer up\" peer=%s acked_seq=%llu", self->name,
                     (unsigned long long) ack->committed_seq);
    }
    if (ack->committed_seq > self->stats.assigned) {
        rb_log_error ("msg=\"peer acknowledged beyond what was sent\" peer=%s ack=%llu assigned=%llu",
                      self->name, (unsigned long long) ack->committed_seq,
                      (unsigned long long) self->stats.assigned);
        return;
    }
    if (ack->committed_seq < self->stats.acked)
        rb_log_warn ("msg=\"peer acknowledged less than before\" peer=%s ack=%llu acked=%llu",
                     self->name, (unsigned long long) ack->committed_seq,
                     (unsigned long long) self->stats.acked);
    if (ack->committed_seq > self->stats.acked) {
        if (self->stats.acked == self->stored)
            self->unstored_since = now_ms;
        self->stats.acked = ack->committed_seq;
        self->progress_at = now_ms;
    }
    if (!was_up)
        s_rewind (self, self->stats.acked, "reconnect", now_ms);
    else
    if (ack->gap && !(ack->committed_seq == self->gap_seq
                      && now_ms - self->gap_at < (int64_t) self->config->retransmit_ms)) {
        //  Every batch in flight behind a lost one reports the same gap:
        //  rewind once for all of them, not once each.
        self->gap_seq = ack->committed_seq;
        self->gap_at = now_ms;
        s_rewind (self, self->stats.acked, "gap", now_ms);
    }
    if (self->stats.sent < self->stats.acked)
        self->stats.sent = self->stats.acked;
}

bool
rb_link_has_progress (rb_link_t *self)
{
    return self->stats.acked > self->stored;
}

bool
rb_link_stage_due (rb_link_t *self, int64_t now_ms)
{
    return rb_link_has_progress (self)
        && (now_ms - self->unstored_since >= (int64_t) self->config->ack_stage_ms
            || self->stats.acked - self->stored >= self->config->window / 2);
}

rb_err_t
rb_link_stage (rb_link_t *self, rb_txn_t *txn)
{
    if (!rb_link_has_progress (self))
        return RB_OK;
    rb_err_t rc = rb_outbox_ack (self->outbox, txn, self->name, self->stats.acked);
    if (!rc)
        self->staged_ack = self->stats.acked;
    return rc;
}

void
rb_link_committed (rb_link_t *self, bool ok)
{
    if (ok && self->staged_ack > self->stored) {
        self->stored = self->staged_ack;
        self->unstored_since = rb_clock_mono_ms ();
    }
    self->staged_ack = 0;
}

uint64_t
rb_link_stored (rb_link_t *self)
{
    return self->stored;
}

void
rb_link_assigned (rb_link_t *self, uint64_t seq)
{
    if (seq > self->stats.assigned)
        self->stats.assigned = seq;
}

void
rb_link_tick (rb_link_t *self, int64_t now_ms)
{
    if (!self->dealer)
        return;         //  revoked: nothing is sent, its queue waits on disk
    if (!self->stats.up && now_ms - self->connected_at > (int64_t) self->config->peer_timeout_ms) {
        //  Silence: connect again. ZeroMQ gives up on a connection whose
        //  handshake the peer refused (this node's key not, or not yet, on
        //  its allowlist): only a new socket tries again. A peer that
        //  rotates its key and lists two may serve the other one by now.
        if (*self->next_key) {
            self->key_index = !self->key_index;
            rb_log_info ("msg=\"no answer: trying the peer's other key\" peer=%s key=%.8s",
                         self->name, s_server_key (self));
        }
        else
            rb_log_debug ("msg=\"no answer: connecting again\" peer=%s", self->name);
        if (s_connect (self))
            return;
    }
    if (self->stats.up && now_ms - self->stats.heard_mono_ms > (int64_t) self->config->peer_timeout_ms) {
        self->stats.up = false;
        rb_log_warn ("msg=\"peer down\" peer=%s silent_ms=%lld unacked=%llu", self->name,
                     (long long) (now_ms - self->stats.heard_mono_ms),
                     (unsigned long long) (self->stats.assigned - self->stats.acked));
    }
    if (now_ms >= self->ping_due) {
        Regiebus__Ping ping = REGIEBUS__PING__INIT;
        ping.sent_at_ms = now_ms;
        Regiebus__LinkFrame frame = REGIEBUS__LINK_FRAME__INIT;
        frame.version = RB_WIRE_VERSION;
        frame.body_case = REGIEBUS__LINK_FRAME__BODY_PING;
        frame.ping = &ping;
        zframe_t *f = rb_wire_frame (&frame.base);
        if (f && zframe_send (&f, self->dealer, ZFRAME_DONTWAIT))
            zframe_destroy (&f);
        self->ping_due = now_ms + (int64_t) self->config->heartbeat_ms;
    }
    if (self->stats.up && self->stats.sent > self->stats.acked
    &&  now_ms - self->progress_at > (int64_t) self->config->retransmit_ms)
        s_rewind (self, self->stats.acked, "timeout", now_ms);
}

void
rb_link_pump (rb_link_t *self, rb_txn_t *txn)
{
    rb_link_stats_t *s = &self->stats;
    if (self->paused_until && rb_clock_mono_ms () < self->paused_until)
        return;
    while (s->up && s->sent < s->assigned && s->sent - s->acked < self->config->window) {
        uint64_t credit = self->config->window - (s->sent - s->acked);
        size_t max = credit < self->config->batch_events? (size_t) credit: (size_t) self->config->batch_events;
        size_t count;
        rb_err_t rc;
        zframe_t *frame = rb_outbox_batch (self->outbox, txn, self->name, s->sent, max,
                                           self->config->max_frame_bytes / 2, &count, &rc);
        if (!frame) {
            if (rc)
                rb_log_error ("msg=\"cannot read outbox\" peer=%s error=\"%s\"", self->name, rb_strerror (rc));
            break;
        }
        if (zframe_send (&frame, self->dealer, ZFRAME_DONTWAIT)) {
            zframe_destroy (&frame);
            break;
        }
        if (s->sent == s->acked)
            self->progress_at = rb_clock_mono_ms ();
        s->sent += count;
        s->batches++;
    }
}

uint64_t
rb_link_admit (rb_link_t *self, uint64_t want, int64_t now_ms)
{
    return rb_rate_take (&self->rate, want, now_ms);
}

void
rb_link_inbound (rb_link_t *self, zframe_t *routing_id)
{
    if (!self->inbound_id || !zframe_eq (self->inbound_id, routing_id)) {
        zframe_destroy (&self->inbound_id);
        self->inbound_id = zframe_dup (routing_id);
    }
}

void
rb_link_inbound_result (rb_link_t *self, uint64_t committed, bool gap)
{
    self->stats.received = committed;
    self->ack_due = true;
    self->inbound_gap |= gap;
}

void
rb_link_inbound_ping (rb_link_t *self, int64_t sent_at_ms)
{
    self->ping_echo = sent_at_ms;
    self->ack_due = true;
}

bool
rb_link_ack_due (rb_link_t *self)
{
    return self->ack_due;
}

void
rb_link_send_ack (rb_link_t *self, zsock_t *router)
{
    Regiebus__Ack ack = REGIEBUS__ACK__INIT;
    ack.committed_seq = self->stats.received;
    ack.gap = self->inbound_gap;
    ack.sent_at_ms = self->ping_echo;
    Regiebus__LinkFrame frame = REGIEBUS__LINK_FRAME__INIT;
    frame.version = RB_WIRE_VERSION;
    frame.body_case = REGIEBUS__LINK_FRAME__BODY_ACK;
    frame.ack = &ack;
    zframe_t *f = rb_wire_frame (&frame.base);
    rb_link_send_inbound (self, router, &f);
    self->ack_due = self->inbound_gap = false;
    self->ping_echo = 0;
}

void
rb_link_send_inbound (rb_link_t *self, zsock_t *router, zframe_t **frame_p)
{
    if (self->inbound_id && *frame_p && router) {
        zframe_t *id = zframe_dup (self->inbound_id);
        if (zframe_send (&id, router, ZFRAME_MORE | ZFRAME_DONTWAIT) == 0
        &&  zframe_send (frame_p, router, ZFRAME_DONTWAIT) == 0)
            return;
        zframe_destroy (&id);
    }
    zframe_destroy (frame_p);
}
