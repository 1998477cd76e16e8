/*  unit_plan: the municipality's plan register (services/municipality/rb_plan.h).
 *
 *  Plans hang on cases of the regie register and are owned by an actor
 *  that holds a role on the case. A plan gets the case's next id, its
 *  milestones numbers of their own; completing, revising, reviewing and
 *  closing each say what changed and which dates the timers need. A plan
 *  whose milestone date passed, or that went unreviewed past its interval,
 *  is stalled; each stall is recorded once and counted. Every refusal
 *  names its field and writes nothing, and the plans survive reopening the
 *  store.
 */
#include "rb_test.h"
#include "rb_plan.h"
#include "rb_calendar.h"
#include <stdio.h>

#define T0 1790000000000LL              //  when the test cases open, in ms
#define DAY0 20260907                   //  a Monday: "today" when plans start
#define S_DUMP_MAX 65536

static rb_store_t *s_store;
static rb_regie_t *s_regie;
static rb_plan_register_t *s_plans;
static char s_cases [8][RB_PSEUDONYM_LEN + 1];

//  The pseudonym of test case i.
static const char *
s_case (unsigned i)
{
    snprintf (s_cases [i], sizeof s_cases [i], "%064x", 0x9a00u + i);
    return s_cases [i];
}

//  The date days after DAY0.
static int32_t
s_day (int days)
{
    return rb_calendar_add_days (DAY0, days);
}

static rb_txn_t *
s_write (void)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    return txn;
}

//  Open case i with a school, leerplicht and a care provider on it.
static void
s_open_case (unsigned i)
{
    const char *p = s_case (i);
    rb_refusal_t r;
    bool created, changed;
    rb_actor_t actors [] = {
        rb_regie_actor ("school-a", RB_ROLE_SCHOOL_MENTOR),
        rb_regie_actor ("gemeente-west", RB_ROLE_LEERPLICHT),
        rb_regie_actor ("care-c", RB_ROLE_JEUGDHULP)
    };
    rb_txn_t *txn = s_write ();
    CHECK_INT (rb_regie_case_open (s_regie, txn, p, T0, &created, &r), RB_OK);
    for (size_t a = 0; a < 3; a++)
        CHECK_INT (rb_regie_join (s_regie, txn, p, &actors [a], "desk", NULL, T0, &changed, &r),
                   RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

//  Everything the register holds about a case's plans, as text, read in
//  txn: so a refusal can be shown to have written nothing.
static void
s_dump (rb_txn_t *txn, const char *pseudonym, char *out)
{
    static rb_plan_t plans [RB_PLAN_MAX_PER_CASE];
    size_t count = 99;
    CHECK_INT (rb_plan_list (s_plans, txn, pseudonym, plans, RB_PLAN_MAX_PER_CASE, &count), RB_OK);
    size_t used = (size_t) snprintf (out, S_DUMP_MAX, "%zu plans\n", count);
    for (size_t i = 0; i < count && used < S_DUMP_MAX; i++) {
        const rb_plan_t *p = &plans [i];
        used += (size_t) snprintf (out + used, S_DUMP_MAX - used,
                                   "%u type %d owner %s/%d created %d every %d reviewed %d "
                                   "closed %d/%d stalls %u review stall %d next %u\n",
                                   (unsigned) p->id, (int) p->type, p->owner.node,
                                   (int) p->owner.role, (int) p->created_on,
                                   p->review_interval_days, (int) p->reviewed_on,
                                   (int) p->closed, (int) p->closed_on, p->stalls,
                                   (int) p->review_stalled_due, p->next_milestone);
        for (size_t m = 0; m < p->milestone_count && used < S_DUMP_MAX; m++)
            used += (size_t) snprintf (out + used, S_DUMP_MAX - used, "  %u %d done %d %d '%s'\n",
                                       p->milestones [m].number, (int) p->milestones [m].date,
                                       (int) p->milestones [m].completed_on,
                                       (int) p->milestones [m].stalled, p->milestones [m].label);
    }
}

//  Run call (an expression using `txn`, `&r` and `&change`) in a write
//  transaction, expect it refused with code naming field, commit, and
//  check that the case's plans read exactly as before.
#define CHECK_REFUSED(pseudonym, code, field, call) do { \
    static char before_ [S_DUMP_MAX], after_ [S_DUMP_MAX]; \
    rb_refusal_t r; \
    rb_plan_change_t change; \
    rb_txn_t *txn = s_write (); \
    s_dump (txn, (pseudonym), before_); \
    CHECK_INT ((call), (code)); \
    CHECK_REFUSAL (&r, (code), (field)); \
    CHECK (r.message [0] != 0); \
    CHECK_INT (rb_txn_commit (&txn), RB_OK); \
    txn = s_write (); \
    s_dump (txn, (pseudonym), after_); \
    rb_txn_destroy (&txn); \
    CHECK_STR (after_, before_); \
} while (0)

//  Run call (using `txn`, `&r` and `&change`) in a committed transaction;
//  change then holds what it reported.
#define APPLY(call) do { \
    rb_refusal_t r; \
    rb_txn_t *txn = s_write (); \
    memset (&change, 0xee, sizeof change); \
    CHECK_INT ((call), RB_OK); \
    CHECK_INT (r.code, RB_OK); \
    CHECK_INT (rb_txn_commit (&txn), RB_OK); \
} while (0)

