/*  rb_timers: durable timers in a node's store, fired exactly once.
 *
 *  A daemon that must act at a later time (a reminder before a milestone,
 *  "plan stalled" when its date passes, the next rung of an escalation)
 *  sets a timer here: an id it chooses, a due time in ms on the node clock
 *  and a small payload saying what to do. On its tick it visits the timers
 *  that are due and acts on them. The module has no clock and no sockets:
 *  the caller says what "now" is, and every call works inside the caller's
 *  transaction, like rb_notices.
 *
 *  Exactly once. A timer fires when the caller deletes it (rb_timers_fire,
 *  or rb_timers_cancel) in the same write transaction as the effect it
 *  causes: the notifications it emits, the state it changes. If the node
 *  dies before that commit, neither the effect nor the deletion happened
 *  and the timer is still due after the restart; after the commit both
 *  happened and the timer is gone. Visiting a timer changes nothing: one
 *  that is visited but not fired stays due and is visited again next time.
 *  A caller that wants a repeating timer fires it and sets it again (the
 *  same id is fine) in that transaction.
 *
 *  Tables (opened by rb_timers_new, or by a daemon with rb_node_table
 *  under the names below for rb_timers_new_on):
 *    "timer_due"  due ms be64 + id -> payload   (the due order)
 *    "timer_id"   id -> due ms be64            (for get, cancel, reschedule)
 *
 *  Finding the due timers is a cursor walk from the start of "timer_due"
 *  that stops at the first timer not due yet: its cost grows with the
 *  number due, not with the number set.
 *
 *  A refusal writes nothing. A storage error (RB_EFULL, RB_ESTORE) may
 *  leave the transaction half-written, and the caller aborts it.
 */
#ifndef RB_TIMERS_H
#define RB_TIMERS_H

#include "rb_store.h"

#define RB_TIMER_ID_MAX 64              //  longest timer id, in bytes
#define RB_TIMER_PAYLOAD_MAX 1024       //  largest payload, in bytes

//  The two tables.
#define RB_TIMERS_TABLE_DUE "timer_due"
#define RB_TIMERS_TABLE_IDS "timer_id"

typedef struct _rb_timers_t rb_timers_t;

//  One timer as get and due show it.
typedef struct {
    char id [RB_TIMER_ID_MAX + 1];      //  the caller's id
    int64_t due_ms;                     //  when it is due, node clock
    const uint8_t *payload;             //  the payload: see each call for how long it lives
    size_t payload_size;                //  0..RB_TIMER_PAYLOAD_MAX
} rb_timer_t;

//  Called once per due timer, in due order; return non-zero to stop the
//  visit (it then still returns RB_OK). The visitor may set, cancel and
//  fire timers in the same transaction, this one included.
typedef int (rb_timer_visit_fn) (const rb_timer_t *timer, void *arg);

//  Open the tables. Returns NULL when one cannot be opened. Call at start,
//  before other transactions.
rb_timers_t *rb_timers_new (rb_store_t *store);

//  The timers on tables the caller opened by the names above (a daemon:
//  rb_node_table). NULL when out of memory.
rb_timers_t *rb_timers_new_on (rb_table_t due, rb_table_t ids);

//  Free the instance and null the caller's pointer. Idempotent.
void rb_timers_destroy (rb_timers_t **self_p);

//  Set timer id to be due at due_ms with payload (size bytes; payload may
//  be NULL when size is 0). Setting an id that is set already moves it to
//  the new due time and replaces its payload. Refusals, writing nothing:
//    RB_EINVALID  "id"       empty, longer than 64 bytes, or other than
//                            ASCII letters, digits and . _ - / :
//    RB_EINVALID  "due_ms"   0 or negative
//    RB_ETOOLARGE "payload"  more than 1024 bytes
//    RB_EMISSING  "payload"  NULL with a size
//  The payload must not point into the store (copy what get showed first).
rb_err_t rb_timers_set (rb_timers_t *self, rb_txn_t *txn, const char *id, int64_t due_ms,
                        const void *payload, size_t size, rb_refusal_t *refusal);

//  Remove timer id if it is set; *cancelled (may be NULL) says whether it
//  was. Cancelling a timer that is not set, or no longer, is not an error.
//  RB_EINVALID "id" for a bad id.
rb_err_t rb_timers_cancel (rb_timers_t *self, rb_txn_t *txn, const char *id, bool *cancelled,
                           rb_refusal_t *refusal);

//  Fire timer id: remove it, in the transaction that holds its effect.
//  RB_ENOTFOUND "id" when it is not set (fired or cancelled before), so a
//  caller never causes an effect twice; RB_EINVALID "id" for a bad id.
rb_err_t rb_timers_fire (rb_timers_t *self, rb_txn_t *txn, const char *id, rb_refusal_t *refusal);

//  Look timer id up into *timer. RB_ENOTFOUND when it is not set,
//  RB_EINVALID for a bad id, RB_ESTORE for a damaged record. The payload
//  points into the store and is valid until the transaction writes or ends.
rb_err_t rb_timers_get (rb_timers_t *self, rb_txn_t *txn, const char *id, rb_timer_t *timer);

//  Visit the timers due at now_ms (due_ms <= now_ms) in due order, equal
//  due times in id order, at most limit of them (0: no limit). after (may
//  be NULL) pages: pass the last timer seen to go on strictly after it.
//  The payload shown is a copy valid during that visit only. A timer the
//  visitor sets again, due at now_ms or before and after the current one,
//  is visited again in the same call; the limit bounds that. RB_ESTORE for
//  a damaged record, RB_EINVALID for an after without id or due time.
rb_err_t rb_timers_due (rb_timers_t *self, rb_txn_t *txn, int64_t now_ms, const rb_timer_t *after,
                        size_t limit, rb_timer_visit_fn *visit, void *arg);

#endif
