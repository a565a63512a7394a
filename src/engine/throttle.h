/* throttle.h - token buckets for -bandwidth (per worker) and
 * --global-bandwidth (shared). A throttle of rate 0 never sleeps.
 * A per-worker throttle is used by one thread; the global one locks. */
#ifndef DISTCP_THROTTLE_H
#define DISTCP_THROTTLE_H
#include <pthread.h>
#include <stdint.h>

struct throttle {
    double rate;          /* bytes per second, 0 = unlimited */
    double tokens;        /* may go negative: debt to sleep off */
    double last;          /* seconds */
    double burst;         /* max tokens */
    pthread_mutex_t lock;
    int shared;
};

void throttle_init(struct throttle *t, double bytes_per_sec, int shared);
void throttle_release(struct throttle *t);
/* Account n bytes; sleeps as needed. Returns milliseconds slept. */
uint64_t throttle_take(struct throttle *t, uint64_t n);

#endif
