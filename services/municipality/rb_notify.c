/*  rb_notify: the notifications of one cause; see rb_notify.h.
 *
 *  Design. One allocation holds everything the copies point at: the
 *  recipients as protobuf Actors, the also_sent_to pointer lists (each copy
 *  names all recipients but its own), the RegieChange of a register
 *  change, and the notifications themselves. The subject's absence signal
 *  or parent report is borrowed from the cause, so nothing is copied twice.
 *
 *  The expected actions are a table of rules (subject, what happened, role
 *  -> action and weekdays); whatever no rule names is NO_ACTION.
 */
#include "rb_notify.h"
#include "rb_calendar.h"
#include "kinds.pb-c.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

//  The id's tail is BLAKE2b with a 16-byte digest (libsodium's smallest), cut.
_Static_assert (crypto_generichash_BYTES_MIN == 16, "BLAKE2b-128 is available");

//  In a REGIE_CHANGE rule: the recipient is the actor that joined.
#define S_JOINED 1

//  One row of the expected-action table.
typedef struct {
    int subject;            //  EventKind of the cause
    int what;               //  AbsenceSignalKind, ParentReportKind, or S_JOINED
    rb_role_t role;         //  the recipient's role
    int action;             //  ExpectedAction
    int weekdays;           //  deadline: weekdays after the cause's date
} s_rule_t;

#define S_ABSENCE REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL
#define S_REPORT REGIEBUS__EVENT_KIND__PARENT_REPORT
#define S_CHANGE REGIEBUS__EVENT_KIND__REGIE_CHANGE
#define S_PLAN REGIEBUS__EVENT_KIND__PLAN_CHANGE
#define S_ESC REGIEBUS__EVENT_KIND__ESCALATION
#define S_ESC_NEEDED REGIEBUS__ESCALATION_STEP__ESCALATION_CASUSREGISSEUR_NEEDED
#define S_ESC_NOBODY REGIEBUS__ESCALATION_STEP__ESCALATION_NO_CASUSREGISSEUR
#define S_ESC_TEAM REGIEBUS__ESCALATION_STEP__ESCALATION_DOORBRAAKTEAM
#define S_ESC_HOME REGIEBUS__ESCALATION_STEP__ESCALATION_THUISZITTER
#define S_ESC_UNACKED REGIEBUS__ESCALATION_STEP__ESCALATION_UNACKNOWLEDGED
#define S_CONSENT REGIEBUS__EVENT_KIND__CONSENT_CHANGE
#define S_CONTACT_PARENTS REGIEBUS__EXPECTED_ACTION__CONTACT_PARENTS
#define S_CONTACT_SCHOOL REGIEBUS__EXPECTED_ACTION__CONTACT_SCHOOL
#define S_ASSESS REGIEBUS__EXPECTED_ACTION__ASSESS_CASE

static const s_rule_t s_rules [] = {
    { S_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE, RB_ROLE_SCHOOL_MENTOR, S_CONTACT_PARENTS, 1 },
    { S_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE, RB_ROLE_PARENT, S_CONTACT_SCHOOL, 1 },
    { S_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__STREAK, RB_ROLE_SCHOOL_MENTOR, S_CONTACT_PARENTS, 1 },
    { S_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__STREAK, RB_ROLE_PARENT, S_CONTACT_SCHOOL, 1 },
    { S_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__LEGAL_THRESHOLD, RB_ROLE_LEERPLICHT, S_ASSESS, 5 },
    { S_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__LEGAL_THRESHOLD, RB_ROLE_PARENT, S_CONTACT_SCHOOL, 5 },
    { S_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__HIGH_RATE, RB_ROLE_SCHOOL_MENTOR, S_CONTACT_PARENTS, 1 },
    { S_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__HIGH_RATE, RB_ROLE_LEERPLICHT, S_ASSESS, 5 },
    { S_REPORT, REGIEBUS__PARENT_REPORT_KIND__PARENT_HOME_SIGNAL, RB_ROLE_SCHOOL_MENTOR, S_CONTACT_PARENTS, 1 },
    { S_CHANGE, S_JOINED, RB_ROLE_LEERPLICHT, S_ASSESS, 5 },
    { S_CHANGE, S_JOINED, RB_ROLE_CASUSREGISSEUR, S_ASSESS, 5 },
    { S_PLAN, REGIEBUS__PLAN_CHANGE_KIND__PLAN_STALLED, RB_ROLE_UNSPECIFIED, S_ASSESS, 2 },
    { S_ESC, S_ESC_NEEDED, RB_ROLE_DUTY_DESK, S_ASSESS, 2 },
    { S_ESC, S_ESC_NEEDED, RB_ROLE_CASUSREGISSEUR, S_ASSESS, 5 },
    { S_ESC, S_ESC_NOBODY, RB_ROLE_DUTY_DESK, S_ASSESS, 1 },
    { S_ESC, S_ESC_TEAM, RB_ROLE_DOORBRAAKTEAM, S_ASSESS, 5 },
    { S_ESC, S_ESC_TEAM, RB_ROLE_CASUSREGISSEUR, S_ASSESS, 5 },
    { S_ESC, S_ESC_HOME, RB_ROLE_LEERPLICHT, S_ASSESS, 5 },
    { S_ESC, S_ESC_HOME, RB_ROLE_CASUSREGISSEUR, S_ASSESS, 5 },
    { S_ESC, S_ESC_HOME, RB_ROLE_DOORBRAAKTEAM, S_ASSESS, 5 },
    { S_ESC, S_ESC_UNACKED, RB_ROLE_CASUSREGISSEUR, S_ASSESS, 1 },
    { S_ESC, S_ESC_UNACKED, RB_ROLE_DUTY_DESK, S_ASSESS, 1 },
};

