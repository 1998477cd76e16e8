/*  rb_text: checks for user-given texts; see rb_text.h.
 *
 *  UTF-8 is checked by decoding each sequence and rejecting what RFC 3629
 *  forbids: lead bytes 0xC0, 0xC1 and 0xF5..0xFF, continuation bytes out
 *  of place, overlong forms, surrogates and anything beyond U+10FFFF.
 */
#include "rb_text.h"
#include <stdint.h>
#include <string.h>

//  The length of the sequence a lead byte starts, its payload bits and the
//  smallest code point that length may encode; 0 for a byte that cannot
//  start one.
static size_t
s_lead (uint8_t byte, uint32_t *code_point, uint32_t *smallest)
{
    if (byte < 0x80) {
        *code_point = byte;
        *smallest = 0;
        return 1;
    }
    if (byte >= 0xC2 && byte <= 0xDF) {
        *code_point = byte & 0x1F;
        *smallest = 0x80;
        return 2;
    }
    if (byte >= 0xE0 && byte <= 0xEF) {
        *code_point = byte & 0x0F;
        *smallest = 0x800;
        return 3;
    }
    if (byte >= 0xF0 && byte <= 0xF4) {
        *code_point = byte & 0x07;
        *smallest = 0x10000;
        return 4;
    }
    return 0;
}

//  Bytes of the well-formed character at text, or 0 when it is none. The
//  terminating NUL is no continuation byte, so a cut sequence stops there.
static size_t
s_char_size (const uint8_t *text, uint32_t *code_point)
{
    uint32_t smallest;
    size_t size = s_lead (text [0], code_point, &smallest);
    for (size_t i = 1; i < size; i++) {
        if ((text [i] & 0xC0) != 0x80)
            return 0;
        *code_point = (*code_point << 6) | (text [i] & 0x3F);
    }
    if (size > 1 && (*code_point < smallest || *code_point > 0x10FFFF
                 || (*code_point >= 0xD800 && *code_point <= 0xDFFF)))
        return 0;
    return size;
}

rb_err_t
rb_text_check (const char *text, size_t max, const char *field, rb_refusal_t *refusal)
{
    if (!text)
        return RB_OK;
    size_t length = strlen (text);
    if (length > max)
        return rb_refuse (refusal, RB_ETOOLARGE, field, "%s is %zu bytes, at most %zu",
                          field, length, max);
    const uint8_t *bytes = (const uint8_t *) text;
    for (size_t at = 0; at < length; ) {
        uint32_t code_point;
        size_t size = s_char_size (bytes + at, &code_point);
        if (size == 0)
            return rb_refuse (refusal, RB_EINVALID, field, "%s is not valid UTF-8 (byte %zu)",
                              field, at);
        if (code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F))
            return rb_refuse (refusal, RB_EINVALID, field,
                              "%s holds a control character (byte %zu)", field, at);
        at += size;
    }
    return RB_OK;
}

bool
rb_text_id_valid (const char *text, size_t max, const char *extra)
{
    if (!text || !*text)
        return false;
    size_t length = 0;
    for (const char *c = text; *c; c++, length++) {
        bool alnum = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9');
        if (length == max || !(alnum || (extra && strchr (extra, *c))))
            return false;
    }
    return true;
}

rb_err_t
rb_text_id_check (const char *text, size_t max, const char *extra, const char *field,
                  rb_refusal_t *refusal)
{
    size_t length = text? strlen (text): 0;
    if (length == 0)
        return rb_refuse (refusal, RB_EMISSING, field, "%s is missing", field);
    if (length > max)
        return rb_refuse (refusal, RB_ETOOLARGE, field, "%s is %zu characters, at most %zu",
                          field, length, max);
    if (!rb_text_id_valid (text, max, extra))
        return rb_refuse (refusal, RB_EINVALID, field, "%s must be letters, digits and %s",
                          field, extra? extra: "nothing else");
    return RB_OK;
}
