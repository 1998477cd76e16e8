/*  rb_perms: which node role may send which event kind to which.
 *
 *  Every envelope a node receives passes one table before anything of it
 *  is applied: the sender's role (from this node's own `peer/NAME/role`,
 *  never from the envelope), the event kind and this node's role must
 *  make a row of it. A school sends enrolments and absence signals to a
 *  municipality, a care provider its involvement, the portal links and
 *  reports; only a municipality sends notifications, and nobody sends a
 *  REGIE_CHANGE: it exists only inside a notification, so regie is
 *  assigned by the municipality alone. What a daemon checks beyond kinds
 *  (a care node acts only on cases it is on, a portal reports only on
 *  children linked to its parents) it checks against its own state, with
 *  PERMISSION_DENIED on "case".
 *
 *  The table is proto/README.md's permission table; keep both in step.
 */
#ifndef RB_PERMS_H
#define RB_PERMS_H

#include "rb_error.h"
#include <stdbool.h>

//  True when role is one a node may have ("node", "school",
//  "municipality", "care", "portal").
bool rb_perms_role_valid (const char *role);

//  May a node of role from (the peer named peer) send an envelope of kind
//  to a node of role to? RB_OK, or RB_EDENIED on field "kind" with a
//  message saying which side the table rules out.
rb_err_t rb_perms_check (const char *from, const char *peer, int kind, const char *to,
                         rb_refusal_t *why);

#endif
