/*  regiebus: the command-line tool for integrators and ops.
 *
 *    regiebus keys make NAME [--dir DIR]
 *    regiebus keys region FILE
 *    (a tcp:// API also needs --cert CLIENT_CERT, and --server-key KEY
 *     unless -c names the node's config, whose certificate gives it)
 *    regiebus [--api ENDPOINT | -c CONFIG] status [--json]
 *    regiebus [--api ENDPOINT | -c CONFIG] submit --to PEER --case HEX64 [--kind test]
 *             [--payload TEXT] --key KEY [--count N]
 *    regiebus [--api ENDPOINT | -c CONFIG] received [--origin PEER] [--after SEQ] [--limit N]
 *    regiebus [--api ENDPOINT | -c CONFIG] clock advance DURATION   (e.g. 90s, 3h, 4w)
 *
 *  Talks to the node through rb_client like any integrator would. Exit
 *  codes: 0 done, 1 the node refused (the code and field are printed),
 *  2 usage, 3 the node did not answer.
 */
#include "rb_client.h"
#include "rb_config.h"
#include "rb_keys.h"
#include "rb_pseudonym.h"
#include <time.h>

#define S_TIMEOUT_MS 10000

typedef struct {
    const char *api;        //  API endpoint
    const char *config;     //  or a node config to read it from
    const char *server_key; //  tcp API: the node's public key (Z85)
    const char *cert;       //  tcp API: this client's certificate
    int argc;               //  the command and its arguments
    char **argv;
} s_args_t;

static int
s_usage (void)
{
    fprintf (stderr,
        "usage: regiebus keys make NAME [--dir DIR]\n"
        "       regiebus keys region FILE\n"
        "       (a tcp:// API also takes --cert CLIENT_CERT and --server-key KEY before the command)\n"
        "       regiebus [--api ENDPOINT | -c CONFIG] status [--json]\n"
        "       regiebus [--api ENDPOINT | -c CONFIG] submit --to PEER --case HEX64 --key KEY\n"
        "                [--kind test] [--payload TEXT] [--count N]\n"
        "       regiebus [--api ENDPOINT | -c CONFIG] received [--origin PEER] [--after SEQ] [--limit N]\n"
        "       regiebus [--api ENDPOINT | -c CONFIG] clock advance DURATION  (ms, s, m, h, d or w)\n");
    return 2;
}

//  Value of --name in argv, or NULL.
static const char *
s_opt (s_args_t *a, const char *name)
{
    for (int i = 0; i + 1 < a->argc; i++)
        if (streq (a->argv [i], name))
            return a->argv [i + 1];
    return NULL;
}

static bool
s_flag (s_args_t *a, const char *name)
{
    for (int i = 0; i < a->argc; i++)
        if (streq (a->argv [i], name))
            return true;
    return false;
}

static rb_client_t *
s_connect (s_args_t *a)
{
    char endpoint [256] = "";
    if (a->api)
        snprintf (endpoint, sizeof endpoint, "%s", a->api);
    else
    if (a->config) {
        rb_refusal_t why;
        rb_config_t *config = rb_config_load (a->config, NULL, 0, &why);
        if (!config) {
            fprintf (stderr, "regiebus: %s\n", why.message);
            return NULL;
        }
        snprintf (endpoint, sizeof endpoint, "%s", config->api_endpoint);
        rb_config_destroy (&config);
    }
    else {
        fprintf (stderr, "regiebus: name the node with --api ENDPOINT or -c CONFIG\n");
        return NULL;
    }
    zcert_t *cert = NULL;
    char server_key [41] = "";
    if (strncmp (endpoint, "tcp://", 6) == 0) {
        if (a->server_key)
            snprintf (server_key, sizeof server_key, "%s", a->server_key);
        else
        if (a->config) {
            rb_refusal_t why;
            rb_config_t *config = rb_config_load (a->config, NULL, 0, &why);
            zcert_t *node_cert = config? zcert_load (config->cert): NULL;
            if (node_cert)
                snprintf (server_key, sizeof server_key, "%s", zcert_public_txt (node_cert));
            zcert_destroy (&node_cert);
            rb_config_destroy (&config);
        }
        cert = a->cert? zcert_load (a->cert): NULL;
        if (!cert || !*server_key) {
            fprintf (stderr, "regiebus: a tcp:// API needs --cert CLIENT_CERT (with its _secret) and the node's key\n");
            zcert_destroy (&cert);
            return NULL;
        }
    }
    rb_client_t *client = rb_client_new (endpoint, cert? server_key: NULL, cert);
    zcert_destroy (&cert);
    if (!client)
        fprintf (stderr, "regiebus: cannot connect to %s\n", endpoint);
    return client;
}

