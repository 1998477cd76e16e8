/*  rb_plan_command: a PlanCommand in the register's terms; see rb_plan_command.h.
 *
 *  Design. One reader per command fills the matching part of
 *  rb_plan_command_t; the milestones of register and revise share one
 *  copier. Field names are built once here, so the daemon never spells a
 *  path of its own.
 */
#include "rb_plan_command.h"
#include "rb_wire.h"
#include <stdio.h>
#include <string.h>

//  The highest milestone number the register gives.
#define S_MILESTONE_MAX 65535

static rb_err_t
s_read_actor (const Regiebus__Actor *actor, const char *field, rb_actor_t *out,
              rb_refusal_t *why)
{
    char sub [48];
    if (!actor)
        return rb_refuse (why, RB_EMISSING, field, "%s is missing", field);
    snprintf (sub, sizeof sub, "%s.node", field);
    if (!actor->node || !rb_config_name_valid (actor->node))
        return rb_refuse (why, RB_EINVALID, sub, "%s must be 1-63 of [a-z0-9-]", sub);
    snprintf (sub, sizeof sub, "%s.role", field);
    if ((int) actor->role < RB_ROLE_SCHOOL_MENTOR || (int) actor->role > RB_ROLE_MAX)
        return rb_refuse (why, RB_EINVALID, sub, "%s %d is not a known Role", sub, (int) actor->role);
    *out = rb_regie_actor (actor->node, (rb_role_t) actor->role);
    return RB_OK;
}

//  Refuse with the field fname of the command: "register.milestones".
#define S_REFUSE(why, code, out, fname, ...) \
    s_refuse_in ((why), (code), (out), (fname), __VA_ARGS__)

static rb_err_t
s_refuse_in (rb_refusal_t *why, rb_err_t code, const rb_plan_command_t *out, const char *fname,
             const char *detail, unsigned value)
{
    char field [48];
    snprintf (field, sizeof field, "%s.%s", out->name, fname);
    return rb_refuse (why, code, field, "%s %u %s", field, value, detail);
}

//  Check the interval and copy count milestones given into out->steps.
static rb_err_t
s_read_schedule (rb_plan_command_t *out, uint32_t days, Regiebus__PlanStep **steps, size_t count,
                 rb_refusal_t *why)
{
    if (days > RB_PLAN_INTERVAL_MAX)
        return S_REFUSE (why, RB_EINVALID, out, "review_interval_days", "is over 365", days);
    if (count > RB_PLAN_MILESTONES_MAX)
        return S_REFUSE (why, RB_ETOOLARGE, out, "milestones", "is over 32", (unsigned) count);
    for (size_t i = 0; i < count; i++)
        out->steps [i] = (rb_plan_step_t) { steps [i]->label, steps [i]->date };
    return RB_OK;
}

static rb_err_t
s_check_plan_id (const rb_plan_command_t *out, rb_refusal_t *why)
{
    if (out->plan_id == 0)
        return S_REFUSE (why, RB_ENOTFOUND, out, "plan_id", "names no plan", 0);
    return RB_OK;
}

static rb_err_t
s_read_register (const Regiebus__PlanRegistration *p, rb_plan_command_t *out, rb_refusal_t *why)
{
    rb_err_t rc = s_read_actor (p->owner, "register.owner", &out->spec.owner, why);
    if (!rc)
        rc = s_read_schedule (out, p->review_interval_days, p->milestones, p->n_milestones, why);
    if (rc)
        return rc;
    out->spec.type = (int) p->type < 0? RB_PLAN_TYPE_UNSPECIFIED: (rb_plan_type_t) p->type;
    out->spec.review_interval_days = (int) p->review_interval_days;
    out->spec.milestones = out->steps;
    out->spec.milestone_count = p->n_milestones;
    return RB_OK;
}

static rb_err_t
s_read_revise (const Regiebus__PlanRevision *p, rb_plan_command_t *out, rb_refusal_t *why)
{
    out->plan_id = p->plan_id;
    rb_err_t rc = s_check_plan_id (out, why);
    if (!rc)
        rc = s_read_schedule (out, p->review_interval_days, p->milestones, p->n_milestones, why);
    if (rc)
        return rc;
    out->revision.replace_milestones = p->replace_milestones;
    out->revision.milestones = out->steps;
    out->revision.milestone_count = p->n_milestones;
    out->revision.review_interval_days = (int) p->review_interval_days;
    return RB_OK;
}

//  The command's own part, by its kind.
static rb_err_t
s_read_command (const Regiebus__PlanCommand *msg, rb_plan_command_t *out, rb_refusal_t *why)
{
    switch (msg->command_case) {
        case REGIEBUS__PLAN_COMMAND__COMMAND_REGISTER:
            out->name = "register";
            return s_read_register (msg->register_, out, why);
        case REGIEBUS__PLAN_COMMAND__COMMAND_COMPLETE:
            out->name = "complete";
            out->plan_id = msg->complete->plan_id;
            out->milestone = msg->complete->milestone;
            if (out->milestone == 0 || out->milestone > S_MILESTONE_MAX)
                return S_REFUSE (why, RB_ENOTFOUND, out, "milestone", "names no milestone",
                                 out->milestone);
            return s_check_plan_id (out, why);
        case REGIEBUS__PLAN_COMMAND__COMMAND_REVISE:
            out->name = "revise";
            return s_read_revise (msg->revise, out, why);
        case REGIEBUS__PLAN_COMMAND__COMMAND_REVIEW:
            out->name = "review";
            out->plan_id = msg->review->plan_id;
            return s_check_plan_id (out, why);
        case REGIEBUS__PLAN_COMMAND__COMMAND_CLOSE:
            out->name = "close";
            out->plan_id = msg->close->plan_id;
            return s_check_plan_id (out, why);
        default:
            return rb_refuse (why, RB_EMISSING, "command",
                              "command: one of register, complete, revise, review, close");
    }
}

