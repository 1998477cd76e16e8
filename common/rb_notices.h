/*  rb_notices: the notifications a node holds for its actors.
 *
 *  Every receiving node (school, care, portal, municipality) keeps the
 *  notifications that arrive for its actors here: numbered locally in
 *  arrival order, listed for its users, acknowledged by a named user or
 *  desk. A notification is identified by (notification_id, recipient role):
 *  storing it again is recognised as a duplicate and gets the same number,
 *  so nothing is shown twice, whatever the network repeats.
 *
 *  Tables: "notice" (seq be64 -> record + packed Notification),
 *  "notice_id" (notification_id + role -> seq), "notice_meta" (next seq
 *  and counts). All calls work inside the caller's transaction.
 */
#ifndef RB_NOTICES_H
#define RB_NOTICES_H

#include "rb_store.h"
#include "rb_wire.h"
#include "case.pb-c.h"

#define RB_NOTICE_BY_MAX 64
#define RB_NOTICE_ALSO_MAX 32

typedef struct _rb_notices_t rb_notices_t;

typedef enum { RB_NOTICE_NEW = 1, RB_NOTICE_ACKNOWLEDGED = 2 } rb_notice_state_t;

//  One stored notification, as list and get show it. notification is
//  decoded for the visit and freed after it.
typedef struct {
    uint64_t seq;                       //  local number, in arrival order
    rb_notice_state_t state;
    int64_t received_at_ms;
    int64_t acked_at_ms;                //  0 while new
    char acked_by [RB_NOTICE_BY_MAX + 1];
    char origin [64];                   //  node that sent it
    uint64_t origin_seq;                //  its place in that node's stream
    uint8_t event_id [16];              //  the envelope's event id
    char case_pseudonym [65];
    const Regiebus__Notification *notification;
} rb_notice_t;

typedef int (rb_notice_visit_fn) (const rb_notice_t *notice, void *arg);

//  Open the tables; self_name is this node (recipients must be on it).
rb_notices_t *rb_notices_new (rb_store_t *store, const char *self_name);
void rb_notices_destroy (rb_notices_t **self_p);

//  Check and store a notification that arrived in envelope e. A repeat of
//  the same (notification_id, recipient role) sets *duplicate and *seq_out
//  to the first copy's number and writes nothing.
rb_err_t rb_notices_store (rb_notices_t *self, rb_txn_t *txn, const Regiebus__Envelope *e,
                           const Regiebus__Notification *n, int64_t now_ms,
                           uint64_t *seq_out, bool *duplicate, rb_refusal_t *refusal);

//  Visit notifications after after_seq in order, only the new ones when
//  only_new, at most limit (0: no limit). visit returns non-zero to stop.
rb_err_t rb_notices_list (rb_notices_t *self, rb_txn_t *txn, uint64_t after_seq, bool only_new,
                          size_t limit, rb_notice_visit_fn *visit, void *arg);

//  Visit one; RB_ENOTFOUND when there is none with that number.
rb_err_t rb_notices_get (rb_notices_t *self, rb_txn_t *txn, uint64_t seq,
                         rb_notice_visit_fn *visit, void *arg);

//  Record that `by` (1..64 of [A-Za-z0-9._@-]) saw and acknowledged it.
//  RB_ENOTFOUND (field "seq") for no such notification; RB_EPRECONDITION
//  ("seq") when it was acknowledged before, which changes nothing.
rb_err_t rb_notices_ack (rb_notices_t *self, rb_txn_t *txn, uint64_t seq, const char *by,
                         int64_t now_ms, rb_refusal_t *refusal);

//  How many are new and how many acknowledged.
rb_err_t rb_notices_counts (rb_notices_t *self, rb_txn_t *txn, uint64_t *new_count,
                            uint64_t *acked_count);

//  Visit the new ones received before a time (for reminders). Scans every
//  notification: its cost grows with how many the node holds.
rb_err_t rb_notices_unacked_before (rb_notices_t *self, rb_txn_t *txn, int64_t before_ms,
                                    rb_notice_visit_fn *visit, void *arg);

#endif
