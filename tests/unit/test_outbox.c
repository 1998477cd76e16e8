/*  unit_outbox: the sender's durable per-peer queues (rb_outbox.h).
 *
 *  Envelopes are numbered 1, 2, 3, ... per destination, independently for
 *  each peer; a batch is the contiguous run after a given seq, bounded by a
 *  count and a byte budget; an acknowledgement deletes what it covers and
 *  may not run ahead of what was ever assigned. A peer's two numbers live
 *  in the "outbox" table itself, acked under peer NUL 0 before its queue
 *  and assigned under peer NUL 0xff x 8 after it; a store of an earlier
 *  version keeps them in "outstate", and carries on from there.
 */
#include "rb_test.h"
#include "rb_outbox.h"

static rb_store_t *s_store;
static rb_outbox_t *s_outbox;

//  Append one envelope from school-a to peer, recorded at `at`, in its own
//  committed transaction; returns the seq it was given.
static uint64_t
s_append (const char *peer, int64_t at)
{
    rb_test_envelope_t env;
    rb_test_envelope (&env, "school-a", peer, 0, at);
    rb_txn_t *txn;
    rb_refusal_t why;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_outbox_append (s_outbox, txn, peer, &env.msg, &why), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    return env.msg.origin_seq;
}

static rb_outstate_t
s_state (const char *peer)
{
    rb_txn_t *txn;
    rb_outstate_t state;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_outbox_state (s_outbox, txn, peer, &state), RB_OK);
    rb_txn_destroy (&txn);
    return state;
}

//  Build a batch for peer and check it: first_seq, count and every
//  envelope's origin_seq and destination. Returns the frame's envelope bytes.
static size_t
s_check_batch (const char *peer, uint64_t after, size_t max_count, size_t max_bytes,
               uint64_t expect_first, size_t expect_count, int line)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    size_t count = 99;
    rb_err_t err = RB_EINTERNAL;
    zframe_t *frame = rb_outbox_batch (s_outbox, txn, peer, after, max_count, max_bytes, &count, &err);
    rb_txn_destroy (&txn);
    if (err != RB_OK)
        rb_test_fail (__FILE__, line, "batch error %s", rb_errname (err));
    if (count != expect_count)
        rb_test_fail (__FILE__, line, "batch of %zu envelopes, expected %zu", count, expect_count);
    if (expect_count == 0) {
        if (frame)
            rb_test_fail (__FILE__, line, "a frame for an empty batch");
        return 0;
    }
    //  The frame is a complete LinkFrame, as it goes on the wire.
    rb_refusal_t r;
    Regiebus__LinkFrame *link = frame? rb_wire_link_decode (frame, 1 << 20, &r): NULL;
    if (!link || link->body_case != REGIEBUS__LINK_FRAME__BODY_BATCH)
        rb_test_fail (__FILE__, line, "batch frame does not decode as a Batch");
    if (link->batch->first_seq != expect_first || link->batch->n_envelopes != expect_count)
        rb_test_fail (__FILE__, line, "batch first_seq %llu with %zu envelopes, expected %llu with %zu",
                      (unsigned long long) link->batch->first_seq, link->batch->n_envelopes,
                      (unsigned long long) expect_first, expect_count);
    size_t bytes = 0;
    for (size_t i = 0; i < link->batch->n_envelopes; i++) {
        ProtobufCBinaryData *packed = &link->batch->envelopes [i];
        bytes += packed->len;
        Regiebus__Envelope *e = rb_wire_envelope_decode (packed->data, packed->len);
        if (!e || e->origin_seq != expect_first + i || strcmp (e->destination, peer) != 0)
            rb_test_fail (__FILE__, line, "envelope %zu is not seq %llu to %s", i,
                          (unsigned long long) (expect_first + i), peer);
        rb_wire_free (&e);
    }
    rb_wire_free (&link);
    zframe_destroy (&frame);
    return bytes;
}

#define CHECK_BATCH(peer, after, max_count, max_bytes, first, count) \
    s_check_batch ((peer), (after), (max_count), (max_bytes), (first), (count), __LINE__)

static rb_err_t
s_ack (const char *peer, uint64_t upto)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    rb_err_t rc = rb_outbox_ack (s_outbox, txn, peer, upto);
    if (rc == RB_OK)
        CHECK_INT (rb_txn_commit (&txn), RB_OK);
    rb_txn_destroy (&txn);
    return rc;
}

