/*  rb_ladder: the ladder and the reminders on the node; see rb_ladder.h.
 *
 *  Design. One timer per case for the ladder, set again after everything
 *  that may move its next date (a signal, a look, a stall), so the due
 *  scan only ever meets cases with something to do. The facts a look
 *  needs (is a casusregisseur there, is a fitting plan there) are read
 *  from the registers when it fires, never kept: they cannot go stale.
 */
#include "rb_ladder.h"
#include "rb_calendar.h"
#include "rb_log.h"
#include "rb_plan.h"
#include "rb_route.h"
#include "rb_text.h"
#include <czmq.h>
#include <sodium.h>

#define S_HOUR_MS (3600LL * 1000)

struct _rb_ladder_t {
    rb_node_t *node;                    //  the node it runs on
    const rb_config_t *config;          //  its peers
    rb_regie_t *regie;                  //  the register, borrowed
    rb_timers_t *timers;                //  the node's timers, borrowed
    rb_escalation_t *ladder;            //  each case's place on the ladder
    rb_acks_t *acks;                    //  the watch on acknowledgements
    rb_plan_register_t *plans;          //  to find a fitting plan
    rb_consent_t *consent;              //  the parents' consent, borrowed; NULL none
    rb_escalation_policy_t policy;      //  the region's ladder
    rb_acks_policy_t ack_policy;        //  the region's reminders
    rb_actor_t duty;                    //  the duty desk
    rb_actor_t team;                    //  the doorbraakteam
    char team_contact [RB_REGIE_CONTACT_MAX + 1];   //  its contact
};


// ---------------------------------------------------------------------------
//  Configuration

//  A refusal of a policy check, named as the configuration names it.
static rb_err_t
s_config_refusal (rb_refusal_t *why)
{
    char field [sizeof why->field];
    snprintf (field, sizeof field, "%s", why->field);
    snprintf (why->field, sizeof why->field, "policy/%.50s", field);
    char message [sizeof why->message];
    memcpy (message, why->message, sizeof message);
    message [120] = 0;          //  room for "config: policy/<key> " before it
    snprintf (why->message, sizeof why->message, "config: %.60s %.120s", why->field, message);
    return why->code;
}

