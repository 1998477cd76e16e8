/*  rb_notices: the notifications a node holds for its actors.
 *
 *  Every receiving node (school, care, portal, municipality) keeps the
 *  notifications that arrive for its actors here: numbered locally in
 *  arrival order, listed for its users, acknowledged by a named user or
 *  desk. A notification is identified by (notification_id, recipient role):
 *  storing it again is recognised as a duplicate and gets the same number,
 *  so nothing is shown twice, whatever the network repeats. The same
 *  notification for two roles this node plays on the case is two notices,
 *  one per role.
 *
 *  Tables (opened by rb_notices_new):
 *    "notice"       seq be64 -> fixed record (state, received and
 *                   acknowledged times, who acknowledged, origin,
 *                   origin_seq, event_id, case pseudonym) + the packed
 *                   Notification as it arrived; and under 0xff x 8,
 *                   which sorts after every seq, the counters: 24 bytes,
 *                   be64 last seq given, be64 new, be64 acknowledged
 *    "notice_id"    notification_id (16) + recipient role (1) -> seq be64
 *    "notice_meta"  only in a store made before the counters moved:
 *                   "next", "new", "acked" -> be64 each. Read while the
 *                   counters' key is absent; the first write of the
 *                   counters deletes them in the same transaction.
 *
 *  All calls work inside the caller's transaction (a write transaction for
 *  store and ack) and use no sockets. A refusal writes nothing; a storage
 *  error (RB_EFULL, RB_ESTORE) may leave the transaction half-written, and
 *  the caller aborts it. Notices are never deleted here.
 *
 *  Listing decodes each stored Notification for the visit and frees it
 *  right after: a visitor copies what it wants to keep.
 */
#ifndef RB_NOTICES_H
#define RB_NOTICES_H

#include "rb_store.h"
#include "rb_wire.h"
#include "case.pb-c.h"

#define RB_NOTICE_BY_MAX 64             //  longest acknowledging user or desk id
#define RB_NOTICE_ALSO_MAX 32           //  most co-recipients one notification names
#define RB_NOTICE_ROLE_MAX 9            //  recipient roles are 1..9 (case.proto's Role)

typedef struct _rb_notices_t rb_notices_t;

typedef enum { RB_NOTICE_NEW = 1, RB_NOTICE_ACKNOWLEDGED = 2 } rb_notice_state_t;

//  One stored notification, as list, get and unacked_before show it. It
//  lives only during the visit: notification is freed after it.
typedef struct {
    uint64_t seq;                       //  local number, in arrival order, from 1
    rb_notice_state_t state;            //  new or acknowledged
    int64_t received_at_ms;             //  when this node stored it
    int64_t acked_at_ms;                //  when acknowledged; 0 while new
    char acked_by [RB_NOTICE_BY_MAX + 1];   //  who acknowledged; "" while new
    char origin [64];                   //  node that sent the envelope
    uint64_t origin_seq;                //  the envelope's place in that node's stream
    uint8_t event_id [16];              //  the envelope's event id
    char case_pseudonym [65];           //  the envelope's case
    const Regiebus__Notification *notification; //  decoded for this visit only
} rb_notice_t;

//  Called once per notice; return non-zero to stop the walk (the walk then
//  still returns RB_OK).
typedef int (rb_notice_visit_fn) (const rb_notice_t *notice, void *arg);

//  Open the tables; self_name is this node (recipients must be on it),
//  1..63 characters. Returns NULL when the name is bad or a table cannot
//  be opened. Call at start, before other transactions.
rb_notices_t *rb_notices_new (rb_store_t *store, const char *self_name);

//  Free the instance and null the caller's pointer. Idempotent.
void rb_notices_destroy (rb_notices_t **self_p);

//  Check and store notification n that arrived in envelope e at now_ms;
//  *seq_out gets its local number. A repeat of the same (notification_id,
//  recipient role) writes nothing, sets *duplicate and gives the first
//  copy's number. Numbers stop below 0xffffffffffffffff, the counters'
//  key. Refusals (field in the refusal):
//    RB_EINVALID "notification_id"  not 16 bytes
//    RB_EMISSING "recipient"        no recipient
//    RB_EINVALID "recipient.node"   not this node
//    RB_EINVALID "recipient.role"   not 1..9
//    RB_EMISSING "subject"          0
//    RB_EKIND    "subject"          not a kind rb_wire_kind_known knows
//    RB_EINVALID "expected_by"      neither 0 nor a YYYYMMDD date (2000-2100)
//    RB_ETOOLARGE "also_sent_to"    more than 32 actors
//    RB_EINVALID "origin", "event_id", "case_pseudonym"  the envelope's
//                                   fields (1..63 chars, 16 bytes, 64 hex)
//    RB_EFULL    "seq"              the numbers are used up: the next
//                                   would be 0xffffffffffffffff
rb_err_t rb_notices_store (rb_notices_t *self, rb_txn_t *txn, const Regiebus__Envelope *e,
                           const Regiebus__Notification *n, int64_t now_ms,
                           uint64_t *seq_out, bool *duplicate, rb_refusal_t *refusal);

//  Visit notifications with seq > after_seq in order, only the new ones
//  when only_new, at most limit of them (0: no limit). To page, pass the
//  last seq seen as after_seq. RB_ESTORE for a damaged record.
rb_err_t rb_notices_list (rb_notices_t *self, rb_txn_t *txn, uint64_t after_seq, bool only_new,
                          size_t limit, rb_notice_visit_fn *visit, void *arg);

//  Visit one; RB_ENOTFOUND when there is none with that number (so for
//  0xffffffffffffffff, which is never one).
rb_err_t rb_notices_get (rb_notices_t *self, rb_txn_t *txn, uint64_t seq,
                         rb_notice_visit_fn *visit, void *arg);

//  Record that `by` (1..64 of [A-Za-z0-9._@-]) saw and acknowledged it at
//  now_ms. Refusals, each changing nothing: RB_EINVALID "by" for a bad
//  name; RB_ENOTFOUND "seq" for no such notification; RB_EPRECONDITION
//  "seq" when it was acknowledged before (the message says by whom, when).
rb_err_t rb_notices_ack (rb_notices_t *self, rb_txn_t *txn, uint64_t seq, const char *by,
                         int64_t now_ms, rb_refusal_t *refusal);

//  How many are new and how many acknowledged (kept as counters: O(1)).
//  RB_ESTORE when the counters' value is not theirs.
rb_err_t rb_notices_counts (rb_notices_t *self, rb_txn_t *txn, uint64_t *new_count,
                            uint64_t *acked_count);

//  Visit the new ones received strictly before received_before_ms, in
//  order: the node's own way to find old notices nobody acknowledged (the
//  reminders and escalation of unacknowledged notifications are the
//  municipality's, on its own timers). Cost: it reads every notice the
//  node holds, acknowledged or not, in one read of the table.
rb_err_t rb_notices_unacked_before (rb_notices_t *self, rb_txn_t *txn, int64_t received_before_ms,
                                    rb_notice_visit_fn *visit, void *arg);

#endif