static int64_t
s_oldest (const char *peer)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    int64_t at = rb_outbox_oldest (s_outbox, txn, peer, 0);
    rb_txn_destroy (&txn);
    return at;
}

//  The seqs rb_outbox_each visits for peer with after < seq <= upto.
typedef struct {
    uint64_t seq [16];
    int count;
} s_each_t;

static rb_err_t
s_each_visit (uint64_t seq, rb_val_t envelope, void *arg)
{
    s_each_t *each = arg;
    Regiebus__Envelope *e = rb_wire_envelope_decode (envelope.data, envelope.size);
    CHECK (e && e->origin_seq == seq);
    rb_wire_free (&e);
    if (each->count < 16)
        each->seq [each->count] = seq;
    each->count++;
    return RB_OK;
}

static s_each_t
s_each (const char *peer, uint64_t after, uint64_t upto)
{
    s_each_t each = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_outbox_each (s_outbox, txn, peer, after, upto, s_each_visit, &each), RB_OK);
    rb_txn_destroy (&txn);
    return each;
}

// ---------------------------------------------------------------------------
//  The tables as stored, read and written past the outbox

#define NEW RB_TEST_STATE_NEW
#define OLD RB_TEST_STATE_OLD

//  peer's numbers are assigned and acked, and are kept where says, and
//  only there: NEW under their keys in "outbox" (acked under seq 0,
//  assigned under seq all ones; an absent one is 0), OLD in "outstate",
//  0 nowhere (both 0).
#define CHECK_STORED(peer, where, assigned, acked) \
    s_check_stored ((peer), (where), (assigned), (acked), __LINE__)

static void
s_check_stored (const char *peer, int where, uint64_t assigned, uint64_t acked, int line)
{
    uint8_t key [RB_NAME_MAX + 9], old [16] = { 0 }, got_acked [8] = { 0 }, got_assigned [8] = { 0 };
    int found = 0;
    if (rb_test_raw_get (s_store, "outstate", rb_val_str (peer), old, 16))
        found |= OLD;
    bool has_acked = rb_test_raw_get (s_store, "outbox", rb_test_seq_key (key, peer, 0), got_acked, 8);
    bool has_assigned = rb_test_raw_get (s_store, "outbox", rb_test_seq_key (key, peer, UINT64_MAX),
                                         got_assigned, 8);
    if (has_acked || has_assigned)
        found |= NEW;
    uint64_t a = (found & NEW)? rb_u64_get (got_assigned): rb_u64_get (old);
    uint64_t k = (found & NEW)? rb_u64_get (got_acked): rb_u64_get (old + 8);
    rb_test_count ();
    if (found != where || a != assigned || k != acked)
        rb_test_fail (__FILE__, line, "%s's numbers are %llu, %llu in %s, expected %llu, %llu in %s", peer,
                      (unsigned long long) a, (unsigned long long) k, rb_test_state_where_name (found),
                      (unsigned long long) assigned, (unsigned long long) acked,
                      rb_test_state_where_name (where));
}

//  Write peer's numbers where table keeps them: "outbox" (two keys) or
//  "outstate" (one record, as earlier versions did).
static void
s_state_set (const char *table, const char *peer, uint64_t assigned, uint64_t acked)
{
    uint8_t key [RB_NAME_MAX + 9], bytes [16];
    rb_u64_put (bytes, assigned);
    rb_u64_put (bytes + 8, acked);
    if (streq (table, "outbox")) {
        rb_test_raw_put (s_store, table, rb_test_seq_key (key, peer, UINT64_MAX), (rb_val_t) { bytes, 8 });
        rb_test_raw_put (s_store, table, rb_test_seq_key (key, peer, 0), (rb_val_t) { bytes + 8, 8 });
    }
    else
        rb_test_raw_put (s_store, table, rb_val_str (peer), (rb_val_t) { bytes, 16 });
}

