/*  rb_error: the one error code space of regiebus.
 *
 *  Every function that can fail for a reason outside the program (a frame
 *  from the network, a full LMDB map, a missing file) returns an rb_err_t.
 *  The codes equal the wire's ErrorCode enum so a refusal travels unchanged
 *  from where it is detected to the client. Codes from LMDB and errno are
 *  kept separately by the store and folded into RB_ESTORE/RB_EFULL there;
 *  rb_strerror() names every code.
 *
 *  A refusal usually also names a field: rb_refusal_t carries code, field
 *  and message together so that validators can fill it in one place.
 */
#ifndef RB_ERROR_H
#define RB_ERROR_H

#include <stddef.h>

typedef enum {
    RB_OK = 0,
    RB_EMALFORMED = 1,
    RB_EVERSION = 2,
    RB_EMISSING = 3,
    RB_EINVALID = 4,
    RB_EKIND = 5,
    RB_EPEER = 6,
    RB_ETOOLARGE = 7,
    RB_EFULL = 8,
    RB_ESTORE = 9,
    RB_ECONFLICT = 10,
    RB_ENOTFOUND = 11,
    RB_EDENIED = 12,
    RB_EPRECONDITION = 13,
    RB_ESEQUENCE = 14,
    RB_EINTERNAL = 15,
    RB_EEXISTS = 16,
    RB_ERATELIMITED = 17,
    RB_ERR_COUNT = 18
} rb_err_t;

//  A refusal: the code, the field at fault and a human-readable message.
typedef struct {
    rb_err_t code;          //  RB_OK when nothing was refused
    char field[96];         //  e.g. "events[3].case_pseudonym"
    char message[224];      //  human-readable detail
} rb_refusal_t;

//  Short text for an error code ("invalid field").
const char *rb_strerror (rb_err_t code);

//  Stable lowercase identifier for metrics and logs ("invalid_field").
const char *rb_errname (rb_err_t code);

//  Fill a refusal; returns code so validators can `return rb_refuse (...)`.
//  field may be NULL. The message is printf-formatted.
rb_err_t rb_refuse (rb_refusal_t *r, rb_err_t code, const char *field,
                    const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

//  Clear a refusal to RB_OK.
void rb_refusal_clear (rb_refusal_t *r);

#endif
