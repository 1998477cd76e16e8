/*  rb_api: the node's local API, where integrators and the CLI submit and
 *  query. Part of rb_node (see rb_node_priv.h).
 *
 *  A request arrives on the API ROUTER as routing frames followed by one
 *  ApiRequest frame; the reply goes back on the same routing frames, so REQ
 *  and DEALER clients both work. Requests that change state are applied in
 *  a child of the node's group transaction and answered only after the
 *  group commit holds: "accepted" always means "durable". A request that is
 *  refused is answered at once, and its child transaction leaves no trace.
 *
 *  Idempotency: every submitted event carries a client-chosen key. The
 *  node stores key -> (hash of the submission, outcome) in the same commit,
 *  so a retry of a request whose reply was lost gets the first outcome back
 *  with duplicate=true, and a key reused for different content is refused.
 */
#include "rb_node_priv.h"
#include "rb_log.h"
#include "rb_perms.h"
#include "rb_text.h"

#define S_LIST_DEFAULT 1000
#define S_LIST_MAX 10000
#define S_LIST_MAX_BYTES (4u << 20)

//  Idempotency record: hash, event id, seq, recorded_at, destination name.
typedef struct {
    uint8_t hash [RB_WIRE_HASH_SIZE];
    uint8_t event_id [16];
    uint64_t seq;
    int64_t recorded_at;
    char destination [RB_NAME_MAX + 1];
} s_idem_t;

// ---------------------------------------------------------------------------
//  Replies

//  Send a reply on its route. A node without an API socket (a fuzz
//  target's) keeps the reply's body for rb_node_api_reply instead.
static void
s_send (rb_node_t *self, zmsg_t **msg_p)
{
    if (self->api)
        zmsg_send (msg_p, self->api);
    else {
        zframe_t *body = zmsg_last (*msg_p);
        zmsg_remove (*msg_p, body);
        zlist_append (self->unsent, body);
    }
    zmsg_destroy (msg_p);
}

void
rb_api_reply (rb_node_t *self, zmsg_t **route_p, Regiebus__ApiReply *reply, bool after_commit)
{
    reply->version = RB_WIRE_VERSION;
    zframe_t *body = rb_wire_frame (&reply->base);
    if (reply->code)
        self->counters.api_refused [reply->code]++;
    rb_pending_t *p = after_commit && body? calloc (1, sizeof *p): NULL;
    if (!body || (after_commit && !p)) {
        //  Out of memory: no answer. The client's call times out and its
        //  retry, with the same idempotency keys, is safe.
        rb_log_error ("msg=\"reply dropped: out of memory\" request_id=%llu",
                      (unsigned long long) reply->request_id);
        zframe_destroy (&body);
        zmsg_destroy (route_p);
        return;
    }
    if (after_commit) {
        p->route = *route_p;
        p->request_id = reply->request_id;
        p->body = body;
        *route_p = NULL;
        zlist_append (self->pending, p);
        return;
    }
    zmsg_append (*route_p, &body);
    s_send (self, route_p);
}

static void
s_reply_error (rb_node_t *self, zmsg_t **route_p, uint64_t request_id, const rb_refusal_t *why)
{
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.request_id = request_id;
    reply.code = (Regiebus__ErrorCode) why->code;
    reply.field = (char *) why->field;
    reply.message = (char *) why->message;
    rb_log_debug ("msg=\"request refused\" code=%s field=\"%s\" detail=\"%s\"",
                  rb_errname (why->code), why->field, why->message);
    rb_api_reply (self, route_p, &reply, false);
}

void
rb_api_fail_pending (rb_node_t *self, rb_err_t code, const char *message)
{
    rb_pending_t *p;
    while ((p = zlist_pop (self->pending))) {
        rb_refusal_t why;
        rb_refuse (&why, code, "", "not committed: %s", message);
        zframe_destroy (&p->body);
        s_reply_error (self, &p->route, p->request_id, &why);
        free (p);
    }
}

void
rb_api_flush (rb_node_t *self)
{
    rb_pending_t *p;
    while ((p = zlist_pop (self->pending))) {
        zmsg_append (p->route, &p->body);
        s_send (self, &p->route);
        free (p);
    }
}

// ---------------------------------------------------------------------------
//  Submit

static rb_err_t
s_check_submit (rb_node_t *self, const Regiebus__SubmitRequest *req, rb_refusal_t *r)
{
    if (req->n_events == 0)
        return rb_refuse (r, RB_EMISSING, "events", "events is empty");
    if (req->n_events > self->config->max_batch_events)
        return rb_refuse (r, RB_ETOOLARGE, "events", "%zu events is over the limit of %llu per request",
                          req->n_events, (unsigned long long) self->config->max_batch_events);
    for (size_t i = 0; i < req->n_events; i++) {
        char prefix [32];
        snprintf (prefix, sizeof prefix, "events[%zu]", i);
        if (rb_wire_submission_check (req->events [i], prefix, self->config->max_payload_bytes, r))
            return r->code;
        if (!rb_node_link (self, req->events [i]->destination, NULL)) {
            char field [64];
            snprintf (field, sizeof field, "%s.destination", prefix);
            return rb_refuse (r, RB_EPEER, field, "%s '%s' is not a configured peer", field,
                              req->events [i]->destination);
        }
    }
    return RB_OK;
}

