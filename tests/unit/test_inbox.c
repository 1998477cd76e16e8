/*  unit_inbox: the receiver's half of the delivery protocol (rb_inbox.h).
 *
 *  The node "mun-a" receives batches from its peers. Per origin it keeps
 *  the last seq processed: entries at or below it are duplicates, a batch
 *  that starts beyond the next one is a gap and changes nothing, and each
 *  next entry is either stored as received or, when it does not check out,
 *  kept as a dead letter with its refusal, so that the stream moves on.
 *  The last seq lives in the "inbox" table itself, under origin NUL 0xff
 *  x 8 after the origin's envelopes; a store of an earlier version keeps
 *  it in "instate", and carries on from there.
 */
#include "rb_test.h"
#include "rb_inbox.h"

#define SELF "mun-a"
#define MAX_PAYLOAD 64

static rb_store_t *s_store;
static rb_inbox_t *s_inbox;

// ---------------------------------------------------------------------------
//  Batches as a peer would send them

typedef struct {
    ProtobufCBinaryData items [16];     //  packed envelopes, owned
    Regiebus__Batch msg;                //  points at items
} s_batch_t;

static void
s_batch_new (s_batch_t *self, uint64_t first_seq)
{
    memset (self, 0, sizeof *self);
    regiebus__batch__init (&self->msg);
    self->msg.first_seq = first_seq;
    self->msg.envelopes = self->items;
}

static void
s_batch_add (s_batch_t *self, const Regiebus__Envelope *e)
{
    self->items [self->msg.n_envelopes++] = rb_test_pack (e);
}

static void
s_batch_add_bytes (s_batch_t *self, const char *bytes)
{
    ProtobufCBinaryData *item = &self->items [self->msg.n_envelopes++];
    item->len = strlen (bytes);
    item->data = (uint8_t *) strdup (bytes);
}

//  count valid envelopes from origin to SELF, numbered from first_seq.
static void
s_batch_valid (s_batch_t *self, const char *origin, uint64_t first_seq, int count)
{
    s_batch_new (self, first_seq);
    for (int i = 0; i < count; i++) {
        rb_test_envelope_t env;
        rb_test_envelope (&env, origin, SELF, first_seq + i, 1700000000000 + i);
        s_batch_add (self, &env.msg);
    }
}

static void
s_batch_destroy (s_batch_t *self)
{
    for (size_t i = 0; i < self->msg.n_envelopes; i++)
        free (self->items [i].data);
    self->msg.n_envelopes = 0;
}

// ---------------------------------------------------------------------------
//  What the inbox reports and holds

//  Records every refusal reported through on_refused.
typedef struct {
    uint64_t seq [16];
    rb_refusal_t why [16];
    int count;
} s_refusals_t;

static void
s_on_refused (uint64_t seq, const rb_refusal_t *why, void *arg)
{
    s_refusals_t *self = arg;
    if (self->count < 16) {
        self->seq [self->count] = seq;
        self->why [self->count] = *why;
    }
    self->count++;
}

//  Apply a batch from origin in a write transaction of its own, committed
//  when apply succeeds and destroyed when it fails (as a node does).
static rb_err_t
s_apply (const char *origin, s_batch_t *batch, s_refusals_t *refusals, rb_batch_result_t *result)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    if (refusals)
        memset (refusals, 0, sizeof *refusals);
    rb_err_t rc = rb_inbox_apply (s_inbox, txn, origin, &batch->msg,
                                  refusals? s_on_refused: NULL, refusals, result);
    if (rc == RB_OK)
        CHECK_INT (rb_txn_commit (&txn), RB_OK);
    rb_txn_destroy (&txn);
    return rc;
}

static uint64_t
s_last (const char *origin)
{
    rb_txn_t *txn;
    uint64_t seq = 99;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_inbox_last (s_inbox, txn, origin, &seq), RB_OK);
    rb_txn_destroy (&txn);
    return seq;
}

//  Collects (origin, seq) of listed envelopes; stops after stop_after.
typedef struct {
    char origin [32][RB_NAME_MAX + 1];
    uint64_t seq [32];
    int count;
    int stop_after;
} s_listed_t;

