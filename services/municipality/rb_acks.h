/*  rb_acks: the municipality's watch on acknowledgements.
 *
 *  A notification that asks something of its holder is only useful when
 *  someone reads it. So the municipality watches each copy it sends that
 *  its policy names (those that expect an action, or all): it keeps the
 *  copy and sets a durable timer "ack/<32 hex>". When the holder's node
 *  reports the acknowledgement (NOTIFICATION_ACK, or the ack of a local
 *  notice) the timer is cancelled and the ack recorded. When the timer
 *  comes first the copy is sent again as a reminder, and when the
 *  reminder is not acknowledged in time either, the case's casusregisseur
 *  (or the duty desk when there is none) is told: each step once, as the
 *  timer fires in the transaction of its effect (rb_timers).
 *
 *  A reminder is a notification of its own: the receiving node keeps one
 *  notice per (notification id, role), so the same id would be taken for
 *  a repeat and never shown. It gets the id rb_notify_id (original id,
 *  RB_ACKS_REMINDER_INDEX + n), carries reminder = n and reminder_of = the
 *  original id, and an acknowledgement of either settles the watch (the
 *  holder's node reports the original id for both).
 *
 *  Every acknowledgement that reaches the municipality is recorded, of a
 *  watched copy or not, with its time; a repeat changes nothing.
 *
 *  Pure LMDB logic in the caller's transaction, with the node's timers; no
 *  clock (the caller passes now), no sockets. A refusal writes nothing.
 *
 *  Table "ack_watch": key the notification id's first 8 bytes ‖ the first
 *  8 bytes of BLAKE2b-128 (notification id ‖ role ‖ node) ->
 *  version 1, state, reminders, role, sent_at_ms, acked_at_ms (8 bytes
 *  big-endian each), case pseudonym (64), node (length byte + bytes), then
 *  the packed copy as sent (empty for an acknowledgement of a copy that
 *  was not watched).
 */
#ifndef RB_ACKS_H
#define RB_ACKS_H

#include "rb_regie.h"
#include "rb_timers.h"
#include "case.pb-c.h"

#define RB_ACKS_TABLE "ack_watch"
#define RB_ACKS_TIMER_PREFIX "ack/"

//  Reminder n of a notification has the id rb_notify_id (id, this + n).
#define RB_ACKS_REMINDER_INDEX 0x80000000u

typedef struct _rb_acks_t rb_acks_t;

//  Which copies are watched.
typedef enum {
    RB_ACKS_NONE = 0,                   //  none: acknowledgements are only recorded
    RB_ACKS_ACTION = 1,                 //  those that expect an action (not NO_ACTION)
    RB_ACKS_ALL = 2                     //  every copy
} rb_acks_scope_t;

//  The region's rule, from configuration.
typedef struct {
    rb_acks_scope_t scope;              //  which copies
    int64_t remind_after_ms;            //  unacknowledged this long after sending: reminder
    int64_t escalate_after_ms;          //  and this long after the reminder: escalation
} rb_acks_policy_t;

//  A watch's state.
typedef enum {
    RB_ACK_WAITING = 1,                 //  sent, timer set
    RB_ACK_REMINDED = 2,                //  reminder sent, timer set again
    RB_ACK_ESCALATED = 3,               //  escalated, no timer
    RB_ACK_ACKED = 4                    //  acknowledged
} rb_ack_state_t;

//  What a due timer asks for.
typedef enum {
    RB_ACK_NOTHING = 0,                 //  nothing (acknowledged meanwhile)
    RB_ACK_REMIND = 1,                  //  send the copy again as reminder `reminder`
    RB_ACK_ESCALATE = 2                 //  tell the casusregisseur or the duty desk
} rb_ack_step_t;

//  A fired watch, for the caller to act on. copy is decoded for the
//  caller, who frees it with rb_acks_due_clear.
typedef struct {
    rb_ack_step_t step;
    char case_pseudonym [65];           //  the case
    int64_t sent_at_ms;                 //  when the copy was sent
    uint32_t reminder;                  //  RB_ACK_REMIND: its number, from 1
    Regiebus__Notification *copy;       //  the copy as first sent
} rb_ack_due_t;

//  Open the table in store (tests), or use one the caller opened by the
//  name above (the daemon: rb_node_table). timers is borrowed; without
//  them (NULL) nothing is watched and acknowledgements are only recorded.
//  NULL when out of memory or the table cannot be opened.
rb_acks_t *rb_acks_new (rb_store_t *store, rb_timers_t *timers);
rb_acks_t *rb_acks_new_on (rb_table_t table, rb_timers_t *timers);

//  Destroy and null the caller's pointer. Idempotent.
void rb_acks_destroy (rb_acks_t **self_p);

//  Check a policy: RB_EINVALID "scope" (not one of the three), "remind_after_ms",
//  "escalate_after_ms" (each from 1 minute to 365 days).
rb_err_t rb_acks_policy_check (const rb_acks_policy_t *policy, rb_refusal_t *refusal);

//  The copy was sent at now_ms: watch it when the policy names it (a
//  reminder, or an escalation about an unacknowledged notification, is
//  never watched: the chain ends there). *watched (may be NULL) says so.
//  Refusals: RB_EINVALID "case_pseudonym", "copy" (no 16-byte id or no
//  recipient).
rb_err_t rb_acks_sent (rb_acks_t *self, rb_txn_t *txn, const rb_acks_policy_t *policy,
                       const char *case_pseudonym, const Regiebus__Notification *copy,
                       int64_t now_ms, bool *watched, rb_refusal_t *refusal);

//  recipient acknowledged notification_id (16 bytes) on case at acked_at_ms:
//  cancel its timer and record it. *before (may be NULL) gets the state it
//  was in (0: not watched, RB_ACK_ACKED: a repeat, which writes nothing).
//  Refusals: RB_EINVALID "notification_id", "recipient.node",
//  "recipient.role", "case_pseudonym"; RB_EDENIED "case_pseudonym" when the
//  watched copy was about another case.
rb_err_t rb_acks_acked (rb_acks_t *self, rb_txn_t *txn, const char *case_pseudonym,
                        const uint8_t *notification_id, const rb_actor_t *recipient,
                        int64_t acked_at_ms, rb_ack_state_t *before, rb_refusal_t *refusal);

//  The state of the watch on (notification_id, recipient): 0 when none.
rb_ack_state_t rb_acks_state (rb_acks_t *self, rb_txn_t *txn, const uint8_t *notification_id,
                              const rb_actor_t *recipient);

//  True when timer_id is one of this module's.
bool rb_acks_is_timer (const char *timer_id);

//  Due timer timer_id fired at now_ms (the dispatcher deleted it in txn,
//  rb_mun_timers): advance the watch (a reminder sets the timer again,
//  escalate_after_ms later) and say in *due what to send; RB_ACK_NOTHING
//  when the watch is over. RB_EINVALID "id" for an id not of this module.
rb_err_t rb_acks_fire (rb_acks_t *self, rb_txn_t *txn, const rb_acks_policy_t *policy,
                       const char *timer_id, int64_t now_ms, rb_ack_due_t *due,
                       rb_refusal_t *refusal);

//  Free what a fired watch holds.
void rb_acks_due_clear (rb_ack_due_t *due);

#endif
