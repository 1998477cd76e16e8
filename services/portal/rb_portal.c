/*  rb_portal: the parents' portal node; see rb_portal.h and README.md here.
 *
 *  Design. Three tables of fixed-size records, each starting with a
 *  version byte so the layout can evolve; a record of another size or
 *  version is a storage error, never trusted. Numbers are big-endian.
 *
 *    portal_child   pseudonym -> accounts linked now, the municipality
 *                   node, the child's name
 *    portal_link    pseudonym account -> when it was linked
 *    portal_report  idempotency key -> content hash, event id, pseudonym
 *    portal_consent pseudonym role -> given, since when, by which account
 *
 *  A link is an (account, case) pair; the child's record counts them, so
 *  the first link and the last unlink, the moments the municipality must
 *  hear of, are known without a scan. The pseudonym has a fixed length,
 *  so a link key splits without a separator. While any account is linked
 *  the child stays with its municipality: a request naming another one is
 *  refused rather than silently moving the case.
 *
 *  A call validates every field before it reads and decides before it
 *  writes; the runtime runs it in a child transaction, so a refusal at any
 *  point leaves nothing behind.
 */
#include "rb_portal.h"
#include "rb_calendar.h"
#include "rb_homes.h"
#include "rb_log.h"
#include "rb_pseudonym.h"
#include "rb_text.h"
#include <czmq.h>

#define S_RECORD_VERSION 1
#define S_ACCOUNT_MAX 64            //  parent account ids: 1..64 of [A-Za-z0-9._@-]
#define S_ACCOUNT_MARKS "._@-"
#define S_REPORT_DAYS_AHEAD 30      //  a report may start at most this far ahead
#define S_REPORT_CODE_MAX 9999      //  the regional code list

//  The daemon's state, made at setup.
typedef struct {
    rb_node_t *node;                    //  the node this daemon runs on
    rb_homes_t *homes;                  //  municipality codes -> nodes, portal/municipality for none
    rb_pseudonym_t *region;             //  the region key: citizen numbers -> pseudonyms
    rb_table_t children;                //  "portal_child"
    rb_table_t links;                   //  "portal_link"
    rb_table_t reports;                 //  "portal_report"
    rb_table_t consents;                //  "portal_consent"
} s_portal_t;

//  portal_child record.
typedef struct {
    uint8_t version;                    //  S_RECORD_VERSION
    uint8_t links [8];                  //  accounts linked now
    char node [RB_NAME_MAX + 1];        //  the municipality node of the child's case
    char name [RB_TEXT_MAX + 1];        //  the child's name as the parents see it
} s_child_t;

//  portal_link record.
typedef struct {
    uint8_t version;                    //  S_RECORD_VERSION
    uint8_t linked_at_ms [8];           //  when the account was linked
} s_link_t;

//  portal_report record.
typedef struct {
    uint8_t version;                    //  S_RECORD_VERSION
    uint8_t hash [RB_WIRE_HASH_SIZE];   //  of the request first sent with the key
    uint8_t event_id [16];              //  the PARENT_REPORT event it sent
    char pseudonym [RB_PSEUDONYM_LEN + 1];  //  the child's case
} s_report_t;

//  portal_consent record.
typedef struct {
    uint8_t version;                    //  S_RECORD_VERSION
    uint8_t given;                      //  1 given, 0 withdrawn
    uint8_t since_ms [8];               //  when it was decided
    char account [S_ACCOUNT_MAX + 1];   //  the parent account that decided it
} s_consent_t;

//  A consent key: pseudonym then the agency type's role number.
typedef struct {
    uint8_t bytes [RB_PSEUDONYM_LEN + 1];
} s_consent_key_t;

//  A link key: pseudonym then account.
typedef struct {
    uint8_t bytes [RB_PSEUDONYM_LEN + S_ACCOUNT_MAX];
    size_t size;
} s_link_key_t;

//  What a call knows of a child and one of its parents' accounts.
typedef struct {
    char pseudonym [RB_PSEUDONYM_LEN + 1];  //  the child's case
    s_link_key_t key;                   //  the account's link key
    s_child_t child;                    //  the child's record
    bool child_found;                   //  ... when there is one
    bool linked;                        //  the account is linked to the child
} s_family_t;