static int
s_visit (rb_val_t key, rb_val_t value, void *arg)
{
    s_listed_t *self = arg;
    (void) key;
    Regiebus__Envelope *e = rb_wire_envelope_decode (value.data, value.size);
    if (!e)
        return -1;
    if (self->count < 32) {
        snprintf (self->origin [self->count], sizeof self->origin [0], "%s", e->origin);
        self->seq [self->count] = e->origin_seq;
    }
    self->count++;
    rb_wire_free (&e);
    return self->stop_after && self->count == self->stop_after? 1: 0;
}

static s_listed_t
s_list (const char *origin, uint64_t after)
{
    s_listed_t listed = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_inbox_list (s_inbox, txn, origin, after, s_visit, &listed), RB_OK);
    rb_txn_destroy (&txn);
    return listed;
}

//  True when a dead letter for (origin, seq) holds text and ends with bytes.
static bool
s_dead_letter (const char *origin, uint64_t seq, const char *text, const ProtobufCBinaryData *bytes)
{
    rb_table_t dead;
    CHECK_INT (rb_store_table (s_store, "deadletter", &dead), RB_OK);
    uint8_t key [RB_NAME_MAX + 9];
    size_t len = strlen (origin);
    memcpy (key, origin, len + 1);
    rb_u64_put (key + len + 1, seq);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    rb_val_t value;
    bool found = rb_txn_get (txn, dead, (rb_val_t) { key, len + 9 }, &value) == RB_OK
              && memmem (value.data, value.size, text, strlen (text)) != NULL
              && value.size >= bytes->len
              && memcmp ((const uint8_t *) value.data + value.size - bytes->len, bytes->data, bytes->len) == 0;
    rb_txn_destroy (&txn);
    return found;
}

// ---------------------------------------------------------------------------
//  The tables as stored, read and written past the inbox

#define NEW RB_TEST_STATE_NEW
#define OLD RB_TEST_STATE_OLD

//  origin's last seq is seq, and is kept where says, and only there:
//  NEW under its key in "inbox", OLD in "instate", 0 nowhere (seq 0).
#define CHECK_STORED(origin, where, seq) s_check_stored ((origin), (where), (seq), __LINE__)

static void
s_check_stored (const char *origin, int where, uint64_t seq, int line)
{
    uint8_t bytes [8] = { 0 };
    int found = rb_test_state_where (s_store, "inbox", "instate", origin, bytes, 8);
    rb_test_count ();
    if (found != where || rb_u64_get (bytes) != seq)
        rb_test_fail (__FILE__, line, "%s's last seq is %llu in %s, expected %llu in %s", origin,
                      (unsigned long long) rb_u64_get (bytes), rb_test_state_where_name (found),
                      (unsigned long long) seq, rb_test_state_where_name (where));
}

//  Write origin's last seq, and its envelopes 1 to last, as an earlier
//  version did: envelopes in "inbox", the number in "instate".
static void
s_legacy_origin (const char *origin, uint64_t last)
{
    uint8_t key [RB_NAME_MAX + 9], number [8];
    for (uint64_t seq = 1; seq <= last; seq++) {
        rb_test_envelope_t env;
        rb_test_envelope (&env, origin, SELF, seq, 1700000000000);
        ProtobufCBinaryData bytes = rb_test_pack (&env.msg);
        rb_test_raw_put (s_store, "inbox", rb_test_seq_key (key, origin, seq),
                         (rb_val_t) { bytes.data, bytes.len });
        free (bytes.data);
    }
    rb_u64_put (number, last);
    rb_test_raw_put (s_store, "instate", rb_val_str (origin), (rb_val_t) { number, 8 });
}

//  Set origin's last seq directly under its key in "inbox".
static void
s_state_set (const char *origin, uint64_t seq)
{
    uint8_t key [RB_NAME_MAX + 9], number [8];
    rb_u64_put (number, seq);
    rb_test_raw_put (s_store, "inbox", rb_test_seq_key (key, origin, UINT64_MAX), (rb_val_t) { number, 8 });
}

// ---------------------------------------------------------------------------

