/*  rb_inbox: per-origin dedup, gap detection and received events; see rb_inbox.h. */
#include "rb_inbox.h"
#include "rb_config.h"

struct _rb_inbox_t {
    rb_table_t events;              //  "inbox": origin NUL seq -> envelope; seq all ones: last seq
    rb_table_t legacy;              //  "instate": origin -> last seq, as earlier versions kept it; read and emptied only
    rb_table_t dead;                //  "deadletter": origin NUL seq -> refusal + bytes
    char self_name [RB_NAME_MAX + 1]; //  envelopes must be addressed here
    size_t max_payload;             //  largest payload accepted
    rb_inbox_handler_fn *handler;   //  optional per-envelope hook
    void *handler_arg;              //  its argument
    rb_inbox_restart_fn *restart;   //  told when a pass is abandoned
    void *restart_arg;
    rb_audit_t *audit;              //  records every entry processed; NULL none
};

//  An origin's last seq is kept under the seq no envelope has: after the
//  origin's envelopes, on the leaf page its next ones go to.
#define S_STATE_SEQ UINT64_MAX

static size_t
s_key (uint8_t *out, const char *origin, uint64_t seq)
{
    size_t len = strlen (origin);
    memcpy (out, origin, len);
    out [len] = 0;
    rb_u64_put (out + len + 1, seq);
    return len + 9;
}

//  True for the key of an origin's state, which is no received envelope.
static bool
s_is_state (rb_val_t key)
{
    return key.size > 8 && rb_u64_get ((const uint8_t *) key.data + key.size - 8) == S_STATE_SEQ;
}

rb_inbox_t *
rb_inbox_new (rb_store_t *store, const char *self_name, size_t max_payload)
{
    rb_inbox_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->self_name, sizeof self->self_name, "%s", self_name);
    self->max_payload = max_payload;
    if (rb_store_table (store, "inbox", &self->events)
    ||  rb_store_table (store, "instate", &self->legacy)
    ||  rb_store_table (store, "deadletter", &self->dead))
        rb_inbox_destroy (&self);
    return self;
}

