/*  rb_node: the node's loop and the peer side of the protocol; see rb_node.h.
 *
 *  Frames on the peer ROUTER are trusted only as far as CURVE and the
 *  allowlist vouch for them: the sender's public key (zauth's User-Id)
 *  must belong to a configured peer, and every envelope's origin must be
 *  that peer. Everything else is refused with a reason and counted.
 */
#include "rb_node_priv.h"
#include "rb_keys.h"
#include "rb_log.h"
#include "rb_perms.h"
#include <signal.h>
#include <sodium.h>

#define S_DRAIN_FRAMES 256      //  most frames taken from one socket per turn
#define S_TURN_MS 20            //  longest sleep: bounds timer lateness

// ---------------------------------------------------------------------------
//  Start and stop

static void s_drop_refusals (zlist_t *refusals);

//  SIGTERM and SIGINT stop the loop through this flag, not through CZMQ's
//  zsys_interrupted, which CZMQ's actors (zauth, zmonitor) watch too: one
//  that wakes and finds it set ends by itself, whenever that is. A stop
//  during startup thus ended them before the node had set them up, and
//  the node waited forever on a send to the authenticator, or aborted in
//  zmonitor. Here the actors run until rb_node_destroy ends them.
static volatile sig_atomic_t s_stop;

static void
s_on_stop (int signum)
{
    (void) signum;
    s_stop = 1;
}

void
rb_node_catch_stop (void)
{
    zsys_handler_set (NULL);        //  CZMQ's own handler is never installed, or is removed
    struct sigaction action = { .sa_handler = s_on_stop };
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
}

//  Watch a CURVE server socket for handshakes the allowlist refused.
static zactor_t *
s_monitor_new (zsock_t *sock)
{
    zactor_t *monitor = zactor_new (zmonitor, sock);
    zstr_sendx (monitor, "LISTEN", "HANDSHAKE_FAILED_AUTH", NULL);
    zstr_sendx (monitor, "START", NULL);
    zsock_wait (monitor);
    return monitor;
}

static rb_err_t
s_open_sockets (rb_node_t *self, rb_refusal_t *r)
{
    const rb_config_t *c = self->config;
    char allow [600];
    snprintf (allow, sizeof allow, "%s/allowlist", c->data_dir);
    self->api_clients = zhashx_new ();
    if (rb_keys_write_allowlist (c, allow, self->api_clients, r))
        return r->code;
    self->auth = zactor_new (zauth, NULL);
    if (!self->auth || zstr_sendx (self->auth, "CURVE", allow, NULL) || zsock_wait (self->auth))
        return rb_refuse (r, RB_EINTERNAL, NULL, "cannot start the authenticator");
    self->router = zsock_new (ZMQ_ROUTER);
    zcert_apply (self->cert, self->router);
    zsock_set_curve_server (self->router, 1);
    zsock_set_zap_domain (self->router, "regiebus");
    zsock_set_maxmsgsize (self->router, (int64_t) c->max_frame_bytes * 4);
    zsock_set_rcvhwm (self->router, 10000);
    zsock_set_sndhwm (self->router, 10000);
    zsock_set_linger (self->router, 0);
    self->monitor = s_monitor_new (self->router);
    if (zsock_bind (self->router, "%s", c->bind) < 0)
        return rb_refuse (r, RB_EINVALID, "node/bind", "cannot bind %s: %s", c->bind, zmq_strerror (zmq_errno ()));
    self->api = zsock_new (ZMQ_ROUTER);
    zsock_set_maxmsgsize (self->api, (int64_t) c->max_frame_bytes * 4);
    zsock_set_rcvhwm (self->api, 10000);
    zsock_set_sndhwm (self->api, 10000);
    zsock_set_linger (self->api, 0);
    if (strncmp (c->api_endpoint, "tcp://", 6) == 0) {
        zcert_apply (self->cert, self->api);
        zsock_set_curve_server (self->api, 1);
        zsock_set_zap_domain (self->api, "regiebus-api");
        self->api_monitor = s_monitor_new (self->api);
    }
    if (zsock_bind (self->api, "%s", c->api_endpoint) < 0)
        return rb_refuse (r, RB_EINVALID, "api/endpoint", "cannot bind %s: %s", c->api_endpoint,
                          zmq_strerror (zmq_errno ()));
    return RB_OK;
}

static rb_err_t
s_load_state (rb_node_t *self, rb_refusal_t *r)
{
    rb_txn_t *txn;
    if (rb_txn_begin (self->store, false, &txn))
        return rb_refuse (r, RB_ESTORE, "node/data_dir", "cannot read store: %s", rb_store_errmsg (self->store));
    rb_val_t value;
    if (rb_txn_get (txn, self->meta, rb_val_str ("clock_offset"), &value) == RB_OK && value.size == 8)
        rb_clock_set_offset (self->clock, (int64_t) rb_u64_get (value.data));
    rb_err_t rc = RB_OK;
    for (int i = 0; i < self->link_count && !rc; i++) {
        rc = rb_link_load (self->links [i], txn);
        if (!rc)
            rc = rb_inbox_last (self->inbox, txn, rb_link_name (self->links [i]),
                                &rb_link_stats (self->links [i])->received);
    }
    rb_txn_destroy (&txn);
    return rc? rb_refuse (r, rc, "node/data_dir", "cannot load link state: %s", rb_store_errmsg (self->store)): RB_OK;
}

static void
s_counter_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

static rb_err_t s_handle_envelope (rb_txn_t *txn, const Regiebus__Envelope *e, void *arg,
                                   rb_refusal_t *why);
static void s_batch_restart (void *arg);