static void
s_test_in_order (void)
{
    rb_test_section ("a batch in order is stored as received");
    CHECK_UINT (s_last ("school-a"), 0);
    s_batch_t batch;
    s_batch_valid (&batch, "school-a", 1, 3);
    rb_batch_result_t result;
    s_refusals_t refusals;
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.accepted, 3);
    CHECK_UINT (result.committed, 3);
    CHECK_UINT (result.duplicates, 0);
    CHECK_UINT (result.refused, 0);
    CHECK (!result.gap);
    CHECK_INT (refusals.count, 0);
    CHECK_UINT (s_last ("school-a"), 3);
    s_listed_t listed = s_list ("school-a", 0);
    CHECK_INT (listed.count, 3);
    for (int i = 0; i < 3; i++) {
        CHECK_STR (listed.origin [i], "school-a");
        CHECK_UINT (listed.seq [i], i + 1);
    }

    rb_test_section ("the same batch again: all duplicates, nothing new");
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.duplicates, 3);
    CHECK_UINT (result.accepted, 0);
    CHECK_UINT (result.refused, 0);
    CHECK_UINT (result.committed, 3);
    CHECK (!result.gap);
    CHECK_INT (refusals.count, 0);
    CHECK_INT (s_list ("school-a", 0).count, 3);
    s_batch_destroy (&batch);

    rb_test_section ("a batch that overlaps: the old part skipped, the new part stored");
    s_batch_valid (&batch, "school-a", 2, 4);              //  2, 3, 4, 5
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.duplicates, 2);
    CHECK_UINT (result.accepted, 2);
    CHECK_UINT (result.committed, 5);
    s_batch_destroy (&batch);
    CHECK_INT (s_list ("school-a", 0).count, 5);

    rb_test_section ("an empty batch changes nothing");
    s_batch_new (&batch, 6);
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.committed, 5);
    CHECK_UINT (result.accepted + result.duplicates + result.refused, 0);
    CHECK (!result.gap);
}

static void
s_test_gap (void)
{
    rb_test_section ("a batch that skips ahead is a gap: nothing stored");
    s_batch_t batch;
    s_batch_valid (&batch, "school-a", 7, 2);              //  6 is missing
    rb_batch_result_t result;
    s_refusals_t refusals;
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK (result.gap);
    CHECK_UINT (result.committed, 5);
    CHECK_UINT (result.accepted, 0);
    CHECK_UINT (result.refused, 0);
    CHECK_INT (refusals.count, 0);
    CHECK_UINT (s_last ("school-a"), 5);
    CHECK_INT (s_list ("school-a", 0).count, 5);
    s_batch_destroy (&batch);
}

static void
s_test_refused (void)
{
    rb_test_section ("invalid envelopes become dead letters; the stream moves on");
    //  seq:  6 valid | 7 wrong origin | 8 wrong destination | 9 says it is 42
    //       10 version 2 | 11 not an envelope | 12 payload too large
    //       13 no pseudonym | 14 valid
    s_batch_t batch;
    s_batch_new (&batch, 6);
    rb_test_envelope_t env;
    rb_test_envelope (&env, "school-a", SELF, 6, 1);
    s_batch_add (&batch, &env.msg);
    rb_test_envelope (&env, "care-b", SELF, 7, 1);
    s_batch_add (&batch, &env.msg);
    rb_test_envelope (&env, "school-a", "mun-z", 8, 1);
    s_batch_add (&batch, &env.msg);
    rb_test_envelope (&env, "school-a", SELF, 42, 1);
    s_batch_add (&batch, &env.msg);
    rb_test_envelope (&env, "school-a", SELF, 10, 1);
    env.msg.version = 2;
    s_batch_add (&batch, &env.msg);
    s_batch_add_bytes (&batch, "\xff\xff\xff this is not protobuf");
    rb_test_envelope (&env, "school-a", SELF, 12, 1);
    static uint8_t big [MAX_PAYLOAD + 1];
    env.msg.payload.data = big;
    env.msg.payload.len = sizeof big;
    s_batch_add (&batch, &env.msg);
    rb_test_envelope (&env, "school-a", SELF, 13, 1);
    env.msg.case_pseudonym = "";
    s_batch_add (&batch, &env.msg);
    rb_test_envelope (&env, "school-a", SELF, 14, 1);
    s_batch_add (&batch, &env.msg);

    rb_batch_result_t result;
    s_refusals_t refusals;
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.accepted, 2);
    CHECK_UINT (result.refused, 7);
    CHECK_UINT (result.duplicates, 0);
    CHECK_UINT (result.committed, 14);
    CHECK (!result.gap);
    CHECK_INT (refusals.count, 7);
    struct { uint64_t seq; rb_err_t code; const char *field; } expected [] = {
        {  7, RB_EDENIED,    "envelopes[1].origin" },
        {  8, RB_EINVALID,   "envelopes[2].destination" },
        {  9, RB_ESEQUENCE,  "envelopes[3].origin_seq" },
        { 10, RB_EVERSION,   "envelopes[4].version" },
        { 11, RB_EMALFORMED, "envelopes[5]" },
        { 12, RB_ETOOLARGE,  "envelopes[6].payload" },
        { 13, RB_EMISSING,   "envelopes[7].case_pseudonym" },
    };
    for (int i = 0; i < 7; i++) {
        CHECK_UINT (refusals.seq [i], expected [i].seq);
        CHECK_REFUSAL (&refusals.why [i], expected [i].code, expected [i].field);
    }
    //  The sequence number of every refused entry is consumed...
    CHECK_UINT (s_last ("school-a"), 14);
    //  ...only the valid ones are listed as received...
    s_listed_t listed = s_list ("school-a", 5);
    CHECK_INT (listed.count, 2);
    CHECK_UINT (listed.seq [0], 6);
    CHECK_UINT (listed.seq [1], 14);
    //  ...and each refused one is kept with its reason and its bytes.
    for (int i = 0; i < 7; i++)
        CHECK (s_dead_letter ("school-a", expected [i].seq, expected [i].field, &batch.items [i + 1]));

    rb_test_section ("a resent batch with refused entries is all duplicates");
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.duplicates, 9);
    CHECK_UINT (result.refused, 0);
    CHECK_INT (refusals.count, 0);
    s_batch_destroy (&batch);

    rb_test_section ("refusals need no callback");
    s_batch_new (&batch, 15);
    rb_test_envelope (&env, "school-a", SELF, 99, 1);
    s_batch_add (&batch, &env.msg);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_inbox_apply (s_inbox, txn, "school-a", &batch.msg, NULL, NULL, &result), RB_OK);
    CHECK_UINT (result.refused, 1);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    CHECK_UINT (s_last ("school-a"), 15);
    s_batch_destroy (&batch);
}

