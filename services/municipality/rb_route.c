/*  rb_route: fan-out of one case event to its holders; see rb_route.h.
 *
 *  Each notification is made by rb_notify for a list of recipient actors
 *  read from the register, then delivered copy by copy. Nothing here
 *  writes the register: the handler applied the event's changes before.
 */
#include "rb_route.h"
#include "rb_calendar.h"
#include "rb_log.h"
#include "kinds.pb-c.h"
#include <czmq.h>

//  The acknowledgement watch every route tells (rb_route_watch).
static rb_route_sent_fn *s_watch_fn;
static void *s_watch_arg;

void
rb_route_watch (rb_route_sent_fn *fn, void *arg)
{
    s_watch_fn = fn;
    s_watch_arg = arg;
}

//  True when node can be reached: this node, or a configured peer.
static bool
s_reachable (rb_route_t *self, const char *node)
{
    return streq (node, rb_node_name (self->node)) || rb_config_peer (self->config, node);
}

static bool
s_same (const rb_actor_t *a, const rb_actor_t *b)
{
    return a->role == b->role && streq (a->node, b->node);
}

//  May this copy of cause reach actor? Beyond the legal minimum only with
//  consent (see rb_route.h); a storage error is returned as such.
static rb_err_t
s_may_tell (rb_route_t *self, const rb_notify_cause_t *cause, const rb_actor_t *actor,
            bool *allowed)
{
    *allowed = true;
    if (!self->consent || cause->subject == REGIEBUS__EVENT_KIND__CONSENT_CHANGE)
        return RB_OK;
    if (cause->subject == REGIEBUS__EVENT_KIND__REGIE_CHANGE
    &&  (!self->about_child || s_same (&cause->change->actor, actor)))
        return RB_OK;
    return rb_consent_given (self->consent, self->txn, self->case_pseudonym, actor->role, allowed);
}

//  Put actor in out when cause may reach it; role, when not 0, keeps only
//  the actors of that role.
static rb_err_t
s_add (rb_route_t *self, const rb_notify_cause_t *cause, rb_role_t role, const rb_actor_t *actor,
       rb_actor_t *out, size_t *count, rb_refusal_t *why)
{
    bool allowed = !role || actor->role == role;
    rb_err_t rc = allowed? s_may_tell (self, cause, actor, &allowed): RB_OK;
    if (rc)
        return rb_refuse (why, rc, NULL, "cannot read the consent: %s", rb_strerror (rc));
    if (allowed)
        out [(*count)++] = *actor;
    else
    if (!role)
        self->withheld++;
    return RB_OK;
}

//  The recipients of cause: the case's holders (of role, when not 0) that
//  it may reach, and after them leaver (may be NULL). A leaver on a node
//  that is no longer a peer is told nothing: staff releasing an agency
//  that left the region must not be refused for it.
static rb_err_t
s_recipients (rb_route_t *self, const rb_notify_cause_t *cause, rb_role_t role,
              const rb_actor_t *leaver, rb_actor_t *out, size_t *count, rb_refusal_t *why)
{
    rb_regie_holder_t holders [RB_REGIE_MAX_HOLDERS];
    size_t held;
    *count = 0;
    rb_err_t rc = rb_regie_holders (self->regie, self->txn, self->case_pseudonym, holders,
                                    RB_REGIE_MAX_HOLDERS, &held);
    if (rc)
        return rb_refuse (why, rc == RB_ETOOLARGE? RB_ESTORE: rc, NULL,
                          "cannot read the holders: %s", rb_strerror (rc));
    for (size_t i = 0; i < held && !rc; i++)
        rc = s_add (self, cause, role, &holders [i].actor, out, count, why);
    if (!rc && leaver && s_reachable (self, leaver->node))
        out [(*count)++] = *leaver;
    return rc;
}

//  One copy to its actor's node: a local notice, or an envelope to a peer.
static rb_err_t
s_send (rb_route_t *self, const Regiebus__Notification *n, rb_refusal_t *why)
{
    const char *node = n->recipient->node;
    if (streq (node, rb_node_name (self->node)))
        return rb_node_notify_local (self->node, self->txn, self->case_pseudonym, n, why);
    if (!s_reachable (self, node))
        return rb_refuse (why, RB_EPEER, "holders",
                          "holder node '%s' is not a configured peer: add it to the peers", node);
    size_t size = regiebus__notification__get_packed_size (n);
    uint8_t *payload = malloc (size + 1);
    if (!payload)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    regiebus__notification__pack (n, payload);
    rb_emit_t emit = {
        .destination = node,
        .case_pseudonym = self->case_pseudonym,
        .kind = REGIEBUS__EVENT_KIND__NOTIFICATION,
        .payload = payload,
        .payload_size = size,
        .causation_id = self->event_id,
        .occurred_at_ms = self->occurred_at_ms
    };
    rb_err_t rc = rb_node_emit (self->node, self->txn, &emit, NULL, why);
    free (payload);
    return rc;
}

//  One copy delivered, and the watch told.
static rb_err_t
s_deliver (rb_route_t *self, const Regiebus__Notification *n, rb_refusal_t *why)
{
    rb_err_t rc = s_send (self, n, why);
    if (!rc && self->sent_fn)
        rc = self->sent_fn (self->sent_arg, self->txn, self->case_pseudonym, n, why);
    return rc;
}