static rb_err_t
s_read_config (rb_ladder_t *self, const rb_config_t *config, rb_refusal_t *why)
{
    rb_escalation_policy_t *p = &self->policy;
    uint64_t weeks [3], days [4], hours [2];
    char scope [16], team [RB_NAME_MAX + 1];
    const rb_config_item_t items [] = {
        { "casusregisseur_weeks", RB_CONFIG_UINT, &weeks [0], 0, false, "4", 1, 104 },
        { "doorbraakteam_weeks", RB_CONFIG_UINT, &weeks [1], 0, false, "8", 1, 104 },
        { "thuiszitter_weeks", RB_CONFIG_UINT, &weeks [2], 0, false, "12", 1, 104 },
        { "remind_days", RB_CONFIG_UINT, &days [0], 0, false, "7", 1, 365 },
        { "recheck_days", RB_CONFIG_UINT, &days [1], 0, false, "7", 1, 365 },
        { "early_stalls", RB_CONFIG_UINT, &days [2], 0, false, "2", 0, 100 },
        { "resume_days", RB_CONFIG_UINT, &days [3], 0, false, "10", 0, 365 },
        { "doorbraakteam_node", RB_CONFIG_TEXT, team, sizeof team, false, config->name, 0, 0 },
        { "doorbraakteam_contact", RB_CONFIG_TEXT, self->team_contact, sizeof self->team_contact,
          false, "", 0, 0 },
        { "ack_scope", RB_CONFIG_TEXT, scope, sizeof scope, false, "action", 0, 0 },
        { "ack_remind_hours", RB_CONFIG_UINT, &hours [0], 0, false, "72", 1, 8760 },
        { "ack_escalate_hours", RB_CONFIG_UINT, &hours [1], 0, false, "48", 1, 8760 },
    };
    rb_err_t rc = rb_config_section (config, "policy", items, sizeof items / sizeof items [0], why);
    if (rc)
        return rc;
    *p = (rb_escalation_policy_t) {
        .casusregisseur_weeks = (uint32_t) weeks [0], .doorbraakteam_weeks = (uint32_t) weeks [1],
        .thuiszitter_weeks = (uint32_t) weeks [2], .remind_days = (uint32_t) days [0],
        .recheck_days = (uint32_t) days [1], .early_stalls = (uint32_t) days [2],
        .resume_days = (uint32_t) days [3]
    };
    self->ack_policy = (rb_acks_policy_t) {
        .scope = streq (scope, "all")? RB_ACKS_ALL: streq (scope, "action")? RB_ACKS_ACTION:
                 streq (scope, "none")? RB_ACKS_NONE: -1,
        .remind_after_ms = (int64_t) hours [0] * S_HOUR_MS,
        .escalate_after_ms = (int64_t) hours [1] * S_HOUR_MS
    };
    if (rb_escalation_policy_check (p, why) || rb_acks_policy_check (&self->ack_policy, why)) {
        if (streq (why->field, "scope"))
            snprintf (why->field, sizeof why->field, "ack_scope");
        return s_config_refusal (why);
    }
    if (!rb_config_name_valid (team)
    ||  (!streq (team, config->name) && !rb_config_peer (config, team)))
        return rb_refuse (why, RB_EPEER, "policy/doorbraakteam_node",
                          "config: policy/doorbraakteam_node '%s' is neither this node nor a peer", team);
    if (rb_text_check (self->team_contact, RB_REGIE_CONTACT_MAX, "doorbraakteam_contact", why))
        return s_config_refusal (why);
    self->team = rb_regie_actor (team, RB_ROLE_DOORBRAAKTEAM);
    return RB_OK;
}


// ---------------------------------------------------------------------------
//  The ladder's timer

//  The case's ladder timer id: "esc/", when it was made (12 hex digits of
//  node ms) and the pseudonym's first 47 characters, so that timers made
//  in one commit sit side by side in the timer tables. A case whose timer
//  was set before ids held the time (made_ms 0) has "esc/<60 hex>".
static void
s_timer_id (const char *pseudonym, int64_t made_ms, char id [RB_TIMER_ID_MAX + 1])
{
    if (made_ms)
        snprintf (id, RB_TIMER_ID_MAX + 1, "%s%012llx/%.47s", RB_LADDER_TIMER_PREFIX,
                  (unsigned long long) made_ms & 0xffffffffffffULL, pseudonym);
    else
        snprintf (id, RB_TIMER_ID_MAX + 1, "%s%.60s", RB_LADDER_TIMER_PREFIX, pseudonym);
}

//  Set the case's timer to the next day something may be due, or cancel it.
static rb_err_t
s_schedule (rb_ladder_t *self, rb_txn_t *txn, const char *pseudonym, rb_refusal_t *why)
{
    rb_escalation_state_t state;
    char id [RB_TIMER_ID_MAX + 1];
    rb_err_t rc = rb_escalation_get (self->ladder, txn, pseudonym, &state);
    if (rc && rc != RB_ENOTFOUND)
        return rb_refuse (why, rc, NULL, "cannot read the ladder: %s", rb_strerror (rc));
    int32_t next = rc? 0: rb_escalation_next_on (&self->policy, &state);
    int64_t made_ms = rc? 0: state.timer_made_ms;
    s_timer_id (pseudonym, made_ms, id);
    if (!next || !made_ms)
        rc = rb_timers_cancel (self->timers, txn, id, NULL, why);
    if (rc || !next)
        return rc;
    if (!made_ms) {
        made_ms = rb_node_now_ms (self->node);
        made_ms = made_ms > 0? made_ms: 1;
        rc = rb_escalation_set_timer_made (self->ladder, txn, pseudonym, made_ms, why);
        s_timer_id (pseudonym, made_ms, id);
    }
    return rc? rc: rb_timers_set (self->timers, txn, id, rb_calendar_day_start_ms (next), pseudonym,
                                  64, why);
}


