/* policy.c - the failure policy table (docs/failure-policy.md §2).
 *
 * Invariants: retries only for codes of class RETRY in util/errors.def, at
 * most POLICY_ATTEMPTS attempts in total; -i makes only read-side and
 * commit-entry failures countable; write-side and listing failures always
 * fail the job; a cancel is never a failure.
 *
 * Threading: pure functions; policy_backoff sleeps the calling thread. */
#include "engine/policy.h"

#include <stdlib.h>
#include <time.h>

#include "util/err.h"

/* After the retries: -i or not, per side (docs/failure-policy.md §2). */
static const struct {
    enum policy_action plain, ignoring;   /* without / with -i */
} final_action[] = {
    [SIDE_READ] = {POLICY_FAIL_JOB, POLICY_COUNT_AND_GO_ON},
    [SIDE_WRITE] = {POLICY_FAIL_JOB, POLICY_FAIL_JOB},
    [SIDE_LIST] = {POLICY_FAIL_JOB, POLICY_FAIL_JOB},
    [SIDE_COMMIT] = {POLICY_FAIL_JOB, POLICY_COUNT_AND_GO_ON},
};

enum policy_action policy_decide(int code, const struct errinfo *ei, enum policy_side side,
                                 const struct options *o, int attempt)
{
    enum policy_action act = POLICY_FAIL_JOB;
    bool ignoring = o && o->ignore_failures;
    if (code == ERR_CANCELLED)
        act = POLICY_STOP;
    else if (err_should_retry(code, ei) && attempt < POLICY_LAST)
        act = POLICY_RETRY;
    else if ((unsigned)side < sizeof final_action / sizeof final_action[0])
        act = ignoring ? final_action[side].ignoring : final_action[side].plain;
    return act;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

void policy_backoff(unsigned base_ms, int attempt, bool jitter)
{
    unsigned base = base_ms << attempt;
    unsigned extra = base && jitter ? (unsigned)(rand() % (int)(base / 2 + 1)) : 0;
    sleep_ms(base / 2 + extra + base / 2);
}
