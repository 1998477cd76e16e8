/*  rb_regie: the regie register; see rb_regie.h and README.md here.
 *
 *  Design. Two tables. "case" holds one record per case, keyed by the
 *  pseudonym. "regie" holds one record per holder, keyed by
 *  pseudonym NUL node NUL role: the pseudonym has a fixed length and node
 *  names contain no NUL, so one case's holders are contiguous (a scan by
 *  the prefix pseudonym NUL), sorted by node name (a shorter name that
 *  prefixes another sorts first, as strcmp does) and then by role, and one
 *  node's roles are contiguous too (prefix pseudonym NUL node NUL).
 *
 *  Records start with a version byte so their layout can evolve; numbers
 *  are big-endian (rb_u64_put); a record that does not decode is
 *  RB_ESTORE, never trusted.
 *
 *    case    version(1) flags(1: bit 0 closed) opened_at_ms(8) changed_at_ms(8)
 *    holder  version(1) since_ms(8) contact_len(1) contact reason_len(1) reason
 *
 *  Every mutating call runs in two phases: first every argument, the case
 *  and the holder limit are checked (reads only), then the writes. So a
 *  refusal never follows a write.
 */
#include "rb_regie.h"
#include "rb_text.h"
#include "rb_wire.h"
#include "case.pb-c.h"
#include <stdlib.h>
#include <string.h>

//  The register's numbers are the wire's.
_Static_assert ((int) RB_ROLE_SCHOOL_MENTOR == (int) REGIEBUS__ROLE__SCHOOL_MENTOR, "Role numbers");
_Static_assert ((int) RB_ROLE_PARENT == (int) REGIEBUS__ROLE__PARENT, "Role numbers");
_Static_assert ((int) RB_ROLE_LEERPLICHT == (int) REGIEBUS__ROLE__LEERPLICHT, "Role numbers");
_Static_assert ((int) RB_ROLE_CASUSREGISSEUR == (int) REGIEBUS__ROLE__CASUSREGISSEUR, "Role numbers");
_Static_assert ((int) RB_ROLE_JEUGDHULP == (int) REGIEBUS__ROLE__JEUGDHULP, "Role numbers");
_Static_assert ((int) RB_ROLE_WIJKTEAM == (int) REGIEBUS__ROLE__WIJKTEAM, "Role numbers");
_Static_assert ((int) RB_ROLE_SAMENWERKINGSVERBAND == (int) REGIEBUS__ROLE__SAMENWERKINGSVERBAND, "Role numbers");
_Static_assert ((int) RB_ROLE_DUTY_DESK == (int) REGIEBUS__ROLE__DUTY_DESK, "Role numbers");
_Static_assert (RB_REGIE_SIGNAL_FIRST_ABSENCE == (int) REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE,
                "AbsenceSignalKind numbers");
_Static_assert (RB_REGIE_SIGNAL_LEGAL_THRESHOLD == (int) REGIEBUS__ABSENCE_SIGNAL_KIND__LEGAL_THRESHOLD,
                "AbsenceSignalKind numbers");
_Static_assert (RB_REGIE_SIGNAL_MAX == (int) REGIEBUS__ABSENCE_SIGNAL_KIND__EPISODE_CLOSED,
                "AbsenceSignalKind numbers");
_Static_assert (RB_REGIE_CONTACT_MAX <= 255 && RB_REGIE_REASON_MAX <= 255,
                "lengths fit the one-byte length fields");

#define S_CASE_VERSION 1
#define S_CASE_SIZE 18
#define S_CASE_CLOSED 0x01
#define S_HOLDER_VERSION 1

//  Largest key: pseudonym NUL node NUL role.
#define S_KEY_MAX (RB_PSEUDONYM_LEN + 1 + RB_NAME_MAX + 1 + 1)

//  Largest holder record.
#define S_HOLDER_MAX (1 + 8 + 1 + RB_REGIE_CONTACT_MAX + 1 + RB_REGIE_REASON_MAX)

struct _rb_regie_t {
    rb_table_t cases;               //  "case": pseudonym -> case record
    rb_table_t holders;             //  "regie": pseudonym NUL node NUL role -> holder record
};