//  A daemon's handler: derives a record from each accepted envelope in the
//  same transaction; fails like storage on fail_on, and refuses refuse_on
//  (after writing, to show that its writes go with the refusal).
typedef struct {
    rb_table_t derived;
    uint64_t seen [16];
    int count;
    uint64_t fail_on;
    uint64_t refuse_on;
} s_handler_t;

static rb_err_t
s_handler (rb_txn_t *txn, const Regiebus__Envelope *e, void *arg, rb_refusal_t *why)
{
    s_handler_t *self = arg;
    if (self->count < 16)
        self->seen [self->count] = e->origin_seq;
    self->count++;
    if (e->origin_seq == self->fail_on)
        return RB_EINTERNAL;
    uint8_t key [8];
    rb_u64_put (key, e->origin_seq);
    rb_err_t rc = rb_txn_put (txn, self->derived, (rb_val_t) { key, 8 }, rb_val_str (e->origin));
    if (!rc && e->origin_seq == self->refuse_on)
        return rb_refuse (why, RB_EINVALID, "payload", "payload makes no sense to this daemon");
    return rc;
}

static bool
s_derived (s_handler_t *handler, uint64_t seq)
{
    uint8_t key [8];
    rb_u64_put (key, seq);
    rb_txn_t *txn;
    rb_val_t value;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    bool found = rb_txn_get (txn, handler->derived, (rb_val_t) { key, 8 }, &value) == RB_OK;
    rb_txn_destroy (&txn);
    return found;
}

