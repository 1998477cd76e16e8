/*  rb_test: checks, the temporary home and builders for unit tests; see rb_test.h.
 *
 *  A failed hard check prints where and why, runs the failure hook, removes
 *  the test's directory and leaves with _exit(1): the leak checker has
 *  nothing useful to say about a test that stopped halfway, so it is not
 *  given the chance to bury the real message under noise.
 */
#include "rb_test.h"
#include "rb_log.h"
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if defined (__SANITIZE_ADDRESS__)
#   include <sanitizer/lsan_interface.h>
#endif

static char s_name [64] = "unit";           //  test name for messages
static char s_dir [256];                    //  the temporary home, "" when none
static unsigned long s_checks;              //  checks evaluated
static unsigned long s_soft_failures;       //  soft checks that failed
static void (*s_hook) (void *);             //  run before a hard failure exits
static void *s_hook_arg;                    //  its argument

const char *rb_test_pseudonym = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// ---------------------------------------------------------------------------
//  The temporary home

static int
s_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    remove (path);
    return 0;
}

static void
s_remove_dir (void)
{
    if (!*s_dir)
        return;
    if (getenv ("RB_TEST_KEEP"))
        printf ("%s: kept %s\n", s_name, s_dir);
    else
        nftw (s_dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    *s_dir = 0;
}

void
rb_test_begin (const char *name)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    snprintf (s_name, sizeof s_name, "%s", name);
    snprintf (s_dir, sizeof s_dir, "/tmp/rb-unit-%s-XXXXXX", name);
    if (!mkdtemp (s_dir) || chdir (s_dir) != 0) {
        fprintf (stderr, "%s: cannot make a temporary directory: %s\n", s_name, strerror (errno));
        _exit (1);
    }
    atexit (s_remove_dir);
    const char *level = getenv ("RB_TEST_LOG");
    int parsed = level? rb_log_level_parse (level): -1;
    rb_log_setup (parsed >= 0? (rb_log_level_t) parsed: RB_LOG_WARN, name);
    printf ("%s: running in %s\n", s_name, s_dir);
}

int
rb_test_end (void)
{
    if (s_soft_failures) {
        printf ("%s: FAILED: %lu of %lu checks failed (soft checks: known bugs, see tests/unit/README.md)\n",
                s_name, s_soft_failures, s_checks);
        return 1;
    }
    printf ("%s: OK, %lu checks passed\n", s_name, s_checks);
    return 0;
}

const char *
rb_test_dir (void)
{
    return s_dir;
}

char *
rb_test_path (char *buf, size_t size, const char *fmt, ...)
{
    int off = snprintf (buf, size, "%s/", s_dir);
    va_list args;
    va_start (args, fmt);
    if (off > 0 && (size_t) off < size)
        vsnprintf (buf + off, size - off, fmt, args);
    va_end (args);
    return buf;
}

void
rb_test_on_failure (void (*hook) (void *arg), void *arg)
{
    s_hook = hook;
    s_hook_arg = arg;
}

void
rb_test_section (const char *title)
{
    printf ("%s: -- %s\n", s_name, title);
}

// ---------------------------------------------------------------------------
//  Checks

void
rb_test_count (void)
{
    s_checks++;
}