// ---------------------------------------------------------------------------
//  Notifying the steps

//  A route for what the ladder itself decided: a fresh event, from here.
static rb_route_t
s_route (rb_ladder_t *self, rb_txn_t *txn, const char *pseudonym, uint8_t event_id [16])
{
    rb_node_event_id (self->node, event_id);
    rb_route_t route = rb_route_start (self->node, self->config, self->regie, txn, pseudonym,
                                       event_id, 0, rb_node_name (self->node));
    //  A step says how long the child has been away: beyond the legal
    //  minimum it needs the parents' consent, as an absence does.
    route.consent = self->consent;
    return route;
}

void
rb_ladder_set_consent (rb_ladder_t *self, rb_consent_t *consent)
{
    self->consent = consent;
}

static void
s_count (rb_ladder_t *self, const rb_route_t *route)
{
    rb_node_count (self->node, "municipality_notifications_sent", route->sent);
    rb_node_count (self->node, "municipality_regie_changes", route->changes);
}

//  The doorbraakteam joins the case; every holder hears of it.
static rb_err_t
s_team_joins (rb_ladder_t *self, rb_route_t *route, rb_refusal_t *why)
{
    bool changed;
    int64_t now_ms = rb_node_now_ms (self->node);
    rb_err_t rc = rb_regie_join (self->regie, route->txn, route->case_pseudonym, &self->team,
                                 self->team_contact, "doorbraakteam", now_ms, &changed, why);
    if (rc || !changed)
        return rc;
    rb_regie_change_t change = { .actor = self->team, .joined = true, .since_ms = now_ms,
                                 .reason = "doorbraakteam" };
    snprintf (change.contact, sizeof change.contact, "%s", self->team_contact);
    return rb_route_changes (route, &change, 1, why);
}

static const char *
s_step_name (rb_escalation_step_kind_t kind)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value (
        &regiebus__escalation_step__descriptor, (int) kind);
    return v? v->name: "unknown";
}

//  Notify steps (count of them) taken on the case in state.
static rb_err_t
s_notify_steps (rb_ladder_t *self, rb_txn_t *txn, const char *pseudonym,
                const rb_escalation_step_t *steps, size_t count, rb_refusal_t *why)
{
    rb_escalation_state_t state;
    rb_err_t rc = count? rb_escalation_get (self->ladder, txn, pseudonym, &state): RB_OK;
    if (rc)
        return rb_refuse (why, rc, NULL, "cannot read the ladder: %s", rb_strerror (rc));
    uint8_t event_id [16];
    rb_route_t route = s_route (self, txn, pseudonym, event_id);
    for (size_t i = 0; i < count && !rc; i++) {
        const rb_escalation_step_t *step = &steps [i];
        Regiebus__Escalation esc = REGIEBUS__ESCALATION__INIT;
        esc.step = (Regiebus__EscalationStep) step->kind;
        esc.level = step->level;
        esc.episode_started = state.episode_started;
        esc.weeks_absent = step->weeks_absent;
        esc.plan_id = step->plan_id;
        esc.plan_stalls = step->plan_stalls;
        esc.reminder = step->kind == RB_ESCALATION_STEP_NO_CASUSREGISSEUR? step->reminder: 0;
        if (step->kind == RB_ESCALATION_STEP_DOORBRAAKTEAM)
            rc = s_team_joins (self, &route, why);
        if (!rc)
            rc = rb_route_escalation (&route, &esc, true, &self->duty, 1, why);
        if (!rc)
            rb_log_info ("msg=\"escalated\" case=%.12s step=%s level=%u weeks=%u plan=%u",
                         pseudonym, s_step_name (step->kind), step->level, step->weeks_absent,
                         step->plan_id);
    }
    if (!rc) {
        s_count (self, &route);
        rb_node_count (self->node, "municipality_escalations", count);
    }
    return rc;
}


