/* entry.h - the compact listing record and the external sort behind the plan.
 *
 * An entry is one source file/dir/symlink with its relative key (the path it
 * gets below the target) and the status the engine needs. In memory and on
 * disk it is the same flat record: a fixed header followed by the key bytes.
 * Keys are stored with '\0' as the component separator instead of '/', so
 * that plain memcmp order keeps every directory's subtree contiguous right
 * after the directory itself ("/a" < "/a/b" < "/a.b"); entry_key_copy()
 * gives the '/' form back.
 *
 * The sorter collects entries into a capped buffer; when the buffer is full
 * it is sorted and spilled to a run file in the job's work directory; at the
 * end the runs are merged (k-way) into one sorted stream. One sorter per
 * producer thread; sorters are merged together (sorter_merge_into). Nothing
 * here is thread-safe by itself. */
#ifndef DISTCP_ENTRY_H
#define DISTCP_ENTRY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "backend/backend.h"

#define ENTRY_KEY_MAX 8192u

struct entry {
    uint64_t size;
    int64_t mtime_ns;
    int64_t atime_ns;
    uint64_t blocksize;
    uint32_t mode;
    uint32_t uid, gid;
    uint32_t root;        /* index of the source root it came from */
    uint16_t keylen;      /* bytes of key that follow the header */
    uint8_t type;         /* enum be_type */
    uint8_t flags;        /* ENTRY_F_* */
    uint16_t replication;
    uint16_t pad;
    uint32_t digest;      /* CRC32C recorded by distcp, when ENTRY_F_DVALID */
    uint32_t seq;         /* ordinal in the plan, set by the copy producer (the
                           * job journal records finished entries by it) */
    /* char key[keylen] follows (separator '\0', see above) */
};
#define ENTRY_F_ROOT 1u      /* the source root itself (key "" or its name) */
#define ENTRY_F_EXCLUDED 2u  /* target listing: matched a filter (never deleted) */
#define ENTRY_F_TSTAT 4u     /* in a work batch: a struct tstat follows the record */
#define ENTRY_F_TABSENT 8u   /* in a work batch: the target was listed and has no such key */
#define ENTRY_F_DKNOWN 16u   /* the listing looked for distcp's digest */
#define ENTRY_F_DVALID 32u   /* ... and found one valid for this size and mtime (in `digest`) */

static inline const char *entry_key(const struct entry *e)
{
    return (const char *)(e + 1);
}
static inline size_t entry_size(const struct entry *e)
{
    return (sizeof(struct entry) + e->keylen + 7u) & ~(size_t)7u;
}
/* The target's status carried with an entry when the target was listed
 * beside the source (the lock-step compare), so workers need not stat. */
struct tstat {
    uint64_t size;
    int64_t mtime_ns;
    int64_t atime_ns;
    uint32_t mode, uid, gid;
    uint32_t digest;     /* when dflags has ENTRY_F_DVALID */
    uint8_t type;
    uint8_t dflags;      /* ENTRY_F_DKNOWN | ENTRY_F_DVALID of the target entry */
    uint8_t pad[6];
};
static inline const struct tstat *entry_tstat(const struct entry *e)
{
    return (e->flags & ENTRY_F_TSTAT)
               ? (const struct tstat *)((const char *)e + entry_size(e)) : NULL;
}

/* Copy the key with '/' separators into buf (NUL-terminated); returns length. */
size_t entry_key_copy(const struct entry *e, char *buf, size_t n);
/* Compare two entries by key (memcmp order over the stored form). */
int entry_cmp(const struct entry *a, const struct entry *b);

/* Sorter ------------------------------------------------------------------ */
struct sorter;
/* `workdir` holds the spill files (it must exist); `mem_cap` bounds the
 * in-memory buffer in bytes. */
struct sorter *sorter_new(const char *workdir, size_t mem_cap);
void sorter_free(struct sorter *s);
/* Add an entry built from `st` with key `key` ('/' form, keylen bytes).
 * ERR_TOO_LONG if the key is too long, ERR_IO when a spill fails. */
int sorter_add(struct sorter *s, const struct be_stat *st, uint32_t root,
               const char *key, size_t keylen, unsigned flags,
               struct errinfo *ei);
/* Move every entry and run of `src` into `dst` (src is left empty). */
int sorter_absorb(struct sorter *dst, struct sorter *src, struct errinfo *ei);
/* Entries added so far. */
uint64_t sorter_count(const struct sorter *s);
/* Bytes of memory the sorter holds now (its in-memory buffer). */
size_t sorter_mem_used(const struct sorter *s);

/* Finish: sort what is buffered; afterwards the sorter is an iterable plan.
 * When everything fit in memory nothing touches the disk; otherwise the runs
 * are merged into one sorted plan file. */
int sorter_finish(struct sorter *s, struct errinfo *ei);

/* A finished sorter over an existing plan file (records in key order, as
 * written from a plan iterator); the file is not removed by sorter_free. */
struct sorter *sorter_open_plan(const char *path, struct errinfo *ei);

/* Iterate a finished sorter in key order; can be restarted any number of
 * times. The returned entry is valid until the next call. */
struct plan_iter;
struct plan_iter *plan_iter_new(struct sorter *s, struct errinfo *ei);
const struct entry *plan_iter_next(struct plan_iter *it, int *err);
void plan_iter_free(struct plan_iter *it);

#endif
