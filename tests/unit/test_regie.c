/*  unit_regie: the municipality's regie register (services/municipality/rb_regie.h).
 *
 *  Per case, which actors (node + role) hold a role since when, with a
 *  contact; every change is reported so the daemon can notify it; a node
 *  with no actor on a case does not hold it (need to know). The default
 *  policy turns the events of the brief's flows into joins and leaves: a
 *  new case starts with the school and the parents, leerplicht joins at the
 *  legal threshold (or at the first absence when the region says so), care
 *  joins when it registers involvement. Every refusal names its field and
 *  writes nothing, and the register survives reopening the store.
 */
#include "rb_test.h"
#include "rb_regie.h"
#include <stdio.h>

#define T0 1790000000000LL              //  some day in 2026, in ms
#define DAY_MS 86400000LL
#define WEEK_MS (7 * DAY_MS)
#define S_DUMP_MAX 16384

static rb_store_t *s_store;
static rb_regie_t *s_regie;
static rb_regie_policy_t s_policy;      //  the region's policy, as the daemon loads it
static char s_cases [16][RB_PSEUDONYM_LEN + 1];

//  The pseudonym of test case i: 64 lowercase hex characters.
static const char *
s_case (unsigned i)
{
    snprintf (s_cases [i], sizeof s_cases [i], "%064x", 0xca5e00u + i);
    return s_cases [i];
}

static rb_txn_t *
s_write (void)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    return txn;
}

//  Join or leave in a committed transaction of its own; returns changed.
static bool
s_join (const char *pseudonym, const char *node, rb_role_t role, const char *contact,
        const char *reason, int64_t now_ms)
{
    rb_actor_t actor = rb_regie_actor (node, role);
    rb_refusal_t r;
    bool changed = true;
    rb_txn_t *txn = s_write ();
    CHECK_INT (rb_regie_join (s_regie, txn, pseudonym, &actor, contact, reason, now_ms,
                              &changed, &r), RB_OK);
    CHECK_INT (r.code, RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    return changed;
}

static bool
s_leave (const char *pseudonym, const char *node, rb_role_t role, int64_t now_ms)
{
    rb_actor_t actor = rb_regie_actor (node, role);
    rb_refusal_t r;
    bool changed = true;
    rb_txn_t *txn = s_write ();
    CHECK_INT (rb_regie_leave (s_regie, txn, pseudonym, &actor, now_ms, &changed, &r), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    return changed;
}

static void
s_open (const char *pseudonym, int64_t now_ms)
{
    bool created;
    rb_refusal_t r;
    rb_txn_t *txn = s_write ();
    CHECK_INT (rb_regie_case_open (s_regie, txn, pseudonym, now_ms, &created, &r), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

//  The case's holders, read in a short read transaction.
static size_t
s_holders (const char *pseudonym, rb_regie_holder_t *out)
{
    rb_txn_t *txn;
    size_t count = 99;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_regie_holders (s_regie, txn, pseudonym, out, RB_REGIE_MAX_HOLDERS, &count), RB_OK);
    rb_txn_destroy (&txn);
    return count;
}

static bool
s_holds (const char *pseudonym, const char *node)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    bool holds = rb_regie_node_holds (s_regie, txn, pseudonym, node);
    rb_txn_destroy (&txn);
    return holds;
}

//  The case's distinct nodes joined with spaces ("care-c mun portal-b").
static const char *
s_nodes (const char *pseudonym)
{
    static char text [RB_REGIE_MAX_HOLDERS * (RB_NAME_MAX + 1)];
    char nodes [RB_REGIE_MAX_HOLDERS][RB_NAME_MAX + 1];
    size_t count = 99;
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_regie_nodes (s_regie, txn, pseudonym, nodes, RB_REGIE_MAX_HOLDERS, &count), RB_OK);
    rb_txn_destroy (&txn);
    text [0] = 0;
    for (size_t i = 0; i < count; i++) {
        if (i)
            strcat (text, " ");
        strcat (text, nodes [i]);
    }
    return text;
}

//  Everything the register holds about a case, as text, read in txn: so a
//  refusal can be shown to have written nothing.
static void
s_dump (rb_txn_t *txn, const char *pseudonym, char *out)
{
    rb_regie_case_t record;
    rb_err_t rc = rb_regie_case_get (s_regie, txn, pseudonym, &record);
    size_t used = (size_t) snprintf (out, S_DUMP_MAX, "case %s opened %lld changed %lld closed %d\n",
                                     rb_errname (rc), (long long) record.opened_at_ms,
                                     (long long) record.changed_at_ms, (int) record.closed);
    rb_regie_holder_t holders [RB_REGIE_MAX_HOLDERS];
    size_t count = 0;
    CHECK_INT (rb_regie_holders (s_regie, txn, pseudonym, holders, RB_REGIE_MAX_HOLDERS, &count), RB_OK);
    for (size_t i = 0; i < count && used < S_DUMP_MAX; i++)
        used += (size_t) snprintf (out + used, S_DUMP_MAX - used, "%s/%d since %lld '%s' %s\n",
                                   holders [i].actor.node, (int) holders [i].actor.role,
                                   (long long) holders [i].since_ms, holders [i].contact,
                                   holders [i].reason);
}

//  Run call (an expression using `txn` and `&r`) in a write transaction,
//  expect it refused with code naming field, commit, and check that the
//  case reads exactly as before.
#define CHECK_REFUSED(pseudonym, code, field, call) do { \
    static char before_ [S_DUMP_MAX], after_ [S_DUMP_MAX]; \
    rb_refusal_t r; \
    size_t n = 0; \
    (void) n; \
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

//  Run a policy helper's call (using `txn`, `changes`, `&n` and `&r`) in a
//  committed transaction; n then holds the number of changes it reported.
#define HELPER(call) do { \
    rb_refusal_t r; \
    rb_txn_t *txn = s_write (); \
    n = 99; \
    CHECK_INT ((call), RB_OK); \
    CHECK_INT (r.code, RB_OK); \
    CHECK_INT (rb_txn_commit (&txn), RB_OK); \
} while (0)

