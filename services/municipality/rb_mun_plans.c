/*  rb_mun_plans: plans on the municipality's node; see rb_mun_plans.h.
 *
 *  Design. A command is applied in two halves: s_execute checks the actor
 *  and lets rb_plan apply it, writing nothing when it refuses; s_publish
 *  then moves the plan's timers and notifies the change. Only the first
 *  half's refusals are the command's: a PLAN_COMMAND refused there is
 *  answered to its actor, while an error in the second half (a holder on
 *  no peer, a full store) undoes the whole event. Every notification is a
 *  PlanChange built by s_view from the stored plan, so holders see the
 *  plan as it is after the change.
 *
 *  Timers are replaced whole: after a change the plan's old timers are
 *  cancelled and its current ones set (a revision renumbers milestones,
 *  a completion or a close takes them away), all in the command's
 *  transaction.
 */
#include "rb_mun_plans.h"
#include "rb_calendar.h"
#include "rb_log.h"
#include "rb_plan_command.h"
#include "rb_route.h"
#include <czmq.h>
#include <sodium.h>
#include <time.h>

//  Hex digits of the pseudonym a timer id keeps.
#define S_ID_HEX 48

struct _rb_mun_plans_t {
    rb_node_t *node;                    //  the node: clock, emits, counters
    const rb_config_t *config;          //  its peers, for routing
    rb_regie_t *regie;                  //  the regie register
    rb_plan_register_t *plans;          //  the plan register
    rb_timers_t *timers;                //  the node's durable timers
    int reminder_days;                  //  days before a milestone, 0: none
    rb_mun_plan_stall_fn *on_stall;     //  the stall hook, or NULL
    void *on_stall_arg;                 //  its argument
};

//  A plan as the wire shows it, pointing into an rb_plan_t.
typedef struct {
    Regiebus__Plan plan;
    Regiebus__Actor owner;
    Regiebus__PlanMilestone milestones [RB_PLAN_MILESTONES_MAX];
    Regiebus__PlanMilestone *pointers [RB_PLAN_MILESTONES_MAX];
} s_plan_view_t;

//  One PlanChange on its way to the holders.
typedef struct {
    Regiebus__PlanChange msg;
    Regiebus__Actor owner;              //  the plan's owner
    Regiebus__Actor by;                 //  who acted
    s_plan_view_t view;                 //  the plan after the change
} s_change_t;

//  One command being applied: the case, what is asked, where it started.
typedef struct {
    const char *pseudonym;              //  the case
    rb_plan_command_t cmd;              //  the command
    const uint8_t *event_id;            //  16 bytes: the causing event or call
    int64_t occurred_at_ms;             //  when it happened; 0: now
    const char *from_node;              //  where it started
    bool had_before;                    //  the plan existed before
    rb_plan_t before;                   //  the plan before, for its timers
    rb_plan_change_t change;            //  what rb_plan changed
    rb_plan_t after;                    //  the plan after
} s_apply_t;


// ---------------------------------------------------------------------------
//  Life

rb_mun_plans_t *
rb_mun_plans_new (rb_node_t *node, const rb_config_t *config, rb_regie_t *regie,
                  rb_timers_t *timers, int reminder_days, rb_refusal_t *why)
{
    rb_table_t table;
    if (rb_node_table (node, RB_PLAN_TABLE, &table)) {
        rb_refuse (why, RB_ESTORE, "node/data_dir", "cannot open the plan table");
        return NULL;
    }
    rb_mun_plans_t *self = calloc (1, sizeof *self);
    if (self)
        self->plans = rb_plan_register_new_on (table, regie);
    if (!self || !self->plans) {
        rb_mun_plans_destroy (&self);
        rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
        return NULL;
    }
    self->node = node;
    self->config = config;
    self->regie = regie;
    self->timers = timers;
    self->reminder_days = reminder_days;
    //  The counters show from the start.
    const char *counters [] = { "municipality_plan_changes", "municipality_plan_commands_refused",
                                "municipality_plan_stalls", "municipality_plan_reminders" };
    for (size_t i = 0; i < sizeof counters / sizeof counters [0]; i++)
        rb_node_count (node, counters [i], 0);
    return self;
}