//  A peer as an earlier version left it: envelopes acked+1 to assigned
//  queued in "outbox", recorded at 1000 x seq, the numbers in "outstate".
static void
s_legacy_peer (const char *peer, uint64_t assigned, uint64_t acked)
{
    for (uint64_t seq = acked + 1; seq <= assigned; seq++) {
        rb_test_envelope_t env;
        rb_test_envelope (&env, "school-a", peer, seq, (int64_t) seq * 1000);
        ProtobufCBinaryData bytes = rb_test_pack (&env.msg);
        uint8_t key [RB_NAME_MAX + 9];
        rb_test_raw_put (s_store, "outbox", rb_test_seq_key (key, peer, seq), (rb_val_t) { bytes.data, bytes.len });
        free (bytes.data);
    }
    s_state_set ("outstate", peer, assigned, acked);
}

// ---------------------------------------------------------------------------

static void
s_test_append (void)
{
    rb_test_section ("appends are numbered 1, 2, 3 per peer, independently");
    rb_outstate_t state = s_state ("mun-a");
    CHECK_UINT (state.assigned, 0);
    CHECK_UINT (state.acked, 0);
    CHECK_UINT (s_append ("mun-a", 1000), 1);
    CHECK_UINT (s_append ("mun-a", 2000), 2);
    CHECK_UINT (s_append ("care-b", 1500), 1);
    CHECK_UINT (s_append ("mun-a", 3000), 3);
    //  A peer whose name is a prefix of another's has its own queue.
    CHECK_UINT (s_append ("mun", 500), 1);
    CHECK_UINT (s_append ("care-b", 2500), 2);
    state = s_state ("mun-a");
    CHECK_UINT (state.assigned, 3);
    CHECK_UINT (state.acked, 0);
    CHECK_UINT (s_state ("care-b").assigned, 2);
    CHECK_UINT (s_state ("mun").assigned, 1);
    CHECK_UINT (s_state ("nobody").assigned, 0);

    rb_test_section ("an append in a transaction that is destroyed gives its seq back");
    rb_test_envelope_t env;
    rb_test_envelope (&env, "school-a", "mun-a", 0, 4000);
    rb_txn_t *txn;
    rb_refusal_t why;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_outbox_append (s_outbox, txn, "mun-a", &env.msg, &why), RB_OK);
    CHECK_UINT (env.msg.origin_seq, 4);
    //  Several appends in one transaction keep counting.
    CHECK_INT (rb_outbox_append (s_outbox, txn, "mun-a", &env.msg, &why), RB_OK);
    CHECK_UINT (env.msg.origin_seq, 5);
    rb_txn_destroy (&txn);
    CHECK_UINT (s_state ("mun-a").assigned, 3);
    CHECK_UINT (s_append ("mun-a", 4000), 4);
}

static void
s_test_batch (void)
{
    rb_test_section ("a batch is the contiguous run after a seq");
    CHECK_BATCH ("mun-a", 0, 10, 1 << 20, 1, 4);
    CHECK_BATCH ("mun-a", 1, 10, 1 << 20, 2, 3);
    CHECK_BATCH ("mun-a", 3, 10, 1 << 20, 4, 1);
    CHECK_BATCH ("mun-a", 4, 10, 1 << 20, 0, 0);        //  nothing after the last
    CHECK_BATCH ("mun-a", 100, 10, 1 << 20, 0, 0);
    CHECK_BATCH ("care-b", 0, 10, 1 << 20, 1, 2);
    CHECK_BATCH ("mun", 0, 10, 1 << 20, 1, 1);
    CHECK_BATCH ("nobody", 0, 10, 1 << 20, 0, 0);

    rb_test_section ("a batch respects max_count and max_bytes");
    CHECK_BATCH ("mun-a", 0, 2, 1 << 20, 1, 2);
    CHECK_BATCH ("mun-a", 2, 1, 1 << 20, 3, 1);
    size_t all = CHECK_BATCH ("mun-a", 0, 10, 1 << 20, 1, 4);
    size_t one = CHECK_BATCH ("mun-a", 0, 1, 1 << 20, 1, 1);
    size_t two = CHECK_BATCH ("mun-a", 0, 2, 1 << 20, 1, 2);
    CHECK (one > 0 && two > one && all > two);
    //  The byte budget bounds the envelopes' bytes: exactly two fit.
    CHECK_BATCH ("mun-a", 0, 10, two, 1, 2);
    CHECK_BATCH ("mun-a", 0, 10, two + 1, 1, 2);
    CHECK_BATCH ("mun-a", 0, 10, all, 1, 4);
    CHECK_BATCH ("mun-a", 0, 10, all - 1, 1, 3);
    //  One envelope always goes, however small the budget, or nothing would.
    CHECK_BATCH ("mun-a", 0, 10, 1, 1, 1);
}

