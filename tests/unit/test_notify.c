/*  unit_notify: who gets what (services/municipality/rb_notify.h).
 *
 *  One notification per cause, one copy per recipient actor: each copy
 *  names its recipient, every other recipient, what that role is expected
 *  to do and by when (weekdays after the signal's date, the report's first
 *  day, or today for a register change), and where it started. All copies
 *  share an id derived from the causing event and the notification's
 *  index, so a handler applied again writes the same ids. Bad causes are
 *  refused with the field named.
 */
#include "rb_test.h"
#include "rb_notify.h"
#include "rb_calendar.h"
#include <stdio.h>
#include <stdlib.h>

#define MONDAY 20261123
#define FRIDAY 20261127
#define SATURDAY 20261128
#define NEXT_MONDAY 20261130

static const uint8_t s_event [16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

//  A case's holders as the register lists them: by node, then role.
static rb_actor_t s_holders [4];
#define S_HOLDERS 4

static void
s_holders_set (void)
{
    s_holders [0] = rb_regie_actor ("care-a", RB_ROLE_JEUGDHULP);
    s_holders [1] = rb_regie_actor ("mun-a", RB_ROLE_LEERPLICHT);
    s_holders [2] = rb_regie_actor ("portal-a", RB_ROLE_PARENT);
    s_holders [3] = rb_regie_actor ("school-a", RB_ROLE_SCHOOL_MENTOR);
}

static void
s_hex (const uint8_t *bytes, size_t size, char *out)
{
    for (size_t i = 0; i < size; i++)
        sprintf (out + 2 * i, "%02x", bytes [i]);
}

//  What recipient is expected to do about cause, as "action by".
static const char *
s_expected (const rb_notify_cause_t *cause, rb_role_t role)
{
    static char text [32];
    rb_actor_t actor = rb_regie_actor ("somewhere", role);
    int action;
    int32_t by;
    rb_notify_expected (cause, &actor, &action, &by);
    snprintf (text, sizeof text, "%d %d", action, (int) by);
    return text;
}

//  The same, with the expected action's number and date spelled out.
static const char *
s_want (int action, int32_t by)
{
    static char text [32];
    snprintf (text, sizeof text, "%d %d", action, (int) by);
    return text;
}

#define NO_ACTION REGIEBUS__EXPECTED_ACTION__NO_ACTION
#define CONTACT_PARENTS REGIEBUS__EXPECTED_ACTION__CONTACT_PARENTS
#define CONTACT_SCHOOL REGIEBUS__EXPECTED_ACTION__CONTACT_SCHOOL
#define ASSESS_CASE REGIEBUS__EXPECTED_ACTION__ASSESS_CASE

//  A packed copy must decode as what it was.
static void
s_check_wire (const Regiebus__Notification *n)
{
    size_t size = regiebus__notification__get_packed_size (n);
    uint8_t *bytes = malloc (size + 1);
    CHECK (bytes);
    regiebus__notification__pack (n, bytes);
    Regiebus__Notification *back = regiebus__notification__unpack (NULL, size, bytes);
    CHECK (back);
    CHECK_INT (back->subject, n->subject);
    CHECK_STR (back->recipient->node, n->recipient->node);
    CHECK_UINT (back->n_also_sent_to, n->n_also_sent_to);
    CHECK_INT (back->expected_by, n->expected_by);
    CHECK_UINT (back->notification_id.len, 16);
    CHECK (memcmp (back->notification_id.data, n->notification_id.data, 16) == 0);
    regiebus__notification__free_unpacked (back, NULL);
    free (bytes);
}


// ---------------------------------------------------------------------------

static void
s_test_dates_and_ids (void)
{
    rb_test_section ("deadlines count weekdays after the date");
    CHECK_INT (rb_notify_weekdays_after (MONDAY, 1), 20261124);
    CHECK_INT (rb_notify_weekdays_after (MONDAY, 5), NEXT_MONDAY);
    CHECK_INT (rb_notify_weekdays_after (FRIDAY, 1), NEXT_MONDAY);
    CHECK_INT (rb_notify_weekdays_after (SATURDAY, 1), NEXT_MONDAY);
    CHECK_INT (rb_notify_weekdays_after (SATURDAY, 5), 20261204);
    CHECK_INT (rb_notify_weekdays_after (FRIDAY, 0), FRIDAY);
    CHECK_INT (rb_notify_weekdays_after (20261231, 1), 20270101);
    CHECK_INT (rb_notify_weekdays_after (0, 1), 0);
    CHECK_INT (rb_notify_weekdays_after (20261131, 1), 0);
    CHECK_INT (rb_notify_weekdays_after (RB_CALENDAR_LAST_DATE, 1), 0);

    rb_test_section ("ids: the event id's first 8 bytes, then BLAKE2b-128 of event_id || index (big-endian) cut to 8; fixed values");
    uint8_t id [16];
    char hex [33];
    rb_notify_id (s_event, 0, id);
    s_hex (id, 16, hex);
    CHECK_STR (hex, "00010203040506073c835e122005224a");
    rb_notify_id (s_event, 1, id);
    s_hex (id, 16, hex);
    CHECK_STR (hex, "0001020304050607391d3b1faeca4299");
    rb_notify_id (s_event, 7, id);
    s_hex (id, 16, hex);
    CHECK_STR (hex, "000102030405060773146348665516cd");
    //  Caused later, sorted later: the ids keep their events' order.
    uint8_t later_event [16], later [16];
    memcpy (later_event, s_event, 16);
    later_event [5]++;
    rb_notify_id (later_event, 0, later);
    rb_notify_id (s_event, 7, id);
    CHECK (memcmp (id, later, 16) < 0);
}

static void
s_test_table (void)
{
    rb_test_section ("the expected-action table: absence signals");
    Regiebus__AbsenceSignal signal = REGIEBUS__ABSENCE_SIGNAL__INIT;
    signal.date = FRIDAY;
    rb_notify_cause_t cause = { .subject = REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL, .absence = &signal };
    int early [] = { REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE, REGIEBUS__ABSENCE_SIGNAL_KIND__STREAK };
    for (size_t i = 0; i < 2; i++) {
        signal.signal = early [i];
        CHECK_STR (s_expected (&cause, RB_ROLE_SCHOOL_MENTOR), s_want (CONTACT_PARENTS, NEXT_MONDAY));
        CHECK_STR (s_expected (&cause, RB_ROLE_PARENT), s_want (CONTACT_SCHOOL, NEXT_MONDAY));
        CHECK_STR (s_expected (&cause, RB_ROLE_LEERPLICHT), s_want (NO_ACTION, 0));
        CHECK_STR (s_expected (&cause, RB_ROLE_JEUGDHULP), s_want (NO_ACTION, 0));
    }
    signal.signal = REGIEBUS__ABSENCE_SIGNAL_KIND__LEGAL_THRESHOLD;
    CHECK_STR (s_expected (&cause, RB_ROLE_LEERPLICHT), s_want (ASSESS_CASE, 20261204));
    CHECK_STR (s_expected (&cause, RB_ROLE_PARENT), s_want (CONTACT_SCHOOL, 20261204));
    CHECK_STR (s_expected (&cause, RB_ROLE_SCHOOL_MENTOR), s_want (NO_ACTION, 0));
    CHECK_STR (s_expected (&cause, RB_ROLE_WIJKTEAM), s_want (NO_ACTION, 0));
    signal.signal = REGIEBUS__ABSENCE_SIGNAL_KIND__HIGH_RATE;
    CHECK_STR (s_expected (&cause, RB_ROLE_SCHOOL_MENTOR), s_want (CONTACT_PARENTS, NEXT_MONDAY));
    CHECK_STR (s_expected (&cause, RB_ROLE_LEERPLICHT), s_want (ASSESS_CASE, 20261204));
    CHECK_STR (s_expected (&cause, RB_ROLE_PARENT), s_want (NO_ACTION, 0));
    int quiet [] = { REGIEBUS__ABSENCE_SIGNAL_KIND__DAILY_DIGEST, REGIEBUS__ABSENCE_SIGNAL_KIND__EPISODE_CLOSED };
    for (size_t i = 0; i < 2; i++) {
        signal.signal = quiet [i];
        for (int role = RB_ROLE_SCHOOL_MENTOR; role <= RB_ROLE_MAX; role++)
            CHECK_STR (s_expected (&cause, (rb_role_t) role), s_want (NO_ACTION, 0));
    }

    rb_test_section ("the expected-action table: parent reports count from their first day");
    Regiebus__ParentReport report = REGIEBUS__PARENT_REPORT__INIT;
    report.from_date = MONDAY;
    report.until_date = FRIDAY;
    cause = (rb_notify_cause_t) { .subject = REGIEBUS__EVENT_KIND__PARENT_REPORT, .parent_report = &report };
    report.report = REGIEBUS__PARENT_REPORT_KIND__PARENT_SICKNESS;
    for (int role = RB_ROLE_SCHOOL_MENTOR; role <= RB_ROLE_MAX; role++)
        CHECK_STR (s_expected (&cause, (rb_role_t) role), s_want (NO_ACTION, 0));
    report.report = REGIEBUS__PARENT_REPORT_KIND__PARENT_HOME_SIGNAL;
    CHECK_STR (s_expected (&cause, RB_ROLE_SCHOOL_MENTOR), s_want (CONTACT_PARENTS, 20261124));
    CHECK_STR (s_expected (&cause, RB_ROLE_PARENT), s_want (NO_ACTION, 0));
    CHECK_STR (s_expected (&cause, RB_ROLE_LEERPLICHT), s_want (NO_ACTION, 0));

    rb_test_section ("the expected-action table: who joins as leerplicht or casusregisseur assesses");
    rb_regie_change_t change = { .actor = rb_regie_actor ("somewhere", RB_ROLE_LEERPLICHT), .joined = true };
    cause = (rb_notify_cause_t) { .subject = REGIEBUS__EVENT_KIND__REGIE_CHANGE, .change = &change,
                                  .today = SATURDAY };
    CHECK_STR (s_expected (&cause, RB_ROLE_LEERPLICHT), s_want (ASSESS_CASE, 20261204));
    CHECK_STR (s_expected (&cause, RB_ROLE_SCHOOL_MENTOR), s_want (NO_ACTION, 0));
    //  Another actor in the same role is not the one that joined.
    rb_actor_t other = rb_regie_actor ("elsewhere", RB_ROLE_LEERPLICHT);
    int action;
    int32_t by;
    rb_notify_expected (&cause, &other, &action, &by);
    CHECK_INT (action, NO_ACTION);
    CHECK_INT (by, 0);
    change.actor.role = RB_ROLE_CASUSREGISSEUR;
    CHECK_STR (s_expected (&cause, RB_ROLE_CASUSREGISSEUR), s_want (ASSESS_CASE, 20261204));
    //  A leave, or any other role joining, asks nothing of anyone.
    change.joined = false;
    CHECK_STR (s_expected (&cause, RB_ROLE_CASUSREGISSEUR), s_want (NO_ACTION, 0));
    change = (rb_regie_change_t) { .actor = rb_regie_actor ("somewhere", RB_ROLE_JEUGDHULP), .joined = true };
    CHECK_STR (s_expected (&cause, RB_ROLE_JEUGDHULP), s_want (NO_ACTION, 0));
}

static void
s_test_copies (void)
{
    rb_test_section ("a first absence: one copy per holder, the same id on every copy");
    s_holders_set ();
    Regiebus__AbsenceSignal signal = REGIEBUS__ABSENCE_SIGNAL__INIT;
    signal.signal = REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE;
    signal.date = FRIDAY;
    signal.school_location = "12AB00";
    rb_notify_cause_t cause = {
        .subject = REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL, .absence = &signal,
        .event_id = s_event, .index = 1, .today = SATURDAY, .from_node = "school-a"
    };
    rb_refusal_t r;
    rb_notify_t *notify = rb_notify_new (&cause, s_holders, S_HOLDERS, &r);
    CHECK (notify);
    CHECK_INT (r.code, RB_OK);
    CHECK_UINT (rb_notify_size (notify), S_HOLDERS);
    CHECK (rb_notify_get (notify, S_HOLDERS) == NULL);
    uint8_t id [16];
    rb_notify_id (s_event, 1, id);
    int actions [S_HOLDERS] = { NO_ACTION, NO_ACTION, CONTACT_SCHOOL, CONTACT_PARENTS };
    int32_t dates [S_HOLDERS] = { 0, 0, NEXT_MONDAY, NEXT_MONDAY };
    for (size_t i = 0; i < S_HOLDERS; i++) {
        const Regiebus__Notification *n = rb_notify_get (notify, i);
        CHECK (n);
        CHECK_UINT (n->notification_id.len, 16);
        CHECK (memcmp (n->notification_id.data, id, 16) == 0);
        CHECK_INT (n->subject, REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL);
        CHECK (n->absence == &signal);
        CHECK (n->parent_report == NULL && n->regie_change == NULL);
        CHECK_STR (n->recipient->node, s_holders [i].node);
        CHECK_INT (n->recipient->role, s_holders [i].role);
        CHECK_UINT (n->n_also_sent_to, S_HOLDERS - 1);
        for (size_t j = 0, k = 0; j < S_HOLDERS; j++) {
            if (j == i)
                continue;
            CHECK_STR (n->also_sent_to [k]->node, s_holders [j].node);
            CHECK_INT (n->also_sent_to [k]->role, s_holders [j].role);
            k++;
        }
        CHECK_INT (n->expected, actions [i]);
        CHECK_INT (n->expected_by, dates [i]);
        CHECK_STR (n->from_node, "school-a");
        s_check_wire (n);
    }
    rb_notify_destroy (&notify);
    CHECK (notify == NULL);
    rb_notify_destroy (&notify);                //  idempotent

    rb_test_section ("a register change: the change in every copy, the joiner asked to act");
    rb_regie_change_t change = {
        .actor = rb_regie_actor ("mun-a", RB_ROLE_LEERPLICHT), .joined = true,
        .since_ms = 1790000000000LL, .contact = "leerplicht, 020-5550000", .reason = "legal_threshold"
    };
    cause = (rb_notify_cause_t) {
        .subject = REGIEBUS__EVENT_KIND__REGIE_CHANGE, .change = &change,
        .event_id = s_event, .index = 0, .today = SATURDAY, .from_node = "school-a"
    };
    notify = rb_notify_new (&cause, s_holders, S_HOLDERS, &r);
    CHECK (notify);
    //  The caller's change may go; the copies keep their own.
    memset (&change, 0, sizeof change);
    rb_notify_id (s_event, 0, id);
    for (size_t i = 0; i < S_HOLDERS; i++) {
        const Regiebus__Notification *n = rb_notify_get (notify, i);
        CHECK (memcmp (n->notification_id.data, id, 16) == 0);
        CHECK_INT (n->subject, REGIEBUS__EVENT_KIND__REGIE_CHANGE);
        CHECK (n->regie_change && !n->absence);
        CHECK_STR (n->regie_change->actor->node, "mun-a");
        CHECK_INT (n->regie_change->actor->role, RB_ROLE_LEERPLICHT);
        CHECK (n->regie_change->joined);
        CHECK_INT (n->regie_change->since_ms, 1790000000000LL);
        CHECK_STR (n->regie_change->contact, "leerplicht, 020-5550000");
        CHECK_STR (n->regie_change->reason, "legal_threshold");
        CHECK_INT (n->expected, i == 1? ASSESS_CASE: NO_ACTION);
        CHECK_INT (n->expected_by, i == 1? 20261204: 0);
        s_check_wire (n);
    }
    rb_notify_destroy (&notify);

    rb_test_section ("one recipient: nobody else to name");
    Regiebus__ParentReport report = REGIEBUS__PARENT_REPORT__INIT;
    report.report = REGIEBUS__PARENT_REPORT_KIND__PARENT_HOME_SIGNAL;
    report.from_date = MONDAY;
    cause = (rb_notify_cause_t) {
        .subject = REGIEBUS__EVENT_KIND__PARENT_REPORT, .parent_report = &report,
        .event_id = s_event, .today = SATURDAY, .from_node = "portal-a"
    };
    notify = rb_notify_new (&cause, &s_holders [3], 1, &r);
    CHECK (notify);
    const Regiebus__Notification *n = rb_notify_get (notify, 0);
    CHECK_UINT (n->n_also_sent_to, 0);
    CHECK (n->parent_report == &report);
    CHECK_INT (n->expected, CONTACT_PARENTS);
    CHECK_INT (n->expected_by, 20261124);
    s_check_wire (n);
    rb_notify_destroy (&notify);

    rb_test_section ("the most recipients: a full case and an actor that left");
    rb_actor_t many [RB_NOTIFY_RECIPIENTS_MAX + 1];
    for (size_t i = 0; i <= RB_NOTIFY_RECIPIENTS_MAX; i++)
        many [i] = rb_regie_actor ("care-a", (rb_role_t) (1 + i % RB_ROLE_MAX));
    notify = rb_notify_new (&cause, many, RB_NOTIFY_RECIPIENTS_MAX, &r);
    CHECK (notify);
    CHECK_UINT (rb_notify_get (notify, RB_NOTIFY_RECIPIENTS_MAX - 1)->n_also_sent_to,
                RB_NOTIFY_RECIPIENTS_MAX - 1);
    rb_notify_destroy (&notify);
    CHECK (!rb_notify_new (&cause, many, RB_NOTIFY_RECIPIENTS_MAX + 1, &r));
    CHECK_REFUSAL (&r, RB_ETOOLARGE, "recipients");
}

//  rb_notify_new refuses cause with code and field.
#define CHECK_REFUSED(cause, recipients, count, code, field) do { \
    rb_refusal_t r_; \
    CHECK (rb_notify_new ((cause), (recipients), (count), &r_) == NULL); \
    CHECK_REFUSAL (&r_, (code), (field)); \
} while (0)