//  Make the notification of cause for recipients and deliver every copy.
static rb_err_t
s_notify (rb_route_t *self, rb_notify_cause_t *cause, const rb_actor_t *recipients,
          size_t count, rb_refusal_t *why)
{
    if (count == 0)
        return RB_OK;           //  nobody holds the case: nobody to tell
    cause->event_id = self->event_id;
    cause->index = self->index++;
    cause->today = self->today;
    cause->from_node = self->from_node;
    //  Out of memory is RB_EINTERNAL, and the event comes again; any other
    //  refusal is the event's (a date the handler let pass): a dead letter.
    rb_notify_t *notify = rb_notify_new (cause, recipients, count, why);
    if (!notify)
        return why->code;
    rb_err_t rc = RB_OK;
    for (size_t i = 0; i < count && !rc; i++)
        rc = s_deliver (self, rb_notify_get (notify, i), why);
    if (!rc) {
        self->sent += count;
        rb_log_info ("msg=\"notified\" case=%.12s subject=%d index=%u recipients=%zu from=%s",
                     self->case_pseudonym, cause->subject, cause->index, count, self->from_node);
    }
    rb_notify_destroy (&notify);
    return rc;
}

rb_route_t
rb_route_start (rb_node_t *node, const rb_config_t *config, rb_regie_t *regie, rb_txn_t *txn,
                const char *pseudonym, const uint8_t *event_id, int64_t occurred_at_ms,
                const char *from_node)
{
    return (rb_route_t) {
        .node = node, .config = config, .regie = regie, .txn = txn,
        .case_pseudonym = pseudonym, .event_id = event_id, .occurred_at_ms = occurred_at_ms,
        .from_node = from_node, .today = rb_calendar_date_at (rb_node_now_ms (node)),
        .sent_fn = s_watch_fn, .sent_arg = s_watch_arg
    };
}

rb_err_t
rb_route_changes (rb_route_t *self, const rb_regie_change_t *changes, size_t n, rb_refusal_t *why)
{
    for (size_t i = 0; i < n; i++) {
        rb_actor_t recipients [RB_NOTIFY_RECIPIENTS_MAX];
        size_t count;
        rb_notify_cause_t cause = { .subject = REGIEBUS__EVENT_KIND__REGIE_CHANGE,
                                    .change = &changes [i] };
        rb_err_t rc = s_recipients (self, &cause, 0, changes [i].joined? NULL: &changes [i].actor,
                                    recipients, &count, why);
        if (!rc)
            rc = s_notify (self, &cause, recipients, count, why);
        if (rc)
            return rc;
        self->changes++;
    }
    return RB_OK;
}

rb_err_t
rb_route_event (rb_route_t *self, const Regiebus__AbsenceSignal *absence,
                const Regiebus__ParentReport *report, rb_refusal_t *why)
{
    rb_actor_t recipients [RB_NOTIFY_RECIPIENTS_MAX];
    size_t count;
    rb_notify_cause_t cause = {
        .subject = absence? REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL: REGIEBUS__EVENT_KIND__PARENT_REPORT,
        .absence = absence,
        .parent_report = report
    };
    rb_err_t rc = s_recipients (self, &cause, 0, NULL, recipients, &count, why);
    if (!rc)
        rc = s_notify (self, &cause, recipients, count, why);
    return rc;
}

rb_err_t
rb_route_consent (rb_route_t *self, const Regiebus__ConsentChange *change, rb_refusal_t *why)
{
    rb_actor_t recipients [RB_NOTIFY_RECIPIENTS_MAX];
    size_t count;
    rb_notify_cause_t cause = { .subject = REGIEBUS__EVENT_KIND__CONSENT_CHANGE, .consent = change };
    rb_err_t rc = s_recipients (self, &cause, (rb_role_t) change->role, NULL, recipients, &count, why);
    if (!rc)
        rc = s_notify (self, &cause, recipients, count, why);
    return rc;
}

rb_err_t
rb_route_plan (rb_route_t *self, const Regiebus__PlanChange *change, const rb_actor_t *only,
               rb_refusal_t *why)
{
    rb_actor_t recipients [RB_NOTIFY_RECIPIENTS_MAX];
    size_t count = 1;
    rb_notify_cause_t cause = { .subject = REGIEBUS__EVENT_KIND__PLAN_CHANGE,
                                .plan_change = change };
    rb_err_t rc = RB_OK;
    if (only)
        recipients [0] = *only;
    else
        rc = s_recipients (self, &cause, 0, NULL, recipients, &count, why);
    if (!rc)
        rc = s_notify (self, &cause, recipients, count, why);
    return rc;
}

rb_err_t
rb_route_escalation (rb_route_t *self, const Regiebus__Escalation *escalation, bool holders,
                     const rb_actor_t *extra, size_t count, rb_refusal_t *why)
{
    rb_actor_t recipients [RB_NOTIFY_RECIPIENTS_MAX];
    size_t n = 0;
    rb_notify_cause_t cause = { .subject = REGIEBUS__EVENT_KIND__ESCALATION,
                                .escalation = escalation };
    rb_err_t rc = holders? s_recipients (self, &cause, 0, NULL, recipients, &n, why): RB_OK;
    for (size_t i = 0; !rc && i < count; i++) {
        size_t j = 0;
        while (j < n && !(recipients [j].role == extra [i].role
                      &&  streq (recipients [j].node, extra [i].node)))
            j++;
        if (j == n && n < RB_NOTIFY_RECIPIENTS_MAX)
            recipients [n++] = extra [i];
    }
    if (!rc)
        rc = s_notify (self, &cause, recipients, n, why);
    return rc;
}

rb_err_t
rb_route_copy (rb_route_t *self, const Regiebus__Notification *copy, rb_refusal_t *why)
{
    rb_err_t rc = s_send (self, copy, why);
    if (!rc)
        self->sent++;
    return rc;
}
