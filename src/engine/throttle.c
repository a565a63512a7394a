/* throttle.c - token bucket; see throttle.h. */
#include "engine/throttle.h"

#include <time.h>

#include "engine/job.h"

void throttle_init(struct throttle *t, double bytes_per_sec, int shared)
{
    t->rate = bytes_per_sec > 0 ? bytes_per_sec : 0;
    t->burst = t->rate / 10 > 65536 ? t->rate / 10 : 65536;  /* 100 ms of burst */
    t->tokens = 0;
    t->last = now_seconds();
    t->shared = shared;
    if (shared)
        pthread_mutex_init(&t->lock, NULL);
}

void throttle_release(struct throttle *t)
{
    if (t->shared)
        pthread_mutex_destroy(&t->lock);
}

uint64_t throttle_take(struct throttle *t, uint64_t n)
{
    if (t->rate <= 0)
        return 0;
    if (t->shared)
        pthread_mutex_lock(&t->lock);
    double now = now_seconds();
    t->tokens += (now - t->last) * t->rate;
    if (t->tokens > t->burst)
        t->tokens = t->burst;
    t->last = now;
    t->tokens -= (double)n;
    double wait = t->tokens < 0 ? -t->tokens / t->rate : 0;
    if (t->shared)
        pthread_mutex_unlock(&t->lock);
    if (wait <= 0)
        return 0;
    struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return (uint64_t)(wait * 1000);
}
