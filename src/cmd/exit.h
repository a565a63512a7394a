/* exit.h - process exit statuses as the shell sees them (spec B §12) and
 * the one map from the engine's job statuses to them. Only cmd/ (and
 * main.c, through cmd_exit_status) turns results into exit numbers. */
#ifndef DISTCP_CMD_EXIT_H
#define DISTCP_CMD_EXIT_H
#include "engine/job.h"

enum {
    EXIT_OK = 0,
    EXIT_INVALID = 255,       /* -1 */
    EXIT_DUPLICATE = 254,     /* -2 */
    EXIT_ACL = 253,           /* -3 */
    EXIT_XATTR = 252,         /* -4 */
    EXIT_FAIL = 25,           /* -999 */
    EXIT_CANCELLED = 130,     /* stopped on request (SIGINT/SIGTERM, `job cancel`) */
};

/* The exit status of a job that ended with s. */
int cmd_exit_status(enum job_status s);

#endif
