/*  rb_municipality: the municipality daemon; see rb_municipality.h.
 *
 *  Design. The inbound handler finds the event kind in one table (kind,
 *  payload message, function), decodes the payload once and frees it in
 *  one place; each function then checks who sent it and what it says,
 *  applies it to the register with the policy helper for its flow, and
 *  routes what changed and what happened (rb_route).
 *
 *  Counters. What an event or a staff call did is counted where it did
 *  it; the runtime keeps such counts pending until their commit holds and
 *  takes them back with a refused envelope or a batch applied again.
 */
#include "rb_municipality.h"
#include "rb_calendar.h"
#include "rb_consent.h"
#include "rb_ladder.h"
#include "rb_log.h"
#include "rb_mun_plans.h"
#include "rb_mun_timers.h"
#include "rb_regie.h"
#include "rb_route.h"
#include "rb_text.h"
#include "regiebus.pb-c.h"
#include <czmq.h>
#include <sodium.h>

//  The longest school location code (BRIN + location, "12AB00").
#define S_LOCATION_MAX 16

//  Highest AbsenceReason, ParentReportKind and regional code.
#define S_REASON_MAX REGIEBUS__ABSENCE_REASON__NO_PLACE
#define S_REPORT_MAX REGIEBUS__PARENT_REPORT_KIND__PARENT_HOME_SIGNAL
#define S_CODE_MAX 9999

//  How often the due timers are looked at (node thread, monotonic clock).
#define S_TICK_MS 100

typedef struct {
    rb_node_t *node;                //  the node it runs on
    const rb_config_t *config;      //  the node's configuration, for peers
    rb_regie_t *regie;              //  the regie register
    rb_consent_t *consent;          //  the parents' consent per case and agency type
    rb_regie_policy_t policy;       //  the region's default policy
    rb_timers_t *timers;            //  durable timers in the node's store
    rb_mun_timers_t *dispatch;      //  fires the due ones by id prefix
    uint64_t reminder_days;         //  plan reminders, days before a milestone
    rb_mun_plans_t *plans;          //  the plans and their timers
    rb_ladder_t *ladder;            //  the escalation ladder and ack reminders
} s_municipality_t;

//  What one event or call did.
typedef struct {
    uint64_t opened;                //  cases it opened
    uint64_t sent;                  //  notification copies sent
    uint64_t changes;               //  register changes notified
    uint64_t withheld;              //  copies not sent for want of consent
    uint64_t consents;              //  consent decisions recorded
} s_counts_t;

//  One inbound event being applied.
typedef struct {
    const Regiebus__Envelope *envelope; //  what arrived
    rb_txn_t *txn;                  //  its transaction
    rb_route_t route;               //  its fan-out
    int64_t now_ms;                 //  this node's clock
    bool opened;                    //  it opened the case
    uint64_t consents;              //  consent decisions it recorded
    rb_regie_change_t changes [RB_REGIE_CHANGES_MAX];   //  what it changed
    size_t n;                       //  how many changes
} s_event_t;


// ---------------------------------------------------------------------------
//  Counters

static void
s_count (s_municipality_t *self, const s_counts_t *c)
{
    rb_node_count (self->node, "municipality_cases_opened", c->opened);
    rb_node_count (self->node, "municipality_notifications_sent", c->sent);
    rb_node_count (self->node, "municipality_regie_changes", c->changes);
    rb_node_count (self->node, "municipality_acks_received", 0);
    rb_node_count (self->node, "municipality_notifications_withheld", c->withheld);
    rb_node_count (self->node, "municipality_consents_recorded", c->consents);
}



// ---------------------------------------------------------------------------
//  Checks on payloads and origins

static rb_err_t
s_check_date (int32_t date, bool zero_ok, const char *field, rb_refusal_t *why)
{
    if ((date == 0 && zero_ok) || rb_calendar_date_valid (date))
        return RB_OK;
    return rb_refuse (why, RB_EINVALID, field, "%s %d is not a YYYYMMDD date", field, (int) date);
}

//  A school location: 1..16 letters and digits (BRIN + location).
static rb_err_t
s_check_location (const char *location, rb_refusal_t *why)
{
    if (!*location)
        return rb_refuse (why, RB_EMISSING, "payload.school_location",
                          "payload.school_location is missing");
    if (!rb_text_id_valid (location, S_LOCATION_MAX, NULL))
        return rb_refuse (why, RB_EINVALID, "payload.school_location",
                          "payload.school_location must be 1-%d letters and digits", S_LOCATION_MAX);
    return RB_OK;
}

//  Put prefix before the field a refusal names; returns its code.
static rb_err_t
s_field_prefix (rb_refusal_t *why, const char *prefix)
{
    char field [sizeof why->field + 32];
    snprintf (field, sizeof field, "%s%s", prefix, why->field);
    size_t size = strlen (field);
    size = size < sizeof why->field? size: sizeof why->field - 1;
    memcpy (why->field, field, size);
    why->field [size] = 0;
    return why->code;
}