void
rb_mun_plans_destroy (rb_mun_plans_t **self_p)
{
    if (self_p && *self_p) {
        rb_plan_register_destroy (&(*self_p)->plans);
        free (*self_p);
        *self_p = NULL;
    }
}

void
rb_mun_plans_on_stall (rb_mun_plans_t *self, rb_mun_plan_stall_fn *fn, void *arg)
{
    self->on_stall = fn;
    self->on_stall_arg = arg;
}


// ---------------------------------------------------------------------------
//  Dates, ids and timers

static int32_t
s_today (rb_mun_plans_t *self)
{
    return rb_calendar_date_at (rb_node_now_ms (self->node));
}

void
rb_mun_plans_timer_id (const char *pseudonym, uint32_t plan_id, char what, unsigned milestone,
                       char id [RB_TIMER_ID_MAX + 1])
{
    if (what == 'v')
        snprintf (id, RB_TIMER_ID_MAX + 1, "%s%.*s/%u/v", RB_MUN_PLANS_TIMER_PREFIX, S_ID_HEX,
                  pseudonym, (unsigned) plan_id);
    else
        snprintf (id, RB_TIMER_ID_MAX + 1, "%s%.*s/%u/%c%u", RB_MUN_PLANS_TIMER_PREFIX, S_ID_HEX,
                  pseudonym, (unsigned) plan_id, what, milestone);
}

//  Set one timer of the plan, due at due_ms (nothing when 0).
static rb_err_t
s_timer_set (rb_mun_plans_t *self, rb_txn_t *txn, const char *pseudonym, uint32_t plan_id,
             char what, unsigned milestone, int64_t due_ms, rb_refusal_t *why)
{
    char id [RB_TIMER_ID_MAX + 1];
    rb_mun_plans_timer_id (pseudonym, plan_id, what, milestone, id);
    if (due_ms <= 0)
        return RB_OK;
    return rb_timers_set (self->timers, txn, id, due_ms, pseudonym, strlen (pseudonym), why);
}

static rb_err_t
s_timer_cancel (rb_mun_plans_t *self, rb_txn_t *txn, const char *pseudonym, uint32_t plan_id,
                char what, unsigned milestone, rb_refusal_t *why)
{
    char id [RB_TIMER_ID_MAX + 1];
    rb_mun_plans_timer_id (pseudonym, plan_id, what, milestone, id);
    return rb_timers_cancel (self->timers, txn, id, NULL, why);
}

//  Cancel every timer plan may have.
static rb_err_t
s_timers_cancel (rb_mun_plans_t *self, rb_txn_t *txn, const char *pseudonym,
                 const rb_plan_t *plan, rb_refusal_t *why)
{
    rb_err_t rc = s_timer_cancel (self, txn, pseudonym, plan->id, 'v', 0, why);
    for (size_t i = 0; !rc && i < plan->milestone_count; i++) {
        unsigned number = plan->milestones [i].number;
        rc = s_timer_cancel (self, txn, pseudonym, plan->id, 'm', number, why);
        if (!rc)
            rc = s_timer_cancel (self, txn, pseudonym, plan->id, 'r', number, why);
    }
    return rc;
}

