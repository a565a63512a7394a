/* test_backends.c - every backend the scheme table can hand out has the
 * slots backend.h calls Required (the conformance suite checks the same on
 * the stores it opens; this also covers gen://, which it does not run), and
 * the test-only schemes are there exactly in the test build. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "backend/backend.h"

static const char *const schemes[] = {
    "file", "", "gen", "s3", "s3a", "webhdfs", "swebhdfs", "hdfs", "mem", "faulty+file",
    "faulty+mem",
};

static void t_required_slots(void **state)
{
    int checked = 0;
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        struct errinfo ei = {0};
        const struct backend_ops *o = backend_for_scheme(schemes[i], &ei);
        bool test_only = !strcmp(schemes[i], "mem") || !strncmp(schemes[i], "faulty+", 7);
#ifdef DISTCP_TESTING
        assert_non_null(o);
#else
        if (test_only) {
            assert_null(o);
            assert_int_equal(ei.code, ERR_NOT_BUILT);
            assert_non_null(strstr(ei.msg, "test backend"));
            continue;
        }
        assert_non_null(o);
#endif
        (void)test_only;
        const void *req[] = { o->name, o->open, o->close, o->stat, o->list, o->open_read,
                              o->read, o->close_read, o->create, o->write, o->finish,
                              o->commit, o->abort, o->mkdirs, o->rename, o->remove };
        for (size_t k = 0; k < sizeof req / sizeof *req; k++)
            if (!req[k])
                fail_msg("scheme '%s' (%s): required slot #%zu is NULL", schemes[i],
                         o->name ? o->name : "?", k);
        checked++;
    }
    assert_true(checked >= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_required_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
