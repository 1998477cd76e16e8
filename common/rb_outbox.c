/*  rb_outbox: per-peer durable send queue; see rb_outbox.h. */
#include "rb_outbox.h"
#include "rb_config.h"

struct _rb_outbox_t {
    rb_store_t *store;      //  not owned
    rb_table_t queue;       //  "outbox": peer NUL seq -> envelope; seq all ones: assigned, acked
    rb_table_t legacy;      //  "outstate": peer -> assigned, acked, as earlier versions kept it; read and emptied only
};

//  A peer's numbers are kept under the seq no envelope has: after its
//  queue, on the leaf page its next envelopes go to.
#define S_STATE_SEQ UINT64_MAX

//  Keys are the peer name, a NUL, and the sequence number big-endian, so a
//  peer's envelopes are contiguous and in order, its numbers last.
typedef struct {
    uint8_t bytes [RB_NAME_MAX + 1 + 8];
    size_t size;
} s_key_t;

static s_key_t
s_key (const char *peer, uint64_t seq)
{
    s_key_t key;
    size_t len = strlen (peer);
    memcpy (key.bytes, peer, len);
    key.bytes [len] = 0;
    rb_u64_put (key.bytes + len + 1, seq);
    key.size = len + 9;
    return key;
}

rb_outbox_t *
rb_outbox_new (rb_store_t *store)
{
    rb_outbox_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    if (rb_store_table (store, "outbox", &self->queue)
    ||  rb_store_table (store, "outstate", &self->legacy))
        rb_outbox_destroy (&self);
    return self;
}