static void
s_test_ack (void)
{
    rb_test_section ("an acknowledgement deletes what it covers");
    CHECK_INT (s_oldest ("mun-a"), 1000);
    CHECK_INT (s_ack ("mun-a", 2), RB_OK);
    rb_outstate_t state = s_state ("mun-a");
    CHECK_UINT (state.assigned, 4);
    CHECK_UINT (state.acked, 2);
    CHECK_BATCH ("mun-a", 2, 10, 1 << 20, 3, 2);
    //  What was acknowledged is gone: a batch from before starts at a hole.
    CHECK_BATCH ("mun-a", 0, 10, 1 << 20, 0, 0);
    CHECK_INT (s_oldest ("mun-a"), 3000);
    //  Other peers are untouched.
    CHECK_BATCH ("care-b", 0, 10, 1 << 20, 1, 2);
    CHECK_INT (s_oldest ("care-b"), 1500);

    rb_test_section ("acknowledging again or less is harmless");
    CHECK_INT (s_ack ("mun-a", 2), RB_OK);
    CHECK_INT (s_ack ("mun-a", 1), RB_OK);
    CHECK_INT (s_ack ("mun-a", 0), RB_OK);
    CHECK_UINT (s_state ("mun-a").acked, 2);

    rb_test_section ("acknowledging beyond what was assigned is refused");
    CHECK_INT (s_ack ("mun-a", 5), RB_EINVALID);
    CHECK_INT (s_ack ("nobody", 1), RB_EINVALID);
    state = s_state ("mun-a");
    CHECK_UINT (state.acked, 2);
    CHECK_UINT (state.assigned, 4);
    CHECK_BATCH ("mun-a", 2, 10, 1 << 20, 3, 2);

    rb_test_section ("when all is acknowledged, nothing is oldest");
    CHECK_INT (s_ack ("mun-a", 4), RB_OK);
    CHECK_INT (s_oldest ("mun-a"), 0);
    CHECK_BATCH ("mun-a", 4, 10, 1 << 20, 0, 0);
    CHECK_INT (s_oldest ("nobody"), 0);
    //  Numbering carries on after the acknowledged ones.
    CHECK_UINT (s_append ("mun-a", 5000), 5);
    CHECK_INT (s_oldest ("mun-a"), 5000);
    CHECK_BATCH ("mun-a", 4, 10, 1 << 20, 5, 1);

    rb_test_section ("an acknowledgement in a destroyed transaction never happened");
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_outbox_ack (s_outbox, txn, "mun-a", 5), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_UINT (s_state ("mun-a").acked, 4);
    CHECK_BATCH ("mun-a", 4, 10, 1 << 20, 5, 1);
}

static void
s_test_many (void)
{
    rb_test_section ("a long queue is read in batches, in order");
    rb_txn_t *txn;
    rb_refusal_t why;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    for (int i = 0; i < 1000; i++) {
        rb_test_envelope_t env;
        rb_test_envelope (&env, "school-a", "portal", 0, 10000 + i);
        CHECK_INT (rb_outbox_append (s_outbox, txn, "portal", &env.msg, &why), RB_OK);
    }
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    uint64_t sent = 0;
    int batches = 0;
    while (sent < 1000) {
        size_t expect = 1000 - sent < 128? 1000 - sent: 128;
        CHECK_BATCH ("portal", sent, 128, 1 << 20, sent + 1, expect);
        sent += expect;
        batches++;
    }
    CHECK_INT (batches, 8);
    CHECK_INT (s_ack ("portal", 999), RB_OK);
    CHECK_INT (s_oldest ("portal"), 10999);
}

