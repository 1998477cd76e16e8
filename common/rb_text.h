/*  rb_text: checks for the short texts a node takes from its users.
 *
 *  Agencies give their nodes names and contacts (a pupil's display name, a
 *  care team's desk, a child's name at the portal) and ids (a pupil's
 *  local id, a parent account, who acknowledged a notice). Names stay on
 *  the node and contacts cross it in protobuf strings; both end up in logs,
 *  terminals and other languages' decoders, which insist on valid UTF-8.
 *  So free text is checked once, the same way on every node: a byte limit,
 *  valid UTF-8 (no overlong forms, surrogates or code points beyond
 *  U+10FFFF) and no control characters. Ids are plain ASCII from a small
 *  alphabet so they can be typed, logged and used in keys as they are.
 */
#ifndef RB_TEXT_H
#define RB_TEXT_H

#include "rb_error.h"
#include <stdbool.h>
#include <stddef.h>

//  The longest name or contact the daemons keep or send, in bytes.
#define RB_TEXT_MAX 128

//  Check free text of at most max bytes: RB_ETOOLARGE when longer,
//  RB_EINVALID when it is not UTF-8 or holds a control character (C0, DEL
//  or C1), each naming field and the byte at fault. NULL is the empty text.
rb_err_t rb_text_check (const char *text, size_t max, const char *field, rb_refusal_t *refusal);

//  True for an id of 1..max characters, each a letter or digit of ASCII or
//  one of the characters in extra (for example "._-" or "._@-").
bool rb_text_id_valid (const char *text, size_t max, const char *extra);

//  Check such an id, naming field: RB_EMISSING when it is empty (or NULL),
//  RB_ETOOLARGE when it is longer than max, RB_EINVALID when a character
//  is not of its alphabet.
rb_err_t rb_text_id_check (const char *text, size_t max, const char *extra, const char *field,
                           rb_refusal_t *refusal);

#endif
