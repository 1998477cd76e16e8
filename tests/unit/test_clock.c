/*  unit_clock: the node's notion of now (rb_clock.h).
 *
 *  A wall clock is the system clock and cannot be moved. A test clock is
 *  the system clock plus an offset that only ever grows: advance moves it
 *  forward, and the offset the node persisted can be restored at start
 *  without ever turning time back.
 */
#include "rb_test.h"
#include "rb_clock.h"
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t
s_system_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_test_wall (void)
{
    rb_test_section ("a wall clock is the system clock and refuses to move");
    rb_clock_t *clock = rb_clock_new (false);
    CHECK (clock);
    CHECK (!rb_clock_is_test (clock));
    int64_t before = s_system_ms ();
    int64_t now = rb_clock_now_ms (clock);
    int64_t after = s_system_ms ();
    CHECK (now >= before && now <= after);
    CHECK_INT (rb_clock_offset (clock), 0);

    CHECK_INT (rb_clock_advance (clock, 1000), RB_EPRECONDITION);
    //  The precondition comes first: even a bad step is "not on this clock".
    CHECK_INT (rb_clock_advance (clock, 0), RB_EPRECONDITION);
    CHECK_INT (rb_clock_offset (clock), 0);

    //  Restoring an offset does not turn a wall clock into something else.
    rb_clock_set_offset (clock, 60000);
    CHECK_INT (rb_clock_offset (clock), 0);
    CHECK (rb_clock_now_ms (clock) - s_system_ms () < 1000);

    rb_clock_destroy (&clock);
    CHECK (clock == NULL);
    rb_clock_destroy (&clock);          //  idempotent
}

static void
s_test_test_mode (void)
{
    rb_test_section ("a test clock moves forward on request");
    rb_clock_t *clock = rb_clock_new (true);
    CHECK (clock);
    CHECK (rb_clock_is_test (clock));
    CHECK_INT (rb_clock_offset (clock), 0);

    const int64_t week_ms = 7LL * 24 * 3600 * 1000;
    int64_t before = s_system_ms ();
    CHECK_INT (rb_clock_advance (clock, week_ms), RB_OK);
    CHECK_INT (rb_clock_offset (clock), week_ms);
    int64_t now = rb_clock_now_ms (clock);
    CHECK (now >= before + week_ms);
    CHECK (now <= s_system_ms () + week_ms);
    CHECK_INT (rb_clock_advance (clock, 1), RB_OK);
    CHECK_INT (rb_clock_offset (clock), week_ms + 1);

    rb_test_section ("steps of zero, negative or absurd size are refused");
    CHECK_INT (rb_clock_advance (clock, 0), RB_EINVALID);
    CHECK_INT (rb_clock_advance (clock, -1), RB_EINVALID);
    CHECK_INT (rb_clock_advance (clock, INT64_MIN), RB_EINVALID);
    //  A step that would overflow the offset is refused too.
    CHECK_INT (rb_clock_advance (clock, INT64_MAX), RB_EINVALID);
    CHECK_INT (rb_clock_offset (clock), week_ms + 1);

    rb_test_section ("a restored offset never moves the clock backwards");
    rb_clock_set_offset (clock, 2 * week_ms);
    CHECK_INT (rb_clock_offset (clock), 2 * week_ms);
    rb_clock_set_offset (clock, week_ms);
    CHECK_INT (rb_clock_offset (clock), 2 * week_ms);
    rb_clock_set_offset (clock, -5);
    CHECK_INT (rb_clock_offset (clock), 2 * week_ms);
    rb_clock_set_offset (clock, 2 * week_ms);
    CHECK_INT (rb_clock_offset (clock), 2 * week_ms);

    //  What a node does at start: restore the persisted offset into a new
    //  clock, which then reads at least what the old one did.
    int64_t persisted = rb_clock_offset (clock);
    int64_t last_seen = rb_clock_now_ms (clock);
    rb_clock_t *restarted = rb_clock_new (true);
    rb_clock_set_offset (restarted, persisted);
    CHECK_INT (rb_clock_offset (restarted), persisted);
    CHECK (rb_clock_now_ms (restarted) >= last_seen);
    rb_clock_destroy (&restarted);
    rb_clock_destroy (&clock);
}

//  A clock advanced close to the end of time: the next step must be
//  refused rather than overflow. Runs in a child process, because with
//  UBSan on an overflow ends the process that makes it.
static int
s_probe_overflow (void)
{
    const int64_t century_ms = INT64_C (3153600000000);   //  the largest step allowed
    const int64_t millennium_ms = INT64_C (31536000000000); //  the largest offset allowed
    rb_clock_t *clock = rb_clock_new (true);
    //  A restored offset beyond the limit is ignored, not trusted.
    rb_clock_set_offset (clock, INT64_MAX - century_ms / 2);
    if (rb_clock_offset (clock) != 0)
        return 1;
    //  Near the limit, a step that would cross it is refused and changes nothing.
    rb_clock_set_offset (clock, millennium_ms - century_ms / 2);
    rb_err_t rc = rb_clock_advance (clock, century_ms);
    int64_t offset = rb_clock_offset (clock);
    bool now_sane = rb_clock_now_ms (clock) > 0;
    rb_clock_destroy (&clock);
    return rc == RB_EINVALID && offset == millennium_ms - century_ms / 2 && now_sane? 0: 1;
}

static bool
s_survives (int (*probe) (void))
{
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0)
        _exit (probe ());
    int status = 0;
    waitpid (pid, &status, 0);
    return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

static void
s_test_limits (void)
{
    rb_test_section ("advancing never overflows the offset");
    CHECK (s_survives (s_probe_overflow));
}

static void
s_test_mono (void)
{
    rb_test_section ("the monotonic clock never goes back");
    int64_t previous = rb_clock_mono_ms ();
    CHECK (previous > 0);
    for (int i = 0; i < 1000; i++) {
        int64_t now = rb_clock_mono_ms ();
        CHECK (now >= previous);
        previous = now;
    }
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    nanosleep (&pause, NULL);
    CHECK (rb_clock_mono_ms () - previous >= 19);
}

int
main (void)
{
    rb_test_begin ("clock");
    s_test_wall ();
    s_test_test_mode ();
    s_test_mono ();
    s_test_limits ();
    return rb_test_end ();
}
