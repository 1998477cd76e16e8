/*  regiebus: the command-line tool for integrators and ops.
 *
 *    regiebus [--api ENDPOINT | -c CONFIG] [--cert CERT] [--server-key KEY] COMMAND ...
 *    regiebus --help                  every command, one line each
 *    regiebus COMMAND --help          its arguments
 *
 *  The node is named by its API endpoint, or by its config file (which
 *  gives the endpoint, and for a tcp:// API the node's key); a tcp:// API
 *  also needs this client's certificate. The tool talks to the node
 *  through rb_client like any integrator's program would, one call per
 *  command. Here: the table of commands, the connection, and the
 *  runtime's own commands (keys, status, submit, received, clock); the
 *  agency calls are in agency.c, notifications in render.c, the audit in
 *  audit.c.
 *
 *  Exit codes: 0 done, 1 the node refused (the code, field and message
 *  are printed on one line), 2 usage, 3 the node could not be reached or
 *  did not answer.
 */
#include "rb_cli.h"
#include "rb_config.h"
#include "rb_keys.h"
#include "rb_pseudonym.h"
#include <ctype.h>
#include <time.h>

static const rb_cli_command_t s_commands [] = {
    { "keys make", rb_cli_keys_make, true, 1, "--dir=", "NAME [--dir DIR]",
      "make a CURVE keypair NAME.cert + NAME.cert_secret; prints the public key" },
    { "keys show", rb_cli_keys_show, true, 1, "", "CERT",
      "a certificate's public key and fingerprint, and whether its secret half is here (mode 0600)" },
    { "keys region", rb_cli_keys_region, true, 1, "", "FILE",
      "make the region key for case pseudonyms (share it with the region's nodes only)" },
    { "keys status", rb_cli_keys_status, false, 0, "--json", "[--json]",
      "the keys the node uses and admits: its own, the next one, each peer's, revoked ones" },
    { "reload", rb_cli_reload, false, 0, "--json", "[--json]",
      "the node re-reads its config: peers and keys apply live; any other change is refused" },
    { "status", rb_cli_status, false, 0, "--json", "[--json]",
      "the node: clock, peers up or down, queues, counters, store use" },
    { "submit", rb_cli_submit, false, 0, "--to= --case= --key= --kind= --payload= --count= --json",
      "--to PEER --case HEX64 --key KEY [--kind test] [--payload TEXT] [--count N] [--json]",
      "submit TEST events for delivery to a peer (with --count N: keys KEY-0 ...)" },
    { "received", rb_cli_received, false, 0, "--origin= --after= --limit= --json",
      "[--origin PEER] [--after SEQ] [--limit N] [--json]",
      "the envelopes this node received, in (origin, seq) order" },
    { "clock advance", rb_cli_clock_advance, false, 1, "--json", "DURATION [--json]",
      "move a test clock forward: 1500 (ms), 90s, 3h, 2d, 4w" },
    { "notifications", rb_cli_notifications, false, 0, "--new --case= --account= --after= --limit= --json",
      "[--new] [--case HEX64] [--account A] [--after N] [--limit N] [--json]",
      "the notifications this node's actors received: what, why, who else, what is expected" },
    { "ack", rb_cli_ack, false, 1, "--by= --json", "SEQ --by NAME [--json]",
      "acknowledge notification SEQ as user or desk NAME" },
    { "enrol", rb_cli_enrol, false, 0, "--id= --bsn= --born= --municipality= --location= --since= --name= --json",
      "--id L --bsn N --born YYYYMMDD --municipality CODE [--location X] [--since YYYYMMDD] [--name NAME] [--json]",
      "school: enrol a pupil; prints the case pseudonym and the home municipality's node" },
    { "unenrol", rb_cli_unenrol, false, 0, "--pupil= --on= --json", "--pupil L [--on YYYYMMDD] [--json]",
      "school: a pupil leaves the school (its last day, default today); the municipality is told" },
    { "attendance", rb_cli_attendance, false, 0,
      "--key= --pupil= --date= --minutes= --lessons= --present --reason= --file= --json",
      "--key K --pupil L --date YYYYMMDD (--minutes M | --lessons N | --present)\n"
      "           [--reason sick|unexcused|excused|late|suspended|no-place] [--json]\n"
      "       regiebus attendance --file RECORDS.csv [--json]   (key,pupil,date,minutes,lessons,present,reason)",
      "school: record attendance; prints the signals the rules raised" },
    { "close-day", rb_cli_close_day, false, 1, "--json", "YYYYMMDD [--json]",
      "school: the school day is over; pupils without a record count as present" },
    { "involve", rb_cli_involve, false, 0,
      "--bsn= --case= --role= --contact= --name= --municipality= --end --json",
      "(--bsn N | --case HEX64) --role jeugdhulp|wijkteam|samenwerkingsverband [--contact C]\n"
      "           [--name LOCAL] [--municipality CODE] [--end] [--json]",
      "care: register (or --end) this provider's involvement on a case" },
    { "parent link", rb_cli_parent_link, false, 0, "--account= --bsn= --child= --municipality= --unlink --json",
      "--account A --bsn N --child NAME [--municipality CODE] [--unlink] [--json]",
      "portal: link (or --unlink) a parent account to a child" },
    { "parent report", rb_cli_parent_report, false, 0,
      "--key= --account= --bsn= --kind= --from= --until= --code= --json",
      "--key K --account A --bsn N --kind sickness|home-signal [--from D] [--until D] [--code C] [--json]",
      "portal: a linked parent reports sickness or a signal from home" },
    { "consent give", rb_cli_consent, false, 0, "--account= --bsn= --type= --json",
      "--account A --bsn N --type jeugdhulp|wijkteam|samenwerkingsverband [--json]",
      "portal: a linked parent consents to sharing beyond the legal minimum with an agency type" },
    { "consent withdraw", rb_cli_consent, false, 0, "--account= --bsn= --type= --json",
      "--account A --bsn N --type jeugdhulp|wijkteam|samenwerkingsverband [--json]",
      "portal: a linked parent withdraws that consent; nothing beyond the minimum follows" },
    { "consent show", rb_cli_consent_show, false, 0, "--account= --bsn= --case= --json",
      "(--account A --bsn N | --case HEX64) [--json]",
      "portal: a parent's view of the consent on their child's case; municipality: a case's" },
    { "case", rb_cli_case, false, 1, "--json", "HEX64 [--json]",
      "municipality: the regie register of a case, who holds which role since when" },
    { "regie", rb_cli_regie, false, 0, "--case= --node= --role= --contact= --release --json",
      "--case HEX64 --node NODE --role ROLE [--contact C] [--release] [--json]",
      "municipality: assign (or --release) an actor's role on a case; the holders are told" },
    { "plan register", rb_cli_plan_register, false, 0,
      "--case= --as= --type= --owner= --owner-role= --review-days= --milestone= --municipality= --json",
      "--case HEX64 --as ROLE --type opp|care|action|other --owner NODE --owner-role ROLE\n"
      "           [--review-days N] --milestone DATE:LABEL [--milestone ...] [--municipality CODE] [--json]",
      "register a plan on a case, with its owner and dated milestones; every holder is told" },
    { "plan complete", rb_cli_plan_complete, false, 0, "--case= --as= --plan= --milestone= --municipality= --json",
      "--case HEX64 --as ROLE --plan N --milestone N [--municipality CODE] [--json]",
      "complete a plan's milestone" },
    { "plan revise", rb_cli_plan_revise, false, 0,
      "--case= --as= --plan= --review-days= --milestone= --municipality= --json",
      "--case HEX64 --as ROLE --plan N [--review-days N] [--milestone DATE:LABEL ...] [--json]",
      "revise a plan: new open milestones (replacing the open ones) and/or review interval" },
    { "plan review", rb_cli_plan_review, false, 0, "--case= --as= --plan= --municipality= --json",
      "--case HEX64 --as ROLE --plan N [--json]", "mark a plan reviewed today" },
    { "plan close", rb_cli_plan_close, false, 0, "--case= --as= --plan= --municipality= --json",
      "--case HEX64 --as ROLE --plan N [--json]", "close a plan: its dates are no longer watched" },
    { "plan show", rb_cli_plan_show, false, 0, "--case= --plan= --json", "--case HEX64 [--plan N] [--json]",
      "municipality: a case's plans, their milestones and stalls" },
    { "audit verify", rb_cli_audit_verify, false, 0, "--store= --json", "[--store DATA_DIR] [--json]",
      "walk the audit chain: OK with the count and head hash, or the first broken record (exit 1)" },
    { "audit list", rb_cli_audit_list, false, 0, "--store= --after= --limit= --json",
      "[--store DATA_DIR] [--after SEQ] [--limit N] [--json]",
      "the audit records in plain words: deliveries, notices stored, shown, acknowledged" },
};

