/*  rb_test: what every unit test of common/ shares.
 *
 *  Each unit test is one executable that exercises one module and reads as
 *  an example of how to use it. This header gives them three things:
 *
 *    checks    CHECK_* print file:line and both values, then end the test
 *              with status 1. They never depend on assert(), which NDEBUG
 *              would compile away. CHECK_SOFT reports a failure but lets the
 *              test run on; it marks behaviour of common/ that is a known
 *              bug (see README.md), so the rest of the module stays covered.
 *    a home    rb_test_begin makes a fresh directory with mkdtemp under /tmp
 *              and moves into it; it is removed when the test ends, however
 *              it ends (set RB_TEST_KEEP=1 to keep it for a post-mortem).
 *    builders  valid envelopes and submissions, which tests then break one
 *              field at a time, and small helpers for files and ports.
 */
#ifndef RB_TEST_H
#define RB_TEST_H

#include "rb_config.h"
#include "rb_error.h"
#include "rb_store.h"
#include "rb_wire.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

// ---------------------------------------------------------------------------
//  Checks

#define CHECK(cond) do { \
    rb_test_count (); \
    if (!(cond)) rb_test_fail (__FILE__, __LINE__, "%s", #cond); \
} while (0)

#define CHECK_INT(actual, expected) do { \
    long long a_ = (long long) (actual), e_ = (long long) (expected); \
    rb_test_count (); \
    if (a_ != e_) rb_test_fail (__FILE__, __LINE__, "%s is %lld, expected %s = %lld", \
                                #actual, a_, #expected, e_); \
} while (0)

#define CHECK_UINT(actual, expected) do { \
    unsigned long long a_ = (unsigned long long) (actual), e_ = (unsigned long long) (expected); \
    rb_test_count (); \
    if (a_ != e_) rb_test_fail (__FILE__, __LINE__, "%s is %llu, expected %s = %llu", \
                                #actual, a_, #expected, e_); \
} while (0)

#define CHECK_STR(actual, expected) do { \
    const char *a_ = (actual), *e_ = (expected); \
    rb_test_count (); \
    if (!a_ || !e_ || strcmp (a_, e_) != 0) \
        rb_test_fail (__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"", \
                      #actual, a_? a_: "(null)", e_? e_: "(null)"); \
} while (0)

//  A refusal carries the expected code and names the expected field.
#define CHECK_REFUSAL(refusal, expected_code, expected_field) \
    rb_test_check_refusal (__FILE__, __LINE__, (refusal), (expected_code), (expected_field), true)

//  Soft checks: report, keep going, fail the test at rb_test_end.
#define CHECK_SOFT(cond) do { \
    rb_test_count (); \
    if (!(cond)) rb_test_soft_fail (__FILE__, __LINE__, "%s", #cond); \
} while (0)

#define CHECK_REFUSAL_SOFT(refusal, expected_code, expected_field) \
    rb_test_check_refusal (__FILE__, __LINE__, (refusal), (expected_code), (expected_field), false)

void rb_test_count (void);
void rb_test_fail (const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4), noreturn));
void rb_test_soft_fail (const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
void rb_test_check_refusal (const char *file, int line, const rb_refusal_t *r,
                            rb_err_t code, const char *field, bool fatal);

// ---------------------------------------------------------------------------
//  The test's life

//  Make and enter a fresh temporary directory, quiet the node's log to
//  warnings (RB_TEST_LOG=debug|info|warn|error to change), print a banner.
void rb_test_begin (const char *name);

//  Print the summary; returns the process exit status (0 when every check,
//  soft ones included, passed). The directory goes away at exit.
int rb_test_end (void);

//  Absolute path of the test's directory.
const char *rb_test_dir (void);

//  Format a path inside the test's directory into buf; returns buf.
char *rb_test_path (char *buf, size_t size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Called before a failed check ends the test (to stop child processes).
void rb_test_on_failure (void (*hook) (void *arg), void *arg);

//  Label the part of the test that runs next, for the log.
void rb_test_section (const char *title);

// ---------------------------------------------------------------------------
//  Builders and helpers

//  A valid pseudonym: 64 lowercase hex characters.
extern const char *rb_test_pseudonym;

//  A valid envelope with storage for its fields, so tests can break them.
typedef struct {
    Regiebus__Envelope msg;         //  the envelope; points into the rest
    uint8_t event_id [16];          //  derived from origin_seq
    uint8_t causation_id [16];      //  unused until a test points at it
    char origin [RB_NAME_MAX + 1];
    char destination [RB_NAME_MAX + 1];
    char pseudonym [RB_PSEUDONYM_LEN + 1];
    char payload [32];              //  "event-<seq>"
} rb_test_envelope_t;

//  Fill a valid TEST envelope from origin to destination at seq, recorded
//  and occurred at recorded_at_ms.
void rb_test_envelope (rb_test_envelope_t *self, const char *origin, const char *destination,
                       uint64_t seq, int64_t recorded_at_ms);

//  Pack an envelope into newly allocated bytes (free data with free()).
ProtobufCBinaryData rb_test_pack (const Regiebus__Envelope *e);

//  A valid submission with storage for its fields.
typedef struct {
    Regiebus__Submission msg;       //  the submission; points into the rest
    char key [RB_IDEM_KEY_MAX + 2]; //  idempotency key
    char destination [RB_NAME_MAX + 1];
    char pseudonym [RB_PSEUDONYM_LEN + 1];
    char payload [32];
} rb_test_submission_t;

void rb_test_submission (rb_test_submission_t *self, const char *key,
                         const char *destination, const char *payload);

//  A key of a per-peer stream table (inbox, outbox, dead letters): name,
//  NUL, seq big-endian. Points into out.
rb_val_t rb_test_seq_key (uint8_t out [RB_NAME_MAX + 9], const char *name, uint64_t seq);

//  One entry of a store's table read or written directly, past the module
//  that owns it: to see its layout, to write what an earlier version did,
//  or to set up a state it would take too long to reach. raw_get is true
//  when key is there, and copies up to size bytes of the value to value;
//  raw_put commits the entry in a transaction of its own. Both fail the
//  test on a storage error.
bool rb_test_raw_get (rb_store_t *store, const char *table, rb_val_t key, void *value, size_t size);
void rb_test_raw_put (rb_store_t *store, const char *table, rb_val_t key, rb_val_t value);

//  Where a stream's state is kept (rb_inbox, rb_outbox): RB_TEST_STATE_NEW
//  under name NUL 0xff x 8 in table, RB_TEST_STATE_OLD under name in
//  old_table (as earlier versions kept it), both ORed, or 0 for neither.
//  Copies up to size bytes of it (the new key's, when both) to value.
#define RB_TEST_STATE_NEW 1
#define RB_TEST_STATE_OLD 2
int rb_test_state_where (rb_store_t *store, const char *table, const char *old_table,
                         const char *name, void *value, size_t size);

//  "nowhere", "the new key only", "the old table only" or "both places".
const char *rb_test_state_where_name (int where);

//  Write text to a file (created or truncated); fails the test on error.
void rb_test_write_file (const char *path, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

//  A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0,
//  read back, closed).
int rb_test_free_port (void);

//  Allocations between these two calls are not reported as leaks. Only
//  for leaks inside third-party libraries that a test cannot avoid; each
//  use says which.
void rb_test_leaks_ignore_begin (void);
void rb_test_leaks_ignore_end (void);

//  Poll until predicate is true or timeout_ms passes; true when it held.
bool rb_test_wait (bool (*predicate) (void *arg), void *arg, int timeout_ms);

#endif