rb_err_t
rb_plan_command_read (const Regiebus__PlanCommand *msg, rb_plan_command_t *out, rb_refusal_t *why)
{
    rb_refusal_clear (why);
    memset (out, 0, sizeof *out);
    if (!msg || msg->command_case == REGIEBUS__PLAN_COMMAND__COMMAND__NOT_SET)
        return rb_refuse (why, RB_EMISSING, "command",
                          "command: one of register, complete, revise, review, close");
    rb_err_t rc = s_read_actor (msg->actor, "actor", &out->actor, why);
    if (!rc)
        rc = s_read_command (msg, out, why);
    out->kind = msg->command_case;
    return rc;
}

//  The fields rb_plan names that are no field of the command's own.
static const char *s_kept [] = { "case_pseudonym", "case", "today", "plans" };

rb_err_t
rb_plan_command_field (const rb_plan_command_t *cmd, rb_refusal_t *why)
{
    for (size_t i = 0; i < sizeof s_kept / sizeof s_kept [0]; i++)
        if (strcmp (why->field, s_kept [i]) == 0)
            return why->code;
    const char *field = why->field;
    if (!*field)
        return why->code;               //  a storage error names no field
    if (strcmp (field, "plan") == 0)
        field = "plan_id";
    char named [sizeof why->field + 16];
    if (strcmp (field, "revision") == 0)
        snprintf (named, sizeof named, "%s", cmd->name);
    else
        snprintf (named, sizeof named, "%s.%s", cmd->name, field);
    snprintf (why->field, sizeof why->field, "%.*s", (int) sizeof why->field - 1, named);
    return why->code;
}

rb_err_t
rb_plan_command_apply (const rb_plan_command_t *cmd, rb_plan_register_t *plans, rb_txn_t *txn,
                       const char *pseudonym, int32_t today, rb_plan_change_t *change,
                       rb_refusal_t *why)
{
    rb_err_t rc;
    switch (cmd->kind) {
        case REGIEBUS__PLAN_COMMAND__COMMAND_REGISTER:
            rc = rb_plan_register (plans, txn, pseudonym, &cmd->spec, today, change, why);
            break;
        case REGIEBUS__PLAN_COMMAND__COMMAND_COMPLETE:
            rc = rb_plan_complete (plans, txn, pseudonym, cmd->plan_id, cmd->milestone, today,
                                   change, why);
            break;
        case REGIEBUS__PLAN_COMMAND__COMMAND_REVISE:
            rc = rb_plan_revise (plans, txn, pseudonym, cmd->plan_id, &cmd->revision, today,
                                 change, why);
            break;
        case REGIEBUS__PLAN_COMMAND__COMMAND_REVIEW:
            rc = rb_plan_review (plans, txn, pseudonym, cmd->plan_id, today, change, why);
            break;
        case REGIEBUS__PLAN_COMMAND__COMMAND_CLOSE:
            rc = rb_plan_close (plans, txn, pseudonym, cmd->plan_id, today, change, why);
            break;
        default:
            rc = rb_refuse (why, RB_EMISSING, "command", "no command");
    }
    return rc? rb_plan_command_field (cmd, why): RB_OK;
}

//  Put "command." before the field a refusal names.
static rb_err_t
s_in_request (rb_refusal_t *why)
{
    char field [sizeof why->field + 16];
    snprintf (field, sizeof field, "command.%s", why->field);
    snprintf (why->field, sizeof why->field, "%.*s", (int) sizeof why->field - 1, field);
    return why->code;
}

rb_err_t
rb_plan_command_check (const Regiebus__PlanCommandRequest *q, const char *node, int32_t today,
                       rb_plan_command_t *out, rb_refusal_t *why)
{
    if (!rb_wire_pseudonym_valid (q->case_pseudonym))
        return rb_refuse (why, RB_EINVALID, "case_pseudonym",
                          "case_pseudonym must be 64 lowercase hex characters");
    if (!q->command)
        return rb_refuse (why, RB_EMISSING, "command", "command is missing");
    rb_err_t rc = rb_plan_command_read (q->command, out, why);
    if (!rc && strcmp (out->actor.node, node) != 0)
        rc = rb_refuse (why, RB_EDENIED, "actor.node", "a call here acts for this node's actors, not %s",
                        out->actor.node);
    if (!rc && out->kind == REGIEBUS__PLAN_COMMAND__COMMAND_REGISTER
    &&  rb_plan_spec_check (&out->spec, today, why))
        rc = rb_plan_command_field (out, why);
    return rc? s_in_request (why): RB_OK;
}