static rb_plan_change_t change;

//  The three milestones of the standard plan: in a week, two and four.
static const rb_plan_step_t s_steps [] = {
    { "intake", 20260914 },
    { "school visit", 20260921 },
    { "first evaluation", 20261005 }
};

static rb_plan_spec_t
s_spec (rb_plan_type_t type, const char *node, rb_role_t role)
{
    return (rb_plan_spec_t) { .type = type, .owner = rb_regie_actor (node, role),
        .review_interval_days = 28, .milestones = s_steps, .milestone_count = 3 };
}

static rb_plan_t
s_get (const char *pseudonym, uint32_t id)
{
    rb_plan_t plan;
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_plan_get (s_plans, txn, pseudonym, id, &plan), RB_OK);
    rb_txn_destroy (&txn);
    return plan;
}

//  The timers of a change as text: "review D; N@D N@D".
static const char *
s_due (const rb_plan_due_t *due)
{
    static char text [1024];
    size_t used = (size_t) snprintf (text, sizeof text, "review %d;", (int) due->review_due);
    for (size_t i = 0; i < due->count; i++)
        used += (size_t) snprintf (text + used, sizeof text - used, " %u@%d",
                                   due->milestones [i].number, (int) due->milestones [i].date);
    return text;
}


// ---------------------------------------------------------------------------

static void
s_test_register (void)
{
    rb_test_section ("register: ids per case, owner on the case, the timers' dates");
    const char *p = s_case (0);
    rb_plan_spec_t spec = s_spec (RB_PLAN_TYPE_OPP, "school-a", RB_ROLE_SCHOOL_MENTOR);
    APPLY (rb_plan_register (s_plans, txn, p, &spec, DAY0, &change, &r));
    CHECK_INT (change.event, RB_PLAN_REGISTERED);
    CHECK_UINT (change.plan_id, 1);
    CHECK_INT (change.type, RB_PLAN_TYPE_OPP);
    CHECK_STR (change.owner.node, "school-a");
    CHECK_INT (change.owner.role, RB_ROLE_SCHOOL_MENTOR);
    CHECK_INT (change.date, DAY0);
    CHECK_UINT (change.milestone, 0);
    CHECK_UINT (change.stalls, 0);
    CHECK_STR (s_due (&change.due), "review 20261005; 1@20260914 2@20260921 3@20261005");

    rb_plan_t plan = s_get (p, 1);
    CHECK_UINT (plan.id, 1);
    CHECK_INT (plan.created_on, DAY0);
    CHECK_INT (plan.reviewed_on, DAY0);
    CHECK_INT (plan.review_interval_days, 28);
    CHECK (!plan.closed);
    CHECK_UINT (plan.milestone_count, 3);
    CHECK_STR (plan.milestones [1].label, "school visit");
    CHECK_UINT (plan.milestones [2].number, 3);
    CHECK_UINT (plan.next_milestone, 4);
    CHECK_INT (rb_plan_review_due (&plan), 20261005);

    //  A second plan on the same case, by care, owned by leerplicht: id 2.
    //  Milestones due today are allowed; labels in any script.
    rb_plan_step_t today [] = { { "gesprek met ouders", DAY0 }, { "café-overleg ✓", s_day (1) } };
    spec = s_spec (RB_PLAN_TYPE_ACTION, "gemeente-west", RB_ROLE_LEERPLICHT);
    spec.milestones = today;
    spec.milestone_count = 2;
    spec.review_interval_days = 1;
    APPLY (rb_plan_register (s_plans, txn, p, &spec, DAY0, &change, &r));
    CHECK_UINT (change.plan_id, 2);
    CHECK_STR (s_due (&change.due), "review 20260908; 1@20260907 2@20260908");
    CHECK_STR (s_get (p, 2).milestones [1].label, "café-overleg ✓");

    //  Ids are per case: another case's first plan is 1 again.
    s_open_case (1);
    spec = s_spec (RB_PLAN_TYPE_CARE, "care-c", RB_ROLE_JEUGDHULP);
    spec.review_interval_days = 365;
    APPLY (rb_plan_register (s_plans, txn, s_case (1), &spec, DAY0, &change, &r));
    CHECK_UINT (change.plan_id, 1);
    CHECK_INT (change.due.review_due, 20270907);

    //  32 milestones fit.
    rb_plan_step_t many [RB_PLAN_MILESTONES_MAX];
    for (int i = 0; i < RB_PLAN_MILESTONES_MAX; i++)
        many [i] = (rb_plan_step_t) { "step", s_day (i) };
    spec = s_spec (RB_PLAN_TYPE_OTHER, "care-c", RB_ROLE_JEUGDHULP);
    spec.milestones = many;
    spec.milestone_count = RB_PLAN_MILESTONES_MAX;
    APPLY (rb_plan_register (s_plans, txn, s_case (1), &spec, DAY0, &change, &r));
    CHECK_UINT (change.plan_id, 2);
    CHECK_UINT (change.due.count, RB_PLAN_MILESTONES_MAX);
    CHECK_UINT (s_get (s_case (1), 2).milestones [31].number, 32);

    //  Listing: by id, with their content; a missing or bad case has none.
    rb_plan_t plans [4];
    size_t count = 99;
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_plan_list (s_plans, txn, p, plans, 4, &count), RB_OK);
    CHECK_UINT (count, 2);
    CHECK_UINT (plans [0].id, 1);
    CHECK_UINT (plans [1].id, 2);
    CHECK_INT (plans [1].type, RB_PLAN_TYPE_ACTION);
    CHECK_INT (rb_plan_list (s_plans, txn, p, plans, 1, &count), RB_ETOOLARGE);
    CHECK_UINT (count, 1);
    CHECK_UINT (plans [0].id, 1);
    CHECK_INT (rb_plan_list (s_plans, txn, s_case (7), plans, 4, &count), RB_OK);
    CHECK_UINT (count, 0);
    CHECK_INT (rb_plan_list (s_plans, txn, "nope", plans, 4, &count), RB_OK);
    CHECK_UINT (count, 0);
    CHECK_INT (rb_plan_get (s_plans, txn, p, 3, &plans [0]), RB_ENOTFOUND);
    CHECK_INT (rb_plan_get (s_plans, txn, "nope", 1, &plans [0]), RB_ENOTFOUND);
    rb_txn_destroy (&txn);
}

