/*  unit_notices: the notifications a node holds for its actors (rb_notices.h).
 *
 *  Notifications arrive for this node ("care-a") from the municipality;
 *  each becomes a notice numbered in arrival order and is listed with what
 *  it says. The same (notification id, role) again is the same notice, so
 *  nothing is shown twice; another role is another notice. Bad ones are
 *  refused with the field named and write nothing. A notice is
 *  acknowledged once, by name; the new ones received before a time are
 *  found for reminders; everything survives reopening the store. The
 *  counters share the notice table, under a key no listing or lookup
 *  mistakes for a notice; a store whose counters sit in "notice_meta", as
 *  an earlier version kept them, is read and moved by its next write.
 */
#include "rb_test.h"
#include "rb_notices.h"

#define SELF "care-a"

static rb_store_t *s_store;
static rb_notices_t *s_notices;
static rb_table_t s_raw;                //  "notice", written and read past the module
static rb_table_t s_raw_legacy;         //  "notice_meta", likewise
static const uint8_t s_counts_key [8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

// ---------------------------------------------------------------------------
//  Helpers

//  A valid notification for this node inside a valid envelope, with
//  storage of its own so that a test can break one field at a time.
typedef struct {
    Regiebus__Notification msg;
    Regiebus__Actor recipient, others [2], *also [2];
    uint8_t id [16];
    rb_test_envelope_t envelope;
} s_note_t;

static void
s_note (s_note_t *self, uint8_t id, int role, uint64_t origin_seq)
{
    memset (self, 0, sizeof *self);
    regiebus__notification__init (&self->msg);
    regiebus__actor__init (&self->recipient);
    memset (self->id, id, 16);
    self->msg.notification_id.data = self->id;
    self->msg.notification_id.len = 16;
    self->msg.subject = REGIEBUS__EVENT_KIND__TEST;
    self->recipient.node = SELF;
    self->recipient.role = (Regiebus__Role) role;
    self->msg.recipient = &self->recipient;
    for (int i = 0; i < 2; i++) {
        regiebus__actor__init (&self->others [i]);
        self->others [i].node = i? "portal": "school-a";
        self->others [i].role = i? REGIEBUS__ROLE__PARENT: REGIEBUS__ROLE__SCHOOL_MENTOR;
        self->also [i] = &self->others [i];
    }
    self->msg.n_also_sent_to = 2;
    self->msg.also_sent_to = self->also;
    self->msg.expected = REGIEBUS__EXPECTED_ACTION__CONFIRM_INVOLVEMENT;
    self->msg.expected_by = 20261130;
    self->msg.from_node = "school-a";
    rb_test_envelope (&self->envelope, "mun-a", SELF, origin_seq, 1000);
}

//  Store one notification in its own transaction, committed when it was
//  accepted, aborted when refused.
static rb_err_t
s_store_note (s_note_t *note, int64_t now, uint64_t *seq, bool *duplicate, rb_refusal_t *r)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    rb_refusal_clear (r);
    rb_err_t rc = rb_notices_store (s_notices, txn, &note->envelope.msg, &note->msg, now, seq,
                                    duplicate, r);
    if (rc)
        rb_txn_destroy (&txn);
    else
        CHECK_INT (rb_txn_commit (&txn), RB_OK);
    return rc;
}

//  What a visit saw: the numbers and roles of every notice, the last
//  notice (its notification gone after the visit) and copies of the parts
//  of its notification the tests look at.
typedef struct {
    uint64_t seq [16];
    int roles [16];
    int count;
    int stop_after;                     //  return 1 after this many, 0 never
    rb_notice_t last;
    size_t last_also;
    int32_t last_expected_by;
    int last_expected;
    char last_from [64];
    uint8_t last_id [16];
} s_seen_t;

static int
s_collect (const rb_notice_t *notice, void *arg)
{
    s_seen_t *seen = arg;
    const Regiebus__Notification *n = notice->notification;
    if (seen->count < 16) {
        seen->seq [seen->count] = notice->seq;
        seen->roles [seen->count] = n->recipient->role;
    }
    seen->count++;
    seen->last = *notice;
    seen->last.notification = NULL;     //  freed after the visit
    seen->last_also = n->n_also_sent_to;
    seen->last_expected_by = n->expected_by;
    seen->last_expected = n->expected;
    snprintf (seen->last_from, sizeof seen->last_from, "%s", n->from_node);
    memcpy (seen->last_id, n->notification_id.data, 16);
    return seen->stop_after && seen->count == seen->stop_after;
}

