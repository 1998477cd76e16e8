/*  Unit test of rb_text: the names, contacts and ids a node takes from
 *  its users. Each case is one text a user could type or a client could
 *  send, and what the node says about it.
 */
#include "rb_text.h"
#include "rb_test.h"

static void
s_test_free_text (void)
{
    rb_test_section ("free text: UTF-8 within a byte limit, no control characters");
    rb_refusal_t r = { 0 };
    const char *good [] = {
        "", "Wijkteam Noord, 020-1234567", "Zoë de Vries", "Ĳsselmonde", "日本語",
        "emoji \xF0\x9F\x98\x80 ok", "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF",
    };
    for (size_t i = 0; i < sizeof good / sizeof good [0]; i++)
        CHECK_INT (rb_text_check (good [i], RB_TEXT_MAX, "contact", &r), RB_OK);
    CHECK_INT (rb_text_check (NULL, RB_TEXT_MAX, "contact", &r), RB_OK);

    const struct { const char *text; const char *why; } bad [] = {
        { "tab\there", "C0 control" },
        { "line\nbreak", "newline" },
        { "del\x7F", "DEL" },
        { "c1 \xC2\x85 next line", "C1 control" },
        { "\xC3", "cut sequence at the end" },
        { "\xC3(", "continuation byte missing" },
        { "\x80", "continuation byte alone" },
        { "\xC0\xAF", "overlong slash" },
        { "\xE0\x80\xAF", "overlong three bytes" },
        { "\xED\xA0\x80", "surrogate" },
        { "\xF4\x90\x80\x80", "beyond U+10FFFF" },
        { "\xF5\x80\x80\x80", "lead byte F5" },
        { "\xFF", "byte FF" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        rb_refusal_clear (&r);
        if (rb_text_check (bad [i].text, RB_TEXT_MAX, "involvement.contact", &r) != RB_EINVALID)
            printf ("  not refused: %s\n", bad [i].why);
        CHECK_REFUSAL (&r, RB_EINVALID, "involvement.contact");
    }
    //  The message says where the bad byte is.
    CHECK_INT (rb_text_check ("abc\x01", RB_TEXT_MAX, "local_name", &r), RB_EINVALID);
    CHECK (strstr (r.message, "byte 3"));

    rb_test_section ("the limit counts bytes, not characters");
    char text [RB_TEXT_MAX + 2];
    memset (text, 'a', RB_TEXT_MAX);
    text [RB_TEXT_MAX] = 0;
    CHECK_INT (rb_text_check (text, RB_TEXT_MAX, "local_name", &r), RB_OK);
    text [RB_TEXT_MAX] = 'a';
    text [RB_TEXT_MAX + 1] = 0;
    CHECK_INT (rb_text_check (text, RB_TEXT_MAX, "local_name", &r), RB_ETOOLARGE);
    CHECK_REFUSAL (&r, RB_ETOOLARGE, "local_name");
    //  64 two-byte characters are 128 bytes; one more is over.
    char wide [2 * 65 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat (wide, "\xC3\xAB");
    CHECK_INT (rb_text_check (wide, RB_TEXT_MAX, "child_name", &r), RB_OK);
    strcat (wide, "\xC3\xAB");
    CHECK_INT (rb_text_check (wide, RB_TEXT_MAX, "child_name", &r), RB_ETOOLARGE);
    CHECK_INT (rb_text_check ("abcd", 3, "code", &r), RB_ETOOLARGE);
}

static void
s_test_ids (void)
{
    rb_test_section ("ids: 1..max of letters, digits and the characters allowed");
    CHECK (rb_text_id_valid ("ouder.jansen@example.nl", 64, "._@-"));
    CHECK (rb_text_id_valid ("L-2024_001", 64, "._-"));
    CHECK (rb_text_id_valid ("x", 1, ""));
    CHECK (rb_text_id_valid ("abc", 3, NULL));
    CHECK (!rb_text_id_valid ("abcd", 3, NULL));
    CHECK (!rb_text_id_valid ("", 64, "._@-"));
    CHECK (!rb_text_id_valid (NULL, 64, "._@-"));
    CHECK (!rb_text_id_valid ("a@b", 64, "._-"));          //  @ not allowed here
    CHECK (!rb_text_id_valid ("with space", 64, "._@-"));
    CHECK (!rb_text_id_valid ("Zoë", 64, "._@-"));         //  ASCII only
    CHECK (!rb_text_id_valid ("semi;colon", 64, "._@-"));
    char id [66];
    memset (id, 'p', 65);
    id [65] = 0;
    CHECK (!rb_text_id_valid (id, 64, "._@-"));
    id [64] = 0;
    CHECK (rb_text_id_valid (id, 64, "._@-"));

    rb_test_section ("id checks name the field: missing, too long, not of the alphabet");
    rb_refusal_t r;
    CHECK_INT (rb_text_id_check (id, 64, "._@-", "account", &r), RB_OK);
    CHECK_INT (rb_text_id_check ("", 64, "._@-", "account", &r), RB_EMISSING);
    CHECK_STR (r.field, "account");
    CHECK_INT (rb_text_id_check (NULL, 64, "._@-", "account", &r), RB_EMISSING);
    id [64] = 'p';
    CHECK_INT (rb_text_id_check (id, 64, "._@-", "pupils[3].local_id", &r), RB_ETOOLARGE);
    CHECK_STR (r.field, "pupils[3].local_id");
    CHECK_INT (rb_text_id_check ("a b", 64, "._@-", "by", &r), RB_EINVALID);
    CHECK_STR (r.field, "by");
}

int
main (void)
{
    rb_test_begin ("text");
    s_test_free_text ();
    s_test_ids ();
    return rb_test_end ();
}
