/*  rb_wire: the hand-written face of the generated protobuf code.
 *
 *  Decoding bytes from outside happens only here: each decoder checks size
 *  and version and returns NULL with a refusal naming the problem, so the
 *  rest of the node never sees a message that did not decode. Unpacked
 *  messages are freed with rb_wire_free (one place for *__free_unpacked).
 *  Validation of envelope and submission fields also lives here, so the
 *  link and the API refuse the same things with the same field names.
 */
#ifndef RB_WIRE_H
#define RB_WIRE_H

#include "rb_error.h"
#include "regiebus.pb-c.h"
#include <czmq.h>

#define RB_WIRE_VERSION 1
#define RB_PSEUDONYM_LEN 64
#define RB_IDEM_KEY_MAX 128

//  The highest origin_seq an envelope may have. The seq of all ones is no
//  envelope's: under it the inbox and outbox tables keep each stream's
//  state, after the stream's envelopes (rb_inbox, rb_outbox).
#define RB_WIRE_SEQ_MAX (UINT64_MAX - 1)

//  Serialize any message into a new frame; NULL only when out of memory.
zframe_t *rb_wire_frame (const ProtobufCMessage *msg);

//  A digest of a message's packed bytes, BLAKE2b of RB_WIRE_HASH_SIZE:
//  what an idempotency key remembers of the content it was first used
//  for. protobuf-c packs equal messages to equal bytes. False only when
//  out of memory.
#define RB_WIRE_HASH_SIZE 16
bool rb_wire_hash (const ProtobufCMessage *msg, uint8_t hash [RB_WIRE_HASH_SIZE]);

//  Decode a peer-link frame of size <= max; checks LinkFrame.version.
Regiebus__LinkFrame *rb_wire_link_decode (zframe_t *frame, size_t max, rb_refusal_t *r);

//  Decode an API request of size <= max; checks ApiRequest.version and
//  that a call is set. *request_id gets the request's id whenever the bytes
//  decoded, so that even a refusal can name the request it answers.
Regiebus__ApiRequest *rb_wire_api_decode (zframe_t *frame, size_t max, uint64_t *request_id,
                                          rb_refusal_t *r);

//  Decode one envelope from bytes (no version check: see envelope_check).
Regiebus__Envelope *rb_wire_envelope_decode (const uint8_t *data, size_t size);

//  Read only an envelope's event id (pointing into data), origin_seq,
//  kind and case pseudonym (copied into case_pseudonym, "" when missing
//  or too long) into e, without unpacking the rest: for bytes this node
//  packed itself (its outbox) and needs a few fields of, fast. False when
//  the bytes are not protobuf.
bool rb_wire_envelope_peek (const uint8_t *data, size_t size, Regiebus__Envelope *e,
                            char case_pseudonym [RB_PSEUDONYM_LEN + 1]);

//  Free any unpacked message and null the caller's pointer.
#define rb_wire_free(msg_p) rb_wire_free_ ((ProtobufCMessage **) (msg_p))
void rb_wire_free_ (ProtobufCMessage **msg_p);

//  Check every field of an envelope. prefix names it in refusals
//  ("envelopes[3]"); max_payload bounds the payload.
rb_err_t rb_wire_envelope_check (const Regiebus__Envelope *e, const char *prefix,
                                 size_t max_payload, rb_refusal_t *r);

//  Check that a batch's seqs, first_seq to first_seq + count - 1, are all
//  envelope seqs (1 to RB_WIRE_SEQ_MAX); the refusal names
//  batch.first_seq. An empty batch needs a first_seq in that range too.
rb_err_t rb_wire_batch_check (const Regiebus__Batch *batch, rb_refusal_t *r);

//  Check a submission's own fields (destination is checked by the caller,
//  who knows the peers).
rb_err_t rb_wire_submission_check (const Regiebus__Submission *s, const char *prefix,
                                   size_t max_payload, rb_refusal_t *r);

//  Every string in msg, however deep, is at most max bytes; otherwise
//  RB_ETOOLARGE naming its path ("regie_change.contact",
//  "also_sent_to[2].node"). For payloads a node keeps and shows as they
//  came, whose every text is a code, a name or a contact.
rb_err_t rb_wire_strings_check (const ProtobufCMessage *msg, size_t max, rb_refusal_t *r);

//  True for 64 lowercase hex characters.
bool rb_wire_pseudonym_valid (const char *text);

//  A new event id: a version 7 UUID (RFC 9562), the 48-bit Unix time in
//  ms first and 74 of the 16 random bytes after it. Ids made later sort
//  later, so the tables keyed by them (a holder's notice ids, the
//  municipality's acknowledgement watch) take each commit's new keys on
//  the same few leaf pages instead of one random page each; the random
//  bits keep ids made in one ms apart. A time before 1970 counts as 0.
void rb_wire_event_id (int64_t unix_ms, const uint8_t random [16], uint8_t id [16]);

//  True for an event kind kinds.proto defines (TEST, ENROLMENT ...). Which
//  kinds a node takes is its daemon's business: it refuses the others.
bool rb_wire_kind_known (int kind);

#endif