// ---------------------------------------------------------------------------
//  Checks shared by the calls

static rb_err_t
s_store_error (rb_err_t rc, rb_refusal_t *why)
{
    return rb_refuse (why, rc, NULL, "portal store: %s", rb_strerror (rc));
}

//  The link key of (case, account); false when account is too long.
static bool
s_link_key (s_link_key_t *key, const char *pseudonym, const char *account)
{
    size_t length = strlen (account);
    if (length > S_ACCOUNT_MAX)
        return false;
    memcpy (key->bytes, pseudonym, RB_PSEUDONYM_LEN);
    memcpy (key->bytes + RB_PSEUDONYM_LEN, account, length);
    key->size = RB_PSEUDONYM_LEN + length;
    return true;
}

//  The account and the child's case, with the fields named inside call.
static rb_err_t
s_check_family (s_portal_t *self, const char *call, const char *account, const char *bsn,
                s_family_t *f, rb_refusal_t *why)
{
    char field [48];
    snprintf (field, sizeof field, "%s.account", call);
    if (rb_text_id_check (account, S_ACCOUNT_MAX, S_ACCOUNT_MARKS, field, why))
        return why->code;
    snprintf (field, sizeof field, "%s.citizen_number", call);
    if (!*bsn)
        return rb_refuse (why, RB_EMISSING, field, "%s is missing", field);
    if (rb_pseudonym_of (self->region, bsn, f->pseudonym, why))
        return rb_refuse (why, RB_EINVALID, field, "%s must be 9 digits passing the 11-check", field);
    s_link_key (&f->key, f->pseudonym, account);
    return RB_OK;
}

//  An event about the child to the child's municipality, msg its payload
//  (a few codes and dates: it fits the buffer); event_id (16 bytes, may
//  be NULL) receives the event's id.
static rb_err_t
s_emit (s_portal_t *self, rb_txn_t *txn, const s_family_t *f, Regiebus__EventKind kind,
        const ProtobufCMessage *msg, uint8_t *event_id, rb_refusal_t *why)
{
    uint8_t payload [64];
    assert (protobuf_c_message_get_packed_size (msg) <= sizeof payload);
    rb_emit_t emit = {
        .destination = f->child.node, .case_pseudonym = f->pseudonym, .kind = kind,
        .payload = payload, .payload_size = protobuf_c_message_pack (msg, payload),
    };
    return rb_node_emit (self->node, txn, &emit, event_id, why);
}

//  A fixed-size record of a table: RB_ENOTFOUND, or RB_ESTORE when its
//  size or version is wrong.
static rb_err_t
s_get (rb_txn_t *txn, rb_table_t table, rb_val_t key, void *record, size_t size)
{
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, table, key, &value);
    if (!rc && (value.size != size || *(const uint8_t *) value.data != S_RECORD_VERSION))
        rc = RB_ESTORE;
    if (!rc)
        memcpy (record, value.data, size);
    return rc;
}

//  Read the child and whether the account is linked to it.
static rb_err_t
s_read_family (s_portal_t *self, rb_txn_t *txn, s_family_t *f, rb_refusal_t *why)
{
    s_link_t link;
    rb_err_t rc = s_get (txn, self->children, (rb_val_t) { f->pseudonym, RB_PSEUDONYM_LEN },
                         &f->child, sizeof f->child);
    f->child_found = rc == RB_OK;
    if (rc == RB_ENOTFOUND)
        rc = RB_OK;
    if (!rc)
        rc = s_get (txn, self->links, (rb_val_t) { f->key.bytes, f->key.size }, &link, sizeof link);
    f->linked = rc == RB_OK;
    if (rc == RB_ENOTFOUND)
        rc = RB_OK;
    if (!rc && f->linked && !f->child_found)
        rc = RB_ESTORE;             //  a link always has its child
    if (rc)
        return s_store_error (rc, why);
    f->child.node [RB_NAME_MAX] = 0;
    f->child.name [RB_TEXT_MAX] = 0;
    return RB_OK;
}


//  The account must be linked to the child: a parent reports, decides
//  and looks only for their own child, and an unknown child is answered
//  the same way.
static rb_err_t
s_check_linked (s_family_t *f, const char *call, const char *account, rb_refusal_t *why)
{
    char field [48];
    snprintf (field, sizeof field, "%s.account", call);
    if (f->linked)
        return RB_OK;
    return rb_refuse (why, RB_EDENIED, field, "%s '%s' is not linked to this child", field, account);
}