static void
s_test_handler (void)
{
    rb_test_section ("the handler sees each accepted envelope inside the transaction");
    s_handler_t handler = { .count = 0 };
    CHECK_INT (rb_store_table (s_store, "derived", &handler.derived), RB_OK);
    rb_inbox_set_handler (s_inbox, s_handler, &handler);
    s_batch_t batch;
    s_batch_new (&batch, 15);                              //  15 is a duplicate by now
    rb_test_envelope_t env;
    for (uint64_t seq = 15; seq <= 17; seq++) {
        rb_test_envelope (&env, "school-a", SELF, seq, 1);
        if (seq == 17)
            env.msg.kind = 0;                              //  refused: not handled
        s_batch_add (&batch, &env.msg);
    }
    rb_test_envelope (&env, "school-a", SELF, 18, 1);
    s_batch_add (&batch, &env.msg);
    rb_batch_result_t result;
    s_refusals_t refusals;
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.accepted, 2);
    CHECK_INT (handler.count, 2);
    CHECK_UINT (handler.seen [0], 16);
    CHECK_UINT (handler.seen [1], 18);
    CHECK (s_derived (&handler, 16));
    CHECK (s_derived (&handler, 18));
    CHECK (!s_derived (&handler, 17));
    s_batch_destroy (&batch);

    rb_test_section ("a handler error fails the batch; its transaction keeps nothing");
    //  As the node does it: one child transaction per batch inside the
    //  group transaction, destroyed when the batch fails.
    s_batch_valid (&batch, "school-a", 19, 3);
    handler.count = 0;
    handler.fail_on = 20;
    rb_txn_t *group, *child;
    CHECK_INT (rb_txn_begin (s_store, true, &group), RB_OK);
    CHECK_INT (rb_txn_child (group, &child), RB_OK);
    memset (&refusals, 0, sizeof refusals);
    CHECK_INT (rb_inbox_apply (s_inbox, child, "school-a", &batch.msg, s_on_refused, &refusals, &result),
               RB_EINTERNAL);
    rb_txn_destroy (&child);
    CHECK_INT (handler.count, 2);                          //  19, then 20 failed
    uint64_t last;
    CHECK_INT (rb_inbox_last (s_inbox, group, "school-a", &last), RB_OK);
    CHECK_UINT (last, 18);
    CHECK_INT (rb_txn_commit (&group), RB_OK);
    CHECK_UINT (s_last ("school-a"), 18);
    CHECK (!s_derived (&handler, 19));
    CHECK_INT (s_list ("school-a", 18).count, 0);

    rb_test_section ("the same batch, once the handler recovers, goes through");
    handler.fail_on = 0;
    handler.count = 0;
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.accepted, 3);
    CHECK_INT (handler.count, 3);
    CHECK (s_derived (&handler, 19));
    CHECK (s_derived (&handler, 21));
    s_batch_destroy (&batch);

    rb_test_section ("a handler's refusal dead-letters that envelope only, and undoes its writes");
    s_batch_valid (&batch, "school-a", 22, 3);
    handler.count = 0;
    handler.refuse_on = 23;
    memset (&refusals, 0, sizeof refusals);
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.accepted, 2);
    CHECK_UINT (result.refused, 1);
    CHECK_UINT (result.committed, 24);
    //  22, 23 (refused: the pass is discarded), then 22 again and 24; 23 is
    //  not offered to the handler a second time.
    CHECK_INT (handler.count, 4);
    CHECK_UINT (handler.seen [0], 22);
    CHECK_UINT (handler.seen [1], 23);
    CHECK_UINT (handler.seen [2], 22);
    CHECK_UINT (handler.seen [3], 24);
    CHECK_INT (refusals.count, 1);
    CHECK (s_derived (&handler, 22));
    CHECK (!s_derived (&handler, 23));                     //  written, then undone
    CHECK (s_derived (&handler, 24));
    CHECK_INT (s_list ("school-a", 21).count, 2);          //  23 is no received event
    handler.refuse_on = 0;
    s_batch_destroy (&batch);

    rb_test_section ("without a handler nothing is derived");
    rb_inbox_set_handler (s_inbox, NULL, NULL);
    handler.count = 0;
    s_batch_valid (&batch, "school-a", 25, 1);
    CHECK_INT (s_apply ("school-a", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.accepted, 1);
    CHECK_INT (handler.count, 0);
    CHECK (!s_derived (&handler, 25));
    s_batch_destroy (&batch);
}