rb_node_t *
rb_node_open (const rb_config_t *config, rb_refusal_t *r)
{
    rb_refusal_clear (r);
    if (sodium_init () < 0) {
        rb_refuse (r, RB_EINTERNAL, NULL, "libsodium did not initialise");
        return NULL;
    }
    rb_node_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    self->id_pool_used = sizeof self->id_pool;     //  empty: filled on first use
    self->pending = zlist_new ();
    self->unsent = zlist_new ();
    self->refusals = zlist_new ();
    self->daemon_counters = zlistx_new ();
    zlistx_set_destructor (self->daemon_counters, s_counter_destroy);
    rb_node_count (self, "notifications_received", 0);     //  shown from the start
    self->clock = rb_clock_new (config->test_clock);
    if (*config->capture_file && !(self->capture = fopen (config->capture_file, "ab")))
        rb_refuse (r, RB_EINVALID, "node/capture_file", "cannot open %s: %s", config->capture_file,
                   strerror (errno));
    self->cert = r->code? NULL: rb_keys_load (config->cert, r);
    if (self->cert && *config->next_cert) {
        zcert_t *next = rb_keys_load_as (config->next_cert, "node/next_cert", r);
        if (next && zcert_eq (next, self->cert))
            rb_refuse (r, RB_EINVALID, "node/next_cert", "config: node/next_cert is the key node/cert holds already");
        zcert_destroy (&next);
    }
    if (self->cert && !r->code)
        self->store = rb_store_new (config->data_dir, config->map_size_mb, r);
    if (self->store) {
        self->outbox = rb_outbox_new (self->store);
        self->inbox = rb_inbox_new (self->store, config->name, config->max_payload_bytes);
        self->notices = rb_notices_new (self->store, config->name);
        self->audit = rb_audit_new (self->store, self->clock, NULL);
        if (self->inbox && self->audit)
            rb_inbox_set_audit (self->inbox, self->audit);
        if (self->inbox) {
            rb_inbox_set_handler (self->inbox, s_handle_envelope, self);
            rb_inbox_set_restart (self->inbox, s_batch_restart, self);
        }
        if (!self->outbox || !self->inbox || !self->notices || !self->audit
        ||  rb_store_table (self->store, "meta", &self->meta)
        ||  rb_store_table (self->store, "idem", &self->idem))
            rb_refuse (r, RB_ESTORE, "node/data_dir", "cannot open tables: %s", rb_store_errmsg (self->store));
    }
    if (!r->code) {
        self->links = calloc (config->peer_count + 1, sizeof *self->links);
        self->assigned = calloc (config->peer_count + 1, sizeof *self->assigned);
        self->assigned_batch = calloc (config->peer_count + 1, sizeof *self->assigned);
        self->assigned_saved = calloc (config->peer_count + 1, sizeof *self->assigned);
        if (!self->assigned || !self->assigned_batch || !self->assigned_saved)
            rb_refuse (r, RB_EINTERNAL, NULL, "out of memory");
        for (int i = 0; i < config->peer_count && !r->code; i++) {
            self->links [i] = rb_link_new (&config->peers [i], config, self->cert, self->outbox);
            if (!self->links [i])
                rb_refuse (r, RB_EINVALID, "peer", "cannot set up link to %s", config->peers [i].name);
            else
                self->link_count++;
        }
    }
    if (!r->code)
        s_load_state (self, r);
    if (r->code)
        rb_node_destroy (&self);
    else
        self->started_at_ms = rb_clock_now_ms (self->clock);
    return self;
}

rb_err_t
rb_node_bind (rb_node_t *self, rb_refusal_t *r)
{
    rb_refusal_clear (r);
    if (self->router)
        return rb_refuse (r, RB_EPRECONDITION, "node/bind", "the node is bound already");
    //  A process's signal goes to any of its threads that does not block
    //  it, and CZMQ's actors end when one interrupts their poll. A monitor
    //  that ended so left its last signal on the pipe the loop reads its
    //  events from: the loop took it for an event, and zactor_destroy then
    //  waited forever for it at shutdown. A thread starts with its
    //  creator's signal mask, so the actors started here keep the signals
    //  a node acts on blocked, and those reach the loop's thread. Until the
    //  actors are set up the signals wait, so no handshake is cut short.
    sigset_t signals, was;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &signals, &was);
    rb_err_t rc = s_open_sockets (self, r);
    pthread_sigmask (SIG_SETMASK, &was, NULL);
    return rc;
}

rb_node_t *
rb_node_new (const rb_config_t *config, rb_refusal_t *r)
{
    rb_node_t *self = rb_node_open (config, r);
    if (self && rb_node_bind (self, r))
        rb_node_destroy (&self);
    return self;
}

void
rb_node_destroy (rb_node_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rb_node_t *self = *self_p;
    rb_txn_destroy (&self->txn);
    for (int i = 0; i < self->link_count; i++)
        rb_link_destroy (&self->links [i]);
    free (self->links);
    free (self->assigned);
    free (self->assigned_batch);
    free (self->assigned_saved);
    if (self->pending) {
        rb_api_fail_pending (self, RB_EINTERNAL, "node stopping");
        zlist_destroy (&self->pending);
    }
    if (self->refusals) {
        s_drop_refusals (self->refusals);
        zlist_destroy (&self->refusals);
    }
    zframe_t *unsent;
    while (self->unsent && (unsent = zlist_pop (self->unsent)))
        zframe_destroy (&unsent);
    zlist_destroy (&self->unsent);
    zactor_destroy (&self->monitor);
    zactor_destroy (&self->api_monitor);
    zsock_destroy (&self->router);
    zsock_destroy (&self->api);
    zhashx_destroy (&self->api_clients);
    zactor_destroy (&self->auth);
    rb_reload_free (self);
    rb_notices_destroy (&self->notices);
    rb_audit_destroy (&self->audit);
    zlistx_destroy (&self->daemon_counters);
    rb_inbox_destroy (&self->inbox);
    rb_outbox_destroy (&self->outbox);
    rb_store_destroy (&self->store);
    zcert_destroy (&self->cert);
    rb_clock_destroy (&self->clock);
    if (self->capture)
        fclose (self->capture);
    free (self);
    *self_p = NULL;
}

