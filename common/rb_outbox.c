/*  rb_outbox: per-peer durable send queue; see rb_outbox.h. */
#include "rb_outbox.h"
#include "rb_config.h"

struct _rb_outbox_t {
    rb_store_t *store;      //  not owned
    rb_table_t queue;       //  "outbox": peer NUL seq -> envelope; seq 0: acked; seq all ones: assigned
    rb_table_t legacy;      //  "outstate": peer -> assigned, acked, as earlier versions kept it; read and emptied only
};

//  A peer's two numbers are kept under the two seqs no envelope has, each
//  where the commits that change it write anyway: what was acknowledged
//  before the queue (seq 0), on the leaf page the trims delete from; what
//  was given out after it (all ones), on the leaf its next envelopes go
//  to. Absent, a number is 0.
#define S_ACKED_SEQ 0
#define S_ASSIGNED_SEQ UINT64_MAX

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

//  One of the peer's numbers under its key in "outbox"; *found says it
//  was there.
static rb_err_t
s_number_get (rb_outbox_t *self, rb_txn_t *txn, const char *peer, uint64_t seq, uint64_t *value,
              bool *found)
{
    s_key_t key = s_key (peer, seq);
    rb_val_t stored;
    *value = 0;
    rb_err_t rc = rb_txn_get (txn, self->queue, (rb_val_t) { key.bytes, key.size }, &stored);
    *found = rc == RB_OK;
    if (rc)
        return rc == RB_ENOTFOUND? RB_OK: rc;
    if (stored.size != 8)
        return RB_ESTORE;
    *value = rb_u64_get (stored.data);
    return RB_OK;
}

static rb_err_t
s_number_put (rb_outbox_t *self, rb_txn_t *txn, const char *peer, uint64_t seq, uint64_t value)
{
    s_key_t key = s_key (peer, seq);
    uint8_t bytes [8];
    rb_u64_put (bytes, value);
    return rb_txn_put (txn, self->queue, (rb_val_t) { key.bytes, key.size }, (rb_val_t) { bytes, 8 });
}

//  The peer's numbers, from their keys in "outbox" or else from where an
//  earlier version kept them (*legacy says so: the next write moves them).
static rb_err_t
s_state_get (rb_outbox_t *self, rb_txn_t *txn, const char *peer, rb_outstate_t *state, bool *legacy)
{
    memset (state, 0, sizeof *state);
    *legacy = false;
    bool has_assigned = false, has_acked = false;
    rb_err_t rc = s_number_get (self, txn, peer, S_ASSIGNED_SEQ, &state->assigned, &has_assigned);
    if (!rc)
        rc = s_number_get (self, txn, peer, S_ACKED_SEQ, &state->acked, &has_acked);
    if (!rc && !has_assigned && !has_acked) {
        rb_val_t value;
        rc = rb_txn_get (txn, self->legacy, rb_val_str (peer), &value);
        if (rc == RB_ENOTFOUND)
            return RB_OK;
        if (!rc && value.size != 16)
            rc = RB_ESTORE;
        if (!rc) {
            state->assigned = rb_u64_get (value.data);
            state->acked = rb_u64_get ((const uint8_t *) value.data + 8);
            *legacy = true;
        }
    }
    if (!rc && (state->assigned > RB_WIRE_SEQ_MAX || state->acked > state->assigned))
        rc = RB_ESTORE;
    return rc;
}

rb_err_t
rb_outbox_state (rb_outbox_t *self, rb_txn_t *txn, const char *peer, rb_outstate_t *state)
{
    bool legacy;
    return s_state_get (self, txn, peer, state, &legacy);
}

//  Write one of the peer's numbers (seq says which). A peer still in
//  "outstate" gets both keys and leaves it in the same transaction: never
//  both places at once.
static rb_err_t
s_state_put (rb_outbox_t *self, rb_txn_t *txn, const char *peer, const rb_outstate_t *state,
             uint64_t seq, bool legacy)
{
    rb_err_t rc = RB_OK;
    if (seq == S_ASSIGNED_SEQ || legacy)
        rc = s_number_put (self, txn, peer, S_ASSIGNED_SEQ, state->assigned);
    if (!rc && (seq == S_ACKED_SEQ || legacy))
        rc = s_number_put (self, txn, peer, S_ACKED_SEQ, state->acked);
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
    //  Numbering needs only what was given out: a stream that has its key
    //  is read with one lookup, which the fan-out to many holders feels.
    rb_outstate_t state = { 0, 0 };
    bool legacy = false, found = false;
    rb_err_t rc = s_number_get (self, txn, peer, S_ASSIGNED_SEQ, &state.assigned, &found);
    if (!rc && !found)
        rc = s_state_get (self, txn, peer, &state, &legacy);
    if (!rc && state.assigned > RB_WIRE_SEQ_MAX)
        rc = RB_ESTORE;
    if (!rc && state.assigned == RB_WIRE_SEQ_MAX)
        return rb_refuse (why, RB_EPRECONDITION, "origin_seq",
                          "the stream to %s has given out every origin_seq up to %llu: none is left",
                          peer, (unsigned long long) RB_WIRE_SEQ_MAX);
    if (!rc) {
        envelope->origin_seq = ++state.assigned;
        rc = s_put_envelope (self, txn, peer, envelope);
    }
    if (!rc)
        rc = s_state_put (self, txn, peer, &state, S_ASSIGNED_SEQ, legacy);
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
    //  Stop at a hole (there should be none), at the peer's number after
    //  its queue, or when the batch is full.
    uint64_t seq = rb_u64_get ((const uint8_t *) key.data + c->prefix_len);
    if (seq != c->next_seq || seq == S_ASSIGNED_SEQ || seq == S_ACKED_SEQ
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
    if (after >= RB_WIRE_SEQ_MAX)
        return NULL;            //  no envelope comes after it
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
    return rc? rc: s_state_put (self, txn, peer, &state, S_ACKED_SEQ, legacy);
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
    each->past = seq > each->upto || seq == S_ASSIGNED_SEQ;
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