//  A policy helper names the fields it was given; on the link they are
//  the payload's.
static rb_err_t
s_payload_field (rb_refusal_t *why)
{
    if (streq (why->field, "contact") || streq (why->field, "role") || streq (why->field, "signal")
    ||  streq (why->field, "given"))
        s_field_prefix (why, "payload.");
    return why->code;
}

//  Need to know, and no spoofing: the case exists and the origin holds
//  role on it, or the event is refused on "case". Which kinds a node of
//  the origin's role may send at all the runtime checked (rb_perms); what
//  it may do on this case is checked here. A storage error is not a
//  verdict on the sender: it is returned as such, and the batch comes
//  again.
static rb_err_t
s_check_origin (s_municipality_t *self, s_event_t *ev, rb_role_t role, const char *as,
                rb_refusal_t *why)
{
    const Regiebus__Envelope *e = ev->envelope;
    rb_regie_case_t record;
    rb_regie_holder_t holders [RB_REGIE_MAX_HOLDERS];
    size_t count = 0;
    rb_err_t rc = rb_regie_case_get (self->regie, ev->txn, e->case_pseudonym, &record);
    if (rc == RB_ENOTFOUND)
        return rb_refuse (why, RB_ENOTFOUND, "case", "no case %.12s... in the register",
                          e->case_pseudonym);
    if (!rc)
        rc = rb_regie_holders (self->regie, ev->txn, e->case_pseudonym, holders,
                               RB_REGIE_MAX_HOLDERS, &count);
    if (rc)
        return rb_refuse (why, RB_ESTORE, NULL, "cannot read the case: %s", rb_strerror (rc));
    for (size_t i = 0; i < count; i++)
        if (holders [i].actor.role == role && streq (holders [i].actor.node, e->origin))
            return RB_OK;
    return rb_refuse (why, RB_EDENIED, "case", "%s holds no %s role on case %.12s...",
                      e->origin, as, e->case_pseudonym);
}


// ---------------------------------------------------------------------------
//  The events

//  Remember whether the event's case is new, before a helper opens it.
static void
s_note_case (s_municipality_t *self, s_event_t *ev)
{
    ev->opened = !rb_regie_case_exists (self->regie, ev->txn, ev->envelope->case_pseudonym);
}

static rb_err_t
s_on_enrolment (s_municipality_t *self, s_event_t *ev, const ProtobufCMessage *payload,
                rb_refusal_t *why)
{
    const Regiebus__Enrolment *p = (const Regiebus__Enrolment *) payload;
    const Regiebus__Envelope *e = ev->envelope;
    rb_err_t rc = s_check_location (p->school_location, why);
    if (!rc)
        rc = s_check_date (p->enrolled_on, false, "payload.enrolled_on", why);
    if (!rc)
        rc = s_check_date (p->ended_on, true, "payload.ended_on", why);
    if (!rc && p->ended_on && p->ended_on < p->enrolled_on)
        rc = rb_refuse (why, RB_EINVALID, "payload.ended_on", "payload.ended_on is before enrolled_on");
    //  A school ends only an enrolment of its own.
    if (!rc && p->ended_on)
        rc = s_check_origin (self, ev, RB_ROLE_SCHOOL_MENTOR, "SCHOOL_MENTOR", why);
    if (rc)
        return rc;
    s_note_case (self, ev);
    if (p->ended_on)
        rc = rb_regie_on_enrolment_ended (self->regie, ev->txn, &self->policy, e->case_pseudonym,
                                          e->origin, ev->now_ms, ev->changes,
                                          RB_REGIE_CHANGES_MAX, &ev->n, why);
    else
        rc = rb_regie_on_enrolment (self->regie, ev->txn, &self->policy, e->case_pseudonym,
                                    e->origin, p->contact, ev->now_ms, ev->changes,
                                    RB_REGIE_CHANGES_MAX, &ev->n, why);
    return rc? s_payload_field (why): rb_route_changes (&ev->route, ev->changes, ev->n, why);
}

static rb_err_t
s_on_parent_link (s_municipality_t *self, s_event_t *ev, const ProtobufCMessage *payload,
                  rb_refusal_t *why)
{
    const Regiebus__ParentLink *p = (const Regiebus__ParentLink *) payload;
    const Regiebus__Envelope *e = ev->envelope;
    //  Any portal may link a child's parents; only theirs unlinks them.
    if (!p->linked && s_check_origin (self, ev, RB_ROLE_PARENT, "PARENT", why))
        return why->code;
    s_note_case (self, ev);
    rb_err_t rc = rb_regie_on_parent_link (self->regie, ev->txn, &self->policy, e->case_pseudonym,
                                           e->origin, p->linked, ev->now_ms, ev->changes,
                                           RB_REGIE_CHANGES_MAX, &ev->n, why);
    return rc? s_payload_field (why): rb_route_changes (&ev->route, ev->changes, ev->n, why);
}

