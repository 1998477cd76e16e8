/*  unit_wire: encoding, decoding and field checks (rb_wire.h).
 *
 *  Everything that arrives from outside is decoded here, so each decoder is
 *  tried with what a hostile or confused sender might send: too many bytes,
 *  bytes that are not protobuf, the wrong version, an empty message. Field
 *  checks are tried one broken field at a time on an otherwise valid
 *  envelope or submission, and each refusal must name that field.
 */
#include "rb_test.h"

// ---------------------------------------------------------------------------
//  Frames and decoders

static zframe_t *
s_ping_frame (uint32_t version, int64_t sent_at)
{
    Regiebus__Ping ping = REGIEBUS__PING__INIT;
    ping.sent_at_ms = sent_at;
    Regiebus__LinkFrame frame = REGIEBUS__LINK_FRAME__INIT;
    frame.version = version;
    frame.body_case = REGIEBUS__LINK_FRAME__BODY_PING;
    frame.ping = &ping;
    return rb_wire_frame (&frame.base);
}

static void
s_test_link_frames (void)
{
    rb_test_section ("link frames round-trip: ping, ack, refusal, batch");
    rb_refusal_t r = { 0 };
    zframe_t *frame = s_ping_frame (RB_WIRE_VERSION, 1234567);
    CHECK (frame);
    Regiebus__LinkFrame *decoded = rb_wire_link_decode (frame, 1024, &r);
    CHECK (decoded);
    CHECK_INT (r.code, RB_OK);
    CHECK_INT (decoded->version, RB_WIRE_VERSION);
    CHECK_INT (decoded->body_case, REGIEBUS__LINK_FRAME__BODY_PING);
    CHECK_INT (decoded->ping->sent_at_ms, 1234567);
    rb_wire_free (&decoded);
    CHECK (decoded == NULL);
    rb_wire_free (&decoded);            //  idempotent
    //  Exactly max bytes is still accepted.
    decoded = rb_wire_link_decode (frame, zframe_size (frame), &r);
    CHECK (decoded);
    rb_wire_free (&decoded);
    zframe_destroy (&frame);

    Regiebus__Ack ack = REGIEBUS__ACK__INIT;
    ack.committed_seq = 41;
    ack.gap = true;
    Regiebus__LinkFrame link = REGIEBUS__LINK_FRAME__INIT;
    link.version = RB_WIRE_VERSION;
    link.body_case = REGIEBUS__LINK_FRAME__BODY_ACK;
    link.ack = &ack;
    frame = rb_wire_frame (&link.base);
    decoded = rb_wire_link_decode (frame, 1024, &r);
    CHECK (decoded && decoded->body_case == REGIEBUS__LINK_FRAME__BODY_ACK);
    CHECK_UINT (decoded->ack->committed_seq, 41);
    CHECK (decoded->ack->gap);
    CHECK_INT (decoded->ack->sent_at_ms, 0);
    rb_wire_free (&decoded);
    zframe_destroy (&frame);

    Regiebus__Refusal refusal = REGIEBUS__REFUSAL__INIT;
    refusal.code = REGIEBUS__ERROR_CODE__OUT_OF_SEQUENCE;
    refusal.field = "envelopes[3].origin_seq";
    refusal.message = "does not match";
    refusal.seq = 9;
    link.body_case = REGIEBUS__LINK_FRAME__BODY_REFUSAL;
    link.refusal = &refusal;
    frame = rb_wire_frame (&link.base);
    decoded = rb_wire_link_decode (frame, 1024, &r);
    CHECK (decoded && decoded->body_case == REGIEBUS__LINK_FRAME__BODY_REFUSAL);
    CHECK_INT (decoded->refusal->code, RB_ESEQUENCE);
    CHECK_STR (decoded->refusal->field, "envelopes[3].origin_seq");
    CHECK_UINT (decoded->refusal->seq, 9);
    rb_wire_free (&decoded);
    zframe_destroy (&frame);

    //  A batch carries packed envelopes; each decodes on its own.
    rb_test_envelope_t one, two;
    rb_test_envelope (&one, "school-a", "mun-a", 5, 1700000000000);
    rb_test_envelope (&two, "school-a", "mun-a", 6, 1700000000001);
    ProtobufCBinaryData packed [2] = { rb_test_pack (&one.msg), rb_test_pack (&two.msg) };
    Regiebus__Batch batch = REGIEBUS__BATCH__INIT;
    batch.first_seq = 5;
    batch.n_envelopes = 2;
    batch.envelopes = packed;
    link.body_case = REGIEBUS__LINK_FRAME__BODY_BATCH;
    link.batch = &batch;
    frame = rb_wire_frame (&link.base);
    decoded = rb_wire_link_decode (frame, 4096, &r);
    CHECK (decoded && decoded->body_case == REGIEBUS__LINK_FRAME__BODY_BATCH);
    CHECK_UINT (decoded->batch->first_seq, 5);
    CHECK_UINT (decoded->batch->n_envelopes, 2);
    Regiebus__Envelope *e = rb_wire_envelope_decode (decoded->batch->envelopes [1].data,
                                                     decoded->batch->envelopes [1].len);
    CHECK (e);
    CHECK_UINT (e->origin_seq, 6);
    CHECK_STR (e->origin, "school-a");
    CHECK_STR (e->destination, "mun-a");
    CHECK_STR (e->case_pseudonym, rb_test_pseudonym);
    CHECK_INT (e->kind, REGIEBUS__EVENT_KIND__TEST);
    CHECK_INT (e->recorded_at_ms, 1700000000001);
    CHECK_UINT (e->payload.len, 7);
    CHECK (memcmp (e->payload.data, "event-6", 7) == 0);
    CHECK_INT (rb_wire_envelope_check (e, "envelopes[1]", 1024, &r), RB_OK);
    rb_wire_free (&e);
    rb_wire_free (&decoded);
    zframe_destroy (&frame);
    free (packed [0].data);
    free (packed [1].data);
}

