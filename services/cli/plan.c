/*  plan: the regiebus tool's plan commands.
 *
 *  `regiebus plan register|complete|revise|review|close|show` act on a
 *  case's plans at the node the tool talks to: at a municipality the
 *  command is applied there (plan_command, get_plans), at a school or care
 *  node it goes on to the case's municipality. The actor is one of the
 *  node's own: --as names its role, and the node's name comes from the
 *  node itself (status), so nobody types it. Milestones are given as
 *  --milestone DATE:LABEL, once per milestone, in order.
 *
 *  What prints is the plan as the node answered it, one milestone a line;
 *  the words for plan changes in notifications are in render.c.
 */
#include "rb_cli.h"

//  Most milestones one command takes (a plan holds at most 32).
#define S_STEPS_MAX 32

static const rb_cli_word_t s_types [] = {
    { "opp", REGIEBUS__PLAN_TYPE__PLAN_OPP },
    { "care", REGIEBUS__PLAN_TYPE__PLAN_CARE },
    { "action", REGIEBUS__PLAN_TYPE__PLAN_ACTION },
    { "other", REGIEBUS__PLAN_TYPE__PLAN_OTHER },
    { NULL, 0 }
};

//  One plan command being put together.
typedef struct {
    Regiebus__PlanCommandRequest request;
    Regiebus__PlanCommand command;
    Regiebus__Actor actor;
    Regiebus__Actor owner;
    Regiebus__PlanRegistration registration;
    Regiebus__PlanCompletion completion;
    Regiebus__PlanRevision revision;
    Regiebus__PlanReference reference;
    Regiebus__PlanStep steps [S_STEPS_MAX];
    Regiebus__PlanStep *pointers [S_STEPS_MAX];
    size_t step_count;
    char node [64];                     //  this node's name, from status
} s_plan_t;


// ---------------------------------------------------------------------------
//  Reading the options

//  Every --milestone DATE:LABEL given, in order.
static void
s_steps (rb_cli_t *cli, s_plan_t *p)
{
    for (int i = 0; i < cli->option_count; i++) {
        if (!streq (cli->name [i], "--milestone"))
            continue;
        const char *value = cli->value [i], *colon = strchr (value, ':');
        char date [16] = "";
        if (colon && (size_t) (colon - value) < sizeof date)
            memcpy (date, value, colon - value);
        Regiebus__PlanStep *step = &p->steps [p->step_count];
        regiebus__plan_step__init (step);
        if (p->step_count == S_STEPS_MAX) {
            rb_cli_error (cli, "at most %d milestones", S_STEPS_MAX);
            return;
        }
        if (!colon || !rb_cli_date_parse (date, &step->date)) {
            rb_cli_error (cli, "--milestone '%s' must be DATE:LABEL (2026-12-01:education plan)", value);
            return;
        }
        step->label = (char *) colon + 1;
        p->pointers [p->step_count++] = step;
    }
}

//  The request's case and actor: this node in the role --as names.
static void
s_start (rb_cli_t *cli, s_plan_t *p)
{
    regiebus__plan_command_request__init (&p->request);
    regiebus__plan_command__init (&p->command);
    regiebus__actor__init (&p->actor);
    p->request.case_pseudonym = (char *) rb_cli_text (cli, "--case", true);
    p->request.home_municipality = rb_cli_field (cli, "--municipality");
    p->request.command = &p->command;
    p->command.actor = &p->actor;
    p->actor.role = rb_cli_choice (cli, "--as", rb_cli_roles, true, 0);
    p->actor.node = p->node;
}

static uint32_t
s_plan_id (rb_cli_t *cli)
{
    if (!rb_cli_text (cli, "--plan", true))
        return 0;
    return (uint32_t) rb_cli_number (cli, "--plan", UINT32_MAX, 0);
}

//  This node's name, which the actor carries.
static int
s_node_name (rb_cli_t *cli, s_plan_t *p)
{
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    Regiebus__ApiReply *reply = NULL;
    int rc = rb_cli_call (cli, REGIEBUS__API_REQUEST__CALL_STATUS, &status.base, &reply);
    if (rc == RB_CLI_EXIT_OK)
        snprintf (p->node, sizeof p->node, "%s", reply->status->node);
    rb_wire_free (&reply);
    return rc;
}


// ---------------------------------------------------------------------------
//  Printing a plan

static void
s_print_plan (const Regiebus__Plan *plan)
{
    char date [16], done [16];
    printf ("plan %u (%s), owner %s (%s), registered %s, reviewed %s", plan->plan_id,
            rb_cli_word_of (s_types, plan->type)? rb_cli_word_of (s_types, plan->type): "?",
            plan->owner? plan->owner->node: "?",
            plan->owner? rb_cli_enum_name (&regiebus__role__descriptor, plan->owner->role): "?",
            rb_cli_date_text (plan->created_on, date, sizeof date),
            rb_cli_date_text (plan->reviewed_on, done, sizeof done));
    if (plan->closed)
        printf (", closed %s\n", rb_cli_date_text (plan->closed_on, date, sizeof date));
    else
        printf (", review every %u days, next by %s\n", plan->review_interval_days,
                rb_cli_date_text (plan->review_due, date, sizeof date));
    for (size_t i = 0; i < plan->n_milestones; i++) {
        const Regiebus__PlanMilestone *m = plan->milestones [i];
        printf ("  %u. %s by %s", m->number, m->label, rb_cli_date_text (m->date, date, sizeof date));
        if (m->completed_on)
            printf (": completed %s", rb_cli_date_text (m->completed_on, done, sizeof done));
        else
        if (m->stalled)
            printf (": STALLED (its date passed)");
        printf ("\n");
    }
    if (plan->stalls)
        printf ("  stalls recorded: %u\n", plan->stalls);
}