static void
s_test_list (void)
{
    rb_test_section ("listing: one origin after a seq, or every origin");
    s_batch_t batch;
    s_batch_valid (&batch, "care-b", 1, 2);
    rb_batch_result_t result;
    s_refusals_t refusals;
    CHECK_INT (s_apply ("care-b", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.accepted, 2);
    s_batch_destroy (&batch);
    //  An origin whose name starts like another's is its own stream.
    s_batch_valid (&batch, "care", 1, 1);
    CHECK_INT (s_apply ("care", &batch, &refusals, &result), RB_OK);
    s_batch_destroy (&batch);
    CHECK_UINT (s_last ("care-b"), 2);
    CHECK_UINT (s_last ("care"), 1);
    CHECK_UINT (s_last ("school-a"), 25);
    CHECK_UINT (s_last ("nobody"), 0);

    s_listed_t listed = s_list ("care-b", 0);
    CHECK_INT (listed.count, 2);
    CHECK_STR (listed.origin [1], "care-b");
    CHECK_INT (s_list ("care-b", 1).count, 1);
    CHECK_INT (s_list ("care-b", 2).count, 0);
    CHECK_INT (s_list ("care", 0).count, 1);
    CHECK_INT (s_list ("nobody", 0).count, 0);
    listed = s_list ("school-a", 17);
    CHECK_INT (listed.count, 7);                           //  18-22, 24, 25 (23 refused)
    CHECK_UINT (listed.seq [0], 18);
    CHECK_UINT (listed.seq [4], 22);
    CHECK_UINT (listed.seq [5], 24);

    //  Every origin, in (origin, seq) order: care, care-b, school-a.
    listed = s_list ("", 0);
    //  school-a: 1-6, 14, 16, 18-22, 24, 25 = 15 received
    CHECK_INT (listed.count, 1 + 2 + 15);
    CHECK_STR (listed.origin [0], "care");
    CHECK_STR (listed.origin [1], "care-b");
    CHECK_UINT (listed.seq [2], 2);
    CHECK_STR (listed.origin [3], "school-a");
    CHECK_UINT (listed.seq [3], 1);
    CHECK_UINT (listed.seq [15], 22);

    rb_test_section ("a visitor stops the listing");
    listed = (s_listed_t) { .count = 0, .stop_after = 4 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_inbox_list (s_inbox, txn, "", 0, s_visit, &listed), 1);
    CHECK_INT (listed.count, 4);
    rb_txn_destroy (&txn);
}

//  The keys under origin in "inbox", as stored: how many, the seq of the
//  last and of the one before it.
typedef struct {
    int count;
    uint64_t last, before_last;
} s_keys_t;

static int
s_keys_visit (rb_val_t key, rb_val_t value, void *arg)
{
    (void) value;
    s_keys_t *keys = arg;
    keys->count++;
    keys->before_last = keys->last;
    keys->last = rb_u64_get ((const uint8_t *) key.data + key.size - 8);
    return 0;
}

static s_keys_t
s_keys (const char *origin)
{
    s_keys_t keys = { 0 };
    uint8_t from [RB_NAME_MAX + 9];
    rb_val_t key = rb_test_seq_key (from, origin, 0);
    rb_table_t table;
    rb_txn_t *txn;
    CHECK_INT (rb_store_table (s_store, "inbox", &table), RB_OK);
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_txn_scan (txn, table, key, (rb_val_t) { from, key.size - 8 }, s_keys_visit, &keys), RB_OK);
    rb_txn_destroy (&txn);
    return keys;
}

static void
s_test_state_key (void)
{
    rb_test_section ("the last seq is kept in the inbox table, after the origin's envelopes");
    //  Nothing goes to the table of earlier versions.
    CHECK_STORED ("school-a", NEW, 25);
    CHECK_STORED ("care-b", NEW, 2);
    CHECK_STORED ("care", NEW, 1);
    CHECK_STORED ("nobody", 0, 0);

    rb_test_section ("listings never take a last seq for an envelope");
    //  The state key sorts right after the origin's envelopes...
    s_keys_t keys = s_keys ("school-a");
    CHECK_INT (keys.count, 15 + 1);
    CHECK_UINT (keys.last, UINT64_MAX);
    CHECK_UINT (keys.before_last, 25);
    //  ...and every listing passes them by: each visit decodes as an
    //  envelope (s_visit fails the listing otherwise), in order.
    CHECK_INT (s_list ("", 0).count, 1 + 2 + 15);
    s_listed_t listed = s_list ("school-a", 24);
    CHECK_INT (listed.count, 1);
    CHECK_UINT (listed.seq [0], 25);
    CHECK_INT (s_list ("school-a", 25).count, 0);
    CHECK_INT (s_list ("school-a", RB_WIRE_SEQ_MAX).count, 0);
    //  After the seq of all ones there is nothing, not everything again.
    CHECK_INT (s_list ("school-a", UINT64_MAX).count, 0);
    listed = s_list ("care", 0);
    CHECK_INT (listed.count, 1);
    CHECK_STR (listed.origin [0], "care");
}

