/*  rb_wire: decoding, encoding and field checks; see rb_wire.h. */
#include "rb_wire.h"
#include "rb_config.h"
#include <sodium.h>

zframe_t *
rb_wire_frame (const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size (msg);
    zframe_t *frame = zframe_new (NULL, size);
    if (frame)
        protobuf_c_message_pack (msg, zframe_data (frame));
    return frame;
}

bool
rb_wire_hash (const ProtobufCMessage *msg, uint8_t hash [RB_WIRE_HASH_SIZE])
{
    uint8_t small [1024];
    size_t size = protobuf_c_message_get_packed_size (msg);
    uint8_t *packed = size <= sizeof small? small: malloc (size);
    if (!packed)
        return false;
    protobuf_c_message_pack (msg, packed);
    crypto_generichash (hash, RB_WIRE_HASH_SIZE, packed, size, NULL, 0);
    if (packed != small)
        free (packed);
    return true;
}

static void *
s_decode (const ProtobufCMessageDescriptor *desc, zframe_t *frame, size_t max,
          const char *what, rb_refusal_t *r)
{
    if (zframe_size (frame) > max) {
        rb_refuse (r, RB_ETOOLARGE, what, "%s of %zu bytes is over the limit of %zu",
                   what, zframe_size (frame), max);
        return NULL;
    }
    void *msg = protobuf_c_message_unpack (desc, NULL, zframe_size (frame), zframe_data (frame));
    if (!msg)
        rb_refuse (r, RB_EMALFORMED, what, "%s of %zu bytes does not decode", what, zframe_size (frame));
    return msg;
}

Regiebus__LinkFrame *
rb_wire_link_decode (zframe_t *frame, size_t max, rb_refusal_t *r)
{
    Regiebus__LinkFrame *msg = s_decode (&regiebus__link_frame__descriptor, frame, max, "frame", r);
    if (msg && msg->version != RB_WIRE_VERSION) {
        rb_refuse (r, RB_EVERSION, "version", "link version %u is not %d", msg->version, RB_WIRE_VERSION);
        rb_wire_free (&msg);
    }
    else
    if (msg && msg->body_case == REGIEBUS__LINK_FRAME__BODY__NOT_SET) {
        rb_refuse (r, RB_EMISSING, "body", "link frame carries no body");
        rb_wire_free (&msg);
    }
    return msg;
}

Regiebus__ApiRequest *
rb_wire_api_decode (zframe_t *frame, size_t max, uint64_t *request_id, rb_refusal_t *r)
{
    Regiebus__ApiRequest *msg = s_decode (&regiebus__api_request__descriptor, frame, max, "request", r);
    *request_id = msg? msg->request_id: 0;
    if (msg && msg->version != RB_WIRE_VERSION) {
        rb_refuse (r, RB_EVERSION, "version", "API version %u is not %d", msg->version, RB_WIRE_VERSION);
        rb_wire_free (&msg);
    }
    else
    if (msg && msg->call_case == REGIEBUS__API_REQUEST__CALL__NOT_SET) {
        rb_refuse (r, RB_EMISSING, "call", "request names no call");
        rb_wire_free (&msg);
    }
    return msg;
}

Regiebus__Envelope *
rb_wire_envelope_decode (const uint8_t *data, size_t size)
{
    return regiebus__envelope__unpack (NULL, size, data);
}

//  One base-128 varint at *p.
static bool
s_varint (const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    *value = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        *value |= (uint64_t) (byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return true;
    }
    return false;
}

//  Skip or take one field of wire type type (0 varint, 1 fixed 64, 2
//  length-delimited, 5 fixed 32); a length-delimited one is in *field.
static bool
s_field (const uint8_t **p, const uint8_t *end, unsigned type, uint64_t *value,
         ProtobufCBinaryData *field)
{
    if (type == 0)
        return s_varint (p, end, value);
    size_t size;
    if (type == 1 || type == 5)
        size = type == 1? 8: 4;
    else
    if (type == 2 && s_varint (p, end, value) && *value <= (uint64_t) (end - *p))
        size = (size_t) *value;
    else
        return false;
    if ((size_t) (end - *p) < size)
        return false;
    field->data = (uint8_t *) *p;
    field->len = size;
    *p += size;
    return true;
}