void
rb_test_fail (const char *file, int line, const char *fmt, ...)
{
    char text [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    printf ("%s: FAIL %s:%d: %s\n", s_name, file, line, text);
    fflush (stdout);
    if (s_hook)
        s_hook (s_hook_arg);
    s_remove_dir ();
    _exit (1);
}

void
rb_test_soft_fail (const char *file, int line, const char *fmt, ...)
{
    char text [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    printf ("%s: FAIL (known bug, continuing) %s:%d: %s\n", s_name, file, line, text);
    s_soft_failures++;
}

void
rb_test_check_refusal (const char *file, int line, const rb_refusal_t *r, rb_err_t code,
                       const char *field, bool fatal)
{
    s_checks++;
    if (r->code == code && strcmp (r->field, field) == 0)
        return;
    void (*fail) (const char *, int, const char *, ...) = fatal? rb_test_fail: rb_test_soft_fail;
    fail (file, line, "refusal is %s field \"%s\" (\"%s\"), expected %s field \"%s\"",
          rb_errname (r->code), r->field, r->message, rb_errname (code), field);
}

// ---------------------------------------------------------------------------
//  Builders and helpers

void
rb_test_envelope (rb_test_envelope_t *self, const char *origin, const char *destination,
                  uint64_t seq, int64_t recorded_at_ms)
{
    memset (self, 0, sizeof *self);
    regiebus__envelope__init (&self->msg);
    for (int i = 0; i < 16; i++)
        self->event_id [i] = (uint8_t) (seq >> ((i % 8) * 8)) ^ (uint8_t) i;
    snprintf (self->origin, sizeof self->origin, "%s", origin);
    snprintf (self->destination, sizeof self->destination, "%s", destination);
    snprintf (self->pseudonym, sizeof self->pseudonym, "%s", rb_test_pseudonym);
    snprintf (self->payload, sizeof self->payload, "event-%llu", (unsigned long long) seq);
    Regiebus__Envelope *e = &self->msg;
    e->version = RB_WIRE_VERSION;
    e->event_id.data = self->event_id;
    e->event_id.len = sizeof self->event_id;
    e->origin = self->origin;
    e->origin_seq = seq;
    e->destination = self->destination;
    e->case_pseudonym = self->pseudonym;
    e->kind = REGIEBUS__EVENT_KIND__TEST;
    e->occurred_at_ms = recorded_at_ms;
    e->recorded_at_ms = recorded_at_ms;
    e->payload.data = (uint8_t *) self->payload;
    e->payload.len = strlen (self->payload);
}

ProtobufCBinaryData
rb_test_pack (const Regiebus__Envelope *e)
{
    ProtobufCBinaryData bytes;
    bytes.len = regiebus__envelope__get_packed_size (e);
    bytes.data = malloc (bytes.len? bytes.len: 1);
    if (!bytes.data)
        rb_test_fail (__FILE__, __LINE__, "out of memory");
    regiebus__envelope__pack (e, bytes.data);
    return bytes;
}

rb_val_t
rb_test_seq_key (uint8_t out [RB_NAME_MAX + 9], const char *name, uint64_t seq)
{
    size_t len = strlen (name);
    memcpy (out, name, len + 1);
    rb_u64_put (out + len + 1, seq);
    return (rb_val_t) { out, len + 9 };
}

bool
rb_test_raw_get (rb_store_t *store, const char *table, rb_val_t key, void *value, size_t size)
{
    rb_table_t t;
    rb_txn_t *txn;
    rb_val_t found;
    CHECK_INT (rb_store_table (store, table, &t), RB_OK);
    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);
    rb_err_t rc = rb_txn_get (txn, t, key, &found);
    if (rc == RB_OK)
        memcpy (value, found.data, found.size < size? found.size: size);
    rb_txn_destroy (&txn);
    CHECK (rc == RB_OK || rc == RB_ENOTFOUND);
    return rc == RB_OK;
}

void
rb_test_raw_put (rb_store_t *store, const char *table, rb_val_t key, rb_val_t value)
{
    rb_table_t t;
    rb_txn_t *txn;
    CHECK_INT (rb_store_table (store, table, &t), RB_OK);
    CHECK_INT (rb_txn_begin (store, true, &txn), RB_OK);
    CHECK_INT (rb_txn_put (txn, t, key, value), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

int
rb_test_state_where (rb_store_t *store, const char *table, const char *old_table,
                     const char *name, void *value, size_t size)
{
    uint8_t key [RB_NAME_MAX + 9];
    int where = 0;
    if (rb_test_raw_get (store, old_table, rb_val_str (name), value, size))
        where |= RB_TEST_STATE_OLD;
    if (rb_test_raw_get (store, table, rb_test_seq_key (key, name, UINT64_MAX), value, size))
        where |= RB_TEST_STATE_NEW;
    return where;
}

const char *
rb_test_state_where_name (int where)
{
    static const char *names [] = { "nowhere", "the new key only", "the old table only", "both places" };
    return names [where & 3];
}

void
rb_test_submission (rb_test_submission_t *self, const char *key, const char *destination,
                    const char *payload)
{
    memset (self, 0, sizeof *self);
    regiebus__submission__init (&self->msg);
    snprintf (self->key, sizeof self->key, "%s", key);
    snprintf (self->destination, sizeof self->destination, "%s", destination);
    snprintf (self->pseudonym, sizeof self->pseudonym, "%s", rb_test_pseudonym);
    snprintf (self->payload, sizeof self->payload, "%s", payload);
    Regiebus__Submission *s = &self->msg;
    s->idempotency_key = self->key;
    s->destination = self->destination;
    s->case_pseudonym = self->pseudonym;
    s->kind = REGIEBUS__EVENT_KIND__TEST;
    s->payload.data = (uint8_t *) self->payload;
    s->payload.len = strlen (self->payload);
}

void
rb_test_write_file (const char *path, const char *fmt, ...)
{
    FILE *file = fopen (path, "w");
    if (!file)
        rb_test_fail (__FILE__, __LINE__, "cannot write %s: %s", path, strerror (errno));
    va_list args;
    va_start (args, fmt);
    vfprintf (file, fmt, args);
    va_end (args);
    if (fclose (file) != 0)
        rb_test_fail (__FILE__, __LINE__, "cannot close %s: %s", path, strerror (errno));
}

int
rb_test_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0
    ||  getsockname (fd, (struct sockaddr *) &addr, &len) != 0)
        rb_test_fail (__FILE__, __LINE__, "cannot find a free port: %s", strerror (errno));
    close (fd);
    return ntohs (addr.sin_port);
}

bool
rb_test_wait (bool (*predicate) (void *arg), void *arg, int timeout_ms)
{
    struct timespec start, now, pause = { 0, 10 * 1000 * 1000 };
    clock_gettime (CLOCK_MONOTONIC, &start);
    while (!predicate (arg)) {
        clock_gettime (CLOCK_MONOTONIC, &now);
        long long elapsed = (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed > timeout_ms)
            return false;
        nanosleep (&pause, NULL);
    }
    return true;
}

void
rb_test_leaks_ignore_begin (void)
{
#if defined (__SANITIZE_ADDRESS__)
    __lsan_disable ();
#endif
}

void
rb_test_leaks_ignore_end (void)
{
#if defined (__SANITIZE_ADDRESS__)
    __lsan_enable ();
#endif
}