//  In a PLAN_CHANGE rule RB_ROLE_UNSPECIFIED stands for the plan's owner,
//  whatever its role. A reminder asks the owner for the milestone by its date.

#define S_RULES (sizeof s_rules / sizeof s_rules [0])

struct _rb_notify_t {
    size_t count;                       //  copies, one per recipient
    Regiebus__Notification *notes;      //  [count] the copies
    Regiebus__Actor *actors;            //  [count] the recipients
    rb_actor_t *recipients;             //  [count] their node names live here
    Regiebus__Actor **also;             //  [count * (count - 1)] also_sent_to lists
    Regiebus__RegieChange change;       //  a register change's payload
    Regiebus__Actor change_actor;       //  who joined or left
    rb_regie_change_t change_copy;      //  its strings live here
    uint8_t id [16];                    //  the notification id all copies share
    char from_node [RB_NAME_MAX + 1];   //  where it started
};


// ---------------------------------------------------------------------------
//  Dates and ids

int32_t
rb_notify_weekdays_after (int32_t date, int weekdays)
{
    if (!rb_calendar_date_valid (date))
        return 0;
    while (date && weekdays > 0) {
        date = rb_calendar_add_days (date, 1);
        if (date && rb_calendar_weekday (date) <= 5)
            weekdays--;
    }
    return date;
}

void
rb_notify_id (const uint8_t event_id [16], uint32_t index, uint8_t id [16])
{
    uint8_t input [20], digest [16];
    memcpy (input, event_id, 16);
    input [16] = (uint8_t) (index >> 24);
    input [17] = (uint8_t) (index >> 16);
    input [18] = (uint8_t) (index >> 8);
    input [19] = (uint8_t) index;
    crypto_generichash (digest, 16, input, sizeof input, NULL, 0);
    memcpy (id, event_id, 8);
    memcpy (id + 8, digest, 8);
}

//  The date a cause's deadlines count from.
static int32_t
s_base_date (const rb_notify_cause_t *cause)
{
    if (cause->subject == S_ABSENCE)
        return cause->absence->date;
    if (cause->subject == S_REPORT)
        return cause->parent_report->from_date;
    if (cause->subject == S_PLAN)
        return cause->plan_change->date;
    return cause->today;
}

static bool
s_same_actor (const Regiebus__Actor *a, const rb_actor_t *b)
{
    return a && a->node && (int) a->role == (int) b->role && strcmp (a->node, b->node) == 0;
}

//  What happened, in the terms of the rules' `what` column.
static int
s_what (const rb_notify_cause_t *cause, const rb_actor_t *recipient)
{
    if (cause->subject == S_ABSENCE)
        return (int) cause->absence->signal;
    if (cause->subject == S_REPORT)
        return (int) cause->parent_report->report;
    if (cause->subject == S_PLAN)
        return (int) cause->plan_change->change;
    if (cause->subject == S_ESC)
        return (int) cause->escalation->step;
    if (cause->subject == S_CONSENT)
        return 0;
    const rb_regie_change_t *change = cause->change;
    bool is_joiner = change->joined && change->actor.role == recipient->role
                  && strcmp (change->actor.node, recipient->node) == 0;
    return is_joiner? S_JOINED: 0;
}

