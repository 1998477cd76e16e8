/*  rb_clock: wall clock, or wall clock plus a growing offset; see rb_clock.h. */
#include "rb_clock.h"
#include <stdlib.h>
#include <time.h>

#define S_STEP_MAX INT64_C (3153600000000)
#define S_OFFSET_MAX INT64_C (31536000000000)

struct _rb_clock_t {
    bool test_mode;         //  true: rb_clock_advance() is allowed
    int64_t offset_ms;      //  added to the wall clock; only grows
};

rb_clock_t *
rb_clock_new (bool test_mode)
{
    rb_clock_t *self = calloc (1, sizeof *self);
    if (self)
        self->test_mode = test_mode;
    return self;
}

void
rb_clock_destroy (rb_clock_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

static int64_t
s_ms (clockid_t id)
{
    struct timespec ts;
    clock_gettime (id, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
rb_clock_now_ms (rb_clock_t *self)
{
    return s_ms (CLOCK_REALTIME) + self->offset_ms;
}

int64_t
rb_clock_mono_ms (void)
{
    return s_ms (CLOCK_MONOTONIC);
}

bool
rb_clock_is_test (rb_clock_t *self)
{
    return self->test_mode;
}

rb_err_t
rb_clock_advance (rb_clock_t *self, int64_t by_ms)
{
    if (!self->test_mode)
        return RB_EPRECONDITION;
    //  One step is at most about 100 years, and the whole offset at most
    //  about 1,000, so that neither the offset nor now_ms can overflow.
    if (by_ms <= 0 || by_ms > S_STEP_MAX || self->offset_ms > S_OFFSET_MAX - by_ms)
        return RB_EINVALID;
    self->offset_ms += by_ms;
    return RB_OK;
}

int64_t
rb_clock_offset (rb_clock_t *self)
{
    return self->offset_ms;
}

void
rb_clock_set_offset (rb_clock_t *self, int64_t offset_ms)
{
    if (self->test_mode && offset_ms > self->offset_ms && offset_ms <= S_OFFSET_MAX)
        self->offset_ms = offset_ms;
}