//  Make the call; print and map errors to exit codes. *reply_p is set on OK.
static int
s_call (rb_client_t *client, Regiebus__ApiRequest *req, Regiebus__ApiReply **reply_p)
{
    Regiebus__ApiReply *reply = rb_client_call (client, req, S_TIMEOUT_MS);
    if (!reply) {
        fprintf (stderr, "regiebus: the node did not answer within %d ms\n", S_TIMEOUT_MS);
        return 3;
    }
    if (reply->code) {
        fprintf (stderr, "regiebus: refused: %s (%s) field=%s: %s\n", rb_strerror ((rb_err_t) reply->code),
                 rb_errname ((rb_err_t) reply->code), reply->field, reply->message);
        rb_wire_free (&reply);
        return 1;
    }
    *reply_p = reply;
    return 0;
}

static void
s_time (int64_t ms, char *out, size_t size)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    strftime (out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

// ---------------------------------------------------------------------------

static int
s_keys (s_args_t *a)
{
    if (a->argc == 3 && streq (a->argv [1], "region")) {
        rb_refusal_t why = { 0 };
        if (rb_pseudonym_make_key (a->argv [2], &why)) {
            fprintf (stderr, "regiebus: %s\n", why.message);
            return 1;
        }
        printf ("region key written to %s: share it with the region's nodes only\n", a->argv [2]);
        return 0;
    }
    if (a->argc < 3 || !streq (a->argv [1], "make"))
        return s_usage ();
    const char *dir = s_opt (a, "--dir");
    char public_key [41];
    rb_refusal_t why = { 0 };
    if (rb_keys_make (dir? dir: ".", a->argv [2], public_key, &why)) {
        fprintf (stderr, "regiebus: %s\n", why.message);
        return 1;
    }
    printf ("%s\n", public_key);
    return 0;
}

static void
s_status_text (const Regiebus__StatusReply *s)
{
    char now [32];
    s_time (s->now_ms, now, sizeof now);
    printf ("node %s (%s)  clock %s%s  store %.1f of %.1f MiB\n", s->node, s->role, now,
            s->test_clock? " (test)": "", s->store_used_bytes / 1048576.0, s->store_map_bytes / 1048576.0);
    printf ("%-20s %-5s %10s %12s %10s %10s %10s %8s %8s\n", "peer", "state", "queue", "oldest_ms",
            "assigned", "acked", "received", "resent", "refused");
    for (size_t i = 0; i < s->n_peers; i++) {
        Regiebus__PeerStatus *p = s->peers [i];
        printf ("%-20s %-5s %10llu %12lld %10llu %10llu %10llu %8llu %8llu\n", p->name, p->up? "up": "down",
                (unsigned long long) p->queue_depth, (long long) p->oldest_unacked_age_ms,
                (unsigned long long) p->last_assigned_seq, (unsigned long long) p->acked_seq,
                (unsigned long long) p->received_seq, (unsigned long long) p->retransmits,
                (unsigned long long) p->refused);
    }
    printf ("counters:");
    for (size_t i = 0; i < s->n_counters; i++)
        if (s->counters [i]->value)
            printf (" %s=%llu", s->counters [i]->name, (unsigned long long) s->counters [i]->value);
    printf ("\n");
}

static void
s_status_json (const Regiebus__StatusReply *s)
{
    printf ("{\"node\":\"%s\",\"role\":\"%s\",\"now_ms\":%lld,\"test_clock\":%s,"
            "\"store_used_bytes\":%llu,\"store_map_bytes\":%llu,\"peers\":[",
            s->node, s->role, (long long) s->now_ms, s->test_clock? "true": "false",
            (unsigned long long) s->store_used_bytes, (unsigned long long) s->store_map_bytes);
    for (size_t i = 0; i < s->n_peers; i++) {
        Regiebus__PeerStatus *p = s->peers [i];
        printf ("%s{\"name\":\"%s\",\"endpoint\":\"%s\",\"up\":%s,\"queue_depth\":%llu,"
                "\"oldest_unacked_age_ms\":%lld,\"last_assigned_seq\":%llu,\"acked_seq\":%llu,"
                "\"received_seq\":%llu,\"retransmits\":%llu,\"duplicates\":%llu,\"gaps\":%llu,"
                "\"refused\":%llu,\"last_heard_ms\":%lld,\"rtt_ms\":%lld}",
                i? ",": "", p->name, p->endpoint, p->up? "true": "false",
                (unsigned long long) p->queue_depth, (long long) p->oldest_unacked_age_ms,
                (unsigned long long) p->last_assigned_seq, (unsigned long long) p->acked_seq,
                (unsigned long long) p->received_seq, (unsigned long long) p->retransmits,
                (unsigned long long) p->duplicates, (unsigned long long) p->gaps,
                (unsigned long long) p->refused, (long long) p->last_heard_ms, (long long) p->rtt_ms);
    }
    printf ("],\"counters\":{");
    for (size_t i = 0; i < s->n_counters; i++)
        printf ("%s\"%s\":%llu", i? ",": "", s->counters [i]->name, (unsigned long long) s->counters [i]->value);
    printf ("}}\n");
}

static int
s_status (s_args_t *a, rb_client_t *client)
{
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    Regiebus__ApiRequest req = REGIEBUS__API_REQUEST__INIT;
    req.call_case = REGIEBUS__API_REQUEST__CALL_STATUS;
    req.status = &status;
    Regiebus__ApiReply *reply = NULL;
    int rc = s_call (client, &req, &reply);
    if (rc == 0) {
        if (s_flag (a, "--json"))
            s_status_json (reply->status);
        else
            s_status_text (reply->status);
    }
    rb_wire_free (&reply);
    return rc;
}

static int
s_submit (s_args_t *a, rb_client_t *client)
{
    const char *to = s_opt (a, "--to"), *key = s_opt (a, "--key"), *pseudonym = s_opt (a, "--case");
    const char *kind = s_opt (a, "--kind"), *payload = s_opt (a, "--payload"), *count_text = s_opt (a, "--count");
    if (!to || !key || !pseudonym)
        return s_usage ();
    if (kind && !streq (kind, "test")) {
        fprintf (stderr, "regiebus: --kind must be test\n");
        return 2;
    }
    long count = count_text? atol (count_text): 1;
    if (count < 1 || count > 10000000) {
        fprintf (stderr, "regiebus: --count must be from 1 to 10000000\n");
        return 2;
    }
    int rc = 0;
    for (long done = 0; done < count && rc == 0; ) {
        size_t n = count - done > 1000? 1000: (size_t) (count - done);
        Regiebus__Submission *subs = calloc (n, sizeof *subs);
        Regiebus__Submission **list = calloc (n, sizeof *list);
        char (*keys) [160] = calloc (n, sizeof *keys);
        for (size_t i = 0; i < n; i++) {
            regiebus__submission__init (&subs [i]);
            list [i] = &subs [i];
            if (count == 1)
                snprintf (keys [i], sizeof keys [i], "%s", key);
            else
                snprintf (keys [i], sizeof keys [i], "%s-%ld", key, done + (long) i);
            subs [i].idempotency_key = keys [i];
            subs [i].destination = (char *) to;
            subs [i].case_pseudonym = (char *) pseudonym;
            subs [i].kind = REGIEBUS__EVENT_KIND__TEST;
            subs [i].payload.data = (uint8_t *) (payload? payload: "");
            subs [i].payload.len = payload? strlen (payload): 0;
        }
        Regiebus__SubmitRequest submit = REGIEBUS__SUBMIT_REQUEST__INIT;
        submit.n_events = n;
        submit.events = list;
        Regiebus__ApiRequest req = REGIEBUS__API_REQUEST__INIT;
        req.call_case = REGIEBUS__API_REQUEST__CALL_SUBMIT;
        req.submit = &submit;
        Regiebus__ApiReply *reply = NULL;
        rc = s_call (client, &req, &reply);
        if (rc == 0 && count == 1) {
            Regiebus__Accepted *acc = reply->submit->accepted [0];
            zuuid_t *id = zuuid_new_from (acc->event_id.data);
            printf ("accepted event %s seq %llu to %s%s\n", zuuid_str_canonical (id),
                    (unsigned long long) acc->origin_seq, to, acc->duplicate? " (duplicate of an earlier submission)": "");
            zuuid_destroy (&id);
        }
        rb_wire_free (&reply);
        free (keys);
        free (list);
        free (subs);
        done += (long) n;
        if (rc == 0 && count > 1 && done == count)
            printf ("accepted %ld events to %s\n", count, to);
    }
    return rc;
}

static int
s_received (s_args_t *a, rb_client_t *client)
{
    Regiebus__ListReceivedRequest list = REGIEBUS__LIST_RECEIVED_REQUEST__INIT;
    list.origin = (char *) (s_opt (a, "--origin")? s_opt (a, "--origin"): "");
    list.after_seq = s_opt (a, "--after")? strtoull (s_opt (a, "--after"), NULL, 10): 0;
    list.limit = s_opt (a, "--limit")? (uint32_t) atoi (s_opt (a, "--limit")): 100;
    Regiebus__ApiRequest req = REGIEBUS__API_REQUEST__INIT;
    req.call_case = REGIEBUS__API_REQUEST__CALL_LIST_RECEIVED;
    req.list_received = &list;
    Regiebus__ApiReply *reply = NULL;
    int rc = s_call (client, &req, &reply);
    for (size_t i = 0; rc == 0 && i < reply->list_received->n_events; i++) {
        Regiebus__Envelope *e = reply->list_received->events [i];
        char occurred [32], recorded [32];
        s_time (e->occurred_at_ms, occurred, sizeof occurred);
        s_time (e->recorded_at_ms, recorded, sizeof recorded);
        printf ("%s#%llu kind=%s case=%.12s… occurred=%s recorded=%s payload=%.*s\n", e->origin,
                (unsigned long long) e->origin_seq, e->kind == REGIEBUS__EVENT_KIND__TEST? "test": "?",
                e->case_pseudonym, occurred, recorded, (int) e->payload.len, (const char *) e->payload.data);
    }
    if (rc == 0 && reply->list_received->more)
        printf ("(more: continue with --origin and --after)\n");
    rb_wire_free (&reply);
    return rc;
}

//  "90s", "3h", "4w", "1500" (ms): milliseconds, or -1.
static int64_t
s_duration (const char *text)
{
    char *end;
    long long v = strtoll (text, &end, 10);
    if (end == text || v <= 0)
        return -1;
    int64_t unit = streq (end, "") || streq (end, "ms")? 1: streq (end, "s")? 1000: streq (end, "m")? 60000:
                   streq (end, "h")? 3600000: streq (end, "d")? 86400000: streq (end, "w")? 604800000: -1;
    return unit < 0? -1: v * unit;
}

static int
s_clock (s_args_t *a, rb_client_t *client)
{
    if (a->argc < 3 || !streq (a->argv [1], "advance"))
        return s_usage ();
    int64_t by = s_duration (a->argv [2]);
    if (by < 0) {
        fprintf (stderr, "regiebus: duration '%s' must read like 1500, 90s, 3h, 2d or 4w\n", a->argv [2]);
        return 2;
    }
    Regiebus__AdvanceClockRequest advance = REGIEBUS__ADVANCE_CLOCK_REQUEST__INIT;
    advance.by_ms = by;
    Regiebus__ApiRequest req = REGIEBUS__API_REQUEST__INIT;
    req.call_case = REGIEBUS__API_REQUEST__CALL_ADVANCE_CLOCK;
    req.advance_clock = &advance;
    Regiebus__ApiReply *reply = NULL;
    int rc = s_call (client, &req, &reply);
    if (rc == 0) {
        char now [32];
        s_time (reply->advance_clock->now_ms, now, sizeof now);
        printf ("clock now %s\n", now);
    }
    rb_wire_free (&reply);
    return rc;
}

int
main (int argc, char *argv [])
{
    s_args_t a = { 0 };
    int i = 1;
    for (; i < argc && argv [i][0] == '-'; i += 2) {
        if (i + 1 >= argc)
            return s_usage ();
        if (streq (argv [i], "--api"))
            a.api = argv [i + 1];
        else
        if (streq (argv [i], "-c") || streq (argv [i], "--config"))
            a.config = argv [i + 1];
        else
        if (streq (argv [i], "--server-key"))
            a.server_key = argv [i + 1];
        else
        if (streq (argv [i], "--cert"))
            a.cert = argv [i + 1];
        else
            return s_usage ();
    }
    if (i >= argc)
        return s_usage ();
    a.argc = argc - i;
    a.argv = argv + i;
    zsys_init ();
    zsys_set_logstream (NULL);
    if (streq (a.argv [0], "keys"))
        return s_keys (&a);
    int (*command) (s_args_t *, rb_client_t *) =
        streq (a.argv [0], "status")? s_status: streq (a.argv [0], "submit")? s_submit:
        streq (a.argv [0], "received")? s_received: streq (a.argv [0], "clock")? s_clock: NULL;
    if (!command)
        return s_usage ();
    rb_client_t *client = s_connect (&a);
    if (!client)
        return 3;
    int rc = command (&a, client);
    rb_client_destroy (&client);
    return rc;
}