//  A key of the "regie" table, or a prefix of one.
typedef struct {
    uint8_t bytes [S_KEY_MAX];      //  the key
    size_t size;                    //  its length
} s_key_t;


// ---------------------------------------------------------------------------
//  Checks: each fills the refusal and returns its code

static rb_err_t
s_check_pseudonym (const char *pseudonym, rb_refusal_t *refusal)
{
    if (!rb_wire_pseudonym_valid (pseudonym))
        return rb_refuse (refusal, RB_EINVALID, "case_pseudonym",
                          "case_pseudonym must be 64 lowercase hex characters");
    return RB_OK;
}

static rb_err_t
s_check_node (const char *node, const char *field, rb_refusal_t *refusal)
{
    if (!node || !rb_config_name_valid (node))
        return rb_refuse (refusal, RB_EINVALID, field, "%s must be 1-63 of [a-z0-9-]", field);
    return RB_OK;
}

static bool
s_role_known (int role)
{
    return role >= RB_ROLE_SCHOOL_MENTOR && role <= RB_ROLE_MAX;
}

//  A contact goes on the wire in RegieChange.contact (a protobuf string)
//  and into logs and terminals: checked as every node checks free text.
static rb_err_t
s_check_contact (const char *contact, const char *field, rb_refusal_t *refusal)
{
    return rb_text_check (contact, RB_REGIE_CONTACT_MAX, field, refusal);
}

static rb_err_t
s_check_reason (const char *reason, rb_refusal_t *refusal)
{
    if (!reason)
        return RB_OK;
    size_t size = strlen (reason);
    bool ok = size <= RB_REGIE_REASON_MAX;
    for (size_t i = 0; ok && i < size; i++)
        ok = (reason [i] >= 'a' && reason [i] <= 'z') || (reason [i] >= '0' && reason [i] <= '9')
          || reason [i] == '_';
    if (!ok)
        return rb_refuse (refusal, RB_EINVALID, "reason",
                          "reason must be at most %d of [a-z0-9_]", RB_REGIE_REASON_MAX);
    return RB_OK;
}

//  The arguments of a join or leave: pseudonym, actor, and for a join the
//  contact and reason.
static rb_err_t
s_check_actor (const char *pseudonym, const rb_actor_t *actor, rb_refusal_t *refusal)
{
    rb_err_t rc = s_check_pseudonym (pseudonym, refusal);
    if (!rc && !actor)
        rc = rb_refuse (refusal, RB_EMISSING, "actor", "actor is missing");
    if (!rc)
        rc = s_check_node (actor->node, "actor.node", refusal);
    if (!rc && !s_role_known ((int) actor->role))
        rc = rb_refuse (refusal, RB_EINVALID, "actor.role",
                        "actor.role %d is not a known Role (1-%d)", (int) actor->role, RB_ROLE_MAX);
    return rc;
}

//  Report a storage error as a refusal without a field.
static rb_err_t
s_store_error (rb_err_t rc, rb_refusal_t *refusal)
{
    return rb_refuse (refusal, rc, NULL, "regie register: %s", rb_strerror (rc));
}


// ---------------------------------------------------------------------------
//  Keys and records

//  The key of a holder; with role 0 and prefix_only, the prefix of a node's
//  roles (pseudonym NUL node NUL); with node NULL, the prefix of a case's
//  holders (pseudonym NUL). Arguments are checked before.
static s_key_t
s_key (const char *pseudonym, const char *node, int role, bool prefix_only)
{
    s_key_t key;
    memcpy (key.bytes, pseudonym, RB_PSEUDONYM_LEN);
    key.bytes [RB_PSEUDONYM_LEN] = 0;
    key.size = RB_PSEUDONYM_LEN + 1;
    if (node) {
        size_t len = strlen (node);
        memcpy (key.bytes + key.size, node, len);
        key.size += len;
        key.bytes [key.size++] = 0;
        if (!prefix_only)
            key.bytes [key.size++] = (uint8_t) role;
    }
    return key;
}

static rb_val_t
s_val (const s_key_t *key)
{
    return (rb_val_t) { key->bytes, key->size };
}

