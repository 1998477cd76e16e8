/*  rb_perms: the permission table of event kinds; see rb_perms.h.
 *
 *  Design. Roles are bits, so one row names every sender and every
 *  receiver a kind may have. A kind without a row is sent by nobody. The
 *  bare runtime node ("node", which tests and benchmarks run) may send
 *  nothing but TEST events, and only a bare node takes those: no agency
 *  daemon does. A bare node has no rules of its own, so it takes every
 *  kind its peers may send, and tests use it to play an agency.
 */
#include "rb_perms.h"
#include "kinds.pb-c.h"
#include <czmq.h>

#define S_NODE          0x01
#define S_SCHOOL        0x02
#define S_MUNICIPALITY  0x04
#define S_CARE          0x08
#define S_PORTAL        0x10
#define S_ANY           0x1f

static const struct { const char *name; unsigned bit; } s_roles [] = {
    { "node", S_NODE }, { "school", S_SCHOOL }, { "municipality", S_MUNICIPALITY },
    { "care", S_CARE }, { "portal", S_PORTAL },
};
#define S_ROLES (sizeof s_roles / sizeof s_roles [0])

//  Who sends which kind to whom: one row per kind. A bare node takes
//  whatever its peers may send, since tests play agencies with it.
static const struct { int kind; unsigned from, to; } s_table [] = {
    { REGIEBUS__EVENT_KIND__TEST,           S_ANY,          S_NODE },
    { REGIEBUS__EVENT_KIND__ENROLMENT,      S_SCHOOL,       S_MUNICIPALITY | S_NODE },
    { REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL, S_SCHOOL,       S_MUNICIPALITY | S_NODE },
    { REGIEBUS__EVENT_KIND__INVOLVEMENT,    S_CARE,         S_MUNICIPALITY | S_NODE },
    { REGIEBUS__EVENT_KIND__PARENT_LINK,    S_PORTAL,       S_MUNICIPALITY | S_NODE },
    { REGIEBUS__EVENT_KIND__PARENT_REPORT,  S_PORTAL,       S_MUNICIPALITY | S_NODE },
    { REGIEBUS__EVENT_KIND__NOTIFICATION,   S_MUNICIPALITY, S_ANY },
    { REGIEBUS__EVENT_KIND__PLAN_COMMAND,   S_SCHOOL | S_CARE, S_MUNICIPALITY | S_NODE },
    { REGIEBUS__EVENT_KIND__NOTIFICATION_ACK, S_SCHOOL | S_CARE | S_PORTAL, S_MUNICIPALITY | S_NODE },
    { REGIEBUS__EVENT_KIND__CONSENT,        S_PORTAL,       S_MUNICIPALITY | S_NODE },
    //  REGIE_CHANGE, PLAN_CHANGE, ESCALATION, CONSENT_CHANGE: only a
    //  Notification's subject, never an envelope. A new kind is one row
    //  here, one in proto/README.md's table and one in unit_perms.
};
#define S_TABLE (sizeof s_table / sizeof s_table [0])

static unsigned
s_role_bit (const char *role)
{
    for (size_t i = 0; role && i < S_ROLES; i++)
        if (streq (s_roles [i].name, role))
            return s_roles [i].bit;
    return 0;
}

bool
rb_perms_role_valid (const char *role)
{
    return s_role_bit (role) != 0;
}

static const char *
s_kind_name (int kind)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value (&regiebus__event_kind__descriptor, kind);
    return v? v->name: "unknown";
}

rb_err_t
rb_perms_check (const char *from, const char *peer, int kind, const char *to, rb_refusal_t *why)
{
    unsigned senders = 0, receivers = 0;
    for (size_t i = 0; i < S_TABLE; i++)
        if (s_table [i].kind == kind) {
            senders = s_table [i].from;
            receivers = s_table [i].to;
        }
    if (!(receivers & s_role_bit (to)))
        return rb_refuse (why, RB_EDENIED, "kind", "a %s node does not take %s events",
                          to, s_kind_name (kind));
    if (!(senders & s_role_bit (from)))
        return rb_refuse (why, RB_EDENIED, "kind", "%s is a %s node (peer/%s/role), which may not send %s events",
                          peer, from, peer, s_kind_name (kind));
    return RB_OK;
}
