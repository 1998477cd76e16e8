/*  rb_notify: who gets what when something happens on a case.
 *
 *  The municipality routes every case event to the actors that hold regie
 *  on the case. This module makes the notifications for one cause (a
 *  school's absence signal, a parent's report, a change of the register):
 *  one copy per recipient actor, each naming its recipient, every other
 *  recipient (also_sent_to), what that recipient is expected to do and by
 *  when, and the node where it started.
 *
 *  All copies of one notification share one notification_id, derived from
 *  the causing event's id and the notification's index among the event's
 *  notifications (BLAKE2b-128 of event_id || index). A handler applied
 *  again (a batch resent after a crash) therefore writes the same ids, and
 *  every receiving node recognises the repeat and shows it once.
 *
 *  What each role is expected to do is one table (rb_notify.c, and
 *  README.md here for people): deadlines count weekdays, Monday to Friday,
 *  after the signal's date, the report's first day, or today for a change
 *  of the register or a plan.
 *
 *  Pure logic: no store, no sockets, no clock (the caller passes today).
 */
#ifndef RB_NOTIFY_H
#define RB_NOTIFY_H

#include "rb_regie.h"
#include "case.pb-c.h"
#include <stdint.h>

//  Most recipients of one notification: a case's holders, plus an actor
//  that has just left. Each copy names all others in also_sent_to.
#define RB_NOTIFY_RECIPIENTS_MAX (RB_REGIE_MAX_HOLDERS + 1)

//  What caused a notification. The payload of the subject is borrowed: it
//  must outlive the notifications made from it.
typedef struct {
    int subject;                        //  ABSENCE_SIGNAL, PARENT_REPORT, REGIE_CHANGE,
                                        //  PLAN_CHANGE, ESCALATION or CONSENT_CHANGE (EventKind
                                        //  numbers)
    const Regiebus__AbsenceSignal *absence;         //  for ABSENCE_SIGNAL
    const Regiebus__ParentReport *parent_report;    //  for PARENT_REPORT
    const rb_regie_change_t *change;    //  for REGIE_CHANGE
    const Regiebus__PlanChange *plan_change;        //  for PLAN_CHANGE
    const Regiebus__Escalation *escalation;         //  for ESCALATION
    const Regiebus__ConsentChange *consent;         //  for CONSENT_CHANGE
    const uint8_t *event_id;            //  16 bytes: the event that caused it
    uint32_t index;                     //  this notification's place among the event's
    int32_t today;                      //  YYYYMMDD: where a regie change's deadlines count from
    const char *from_node;              //  the node where it started
} rb_notify_cause_t;

typedef struct _rb_notify_t rb_notify_t;

//  The notifications of cause for recipients (count of them, in the order
//  given): rb_notify_get (self, i) is the copy for recipients [i]. NULL
//  and a refusal, with the field named:
//    subject not one of the six              RB_EINVALID   "subject"
//    its payload missing                     RB_EMISSING   "absence", "parent_report",
//                                                          "regie_change", "plan_change",
//                                                          "escalation", "consent_change"
//    event_id missing                        RB_EMISSING   "event_id"
//    from_node not [a-z0-9-] 1..63           RB_EINVALID   "from_node"
//    the date deadlines count from invalid   RB_EINVALID   "date"
//    no recipients / more than the maximum   RB_EMISSING / RB_ETOOLARGE "recipients"
//    a recipient's node or role invalid      RB_EINVALID   "recipients[i].node", ".role"
//    out of memory                           RB_EINTERNAL
rb_notify_t *rb_notify_new (const rb_notify_cause_t *cause, const rb_actor_t *recipients,
                            size_t count, rb_refusal_t *refusal);

//  Destroy and null the caller's pointer. Idempotent.
void rb_notify_destroy (rb_notify_t **self_p);

//  How many copies: one per recipient.
size_t rb_notify_size (rb_notify_t *self);

//  The copy for recipient index (NULL beyond the last), ready to pack. It
//  lives as long as self.
const Regiebus__Notification *rb_notify_get (rb_notify_t *self, size_t index);

//  The notification id of the index-th notification caused by event_id:
//  the event id's first 8 bytes (its time, for a version 7 id: so ids sort
//  by when their cause was made, and the tables keyed by them append),
//  then 8 bytes of BLAKE2b of the event id and index.
void rb_notify_id (const uint8_t event_id [16], uint32_t index, uint8_t id [16]);

//  What role is expected to do about cause and by when: *action an
//  ExpectedAction number (NO_ACTION when nothing), *by a YYYYMMDD date or
//  0 with NO_ACTION. For a regie change the actor that joined as
//  LEERPLICHT or CASUSREGISSEUR is expected to act, for a plan's stall or
//  reminder the plan's owner; recipient is who gets this copy.
void rb_notify_expected (const rb_notify_cause_t *cause, const rb_actor_t *recipient,
                         int *action, int32_t *by);

//  The date weekdays weekdays (Monday to Friday) after date, date itself
//  not counted; 0 when date is invalid or the result leaves the calendar.
int32_t rb_notify_weekdays_after (int32_t date, int weekdays);

#endif