//  The actor a holder key names; false when the key does not decode.
static bool
s_key_actor (rb_val_t key, rb_actor_t *actor)
{
    const uint8_t *bytes = key.data;
    if (key.size < RB_PSEUDONYM_LEN + 4 || key.size > S_KEY_MAX || bytes [key.size - 2] != 0)
        return false;
    size_t len = key.size - RB_PSEUDONYM_LEN - 3;
    if (memchr (bytes + RB_PSEUDONYM_LEN + 1, 0, len))
        return false;
    memcpy (actor->node, bytes + RB_PSEUDONYM_LEN + 1, len);
    actor->node [len] = 0;
    actor->role = (rb_role_t) bytes [key.size - 1];
    return s_role_known (actor->role);
}

static rb_err_t
s_case_read (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym, rb_regie_case_t *out)
{
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->cases, (rb_val_t) { pseudonym, RB_PSEUDONYM_LEN }, &value);
    if (rc)
        return rc;
    const uint8_t *bytes = value.data;
    if (value.size != S_CASE_SIZE || bytes [0] != S_CASE_VERSION || (bytes [1] & ~S_CASE_CLOSED))
        return RB_ESTORE;
    out->closed = bytes [1] & S_CASE_CLOSED;
    out->opened_at_ms = (int64_t) rb_u64_get (bytes + 2);
    out->changed_at_ms = (int64_t) rb_u64_get (bytes + 10);
    return RB_OK;
}

static rb_err_t
s_case_write (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym, const rb_regie_case_t *record)
{
    uint8_t bytes [S_CASE_SIZE];
    bytes [0] = S_CASE_VERSION;
    bytes [1] = record->closed? S_CASE_CLOSED: 0;
    rb_u64_put (bytes + 2, (uint64_t) record->opened_at_ms);
    rb_u64_put (bytes + 10, (uint64_t) record->changed_at_ms);
    return rb_txn_put (txn, self->cases, (rb_val_t) { pseudonym, RB_PSEUDONYM_LEN },
                       (rb_val_t) { bytes, sizeof bytes });
}

//  Decode a holder record into holder (its actor is set by the caller).
static rb_err_t
s_holder_decode (rb_val_t value, rb_regie_holder_t *holder)
{
    const uint8_t *bytes = value.data;
    if (value.size < 11 || bytes [0] != S_HOLDER_VERSION)
        return RB_ESTORE;
    size_t contact_len = bytes [9];
    if (contact_len > RB_REGIE_CONTACT_MAX || value.size < 11 + contact_len)
        return RB_ESTORE;
    size_t reason_len = bytes [10 + contact_len];
    if (reason_len > RB_REGIE_REASON_MAX || value.size != 11 + contact_len + reason_len)
        return RB_ESTORE;
    holder->since_ms = (int64_t) rb_u64_get (bytes + 1);
    memcpy (holder->contact, bytes + 10, contact_len);
    holder->contact [contact_len] = 0;
    memcpy (holder->reason, bytes + 11 + contact_len, reason_len);
    holder->reason [reason_len] = 0;
    return RB_OK;
}

static rb_err_t
s_holder_write (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                const rb_regie_holder_t *holder)
{
    uint8_t bytes [S_HOLDER_MAX];
    size_t contact_len = strlen (holder->contact);
    size_t reason_len = strlen (holder->reason);
    bytes [0] = S_HOLDER_VERSION;
    rb_u64_put (bytes + 1, (uint64_t) holder->since_ms);
    bytes [9] = (uint8_t) contact_len;
    memcpy (bytes + 10, holder->contact, contact_len);
    bytes [10 + contact_len] = (uint8_t) reason_len;
    memcpy (bytes + 11 + contact_len, holder->reason, reason_len);
    s_key_t key = s_key (pseudonym, holder->actor.node, (int) holder->actor.role, false);
    return rb_txn_put (txn, self->holders, s_val (&key),
                       (rb_val_t) { bytes, 11 + contact_len + reason_len });
}

//  Read actor's holder record: RB_OK, RB_ENOTFOUND or a storage error.
static rb_err_t
s_holder_read (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym, const rb_actor_t *actor,
               rb_regie_holder_t *holder)
{
    s_key_t key = s_key (pseudonym, actor->node, (int) actor->role, false);
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->holders, s_val (&key), &value);
    if (rc)
        return rc;
    holder->actor = *actor;
    return s_holder_decode (value, holder);
}