//  Look up a key: RB_OK with *found set, or a storage error.
static rb_err_t
s_idem_get (rb_node_t *self, rb_txn_t *txn, const char *key, s_idem_t *out, bool *found)
{
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->idem, rb_val_str (key), &value);
    *found = rc == RB_OK;
    if (rc == RB_ENOTFOUND)
        return RB_OK;
    if (!rc && value.size != sizeof *out)
        return RB_ESTORE;
    if (!rc)
        memcpy (out, value.data, sizeof *out);
    return rc;
}

//  Apply one submission inside txn; fills accepted (event_id points into idem).
static rb_err_t
s_submit_one (rb_node_t *self, rb_txn_t *txn, const Regiebus__Submission *s, size_t i,
              s_idem_t *idem, Regiebus__Accepted *accepted, rb_refusal_t *r)
{
    uint8_t hash [RB_WIRE_HASH_SIZE];
    if (!rb_wire_hash (&s->base, hash))
        return rb_refuse (r, RB_EINTERNAL, "", "out of memory");
    bool found;
    rb_err_t rc = s_idem_get (self, txn, s->idempotency_key, idem, &found);
    if (rc)
        return rb_refuse (r, rc, "", "%s", rb_store_errmsg (self->store));
    if (found && memcmp (idem->hash, hash, RB_WIRE_HASH_SIZE) != 0) {
        char field [64];
        snprintf (field, sizeof field, "events[%zu].idempotency_key", i);
        return rb_refuse (r, RB_ECONFLICT, field, "%s '%s' was used before for different content",
                          field, s->idempotency_key);
    }
    if (!found) {
        int64_t now = rb_clock_now_ms (self->clock);
        memcpy (idem->hash, hash, RB_WIRE_HASH_SIZE);
        //  event_id is a version 7 UUID made for the request (rb_node_event_id).
        idem->recorded_at = now;
        snprintf (idem->destination, sizeof idem->destination, "%s", s->destination);
        Regiebus__Envelope e = REGIEBUS__ENVELOPE__INIT;
        e.version = RB_WIRE_VERSION;
        e.event_id.data = idem->event_id;
        e.event_id.len = 16;
        e.origin = (char *) self->config->name;
        e.destination = s->destination;
        e.case_pseudonym = s->case_pseudonym;
        e.kind = s->kind;
        e.occurred_at_ms = s->occurred_at_ms? s->occurred_at_ms: now;
        e.recorded_at_ms = now;
        e.causation_id = s->causation_id;
        e.payload = s->payload;
        rc = rb_outbox_append (self->outbox, txn, s->destination, &e, r);
        if (rc)
            return rc;
        idem->seq = e.origin_seq;
        rc = rb_txn_put (txn, self->idem, rb_val_str (s->idempotency_key),
                         (rb_val_t) { idem, sizeof *idem });
        if (rc)
            return rb_refuse (r, rc, "", "%s", rb_store_errmsg (self->store));
    }
    accepted->event_id.data = idem->event_id;
    accepted->event_id.len = 16;
    accepted->origin_seq = idem->seq;
    accepted->recorded_at_ms = idem->recorded_at;
    accepted->duplicate = found;
    return RB_OK;
}

static void
s_submit (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    const Regiebus__SubmitRequest *sub = req->submit;
    rb_refusal_t why = { 0 };
    if (s_check_submit (self, sub, &why)) {
        s_reply_error (self, route_p, req->request_id, &why);
        return;
    }
    size_t n = sub->n_events;
    s_idem_t *idem = calloc (n, sizeof *idem);
    Regiebus__Accepted *accepted = calloc (n, sizeof *accepted);
    Regiebus__Accepted **list = calloc (n, sizeof *list);
    uint64_t *assigned = calloc (self->link_count + 1, sizeof *assigned);
    rb_txn_t *child = NULL;
    rb_err_t rc = idem && accepted && list && assigned? rb_node_txn (self): RB_EINTERNAL;
    if (!rc)
        rc = rb_txn_child (self->txn, &child);
    if (rc)
        rb_refuse (&why, rc, "", "cannot begin: %s", rb_store_errmsg (self->store));
    uint64_t fresh = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rb_node_event_id (self, idem [i].event_id);
    for (size_t i = 0; i < n && !why.code; i++) {
        regiebus__accepted__init (&accepted [i]);
        list [i] = &accepted [i];
        if (s_submit_one (self, child, sub->events [i], i, &idem [i], &accepted [i], &why) == RB_OK
        &&  !accepted [i].duplicate) {
            int index;
            rb_node_link (self, sub->events [i]->destination, &index);
            assigned [index] = idem [i].seq;
            fresh++;
        }
    }
    if (!why.code && (rc = rb_txn_commit (&child)))
        rb_refuse (&why, rc, "", "%s", rb_store_errmsg (self->store));
    rb_txn_destroy (&child);
    if (why.code == RB_EFULL)
        self->store_nudge = true;
    if (why.code)
        s_reply_error (self, route_p, req->request_id, &why);
    else {
        for (int i = 0; i < self->link_count; i++)
            if (assigned [i] > self->assigned [i])
                self->assigned [i] = assigned [i];
        self->counters.api_accepted += fresh;
        self->counters.api_duplicates += n - fresh;
        Regiebus__SubmitReply result = REGIEBUS__SUBMIT_REPLY__INIT;
        result.n_accepted = n;
        result.accepted = list;
        Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
        reply.request_id = req->request_id;
        reply.result_case = REGIEBUS__API_REPLY__RESULT_SUBMIT;
        reply.submit = &result;
        rb_api_reply (self, route_p, &reply, true);
    }
    free (assigned);
    free (list);
    free (accepted);
    free (idem);
}