void
rb_inbox_destroy (rb_inbox_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

void
rb_inbox_set_restart (rb_inbox_t *self, rb_inbox_restart_fn *restart, void *arg)
{
    self->restart = restart;
    self->restart_arg = arg;
}

void
rb_inbox_set_handler (rb_inbox_t *self, rb_inbox_handler_fn *handler, void *arg)
{
    self->handler = handler;
    self->handler_arg = arg;
}

void
rb_inbox_set_audit (rb_inbox_t *self, rb_audit_t *audit)
{
    self->audit = audit;
}

//  The origin's last seq, from its key in "inbox" or else from where an
//  earlier version kept it (*legacy says so: the next write moves it).
static rb_err_t
s_state_get (rb_inbox_t *self, rb_txn_t *txn, const char *origin, uint64_t *seq, bool *legacy)
{
    uint8_t key [RB_NAME_MAX + 1 + 8];
    rb_val_t value;
    *seq = 0;
    rb_err_t rc = rb_txn_get (txn, self->events, (rb_val_t) { key, s_key (key, origin, S_STATE_SEQ) },
                              &value);
    *legacy = rc == RB_ENOTFOUND;
    if (*legacy)
        rc = rb_txn_get (txn, self->legacy, rb_val_str (origin), &value);
    if (rc == RB_ENOTFOUND)
        *legacy = false;
    if (rc)
        return rc == RB_ENOTFOUND? RB_OK: rc;
    if (value.size != 8 || rb_u64_get (value.data) > RB_WIRE_SEQ_MAX)
        return RB_ESTORE;
    *seq = rb_u64_get (value.data);
    return RB_OK;
}

//  Write the origin's last seq under its key, and drop the copy an
//  earlier version kept in the same transaction: never both at once.
static rb_err_t
s_state_put (rb_inbox_t *self, rb_txn_t *txn, const char *origin, uint64_t seq, bool legacy)
{
    uint8_t key [RB_NAME_MAX + 1 + 8], bytes [8];
    rb_u64_put (bytes, seq);
    rb_err_t rc = rb_txn_put (txn, self->events, (rb_val_t) { key, s_key (key, origin, S_STATE_SEQ) },
                              (rb_val_t) { bytes, 8 });
    if (!rc && legacy)
        rc = rb_txn_del (txn, self->legacy, rb_val_str (origin));
    return rc;
}

rb_err_t
rb_inbox_last (rb_inbox_t *self, rb_txn_t *txn, const char *origin, uint64_t *seq)
{
    bool legacy;
    return s_state_get (self, txn, origin, seq, &legacy);
}

//  Decode and check entry i; fills why and returns NULL when refused.
static Regiebus__Envelope *
s_check_entry (rb_inbox_t *self, const char *origin, const ProtobufCBinaryData *bytes,
               size_t i, uint64_t seq, rb_refusal_t *why)
{
    char prefix [32], field [64];
    snprintf (prefix, sizeof prefix, "envelopes[%zu]", i);
    Regiebus__Envelope *e = rb_wire_envelope_decode (bytes->data, bytes->len);
    if (!e) {
        rb_refuse (why, RB_EMALFORMED, prefix, "%s does not decode as an Envelope", prefix);
        return NULL;
    }
    if (rb_wire_envelope_check (e, prefix, self->max_payload, why) == RB_OK) {
        if (strcmp (e->origin, origin) != 0)
            rb_refuse (why, RB_EDENIED, (snprintf (field, sizeof field, "%s.origin", prefix), field),
                       "%s '%s' is not the sending peer '%s'", field, e->origin, origin);
        else
        if (strcmp (e->destination, self->self_name) != 0)
            rb_refuse (why, RB_EINVALID, (snprintf (field, sizeof field, "%s.destination", prefix), field),
                       "%s '%s' is not this node", field, e->destination);
        else
        if (e->origin_seq != seq)
            rb_refuse (why, RB_ESEQUENCE, (snprintf (field, sizeof field, "%s.origin_seq", prefix), field),
                       "%s %llu does not match its place %llu in the batch", field,
                       (unsigned long long) e->origin_seq, (unsigned long long) seq);
    }
    if (why->code)
        rb_wire_free (&e);
    return e;
}

//  Store a refused entry so that it can be inspected later.
static rb_err_t
s_dead_letter (rb_inbox_t *self, rb_txn_t *txn, const uint8_t *key, size_t key_size,
               const ProtobufCBinaryData *bytes, const rb_refusal_t *why)
{
    size_t size = 4 + sizeof why->field + sizeof why->message + bytes->len;
    uint8_t *value = calloc (1, size);
    if (!value)
        return RB_EINTERNAL;
    value [3] = (uint8_t) why->code;
    memcpy (value + 4, why->field, sizeof why->field);
    memcpy (value + 4 + sizeof why->field, why->message, sizeof why->message);
    if (bytes->len)
        memcpy (value + 4 + sizeof why->field + sizeof why->message, bytes->data, bytes->len);
    rb_err_t rc = rb_txn_put (txn, self->dead, (rb_val_t) { key, key_size }, (rb_val_t) { value, size });
    free (value);
    return rc;
}

//  The audit's record of an entry processed: a valid envelope (code 0),
//  or one about to be a dead letter, named as far as its bytes decode.
static rb_err_t
s_audit_entry (rb_inbox_t *self, rb_txn_t *txn, const char *origin, uint64_t seq,
               const Regiebus__Envelope *e, const ProtobufCBinaryData *bytes, rb_err_t code)
{
    Regiebus__Envelope *decoded = e? NULL: rb_wire_envelope_decode (bytes->data, bytes->len);
    rb_audit_rec_t rec;
    rb_audit_of_envelope (&rec, RB_AUDIT_RECEIVED, origin, e? e: decoded);
    rb_wire_free (&decoded);
    rec.stream_seq = seq;
    rec.code = (uint32_t) code;
    return rb_audit_append (self->audit, txn, &rec);
}

static bool
s_storage_error (rb_err_t rc)
{
    return rc == RB_EFULL || rc == RB_ESTORE || rc == RB_EINTERNAL;
}

//  Envelopes refused in one pass: by the checks, or by the handler (then
//  forced on every later pass).
typedef struct {
    uint64_t seq;
    rb_refusal_t why;
} s_refused_t;

typedef struct {
    s_refused_t *items;
    size_t count, size;
} s_refused_list_t;

static rb_err_t
s_refused_add (s_refused_list_t *list, uint64_t seq, const rb_refusal_t *why)
{
    if (list->count == list->size) {
        size_t size = list->size? list->size * 2: 8;
        s_refused_t *items = realloc (list->items, size * sizeof *items);
        if (!items)
            return RB_EINTERNAL;
        list->items = items;
        list->size = size;
    }
    list->items [list->count].seq = seq;
    list->items [list->count].why = *why;
    list->count++;
    return RB_OK;
}

static const rb_refusal_t *
s_refused_find (const s_refused_list_t *list, uint64_t seq)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items [i].seq == seq)
            return &list->items [i].why;
    return NULL;
}

