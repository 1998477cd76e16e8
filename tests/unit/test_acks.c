/*  unit_acks: the watch on acknowledgements (services/municipality/rb_acks.h).
 *
 *  A copy that expects an action is watched with a durable timer; an
 *  acknowledgement cancels it and is recorded once; a timer that comes
 *  first asks for a reminder, then (once more) for an escalation, then
 *  nothing. Reminders and escalations about acknowledgements are never
 *  watched themselves. Refusals name their field.
 */
#include "rb_test.h"
#include "rb_acks.h"
#include <stdio.h>

#define T0 1790000000000LL
#define HOUR (3600LL * 1000)
#define DAY (24 * HOUR)

static rb_store_t *s_store;
static rb_timers_t *s_timers;
static rb_acks_t *s_acks;
static rb_acks_policy_t s_policy = { RB_ACKS_ACTION, 3 * DAY, 2 * DAY };
static char s_cases [4][65];
static uint8_t s_ids [4][16];

static const char *
s_case (unsigned i)
{
    snprintf (s_cases [i], sizeof s_cases [i], "%064x", 0xac00u + i);
    return s_cases [i];
}

//  Copy for node/role of notification i, expecting action.
static Regiebus__Notification
s_copy (unsigned i, Regiebus__Actor *actor, const char *node, int role, int action)
{
    memset (s_ids [i], 0xa0 + (int) i, 16);
    regiebus__actor__init (actor);
    actor->node = (char *) node;
    actor->role = (Regiebus__Role) role;
    Regiebus__Notification n = REGIEBUS__NOTIFICATION__INIT;
    n.notification_id.data = s_ids [i];
    n.notification_id.len = 16;
    n.subject = REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL;
    n.recipient = actor;
    n.expected = (Regiebus__ExpectedAction) action;
    return n;
}

//  The one due timer at now, or "" when none.
static int
s_first_due (const rb_timer_t *timer, void *arg)
{
    snprintf (arg, RB_TIMER_ID_MAX + 1, "%s", timer->id);
    return 1;
}

static void
s_due (rb_txn_t *txn, int64_t now, char *id)
{
    *id = 0;
    CHECK_INT (rb_timers_due (s_timers, txn, now, NULL, 1, s_first_due, id), RB_OK);
}

//  Fire it as the dispatcher does: deleted first, then its effect.
static void
s_fire (rb_txn_t *txn, const char *id, int64_t now, rb_ack_due_t *due)
{
    rb_refusal_t r;
    CHECK_INT (rb_timers_fire (s_timers, txn, id, &r), RB_OK);
    CHECK_INT (rb_acks_fire (s_acks, txn, &s_policy, id, now, due, &r), RB_OK);
}

