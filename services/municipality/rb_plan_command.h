/*  rb_plan_command: a PlanCommand from the wire in the plan register's terms.
 *
 *  An actor's command on a case's plans arrives as protobuf: in the
 *  municipality's plan_command call, and as the payload of a PLAN_COMMAND
 *  event from a school or care node that took the same call. This module
 *  turns the message into what rb_plan takes (an rb_plan_spec_t, an
 *  rb_plan_revision_t, a plan id and milestone number), checking what the
 *  register cannot: an acting actor of a known shape, exactly one command,
 *  numbers that fit. Everything about dates, labels, owners and the plan's
 *  state rb_plan checks where the command is applied, with today.
 *
 *  Field names are those inside a PlanCommand ("actor.node",
 *  "register.milestones[2].date"); rb_plan_command_field turns a refusal
 *  of rb_plan into that form, so a call and an event name the same field
 *  whatever refused it. Pure logic: no store, no sockets, no clock.
 */
#ifndef RB_PLAN_COMMAND_H
#define RB_PLAN_COMMAND_H

#include "rb_plan.h"
#include "agency.pb-c.h"

//  A command read from a PlanCommand. The labels point into the message,
//  which must outlive it.
typedef struct {
    Regiebus__PlanCommand__CommandCase kind;    //  which command
    const char *name;                   //  its field name: "register", "complete", ...
    rb_actor_t actor;                   //  who acts
    uint32_t plan_id;                   //  the plan named (0 for register)
    unsigned milestone;                 //  complete: the milestone's number
    rb_plan_spec_t spec;                //  register: the new plan
    rb_plan_revision_t revision;        //  revise: what changes
    rb_plan_step_t steps [RB_PLAN_MILESTONES_MAX];  //  the milestones given
} rb_plan_command_t;

//  Read msg into out. Refused, with nothing else looked at:
//    msg NULL or no command set              RB_EMISSING   "command"
//    actor missing                           RB_EMISSING   "actor"
//    actor node not [a-z0-9-] 1..63          RB_EINVALID   "actor.node"
//    actor role not a known Role             RB_EINVALID   "actor.role"
//    register without owner                  RB_EMISSING   "register.owner"
//    more than 32 milestones                 RB_ETOOLARGE  "register.milestones", "revise.milestones"
//    an interval over 365 days               RB_EINVALID   "register.review_interval_days", ...
//    a plan id of 0                          RB_ENOTFOUND  "complete.plan_id", ...
//    a milestone number of 0 or over 65535   RB_ENOTFOUND  "complete.milestone"
rb_err_t rb_plan_command_read (const Regiebus__PlanCommand *msg, rb_plan_command_t *out,
                               rb_refusal_t *why);

//  What a school or care node checks before it sends a plan_command
//  request on to the case's municipality as PLAN_COMMAND: the pseudonym
//  (RB_EINVALID "case_pseudonym"), the command as rb_plan_command_read
//  reads it, the actor one of node's (RB_EDENIED "command.actor.node"),
//  and a registration's plan as rb_plan_spec_check sees it today; fields
//  as the request names them ("command.register.milestones[0].date").
//  What needs the case's plans (an unknown milestone, a closed plan) only
//  the municipality can tell: it answers with a notification.
rb_err_t rb_plan_command_check (const Regiebus__PlanCommandRequest *q, const char *node,
                                int32_t today, rb_plan_command_t *out, rb_refusal_t *why);

//  Name the field of a refusal rb_plan made for cmd as a PlanCommand
//  names it: "plan" becomes "complete.plan_id", "milestones[1].date"
//  "register.milestones[1].date", "case" and "case_pseudonym" stay.
//  Returns the refusal's code.
rb_err_t rb_plan_command_field (const rb_plan_command_t *cmd, rb_refusal_t *why);

//  Apply cmd to the register today (rb_plan_register, _complete, _revise,
//  _review or _close), with its refusals named by rb_plan_command_field.
rb_err_t rb_plan_command_apply (const rb_plan_command_t *cmd, rb_plan_register_t *plans,
                                rb_txn_t *txn, const char *pseudonym, int32_t today,
                                rb_plan_change_t *change, rb_refusal_t *why);

#endif