// ---------------------------------------------------------------------------
//  parent_link: link or unlink an account

//  Put the child with the municipality its case must be at: the one
//  named, else the one it is with, else the default. A child with linked
//  parents cannot move.
static rb_err_t
s_link_node (s_portal_t *self, const Regiebus__ParentLinkRequest *q, s_family_t *f,
             rb_refusal_t *why)
{
    const char *field = "parent_link.home_municipality";
    if (f->child_found && !*q->home_municipality)
        return RB_OK;
    const char *node;
    if (rb_homes_resolve (self->homes, q->home_municipality, field, &node, why))
        return why->code;
    if (f->child_found && rb_u64_get (f->child.links) > 0 && !streq (node, f->child.node))
        return rb_refuse (why, RB_EPRECONDITION, field,
                          "the child's case is with %s while parents are linked", f->child.node);
    snprintf (f->child.node, sizeof f->child.node, "%s", node);
    return RB_OK;
}

//  Link or unlink the account and keep the child's record: the count of
//  links, its municipality, a new name. *changed when the link was not so.
static rb_err_t
s_apply_link (s_portal_t *self, rb_txn_t *txn, const Regiebus__ParentLinkRequest *q,
              s_family_t *f, bool *changed, rb_refusal_t *why)
{
    *changed = q->linked != f->linked;
    uint64_t links = rb_u64_get (f->child.links);
    rb_val_t key = { f->key.bytes, f->key.size };
    rb_err_t rc = RB_OK;
    if (*changed && q->linked) {
        s_link_t link = { .version = S_RECORD_VERSION };
        rb_u64_put (link.linked_at_ms, (uint64_t) rb_node_now_ms (self->node));
        rc = rb_txn_put (txn, self->links, key, (rb_val_t) { &link, sizeof link });
        links++;
    }
    else
    if (*changed) {
        rc = rb_txn_del (txn, self->links, key);
        links--;
    }
    if (rc)
        return s_store_error (rc, why);
    rb_u64_put (f->child.links, links);
    if (*q->child_name)
        snprintf (f->child.name, sizeof f->child.name, "%s", q->child_name);
    f->child.version = S_RECORD_VERSION;
    rc = rb_txn_put (txn, self->children, (rb_val_t) { f->pseudonym, RB_PSEUDONYM_LEN },
                     (rb_val_t) { &f->child, sizeof f->child });
    return rc? s_store_error (rc, why): RB_OK;
}

//  PARENT_LINK {linked} to the child's municipality.
static rb_err_t
s_send_link (s_portal_t *self, rb_txn_t *txn, s_family_t *f, bool linked, rb_refusal_t *why)
{
    Regiebus__ParentLink link = REGIEBUS__PARENT_LINK__INIT;
    link.linked = linked;
    rb_err_t rc = s_emit (self, txn, f, REGIEBUS__EVENT_KIND__PARENT_LINK, &link.base, NULL, why);
    if (!rc)
        rb_log_info ("msg=\"parent link sent\" case=%.12s linked=%d to=%s", f->pseudonym,
                     (int) linked, f->child.node);
    return rc;
}

static rb_err_t
s_parent_link (s_portal_t *self, rb_call_t *call, rb_txn_t *txn,
               const Regiebus__ParentLinkRequest *q, rb_refusal_t *why)
{
    s_family_t f;
    memset (&f, 0, sizeof f);
    bool changed = false;
    rb_err_t rc = s_check_family (self, "parent_link", q->account, q->citizen_number, &f, why);
    if (!rc)
        rc = rb_text_check (q->child_name, RB_TEXT_MAX, "parent_link.child_name", why);
    if (!rc)
        rc = s_read_family (self, txn, &f, why);
    if (!rc && !q->linked && !f.linked)
        rc = rb_refuse (why, RB_ENOTFOUND, "parent_link.account",
                        "parent_link.account '%s' is not linked to this child", q->account);
    if (!rc)
        rc = s_link_node (self, q, &f, why);
    if (!rc)
        rc = s_apply_link (self, txn, q, &f, &changed, why);
    //  The municipality hears of the first link and of the last unlink.
    if (!rc && changed && rb_u64_get (f.child.links) == (q->linked? 1: 0))
        rc = s_send_link (self, txn, &f, q->linked, why);
    if (rc)
        return rc;
    if (changed)
        rb_node_count (self->node, q->linked? "portal_links": "portal_unlinks", 1);
    Regiebus__ParentLinkReply result = REGIEBUS__PARENT_LINK_REPLY__INIT;
    result.case_pseudonym = f.pseudonym;
    result.changed = changed;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_PARENT_LINK;
    reply.parent_link = &result;
    return rb_call_reply (call, &reply);
}


