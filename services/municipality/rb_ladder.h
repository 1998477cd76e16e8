/*  rb_ladder: the escalation ladder and acknowledgement reminders on the
 *  municipality's node.
 *
 *  The rules are elsewhere (rb_escalation: when a case climbs; rb_acks:
 *  which copies wait for an acknowledgement); this part of the daemon ties
 *  them to the node, each story inside the transaction the runtime gives:
 *
 *    absence   an absence signal opens, closes or resumes the case's
 *              episode; the case's one ladder timer is set to the next
 *              day something may be due (the payload is the full
 *              pseudonym), or cancelled. Its id, "esc/<made>/<47 hex>",
 *              starts with when it was first made (kept in the case's
 *              ladder record), so new timers append to the timer tables;
 *              a case from an older store keeps "esc/<60 hex>" until its
 *              timer is next set
 *    a look    the ladder timer fires: every step due is taken and
 *              notified (subject ESCALATION) to every holder and the duty
 *              desk; at the doorbraakteam step the configured DOORBRAAKTEAM
 *              actor joins the case first (its REGIE_CHANGE goes out as
 *              every change does); the timer is set to the next day
 *    a stall   a plan's stall (rb_mun_plans' stall hook) may raise the case
 *              early, notified the same way
 *    a copy    every copy routed that the policy watches gets its "ack/"
 *              timer; a holder's acknowledgement cancels it; when it fires
 *              the copy goes again as a reminder, and when that fires too,
 *              the case's casusregisseur (or the duty desk when there is
 *              none) gets an ESCALATION naming the notification, its
 *              subject, who did not acknowledge it and the day it was sent
 *
 *  Every notification here is caused by a fresh event id, from this node.
 *  Exactly once: a timer is deleted in the transaction of its effect
 *  (rb_mun_timers), so a node killed at any moment neither loses nor
 *  repeats a step.
 *
 *  Configuration: the `policy` section (the region's ladder and reminders,
 *  see README.md), read strictly at start.
 */
#ifndef RB_LADDER_H
#define RB_LADDER_H

#include "rb_acks.h"
#include "rb_consent.h"
#include "rb_escalation.h"
#include "rb_node.h"
#include "rb_regie.h"
#include "agency.pb-c.h"

#define RB_LADDER_TIMER_PREFIX "esc/"

typedef struct _rb_ladder_t rb_ladder_t;

//  The ladder on node, over regie (borrowed) and timers (borrowed), with
//  the duty desk of regie_policy; reads the `policy` section of config.
//  NULL and a refusal naming the key ("policy/thuiszitter_weeks") on a bad
//  value, or when a table cannot be opened.
rb_ladder_t *rb_ladder_new (rb_node_t *node, const rb_config_t *config, rb_regie_t *regie,
                            const rb_regie_policy_t *regie_policy, rb_timers_t *timers,
                            rb_refusal_t *why);

//  Destroy and null the caller's pointer. Idempotent.
void rb_ladder_destroy (rb_ladder_t **self_p);

//  The parents' consent register (borrowed): the ladder's steps and the
//  reminders it sends reach the roles beyond the legal minimum only while
//  their consent holds, as absences do (rb_route.h).
void rb_ladder_set_consent (rb_ladder_t *self, rb_consent_t *consent);

//  An absence signal p arrived on case (after it was routed).
rb_err_t rb_ladder_on_absence (rb_ladder_t *self, rb_txn_t *txn, const char *case_pseudonym,
                               const Regiebus__AbsenceSignal *p, rb_refusal_t *why);

//  The stall hook (rb_mun_plan_stall_fn), arg self.
rb_err_t rb_ladder_on_stall (void *arg, rb_txn_t *txn, const char *case_pseudonym,
                             uint32_t plan_id, unsigned case_stalls, int64_t now_ms,
                             rb_refusal_t *why);

//  The route's watch (rb_route_sent_fn), arg self.
rb_err_t rb_ladder_sent (void *arg, rb_txn_t *txn, const char *case_pseudonym,
                         const Regiebus__Notification *copy, rb_refusal_t *why);

//  recipient acknowledged notification_id on case at acked_at_ms (a
//  receipt from its node, or a local notice): recorded once, counted.
rb_err_t rb_ladder_acked (rb_ladder_t *self, rb_txn_t *txn, const char *case_pseudonym,
                          const uint8_t *notification_id, const rb_actor_t *recipient,
                          int64_t acked_at_ms, rb_refusal_t *why);

//  The fire functions of "esc/" and "ack/" timers (rb_mun_timer_fn), arg self.
rb_err_t rb_ladder_fire (void *arg, rb_txn_t *txn, const rb_timer_t *timer, int64_t now_ms,
                         rb_refusal_t *why);
rb_err_t rb_ladder_fire_ack (void *arg, rb_txn_t *txn, const rb_timer_t *timer, int64_t now_ms,
                             rb_refusal_t *why);

//  Where case stands, for show_case: false when the ladder never saw it.
//  The message points into nothing of the store: plain values.
bool rb_ladder_state (rb_ladder_t *self, rb_txn_t *txn, const char *case_pseudonym,
                      Regiebus__EscalationState *out);

#endif