static void
s_test_state_key (void)
{
    rb_test_section ("a peer's numbers are kept in the outbox table, around its queue");
    //  Nothing goes to the table of earlier versions.
    CHECK_STORED ("mun-a", NEW, 5, 4);
    CHECK_STORED ("portal", NEW, 1000, 999);
    CHECK_STORED ("nobody", 0, 0, 0);
    //  Each commit writes only the number it changes: a peer never
    //  acknowledged has no acked key, only what it was given.
    uint8_t key [RB_NAME_MAX + 9], value [8];
    CHECK_UINT (s_append ("fresh", 1000), 1);
    CHECK (!rb_test_raw_get (s_store, "outbox", rb_test_seq_key (key, "fresh", 0), value, 8));
    CHECK (rb_test_raw_get (s_store, "outbox", rb_test_seq_key (key, "fresh", UINT64_MAX), value, 8));
    CHECK_UINT (rb_u64_get (value), 1);
    CHECK_STORED ("fresh", NEW, 1, 0);
    CHECK_INT (s_ack ("fresh", 1), RB_OK);
    CHECK_STORED ("fresh", NEW, 1, 1);

    rb_test_section ("numbers that contradict each other are a storage error");
    s_state_set ("outbox", "bent", 3, 4);
    rb_outstate_t state;
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_outbox_state (s_outbox, txn, "bent", &state), RB_ESTORE);
    rb_txn_destroy (&txn);

    rb_test_section ("nothing that reads the queue takes the numbers for an envelope");
    //  Walks that could run on past the last envelope stop before them.
    s_each_t each = s_each ("mun-a", 0, UINT64_MAX);
    CHECK_INT (each.count, 1);
    CHECK_UINT (each.seq [0], 5);
    CHECK_INT (s_each ("portal", 998, UINT64_MAX).count, 1);
    CHECK_INT (s_each ("care-b", 0, 2).count, 2);
    CHECK_BATCH ("mun-a", 4, 10, 1 << 20, 5, 1);
    CHECK_BATCH ("mun-a", 5, 10, 1 << 20, 0, 0);
    CHECK_BATCH ("mun-a", RB_WIRE_SEQ_MAX, 10, 1 << 20, 0, 0);
    //  After the seq of all ones there is nothing, not everything again.
    CHECK_BATCH ("mun-a", UINT64_MAX, 10, 1 << 20, 0, 0);
    CHECK_INT (s_each ("mun-a", UINT64_MAX, UINT64_MAX).count, 0);
}

static void
s_test_last_seq (void)
{
    rb_test_section ("the highest seq an envelope may have is given out, sent and walked");
    //  A peer that has come to the end of its numbers (set directly).
    s_state_set ("outbox", "far", RB_WIRE_SEQ_MAX - 1, RB_WIRE_SEQ_MAX - 1);
    CHECK_UINT (s_append ("far", 7000), RB_WIRE_SEQ_MAX);
    CHECK_UINT (s_state ("far").assigned, RB_WIRE_SEQ_MAX);
    //  Right before the numbers' key: the batch and the walk end with it.
    CHECK_BATCH ("far", RB_WIRE_SEQ_MAX - 1, 10, 1 << 20, RB_WIRE_SEQ_MAX, 1);
    s_each_t each = s_each ("far", RB_WIRE_SEQ_MAX - 1, UINT64_MAX);
    CHECK_INT (each.count, 1);
    CHECK_UINT (each.seq [0], RB_WIRE_SEQ_MAX);
    CHECK_INT (s_oldest ("far"), 7000);

    rb_test_section ("a queue that would give out the seq of all ones is refused by name");
    rb_test_envelope_t env;
    rb_test_envelope (&env, "school-a", "far", 0, 8000);
    rb_refusal_t why = { 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_outbox_append (s_outbox, txn, "far", &env.msg, &why), RB_EPRECONDITION);
    CHECK_REFUSAL (&why, RB_EPRECONDITION, "origin_seq");
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    //  Nothing of it was written.
    rb_outstate_t state = s_state ("far");
    CHECK_UINT (state.assigned, RB_WIRE_SEQ_MAX);
    CHECK_UINT (state.acked, RB_WIRE_SEQ_MAX - 1);
    CHECK_BATCH ("far", RB_WIRE_SEQ_MAX - 1, 10, 1 << 20, RB_WIRE_SEQ_MAX, 1);
    CHECK_INT (s_oldest ("far"), 7000);

    rb_test_section ("the last envelope is acknowledged like any other");
    CHECK_INT (s_ack ("far", UINT64_MAX), RB_EINVALID);
    CHECK_INT (s_ack ("far", RB_WIRE_SEQ_MAX), RB_OK);
    CHECK_UINT (s_state ("far").acked, RB_WIRE_SEQ_MAX);
    CHECK_BATCH ("far", RB_WIRE_SEQ_MAX - 1, 10, 1 << 20, 0, 0);
    CHECK_INT (s_each ("far", 0, UINT64_MAX).count, 0);
    CHECK_INT (s_oldest ("far"), 0);
}

