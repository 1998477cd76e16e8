/*  rb_care: the care provider's node; see rb_care.h and README.md here.
 *
 *  Design. Two tables of fixed-size records, each starting with a version
 *  byte so the layout can evolve; a record of another size or version is
 *  a storage error, never trusted:
 *
 *    care_case         pseudonym -> the provider's own name for the child
 *    care_involvement  pseudonym role(1) -> involved, the municipality
 *                      node it was registered with, the contact sent
 *
 *  An involvement is one per (case, role), as the municipality's register
 *  holds each actor on its own: a provider that works on a case as both
 *  wijkteam and jeugdhulp registers and ends each by itself. While it is
 *  involved, a case stays with the municipality it was registered with,
 *  so ending it needs no municipality named and cannot reach another.
 *
 *  A call validates everything before it reads, and decides before it
 *  writes; the runtime runs it in a child transaction, so a refusal at any
 *  point leaves nothing behind, and what it emits leaves only with the
 *  commit.
 */
#include "rb_care.h"
#include "rb_calendar.h"
#include "rb_homes.h"
#include "rb_log.h"
#include "rb_plan_command.h"
#include "rb_pseudonym.h"
#include "rb_text.h"
#include <czmq.h>

#define S_RECORD_VERSION 1
#define S_PAYLOAD_MAX 4096              //  a PlanCommand of 32 milestones with 64-byte labels fits

//  The daemon's state, made at setup.
typedef struct {
    rb_node_t *node;                    //  the node this daemon runs on
    rb_homes_t *homes;                  //  municipality codes -> nodes, care/municipality for none
    rb_pseudonym_t *region;             //  the region key: citizen numbers -> pseudonyms
    char contact [RB_TEXT_MAX + 1];     //  care/contact: the team's contact by default
    rb_table_t cases;                   //  "care_case"
    rb_table_t involvements;            //  "care_involvement"
} s_care_t;

//  care_case record.
typedef struct {
    uint8_t version;                    //  S_RECORD_VERSION
    char local_name [RB_TEXT_MAX + 1];  //  how this provider's users know the child
} s_case_t;

//  care_involvement record.
typedef struct {
    uint8_t version;                    //  S_RECORD_VERSION
    uint8_t involved;                   //  1 while involved, 0 once ended
    char node [RB_NAME_MAX + 1];        //  the municipality node it was sent to
    char contact [RB_TEXT_MAX + 1];     //  the contact last sent
} s_involvement_t;

//  One involvement call while it is answered.
typedef struct {
    const Regiebus__InvolvementRequest *q;  //  the request
    char pseudonym [RB_PSEUDONYM_LEN + 1];  //  the case
    const char *case_field;             //  how the request named the case, for refusals
    const char *node;                   //  the municipality node it goes to
    const char *contact;                //  the contact to send
    uint8_t key [RB_PSEUDONYM_LEN + 1]; //  its care_involvement key
    s_involvement_t stored;             //  what this node registered before
    bool found;                         //  whether it registered anything
    uint8_t event_id [16];              //  the INVOLVEMENT event sent
    bool sent;                          //  whether one was sent
} s_call_t;


// ---------------------------------------------------------------------------
//  Validate: every field of the request, before anything is read

//  The case, by citizen number or by pseudonym, never both.
static rb_err_t
s_check_case (s_care_t *self, s_call_t *c, rb_refusal_t *why)
{
    const Regiebus__InvolvementRequest *q = c->q;
    if (!*q->citizen_number && !*q->case_pseudonym)
        return rb_refuse (why, RB_EMISSING, "involvement.citizen_number",
                          "name the case by involvement.citizen_number or involvement.case_pseudonym");
    if (*q->citizen_number && *q->case_pseudonym)
        return rb_refuse (why, RB_EINVALID, "involvement.case_pseudonym",
                          "give involvement.citizen_number or involvement.case_pseudonym, not both");
    if (*q->case_pseudonym) {
        c->case_field = "involvement.case_pseudonym";
        if (!rb_wire_pseudonym_valid (q->case_pseudonym))
            return rb_refuse (why, RB_EINVALID, c->case_field,
                              "%s must be 64 lowercase hex characters", c->case_field);
        snprintf (c->pseudonym, sizeof c->pseudonym, "%s", q->case_pseudonym);
        return RB_OK;
    }
    c->case_field = "involvement.citizen_number";
    if (rb_pseudonym_of (self->region, q->citizen_number, c->pseudonym, why))
        return rb_refuse (why, RB_EINVALID, c->case_field,
                          "%s must be 9 digits passing the 11-check", c->case_field);
    return RB_OK;
}

