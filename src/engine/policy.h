/* policy.h - the engine's one failure policy (docs/failure-policy.md):
 * given what failed (an error code), on which side (reading a source,
 * writing the target, listing a directory, committing) and the job's
 * options (-i), decide whether to try again, count the failure and go on,
 * or fail the job; plus the one back-off helper the copy and listing
 * retries sleep with.
 *
 * Pure (no I/O, no state) except policy_backoff, which sleeps. Thread-safe. */
#ifndef DISTCP_POLICY_H
#define DISTCP_POLICY_H
#include <stdbool.h>

#include "engine/options.h"
#include "util/err.h"

enum policy_side {
    SIDE_READ,     /* reading a source file or entry (missing, unreadable, changed) */
    SIDE_WRITE,    /* writing, finishing or checking the target */
    SIDE_LIST,     /* listing a directory of the copy listing */
    SIDE_COMMIT,   /* one entry of the commit phase (a -delete removal) */
};

enum policy_action {
    POLICY_RETRY,            /* transient: back off and try again */
    POLICY_COUNT_AND_GO_ON,  /* count FAIL (-i), report, continue the job */
    POLICY_FAIL_JOB,         /* fail the job, stop dispatching work */
    POLICY_STOP,             /* ERR_CANCELLED: stopped on request, neither counted nor failed */
};

/* Attempts per operation in total (spec B §6.5); a caller without a retry
 * loop asks with attempt = POLICY_LAST. */
enum { POLICY_ATTEMPTS = 3, POLICY_LAST = POLICY_ATTEMPTS - 1 };

/* What to do after `code` (not ERR_OK) failed attempt `attempt` (0-based)
 * of an operation on `side`. ei: the failure's detail, or NULL; a backend
 * that already retried the operation itself sets ei->retried (backend.h),
 * and then it is not retried again (no retries multiplied). o: the job's
 * options (-i); NULL = defaults. */
enum policy_action policy_decide(int code, const struct errinfo *ei, enum policy_side side,
                                 const struct options *o, int attempt);

/* Back-off before retry `attempt` + 1: base_ms << attempt, plus with
 * `jitter` a random extra of up to half of it (spec B §6.5). */
void policy_backoff(unsigned base_ms, int attempt, bool jitter);

#endif