static rb_regie_change_t changes [RB_REGIE_CHANGES_MAX];

static void
s_check_change (const rb_regie_change_t *change, const char *node, rb_role_t role, bool joined,
                int64_t since_ms, const char *contact, const char *reason)
{
    CHECK_STR (change->actor.node, node);
    CHECK_INT (change->actor.role, role);
    CHECK_INT (change->joined, joined);
    CHECK_INT (change->since_ms, since_ms);
    CHECK_STR (change->contact, contact);
    CHECK_STR (change->reason, reason);
}


// ---------------------------------------------------------------------------

static void
s_test_open (void)
{
    rb_test_section ("opening a case is idempotent");
    const char *p = s_case (0);
    rb_refusal_t r;
    bool created = false;
    rb_txn_t *txn = s_write ();
    CHECK (!rb_regie_case_exists (s_regie, txn, p));
    CHECK_INT (rb_regie_case_open (s_regie, txn, p, T0, &created, &r), RB_OK);
    CHECK (created);
    CHECK_INT (r.code, RB_OK);
    CHECK (rb_regie_case_exists (s_regie, txn, p));
    CHECK_INT (rb_txn_commit (&txn), RB_OK);

    txn = s_write ();
    CHECK_INT (rb_regie_case_open (s_regie, txn, p, T0 + DAY_MS, &created, &r), RB_OK);
    CHECK (!created);
    rb_regie_case_t record;
    CHECK_INT (rb_regie_case_get (s_regie, txn, p, &record), RB_OK);
    CHECK_INT (record.opened_at_ms, T0);        //  the second open left it as it was
    CHECK_INT (record.changed_at_ms, T0);
    CHECK (!record.closed);
    CHECK_INT (rb_regie_case_get (s_regie, txn, s_case (15), &record), RB_ENOTFOUND);
    CHECK_INT (rb_regie_case_get (s_regie, txn, "nope", &record), RB_ENOTFOUND);
    CHECK (!rb_regie_case_exists (s_regie, txn, s_case (15)));
    CHECK (!rb_regie_case_exists (s_regie, txn, NULL));
    CHECK_INT (rb_txn_commit (&txn), RB_OK);

    rb_test_section ("a case is named by 64 lowercase hex characters");
    char upper [RB_PSEUDONYM_LEN + 1];
    snprintf (upper, sizeof upper, "%s", p);
    upper [10] = 'A';
    const char *bad [] = { upper, "0123", "", NULL };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        txn = s_write ();
        created = true;
        CHECK_INT (rb_regie_case_open (s_regie, txn, bad [i], T0, &created, &r), RB_EINVALID);
        CHECK_REFUSAL (&r, RB_EINVALID, "case_pseudonym");
        CHECK (!created);
        rb_txn_destroy (&txn);
    }
    //  An open that is not committed leaves no case.
    txn = s_write ();
    CHECK_INT (rb_regie_case_open (s_regie, txn, s_case (14), T0, &created, &r), RB_OK);
    CHECK (created);
    rb_txn_destroy (&txn);
    txn = s_write ();
    CHECK (!rb_regie_case_exists (s_regie, txn, s_case (14)));
    rb_txn_destroy (&txn);
}

static void
s_test_join_leave (void)
{
    rb_test_section ("join and leave report whether the register changed");
    const char *p = s_case (0);
    CHECK (s_join (p, "school-a", RB_ROLE_SCHOOL_MENTOR, "mentor desk 010-1234567", "enrolment", T0 + 1000));
    //  The same role again is not a change.
    CHECK (!s_join (p, "school-a", RB_ROLE_SCHOOL_MENTOR, "mentor desk 010-1234567", "enrolment", T0 + 2000));
    //  A different contact is: only the contact moves; since and reason stay.
    CHECK (s_join (p, "school-a", RB_ROLE_SCHOOL_MENTOR, "attendance office", "other", T0 + 3000));
    rb_regie_holder_t holders [RB_REGIE_MAX_HOLDERS];
    CHECK_UINT (s_holders (p, holders), 1);
    CHECK_STR (holders [0].actor.node, "school-a");
    CHECK_INT (holders [0].actor.role, RB_ROLE_SCHOOL_MENTOR);
    CHECK_INT (holders [0].since_ms, T0 + 1000);
    CHECK_STR (holders [0].contact, "attendance office");
    CHECK_STR (holders [0].reason, "enrolment");
    //  The case remembers its last change.
    rb_txn_t *txn = s_write ();
    rb_regie_case_t record;
    CHECK_INT (rb_regie_case_get (s_regie, txn, p, &record), RB_OK);
    CHECK_INT (record.opened_at_ms, T0);
    CHECK_INT (record.changed_at_ms, T0 + 3000);
    rb_txn_destroy (&txn);

    //  The same node in another role is another holder.
    CHECK (s_join (p, "school-a", RB_ROLE_SAMENWERKINGSVERBAND, NULL, NULL, T0 + 4000));
    CHECK_UINT (s_holders (p, holders), 2);
    CHECK_STR (holders [1].contact, "");
    CHECK_STR (holders [1].reason, "");
    //  Contacts are UTF-8 text.
    CHECK (s_join (p, "school-a", RB_ROLE_SAMENWERKINGSVERBAND, "Zoë, loket Zuid", NULL, T0 + 4500));
    CHECK_UINT (s_holders (p, holders), 2);
    CHECK_STR (holders [1].contact, "Zoë, loket Zuid");

    CHECK (s_leave (p, "school-a", RB_ROLE_SAMENWERKINGSVERBAND, T0 + 5000));
    CHECK (!s_leave (p, "school-a", RB_ROLE_SAMENWERKINGSVERBAND, T0 + 6000));
    //  Leaving a role one never held is not a change either.
    CHECK (!s_leave (p, "care-c", RB_ROLE_JEUGDHULP, T0 + 6000));
    CHECK_UINT (s_holders (p, holders), 1);
    txn = s_write ();
    CHECK_INT (rb_regie_case_get (s_regie, txn, p, &record), RB_OK);
    CHECK_INT (record.changed_at_ms, T0 + 5000);
    rb_txn_destroy (&txn);

    //  A join in a transaction that is destroyed leaves nothing.
    rb_actor_t actor = rb_regie_actor ("care-c", RB_ROLE_JEUGDHULP);
    bool changed = false;
    rb_refusal_t r;
    txn = s_write ();
    CHECK_INT (rb_regie_join (s_regie, txn, p, &actor, "team", "manual", T0 + 7000, &changed, &r), RB_OK);
    CHECK (changed);
    rb_txn_destroy (&txn);
    CHECK_UINT (s_holders (p, holders), 1);
}