void
rb_outbox_destroy (rb_outbox_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  The peer's numbers, from their key in "outbox" or else from where an
//  earlier version kept them (*legacy says so: the next write moves them).
static rb_err_t
s_state_get (rb_outbox_t *self, rb_txn_t *txn, const char *peer, rb_outstate_t *state, bool *legacy)
{
    s_key_t key = s_key (peer, S_STATE_SEQ);
    rb_val_t value;
    memset (state, 0, sizeof *state);
    rb_err_t rc = rb_txn_get (txn, self->queue, (rb_val_t) { key.bytes, key.size }, &value);
    *legacy = rc == RB_ENOTFOUND;
    if (*legacy)
        rc = rb_txn_get (txn, self->legacy, rb_val_str (peer), &value);
    if (rc == RB_ENOTFOUND)
        *legacy = false;
    if (rc)
        return rc == RB_ENOTFOUND? RB_OK: rc;
    if (value.size != 16 || rb_u64_get (value.data) > RB_WIRE_SEQ_MAX)
        return RB_ESTORE;
    state->assigned = rb_u64_get (value.data);
    state->acked = rb_u64_get ((const uint8_t *) value.data + 8);
    return RB_OK;
}

rb_err_t
rb_outbox_state (rb_outbox_t *self, rb_txn_t *txn, const char *peer, rb_outstate_t *state)
{
    bool legacy;
    return s_state_get (self, txn, peer, state, &legacy);
}

//  Write the peer's numbers under their key, and drop the copy an earlier
//  version kept in the same transaction: never both at once.
static rb_err_t
s_state_put (rb_outbox_t *self, rb_txn_t *txn, const char *peer, const rb_outstate_t *state,
             bool legacy)
{
    s_key_t key = s_key (peer, S_STATE_SEQ);
    uint8_t bytes [16];
    rb_u64_put (bytes, state->assigned);
    rb_u64_put (bytes + 8, state->acked);
    rb_err_t rc = rb_txn_put (txn, self->queue, (rb_val_t) { key.bytes, key.size }, (rb_val_t) { bytes, 16 });
    if (!rc && legacy)
        rc = rb_txn_del (txn, self->legacy, rb_val_str (peer));
    return rc;
}

//  Pack envelope and put it under its origin_seq in peer's queue.
static rb_err_t
s_put_envelope (rb_outbox_t *self, rb_txn_t *txn, const char *peer, const Regiebus__Envelope *envelope)
{
    size_t size = regiebus__envelope__get_packed_size (envelope);
    uint8_t *packed = malloc (size? size: 1);
    if (!packed)
        return RB_EINTERNAL;
    regiebus__envelope__pack (envelope, packed);
    s_key_t key = s_key (peer, envelope->origin_seq);
    rb_err_t rc = rb_txn_put (txn, self->queue, (rb_val_t) { key.bytes, key.size }, (rb_val_t) { packed, size });
    free (packed);
    return rc;
}

rb_err_t
rb_outbox_append (rb_outbox_t *self, rb_txn_t *txn, const char *peer, Regiebus__Envelope *envelope,
                  rb_refusal_t *why)
{
    rb_outstate_t state;
    bool legacy;
    rb_err_t rc = s_state_get (self, txn, peer, &state, &legacy);
    if (!rc && state.assigned == RB_WIRE_SEQ_MAX)
        return rb_refuse (why, RB_EPRECONDITION, "origin_seq",
                          "the stream to %s has given out every origin_seq up to %llu: none is left",
                          peer, (unsigned long long) RB_WIRE_SEQ_MAX);
    if (!rc) {
        envelope->origin_seq = ++state.assigned;
        rc = s_put_envelope (self, txn, peer, envelope);
    }
    if (!rc)
        rc = s_state_put (self, txn, peer, &state, legacy);
    if (rc)
        rb_refuse (why, rc, "", "%s", rc == RB_EINTERNAL? "out of memory": rb_store_errmsg (self->store));
    return rc;
}

//  Collects up to max_count envelopes for a batch, pointing into the map.
typedef struct {
    ProtobufCBinaryData *items;
    size_t count, max_count, bytes, max_bytes;
    uint64_t next_seq;
    size_t prefix_len;
} s_collect_t;

static int
s_collect (rb_val_t key, rb_val_t value, void *arg)
{
    s_collect_t *c = arg;
    //  Stop at a hole (there should be none), at the peer's numbers after
    //  its queue, or when the batch is full.
    uint64_t seq = rb_u64_get ((const uint8_t *) key.data + c->prefix_len);
    if (seq != c->next_seq || seq == S_STATE_SEQ
    ||  c->count == c->max_count || (c->count && c->bytes + value.size > c->max_bytes))
        return 1;
    c->items [c->count].data = (uint8_t *) value.data;
    c->items [c->count].len = value.size;
    c->count++;
    c->next_seq++;
    c->bytes += value.size;
    return 0;
}

zframe_t *
rb_outbox_batch (rb_outbox_t *self, rb_txn_t *txn, const char *peer, uint64_t after,
                 size_t max_count, size_t max_bytes, size_t *count, rb_err_t *err)
{
    *count = 0;
    *err = RB_OK;
    s_collect_t c = { .max_count = max_count, .max_bytes = max_bytes, .next_seq = after + 1,
                      .prefix_len = strlen (peer) + 1 };
    c.items = calloc (max_count, sizeof *c.items);
    if (!c.items) {
        *err = RB_EINTERNAL;
        return NULL;
    }
    s_key_t from = s_key (peer, after + 1);
    rb_err_t rc = rb_txn_scan (txn, self->queue, (rb_val_t) { from.bytes, from.size },
                               (rb_val_t) { from.bytes, c.prefix_len }, s_collect, &c);
    zframe_t *frame = NULL;
    if (rc && rc != 1)
        *err = rc;
    else
    if (c.count) {
        Regiebus__Batch batch = REGIEBUS__BATCH__INIT;
        batch.first_seq = after + 1;
        batch.n_envelopes = c.count;
        batch.envelopes = c.items;
        Regiebus__LinkFrame link = REGIEBUS__LINK_FRAME__INIT;
        link.version = RB_WIRE_VERSION;
        link.body_case = REGIEBUS__LINK_FRAME__BODY_BATCH;
        link.batch = &batch;
        frame = rb_wire_frame (&link.base);
        *count = c.count;
    }
    free (c.items);
    return frame;
}

rb_err_t
rb_outbox_ack (rb_outbox_t *self, rb_txn_t *txn, const char *peer, uint64_t upto)
{
    rb_outstate_t state;
    bool legacy;
    rb_err_t rc = s_state_get (self, txn, peer, &state, &legacy);
    if (rc || upto <= state.acked)
        return rc;
    if (upto > state.assigned)
        return RB_EINVALID;
    for (uint64_t seq = state.acked + 1; seq <= upto && !rc; seq++) {
        s_key_t key = s_key (peer, seq);
        rc = rb_txn_del (txn, self->queue, (rb_val_t) { key.bytes, key.size });
    }
    state.acked = upto;
    return rc? rc: s_state_put (self, txn, peer, &state, legacy);
}

typedef struct {
    size_t prefix;                  //  bytes of the peer's key prefix
    uint64_t upto;
    rb_outbox_visit_fn *visit;
    void *arg;
    bool past;                      //  the walk went beyond upto
} s_each_t;

static int
s_each_visit (rb_val_t key, rb_val_t value, void *arg)
{
    s_each_t *each = arg;
    if (key.size != each->prefix + 8)
        return 0;
    uint64_t seq = rb_u64_get ((const uint8_t *) key.data + each->prefix);
    each->past = seq > each->upto || seq == S_STATE_SEQ;
    return each->past? 1: (int) each->visit (seq, value, each->arg);
}

rb_err_t
rb_outbox_each (rb_outbox_t *self, rb_txn_t *txn, const char *peer, uint64_t after, uint64_t upto,
                rb_outbox_visit_fn *visit, void *arg)
{
    if (after >= RB_WIRE_SEQ_MAX)
        return RB_OK;           //  no envelope comes after it
    s_key_t from = s_key (peer, after + 1);
    s_each_t each = { from.size - 8, upto, visit, arg, false };
    rb_err_t rc = rb_txn_scan (txn, self->queue, (rb_val_t) { from.bytes, from.size },
                               (rb_val_t) { from.bytes, from.size - 8 }, s_each_visit, &each);
    return each.past? RB_OK: rc;
}

int64_t
rb_outbox_oldest (rb_outbox_t *self, rb_txn_t *txn, const char *peer, uint64_t acked)
{
    rb_outstate_t state;
    if (rb_outbox_state (self, txn, peer, &state))
        return 0;
    if (acked < state.acked)
        acked = state.acked;
    if (acked >= state.assigned)
        return 0;
    s_key_t key = s_key (peer, acked + 1);
    rb_val_t value;
    if (rb_txn_get (txn, self->queue, (rb_val_t) { key.bytes, key.size }, &value))
        return 0;
    Regiebus__Envelope *e = rb_wire_envelope_decode (value.data, value.size);
    int64_t at = e? e->recorded_at_ms: 0;
    rb_wire_free (&e);
    return at;
}