static rb_err_t
s_on_involvement (s_municipality_t *self, s_event_t *ev, const ProtobufCMessage *payload,
                  rb_refusal_t *why)
{
    const Regiebus__Involvement *p = (const Regiebus__Involvement *) payload;
    const Regiebus__Envelope *e = ev->envelope;
    //  A care node joins a case by its involvement; it ends only its own.
    const ProtobufCEnumValue *role =
        protobuf_c_enum_descriptor_get_value (&regiebus__role__descriptor, (int) p->role);
    if (!p->involved && s_check_origin (self, ev, (rb_role_t) p->role, role? role->name: "such", why))
        return why->code;
    s_note_case (self, ev);
    rb_err_t rc = rb_regie_on_involvement (self->regie, ev->txn, &self->policy, e->case_pseudonym,
                                           e->origin, (rb_role_t) p->role, p->involved,
                                           p->contact, ev->now_ms, ev->changes,
                                           RB_REGIE_CHANGES_MAX, &ev->n, why);
    return rc? s_payload_field (why): rb_route_changes (&ev->route, ev->changes, ev->n, why);
}

static rb_err_t
s_check_signal (const Regiebus__AbsenceSignal *p, rb_refusal_t *why)
{
    if (p->signal < REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE || p->signal > RB_REGIE_SIGNAL_MAX)
        return rb_refuse (why, RB_EINVALID, "payload.signal",
                          "payload.signal %d is not a known AbsenceSignalKind", (int) p->signal);
    if ((int) p->reason < 0 || p->reason > S_REASON_MAX)
        return rb_refuse (why, RB_EINVALID, "payload.reason",
                          "payload.reason %d is not a known AbsenceReason", (int) p->reason);
    rb_err_t rc = s_check_date (p->date, false, "payload.date", why);
    if (!rc)
        rc = s_check_date (p->episode_started, true, "payload.episode_started", why);
    if (!rc && p->episode_started > p->date)
        rc = rb_refuse (why, RB_EINVALID, "payload.episode_started",
                        "payload.episode_started is after payload.date");
    if (!rc)
        rc = s_check_location (p->school_location, why);
    return rc;
}

static rb_err_t
s_on_absence_signal (s_municipality_t *self, s_event_t *ev, const ProtobufCMessage *payload,
                     rb_refusal_t *why)
{
    const Regiebus__AbsenceSignal *p = (const Regiebus__AbsenceSignal *) payload;
    rb_err_t rc = s_check_origin (self, ev, RB_ROLE_SCHOOL_MENTOR, "SCHOOL_MENTOR", why);
    if (!rc)
        rc = s_check_signal (p, why);
    //  A join the attendance rules make tells of the child, as the signal does.
    ev->route.about_child = true;
    if (!rc)
        rc = rb_regie_on_absence_signal (self->regie, ev->txn, &self->policy,
                                         ev->envelope->case_pseudonym, (int) p->signal,
                                         ev->now_ms, ev->changes, RB_REGIE_CHANGES_MAX, &ev->n, why);
    if (!rc)
        rc = rb_route_changes (&ev->route, ev->changes, ev->n, why);
    if (rc)
        return s_payload_field (why);
    rc = rb_route_event (&ev->route, p, NULL, why);
    return rc? rc: rb_ladder_on_absence (self->ladder, ev->txn, ev->envelope->case_pseudonym, p, why);
}

static rb_err_t
s_check_report (const Regiebus__ParentReport *p, rb_refusal_t *why)
{
    if (p->report < REGIEBUS__PARENT_REPORT_KIND__PARENT_SICKNESS || p->report > S_REPORT_MAX)
        return rb_refuse (why, RB_EINVALID, "payload.report",
                          "payload.report %d is not a known ParentReportKind", (int) p->report);
    rb_err_t rc = s_check_date (p->from_date, false, "payload.from_date", why);
    if (!rc)
        rc = s_check_date (p->until_date, true, "payload.until_date", why);
    if (!rc && p->until_date && p->until_date < p->from_date)
        rc = rb_refuse (why, RB_EINVALID, "payload.until_date", "payload.until_date is before from_date");
    if (!rc && p->code > S_CODE_MAX)
        rc = rb_refuse (why, RB_EINVALID, "payload.code", "payload.code %u is over %d",
                        p->code, S_CODE_MAX);
    return rc;
}

