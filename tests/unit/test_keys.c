/*  unit_keys: CURVE certificates and the peer allowlist (rb_keys.h).
 *
 *  A node's identity is NAME.cert (public) beside NAME.cert_secret (mode
 *  0600). The allowlist directory zauth reads is rebuilt from the config at
 *  every start: exactly the configured peers' public keys, plus the API
 *  clients' public certificates for a tcp:// API, and never a secret.
 */
#include "rb_test.h"
#include "rb_keys.h"
#include <czmq.h>
#include <dirent.h>
#include <sys/stat.h>

#define Z85_ZERO_KEY "0000000000000000000000000000000000000000"

//  What an allowlist directory holds: file names and the keys in them.
typedef struct {
    char names [16][256];
    char keys [16][41];
    int count;
    int with_secret;        //  files that carry a secret key: must be none
} s_allowlist_t;

static s_allowlist_t
s_read_allowlist (const char *dir)
{
    s_allowlist_t list = { .count = 0 };
    DIR *handle = opendir (dir);
    CHECK (handle);
    struct dirent *entry;
    while ((entry = readdir (handle)) && list.count < 16) {
        if (entry->d_name [0] == '.')
            continue;
        char path [512];
        snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
        snprintf (list.names [list.count], sizeof list.names [0], "%s", entry->d_name);
        zcert_t *cert = zcert_load (path);
        if (cert) {
            snprintf (list.keys [list.count], sizeof list.keys [0], "%s", zcert_public_txt (cert));
            if (strcmp (zcert_secret_txt (cert), Z85_ZERO_KEY) != 0)
                list.with_secret++;
            zcert_destroy (&cert);
        }
        list.count++;
    }
    closedir (handle);
    return list;
}

static bool
s_has_name (const s_allowlist_t *list, const char *name)
{
    for (int i = 0; i < list->count; i++)
        if (strcmp (list->names [i], name) == 0)
            return true;
    return false;
}

static bool
s_has_key (const s_allowlist_t *list, const char *key)
{
    for (int i = 0; i < list->count; i++)
        if (strcmp (list->keys [i], key) == 0)
            return true;
    return false;
}

//  Copy a file, as an operator would.
static void
s_copy (const char *from, const char *to)
{
    zchunk_t *chunk = zchunk_slurp (from, 0);
    CHECK (chunk);
    rb_test_write_file (to, "%.*s", (int) zchunk_size (chunk), (const char *) zchunk_data (chunk));
    zchunk_destroy (&chunk);
}

static char s_mun [41], s_care [41];        //  the peers' public keys

