/* testing.c - the engine's test hooks (engine/testpoint.h) driven by the
 * environment, for the end-to-end tests. Built only into the test build.
 *
 *   DISTCP_TEST_PAUSE=<phase>:<n>  stop a recorded run at the n-th pause
 *       point of <phase> (listing: per listed entry; copying: per entry;
 *       writing: per buffer of file data; committing) after writing
 *       "paused <phase> <pid>" to DISTCP_TEST_PAUSE_FILE, then sleep until
 *       the test kills the process (kill -9 tests of resume)
 *   DISTCP_TEST_FAIL_READ=<text>   opening a source whose path contains
 *       text fails with "permission denied"
 *   DISTCP_TEST_FAIL_WRITE=<text>  creating a target whose path contains
 *       text fails the same way
 *   DISTCP_TEST_FAIL_LIST=<text>   listing a directory whose path contains
 *       text fails as an unreadable one would (root reads any directory)
 *   DISTCP_TEST_LIST_REMOTE_ONLY=1 a distributed listing lends every
 *       directory to other ranks (rank 0 lists none)
 *   DISTCP_TEST_FAIL_CHUNK=<rank>  MPI: rank <rank> writes half of every
 *       chunk it copies for another rank, then fails it
 * The environment is read once, at start-up (testing_init).
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

#include "backend/backend.h"
#include "engine/testpoint.h"

#define PATHMAX 8192

static struct {
    const char *fail_read, *fail_write, *fail_list;
    bool remote_only;
    int fail_chunk_rank;                /* -1: off */
    char pause_phase[32];
    uint64_t pause_at;                  /* 0: off */
    _Atomic uint64_t pause_count;
    atomic_int paused;
} T = {.fail_chunk_rank = -1};

static bool want_fail(const char *hook, const char *path)
{
    return hook && *hook && strstr(path, hook);
}

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

static int t_fail_read(const char *path, struct errinfo *ei)
{
    if (!want_fail(T.fail_read, path))
        return ERR_OK;
    return err_setx(ei, ERR_ACCESS, "cannot open '%s': Permission denied (test fault DISTCP_TEST_FAIL_READ)", path);
}

static int t_fail_write(const char *path, struct errinfo *ei)
{
    if (!want_fail(T.fail_write, path))
        return ERR_OK;
    return err_setx(ei, ERR_ACCESS, "cannot create '%s': Permission denied (test fault DISTCP_TEST_FAIL_WRITE)", path);
}

static int t_fail_list(struct be_fs *fs, const char *path, struct errinfo *ei)
{
    char d[PATHMAX];
    if (!want_fail(T.fail_list, path))
        return ERR_OK;
    backend_display(fs, path, d, sizeof d);
    return err_setx(ei, ERR_ACCESS, "cannot list '%s': Permission denied (test fault DISTCP_TEST_FAIL_LIST)", d);
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
    .fail_read = t_fail_read,
    .fail_write = t_fail_write,
    .fail_list = t_fail_list,
    .list_remote_only = t_list_remote_only,
    .fail_chunk = t_fail_chunk,
};

void testing_init(void)
{
    const char *v;
    T.fail_read = getenv("DISTCP_TEST_FAIL_READ");
    T.fail_write = getenv("DISTCP_TEST_FAIL_WRITE");
    T.fail_list = getenv("DISTCP_TEST_FAIL_LIST");
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