void
rb_notify_expected (const rb_notify_cause_t *cause, const rb_actor_t *recipient,
                    int *action, int32_t *by)
{
    *action = REGIEBUS__EXPECTED_ACTION__NO_ACTION;
    *by = 0;
    int what = s_what (cause, recipient);
    rb_role_t role = recipient->role;
    if (cause->subject == S_PLAN) {
        if (!s_same_actor (cause->plan_change->owner, recipient))
            return;
        if (what == REGIEBUS__PLAN_CHANGE_KIND__PLAN_REMINDER) {
            *action = S_ASSESS;
            *by = cause->plan_change->due;
            return;
        }
        role = RB_ROLE_UNSPECIFIED;
    }
    for (size_t i = 0; i < S_RULES; i++)
        if (s_rules [i].subject == cause->subject && s_rules [i].what == what
        &&  s_rules [i].role == role) {
            *action = s_rules [i].action;
            *by = rb_notify_weekdays_after (s_base_date (cause), s_rules [i].weekdays);
            return;
        }
}


// ---------------------------------------------------------------------------
//  Checks

static rb_err_t
s_check_cause (const rb_notify_cause_t *cause, rb_refusal_t *refusal)
{
    if (cause->subject != S_ABSENCE && cause->subject != S_REPORT && cause->subject != S_CHANGE
    &&  cause->subject != S_PLAN && cause->subject != S_ESC && cause->subject != S_CONSENT)
        return rb_refuse (refusal, RB_EINVALID, "subject",
                          "subject %d is not ABSENCE_SIGNAL, PARENT_REPORT, REGIE_CHANGE, PLAN_CHANGE, "
                          "ESCALATION or CONSENT_CHANGE", cause->subject);
    if (cause->subject == S_ESC && !cause->escalation)
        return rb_refuse (refusal, RB_EMISSING, "escalation", "an escalation notification needs the step");
    if (cause->subject == S_ABSENCE && !cause->absence)
        return rb_refuse (refusal, RB_EMISSING, "absence", "an absence notification needs the signal");
    if (cause->subject == S_REPORT && !cause->parent_report)
        return rb_refuse (refusal, RB_EMISSING, "parent_report", "a report notification needs the report");
    if (cause->subject == S_CHANGE && !cause->change)
        return rb_refuse (refusal, RB_EMISSING, "regie_change", "a regie notification needs the change");
    if (cause->subject == S_PLAN && !cause->plan_change)
        return rb_refuse (refusal, RB_EMISSING, "plan_change", "a plan notification needs the change");
    if (cause->subject == S_CONSENT && !cause->consent)
        return rb_refuse (refusal, RB_EMISSING, "consent_change", "a consent notification needs the change");
    if (!cause->event_id)
        return rb_refuse (refusal, RB_EMISSING, "event_id", "the causing event's id is missing");
    if (!cause->from_node || !rb_config_name_valid (cause->from_node))
        return rb_refuse (refusal, RB_EINVALID, "from_node", "from_node must be 1-63 of [a-z0-9-]");
    if (!rb_calendar_date_valid (s_base_date (cause)))
        return rb_refuse (refusal, RB_EINVALID, "date", "date %d is not a YYYYMMDD date",
                          (int) s_base_date (cause));
    return RB_OK;
}

static rb_err_t
s_check_recipients (const rb_actor_t *recipients, size_t count, rb_refusal_t *refusal)
{
    if (!recipients || count == 0)
        return rb_refuse (refusal, RB_EMISSING, "recipients", "a notification needs recipients");
    if (count > RB_NOTIFY_RECIPIENTS_MAX)
        return rb_refuse (refusal, RB_ETOOLARGE, "recipients", "%zu recipients, at most %d",
                          count, RB_NOTIFY_RECIPIENTS_MAX);
    for (size_t i = 0; i < count; i++) {
        char field [40];
        if (!memchr (recipients [i].node, 0, sizeof recipients [i].node)
        ||  !rb_config_name_valid (recipients [i].node)) {
            snprintf (field, sizeof field, "recipients[%zu].node", i);
            return rb_refuse (refusal, RB_EINVALID, field, "%s must be 1-63 of [a-z0-9-]", field);
        }
        if (recipients [i].role < RB_ROLE_SCHOOL_MENTOR || recipients [i].role > RB_ROLE_MAX) {
            snprintf (field, sizeof field, "recipients[%zu].role", i);
            return rb_refuse (refusal, RB_EINVALID, field, "%s %d is not a known Role",
                              field, (int) recipients [i].role);
        }
    }
    return RB_OK;
}