// ---------------------------------------------------------------------------
//  What happens

rb_err_t
rb_ladder_on_absence (rb_ladder_t *self, rb_txn_t *txn, const char *case_pseudonym,
                      const Regiebus__AbsenceSignal *p, rb_refusal_t *why)
{
    bool changed;
    rb_err_t rc = rb_escalation_on_absence (self->ladder, txn, &self->policy, case_pseudonym,
                                            (int) p->signal, p->episode_started, p->date,
                                            &changed, why);
    return rc || !changed? rc: s_schedule (self, txn, case_pseudonym, why);
}

rb_err_t
rb_ladder_on_stall (void *arg, rb_txn_t *txn, const char *case_pseudonym, uint32_t plan_id,
                    unsigned case_stalls, int64_t now_ms, rb_refusal_t *why)
{
    rb_ladder_t *self = arg;
    rb_escalation_step_t steps [RB_ESCALATION_STEPS_MAX];
    size_t count;
    rb_err_t rc = rb_escalation_on_stall (self->ladder, txn, &self->policy, case_pseudonym, plan_id,
                                          case_stalls, rb_calendar_date_at (now_ms), steps, &count, why);
    if (!rc && count)
        rc = s_notify_steps (self, txn, case_pseudonym, steps, count, why);
    return rc || !count? rc: s_schedule (self, txn, case_pseudonym, why);
}

//  What a look needs to know of the case now.
static rb_err_t
s_facts (rb_ladder_t *self, rb_txn_t *txn, const char *pseudonym, int32_t today,
         rb_escalation_facts_t *facts, rb_refusal_t *why)
{
    rb_regie_holder_t holders [RB_REGIE_MAX_HOLDERS];
    size_t count = 0;
    *facts = (rb_escalation_facts_t) { false, false };
    rb_err_t rc = rb_regie_holders (self->regie, txn, pseudonym, holders, RB_REGIE_MAX_HOLDERS, &count);
    for (size_t i = 0; !rc && i < count; i++)
        facts->has_casusregisseur |= holders [i].actor.role == RB_ROLE_CASUSREGISSEUR;
    rb_plan_t *plans = rc? NULL: calloc (RB_PLAN_MAX_PER_CASE, sizeof *plans);
    if (!rc && !plans)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    if (!rc)
        rc = rb_plan_list (self->plans, txn, pseudonym, plans, RB_PLAN_MAX_PER_CASE, &count);
    for (size_t i = 0; !rc && i < count; i++) {
        size_t n;
        rb_plan_stall_t stalls [RB_PLAN_STALLS_MAX];
        if (!plans [i].closed && !rb_plan_stalled (&plans [i], today, stalls, RB_PLAN_STALLS_MAX, &n))
            facts->has_fitting_plan = true;
    }
    free (plans);
    return rc? rb_refuse (why, rc == RB_ETOOLARGE? RB_ESTORE: rc, NULL, "cannot read the case: %s",
                          rb_strerror (rc)): RB_OK;
}

rb_err_t
rb_ladder_fire (void *arg, rb_txn_t *txn, const rb_timer_t *timer, int64_t now_ms, rb_refusal_t *why)
{
    rb_ladder_t *self = arg;
    char pseudonym [65];
    if (timer->payload_size != 64)
        return rb_refuse (why, RB_EINVALID, "payload", "a ladder timer's payload is a pseudonym");
    memcpy (pseudonym, timer->payload, 64);
    pseudonym [64] = 0;
    int32_t today = rb_calendar_date_at (now_ms);
    rb_escalation_facts_t facts;
    rb_escalation_step_t steps [RB_ESCALATION_STEPS_MAX];
    size_t count = 0;
    rb_err_t rc = s_facts (self, txn, pseudonym, today, &facts, why);
    if (!rc)
        rc = rb_escalation_look (self->ladder, txn, &self->policy, pseudonym, today, &facts,
                                 steps, &count, why);
    if (!rc)
        rc = s_notify_steps (self, txn, pseudonym, steps, count, why);
    return rc? rc: s_schedule (self, txn, pseudonym, why);
}


