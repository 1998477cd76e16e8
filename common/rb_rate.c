/*  rb_rate: a token bucket; see rb_rate.h.
 *
 *  Tokens are refilled lazily, on each take, from the time since the last
 *  one; a clock that stands still or goes back adds nothing. They are
 *  counted in thousandths, so a rate in tokens a second over milliseconds
 *  adds up exactly.
 */
#include "rb_rate.h"

void
rb_rate_init (rb_rate_t *self, uint64_t rate, uint64_t burst, int64_t now_ms)
{
    self->rate = rate;
    self->burst = burst;
    self->milli = burst * 1000;
    self->at_ms = now_ms;
}

uint64_t
rb_rate_take (rb_rate_t *self, uint64_t want, int64_t now_ms)
{
    if (self->rate == 0)
        return want;
    uint64_t full = self->burst * 1000;
    if (now_ms > self->at_ms) {
        uint64_t elapsed = (uint64_t) (now_ms - self->at_ms);
        //  Long enough to fill it from empty: full, without overflowing.
        if (elapsed >= full / self->rate + 1)
            self->milli = full;
        else
            self->milli = self->milli + elapsed * self->rate < full? self->milli + elapsed * self->rate: full;
        self->at_ms = now_ms;
    }
    uint64_t held = self->milli / 1000;
    uint64_t taken = want < held? want: held;
    self->milli -= taken * 1000;
    return taken;
}