//  Set the timers an open plan needs: per open milestone not stalled yet
//  its stall and its reminder (if still ahead), and the review's stall
//  unless this review period stalled already.
static rb_err_t
s_timers_set (rb_mun_plans_t *self, rb_txn_t *txn, const char *pseudonym, const rb_plan_t *plan,
              rb_refusal_t *why)
{
    if (plan->closed)
        return RB_OK;
    int64_t now_ms = rb_node_now_ms (self->node);
    int32_t review_due = rb_plan_review_due (plan);
    rb_err_t rc = RB_OK;
    if (plan->review_stalled_due != review_due)
        rc = s_timer_set (self, txn, pseudonym, plan->id, 'v', 0,
                          rb_calendar_day_start_ms (rb_calendar_add_days (review_due, 1)), why);
    for (size_t i = 0; !rc && i < plan->milestone_count; i++) {
        const rb_plan_milestone_t *m = &plan->milestones [i];
        if (m->completed_on || m->stalled)
            continue;
        rc = s_timer_set (self, txn, pseudonym, plan->id, 'm', m->number,
                          rb_calendar_day_start_ms (rb_calendar_add_days (m->date, 1)), why);
        int64_t remind_ms = rb_calendar_day_start_ms (rb_calendar_add_days (m->date, -self->reminder_days));
        if (!rc && self->reminder_days && remind_ms > now_ms)
            rc = s_timer_set (self, txn, pseudonym, plan->id, 'r', m->number, remind_ms, why);
    }
    return rc;
}


// ---------------------------------------------------------------------------
//  What the holders see

static void
s_actor_view (Regiebus__Actor *msg, const rb_actor_t *actor)
{
    regiebus__actor__init (msg);
    msg->node = (char *) actor->node;
    msg->role = (Regiebus__Role) actor->role;
}

//  The wire's view of plan, pointing into it.
static void
s_plan_view (s_plan_view_t *v, const rb_plan_t *plan)
{
    regiebus__plan__init (&v->plan);
    s_actor_view (&v->owner, &plan->owner);
    v->plan.plan_id = plan->id;
    v->plan.type = (Regiebus__PlanType) plan->type;
    v->plan.owner = &v->owner;
    v->plan.created_on = plan->created_on;
    v->plan.review_interval_days = (uint32_t) plan->review_interval_days;
    v->plan.reviewed_on = plan->reviewed_on;
    v->plan.review_due = plan->closed? 0: rb_plan_review_due (plan);
    v->plan.closed = plan->closed;
    v->plan.closed_on = plan->closed_on;
    v->plan.stalls = plan->stalls;
    for (size_t i = 0; i < plan->milestone_count; i++) {
        Regiebus__PlanMilestone *m = &v->milestones [i];
        regiebus__plan_milestone__init (m);
        m->number = plan->milestones [i].number;
        m->label = (char *) plan->milestones [i].label;
        m->date = plan->milestones [i].date;
        m->completed_on = plan->milestones [i].completed_on;
        m->stalled = plan->milestones [i].stalled;
        v->pointers [i] = m;
    }
    v->plan.milestones = v->pointers;
    v->plan.n_milestones = plan->milestone_count;
}

//  A PlanChange of kind about plan (after the change) on date, naming
//  milestone (0: none) and the actor by (NULL: none).
static void
s_change (s_change_t *c, int kind, const rb_plan_t *plan, int32_t date, unsigned milestone,
          const rb_actor_t *by)
{
    regiebus__plan_change__init (&c->msg);
    s_plan_view (&c->view, plan);
    s_actor_view (&c->owner, &plan->owner);
    c->msg.change = (Regiebus__PlanChangeKind) kind;
    c->msg.plan_id = plan->id;
    c->msg.type = (Regiebus__PlanType) plan->type;
    c->msg.owner = &c->owner;
    c->msg.date = date;
    c->msg.stalls = plan->stalls;
    c->msg.plan = &c->view.plan;
    if (by) {
        s_actor_view (&c->by, by);
        c->msg.by = &c->by;
    }
    for (size_t i = 0; milestone && i < plan->milestone_count; i++)
        if (plan->milestones [i].number == milestone) {
            c->msg.milestone = milestone;
            c->msg.label = (char *) plan->milestones [i].label;
            c->msg.due = plan->milestones [i].date;
        }
}

//  The wire's PlanChangeKind of what rb_plan did (the same numbers).
_Static_assert ((int) RB_PLAN_STALLED == REGIEBUS__PLAN_CHANGE_KIND__PLAN_STALLED
             && (int) RB_PLAN_REGISTERED == REGIEBUS__PLAN_CHANGE_KIND__PLAN_REGISTERED,
                "rb_plan_event_t numbers are PlanChangeKind's");