static rb_err_t
s_on_parent_report (s_municipality_t *self, s_event_t *ev, const ProtobufCMessage *payload,
                    rb_refusal_t *why)
{
    const Regiebus__ParentReport *p = (const Regiebus__ParentReport *) payload;
    rb_err_t rc = s_check_origin (self, ev, RB_ROLE_PARENT, "PARENT", why);
    if (!rc)
        rc = s_check_report (p, why);
    return rc? rc: rb_route_event (&ev->route, NULL, p, why);
}

static rb_err_t
s_on_plan_command (s_municipality_t *self, s_event_t *ev, const ProtobufCMessage *payload,
                   rb_refusal_t *why)
{
    return rb_mun_plans_on_command (self->plans, ev->txn, ev->envelope,
                                    (const Regiebus__PlanCommand *) payload, why);
}

//  A holder's node reports that one of its actors acknowledged a copy.
//  A node speaks only for its own actors.
static rb_err_t
s_on_ack (s_municipality_t *self, s_event_t *ev, const ProtobufCMessage *payload, rb_refusal_t *why)
{
    const Regiebus__AckReceipt *p = (const Regiebus__AckReceipt *) payload;
    const Regiebus__Envelope *e = ev->envelope;
    if (p->notification_id.len != 16)
        return rb_refuse (why, RB_EINVALID, "payload.notification_id",
                          "payload.notification_id must be 16 bytes");
    if (!p->recipient)
        return rb_refuse (why, RB_EMISSING, "payload.recipient", "payload.recipient is missing");
    if (!streq (p->recipient->node, e->origin))
        return rb_refuse (why, RB_EDENIED, "payload.recipient.node",
                          "%s acknowledges only for its own actors", e->origin);
    if (p->acked_at_ms <= 0)
        return rb_refuse (why, RB_EINVALID, "payload.acked_at_ms", "payload.acked_at_ms must be > 0");
    rb_actor_t recipient = rb_regie_actor (p->recipient->node, (rb_role_t) p->recipient->role);
    rb_err_t rc = rb_ladder_acked (self->ladder, ev->txn, e->case_pseudonym, p->notification_id.data,
                                   &recipient, p->acked_at_ms, why);
    return rc && *why->field? s_field_prefix (why, "payload."): rc;
}

//  The parents' decision on sharing beyond the legal minimum with an
//  agency type: recorded from now on, and told to the holders of that
//  type (a withdrawal is the last they hear of the case's details).
static rb_err_t
s_on_consent (s_municipality_t *self, s_event_t *ev, const ProtobufCMessage *payload,
              rb_refusal_t *why)
{
    const Regiebus__Consent *p = (const Regiebus__Consent *) payload;
    const Regiebus__Envelope *e = ev->envelope;
    bool changed = false;
    rb_err_t rc = s_check_origin (self, ev, RB_ROLE_PARENT, "PARENT", why);
    if (!rc && rb_consent_set (self->consent, ev->txn, e->case_pseudonym, (rb_role_t) p->role,
                               p->given, ev->now_ms, e->occurred_at_ms, &changed, why))
        rc = s_payload_field (why);
    if (rc || !changed)
        return rc;
    ev->consents++;
    Regiebus__ConsentChange change = REGIEBUS__CONSENT_CHANGE__INIT;
    change.role = p->role;
    change.given = p->given;
    change.since_ms = ev->now_ms;
    rb_log_info ("msg=\"consent recorded\" case=%.12s role=%d given=%d", e->case_pseudonym,
                 (int) p->role, (int) p->given);
    return rb_route_consent (&ev->route, &change, why);
}

typedef rb_err_t (s_event_fn) (s_municipality_t *self, s_event_t *ev,
                               const ProtobufCMessage *payload, rb_refusal_t *why);

//  The kinds a municipality takes, their payloads and what it does.
static const struct {
    Regiebus__EventKind kind;
    const ProtobufCMessageDescriptor *payload;
    s_event_fn *fn;
} s_events [] = {
    { REGIEBUS__EVENT_KIND__ENROLMENT, &regiebus__enrolment__descriptor, s_on_enrolment },
    { REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL, &regiebus__absence_signal__descriptor, s_on_absence_signal },
    { REGIEBUS__EVENT_KIND__INVOLVEMENT, &regiebus__involvement__descriptor, s_on_involvement },
    { REGIEBUS__EVENT_KIND__PARENT_LINK, &regiebus__parent_link__descriptor, s_on_parent_link },
    { REGIEBUS__EVENT_KIND__PARENT_REPORT, &regiebus__parent_report__descriptor, s_on_parent_report },
    { REGIEBUS__EVENT_KIND__PLAN_COMMAND, &regiebus__plan_command__descriptor, s_on_plan_command },
    { REGIEBUS__EVENT_KIND__NOTIFICATION_ACK, &regiebus__ack_receipt__descriptor, s_on_ack },
    { REGIEBUS__EVENT_KIND__CONSENT, &regiebus__consent__descriptor, s_on_consent },
};