static void
s_test_register_refusals (void)
{
    rb_test_section ("register: every refusal names its field and writes nothing");
    const char *p = s_case (0);
    rb_plan_spec_t good = s_spec (RB_PLAN_TYPE_OPP, "school-a", RB_ROLE_SCHOOL_MENTOR);
    rb_plan_spec_t spec = good;
#define REGISTER_REFUSED(code, field, pseudonym, day) \
    CHECK_REFUSED (p, code, field, \
                   rb_plan_register (s_plans, txn, pseudonym, &spec, day, &change, &r))

    REGISTER_REFUSED (RB_EINVALID, "case_pseudonym", "ABC", DAY0);
    REGISTER_REFUSED (RB_EINVALID, "today", p, 20260231);
    REGISTER_REFUSED (RB_EINVALID, "today", p, 0);
    CHECK_REFUSED (p, RB_EMISSING, "plan",
                   rb_plan_register (s_plans, txn, p, NULL, DAY0, &change, &r));
    spec.type = RB_PLAN_TYPE_UNSPECIFIED;
    REGISTER_REFUSED (RB_EINVALID, "type", p, DAY0);
    spec.type = 5;
    REGISTER_REFUSED (RB_EINVALID, "type", p, DAY0);
    spec = good;
    spec.owner = rb_regie_actor ("School-A", RB_ROLE_SCHOOL_MENTOR);
    REGISTER_REFUSED (RB_EINVALID, "owner.node", p, DAY0);
    spec.owner = rb_regie_actor ("", RB_ROLE_SCHOOL_MENTOR);
    REGISTER_REFUSED (RB_EINVALID, "owner.node", p, DAY0);
    spec.owner = rb_regie_actor ("school-a", RB_ROLE_UNSPECIFIED);
    REGISTER_REFUSED (RB_EINVALID, "owner.role", p, DAY0);
    spec.owner = rb_regie_actor ("school-a", RB_ROLE_MAX + 1);
    REGISTER_REFUSED (RB_EINVALID, "owner.role", p, DAY0);
    spec = good;
    spec.review_interval_days = 0;
    REGISTER_REFUSED (RB_EINVALID, "review_interval_days", p, DAY0);
    spec.review_interval_days = 366;
    REGISTER_REFUSED (RB_EINVALID, "review_interval_days", p, DAY0);
    spec.review_interval_days = -1;
    REGISTER_REFUSED (RB_EINVALID, "review_interval_days", p, DAY0);
    spec = good;
    spec.milestone_count = 0;
    REGISTER_REFUSED (RB_EMISSING, "milestones", p, DAY0);
    spec.milestone_count = 3;
    spec.milestones = NULL;
    REGISTER_REFUSED (RB_EMISSING, "milestones", p, DAY0);
    rb_plan_step_t many [RB_PLAN_MILESTONES_MAX + 1];
    for (int i = 0; i <= RB_PLAN_MILESTONES_MAX; i++)
        many [i] = (rb_plan_step_t) { "step", DAY0 };
    spec.milestones = many;
    spec.milestone_count = RB_PLAN_MILESTONES_MAX + 1;
    REGISTER_REFUSED (RB_ETOOLARGE, "milestones", p, DAY0);

    //  One bad milestone among good ones is named by its index.
    rb_plan_step_t steps [3] = { s_steps [0], s_steps [1], s_steps [2] };
    spec = good;
    spec.milestones = steps;
    steps [2].label = NULL;
    REGISTER_REFUSED (RB_EMISSING, "milestones[2].label", p, DAY0);
    steps [2].label = "";
    REGISTER_REFUSED (RB_EMISSING, "milestones[2].label", p, DAY0);
    steps [2].label = "a label of exactly sixty-five bytes, one more than a label may be.";
    REGISTER_REFUSED (RB_ETOOLARGE, "milestones[2].label", p, DAY0);
    steps [2].label = "tab\there";
    REGISTER_REFUSED (RB_EINVALID, "milestones[2].label", p, DAY0);
    steps [2].label = "cut \xc3";
    REGISTER_REFUSED (RB_EINVALID, "milestones[2].label", p, DAY0);
    steps [2] = s_steps [2];
    steps [1].date = s_day (-1);                //  before the plan
    REGISTER_REFUSED (RB_EINVALID, "milestones[1].date", p, DAY0);
    steps [1].date = 20260931;
    REGISTER_REFUSED (RB_EINVALID, "milestones[1].date", p, DAY0);
    steps [1].date = 0;
    REGISTER_REFUSED (RB_EINVALID, "milestones[1].date", p, DAY0);
    steps [1] = s_steps [1];
    //  The 64-byte label itself is fine: checked by registering it below.
    steps [0].label = "a label of exactly sixty-four bytes, as long as a label may be..";

    //  The case and the owner.
    spec = good;
    REGISTER_REFUSED (RB_ENOTFOUND, "case", s_case (7), DAY0);
    spec.owner = rb_regie_actor ("school-b", RB_ROLE_SCHOOL_MENTOR);
    REGISTER_REFUSED (RB_EPRECONDITION, "owner", p, DAY0);
    spec.owner = rb_regie_actor ("school-a", RB_ROLE_PARENT);   //  the node, another role
    REGISTER_REFUSED (RB_EPRECONDITION, "owner", p, DAY0);
    spec.owner = rb_regie_actor ("care-c", RB_ROLE_JEUGDHULP);
    REGISTER_REFUSED (RB_ENOTFOUND, "case", s_case (2), DAY0);     //  the case comes first
    s_open_case (2);
    spec.milestones = steps;
    APPLY (rb_plan_register (s_plans, txn, s_case (2), &spec, DAY0, &change, &r));
    CHECK_UINT (change.plan_id, 1);
    CHECK_STR (s_get (s_case (2), 1).milestones [0].label, steps [0].label);
#undef REGISTER_REFUSED
}