// ---------------------------------------------------------------------------
//  Acknowledgements

rb_err_t
rb_ladder_sent (void *arg, rb_txn_t *txn, const char *case_pseudonym,
                const Regiebus__Notification *copy, rb_refusal_t *why)
{
    rb_ladder_t *self = arg;
    return rb_acks_sent (self->acks, txn, &self->ack_policy, case_pseudonym, copy,
                         rb_node_now_ms (self->node), NULL, why);
}

rb_err_t
rb_ladder_acked (rb_ladder_t *self, rb_txn_t *txn, const char *case_pseudonym,
                 const uint8_t *notification_id, const rb_actor_t *recipient, int64_t acked_at_ms,
                 rb_refusal_t *why)
{
    rb_ack_state_t before;
    rb_err_t rc = rb_acks_acked (self->acks, txn, case_pseudonym, notification_id, recipient,
                                 acked_at_ms, &before, why);
    if (!rc && before != RB_ACK_ACKED)
        rb_node_count (self->node, "municipality_acks_received", 1);
    return rc;
}

//  The copy again, as reminder n: an id of its own, naming the original.
static rb_err_t
s_remind (rb_ladder_t *self, rb_txn_t *txn, rb_ack_due_t *due, rb_refusal_t *why)
{
    Regiebus__Notification *n = due->copy;
    uint8_t original [16], id [16], event_id [16];
    ProtobufCBinaryData keep_id = n->notification_id, keep_of = n->reminder_of;
    memcpy (original, n->notification_id.data, 16);
    rb_notify_id (original, RB_ACKS_REMINDER_INDEX + due->reminder, id);
    n->notification_id.data = id;
    n->reminder = due->reminder;
    n->reminder_of.data = original;
    n->reminder_of.len = 16;
    rb_route_t route = s_route (self, txn, due->case_pseudonym, event_id);
    rb_err_t rc = rb_route_copy (&route, n, why);
    //  The decoded copy owns its buffers: give them back before it is freed.
    n->notification_id = keep_id;
    n->reminder_of = keep_of;
    if (!rc) {
        s_count (self, &route);
        rb_node_count (self->node, "municipality_ack_reminders", 1);
    }
    return rc;
}

//  Nobody acknowledged the copy nor its reminder: the casusregisseurs of
//  the case are told, or the duty desk when there is none.
static rb_err_t
s_escalate_unacked (rb_ladder_t *self, rb_txn_t *txn, rb_ack_due_t *due, rb_refusal_t *why)
{
    const Regiebus__Notification *n = due->copy;
    rb_regie_holder_t holders [RB_REGIE_MAX_HOLDERS];
    rb_actor_t to [RB_REGIE_MAX_HOLDERS];
    size_t count = 0, found = 0;
    rb_err_t rc = rb_regie_holders (self->regie, txn, due->case_pseudonym, holders,
                                    RB_REGIE_MAX_HOLDERS, &count);
    if (rc && rc != RB_ENOTFOUND)
        return rb_refuse (why, rc, NULL, "cannot read the case: %s", rb_strerror (rc));
    for (size_t i = 0; !rc && i < count; i++)
        if (holders [i].actor.role == RB_ROLE_CASUSREGISSEUR)
            to [found++] = holders [i].actor;
    if (!found)
        to [found++] = self->duty;
    Regiebus__Escalation esc = REGIEBUS__ESCALATION__INIT;
    esc.step = REGIEBUS__ESCALATION_STEP__ESCALATION_UNACKNOWLEDGED;
    esc.notification_id = n->notification_id;
    esc.unacknowledged_by = n->recipient;
    esc.about = n->subject;
    esc.sent_on = rb_calendar_date_at (due->sent_at_ms);
    rb_escalation_state_t state;
    if (!rb_escalation_get (self->ladder, txn, due->case_pseudonym, &state))
        esc.level = state.level;
    uint8_t event_id [16];
    rb_route_t route = s_route (self, txn, due->case_pseudonym, event_id);
    rc = rb_route_escalation (&route, &esc, false, to, found, why);
    if (!rc) {
        s_count (self, &route);
        rb_node_count (self->node, "municipality_ack_escalations", 1);
    }
    return rc;
}

