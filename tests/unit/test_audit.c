/*  unit_audit: the hash-chained audit log (rb_audit.h).
 *
 *  A node appends records of what it received, delivered and showed, in
 *  the transactions that do those things; the chain then verifies, lists
 *  in order and survives reopening. Records appended in a child that is
 *  dropped, or in a commit that fails, leave no trace once the position
 *  is put back. Then the store is damaged the ways an intruder or a bad
 *  disk would: one byte of a record, one byte of its hash, its format, a
 *  record deleted, the tail cut off, the head moved back: each time
 *  verify names the first record that does not hold and says why. A
 *  read-only opening (the offline tool's) verifies beside it.
 */
#include "rb_test.h"
#include "rb_audit.h"

static rb_store_t *s_store;
static rb_clock_t *s_clock;
static rb_audit_t *s_audit;
static rb_table_t s_table;      //  the audit's own table, to damage it

// ---------------------------------------------------------------------------
//  Helpers

//  A record of each kind in turn, told apart by i.
static void
s_record (rb_audit_rec_t *rec, int i)
{
    rb_test_envelope_t e;
    rb_test_envelope (&e, "school-a", "mun-a", (uint64_t) i, 1000);
    rb_audit_kind_t kind = (rb_audit_kind_t) (1 + i % RB_AUDIT_KIND_MAX);
    rb_audit_of_envelope (rec, kind, "school-a", &e.msg);
    if (kind >= RB_AUDIT_NOTICE_STORED) {
        rec->role = 3;
        memset (rec->notification_id, i, 16);
        snprintf (rec->who, sizeof rec->who, "%s", kind == RB_AUDIT_NOTICE_STORED? "": "mentor.jansen");
    }
}

//  Append records first..last in one transaction and commit it.
static void
s_append (int first, int last)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    for (int i = first; i <= last; i++) {
        rb_audit_rec_t rec;
        s_record (&rec, i);
        CHECK_INT (rb_audit_append (s_audit, txn, &rec), RB_OK);
    }
    CHECK_INT (rb_audit_stage (s_audit, txn), RB_OK);
    rb_err_t rc = rb_txn_commit (&txn);
    rb_audit_committed (s_audit, rc == RB_OK);
    CHECK_INT (rc, RB_OK);
}

static rb_audit_check_t
s_verify (rb_audit_t *audit, rb_store_t *store)
{
    rb_audit_check_t check;
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);
    CHECK_INT (rb_audit_verify (audit, txn, &check), RB_OK);
    rb_txn_destroy (&txn);
    return check;
}

static void
s_check_intact (uint64_t count)
{
    rb_audit_check_t check = s_verify (s_audit, s_store);
    if (check.problem)
        printf ("verify: %s at %llu: %s\n", rb_audit_problem_name (check.problem),
                (unsigned long long) check.broken_seq, check.detail);
    CHECK_INT (check.problem, RB_AUDIT_INTACT);
    CHECK_UINT (check.count, count);
    CHECK_UINT (check.head.seq, count);
    CHECK_UINT (check.broken_seq, 0);
}

//  The head's key, as a seq: after every record.
#define S_HEAD UINT64_MAX

//  The stored bytes of record seq (copied into out), or of the head (S_HEAD).
static size_t
s_raw_get (uint64_t seq, uint8_t *out, size_t size)
{
    rb_txn_t *txn;
    uint8_t key [8];
    rb_u64_put (key, seq);
    rb_val_t value;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_txn_get (txn, s_table, (rb_val_t) { key, 8 }, &value), RB_OK);
    CHECK (value.size <= size);
    memcpy (out, value.data, value.size);
    rb_txn_destroy (&txn);
    return value.size;
}