#define S_EVENTS (sizeof s_events / sizeof s_events [0])

static const char *
s_kind_name (int kind)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value (&regiebus__event_kind__descriptor, kind);
    return v? v->name: "unknown";
}

//  The fan-out of an event or call: who, where, when it started.
static rb_route_t
s_route (s_municipality_t *self, rb_txn_t *txn, const char *pseudonym, const uint8_t *event_id,
         int64_t occurred_at_ms, const char *from_node)
{
    rb_route_t route = rb_route_start (self->node, self->config, self->regie, txn, pseudonym,
                                       event_id, occurred_at_ms, from_node);
    route.consent = self->consent;
    return route;
}

//  Every valid inbound envelope, inside its receive commit.
static rb_err_t
s_handle (rb_txn_t *txn, const Regiebus__Envelope *e, void *arg, rb_refusal_t *why)
{
    s_municipality_t *self = arg;
    size_t i = 0;
    while (i < S_EVENTS && s_events [i].kind != e->kind)
        i++;
    if (i == S_EVENTS)
        return rb_refuse (why, RB_EDENIED, "kind", "a municipality node does not take %s events",
                          s_kind_name (e->kind));
    ProtobufCMessage *payload = protobuf_c_message_unpack (s_events [i].payload, NULL,
                                                           e->payload.len, e->payload.data);
    if (!payload)
        return rb_refuse (why, RB_EMALFORMED, "payload", "payload is not a %s",
                          s_events [i].payload->short_name);
    s_event_t ev = { .envelope = e, .txn = txn, .now_ms = rb_node_now_ms (self->node) };
    ev.route = s_route (self, txn, e->case_pseudonym, e->event_id.data, e->occurred_at_ms, e->origin);
    rb_err_t rc = s_events [i].fn (self, &ev, payload, why);
    protobuf_c_message_free_unpacked (payload, NULL);
    if (!rc)
        s_count (self, &(s_counts_t) { ev.opened, ev.route.sent, ev.route.changes,
                                       ev.route.withheld, ev.consents });
    if (rc)
        rb_log_info ("msg=\"event refused\" origin=%s seq=%llu kind=%s case=%.12s code=%s field=\"%s\"",
                     e->origin, (unsigned long long) e->origin_seq, s_kind_name (e->kind),
                     e->case_pseudonym, rb_errname (why->code), why->field);
    return rc;
}


//  One of this node's own actors (leerplicht, the duty desk) acknowledged
//  a notice the municipality stored for it: the same record as a receipt.
static rb_err_t
s_on_local_ack (rb_node_t *node, rb_txn_t *txn, const rb_notice_t *notice, void *arg,
                rb_refusal_t *why)
{
    s_municipality_t *self = arg;
    const Regiebus__Notification *n = notice->notification;
    if (!streq (notice->origin, rb_node_name (node)) || !n->recipient)
        return RB_OK;
    const ProtobufCBinaryData *id = n->reminder_of.len == 16? &n->reminder_of: &n->notification_id;
    rb_actor_t recipient = rb_regie_actor (n->recipient->node, (rb_role_t) n->recipient->role);
    return rb_ladder_acked (self->ladder, txn, notice->case_pseudonym, id->data, &recipient,
                            notice->acked_at_ms, why);
}


// ---------------------------------------------------------------------------
//  Staff calls

static rb_err_t
s_show_case (s_municipality_t *self, rb_call_t *call, rb_txn_t *txn,
             const Regiebus__ShowCaseRequest *q, rb_refusal_t *why)
{
    rb_regie_case_t record;
    if (!rb_wire_pseudonym_valid (q->case_pseudonym))
        return rb_refuse (why, RB_EINVALID, "show_case.case_pseudonym",
                          "show_case.case_pseudonym must be 64 lowercase hex characters");
    rb_err_t rc = rb_regie_case_get (self->regie, txn, q->case_pseudonym, &record);
    if (rc == RB_ENOTFOUND)
        return rb_refuse (why, rc, "show_case.case_pseudonym", "no case %.12s... in the register",
                          q->case_pseudonym);
    rb_regie_holder_t holders [RB_REGIE_MAX_HOLDERS];
    size_t count = 0;
    if (!rc)
        rc = rb_regie_holders (self->regie, txn, q->case_pseudonym, holders, RB_REGIE_MAX_HOLDERS, &count);
    if (rc)
        return rb_refuse (why, rc, NULL, "cannot read the case: %s", rb_strerror (rc));
    Regiebus__Holder items [RB_REGIE_MAX_HOLDERS], *pointers [RB_REGIE_MAX_HOLDERS];
    Regiebus__Actor actors [RB_REGIE_MAX_HOLDERS];
    for (size_t i = 0; i < count; i++) {
        regiebus__actor__init (&actors [i]);
        actors [i].node = holders [i].actor.node;
        actors [i].role = (Regiebus__Role) holders [i].actor.role;
        regiebus__holder__init (&items [i]);
        items [i].actor = &actors [i];
        items [i].since_ms = holders [i].since_ms;
        items [i].contact = holders [i].contact;
        items [i].reason = holders [i].reason;
        pointers [i] = &items [i];
    }
    Regiebus__ShowCaseReply result = REGIEBUS__SHOW_CASE_REPLY__INIT;
    Regiebus__EscalationState ladder;
    if (rb_ladder_state (self->ladder, txn, q->case_pseudonym, &ladder))
        result.escalation = &ladder;
    result.case_pseudonym = q->case_pseudonym;
    result.opened_at_ms = record.opened_at_ms;
    result.holders = pointers;
    result.n_holders = count;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_SHOW_CASE;
    reply.show_case = &result;
    return rb_call_reply (call, &reply);
}