static s_seen_t
s_list (uint64_t after, bool only_new, size_t limit)
{
    s_seen_t seen = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_list (s_notices, txn, after, only_new, limit, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    return seen;
}

static s_seen_t
s_unacked_before (int64_t before)
{
    s_seen_t seen = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_unacked_before (s_notices, txn, before, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    return seen;
}

static void
s_counts (uint64_t expect_new, uint64_t expect_acked)
{
    rb_txn_t *txn;
    uint64_t fresh = 99, acked = 99;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_counts (s_notices, txn, &fresh, &acked), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_UINT (fresh, expect_new);
    CHECK_UINT (acked, expect_acked);
}

static rb_err_t
s_ack (uint64_t seq, const char *by, int64_t now, rb_refusal_t *r)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    rb_refusal_clear (r);
    rb_err_t rc = rb_notices_ack (s_notices, txn, seq, by, now, r);
    if (rc)
        rb_txn_destroy (&txn);
    else
        CHECK_INT (rb_txn_commit (&txn), RB_OK);
    return rc;
}

//  Open the store in dir and the notices on it, with the raw handles.
static void
s_open (const char *dir)
{
    rb_refusal_t r;
    s_store = rb_store_new (dir, 16, &r);
    CHECK (s_store);
    s_notices = rb_notices_new (s_store, SELF);
    CHECK (s_notices);
    CHECK_INT (rb_store_table (s_store, "notice", &s_raw), RB_OK);
    CHECK_INT (rb_store_table (s_store, "notice_meta", &s_raw_legacy), RB_OK);
}

static void
s_close (void)
{
    rb_notices_destroy (&s_notices);
    rb_store_destroy (&s_store);
}

//  The counters as stored under their key: last number, new, acked.
//  RB_ENOTFOUND when the key is absent.
static rb_err_t
s_raw_counts (rb_txn_t *txn, uint64_t counts [3])
{
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, s_raw, (rb_val_t) { s_counts_key, 8 }, &value);
    if (rc)
        return rc;
    CHECK_UINT (value.size, 24);
    for (int i = 0; i < 3; i++)
        counts [i] = rb_u64_get ((const uint8_t *) value.data + 8 * i);
    return RB_OK;
}