static void
s_test_refusals (void)
{
    rb_test_section ("bad causes and recipients are refused, naming the field");
    s_holders_set ();
    Regiebus__AbsenceSignal signal = REGIEBUS__ABSENCE_SIGNAL__INIT;
    signal.signal = REGIEBUS__ABSENCE_SIGNAL_KIND__STREAK;
    signal.date = FRIDAY;
    rb_notify_cause_t good = {
        .subject = REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL, .absence = &signal,
        .event_id = s_event, .today = SATURDAY, .from_node = "school-a"
    };
    rb_notify_cause_t bad = good;
    bad.subject = REGIEBUS__EVENT_KIND__ENROLMENT;
    CHECK_REFUSED (&bad, s_holders, S_HOLDERS, RB_EINVALID, "subject");
    bad = good;
    bad.absence = NULL;
    CHECK_REFUSED (&bad, s_holders, S_HOLDERS, RB_EMISSING, "absence");
    bad.subject = REGIEBUS__EVENT_KIND__PARENT_REPORT;
    CHECK_REFUSED (&bad, s_holders, S_HOLDERS, RB_EMISSING, "parent_report");
    bad.subject = REGIEBUS__EVENT_KIND__REGIE_CHANGE;
    CHECK_REFUSED (&bad, s_holders, S_HOLDERS, RB_EMISSING, "regie_change");
    bad = good;
    bad.event_id = NULL;
    CHECK_REFUSED (&bad, s_holders, S_HOLDERS, RB_EMISSING, "event_id");
    bad = good;
    bad.from_node = "School A";
    CHECK_REFUSED (&bad, s_holders, S_HOLDERS, RB_EINVALID, "from_node");
    bad.from_node = NULL;
    CHECK_REFUSED (&bad, s_holders, S_HOLDERS, RB_EINVALID, "from_node");
    signal.date = 20261301;
    CHECK_REFUSED (&good, s_holders, S_HOLDERS, RB_EINVALID, "date");
    signal.date = FRIDAY;
    CHECK_REFUSED (&good, s_holders, 0, RB_EMISSING, "recipients");
    CHECK_REFUSED (&good, NULL, 1, RB_EMISSING, "recipients");
    s_holders [2].node [0] = 0;
    CHECK_REFUSED (&good, s_holders, S_HOLDERS, RB_EINVALID, "recipients[2].node");
    s_holders_set ();
    s_holders [3].role = (rb_role_t) (RB_ROLE_MAX + 1);
    CHECK_REFUSED (&good, s_holders, S_HOLDERS, RB_EINVALID, "recipients[3].role");
    s_holders [3].role = RB_ROLE_UNSPECIFIED;
    CHECK_REFUSED (&good, s_holders, S_HOLDERS, RB_EINVALID, "recipients[3].role");
    //  A refusal without a refusal to fill is still a refusal.
    CHECK (rb_notify_new (&good, s_holders, S_HOLDERS, NULL) == NULL);
}