// ---------------------------------------------------------------------------
//  Status

#define S_COUNTER_FIXED (18 + 2 * RB_ERR_COUNT)

static void
s_status (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    rb_txn_t *txn = NULL;
    if (rb_txn_begin (self->store, false, &txn)) {
        rb_refusal_t why;
        rb_refuse (&why, RB_ESTORE, "", "cannot read: %s", rb_store_errmsg (self->store));
        s_reply_error (self, route_p, req->request_id, &why);
        return;
    }
    int64_t now = rb_clock_now_ms (self->clock);
    int64_t mono = rb_clock_mono_ms ();
    int n = self->link_count;
    Regiebus__PeerStatus *peers = calloc (n + 1, sizeof *peers);
    Regiebus__PeerStatus **peer_list = calloc (n + 1, sizeof *peer_list);
    if (!peers || !peer_list) {
        free (peers);
        free (peer_list);
        rb_txn_destroy (&txn);
        rb_refusal_t why;
        rb_refuse (&why, RB_EINTERNAL, "", "out of memory");
        s_reply_error (self, route_p, req->request_id, &why);
        return;
    }
    for (int i = 0; i < n; i++) {
        rb_link_t *link = self->links [i];
        rb_link_stats_t *s = rb_link_stats (link);
        Regiebus__PeerStatus *p = &peers [i];
        regiebus__peer_status__init (p);
        peer_list [i] = p;
        p->name = (char *) rb_link_name (link);
        p->endpoint = (char *) rb_config_peer (self->config, p->name)->endpoint;
        p->up = s->up;
        p->queue_depth = s->assigned - s->acked;
        int64_t oldest = rb_outbox_oldest (self->outbox, txn, p->name, s->acked);
        p->oldest_unacked_age_ms = oldest? now - oldest: 0;
        p->last_assigned_seq = s->assigned;
        p->acked_seq = s->acked;
        p->received_seq = s->received;
        p->retransmits = s->retransmits;
        p->duplicates = s->duplicates;
        p->gaps = s->gaps;
        p->last_heard_ms = s->heard_mono_ms? now - (mono - s->heard_mono_ms): 0;
        p->refused = s->refused;
        p->rtt_ms = s->rtt_ms;
    }
    uint64_t notices_new = 0, notices_acked = 0;
    rb_notices_counts (self->notices, txn, &notices_new, &notices_acked);
    rb_txn_destroy (&txn);
    size_t max = S_COUNTER_FIXED + zlistx_size (self->daemon_counters);
    Regiebus__Counter *counters = calloc (max, sizeof *counters);
    Regiebus__Counter **counter_list = calloc (max, sizeof *counter_list);
    char (*names) [48] = calloc (max, sizeof *names);
    if (!counters || !counter_list || !names) {
        free (counters);
        free (counter_list);
        free (names);
        free (peer_list);
        free (peers);
        rb_refusal_t why;
        rb_refuse (&why, RB_EINTERNAL, "", "out of memory");
        s_reply_error (self, route_p, req->request_id, &why);
        return;
    }
    size_t c = 0;
    const rb_counters_t *k = &self->counters;
    #define COUNT(label_, value_) do { \
        regiebus__counter__init (&counters [c]); \
        snprintf (names [c], sizeof names [c], "%s", label_); \
        counters [c].name = names [c]; counters [c].value = (value_); \
        counter_list [c] = &counters [c]; c++; } while (0)
    COUNT ("api_requests", k->api_requests);
    COUNT ("api_accepted", k->api_accepted);
    COUNT ("api_duplicates", k->api_duplicates);
    COUNT ("link_batches", k->link_batches);
    COUNT ("link_received", k->link_received);
    COUNT ("link_duplicates", k->link_duplicates);
    COUNT ("link_gaps", k->link_gaps);
    COUNT ("auth_failures", k->auth_failures);
    COUNT ("commits", k->commits);
    COUNT ("commit_failures", k->commit_failures);
    COUNT ("commit_us", k->commit_us);
    COUNT ("commit_us_max", k->commit_us_max);
    COUNT ("reloads", k->reloads);
    COUNT ("reloads_refused", k->reloads_refused);
    COUNT ("notifications_new", notices_new);
    COUNT ("notifications_acked", notices_acked);
    COUNT ("audit_records", rb_audit_count (self->audit));
    for (int e = 1; e < RB_ERR_COUNT; e++) {
        char label [48];
        snprintf (label, sizeof label, "api_refused_%s", rb_errname (e));
        COUNT (label, k->api_refused [e]);
        snprintf (label, sizeof label, "link_refused_%s", rb_errname (e));
        COUNT (label, k->link_refused [e]);
    }
    for (rb_daemon_counter_t *d = zlistx_first (self->daemon_counters); d;
         d = zlistx_next (self->daemon_counters))
        COUNT (d->name, d->value);
    #undef COUNT
    Regiebus__StatusReply status = REGIEBUS__STATUS_REPLY__INIT;
    status.node = (char *) self->config->name;
    status.role = (char *) self->config->role;
    status.now_ms = now;
    status.test_clock = rb_clock_is_test (self->clock);
    status.n_peers = n;
    status.peers = peer_list;
    status.n_counters = c;
    status.counters = counter_list;
    rb_store_usage (self->store, &status.store_used_bytes, &status.store_map_bytes);
    status.started_at_ms = self->started_at_ms;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.request_id = req->request_id;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_STATUS;
    reply.status = &status;
    rb_api_reply (self, route_p, &reply, false);
    free (names);
    free (counter_list);
    free (counters);
    free (peer_list);
    free (peers);
}