//  Check the counters' key in a transaction of its own.
static void
s_check_raw (uint64_t last, uint64_t fresh, uint64_t acked)
{
    rb_txn_t *txn;
    uint64_t counts [3] = { 0 };
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (s_raw_counts (txn, counts), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_UINT (counts [0], last);
    CHECK_UINT (counts [1], fresh);
    CHECK_UINT (counts [2], acked);
}

static int
s_count_entry (rb_val_t key, rb_val_t value, void *arg)
{
    (void) key;
    (void) value;
    (*(int *) arg)++;
    return 0;
}

//  How many entries "notice_meta" holds.
static int
s_legacy_entries (rb_txn_t *txn)
{
    int count = 0;
    CHECK_INT (rb_txn_scan (txn, s_raw_legacy, (rb_val_t) { NULL, 0 }, (rb_val_t) { NULL, 0 },
                            s_count_entry, &count), RB_OK);
    return count;
}

//  One legacy counter; UINT64_MAX when absent.
static uint64_t
s_legacy (rb_txn_t *txn, const char *name)
{
    rb_val_t value;
    if (rb_txn_get (txn, s_raw_legacy, rb_val_str (name), &value) != RB_OK)
        return UINT64_MAX;
    CHECK_UINT (value.size, 8);
    return rb_u64_get (value.data);
}

//  Rewrite the store as the earlier version left it: the counters out of
//  "notice", each under its name in "notice_meta" as a be64 ("acked" only
//  once something was acknowledged, as that version wrote it).
static void
s_make_legacy (bool with_acked)
{
    rb_txn_t *txn;
    uint64_t counts [3];
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (s_raw_counts (txn, counts), RB_OK);
    CHECK_INT (rb_txn_del (txn, s_raw, (rb_val_t) { s_counts_key, 8 }), RB_OK);
    const char *names [3] = { "next", "new", "acked" };
    for (int i = 0; i < (with_acked? 3: 2); i++) {
        uint8_t bytes [8];
        rb_u64_put (bytes, counts [i]);
        CHECK_INT (rb_txn_put (txn, s_raw_legacy, rb_val_str (names [i]), (rb_val_t) { bytes, 8 }),
                   RB_OK);
    }
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

//  The counters are where the earlier version kept them, and only there.
static void
s_check_legacy (uint64_t next, uint64_t fresh, uint64_t acked)
{
    rb_txn_t *txn;
    uint64_t counts [3];
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (s_raw_counts (txn, counts), RB_ENOTFOUND);
    CHECK_UINT (s_legacy (txn, "next"), next);
    CHECK_UINT (s_legacy (txn, "new"), fresh);
    CHECK_UINT (s_legacy (txn, "acked"), acked);
    rb_txn_destroy (&txn);
}

//  The counters are under their key, and "notice_meta" is empty.
static void
s_check_moved (uint64_t last, uint64_t fresh, uint64_t acked)
{
    s_check_raw (last, fresh, acked);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (s_legacy_entries (txn), 0);
    rb_txn_destroy (&txn);
}

// ---------------------------------------------------------------------------
//  Scenarios

static void
s_test_new (void)
{
    rb_test_section ("a node name is required to open the notices");
    CHECK (rb_notices_new (s_store, NULL) == NULL);
    CHECK (rb_notices_new (s_store, "") == NULL);
    CHECK (rb_notices_new (s_store,
        "n1234567890123456789012345678901234567890123456789012345678901234") == NULL);
    s_notices = rb_notices_new (s_store, SELF);
    CHECK (s_notices);
    s_counts (0, 0);
    CHECK_INT (s_list (0, false, 0).count, 0);
}

static void
s_test_store_and_list (void)
{
    rb_test_section ("notifications are numbered in arrival order and listed with what they say");
    s_note_t note;
    uint64_t seq;
    bool duplicate;
    rb_refusal_t r;
    for (int i = 1; i <= 3; i++) {
        s_note (&note, (uint8_t) i, REGIEBUS__ROLE__JEUGDHULP, (uint64_t) i);
        CHECK_INT (s_store_note (&note, 1000 * i, &seq, &duplicate, &r), RB_OK);
        CHECK_UINT (seq, (uint64_t) i);
        CHECK (!duplicate);
    }
    s_seen_t seen = s_list (0, false, 0);
    CHECK_INT (seen.count, 3);
    CHECK_UINT (seen.seq [0], 1);
    CHECK_UINT (seen.seq [1], 2);
    CHECK_UINT (seen.seq [2], 3);
    CHECK_INT (seen.roles [2], REGIEBUS__ROLE__JEUGDHULP);
    CHECK_STR (seen.last.origin, "mun-a");
    CHECK_UINT (seen.last.origin_seq, 3);
    CHECK (memcmp (seen.last.event_id, note.envelope.event_id, 16) == 0);
    CHECK_STR (seen.last.case_pseudonym, rb_test_pseudonym);
    CHECK_INT (seen.last.state, RB_NOTICE_NEW);
    CHECK (seen.last.received_at_ms == 3000);
    CHECK (seen.last.acked_at_ms == 0);
    CHECK_STR (seen.last.acked_by, "");
    //  The notification itself: who else got it, what is expected by when.
    CHECK (memcmp (seen.last_id, note.id, 16) == 0);
    CHECK_UINT (seen.last_also, 2);
    CHECK_INT (seen.last_expected, REGIEBUS__EXPECTED_ACTION__CONFIRM_INVOLVEMENT);
    CHECK_INT (seen.last_expected_by, 20261130);
    CHECK_STR (seen.last_from, "school-a");

    rb_test_section ("a listing pages with after_seq and limit, and stops when the visit says so");
    seen = s_list (1, false, 0);
    CHECK_INT (seen.count, 2);
    CHECK_UINT (seen.seq [0], 2);
    seen = s_list (0, false, 2);
    CHECK_INT (seen.count, 2);
    CHECK_UINT (seen.seq [1], 2);
    seen = s_list (seen.seq [1], false, 2);
    CHECK_INT (seen.count, 1);
    CHECK_UINT (seen.seq [0], 3);
    CHECK_INT (s_list (3, false, 0).count, 0);
    CHECK_INT (s_list (UINT64_MAX, false, 0).count, 0);
    seen = (s_seen_t) { .stop_after = 1 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_list (s_notices, txn, 0, false, 0, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 1);
    s_counts (3, 0);

    rb_test_section ("a notification decoded from an envelope's payload is stored as it came");
    s_note (&note, 4, REGIEBUS__ROLE__JEUGDHULP, 4);
    size_t size = regiebus__notification__get_packed_size (&note.msg);
    uint8_t *bytes = malloc (size);
    CHECK (bytes);
    regiebus__notification__pack (&note.msg, bytes);
    Regiebus__Notification *decoded = regiebus__notification__unpack (NULL, size, bytes);
    free (bytes);
    CHECK (decoded);
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_notices_store (s_notices, txn, &note.envelope.msg, decoded, 4000, &seq,
                                 &duplicate, &r), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    rb_wire_free (&decoded);
    CHECK (decoded == NULL);
    CHECK_UINT (seq, 4);
    CHECK (!duplicate);
    seen = (s_seen_t) { .count = 0 };
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, 4, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 1);
    CHECK_UINT (seen.last.seq, 4);
    CHECK_UINT (seen.last_also, 2);
    CHECK_STR (seen.last_from, "school-a");
    s_counts (4, 0);
}

static void
s_test_duplicates (void)
{
    rb_test_section ("the same notification again is the same notice: nothing is shown twice");
    s_note_t note;
    uint64_t seq;
    bool duplicate;
    rb_refusal_t r;
    s_note (&note, 2, REGIEBUS__ROLE__JEUGDHULP, 9);
    CHECK_INT (s_store_note (&note, 9000, &seq, &duplicate, &r), RB_OK);
    CHECK (duplicate);
    CHECK_UINT (seq, 2);
    CHECK_INT (s_list (0, false, 0).count, 4);
    s_counts (4, 0);
    //  The first copy is kept as it was: its time and envelope.
    s_seen_t seen = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, 2, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK (seen.last.received_at_ms == 2000);
    CHECK_UINT (seen.last.origin_seq, 2);

    rb_test_section ("the same notification for another role at this node is its own notice");
    s_note (&note, 2, REGIEBUS__ROLE__WIJKTEAM, 10);
    CHECK_INT (s_store_note (&note, 10000, &seq, &duplicate, &r), RB_OK);
    CHECK (!duplicate);
    CHECK_UINT (seq, 5);
    CHECK_INT (s_store_note (&note, 11000, &seq, &duplicate, &r), RB_OK);
    CHECK (duplicate);
    CHECK_UINT (seq, 5);
    s_seen_t all = s_list (0, false, 0);
    CHECK_INT (all.count, 5);
    CHECK_INT (all.roles [1], REGIEBUS__ROLE__JEUGDHULP);
    CHECK_INT (all.roles [4], REGIEBUS__ROLE__WIJKTEAM);
    s_counts (5, 0);
}

//  Store a note that must be refused with code and field.
#define CHECK_REFUSED(note, code, field) do { \
    uint64_t seq_ = 77; \
    bool duplicate_ = true; \
    CHECK_INT (s_store_note ((note), 1, &seq_, &duplicate_, &r), (code)); \
    CHECK_REFUSAL (&r, (code), (field)); \
    CHECK_UINT (seq_, 77); \
    CHECK (!duplicate_); \
} while (0)

static void
s_test_refusals (void)
{
    rb_test_section ("bad notifications are refused with the field named, nothing written");
    s_note_t note;
    rb_refusal_t r;

    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.notification_id.len = 15;
    CHECK_REFUSED (&note, RB_EINVALID, "notification_id");
    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.notification_id.len = 0;
    CHECK_REFUSED (&note, RB_EINVALID, "notification_id");

    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.recipient = NULL;
    CHECK_REFUSED (&note, RB_EMISSING, "recipient");

    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.recipient.node = "care-b";
    CHECK_REFUSED (&note, RB_EINVALID, "recipient.node");
    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.recipient.node = "";
    CHECK_REFUSED (&note, RB_EINVALID, "recipient.node");

    s_note (&note, 20, 0, 20);
    CHECK_REFUSED (&note, RB_EINVALID, "recipient.role");
    s_note (&note, 20, RB_NOTICE_ROLE_MAX + 1, 20);
    CHECK_REFUSED (&note, RB_EINVALID, "recipient.role");
    s_note (&note, 20, -1, 20);
    CHECK_REFUSED (&note, RB_EINVALID, "recipient.role");

    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.subject = 0;
    CHECK_REFUSED (&note, RB_EMISSING, "subject");
    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.subject = (Regiebus__EventKind) 999;
    CHECK_REFUSED (&note, RB_EKIND, "subject");

    const int32_t bad_dates [] = { 20261131, 20250229, 21000229, 19991231, 2026113, 20261300,
                                   20261200, -20261130 };
    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates [0]; i++) {
        s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
        note.msg.expected_by = bad_dates [i];
        CHECK_REFUSED (&note, RB_EINVALID, "expected_by");
    }

    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.expected_by = 20280229;     //  a leap day is a date: the next check refuses
    note.msg.n_also_sent_to = RB_NOTICE_ALSO_MAX + 1;
    Regiebus__Actor *many [RB_NOTICE_ALSO_MAX + 1];
    for (int i = 0; i <= RB_NOTICE_ALSO_MAX; i++)
        many [i] = &note.others [0];
    note.msg.also_sent_to = many;
    CHECK_REFUSED (&note, RB_ETOOLARGE, "also_sent_to");

    rb_test_section ("the envelope's fields a notice keeps are checked too");
    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.envelope.msg.case_pseudonym = "not-a-pseudonym";
    CHECK_REFUSED (&note, RB_EINVALID, "case_pseudonym");
    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.envelope.msg.event_id.len = 8;
    CHECK_REFUSED (&note, RB_EINVALID, "event_id");
    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.envelope.msg.origin = "";
    CHECK_REFUSED (&note, RB_EINVALID, "origin");

    //  Nothing of any of them was written: not a notice, not a count, not
    //  a number, not an id (the same id now stores as a fresh notice).
    CHECK_INT (s_list (0, false, 0).count, 5);
    s_counts (5, 0);
    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.n_also_sent_to = 0;         //  no co-recipients is fine
    note.msg.expected_by = 0;            //  and no date
    uint64_t seq;
    bool duplicate;
    CHECK_INT (s_store_note (&note, 6000, &seq, &duplicate, &r), RB_OK);
    CHECK_UINT (seq, 6);
    CHECK (!duplicate);
    s_counts (6, 0);
}