static void
s_test_last_seq (void)
{
    rb_test_section ("the seq of all ones is never an envelope's: a batch that reaches it is refused");
    //  An origin that has come to the end of its numbers (set directly).
    s_state_set ("far", RB_WIRE_SEQ_MAX - 1);
    CHECK_UINT (s_last ("far"), RB_WIRE_SEQ_MAX - 1);
    s_batch_t batch;
    rb_batch_result_t result;
    s_refusals_t refusals;
    s_batch_valid (&batch, "far", RB_WIRE_SEQ_MAX, 2);     //  the second would be all ones
    CHECK_INT (s_apply ("far", &batch, &refusals, &result), RB_EINVALID);
    s_batch_destroy (&batch);
    s_batch_valid (&batch, "far", UINT64_MAX, 1);
    CHECK_INT (s_apply ("far", &batch, &refusals, &result), RB_EINVALID);
    s_batch_destroy (&batch);
    s_batch_new (&batch, UINT64_MAX);                      //  even empty
    CHECK_INT (s_apply ("far", &batch, &refusals, &result), RB_EINVALID);
    s_batch_valid (&batch, "far", 0, 1);
    CHECK_INT (s_apply ("far", &batch, &refusals, &result), RB_EINVALID);
    s_batch_destroy (&batch);
    //  Nothing of them was applied: no envelope, no dead letter, no seq.
    CHECK_INT (refusals.count, 0);
    CHECK_UINT (s_last ("far"), RB_WIRE_SEQ_MAX - 1);
    CHECK_INT (s_list ("far", 0).count, 0);

    rb_test_section ("the highest seq an envelope may have is applied, and listed");
    s_batch_valid (&batch, "far", RB_WIRE_SEQ_MAX, 1);
    CHECK_INT (s_apply ("far", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.accepted, 1);
    CHECK_UINT (result.committed, RB_WIRE_SEQ_MAX);
    s_batch_destroy (&batch);
    CHECK_UINT (s_last ("far"), RB_WIRE_SEQ_MAX);
    s_listed_t listed = s_list ("far", 0);
    CHECK_INT (listed.count, 1);
    CHECK_UINT (listed.seq [0], RB_WIRE_SEQ_MAX);
    CHECK_INT (s_list ("far", RB_WIRE_SEQ_MAX - 1).count, 1);
    CHECK_INT (s_list ("far", RB_WIRE_SEQ_MAX).count, 0);
    //  It is the last: whatever comes after is refused, and changes nothing.
    s_batch_valid (&batch, "far", UINT64_MAX, 1);
    CHECK_INT (s_apply ("far", &batch, &refusals, &result), RB_EINVALID);
    s_batch_destroy (&batch);
    CHECK_UINT (s_last ("far"), RB_WIRE_SEQ_MAX);
    CHECK_INT (s_list ("far", 0).count, 1);

    rb_test_section ("an envelope that says its seq is all ones is refused by name");
    s_state_set ("far", 3);
    rb_test_envelope_t env;
    rb_test_envelope (&env, "far", SELF, UINT64_MAX, 1);
    s_batch_new (&batch, 4);
    s_batch_add (&batch, &env.msg);
    CHECK_INT (s_apply ("far", &batch, &refusals, &result), RB_OK);
    CHECK_UINT (result.refused, 1);
    CHECK_INT (refusals.count, 1);
    CHECK_UINT (refusals.seq [0], 4);
    CHECK_REFUSAL (&refusals.why [0], RB_EINVALID, "envelopes[0].origin_seq");
    CHECK (s_dead_letter ("far", 4, "envelopes[0].origin_seq", &batch.items [0]));
    s_batch_destroy (&batch);
    CHECK_UINT (s_last ("far"), 4);
}

static void
s_test_legacy (void)
{
    rb_test_section ("a store of an earlier version: the last seq is read from instate");
    //  old-a received 1-7 and old-b 1-3 under an earlier version.
    s_legacy_origin ("old-a", 7);
    s_legacy_origin ("old-b", 3);
    CHECK_UINT (s_last ("old-a"), 7);
    CHECK_UINT (s_last ("old-b"), 3);
    CHECK_STORED ("old-a", OLD, 7);
    //  Their envelopes list as before.
    CHECK_INT (s_list ("old-a", 0).count, 7);
    CHECK_INT (s_list ("old-b", 2).count, 1);

    rb_test_section ("it carries on from there: nothing applied twice, nothing skipped");
    s_batch_t batch;
    rb_batch_result_t result;
    s_batch_valid (&batch, "old-a", 5, 5);                 //  5-7 again, 8 and 9 new
    CHECK_INT (s_apply ("old-a", &batch, NULL, &result), RB_OK);
    CHECK_UINT (result.duplicates, 3);
    CHECK_UINT (result.accepted, 2);
    CHECK_UINT (result.committed, 9);
    CHECK (!result.gap);
    s_batch_destroy (&batch);
    s_listed_t listed = s_list ("old-a", 0);
    CHECK_INT (listed.count, 9);
    for (int i = 0; i < 9; i++)
        CHECK_UINT (listed.seq [i], i + 1);

    rb_test_section ("the commit that writes the last seq moves it: new key only");
    CHECK_STORED ("old-a", NEW, 9);
    //  An origin not written to yet stays where it was.
    CHECK_STORED ("old-b", OLD, 3);
    //  A gap writes no last seq, so moves nothing either.
    s_batch_valid (&batch, "old-b", 6, 1);
    CHECK_INT (s_apply ("old-b", &batch, NULL, &result), RB_OK);
    CHECK (result.gap);
    s_batch_destroy (&batch);
    CHECK_STORED ("old-b", OLD, 3);

    rb_test_section ("a transaction that fails leaves old and new as they were");
    s_batch_valid (&batch, "old-b", 4, 2);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_inbox_apply (s_inbox, txn, "old-b", &batch.msg, NULL, NULL, &result), RB_OK);
    CHECK_UINT (result.committed, 5);
    uint64_t last;
    CHECK_INT (rb_inbox_last (s_inbox, txn, "old-b", &last), RB_OK);
    CHECK_UINT (last, 5);
    rb_txn_destroy (&txn);
    CHECK_UINT (s_last ("old-b"), 3);
    CHECK_STORED ("old-b", OLD, 3);
    CHECK_INT (s_list ("old-b", 0).count, 3);
    //  The same batch, committed, moves it.
    CHECK_INT (s_apply ("old-b", &batch, NULL, &result), RB_OK);
    CHECK_UINT (result.accepted, 2);
    s_batch_destroy (&batch);
    CHECK_STORED ("old-b", NEW, 5);
    CHECK_INT (s_list ("old-b", 0).count, 5);
}