static void
s_test_plan_changes (void)
{
    rb_test_section ("a plan's change: the owner acts on a stall and a reminder, the others are told");
    s_holders_set ();
    Regiebus__Actor owner = REGIEBUS__ACTOR__INIT;
    owner.node = "school-a";
    owner.role = REGIEBUS__ROLE__SCHOOL_MENTOR;
    Regiebus__PlanChange change = REGIEBUS__PLAN_CHANGE__INIT;
    change.change = REGIEBUS__PLAN_CHANGE_KIND__PLAN_STALLED;
    change.owner = &owner;
    change.date = FRIDAY;
    change.due = 20261126;
    rb_notify_cause_t cause = {
        .subject = REGIEBUS__EVENT_KIND__PLAN_CHANGE, .plan_change = &change,
        .event_id = s_event, .today = SATURDAY, .from_node = "mun-a"
    };
    int action;
    int32_t by;
    rb_notify_expected (&cause, &s_holders [3], &action, &by);
    CHECK_INT (action, REGIEBUS__EXPECTED_ACTION__ASSESS_CASE);
    CHECK_INT (by, 20261201);           //  two weekdays after Friday
    rb_notify_expected (&cause, &s_holders [0], &action, &by);
    CHECK_INT (action, REGIEBUS__EXPECTED_ACTION__NO_ACTION);
    CHECK_INT (by, 0);
    //  Another school's mentor is not the owner.
    rb_actor_t other = rb_regie_actor ("school-b", RB_ROLE_SCHOOL_MENTOR);
    rb_notify_expected (&cause, &other, &action, &by);
    CHECK_INT (action, REGIEBUS__EXPECTED_ACTION__NO_ACTION);
    change.change = REGIEBUS__PLAN_CHANGE_KIND__PLAN_REMINDER;
    change.due = 20261202;
    rb_notify_expected (&cause, &s_holders [3], &action, &by);
    CHECK_INT (action, REGIEBUS__EXPECTED_ACTION__ASSESS_CASE);
    CHECK_INT (by, 20261202);           //  the milestone's date
    change.change = REGIEBUS__PLAN_CHANGE_KIND__PLAN_REGISTERED;
    rb_notify_expected (&cause, &s_holders [3], &action, &by);
    CHECK_INT (action, REGIEBUS__EXPECTED_ACTION__NO_ACTION);

    //  Every copy carries the change; without it the cause is refused.
    rb_refusal_t r;
    rb_notify_t *notify = rb_notify_new (&cause, s_holders, S_HOLDERS, &r);
    CHECK (notify);
    const Regiebus__Notification *n = rb_notify_get (notify, 2);
    CHECK_INT (n->subject, REGIEBUS__EVENT_KIND__PLAN_CHANGE);
    CHECK (n->plan_change == &change);
    CHECK (!n->absence && !n->parent_report && !n->regie_change);
    rb_notify_destroy (&notify);
    cause.plan_change = NULL;
    CHECK (rb_notify_new (&cause, s_holders, S_HOLDERS, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EMISSING, "plan_change");
}

int
main (void)
{
    rb_test_begin ("notify");
    s_test_dates_and_ids ();
    s_test_table ();
    s_test_copies ();
    s_test_refusals ();
    s_test_plan_changes ();
    return rb_test_end ();
}
