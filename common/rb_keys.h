/*  rb_keys: CURVE certificates and the peer allowlist.
 *
 *  A node's identity is a CZMQ certificate pair: NAME.cert (public, safe to
 *  hand to peers) and NAME.cert_secret (mode 0600, never leaves the node).
 *  The allowlist that zauth enforces is a directory of public certificates;
 *  the node rebuilds it at start from the peers in its config (and the API
 *  clients' certificates, for a tcp:// API), so the config file stays the
 *  single source of truth about who may connect. A peer that rotates its
 *  key is listed with both (public_key and next_public_key) until it has
 *  switched; a revoked peer with none. A reload rebuilds the allowlist
 *  the same way (see rb_node.h, rb_node_reload).
 */
#ifndef RB_KEYS_H
#define RB_KEYS_H

#include "rb_config.h"
#include <czmq.h>

//  Make a new keypair and save it as dir/name.cert and dir/name.cert_secret,
//  the secret created with mode 0600. Refuses to overwrite either file.
//  public_out gets the Z85 key.
rb_err_t rb_keys_make (const char *dir, const char *name, char public_out [41],
                       rb_refusal_t *refusal);

//  The fingerprint of a Z85 public key, for operators to compare by phone:
//  the first 8 bytes of SHA-256 of the raw key as "ab12:cd34:ef56:7890".
//  False when public_z85 is not a 40-character Z85 key.
bool rb_keys_fingerprint (const char *public_z85, char out [20]);

//  Load a certificate that must have its secret half. NULL and a refusal
//  naming node/cert otherwise.
zcert_t *rb_keys_load (const char *path, rb_refusal_t *refusal);

//  The same, with the refusal naming field (node/next_cert).
zcert_t *rb_keys_load_as (const char *path, const char *field, rb_refusal_t *refusal);

//  Rebuild dir (created if missing) so it holds exactly the configured
//  peers' keys plus any certificates in config->api_clients_dir. When
//  clients is not NULL, the API clients' Z85 keys are inserted into it.
rb_err_t rb_keys_write_allowlist (const rb_config_t *config, const char *dir,
                                  zhashx_t *clients, rb_refusal_t *refusal);

#endif