int
main (void)
{
    rb_test_begin ("inbox");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_inbox = rb_inbox_new (s_store, SELF, MAX_PAYLOAD);
    CHECK (s_inbox);
    s_test_in_order ();
    s_test_gap ();
    s_test_refused ();
    s_test_handler ();
    s_test_list ();
    s_test_state_key ();
    s_test_last_seq ();
    s_test_legacy ();
    rb_inbox_destroy (&s_inbox);
    CHECK (s_inbox == NULL);
    rb_inbox_destroy (&s_inbox);        //  idempotent

    rb_test_section ("the state is on disk: a new inbox carries on where it stopped");
    s_inbox = rb_inbox_new (s_store, SELF, MAX_PAYLOAD);
    CHECK_UINT (s_last ("school-a"), 25);
    s_batch_t batch;
    s_batch_valid (&batch, "school-a", 25, 2);
    rb_batch_result_t result;
    CHECK_INT (s_apply ("school-a", &batch, NULL, &result), RB_OK);
    CHECK_UINT (result.duplicates, 1);
    CHECK_UINT (result.accepted, 1);
    s_batch_destroy (&batch);
    CHECK_UINT (s_last ("far"), 4);
    CHECK_UINT (s_last ("old-a"), 9);
    CHECK_UINT (s_last ("old-b"), 5);
    s_batch_valid (&batch, "old-a", 9, 2);
    CHECK_INT (s_apply ("old-a", &batch, NULL, &result), RB_OK);
    CHECK_UINT (result.duplicates, 1);
    CHECK_UINT (result.accepted, 1);
    s_batch_destroy (&batch);
    CHECK_STORED ("old-a", NEW, 10);
    CHECK_STORED ("old-b", NEW, 5);
    //  Every origin, every envelope, no last seq among them.
    CHECK_INT (s_list ("", 0).count, 1 + 2 + 1 + 10 + 5 + 16);
    rb_inbox_destroy (&s_inbox);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