bool
rb_wire_envelope_peek (const uint8_t *data, size_t size, Regiebus__Envelope *e,
                       char case_pseudonym [RB_PSEUDONYM_LEN + 1])
{
    const uint8_t *p = data, *end = data + size;
    regiebus__envelope__init (e);
    *case_pseudonym = '\0';
    e->case_pseudonym = case_pseudonym;
    while (p < end) {
        uint64_t tag, value = 0;
        ProtobufCBinaryData field = { 0, NULL };
        if (!s_varint (&p, end, &tag) || !s_field (&p, end, (unsigned) (tag & 7), &value, &field))
            return false;
        if (tag == (2 << 3 | 2))
            e->event_id = field;
        else
        if (tag == (4 << 3 | 0))
            e->origin_seq = value;
        else
        if (tag == (6 << 3 | 2) && field.len <= RB_PSEUDONYM_LEN) {
            memcpy (case_pseudonym, field.data, field.len);
            case_pseudonym [field.len] = '\0';
        }
        else
        if (tag == (7 << 3 | 0))
            e->kind = (Regiebus__EventKind) value;
    }
    return true;
}

void
rb_wire_free_ (ProtobufCMessage **msg_p)
{
    if (msg_p && *msg_p) {
        protobuf_c_message_free_unpacked (*msg_p, NULL);
        *msg_p = NULL;
    }
}

//  The value of field f of msg (k-th for a repeated one): a string or a
//  message, NULL when not set.
static const void *
s_field_value (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, size_t k)
{
    const char *base = (const char *) msg;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return (*(const void * const * const *) (base + f->offset)) [k];
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    &&  *(const uint32_t *) (base + f->quantifier_offset) != f->id)
        return NULL;
    return *(const void * const *) (base + f->offset);
}

static rb_err_t
s_strings_check (const ProtobufCMessage *msg, size_t max, char *path, size_t at, rb_refusal_t *r)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields [i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
        size_t count = repeated? *(const size_t *) ((const char *) msg + f->quantifier_offset): 1;
        for (size_t k = 0; k < count; k++) {
            const void *value = s_field_value (msg, f, k);
            if (!value)
                continue;
            size_t end = at + snprintf (path + at, sizeof r->field - at, repeated? "%s%s[%zu]": "%s%s",
                                        at? ".": "", f->name, k);
            end = end < sizeof r->field? end: sizeof r->field - 1;
            if (f->type == PROTOBUF_C_TYPE_STRING && strlen (value) > max)
                return rb_refuse (r, RB_ETOOLARGE, path, "%s is %zu bytes, at most %zu", path,
                                  strlen (value), max);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && s_strings_check (value, max, path, end, r))
                return r->code;
        }
        path [at] = 0;
    }
    return RB_OK;
}

rb_err_t
rb_wire_strings_check (const ProtobufCMessage *msg, size_t max, rb_refusal_t *r)
{
    char path [sizeof r->field] = "";
    return s_strings_check (msg, max, path, 0, r);
}

bool
rb_wire_pseudonym_valid (const char *text)
{
    if (!text || strlen (text) != RB_PSEUDONYM_LEN)
        return false;
    for (int i = 0; i < RB_PSEUDONYM_LEN; i++)
        if (!((text [i] >= '0' && text [i] <= '9') || (text [i] >= 'a' && text [i] <= 'f')))
            return false;
    return true;
}

void
rb_wire_event_id (int64_t unix_ms, const uint8_t random [16], uint8_t id [16])
{
    uint64_t ms = unix_ms > 0? (uint64_t) unix_ms & 0xffffffffffffULL: 0;
    memcpy (id, random, 16);
    for (int i = 0; i < 6; i++)
        id [i] = (uint8_t) (ms >> (40 - 8 * i));
    id [6] = (id [6] & 0x0f) | 0x70;
    id [8] = (id [8] & 0x3f) | 0x80;
}

bool
rb_wire_kind_known (int kind)
{
    //  Every value kinds.proto defines: a new kind is known once it is there.
    return kind != REGIEBUS__EVENT_KIND__EVENT_KIND_UNSPECIFIED
        && protobuf_c_enum_descriptor_get_value (&regiebus__event_kind__descriptor, kind) != NULL;
}