static void
s_test_complete (void)
{
    rb_test_section ("complete a milestone: once, by number; the timers lose it");
    const char *p = s_case (0);
    APPLY (rb_plan_complete (s_plans, txn, p, 1, 2, s_day (3), &change, &r));
    CHECK_INT (change.event, RB_PLAN_MILESTONE_COMPLETED);
    CHECK_UINT (change.plan_id, 1);
    CHECK_UINT (change.milestone, 2);
    CHECK_INT (change.date, s_day (3));
    CHECK_STR (s_due (&change.due), "review 20261005; 1@20260914 3@20261005");
    rb_plan_t plan = s_get (p, 1);
    CHECK_INT (plan.milestones [1].completed_on, s_day (3));
    CHECK_INT (plan.milestones [0].completed_on, 0);
    CHECK_INT (plan.reviewed_on, DAY0);         //  completing is not a review

    CHECK_REFUSED (p, RB_EPRECONDITION, "milestone",
                   rb_plan_complete (s_plans, txn, p, 1, 2, s_day (4), &change, &r));
    CHECK_REFUSED (p, RB_ENOTFOUND, "milestone",
                   rb_plan_complete (s_plans, txn, p, 1, 4, s_day (4), &change, &r));
    CHECK_REFUSED (p, RB_ENOTFOUND, "milestone",
                   rb_plan_complete (s_plans, txn, p, 1, 0, s_day (4), &change, &r));
    CHECK_REFUSED (p, RB_ENOTFOUND, "plan",
                   rb_plan_complete (s_plans, txn, p, 9, 1, s_day (4), &change, &r));
    CHECK_REFUSED (p, RB_ENOTFOUND, "plan",
                   rb_plan_complete (s_plans, txn, s_case (7), 1, 1, s_day (4), &change, &r));
    CHECK_REFUSED (p, RB_EINVALID, "case_pseudonym",
                   rb_plan_complete (s_plans, txn, NULL, 1, 1, s_day (4), &change, &r));
    CHECK_REFUSED (p, RB_EINVALID, "today",
                   rb_plan_complete (s_plans, txn, p, 1, 1, 2026, &change, &r));
    CHECK_REFUSED (p, RB_EINVALID, "today",
                   rb_plan_complete (s_plans, txn, p, 1, 1, s_day (-1), &change, &r));
}