static int
s_count_one (rb_val_t key, rb_val_t value, void *arg)
{
    (void) key;
    (void) value;
    (*(size_t *) arg)++;
    return 0;
}

//  Collects a case's holders, or only its distinct nodes.
typedef struct {
    rb_regie_holder_t *holders;     //  out, or NULL when collecting nodes
    char (*nodes) [RB_NAME_MAX + 1];    //  out, or NULL when collecting holders
    size_t max;                     //  room in out
    size_t count;                   //  written so far
} s_collect_t;

static int
s_collect (rb_val_t key, rb_val_t value, void *arg)
{
    s_collect_t *c = arg;
    rb_actor_t actor;
    if (!s_key_actor (key, &actor))
        return RB_ESTORE;
    if (c->nodes) {
        if (c->count && strcmp (c->nodes [c->count - 1], actor.node) == 0)
            return 0;               //  another role of the same node
        if (c->count == c->max)
            return RB_ETOOLARGE;
        memcpy (c->nodes [c->count++], actor.node, sizeof actor.node);
        return 0;
    }
    if (c->count == c->max)
        return RB_ETOOLARGE;
    rb_regie_holder_t *holder = &c->holders [c->count];
    holder->actor = actor;
    rb_err_t rc = s_holder_decode (value, holder);
    if (rc)
        return rc;
    c->count++;
    return 0;
}

static int
s_found (rb_val_t key, rb_val_t value, void *arg)
{
    (void) key;
    (void) value;
    *(bool *) arg = true;
    return 1;
}


// ---------------------------------------------------------------------------
//  Joins and leaves on checked arguments

//  Make actor a holder; open the case first when it is missing and
//  may_open. Checks the case and the limit before the first write. When
//  change is not NULL and the register changed, it describes the change.
static rb_err_t
s_join (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym, const rb_actor_t *actor,
        const char *contact, const char *reason, int64_t now_ms, bool may_open,
        bool *changed, rb_regie_change_t *change, rb_refusal_t *refusal)
{
    *changed = false;
    contact = contact? contact: "";
    reason = reason? reason: "";
    rb_regie_case_t record;
    rb_regie_holder_t holder;
    bool exists = false;
    rb_err_t rc = s_case_read (self, txn, pseudonym, &record);
    if (rc == RB_ENOTFOUND) {
        if (!may_open)
            return rb_refuse (refusal, RB_ENOTFOUND, "case", "no case %.12s... in the register",
                              pseudonym);
        //  A new case has no holders: nothing more to check.
        record = (rb_regie_case_t) { .opened_at_ms = now_ms, .changed_at_ms = now_ms };
    }
    else
    if (rc)
        return s_store_error (rc, refusal);
    else {
        rc = s_holder_read (self, txn, pseudonym, actor, &holder);
        if (rc == RB_OK) {
            exists = true;
            if (strcmp (holder.contact, contact) == 0)
                return RB_OK;       //  holds the role already, same contact
        }
        else
        if (rc != RB_ENOTFOUND)
            return s_store_error (rc, refusal);
        else {
            size_t holders = 0;
            s_key_t prefix = s_key (pseudonym, NULL, 0, true);
            rc = rb_txn_scan (txn, self->holders, s_val (&prefix), s_val (&prefix),
                              s_count_one, &holders);
            if (rc)
                return s_store_error (rc, refusal);
            if (holders >= RB_REGIE_MAX_HOLDERS)
                return rb_refuse (refusal, RB_ETOOLARGE, "holders",
                                  "the case has %d holders already, the most it may have",
                                  RB_REGIE_MAX_HOLDERS);
        }
    }
    //  Everything checked: write.
    if (exists)
        snprintf (holder.contact, sizeof holder.contact, "%s", contact);
    else {
        memset (&holder, 0, sizeof holder);
        holder.actor = *actor;
        holder.since_ms = now_ms;
        snprintf (holder.contact, sizeof holder.contact, "%s", contact);
        snprintf (holder.reason, sizeof holder.reason, "%s", reason);
    }
    record.changed_at_ms = now_ms;
    rc = s_case_write (self, txn, pseudonym, &record);
    if (!rc)
        rc = s_holder_write (self, txn, pseudonym, &holder);
    if (rc)
        return s_store_error (rc, refusal);
    *changed = true;
    if (change) {
        memset (change, 0, sizeof *change);
        change->actor = holder.actor;
        change->joined = true;
        change->since_ms = holder.since_ms;
        memcpy (change->contact, holder.contact, sizeof change->contact);
        memcpy (change->reason, holder.reason, sizeof change->reason);
    }
    return RB_OK;
}

