/*  audit: `regiebus audit verify` and `regiebus audit list`.
 *
 *  Both read a node's audit chain (common/rb_audit.h): from the running
 *  node over its API (audit_verify, audit_list), or with --store DIR
 *  straight from the node's LMDB directory, read-only, which works while
 *  the daemon runs and on a copy of a stopped node's store, and needs no
 *  key and no API. Either way the same reply messages are printed, in
 *  plain words or with --json as they are.
 *
 *  verify exits 0 when the chain holds (it prints the count and the head
 *  hash, to note down and compare later) and 1 when it does not (it names
 *  the first record that does not hold and what is wrong with it).
 */
#include "rb_cli.h"
#include "rb_audit.h"

#define S_LIST_DEFAULT 100
#define S_LIST_MAX 1000

// ---------------------------------------------------------------------------
//  Printing

static int
s_verify_print (const Regiebus__AuditVerifyReply *v, bool json)
{
    if (json)
        rb_cli_json (stdout, &v->base);
    else
    if (v->problem == REGIEBUS__AUDIT_PROBLEM__AUDIT_INTACT) {
        char hex [65] = "-";
        if (v->head_hash.len == RB_AUDIT_HASH_SIZE && v->count)
            rb_audit_hex (v->head_hash.data, hex);
        printf ("audit chain OK: %llu records, head %llu %s\n", (unsigned long long) v->count,
                (unsigned long long) v->head_seq, hex);
    }
    else
        printf ("audit chain BROKEN at record %llu (%s): %s; the %llu records before it hold\n",
                (unsigned long long) v->broken_seq, rb_audit_problem_name ((rb_audit_problem_t) v->problem),
                v->detail, (unsigned long long) v->count);
    return v->problem == REGIEBUS__AUDIT_PROBLEM__AUDIT_INTACT? RB_CLI_EXIT_OK: RB_CLI_EXIT_REFUSED;
}

//  The event or notice a record is about, in words.
static void
s_about (const Regiebus__AuditRecord *r, char *out, size_t size)
{
    char id [40];
    const char *kind = rb_cli_enum_name (&regiebus__event_kind__descriptor, r->event_kind);
    switch (r->kind) {
        case REGIEBUS__AUDIT_KIND__AUDIT_RECEIVED:
            snprintf (out, size, "received from %s #%llu %s event %s%s%s", r->peer,
                      (unsigned long long) r->stream_seq, kind, rb_cli_uuid_text (r->event_id, id, sizeof id),
                      r->code? ", dead letter: ": "",
                      r->code? rb_cli_enum_name (&regiebus__error_code__descriptor, r->code): "");
            break;
        case REGIEBUS__AUDIT_KIND__AUDIT_DELIVERED:
            snprintf (out, size, "delivered to %s #%llu %s event %s (acknowledged)", r->peer,
                      (unsigned long long) r->stream_seq, kind, rb_cli_uuid_text (r->event_id, id, sizeof id));
            break;
        case REGIEBUS__AUDIT_KIND__AUDIT_NOTICE_STORED:
            snprintf (out, size, "notice %llu stored: %s from %s for role %s, notification %s",
                      (unsigned long long) r->stream_seq, kind, r->peer,
                      rb_cli_enum_name (&regiebus__role__descriptor, (int) r->role),
                      rb_cli_uuid_text (r->notification_id, id, sizeof id));
            break;
        case REGIEBUS__AUDIT_KIND__AUDIT_NOTICE_SHOWN:
            snprintf (out, size, "notice %llu shown %s%s (%s, role %s)", (unsigned long long) r->stream_seq,
                      *r->who? "to account ": "without an account filter", r->who, kind,
                      rb_cli_enum_name (&regiebus__role__descriptor, (int) r->role));
            break;
        case REGIEBUS__AUDIT_KIND__AUDIT_NOTICE_ACKED:
            snprintf (out, size, "notice %llu acknowledged by %s (%s, role %s)", (unsigned long long) r->stream_seq,
                      r->who, kind, rb_cli_enum_name (&regiebus__role__descriptor, (int) r->role));
            break;
        default:
            snprintf (out, size, "record of unknown kind %d", r->kind);
    }
}

static void
s_list_print (const Regiebus__AuditListReply *list, bool json)
{
    if (json) {
        rb_cli_json (stdout, &list->base);
        return;
    }
    for (size_t i = 0; i < list->n_records; i++) {
        const Regiebus__AuditRecord *r = list->records [i];
        char at [32], about [320];
        s_about (r, about, sizeof about);
        printf ("#%llu %s %s%s%.12s\n", (unsigned long long) r->seq, rb_cli_time_text (r->at_ms, at, sizeof at),
                about, *r->case_pseudonym? ", case ": "", r->case_pseudonym);
    }
    if (list->more)
        printf ("(more: continue with --after %llu)\n",
                (unsigned long long) list->records [list->n_records - 1]->seq);
}

