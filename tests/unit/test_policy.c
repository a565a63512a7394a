/* test_policy.c - the engine's failure policy (engine/policy.h) against
 * the table of docs/failure-policy.md §2: every side, with and without -i,
 * transient and permanent codes, every attempt; plus the back-off. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "engine/policy.h"
#include "util/err.h"

#define R POLICY_RETRY
#define C POLICY_COUNT_AND_GO_ON
#define F POLICY_FAIL_JOB
#define S POLICY_STOP

static const struct row {
    int code;
    enum policy_side side;
    bool ignore;                 /* -i */
    int attempt;
    enum policy_action want;
} table[] = {
    /* transient codes are retried while attempts remain, on every side */
    {ERR_IO, SIDE_READ, false, 0, R},
    {ERR_IO, SIDE_READ, false, 1, R},
    {ERR_TIMEOUT, SIDE_WRITE, false, 0, R},
    {ERR_CONN, SIDE_WRITE, true, 1, R},
    {ERR_BUSY, SIDE_LIST, false, 0, R},
    {ERR_PROTOCOL, SIDE_LIST, true, 1, R},
    {ERR_CONN, SIDE_COMMIT, false, 0, R},
    /* ... and after the last attempt, as any other failure of their side */
    {ERR_IO, SIDE_READ, false, POLICY_LAST, F},
    {ERR_IO, SIDE_READ, true, POLICY_LAST, C},
    {ERR_TIMEOUT, SIDE_WRITE, true, POLICY_LAST, F},
    {ERR_CONN, SIDE_LIST, true, POLICY_LAST, F},
    {ERR_CONN, SIDE_COMMIT, true, POLICY_LAST, C},
    /* read side: -i counts and goes on (B §6.6), whatever the code */
    {ERR_NOT_FOUND, SIDE_READ, false, 0, F},
    {ERR_NOT_FOUND, SIDE_READ, true, 0, C},
    {ERR_ACCESS, SIDE_READ, true, POLICY_LAST, C},
    {ERR_SHORT_READ, SIDE_READ, true, 0, C},
    {ERR_UNSAFE_PATH, SIDE_READ, true, POLICY_LAST, C},
    {ERR_UNSAFE_PATH, SIDE_READ, false, POLICY_LAST, F},
    {ERR_CHECKSUM_MISMATCH, SIDE_READ, true, POLICY_LAST, C},
    /* write side: never ignored, even with -i */
    {ERR_ACCESS, SIDE_WRITE, true, 0, F},
    {ERR_NO_SPACE, SIDE_WRITE, true, 0, F},
    {ERR_LENGTH_MISMATCH, SIDE_WRITE, true, POLICY_LAST, F},
    {ERR_CHECKSUM_MISMATCH, SIDE_WRITE, true, POLICY_LAST, F},
    /* listing a directory: never ignored */
    {ERR_ACCESS, SIDE_LIST, true, 0, F},
    {ERR_NOT_FOUND, SIDE_LIST, false, POLICY_LAST, F},
    /* commit entries (-delete removals): -i goes on */
    {ERR_ACCESS, SIDE_COMMIT, false, POLICY_LAST, F},
    {ERR_ACCESS, SIDE_COMMIT, true, POLICY_LAST, C},
    /* a cancel is never a failure, never retried */
    {ERR_CANCELLED, SIDE_READ, true, 0, S},
    {ERR_CANCELLED, SIDE_WRITE, false, 0, S},
    {ERR_CANCELLED, SIDE_LIST, false, POLICY_LAST, S},
    {ERR_CANCELLED, SIDE_COMMIT, true, POLICY_LAST, S},
};

static void test_table(void **st)
{
    (void)st;
    struct options o;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct row *r = &table[i];
        memset(&o, 0, sizeof o);
        o.ignore_failures = r->ignore;
        enum policy_action got = policy_decide(r->code, NULL, r->side, &o, r->attempt);
        if (got != r->want)
            fail_msg("row %zu: %s side %d -i %d attempt %d: got %d, want %d", i,
                     err_name(r->code), (int)r->side, (int)r->ignore, r->attempt, (int)got,
                     (int)r->want);
    }
}

/* Every code on every side: retry only for the RETRY class and only before
 * the last attempt; NULL options mean no -i. */
static void test_all_codes(void **st)
{
    (void)st;
    for (int code = ERR_INVAL; code < ERR__COUNT; code++)
        for (int side = SIDE_READ; side <= SIDE_COMMIT; side++)
            for (int a = 0; a < POLICY_ATTEMPTS; a++) {
                enum policy_action got = policy_decide(code, NULL, (enum policy_side)side, NULL, a);
                if (code == ERR_CANCELLED)
                    assert_int_equal(got, S);
                else if (err_class_of(code) == ERRC_RETRY && a < POLICY_LAST)
                    assert_int_equal(got, R);
                else
                    assert_int_equal(got, F);
            }
}

static double elapsed_ms(unsigned base, int attempt, bool jitter)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    policy_backoff(base, attempt, jitter);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

/* A backend that already retried (errinfo.retried, backend.h) is not
 * retried again: the failure goes straight to its final action. */
static void test_backend_retried(void **st)
{
    (void)st;
    struct errinfo ei = {0};
    assert_int_equal(policy_decide(ERR_IO, &ei, SIDE_WRITE, NULL, 0), POLICY_RETRY);
    ei.retried = true;
    assert_int_equal(policy_decide(ERR_IO, &ei, SIDE_WRITE, NULL, 0), POLICY_FAIL_JOB);
    assert_int_equal(policy_decide(ERR_TIMEOUT, &ei, SIDE_LIST, NULL, 0), POLICY_FAIL_JOB);
    err_clear(&ei);
    assert_false(ei.retried);
    assert_int_equal(policy_decide(ERR_TIMEOUT, &ei, SIDE_LIST, NULL, 0), POLICY_RETRY);
}

static void test_backoff(void **st)
{
    (void)st;
    /* base << attempt, plus up to half of it with jitter */
    double t = elapsed_ms(10, 1, false);
    assert_true(t >= 20.0 && t < 200.0);
    t = elapsed_ms(10, 2, true);
    assert_true(t >= 40.0 && t < 250.0);
    assert_true(elapsed_ms(0, 2, true) < 50.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_all_codes),
        cmocka_unit_test(test_backend_retried),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