//  Remove actor from the holders; the case must exist.
static rb_err_t
s_leave (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym, const rb_actor_t *actor,
         const char *reason, int64_t now_ms, bool *changed, rb_regie_change_t *change,
         rb_refusal_t *refusal)
{
    *changed = false;
    rb_regie_case_t record;
    rb_regie_holder_t holder;
    rb_err_t rc = s_case_read (self, txn, pseudonym, &record);
    if (rc == RB_ENOTFOUND)
        return rb_refuse (refusal, RB_ENOTFOUND, "case", "no case %.12s... in the register",
                          pseudonym);
    if (rc)
        return s_store_error (rc, refusal);
    rc = s_holder_read (self, txn, pseudonym, actor, &holder);
    if (rc == RB_ENOTFOUND)
        return RB_OK;               //  holds no such role: nothing to do
    if (rc)
        return s_store_error (rc, refusal);
    record.changed_at_ms = now_ms;
    s_key_t key = s_key (pseudonym, actor->node, (int) actor->role, false);
    rc = rb_txn_del (txn, self->holders, s_val (&key));
    if (!rc)
        rc = s_case_write (self, txn, pseudonym, &record);
    if (rc)
        return s_store_error (rc, refusal);
    *changed = true;
    if (change) {
        memset (change, 0, sizeof *change);
        change->actor = *actor;
        change->joined = false;
        change->since_ms = now_ms;
        memcpy (change->contact, holder.contact, sizeof change->contact);
        snprintf (change->reason, sizeof change->reason, "%s", reason? reason: "");
    }
    return RB_OK;
}


// ---------------------------------------------------------------------------
//  The register

rb_regie_t *
rb_regie_new (rb_store_t *store)
{
    rb_table_t cases, holders;
    if (rb_store_table (store, RB_REGIE_TABLE_CASES, &cases)
    ||  rb_store_table (store, RB_REGIE_TABLE_HOLDERS, &holders))
        return NULL;
    return rb_regie_new_on (cases, holders);
}

rb_regie_t *
rb_regie_new_on (rb_table_t cases, rb_table_t holders)
{
    rb_regie_t *self = calloc (1, sizeof *self);
    if (self) {
        self->cases = cases;
        self->holders = holders;
    }
    return self;
}