rb_err_t
rb_node_audit_notice (rb_node_t *self, rb_txn_t *txn, rb_audit_kind_t kind,
                      const rb_notice_t *notice, const char *who)
{
    const Regiebus__Notification *n = notice->notification;
    rb_audit_rec_t rec = { .kind = kind, .stream_seq = notice->seq };
    snprintf (rec.peer, sizeof rec.peer, "%s", notice->origin);
    rec.event_kind = (uint32_t) n->subject;
    rec.role = n->recipient? (uint32_t) n->recipient->role: 0;
    memcpy (rec.event_id, notice->event_id, 16);
    if (n->notification_id.len == 16)
        memcpy (rec.notification_id, n->notification_id.data, 16);
    snprintf (rec.case_pseudonym, sizeof rec.case_pseudonym, "%s", notice->case_pseudonym);
    snprintf (rec.who, sizeof rec.who, "%s", who);
    return rb_audit_append (self->audit, txn, &rec);
}

//  A new notice was stored from envelope e: counted and audited with it.
static rb_err_t
s_notice_stored (rb_node_t *self, rb_txn_t *txn, const Regiebus__Envelope *e,
                 const Regiebus__Notification *n, uint64_t seq, rb_refusal_t *why)
{
    rb_notice_t notice = { .seq = seq, .notification = n };
    snprintf (notice.origin, sizeof notice.origin, "%s", e->origin);
    memcpy (notice.event_id, e->event_id.data, 16);
    snprintf (notice.case_pseudonym, sizeof notice.case_pseudonym, "%s", e->case_pseudonym);
    rb_err_t rc = rb_node_audit_notice (self, txn, RB_AUDIT_NOTICE_STORED, &notice, "");
    if (rc)
        return rb_refuse (why, rc, "", "cannot audit: %s", rb_store_errmsg (self->store));
    rb_node_count (self, "notifications_received", 1);
    return RB_OK;
}

//  A notification for this node's actors: kept in its notices.
static rb_err_t
s_store_notification (rb_node_t *self, rb_txn_t *txn, const Regiebus__Envelope *e,
                      rb_refusal_t *why)
{
    Regiebus__Notification *n = regiebus__notification__unpack (NULL, e->payload.len, e->payload.data);
    if (!n)
        return rb_refuse (why, RB_EMALFORMED, "payload", "payload is not a Notification");
    uint64_t seq;
    bool duplicate;
    rb_err_t rc = rb_notices_store (self->notices, txn, e, n, rb_clock_now_ms (self->clock),
                                    &seq, &duplicate, why);
    if (rc == RB_OK && !duplicate)
        rc = s_notice_stored (self, txn, e, n, seq, why);
    if (rc == RB_OK)
        rb_log_info ("msg=\"notification\" seq=%llu origin=%s case=%.12s subject=%d role=%d duplicate=%d",
                     (unsigned long long) seq, e->origin, e->case_pseudonym, (int) n->subject,
                     n->recipient? (int) n->recipient->role: 0, duplicate);
    regiebus__notification__free_unpacked (n, NULL);
    return rc;
}

//  Every valid inbound envelope: first the permission table, by the role
//  this node's own configuration gives its origin (the inbox made sure
//  the origin is the authenticated peer); then notifications are the
//  runtime's, the rest the daemon's. What the daemon emitted for an
//  envelope it then refused must not raise the links' assigned counters.
static rb_err_t
s_handle_envelope (rb_txn_t *txn, const Regiebus__Envelope *e, void *arg, rb_refusal_t *why)
{
    rb_node_t *self = arg;
    const rb_peer_config_t *peer = rb_config_peer (self->config, e->origin);
    if (rb_perms_check (peer? peer->role: "", e->origin, (int) e->kind, self->config->role, why))
        return why->code;
    rb_node_counters_mark (self, false);
    if (e->kind == REGIEBUS__EVENT_KIND__NOTIFICATION) {
        rb_err_t rc = s_store_notification (self, txn, e, why);
        if (rc)
            rb_node_counters_restore (self, false);
        if (rc || !self->handler)
            return rc;
    }
    if (!self->handler)
        return RB_OK;
    size_t size = (self->link_count + 1) * sizeof *self->assigned;
    memcpy (self->assigned_saved, self->assigned, size);
    rb_err_t rc = self->handler (txn, e, self->handler_arg, why);
    if (rc) {
        memcpy (self->assigned, self->assigned_saved, size);
        rb_node_counters_restore (self, false);
    }
    return rc;
}

void
rb_node_set_handler (rb_node_t *self, rb_inbox_handler_fn *handler, void *arg)
{
    self->handler = handler;
    self->handler_arg = arg;
}

void
rb_node_set_call_handler (rb_node_t *self, rb_node_call_fn *fn, void *arg)
{
    self->call_fn = fn;
    self->call_arg = arg;
}

void
rb_node_set_tick (rb_node_t *self, int64_t interval_ms, rb_node_tick_fn *fn, void *arg)
{
    self->tick_fn = fn;
    self->tick_arg = arg;
    self->tick_interval_ms = interval_ms > 0? interval_ms: 1000;
    self->tick_next_mono_ms = rb_clock_mono_ms () + self->tick_interval_ms;
}

void
rb_node_set_label (rb_node_t *self, rb_node_label_fn *fn, void *arg)
{
    self->label_fn = fn;
    self->label_arg = arg;
}

void
rb_node_set_ack_hook (rb_node_t *self, rb_node_ack_fn *fn, void *arg)
{
    self->ack_fn = fn;
    self->ack_arg = arg;
}

void
rb_node_count (rb_node_t *self, const char *name, uint64_t delta)
{
    rb_daemon_counter_t *c;
    for (c = zlistx_first (self->daemon_counters); c; c = zlistx_next (self->daemon_counters))
        if (streq (c->name, name))
            break;
    if (!c && (c = calloc (1, sizeof *c))) {
        snprintf (c->name, sizeof c->name, "%s", name);
        zlistx_add_end (self->daemon_counters, c);
    }
    if (c)
        c->pending += delta;
}

void
rb_node_counters_mark (rb_node_t *self, bool batch)
{
    *(batch? &self->audit_batch: &self->audit_saved) = rb_audit_tell (self->audit);
    for (rb_daemon_counter_t *c = zlistx_first (self->daemon_counters); c;
         c = zlistx_next (self->daemon_counters))
        *(batch? &c->mark_batch: &c->mark_saved) = c->pending;
}

