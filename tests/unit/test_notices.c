/*  Unit test of rb_notices: notifications stored once, listed, acknowledged. */
#include "rb_notices.h"
#include "rb_test.h"

#define SELF "care-a"
#define CASE "1ae80cfbd8c8ca02806d4f4d2872a62ded88bd999f35a746ca7bf6cb0a99bc3e"

static rb_store_t *s_store;
static rb_notices_t *s_notices;

//  A notification for this node with storage of its own.
typedef struct {
    Regiebus__Notification msg;
    Regiebus__Actor recipient, others [2], *also [2];
    uint8_t id [16];
    Regiebus__Envelope envelope;
    uint8_t event_id [16];
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
    regiebus__envelope__init (&self->envelope);
    memset (self->event_id, id ^ 0xff, 16);
    self->envelope.event_id.data = self->event_id;
    self->envelope.event_id.len = 16;
    self->envelope.origin = "mun-a";
    self->envelope.origin_seq = origin_seq;
    self->envelope.case_pseudonym = CASE;
}

static rb_err_t
s_store_note (s_note_t *note, int64_t now, uint64_t *seq, bool *duplicate, rb_refusal_t *r)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    rb_err_t rc = rb_notices_store (s_notices, txn, &note->envelope, &note->msg, now, seq, duplicate, r);
    if (rc)
        rb_txn_destroy (&txn);
    else
        CHECK_INT (rb_txn_commit (&txn), RB_OK);
    return rc;
}

typedef struct {
    uint64_t seq [16];
    rb_notice_t last;
    int roles [16];
    int count;
} s_seen_t;