static void
s_test_revise_review (void)
{
    rb_test_section ("revise: open milestones replaced, completed kept, reviewed that day");
    const char *p = s_case (0);
    rb_plan_step_t fresh [] = { { "new intake", s_day (10) }, { "home visit", s_day (2) } };
    rb_plan_revision_t revision = { .replace_milestones = true, .milestones = fresh,
                                    .milestone_count = 2 };
    APPLY (rb_plan_revise (s_plans, txn, p, 1, &revision, s_day (5), &change, &r));
    CHECK_INT (change.event, RB_PLAN_REVISED);
    CHECK_INT (change.date, s_day (5));
    CHECK_STR (s_due (&change.due), "review 20261010; 4@20260917 5@20260909");
    rb_plan_t plan = s_get (p, 1);
    CHECK_UINT (plan.milestone_count, 3);
    CHECK_UINT (plan.milestones [0].number, 2);
    CHECK_INT (plan.milestones [0].completed_on, s_day (3));
    CHECK_STR (plan.milestones [2].label, "home visit");
    CHECK_INT (plan.reviewed_on, s_day (5));
    CHECK_INT (plan.review_interval_days, 28);
    CHECK_UINT (plan.next_milestone, 6);

    //  The interval alone; the milestones stay.
    revision = (rb_plan_revision_t) { .review_interval_days = 14 };
    APPLY (rb_plan_revise (s_plans, txn, p, 1, &revision, s_day (6), &change, &r));
    CHECK_STR (s_due (&change.due), "review 20260927; 4@20260917 5@20260909");
    CHECK_UINT (s_get (p, 1).milestone_count, 3);

    //  Replacing the open ones by none is fine while a completed one stays.
    revision = (rb_plan_revision_t) { .replace_milestones = true, .review_interval_days = 7 };
    APPLY (rb_plan_revise (s_plans, txn, p, 1, &revision, s_day (6), &change, &r));
    CHECK_STR (s_due (&change.due), "review 20260920;");
    revision = (rb_plan_revision_t) { .replace_milestones = true, .milestones = fresh,
                                      .milestone_count = 1 };
    APPLY (rb_plan_revise (s_plans, txn, p, 1, &revision, s_day (6), &change, &r));
    CHECK_STR (s_due (&change.due), "review 20260920; 6@20260917");

    rb_test_section ("revise: refusals");
    rb_plan_step_t steps [RB_PLAN_MILESTONES_MAX];
    for (int i = 0; i < RB_PLAN_MILESTONES_MAX; i++)
        steps [i] = (rb_plan_step_t) { "step", s_day (20) };
#define REVISE_REFUSED(code, field, plan_id, revision_p, day) \
    CHECK_REFUSED (p, code, field, \
                   rb_plan_revise (s_plans, txn, p, plan_id, revision_p, day, &change, &r))
    REVISE_REFUSED (RB_EMISSING, "revision", 1, NULL, s_day (7));
    revision = (rb_plan_revision_t) { .replace_milestones = false };
    REVISE_REFUSED (RB_EMISSING, "revision", 1, &revision, s_day (7));
    revision.review_interval_days = 366;
    REVISE_REFUSED (RB_EINVALID, "review_interval_days", 1, &revision, s_day (7));
    revision.review_interval_days = -3;
    REVISE_REFUSED (RB_EINVALID, "review_interval_days", 1, &revision, s_day (7));
    //  32 new next to the one completed milestone are too many; 31 fit.
    revision = (rb_plan_revision_t) { .replace_milestones = true, .milestones = steps,
                                      .milestone_count = RB_PLAN_MILESTONES_MAX };
    REVISE_REFUSED (RB_ETOOLARGE, "milestones", 1, &revision, s_day (7));
    steps [4].date = s_day (-1);                //  before the plan's creation
    revision.milestone_count = 5;
    REVISE_REFUSED (RB_EINVALID, "milestones[4].date", 1, &revision, s_day (7));
    steps [4].date = DAY0;                      //  on it: fine (checked below)
    steps [3].label = "\x7f";
    REVISE_REFUSED (RB_EINVALID, "milestones[3].label", 1, &revision, s_day (7));
    steps [3].label = "step";
    REVISE_REFUSED (RB_EINVALID, "today", 1, &revision, s_day (5));    //  before last review
    REVISE_REFUSED (RB_ENOTFOUND, "plan", 3, &revision, s_day (7));
    //  Plan 2 has no completed milestone: replacing by none leaves none.
    revision.milestone_count = 0;
    REVISE_REFUSED (RB_EMISSING, "milestones", 2, &revision, s_day (7));
    revision.milestone_count = RB_PLAN_MILESTONES_MAX - 1;
    APPLY (rb_plan_revise (s_plans, txn, p, 1, &revision, s_day (7), &change, &r));
    CHECK_UINT (change.due.count, RB_PLAN_MILESTONES_MAX - 1);
    CHECK_UINT (s_get (p, 1).milestone_count, RB_PLAN_MILESTONES_MAX);
    CHECK_INT (s_get (p, 1).milestones [5].date, DAY0);

    rb_test_section ("review: marks the plan reviewed, moves the review due date");
    APPLY (rb_plan_review (s_plans, txn, p, 2, s_day (1), &change, &r));
    CHECK_INT (change.event, RB_PLAN_REVIEWED);
    CHECK_UINT (change.plan_id, 2);
    CHECK_STR (s_due (&change.due), "review 20260909; 1@20260907 2@20260908");
    CHECK_INT (s_get (p, 2).reviewed_on, s_day (1));
    CHECK_REFUSED (p, RB_EINVALID, "today",
                   rb_plan_review (s_plans, txn, p, 2, DAY0, &change, &r));
    CHECK_REFUSED (p, RB_ENOTFOUND, "plan",
                   rb_plan_review (s_plans, txn, p, 0, s_day (1), &change, &r));
    CHECK_REFUSED (p, RB_EINVALID, "case_pseudonym",
                   rb_plan_review (s_plans, txn, "", 2, s_day (1), &change, &r));
#undef REVISE_REFUSED
}