static void
s_test_ack (void)
{
    rb_test_section ("acknowledging records who and when, once");
    rb_refusal_t r;
    CHECK_INT (s_ack (2, "j.jansen@care-a", 7000, &r), RB_OK);
    s_seen_t seen = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, 2, s_collect, &seen), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, 99, s_collect, &seen), RB_ENOTFOUND);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 1);
    CHECK_INT (seen.last.state, RB_NOTICE_ACKNOWLEDGED);
    CHECK_STR (seen.last.acked_by, "j.jansen@care-a");
    CHECK (seen.last.acked_at_ms == 7000);
    CHECK (seen.last.received_at_ms == 2000);
    CHECK_UINT (seen.last_also, 2);         //  the notification is kept as it was
    s_counts (5, 1);

    rb_test_section ("only_new lists what is still to be seen");
    seen = s_list (0, true, 0);
    CHECK_INT (seen.count, 5);
    CHECK_UINT (seen.seq [0], 1);
    CHECK_UINT (seen.seq [1], 3);
    seen = s_list (0, true, 1);
    CHECK_INT (seen.count, 1);
    CHECK_UINT (seen.seq [0], 1);
    seen = s_list (1, true, 1);
    CHECK_INT (seen.count, 1);
    CHECK_UINT (seen.seq [0], 3);
    CHECK_INT (s_list (0, false, 0).count, 6);

    rb_test_section ("a second acknowledgement, an unknown number or a bad name change nothing");
    CHECK_INT (s_ack (2, "someone-else", 8000, &r), RB_EPRECONDITION);
    CHECK_REFUSAL (&r, RB_EPRECONDITION, "seq");
    CHECK (strstr (r.message, "j.jansen@care-a"));
    CHECK (strstr (r.message, "7000"));
    CHECK_INT (s_ack (99, "desk", 8000, &r), RB_ENOTFOUND);
    CHECK_REFUSAL (&r, RB_ENOTFOUND, "seq");
    CHECK_INT (s_ack (0, "desk", 8000, &r), RB_ENOTFOUND);
    CHECK_REFUSAL (&r, RB_ENOTFOUND, "seq");
    const char *bad [] = { "has space", "semi;colon", "a\nb", "slash/", "quote'", "é" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        CHECK_INT (s_ack (1, bad [i], 8000, &r), RB_EINVALID);
        CHECK_REFUSAL (&r, RB_EINVALID, "by");
    }
    CHECK_INT (s_ack (1, "x123456789012345678901234567890123456789012345678901234567890123456", 8000, &r),
               RB_ETOOLARGE);
    CHECK_REFUSAL (&r, RB_ETOOLARGE, "by");
    CHECK_INT (s_ack (1, "", 8000, &r), RB_EMISSING);
    CHECK_REFUSAL (&r, RB_EMISSING, "by");
    CHECK_INT (s_ack (1, NULL, 8000, &r), RB_EMISSING);
    CHECK_REFUSAL (&r, RB_EMISSING, "by");
    s_counts (5, 1);
    seen = (s_seen_t) { .count = 0 };
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, 2, s_collect, &seen), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, 1, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 2);
    CHECK_INT (seen.last.state, RB_NOTICE_NEW);     //  1 is still new

    rb_test_section ("a name of exactly 64 characters is accepted");
    const char *longest = "d123456789012345678901234567890123456789012345678901234567890123";
    CHECK_INT (strlen (longest), RB_NOTICE_BY_MAX);
    CHECK_INT (s_ack (5, longest, 8000, &r), RB_OK);
    seen = (s_seen_t) { .count = 0 };
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, 5, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_STR (seen.last.acked_by, longest);
    s_counts (4, 2);

    rb_test_section ("an acknowledgement in an aborted transaction leaves no trace");
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_notices_ack (s_notices, txn, 1, "desk", 9000, &r), RB_OK);
    rb_txn_destroy (&txn);
    s_counts (4, 2);
    CHECK_INT (s_list (0, true, 0).count, 4);
}

