/* testing.c - the engine's test hooks (engine/testpoint.h) driven by the
 * environment, for the end-to-end tests. Built only into the test build.
 *
 *   DISTCP_TEST_PAUSE=<phase>:<n>  stop a recorded run at the n-th pause
 *       point of <phase> (listing: per listed entry; copying: per entry;
 *       writing: per buffer of file data; committing) after writing
 *       "paused <phase> <pid>" to DISTCP_TEST_PAUSE_FILE, then sleep until
 *       the test kills the process (kill -9 tests of resume)
 *   DISTCP_TEST_LIST_REMOTE_ONLY=1 a distributed listing lends every
 *       directory to other ranks (rank 0 lists none)
 *   DISTCP_TEST_FAIL_CHUNK=<rank>  MPI: rank <rank> writes half of every
 *       chunk it copies for another rank, then fails it
 * The environment is read once, at start-up (testing_init). Faults of a
 * store (unreadable sources, unwritable targets, unlistable directories)
 * come from the faulty+<scheme>:// test backend instead (docs/testing.md).
 *
 * Threading: the state is set before any job runs; the pause counter is
 * atomic; every hook may run on any thread. */
#include "testing/testing.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/testpoint.h"

static struct {
    bool remote_only;
    int fail_chunk_rank;                /* -1: off */
    char pause_phase[32];
    uint64_t pause_at;                  /* 0: off */
    _Atomic uint64_t pause_count;
    atomic_int paused;
} T = {.fail_chunk_rank = -1};

static void t_pause(const char *phase)
{
    if (!T.pause_at)
        return;
    if (!atomic_load(&T.paused)) {
        if (strcmp(phase, T.pause_phase))
            return;
        if (atomic_fetch_add(&T.pause_count, 1) + 1 < T.pause_at)
            return;
        if (!atomic_exchange(&T.paused, 1)) {
            const char *f = getenv("DISTCP_TEST_PAUSE_FILE");
            FILE *pf = f ? fopen(f, "w") : NULL;
            if (pf) {
                fprintf(pf, "paused %s %d\n", phase, (int)getpid());
                fclose(pf);
            }
        }
    }
    for (;;)
        sleep(1);             /* until the test kills us */
}

static bool t_list_remote_only(void)
{
    return T.remote_only;
}

static int t_fail_chunk(int rank, const char *path, uint32_t idx, struct errinfo *ei)
{
    if (T.fail_chunk_rank < 0 || T.fail_chunk_rank != rank)
        return ERR_OK;
    return err_setx(ei, ERR_ACCESS, "cannot write '%s': Permission denied (test fault "
                    "DISTCP_TEST_FAIL_CHUNK on rank %d, chunk %" PRIu32 ")", path, rank, idx);
}

static const struct engine_testhooks hooks = {
    .pause = t_pause,
    .list_remote_only = t_list_remote_only,
    .fail_chunk = t_fail_chunk,
};

void testing_init(void)
{
    const char *v;
    v = getenv("DISTCP_TEST_LIST_REMOTE_ONLY");
    T.remote_only = v && *v == '1';
    v = getenv("DISTCP_TEST_FAIL_CHUNK");
    if (v && *v)
        T.fail_chunk_rank = atoi(v);
    v = getenv("DISTCP_TEST_PAUSE");
    if (v && strchr(v, ':')) {
        snprintf(T.pause_phase, sizeof T.pause_phase, "%.*s", (int)(strchr(v, ':') - v), v);
        T.pause_at = strtoull(strchr(v, ':') + 1, NULL, 10);
    }
    engine_testhooks = &hooks;
}
