/*  keys: a node's CURVE keys from the command line.
 *
 *  `regiebus keys show CERT` reads a certificate file and prints what two
 *  operators compare before they trust each other's key: the public key,
 *  its fingerprint, and whether the secret half lies beside it with mode
 *  0600. `regiebus keys status` asks a running node which keys it uses and
 *  admits: its own (and the next one it holds during a rotation), and per
 *  peer the keys on its allowlist, the one its link connects with, and
 *  whether it is revoked. `regiebus reload` makes the node re-read its
 *  config file (as SIGHUP does) and prints what changed; a refusal names
 *  the key at fault and the node keeps its running config. The procedures
 *  they serve are in deploy/README.md.
 */
#include "rb_cli.h"
#include "rb_keys.h"
#include <sys/stat.h>

// ---------------------------------------------------------------------------
//  A certificate file

int
rb_cli_keys_show (rb_cli_t *cli)
{
    const char *path = rb_cli_word (cli, 0, "CERT");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    zcert_t *cert = zcert_load (path);
    char fingerprint [20];
    if (!cert || !rb_keys_fingerprint (zcert_public_txt (cert), fingerprint)) {
        fprintf (stderr, "regiebus: cannot load certificate %s\n", path);
        zcert_destroy (&cert);
        return RB_CLI_EXIT_REFUSED;
    }
    char secret [600];
    snprintf (secret, sizeof secret, "%s_secret", path);
    struct stat st;
    bool here = stat (secret, &st) == 0;
    printf ("public key  %s\nfingerprint %s\n", zcert_public_txt (cert), fingerprint);
    if (here)
        printf ("secret      %s, mode %04o%s\n", secret, (unsigned) (st.st_mode & 07777),
                st.st_mode & 077? " (others may read it: chmod 600)": "");
    else
        printf ("secret      not here (a peer's public certificate)\n");
    zcert_destroy (&cert);
    return RB_CLI_EXIT_OK;
}

// ---------------------------------------------------------------------------
//  The keys a running node uses

static void
s_key_line (const char *what, const Regiebus__KeyInfo *key)
{
    if (key && *key->public_key)
        printf ("%-12s %s  %s\n", what, key->public_key, key->fingerprint);
}

static int
s_keys_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    const Regiebus__KeysReply *k = reply->keys;
    s_key_line ("node key", k->node_key);
    s_key_line ("next key", k->next_key);
    for (size_t i = 0; i < k->n_peers; i++) {
        const Regiebus__PeerKeys *p = k->peers [i];
        printf ("peer %s: %s, %s, queue %llu\n", p->name, p->revoked? "REVOKED": "admitted",
                p->up? "up": "down", (unsigned long long) p->queue_depth);
        for (size_t j = 0; j < p->n_keys; j++)
            printf ("  %s %s  %s%s\n", j? "next  ": "key   ", p->keys [j]->public_key,
                    p->keys [j]->fingerprint,
                    streq (p->keys [j]->public_key, p->server_key)? "  (its link connects with this one)": "");
    }
    return RB_CLI_EXIT_OK;
}

//  A call whose request message has no fields (keys, reload).
static int
s_bare_call (rb_cli_t *cli, Regiebus__ApiRequest__CallCase call,
             const ProtobufCMessageDescriptor *descriptor, rb_cli_print_fn *print)
{
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    ProtobufCMessage request;
    protobuf_c_message_init (descriptor, &request);
    return rb_cli_run (cli, call, &request, print, NULL);
}

int
rb_cli_keys_status (rb_cli_t *cli)
{
    return s_bare_call (cli, REGIEBUS__API_REQUEST__CALL_KEYS, &regiebus__keys_request__descriptor,
                        s_keys_text);
}

// ---------------------------------------------------------------------------
//  Reload

static void
s_names (const char *what, char **names, size_t count)
{
    if (!count)
        return;
    printf ("%s:", what);
    for (size_t i = 0; i < count; i++)
        printf (" %s", names [i]);
    printf ("\n");
}

static int
s_reload_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    const Regiebus__ReloadReply *r = reply->reload;
    printf ("reloaded\n");
    s_names ("added peers", r->added, r->n_added);
    s_names ("removed peers", r->removed, r->n_removed);
    s_names ("changed peers", r->changed, r->n_changed);
    if (r->own_key_changed)
        printf ("this node now uses its new key\n");
    if (r->connections_dropped)
        printf ("a key lost admission: inbound connections were dropped, admitted peers reconnect\n");
    return RB_CLI_EXIT_OK;
}

int
rb_cli_reload (rb_cli_t *cli)
{
    return s_bare_call (cli, REGIEBUS__API_REQUEST__CALL_RELOAD, &regiebus__reload_request__descriptor,
                        s_reload_text);
}
