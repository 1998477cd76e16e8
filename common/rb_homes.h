/*  rb_homes: which node holds a child's case, by home municipality.
 *
 *  A case lives at the node of the child's home municipality. Nodes that
 *  name a child by citizen number (a school, a care provider, the parents'
 *  portal) learn that municipality as its CBS code ("0363") and map it to
 *  a node with their `homes` section: `homes { 0363 = mun-a }`, each key
 *  four digits, each value a configured peer. A care provider or the
 *  portal that serves one municipality needs no map: a fallback node takes
 *  every case whose municipality is not named.
 */
#ifndef RB_HOMES_H
#define RB_HOMES_H

#include "rb_config.h"

typedef struct _rb_homes_t rb_homes_t;

//  Read the `homes` section of config (an absent section is an empty map).
//  fallback is the node for requests that name no municipality, NULL when
//  they must name one; when set it must be a configured peer, and
//  fallback_key names the config key it came from in a refusal. Refusals
//  (NULL returned): RB_EINVALID "homes/CODE" for a code that is not four
//  digits or a node that is not a configured peer, and RB_EINVALID
//  fallback_key for a fallback that is not.
rb_homes_t *rb_homes_new (const rb_config_t *config, const char *fallback,
                          const char *fallback_key, rb_refusal_t *refusal);

//  Free the map and null the caller's pointer. Idempotent.
void rb_homes_destroy (rb_homes_t **self_p);

//  The node of a municipality code, or NULL when the map does not name it.
const char *rb_homes_node (rb_homes_t *self, const char *code);

//  How many codes the map names.
size_t rb_homes_size (rb_homes_t *self);

//  The node for a request's home municipality code: the fallback for an
//  empty code. Refusals, naming field: RB_EMISSING when the code is empty
//  and there is no fallback, RB_EINVALID when it is not four digits,
//  RB_ENOTFOUND when the map does not name it. *node stays valid as long
//  as the map.
rb_err_t rb_homes_resolve (rb_homes_t *self, const char *code, const char *field,
                           const char **node, rb_refusal_t *refusal);

//  True for a CBS municipality code: exactly four digits.
bool rb_homes_code_valid (const char *code);

#endif
