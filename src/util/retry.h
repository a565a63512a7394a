/* retry.h - the one retry policy of the REST backends (S3, WebHDFS):
 * jittered exponential back-off with a cap, a bounded number of attempts,
 * and a server's Retry-After honoured up to the cap (docs/protocols.md §4).
 *
 * A policy is a plain value resolved once when a store is opened and never
 * changed after; the functions below only read it. Which failures are
 * transient is each backend's rule (its statuses and error names); how long
 * to wait and how often to try is this file's.
 *
 * Threading: every function is reentrant; retry_rand() keeps per-thread
 * state. */
#ifndef DISTCP_RETRY_H
#define DISTCP_RETRY_H
#include <stdbool.h>
#include <stdint.h>

#define RETRY_CAP_MS 60000u     /* default cap of one delay (also of Retry-After) */

struct retry_policy {
    unsigned base_ms;   /* first delay (before jitter); 0: retry at once */
    unsigned cap_ms;    /* no delay is longer than this */
    unsigned attempts;  /* tries per operation, the first included (>= 1) */
};

/* The delay before the retry that follows failed attempt `attempt`
 * (0-based), in ms. Without a server hint: d = min(cap, base * 2^attempt),
 * jittered uniformly into [d/2, d] by `rnd` (any 32-bit value; the same
 * inputs give the same result). With retry_after_ms > 0 (the server's
 * Retry-After): exactly min(retry_after_ms, cap), no jitter. Pure. */
unsigned retry_delay_ms(const struct retry_policy *p, unsigned attempt, unsigned retry_after_ms,
                        uint32_t rnd);

/* May failed attempt `attempt` (0-based) be followed by another one? */
bool retry_more(const struct retry_policy *p, unsigned attempt);

/* A Retry-After header value in ms: delay-seconds only ("120"); 0 when
 * absent (NULL), malformed or an HTTP-date (then the back-off applies). */
unsigned retry_after_parse(const char *v);

/* A jitter value for retry_delay_ms (per-thread generator). */
uint32_t retry_rand(void);

/* Sleep ms milliseconds (restarted after signals). */
void retry_sleep_ms(unsigned ms);

#endif