static int
s_collect (const rb_notice_t *notice, void *arg)
{
    s_seen_t *seen = arg;
    if (seen->count < 16) {
        seen->seq [seen->count] = notice->seq;
        seen->roles [seen->count] = notice->notification->recipient->role;
    }
    seen->count++;
    seen->last = *notice;
    seen->last.notification = NULL;     //  freed after the visit
    return 0;
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

static void
s_counts (uint64_t expect_new, uint64_t expect_acked)
{
    rb_txn_t *txn;
    uint64_t fresh, acked;
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
    rb_err_t rc = rb_notices_ack (s_notices, txn, seq, by, now, r);
    if (rc)
        rb_txn_destroy (&txn);
    else
        CHECK_INT (rb_txn_commit (&txn), RB_OK);
    return rc;
}

static void
s_test_store_and_list (void)
{
    rb_test_section ("notifications are numbered in arrival order and listed with what they say");
    s_note_t note;
    uint64_t seq;
    bool duplicate;
    rb_refusal_t r = { 0 };
    for (int i = 1; i <= 3; i++) {
        s_note (&note, (uint8_t) i, REGIEBUS__ROLE__JEUGDHULP, (uint64_t) i);
        CHECK_INT (s_store_note (&note, 1000 * i, &seq, &duplicate, &r), RB_OK);
        CHECK_UINT (seq, (uint64_t) i);
        CHECK (!duplicate);
    }
    s_seen_t seen = s_list (0, false, 0);
    CHECK_INT (seen.count, 3);
    CHECK_UINT (seen.seq [0], 1);
    CHECK_UINT (seen.seq [2], 3);
    CHECK_STR (seen.last.origin, "mun-a");
    CHECK_UINT (seen.last.origin_seq, 3);
    CHECK_STR (seen.last.case_pseudonym, CASE);
    CHECK_INT (seen.last.state, RB_NOTICE_NEW);
    CHECK (seen.last.received_at_ms == 3000);
    CHECK_INT (s_list (1, false, 0).count, 2);
    CHECK_INT (s_list (0, false, 2).count, 2);
    s_counts (3, 0);

    rb_test_section ("the same notification again is the same notice: nothing is shown twice");
    s_note (&note, 2, REGIEBUS__ROLE__JEUGDHULP, 9);
    CHECK_INT (s_store_note (&note, 9000, &seq, &duplicate, &r), RB_OK);
    CHECK (duplicate);
    CHECK_UINT (seq, 2);
    CHECK_INT (s_list (0, false, 0).count, 3);
    s_counts (3, 0);

    rb_test_section ("the same notification for another role at this node is its own notice");
    s_note (&note, 2, REGIEBUS__ROLE__WIJKTEAM, 10);
    CHECK_INT (s_store_note (&note, 10000, &seq, &duplicate, &r), RB_OK);
    CHECK (!duplicate);
    CHECK_UINT (seq, 4);
    s_counts (4, 0);
}

static void
s_test_refusals (void)
{
    rb_test_section ("bad notifications are refused with the field named, nothing written");
    s_note_t note;
    uint64_t seq;
    bool duplicate;
    rb_refusal_t r;

    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.notification_id.len = 15;
    CHECK_INT (s_store_note (&note, 1, &seq, &duplicate, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "notification_id");

    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.recipient = NULL;
    CHECK_INT (s_store_note (&note, 1, &seq, &duplicate, &r), RB_EMISSING);
    CHECK_REFUSAL (&r, RB_EMISSING, "recipient");

    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.recipient.node = "care-b";
    CHECK_INT (s_store_note (&note, 1, &seq, &duplicate, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "recipient.node");

    s_note (&note, 20, 0, 20);
    CHECK_INT (s_store_note (&note, 1, &seq, &duplicate, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "recipient.role");
    s_note (&note, 20, 9, 20);
    CHECK_INT (s_store_note (&note, 1, &seq, &duplicate, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "recipient.role");

    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.subject = 0;
    CHECK_INT (s_store_note (&note, 1, &seq, &duplicate, &r), RB_EMISSING);
    CHECK_REFUSAL (&r, RB_EMISSING, "subject");

    const int32_t bad_dates [] = { 20261131, 20250229, 19991231, 2026113, 20261300 };
    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates [0]; i++) {
        s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
        note.msg.expected_by = bad_dates [i];
        CHECK_INT (s_store_note (&note, 1, &seq, &duplicate, &r), RB_EINVALID);
        CHECK_REFUSAL (&r, RB_EINVALID, "expected_by");
    }
    s_note (&note, 20, REGIEBUS__ROLE__JEUGDHULP, 20);
    note.msg.expected_by = 20280229;     //  a leap day is a date
    note.msg.n_also_sent_to = RB_NOTICE_ALSO_MAX + 1;
    Regiebus__Actor *many [RB_NOTICE_ALSO_MAX + 1];
    for (int i = 0; i <= RB_NOTICE_ALSO_MAX; i++)
        many [i] = &note.others [0];
    note.msg.also_sent_to = many;
    CHECK_INT (s_store_note (&note, 1, &seq, &duplicate, &r), RB_ETOOLARGE);
    CHECK_REFUSAL (&r, RB_ETOOLARGE, "also_sent_to");
    CHECK_INT (s_list (0, false, 0).count, 4);
    s_counts (4, 0);
}

static void
s_test_ack (void)
{
    rb_test_section ("acknowledging records who and when, once");
    rb_refusal_t r;
    CHECK_INT (s_ack (2, "j.jansen@care-a", 5000, &r), RB_OK);
    s_seen_t seen = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, 2, s_collect, &seen), RB_OK);
    CHECK_INT (rb_notices_get (s_notices, txn, 99, s_collect, &seen), RB_ENOTFOUND);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 1);
    CHECK_INT (seen.last.state, RB_NOTICE_ACKNOWLEDGED);
    CHECK_STR (seen.last.acked_by, "j.jansen@care-a");
    CHECK (seen.last.acked_at_ms == 5000);
    s_counts (3, 1);

    seen = s_list (0, true, 0);
    CHECK_INT (seen.count, 3);
    CHECK_UINT (seen.seq [0], 1);
    CHECK_UINT (seen.seq [1], 3);

    rb_test_section ("a second acknowledgement, an unknown number or a bad name change nothing");
    CHECK_INT (s_ack (2, "someone-else", 6000, &r), RB_EPRECONDITION);
    CHECK_REFUSAL (&r, RB_EPRECONDITION, "seq");
    CHECK (strstr (r.message, "j.jansen@care-a"));
    CHECK_INT (s_ack (99, "desk", 6000, &r), RB_ENOTFOUND);
    CHECK_REFUSAL (&r, RB_ENOTFOUND, "seq");
    const char *bad [] = { "", "has space", "semi;colon", "a\nb",
        "x123456789012345678901234567890123456789012345678901234567890123456" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        CHECK_INT (s_ack (1, bad [i], 6000, &r), RB_EINVALID);
        CHECK_REFUSAL (&r, RB_EINVALID, "by");
    }
    s_counts (3, 1);
}

static void
s_test_overdue (void)
{
    rb_test_section ("the new ones received before a time, for reminders");
    s_seen_t seen = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_notices_unacked_before (s_notices, txn, 3500, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 2);          //  1 (1000) and 3 (3000); 2 is acknowledged, 4 is later
    CHECK_UINT (seen.seq [0], 1);
    CHECK_UINT (seen.seq [1], 3);
}

int
main (void)
{
    rb_test_begin ("notices");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_notices = rb_notices_new (s_store, SELF);
    CHECK (s_notices);
    s_test_store_and_list ();
    s_test_refusals ();
    s_test_ack ();
    s_test_overdue ();

    rb_test_section ("everything is still there after the store is reopened");
    rb_notices_destroy (&s_notices);
    CHECK (s_notices == NULL);
    rb_notices_destroy (&s_notices);
    rb_store_destroy (&s_store);
    s_store = rb_store_new ("db", 16, &r);
    s_notices = rb_notices_new (s_store, SELF);
    CHECK_INT (s_list (0, false, 0).count, 4);
    s_counts (3, 1);
    rb_notices_destroy (&s_notices);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