static bool
s_care_role (Regiebus__Role role)
{
    return role == REGIEBUS__ROLE__JEUGDHULP || role == REGIEBUS__ROLE__WIJKTEAM
        || role == REGIEBUS__ROLE__SAMENWERKINGSVERBAND;
}

static rb_err_t
s_check (s_care_t *self, s_call_t *c, rb_refusal_t *why)
{
    const Regiebus__InvolvementRequest *q = c->q;
    rb_err_t rc = s_check_case (self, c, why);
    if (!rc && !s_care_role (q->role))
        rc = rb_refuse (why, RB_EINVALID, "involvement.role",
                        "involvement.role must be JEUGDHULP, WIJKTEAM or SAMENWERKINGSVERBAND");
    if (!rc)
        rc = rb_text_check (q->contact, RB_TEXT_MAX, "involvement.contact", why);
    if (!rc)
        rc = rb_text_check (q->local_name, RB_TEXT_MAX, "involvement.local_name", why);
    //  No municipality named: the one registered before, else the default.
    if (!rc && *q->home_municipality)
        rc = rb_homes_resolve (self->homes, q->home_municipality, "involvement.home_municipality",
                               &c->node, why);
    c->contact = *q->contact? q->contact: self->contact;
    return rc;
}


// ---------------------------------------------------------------------------
//  Records

static rb_err_t
s_store_error (rb_err_t rc, rb_refusal_t *why)
{
    return rb_refuse (why, rc, NULL, "care store: %s", rb_strerror (rc));
}

//  Read the involvement registered for the call's case and role.
static rb_err_t
s_read (s_care_t *self, rb_txn_t *txn, s_call_t *c, rb_refusal_t *why)
{
    memcpy (c->key, c->pseudonym, RB_PSEUDONYM_LEN);
    c->key [RB_PSEUDONYM_LEN] = (uint8_t) c->q->role;
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->involvements, (rb_val_t) { c->key, sizeof c->key }, &value);
    c->found = rc == RB_OK;
    if (rc == RB_ENOTFOUND)
        return RB_OK;
    if (!rc && (value.size != sizeof c->stored
            || ((const s_involvement_t *) value.data)->version != S_RECORD_VERSION))
        rc = RB_ESTORE;
    if (rc)
        return s_store_error (rc, why);
    memcpy (&c->stored, value.data, sizeof c->stored);
    c->stored.node [RB_NAME_MAX] = 0;
    c->stored.contact [RB_TEXT_MAX] = 0;
    return RB_OK;
}

static rb_err_t
s_write_involvement (s_care_t *self, rb_txn_t *txn, s_call_t *c, rb_refusal_t *why)
{
    s_involvement_t record;
    memset (&record, 0, sizeof record);
    record.version = S_RECORD_VERSION;
    record.involved = c->q->involved;
    snprintf (record.node, sizeof record.node, "%s", c->node);
    snprintf (record.contact, sizeof record.contact, "%s", c->contact);
    rb_err_t rc = rb_txn_put (txn, self->involvements, (rb_val_t) { c->key, sizeof c->key },
                              (rb_val_t) { &record, sizeof record });
    return rc? s_store_error (rc, why): RB_OK;
}

//  Keep the provider's name for the child when the request gives a new one.
static rb_err_t
s_keep_name (s_care_t *self, rb_txn_t *txn, s_call_t *c, rb_refusal_t *why)
{
    if (!*c->q->local_name)
        return RB_OK;
    rb_val_t key = { c->pseudonym, RB_PSEUDONYM_LEN }, value;
    rb_err_t rc = rb_txn_get (txn, self->cases, key, &value);
    if (rc == RB_OK && value.size == sizeof (s_case_t)
    &&  strncmp (((const s_case_t *) value.data)->local_name, c->q->local_name, RB_TEXT_MAX + 1) == 0)
        return RB_OK;
    if (rc && rc != RB_ENOTFOUND)
        return s_store_error (rc, why);
    s_case_t record;
    memset (&record, 0, sizeof record);
    record.version = S_RECORD_VERSION;
    snprintf (record.local_name, sizeof record.local_name, "%s", c->q->local_name);
    rc = rb_txn_put (txn, self->cases, key, (rb_val_t) { &record, sizeof record });
    return rc? s_store_error (rc, why): RB_OK;
}


// ---------------------------------------------------------------------------
//  Decide, commit and route