#define S_COMMANDS (sizeof s_commands / sizeof s_commands [0])

//  The options that name the node, before the command.
typedef struct {
    const char *api;            //  API endpoint
    const char *config;         //  or a node config to read it from
    const char *server_key;     //  tcp API: the node's public key (Z85)
    const char *cert;           //  tcp API: this client's certificate
} s_target_t;

static int
s_help (FILE *out, int code)
{
    fprintf (out,
        "usage: regiebus [--api ENDPOINT | -c CONFIG] [--cert CERT] [--server-key KEY] COMMAND ...\n"
        "       (a tcp:// API takes --cert CLIENT_CERT, and --server-key KEY unless -c gives it)\n"
        "       regiebus COMMAND --help shows a command's arguments\n\ncommands:\n");
    for (size_t i = 0; i < S_COMMANDS; i++)
        fprintf (out, "  %-14s %s\n", s_commands [i].name, s_commands [i].summary);
    fprintf (out, "\nexit codes: 0 done, 1 refused by the node, 2 usage, 3 no answer\n");
    return code;
}

//  The command argv names (one or two words); *used says how many.
static const rb_cli_command_t *
s_find (int argc, char **argv, int *used)
{
    bool first_known = false;
    for (size_t i = 0; i < S_COMMANDS; i++) {
        const char *name = s_commands [i].name;
        const char *space = strchr (name, ' ');
        size_t length = space? (size_t) (space - name): strlen (name);
        if (strlen (argv [0]) != length || strncmp (argv [0], name, length) != 0)
            continue;
        first_known = true;
        if (!space) {
            *used = 1;
            return &s_commands [i];
        }
        if (argc > 1 && streq (argv [1], space + 1)) {
            *used = 2;
            return &s_commands [i];
        }
    }
    if (first_known) {
        fprintf (stderr, "regiebus %s: say which:", argv [0]);
        for (size_t i = 0; i < S_COMMANDS; i++)
            if (strncmp (s_commands [i].name, argv [0], strlen (argv [0])) == 0
            &&  s_commands [i].name [strlen (argv [0])] == ' ')
                fprintf (stderr, " %s", s_commands [i].name + strlen (argv [0]) + 1);
        fprintf (stderr, "\n");
    }
    else
        fprintf (stderr, "regiebus: unknown command '%s' (regiebus --help lists them)\n", argv [0]);
    return NULL;
}