//  Notify change to every holder (or only that actor), counting copies.
static rb_err_t
s_notify (rb_mun_plans_t *self, rb_route_t *route, const s_change_t *c, const rb_actor_t *only,
          rb_refusal_t *why)
{
    rb_err_t rc = rb_route_plan (route, &c->msg, only, why);
    if (!rc)
        rb_node_count (self->node, "municipality_notifications_sent", route->sent);
    return rc;
}


// ---------------------------------------------------------------------------
//  Commands

//  The acting actor must hold its role on the case.
static rb_err_t
s_check_actor (rb_mun_plans_t *self, rb_txn_t *txn, const char *pseudonym, const rb_actor_t *actor,
               rb_refusal_t *why)
{
    if (!rb_regie_case_exists (self->regie, txn, pseudonym))
        return rb_refuse (why, RB_ENOTFOUND, "case", "no case %.12s... in the register", pseudonym);
    rb_regie_holder_t holders [RB_REGIE_MAX_HOLDERS];
    size_t count = 0;
    rb_err_t rc = rb_regie_holders (self->regie, txn, pseudonym, holders, RB_REGIE_MAX_HOLDERS, &count);
    if (rc)
        return rb_refuse (why, RB_ESTORE, NULL, "cannot read the holders: %s", rb_strerror (rc));
    for (size_t i = 0; i < count; i++)
        if (holders [i].actor.role == actor->role && streq (holders [i].actor.node, actor->node))
            return RB_OK;
    return rb_refuse (why, RB_EDENIED, "actor", "%s (role %d) holds no role on case %.12s...",
                      actor->node, (int) actor->role, pseudonym);
}

//  The first half: check and apply. A refusal here wrote nothing.
static rb_err_t
s_execute (rb_mun_plans_t *self, rb_txn_t *txn, s_apply_t *a, rb_refusal_t *why)
{
    rb_err_t rc = s_check_actor (self, txn, a->pseudonym, &a->cmd.actor, why);
    if (rc)
        return rc;
    if (a->cmd.plan_id) {
        rc = rb_plan_get (self->plans, txn, a->pseudonym, a->cmd.plan_id, &a->before);
        if (rc && rc != RB_ENOTFOUND)
            return rb_refuse (why, rc, NULL, "cannot read the plan: %s", rb_strerror (rc));
        a->had_before = rc == RB_OK;
    }
    return rb_plan_command_apply (&a->cmd, self->plans, txn, a->pseudonym, s_today (self),
                                  &a->change, why);
}

//  The second half: the plan's timers and the holders' notification.
static rb_err_t
s_publish (rb_mun_plans_t *self, rb_txn_t *txn, s_apply_t *a, rb_refusal_t *why)
{
    rb_err_t rc = rb_plan_get (self->plans, txn, a->pseudonym, a->change.plan_id, &a->after);
    if (rc)
        return rb_refuse (why, rc == RB_ENOTFOUND? RB_EINTERNAL: rc, NULL,
                          "cannot read the plan back: %s", rb_strerror (rc));
    if (a->had_before)
        rc = s_timers_cancel (self, txn, a->pseudonym, &a->before, why);
    if (!rc)
        rc = s_timers_set (self, txn, a->pseudonym, &a->after, why);
    if (rc)
        return rc;
    s_change_t c;
    s_change (&c, (int) a->change.event, &a->after, a->change.date, a->change.milestone,
              &a->cmd.actor);
    rb_route_t route = rb_route_start (self->node, self->config, self->regie, txn, a->pseudonym,
                                       a->event_id, a->occurred_at_ms, a->from_node);
    rc = s_notify (self, &route, &c, NULL, why);
    if (!rc) {
        rb_node_count (self->node, "municipality_plan_changes", 1);
        rb_log_info ("msg=\"plan changed\" case=%.12s plan=%u change=%d by=%s from=%s",
                     a->pseudonym, (unsigned) a->change.plan_id, (int) a->change.event,
                     a->cmd.actor.node, a->from_node);
    }
    return rc;
}