static void
s_test_watch (void)
{
    rb_test_section ("a copy that expects an action is watched; an FYI copy is not");
    rb_txn_t *txn;
    rb_refusal_t r;
    bool watched;
    char id [RB_TIMER_ID_MAX + 1];
    Regiebus__Actor a, b;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    Regiebus__Notification act = s_copy (0, &a, "school-a", RB_ROLE_SCHOOL_MENTOR,
                                         REGIEBUS__EXPECTED_ACTION__CONTACT_PARENTS);
    Regiebus__Notification fyi = s_copy (1, &b, "care-a", RB_ROLE_JEUGDHULP,
                                         REGIEBUS__EXPECTED_ACTION__NO_ACTION);
    CHECK_INT (rb_acks_sent (s_acks, txn, &s_policy, s_case (0), &fyi, T0, &watched, &r), RB_OK);
    CHECK (!watched);
    CHECK_INT (rb_acks_sent (s_acks, txn, &s_policy, s_case (0), &act, T0, &watched, &r), RB_OK);
    CHECK (watched);
    rb_actor_t school = rb_regie_actor ("school-a", RB_ROLE_SCHOOL_MENTOR);
    CHECK_INT (rb_acks_state (s_acks, txn, s_ids [0], &school), RB_ACK_WAITING);
    s_due (txn, T0 + 3 * DAY - 1, id);
    CHECK_STR (id, "");
    s_due (txn, T0 + 3 * DAY, id);
    CHECK (rb_acks_is_timer (id));
    CHECK_UINT (strlen (id), 4 + 32);

    rb_test_section ("acknowledged: the timer goes, the ack is recorded once");
    rb_ack_state_t before;
    CHECK_INT (rb_acks_acked (s_acks, txn, s_case (0), s_ids [0], &school, T0 + HOUR, &before, &r), RB_OK);
    CHECK_INT (before, RB_ACK_WAITING);
    CHECK_INT (rb_acks_state (s_acks, txn, s_ids [0], &school), RB_ACK_ACKED);
    s_due (txn, T0 + 30 * DAY, id);
    CHECK_STR (id, "");
    CHECK_INT (rb_acks_acked (s_acks, txn, s_case (0), s_ids [0], &school, T0 + 2 * HOUR, &before, &r), RB_OK);
    CHECK_INT (before, RB_ACK_ACKED);
    //  An FYI copy's ack is recorded too.
    rb_actor_t care = rb_regie_actor ("care-a", RB_ROLE_JEUGDHULP);
    CHECK_INT (rb_acks_acked (s_acks, txn, s_case (0), s_ids [1], &care, T0 + HOUR, &before, &r), RB_OK);
    CHECK_INT (before, 0);
    CHECK_INT (rb_acks_state (s_acks, txn, s_ids [1], &care), RB_ACK_ACKED);
    //  scope all: the FYI copy is watched.
    rb_acks_policy_t all = s_policy;
    all.scope = RB_ACKS_ALL;
    fyi = s_copy (2, &b, "care-a", RB_ROLE_JEUGDHULP, REGIEBUS__EXPECTED_ACTION__NO_ACTION);
    CHECK_INT (rb_acks_sent (s_acks, txn, &all, s_case (0), &fyi, T0, &watched, &r), RB_OK);
    CHECK (watched);
    CHECK_INT (rb_acks_acked (s_acks, txn, s_case (0), s_ids [2], &care, T0 + HOUR, &before, &r), RB_OK);
    CHECK_INT (before, RB_ACK_WAITING);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

static void
s_test_fire (void)
{
    rb_test_section ("not acknowledged: a reminder, then an escalation, then nothing");
    rb_txn_t *txn;
    rb_refusal_t r;
    char id [RB_TIMER_ID_MAX + 1];
    Regiebus__Actor a;
    rb_ack_due_t due;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    Regiebus__Notification act = s_copy (3, &a, "portal-a", RB_ROLE_PARENT,
                                         REGIEBUS__EXPECTED_ACTION__CONTACT_SCHOOL);
    CHECK_INT (rb_acks_sent (s_acks, txn, &s_policy, s_case (1), &act, T0, NULL, &r), RB_OK);
    s_due (txn, T0 + 3 * DAY, id);
    CHECK (*id);
    s_fire (txn, id, T0 + 3 * DAY, &due);
    CHECK_INT (due.step, RB_ACK_REMIND);
    CHECK_UINT (due.reminder, 1);
    CHECK_STR (due.case_pseudonym, s_case (1));
    CHECK (due.copy && due.copy->notification_id.len == 16);
    CHECK (memcmp (due.copy->notification_id.data, s_ids [3], 16) == 0);
    CHECK_INT (due.sent_at_ms, T0);
    rb_acks_due_clear (&due);
    //  The reminder itself is never watched.
    act.reminder = 1;
    bool watched;
    CHECK_INT (rb_acks_sent (s_acks, txn, &s_policy, s_case (1), &act, T0, &watched, &r), RB_OK);
    CHECK (!watched);
    s_due (txn, T0 + 5 * DAY - 1, id);
    CHECK_STR (id, "");
    s_due (txn, T0 + 5 * DAY, id);
    s_fire (txn, id, T0 + 5 * DAY, &due);
    CHECK_INT (due.step, RB_ACK_ESCALATE);
    rb_acks_due_clear (&due);
    rb_actor_t parent = rb_regie_actor ("portal-a", RB_ROLE_PARENT);
    CHECK_INT (rb_acks_state (s_acks, txn, s_ids [3], &parent), RB_ACK_ESCALATED);
    //  A timer that comes again after the end (set by hand) does nothing.
    CHECK_INT (rb_acks_fire (s_acks, txn, &s_policy, id, T0 + 6 * DAY, &due, &r), RB_OK);
    CHECK_INT (due.step, RB_ACK_NOTHING);
    CHECK (!due.copy);
    s_due (txn, T0 + 60 * DAY, id);
    CHECK_STR (id, "");
    //  A late ack still counts.
    rb_ack_state_t before;
    CHECK_INT (rb_acks_acked (s_acks, txn, s_case (1), s_ids [3], &parent, T0 + 7 * DAY, &before, &r), RB_OK);
    CHECK_INT (before, RB_ACK_ESCALATED);

    rb_test_section ("an escalation about an acknowledgement is not watched");
    Regiebus__Escalation esc = REGIEBUS__ESCALATION__INIT;
    esc.step = REGIEBUS__ESCALATION_STEP__ESCALATION_UNACKNOWLEDGED;
    Regiebus__Notification e = s_copy (3, &a, "mun-a", RB_ROLE_DUTY_DESK, REGIEBUS__EXPECTED_ACTION__ASSESS_CASE);
    e.subject = REGIEBUS__EVENT_KIND__ESCALATION;
    e.escalation = &esc;
    CHECK_INT (rb_acks_sent (s_acks, txn, &s_policy, s_case (1), &e, T0, &watched, &r), RB_OK);
    CHECK (!watched);
    esc.step = REGIEBUS__ESCALATION_STEP__ESCALATION_DOORBRAAKTEAM;
    CHECK_INT (rb_acks_sent (s_acks, txn, &s_policy, s_case (1), &e, T0, &watched, &r), RB_OK);
    CHECK (watched);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

static void
s_test_refusals (void)
{
    rb_test_section ("refusals name their field and write nothing");
    rb_txn_t *txn;
    rb_refusal_t r;
    rb_ack_due_t due;
    Regiebus__Actor a;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    rb_acks_policy_t bad = s_policy;
    bad.scope = 3;
    CHECK_INT (rb_acks_policy_check (&bad, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "scope");
    bad = s_policy;
    bad.remind_after_ms = 1000;
    CHECK_INT (rb_acks_policy_check (&bad, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "remind_after_ms");
    bad = s_policy;
    bad.escalate_after_ms = 400 * DAY;
    CHECK_INT (rb_acks_policy_check (&bad, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "escalate_after_ms");
    CHECK_INT (rb_acks_policy_check (&s_policy, &r), RB_OK);

    Regiebus__Notification n = s_copy (0, &a, "school-a", RB_ROLE_SCHOOL_MENTOR,
                                       REGIEBUS__EXPECTED_ACTION__CONTACT_PARENTS);
    CHECK_INT (rb_acks_sent (s_acks, txn, &s_policy, "nope", &n, T0, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "case_pseudonym");
    n.notification_id.len = 3;
    CHECK_INT (rb_acks_sent (s_acks, txn, &s_policy, s_case (2), &n, T0, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "copy");
    n = s_copy (0, &a, "School A", RB_ROLE_SCHOOL_MENTOR, REGIEBUS__EXPECTED_ACTION__CONTACT_PARENTS);
    CHECK_INT (rb_acks_sent (s_acks, txn, &s_policy, s_case (2), &n, T0, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "recipient.node");
    rb_actor_t school = rb_regie_actor ("school-a", RB_ROLE_SCHOOL_MENTOR);
    rb_actor_t nobody = rb_regie_actor ("school-a", RB_ROLE_UNSPECIFIED);
    CHECK_INT (rb_acks_acked (s_acks, txn, s_case (2), s_ids [0], &nobody, T0, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "recipient.role");
    CHECK_INT (rb_acks_acked (s_acks, txn, s_case (2), NULL, &school, T0, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "notification_id");
    //  Notification 0 was about case 0: not about case 2.
    CHECK_INT (rb_acks_acked (s_acks, txn, s_case (2), s_ids [0], &school, T0, NULL, &r), RB_EDENIED);
    CHECK_REFUSAL (&r, RB_EDENIED, "case_pseudonym");
    CHECK_INT (rb_acks_fire (s_acks, txn, &s_policy, "plan/1", T0, &due, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "id");
    CHECK (!rb_acks_is_timer ("esc/00"));
    rb_txn_destroy (&txn);
}

int
main (void)
{
    rb_test_begin ("acks");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_timers = rb_timers_new (s_store);
    CHECK (s_timers);
    s_acks = rb_acks_new (s_store, s_timers);
    CHECK (s_acks);
    s_test_watch ();
    s_test_fire ();
    s_test_refusals ();
    rb_acks_destroy (&s_acks);
    rb_timers_destroy (&s_timers);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
