/* idmap.c - interned owner/group names; see idmap.h. Names live in chunks
 * of IDMAP_CHUNK that never move (a returned name stays valid), searched
 * linearly under a mutex: HDFS trees have few distinct owners, and the last
 * hit is tried first (runs of one owner are common). */
#include "util/idmap.h"

#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#define IDMAP_CHUNK 256u

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char (*g_chunks[IDMAP_MAX / IDMAP_CHUNK])[IDMAP_NAME_MAX];
static uint32_t g_n;
static uint32_t g_last;

static char *slot(uint32_t i)
{
    return g_chunks[i / IDMAP_CHUNK][i % IDMAP_CHUNK];
}

uint32_t idmap_intern(const char *name)
{
    uint32_t id = UINT32_MAX;
    size_t len = name ? strlen(name) : 0;
    if (!len || len >= IDMAP_NAME_MAX)
        return UINT32_MAX;
    pthread_mutex_lock(&g_mu);
    if (g_last < g_n && !strcmp(slot(g_last), name)) {
        id = IDMAP_BIT | g_last;
        goto out;
    }
    for (uint32_t i = 0; i < g_n; i++)
        if (!strcmp(slot(i), name)) {
            g_last = i;
            id = IDMAP_BIT | i;
            goto out;
        }
    if (g_n == IDMAP_MAX)
        goto out;
    if (g_n % IDMAP_CHUNK == 0 &&
        !(g_chunks[g_n / IDMAP_CHUNK] = malloc((size_t)IDMAP_CHUNK * IDMAP_NAME_MAX)))
        goto out;
    memcpy(slot(g_n), name, len + 1);
    g_last = g_n;
    id = IDMAP_BIT | g_n++;
out:
    pthread_mutex_unlock(&g_mu);
    return id;
}

const char *idmap_name(uint32_t id)
{
    const char *r = NULL;
    if (!idmap_is_pseudo(id))
        return NULL;
    pthread_mutex_lock(&g_mu);
    if ((id & ~IDMAP_BIT) < g_n)
        r = slot(id & ~IDMAP_BIT);
    pthread_mutex_unlock(&g_mu);
    return r;
}

bool idmap_same(uint32_t a, uint32_t b, bool user)
{
    if (a == UINT32_MAX || b == UINT32_MAX)
        return false;
    if (a == b)
        return true;
    if (idmap_is_pseudo(a) == idmap_is_pseudo(b))
        return false;
    const char *name = idmap_name(idmap_is_pseudo(a) ? a : b);
    uint32_t num = idmap_is_pseudo(a) ? b : a;
    char buf[4096];
    if (!name)
        return false;
    if (user) {
        struct passwd pw, *res = NULL;
        return getpwuid_r((uid_t)num, &pw, buf, sizeof buf, &res) == 0 && res &&
               !strcmp(res->pw_name, name);
    }
    struct group gr, *res = NULL;
    return getgrgid_r((gid_t)num, &gr, buf, sizeof buf, &res) == 0 && res &&
           !strcmp(res->gr_name, name);
}