static void
s_test_stalled (void)
{
    rb_test_section ("stalled: a date passed or a review overdue; each stall recorded once");
    const char *p = s_case (1);
    rb_plan_t plan = s_get (p, 1);              //  intake 09-14, visit 09-21, eval 10-05
    rb_plan_stall_t why [RB_PLAN_STALLS_MAX];
    size_t n = 99;
    CHECK (!rb_plan_stalled (&plan, 20260914, why, RB_PLAN_STALLS_MAX, &n));
    CHECK_UINT (n, 0);
    CHECK (rb_plan_stalled (&plan, 20260915, why, RB_PLAN_STALLS_MAX, &n));
    CHECK_UINT (n, 1);
    CHECK_INT (why [0].kind, RB_PLAN_STALL_MILESTONE);
    CHECK_UINT (why [0].milestone, 1);
    CHECK_INT (why [0].due, 20260914);
    CHECK (!why [0].recorded);
    CHECK (rb_plan_stalled (&plan, 20261006, why, RB_PLAN_STALLS_MAX, &n));
    CHECK_UINT (n, 3);
    CHECK (rb_plan_stalled (&plan, 20261006, why, 0, &n));  //  no room: still stalled
    CHECK_UINT (n, 0);

    bool recorded = false;
    rb_plan_stall_t stall = { .kind = RB_PLAN_STALL_MILESTONE, .milestone = 1, .due = 20260914 };
    APPLY (rb_plan_record_stall (s_plans, txn, p, 1, &stall, 20260915, &recorded, &change, &r));
    CHECK (recorded);
    CHECK_INT (change.event, RB_PLAN_STALLED);
    CHECK_INT (change.stall.kind, RB_PLAN_STALL_MILESTONE);
    CHECK_UINT (change.stall.milestone, 1);
    CHECK_INT (change.stall.due, 20260914);
    CHECK_UINT (change.stalls, 1);
    CHECK_STR (s_due (&change.due), "review 20270907; 1@20260914 2@20260921 3@20261005");
    //  Again, the next day: recorded already, nothing changes.
    rb_refusal_t r;
    rb_txn_t *txn = s_write ();
    CHECK_INT (rb_plan_record_stall (s_plans, txn, p, 1, &stall, 20260916, &recorded, &change, &r),
               RB_OK);
    CHECK (!recorded);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    plan = s_get (p, 1);
    CHECK_UINT (plan.stalls, 1);
    CHECK (plan.milestones [0].stalled);
    CHECK (rb_plan_stalled (&plan, 20260916, why, RB_PLAN_STALLS_MAX, &n));
    CHECK (why [0].recorded);

    //  A second milestone passing is a second stall: the ladder escalates.
    stall = (rb_plan_stall_t) { .kind = RB_PLAN_STALL_MILESTONE, .milestone = 2, .due = 20260921 };
    APPLY (rb_plan_record_stall (s_plans, txn, p, 1, &stall, 20260922, &recorded, &change, &r));
    CHECK_UINT (change.stalls, 2);

    rb_test_section ("stalled review: once per review period");
    p = s_case (0);
    plan = s_get (p, 2);                        //  reviewed 09-08, every day
    CHECK (rb_plan_stalled (&plan, 20260910, why, RB_PLAN_STALLS_MAX, &n));
    CHECK_UINT (n, 3);
    CHECK_INT (why [2].kind, RB_PLAN_STALL_REVIEW);
    CHECK_UINT (why [2].milestone, 0);
    CHECK_INT (why [2].due, 20260909);
    stall = why [2];
    APPLY (rb_plan_record_stall (s_plans, txn, p, 2, &stall, 20260910, &recorded, &change, &r));
    CHECK (recorded);
    CHECK_UINT (change.stalls, 1);
    txn = s_write ();
    CHECK_INT (rb_plan_record_stall (s_plans, txn, p, 2, &stall, 20260911, &recorded, &change, &r),
               RB_OK);
    CHECK (!recorded);
    rb_txn_destroy (&txn);
    //  Reviewed: a new period, whose passing is a new stall.
    APPLY (rb_plan_review (s_plans, txn, p, 2, 20260911, &change, &r));
    CHECK_UINT (change.stalls, 1);
    stall.due = 20260912;
    CHECK_REFUSED (p, RB_EPRECONDITION, "stall.due",
                   rb_plan_record_stall (s_plans, txn, p, 2, &stall, 20260912, &recorded,
                                         &change, &r));     //  due today: not passed yet
    APPLY (rb_plan_record_stall (s_plans, txn, p, 2, &stall, 20260913, &recorded, &change, &r));
    CHECK (recorded);
    CHECK_UINT (change.stalls, 2);
    CHECK_INT (s_get (p, 2).review_stalled_due, 20260912);

    rb_test_section ("record a stall: refusals");
#define STALL_REFUSED(code, field, stall_p, day) \
    CHECK_REFUSED (p, code, field, \
                   rb_plan_record_stall (s_plans, txn, p, 2, stall_p, day, &recorded, \
                                         &change, &r))
    STALL_REFUSED (RB_EMISSING, "stall", NULL, 20260920);
    stall = (rb_plan_stall_t) { .kind = 3, .due = 20260912 };
    STALL_REFUSED (RB_EINVALID, "stall.kind", &stall, 20260920);
    stall = (rb_plan_stall_t) { .kind = RB_PLAN_STALL_REVIEW, .due = 20260909 };    //  old period
    STALL_REFUSED (RB_EPRECONDITION, "stall.due", &stall, 20260920);
    stall = (rb_plan_stall_t) { .kind = RB_PLAN_STALL_MILESTONE, .milestone = 7, .due = DAY0 };
    STALL_REFUSED (RB_ENOTFOUND, "stall.milestone", &stall, 20260920);
    stall.milestone = 1;
    stall.due = 20260908;                       //  not milestone 1's date
    STALL_REFUSED (RB_EPRECONDITION, "stall.due", &stall, 20260920);
    APPLY (rb_plan_complete (s_plans, txn, p, 2, 1, 20260920, &change, &r));
    stall.due = DAY0;
    STALL_REFUSED (RB_EPRECONDITION, "stall.milestone", &stall, 20260920);
    STALL_REFUSED (RB_EINVALID, "today", &stall, 20260230);
#undef STALL_REFUSED
}

