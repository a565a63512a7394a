/* test_retry.c - the retry policy's arithmetic (util/retry.h): exponential
 * growth, the cap, the jitter range [d/2, d] at both ends, Retry-After
 * honoured and capped, the attempt bound and Retry-After parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "util/retry.h"

static const struct retry_policy P = { .base_ms = 100, .cap_ms = 1000, .attempts = 4 };

/* rnd = 0 gives the bottom of the range, rnd = span gives its top */
static void test_exponential(void **st)
{
    (void)st;
    assert_int_equal(retry_delay_ms(&P, 0, 0, 0), 50);
    assert_int_equal(retry_delay_ms(&P, 0, 0, 50), 100);
    assert_int_equal(retry_delay_ms(&P, 1, 0, 0), 100);
    assert_int_equal(retry_delay_ms(&P, 1, 0, 100), 200);
    assert_int_equal(retry_delay_ms(&P, 2, 0, 200), 400);
    assert_int_equal(retry_delay_ms(&P, 3, 0, 400), 800);
}

static void test_jitter_range(void **st)
{
    (void)st;
    for (uint32_t r = 0; r < 5000; r += 7) {
        unsigned d = retry_delay_ms(&P, 2, 0, r * 2654435761u);
        assert_in_range(d, 200, 400);
    }
    /* wraps: rnd modulo (span + 1) */
    assert_int_equal(retry_delay_ms(&P, 0, 0, 51), 50);
    /* odd d: [d/2, d] still reaches d */
    struct retry_policy odd = { .base_ms = 3, .cap_ms = 1000, .attempts = 2 };
    assert_int_equal(retry_delay_ms(&odd, 0, 0, 0), 1);
    assert_int_equal(retry_delay_ms(&odd, 0, 0, 2), 3);
}

static void test_cap(void **st)
{
    (void)st;
    assert_int_equal(retry_delay_ms(&P, 4, 0, 0), 500);      /* 1600 capped to 1000 */
    assert_int_equal(retry_delay_ms(&P, 4, 0, 500), 1000);
    assert_int_equal(retry_delay_ms(&P, 31, 0, 500), 1000);  /* no overflow */
    assert_int_equal(retry_delay_ms(&P, 1000, 0, 500), 1000);
    struct retry_policy zero = { .base_ms = 0, .cap_ms = 1000, .attempts = 4 };
    assert_int_equal(retry_delay_ms(&zero, 3, 0, 12345), 0);
}

static void test_retry_after(void **st)
{
    (void)st;
    assert_int_equal(retry_delay_ms(&P, 0, 700, 12345), 700);   /* honoured, no jitter */
    assert_int_equal(retry_delay_ms(&P, 3, 700, 0), 700);
    assert_int_equal(retry_delay_ms(&P, 0, 5000, 0), 1000);     /* capped */
    assert_int_equal(retry_after_parse("1"), 1000);
    assert_int_equal(retry_after_parse(" 120 "), 120000);
    assert_int_equal(retry_after_parse("0"), 0);
    assert_int_equal(retry_after_parse(NULL), 0);
    assert_int_equal(retry_after_parse(""), 0);
    assert_int_equal(retry_after_parse("-3"), 0);
    assert_int_equal(retry_after_parse("1.5"), 0);
    assert_int_equal(retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT"), 0);
    assert_int_equal(retry_after_parse("99999999999999999999"), 0);
    assert_true(retry_after_parse("5000000") >= 4000000000u);
}

static void test_attempts(void **st)
{
    (void)st;
    assert_true(retry_more(&P, 0));
    assert_true(retry_more(&P, 2));
    assert_false(retry_more(&P, 3));   /* the 4th attempt is the last */
    struct retry_policy one = { .base_ms = 1, .cap_ms = 1, .attempts = 1 };
    assert_false(retry_more(&one, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponential),
        cmocka_unit_test(test_jitter_range),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_attempts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
