/* retry.c - the retry policy's arithmetic and sleeping (see retry.h).
 * retry_delay_ms is pure so the unit tests pin it down exactly; the random
 * source and the clock stay in the two small functions at the end. */
#include "util/retry.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

unsigned retry_delay_ms(const struct retry_policy *p, unsigned attempt, unsigned retry_after_ms,
                        uint32_t rnd)
{
    uint64_t cap = p->cap_ms;
    uint64_t d;
    if (retry_after_ms > 0) {
        d = retry_after_ms < cap ? retry_after_ms : cap;
        goto out;
    }
    d = (uint64_t)p->base_ms << (attempt < 32 ? attempt : 32);
    if (d > cap)
        d = cap;
    /* uniform in [d/2, d]: the lower half is fixed, the upper half jittered */
    uint64_t lo = d / 2, span = d - lo;
    d = lo + (span ? rnd % (span + 1) : 0);
out:
    return (unsigned)d;
}

bool retry_more(const struct retry_policy *p, unsigned attempt)
{
    return attempt + 1 < p->attempts;
}

unsigned retry_after_parse(const char *v)
{
    unsigned rc = 0;
    if (!v)
        goto out;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v < '0' || *v > '9')
        goto out;
    char *e;
    errno = 0;
    unsigned long s = strtoul(v, &e, 10);
    while (*e == ' ' || *e == '\t')
        e++;
    if (*e || errno)
        goto out;
    rc = s > 4000000ul ? 4000000000u : (unsigned)(s * 1000ul);
out:
    return rc;
}

uint32_t retry_rand(void)
{
    static _Thread_local unsigned seed;
    if (!seed) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        seed = ((unsigned)now.tv_nsec ^ (unsigned)(uintptr_t)&now) | 1u;
    }
    return (uint32_t)rand_r(&seed);
}

void retry_sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
