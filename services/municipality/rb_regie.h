/*  rb_regie: the municipality's regie register, who holds which role on a case.
 *
 *  The municipality node keeps, per case of a resident pupil (named by its
 *  64-hex pseudonym), the actors that hold a role on it: an actor is an
 *  agency node plus the role it plays there (school mentor, parent,
 *  leerplicht, care...). Each holder has a since time, a human contact
 *  (desk or phone of the team, never a child's data) and the policy rule
 *  that made it join. The register answers the two questions routing asks:
 *  who gets a case event (rb_regie_nodes) and may this node hear about
 *  this case at all (rb_regie_node_holds: need to know).
 *
 *  Every change of the register is itself an event the holders must see,
 *  so every call that changes it says so (a `changed` flag, or a list of
 *  rb_regie_change_t from the policy helpers) for the daemon to notify.
 *
 *  The module is pure LMDB logic inside the caller's transaction: no
 *  sockets, no clock. A call validates everything it was given and checks
 *  every precondition before it writes, so a refusal leaves no trace. A
 *  storage error (RB_ESTORE, RB_EFULL) may come after some writes: the
 *  caller then destroys its (child) transaction, as it does for any
 *  storage error.
 *
 *  Tables: "case" (pseudonym -> case record) and "regie" (pseudonym NUL
 *  node NUL role -> holder record); see rb_regie.c for the layouts.
 */
#ifndef RB_REGIE_H
#define RB_REGIE_H

#include "rb_config.h"
#include "rb_error.h"
#include "rb_store.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Most holders one case may have; a join beyond is RB_ETOOLARGE.
#define RB_REGIE_MAX_HOLDERS 32

//  Longest contact and reason code, in bytes.
#define RB_REGIE_CONTACT_MAX 128
#define RB_REGIE_REASON_MAX 32

//  Room the policy helpers need in their changes[] array.
#define RB_REGIE_CHANGES_MAX 4

//  What an actor does on a case. The numbers are the Role values of
//  proto/case.proto.
typedef enum {
    RB_ROLE_UNSPECIFIED = 0,
    RB_ROLE_SCHOOL_MENTOR = 1,          //  the pupil's school (mentor, attendance officer)
    RB_ROLE_PARENT = 2,                 //  parents or carers, through the portal
    RB_ROLE_LEERPLICHT = 3,             //  compulsory-education officer, home municipality
    RB_ROLE_CASUSREGISSEUR = 4,         //  case director with a mandate (from 4 weeks)
    RB_ROLE_JEUGDHULP = 5,              //  youth care provider
    RB_ROLE_WIJKTEAM = 6,               //  municipal social team
    RB_ROLE_SAMENWERKINGSVERBAND = 7,   //  regional school partnership
    RB_ROLE_DUTY_DESK = 8,              //  the municipality's regional duty role
    RB_ROLE_DOORBRAAKTEAM = 9           //  the region's breakthrough team (from 8 weeks)
} rb_role_t;

#define RB_ROLE_MAX 9

//  The absence signals the policy looks at. The numbers are the
//  AbsenceSignalKind values of proto/case.proto (1 to 6 are known).
#define RB_REGIE_SIGNAL_FIRST_ABSENCE 1
#define RB_REGIE_SIGNAL_LEGAL_THRESHOLD 3
#define RB_REGIE_SIGNAL_MAX 6

//  Who acts on a case: an agency node and the role it plays there.
typedef struct {
    char node [RB_NAME_MAX + 1];        //  node name, [a-z0-9-] 1..63
    rb_role_t role;                     //  RB_ROLE_SCHOOL_MENTOR ... RB_ROLE_DOORBRAAKTEAM
} rb_actor_t;

//  One holder of a role on a case, as the register keeps it.
typedef struct {
    rb_actor_t actor;                   //  who
    int64_t since_ms;                   //  when it joined
    char contact [RB_REGIE_CONTACT_MAX + 1];    //  human contact, may be empty
    char reason [RB_REGIE_REASON_MAX + 1];      //  policy rule that made it join
} rb_regie_holder_t;

//  One change of a case's register, for the daemon to notify (the fields of
//  case.proto's RegieChange). A join, or a contact update of a holder
//  (joined, since_ms the original join), carries the holder as it is now;
//  a leave carries since_ms = the time it left, the contact it had and the
//  reason of the leave.
typedef struct {
    rb_actor_t actor;                   //  who joined or left
    bool joined;                        //  false: left the case
    int64_t since_ms;                   //  joined at, or left at
    char contact [RB_REGIE_CONTACT_MAX + 1];    //  human contact
    char reason [RB_REGIE_REASON_MAX + 1];      //  policy rule code
} rb_regie_change_t;

//  A case as the register keeps it.
typedef struct {
    int64_t opened_at_ms;               //  when the case was opened
    int64_t changed_at_ms;              //  last change of its holders (opened_at_ms if none)
    bool closed;                        //  reserved: no call closes a case yet
} rb_regie_case_t;