void
rb_regie_destroy (rb_regie_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

rb_err_t
rb_regie_case_open (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                    int64_t now_ms, bool *created, rb_refusal_t *refusal)
{
    *created = false;
    if (refusal)
        rb_refusal_clear (refusal);
    rb_err_t rc = s_check_pseudonym (pseudonym, refusal);
    if (rc)
        return rc;
    rb_regie_case_t record;
    rc = s_case_read (self, txn, pseudonym, &record);
    if (rc == RB_OK)
        return RB_OK;
    if (rc != RB_ENOTFOUND)
        return s_store_error (rc, refusal);
    record = (rb_regie_case_t) { .opened_at_ms = now_ms, .changed_at_ms = now_ms };
    rc = s_case_write (self, txn, pseudonym, &record);
    if (rc)
        return s_store_error (rc, refusal);
    *created = true;
    return RB_OK;
}

bool
rb_regie_case_exists (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym)
{
    rb_regie_case_t record;
    return rb_regie_case_get (self, txn, pseudonym, &record) == RB_OK;
}

rb_err_t
rb_regie_case_get (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym, rb_regie_case_t *out)
{
    memset (out, 0, sizeof *out);
    if (!rb_wire_pseudonym_valid (pseudonym))
        return RB_ENOTFOUND;
    return s_case_read (self, txn, pseudonym, out);
}

rb_err_t
rb_regie_join (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
               const rb_actor_t *actor, const char *contact, const char *reason,
               int64_t now_ms, bool *changed, rb_refusal_t *refusal)
{
    *changed = false;
    if (refusal)
        rb_refusal_clear (refusal);
    rb_err_t rc = s_check_actor (pseudonym, actor, refusal);
    if (!rc)
        rc = s_check_contact (contact, "contact", refusal);
    if (!rc)
        rc = s_check_reason (reason, refusal);
    if (!rc)
        rc = s_join (self, txn, pseudonym, actor, contact, reason, now_ms, false,
                     changed, NULL, refusal);
    return rc;
}

rb_err_t
rb_regie_leave (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                const rb_actor_t *actor, int64_t now_ms, bool *changed,
                rb_refusal_t *refusal)
{
    *changed = false;
    if (refusal)
        rb_refusal_clear (refusal);
    rb_err_t rc = s_check_actor (pseudonym, actor, refusal);
    if (!rc)
        rc = s_leave (self, txn, pseudonym, actor, NULL, now_ms, changed, NULL, refusal);
    return rc;
}

rb_err_t
rb_regie_holders (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                  rb_regie_holder_t *out, size_t max, size_t *count)
{
    *count = 0;
    if (!rb_wire_pseudonym_valid (pseudonym))
        return RB_OK;
    s_collect_t c = { .holders = out, .max = max };
    s_key_t prefix = s_key (pseudonym, NULL, 0, true);
    rb_err_t rc = rb_txn_scan (txn, self->holders, s_val (&prefix), s_val (&prefix), s_collect, &c);
    *count = c.count;
    return rc;
}

bool
rb_regie_node_holds (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym, const char *node)
{
    if (!rb_wire_pseudonym_valid (pseudonym) || !node || !rb_config_name_valid (node))
        return false;
    bool found = false;
    s_key_t prefix = s_key (pseudonym, node, 0, true);
    rb_err_t rc = rb_txn_scan (txn, self->holders, s_val (&prefix), s_val (&prefix), s_found, &found);
    return (rc == RB_OK || rc == 1) && found;
}

rb_err_t
rb_regie_nodes (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                char (*out) [RB_NAME_MAX + 1], size_t max, size_t *count)
{
    *count = 0;
    if (!rb_wire_pseudonym_valid (pseudonym))
        return RB_OK;
    s_collect_t c = { .nodes = out, .max = max };
    s_key_t prefix = s_key (pseudonym, NULL, 0, true);
    rb_err_t rc = rb_txn_scan (txn, self->holders, s_val (&prefix), s_val (&prefix), s_collect, &c);
    *count = c.count;
    return rc;
}


// ---------------------------------------------------------------------------
//  The default policy

rb_regie_policy_t
rb_regie_policy_default (void)
{
    rb_regie_policy_t policy;
    memset (&policy, 0, sizeof policy);
    policy.leerplicht_at_first_absence = false;
    return policy;
}

rb_err_t
rb_regie_policy_check (const rb_regie_policy_t *policy, rb_refusal_t *refusal)
{
    if (!policy)
        return rb_refuse (refusal, RB_EMISSING, "policy", "policy is missing");
    //  The strings must end inside their arrays before anything reads them.
    if (!memchr (policy->leerplicht_node, 0, sizeof policy->leerplicht_node)
    ||  !memchr (policy->duty_node, 0, sizeof policy->duty_node)
    ||  !memchr (policy->leerplicht_contact, 0, sizeof policy->leerplicht_contact)
    ||  !memchr (policy->duty_contact, 0, sizeof policy->duty_contact))
        return rb_refuse (refusal, RB_EINVALID, "policy", "policy holds an unterminated string");
    rb_err_t rc = s_check_node (policy->leerplicht_node, "policy.leerplicht_node", refusal);
    if (!rc)
        rc = s_check_node (policy->duty_node, "policy.duty_node", refusal);
    if (!rc)
        rc = s_check_contact (policy->leerplicht_contact, "policy.leerplicht_contact", refusal);
    if (!rc)
        rc = s_check_contact (policy->duty_contact, "policy.duty_contact", refusal);
    return rc;
}

//  What every helper checks first: the policy, room for the changes and the
//  pseudonym.
static rb_err_t
s_helper_begin (const rb_regie_policy_t *policy, const char *pseudonym,
                rb_regie_change_t *changes, size_t max, size_t *n, rb_refusal_t *refusal)
{
    *n = 0;
    if (refusal)
        rb_refusal_clear (refusal);
    rb_err_t rc = rb_regie_policy_check (policy, refusal);
    if (!rc && (!changes || max < RB_REGIE_CHANGES_MAX))
        rc = rb_refuse (refusal, RB_EINVALID, "changes", "changes must have room for %d",
                        RB_REGIE_CHANGES_MAX);
    if (!rc)
        rc = s_check_pseudonym (pseudonym, refusal);
    return rc;
}

rb_actor_t
rb_regie_actor (const char *node, rb_role_t role)
{
    rb_actor_t actor;
    memset (&actor, 0, sizeof actor);
    snprintf (actor.node, sizeof actor.node, "%s", node);
    actor.role = role;
    return actor;
}

//  Apply one join or leave of a helper and count its change.
static rb_err_t
s_helper_apply (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym, const rb_actor_t *actor,
                bool join, const char *contact, const char *reason, int64_t now_ms,
                bool may_open, rb_regie_change_t *changes, size_t *n, rb_refusal_t *refusal)
{
    bool changed;
    rb_err_t rc = join
        ? s_join (self, txn, pseudonym, actor, contact, reason, now_ms, may_open,
                  &changed, &changes [*n], refusal)
        : s_leave (self, txn, pseudonym, actor, reason, now_ms, &changed, &changes [*n], refusal);
    if (!rc && changed)
        (*n)++;
    return rc;
}

rb_err_t
rb_regie_on_enrolment (rb_regie_t *self, rb_txn_t *txn, const rb_regie_policy_t *policy,
                       const char *pseudonym, const char *school_node,
                       const char *school_contact, int64_t now_ms,
                       rb_regie_change_t *changes, size_t max, size_t *n,
                       rb_refusal_t *refusal)
{
    rb_err_t rc = s_helper_begin (policy, pseudonym, changes, max, n, refusal);
    if (!rc)
        rc = s_check_node (school_node, "school_node", refusal);
    if (!rc)
        rc = s_check_contact (school_contact, "contact", refusal);
    if (rc)
        return rc;
    rb_actor_t school = rb_regie_actor (school_node, RB_ROLE_SCHOOL_MENTOR);
    return s_helper_apply (self, txn, pseudonym, &school, true, school_contact, "enrolment",
                           now_ms, true, changes, n, refusal);
}

rb_err_t
rb_regie_on_parent_link (rb_regie_t *self, rb_txn_t *txn, const rb_regie_policy_t *policy,
                         const char *pseudonym, const char *portal_node, bool linked,
                         int64_t now_ms, rb_regie_change_t *changes, size_t max,
                         size_t *n, rb_refusal_t *refusal)
{
    rb_err_t rc = s_helper_begin (policy, pseudonym, changes, max, n, refusal);
    if (!rc)
        rc = s_check_node (portal_node, "portal_node", refusal);
    if (rc)
        return rc;
    rb_actor_t parent = rb_regie_actor (portal_node, RB_ROLE_PARENT);
    return s_helper_apply (self, txn, pseudonym, &parent, linked, NULL, "parent_link",
                           now_ms, true, changes, n, refusal);
}

rb_err_t
rb_regie_on_involvement (rb_regie_t *self, rb_txn_t *txn, const rb_regie_policy_t *policy,
                         const char *pseudonym, const char *care_node, rb_role_t role,
                         bool involved, const char *contact, int64_t now_ms,
                         rb_regie_change_t *changes, size_t max, size_t *n,
                         rb_refusal_t *refusal)
{
    rb_err_t rc = s_helper_begin (policy, pseudonym, changes, max, n, refusal);
    if (!rc)
        rc = s_check_node (care_node, "care_node", refusal);
    if (!rc && role != RB_ROLE_JEUGDHULP && role != RB_ROLE_WIJKTEAM
    &&  role != RB_ROLE_SAMENWERKINGSVERBAND)
        rc = rb_refuse (refusal, RB_EINVALID, "role",
                        "role %d is not a care role (JEUGDHULP, WIJKTEAM, SAMENWERKINGSVERBAND)",
                        (int) role);
    if (!rc && involved)
        rc = s_check_contact (contact, "contact", refusal);
    if (rc)
        return rc;
    rb_actor_t care = rb_regie_actor (care_node, role);
    return s_helper_apply (self, txn, pseudonym, &care, involved, contact, "involvement",
                           now_ms, true, changes, n, refusal);
}

rb_err_t
rb_regie_on_enrolment_ended (rb_regie_t *self, rb_txn_t *txn, const rb_regie_policy_t *policy,
                             const char *pseudonym, const char *school_node, int64_t now_ms,
                             rb_regie_change_t *changes, size_t max, size_t *n,
                             rb_refusal_t *refusal)
{
    rb_err_t rc = s_helper_begin (policy, pseudonym, changes, max, n, refusal);
    if (!rc)
        rc = s_check_node (school_node, "school_node", refusal);
    if (rc)
        return rc;
    rb_actor_t school = rb_regie_actor (school_node, RB_ROLE_SCHOOL_MENTOR);
    return s_helper_apply (self, txn, pseudonym, &school, false, NULL, "enrolment_ended",
                           now_ms, false, changes, n, refusal);
}

rb_err_t
rb_regie_on_staff (rb_regie_t *self, rb_txn_t *txn, const rb_regie_policy_t *policy,
                   const char *pseudonym, const rb_actor_t *actor, bool joined,
                   const char *contact, int64_t now_ms, rb_regie_change_t *changes,
                   size_t max, size_t *n, rb_refusal_t *refusal)
{
    rb_err_t rc = s_helper_begin (policy, pseudonym, changes, max, n, refusal);
    if (!rc)
        rc = s_check_actor (pseudonym, actor, refusal);
    if (!rc && joined)
        rc = s_check_contact (contact, "contact", refusal);
    if (rc)
        return rc;
    return s_helper_apply (self, txn, pseudonym, actor, joined, contact, "staff", now_ms, false,
                           changes, n, refusal);
}

rb_err_t
rb_regie_on_absence_signal (rb_regie_t *self, rb_txn_t *txn,
                            const rb_regie_policy_t *policy, const char *pseudonym,
                            int signal_kind, int64_t now_ms,
                            rb_regie_change_t *changes, size_t max, size_t *n,
                            rb_refusal_t *refusal)
{
    rb_err_t rc = s_helper_begin (policy, pseudonym, changes, max, n, refusal);
    if (!rc && (signal_kind < 1 || signal_kind > RB_REGIE_SIGNAL_MAX))
        rc = rb_refuse (refusal, RB_EINVALID, "signal",
                        "signal %d is not a known AbsenceSignalKind (1-%d)",
                        signal_kind, RB_REGIE_SIGNAL_MAX);
    if (rc)
        return rc;
    //  Every signal needs the case, whether or not it changes the register.
    rb_regie_case_t record;
    rc = s_case_read (self, txn, pseudonym, &record);
    if (rc == RB_ENOTFOUND)
        return rb_refuse (refusal, RB_ENOTFOUND, "case",
                          "no case %.12s... in the register: the pupil was never enrolled",
                          pseudonym);
    if (rc)
        return s_store_error (rc, refusal);
    const char *reason = NULL;
    if (signal_kind == RB_REGIE_SIGNAL_LEGAL_THRESHOLD)
        reason = "legal_threshold";
    else
    if (signal_kind == RB_REGIE_SIGNAL_FIRST_ABSENCE && policy->leerplicht_at_first_absence)
        reason = "first_absence";
    if (!reason)
        return RB_OK;
    rb_actor_t leerplicht = rb_regie_actor (policy->leerplicht_node, RB_ROLE_LEERPLICHT);
    return s_helper_apply (self, txn, pseudonym, &leerplicht, true, policy->leerplicht_contact,
                           reason, now_ms, false, changes, n, refusal);
}