//  Overwrite record seq with bytes, or delete it (bytes NULL).
static void
s_raw_put (uint64_t seq, const uint8_t *bytes, size_t size)
{
    rb_txn_t *txn;
    uint8_t key [8];
    rb_u64_put (key, seq);
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    if (bytes)
        CHECK_INT (rb_txn_put (txn, s_table, (rb_val_t) { key, 8 }, (rb_val_t) { bytes, size }), RB_OK);
    else
        CHECK_INT (rb_txn_del (txn, s_table, (rb_val_t) { key, 8 }), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

//  Damage record seq at byte offset, verify, and put it back.
static void
s_check_tampered (uint64_t seq, size_t offset, rb_audit_problem_t problem)
{
    uint8_t good [512], bad [512];
    size_t size = s_raw_get (seq, good, sizeof good);
    CHECK (offset < size);
    memcpy (bad, good, size);
    bad [offset] ^= 0x01;
    s_raw_put (seq, bad, size);
    rb_audit_check_t check = s_verify (s_audit, s_store);
    printf ("byte %zu of record %llu: %s at %llu: %s\n", offset, (unsigned long long) seq,
            rb_audit_problem_name (check.problem), (unsigned long long) check.broken_seq, check.detail);
    CHECK_INT (check.problem, problem);
    CHECK_UINT (check.broken_seq, seq);
    CHECK_UINT (check.count, seq - 1);
    s_raw_put (seq, good, size);
}

static void
s_reopen (void)
{
    rb_audit_destroy (&s_audit);
    rb_store_destroy (&s_store);
    rb_refusal_t r = { 0 };
    s_store = rb_store_new (rb_test_dir (), 64, &r);
    CHECK (s_store);
    rb_err_t rc;
    s_audit = rb_audit_new (s_store, s_clock, &rc);
    CHECK_INT (rc, RB_OK);
    CHECK (s_audit);
    CHECK_INT (rb_store_table (s_store, "audit", &s_table), RB_OK);
}

typedef struct {
    rb_audit_rec_t recs [8];
    size_t count;
} s_seen_t;

static int
s_collect (const rb_audit_rec_t *rec, void *arg)
{
    s_seen_t *seen = arg;
    seen->recs [seen->count++] = *rec;
    return 0;
}

// ---------------------------------------------------------------------------
//  The chain

static void
s_test_chain (void)
{
    rb_test_section ("an empty chain holds; records append, verify, list and survive reopening");
    s_check_intact (0);
    CHECK_UINT (rb_audit_count (s_audit), 0);
    s_append (1, 5);
    CHECK_UINT (rb_audit_count (s_audit), 5);
    s_check_intact (5);
    s_seen_t seen = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_audit_list (s_audit, txn, 1, 3, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_UINT (seen.count, 3);
    CHECK_UINT (seen.recs [0].seq, 2);
    CHECK_INT (seen.recs [0].kind, RB_AUDIT_NOTICE_STORED);
    CHECK_STR (seen.recs [0].peer, "school-a");
    CHECK_UINT (seen.recs [0].stream_seq, 2);
    CHECK_STR (seen.recs [0].case_pseudonym, rb_test_pseudonym);
    CHECK_INT (seen.recs [0].event_kind, REGIEBUS__EVENT_KIND__TEST);
    CHECK_STR (seen.recs [1].who, "mentor.jansen");
    CHECK_INT (seen.recs [1].kind, RB_AUDIT_NOTICE_SHOWN);
    CHECK_UINT (seen.recs [2].seq, 4);
    CHECK (seen.recs [0].at_ms > 0);
    //  Every hash differs: each covers the one before it.
    CHECK (memcmp (seen.recs [0].hash, seen.recs [1].hash, RB_AUDIT_HASH_SIZE) != 0);
    rb_audit_check_t before = s_verify (s_audit, s_store);
    s_reopen ();
    s_check_intact (5);
    rb_audit_check_t after = s_verify (s_audit, s_store);
    CHECK (memcmp (before.head.hash, after.head.hash, RB_AUDIT_HASH_SIZE) == 0);
    CHECK (memcmp (after.head.hash, seen.recs [2].hash, RB_AUDIT_HASH_SIZE) != 0);
    char hex [65];
    CHECK_INT (strlen (rb_audit_hex (after.head.hash, hex)), 64);
    s_append (6, 6);
    s_check_intact (6);
    //  A page in the wire's form, as audit_list answers.
    rb_err_t rc;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    rb_audit_page_t *page = rb_audit_page (s_audit, txn, 2, 2, &rc);
    rb_txn_destroy (&txn);
    CHECK_INT (rc, RB_OK);
    CHECK_UINT (page->reply.n_records, 2);
    CHECK_UINT (page->reply.records [0]->seq, 3);
    CHECK_INT (page->reply.records [0]->kind, REGIEBUS__AUDIT_KIND__AUDIT_NOTICE_SHOWN);
    CHECK_STR (page->reply.records [0]->who, "mentor.jansen");
    CHECK_UINT (page->reply.records [1]->event_id.len, 16);
    CHECK_UINT (page->reply.records [1]->hash.len, RB_AUDIT_HASH_SIZE);
    CHECK (page->reply.more);
    rb_audit_page_destroy (&page);
    rb_audit_page_destroy (&page);
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    page = rb_audit_page (s_audit, txn, 5, 10, &rc);
    rb_txn_destroy (&txn);
    CHECK_UINT (page->reply.n_records, 1);
    CHECK (!page->reply.more);
    rb_audit_page_destroy (&page);
}

static void
s_test_rewind (void)
{
    rb_test_section ("a dropped child and a failed commit take their records along");
    rb_txn_t *txn, *child;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    rb_audit_rec_t rec;
    s_record (&rec, 7);
    CHECK_INT (rb_audit_append (s_audit, txn, &rec), RB_OK);
    CHECK_UINT (rec.seq, 7);
    rb_audit_pos_t mark = rb_audit_tell (s_audit);
    CHECK_INT (rb_txn_child (txn, &child), RB_OK);
    s_record (&rec, 8);
    CHECK_INT (rb_audit_append (s_audit, child, &rec), RB_OK);
    CHECK_UINT (rec.seq, 8);
    rb_txn_destroy (&child);
    rb_audit_rewind (s_audit, &mark);
    s_record (&rec, 9);
    CHECK_INT (rb_audit_append (s_audit, txn, &rec), RB_OK);
    CHECK_UINT (rec.seq, 8);
    CHECK_INT (rb_audit_stage (s_audit, txn), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    rb_audit_committed (s_audit, true);
    s_check_intact (8);
    //  A commit that does not hold: the position goes back to the store's.
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_audit_append (s_audit, txn, &rec), RB_OK);
    CHECK_INT (rb_audit_stage (s_audit, txn), RB_OK);
    rb_txn_destroy (&txn);
    rb_audit_committed (s_audit, false);
    CHECK_UINT (rb_audit_count (s_audit), 8);
    s_append (9, 10);
    s_check_intact (10);
}

// ---------------------------------------------------------------------------
//  Damage

static void
s_test_tamper (void)
{
    rb_test_section ("one byte changed: verify names the record");
    uint8_t raw [512];
    size_t size = s_raw_get (4, raw, sizeof raw);
    s_check_tampered (4, 20, RB_AUDIT_HASH_MISMATCH);          //  its time
    s_check_tampered (4, size - 40, RB_AUDIT_HASH_MISMATCH);   //  inside its strings
    s_check_tampered (4, size - 1, RB_AUDIT_HASH_MISMATCH);    //  its stored hash
    s_check_tampered (1, 40, RB_AUDIT_HASH_MISMATCH);          //  the first record's event id
    s_check_tampered (10, 30, RB_AUDIT_HASH_MISMATCH);         //  the last record's code
    s_check_tampered (10, 3, RB_AUDIT_BAD_ENCODING);           //  its seq: another record's
    s_check_tampered (6, 0, RB_AUDIT_BAD_ENCODING);            //  its format
    s_check_tampered (6, 38, RB_AUDIT_BAD_ENCODING);           //  its first length prefix
    s_check_intact (10);
    //  A record put under another record's key.
    uint8_t other [512];
    size_t other_size = s_raw_get (3, other, sizeof other);
    size = s_raw_get (5, raw, sizeof raw);
    s_raw_put (5, other, other_size);
    rb_audit_check_t check = s_verify (s_audit, s_store);
    CHECK_INT (check.problem, RB_AUDIT_BAD_ENCODING);
    CHECK_UINT (check.broken_seq, 5);
    s_raw_put (5, raw, size);
    //  Too short to be a record.
    s_raw_put (5, raw, 20);
    check = s_verify (s_audit, s_store);
    CHECK_INT (check.problem, RB_AUDIT_BAD_ENCODING);
    CHECK_UINT (check.broken_seq, 5);
    s_raw_put (5, raw, size);
    s_check_intact (10);
}

static void
s_test_gaps (void)
{
    rb_test_section ("a record deleted is a gap; a tail cut off shows against the head");
    uint8_t raw [512], head [64], last [512], before_last [512];
    size_t size = s_raw_get (7, raw, sizeof raw);
    s_raw_put (7, NULL, 0);
    rb_audit_check_t check = s_verify (s_audit, s_store);
    printf ("record 7 deleted: %s at %llu: %s\n", rb_audit_problem_name (check.problem),
            (unsigned long long) check.broken_seq, check.detail);
    CHECK_INT (check.problem, RB_AUDIT_GAP);
    CHECK_UINT (check.broken_seq, 7);
    CHECK_UINT (check.count, 6);
    s_raw_put (7, raw, size);
    s_check_intact (10);
    //  The last two gone: every record left holds, the head does not.
    size_t last_size = s_raw_get (10, last, sizeof last);
    size_t before_size = s_raw_get (9, before_last, sizeof before_last);
    s_raw_put (10, NULL, 0);
    s_raw_put (9, NULL, 0);
    check = s_verify (s_audit, s_store);
    printf ("records 9 and 10 deleted: %s at %llu: %s\n", rb_audit_problem_name (check.problem),
            (unsigned long long) check.broken_seq, check.detail);
    CHECK_INT (check.problem, RB_AUDIT_TRUNCATED);
    CHECK_UINT (check.broken_seq, 9);
    CHECK_UINT (check.count, 8);
    s_raw_put (9, before_last, before_size);
    s_raw_put (10, last, last_size);
    //  The head moved back one: the last record is beyond it.
    size_t head_size = s_raw_get (S_HEAD, head, sizeof head);
    uint8_t moved [64];
    memcpy (moved, head, head_size);
    rb_u64_put (moved, 9);
    s_raw_put (S_HEAD, moved, head_size);
    check = s_verify (s_audit, s_store);
    CHECK_INT (check.problem, RB_AUDIT_HEAD_MISMATCH);
    CHECK_UINT (check.broken_seq, 10);
    //  The head's hash changed.
    memcpy (moved, head, head_size);
    moved [20] ^= 0x80;
    s_raw_put (S_HEAD, moved, head_size);
    check = s_verify (s_audit, s_store);
    CHECK_INT (check.problem, RB_AUDIT_HEAD_MISMATCH);
    CHECK_UINT (check.broken_seq, 10);
    //  No head at all.
    s_raw_put (S_HEAD, NULL, 0);
    check = s_verify (s_audit, s_store);
    CHECK_INT (check.problem, RB_AUDIT_HEAD_MISMATCH);
    s_raw_put (S_HEAD, head, head_size);
    s_check_intact (10);
}

static void
s_test_old_head (void)
{
    rb_test_section ("a store with its head under key 0 (the old layout) verifies, and its next commit moves the head last");
    uint8_t head [64];
    size_t head_size = s_raw_get (S_HEAD, head, sizeof head);
    s_raw_put (S_HEAD, NULL, 0);
    s_raw_put (0, head, head_size);
    rb_audit_destroy (&s_audit);
    rb_err_t rc;
    s_audit = rb_audit_new (s_store, s_clock, &rc);
    CHECK_INT (rc, RB_OK);
    CHECK_UINT (rb_audit_count (s_audit), 10);
    s_check_intact (10);
    s_append (11, 12);
    s_check_intact (12);
    rb_txn_t *txn;
    uint8_t key [8] = { 0 };
    rb_val_t value;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_txn_get (txn, s_table, (rb_val_t) { key, 8 }, &value), RB_ENOTFOUND);
    rb_txn_destroy (&txn);
    CHECK_UINT (s_raw_get (S_HEAD, head, sizeof head), 8 + RB_AUDIT_HASH_SIZE);
    CHECK_UINT (rb_u64_get (head), 12);
}

static void
s_test_readonly (void)
{
    rb_test_section ("a read-only opening verifies and lists, and writes nothing");
    //  One process opens an environment once: the writer closes first.
    rb_audit_destroy (&s_audit);
    rb_store_destroy (&s_store);
    rb_refusal_t r = { 0 };
    rb_store_t *store = rb_store_open_readonly (rb_test_dir (), &r);
    CHECK (store);
    rb_err_t rc;
    rb_audit_t *audit = rb_audit_new (store, NULL, &rc);
    CHECK_INT (rc, RB_OK);
    CHECK (audit);
    CHECK_UINT (rb_audit_count (audit), 12);
    rb_audit_check_t check = s_verify (audit, store);
    CHECK_INT (check.problem, RB_AUDIT_INTACT);
    CHECK_UINT (check.count, 12);
    rb_audit_rec_t rec;
    s_record (&rec, 1);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);
    CHECK_INT (rb_audit_append (audit, txn, &rec), RB_EPRECONDITION);
    rb_txn_destroy (&txn);
    rb_audit_destroy (&audit);
    rb_audit_destroy (&audit);
    rb_store_destroy (&store);
    //  A store without an audit table, or no store at all.
    char path [512];
    rb_test_path (path, sizeof path, "other");
    rb_store_t *other = rb_store_new (path, 8, &r);
    CHECK (other);
    rb_store_destroy (&other);
    store = rb_store_open_readonly (path, &r);
    CHECK (store);
    CHECK (!rb_audit_new (store, NULL, &rc));
    CHECK_INT (rc, RB_ENOTFOUND);
    rb_store_destroy (&store);
    rb_test_path (path, sizeof path, "missing");
    CHECK (!rb_store_open_readonly (path, &r));
    CHECK_INT (r.code, RB_ESTORE);
}

static void
s_test_peek (void)
{
    rb_test_section ("a delivered record reads its fields from the packed envelope without unpacking it");
    rb_test_envelope_t t;
    rb_test_envelope (&t, "mun-a", "care-a", 77, 1000);
    t.msg.kind = REGIEBUS__EVENT_KIND__NOTIFICATION;
    ProtobufCBinaryData packed = rb_test_pack (&t.msg);
    Regiebus__Envelope e;
    char case_pseudonym [RB_PSEUDONYM_LEN + 1];
    CHECK (rb_wire_envelope_peek (packed.data, packed.len, &e, case_pseudonym));
    CHECK_UINT (e.event_id.len, 16);
    CHECK (memcmp (e.event_id.data, t.event_id, 16) == 0);
    CHECK_UINT (e.origin_seq, 77);
    CHECK_INT (e.kind, REGIEBUS__EVENT_KIND__NOTIFICATION);
    CHECK_STR (e.case_pseudonym, rb_test_pseudonym);
    rb_audit_rec_t rec;
    rb_audit_of_envelope (&rec, RB_AUDIT_DELIVERED, "care-a", &e);
    CHECK_STR (rec.case_pseudonym, rb_test_pseudonym);
    CHECK_UINT (rec.stream_seq, 77);
    //  Cut short anywhere, or not protobuf: refused, never read beyond.
    for (size_t size = 1; size < packed.len; size++) {
        uint8_t *copy = malloc (size);
        memcpy (copy, packed.data, size);
        rb_wire_envelope_peek (copy, size, &e, case_pseudonym);
        free (copy);
    }
    const uint8_t garbage [] = { 0xff, 0xff, 0xff };
    CHECK (!rb_wire_envelope_peek (garbage, sizeof garbage, &e, case_pseudonym));
    const uint8_t too_long [] = { 0x12, 0x40, 0x01 };
    CHECK (!rb_wire_envelope_peek (too_long, sizeof too_long, &e, case_pseudonym));
    free (packed.data);
}

int
main (void)
{
    rb_test_begin ("unit_audit");
    s_clock = rb_clock_new (true);
    s_reopen ();
    s_test_chain ();
    s_test_rewind ();
    s_test_tamper ();
    s_test_gaps ();
    s_test_old_head ();
    s_test_readonly ();
    s_test_peek ();
    CHECK_STR (rb_audit_kind_name (RB_AUDIT_DELIVERED), "delivered");
    CHECK_STR (rb_audit_problem_name (RB_AUDIT_GAP), "gap");
    rb_clock_destroy (&s_clock);
    return rb_test_end ();
}
