/*  rb_consent: the parents' consent per case and agency type; see rb_consent.h.
 *
 *  Design. One fixed-size record per (case, agency type), written only
 *  when the decision changes, so "since" is when the current decision
 *  started to apply. A record of another size or version is a storage
 *  error, never trusted.
 */
#include "rb_consent.h"
#include "rb_wire.h"
#include <stdlib.h>
#include <string.h>

#define S_RECORD_VERSION 1

const rb_role_t rb_consent_types [RB_CONSENT_TYPES] = {
    RB_ROLE_JEUGDHULP, RB_ROLE_WIJKTEAM, RB_ROLE_SAMENWERKINGSVERBAND
};

struct _rb_consent_t {
    rb_table_t table;                   //  "consent"
};

//  The record as stored.
typedef struct {
    uint8_t version;                    //  S_RECORD_VERSION
    uint8_t given;                      //  1 given, 0 withdrawn
    uint8_t since_ms [8];               //  applies from
    uint8_t decided_at_ms [8];          //  decided at the portal
} s_record_t;

//  pseudonym + role.
typedef struct {
    uint8_t bytes [RB_PSEUDONYM_LEN + 1];
} s_key_t;

static rb_val_t
s_key (s_key_t *key, const char *pseudonym, rb_role_t role)
{
    memcpy (key->bytes, pseudonym, RB_PSEUDONYM_LEN);
    key->bytes [RB_PSEUDONYM_LEN] = (uint8_t) role;
    return (rb_val_t) { key->bytes, sizeof key->bytes };
}

bool
rb_consent_needed (rb_role_t role)
{
    for (size_t i = 0; i < RB_CONSENT_TYPES; i++)
        if (rb_consent_types [i] == role)
            return true;
    return false;
}

rb_consent_t *
rb_consent_new_on (rb_table_t table)
{
    rb_consent_t *self = calloc (1, sizeof *self);
    if (self)
        self->table = table;
    return self;
}

void
rb_consent_destroy (rb_consent_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

rb_err_t
rb_consent_get (rb_consent_t *self, rb_txn_t *txn, const char *pseudonym, rb_role_t role,
                rb_consent_state_t *state)
{
    memset (state, 0, sizeof *state);
    if (!rb_wire_pseudonym_valid (pseudonym))
        return RB_EINVALID;
    s_key_t key;
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->table, s_key (&key, pseudonym, role), &value);
    if (rc == RB_ENOTFOUND)
        return RB_OK;
    if (rc)
        return rc;
    s_record_t record;
    if (value.size != sizeof record || *(const uint8_t *) value.data != S_RECORD_VERSION)
        return RB_ESTORE;
    memcpy (&record, value.data, sizeof record);
    state->given = record.given != 0;
    state->since_ms = (int64_t) rb_u64_get (record.since_ms);
    state->decided_at_ms = (int64_t) rb_u64_get (record.decided_at_ms);
    return RB_OK;
}

rb_err_t
rb_consent_set (rb_consent_t *self, rb_txn_t *txn, const char *pseudonym, rb_role_t role,
                bool given, int64_t now_ms, int64_t decided_at_ms, bool *changed,
                rb_refusal_t *refusal)
{
    *changed = false;
    if (!rb_wire_pseudonym_valid (pseudonym))
        return rb_refuse (refusal, RB_EINVALID, "case_pseudonym",
                          "case_pseudonym must be 64 lowercase hex characters");
    if (!rb_consent_needed (role))
        return rb_refuse (refusal, RB_EINVALID, "role",
                          "role %d needs no consent: only JEUGDHULP, WIJKTEAM, SAMENWERKINGSVERBAND",
                          (int) role);
    rb_consent_state_t state;
    rb_err_t rc = rb_consent_get (self, txn, pseudonym, role, &state);
    if (rc)
        return rb_refuse (refusal, rc, NULL, "consent store: %s", rb_strerror (rc));
    if (state.given == given)
        return RB_OK;
    s_record_t record = { .version = S_RECORD_VERSION, .given = given };
    rb_u64_put (record.since_ms, (uint64_t) now_ms);
    rb_u64_put (record.decided_at_ms, (uint64_t) decided_at_ms);
    s_key_t key;
    rc = rb_txn_put (txn, self->table, s_key (&key, pseudonym, role),
                     (rb_val_t) { &record, sizeof record });
    if (rc)
        return rb_refuse (refusal, rc, NULL, "consent store: %s", rb_strerror (rc));
    *changed = true;
    return RB_OK;
}

rb_err_t
rb_consent_given (rb_consent_t *self, rb_txn_t *txn, const char *pseudonym, rb_role_t role,
                  bool *allowed)
{
    *allowed = !rb_consent_needed (role);
    if (*allowed)
        return RB_OK;
    rb_consent_state_t state;
    rb_err_t rc = rb_consent_get (self, txn, pseudonym, role, &state);
    *allowed = !rc && state.given;
    return rc;
}