static void
s_test_order (void)
{
    rb_test_section ("holders come in a stable order: node name, then role");
    const char *p = s_case (1);
    s_open (p, T0);
    //  Joined in no particular order; "mun" prefixes "mun-a" and sorts first.
    CHECK (s_join (p, "portal-b", RB_ROLE_PARENT, "", "parent_link", T0 + 10));
    CHECK (s_join (p, "mun-a", RB_ROLE_DUTY_DESK, "duty 14 010", "manual", T0 + 20));
    CHECK (s_join (p, "care-c", RB_ROLE_WIJKTEAM, "wijkteam noord", "involvement", T0 + 30));
    CHECK (s_join (p, "mun", RB_ROLE_CASUSREGISSEUR, "regisseur", "manual", T0 + 40));
    CHECK (s_join (p, "care-c", RB_ROLE_JEUGDHULP, "jeugdhulp", "involvement", T0 + 50));
    CHECK (s_join (p, "mun", RB_ROLE_LEERPLICHT, "leerplicht", "legal_threshold", T0 + 60));
    CHECK (s_join (p, "9school", RB_ROLE_SCHOOL_MENTOR, "mentor", "enrolment", T0 + 70));
    rb_regie_holder_t h [RB_REGIE_MAX_HOLDERS];
    CHECK_UINT (s_holders (p, h), 7);
    struct { const char *node; rb_role_t role; int64_t since; const char *contact, *reason; } want [] = {
        { "9school", RB_ROLE_SCHOOL_MENTOR, T0 + 70, "mentor", "enrolment" },
        { "care-c", RB_ROLE_JEUGDHULP, T0 + 50, "jeugdhulp", "involvement" },
        { "care-c", RB_ROLE_WIJKTEAM, T0 + 30, "wijkteam noord", "involvement" },
        { "mun", RB_ROLE_LEERPLICHT, T0 + 60, "leerplicht", "legal_threshold" },
        { "mun", RB_ROLE_CASUSREGISSEUR, T0 + 40, "regisseur", "manual" },
        { "mun-a", RB_ROLE_DUTY_DESK, T0 + 20, "duty 14 010", "manual" },
        { "portal-b", RB_ROLE_PARENT, T0 + 10, "", "parent_link" },
    };
    for (size_t i = 0; i < 7; i++) {
        CHECK_STR (h [i].actor.node, want [i].node);
        CHECK_INT (h [i].actor.role, want [i].role);
        CHECK_INT (h [i].since_ms, want [i].since);
        CHECK_STR (h [i].contact, want [i].contact);
        CHECK_STR (h [i].reason, want [i].reason);
    }
    //  Other cases are apart: case 0 still has its one holder, an unknown
    //  case and a bad pseudonym have none.
    CHECK_UINT (s_holders (s_case (0), h), 1);
    CHECK_UINT (s_holders (s_case (15), h), 0);
    CHECK_UINT (s_holders ("not-a-pseudonym", h), 0);

    rb_test_section ("a list that does not fit is RB_ETOOLARGE with the first ones");
    rb_txn_t *txn;
    size_t count = 99;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_regie_holders (s_regie, txn, p, h, 3, &count), RB_ETOOLARGE);
    CHECK_UINT (count, 3);
    CHECK_STR (h [2].actor.node, "care-c");
    CHECK_INT (rb_regie_holders (s_regie, txn, p, h, 7, &count), RB_OK);
    CHECK_UINT (count, 7);
    char nodes [4][RB_NAME_MAX + 1];
    CHECK_INT (rb_regie_nodes (s_regie, txn, p, nodes, 2, &count), RB_ETOOLARGE);
    CHECK_UINT (count, 2);
    CHECK_STR (nodes [1], "care-c");
    rb_txn_destroy (&txn);
}

static void
s_test_need_to_know (void)
{
    rb_test_section ("nodes are the distinct holders' nodes, in order: the fan-out");
    const char *p = s_case (1);
    CHECK_STR (s_nodes (p), "9school care-c mun mun-a portal-b");
    CHECK_STR (s_nodes (s_case (15)), "");
    CHECK (s_holds (p, "care-c"));
    CHECK (s_holds (p, "mun"));
    CHECK (s_holds (p, "mun-a"));
    //  A prefix of a holder's name is not that holder.
    CHECK (!s_holds (p, "mu"));
    CHECK (!s_holds (p, "care"));
    CHECK (!s_holds (p, "school-a"));           //  holds case 0, not case 1
    CHECK (s_holds (s_case (0), "school-a"));
    CHECK (!s_holds (p, "Care-C"));
    CHECK (!s_holds (p, ""));
    CHECK (!s_holds (p, NULL));
    CHECK (!s_holds ("bad", "care-c"));

    rb_test_section ("a node released from a case no longer holds it");
    //  care-c leaves one of its two roles: it still holds the case.
    CHECK (s_leave (p, "care-c", RB_ROLE_WIJKTEAM, T0 + 100));
    CHECK (s_holds (p, "care-c"));
    CHECK (s_leave (p, "care-c", RB_ROLE_JEUGDHULP, T0 + 110));
    CHECK (!s_holds (p, "care-c"));
    //  "mun" leaving both its roles does not release "mun-a".
    CHECK (s_leave (p, "mun", RB_ROLE_LEERPLICHT, T0 + 120));
    CHECK (s_leave (p, "mun", RB_ROLE_CASUSREGISSEUR, T0 + 130));
    CHECK (!s_holds (p, "mun"));
    CHECK (s_holds (p, "mun-a"));
    CHECK_STR (s_nodes (p), "9school mun-a portal-b");
}

