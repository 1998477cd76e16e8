/*  rb_consent: the parents' consent on a case, as the municipality applies it.
 *
 *  What a school must report to leerplicht is the law's: the school, the
 *  parents, leerplicht and the municipality's own case roles (casusregisseur,
 *  duty desk, the doorbraakteam of the escalation ladder) get what happens
 *  on a case without anyone's consent. Sharing
 *  it with care goes beyond that legal minimum: youth care (JEUGDHULP), the
 *  municipal social team (WIJKTEAM) and the school partnership
 *  (SAMENWERKINGSVERBAND) get it only while the parents consent, per case
 *  and per agency type (the parents' "informed consent from the first
 *  report"). rb_consent_needed is that table.
 *
 *  Parents give and withdraw consent at the portal, which sends a CONSENT
 *  event; the municipality records it here with the time it applies from
 *  (its own clock when it records it) and when the parents decided (the
 *  event's occurred_at_ms). Routing asks rb_consent_given for every copy
 *  it would send to a role that needs consent: a withdrawal therefore
 *  applies to everything routed after it, and consent given again from
 *  then on. Never decided is not given.
 *
 *  Pure LMDB logic inside the caller's transaction: no sockets, no clock.
 *  Table "consent": pseudonym (64) + role (1) -> version 1, given (1),
 *  since_ms (8), decided_at_ms (8), numbers big-endian.
 */
#ifndef RB_CONSENT_H
#define RB_CONSENT_H

#include "rb_regie.h"

#define RB_CONSENT_TABLE "consent"

//  The agency types consent is asked for, in Role order.
#define RB_CONSENT_TYPES 3
extern const rb_role_t rb_consent_types [RB_CONSENT_TYPES];

//  The consent on one case for one agency type.
typedef struct {
    bool given;                 //  false: withdrawn, or never decided
    int64_t since_ms;           //  the municipality applies it from then; 0: never decided
    int64_t decided_at_ms;      //  when the parents decided, at the portal
} rb_consent_state_t;

typedef struct _rb_consent_t rb_consent_t;

//  True when sharing with role goes beyond the legal minimum, so needs
//  the parents' consent: JEUGDHULP, WIJKTEAM, SAMENWERKINGSVERBAND.
bool rb_consent_needed (rb_role_t role);

//  The consent register on a table the caller opened (RB_CONSENT_TABLE).
//  NULL when out of memory.
rb_consent_t *rb_consent_new_on (rb_table_t table);

//  Destroy and null the caller's pointer. Idempotent.
void rb_consent_destroy (rb_consent_t **self_p);

//  The consent on case pseudonym for role; never decided is RB_OK with
//  given false and since_ms 0. RB_ESTORE for a record of the wrong size
//  or version, other storage errors as they come.
rb_err_t rb_consent_get (rb_consent_t *self, rb_txn_t *txn, const char *pseudonym,
                         rb_role_t role, rb_consent_state_t *state);

//  Record the parents' decision: given or withdrawn from now_ms, decided
//  at decided_at_ms. *changed is false, and nothing is written, when it
//  was already so (withdrawing what was never given included). Refused:
//  pseudonym malformed (RB_EINVALID "case_pseudonym"), a role that needs
//  no consent (RB_EINVALID "role"); storage errors as they come.
rb_err_t rb_consent_set (rb_consent_t *self, rb_txn_t *txn, const char *pseudonym,
                         rb_role_t role, bool given, int64_t now_ms, int64_t decided_at_ms,
                         bool *changed, rb_refusal_t *refusal);

//  May what goes beyond the legal minimum on case pseudonym reach role?
//  True for a role that needs no consent; else whether it is given now.
//  A storage error is returned and *allowed is false.
rb_err_t rb_consent_given (rb_consent_t *self, rb_txn_t *txn, const char *pseudonym,
                           rb_role_t role, bool *allowed);

#endif