static void
s_test_legacy (void)
{
    rb_test_section ("a store of an earlier version: the numbers are read from outstate");
    //  old-a: 1-5 given out, 1-3 acknowledged; old-b: 1-2 and 1.
    s_legacy_peer ("old-a", 5, 3);
    s_legacy_peer ("old-b", 2, 1);
    rb_outstate_t state = s_state ("old-a");
    CHECK_UINT (state.assigned, 5);
    CHECK_UINT (state.acked, 3);
    CHECK_STORED ("old-a", OLD, 5, 3);

    rb_test_section ("it carries on from there: nothing sent twice, nothing skipped");
    //  A link resends from what was acknowledged: 4 and 5, once each.
    CHECK_BATCH ("old-a", 3, 10, 1 << 20, 4, 2);
    s_each_t each = s_each ("old-a", 3, 5);
    CHECK_INT (each.count, 2);
    CHECK_UINT (each.seq [0], 4);
    CHECK_INT (s_oldest ("old-a"), 4000);
    //  The next envelope is 6.
    CHECK_UINT (s_append ("old-a", 6000), 6);
    CHECK_BATCH ("old-a", 3, 10, 1 << 20, 4, 3);

    rb_test_section ("the commit that writes the numbers moves them: new key only");
    CHECK_STORED ("old-a", NEW, 6, 3);
    //  A peer not written to yet stays where it was.
    CHECK_STORED ("old-b", OLD, 2, 1);

    rb_test_section ("a transaction that fails leaves old and new as they were");
    rb_test_envelope_t env;
    rb_test_envelope (&env, "school-a", "old-b", 0, 3000);
    rb_refusal_t why;
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_outbox_ack (s_outbox, txn, "old-b", 2), RB_OK);
    CHECK_INT (rb_outbox_append (s_outbox, txn, "old-b", &env.msg, &why), RB_OK);
    CHECK_UINT (env.msg.origin_seq, 3);
    rb_txn_destroy (&txn);
    CHECK_STORED ("old-b", OLD, 2, 1);
    CHECK_BATCH ("old-b", 1, 10, 1 << 20, 2, 1);

    rb_test_section ("an acknowledgement moves the numbers too");
    CHECK_INT (s_ack ("old-b", 2), RB_OK);
    CHECK_STORED ("old-b", NEW, 2, 2);
    CHECK_BATCH ("old-b", 1, 10, 1 << 20, 0, 0);
    CHECK_UINT (s_append ("old-b", 3000), 3);
}

int
main (void)
{
    rb_test_begin ("outbox");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_outbox = rb_outbox_new (s_store);
    CHECK (s_outbox);
    s_test_append ();
    s_test_batch ();
    s_test_ack ();
    s_test_many ();
    s_test_state_key ();
    s_test_last_seq ();
    s_test_legacy ();
    rb_outbox_destroy (&s_outbox);
    CHECK (s_outbox == NULL);
    rb_outbox_destroy (&s_outbox);      //  idempotent

    rb_test_section ("the queues are on disk: a new outbox on the same store sees them");
    s_outbox = rb_outbox_new (s_store);
    CHECK_UINT (s_state ("mun-a").assigned, 5);
    CHECK_UINT (s_state ("mun-a").acked, 4);
    CHECK_BATCH ("mun-a", 4, 10, 1 << 20, 5, 1);
    CHECK_UINT (s_state ("far").assigned, RB_WIRE_SEQ_MAX);
    CHECK_UINT (s_state ("old-a").assigned, 6);
    CHECK_UINT (s_state ("old-a").acked, 3);
    CHECK_UINT (s_state ("old-b").assigned, 3);
    CHECK_BATCH ("old-a", 3, 10, 1 << 20, 4, 3);
    CHECK_UINT (s_append ("old-a", 7000), 7);
    CHECK_STORED ("old-a", NEW, 7, 3);
    CHECK_STORED ("old-b", NEW, 3, 2);
    CHECK_STORED ("far", NEW, RB_WIRE_SEQ_MAX, RB_WIRE_SEQ_MAX);
    rb_outbox_destroy (&s_outbox);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