static void
s_test_overdue (void)
{
    rb_test_section ("the new ones received before a time, for reminders");
    //  Received: 1 at 1000, 2 at 2000 (acknowledged), 3 at 3000, 4 at
    //  4000, 5 at 10000 (acknowledged), 6 at 6000.
    s_seen_t seen = s_unacked_before (3500);
    CHECK_INT (seen.count, 2);
    CHECK_UINT (seen.seq [0], 1);
    CHECK_UINT (seen.seq [1], 3);
    seen = s_unacked_before (3000);         //  strictly before
    CHECK_INT (seen.count, 1);
    CHECK_UINT (seen.seq [0], 1);
    CHECK_INT (s_unacked_before (0).count, 0);
    CHECK_INT (s_unacked_before (1000).count, 0);
    seen = s_unacked_before (INT64_MAX);
    CHECK_INT (seen.count, 4);
    CHECK_UINT (seen.seq [3], 6);
    //  A visit may stop it.
    seen = (s_seen_t) { .stop_after = 2 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_unacked_before (s_notices, txn, INT64_MAX, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 2);
}

static void
s_test_reopen (void)
{
    rb_test_section ("everything is still there after the store is reopened");
    rb_notices_destroy (&s_notices);
    CHECK (s_notices == NULL);
    rb_notices_destroy (&s_notices);
    rb_store_destroy (&s_store);
    s_open ("db");
    rb_refusal_t r;
    s_seen_t seen = s_list (0, false, 0);
    CHECK_INT (seen.count, 6);
    CHECK_UINT (seen.seq [5], 6);
    s_counts (4, 2);
    CHECK_INT (s_unacked_before (3500).count, 2);

    //  Still recognised as seen, still acknowledged once, still numbered on.
    s_note_t note;
    uint64_t seq;
    bool duplicate;
    s_note (&note, 3, REGIEBUS__ROLE__JEUGDHULP, 30);
    CHECK_INT (s_store_note (&note, 12000, &seq, &duplicate, &r), RB_OK);
    CHECK (duplicate);
    CHECK_UINT (seq, 3);
    CHECK_INT (s_ack (2, "desk", 12000, &r), RB_EPRECONDITION);
    CHECK_REFUSAL (&r, RB_EPRECONDITION, "seq");
    s_note (&note, 30, REGIEBUS__ROLE__CASUSREGISSEUR, 31);
    CHECK_INT (s_store_note (&note, 13000, &seq, &duplicate, &r), RB_OK);
    CHECK (!duplicate);
    CHECK_UINT (seq, 7);
    CHECK_INT (s_ack (7, "casus.desk", 14000, &r), RB_OK);
    s_counts (4, 3);
}

static void
s_test_counters (void)
{
    rb_test_section ("the counters are one value in the notice table, after every notice");
    //  Seven notices stored, three acknowledged, all in this store's own
    //  format: nothing ever went to notice_meta.
    s_check_moved (7, 4, 3);

    rb_test_section ("no listing or lookup ever takes the counters for a notice");
    s_seen_t seen = s_list (0, false, 0);
    CHECK_INT (seen.count, 7);
    CHECK_UINT (seen.seq [6], 7);
    CHECK_INT (s_list (6, false, 0).count, 1);
    CHECK_INT (s_list (7, false, 0).count, 0);
    CHECK_INT (s_list (UINT64_MAX - 1, false, 0).count, 0);
    CHECK_INT (s_list (0, true, 0).count, 4);
    CHECK_INT (s_list (0, false, 100).count, 7);
    CHECK_INT (s_unacked_before (INT64_MAX).count, 4);
    seen = (s_seen_t) { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, UINT64_MAX, s_collect, &seen), RB_ENOTFOUND);
    CHECK_INT (rb_notices_get (s_notices, txn, UINT64_MAX - 1, s_collect, &seen), RB_ENOTFOUND);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 0);
    rb_refusal_t r;
    CHECK_INT (s_ack (UINT64_MAX, "desk", 15000, &r), RB_ENOTFOUND);
    CHECK_REFUSAL (&r, RB_ENOTFOUND, "seq");
    s_check_moved (7, 4, 3);

    rb_test_section ("a store and an acknowledgement in an aborted transaction leave the counters");
    s_note_t note;
    uint64_t seq;
    bool duplicate;
    s_note (&note, 40, REGIEBUS__ROLE__JEUGDHULP, 40);
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_notices_store (s_notices, txn, &note.envelope.msg, &note.msg, 15000, &seq,
                                 &duplicate, &r), RB_OK);
    CHECK_UINT (seq, 8);
    CHECK_INT (rb_notices_ack (s_notices, txn, 1, "desk", 15000, &r), RB_OK);
    uint64_t inside [3];
    CHECK_INT (s_raw_counts (txn, inside), RB_OK);
    CHECK_UINT (inside [0], 8);
    CHECK_UINT (inside [1], 4);
    CHECK_UINT (inside [2], 4);
    rb_txn_destroy (&txn);
    s_check_moved (7, 4, 3);
    s_counts (4, 3);
    CHECK_INT (s_list (0, false, 0).count, 7);

    rb_test_section ("numbers stop below the counters' key: the store that would reach it is refused");
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    uint8_t near [24];
    rb_u64_put (near, UINT64_MAX - 2);
    rb_u64_put (near + 8, 4);
    rb_u64_put (near + 16, 3);
    CHECK_INT (rb_txn_put (txn, s_raw, (rb_val_t) { s_counts_key, 8 }, (rb_val_t) { near, 24 }),
               RB_OK);
    CHECK_INT (rb_notices_store (s_notices, txn, &note.envelope.msg, &note.msg, 15000, &seq,
                                 &duplicate, &r), RB_OK);
    CHECK_UINT (seq, UINT64_MAX - 1);       //  the last number there is
    s_note_t refused;
    s_note (&refused, 41, REGIEBUS__ROLE__JEUGDHULP, 41);
    rb_refusal_clear (&r);
    seq = 77;
    CHECK_INT (rb_notices_store (s_notices, txn, &refused.envelope.msg, &refused.msg, 15000, &seq,
                                 &duplicate, &r), RB_EFULL);
    CHECK_REFUSAL (&r, RB_EFULL, "seq");
    CHECK_UINT (seq, 77);
    CHECK_INT (s_raw_counts (txn, inside), RB_OK);
    CHECK_UINT (inside [0], UINT64_MAX - 1);
    CHECK_UINT (inside [1], 5);
    seen = (s_seen_t) { .count = 0 };
    CHECK_INT (rb_notices_list (s_notices, txn, 0, false, 0, s_collect, &seen), RB_OK);
    CHECK_INT (seen.count, 8);
    CHECK_UINT (seen.last.seq, UINT64_MAX - 1);
    CHECK (seen.last_id [0] == 40);          //  the refused one is nowhere
    CHECK_INT (rb_notices_get (s_notices, txn, UINT64_MAX - 1, s_collect, &seen), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, UINT64_MAX, s_collect, &seen), RB_ENOTFOUND);
    rb_txn_destroy (&txn);
    s_check_moved (7, 4, 3);
}