//  Name a refusal's field as a call names it: inside the request.
static rb_err_t
s_call_field (rb_refusal_t *why)
{
    if (streq (why->field, "case"))
        snprintf (why->field, sizeof why->field, "case_pseudonym");
    else
    if (*why->field && !streq (why->field, "case_pseudonym")) {
        char field [sizeof why->field + 16];
        snprintf (field, sizeof field, "command.%s", why->field);
        snprintf (why->field, sizeof why->field, "%.*s", (int) sizeof why->field - 1, field);
    }
    return why->code;
}

rb_err_t
rb_mun_plans_command_call (rb_mun_plans_t *self, rb_call_t *call, rb_txn_t *txn,
                           const Regiebus__PlanCommandRequest *q, rb_refusal_t *why)
{
    s_apply_t *a = calloc (1, sizeof *a);
    if (!a)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    uint8_t event_id [16];
    rb_node_event_id (self->node, event_id);      //  a staff call is an event of its own
    a->pseudonym = q->case_pseudonym;
    a->event_id = event_id;
    a->from_node = rb_node_name (self->node);
    rb_err_t rc = rb_plan_command_check (q, rb_node_name (self->node), s_today (self), &a->cmd, why);
    if (!rc && s_execute (self, txn, a, why))
        rc = s_call_field (why);
    else
    if (!rc)
        rc = s_publish (self, txn, a, why);
    if (!rc) {
        Regiebus__PlanCommandReply result = REGIEBUS__PLAN_COMMAND_REPLY__INIT;
        s_plan_view_t view;
        s_plan_view (&view, &a->after);
        result.case_pseudonym = q->case_pseudonym;
        result.plan = &view.plan;
        Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
        reply.result_case = REGIEBUS__API_REPLY__RESULT_PLAN_COMMAND;
        reply.plan_command = &result;
        rc = rb_call_reply (call, &reply);
    }
    free (a);
    return rc;
}

//  A PLAN_COMMAND the register refused: tell its actor, change nothing.
static rb_err_t
s_refuse_back (rb_mun_plans_t *self, rb_txn_t *txn, const Regiebus__Envelope *e, s_apply_t *a,
               const rb_refusal_t *refusal, rb_refusal_t *why)
{
    s_change_t c;
    rb_plan_t none = { .id = a->cmd.plan_id };
    s_change (&c, REGIEBUS__PLAN_CHANGE_KIND__PLAN_COMMAND_REFUSED, &none, s_today (self), 0,
              &a->cmd.actor);
    c.msg.owner = NULL;
    c.msg.plan = NULL;
    c.msg.refused_code = (uint32_t) refusal->code;
    c.msg.refused_field = (char *) refusal->field;
    rb_route_t route = rb_route_start (self->node, self->config, self->regie, txn,
                                       e->case_pseudonym, e->event_id.data, e->occurred_at_ms,
                                       e->origin);
    rb_err_t rc = s_notify (self, &route, &c, &a->cmd.actor, why);
    if (!rc) {
        rb_node_count (self->node, "municipality_plan_commands_refused", 1);
        rb_log_info ("msg=\"plan command refused\" origin=%s case=%.12s code=%s field=\"%s\"",
                     e->origin, e->case_pseudonym, rb_errname (refusal->code), refusal->field);
    }
    return rc;
}