static void
s_test_refusals (void)
{
    rb_test_section ("every refusal names its field and writes nothing");
    const char *p = s_case (0);
    bool changed;
    rb_actor_t ok = rb_regie_actor ("care-c", RB_ROLE_JEUGDHULP);
    rb_actor_t upper = rb_regie_actor ("Care-c", RB_ROLE_JEUGDHULP);
    rb_actor_t under = rb_regie_actor ("care_c", RB_ROLE_JEUGDHULP);
    rb_actor_t empty = rb_regie_actor ("", RB_ROLE_JEUGDHULP);
    rb_actor_t role0 = rb_regie_actor ("care-c", RB_ROLE_UNSPECIFIED);
    rb_actor_t role9 = rb_regie_actor ("care-c", (rb_role_t) (RB_ROLE_MAX + 1));
    rb_actor_t longname;
    memset (&longname, 'a', sizeof longname);
    longname.node [RB_NAME_MAX] = 0;                //  63: the longest name
    longname.role = RB_ROLE_JEUGDHULP;
    char contact129 [130], contact128 [129];
    memset (contact129, 'x', 129);
    contact129 [129] = 0;
    memset (contact128, 'x', 128);
    contact128 [128] = 0;
    char bad_pseudonym [RB_PSEUDONYM_LEN + 1];
    snprintf (bad_pseudonym, sizeof bad_pseudonym, "%s", p);
    bad_pseudonym [63] = 'g';

    CHECK_REFUSED (p, RB_EINVALID, "case_pseudonym",
        rb_regie_join (s_regie, txn, bad_pseudonym, &ok, "c", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "case_pseudonym",
        rb_regie_join (s_regie, txn, NULL, &ok, "c", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EMISSING, "actor",
        rb_regie_join (s_regie, txn, p, NULL, "c", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "actor.node",
        rb_regie_join (s_regie, txn, p, &upper, "c", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "actor.node",
        rb_regie_join (s_regie, txn, p, &under, "c", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "actor.node",
        rb_regie_join (s_regie, txn, p, &empty, "c", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "actor.role",
        rb_regie_join (s_regie, txn, p, &role0, "c", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "actor.role",
        rb_regie_join (s_regie, txn, p, &role9, "c", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_ETOOLARGE, "contact",
        rb_regie_join (s_regie, txn, p, &ok, contact129, "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "contact",
        rb_regie_join (s_regie, txn, p, &ok, "line\nbreak", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "contact",
        rb_regie_join (s_regie, txn, p, &ok, "bad \xC3 utf-8", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "contact",
        rb_regie_join (s_regie, txn, p, &ok, "overlong \xC0\xAF", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "contact",
        rb_regie_join (s_regie, txn, p, &ok, "surrogate \xED\xA0\x80", "manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "reason",
        rb_regie_join (s_regie, txn, p, &ok, "c", "Manual", T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "reason",
        rb_regie_join (s_regie, txn, p, &ok, "c", "reason_code_of_thirty_three_bytes", T0, &changed, &r));
    CHECK_REFUSED (s_case (15), RB_ENOTFOUND, "case",
        rb_regie_join (s_regie, txn, s_case (15), &ok, "c", "manual", T0, &changed, &r));
    //  Leave refuses the same way.
    CHECK_REFUSED (p, RB_EINVALID, "case_pseudonym",
        rb_regie_leave (s_regie, txn, "0", &ok, T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "actor.node",
        rb_regie_leave (s_regie, txn, p, &upper, T0, &changed, &r));
    CHECK_REFUSED (p, RB_EINVALID, "actor.role",
        rb_regie_leave (s_regie, txn, p, &role9, T0, &changed, &r));
    CHECK_REFUSED (s_case (15), RB_ENOTFOUND, "case",
        rb_regie_leave (s_regie, txn, s_case (15), &ok, T0, &changed, &r));
    CHECK (!changed);
    //  The edges that are allowed: a 63-character name, a 128-byte contact,
    //  a 32-byte reason.
    CHECK (s_join (p, longname.node, RB_ROLE_JEUGDHULP, contact128, "reason_code_of_thirty_two_bytes_",
                   T0 + 8000));
    CHECK (s_holds (p, longname.node));
    CHECK (s_leave (p, longname.node, RB_ROLE_JEUGDHULP, T0 + 8001));

    rb_test_section ("the policy helpers refuse before they write");
    rb_regie_policy_t unset = rb_regie_policy_default ();
    CHECK_REFUSED (p, RB_EINVALID, "policy.leerplicht_node",
        rb_regie_on_enrolment (s_regie, txn, &unset, p, "school-z", "", T0, changes,
                               RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "changes",
        rb_regie_on_enrolment (s_regie, txn, &s_policy, p, "school-z", "", T0, changes, 1, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "case_pseudonym",
        rb_regie_on_enrolment (s_regie, txn, &s_policy, "A", "school-z", "", T0, changes,
                               RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "school_node",
        rb_regie_on_enrolment (s_regie, txn, &s_policy, p, "school z", "", T0, changes,
                               RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_ETOOLARGE, "contact",
        rb_regie_on_enrolment (s_regie, txn, &s_policy, p, "school-z", contact129, T0, changes,
                               RB_REGIE_CHANGES_MAX, &n, &r));
    //  A refused enrolment of a new pupil opens no case.
    CHECK_REFUSED (s_case (15), RB_ETOOLARGE, "contact",
        rb_regie_on_enrolment (s_regie, txn, &s_policy, s_case (15), "school-z", contact129, T0,
                               changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "portal_node",
        rb_regie_on_parent_link (s_regie, txn, &s_policy, p, "", true, T0, changes,
                                 RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (s_case (15), RB_ENOTFOUND, "case",
        rb_regie_on_parent_link (s_regie, txn, &s_policy, s_case (15), "portal-b", false, T0,
                                 changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "care_node",
        rb_regie_on_involvement (s_regie, txn, &s_policy, p, "care c", RB_ROLE_JEUGDHULP, true, "",
                                 T0, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    rb_role_t not_care [] = { RB_ROLE_UNSPECIFIED, RB_ROLE_SCHOOL_MENTOR, RB_ROLE_PARENT,
                              RB_ROLE_LEERPLICHT, RB_ROLE_CASUSREGISSEUR, RB_ROLE_DUTY_DESK,
                              (rb_role_t) 9 };
    for (size_t i = 0; i < sizeof not_care / sizeof not_care [0]; i++)
        CHECK_REFUSED (p, RB_EINVALID, "role",
            rb_regie_on_involvement (s_regie, txn, &s_policy, p, "care-c", not_care [i], true,
                                     "team", T0, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "contact",
        rb_regie_on_involvement (s_regie, txn, &s_policy, p, "care-c", RB_ROLE_WIJKTEAM, true,
                                 "tab\there", T0, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (s_case (15), RB_ENOTFOUND, "case",
        rb_regie_on_involvement (s_regie, txn, &s_policy, s_case (15), "care-c", RB_ROLE_WIJKTEAM,
                                 false, "", T0, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "signal",
        rb_regie_on_absence_signal (s_regie, txn, &s_policy, p, 0, T0, changes,
                                    RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "signal",
        rb_regie_on_absence_signal (s_regie, txn, &s_policy, p, 7, T0, changes,
                                    RB_REGIE_CHANGES_MAX, &n, &r));
    //  A signal for a pupil never enrolled: refused, and no case appears.
    CHECK_REFUSED (s_case (15), RB_ENOTFOUND, "case",
        rb_regie_on_absence_signal (s_regie, txn, &s_policy, s_case (15),
                                    RB_REGIE_SIGNAL_LEGAL_THRESHOLD, T0, changes,
                                    RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (s_case (15), RB_ENOTFOUND, "case",
        rb_regie_on_absence_signal (s_regie, txn, &s_policy, s_case (15), 2, T0, changes,
                                    RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_STR (s_nodes (p), "school-a");

    rb_test_section ("a policy is checked field by field");
    rb_regie_policy_t policy = rb_regie_policy_default ();
    CHECK (!policy.leerplicht_at_first_absence);
    rb_refusal_t r;
    CHECK_INT (rb_regie_policy_check (&policy, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "policy.leerplicht_node");
    policy = s_policy;
    snprintf (policy.duty_node, sizeof policy.duty_node, "Duty");
    CHECK_INT (rb_regie_policy_check (&policy, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "policy.duty_node");
    policy = s_policy;
    snprintf (policy.leerplicht_contact, sizeof policy.leerplicht_contact, "%s", contact128);
    CHECK_INT (rb_regie_policy_check (&policy, &r), RB_OK);
    policy.leerplicht_contact [5] = '\x01';
    CHECK_INT (rb_regie_policy_check (&policy, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "policy.leerplicht_contact");
    policy = s_policy;
    memset (policy.duty_contact, 'x', sizeof policy.duty_contact);     //  no terminator
    CHECK_INT (rb_regie_policy_check (&policy, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "policy");
    CHECK_INT (rb_regie_policy_check (NULL, &r), RB_EMISSING);
    CHECK_INT (rb_regie_policy_check (&s_policy, &r), RB_OK);
}

static void
s_test_limit (void)
{
    rb_test_section ("a case holds at most 32 actors");
    const char *p = s_case (2);
    s_open (p, T0);
    char node [RB_NAME_MAX + 1];
    for (int i = 0; i < RB_REGIE_MAX_HOLDERS; i++) {
        snprintf (node, sizeof node, "care-%02d", i);
        CHECK (s_join (p, node, RB_ROLE_JEUGDHULP, "team", "involvement", T0 + i));
    }
    rb_regie_holder_t h [RB_REGIE_MAX_HOLDERS];
    CHECK_UINT (s_holders (p, h), RB_REGIE_MAX_HOLDERS);
    bool changed = true;
    rb_actor_t one_more = rb_regie_actor ("care-32", RB_ROLE_JEUGDHULP);
    rb_actor_t other_role = rb_regie_actor ("care-00", RB_ROLE_WIJKTEAM);
    CHECK_REFUSED (p, RB_ETOOLARGE, "holders",
        rb_regie_join (s_regie, txn, p, &one_more, "team", "involvement", T0 + 100, &changed, &r));
    CHECK (!changed);
    //  Another role of a node already there is another holder too.
    CHECK_REFUSED (p, RB_ETOOLARGE, "holders",
        rb_regie_join (s_regie, txn, p, &other_role, "team", "involvement", T0 + 100, &changed, &r));
    CHECK_REFUSED (p, RB_ETOOLARGE, "holders",
        rb_regie_on_involvement (s_regie, txn, &s_policy, p, "care-32", RB_ROLE_WIJKTEAM, true,
                                 "team", T0 + 100, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_ETOOLARGE, "holders",
        rb_regie_on_absence_signal (s_regie, txn, &s_policy, p, RB_REGIE_SIGNAL_LEGAL_THRESHOLD,
                                    T0 + 100, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK (!s_holds (p, s_policy.leerplicht_node));
    //  A holder already there may still update its contact, and leave.
    CHECK (s_join (p, "care-07", RB_ROLE_JEUGDHULP, "new desk", "involvement", T0 + 200));
    CHECK (!s_join (p, "care-07", RB_ROLE_JEUGDHULP, "new desk", "involvement", T0 + 201));
    CHECK (s_leave (p, "care-07", RB_ROLE_JEUGDHULP, T0 + 300));
    //  Then there is room for one more.
    CHECK (s_join (p, "care-32", RB_ROLE_JEUGDHULP, "team", "involvement", T0 + 400));
    CHECK_UINT (s_holders (p, h), RB_REGIE_MAX_HOLDERS);
    CHECK_STR (h [RB_REGIE_MAX_HOLDERS - 1].actor.node, "care-32");
    char nodes [RB_REGIE_MAX_HOLDERS][RB_NAME_MAX + 1];
    size_t count = 0;
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_regie_nodes (s_regie, txn, p, nodes, RB_REGIE_MAX_HOLDERS, &count), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_UINT (count, RB_REGIE_MAX_HOLDERS);
}

static void
s_test_policy (void)
{
    rb_test_section ("flow: a new case starts with the school and the parents");
    const char *p = s_case (3);
    int64_t now = T0 + 10 * DAY_MS;
    size_t n;
    HELPER (rb_regie_on_enrolment (s_regie, txn, &s_policy, p, "school-a",
                                              "mentor 4B, 010-1234567", now, changes,
                                              RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "school-a", RB_ROLE_SCHOOL_MENTOR, true, now,
                    "mentor 4B, 010-1234567", "enrolment");
    rb_txn_t *txn = s_write ();
    rb_regie_case_t record;
    CHECK_INT (rb_regie_case_get (s_regie, txn, p, &record), RB_OK);
    CHECK_INT (record.opened_at_ms, now);
    rb_txn_destroy (&txn);
    //  The same enrolment again (a retry, a re-sent envelope): no change.
    HELPER (rb_regie_on_enrolment (s_regie, txn, &s_policy, p, "school-a",
                                       "mentor 4B, 010-1234567", now + 1000, changes,
                                       RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 0);
    //  The parents link through their portal.
    HELPER (rb_regie_on_parent_link (s_regie, txn, &s_policy, p, "portal", true, now + 2000,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "portal", RB_ROLE_PARENT, true, now + 2000, "", "parent_link");
    HELPER (rb_regie_on_parent_link (s_regie, txn, &s_policy, p, "portal", true, now + 3000,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 0);
    CHECK_STR (s_nodes (p), "portal school-a");
    //  A second school (the pupil moves): it joins; the first stays until
    //  its enrolment ends.
    HELPER (rb_regie_on_enrolment (s_regie, txn, &s_policy, p, "school-b", NULL, now + 4000,
                                       changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    CHECK_STR (s_nodes (p), "portal school-a school-b");
    //  The school's contact changes: one change, the holder's since stays.
    HELPER (rb_regie_on_enrolment (s_regie, txn, &s_policy, p, "school-a", "mentor 5B",
                                       now + 5000, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "school-a", RB_ROLE_SCHOOL_MENTOR, true, now, "mentor 5B",
                    "enrolment");

    rb_test_section ("flow: the parents unlink, and the portal no longer hears of the case");
    HELPER (rb_regie_on_parent_link (s_regie, txn, &s_policy, p, "portal", false, now + 6000,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "portal", RB_ROLE_PARENT, false, now + 6000, "", "parent_link");
    CHECK (!s_holds (p, "portal"));
    HELPER (rb_regie_on_parent_link (s_regie, txn, &s_policy, p, "portal", false, now + 7000,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 0);
    HELPER (rb_regie_on_parent_link (s_regie, txn, &s_policy, p, "portal", true, now + 8000,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    CHECK_INT (changes [0].since_ms, now + 8000);   //  a new holder: since the new link

    rb_test_section ("flow: leerplicht joins at 16 hours in 4 weeks, not before");
    now += 2 * WEEK_MS;
    int early [] = { 1, 2, 4, 5, 6 };       //  FIRST_ABSENCE, STREAK, HIGH_RATE, DIGEST, CLOSED
    for (size_t i = 0; i < sizeof early / sizeof early [0]; i++) {
        HELPER (rb_regie_on_absence_signal (s_regie, txn, &s_policy, p, early [i], now,
                                                changes, RB_REGIE_CHANGES_MAX, &n, &r));
        CHECK_UINT (n, 0);
    }
    CHECK (!s_holds (p, "gemeente-west"));
    HELPER (rb_regie_on_absence_signal (s_regie, txn, &s_policy, p,
                                            RB_REGIE_SIGNAL_LEGAL_THRESHOLD, now + 1,
                                            changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "gemeente-west", RB_ROLE_LEERPLICHT, true, now + 1,
                    "leerplicht, 020-5550000", "legal_threshold");
    CHECK (s_holds (p, "gemeente-west"));
    //  The next 16 hours raise the signal again: leerplicht holds already.
    HELPER (rb_regie_on_absence_signal (s_regie, txn, &s_policy, p,
                                            RB_REGIE_SIGNAL_LEGAL_THRESHOLD, now + WEEK_MS,
                                            changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 0);
    //  The duty desk is policy data: no helper joins it.
    CHECK (!s_holds (p, "gemeente-west-duty"));

    rb_test_section ("flow: care joins when it registers involvement, leaves when it ends");
    HELPER (rb_regie_on_involvement (s_regie, txn, &s_policy, p, "care-c", RB_ROLE_JEUGDHULP,
                                         true, "jeugdhulp team 3", now + 2000, changes,
                                         RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "care-c", RB_ROLE_JEUGDHULP, true, now + 2000,
                    "jeugdhulp team 3", "involvement");
    HELPER (rb_regie_on_involvement (s_regie, txn, &s_policy, p, "wijk-noord", RB_ROLE_WIJKTEAM,
                                         true, "wijkteam noord", now + 3000, changes,
                                         RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    HELPER (rb_regie_on_involvement (s_regie, txn, &s_policy, p, "swv-rijnmond",
                                         RB_ROLE_SAMENWERKINGSVERBAND, true, NULL, now + 4000,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    CHECK_STR (s_nodes (p), "care-c gemeente-west portal school-a school-b swv-rijnmond wijk-noord");
    HELPER (rb_regie_on_involvement (s_regie, txn, &s_policy, p, "care-c", RB_ROLE_JEUGDHULP,
                                         false, NULL, now + 5000, changes,
                                         RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "care-c", RB_ROLE_JEUGDHULP, false, now + 5000,
                    "jeugdhulp team 3", "involvement");
    CHECK (!s_holds (p, "care-c"));
    //  Ending an involvement that is not there changes nothing.
    HELPER (rb_regie_on_involvement (s_regie, txn, &s_policy, p, "care-c", RB_ROLE_JEUGDHULP,
                                         false, NULL, now + 6000, changes,
                                         RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 0);
    rb_regie_holder_t h [RB_REGIE_MAX_HOLDERS];
    CHECK_UINT (s_holders (p, h), 6);

    rb_test_section ("flow: care or parents before any school open the case");
    const char *q = s_case (4);
    HELPER (rb_regie_on_involvement (s_regie, txn, &s_policy, q, "wijk-noord", RB_ROLE_WIJKTEAM,
                                         true, "wijkteam noord", now, changes,
                                         RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    HELPER (rb_regie_on_parent_link (s_regie, txn, &s_policy, q, "portal", true, now + 1,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    CHECK_STR (s_nodes (q), "portal wijk-noord");
    //  A later enrolment joins the school to the case that is there.
    HELPER (rb_regie_on_enrolment (s_regie, txn, &s_policy, q, "school-a", "mentor", now + 2,
                                       changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    txn = s_write ();
    CHECK_INT (rb_regie_case_get (s_regie, txn, q, &record), RB_OK);
    CHECK_INT (record.opened_at_ms, now);
    CHECK_INT (record.changed_at_ms, now + 2);
    rb_txn_destroy (&txn);

    rb_test_section ("flow: leerplicht joins at the first absence when the region says so");
    rb_regie_policy_t early_policy = s_policy;
    early_policy.leerplicht_at_first_absence = true;
    const char *e = s_case (5);
    HELPER (rb_regie_on_enrolment (s_regie, txn, &early_policy, e, "school-a", "mentor", now,
                                       changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    HELPER (rb_regie_on_absence_signal (s_regie, txn, &early_policy, e, RB_REGIE_SIGNAL_FIRST_ABSENCE,
                                            now + DAY_MS, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "gemeente-west", RB_ROLE_LEERPLICHT, true, now + DAY_MS,
                    "leerplicht, 020-5550000", "first_absence");
    //  The legal threshold later finds leerplicht there already.
    HELPER (rb_regie_on_absence_signal (s_regie, txn, &early_policy, e,
                                            RB_REGIE_SIGNAL_LEGAL_THRESHOLD, now + 4 * WEEK_MS,
                                            changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 0);
    CHECK_UINT (s_holders (e, h), 2);
    CHECK_STR (h [0].actor.node, "gemeente-west");
    CHECK_STR (h [0].reason, "first_absence");

    rb_test_section ("a helper in a child transaction: the daemon's way");
    //  A refused event in a child leaves the group's other work intact.
    rb_txn_t *group = s_write ();
    rb_txn_t *child;
    rb_refusal_t r;
    CHECK_INT (rb_txn_child (group, &child), RB_OK);
    CHECK_INT (rb_regie_on_parent_link (s_regie, child, &s_policy, s_case (6), "portal", true,
                                        now, changes, RB_REGIE_CHANGES_MAX, &n, &r), RB_OK);
    CHECK_INT (rb_txn_commit (&child), RB_OK);
    CHECK_INT (rb_txn_child (group, &child), RB_OK);
    CHECK_INT (rb_regie_on_absence_signal (s_regie, child, &s_policy, s_case (7),
                                           RB_REGIE_SIGNAL_LEGAL_THRESHOLD, now, changes,
                                           RB_REGIE_CHANGES_MAX, &n, &r), RB_ENOTFOUND);
    CHECK_REFUSAL (&r, RB_ENOTFOUND, "case");
    rb_txn_destroy (&child);
    CHECK_INT (rb_txn_commit (&group), RB_OK);
    CHECK (s_holds (s_case (6), "portal"));
    CHECK_STR (s_nodes (s_case (7)), "");
}

static void
s_test_leave_and_staff (void)
{
    rb_test_section ("flow: a school's enrolment ends and the school leaves the case");
    const char *p = s_case (8);
    int64_t now = T0 + 20 * DAY_MS;
    size_t n;
    HELPER (rb_regie_on_enrolment (s_regie, txn, &s_policy, p, "school-a", "mentor 4B", now,
                                   changes, RB_REGIE_CHANGES_MAX, &n, &r));
    HELPER (rb_regie_on_parent_link (s_regie, txn, &s_policy, p, "portal", true, now,
                                     changes, RB_REGIE_CHANGES_MAX, &n, &r));
    HELPER (rb_regie_on_enrolment_ended (s_regie, txn, &s_policy, p, "school-a", now + DAY_MS,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "school-a", RB_ROLE_SCHOOL_MENTOR, false, now + DAY_MS,
                    "mentor 4B", "enrolment_ended");
    CHECK (!s_holds (p, "school-a"));
    CHECK_STR (s_nodes (p), "portal");
    //  Again, or from a school that never held the case: no change.
    HELPER (rb_regie_on_enrolment_ended (s_regie, txn, &s_policy, p, "school-a", now + 2 * DAY_MS,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 0);
    HELPER (rb_regie_on_enrolment_ended (s_regie, txn, &s_policy, p, "school-b", now + 2 * DAY_MS,
                                         changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 0);
    CHECK_REFUSED (s_case (9), RB_ENOTFOUND, "case",
                   rb_regie_on_enrolment_ended (s_regie, txn, &s_policy, s_case (9), "school-a",
                                                now, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "school_node",
                   rb_regie_on_enrolment_ended (s_regie, txn, &s_policy, p, "School A", now,
                                                changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "changes",
                   rb_regie_on_enrolment_ended (s_regie, txn, &s_policy, p, "school-a", now,
                                                changes, 1, &n, &r));

    rb_test_section ("staff assign and release any role on a case, reason staff");
    rb_actor_t director = rb_regie_actor ("gemeente-west", RB_ROLE_CASUSREGISSEUR);
    HELPER (rb_regie_on_staff (s_regie, txn, &s_policy, p, &director, true, "casusregie desk",
                               now + 3 * DAY_MS, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "gemeente-west", RB_ROLE_CASUSREGISSEUR, true, now + 3 * DAY_MS,
                    "casusregie desk", "staff");
    HELPER (rb_regie_on_staff (s_regie, txn, &s_policy, p, &director, true, "casusregie desk",
                               now + 4 * DAY_MS, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 0);
    HELPER (rb_regie_on_staff (s_regie, txn, &s_policy, p, &director, false, NULL,
                               now + 5 * DAY_MS, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_UINT (n, 1);
    s_check_change (&changes [0], "gemeente-west", RB_ROLE_CASUSREGISSEUR, false, now + 5 * DAY_MS,
                    "casusregie desk", "staff");
    CHECK_STR (s_nodes (p), "portal");
    //  Staff never open a case, and name the actor in full.
    CHECK_REFUSED (s_case (9), RB_ENOTFOUND, "case",
                   rb_regie_on_staff (s_regie, txn, &s_policy, s_case (9), &director, true, NULL,
                                      now, changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EMISSING, "actor",
                   rb_regie_on_staff (s_regie, txn, &s_policy, p, NULL, true, NULL, now,
                                      changes, RB_REGIE_CHANGES_MAX, &n, &r));
    rb_actor_t nobody = rb_regie_actor ("gemeente-west", RB_ROLE_UNSPECIFIED);
    CHECK_REFUSED (p, RB_EINVALID, "actor.role",
                   rb_regie_on_staff (s_regie, txn, &s_policy, p, &nobody, true, NULL, now,
                                      changes, RB_REGIE_CHANGES_MAX, &n, &r));
    CHECK_REFUSED (p, RB_EINVALID, "contact",
                   rb_regie_on_staff (s_regie, txn, &s_policy, p, &director, true, "desk\n",
                                      now, changes, RB_REGIE_CHANGES_MAX, &n, &r));
}

static void
s_test_durable (void)
{
    rb_test_section ("the register is on disk: reopening the store finds it intact");
    static char before [8][S_DUMP_MAX], after [8][S_DUMP_MAX];
    rb_txn_t *txn = s_write ();
    for (unsigned i = 0; i < 8; i++)
        s_dump (txn, s_case (i), before [i]);
    rb_txn_destroy (&txn);
    rb_regie_destroy (&s_regie);
    CHECK (s_regie == NULL);
    rb_regie_destroy (&s_regie);                //  idempotent
    rb_store_destroy (&s_store);

    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_regie = rb_regie_new (s_store);
    CHECK (s_regie);
    txn = s_write ();
    for (unsigned i = 0; i < 8; i++) {
        s_dump (txn, s_case (i), after [i]);
        CHECK_STR (after [i], before [i]);
    }
    rb_txn_destroy (&txn);
    CHECK_STR (s_nodes (s_case (3)), "gemeente-west portal school-a school-b swv-rijnmond wijk-noord");
    CHECK (s_holds (s_case (1), "portal-b"));
    CHECK (!s_holds (s_case (1), "care-c"));
    rb_regie_holder_t h [RB_REGIE_MAX_HOLDERS];
    CHECK_UINT (s_holders (s_case (2), h), RB_REGIE_MAX_HOLDERS);
    //  And it goes on working.
    CHECK (!s_join (s_case (0), "school-a", RB_ROLE_SCHOOL_MENTOR, "attendance office", "x", T0));
}

int
main (void)
{
    rb_test_begin ("regie");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_regie = rb_regie_new (s_store);
    CHECK (s_regie);
    s_policy = rb_regie_policy_default ();
    snprintf (s_policy.leerplicht_node, sizeof s_policy.leerplicht_node, "gemeente-west");
    snprintf (s_policy.leerplicht_contact, sizeof s_policy.leerplicht_contact, "leerplicht, 020-5550000");
    snprintf (s_policy.duty_node, sizeof s_policy.duty_node, "gemeente-west-duty");
    snprintf (s_policy.duty_contact, sizeof s_policy.duty_contact, "regional duty desk");

    s_test_open ();
    s_test_join_leave ();
    s_test_order ();
    s_test_need_to_know ();
    s_test_refusals ();
    s_test_limit ();
    s_test_policy ();
    s_test_leave_and_staff ();
    s_test_durable ();
    rb_regie_destroy (&s_regie);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