// ---------------------------------------------------------------------------
//  List received events

typedef struct {
    Regiebus__Envelope **events;
    size_t count, limit, bytes;
    bool more;
} s_list_t;

static int
s_list_visit (rb_val_t key, rb_val_t value, void *arg)
{
    (void) key;
    s_list_t *l = arg;
    if (l->count == l->limit || l->bytes + value.size > S_LIST_MAX_BYTES) {
        l->more = true;
        return 1;
    }
    Regiebus__Envelope *e = rb_wire_envelope_decode (value.data, value.size);
    if (e) {
        l->events [l->count++] = e;
        l->bytes += value.size;
    }
    return 0;
}

static void
s_list_received (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    const Regiebus__ListReceivedRequest *q = req->list_received;
    rb_refusal_t why = { 0 };
    if (q->limit > S_LIST_MAX)
        rb_refuse (&why, RB_ETOOLARGE, "list_received.limit", "list_received.limit is over %d", S_LIST_MAX);
    else
    if (*q->origin && !rb_config_name_valid (q->origin))
        rb_refuse (&why, RB_EINVALID, "list_received.origin", "list_received.origin is not a node name");
    s_list_t l = { .limit = q->limit? q->limit: S_LIST_DEFAULT };
    l.events = calloc (l.limit, sizeof *l.events);
    if (!l.events && !why.code)
        rb_refuse (&why, RB_EINTERNAL, "", "out of memory");
    rb_txn_t *txn = NULL;
    if (!why.code && rb_txn_begin (self->store, false, &txn))
        rb_refuse (&why, RB_ESTORE, "", "cannot read: %s", rb_store_errmsg (self->store));
    if (!why.code) {
        rb_err_t rc = rb_inbox_list (self->inbox, txn, q->origin, q->after_seq, s_list_visit, &l);
        if (rc && rc != 1)
            rb_refuse (&why, rc, "", "cannot read: %s", rb_store_errmsg (self->store));
    }
    rb_txn_destroy (&txn);
    if (why.code)
        s_reply_error (self, route_p, req->request_id, &why);
    else {
        Regiebus__ListReceivedReply list = REGIEBUS__LIST_RECEIVED_REPLY__INIT;
        list.n_events = l.count;
        list.events = l.events;
        list.more = l.more;
        Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
        reply.request_id = req->request_id;
        reply.result_case = REGIEBUS__API_REPLY__RESULT_LIST_RECEIVED;
        reply.list_received = &list;
        rb_api_reply (self, route_p, &reply, false);
    }
    for (size_t i = 0; i < l.count; i++)
        rb_wire_free (&l.events [i]);
    free (l.events);
}

// ---------------------------------------------------------------------------
//  Clock