// ---------------------------------------------------------------------------
//  parent_report: a linked parent reports about the child

//  The report's own fields; *from gets the first day (0 is today).
static rb_err_t
s_check_report (s_portal_t *self, const Regiebus__ParentReportRequest *q, int32_t *from,
                rb_refusal_t *why)
{
    if (!*q->idempotency_key)
        return rb_refuse (why, RB_EMISSING, "parent_report.idempotency_key",
                          "parent_report.idempotency_key is missing");
    if (strlen (q->idempotency_key) > RB_IDEM_KEY_MAX)
        return rb_refuse (why, RB_ETOOLARGE, "parent_report.idempotency_key",
                          "parent_report.idempotency_key is over %d bytes", RB_IDEM_KEY_MAX);
    if (q->report != REGIEBUS__PARENT_REPORT_KIND__PARENT_SICKNESS
    &&  q->report != REGIEBUS__PARENT_REPORT_KIND__PARENT_HOME_SIGNAL)
        return rb_refuse (why, RB_EINVALID, "parent_report.report",
                          "parent_report.report must be PARENT_SICKNESS or PARENT_HOME_SIGNAL");
    int32_t today = rb_calendar_date_at (rb_node_now_ms (self->node));
    *from = q->from_date? q->from_date: today;
    if (!rb_calendar_date_valid (*from))
        return rb_refuse (why, RB_EINVALID, "parent_report.from_date",
                          "parent_report.from_date %d is not a date (YYYYMMDD)", q->from_date);
    if (*from > rb_calendar_add_days (today, S_REPORT_DAYS_AHEAD))
        return rb_refuse (why, RB_EINVALID, "parent_report.from_date",
                          "parent_report.from_date %d is more than %d days after today (%d)",
                          *from, S_REPORT_DAYS_AHEAD, today);
    if (q->until_date && (!rb_calendar_date_valid (q->until_date) || q->until_date < *from))
        return rb_refuse (why, RB_EINVALID, "parent_report.until_date",
                          "parent_report.until_date %d must be 0 or a date from %d on",
                          q->until_date, *from);
    if (q->code > S_REPORT_CODE_MAX)
        return rb_refuse (why, RB_EINVALID, "parent_report.code",
                          "parent_report.code %u is over %d", q->code, S_REPORT_CODE_MAX);
    return RB_OK;
}

//  The outcome of the key's first use, when it was used before with the
//  same content; a conflict when with other content.
static rb_err_t
s_read_report (s_portal_t *self, rb_txn_t *txn, const Regiebus__ParentReportRequest *q,
               s_report_t *report, bool *found, rb_refusal_t *why)
{
    uint8_t hash [RB_WIRE_HASH_SIZE];
    if (!rb_wire_hash (&q->base, hash))
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    rb_err_t rc = s_get (txn, self->reports, rb_val_str (q->idempotency_key), report, sizeof *report);
    *found = rc == RB_OK;
    if (rc && rc != RB_ENOTFOUND)
        return s_store_error (rc, why);
    if (*found && memcmp (report->hash, hash, sizeof hash) != 0)
        return rb_refuse (why, RB_ECONFLICT, "parent_report.idempotency_key",
                          "parent_report.idempotency_key '%s' was used before for another report",
                          q->idempotency_key);
    memcpy (report->hash, hash, sizeof hash);
    report->pseudonym [RB_PSEUDONYM_LEN] = 0;
    return RB_OK;
}