void
rb_node_counters_restore (rb_node_t *self, bool batch)
{
    rb_audit_rewind (self->audit, batch? &self->audit_batch: &self->audit_saved);
    //  A counter made after the mark has marks of 0: it goes back to 0.
    for (rb_daemon_counter_t *c = zlistx_first (self->daemon_counters); c;
         c = zlistx_next (self->daemon_counters))
        c->pending = batch? c->mark_batch: c->mark_saved;
}

//  The group commit ended: what it counted holds, or is gone with it.
static void
s_counters_settle (rb_node_t *self, bool held)
{
    for (rb_daemon_counter_t *c = zlistx_first (self->daemon_counters); c;
         c = zlistx_next (self->daemon_counters)) {
        if (held)
            c->value += c->pending;
        c->pending = c->mark_batch = c->mark_saved = 0;
    }
}

static void
s_batch_restart (void *arg)
{
    rb_node_counters_restore ((rb_node_t *) arg, true);
}

void
rb_node_event_id (rb_node_t *self, uint8_t event_id [16])
{
    //  The random bytes come from a pool filled by one call per 256 ids,
    //  since a system call per id is most of the cost of a municipality's
    //  fan-out (eight emits per signal).
    if (self->id_pool_used + 16 > sizeof self->id_pool) {
        randombytes_buf (self->id_pool, sizeof self->id_pool);
        self->id_pool_used = 0;
    }
    rb_wire_event_id (rb_clock_now_ms (self->clock), self->id_pool + self->id_pool_used, event_id);
    sodium_memzero (self->id_pool + self->id_pool_used, 16);
    self->id_pool_used += 16;
}

rb_err_t
rb_node_notify_local (rb_node_t *self, rb_txn_t *txn, const char *case_pseudonym,
                      const Regiebus__Notification *notification, rb_refusal_t *why)
{
    uint8_t event_id [16];
    rb_node_event_id (self, event_id);
    Regiebus__Envelope e = REGIEBUS__ENVELOPE__INIT;
    e.version = RB_WIRE_VERSION;
    e.event_id.data = event_id;
    e.event_id.len = 16;
    e.origin = (char *) self->config->name;
    e.destination = (char *) self->config->name;
    e.case_pseudonym = (char *) case_pseudonym;
    e.kind = REGIEBUS__EVENT_KIND__NOTIFICATION;
    uint64_t seq;
    bool duplicate;
    rb_err_t rc = rb_notices_store (self->notices, txn, &e, notification,
                                    rb_clock_now_ms (self->clock), &seq, &duplicate, why);
    if (rc == RB_OK && !duplicate)
        rc = s_notice_stored (self, txn, &e, notification, seq, why);
    return rc;
}

rb_err_t
rb_node_in_child (rb_node_t *self, rb_node_child_fn *fn, void *arg, rb_refusal_t *why)
{
    size_t size = (self->link_count + 1) * sizeof *self->assigned;
    rb_txn_t *child = NULL;
    rb_err_t rc = rb_node_txn (self);
    if (!rc)
        rc = rb_txn_child (self->txn, &child);
    if (rc)
        return rb_refuse (why, rc, "", "cannot begin: %s", rb_store_errmsg (self->store));
    memcpy (self->assigned_saved, self->assigned, size);
    rb_node_counters_mark (self, false);
    rc = fn (self, child, arg, why);
    if (rc && !why->code)
        rb_refuse (why, rc, "", "%s", rb_strerror (rc));
    if (!rc && (rc = rb_txn_commit (&child)))
        rb_refuse (why, rc, "", "%s", rb_store_errmsg (self->store));
    rb_txn_destroy (&child);
    if (rc) {
        memcpy (self->assigned, self->assigned_saved, size);
        rb_node_counters_restore (self, false);
        if (rc == RB_EFULL)
            self->store_nudge = true;
    }
    return rc;
}

void
rb_node_set_commit_hook (rb_node_t *self, rb_node_commit_fn *hook, void *arg)
{
    self->commit_hook = hook;
    self->commit_hook_arg = arg;
}

void
rb_node_stop (rb_node_t *self)
{
    self->terminated = true;
}

const char *
rb_node_name (rb_node_t *self)
{
    return self->config->name;
}

int64_t
rb_node_now_ms (rb_node_t *self)
{
    return rb_clock_now_ms (self->clock);
}

rb_err_t
rb_node_table (rb_node_t *self, const char *name, rb_table_t *table)
{
    return rb_store_table (self->store, name, table);
}

rb_err_t
rb_node_emit (rb_node_t *self, rb_txn_t *txn, const rb_emit_t *emit, uint8_t *event_id_out,
              rb_refusal_t *r)
{
    int index;
    if (!emit->destination || !rb_node_link (self, emit->destination, &index))
        return rb_refuse (r, RB_EPEER, "destination", "destination '%s' is not a configured peer",
                          emit->destination? emit->destination: "");
    if (!rb_wire_pseudonym_valid (emit->case_pseudonym))
        return rb_refuse (r, RB_EINVALID, "case_pseudonym", "case_pseudonym must be 64 lowercase hex characters");
    if (!rb_wire_kind_known (emit->kind))
        return rb_refuse (r, RB_EKIND, "kind", "kind %d is not a known event kind", emit->kind);
    if (emit->payload_size > self->config->max_payload_bytes)
        return rb_refuse (r, RB_ETOOLARGE, "payload", "payload of %zu bytes is over the limit of %llu",
                          emit->payload_size, (unsigned long long) self->config->max_payload_bytes);
    uint8_t event_id [16];
    rb_node_event_id (self, event_id);
    int64_t now = rb_clock_now_ms (self->clock);
    Regiebus__Envelope e = REGIEBUS__ENVELOPE__INIT;
    e.version = RB_WIRE_VERSION;
    e.event_id.data = event_id;
    e.event_id.len = 16;
    e.origin = (char *) self->config->name;
    e.destination = (char *) emit->destination;
    e.case_pseudonym = (char *) emit->case_pseudonym;
    e.kind = (Regiebus__EventKind) emit->kind;
    e.occurred_at_ms = emit->occurred_at_ms? emit->occurred_at_ms: now;
    e.recorded_at_ms = now;
    if (emit->causation_id) {
        e.causation_id.data = (uint8_t *) emit->causation_id;
        e.causation_id.len = 16;
    }
    e.payload.data = (uint8_t *) emit->payload;
    e.payload.len = emit->payload_size;
    rb_err_t rc = rb_outbox_append (self->outbox, txn, emit->destination, &e, r);
    if (rc)
        return rc;
    //  Taken by the link only after the group commit holds; a child
    //  transaction that fails puts the previous value back.
    if (e.origin_seq > self->assigned [index])
        self->assigned [index] = e.origin_seq;
    if (event_id_out)
        memcpy (event_id_out, event_id, 16);
    return RB_OK;
}