static void
s_advance_clock (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    rb_refusal_t why = { 0 };
    int64_t by = req->advance_clock->by_ms;
    //  Work on a scratch clock: the node's clock moves only once this commits.
    rb_clock_t *scratch = rb_clock_new (rb_clock_is_test (self->clock));
    int64_t base = self->clock_offset_pending? self->clock_offset_pending: rb_clock_offset (self->clock);
    rb_clock_set_offset (scratch, base);
    rb_err_t rc = scratch? rb_clock_advance (scratch, by): RB_EINTERNAL;
    if (rc == RB_EPRECONDITION)
        rb_refuse (&why, rc, "advance_clock", "this node's clock is the wall clock (node/clock = wall)");
    else
    if (rc)
        rb_refuse (&why, rc, "advance_clock.by_ms", "advance_clock.by_ms must be from 1 ms to 100 years");
    int64_t offset = scratch? rb_clock_offset (scratch): 0;
    int64_t now = scratch? rb_clock_now_ms (scratch): 0;
    rb_clock_destroy (&scratch);
    uint8_t bytes [8];
    rb_u64_put (bytes, (uint64_t) offset);
    if (!why.code && (rc = rb_node_txn (self)) == RB_OK)
        rc = rb_txn_put (self->txn, self->meta, rb_val_str ("clock_offset"), (rb_val_t) { bytes, 8 });
    if (!why.code && rc)
        rb_refuse (&why, rc, "", "%s", rb_store_errmsg (self->store));
    if (why.code) {
        s_reply_error (self, route_p, req->request_id, &why);
        return;
    }
    self->clock_offset_pending = offset;
    rb_log_info ("msg=\"clock advanced\" by_ms=%lld", (long long) by);
    Regiebus__AdvanceClockReply result = REGIEBUS__ADVANCE_CLOCK_REPLY__INIT;
    result.now_ms = now;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.request_id = req->request_id;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_ADVANCE_CLOCK;
    reply.advance_clock = &result;
    rb_api_reply (self, route_p, &reply, true);
}

// ---------------------------------------------------------------------------
//  Notifications for this node's actors

#define S_NOTICE_DEFAULT 100
#define S_NOTICE_MAX 1000

typedef struct {
    rb_node_t *node;
    rb_txn_t *txn;
    const Regiebus__ListNotificationsRequest *q;
    Regiebus__NotificationItem *items;
    Regiebus__NotificationItem **list;
    char (*labels) [RB_TEXT_MAX + 1];
    char (*cases) [65];
    char (*origins) [64];
    char (*by) [RB_NOTICE_BY_MAX + 1];
    Regiebus__Notification **copies;
    size_t count, limit;
    uint64_t last_seq;
    bool more;
    bool out_of_memory;
    uint64_t new_count, acked_count;
    rb_err_t audit_rc;          //  recording a notice as shown failed
} s_notice_list_t;

static int
s_notice_visit (const rb_notice_t *notice, void *arg)
{
    s_notice_list_t *l = arg;
    l->last_seq = notice->seq;
    if (*l->q->case_pseudonym && strcmp (l->q->case_pseudonym, notice->case_pseudonym) != 0)
        return 0;
    char label [RB_TEXT_MAX + 1] = "";
    if (l->node->label_fn
    &&  !l->node->label_fn (l->txn, notice->case_pseudonym, l->q->account, label, sizeof label,
                            l->node->label_arg))
        return 0;
    if (l->count == l->limit) {
        l->more = true;
        return 1;
    }
    //  The decoded notification lives only during the visit: keep a copy.
    size_t size = regiebus__notification__get_packed_size (notice->notification);
    uint8_t *packed = malloc (size + 1);
    Regiebus__Notification *copy = NULL;
    if (packed) {
        regiebus__notification__pack (notice->notification, packed);
        copy = regiebus__notification__unpack (NULL, size, packed);
        free (packed);
    }
    if (!copy) {
        l->out_of_memory = true;
        return 1;
    }
    l->audit_rc = rb_node_audit_notice (l->node, l->txn, RB_AUDIT_NOTICE_SHOWN, notice, l->q->account);
    if (l->audit_rc) {
        regiebus__notification__free_unpacked (copy, NULL);
        return 1;
    }
    size_t i = l->count++;
    Regiebus__NotificationItem *item = &l->items [i];
    regiebus__notification_item__init (item);
    l->list [i] = item;
    l->copies [i] = copy;
    snprintf (l->labels [i], sizeof l->labels [i], "%s", label);
    snprintf (l->cases [i], sizeof l->cases [i], "%s", notice->case_pseudonym);
    snprintf (l->origins [i], sizeof l->origins [i], "%s", notice->origin);
    snprintf (l->by [i], sizeof l->by [i], "%s", notice->acked_by);
    item->seq = notice->seq;
    item->acknowledged = notice->state == RB_NOTICE_ACKNOWLEDGED;
    item->received_at_ms = notice->received_at_ms;
    item->acked_at_ms = notice->acked_at_ms;
    item->acked_by = l->by [i];
    item->origin = l->origins [i];
    item->case_pseudonym = l->cases [i];
    item->local_name = l->labels [i];
    item->notification = copy;
    return 0;
}

static rb_err_t
s_notice_list_check (const Regiebus__ListNotificationsRequest *q, rb_refusal_t *why)
{
    if (q->limit > S_NOTICE_MAX)
        return rb_refuse (why, RB_ETOOLARGE, "list_notifications.limit",
                          "list_notifications.limit is over %d", S_NOTICE_MAX);
    if (*q->case_pseudonym && !rb_wire_pseudonym_valid (q->case_pseudonym))
        return rb_refuse (why, RB_EINVALID, "list_notifications.case_pseudonym",
                          "list_notifications.case_pseudonym must be 64 lowercase hex characters");
    if (strlen (q->account) > RB_NOTICE_BY_MAX)
        return rb_refuse (why, RB_ETOOLARGE, "list_notifications.account",
                          "list_notifications.account is over %d bytes", RB_NOTICE_BY_MAX);
    return RB_OK;
}