static void
s_test_close (void)
{
    rb_test_section ("close: no timers, never stalled, every further change refused");
    const char *p = s_case (1);
    APPLY (rb_plan_close (s_plans, txn, p, 1, 20261010, &change, &r));
    CHECK_INT (change.event, RB_PLAN_CLOSED);
    CHECK_UINT (change.stalls, 2);
    CHECK_STR (s_due (&change.due), "review 0;");
    rb_plan_t plan = s_get (p, 1);
    CHECK (plan.closed);
    CHECK_INT (plan.closed_on, 20261010);
    rb_plan_due_t due;
    rb_plan_due (&plan, &due);
    CHECK_UINT (due.count, 0);
    rb_plan_stall_t why [RB_PLAN_STALLS_MAX];
    size_t n = 99;
    CHECK (!rb_plan_stalled (&plan, 20301010, why, RB_PLAN_STALLS_MAX, &n));
    CHECK_UINT (n, 0);

    rb_plan_revision_t revision = { .review_interval_days = 3 };
    rb_plan_stall_t stall = { .kind = RB_PLAN_STALL_MILESTONE, .milestone = 3, .due = 20261005 };
    bool recorded;
    CHECK_REFUSED (p, RB_EPRECONDITION, "plan",
                   rb_plan_close (s_plans, txn, p, 1, 20261011, &change, &r));
    CHECK_REFUSED (p, RB_EPRECONDITION, "plan",
                   rb_plan_complete (s_plans, txn, p, 1, 3, 20261011, &change, &r));
    CHECK_REFUSED (p, RB_EPRECONDITION, "plan",
                   rb_plan_revise (s_plans, txn, p, 1, &revision, 20261011, &change, &r));
    CHECK_REFUSED (p, RB_EPRECONDITION, "plan",
                   rb_plan_review (s_plans, txn, p, 1, 20261011, &change, &r));
    CHECK_REFUSED (p, RB_EPRECONDITION, "plan",
                   rb_plan_record_stall (s_plans, txn, p, 1, &stall, 20261011, &recorded,
                                         &change, &r));
    //  The case's other plan goes on.
    APPLY (rb_plan_review (s_plans, txn, p, 2, 20261011, &change, &r));
}

static void
s_test_limit (void)
{
    rb_test_section ("a case holds at most 64 plans, closed ones included");
    const char *p = s_case (3);
    s_open_case (3);
    rb_plan_spec_t spec = s_spec (RB_PLAN_TYPE_OTHER, "care-c", RB_ROLE_JEUGDHULP);
    for (uint32_t i = 1; i <= RB_PLAN_MAX_PER_CASE; i++) {
        APPLY (rb_plan_register (s_plans, txn, p, &spec, DAY0, &change, &r));
        CHECK_UINT (change.plan_id, i);
        APPLY (rb_plan_close (s_plans, txn, p, i, DAY0, &change, &r));
    }
    CHECK_REFUSED (p, RB_ETOOLARGE, "plans",
                   rb_plan_register (s_plans, txn, p, &spec, DAY0, &change, &r));
}

static void
s_test_atomic (void)
{
    rb_test_section ("a destroyed transaction leaves no plan; the id is not used up");
    const char *p = s_case (4);
    s_open_case (4);
    rb_plan_spec_t spec = s_spec (RB_PLAN_TYPE_CARE, "care-c", RB_ROLE_JEUGDHULP);
    rb_refusal_t r;
    rb_txn_t *txn = s_write ();
    CHECK_INT (rb_plan_register (s_plans, txn, p, &spec, DAY0, &change, &r), RB_OK);
    rb_txn_destroy (&txn);
    APPLY (rb_plan_register (s_plans, txn, p, &spec, DAY0, &change, &r));
    CHECK_UINT (change.plan_id, 1);
    //  A NULL change is allowed: the caller wants no report.
    APPLY (rb_plan_review (s_plans, txn, p, 1, s_day (1), NULL, &r));
    CHECK_INT (s_get (p, 1).reviewed_on, s_day (1));
}