//  The region's default policy: plain data from configuration.
typedef struct {
    char leerplicht_node [RB_NAME_MAX + 1];     //  this municipality's node, role LEERPLICHT
    char leerplicht_contact [RB_REGIE_CONTACT_MAX + 1]; //  leerplicht's desk
    char duty_node [RB_NAME_MAX + 1];           //  the node of the DUTY_DESK role (no
                                                //  helper here joins it)
    char duty_contact [RB_REGIE_CONTACT_MAX + 1];       //  the duty desk's contact
    bool leerplicht_at_first_absence;   //  join at FIRST_ABSENCE, not only at the
                                        //  legal threshold (false: a region's choice)
} rb_regie_policy_t;

typedef struct _rb_regie_t rb_regie_t;

// ---------------------------------------------------------------------------
//  The register

//  The register's tables: cases and holders.
#define RB_REGIE_TABLE_CASES "case"
#define RB_REGIE_TABLE_HOLDERS "regie"

//  Open the register's tables in store ("case", "regie"); call at start,
//  before other transactions. The store must outlive the register. NULL
//  when out of memory or a table cannot be opened.
rb_regie_t *rb_regie_new (rb_store_t *store);

//  The register on tables the caller opened by the names above: a daemon
//  opens them in its node's store with rb_node_table. NULL when out of
//  memory.
rb_regie_t *rb_regie_new_on (rb_table_t cases, rb_table_t holders);

//  Destroy and null the caller's pointer. Idempotent.
void rb_regie_destroy (rb_regie_t **self_p);

//  Open the case of pseudonym at now_ms. Idempotent: *created is true only
//  when the case did not exist (an existing case is left as it is).
//  Refused: pseudonym not 64 lowercase hex (RB_EINVALID "case_pseudonym").
rb_err_t rb_regie_case_open (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                             int64_t now_ms, bool *created, rb_refusal_t *refusal);

//  True when the case exists (false also for a bad pseudonym or a storage
//  error).
bool rb_regie_case_exists (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym);

//  Read a case's record. RB_ENOTFOUND when there is no such case (or the
//  pseudonym is not valid), RB_ESTORE for a record that does not decode.
rb_err_t rb_regie_case_get (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                            rb_regie_case_t *out);

//  Make actor a holder of the case since now_ms, with contact (NULL: none)
//  and reason (a policy code of [a-z0-9_], NULL: none). *changed is true
//  when the register changed: a new holder, or a holder whose contact was
//  different (then only the contact is updated; since and reason stay).
//  Joining again with the same role and contact changes nothing.
//  Refused, in this order, with nothing written:
//    pseudonym not 64 lowercase hex          RB_EINVALID   "case_pseudonym"
//    actor NULL                              RB_EMISSING   "actor"
//    node name not [a-z0-9-] 1..63           RB_EINVALID   "actor.node"
//    role not a known Role (1..9)            RB_EINVALID   "actor.role"
//    contact over 128 bytes                  RB_ETOOLARGE  "contact"
//    contact with control characters or
//    not UTF-8                               RB_EINVALID   "contact"
//    reason over 32 bytes or not [a-z0-9_]   RB_EINVALID   "reason"
//    no such case                            RB_ENOTFOUND  "case"
//    a new holder beyond 32 on the case      RB_ETOOLARGE  "holders"
rb_err_t rb_regie_join (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                        const rb_actor_t *actor, const char *contact, const char *reason,
                        int64_t now_ms, bool *changed, rb_refusal_t *refusal);

//  Remove actor from the case's holders at now_ms. *changed is false when
//  it held no such role. Refused like join for the pseudonym, the actor
//  and a missing case, with nothing written.
rb_err_t rb_regie_leave (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                         const rb_actor_t *actor, int64_t now_ms, bool *changed,
                         rb_refusal_t *refusal);

//  The case's holders in a stable order: by node name, then role. Writes
//  at most max into out and sets *count to the number written; returns
//  RB_ETOOLARGE when the case has more than max (out holds the first max).
//  A missing case (or a bad pseudonym) has no holders: RB_OK, *count 0.
rb_err_t rb_regie_holders (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                           rb_regie_holder_t *out, size_t max, size_t *count);

//  True when some actor of node holds a role on the case. Need to know: a
//  node for which this is false receives nothing about the case. False
//  also for bad arguments or a storage error.
bool rb_regie_node_holds (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                          const char *node);

//  The distinct nodes that hold a role on the case, in name order: the
//  fan-out targets of a case event. Same contract as rb_regie_holders for
//  max, *count and RB_ETOOLARGE.
rb_err_t rb_regie_nodes (rb_regie_t *self, rb_txn_t *txn, const char *pseudonym,
                         char (*out) [RB_NAME_MAX + 1], size_t max, size_t *count);

// ---------------------------------------------------------------------------
//  The default policy
//
//  Each helper decides which joins and leaves an event calls for, applies
//  them and returns them in changes[] (room for RB_REGIE_CHANGES_MAX; *n
//  set to how many) so the daemon notifies them. A helper is all or
//  nothing: it checks the policy and every argument, and the case, before
//  it writes. A repeated event changes nothing and returns *n = 0.
//  Every helper also refuses a policy that does not check (see below) and
//  a changes[] with less room than RB_REGIE_CHANGES_MAX (RB_EINVALID
//  "changes").