//  The listing runs in a child of the group transaction, because what it
//  shows is audited as shown, to the account asked for.
static rb_err_t
s_list_in_child (rb_node_t *self, rb_txn_t *child, void *arg, rb_refusal_t *why)
{
    s_notice_list_t *l = arg;
    l->txn = child;
    //  Filters may skip many: walk in pages until the reply is full.
    uint64_t after = l->q->after_seq;
    rb_err_t rc = RB_OK;
    while (!rc && !l->more && !l->out_of_memory && !l->audit_rc) {
        l->last_seq = after;
        rc = rb_notices_list (self->notices, child, after, l->q->only_new, S_NOTICE_MAX,
                              s_notice_visit, l);
        if (l->last_seq == after)
            break;
        after = l->last_seq;
    }
    if (!rc && l->out_of_memory)
        rc = RB_EINTERNAL;
    if (!rc)
        rc = l->audit_rc;
    if (!rc)
        rc = rb_notices_counts (self->notices, child, &l->new_count, &l->acked_count);
    if (rc)
        return rb_refuse (why, rc, "", "cannot list notifications: %s", rb_strerror (rc));
    return RB_OK;
}

static void
s_list_notifications (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    const Regiebus__ListNotificationsRequest *q = req->list_notifications;
    rb_refusal_t why = { 0 };
    s_notice_list_t l = { .node = self, .q = q, .limit = q->limit? q->limit: S_NOTICE_DEFAULT };
    if (!s_notice_list_check (q, &why)) {
        l.items = calloc (l.limit, sizeof *l.items);
        l.list = calloc (l.limit, sizeof *l.list);
        l.labels = calloc (l.limit, sizeof *l.labels);
        l.cases = calloc (l.limit, sizeof *l.cases);
        l.origins = calloc (l.limit, sizeof *l.origins);
        l.by = calloc (l.limit, sizeof *l.by);
        l.copies = calloc (l.limit, sizeof *l.copies);
        if (!l.items || !l.list || !l.labels || !l.cases || !l.origins || !l.by || !l.copies)
            rb_refuse (&why, RB_EINTERNAL, "", "out of memory");
    }
    if (!why.code)
        rb_node_in_child (self, s_list_in_child, &l, &why);
    Regiebus__ListNotificationsReply result = REGIEBUS__LIST_NOTIFICATIONS_REPLY__INIT;
    if (why.code)
        s_reply_error (self, route_p, req->request_id, &why);
    else {
        result.new_count = l.new_count;
        result.acked_count = l.acked_count;
        result.n_items = l.count;
        result.items = l.list;
        result.more = l.more;
        Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
        reply.request_id = req->request_id;
        reply.result_case = REGIEBUS__API_REPLY__RESULT_LIST_NOTIFICATIONS;
        reply.list_notifications = &result;
        rb_api_reply (self, route_p, &reply, true);
    }
    for (size_t i = 0; i < l.count; i++)
        regiebus__notification__free_unpacked (l.copies [i], NULL);
    free (l.copies);
    free (l.by);
    free (l.origins);
    free (l.cases);
    free (l.labels);
    free (l.list);
    free (l.items);
}

//  One acknowledgement being applied.
typedef struct {
    rb_node_t *node;                //  where
    const Regiebus__AckNotificationRequest *q;  //  the call
    int64_t now_ms;                 //  when
    rb_txn_t *txn;                  //  its child transaction
    rb_refusal_t *why;              //  its refusal
    rb_err_t rc;                    //  what telling the origin and the daemon gave
} s_ack_t;

//  Tell the notice's origin that its notification was acknowledged: the
//  receipt names the notification a reminder reminds of, so that either
//  acknowledgement settles it there.
static rb_err_t
s_ack_receipt (rb_node_t *self, s_ack_t *a, const rb_notice_t *notice)
{
    const Regiebus__Notification *n = notice->notification;
    const rb_peer_config_t *origin = rb_config_peer (self->config, notice->origin);
    rb_refusal_t denied;
    if (streq (notice->origin, self->config->name))
        return RB_OK;
    if (!origin) {
        rb_log_warn ("msg=\"acknowledgement not sent: origin is no peer\" seq=%llu origin=%s",
                     (unsigned long long) notice->seq, notice->origin);
        return RB_OK;
    }
    //  Only agencies tell a municipality (a bare node playing one does not).
    if (rb_perms_check (self->config->role, self->config->name, REGIEBUS__EVENT_KIND__NOTIFICATION_ACK,
                        origin->role, &denied))
        return RB_OK;
    Regiebus__AckReceipt receipt = REGIEBUS__ACK_RECEIPT__INIT;
    receipt.notification_id = n->reminder_of.len == 16? n->reminder_of: n->notification_id;
    receipt.recipient = n->recipient;
    receipt.acked_at_ms = a->now_ms;
    uint8_t payload [256];
    size_t size = regiebus__ack_receipt__get_packed_size (&receipt);
    if (size > sizeof payload)
        return rb_refuse (a->why, RB_ESTORE, "seq", "the stored notification is damaged");
    regiebus__ack_receipt__pack (&receipt, payload);
    rb_emit_t emit = {
        .destination = notice->origin,
        .case_pseudonym = notice->case_pseudonym,
        .kind = REGIEBUS__EVENT_KIND__NOTIFICATION_ACK,
        .payload = payload,
        .payload_size = size,
        .causation_id = notice->event_id
    };
    return rb_node_emit (self, a->txn, &emit, NULL, a->why);
}