static void
s_test_damaged (void)
{
    rb_test_section ("a damaged record is a storage error, never trusted");
    const char *p = s_case (5);
    s_open_case (5);
    rb_plan_spec_t spec = s_spec (RB_PLAN_TYPE_CARE, "care-c", RB_ROLE_JEUGDHULP);
    APPLY (rb_plan_register (s_plans, txn, p, &spec, DAY0, &change, &r));
    rb_table_t table;
    CHECK_INT (rb_store_table (s_store, RB_PLAN_TABLE, &table), RB_OK);
    uint8_t key [RB_PSEUDONYM_LEN + 4] = { 0 };
    memcpy (key, p, RB_PSEUDONYM_LEN);
    key [RB_PSEUDONYM_LEN + 3] = 1;
    rb_txn_t *txn = s_write ();
    rb_val_t value;
    CHECK_INT (rb_txn_get (txn, table, (rb_val_t) { key, sizeof key }, &value), RB_OK);
    uint8_t bytes [4096];
    CHECK (value.size <= sizeof bytes);
    memcpy (bytes, value.data, value.size);
    size_t size = value.size;
    const struct { size_t at; uint8_t byte; size_t size; } damage [] = {
        { 0, 2, size },                 //  another version
        { 1, 9, size },                 //  no such type
        { 2, 0x80, size },              //  unknown flag
        { 0, 1, size - 1 },             //  cut short
        { 0, 1, size + 1 }              //  a byte too many
    };
    rb_plan_t plan;
    rb_refusal_t r;
    for (size_t i = 0; i < sizeof damage / sizeof damage [0]; i++) {
        uint8_t copy [4096] = { 0 };
        memcpy (copy, bytes, size);
        copy [damage [i].at] = damage [i].byte;
        CHECK_INT (rb_txn_put (txn, table, (rb_val_t) { key, sizeof key },
                               (rb_val_t) { copy, damage [i].size }), RB_OK);
        CHECK_INT (rb_plan_get (s_plans, txn, p, 1, &plan), RB_ESTORE);
        CHECK_INT (rb_plan_review (s_plans, txn, p, 1, DAY0, &change, &r), RB_ESTORE);
        CHECK_INT (r.code, RB_ESTORE);
        size_t count;
        CHECK_INT (rb_plan_list (s_plans, txn, p, &plan, 1, &count), RB_ESTORE);
    }
    rb_txn_destroy (&txn);
    CHECK_INT (s_get (p, 1).type, RB_PLAN_TYPE_CARE);
}

static void
s_test_durable (void)
{
    rb_test_section ("the plans are on disk: reopening the store finds them intact");
    static char before [5][S_DUMP_MAX], after [5][S_DUMP_MAX];
    rb_txn_t *txn = s_write ();
    for (unsigned i = 0; i < 5; i++)
        s_dump (txn, s_case (i), before [i]);
    rb_txn_destroy (&txn);
    rb_plan_register_destroy (&s_plans);
    CHECK (s_plans == NULL);
    rb_plan_register_destroy (&s_plans);        //  idempotent
    rb_regie_destroy (&s_regie);
    rb_store_destroy (&s_store);

    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_regie = rb_regie_new (s_store);
    s_plans = rb_plan_register_new (s_store, s_regie);
    CHECK (s_regie && s_plans);
    txn = s_write ();
    for (unsigned i = 0; i < 5; i++) {
        s_dump (txn, s_case (i), after [i]);
        CHECK_STR (after [i], before [i]);
    }
    rb_txn_destroy (&txn);
    CHECK (strstr (before [0], "stalls 2 review stall 20260912"));
    CHECK (strstr (before [1], "closed 1/20261010 stalls 2"));
    //  And it goes on: the next plan of case 0 is 3.
    rb_plan_spec_t spec = s_spec (RB_PLAN_TYPE_OPP, "school-a", RB_ROLE_SCHOOL_MENTOR);
    rb_plan_step_t later [] = { { "evaluation", s_day (40) } };
    spec.milestones = later;
    spec.milestone_count = 1;
    APPLY (rb_plan_register (s_plans, txn, s_case (0), &spec, s_day (30), &change, &r));
    CHECK_UINT (change.plan_id, 3);
    CHECK_STR (s_due (&change.due), "review 20261104; 1@20261017");
}

int
main (void)
{
    rb_test_begin ("plan");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_regie = rb_regie_new (s_store);
    CHECK (s_regie);
    s_plans = rb_plan_register_new (s_store, s_regie);
    CHECK (s_plans);
    s_open_case (0);

    s_test_register ();
    s_test_register_refusals ();
    s_test_complete ();
    s_test_revise_review ();
    s_test_stalled ();
    s_test_close ();
    s_test_limit ();
    s_test_atomic ();
    s_test_damaged ();
    s_test_durable ();
    rb_plan_register_destroy (&s_plans);
    rb_regie_destroy (&s_regie);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