rb_err_t
rb_mun_plans_on_command (rb_mun_plans_t *self, rb_txn_t *txn, const Regiebus__Envelope *e,
                         const Regiebus__PlanCommand *command, rb_refusal_t *why)
{
    s_apply_t *a = calloc (1, sizeof *a);
    if (!a)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    a->pseudonym = e->case_pseudonym;
    a->event_id = e->event_id.data;
    a->occurred_at_ms = e->occurred_at_ms;
    a->from_node = e->origin;
    rb_refusal_t refusal = { 0 };
    rb_err_t rc = rb_plan_command_read (command, &a->cmd, &refusal);
    bool actor_ok = *a->cmd.actor.node && streq (a->cmd.actor.node, e->origin);
    if (!actor_ok) {
        //  No actor to answer, or one of another node: the sender's fault.
        if (!refusal.code)
            rb_refuse (&refusal, RB_EDENIED, "actor.node", "actor.node %s is not the origin %s",
                       a->cmd.actor.node, e->origin);
        rc = rb_refuse (why, refusal.code, NULL, "%s", refusal.message);
        snprintf (why->field, sizeof why->field, "payload.%.80s", refusal.field);
    }
    else {
        if (!rc)
            rc = s_execute (self, txn, a, &refusal);
        if (rc && (rc == RB_ESTORE || rc == RB_EFULL || rc == RB_EINTERNAL))
            *why = refusal;
        else
        if (rc)
            rc = s_refuse_back (self, txn, e, a, &refusal, why);
        else
            rc = s_publish (self, txn, a, why);
    }
    free (a);
    return rc;
}


// ---------------------------------------------------------------------------
//  Reading

rb_err_t
rb_mun_plans_get_call (rb_mun_plans_t *self, rb_call_t *call, rb_txn_t *txn,
                       const Regiebus__PlanGetRequest *q, rb_refusal_t *why)
{
    if (!rb_wire_pseudonym_valid (q->case_pseudonym))
        return rb_refuse (why, RB_EINVALID, "case_pseudonym",
                          "case_pseudonym must be 64 lowercase hex characters");
    if (!rb_regie_case_exists (self->regie, txn, q->case_pseudonym))
        return rb_refuse (why, RB_ENOTFOUND, "case_pseudonym", "no case %.12s... in the register",
                          q->case_pseudonym);
    rb_plan_t *plans = calloc (RB_PLAN_MAX_PER_CASE, sizeof *plans);
    s_plan_view_t *views = calloc (RB_PLAN_MAX_PER_CASE, sizeof *views);
    Regiebus__Plan **pointers = calloc (RB_PLAN_MAX_PER_CASE, sizeof *pointers);
    size_t count = 0;
    rb_err_t rc = plans && views && pointers? RB_OK: RB_EINTERNAL;
    if (!rc && q->plan_id) {
        rc = rb_plan_get (self->plans, txn, q->case_pseudonym, q->plan_id, plans);
        count = rc? 0: 1;
    }
    else
    if (!rc)
        rc = rb_plan_list (self->plans, txn, q->case_pseudonym, plans, RB_PLAN_MAX_PER_CASE, &count);
    if (rc == RB_ENOTFOUND)
        rb_refuse (why, rc, "plan_id", "no plan %u on case %.12s...", (unsigned) q->plan_id,
                   q->case_pseudonym);
    else
    if (rc)
        rb_refuse (why, rc, NULL, "cannot read the plans: %s", rb_strerror (rc));
    for (size_t i = 0; !rc && i < count; i++) {
        s_plan_view (&views [i], &plans [i]);
        pointers [i] = &views [i].plan;
    }
    if (!rc) {
        Regiebus__PlanGetReply result = REGIEBUS__PLAN_GET_REPLY__INIT;
        result.plans = pointers;
        result.n_plans = count;
        Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
        reply.result_case = REGIEBUS__API_REPLY__RESULT_GET_PLANS;
        reply.get_plans = &result;
        rc = rb_call_reply (call, &reply);
    }
    free (plans);
    free (views);
    free (pointers);
    return rc;
}


// ---------------------------------------------------------------------------
//  Timers: reminders and stalls

//  What a plan timer's id and payload say.
typedef struct {
    char pseudonym [RB_PSEUDONYM_LEN + 1];  //  the case, from the payload
    uint32_t plan_id;                   //  the plan
    char what;                          //  'm', 'r' or 'v'
    unsigned milestone;                 //  for 'm' and 'r'
    uint8_t event_id [16];              //  the firing's event id
} s_timer_t;