//  What a regie call names: a case there is and an actor, which to join
//  must be one this node can reach (itself or a peer). Releasing an actor
//  whose node is no longer a peer is how staff clear it from a case.
static rb_err_t
s_check_regie (s_municipality_t *self, rb_txn_t *txn, const Regiebus__RegieRequest *q,
               rb_refusal_t *why)
{
    if (!rb_wire_pseudonym_valid (q->case_pseudonym))
        return rb_refuse (why, RB_EINVALID, "regie.case_pseudonym",
                          "regie.case_pseudonym must be 64 lowercase hex characters");
    if (!q->actor)
        return rb_refuse (why, RB_EMISSING, "regie.actor", "regie.actor is missing");
    if (!rb_config_name_valid (q->actor->node))
        return rb_refuse (why, RB_EINVALID, "regie.actor.node", "regie.actor.node must be 1-63 of [a-z0-9-]");
    if ((int) q->actor->role < RB_ROLE_SCHOOL_MENTOR || q->actor->role > RB_ROLE_MAX)
        return rb_refuse (why, RB_EINVALID, "regie.actor.role", "regie.actor.role %d is not a known Role",
                          (int) q->actor->role);
    if (q->joined && !streq (q->actor->node, rb_node_name (self->node))
    &&  !rb_config_peer (self->config, q->actor->node))
        return rb_refuse (why, RB_EPEER, "regie.actor.node", "node '%s' is neither this node nor a peer",
                          q->actor->node);
    if (!rb_regie_case_exists (self->regie, txn, q->case_pseudonym))
        return rb_refuse (why, RB_ENOTFOUND, "regie.case_pseudonym", "no case %.12s... in the register",
                          q->case_pseudonym);
    return RB_OK;
}

static rb_err_t
s_regie (s_municipality_t *self, rb_call_t *call, rb_txn_t *txn, const Regiebus__RegieRequest *q,
         rb_refusal_t *why)
{
    rb_err_t rc = s_check_regie (self, txn, q, why);
    if (rc)
        return rc;
    rb_actor_t actor = rb_regie_actor (q->actor->node, (rb_role_t) q->actor->role);
    rb_regie_change_t changes [RB_REGIE_CHANGES_MAX];
    size_t n;
    rc = rb_regie_on_staff (self->regie, txn, &self->policy, q->case_pseudonym, &actor, q->joined,
                            q->contact, rb_node_now_ms (self->node), changes, RB_REGIE_CHANGES_MAX,
                            &n, why);
    if (rc)
        return *why->field? s_field_prefix (why, "regie."): rc;
    //  A staff decision is an event of its own: its id names the change.
    uint8_t event_id [16];
    rb_node_event_id (self->node, event_id);
    rb_route_t route = s_route (self, txn, q->case_pseudonym, event_id, 0, rb_node_name (self->node));
    rc = rb_route_changes (&route, changes, n, why);
    if (rc)
        return rc;
    Regiebus__RegieReply result = REGIEBUS__REGIE_REPLY__INIT;
    result.changed = n > 0;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_REGIE;
    reply.regie = &result;
    rc = rb_call_reply (call, &reply);
    if (!rc)
        s_count (self, &(s_counts_t) { 0, route.sent, route.changes, route.withheld, 0 });
    return rc;
}