//  Whether the request changes what the municipality knows; refuses an
//  end of what was never registered and a move while involved.
static rb_err_t
s_decide (s_care_t *self, s_call_t *c, bool *changed, rb_refusal_t *why)
{
    const Regiebus__InvolvementRequest *q = c->q;
    if (!c->found && !q->involved)
        return rb_refuse (why, RB_ENOTFOUND, c->case_field,
                          "this node registered no involvement with role %d on the case",
                          (int) q->role);
    if (!c->node && c->found)
        c->node = c->stored.node;
    if (!c->node && rb_homes_resolve (self->homes, "", "involvement.home_municipality", &c->node, why))
        return why->code;
    if (c->found && c->stored.involved && !streq (c->node, c->stored.node))
        return rb_refuse (why, RB_EPRECONDITION, "involvement.home_municipality",
                          "the involvement is registered with %s: end it there first",
                          c->stored.node);
    *changed = !c->found || c->stored.involved != q->involved
            || (q->involved && !streq (c->contact, c->stored.contact));
    return RB_OK;
}

//  Send INVOLVEMENT {role, involved, contact} to the case's municipality.
static rb_err_t
s_send (s_care_t *self, rb_txn_t *txn, s_call_t *c, rb_refusal_t *why)
{
    Regiebus__Involvement involvement = REGIEBUS__INVOLVEMENT__INIT;
    involvement.role = c->q->role;
    involvement.involved = c->q->involved;
    involvement.contact = (char *) c->contact;
    uint8_t payload [2 * RB_TEXT_MAX];
    size_t size = regiebus__involvement__pack (&involvement, payload);
    rb_emit_t emit = {
        .destination = c->node, .case_pseudonym = c->pseudonym,
        .kind = REGIEBUS__EVENT_KIND__INVOLVEMENT, .payload = payload, .payload_size = size,
    };
    rb_err_t rc = rb_node_emit (self->node, txn, &emit, c->event_id, why);
    if (rc)
        return rc;
    c->sent = true;
    rb_log_info ("msg=\"involvement sent\" case=%.12s role=%d involved=%d to=%s",
                 c->pseudonym, (int) c->q->role, (int) c->q->involved, c->node);
    return RB_OK;
}

static rb_err_t
s_involvement (s_care_t *self, rb_call_t *call, rb_txn_t *txn,
               const Regiebus__InvolvementRequest *q, rb_refusal_t *why)
{
    s_call_t c = { .q = q };
    bool changed = false;
    rb_err_t rc = s_check (self, &c, why);
    if (!rc)
        rc = s_read (self, txn, &c, why);
    if (!rc)
        rc = s_decide (self, &c, &changed, why);
    if (!rc && changed)
        rc = s_write_involvement (self, txn, &c, why);
    if (!rc && changed)
        rc = s_send (self, txn, &c, why);
    if (!rc)
        rc = s_keep_name (self, txn, &c, why);
    if (rc)
        return rc;
    if (c.sent)
        rb_node_count (self->node, q->involved? "care_involvements": "care_involvements_ended", 1);
    Regiebus__InvolvementReply result = REGIEBUS__INVOLVEMENT_REPLY__INIT;
    result.case_pseudonym = c.pseudonym;
    result.event_id.data = c.event_id;
    result.event_id.len = c.sent? sizeof c.event_id: 0;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_INVOLVEMENT;
    reply.involvement = &result;
    return rb_call_reply (call, &reply);
}

// ---------------------------------------------------------------------------
//  Plans: checked here, applied by the case's municipality

//  The municipality this provider's involvement as role on the case went
//  to; FAILED_PRECONDITION "command.actor" when it is not involved so.
static rb_err_t
s_involved_at (s_care_t *self, rb_txn_t *txn, const char *pseudonym, rb_role_t role,
               char *node, rb_refusal_t *why)
{
    uint8_t key [RB_PSEUDONYM_LEN + 1];
    memcpy (key, pseudonym, RB_PSEUDONYM_LEN);
    key [RB_PSEUDONYM_LEN] = (uint8_t) role;
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->involvements, (rb_val_t) { key, sizeof key }, &value);
    const s_involvement_t *stored = value.data;
    if (rc == RB_ENOTFOUND || (!rc && value.size == sizeof *stored && !stored->involved))
        return rb_refuse (why, RB_EPRECONDITION, "command.actor",
                          "this provider is not involved on case %.12s... in role %d", pseudonym, (int) role);
    if (!rc && (value.size != sizeof *stored || stored->version != S_RECORD_VERSION))
        rc = RB_ESTORE;
    if (rc)
        return s_store_error (rc, why);
    snprintf (node, RB_NAME_MAX + 1, "%.*s", RB_NAME_MAX, stored->node);
    return RB_OK;
}