static rb_err_t
s_timer_read (const rb_timer_t *timer, s_timer_t *t, rb_refusal_t *why)
{
    char hex [S_ID_HEX + 1], tail [16];
    int used = 0;
    memset (t, 0, sizeof *t);
    if (timer->payload_size == RB_PSEUDONYM_LEN)
        memcpy (t->pseudonym, timer->payload, RB_PSEUDONYM_LEN);
    if (sscanf (timer->id, RB_MUN_PLANS_TIMER_PREFIX "%48[0-9a-f]/%u/%15s%n", hex, &t->plan_id,
                tail, &used) != 3 || timer->id [used] || !rb_wire_pseudonym_valid (t->pseudonym)
    ||  strncmp (hex, t->pseudonym, S_ID_HEX) != 0)
        return rb_refuse (why, RB_EMALFORMED, "timer", "timer %s is no plan timer", timer->id);
    t->what = tail [0];
    if (t->what == 'v' && !tail [1])
        t->milestone = 0;
    else
    if ((t->what != 'm' && t->what != 'r') || sscanf (tail + 1, "%u%n", &t->milestone, &used) != 1
    ||  tail [1 + used])
        return rb_refuse (why, RB_EMALFORMED, "timer", "timer %s is no plan timer", timer->id);
    //  The firing is an event: its id follows from the timer, so a firing
    //  done again after a crash makes the same notification ids.
    uint8_t input [RB_TIMER_ID_MAX + 8];
    size_t len = strlen (timer->id);
    memcpy (input, timer->id, len);
    rb_u64_put (input + len, (uint64_t) timer->due_ms);
    crypto_generichash (t->event_id, sizeof t->event_id, input, len + 8, NULL, 0);
    return RB_OK;
}

//  The stalls recorded on all plans of the case.
static rb_err_t
s_case_stalls (rb_mun_plans_t *self, rb_txn_t *txn, const char *pseudonym, unsigned *stalls,
               rb_refusal_t *why)
{
    rb_plan_t *plans = calloc (RB_PLAN_MAX_PER_CASE, sizeof *plans);
    size_t count = 0;
    rb_err_t rc = plans? rb_plan_list (self->plans, txn, pseudonym, plans, RB_PLAN_MAX_PER_CASE,
                                       &count): RB_EINTERNAL;
    *stalls = 0;
    for (size_t i = 0; !rc && i < count; i++)
        *stalls += plans [i].stalls;
    free (plans);
    return rc? rb_refuse (why, rc, NULL, "cannot read the case's plans: %s", rb_strerror (rc)): RB_OK;
}

//  Milestone t->milestone's date is near: remind the plan's owner, if the
//  milestone is still open and the owner still on the case.
static rb_err_t
s_fire_reminder (rb_mun_plans_t *self, rb_txn_t *txn, const s_timer_t *t, const rb_plan_t *plan,
                 rb_refusal_t *why)
{
    const rb_plan_milestone_t *m = NULL;
    for (size_t i = 0; i < plan->milestone_count; i++)
        if (plan->milestones [i].number == t->milestone)
            m = &plan->milestones [i];
    if (!m || m->completed_on || plan->closed)
        return RB_OK;               //  nothing to remind of
    rb_refusal_t absent;
    rb_err_t rc = s_check_actor (self, txn, t->pseudonym, &plan->owner, &absent);
    if (rc == RB_EDENIED || rc == RB_ENOTFOUND)
        return RB_OK;               //  nobody to remind: the owner left the case
    if (rc)
        return rb_refuse (why, rc, NULL, "%s", absent.message);
    s_change_t c;
    s_change (&c, REGIEBUS__PLAN_CHANGE_KIND__PLAN_REMINDER, plan, s_today (self), t->milestone, NULL);
    rb_route_t route = rb_route_start (self->node, self->config, self->regie, txn, t->pseudonym,
                                       t->event_id, 0, rb_node_name (self->node));
    rc = s_notify (self, &route, &c, &plan->owner, why);
    if (!rc)
        rb_node_count (self->node, "municipality_plan_reminders", 1);
    return rc;
}