//  PARENT_REPORT to the child's municipality, remembered under the key.
static rb_err_t
s_send_report (s_portal_t *self, rb_txn_t *txn, const Regiebus__ParentReportRequest *q,
               s_family_t *f, int32_t from, s_report_t *report, rb_refusal_t *why)
{
    Regiebus__ParentReport payload = REGIEBUS__PARENT_REPORT__INIT;
    payload.report = q->report;
    payload.from_date = from;
    payload.until_date = q->until_date;
    payload.code = q->code;
    rb_err_t rc = s_emit (self, txn, f, REGIEBUS__EVENT_KIND__PARENT_REPORT, &payload.base,
                          report->event_id, why);
    if (rc)
        return rc;
    report->version = S_RECORD_VERSION;
    snprintf (report->pseudonym, sizeof report->pseudonym, "%s", f->pseudonym);
    rc = rb_txn_put (txn, self->reports, rb_val_str (q->idempotency_key),
                     (rb_val_t) { report, sizeof *report });
    if (rc)
        return s_store_error (rc, why);
    rb_log_info ("msg=\"parent report sent\" case=%.12s report=%d to=%s", f->pseudonym,
                 (int) q->report, f->child.node);
    return RB_OK;
}

static rb_err_t
s_parent_report (s_portal_t *self, rb_call_t *call, rb_txn_t *txn,
                 const Regiebus__ParentReportRequest *q, rb_refusal_t *why)
{
    s_family_t f;
    s_report_t report;
    memset (&f, 0, sizeof f);
    memset (&report, 0, sizeof report);
    int32_t from = 0;
    bool duplicate = false;
    rb_err_t rc = s_check_report (self, q, &from, why);
    if (!rc)
        rc = s_check_family (self, "parent_report", q->account, q->citizen_number, &f, why);
    if (!rc)
        rc = s_read_report (self, txn, q, &report, &duplicate, why);
    if (!rc && !duplicate)
        rc = s_read_family (self, txn, &f, why);
    if (!rc && !duplicate)
        rc = s_check_linked (&f, "parent_report", q->account, why);
    if (!rc && !duplicate)
        rc = s_send_report (self, txn, q, &f, from, &report, why);
    if (rc)
        return rc;
    if (!duplicate)
        rb_node_count (self->node, "portal_reports", 1);
    Regiebus__ParentReportReply result = REGIEBUS__PARENT_REPORT_REPLY__INIT;
    result.case_pseudonym = report.pseudonym;
    result.event_id.data = report.event_id;
    result.event_id.len = sizeof report.event_id;
    result.duplicate = duplicate;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_PARENT_REPORT;
    reply.parent_report = &result;
    return rb_call_reply (call, &reply);
}


// ---------------------------------------------------------------------------
//  consent: a linked parent gives or withdraws consent for an agency type

//  The agency types parents decide on: sharing with them goes beyond the
//  legal minimum (the municipality's table is rb_consent.h there).
static const Regiebus__Role s_consent_types [] = {
    REGIEBUS__ROLE__JEUGDHULP, REGIEBUS__ROLE__WIJKTEAM, REGIEBUS__ROLE__SAMENWERKINGSVERBAND
};
#define S_CONSENT_TYPES (sizeof s_consent_types / sizeof s_consent_types [0])

static rb_err_t
s_check_type (Regiebus__Role role, rb_refusal_t *why)
{
    if (!role)
        return rb_refuse (why, RB_EMISSING, "consent.role", "consent.role is missing");
    for (size_t i = 0; i < S_CONSENT_TYPES; i++)
        if (s_consent_types [i] == role)
            return RB_OK;
    return rb_refuse (why, RB_EINVALID, "consent.role",
                      "consent.role %d is no agency type consent is asked for: "
                      "JEUGDHULP, WIJKTEAM or SAMENWERKINGSVERBAND", (int) role);
}

//  The consent on the child's case for role; never decided: not given.
static rb_err_t
s_read_consent (s_portal_t *self, rb_txn_t *txn, const char *pseudonym, Regiebus__Role role,
                s_consent_t *consent, rb_refusal_t *why)
{
    s_consent_key_t key;
    memcpy (key.bytes, pseudonym, RB_PSEUDONYM_LEN);
    key.bytes [RB_PSEUDONYM_LEN] = (uint8_t) role;
    memset (consent, 0, sizeof *consent);
    rb_err_t rc = s_get (txn, self->consents, (rb_val_t) { key.bytes, sizeof key.bytes }, consent,
                         sizeof *consent);
    if (rc == RB_ENOTFOUND)
        memset (consent, 0, sizeof *consent);
    if (rc && rc != RB_ENOTFOUND)
        return s_store_error (rc, why);
    consent->account [S_ACCOUNT_MAX] = 0;
    return RB_OK;
}