static rb_err_t
s_plan_command (s_care_t *self, rb_call_t *call, rb_txn_t *txn, const Regiebus__PlanCommandRequest *q,
                rb_refusal_t *why)
{
    rb_plan_command_t *cmd = malloc (sizeof *cmd);
    if (!cmd)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    int32_t today = rb_calendar_date_at (rb_node_now_ms (self->node));
    char node [RB_NAME_MAX + 1];
    uint8_t event_id [16];
    rb_err_t rc = rb_plan_command_check (q, rb_node_name (self->node), today, cmd, why);
    if (!rc)
        rc = s_involved_at (self, txn, q->case_pseudonym, cmd->actor.role, node, why);
    free (cmd);
    uint8_t payload [S_PAYLOAD_MAX];
    size_t size = rc? 0: regiebus__plan_command__get_packed_size (q->command);
    if (!rc && size > sizeof payload)
        rc = rb_refuse (why, RB_ETOOLARGE, "command", "command of %zu bytes", size);
    rb_emit_t emit = {
        .destination = node, .case_pseudonym = q->case_pseudonym,
        .kind = REGIEBUS__EVENT_KIND__PLAN_COMMAND, .payload = payload,
        .payload_size = rc? 0: regiebus__plan_command__pack (q->command, payload),
    };
    if (!rc)
        rc = rb_node_emit (self->node, txn, &emit, event_id, why);
    if (rc)
        return rc;
    rb_log_info ("msg=\"plan command sent\" case=%.12s to=%s", q->case_pseudonym, node);
    rb_node_count (self->node, "care_plan_commands_sent", 1);
    Regiebus__PlanCommandReply result = REGIEBUS__PLAN_COMMAND_REPLY__INIT;
    result.case_pseudonym = q->case_pseudonym;
    result.event_id.data = event_id;
    result.event_id.len = sizeof event_id;
    result.municipality_node = node;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_PLAN_COMMAND;
    reply.plan_command = &result;
    return rb_call_reply (call, &reply);
}

static rb_err_t
s_call (rb_node_t *node, rb_call_t *call, rb_txn_t *txn, const Regiebus__ApiRequest *request,
        void *arg, rb_refusal_t *why)
{
    (void) node;
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_INVOLVEMENT)
        return s_involvement (arg, call, txn, request->involvement, why);
    if (request->call_case == REGIEBUS__API_REQUEST__CALL_PLAN_COMMAND)
        return s_plan_command (arg, call, txn, request->plan_command, why);
    return rb_refuse (why, RB_EPRECONDITION, "call", "a care node takes involvement and plan_command, not this call");
}

//  Notifications are listed with the provider's own name for the child.
static bool
s_label (rb_txn_t *txn, const char *pseudonym, const char *account, char *label, size_t size,
         void *arg)
{
    (void) account;
    s_care_t *self = arg;
    rb_val_t value;
    if (rb_txn_get (txn, self->cases, (rb_val_t) { pseudonym, RB_PSEUDONYM_LEN }, &value) == RB_OK
    &&  value.size == sizeof (s_case_t))
        snprintf (label, size, "%.*s", RB_TEXT_MAX, ((const s_case_t *) value.data)->local_name);
    return true;
}


// ---------------------------------------------------------------------------
//  Setup

static rb_err_t
s_read_config (s_care_t *self, const rb_config_t *config, rb_refusal_t *why)
{
    char municipality [RB_NAME_MAX + 1];
    const rb_config_item_t items [] = {
        { "municipality", RB_CONFIG_TEXT, municipality, sizeof municipality, true, NULL, 0, 0 },
        { "contact", RB_CONFIG_TEXT, self->contact, sizeof self->contact, false, "", 0, 0 },
    };
    rb_err_t rc = rb_config_section (config, "care", items, sizeof items / sizeof items [0], why);
    if (!rc)
        rc = rb_text_check (self->contact, RB_TEXT_MAX, "care/contact", why);
    if (!rc && !(self->homes = rb_homes_new (config, municipality, "care/municipality", why)))
        rc = why->code;
    if (!rc && !(self->region = rb_pseudonym_from_config (config, why)))
        rc = why->code;
    return rc;
}

rb_err_t
rb_care_setup (rb_node_t *node, const rb_config_t *config, void **state_p, rb_refusal_t *why)
{
    s_care_t *self = calloc (1, sizeof *self);
    if (!self)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    *state_p = self;
    self->node = node;
    rb_refusal_clear (why);
    rb_err_t rc = s_read_config (self, config, why);
    if (!rc)
        rc = rb_node_table (node, "care_case", &self->cases);
    if (!rc)
        rc = rb_node_table (node, "care_involvement", &self->involvements);
    if (rc)
        return why->code? rc: s_store_error (rc, why);
    rb_node_set_call_handler (node, s_call, self);
    rb_node_set_label (node, s_label, self);
    rb_log_info ("msg=\"care ready\" municipality_codes=%zu", rb_homes_size (self->homes));
    return RB_OK;
}

void
rb_care_teardown (void **state_p)
{
    s_care_t *self = *state_p;
    if (!self)
        return;
    rb_homes_destroy (&self->homes);
    rb_pseudonym_destroy (&self->region);
    free (self);
    *state_p = NULL;
}
