/*  rb_route: the municipality's fan-out of one case event to its holders.
 *
 *  When an event changes a case's register or happens on a case, every
 *  actor holding regie there hears of it, at its own node. The order is
 *  fixed: first one REGIE_CHANGE notification per change of the register
 *  (to every holder after the change; a leave also reaches the actor that
 *  left while its node is reachable, and nothing after it does), then the
 *  event's own notification (an absence signal, a parent report, a plan's
 *  change) to every holder.
 *
 *  Each copy goes to its actor's node: to a peer as a NOTIFICATION
 *  envelope emitted in the causing event's transaction (so it is sent
 *  exactly when the event commits, caused by its event id), to this node's
 *  own actors (leerplicht, the duty desk) as a local notice. A holder on a
 *  node that is not a configured peer cannot be reached: the event is
 *  refused with UNKNOWN_PEER ("holders"), so the configuration error shows
 *  as a dead letter instead of a notification silently lost.
 *
 *  What goes beyond the legal minimum reaches a role that needs the
 *  parents' consent (care: rb_consent.h) only while it is given: such a
 *  holder is left out of a copy it may not have, and out of the others'
 *  also_sent_to, and counted as withheld. Without consent it still hears
 *  of the register's changes (who to call on the case, its own join and
 *  leave among them), except those the attendance rules made (leerplicht
 *  joining at the legal threshold tells that the child passed it), and of
 *  the consent changes for its own role.
 *
 *  The notifications of one event are numbered in the order they are made
 *  (rb_route_t.index), which with the event id fixes their ids
 *  (rb_notify): a handler applied again makes the same notifications.
 */
#ifndef RB_ROUTE_H
#define RB_ROUTE_H

#include "rb_consent.h"
#include "rb_node.h"
#include "rb_notify.h"
#include "rb_regie.h"

//  Told of every copy delivered (for the acknowledgement watch), in the
//  copy's transaction; a refusal refuses the routing.
typedef rb_err_t (rb_route_sent_fn) (void *arg, rb_txn_t *txn, const char *case_pseudonym,
                                     const Regiebus__Notification *copy, rb_refusal_t *why);

//  One event being routed: what the municipality's handler or call sets
//  up before it applies the event, and what routing counts.
typedef struct {
    rb_node_t *node;                //  this node: emits and local notices
    const rb_config_t *config;      //  its peers
    rb_regie_t *regie;              //  the register holders are read from
    rb_consent_t *consent;          //  the parents' consent; NULL: no role needs it
    rb_txn_t *txn;                  //  the causing event's transaction
    const char *case_pseudonym;     //  the case
    const uint8_t *event_id;        //  16 bytes: the causing event
    int64_t occurred_at_ms;         //  when it happened; 0: now
    const char *from_node;          //  where it started
    int32_t today;                  //  YYYYMMDD at this node
    bool about_child;               //  its register changes tell of the child (the
                                    //  attendance rules made them): they need consent
    uint32_t index;                 //  the next notification's index in this event
    uint64_t sent;                  //  copies sent (emitted or stored locally)
    uint64_t changes;               //  register changes notified
    rb_route_sent_fn *sent_fn;      //  told of each copy delivered, NULL none
    void *sent_arg;                 //  its argument
    uint64_t withheld;              //  copies not sent for want of consent
} rb_route_t;

//  The sent_fn every route rb_route_start makes gets: the daemon sets it
//  once at setup (one node per process, so one daemon per process).
void rb_route_watch (rb_route_sent_fn *fn, void *arg);

//  The fan-out of an event (or a call, or a timer) on case pseudonym,
//  caused by event_id (16 bytes), started at from_node, in txn.
rb_route_t rb_route_start (rb_node_t *node, const rb_config_t *config, rb_regie_t *regie,
                           rb_txn_t *txn, const char *pseudonym, const uint8_t *event_id,
                           int64_t occurred_at_ms, const char *from_node);

//  Notify each of n changes of the register to the holders (and a leaver).
rb_err_t rb_route_changes (rb_route_t *self, const rb_regie_change_t *changes, size_t n,
                           rb_refusal_t *why);

//  Notify the event itself: an absence signal or a parent report (the
//  other NULL) to every holder.
rb_err_t rb_route_event (rb_route_t *self, const Regiebus__AbsenceSignal *absence,
                         const Regiebus__ParentReport *report, rb_refusal_t *why);

//  Notify a plan's change (PLAN_CHANGE) to every holder, or to only that
//  actor (a reminder to the owner, a refusal to the actor that asked).
rb_err_t rb_route_plan (rb_route_t *self, const Regiebus__PlanChange *change,
                        const rb_actor_t *only, rb_refusal_t *why);

//  Notify a step of the escalation ladder (ESCALATION): to every holder
//  when holders, and to each of extra (count of them) not among them (the
//  duty desk, a casusregisseur told of an unacknowledged notification).
rb_err_t rb_route_escalation (rb_route_t *self, const Regiebus__Escalation *escalation,
                              bool holders, const rb_actor_t *extra, size_t count,
                              rb_refusal_t *why);

//  Deliver one copy made elsewhere (a reminder) to its recipient's node,
//  as every copy is delivered, but not watched again.
rb_err_t rb_route_copy (rb_route_t *self, const Regiebus__Notification *copy, rb_refusal_t *why);

//  Notify the parents' consent change for role to the holders of that
//  role on the case (none: nothing to tell).
rb_err_t rb_route_consent (rb_route_t *self, const Regiebus__ConsentChange *change,
                           rb_refusal_t *why);

#endif
