/*  unit_outbox: the sender's durable per-peer queues (rb_outbox.h).
 *
 *  Envelopes are numbered 1, 2, 3, ... per destination, independently for
 *  each peer; a batch is the contiguous run after a given seq, bounded by a
 *  count and a byte budget; an acknowledgement deletes what it covers and
 *  may not run ahead of what was ever assigned.
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
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_outbox_append (s_outbox, txn, peer, &env.msg), RB_OK);
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
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_outbox_append (s_outbox, txn, "mun-a", &env.msg), RB_OK);
    CHECK_UINT (env.msg.origin_seq, 4);
    //  Several appends in one transaction keep counting.
    CHECK_INT (rb_outbox_append (s_outbox, txn, "mun-a", &env.msg), RB_OK);
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
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    for (int i = 0; i < 1000; i++) {
        rb_test_envelope_t env;
        rb_test_envelope (&env, "school-a", "portal", 0, 10000 + i);
        CHECK_INT (rb_outbox_append (s_outbox, txn, "portal", &env.msg), RB_OK);
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
    rb_outbox_destroy (&s_outbox);
    CHECK (s_outbox == NULL);
    rb_outbox_destroy (&s_outbox);      //  idempotent

    rb_test_section ("the queues are on disk: a new outbox on the same store sees them");
    s_outbox = rb_outbox_new (s_store);
    CHECK_UINT (s_state ("mun-a").assigned, 5);
    CHECK_UINT (s_state ("mun-a").acked, 4);
    CHECK_BATCH ("mun-a", 4, 10, 1 << 20, 5, 1);
    rb_outbox_destroy (&s_outbox);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