// ---------------------------------------------------------------------------
//  The copies

//  The RegieChange payload, pointing into self's copy of the change.
static void
s_change_set (rb_notify_t *self, const rb_regie_change_t *change)
{
    self->change_copy = *change;
    regiebus__actor__init (&self->change_actor);
    self->change_actor.node = self->change_copy.actor.node;
    self->change_actor.role = (Regiebus__Role) self->change_copy.actor.role;
    regiebus__regie_change__init (&self->change);
    self->change.actor = &self->change_actor;
    self->change.joined = self->change_copy.joined;
    self->change.since_ms = self->change_copy.since_ms;
    self->change.contact = self->change_copy.contact;
    self->change.reason = self->change_copy.reason;
}

//  Copy i: its recipient, the others, the subject's payload, the action.
static void
s_copy_set (rb_notify_t *self, const rb_notify_cause_t *cause, size_t i)
{
    Regiebus__Notification *n = &self->notes [i];
    regiebus__notification__init (n);
    n->notification_id.data = self->id;
    n->notification_id.len = sizeof self->id;
    n->subject = (Regiebus__EventKind) cause->subject;
    if (cause->subject == S_ABSENCE)
        n->absence = (Regiebus__AbsenceSignal *) cause->absence;
    else
    if (cause->subject == S_REPORT)
        n->parent_report = (Regiebus__ParentReport *) cause->parent_report;
    else
    if (cause->subject == S_PLAN)
        n->plan_change = (Regiebus__PlanChange *) cause->plan_change;
    else
    if (cause->subject == S_ESC)
        n->escalation = (Regiebus__Escalation *) cause->escalation;
    else
    if (cause->subject == S_CONSENT)
        n->consent_change = (Regiebus__ConsentChange *) cause->consent;
    else
        n->regie_change = &self->change;
    n->recipient = &self->actors [i];
    n->also_sent_to = self->also + i * (self->count - 1);
    for (size_t j = 0; j < self->count; j++)
        if (j != i)
            n->also_sent_to [n->n_also_sent_to++] = &self->actors [j];
    int action;
    int32_t by;
    rb_notify_expected (cause, &self->recipients [i], &action, &by);
    n->expected = (Regiebus__ExpectedAction) action;
    n->expected_by = by;
    n->from_node = self->from_node;
}

rb_notify_t *
rb_notify_new (const rb_notify_cause_t *cause, const rb_actor_t *recipients, size_t count,
               rb_refusal_t *refusal)
{
    if (refusal)
        rb_refusal_clear (refusal);
    if (s_check_cause (cause, refusal) || s_check_recipients (recipients, count, refusal))
        return NULL;
    rb_notify_t *self = calloc (1, sizeof *self);
    if (self) {
        self->count = count;
        self->notes = calloc (count, sizeof *self->notes);
        self->actors = calloc (count, sizeof *self->actors);
        self->recipients = calloc (count, sizeof *self->recipients);
        self->also = calloc (count * count, sizeof *self->also);
    }
    if (!self || !self->notes || !self->actors || !self->recipients || !self->also) {
        rb_notify_destroy (&self);
        rb_refuse (refusal, RB_EINTERNAL, NULL, "out of memory");
        return NULL;
    }
    rb_notify_id (cause->event_id, cause->index, self->id);
    snprintf (self->from_node, sizeof self->from_node, "%s", cause->from_node);
    if (cause->subject == S_CHANGE)
        s_change_set (self, cause->change);
    memcpy (self->recipients, recipients, count * sizeof *recipients);
    for (size_t i = 0; i < count; i++) {
        regiebus__actor__init (&self->actors [i]);
        self->actors [i].node = self->recipients [i].node;
        self->actors [i].role = (Regiebus__Role) self->recipients [i].role;
    }
    for (size_t i = 0; i < count; i++)
        s_copy_set (self, cause, i);
    return self;
}

void
rb_notify_destroy (rb_notify_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rb_notify_t *self = *self_p;
    free (self->notes);
    free (self->actors);
    free (self->recipients);
    free (self->also);
    free (self);
    *self_p = NULL;
}

size_t
rb_notify_size (rb_notify_t *self)
{
    return self->count;
}

const Regiebus__Notification *
rb_notify_get (rb_notify_t *self, size_t index)
{
    return index < self->count? &self->notes [index]: NULL;
}