static void
s_test_link_refusals (void)
{
    rb_test_section ("link decoding refuses: too large, garbage, version, no body");
    rb_refusal_t r;
    zframe_t *frame = s_ping_frame (RB_WIRE_VERSION, 1);
    CHECK (rb_wire_link_decode (frame, zframe_size (frame) - 1, &r) == NULL);
    CHECK_REFUSAL (&r, RB_ETOOLARGE, "frame");
    zframe_destroy (&frame);

    const uint8_t garbage [] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    frame = zframe_new (garbage, sizeof garbage);
    CHECK (rb_wire_link_decode (frame, 1024, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EMALFORMED, "frame");
    zframe_destroy (&frame);

    //  A truncated frame is garbage too.
    frame = s_ping_frame (RB_WIRE_VERSION, 1700000000000);
    zframe_t *cut = zframe_new (zframe_data (frame), zframe_size (frame) - 1);
    CHECK (rb_wire_link_decode (cut, 1024, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EMALFORMED, "frame");
    zframe_destroy (&cut);
    zframe_destroy (&frame);

    frame = s_ping_frame (2, 1);
    CHECK (rb_wire_link_decode (frame, 1024, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EVERSION, "version");
    zframe_destroy (&frame);
    frame = s_ping_frame (0, 1);        //  version never set
    CHECK (rb_wire_link_decode (frame, 1024, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EVERSION, "version");
    zframe_destroy (&frame);

    Regiebus__LinkFrame empty = REGIEBUS__LINK_FRAME__INIT;
    empty.version = RB_WIRE_VERSION;
    frame = rb_wire_frame (&empty.base);
    CHECK (rb_wire_link_decode (frame, 1024, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EMISSING, "body");
    zframe_destroy (&frame);

    //  An empty frame is a message with nothing set: no version.
    frame = zframe_new_empty ();
    CHECK (rb_wire_link_decode (frame, 1024, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EVERSION, "version");
    zframe_destroy (&frame);
}

static void
s_test_api (void)
{
    rb_test_section ("API requests round-trip and are refused like link frames");
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.version = RB_WIRE_VERSION;
    request.request_id = 77;
    request.call_case = REGIEBUS__API_REQUEST__CALL_STATUS;
    request.status = &status;
    zframe_t *frame = rb_wire_frame (&request.base);
    rb_refusal_t r;
    uint64_t id = 0;
    Regiebus__ApiRequest *decoded = rb_wire_api_decode (frame, 1024, &id, &r);
    CHECK (decoded);
    CHECK_UINT (decoded->request_id, 77);
    CHECK_INT (decoded->call_case, REGIEBUS__API_REQUEST__CALL_STATUS);
    rb_wire_free (&decoded);

    CHECK (rb_wire_api_decode (frame, zframe_size (frame) - 1, &id, &r) == NULL);
    CHECK_REFUSAL (&r, RB_ETOOLARGE, "request");
    zframe_destroy (&frame);

    const uint8_t garbage [] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    frame = zframe_new (garbage, sizeof garbage);
    CHECK (rb_wire_api_decode (frame, 1024, &id, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EMALFORMED, "request");
    CHECK_UINT (id, 0);
    zframe_destroy (&frame);

    request.version = 2;
    frame = rb_wire_frame (&request.base);
    CHECK (rb_wire_api_decode (frame, 1024, &id, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EVERSION, "version");
    CHECK_UINT (id, 77);    //  a refusal still knows which request it answers
    zframe_destroy (&frame);

    Regiebus__ApiRequest no_call = REGIEBUS__API_REQUEST__INIT;
    no_call.version = RB_WIRE_VERSION;
    no_call.request_id = 78;
    frame = rb_wire_frame (&no_call.base);
    CHECK (rb_wire_api_decode (frame, 1024, &id, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EMISSING, "call");
    CHECK_UINT (id, 78);
    zframe_destroy (&frame);

    //  A submit with its events survives the trip.
    rb_test_submission_t sub;
    rb_test_submission (&sub, "key-1", "mun-a", "hello");
    Regiebus__Submission *events [] = { &sub.msg };
    Regiebus__SubmitRequest submit = REGIEBUS__SUBMIT_REQUEST__INIT;
    submit.n_events = 1;
    submit.events = events;
    request.version = RB_WIRE_VERSION;
    request.call_case = REGIEBUS__API_REQUEST__CALL_SUBMIT;
    request.submit = &submit;
    frame = rb_wire_frame (&request.base);
    decoded = rb_wire_api_decode (frame, 1024, &id, &r);
    CHECK (decoded && decoded->call_case == REGIEBUS__API_REQUEST__CALL_SUBMIT);
    CHECK_UINT (decoded->submit->n_events, 1);
    CHECK_STR (decoded->submit->events [0]->idempotency_key, "key-1");
    CHECK_INT (rb_wire_submission_check (decoded->submit->events [0], "events[0]", 1024, &r), RB_OK);
    rb_wire_free (&decoded);
    zframe_destroy (&frame);

    rb_test_section ("single envelopes decode from bytes, or not");
    rb_test_envelope_t env;
    rb_test_envelope (&env, "mun-a", "school-a", 1, 1);
    ProtobufCBinaryData bytes = rb_test_pack (&env.msg);
    Regiebus__Envelope *e = rb_wire_envelope_decode (bytes.data, bytes.len);
    CHECK (e && e->origin_seq == 1);
    rb_wire_free (&e);
    CHECK (rb_wire_envelope_decode (bytes.data, bytes.len - 1) == NULL);
    CHECK (rb_wire_envelope_decode (garbage, sizeof garbage) == NULL);
    free (bytes.data);
}

// ---------------------------------------------------------------------------
//  Field checks

//  Check env and expect a refusal naming envelopes[3].<field>.
static void
s_expect_envelope (rb_test_envelope_t *env, rb_err_t code, const char *field, int line)
{
    rb_refusal_t r = { 0 };
    rb_err_t rc = rb_wire_envelope_check (&env->msg, "envelopes[3]", 64, &r);
    char full [96];
    snprintf (full, sizeof full, "envelopes[3].%s", field);
    if (rc != code)
        rb_test_fail (__FILE__, line, "envelope check returned %s, expected %s",
                      rb_errname (rc), rb_errname (code));
    rb_test_check_refusal (__FILE__, line, &r, code, full, true);
    //  The message names the field as well, for logs.
    if (!strstr (r.message, full))
        rb_test_fail (__FILE__, line, "message \"%s\" does not name %s", r.message, full);
}

#define EXPECT_ENVELOPE(code, field) s_expect_envelope (&env, (code), (field), __LINE__)
#define FRESH() rb_test_envelope (&env, "school-a", "mun-a", 4, 1700000000000)

static void
s_test_envelope_check (void)
{
    rb_test_section ("envelope checks: each field on its own");
    rb_test_envelope_t env;
    rb_refusal_t r = { 0 };
    FRESH ();
    CHECK_INT (rb_wire_envelope_check (&env.msg, "envelopes[3]", 64, &r), RB_OK);
    CHECK_INT (r.code, RB_OK);

    FRESH (); env.msg.version = 2;                      EXPECT_ENVELOPE (RB_EVERSION, "version");
    FRESH (); env.msg.version = 0;                      EXPECT_ENVELOPE (RB_EVERSION, "version");
    FRESH (); env.msg.event_id.len = 15;                EXPECT_ENVELOPE (RB_EINVALID, "event_id");
    FRESH (); env.msg.event_id.len = 0;                 EXPECT_ENVELOPE (RB_EINVALID, "event_id");
    FRESH (); env.msg.origin = "";                      EXPECT_ENVELOPE (RB_EINVALID, "origin");
    FRESH (); env.msg.origin = "School-A";              EXPECT_ENVELOPE (RB_EINVALID, "origin");
    FRESH (); env.msg.origin_seq = 0;                   EXPECT_ENVELOPE (RB_EINVALID, "origin_seq");
    //  All ones is no envelope's seq: it keys a stream's state on disk.
    FRESH (); env.msg.origin_seq = UINT64_MAX;          EXPECT_ENVELOPE (RB_EINVALID, "origin_seq");
    FRESH (); env.msg.destination = "";                 EXPECT_ENVELOPE (RB_EINVALID, "destination");
    FRESH (); env.msg.destination = "mun a";            EXPECT_ENVELOPE (RB_EINVALID, "destination");
    FRESH (); env.msg.occurred_at_ms = 0;               EXPECT_ENVELOPE (RB_EINVALID, "occurred_at_ms");
    FRESH (); env.msg.occurred_at_ms = -1;              EXPECT_ENVELOPE (RB_EINVALID, "occurred_at_ms");
    FRESH (); env.msg.recorded_at_ms = 0;               EXPECT_ENVELOPE (RB_EINVALID, "recorded_at_ms");
    FRESH (); env.msg.recorded_at_ms = INT64_MIN;       EXPECT_ENVELOPE (RB_EINVALID, "recorded_at_ms");
    FRESH (); env.msg.case_pseudonym = "";              EXPECT_ENVELOPE (RB_EMISSING, "case_pseudonym");
    FRESH (); env.pseudonym [63] = 0;                   EXPECT_ENVELOPE (RB_EINVALID, "case_pseudonym");
    FRESH (); env.pseudonym [0] = 'A';                  EXPECT_ENVELOPE (RB_EINVALID, "case_pseudonym");
    FRESH (); env.pseudonym [10] = 'g';                 EXPECT_ENVELOPE (RB_EINVALID, "case_pseudonym");
    FRESH (); env.msg.kind = REGIEBUS__EVENT_KIND__EVENT_KIND_UNSPECIFIED;
                                                        EXPECT_ENVELOPE (RB_EKIND, "kind");
    FRESH (); env.msg.kind = (Regiebus__EventKind) 99;  EXPECT_ENVELOPE (RB_EKIND, "kind");
    FRESH (); env.msg.causation_id.data = env.causation_id;
              env.msg.causation_id.len = 8;             EXPECT_ENVELOPE (RB_EINVALID, "causation_id");
    FRESH (); env.msg.payload.len = 65;                 EXPECT_ENVELOPE (RB_ETOOLARGE, "payload");

    rb_test_section ("envelope checks: what is allowed at the edges");
    FRESH ();
    env.msg.causation_id.data = env.causation_id;
    env.msg.causation_id.len = 16;
    env.msg.payload.len = 0;
    CHECK_INT (rb_wire_envelope_check (&env.msg, "envelopes[3]", 64, &r), RB_OK);
    static char payload [64];
    env.msg.payload.data = (uint8_t *) payload;
    env.msg.payload.len = 64;           //  exactly the limit
    CHECK_INT (rb_wire_envelope_check (&env.msg, "envelopes[3]", 64, &r), RB_OK);
    env.msg.origin_seq = RB_WIRE_SEQ_MAX;
    CHECK_INT (rb_wire_envelope_check (&env.msg, "envelopes[3]", 64, &r), RB_OK);

    rb_test_section ("the first broken field is the one named");
    FRESH ();
    env.msg.origin = "";
    env.msg.case_pseudonym = "";
    EXPECT_ENVELOPE (RB_EINVALID, "origin");

    rb_test_section ("a decoded envelope with an unknown kind is refused, not guessed");
    FRESH ();
    env.msg.kind = (Regiebus__EventKind) 99;
    ProtobufCBinaryData bytes = rb_test_pack (&env.msg);
    Regiebus__Envelope *e = rb_wire_envelope_decode (bytes.data, bytes.len);
    CHECK (e);
    CHECK_INT (rb_wire_envelope_check (e, "envelopes[0]", 64, &r), RB_EKIND);
    CHECK_REFUSAL (&r, RB_EKIND, "envelopes[0].kind");
    rb_wire_free (&e);
    free (bytes.data);
}

static void
s_expect_submission (rb_test_submission_t *sub, rb_err_t code, const char *field, int line)
{
    rb_refusal_t r = { 0 };
    rb_err_t rc = rb_wire_submission_check (&sub->msg, "events[2]", 64, &r);
    char full [96];
    snprintf (full, sizeof full, "events[2].%s", field);
    if (rc != code)
        rb_test_fail (__FILE__, line, "submission check returned %s, expected %s",
                      rb_errname (rc), rb_errname (code));
    rb_test_check_refusal (__FILE__, line, &r, code, full, true);
}

#define EXPECT_SUBMISSION(code, field) s_expect_submission (&sub, (code), (field), __LINE__)
#define FRESH_SUB() rb_test_submission (&sub, "order-17", "mun-a", "payload")

static void
s_test_submission_check (void)
{
    rb_test_section ("submission checks: each field on its own");
    rb_test_submission_t sub;
    rb_refusal_t r = { 0 };
    FRESH_SUB ();
    CHECK_INT (rb_wire_submission_check (&sub.msg, "events[2]", 64, &r), RB_OK);
    //  occurred_at 0 means "now"; the destination is the caller's to check.
    FRESH_SUB (); sub.msg.occurred_at_ms = 0; sub.msg.destination = "";
    CHECK_INT (rb_wire_submission_check (&sub.msg, "events[2]", 64, &r), RB_OK);

    FRESH_SUB (); sub.msg.idempotency_key = "";         EXPECT_SUBMISSION (RB_EMISSING, "idempotency_key");
    FRESH_SUB (); memset (sub.key, 'k', RB_IDEM_KEY_MAX + 1); sub.key [RB_IDEM_KEY_MAX + 1] = 0;
                                                        EXPECT_SUBMISSION (RB_ETOOLARGE, "idempotency_key");
    FRESH_SUB (); memset (sub.key, 'k', RB_IDEM_KEY_MAX); sub.key [RB_IDEM_KEY_MAX] = 0;
    CHECK_INT (rb_wire_submission_check (&sub.msg, "events[2]", 64, &r), RB_OK);
    FRESH_SUB (); sub.msg.occurred_at_ms = -1;          EXPECT_SUBMISSION (RB_EINVALID, "occurred_at_ms");
    FRESH_SUB (); sub.msg.case_pseudonym = "";          EXPECT_SUBMISSION (RB_EMISSING, "case_pseudonym");
    FRESH_SUB (); sub.pseudonym [5] = 'F';              EXPECT_SUBMISSION (RB_EINVALID, "case_pseudonym");
    FRESH_SUB (); sub.msg.kind = 0;                     EXPECT_SUBMISSION (RB_EKIND, "kind");
    FRESH_SUB (); sub.msg.causation_id.data = (uint8_t *) sub.payload;
                  sub.msg.causation_id.len = 17;        EXPECT_SUBMISSION (RB_EINVALID, "causation_id");
    FRESH_SUB (); sub.msg.payload.len = 65;             EXPECT_SUBMISSION (RB_ETOOLARGE, "payload");
}

static void
s_test_small_checks (void)
{
    rb_test_section ("pseudonyms: exactly 64 lowercase hex characters");
    CHECK (rb_wire_pseudonym_valid (rb_test_pseudonym));
    char text [80];
    memset (text, 'f', 64);
    text [64] = 0;
    CHECK (rb_wire_pseudonym_valid (text));
    text [63] = 0;
    CHECK (!rb_wire_pseudonym_valid (text));
    memset (text, 'f', 65);
    text [65] = 0;
    CHECK (!rb_wire_pseudonym_valid (text));
    memset (text, '0', 64);
    text [64] = 0;
    text [32] = 'A';
    CHECK (!rb_wire_pseudonym_valid (text));
    text [32] = 'g';
    CHECK (!rb_wire_pseudonym_valid (text));
    text [32] = ' ';
    CHECK (!rb_wire_pseudonym_valid (text));
    CHECK (!rb_wire_pseudonym_valid (""));
    CHECK (!rb_wire_pseudonym_valid (NULL));

    rb_test_section ("strings: every string however deep within its limit, else its path");
    rb_refusal_t sr;
    Regiebus__Actor actors [2] = { REGIEBUS__ACTOR__INIT, REGIEBUS__ACTOR__INIT };
    Regiebus__Actor *also [2] = { &actors [0], &actors [1] };
    actors [0].node = "care-a";
    actors [1].node = "portal-a";
    Regiebus__RegieChange change = REGIEBUS__REGIE_CHANGE__INIT;
    change.contact = "desk";
    Regiebus__Notification n = REGIEBUS__NOTIFICATION__INIT;
    n.also_sent_to = also;
    n.n_also_sent_to = 2;
    n.regie_change = &change;
    n.from_node = "school-a";
    CHECK_INT (rb_wire_strings_check (&n.base, 8, &sr), RB_OK);
    actors [1].node = "portal-a-1";
    CHECK_INT (rb_wire_strings_check (&n.base, 8, &sr), RB_ETOOLARGE);
    CHECK_STR (sr.field, "also_sent_to[1].node");
    actors [1].node = "portal-a";
    change.contact = "a desk with a long name";
    CHECK_INT (rb_wire_strings_check (&n.base, 8, &sr), RB_ETOOLARGE);
    CHECK_STR (sr.field, "regie_change.contact");
    change.contact = "desk";
    n.from_node = "school-a-b";
    CHECK_INT (rb_wire_strings_check (&n.base, 8, &sr), RB_ETOOLARGE);
    CHECK_STR (sr.field, "from_node");

    rb_test_section ("kinds: every value kinds.proto defines is known, nothing else");
    CHECK (rb_wire_kind_known (REGIEBUS__EVENT_KIND__TEST));
    CHECK (!rb_wire_kind_known (REGIEBUS__EVENT_KIND__EVENT_KIND_UNSPECIFIED));
    CHECK (rb_wire_kind_known (REGIEBUS__EVENT_KIND__NOTIFICATION));
    CHECK (rb_wire_kind_known (REGIEBUS__EVENT_KIND__REGIE_CHANGE));
    CHECK (rb_wire_kind_known (REGIEBUS__EVENT_KIND__PLAN_COMMAND));
    CHECK (rb_wire_kind_known (REGIEBUS__EVENT_KIND__NOTIFICATION_ACK));
    CHECK (rb_wire_kind_known (REGIEBUS__EVENT_KIND__ESCALATION));
    CHECK (!rb_wire_kind_known (99));
    CHECK (rb_wire_kind_known (REGIEBUS__EVENT_KIND__CONSENT));
    CHECK (rb_wire_kind_known (REGIEBUS__EVENT_KIND__CONSENT_CHANGE));
    CHECK (!rb_wire_kind_known (-1));
}

//  rb_wire_batch_check on a batch of count (empty) envelopes from first_seq.
static rb_err_t
s_batch_check (uint64_t first_seq, size_t count, rb_refusal_t *r)
{
    static ProtobufCBinaryData items [3];
    Regiebus__Batch batch = REGIEBUS__BATCH__INIT;
    batch.first_seq = first_seq;
    batch.n_envelopes = count;
    batch.envelopes = items;
    rb_refusal_clear (r);
    return rb_wire_batch_check (&batch, r);
}

static void
s_test_batch_check (void)
{
    rb_test_section ("batches: every seq from 1 to RB_WIRE_SEQ_MAX, never all ones");
    rb_refusal_t r;
    CHECK_INT (s_batch_check (1, 3, &r), RB_OK);
    CHECK_INT (s_batch_check (1, 0, &r), RB_OK);
    CHECK_INT (s_batch_check (RB_WIRE_SEQ_MAX, 1, &r), RB_OK);
    CHECK_INT (s_batch_check (RB_WIRE_SEQ_MAX, 0, &r), RB_OK);
    CHECK_INT (s_batch_check (RB_WIRE_SEQ_MAX - 2, 3, &r), RB_OK);
    CHECK_INT (r.code, RB_OK);
    CHECK_INT (s_batch_check (0, 1, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "batch.first_seq");
    CHECK_INT (s_batch_check (UINT64_MAX, 1, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "batch.first_seq");
    CHECK (strstr (r.message, "18446744073709551615 with 1 envelopes"));
    CHECK_INT (s_batch_check (UINT64_MAX, 0, &r), RB_EINVALID);
    //  The last entry would be all ones, or wrap around to 0 and on.
    CHECK_INT (s_batch_check (RB_WIRE_SEQ_MAX, 2, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "batch.first_seq");
    CHECK_INT (s_batch_check (RB_WIRE_SEQ_MAX - 1, 3, &r), RB_EINVALID);
    CHECK_INT (s_batch_check (UINT64_MAX - 1, 3, &r), RB_EINVALID);
}

static void
s_test_hash (void)
{
    rb_test_section ("a message's hash: equal content, equal hash; any field changed, another");
    rb_test_submission_t a, b;
    rb_test_submission (&a, "key-1", "node-b", "payload");
    rb_test_submission (&b, "key-1", "node-b", "payload");
    uint8_t hash_a [RB_WIRE_HASH_SIZE], hash_b [RB_WIRE_HASH_SIZE];
    CHECK (rb_wire_hash (&a.msg.base, hash_a));
    CHECK (rb_wire_hash (&b.msg.base, hash_b));
    CHECK (memcmp (hash_a, hash_b, RB_WIRE_HASH_SIZE) == 0);
    b.msg.kind = REGIEBUS__EVENT_KIND__ENROLMENT;
    CHECK (rb_wire_hash (&b.msg.base, hash_b));
    CHECK (memcmp (hash_a, hash_b, RB_WIRE_HASH_SIZE) != 0);
    //  Past the stack buffer: a payload of 64 KiB.
    static uint8_t big [65536];
    memset (big, 'x', sizeof big);
    a.msg.payload.data = big;
    a.msg.payload.len = sizeof big;
    CHECK (rb_wire_hash (&a.msg.base, hash_a));
    big [sizeof big - 1] = 'y';
    CHECK (rb_wire_hash (&a.msg.base, hash_b));
    CHECK (memcmp (hash_a, hash_b, RB_WIRE_HASH_SIZE) != 0);
}

static void
s_test_event_id (void)
{
    rb_test_section ("event ids: version 7 UUIDs, the ms first, so later ids sort later");
    uint8_t random [16], id [16], later [16];
    memset (random, 0xff, sizeof random);
    rb_wire_event_id (0x0123456789abLL, random, id);
    const uint8_t time [6] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab };
    CHECK (memcmp (id, time, 6) == 0);
    CHECK_INT (id [6], 0x7f);               //  version 7, random below
    CHECK_INT (id [7], 0xff);
    CHECK_INT (id [8], 0xbf);               //  the RFC 9562 variant, random below
    for (int i = 9; i < 16; i++)
        CHECK_INT (id [i], 0xff);
    //  One ms later sorts later whatever the random bytes say.
    memset (random, 0, sizeof random);
    rb_wire_event_id (0x0123456789acLL, random, later);
    CHECK (memcmp (id, later, 16) < 0);
    CHECK_INT (later [6], 0x70);
    CHECK_INT (later [8], 0x80);
    //  Before 1970 counts as 0; beyond 48 bits the time wraps.
    rb_wire_event_id (-5, random, id);
    for (int i = 0; i < 6; i++)
        CHECK_INT (id [i], 0);
    rb_wire_event_id (0x1000000000001LL, random, id);
    CHECK_INT (id [5], 1);
    CHECK_INT (id [0], 0);
}

int
main (void)
{
    rb_test_begin ("wire");
    s_test_link_frames ();
    s_test_link_refusals ();
    s_test_api ();
    s_test_envelope_check ();
    s_test_submission_check ();
    s_test_small_checks ();
    s_test_batch_check ();
    s_test_hash ();
    s_test_event_id ();
    return rb_test_end ();
}
