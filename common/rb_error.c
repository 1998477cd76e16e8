/*  rb_error: names for the project's error codes; see rb_error.h. */
#include "rb_error.h"
#include "regiebus.pb-c.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

//  The codes are the wire's codes; keep them in step.
_Static_assert ((int) RB_EEXISTS == (int) REGIEBUS__ERROR_CODE__ALREADY_EXISTS, "error codes drifted from proto");
_Static_assert ((int) RB_ERATELIMITED == (int) REGIEBUS__ERROR_CODE__RATE_LIMITED, "error codes drifted from proto");
_Static_assert ((int) RB_EINTERNAL == (int) REGIEBUS__ERROR_CODE__INTERNAL, "error codes drifted from proto");
_Static_assert ((int) RB_ESEQUENCE == (int) REGIEBUS__ERROR_CODE__OUT_OF_SEQUENCE, "error codes drifted from proto");

static const struct {
    const char *name;
    const char *text;
} s_errors [RB_ERR_COUNT] = {
    { "ok",                   "success" },
    { "malformed",            "malformed message" },
    { "unsupported_version",  "unsupported protocol version" },
    { "missing_field",        "missing required field" },
    { "invalid_field",        "invalid field value" },
    { "unknown_kind",         "unknown event kind" },
    { "unknown_peer",         "unknown peer" },
    { "too_large",            "over size limit" },
    { "store_full",           "store is full" },
    { "store_error",          "storage error" },
    { "idempotency_conflict", "idempotency key reused with different content" },
    { "not_found",            "not found" },
    { "permission_denied",    "permission denied" },
    { "failed_precondition",  "not possible in this state" },
    { "out_of_sequence",      "sequence gap" },
    { "internal",             "internal error" },
    { "already_exists",       "already exists with other content" },
    { "rate_limited",         "over the peer's rate limit" },
};

const char *
rb_strerror (rb_err_t code)
{
    if ((unsigned) code < RB_ERR_COUNT)
        return s_errors [code].text;
    return "unknown error code";
}

const char *
rb_errname (rb_err_t code)
{
    if ((unsigned) code < RB_ERR_COUNT)
        return s_errors [code].name;
    return "unknown";
}

rb_err_t
rb_refuse (rb_refusal_t *r, rb_err_t code, const char *field, const char *fmt, ...)
{
    if (!r)
        return code;
    r->code = code;
    snprintf (r->field, sizeof r->field, "%s", field? field: "");
    va_list args;
    va_start (args, fmt);
    vsnprintf (r->message, sizeof r->message, fmt, args);
    va_end (args);
    return code;
}

void
rb_refusal_clear (rb_refusal_t *r)
{
    memset (r, 0, sizeof *r);
}
