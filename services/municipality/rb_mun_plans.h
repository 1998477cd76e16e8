/*  rb_mun_plans: plans on the municipality's node, and the timers that watch them.
 *
 *  The municipality keeps the plans of its cases (rb_plan) and watches
 *  their dates, because plans that nobody watches are where cases go
 *  quiet. This part of the daemon tells three stories, each inside the
 *  transaction the runtime gives it:
 *
 *    a command   (the plan_command call here, or a PLAN_COMMAND event from
 *                a holder's school or care node) validate: the actor holds
 *                a role on the case and the command fits the plan; commit:
 *                rb_plan applies it; route: one PLAN_CHANGE notification
 *                per regie holder; and the plan's timers are set, moved or
 *                cancelled in the same transaction. A PLAN_COMMAND the
 *                register refuses changes nothing and comes back to its
 *                actor as a PLAN_COMMAND_REFUSED notification naming code
 *                and field.
 *    a reminder  a configurable number of days before an open milestone's
 *                date, the plan's owner is reminded (PLAN_REMINDER).
 *    a stall     when a milestone's date passes while it is open, or the
 *                plan goes unreviewed past its review-due date, the stall
 *                is recorded once (rb_plan_record_stall) and every holder
 *                is told (PLAN_STALLED); then the stall hook runs (below).
 *
 *  Timers. Each plan has at most one timer per open milestone for the
 *  stall, one per open milestone for the reminder and one for the review,
 *  with ids that name them (RB_TIMER_ID_MAX is 64 bytes):
 *
 *    plan/<first 48 hex of the pseudonym>/<plan id>/m<n>   milestone n's stall
 *    plan/<first 48 hex of the pseudonym>/<plan id>/r<n>   milestone n's reminder
 *    plan/<first 48 hex of the pseudonym>/<plan id>/v      the review's stall
 *
 *  at most 5 + 48 + 1 + 2 + 1 + 6 = 63 bytes (64 plans a case, milestone
 *  numbers up to 65535). The payload is the full 64-hex pseudonym, so a
 *  timer always acts on its own case; two cases would share ids only if
 *  their pseudonyms, keyed BLAKE2b-256 hashes, shared the first 192 bits,
 *  which is as likely as guessing a 192-bit key. A stall timer is due at
 *  the start of the day after the date (node clock, local time zone), a
 *  reminder at the start of the day reminder_days before it (not set when
 *  that moment has passed already).
 *
 *  Exactly once. The dispatcher (rb_mun_timers) deletes a timer in the
 *  transaction of its effect; a stall is also recorded once by rb_plan,
 *  so even a timer set twice for one date notifies once.
 */
#ifndef RB_MUN_PLANS_H
#define RB_MUN_PLANS_H

#include "rb_node.h"
#include "rb_plan.h"
#include "rb_timers.h"
#include "regiebus.pb-c.h"

//  The prefix of every plan timer's id.
#define RB_MUN_PLANS_TIMER_PREFIX "plan/"

//  Days before a milestone's date its owner is reminded, by default; 0
//  turns reminders off.
#define RB_MUN_PLANS_REMINDER_DAYS 2
#define RB_MUN_PLANS_REMINDER_DAYS_MAX 60

typedef struct _rb_mun_plans_t rb_mun_plans_t;

//  Plans on node: open the "plan" table, keep the register over regie
//  and set timers in timers (all borrowed, they must outlive it), with
//  reminders reminder_days (0..60) before a milestone. NULL and a refusal
//  when the table cannot be opened or memory runs out.
rb_mun_plans_t *rb_mun_plans_new (rb_node_t *node, const rb_config_t *config, rb_regie_t *regie,
                                  rb_timers_t *timers, int reminder_days, rb_refusal_t *why);

//  Destroy and null the caller's pointer. Idempotent.
void rb_mun_plans_destroy (rb_mun_plans_t **self_p);

//  The stall hook, for the escalation ladder: called once per recorded
//  stall, after every holder was notified, in the same transaction, with
//  the case, the plan, and case_stalls, the stalls recorded on all plans
//  of the case so far, this one included (so 2 means "the second stall on
//  this case": escalate early). What it writes and emits commits with the
//  stall; a refusal or error from it undoes the stall too (the timer is
//  then dropped on the next tick, or tried again after a storage error).
typedef rb_err_t (rb_mun_plan_stall_fn) (void *arg, rb_txn_t *txn, const char *case_pseudonym,
                                         uint32_t plan_id, unsigned case_stalls,
                                         int64_t now_ms, rb_refusal_t *why);
void rb_mun_plans_on_stall (rb_mun_plans_t *self, rb_mun_plan_stall_fn *fn, void *arg);

//  The plan_command call: an actor of this node acts on a case's plans.
//  Refusals name the field inside the request: "case_pseudonym",
//  "command.actor.node" (PERMISSION_DENIED when it is not this node),
//  "command.actor" (PERMISSION_DENIED: holds no role on the case),
//  "command.register.milestones[0].date", "command.complete.milestone"...
rb_err_t rb_mun_plans_command_call (rb_mun_plans_t *self, rb_call_t *call, rb_txn_t *txn,
                                    const Regiebus__PlanCommandRequest *q, rb_refusal_t *why);

//  The get_plans call: one plan of a case, or all of them.
rb_err_t rb_mun_plans_get_call (rb_mun_plans_t *self, rb_call_t *call, rb_txn_t *txn,
                                const Regiebus__PlanGetRequest *q, rb_refusal_t *why);

//  A PLAN_COMMAND envelope e with its decoded payload. The actor must be
//  the origin's (PERMISSION_DENIED "payload.actor.node": a dead letter, as
//  is a malformed actor); any other refusal is answered with a
//  PLAN_COMMAND_REFUSED notification to the actor and RB_OK, nothing of
//  the command applied.
rb_err_t rb_mun_plans_on_command (rb_mun_plans_t *self, rb_txn_t *txn, const Regiebus__Envelope *e,
                                  const Regiebus__PlanCommand *command, rb_refusal_t *why);

//  The fire function of the "plan/" timers (rb_mun_timer_fn), arg self.
rb_err_t rb_mun_plans_fire (void *arg, rb_txn_t *txn, const rb_timer_t *timer, int64_t now_ms,
                            rb_refusal_t *why);

//  The id of a plan's timer: what is 'm' (a milestone's stall), 'r' (its
//  reminder) or 'v' (the review's stall, milestone 0).
void rb_mun_plans_timer_id (const char *pseudonym, uint32_t plan_id, char what,
                            unsigned milestone, char id [RB_TIMER_ID_MAX + 1]);

#endif
