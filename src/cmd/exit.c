/* exit.c - the map from job statuses to exit statuses (spec B §12:
 * Hadoop's negative codes as an unsigned byte; 130 for a cancel, as for a
 * shell's SIGINT). Pure; any thread. */
#include "cmd/exit.h"

static const int exit_of[] = {
    [JOB_OK] = EXIT_OK,
    [JOB_INVALID] = EXIT_INVALID,
    [JOB_DUPLICATE] = EXIT_DUPLICATE,
    [JOB_ACL] = EXIT_ACL,
    [JOB_XATTR] = EXIT_XATTR,
    [JOB_FAILED] = EXIT_FAIL,
    [JOB_CANCELLED] = EXIT_CANCELLED,
};

int cmd_exit_status(enum job_status s)
{
    return (unsigned)s < sizeof exit_of / sizeof exit_of[0] ? exit_of[s] : EXIT_FAIL;
}