//  The notice just acknowledged: audited as acknowledged by whom, and its
//  origin and the daemon hear of it.
static int
s_ack_tell (const rb_notice_t *notice, void *arg)
{
    s_ack_t *a = arg;
    rb_node_t *self = a->node;
    a->rc = rb_node_audit_notice (self, a->txn, RB_AUDIT_NOTICE_ACKED, notice, a->q->by);
    if (a->rc)
        a->rc = rb_refuse (a->why, a->rc, "", "cannot audit: %s", rb_store_errmsg (self->store));
    else
        a->rc = s_ack_receipt (self, a, notice);
    if (!a->rc && self->ack_fn)
        a->rc = self->ack_fn (self, a->txn, notice, self->ack_arg, a->why);
    return a->rc? 1: 0;
}

static rb_err_t
s_ack_in_child (rb_node_t *self, rb_txn_t *child, void *arg, rb_refusal_t *why)
{
    s_ack_t *a = arg;
    a->txn = child;
    a->why = why;
    rb_err_t rc = rb_notices_ack (self->notices, child, a->q->seq, a->q->by, a->now_ms, why);
    if (!rc)
        rc = rb_notices_get (self->notices, child, a->q->seq, s_ack_tell, a);
    return rc? rc: a->rc;
}

static void
s_ack_notification (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    rb_refusal_t why = { 0 };
    s_ack_t ack = { .node = self, .q = req->ack_notification,
                    .now_ms = rb_clock_now_ms (self->clock) };
    if (rb_node_in_child (self, s_ack_in_child, &ack, &why)) {
        //  The field names inside this call.
        if (*why.field) {
            char field [sizeof why.field];
            snprintf (field, sizeof field, "%s", why.field);
            snprintf (why.field, sizeof why.field, "ack_notification.%.60s", field);
        }
        s_reply_error (self, route_p, req->request_id, &why);
        return;
    }
    Regiebus__AckNotificationReply result = REGIEBUS__ACK_NOTIFICATION_REPLY__INIT;
    result.acked_at_ms = ack.now_ms;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.request_id = req->request_id;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_ACK_NOTIFICATION;
    reply.ack_notification = &result;
    rb_api_reply (self, route_p, &reply, true);
}

// ---------------------------------------------------------------------------
//  Audit: verify the chain, list its records (read-only, like status)

#define S_AUDIT_DEFAULT 100
#define S_AUDIT_MAX 1000

static void
s_audit_verify (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    rb_refusal_t why = { 0 };
    rb_audit_check_t check;
    rb_txn_t *txn = NULL;
    rb_err_t rc = rb_txn_begin (self->store, false, &txn);
    if (!rc)
        rc = rb_audit_verify (self->audit, txn, &check);
    rb_txn_destroy (&txn);
    if (rc) {
        rb_refuse (&why, rc, "", "cannot read the audit: %s", rb_store_errmsg (self->store));
        s_reply_error (self, route_p, req->request_id, &why);
        return;
    }
    Regiebus__AuditVerifyReply result;
    rb_audit_check_to_wire (&check, &result);
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.request_id = req->request_id;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_AUDIT_VERIFY;
    reply.audit_verify = &result;
    rb_api_reply (self, route_p, &reply, false);
}

static void
s_audit_list (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    const Regiebus__AuditListRequest *q = req->audit_list;
    rb_refusal_t why = { 0 };
    rb_audit_page_t *page = NULL;
    rb_txn_t *txn = NULL;
    rb_err_t rc = RB_OK;
    if (q->limit > S_AUDIT_MAX)
        rb_refuse (&why, RB_ETOOLARGE, "audit_list.limit", "audit_list.limit is over %d", S_AUDIT_MAX);
    else
    if (!(rc = rb_txn_begin (self->store, false, &txn)))
        page = rb_audit_page (self->audit, txn, q->after_seq, q->limit? q->limit: S_AUDIT_DEFAULT, &rc);
    rb_txn_destroy (&txn);
    if (rc)
        rb_refuse (&why, rc, "", "cannot read the audit: %s", rb_strerror (rc));
    if (why.code)
        s_reply_error (self, route_p, req->request_id, &why);
    else {
        Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
        reply.request_id = req->request_id;
        reply.result_case = REGIEBUS__API_REPLY__RESULT_AUDIT_LIST;
        reply.audit_list = &page->reply;
        rb_api_reply (self, route_p, &reply, false);
    }
    rb_audit_page_destroy (&page);
}