static void
s_test_make (void)
{
    rb_test_section ("make writes NAME.cert and a private NAME.cert_secret");
    rb_refusal_t r = { 0 };
    char public_key [41] = "";
    CHECK_INT (rb_keys_make ("keys", "school-a", public_key, &r), RB_OK);
    CHECK_UINT (strlen (public_key), 40);
    struct stat st;
    CHECK (stat ("keys/school-a.cert", &st) == 0);
    CHECK (stat ("keys/school-a.cert_secret", &st) == 0);
    CHECK_INT (st.st_mode & 0777, 0600);
    //  The public half holds the public key and the node's name, no secret.
    zcert_t *cert = zcert_load ("keys/school-a.cert");
    CHECK (cert);
    CHECK_STR (zcert_public_txt (cert), public_key);
    CHECK_STR (zcert_meta (cert, "name"), "school-a");
    zcert_destroy (&cert);
    zchunk_t *text = zchunk_slurp ("keys/school-a.cert", 0);
    CHECK (text);
    CHECK (memmem (zchunk_data (text), zchunk_size (text), "secret-key", 10) == NULL);
    zchunk_destroy (&text);

    rb_test_section ("make refuses to overwrite a key");
    char again [41] = "";
    CHECK_INT (rb_keys_make ("keys", "school-a", again, &r), RB_EPRECONDITION);
    CHECK_REFUSAL (&r, RB_EPRECONDITION, "name");
    cert = zcert_load ("keys/school-a.cert");
    CHECK_STR (zcert_public_txt (cert), public_key);       //  still the old key
    zcert_destroy (&cert);

    rb_test_section ("make refuses names that are not node names");
    const char *bad [] = { "School-A", "", "-school", "school a", "../escape" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        CHECK_INT (rb_keys_make ("keys", bad [i], again, &r), RB_EINVALID);
        CHECK_REFUSAL (&r, RB_EINVALID, "name");
    }
    CHECK (stat ("keys/School-A.cert", &st) != 0);
    CHECK (stat ("escape.cert", &st) != 0);

    rb_test_section ("make creates the directory, and refuses one it cannot");
    CHECK_INT (rb_keys_make ("deep/er/keys", "mun-a", s_mun, &r), RB_OK);
    CHECK (stat ("deep/er/keys/mun-a.cert", &st) == 0);
    CHECK_INT (rb_keys_make ("deep/er/keys", "care-b", s_care, &r), RB_OK);
    CHECK (strcmp (s_mun, s_care) != 0);
    rb_test_write_file ("plain-file", "in the way\n");
    CHECK_INT (rb_keys_make ("plain-file/keys", "mun-a", again, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "dir");
}

static void
s_test_load (void)
{
    rb_test_section ("load returns the certificate with its secret");
    rb_refusal_t r = { 0 };
    zcert_t *cert = rb_keys_load ("keys/school-a.cert", &r);
    CHECK (cert);
    zcert_t *public_only = zcert_load ("keys/school-a.cert");
    CHECK_STR (zcert_public_txt (cert), zcert_public_txt (public_only));
    CHECK (strcmp (zcert_secret_txt (cert), Z85_ZERO_KEY) != 0);
    zcert_destroy (&public_only);
    zcert_destroy (&cert);

    rb_test_section ("load refuses a certificate without its secret half");
    CHECK (rb_keys_load ("keys/nobody.cert", &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "node/cert");
    //  Only the public half, as a peer would have it.
    CHECK (zsys_dir_create ("lonely") == 0);
    s_copy ("keys/school-a.cert", "lonely/school-a.cert");
    CHECK (rb_keys_load ("lonely/school-a.cert", &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "node/cert");
    CHECK (strstr (r.message, "lonely/school-a.cert_secret"));

    //  A secret file that holds no secret key (here: a copy of the public
    //  half) is no secret half either: CZMQ would read an all-zero secret
    //  key from it, which does not fit the public key.
    s_copy ("keys/school-a.cert", "lonely/school-a.cert_secret");
    rb_refusal_clear (&r);
    cert = rb_keys_load ("lonely/school-a.cert", &r);
    CHECK (cert == NULL);
    CHECK (r.code == RB_EINVALID && streq (r.field, "node/cert"));
    zcert_destroy (&cert);
    //  Nor is a secret file that does not parse (truncated, say): CZMQ then
    //  falls back to the public half, and is refused the same way.
    rb_test_write_file ("lonely/school-a.cert_secret", "curve\n   secret-key = \"trunc");
    rb_refusal_clear (&r);
    rb_test_leaks_ignore_begin ();      //  zconfig_load's leak on a bad file, see README.md
    cert = rb_keys_load ("lonely/school-a.cert", &r);
    rb_test_leaks_ignore_end ();
    CHECK (cert == NULL);
    CHECK (r.code == RB_EINVALID && streq (r.field, "node/cert"));
    zcert_destroy (&cert);
}

//  A configuration with just what the allowlist needs: peers and clients.
static rb_config_t *
s_config (const char *clients_dir)
{
    rb_config_t *config = calloc (1, sizeof *config);
    CHECK (config);
    snprintf (config->name, sizeof config->name, "school-a");
    snprintf (config->api_clients_dir, sizeof config->api_clients_dir, "%s", clients_dir);
    const char *names [] = { "mun-a", "care-b" };
    const char *keys [] = { s_mun, s_care };
    for (int i = 0; i < 2; i++) {
        rb_peer_config_t *peer = &config->peers [config->peer_count++];
        snprintf (peer->name, sizeof peer->name, "%s", names [i]);
        snprintf (peer->endpoint, sizeof peer->endpoint, "tcp://127.0.0.1:%d", 7200 + i);
        snprintf (peer->public_key, sizeof peer->public_key, "%s", keys [i]);
    }
    return config;
}

static void
s_test_allowlist (void)
{
    rb_test_section ("the allowlist holds exactly the configured peers");
    CHECK (zsys_dir_create ("allow") == 0);
    rb_test_write_file ("allow/old-peer.cert", "stale entry from an earlier config\n");
    rb_test_write_file ("allow/notes.txt", "not a certificate\n");
    rb_config_t *config = s_config ("");
    rb_refusal_t r = { 0 };
    zhashx_t *clients = zhashx_new ();
    CHECK_INT (rb_keys_write_allowlist (config, "allow", clients, &r), RB_OK);
    CHECK_UINT (zhashx_size (clients), 0);
    zhashx_destroy (&clients);
    s_allowlist_t list = s_read_allowlist ("allow");
    CHECK_INT (list.count, 2);
    CHECK (s_has_name (&list, "mun-a.cert"));
    CHECK (s_has_name (&list, "care-b.cert"));
    CHECK (s_has_key (&list, s_mun));
    CHECK (s_has_key (&list, s_care));
    CHECK_INT (list.with_secret, 0);

    rb_test_section ("a peer removed from the config is removed from the allowlist");
    config->peer_count = 1;
    CHECK_INT (rb_keys_write_allowlist (config, "allow", NULL, &r), RB_OK);
    list = s_read_allowlist ("allow");
    CHECK_INT (list.count, 1);
    CHECK (s_has_key (&list, s_mun));
    CHECK (!s_has_key (&list, s_care));
    config->peer_count = 2;

    rb_test_section ("the allowlist directory is made when missing");
    CHECK_INT (rb_keys_write_allowlist (config, "data/allowlist", NULL, &r), RB_OK);
    CHECK_INT (s_read_allowlist ("data/allowlist").count, 2);
    rb_config_destroy (&config);

    rb_test_section ("API clients' public certificates join the peers, never their secrets");
    char tester [41], dashboard [41];
    CHECK_INT (rb_keys_make ("clients", "tester", tester, &r), RB_OK);
    CHECK_INT (rb_keys_make ("clients", "dashboard", dashboard, &r), RB_OK);
    rb_test_write_file ("clients/README", "client certificates for the tcp API\n");
    config = s_config ("clients");
    clients = zhashx_new ();
    CHECK_INT (rb_keys_write_allowlist (config, "allow", clients, &r), RB_OK);
    //  The clients' keys are also handed back, so the node can tell a
    //  client from a peer on its tcp API; peers are not among them.
    CHECK_UINT (zhashx_size (clients), 2);
    CHECK (zhashx_lookup (clients, tester));
    CHECK (zhashx_lookup (clients, dashboard));
    CHECK (!zhashx_lookup (clients, s_mun));
    zhashx_destroy (&clients);
    list = s_read_allowlist ("allow");
    CHECK_INT (list.count, 4);
    CHECK (s_has_key (&list, s_mun));
    CHECK (s_has_key (&list, s_care));
    CHECK (s_has_key (&list, tester));
    CHECK (s_has_key (&list, dashboard));
    CHECK_INT (list.with_secret, 0);
    for (int i = 0; i < list.count; i++) {
        size_t len = strlen (list.names [i]);
        CHECK (len > 5 && strcmp (list.names [i] + len - 5, ".cert") == 0);
    }
    rb_config_destroy (&config);

    rb_test_section ("a clients directory that is missing or holds a bad certificate is refused");
    config = s_config ("no-such-dir");
    CHECK_INT (rb_keys_write_allowlist (config, "allow", NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "api/clients_dir");
    rb_config_destroy (&config);
    CHECK (zsys_dir_create ("bad-clients") == 0);
    rb_test_write_file ("bad-clients/broken.cert", "this is not a certificate\n");
    config = s_config ("bad-clients");
    rb_refusal_clear (&r);
    //  CZMQ's zconfig_load leaks its file handle on a file that does not
    //  parse (README.md, "Not bugs of common/"); not rb_keys' leak.
    rb_test_leaks_ignore_begin ();
    rb_err_t rc = rb_keys_write_allowlist (config, "allow", NULL, &r);
    rb_test_leaks_ignore_end ();
    CHECK_INT (rc, RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "api/clients_dir");
    CHECK (strstr (r.message, "broken.cert"));
    rb_config_destroy (&config);

    rb_test_section ("the refusal is only an output");
    //  A refusal left over from an earlier call must not change the result.
    config = s_config ("clients");
    rb_refuse (&r, RB_EINTERNAL, "earlier", "left over");
    rc = rb_keys_write_allowlist (config, "allow", NULL, &r);
    CHECK (rc == RB_OK);
    list = s_read_allowlist ("allow");
    CHECK (list.count == 4 && s_has_key (&list, tester));
    rb_config_destroy (&config);

    rb_test_section ("a peer may be named like an API client's entry");
    //  Client certificates are written as api-client-<n>.cert; a peer named
    //  api-client-<n> loses its entry to a client's key.
    char only_client [41];
    CHECK_INT (rb_keys_make ("one-client", "viewer", only_client, &r), RB_OK);
    config = s_config ("one-client");
    char own [4][41];
    for (int i = 0; i < 4; i++) {
        char name [32];
        snprintf (name, sizeof name, "api-client-%d", i);
        CHECK_INT (rb_keys_make ("extra", name, own [i], &r), RB_OK);
        rb_peer_config_t *peer = &config->peers [config->peer_count++];
        snprintf (peer->name, sizeof peer->name, "%s", name);
        snprintf (peer->endpoint, sizeof peer->endpoint, "tcp://127.0.0.1:%d", 7300 + i);
        memcpy (peer->public_key, own [i], sizeof peer->public_key);
    }
    rb_refusal_clear (&r);
    CHECK_INT (rb_keys_write_allowlist (config, "allow", NULL, &r), RB_OK);
    list = s_read_allowlist ("allow");
    CHECK (s_has_key (&list, only_client));
    bool all_peers = true;
    for (int i = 0; i < 4; i++)
        all_peers &= s_has_key (&list, own [i]);
    CHECK (all_peers);
    rb_config_destroy (&config);
}

static void
s_test_rotation (void)
{
    rb_test_section ("make refuses when only the secret half is there");
    rb_refusal_t r = { 0 };
    char key [41];
    rb_test_write_file ("keys/orphan.cert_secret", "left behind\n");
    CHECK_INT (rb_keys_make ("keys", "orphan", key, &r), RB_EPRECONDITION);
    CHECK_REFUSAL (&r, RB_EPRECONDITION, "name");
    CHECK (strstr (r.message, "orphan.cert_secret"));

    rb_test_section ("a fingerprint is 8 bytes of the key's SHA-256, stable and distinct");
    char one [20], again [20], other [20];
    CHECK (rb_keys_fingerprint (s_mun, one));
    CHECK (rb_keys_fingerprint (s_mun, again));
    CHECK (rb_keys_fingerprint (s_care, other));
    CHECK_STR (one, again);
    CHECK (strcmp (one, other) != 0);
    CHECK_UINT (strlen (one), 19);
    CHECK (one [4] == ':' && one [9] == ':' && one [14] == ':');
    CHECK (!rb_keys_fingerprint ("short", one));
    CHECK (!rb_keys_fingerprint (NULL, one));

    rb_test_section ("a next certificate is refused naming node/next_cert");
    CHECK (rb_keys_load_as ("keys/nobody.cert", "node/next_cert", &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "node/next_cert");
    zcert_t *cert = rb_keys_load_as ("keys/school-a.cert", "node/next_cert", &r);
    CHECK (cert);
    zcert_destroy (&cert);

    rb_test_section ("a rotating peer's two keys are on the allowlist, a revoked peer's none");
    rb_config_t *config = s_config ("");
    char next [41];
    CHECK_INT (rb_keys_make ("keys", "mun-a-next", next, &r), RB_OK);
    memcpy (config->peers [0].next_public_key, next, sizeof next);
    config->peers [1].revoked = true;
    CHECK_INT (rb_keys_write_allowlist (config, "allow", NULL, &r), RB_OK);
    s_allowlist_t list = s_read_allowlist ("allow");
    CHECK_INT (list.count, 2);
    CHECK (s_has_name (&list, "mun-a.cert") && s_has_name (&list, "mun-a.next.cert"));
    CHECK (s_has_key (&list, s_mun) && s_has_key (&list, next));
    CHECK (!s_has_key (&list, s_care));
    rb_config_destroy (&config);
}

int
main (void)
{
    rb_test_begin ("keys");
    s_test_make ();
    s_test_load ();
    s_test_allowlist ();
    s_test_rotation ();
    return rb_test_end ();
}