//  Record the decision and send CONSENT {role, given} to the child's municipality.
static rb_err_t
s_send_consent (s_portal_t *self, rb_txn_t *txn, const Regiebus__ConsentRequest *q,
                s_family_t *f, uint8_t *event_id, rb_refusal_t *why)
{
    s_consent_t consent = { .version = S_RECORD_VERSION, .given = q->given };
    rb_u64_put (consent.since_ms, (uint64_t) rb_node_now_ms (self->node));
    snprintf (consent.account, sizeof consent.account, "%s", q->account);
    s_consent_key_t key;
    memcpy (key.bytes, f->pseudonym, RB_PSEUDONYM_LEN);
    key.bytes [RB_PSEUDONYM_LEN] = (uint8_t) q->role;
    rb_err_t rc = rb_txn_put (txn, self->consents, (rb_val_t) { key.bytes, sizeof key.bytes },
                              (rb_val_t) { &consent, sizeof consent });
    if (rc)
        return s_store_error (rc, why);
    Regiebus__Consent payload = REGIEBUS__CONSENT__INIT;
    payload.role = q->role;
    payload.given = q->given;
    rc = s_emit (self, txn, f, REGIEBUS__EVENT_KIND__CONSENT, &payload.base, event_id, why);
    if (!rc)
        rb_log_info ("msg=\"consent sent\" case=%.12s role=%d given=%d to=%s", f->pseudonym,
                     (int) q->role, (int) q->given, f->child.node);
    return rc;
}

static rb_err_t
s_consent (s_portal_t *self, rb_call_t *call, rb_txn_t *txn, const Regiebus__ConsentRequest *q,
           rb_refusal_t *why)
{
    s_family_t f;
    s_consent_t consent;
    memset (&f, 0, sizeof f);
    uint8_t event_id [16];
    rb_err_t rc = s_check_family (self, "consent", q->account, q->citizen_number, &f, why);
    if (!rc)
        rc = s_check_type (q->role, why);
    if (!rc)
        rc = s_read_family (self, txn, &f, why);
    if (!rc)
        rc = s_check_linked (&f, "consent", q->account, why);
    if (!rc)
        rc = s_read_consent (self, txn, f.pseudonym, q->role, &consent, why);
    bool changed = !rc && (consent.given != 0) != q->given;
    if (changed)
        rc = s_send_consent (self, txn, q, &f, event_id, why);
    if (rc)
        return rc;
    if (changed)
        rb_node_count (self->node, q->given? "portal_consents_given": "portal_consents_withdrawn", 1);
    Regiebus__ConsentReply result = REGIEBUS__CONSENT_REPLY__INIT;
    result.case_pseudonym = f.pseudonym;
    result.changed = changed;
    result.event_id.data = changed? event_id: NULL;
    result.event_id.len = changed? sizeof event_id: 0;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_CONSENT;
    reply.consent = &result;
    return rb_call_reply (call, &reply);
}

//  A linked parent sees the consent on their child's case, per agency type.
static rb_err_t
s_consent_show (s_portal_t *self, rb_call_t *call, rb_txn_t *txn,
                const Regiebus__ConsentShowRequest *q, rb_refusal_t *why)
{
    s_family_t f;
    memset (&f, 0, sizeof f);
    rb_err_t rc = s_check_family (self, "consent_show", q->account, q->citizen_number, &f, why);
    if (!rc)
        rc = s_read_family (self, txn, &f, why);
    if (!rc)
        rc = s_check_linked (&f, "consent_show", q->account, why);
    s_consent_t consents [S_CONSENT_TYPES];
    Regiebus__ConsentState states [S_CONSENT_TYPES], *pointers [S_CONSENT_TYPES];
    for (size_t i = 0; i < S_CONSENT_TYPES && !rc; i++) {
        rc = s_read_consent (self, txn, f.pseudonym, s_consent_types [i], &consents [i], why);
        regiebus__consent_state__init (&states [i]);
        states [i].role = s_consent_types [i];
        states [i].given = consents [i].given != 0;
        states [i].since_ms = (int64_t) rb_u64_get (consents [i].since_ms);
        states [i].by = consents [i].account;
        pointers [i] = &states [i];
    }
    if (rc)
        return rc;
    Regiebus__ConsentShowReply result = REGIEBUS__CONSENT_SHOW_REPLY__INIT;
    result.case_pseudonym = f.pseudonym;
    result.child_name = f.child.name;
    result.consents = pointers;
    result.n_consents = S_CONSENT_TYPES;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_CONSENT_SHOW;
    reply.consent_show = &result;
    return rb_call_reply (call, &reply);
}