static void
s_test_damage (void)
{
    rb_test_section ("a damaged record is a storage error, never a crash");
    //  The test writes into the module's table directly, as a broken disk
    //  or a foreign writer would.
    rb_table_t raw;
    CHECK_INT (rb_store_table (s_store, "notice", &raw), RB_OK);
    uint8_t key [8], junk [5] = { 1, 2, 3, 4, 5 };
    rb_u64_put (key, 100);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_txn_put (txn, raw, (rb_val_t) { key, 8 }, (rb_val_t) { junk, 5 }), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);

    s_seen_t seen = { .count = 0 };
    rb_refusal_t r;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_notices_list (s_notices, txn, 0, false, 0, s_collect, &seen), RB_ESTORE);
    CHECK_INT (seen.count, 7);              //  the good ones before it were shown
    CHECK_INT (rb_notices_get (s_notices, txn, 100, s_collect, &seen), RB_ESTORE);
    CHECK_INT (rb_notices_unacked_before (s_notices, txn, INT64_MAX, s_collect, &seen), RB_ESTORE);
    CHECK_INT (rb_notices_ack (s_notices, txn, 100, "desk", 15000, &r), RB_ESTORE);
    CHECK_INT (r.code, RB_ESTORE);
    CHECK_INT (rb_txn_del (txn, raw, (rb_val_t) { key, 8 }), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    CHECK_INT (s_list (0, false, 0).count, 7);
    s_counts (4, 3);

    rb_test_section ("damaged counters are a storage error: nothing is counted or stored on them");
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_txn_put (txn, raw, (rb_val_t) { s_counts_key, 8 }, (rb_val_t) { junk, 5 }), RB_OK);
    uint64_t fresh = 99, acked = 99;
    CHECK_INT (rb_notices_counts (s_notices, txn, &fresh, &acked), RB_ESTORE);
    s_note_t note;
    uint64_t seq;
    bool duplicate;
    s_note (&note, 42, REGIEBUS__ROLE__JEUGDHULP, 42);
    CHECK_INT (rb_notices_store (s_notices, txn, &note.envelope.msg, &note.msg, 15000, &seq,
                                 &duplicate, &r), RB_ESTORE);
    CHECK_INT (rb_notices_ack (s_notices, txn, 1, "desk", 15000, &r), RB_ESTORE);
    rb_txn_destroy (&txn);
    s_counts (4, 3);
}

