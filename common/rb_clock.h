/*  rb_clock: the node's notion of now.
 *
 *  In production the clock is the wall clock. In test mode it is the wall
 *  clock plus an offset that only grows: rb_clock_advance() moves it forward
 *  on request, so the demo and tests can let weeks pass in seconds while
 *  timers and rates behave as they would. The node persists the offset in
 *  its store so a restart does not turn time back.
 */
#ifndef RB_CLOCK_H
#define RB_CLOCK_H

#include "rb_error.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct _rb_clock_t rb_clock_t;

//  Create a clock; test_mode makes it advanceable. Returns NULL on no memory.
rb_clock_t *rb_clock_new (bool test_mode);

//  Destroy the clock and null the caller's pointer.
void rb_clock_destroy (rb_clock_t **self_p);

//  Milliseconds since the Unix epoch, UTC, as this node sees it.
int64_t rb_clock_now_ms (rb_clock_t *self);

//  Milliseconds from a monotonic source: for timeouts, never for records.
int64_t rb_clock_mono_ms (void);

//  True when the clock can be advanced.
bool rb_clock_is_test (rb_clock_t *self);

//  Move a test clock forward by by_ms (> 0). RB_EPRECONDITION on a wall
//  clock, RB_EINVALID for by_ms <= 0.
rb_err_t rb_clock_advance (rb_clock_t *self, int64_t by_ms);

//  The offset added to the wall clock, for persisting and restoring.
int64_t rb_clock_offset (rb_clock_t *self);
void rb_clock_set_offset (rb_clock_t *self, int64_t offset_ms);

#endif