//  A milestone's date or the review-due date passed: record the stall
//  once, tell every holder, then the stall hook.
static rb_err_t
s_fire_stall (rb_mun_plans_t *self, rb_txn_t *txn, const s_timer_t *t, const rb_plan_t *plan,
              int64_t now_ms, rb_refusal_t *why)
{
    int32_t today = s_today (self);
    rb_plan_stall_t stalls [RB_PLAN_STALLS_MAX];
    size_t n = 0, i = 0;
    rb_plan_stalled (plan, today, stalls, RB_PLAN_STALLS_MAX, &n);
    rb_plan_stall_kind_t kind = t->what == 'v'? RB_PLAN_STALL_REVIEW: RB_PLAN_STALL_MILESTONE;
    while (i < n && (stalls [i].kind != kind || stalls [i].milestone != t->milestone))
        i++;
    if (i == n || stalls [i].recorded)
        return RB_OK;               //  completed, reviewed or told already: nothing stalls
    bool recorded = false;
    rb_plan_change_t change;
    rb_err_t rc = rb_plan_record_stall (self->plans, txn, t->pseudonym, plan->id, &stalls [i],
                                        today, &recorded, &change, why);
    if (rc || !recorded)
        return rc;
    rb_plan_t after;
    unsigned case_stalls = 0;
    rc = rb_plan_get (self->plans, txn, t->pseudonym, plan->id, &after);
    if (rc)
        return rb_refuse (why, rc, NULL, "cannot read the plan back: %s", rb_strerror (rc));
    rc = s_case_stalls (self, txn, t->pseudonym, &case_stalls, why);
    if (rc)
        return rc;
    s_change_t c;
    s_change (&c, REGIEBUS__PLAN_CHANGE_KIND__PLAN_STALLED, &after, today, t->milestone, NULL);
    c.msg.due = stalls [i].due;
    c.msg.review_overdue = kind == RB_PLAN_STALL_REVIEW;
    c.msg.case_stalls = case_stalls;
    rb_route_t route = rb_route_start (self->node, self->config, self->regie, txn, t->pseudonym,
                                       t->event_id, 0, rb_node_name (self->node));
    rc = s_notify (self, &route, &c, NULL, why);
    if (!rc) {
        rb_node_count (self->node, "municipality_plan_stalls", 1);
        rb_log_info ("msg=\"plan stalled\" case=%.12s plan=%u milestone=%u due=%d case_stalls=%u",
                     t->pseudonym, (unsigned) plan->id, t->milestone, (int) stalls [i].due,
                     case_stalls);
    }
    if (!rc && self->on_stall)
        rc = self->on_stall (self->on_stall_arg, txn, t->pseudonym, plan->id, case_stalls,
                             now_ms, why);
    return rc;
}

rb_err_t
rb_mun_plans_fire (void *arg, rb_txn_t *txn, const rb_timer_t *timer, int64_t now_ms,
                   rb_refusal_t *why)
{
    rb_mun_plans_t *self = arg;
    s_timer_t t;
    rb_err_t rc = s_timer_read (timer, &t, why);
    rb_plan_t plan;
    if (!rc)
        rc = rb_plan_get (self->plans, txn, t.pseudonym, t.plan_id, &plan);
    if (rc == RB_ENOTFOUND)
        return rb_refuse (why, rc, "timer", "timer %s names no plan", timer->id);
    if (rc)
        return why->code? rc: rb_refuse (why, rc, NULL, "cannot read the plan: %s", rb_strerror (rc));
    if (t.what == 'r')
        return s_fire_reminder (self, txn, &t, &plan, why);
    return s_fire_stall (self, txn, &t, &plan, now_ms, why);
}