static void
s_test_legacy (void)
{
    rb_test_section ("a store whose counters sit in notice_meta is counted from there");
    s_close ();
    s_open ("legacy");
    s_note_t note;
    uint64_t seq;
    bool duplicate;
    rb_refusal_t r;
    for (int i = 1; i <= 3; i++) {
        s_note (&note, (uint8_t) (50 + i), REGIEBUS__ROLE__PARENT, (uint64_t) i);
        CHECK_INT (s_store_note (&note, 1000 * i, &seq, &duplicate, &r), RB_OK);
    }
    s_make_legacy (false);                  //  nothing acknowledged yet: no "acked"
    s_check_legacy (3, 3, UINT64_MAX);
    s_counts (3, 0);
    CHECK_INT (s_list (0, false, 0).count, 3);
    s_close ();
    s_open ("legacy");
    s_counts (3, 0);
    CHECK_INT (s_unacked_before (INT64_MAX).count, 3);

    rb_test_section ("a failed transaction or a refusal moves nothing");
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_notices_ack (s_notices, txn, 2, "desk", 4000, &r), RB_OK);
    uint64_t inside [3];
    CHECK_INT (s_raw_counts (txn, inside), RB_OK);
    CHECK_UINT (inside [0], 3);
    CHECK_UINT (inside [2], 1);
    CHECK_INT (s_legacy_entries (txn), 0);
    rb_txn_destroy (&txn);
    s_check_legacy (3, 3, UINT64_MAX);
    s_note (&note, 54, REGIEBUS__ROLE__PARENT, 4);
    note.msg.subject = 0;
    CHECK_INT (s_store_note (&note, 4000, &seq, &duplicate, &r), RB_EMISSING);
    CHECK_INT (s_ack (9, "desk", 4000, &r), RB_ENOTFOUND);
    s_check_legacy (3, 3, UINT64_MAX);
    s_counts (3, 0);

    rb_test_section ("the first acknowledgement moves them under their key and empties notice_meta");
    CHECK_INT (s_ack (2, "desk", 4000, &r), RB_OK);
    s_check_moved (3, 2, 1);
    s_counts (2, 1);

    rb_test_section ("so does the first store, and numbering goes on from the old counter");
    s_make_legacy (true);
    s_check_legacy (3, 2, 1);
    s_counts (2, 1);
    s_note (&note, 54, REGIEBUS__ROLE__PARENT, 4);
    CHECK_INT (s_store_note (&note, 5000, &seq, &duplicate, &r), RB_OK);
    CHECK_UINT (seq, 4);
    CHECK (!duplicate);
    s_check_moved (4, 3, 1);
    s_close ();
    s_open ("legacy");
    s_counts (3, 1);
    s_seen_t seen = s_list (0, false, 0);
    CHECK_INT (seen.count, 4);
    CHECK_UINT (seen.seq [3], 4);
    CHECK_INT (s_list (0, true, 0).count, 3);
}

int
main (void)
{
    rb_test_begin ("notices");
    s_open ("db");
    rb_notices_destroy (&s_notices);        //  s_test_new opens them itself
    s_test_new ();
    s_test_store_and_list ();
    s_test_duplicates ();
    s_test_refusals ();
    s_test_ack ();
    s_test_overdue ();
    s_test_reopen ();
    s_test_counters ();
    s_test_damage ();
    s_test_legacy ();
    s_close ();
    return rb_test_end ();
}