rb_err_t
rb_ladder_fire_ack (void *arg, rb_txn_t *txn, const rb_timer_t *timer, int64_t now_ms,
                    rb_refusal_t *why)
{
    rb_ladder_t *self = arg;
    rb_ack_due_t due;
    rb_err_t rc = rb_acks_fire (self->acks, txn, &self->ack_policy, timer->id, now_ms, &due, why);
    if (!rc && due.step == RB_ACK_REMIND)
        rc = s_remind (self, txn, &due, why);
    else
    if (!rc && due.step == RB_ACK_ESCALATE)
        rc = s_escalate_unacked (self, txn, &due, why);
    rb_acks_due_clear (&due);
    return rc;
}


// ---------------------------------------------------------------------------
//  Show, setup

bool
rb_ladder_state (rb_ladder_t *self, rb_txn_t *txn, const char *case_pseudonym,
                 Regiebus__EscalationState *out)
{
    rb_escalation_state_t s;
    if (rb_escalation_get (self->ladder, txn, case_pseudonym, &s))
        return false;
    bool open = s.episode_started && !s.episode_closed_on;
    regiebus__escalation_state__init (out);
    out->level = s.level;
    out->level_since = s.level_since;
    out->episode_started = s.episode_started;
    out->episode_open = open;
    out->episode_closed_on = s.episode_closed_on;
    out->thuiszitter = s.level >= RB_ESCALATION_THUISZITTER && open;
    out->thuiszitter_since = s.thuiszitter_since;
    out->reminders = s.reminders;
    out->next_step_on = rb_escalation_next_on (&self->policy, &s);
    return true;
}

rb_ladder_t *
rb_ladder_new (rb_node_t *node, const rb_config_t *config, rb_regie_t *regie,
               const rb_regie_policy_t *regie_policy, rb_timers_t *timers, rb_refusal_t *why)
{
    rb_ladder_t *self = calloc (1, sizeof *self);
    if (!self) {
        rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
        return NULL;
    }
    *self = (rb_ladder_t) { .node = node, .config = config, .regie = regie, .timers = timers };
    self->duty = rb_regie_actor (regie_policy->duty_node, RB_ROLE_DUTY_DESK);
    rb_table_t ladder, acks, plans;
    rb_err_t rc = s_read_config (self, config, why);
    if (!rc && (rb_node_table (node, RB_ESCALATION_TABLE, &ladder)
            ||  rb_node_table (node, RB_ACKS_TABLE, &acks)
            ||  rb_node_table (node, RB_PLAN_TABLE, &plans)))
        rc = rb_refuse (why, RB_ESTORE, "node/data_dir", "cannot open the ladder's tables");
    if (!rc) {
        self->ladder = rb_escalation_new_on (ladder);
        self->acks = rb_acks_new_on (acks, timers);
        self->plans = rb_plan_register_new_on (plans, regie);
        if (!self->ladder || !self->acks || !self->plans)
            rc = rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    }
    if (rc)
        rb_ladder_destroy (&self);
    return self;
}

void
rb_ladder_destroy (rb_ladder_t **self_p)
{
    if (self_p && *self_p) {
        rb_ladder_t *self = *self_p;
        rb_plan_register_destroy (&self->plans);
        rb_acks_destroy (&self->acks);
        rb_escalation_destroy (&self->ladder);
        free (self);
        *self_p = NULL;
    }
}
