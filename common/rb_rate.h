/*  rb_rate: a token bucket, the per-peer rate limit on inbound envelopes.
 *
 *  A bucket holds up to burst tokens and gains rate tokens a second; each
 *  envelope a peer sends that is new to this node takes one. What the
 *  bucket cannot pay for is not applied: the node refuses it with
 *  RATE_LIMITED and the sender sends it again later, so nothing accepted is
 *  lost and one busy or misbehaving peer cannot take the node's turns from
 *  the others. Time is the caller's monotonic clock, so tests drive it.
 */
#ifndef RB_RATE_H
#define RB_RATE_H

#include <stdint.h>

typedef struct {
    uint64_t rate;          //  tokens a second; 0: no limit
    uint64_t burst;         //  most tokens held
    uint64_t milli;         //  thousandths of a token held now
    int64_t at_ms;          //  when tokens was last brought up to date
} rb_rate_t;

//  A full bucket at now_ms. rate 0 makes a bucket that never limits.
void rb_rate_init (rb_rate_t *self, uint64_t rate, uint64_t burst, int64_t now_ms);

//  Take up to want tokens at now_ms; returns how many were taken.
uint64_t rb_rate_take (rb_rate_t *self, uint64_t want, int64_t now_ms);

#endif