//  The consent this node applies on a case, one state per agency type.
static rb_err_t
s_consent_show (s_municipality_t *self, rb_call_t *call, rb_txn_t *txn,
                const Regiebus__ConsentShowRequest *q, rb_refusal_t *why)
{
    const char *field = "consent_show.case_pseudonym";
    if (!rb_wire_pseudonym_valid (q->case_pseudonym))
        return rb_refuse (why, RB_EINVALID, field, "%s must be 64 lowercase hex characters", field);
    if (!rb_regie_case_exists (self->regie, txn, q->case_pseudonym))
        return rb_refuse (why, RB_ENOTFOUND, field, "no case %.12s... in the register",
                          q->case_pseudonym);
    Regiebus__ConsentState states [RB_CONSENT_TYPES], *pointers [RB_CONSENT_TYPES];
    for (size_t i = 0; i < RB_CONSENT_TYPES; i++) {
        rb_consent_state_t state;
        rb_err_t rc = rb_consent_get (self->consent, txn, q->case_pseudonym, rb_consent_types [i],
                                      &state);
        if (rc)
            return rb_refuse (why, rc, NULL, "cannot read the consent: %s", rb_strerror (rc));
        regiebus__consent_state__init (&states [i]);
        states [i].role = (Regiebus__Role) rb_consent_types [i];
        states [i].given = state.given;
        states [i].since_ms = state.since_ms;
        pointers [i] = &states [i];
    }
    Regiebus__ConsentShowReply result = REGIEBUS__CONSENT_SHOW_REPLY__INIT;
    result.case_pseudonym = q->case_pseudonym;
    result.consents = pointers;
    result.n_consents = RB_CONSENT_TYPES;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_CONSENT_SHOW;
    reply.consent_show = &result;
    return rb_call_reply (call, &reply);
}

static rb_err_t
s_call (rb_node_t *node, rb_call_t *call, rb_txn_t *txn, const Regiebus__ApiRequest *request,
        void *arg, rb_refusal_t *why)
{
    (void) node;
    s_municipality_t *self = arg;
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_SHOW_CASE)
        return s_show_case (self, call, txn, request->show_case, why);
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_REGIE)
        return s_regie (self, call, txn, request->regie, why);
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_PLAN_COMMAND)
        return rb_mun_plans_command_call (self->plans, call, txn, request->plan_command, why);
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_GET_PLANS)
        return rb_mun_plans_get_call (self->plans, call, txn, request->get_plans, why);
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_CONSENT_SHOW)
        return s_consent_show (self, call, txn, request->consent_show, why);
    return rb_refuse (why, RB_EPRECONDITION, "call", "a municipality node does not take this call");
}


// ---------------------------------------------------------------------------
//  Time: the due timers, each fired by the kind its id names

static rb_err_t
s_tick (rb_node_t *node, rb_txn_t *txn, void *arg, rb_refusal_t *why)
{
    s_municipality_t *self = arg;
    rb_mun_timers_run_t run;
    rb_err_t rc = rb_mun_timers_run (self->dispatch, txn, rb_node_now_ms (node), &run, why);
    rb_node_count (node, "municipality_timers_fired", run.fired);
    rb_node_count (node, "municipality_timers_dropped", run.dropped);
    return rc;
}

//  The timer tables, the dispatcher and the kinds of timer it fires.
static rb_err_t
s_timers_setup (s_municipality_t *self, rb_refusal_t *why)
{
    rb_table_t due, ids;
    if (rb_node_table (self->node, RB_TIMERS_TABLE_DUE, &due)
    ||  rb_node_table (self->node, RB_TIMERS_TABLE_IDS, &ids))
        return rb_refuse (why, RB_ESTORE, "node/data_dir", "cannot open the timer tables");
    self->timers = rb_timers_new_on (due, ids);
    self->dispatch = self->timers? rb_mun_timers_new (self->timers, RB_MUN_TIMERS_PER_TICK): NULL;
    if (!self->dispatch)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    self->plans = rb_mun_plans_new (self->node, self->config, self->regie, self->timers,
                                    (int) self->reminder_days, why);
    if (!self->plans)
        return why->code;
    self->ladder = rb_ladder_new (self->node, self->config, self->regie, &self->policy,
                                  self->timers, why);
    if (!self->ladder)
        return why->code;
    rb_ladder_set_consent (self->ladder, self->consent);
    rb_mun_plans_on_stall (self->plans, rb_ladder_on_stall, self->ladder);
    rb_route_watch (rb_ladder_sent, self->ladder);
    //  One line per kind of timer: its id prefix and who fires it.
    rb_err_t rc = rb_mun_timers_on (self->dispatch, RB_MUN_PLANS_TIMER_PREFIX, rb_mun_plans_fire,
                                    self->plans, why);
    if (!rc)
        rc = rb_mun_timers_on (self->dispatch, RB_LADDER_TIMER_PREFIX, rb_ladder_fire,
                               self->ladder, why);
    if (!rc)
        rc = rb_mun_timers_on (self->dispatch, RB_ACKS_TIMER_PREFIX, rb_ladder_fire_ack,
                               self->ladder, why);
    return rc;
}


// ---------------------------------------------------------------------------
//  Setup

