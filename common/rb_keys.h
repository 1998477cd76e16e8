/*  rb_keys: CURVE certificates and the peer allowlist.
 *
 *  A node's identity is a CZMQ certificate pair: NAME.cert (public, safe to
 *  hand to peers) and NAME.cert_secret (mode 0600, never leaves the node).
 *  The allowlist that zauth enforces is a directory of public certificates;
 *  the node rebuilds it at start from the peers in its config (and the API
 *  clients' certificates, for a tcp:// API), so the config file stays the
 *  single source of truth about who may connect.
 */
#ifndef RB_KEYS_H
#define RB_KEYS_H

#include "rb_config.h"
#include <czmq.h>

//  Make a new keypair and save it as dir/name.cert and dir/name.cert_secret.
//  Refuses to overwrite an existing certificate. public_out gets the Z85 key.
rb_err_t rb_keys_make (const char *dir, const char *name, char public_out [41],
                       rb_refusal_t *refusal);

//  Load a certificate that must have its secret half. NULL and a refusal
//  naming node/cert otherwise.
zcert_t *rb_keys_load (const char *path, rb_refusal_t *refusal);

//  Rebuild dir (created if missing) so it holds exactly the configured
//  peers' keys plus any certificates in config->api_clients_dir. When
//  clients is not NULL, the API clients' Z85 keys are inserted into it.
rb_err_t rb_keys_write_allowlist (const rb_config_t *config, const char *dir,
                                  zhashx_t *clients, rb_refusal_t *refusal);

#endif