//  Shared checks for what envelopes and submissions have in common.
static rb_err_t
s_check_common (const char *prefix, const char *case_pseudonym, int kind,
                ProtobufCBinaryData causation, ProtobufCBinaryData payload,
                size_t max_payload, rb_refusal_t *r)
{
    char field [96];
    if (!*case_pseudonym) {
        snprintf (field, sizeof field, "%s.case_pseudonym", prefix);
        return rb_refuse (r, RB_EMISSING, field, "%s is empty", field);
    }
    if (!rb_wire_pseudonym_valid (case_pseudonym)) {
        snprintf (field, sizeof field, "%s.case_pseudonym", prefix);
        return rb_refuse (r, RB_EINVALID, field, "%s must be 64 lowercase hex characters", field);
    }
    if (!rb_wire_kind_known (kind)) {
        snprintf (field, sizeof field, "%s.kind", prefix);
        return rb_refuse (r, RB_EKIND, field, "%s %d is not a known event kind", field, kind);
    }
    if (causation.len != 0 && causation.len != 16) {
        snprintf (field, sizeof field, "%s.causation_id", prefix);
        return rb_refuse (r, RB_EINVALID, field, "%s must be empty or 16 bytes", field);
    }
    if (payload.len > max_payload) {
        snprintf (field, sizeof field, "%s.payload", prefix);
        return rb_refuse (r, RB_ETOOLARGE, field, "%s of %zu bytes is over the limit of %zu",
                          field, payload.len, max_payload);
    }
    return RB_OK;
}

rb_err_t
rb_wire_envelope_check (const Regiebus__Envelope *e, const char *prefix,
                        size_t max_payload, rb_refusal_t *r)
{
    char field [96];
    #define FIELD(name) (snprintf (field, sizeof field, "%s." name, prefix), field)
    if (e->version != RB_WIRE_VERSION)
        return rb_refuse (r, RB_EVERSION, FIELD ("version"), "%s %u is not %d", field, e->version, RB_WIRE_VERSION);
    if (e->event_id.len != 16)
        return rb_refuse (r, RB_EINVALID, FIELD ("event_id"), "%s must be 16 bytes", field);
    if (!rb_config_name_valid (e->origin))
        return rb_refuse (r, RB_EINVALID, FIELD ("origin"), "%s must be a node name", field);
    if (e->origin_seq == 0)
        return rb_refuse (r, RB_EINVALID, FIELD ("origin_seq"), "%s must be at least 1", field);
    if (e->origin_seq > RB_WIRE_SEQ_MAX)
        return rb_refuse (r, RB_EINVALID, FIELD ("origin_seq"), "%s must be at most %llu", field,
                          (unsigned long long) RB_WIRE_SEQ_MAX);
    if (!rb_config_name_valid (e->destination))
        return rb_refuse (r, RB_EINVALID, FIELD ("destination"), "%s must be a node name", field);
    if (e->occurred_at_ms <= 0)
        return rb_refuse (r, RB_EINVALID, FIELD ("occurred_at_ms"), "%s must be positive", field);
    if (e->recorded_at_ms <= 0)
        return rb_refuse (r, RB_EINVALID, FIELD ("recorded_at_ms"), "%s must be positive", field);
    #undef FIELD
    return s_check_common (prefix, e->case_pseudonym, e->kind, e->causation_id,
                           e->payload, max_payload, r);
}

rb_err_t
rb_wire_batch_check (const Regiebus__Batch *batch, rb_refusal_t *r)
{
    uint64_t span = batch->n_envelopes? (uint64_t) batch->n_envelopes: 1;
    if (batch->first_seq == 0)
        return rb_refuse (r, RB_EINVALID, "batch.first_seq", "batch.first_seq must be at least 1");
    //  The last seq, first_seq + span - 1, must not pass RB_WIRE_SEQ_MAX.
    if (batch->first_seq > RB_WIRE_SEQ_MAX - (span - 1))
        return rb_refuse (r, RB_EINVALID, "batch.first_seq",
                          "batch.first_seq %llu with %llu envelopes goes past seq %llu, the highest an envelope may have",
                          (unsigned long long) batch->first_seq, (unsigned long long) batch->n_envelopes,
                          (unsigned long long) RB_WIRE_SEQ_MAX);
    return RB_OK;
}

rb_err_t
rb_wire_submission_check (const Regiebus__Submission *s, const char *prefix,
                          size_t max_payload, rb_refusal_t *r)
{
    char field [96];
    snprintf (field, sizeof field, "%s.idempotency_key", prefix);
    if (!*s->idempotency_key)
        return rb_refuse (r, RB_EMISSING, field, "%s is empty", field);
    if (strlen (s->idempotency_key) > RB_IDEM_KEY_MAX)
        return rb_refuse (r, RB_ETOOLARGE, field, "%s is longer than %d bytes", field, RB_IDEM_KEY_MAX);
    if (s->occurred_at_ms < 0) {
        snprintf (field, sizeof field, "%s.occurred_at_ms", prefix);
        return rb_refuse (r, RB_EINVALID, field, "%s must not be negative", field);
    }
    return s_check_common (prefix, s->case_pseudonym, s->kind, s->causation_id,
                           s->payload, max_payload, r);
}
