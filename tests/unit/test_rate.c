/*  unit_rate: the token bucket of the per-peer rate limit (rb_rate.h).
 *
 *  Time is passed in, so the test walks the clock by hand: a full bucket
 *  pays a burst at once, then refills at the rate up to the burst and no
 *  further; a clock standing still or going back adds nothing; rate 0
 *  never limits.
 */
#include "rb_test.h"
#include "rb_rate.h"

static void
s_test_bucket (void)
{
    rb_test_section ("a full bucket pays a burst, then the rate");
    rb_rate_t bucket;
    rb_rate_init (&bucket, 1000, 500, 10000);
    CHECK_UINT (rb_rate_take (&bucket, 300, 10000), 300);
    CHECK_UINT (rb_rate_take (&bucket, 300, 10000), 200);
    CHECK_UINT (rb_rate_take (&bucket, 1, 10000), 0);
    CHECK_UINT (rb_rate_take (&bucket, 100, 10050), 50);     //  50 ms at 1000/s
    CHECK_UINT (rb_rate_take (&bucket, 100, 10050), 0);
    CHECK_UINT (rb_rate_take (&bucket, 1000, 10250), 200);

    rb_test_section ("it refills up to the burst and no further");
    CHECK_UINT (rb_rate_take (&bucket, 10000, 60000), 500);
    CHECK_UINT (rb_rate_take (&bucket, 0, 60000), 0);

    rb_test_section ("a clock that stands still or goes back adds nothing");
    CHECK_UINT (rb_rate_take (&bucket, 10, 59000), 0);
    CHECK_UINT (rb_rate_take (&bucket, 10, 60000), 0);
    CHECK_UINT (rb_rate_take (&bucket, 10, 60001), 1);

    rb_test_section ("fractions add up: 1 a second, asked every 100 ms");
    rb_rate_init (&bucket, 1, 1, 0);
    CHECK_UINT (rb_rate_take (&bucket, 1, 0), 1);
    uint64_t got = 0;
    for (int64_t t = 100; t <= 3000; t += 100)
        got += rb_rate_take (&bucket, 1, t);
    CHECK_UINT (got, 3);

    rb_test_section ("rate 0 never limits");
    rb_rate_init (&bucket, 0, 1, 0);
    CHECK_UINT (rb_rate_take (&bucket, 1000000, 0), 1000000);
    CHECK_UINT (rb_rate_take (&bucket, 1000000, 0), 1000000);
}

int
main (void)
{
    rb_test_begin ("rate");
    s_test_bucket ();
    return rb_test_end ();
}
