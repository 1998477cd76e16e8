/*  rb_keys: certificates and allowlist; see rb_keys.h. */
#include "rb_keys.h"
#include <sodium.h>
#include <sys/stat.h>

rb_err_t
rb_keys_make (const char *dir, const char *name, char public_out [41], rb_refusal_t *r)
{
    if (!rb_config_name_valid (name))
        return rb_refuse (r, RB_EINVALID, "name", "key name '%s' must be 1-63 of [a-z0-9-]", name);
    if (zsys_dir_create ("%s", dir))
        return rb_refuse (r, RB_EINVALID, "dir", "cannot create directory %s", dir);
    char path [600], secret [620];
    snprintf (path, sizeof path, "%s/%s.cert", dir, name);
    snprintf (secret, sizeof secret, "%s_secret", path);
    if (zsys_file_exists (path) || zsys_file_exists (secret))
        return rb_refuse (r, RB_EPRECONDITION, "name", "%s exists; refusing to overwrite a key",
                          zsys_file_exists (path)? path: secret);
    zcert_t *cert = zcert_new ();
    if (!cert)
        return rb_refuse (r, RB_EINTERNAL, NULL, "cannot make a keypair");
    zcert_set_meta (cert, "name", "%s", name);
    //  The secret half is born 0600: never readable by others, not even
    //  between its creation and a chmod. The public half is for sharing.
    mode_t mask = umask (077);
    int rc = zcert_save (cert, path);
    umask (mask);
    if (rc == 0) {
        chmod (path, 0644);
        snprintf (public_out, 41, "%s", zcert_public_txt (cert));
    }
    zcert_destroy (&cert);
    return rc? rb_refuse (r, RB_EINVALID, "dir", "cannot write %s", path): RB_OK;
}

zcert_t *
rb_keys_load (const char *path, rb_refusal_t *r)
{
    return rb_keys_load_as (path, "node/cert", r);
}

zcert_t *
rb_keys_load_as (const char *path, const char *field, rb_refusal_t *r)
{
    char secret [600];
    snprintf (secret, sizeof secret, "%s_secret", path);
    zcert_t *cert = zsys_file_exists (secret)? zcert_load (path): NULL;
    //  A secret file that is a copy of the public one, or truncated, loads
    //  as an all-zero secret: the keypair must be one that fits together.
    uint8_t derived [32];
    if (cert && (sodium_init () < 0
              || crypto_scalarmult_base (derived, zcert_secret_key (cert)) != 0
              || memcmp (derived, zcert_public_key (cert), 32) != 0)) {
        zcert_destroy (&cert);
        rb_refuse (r, RB_EINVALID, field, "%s does not hold the secret key of %s", secret, path);
        return NULL;
    }
    if (!cert)
        rb_refuse (r, RB_EINVALID, field, "cannot load certificate %s with its secret %s", path, secret);
    return cert;
}

bool
rb_keys_fingerprint (const char *public_z85, char out [20])
{
    uint8_t key [32], digest [crypto_hash_sha256_BYTES];
    if (!public_z85 || strlen (public_z85) != 40 || !zmq_z85_decode (key, public_z85)
    ||  sodium_init () < 0)
        return false;
    crypto_hash_sha256 (digest, key, sizeof key);
    snprintf (out, 20, "%02x%02x:%02x%02x:%02x%02x:%02x%02x", digest [0], digest [1], digest [2],
              digest [3], digest [4], digest [5], digest [6], digest [7]);
    return true;
}

static void
s_clear_dir (const char *dir)
{
    zdir_t *d = zdir_new (dir, "-");
    if (!d)
        return;
    zlist_t *files = zdir_list (d);
    for (zfile_t *f = zlist_first (files); f; f = zlist_next (files))
        zfile_remove (f);
    zlist_destroy (&files);
    zdir_destroy (&d);
}

static rb_err_t
s_write_public (const char *dir, const char *name, const uint8_t *public_key, rb_refusal_t *r)
{
    uint8_t no_secret [32] = { 0 };
    zcert_t *cert = zcert_new_from (public_key, no_secret);
    char path [700];
    snprintf (path, sizeof path, "%s/%s.cert", dir, name);
    zcert_set_meta (cert, "name", "%s", name);
    int rc = cert? zcert_save_public (cert, path): -1;
    zcert_destroy (&cert);
    return rc? rb_refuse (r, RB_ESTORE, "node/data_dir", "cannot write allowlist entry %s", path): RB_OK;
}

rb_err_t
rb_keys_write_allowlist (const rb_config_t *config, const char *dir, zhashx_t *clients_out,
                         rb_refusal_t *r)
{
    if (zsys_dir_create ("%s", dir))
        return rb_refuse (r, RB_ESTORE, "node/data_dir", "cannot create %s", dir);
    s_clear_dir (dir);
    for (int i = 0; i < config->peer_count; i++) {
        const rb_peer_config_t *peer = &config->peers [i];
        if (peer->revoked)
            continue;       //  a revoked peer has no key that gets in
        uint8_t key [32];
        zmq_z85_decode (key, peer->public_key);
        rb_err_t rc = s_write_public (dir, peer->name, key, r);
        if (!rc && *peer->next_public_key) {
            //  A dot cannot appear in a peer name: "NAME.next" is no peer's.
            char name [RB_NAME_MAX + 8];
            snprintf (name, sizeof name, "%s.next", peer->name);
            zmq_z85_decode (key, peer->next_public_key);
            rc = s_write_public (dir, name, key, r);
        }
        if (rc)
            return rc;
    }
    if (!*config->api_clients_dir)
        return RB_OK;
    zdir_t *clients = zdir_new (config->api_clients_dir, "-");
    if (!clients)
        return rb_refuse (r, RB_EINVALID, "api/clients_dir", "cannot read %s", config->api_clients_dir);
    zfile_t **files = zdir_flatten (clients);
    rb_err_t rc = RB_OK;
    for (int i = 0; files [i] && !rc; i++) {
        const char *path = zfile_filename (files [i], NULL);
        size_t len = strlen (path);
        if (len < 5 || strcmp (path + len - 5, ".cert") != 0)
            continue;       //  secret halves and other files are not for the allowlist
        zcert_t *cert = zcert_load (path);
        //  A dot cannot appear in a peer name, so clients never shadow peers.
        char name [32];
        snprintf (name, sizeof name, "api.client.%d", i);
        if (!cert)
            rc = rb_refuse (r, RB_EINVALID, "api/clients_dir", "cannot load certificate %s", path);
        else
        if ((rc = s_write_public (dir, name, zcert_public_key (cert), r)) == RB_OK && clients_out)
            zhashx_update (clients_out, zcert_public_txt (cert), (void *) "client");
        zcert_destroy (&cert);
    }
    zdir_flatten_free (&files);
    zdir_destroy (&clients);
    return rc;
}