//  The policy's fields as the configuration names them.
static rb_err_t
s_config_field (rb_refusal_t *why)
{
    if (streq (why->field, "policy.leerplicht_node"))
        snprintf (why->field, sizeof why->field, "node/name");
    else
    if (strncmp (why->field, "policy.", 7) == 0) {
        memmove (why->field, why->field + 7, strlen (why->field + 7) + 1);
        s_field_prefix (why, "municipality/");
    }
    return why->code;
}

static rb_err_t
s_read_config (s_municipality_t *self, const rb_config_t *config, rb_refusal_t *why)
{
    rb_regie_policy_t *p = &self->policy;
    *p = rb_regie_policy_default ();
    snprintf (p->leerplicht_node, sizeof p->leerplicht_node, "%s", config->name);
    const rb_config_item_t items [] = {
        { "leerplicht_contact", RB_CONFIG_TEXT, p->leerplicht_contact, sizeof p->leerplicht_contact,
          false, "", 0, 0 },
        { "duty_node", RB_CONFIG_TEXT, p->duty_node, sizeof p->duty_node, false, config->name, 0, 0 },
        { "duty_contact", RB_CONFIG_TEXT, p->duty_contact, sizeof p->duty_contact, false, "", 0, 0 },
        { "leerplicht_at_first_absence", RB_CONFIG_BOOL, &p->leerplicht_at_first_absence, 0,
          false, "false", 0, 0 },
        { "plan_reminder_days", RB_CONFIG_UINT, &self->reminder_days, 0, false,
          "2", 0, RB_MUN_PLANS_REMINDER_DAYS_MAX },     //  RB_MUN_PLANS_REMINDER_DAYS
    };
    //  The policy section is the ladder's (rb_ladder reads it).
    rb_err_t rc = rb_config_section (config, "municipality", items, sizeof items / sizeof items [0], why);
    if (!rc && rb_regie_policy_check (p, why))
        rc = s_config_field (why);
    if (!rc && !streq (p->duty_node, config->name) && !rb_config_peer (config, p->duty_node))
        rc = rb_refuse (why, RB_EPEER, "municipality/duty_node",
                        "config: municipality/duty_node '%s' is neither this node nor a peer",
                        p->duty_node);
    return rc;
}

static void
s_destroy (s_municipality_t **self_p)
{
    if (*self_p) {
        rb_mun_plans_destroy (&(*self_p)->plans);
        rb_mun_timers_destroy (&(*self_p)->dispatch);
        rb_timers_destroy (&(*self_p)->timers);
        rb_ladder_destroy (&(*self_p)->ladder);
        rb_regie_destroy (&(*self_p)->regie);
        rb_consent_destroy (&(*self_p)->consent);
        free (*self_p);
        *self_p = NULL;
    }
}

rb_err_t
rb_municipality_setup (rb_node_t *node, const rb_config_t *config, void **state_p,
                       rb_refusal_t *why)
{
    s_municipality_t *self = calloc (1, sizeof *self);
    if (!self)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    self->node = node;
    self->config = config;
    rb_table_t cases, holders, consent;
    rb_err_t rc = s_read_config (self, config, why);
    if (!rc && (rb_node_table (node, RB_REGIE_TABLE_CASES, &cases)
            ||  rb_node_table (node, RB_REGIE_TABLE_HOLDERS, &holders)
            ||  rb_node_table (node, RB_CONSENT_TABLE, &consent)))
        rc = rb_refuse (why, RB_ESTORE, "node/data_dir", "cannot open the regie register's tables");
    if (!rc) {
        self->regie = rb_regie_new_on (cases, holders);
        self->consent = rb_consent_new_on (consent);
        if (!self->regie || !self->consent)
            rc = rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    }
    if (!rc)
        rc = s_timers_setup (self, why);
    if (rc) {
        s_destroy (&self);
        return rc;
    }
    rb_node_set_handler (node, s_handle, self);
    rb_node_set_call_handler (node, s_call, self);
    rb_node_set_tick (node, S_TICK_MS, s_tick, self);
    rb_node_set_ack_hook (node, s_on_local_ack, self);
    s_count (self, &(s_counts_t) { 0, 0, 0, 0, 0 });   //  the counters show from the start
    rb_node_count (node, "municipality_timers_fired", 0);
    rb_node_count (node, "municipality_timers_dropped", 0);
    rb_log_info ("msg=\"municipality ready\" leerplicht=%s duty_node=%s leerplicht_at_first_absence=%d",
                 self->policy.leerplicht_node, self->policy.duty_node,
                 self->policy.leerplicht_at_first_absence);
    *state_p = self;
    return RB_OK;
}

void
rb_municipality_teardown (void **state_p)
{
    s_destroy ((s_municipality_t **) state_p);
}