//  The defaults: leerplicht joins at the legal threshold, not at the first
//  absence; node names and contacts empty (they come from configuration:
//  leerplicht_node is this municipality's node/name).
rb_regie_policy_t rb_regie_policy_default (void);

//  Check a policy: both node names [a-z0-9-] 1..63
//  ("policy.leerplicht_node", "policy.duty_node"), both contacts valid
//  contacts ("policy.leerplicht_contact", "policy.duty_contact").
rb_err_t rb_regie_policy_check (const rb_regie_policy_t *policy, rb_refusal_t *refusal);

//  A school enrols the pupil: opens the case if needed and school_node
//  joins as SCHOOL_MENTOR with school_contact, reason "enrolment". A new
//  contact for the same school is a change. Fields: "case_pseudonym",
//  "school_node" (RB_EINVALID), "contact".
rb_err_t rb_regie_on_enrolment (rb_regie_t *self, rb_txn_t *txn, const rb_regie_policy_t *policy,
                                const char *pseudonym, const char *school_node,
                                const char *school_contact, int64_t now_ms,
                                rb_regie_change_t *changes, size_t max, size_t *n,
                                rb_refusal_t *refusal);

//  The parents' portal links (linked) or unlinks a parent: portal_node
//  joins as PARENT (opening the case if needed: a pupil without a school
//  has parents too) or leaves; reason "parent_link". Unlinking on a
//  missing case is RB_ENOTFOUND "case". Fields: "case_pseudonym",
//  "portal_node".
rb_err_t rb_regie_on_parent_link (rb_regie_t *self, rb_txn_t *txn, const rb_regie_policy_t *policy,
                                  const char *pseudonym, const char *portal_node, bool linked,
                                  int64_t now_ms, rb_regie_change_t *changes, size_t max,
                                  size_t *n, rb_refusal_t *refusal);

//  A care provider registers (involved) or ends its involvement: care_node
//  joins with role and contact (opening the case if needed) or leaves;
//  reason "involvement". Only JEUGDHULP, WIJKTEAM and SAMENWERKINGSVERBAND
//  are care roles: any other is RB_EINVALID "role". Ending on a missing
//  case is RB_ENOTFOUND "case". Fields: "case_pseudonym", "care_node",
//  "role", "contact".
rb_err_t rb_regie_on_involvement (rb_regie_t *self, rb_txn_t *txn, const rb_regie_policy_t *policy,
                                  const char *pseudonym, const char *care_node, rb_role_t role,
                                  bool involved, const char *contact, int64_t now_ms,
                                  rb_regie_change_t *changes, size_t max, size_t *n,
                                  rb_refusal_t *refusal);

//  A school's enrolment of the pupil ended (the pupil left): school_node
//  leaves its SCHOOL_MENTOR role, reason "enrolment_ended". The case must
//  exist (RB_ENOTFOUND "case"); a school that held no role changes
//  nothing. Fields: "case_pseudonym", "school_node".
rb_err_t rb_regie_on_enrolment_ended (rb_regie_t *self, rb_txn_t *txn,
                                      const rb_regie_policy_t *policy, const char *pseudonym,
                                      const char *school_node, int64_t now_ms,
                                      rb_regie_change_t *changes, size_t max, size_t *n,
                                      rb_refusal_t *refusal);

//  Staff assign (joined, with contact) or release an actor of any role on
//  an existing case by hand, reason "staff". The case must exist
//  (RB_ENOTFOUND "case"); the actor is checked as by rb_regie_join
//  ("actor", "actor.node", "actor.role", "contact").
rb_err_t rb_regie_on_staff (rb_regie_t *self, rb_txn_t *txn, const rb_regie_policy_t *policy,
                            const char *pseudonym, const rb_actor_t *actor, bool joined,
                            const char *contact, int64_t now_ms, rb_regie_change_t *changes,
                            size_t max, size_t *n, rb_refusal_t *refusal);

//  A school's absence signal (signal_kind: an AbsenceSignalKind number).
//  LEGAL_THRESHOLD makes leerplicht (policy.leerplicht_node, LEERPLICHT,
//  policy.leerplicht_contact) join with reason "legal_threshold"; with
//  leerplicht_at_first_absence, FIRST_ABSENCE makes it join with reason
//  "first_absence" too. Other signals change nothing. The case must exist:
//  a signal for a pupil never enrolled is RB_ENOTFOUND "case". An unknown
//  signal (not 1..6) is RB_EINVALID "signal".
rb_err_t rb_regie_on_absence_signal (rb_regie_t *self, rb_txn_t *txn,
                                     const rb_regie_policy_t *policy, const char *pseudonym,
                                     int signal_kind, int64_t now_ms,
                                     rb_regie_change_t *changes, size_t max, size_t *n,
                                     rb_refusal_t *refusal);

//  An actor from a node name (truncated to fit) and a role; no checks:
//  join and leave check what they are given.
rb_actor_t rb_regie_actor (const char *node, rb_role_t role);

#endif
