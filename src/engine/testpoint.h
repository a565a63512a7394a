/* testpoint.h - the engine's test hooks: pause points for kill tests and
 * the two MPI test points no store wrapper can express, behind one pointer.
 * Faults of stores (a source that cannot be read or listed, a target that
 * cannot be written) are injected by the faulty+<scheme>:// test backend
 * (docs/testing.md §3), not here.
 *
 * engine_testhooks is NULL in the product: every tp_*() below is then a
 * load and a branch, and no test name is in the binary. The test build
 * (CMake DISTCP_TESTING) compiles src/testing/, whose testing_init() - called
 * from main() - points it at a table driven by the environment. The engine
 * does not know where the faults come from.
 *
 * Threading: the pointer is set once before any job runs and never changes;
 * the hooks are called from any thread. */
#ifndef DISTCP_TESTPOINT_H
#define DISTCP_TESTPOINT_H
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct be_fs;

struct engine_testhooks {
    /* A pause point of a recorded run: "listing" (per listed entry),
     * "copying" (per entry), "writing" (per buffer of file data),
     * "committing". May never return (the test kills the process). */
    void (*pause)(const char *phase);
    /* Distributed listing: lend every directory, list none on rank 0. */
    bool (*list_remote_only)(void);
    /* A chunk `idx` of `path` copied on rank `rank` for another rank: ERR_OK,
     * or the fault (the engine writes half the range first, then fails). */
    int (*fail_chunk)(int rank, const char *path, uint32_t idx, struct errinfo *ei);
};

/* NULL in the product; set by testing_init() in the test build. */
extern const struct engine_testhooks *engine_testhooks;

#define TP_HOOK(name) (engine_testhooks && engine_testhooks->name)

static inline bool tp_list_remote_only(void)
{
    return TP_HOOK(list_remote_only) && engine_testhooks->list_remote_only();
}

#endif