//  The endpoint and, for tcp://, the node's key: from the options or
//  from the node's config file.
static bool
s_endpoint (const s_target_t *t, char *endpoint, size_t size, char server_key [41])
{
    *endpoint = '\0';
    snprintf (server_key, 41, "%s", t->server_key? t->server_key: "");
    if (t->api && !t->config) {
        snprintf (endpoint, size, "%s", t->api);
        return true;
    }
    if (!t->config) {
        fprintf (stderr, "regiebus: name the node with --api ENDPOINT or -c CONFIG\n");
        return false;
    }
    rb_refusal_t why;
    rb_config_t *config = rb_config_load (t->config, NULL, 0, &why);
    if (!config) {
        fprintf (stderr, "regiebus: %s\n", why.message);
        return false;
    }
    snprintf (endpoint, size, "%s", t->api? t->api: config->api_endpoint);
    if (!*server_key && strncmp (endpoint, "tcp://", 6) == 0) {
        zcert_t *node_cert = zcert_load (config->cert);
        if (node_cert)
            snprintf (server_key, 41, "%s", zcert_public_txt (node_cert));
        zcert_destroy (&node_cert);
    }
    rb_config_destroy (&config);
    return true;
}

static rb_client_t *
s_connect (const s_target_t *t)
{
    char endpoint [256], server_key [41];
    if (!s_endpoint (t, endpoint, sizeof endpoint, server_key))
        return NULL;
    zcert_t *cert = NULL;
    if (strncmp (endpoint, "tcp://", 6) == 0) {
        cert = t->cert? zcert_load (t->cert): NULL;
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

int
main (int argc, char *argv [])
{
    s_target_t t = { 0 };
    int i = 1;
    for (; i < argc && argv [i][0] == '-'; i += 2) {
        if (streq (argv [i], "--help") || streq (argv [i], "-h"))
            return s_help (stdout, RB_CLI_EXIT_OK);
        if (i + 1 >= argc)
            return s_help (stderr, RB_CLI_EXIT_USAGE);
        if (streq (argv [i], "--api"))
            t.api = argv [i + 1];
        else
        if (streq (argv [i], "-c") || streq (argv [i], "--config"))
            t.config = argv [i + 1];
        else
        if (streq (argv [i], "--server-key"))
            t.server_key = argv [i + 1];
        else
        if (streq (argv [i], "--cert"))
            t.cert = argv [i + 1];
        else
            return s_help (stderr, RB_CLI_EXIT_USAGE);
    }
    if (i >= argc)
        return s_help (stderr, RB_CLI_EXIT_USAGE);
    if (streq (argv [i], "help"))
        return s_help (stdout, RB_CLI_EXIT_OK);
    int used = 0;
    const rb_cli_command_t *command = s_find (argc - i, argv + i, &used);
    if (!command)
        return RB_CLI_EXIT_USAGE;
    rb_cli_t cli = { 0 };
    for (int k = i + used; k < argc; k++)
        if (streq (argv [k], "--help")) {
            printf ("%s\nusage: regiebus [--api ENDPOINT | -c CONFIG] %s %s\n", command->summary,
                    command->name, command->synopsis);
            return RB_CLI_EXIT_OK;
        }
    if (!rb_cli_parse (&cli, command, argc - i - used, argv + i + used))
        return rb_cli_usage (&cli);
    zsys_init ();
    zsys_set_logstream (NULL);
    //  --store reads a node's store directly (audit): no node to reach.
    bool offline = command->offline || rb_cli_text (&cli, "--store", false);
    if (!offline && !(cli.client = s_connect (&t)))
        return RB_CLI_EXIT_NO_ANSWER;
    int rc = command->fn (&cli);
    rb_client_destroy (&cli.client);
    return rc;
}

// ---------------------------------------------------------------------------
//  Keys

int
rb_cli_keys_make (rb_cli_t *cli)
{
    const char *name = rb_cli_word (cli, 0, "NAME");
    const char *dir = rb_cli_text (cli, "--dir", false);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    char public_key [41];
    rb_refusal_t why = { 0 };
    if (rb_keys_make (dir? dir: ".", name, public_key, &why)) {
        fprintf (stderr, "regiebus: %s\n", why.message);
        return RB_CLI_EXIT_REFUSED;
    }
    printf ("%s\n", public_key);
    return RB_CLI_EXIT_OK;
}

int
rb_cli_keys_region (rb_cli_t *cli)
{
    const char *path = rb_cli_word (cli, 0, "FILE");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    rb_refusal_t why = { 0 };
    if (rb_pseudonym_make_key (path, &why)) {
        fprintf (stderr, "regiebus: %s\n", why.message);
        return RB_CLI_EXIT_REFUSED;
    }
    printf ("region key written to %s: share it with the region's nodes only\n", path);
    return RB_CLI_EXIT_OK;
}

// ---------------------------------------------------------------------------
//  Status

static void
s_utc (int64_t ms, char *out, size_t size)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    strftime (out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
s_status_text (const Regiebus__StatusReply *s)
{
    char now [32];
    s_utc (s->now_ms, now, sizeof now);
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

//  Status as scripts have read it from the start: counters as one object
//  by name, not the reply's list of {name, value}.
static void
s_status_json (const Regiebus__StatusReply *s)
{
    printf ("{\"node\":\"%s\",\"role\":\"%s\",\"now_ms\":%lld,\"test_clock\":%s,"
            "\"store_used_bytes\":%llu,\"store_map_bytes\":%llu,\"peers\":[",
            s->node, s->role, (long long) s->now_ms, s->test_clock? "true": "false",
            (unsigned long long) s->store_used_bytes, (unsigned long long) s->store_map_bytes);
    for (size_t i = 0; i < s->n_peers; i++) {
        if (i)
            printf (",");
        rb_cli_json_object (stdout, &s->peers [i]->base);
    }
    printf ("],\"counters\":{");
    for (size_t i = 0; i < s->n_counters; i++)
        printf ("%s\"%s\":%llu", i? ",": "", s->counters [i]->name, (unsigned long long) s->counters [i]->value);
    printf ("}}\n");
}

int
rb_cli_status (rb_cli_t *cli)
{
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    Regiebus__ApiReply *reply;
    int rc = rb_cli_call (cli, REGIEBUS__API_REQUEST__CALL_STATUS, &status.base, &reply);
    if (rc == RB_CLI_EXIT_OK && rb_cli_json_wanted (cli))
        s_status_json (reply->status);
    else
    if (rc == RB_CLI_EXIT_OK)
        s_status_text (reply->status);
    rb_wire_free (&reply);
    return rc;
}

// ---------------------------------------------------------------------------
//  Submit

#define S_SUBMIT_PER_REQUEST 1000

//  A submit run: count events in requests of S_SUBMIT_PER_REQUEST.
typedef struct {
    rb_cli_t *cli;
    long count;                 //  events in all
    long done;                  //  events accepted before this request
    size_t n;                   //  events in this request
} s_submit_t;

static int
s_submit_text (const Regiebus__ApiReply *reply, void *arg)
{
    s_submit_t *run = arg;
    const char *to = rb_cli_text (run->cli, "--to", true);
    const Regiebus__Accepted *acc = reply->submit->n_accepted? reply->submit->accepted [0]: NULL;
    char id [40];
    if (run->count == 1 && acc)
        printf ("accepted event %s seq %llu to %s%s\n", rb_cli_uuid_text (acc->event_id, id, sizeof id),
                (unsigned long long) acc->origin_seq, to,
                acc->duplicate? " (duplicate of an earlier submission)": "");
    else
    if (run->done + (long) run->n == run->count)
        printf ("accepted %ld events to %s\n", run->count, to);
    return RB_CLI_EXIT_OK;
}

//  Submit the run's next request; keys are KEY, or KEY-i with --count.
static int
s_submit_some (s_submit_t *run)
{
    rb_cli_t *cli = run->cli;
    const char *key = rb_cli_text (cli, "--key", true), *payload = rb_cli_text (cli, "--payload", false);
    Regiebus__Submission *subs = calloc (run->n, sizeof *subs);
    Regiebus__Submission **list = calloc (run->n, sizeof *list);
    char (*keys) [160] = calloc (run->n, sizeof *keys);
    int rc = subs && list && keys? RB_CLI_EXIT_OK: RB_CLI_EXIT_NO_ANSWER;
    for (size_t i = 0; rc == RB_CLI_EXIT_OK && i < run->n; i++) {
        regiebus__submission__init (&subs [i]);
        list [i] = &subs [i];
        if (run->count == 1)
            snprintf (keys [i], sizeof keys [i], "%s", key);
        else
            snprintf (keys [i], sizeof keys [i], "%s-%ld", key, run->done + (long) i);
        subs [i].idempotency_key = keys [i];
        subs [i].destination = (char *) rb_cli_text (cli, "--to", true);
        subs [i].case_pseudonym = (char *) rb_cli_text (cli, "--case", true);
        subs [i].kind = REGIEBUS__EVENT_KIND__TEST;
        subs [i].payload.data = (uint8_t *) (payload? payload: "");
        subs [i].payload.len = payload? strlen (payload): 0;
    }
    Regiebus__SubmitRequest submit = REGIEBUS__SUBMIT_REQUEST__INIT;
    submit.n_events = run->n;
    submit.events = list;
    if (rc == RB_CLI_EXIT_OK)
        rc = rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_SUBMIT, &submit.base, s_submit_text, run);
    else
        fprintf (stderr, "regiebus submit: out of memory\n");
    free (keys);
    free (list);
    free (subs);
    return rc;
}

int
rb_cli_submit (rb_cli_t *cli)
{
    rb_cli_text (cli, "--to", true);
    rb_cli_text (cli, "--key", true);
    rb_cli_text (cli, "--case", true);
    const char *kind = rb_cli_text (cli, "--kind", false);
    if (kind && !streq (kind, "test"))
        rb_cli_error (cli, "--kind must be test (the agency kinds come from the daemons' own calls)");
    s_submit_t run = { .cli = cli, .count = (long) rb_cli_number (cli, "--count", 10000000, 1) };
    if (run.count < 1)
        rb_cli_error (cli, "--count must be from 1 to 10000000");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    int rc = RB_CLI_EXIT_OK;
    for (; run.done < run.count && rc == RB_CLI_EXIT_OK; run.done += (long) run.n) {
        run.n = run.count - run.done > S_SUBMIT_PER_REQUEST? S_SUBMIT_PER_REQUEST: (size_t) (run.count - run.done);
        rc = s_submit_some (&run);
    }
    return rc;
}

// ---------------------------------------------------------------------------
//  Received

static void
s_envelope_text (const Regiebus__Envelope *e)
{
    char occurred [32], recorded [32], kind [32];
    s_utc (e->occurred_at_ms, occurred, sizeof occurred);
    s_utc (e->recorded_at_ms, recorded, sizeof recorded);
    snprintf (kind, sizeof kind, "%s", rb_cli_enum_name (&regiebus__event_kind__descriptor, e->kind));
    for (char *c = kind; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
    printf ("%s#%llu kind=%s case=%.12s… occurred=%s recorded=%s ", e->origin,
            (unsigned long long) e->origin_seq, kind, e->case_pseudonym, occurred, recorded);
    //  A test payload is text; the agency kinds carry protobuf.
    if (e->kind == REGIEBUS__EVENT_KIND__TEST)
        printf ("payload=%.*s\n", (int) e->payload.len, (const char *) e->payload.data);
    else
        printf ("payload=(%zu bytes)\n", e->payload.len);
}

static int
s_received_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    for (size_t i = 0; i < reply->list_received->n_events; i++)
        s_envelope_text (reply->list_received->events [i]);
    if (reply->list_received->more)
        printf ("(more: continue with --origin and --after)\n");
    return RB_CLI_EXIT_OK;
}

int
rb_cli_received (rb_cli_t *cli)
{
    Regiebus__ListReceivedRequest list = REGIEBUS__LIST_RECEIVED_REQUEST__INIT;
    list.origin = rb_cli_field (cli, "--origin");
    list.after_seq = rb_cli_number (cli, "--after", UINT64_MAX, 0);
    list.limit = (uint32_t) rb_cli_number (cli, "--limit", UINT32_MAX, 100);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_LIST_RECEIVED, &list.base, s_received_text, NULL);
}

// ---------------------------------------------------------------------------
//  Clock

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
    return unit < 0 || v > INT64_MAX / unit? -1: v * unit;
}

static int
s_clock_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    char now [32];
    s_utc (reply->advance_clock->now_ms, now, sizeof now);
    printf ("clock now %s\n", now);
    return RB_CLI_EXIT_OK;
}

int
rb_cli_clock_advance (rb_cli_t *cli)
{
    const char *text = rb_cli_word (cli, 0, "DURATION");
    Regiebus__AdvanceClockRequest advance = REGIEBUS__ADVANCE_CLOCK_REQUEST__INIT;
    advance.by_ms = s_duration (text);
    if (!rb_cli_bad (cli) && advance.by_ms < 0)
        rb_cli_error (cli, "duration '%s' must read like 1500, 90s, 3h, 2d or 4w", text);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_ADVANCE_CLOCK, &advance.base, s_clock_text, NULL);
}