//  One pass over the batch in txn. When the handler refuses an envelope,
//  *retry gets its seq and why and the pass stops: txn must be discarded.
static rb_err_t
s_apply_pass (rb_inbox_t *self, rb_txn_t *txn, const char *origin, const Regiebus__Batch *batch,
              const s_refused_list_t *forced, s_refused_list_t *refused, s_refused_t *retry,
              rb_batch_result_t *result)
{
    memset (result, 0, sizeof *result);
    refused->count = 0;
    uint64_t last;
    bool legacy;
    rb_err_t rc = s_state_get (self, txn, origin, &last, &legacy);
    uint64_t start = last;
    for (size_t i = 0; i < batch->n_envelopes && !rc; i++) {
        uint64_t seq = batch->first_seq + i;
        if (seq <= last) {
            result->duplicates++;
            continue;
        }
        if (seq > last + 1) {
            result->gap = true;
            break;
        }
        uint8_t key [RB_NAME_MAX + 1 + 8];
        size_t key_size = s_key (key, origin, seq);
        rb_refusal_t why = { 0 };
        const rb_refusal_t *verdict = s_refused_find (forced, seq);
        Regiebus__Envelope *e = NULL;
        if (verdict)
            why = *verdict;
        else
            e = s_check_entry (self, origin, &batch->envelopes [i], i, seq, &why);
        if (self->audit)
            rc = s_audit_entry (self, txn, origin, seq, e, &batch->envelopes [i], why.code);
        if (e && self->handler && !rc) {
            rc = self->handler (txn, e, self->handler_arg, &why);
            if (rc && !s_storage_error (rc)) {
                if (!why.code)
                    rb_refuse (&why, rc, "", "%s", rb_strerror (rc));
                retry->seq = seq;
                retry->why = why;
                rb_wire_free (&e);
                return RB_OK;
            }
        }
        bool valid = e != NULL;
        rb_wire_free (&e);
        if (rc)
            break;
        if (valid) {
            rc = rb_txn_put (txn, self->events, (rb_val_t) { key, key_size },
                             (rb_val_t) { batch->envelopes [i].data, batch->envelopes [i].len });
            result->accepted++;
        }
        else {
            rc = s_dead_letter (self, txn, key, key_size, &batch->envelopes [i], &why);
            if (!rc)
                rc = s_refused_add (refused, seq, &why);
            result->refused++;
        }
        last = seq;
    }
    if (!rc && last != start)
        rc = s_state_put (self, txn, origin, last, legacy);
    result->committed = rc? start: last;
    return rc;
}

rb_err_t
rb_inbox_apply (rb_inbox_t *self, rb_txn_t *txn, const char *origin, const Regiebus__Batch *batch,
                rb_inbox_refused_fn *on_refused, void *arg, rb_batch_result_t *result)
{
    rb_refusal_t why;
    memset (result, 0, sizeof *result);
    if (rb_wire_batch_check (batch, &why))
        return RB_EINVALID;     //  a seq that is no envelope's: none of it
    s_refused_list_t forced = { 0 }, refused = { 0 };
    rb_err_t rc = RB_OK;
    //  Each pass either holds or forces one more refusal: bounded by the batch.
    for (size_t pass = 0; pass <= batch->n_envelopes; pass++) {
        rb_txn_t *child = NULL;
        s_refused_t retry = { 0 };
        rc = rb_txn_child (txn, &child);
        if (!rc)
            rc = s_apply_pass (self, child, origin, batch, &forced, &refused, &retry, result);
        if (!rc && retry.seq) {
            rb_txn_destroy (&child);
            if (self->restart)
                self->restart (self->restart_arg);
            rc = s_refused_add (&forced, retry.seq, &retry.why);
            if (!rc)
                continue;
        }
        if (!rc)
            rc = rb_txn_commit (&child);
        rb_txn_destroy (&child);
        break;
    }
    for (size_t i = 0; !rc && on_refused && i < refused.count; i++)
        on_refused (refused.items [i].seq, &refused.items [i].why, arg);
    free (forced.items);
    free (refused.items);
    return rc;
}

typedef struct {
    rb_visit_fn *visit;
    void *arg;
} s_list_t;

static int
s_list_visit (rb_val_t key, rb_val_t value, void *arg)
{
    s_list_t *list = arg;
    return s_is_state (key)? 0: list->visit (key, value, list->arg);
}

rb_err_t
rb_inbox_list (rb_inbox_t *self, rb_txn_t *txn, const char *origin, uint64_t after,
               rb_visit_fn *visit, void *arg)
{
    uint8_t from [RB_NAME_MAX + 1 + 8];
    size_t from_size = 0, prefix_size = 0;
    if (origin && *origin) {
        if (after >= RB_WIRE_SEQ_MAX)
            return RB_OK;       //  no envelope comes after it
        from_size = s_key (from, origin, after + 1);
        prefix_size = from_size - 8;
    }
    s_list_t list = { visit, arg };
    return rb_txn_scan (txn, self->events, (rb_val_t) { from, from_size },
                        (rb_val_t) { from, prefix_size }, s_list_visit, &list);
}