static int
s_command_text (const Regiebus__ApiReply *reply, void *arg)
{
    const char *what = arg;
    const Regiebus__PlanCommandReply *r = reply->plan_command;
    if (r->plan) {
        printf ("%s on case %s; every regie holder is told\n", what, r->case_pseudonym);
        s_print_plan (r->plan);
    }
    else {
        char id [40];
        printf ("%s: sent to %s for case %s (event %s); a refusal there comes back as a notification\n",
                what, r->municipality_node, r->case_pseudonym,
                rb_cli_uuid_text (r->event_id, id, sizeof id));
    }
    return RB_CLI_EXIT_OK;
}

//  Send the command put together in p; what names it in the answer.
static int
s_send (rb_cli_t *cli, s_plan_t *p, const char *what)
{
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    int rc = s_node_name (cli, p);
    if (rc)
        return rc;
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_PLAN_COMMAND, &p->request.base,
                       s_command_text, (void *) what);
}


// ---------------------------------------------------------------------------
//  The commands

int
rb_cli_plan_register (rb_cli_t *cli)
{
    s_plan_t p = { .step_count = 0 };
    s_start (cli, &p);
    regiebus__actor__init (&p.owner);
    regiebus__plan_registration__init (&p.registration);
    p.owner.node = (char *) rb_cli_text (cli, "--owner", true);
    p.owner.role = rb_cli_choice (cli, "--owner-role", rb_cli_roles, true, 0);
    p.registration.owner = &p.owner;
    p.registration.type = rb_cli_choice (cli, "--type", s_types, true, 0);
    p.registration.review_interval_days = (uint32_t) rb_cli_number (cli, "--review-days", 365, 28);
    s_steps (cli, &p);
    p.registration.milestones = p.pointers;
    p.registration.n_milestones = p.step_count;
    p.command.command_case = REGIEBUS__PLAN_COMMAND__COMMAND_REGISTER;
    p.command.register_ = &p.registration;
    return s_send (cli, &p, "plan registered");
}

int
rb_cli_plan_complete (rb_cli_t *cli)
{
    s_plan_t p = { .step_count = 0 };
    s_start (cli, &p);
    regiebus__plan_completion__init (&p.completion);
    p.completion.plan_id = s_plan_id (cli);
    if (rb_cli_text (cli, "--milestone", true))
        p.completion.milestone = (uint32_t) rb_cli_number (cli, "--milestone", UINT32_MAX, 0);
    p.command.command_case = REGIEBUS__PLAN_COMMAND__COMMAND_COMPLETE;
    p.command.complete = &p.completion;
    return s_send (cli, &p, "milestone completed");
}

int
rb_cli_plan_revise (rb_cli_t *cli)
{
    s_plan_t p = { .step_count = 0 };
    s_start (cli, &p);
    regiebus__plan_revision__init (&p.revision);
    p.revision.plan_id = s_plan_id (cli);
    p.revision.review_interval_days = (uint32_t) rb_cli_number (cli, "--review-days", 365, 0);
    s_steps (cli, &p);
    p.revision.replace_milestones = p.step_count > 0;
    p.revision.milestones = p.pointers;
    p.revision.n_milestones = p.step_count;
    p.command.command_case = REGIEBUS__PLAN_COMMAND__COMMAND_REVISE;
    p.command.revise = &p.revision;
    return s_send (cli, &p, "plan revised");
}

//  review and close: a plan named, nothing else.
static int
s_reference (rb_cli_t *cli, Regiebus__PlanCommand__CommandCase kind, const char *what)
{
    s_plan_t p = { .step_count = 0 };
    s_start (cli, &p);
    regiebus__plan_reference__init (&p.reference);
    p.reference.plan_id = s_plan_id (cli);
    p.command.command_case = kind;
    if (kind == REGIEBUS__PLAN_COMMAND__COMMAND_REVIEW)
        p.command.review = &p.reference;
    else
        p.command.close = &p.reference;
    return s_send (cli, &p, what);
}

int
rb_cli_plan_review (rb_cli_t *cli)
{
    return s_reference (cli, REGIEBUS__PLAN_COMMAND__COMMAND_REVIEW, "plan reviewed");
}

int
rb_cli_plan_close (rb_cli_t *cli)
{
    return s_reference (cli, REGIEBUS__PLAN_COMMAND__COMMAND_CLOSE, "plan closed");
}

static int
s_show_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    const Regiebus__PlanGetReply *r = reply->get_plans;
    if (r->n_plans == 0)
        printf ("no plans on this case\n");
    for (size_t i = 0; i < r->n_plans; i++)
        s_print_plan (r->plans [i]);
    return RB_CLI_EXIT_OK;
}

int
rb_cli_plan_show (rb_cli_t *cli)
{
    Regiebus__PlanGetRequest get = REGIEBUS__PLAN_GET_REQUEST__INIT;
    get.case_pseudonym = (char *) rb_cli_text (cli, "--case", true);
    get.plan_id = (uint32_t) rb_cli_number (cli, "--plan", UINT32_MAX, 0);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_GET_PLANS, &get.base, s_show_text, NULL);
}