// ---------------------------------------------------------------------------
//  The daemon's own calls

struct _rb_call_t {
    uint64_t request_id;
    zframe_t *body;         //  the packed reply, once rb_call_reply ran
};

rb_err_t
rb_call_reply (rb_call_t *call, Regiebus__ApiReply *reply)
{
    reply->version = RB_WIRE_VERSION;
    reply->request_id = call->request_id;
    zframe_destroy (&call->body);
    call->body = rb_wire_frame (&reply->base);
    return call->body? RB_OK: RB_EINTERNAL;
}

typedef struct {
    rb_call_t *call;
    const Regiebus__ApiRequest *req;
} s_call_args_t;

static rb_err_t
s_call_in_child (rb_node_t *self, rb_txn_t *child, void *arg, rb_refusal_t *why)
{
    s_call_args_t *a = arg;
    rb_err_t rc = self->call_fn (self, a->call, child, a->req, self->call_arg, why);
    if (!rc && !a->call->body)
        rc = rb_refuse (why, RB_EINTERNAL, "", "the call was not answered");
    return rc;
}

static void
s_daemon_call (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    rb_refusal_t why = { 0 };
    rb_call_t call = { .request_id = req->request_id };
    if (!self->call_fn)
        rb_refuse (&why, RB_EPRECONDITION, "call", "a node of role '%s' does not take this call",
                   self->config->role);
    else {
        s_call_args_t args = { &call, req };
        rb_node_in_child (self, s_call_in_child, &args, &why);
    }
    if (why.code) {
        zframe_destroy (&call.body);
        s_reply_error (self, route_p, req->request_id, &why);
        return;
    }
    rb_pending_t *p = calloc (1, sizeof *p);
    if (!p) {
        rb_log_error ("msg=\"reply dropped: out of memory\" request_id=%llu",
                      (unsigned long long) req->request_id);
        zframe_destroy (&call.body);
        return;
    }
    p->route = *route_p;
    *route_p = NULL;
    p->request_id = req->request_id;
    p->body = call.body;
    zlist_append (self->pending, p);
}

// ---------------------------------------------------------------------------

void
rb_api_handle (rb_node_t *self, zmsg_t *msg)
{
    zframe_t *body = zmsg_last (msg);
    zmsg_remove (msg, body);
    zmsg_t *route = zmsg_dup (msg);
    rb_refusal_t why = { 0 };
    uint64_t request_id = 0;
    Regiebus__ApiRequest *req = body?
        rb_wire_api_decode (body, self->config->max_frame_bytes, &request_id, &why): NULL;
    //  On a tcp API, CURVE admits peers too: only client keys may call it.
    const char *key = body? zframe_meta (body, "User-Id"): NULL;
    if (req && key && !zhashx_lookup (self->api_clients, key)) {
        rb_refuse (&why, RB_EDENIED, "key", "key %s is not an API client of this node", key);
        s_reply_error (self, &route, req->request_id, &why);
        rb_wire_free (&req);
    }
    zframe_destroy (&body);
    if (!req) {
        if (route && !why.code)
            rb_refuse (&why, RB_EMALFORMED, "request", "empty message");
        if (route)
            s_reply_error (self, &route, request_id, &why);
        return;
    }
    self->counters.api_requests++;
    switch (req->call_case) {
        case REGIEBUS__API_REQUEST__CALL_SUBMIT:        s_submit (self, &route, req); break;
        case REGIEBUS__API_REQUEST__CALL_STATUS:        s_status (self, &route, req); break;
        case REGIEBUS__API_REQUEST__CALL_LIST_RECEIVED: s_list_received (self, &route, req); break;
        case REGIEBUS__API_REQUEST__CALL_ADVANCE_CLOCK: s_advance_clock (self, &route, req); break;
        case REGIEBUS__API_REQUEST__CALL_LIST_NOTIFICATIONS: s_list_notifications (self, &route, req); break;
        case REGIEBUS__API_REQUEST__CALL_ACK_NOTIFICATION: s_ack_notification (self, &route, req); break;
        case REGIEBUS__API_REQUEST__CALL_RELOAD:        rb_reload_request (self, &route, req); break;
        case REGIEBUS__API_REQUEST__CALL_KEYS:          rb_reload_keys (self, &route, req); break;
        case REGIEBUS__API_REQUEST__CALL_AUDIT_VERIFY:  s_audit_verify (self, &route, req); break;
        case REGIEBUS__API_REQUEST__CALL_AUDIT_LIST:    s_audit_list (self, &route, req); break;
        default:                                        s_daemon_call (self, &route, req);
    }
    zmsg_destroy (&route);
    rb_wire_free (&req);
}