rb_link_t *
rb_node_link (rb_node_t *self, const char *name, int *index)
{
    for (int i = 0; i < self->link_count; i++)
        if (streq (rb_link_name (self->links [i]), name)) {
            if (index)
                *index = i;
            return self->links [i];
        }
    return NULL;
}

rb_err_t
rb_node_txn (rb_node_t *self)
{
    return self->txn? RB_OK: rb_txn_begin (self->store, true, &self->txn);
}

// ---------------------------------------------------------------------------
//  Peer side: frames arriving on our ROUTER

//  A test looks at what crossed the links: every peer frame this node
//  receives, decrypted, as a 4-byte big-endian length and the bytes.
static void
s_capture (rb_node_t *self, zframe_t *frame)
{
    if (!self->capture || !frame)
        return;
    uint32_t n = (uint32_t) zframe_size (frame);
    uint8_t size [4] = { (uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8), (uint8_t) n };
    fwrite (size, 1, 4, self->capture);
    fwrite (zframe_data (frame), 1, zframe_size (frame), self->capture);
    fflush (self->capture);
}

//  A LinkFrame carrying a Refusal: why, and the seq refused (0 if none).
static zframe_t *
s_refusal_frame (const rb_refusal_t *why, uint64_t seq)
{
    Regiebus__Refusal refusal = REGIEBUS__REFUSAL__INIT;
    refusal.code = (Regiebus__ErrorCode) why->code;
    refusal.field = (char *) why->field;
    refusal.message = (char *) why->message;
    refusal.seq = seq;
    Regiebus__LinkFrame frame = REGIEBUS__LINK_FRAME__INIT;
    frame.version = RB_WIRE_VERSION;
    frame.body_case = REGIEBUS__LINK_FRAME__BODY_REFUSAL;
    frame.refusal = &refusal;
    return rb_wire_frame (&frame.base);
}

static void
s_refuse_now (rb_node_t *self, rb_link_t *link, zframe_t *routing_id, const rb_refusal_t *why, uint64_t seq)
{
    self->counters.link_refused [why->code]++;
    if (link)
        rb_link_stats (link)->refused++;
    rb_log_warn ("msg=\"refused from peer\" peer=%s code=%s field=\"%s\" detail=\"%s\"",
                 link? rb_link_name (link): "?", rb_errname (why->code), why->field, why->message);
    zframe_t *body = s_refusal_frame (why, seq);
    zframe_t *id = zframe_dup (routing_id);
    if (self->router && zframe_send (&id, self->router, ZFRAME_MORE | ZFRAME_DONTWAIT) == 0)
        zframe_send (&body, self->router, ZFRAME_DONTWAIT);
    zframe_destroy (&id);
    zframe_destroy (&body);
}

typedef struct {
    rb_node_t *node;
    int link;
} s_refusal_ctx_t;

//  A Refusal frame for a dead-lettered envelope, sent after the commit.
typedef struct {
    rb_link_t *link;
    zframe_t *frame;
} s_refusal_out_t;

