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
    char path [600];
    snprintf (path, sizeof path, "%s/%s.cert", dir, name);
    if (zsys_file_exists (path))
        return rb_refuse (r, RB_EPRECONDITION, "name", "%s exists; refusing to overwrite a key", path);
    zcert_t *cert = zcert_new ();
    if (!cert)
        return rb_refuse (r, RB_EINTERNAL, NULL, "cannot make a keypair");
    zcert_set_meta (cert, "name", "%s", name);
    int rc = zcert_save (cert, path);
    if (rc == 0) {
        char secret [620];
        snprintf (secret, sizeof secret, "%s_secret", path);
        chmod (secret, 0600);
        snprintf (public_out, 41, "%s", zcert_public_txt (cert));
    }
    zcert_destroy (&cert);
    return rc? rb_refuse (r, RB_EINVALID, "dir", "cannot write %s", path): RB_OK;
}

zcert_t *
rb_keys_load (const char *path, rb_refusal_t *r)
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
        rb_refuse (r, RB_EINVALID, "node/cert", "%s does not hold the secret key of %s", secret, path);
        return NULL;
    }
    if (!cert)
        rb_refuse (r, RB_EINVALID, "node/cert", "cannot load certificate %s with its secret %s", path, secret);
    return cert;
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
        uint8_t key [32];
        zmq_z85_decode (key, config->peers [i].public_key);
        rb_err_t rc = s_write_public (dir, config->peers [i].name, key, r);
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