// ---------------------------------------------------------------------------
//  Calls and listings

static rb_err_t
s_call (rb_node_t *node, rb_call_t *call, rb_txn_t *txn, const Regiebus__ApiRequest *request,
        void *arg, rb_refusal_t *why)
{
    (void) node;
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_PARENT_LINK)
        return s_parent_link (arg, call, txn, request->parent_link, why);
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_PARENT_REPORT)
        return s_parent_report (arg, call, txn, request->parent_report, why);
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_CONSENT)
        return s_consent (arg, call, txn, request->consent, why);
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_CONSENT_SHOW)
        return s_consent_show (arg, call, txn, request->consent_show, why);
    return rb_refuse (why, RB_EPRECONDITION, "call",
                      "a portal node takes parent_link, parent_report, consent and consent_show, "
                      "not this call");
}

//  Notifications are listed with the child's name; a listing for one
//  parent account shows only the children linked to it.
static bool
s_label (rb_txn_t *txn, const char *pseudonym, const char *account, char *label, size_t size,
         void *arg)
{
    s_portal_t *self = arg;
    s_link_key_t key;
    s_link_t link;
    if (*account && (!s_link_key (&key, pseudonym, account)
                 ||  s_get (txn, self->links, (rb_val_t) { key.bytes, key.size }, &link, sizeof link)))
        return false;
    s_child_t child;
    if (s_get (txn, self->children, (rb_val_t) { pseudonym, RB_PSEUDONYM_LEN }, &child,
               sizeof child) == RB_OK)
        snprintf (label, size, "%.*s", RB_TEXT_MAX, child.name);
    return true;
}


// ---------------------------------------------------------------------------
//  Setup

static rb_err_t
s_read_config (s_portal_t *self, const rb_config_t *config, rb_refusal_t *why)
{
    char municipality [RB_NAME_MAX + 1];
    const rb_config_item_t items [] = {
        { "municipality", RB_CONFIG_TEXT, municipality, sizeof municipality, true, NULL, 0, 0 },
    };
    rb_err_t rc = rb_config_section (config, "portal", items, sizeof items / sizeof items [0], why);
    if (!rc && !(self->homes = rb_homes_new (config, municipality, "portal/municipality", why)))
        rc = why->code;
    if (!rc && !(self->region = rb_pseudonym_from_config (config, why)))
        rc = why->code;
    return rc;
}

rb_err_t
rb_portal_setup (rb_node_t *node, const rb_config_t *config, void **state_p, rb_refusal_t *why)
{
    s_portal_t *self = calloc (1, sizeof *self);
    if (!self)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    *state_p = self;
    self->node = node;
    rb_refusal_clear (why);
    rb_err_t rc = s_read_config (self, config, why);
    if (!rc)
        rc = rb_node_table (node, "portal_child", &self->children);
    if (!rc)
        rc = rb_node_table (node, "portal_link", &self->links);
    if (!rc)
        rc = rb_node_table (node, "portal_report", &self->reports);
    if (!rc)
        rc = rb_node_table (node, "portal_consent", &self->consents);
    if (rc)
        return why->code? rc: s_store_error (rc, why);
    rb_node_set_call_handler (node, s_call, self);
    rb_node_set_label (node, s_label, self);
    rb_log_info ("msg=\"portal ready\" municipality_codes=%zu", rb_homes_size (self->homes));
    return RB_OK;
}

void
rb_portal_teardown (void **state_p)
{
    s_portal_t *self = *state_p;
    if (!self)
        return;
    rb_homes_destroy (&self->homes);
    rb_pseudonym_destroy (&self->region);
    free (self);
    *state_p = NULL;
}
