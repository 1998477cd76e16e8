/*  rb_pseudonym: the regional name of a child's case.
 *
 *  A case is named across nodes by a keyed hash of the child's citizen
 *  number (BSN): BLAKE2b-256 with a 32-byte key that the region's nodes
 *  share out of band, as 64 lowercase hex characters. Every node that holds
 *  the citizen number (a school, the portal) derives the same pseudonym;
 *  nobody without the key can test a guessed number against it, and the
 *  number itself never leaves the node that holds it.
 *
 *  The key lives in a file of 64 hex characters (made with
 *  `regiebus keys region FILE`), readable only by the node's user.
 */
#ifndef RB_PSEUDONYM_H
#define RB_PSEUDONYM_H

#include "rb_config.h"
#include "rb_error.h"
#include <stdbool.h>
#include <stdint.h>

#define RB_REGION_KEY_SIZE 32

typedef struct _rb_pseudonym_t rb_pseudonym_t;

//  Load the region key from path. NULL and a refusal naming field otherwise.
rb_pseudonym_t *rb_pseudonym_load (const char *path, const char *field, rb_refusal_t *refusal);

//  Load the region key a daemon's config names in its `region` section:
//  `region { key_file = PATH }`, required. NULL and a refusal naming the
//  key at fault ("region/key_file", or an unknown "region/..." key).
rb_pseudonym_t *rb_pseudonym_from_config (const rb_config_t *config, rb_refusal_t *refusal);

//  Use a key given as bytes (tests, tools).
rb_pseudonym_t *rb_pseudonym_new (const uint8_t key [RB_REGION_KEY_SIZE]);

//  Wipe the key, destroy and null the caller's pointer.
void rb_pseudonym_destroy (rb_pseudonym_t **self_p);

//  Write a new random region key to path (mode 0600); refuses to overwrite.
rb_err_t rb_pseudonym_make_key (const char *path, rb_refusal_t *refusal);

//  True for a well-formed citizen number: 9 digits passing the 11-check.
bool rb_pseudonym_bsn_valid (const char *bsn);

//  The case pseudonym of a citizen number: 64 hex characters and a NUL.
//  RB_EINVALID (field "bsn") when the number is not well-formed.
rb_err_t rb_pseudonym_of (rb_pseudonym_t *self, const char *bsn, char out [65],
                          rb_refusal_t *refusal);

#endif
