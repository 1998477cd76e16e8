/*  unit_error: the project's error codes and refusals (rb_error.h).
 *
 *  Every code has a text and a stable name; the names are the wire's
 *  ErrorCode names in lower case, because a refusal travels unchanged from
 *  where it is detected to the client. rb_refuse fills code, field and a
 *  printf-formatted message, truncating rather than overflowing.
 */
#include "rb_test.h"
#include <ctype.h>

static void
s_test_names (void)
{
    rb_test_section ("every code has a text and a name; names match the wire");
    for (int code = 0; code < RB_ERR_COUNT; code++) {
        const char *text = rb_strerror ((rb_err_t) code);
        const char *name = rb_errname ((rb_err_t) code);
        CHECK (text && *text);
        CHECK (name && *name);
        CHECK (strcmp (text, "unknown error code") != 0);
        //  The wire knows the same code under the same name, upper case.
        const ProtobufCEnumValue *wire =
            protobuf_c_enum_descriptor_get_value (&regiebus__error_code__descriptor, code);
        CHECK (wire != NULL);
        CHECK_INT (wire->value, code);
        char lower [64];
        size_t i;
        for (i = 0; wire->name [i] && i < sizeof lower - 1; i++)
            lower [i] = (char) tolower ((unsigned char) wire->name [i]);
        lower [i] = 0;
        CHECK_STR (name, lower);
        //  Names and texts are all different from each other.
        for (int other = 0; other < code; other++) {
            CHECK (strcmp (name, rb_errname ((rb_err_t) other)) != 0);
            CHECK (strcmp (text, rb_strerror ((rb_err_t) other)) != 0);
        }
    }
    CHECK_STR (rb_errname (RB_OK), "ok");
    CHECK_STR (rb_errname (RB_EINVALID), "invalid_field");
    CHECK_STR (rb_strerror (RB_EINVALID), "invalid field value");
    CHECK_STR (rb_errname (RB_EFULL), "store_full");
    CHECK_STR (rb_errname (RB_ESEQUENCE), "out_of_sequence");
    CHECK_INT (RB_EINTERNAL, REGIEBUS__ERROR_CODE__INTERNAL);

    rb_test_section ("codes out of range have a name too");
    CHECK_STR (rb_strerror (RB_ERR_COUNT), "unknown error code");
    CHECK_STR (rb_errname (RB_ERR_COUNT), "unknown");
    CHECK_STR (rb_strerror ((rb_err_t) 1000), "unknown error code");
    CHECK_STR (rb_errname ((rb_err_t) 1000), "unknown");
    CHECK_STR (rb_strerror ((rb_err_t) -1), "unknown error code");
    CHECK_STR (rb_errname ((rb_err_t) -1), "unknown");
}

//  A validator in the style the codebase uses: `return rb_refuse (...)`.
static rb_err_t
s_check_count (int count, rb_refusal_t *r)
{
    if (count < 0)
        return rb_refuse (r, RB_EINVALID, "events[2].count", "count %d must not be negative", count);
    return RB_OK;
}

static void
s_test_refuse (void)
{
    rb_test_section ("rb_refuse fills code, field and formatted message");
    rb_refusal_t r;
    rb_refusal_clear (&r);
    CHECK_INT (r.code, RB_OK);
    CHECK_STR (r.field, "");
    CHECK_STR (r.message, "");

    CHECK_INT (s_check_count (3, &r), RB_OK);
    CHECK_INT (r.code, RB_OK);
    CHECK_INT (s_check_count (-7, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "events[2].count");
    CHECK_STR (r.message, "count -7 must not be negative");

    rb_test_section ("a NULL field becomes empty; a NULL refusal only returns the code");
    CHECK_INT (rb_refuse (&r, RB_EINTERNAL, NULL, "out of %s", "memory"), RB_EINTERNAL);
    CHECK_REFUSAL (&r, RB_EINTERNAL, "");
    CHECK_STR (r.message, "out of memory");
    CHECK_INT (rb_refuse (NULL, RB_ESTORE, "node/data_dir", "ignored"), RB_ESTORE);

    rb_test_section ("long fields and messages are truncated, never overflowed");
    char long_field [300], long_message [600];
    memset (long_field, 'f', sizeof long_field - 1);
    long_field [sizeof long_field - 1] = 0;
    memset (long_message, 'm', sizeof long_message - 1);
    long_message [sizeof long_message - 1] = 0;
    rb_refuse (&r, RB_ETOOLARGE, long_field, "%s", long_message);
    CHECK_INT (r.code, RB_ETOOLARGE);
    CHECK_UINT (strlen (r.field), sizeof r.field - 1);
    CHECK_UINT (strlen (r.message), sizeof r.message - 1);
    CHECK (strncmp (r.field, long_field, sizeof r.field - 1) == 0);
    CHECK (strncmp (r.message, long_message, sizeof r.message - 1) == 0);

    rb_test_section ("a new refusal replaces the old one completely");
    rb_refuse (&r, RB_EMISSING, "a", "b");
    CHECK_REFUSAL (&r, RB_EMISSING, "a");
    CHECK_STR (r.message, "b");
    rb_refusal_clear (&r);
    CHECK_INT (r.code, RB_OK);
    CHECK_STR (r.field, "");
    CHECK_STR (r.message, "");
}

int
main (void)
{
    rb_test_begin ("error");
    s_test_names ();
    s_test_refuse ();
    return rb_test_end ();
}
