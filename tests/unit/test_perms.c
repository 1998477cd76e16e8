/*  unit_perms: which node role may send which event kind to which (rb_perms.h).
 *
 *  The whole table is walked: every kind against every sender role and
 *  every receiver role, so a row that changes shows here. A refusal is
 *  PERMISSION_DENIED on "kind", saying whether the receiver does not take
 *  the kind or the sender may not send it.
 */
#include "rb_test.h"
#include "rb_perms.h"

static const char *s_roles [] = { "node", "school", "municipality", "care", "portal" };
#define S_ROLES 5

//  The expected table, written out: for each kind the senders and the
//  receivers, as role names joined by spaces.
static const struct { int kind; const char *from, *to; } s_expected [] = {
    { REGIEBUS__EVENT_KIND__TEST, "node school municipality care portal", "node" },
    { REGIEBUS__EVENT_KIND__ENROLMENT, "school", "node municipality" },
    { REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL, "school", "node municipality" },
    { REGIEBUS__EVENT_KIND__INVOLVEMENT, "care", "node municipality" },
    { REGIEBUS__EVENT_KIND__PARENT_LINK, "portal", "node municipality" },
    { REGIEBUS__EVENT_KIND__PARENT_REPORT, "portal", "node municipality" },
    { REGIEBUS__EVENT_KIND__NOTIFICATION, "municipality", "node school municipality care portal" },
    { REGIEBUS__EVENT_KIND__PLAN_COMMAND, "school care", "node municipality" },
    { REGIEBUS__EVENT_KIND__NOTIFICATION_ACK, "school care portal", "node municipality" },
    { REGIEBUS__EVENT_KIND__REGIE_CHANGE, "", "" },
    { REGIEBUS__EVENT_KIND__ESCALATION, "", "" },
    { REGIEBUS__EVENT_KIND__PLAN_CHANGE, "", "" },
    { REGIEBUS__EVENT_KIND__CONSENT, "portal", "node municipality" },
    { REGIEBUS__EVENT_KIND__CONSENT_CHANGE, "", "" },
    { 0, "", "" },
    { 999, "", "" },
};
#define S_EXPECTED (sizeof s_expected / sizeof s_expected [0])

//  True when word is one of the space-separated words of list.
static bool
s_listed (const char *list, const char *word)
{
    size_t size = strlen (word);
    for (const char *at = strstr (list, word); at; at = strstr (at + 1, word))
        if ((at == list || at [-1] == ' ') && (at [size] == 0 || at [size] == ' '))
            return true;
    return false;
}

static void
s_test_roles (void)
{
    rb_test_section ("the roles a node may have");
    for (int i = 0; i < S_ROLES; i++)
        CHECK (rb_perms_role_valid (s_roles [i]));
    CHECK (!rb_perms_role_valid (""));
    CHECK (!rb_perms_role_valid (NULL));
    CHECK (!rb_perms_role_valid ("School"));
    CHECK (!rb_perms_role_valid ("parent"));
}

static void
s_test_table (void)
{
    rb_test_section ("every kind, from every role, to every role");
    for (size_t k = 0; k < S_EXPECTED; k++)
        for (int from = 0; from < S_ROLES; from++)
            for (int to = 0; to < S_ROLES; to++) {
                bool allowed = s_listed (s_expected [k].from, s_roles [from])
                            && s_listed (s_expected [k].to, s_roles [to]);
                rb_refusal_t why = { 0 };
                rb_err_t rc = rb_perms_check (s_roles [from], "peer-x", s_expected [k].kind,
                                              s_roles [to], &why);
                if ((rc == RB_OK) != allowed)
                    printf ("  kind %d from %s to %s: %s\n", s_expected [k].kind, s_roles [from],
                            s_roles [to], rc? why.message: "allowed");
                CHECK_INT (rc == RB_OK, allowed);
                if (!allowed)
                    CHECK_REFUSAL (&why, RB_EDENIED, "kind");
            }
}

static void
s_test_messages (void)
{
    rb_test_section ("the refusal says which side the table rules out");
    rb_refusal_t why = { 0 };
    CHECK_INT (rb_perms_check ("municipality", "mun-a", REGIEBUS__EVENT_KIND__ENROLMENT, "school", &why),
               RB_EDENIED);
    CHECK_STR (why.message, "a school node does not take ENROLMENT events");
    CHECK_INT (rb_perms_check ("care", "care-a", REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL, "municipality", &why),
               RB_EDENIED);
    CHECK_STR (why.message, "care-a is a care node (peer/care-a/role), which may not send ABSENCE_SIGNAL events");
    CHECK_INT (rb_perms_check ("school", "school-a", REGIEBUS__EVENT_KIND__NOTIFICATION, "care", &why),
               RB_EDENIED);
    CHECK (strstr (why.message, "school-a is a school node"));
    //  A peer without a known role may send nothing.
    CHECK_INT (rb_perms_check ("", "x", REGIEBUS__EVENT_KIND__TEST, "node", &why), RB_EDENIED);
    CHECK_REFUSAL (&why, RB_EDENIED, "kind");
}

int
main (void)
{
    rb_test_begin ("perms");
    s_test_roles ();
    s_test_table ();
    s_test_messages ();
    return rb_test_end ();
}