static void
s_refusal_out_destroy (s_refusal_out_t **self_p)
{
    if (*self_p) {
        zframe_destroy (&(*self_p)->frame);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_drop_refusals (zlist_t *refusals)
{
    s_refusal_out_t *out;
    while ((out = zlist_pop (refusals)))
        s_refusal_out_destroy (&out);
}

//  Tell the sender why seq was not applied, once the commit that the
//  refusal describes holds.
static void
s_refuse_after_commit (rb_node_t *self, rb_link_t *link, const rb_refusal_t *why, uint64_t seq)
{
    s_refusal_out_t *out = calloc (1, sizeof *out);
    if (out) {
        out->link = link;
        out->frame = s_refusal_frame (why, seq);
        zlist_append (self->refusals, out);
    }
}

//  An envelope in a batch was dead-lettered: tell the sender after commit.
static void
s_on_envelope_refused (uint64_t seq, const rb_refusal_t *why, void *arg)
{
    s_refusal_ctx_t *ctx = arg;
    ctx->node->counters.link_refused [why->code]++;
    rb_link_stats (ctx->node->links [ctx->link])->refused++;
    rb_log_warn ("msg=\"dead letter\" peer=%s seq=%llu code=%s field=\"%s\" detail=\"%s\"",
                 rb_link_name (ctx->node->links [ctx->link]), (unsigned long long) seq,
                 rb_errname (why->code), why->field, why->message);
    s_refuse_after_commit (ctx->node, ctx->node->links [ctx->link], why, seq);
}

static void
s_apply_batch (rb_node_t *self, int index, const Regiebus__Batch *batch)
{
    rb_link_t *link = self->links [index];
    size_t size = (self->link_count + 1) * sizeof *self->assigned;
    rb_err_t rc = rb_node_txn (self);
    if (!rc) {
        memcpy (self->assigned_batch, self->assigned, size);
        rb_node_counters_mark (self, true);
    }
    rb_batch_result_t result;
    s_refusal_ctx_t ctx = { self, index };
    if (!rc)
        rc = rb_inbox_apply (self->inbox, self->txn, rb_link_name (link), batch,
                             s_on_envelope_refused, &ctx, &result);
    if (rc) {               //  What handlers emitted and counted for this batch went with it.
        memcpy (self->assigned, self->assigned_batch, size);
        rb_node_counters_restore (self, true);
    }
    if (rc) {
        //  Not applied, not acknowledged: the sender will send it again.
        self->counters.link_refused [rc]++;
        rb_log_error ("msg=\"cannot apply batch\" peer=%s first_seq=%llu error=\"%s\" detail=\"%s\"",
                      rb_link_name (link), (unsigned long long) batch->first_seq, rb_strerror (rc),
                      rb_store_errmsg (self->store));
        return;
    }
    self->counters.link_batches++;
    self->counters.link_received += result.accepted;
    self->counters.link_duplicates += result.duplicates;
    rb_link_stats (link)->duplicates += result.duplicates;
    if (result.gap) {
        self->counters.link_gaps++;
        rb_link_stats (link)->gaps++;
    }
    rb_link_inbound_result (link, result.committed, result.gap);
}

static void s_take_peer_frame (rb_node_t *self, int index, zframe_t *id, zframe_t *body);

//  Fairness: what is new to this node in a batch is applied as far as the
//  peer's rate allows (rb_link_admit); the rest is refused with
//  RATE_LIMITED and the seq to resend from, and the sender pauses. Entries
//  seen before cost nothing, and a batch that skips ahead is left to the
//  inbox, which applies none of it.
static void
s_admit_batch (rb_node_t *self, int index, const Regiebus__Batch *batch)
{
    rb_link_t *link = self->links [index];
    uint64_t done = rb_link_stats (link)->received;
    uint64_t first = batch->first_seq, count = batch->n_envelopes;
    if (first > done + 1 || first + count <= done + 1) {
        s_apply_batch (self, index, batch);
        return;
    }
    uint64_t seen = done + 1 - first;
    uint64_t granted = rb_link_admit (link, count - seen, rb_clock_mono_ms ());
    Regiebus__Batch part = *batch;
    part.n_envelopes = seen + granted;
    if (part.n_envelopes)
        s_apply_batch (self, index, &part);
    if (part.n_envelopes == count)
        return;
    uint64_t resend = rb_link_stats (link)->received + 1;
    rb_refusal_t why;
    rb_refuse (&why, RB_ERATELIMITED, "batch", "%s is over its rate of %llu envelopes a second; resend from %llu",
               rb_link_name (link), (unsigned long long) self->config->peer_rate, (unsigned long long) resend);
    self->counters.link_refused [RB_ERATELIMITED]++;
    rb_link_stats (link)->refused++;
    rb_log_debug ("msg=\"over its rate\" peer=%s applied=%zu deferred=%llu resend_from=%llu", rb_link_name (link),
                  part.n_envelopes, (unsigned long long) (count - part.n_envelopes), (unsigned long long) resend);
    s_refuse_after_commit (self, link, &why, resend);
}

static void
s_handle_peer_frame (rb_node_t *self, zmsg_t *msg)
{
    zframe_t *id = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    rb_refusal_t why = { 0 };
    int index = -1;
    rb_link_t *link = NULL;
    const char *key = body? zframe_meta (body, "User-Id"): NULL;
    for (int i = 0; key && i < self->link_count; i++)
        if (rb_link_admits (self->links [i], key)) {
            index = i;
            link = self->links [i];
        }
    if (!id || !body || zmsg_size (msg))
        rb_refuse (&why, RB_EMALFORMED, "frame", "a peer message is exactly one frame");
    else
    if (!link)
        rb_refuse (&why, RB_EPEER, "key", "key %s is not a configured peer", key? key: "(none)");
    if (why.code) {
        if (id)
            s_refuse_now (self, link, id, &why, 0);
        zframe_destroy (&id);
        zframe_destroy (&body);
        return;
    }
    s_take_peer_frame (self, index, id, body);
    zframe_destroy (&id);
    zframe_destroy (&body);
}

//  A frame from the peer of link index, on our ROUTER: a batch to apply
//  or a ping to answer; anything else is refused.
static void
s_take_peer_frame (rb_node_t *self, int index, zframe_t *id, zframe_t *body)
{
    rb_link_t *link = self->links [index];
    rb_refusal_t why = { 0 };
    rb_link_inbound (link, id);
    s_capture (self, body);
    Regiebus__LinkFrame *frame = rb_wire_link_decode (body, self->config->max_frame_bytes, &why);
    if (frame && frame->body_case == REGIEBUS__LINK_FRAME__BODY_BATCH) {
        if (frame->batch->n_envelopes > self->config->max_batch_events)
            rb_refuse (&why, RB_ETOOLARGE, "batch.envelopes", "a batch of %zu envelopes is over the limit of %llu",
                       frame->batch->n_envelopes, (unsigned long long) self->config->max_batch_events);
        else
        if (rb_wire_batch_check (frame->batch, &why) == RB_OK)
            s_admit_batch (self, index, frame->batch);
    }
    else
    if (frame && frame->body_case == REGIEBUS__LINK_FRAME__BODY_PING)
        rb_link_inbound_ping (link, frame->ping->sent_at_ms);
    else
    if (frame)
        rb_refuse (&why, RB_EINVALID, "body", "only batch and ping are sent to a node's ROUTER");
    if (why.code)
        s_refuse_now (self, link, id, &why, 0);
    rb_wire_free (&frame);
}

//  Frames arriving on our own DEALER to a peer: Acks and Refusals.
static void
s_handle_link_frame (rb_node_t *self, rb_link_t *link, zframe_t *body)
{
    rb_refusal_t why = { 0 };
    Regiebus__LinkFrame *frame = rb_wire_link_decode (body, self->config->max_frame_bytes, &why);
    if (frame)
        rb_link_on_frame (link, frame, rb_clock_mono_ms ());
    else {
        self->counters.link_refused [why.code]++;
        rb_log_warn ("msg=\"bad frame from peer\" peer=%s code=%s detail=\"%s\"",
                     rb_link_name (link), rb_errname (why.code), why.message);
    }
    rb_wire_free (&frame);
}

static void
s_handle_monitor (rb_node_t *self, zactor_t *monitor)
{
    zmsg_t *event = zmsg_recv (monitor);
    char *name = event? zmsg_popstr (event): NULL;
    if (name && streq (name, "HANDSHAKE_FAILED_AUTH")) {
        self->counters.auth_failures++;
        char *value = zmsg_popstr (event);
        char *endpoint = zmsg_popstr (event);
        rb_log_warn ("msg=\"key refused by allowlist\" socket=%s endpoint=%s",
                     monitor == self->monitor? "peer": "api", endpoint? endpoint: "?");
        zstr_free (&value);
        zstr_free (&endpoint);
    }
    zstr_free (&name);
    zmsg_destroy (&event);
}

// ---------------------------------------------------------------------------
//  The loop

//  Commit durations are what ops compare with the disk's fsync time.
static void
s_commit_timed (rb_counters_t *counters, uint64_t us)
{
    counters->commits++;
    counters->commit_us += us;
    if (us > counters->commit_us_max)
        counters->commit_us_max = us;
}

typedef struct {
    rb_node_t *node;
    rb_link_t *link;
} s_delivered_t;

static rb_err_t
s_audit_one_delivered (uint64_t seq, rb_val_t bytes, void *arg)
{
    s_delivered_t *d = arg;
    Regiebus__Envelope e;
    char case_pseudonym [RB_PSEUDONYM_LEN + 1];
    bool known = rb_wire_envelope_peek (bytes.data, bytes.size, &e, case_pseudonym);
    rb_audit_rec_t rec;
    rb_audit_of_envelope (&rec, RB_AUDIT_DELIVERED, rb_link_name (d->link), known? &e: NULL);
    rec.stream_seq = seq;
    return rb_audit_append (d->node->audit, d->node->txn, &rec);
}

//  The peer acknowledged what it committed: each envelope that Ack covers
//  is audited as delivered, in the transaction that drops it from the
//  outbox.
static rb_err_t
s_audit_delivered (rb_node_t *self, rb_link_t *link)
{
    s_delivered_t d = { self, link };
    return rb_outbox_each (self->outbox, self->txn, rb_link_name (link), rb_link_stored (link),
                           rb_link_stats (link)->acked, s_audit_one_delivered, &d);
}

//  Commit the turn's work, then release everything that waited for it.
//  A turn not kept is dropped as a failed commit is.
static void
s_commit (rb_node_t *self, bool keep)
{
    bool ok = true;
    int64_t now = rb_clock_mono_ms ();
    //  Trimming the outbox rides with a commit the turn makes anyway; only
    //  a trim that waited too long is worth an fsync of its own.
    for (int i = 0; i < self->link_count; i++)
        if (rb_link_has_progress (self->links [i])
        &&  (self->txn || self->stopping || rb_link_stage_due (self->links [i], now))
        &&  (rb_node_txn (self) || s_audit_delivered (self, self->links [i])
                                || rb_link_stage (self->links [i], self->txn)))
            rb_log_error ("msg=\"cannot record acknowledgement\" peer=%s detail=\"%s\"",
                          rb_link_name (self->links [i]), rb_store_errmsg (self->store));
    if (self->txn && rb_audit_stage (self->audit, self->txn))
        rb_log_error ("msg=\"cannot record the audit head\" detail=\"%s\"", rb_store_errmsg (self->store));
    if (self->store_nudge && rb_node_txn (self) == RB_OK) {
        //  LMDB reuses pages freed by transaction T only from T+2 on. An
        //  idle node whose queue drained would refuse forever, because
        //  refused writes never commit: one small commit moves it along.
        uint8_t now [8];
        rb_u64_put (now, (uint64_t) rb_clock_now_ms (self->clock));
        rb_txn_put (self->txn, self->meta, rb_val_str ("store_full_at"), (rb_val_t) { now, 8 });
    }
    self->store_nudge = false;
    if (self->txn) {
        int64_t started = zclock_usecs ();
        rb_err_t rc = RB_EINTERNAL;
        if (keep)
            rc = rb_txn_commit (&self->txn);
        else
            rb_txn_destroy (&self->txn);
        ok = rc == RB_OK;
        s_commit_timed (&self->counters, (uint64_t) (zclock_usecs () - started));
        s_counters_settle (self, ok);
        rb_audit_committed (self->audit, ok);
        if (ok && self->clock_offset_pending)
            rb_clock_set_offset (self->clock, self->clock_offset_pending);
        if (ok && self->commit_hook)
            self->commit_hook (self->commit_hook_arg);
        if (!ok && keep) {
            self->counters.commit_failures++;
            rb_log_error ("msg=\"group commit failed\" error=\"%s\" detail=\"%s\"", rb_strerror (rc),
                          rb_store_errmsg (self->store));
        }
        if (!ok)
            rb_api_fail_pending (self, rc, keep? rb_strerror (rc): "the turn was dropped");
    }
    else
        s_counters_settle (self, true);     //  counted outside any transaction: nothing to wait for
    for (int i = 0; i < self->link_count; i++) {
        rb_link_t *link = self->links [i];
        rb_link_committed (link, ok);
        if (ok && self->assigned [i])
            rb_link_assigned (link, self->assigned [i]);
        self->assigned [i] = 0;
    }
    self->clock_offset_pending = 0;
    if (!ok) {
        //  Inbound results of this turn did not hold: reload, let peers resend.
        rb_refusal_t r;
        s_load_state (self, &r);
    }
    rb_api_flush (self);
    s_refusal_out_t *out;
    while ((out = zlist_pop (self->refusals))) {
        if (ok)
            rb_link_send_inbound (out->link, self->router, &out->frame);
        s_refusal_out_destroy (&out);
    }
    for (int i = 0; i < self->link_count; i++)
        if (rb_link_ack_due (self->links [i]))
            rb_link_send_ack (self->links [i], self->router);
}

static void
s_pump (rb_node_t *self)
{
    bool work = false;
    for (int i = 0; i < self->link_count; i++) {
        rb_link_stats_t *s = rb_link_stats (self->links [i]);
        work |= s->up && s->sent < s->assigned && s->sent - s->acked < self->config->window;
    }
    rb_txn_t *txn;
    if (!work || rb_txn_begin (self->store, false, &txn))
        return;
    for (int i = 0; i < self->link_count; i++)
        rb_link_pump (self->links [i], txn);
    rb_txn_destroy (&txn);
}

static void
s_drain (zsock_t *sock, int budget, void (*handle) (rb_node_t *, zmsg_t *), rb_node_t *self)
{
    while (budget-- > 0 && (zsock_events (sock) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv (sock);
        if (!msg)
            break;
        handle (self, msg);
        zmsg_destroy (&msg);
    }
}

static rb_err_t
s_tick (rb_node_t *self, rb_txn_t *child, void *arg, rb_refusal_t *why)
{
    (void) arg;
    return self->tick_fn (self, child, self->tick_arg, why);
}

static void
s_turn (rb_node_t *self, zmq_pollitem_t *items, int count)
{
    if (zmq_poll (items, count, S_TURN_MS) < 0 && zmq_errno () != EINTR)
        rb_log_error ("msg=\"poll failed\" error=\"%s\"", zmq_strerror (zmq_errno ()));
    if (items [2].revents & ZMQ_POLLIN)
        s_handle_monitor (self, self->monitor);
    if (self->api_monitor && (items [count - 1].revents & ZMQ_POLLIN))
        s_handle_monitor (self, self->api_monitor);
    s_drain (self->api, S_DRAIN_FRAMES, rb_api_handle, self);
    s_drain (self->router, S_DRAIN_FRAMES, s_handle_peer_frame, self);
    int64_t now = rb_clock_mono_ms ();
    for (int i = 0; i < self->link_count; i++) {
        zsock_t *dealer = rb_link_socket (self->links [i]);
        for (int n = 0; dealer && n < S_DRAIN_FRAMES * 4 && (zsock_events (dealer) & ZMQ_POLLIN); n++) {
            zmsg_t *msg = zmsg_recv (dealer);
            zframe_t *body = msg? zmsg_first (msg): NULL;
            s_capture (self, body);
            if (body && zmsg_size (msg) == 1)
                s_handle_link_frame (self, self->links [i], body);
            zmsg_destroy (&msg);
        }
    }
    if (self->tick_fn && now >= self->tick_next_mono_ms) {
        self->tick_next_mono_ms = now + self->tick_interval_ms;
        rb_refusal_t why = { 0 };
        if (rb_node_in_child (self, s_tick, NULL, &why))
            rb_log_warn ("msg=\"tick failed\" code=%s field=\"%s\" detail=\"%s\"",
                         rb_errname (why.code), why.field, why.message);
    }
    s_commit (self, true);
    rb_reload_turn (self);      //  between commits: links may come, go and reconnect
    for (int i = 0; i < self->link_count; i++)
        rb_link_tick (self->links [i], now);
    s_pump (self);
}

// ---------------------------------------------------------------------------
//  The loop's steps without its sockets (tests/fuzz)

rb_err_t
rb_node_take_peer_frame (rb_node_t *self, const char *peer, const uint8_t *data, size_t size)
{
    int index;
    if (!rb_node_link (self, peer, &index))
        return RB_EPEER;
    zframe_t *id = zframe_new (peer, strlen (peer));
    zframe_t *body = zframe_new (data, size);
    if (id && body)
        s_take_peer_frame (self, index, id, body);
    zframe_destroy (&id);
    zframe_destroy (&body);
    return RB_OK;
}

rb_err_t
rb_node_take_link_frame (rb_node_t *self, const char *peer, const uint8_t *data, size_t size)
{
    rb_link_t *link = rb_node_link (self, peer, NULL);
    if (!link)
        return RB_EPEER;
    zframe_t *body = zframe_new (data, size);
    if (body)
        s_handle_link_frame (self, link, body);
    zframe_destroy (&body);
    return RB_OK;
}

void
rb_node_take_api_frame (rb_node_t *self, const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    if (msg && zmsg_addstr (msg, "client") == 0 && zmsg_addmem (msg, data, size) == 0)
        rb_api_handle (self, msg);
    zmsg_destroy (&msg);
}

zframe_t *
rb_node_api_reply (rb_node_t *self)
{
    return zlist_pop (self->unsent);
}

void
rb_node_end_turn (rb_node_t *self, bool keep)
{
    s_commit (self, keep);
}

//  What the loop waits on: the API, the ROUTER, the monitors and every
//  link that has a socket. Made each turn, since a reload or a link
//  trying a peer's other key changes the links' sockets. The API monitor,
//  when there is one, comes last.
static int
s_poll_items (rb_node_t *self, zmq_pollitem_t *items)
{
    int count = 0;
    items [count++].socket = zsock_resolve (self->api);
    items [count++].socket = zsock_resolve (self->router);
    items [count++].socket = zsock_resolve (self->monitor);
    for (int i = 0; i < self->link_count; i++)
        if (rb_link_socket (self->links [i]))
            items [count++].socket = zsock_resolve (rb_link_socket (self->links [i]));
    if (self->api_monitor)
        items [count++].socket = zsock_resolve (self->api_monitor);
    for (int i = 0; i < count; i++) {
        items [i].fd = 0;
        items [i].events = ZMQ_POLLIN;
        items [i].revents = 0;
    }
    return count;
}

int
rb_node_run (rb_node_t *self)
{
    if (!self->router || !self->api || !self->monitor)
        return -1;
    rb_log_info ("msg=\"node running\" role=%s bind=%s api=%s peers=%d clock=%s",
                 self->config->role, self->config->bind, self->config->api_endpoint,
                 self->link_count, rb_clock_is_test (self->clock)? "test": "wall");
    zmq_pollitem_t items [RB_MAX_PEERS + 4];
    //  zsys_interrupted: a program that kept CZMQ's handler (the unit tests)
    while (!self->terminated && !s_stop && !zsys_interrupted)
        s_turn (self, items, s_poll_items (self, items));
    //  Acknowledgements that arrived since the last trim would otherwise
    //  be forgotten, and the next start would send those envelopes again.
    self->stopping = true;
    s_commit (self, true);
    rb_log_info ("msg=\"node stopped\"");
    return 0;
}