// ---------------------------------------------------------------------------
//  Offline: the node's store, read-only

//  Open the store in dir and its audit; false after saying why.
static bool
s_open (rb_cli_t *cli, const char *dir, rb_store_t **store, rb_audit_t **audit)
{
    rb_refusal_t why = { 0 };
    rb_err_t rc = RB_OK;
    *store = rb_store_open_readonly (dir, &why);
    *audit = *store? rb_audit_new (*store, NULL, &rc): NULL;
    if (!*store)
        fprintf (stderr, "regiebus %s: %s\n", cli->command->name, why.message);
    else
    if (!*audit)
        fprintf (stderr, "regiebus %s: %s holds no audit log (%s)\n", cli->command->name, dir, rb_strerror (rc));
    if (!*audit)
        rb_store_destroy (store);
    return *audit != NULL;
}

static int
s_verify_offline (rb_cli_t *cli, const char *dir)
{
    rb_store_t *store;
    rb_audit_t *audit;
    if (!s_open (cli, dir, &store, &audit))
        return RB_CLI_EXIT_NO_ANSWER;
    rb_audit_check_t check;
    rb_txn_t *txn = NULL;
    rb_err_t rc = rb_txn_begin (store, false, &txn);
    if (!rc)
        rc = rb_audit_verify (audit, txn, &check);
    rb_txn_destroy (&txn);
    int exit_code = RB_CLI_EXIT_NO_ANSWER;
    if (rc)
        fprintf (stderr, "regiebus audit verify: cannot read %s: %s\n", dir, rb_store_errmsg (store));
    else {
        Regiebus__AuditVerifyReply reply;
        rb_audit_check_to_wire (&check, &reply);
        exit_code = s_verify_print (&reply, rb_cli_json_wanted (cli));
    }
    rb_audit_destroy (&audit);
    rb_store_destroy (&store);
    return exit_code;
}

static int
s_list_offline (rb_cli_t *cli, const char *dir, uint64_t after, uint32_t limit)
{
    rb_store_t *store;
    rb_audit_t *audit;
    if (!s_open (cli, dir, &store, &audit))
        return RB_CLI_EXIT_NO_ANSWER;
    rb_audit_page_t *page = NULL;
    rb_txn_t *txn = NULL;
    rb_err_t rc = rb_txn_begin (store, false, &txn);
    if (!rc)
        page = rb_audit_page (audit, txn, after, limit, &rc);
    rb_txn_destroy (&txn);
    if (rc)
        fprintf (stderr, "regiebus audit list: cannot read %s: %s\n", dir, rb_strerror (rc));
    else
        s_list_print (&page->reply, rb_cli_json_wanted (cli));
    rb_audit_page_destroy (&page);
    rb_audit_destroy (&audit);
    rb_store_destroy (&store);
    return rc? RB_CLI_EXIT_NO_ANSWER: RB_CLI_EXIT_OK;
}

// ---------------------------------------------------------------------------
//  The commands

int
rb_cli_audit_verify (rb_cli_t *cli)
{
    const char *dir = rb_cli_text (cli, "--store", false);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    if (dir)
        return s_verify_offline (cli, dir);
    Regiebus__AuditVerifyRequest verify = REGIEBUS__AUDIT_VERIFY_REQUEST__INIT;
    Regiebus__ApiReply *reply;
    int rc = rb_cli_call (cli, REGIEBUS__API_REQUEST__CALL_AUDIT_VERIFY, &verify.base, &reply);
    if (rc == RB_CLI_EXIT_OK)
        rc = s_verify_print (reply->audit_verify, rb_cli_json_wanted (cli));
    rb_wire_free (&reply);
    return rc;
}

static int
s_list_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    s_list_print (reply->audit_list, false);
    return RB_CLI_EXIT_OK;
}

int
rb_cli_audit_list (rb_cli_t *cli)
{
    const char *dir = rb_cli_text (cli, "--store", false);
    Regiebus__AuditListRequest list = REGIEBUS__AUDIT_LIST_REQUEST__INIT;
    list.after_seq = rb_cli_number (cli, "--after", UINT64_MAX, 0);
    list.limit = (uint32_t) rb_cli_number (cli, "--limit", S_LIST_MAX, S_LIST_DEFAULT);
    if (!rb_cli_bad (cli) && list.limit == 0)
        rb_cli_error (cli, "--limit must be from 1 to %d", S_LIST_MAX);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    if (dir)
        return s_list_offline (cli, dir, list.after_seq, list.limit);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_AUDIT_LIST, &list.base, s_list_text, NULL);
}
