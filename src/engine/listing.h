/* listing.h - build the copy listing (spec B §2-§4): expand sources, check
 * inputs, compute each source's base, walk the trees in parallel into
 * sorted runs, apply filters, and detect duplicate keys.
 * Also lists a target tree the same way for -delete / -xtrack (B §8). */
#ifndef DISTCP_LISTING_H
#define DISTCP_LISTING_H
#include "engine/job.h"

/* (sources.c) Expand j->o->sources (or -f) into j->roots, probe the target, run the
 * input checks and compute bases. Returns a job status (JOB_OK = go on). */
enum job_status listing_prepare(struct job *j);

/* Walk every root into j->plan (sorted), then check duplicates and total
 * the plan. Returns a job status. */
enum job_status listing_build(struct job *j);

/* List the tree under `root_path` of `fs` into a new finished sorter: keys
 * relative to root_path, the root itself omitted. Entries matching the
 * filters are dropped, or with keep_excluded kept and flagged
 * ENTRY_F_EXCLUDED. Returns ERR_* and fills ei. */
int listing_walk_target(struct job *j, struct be_fs *fs, const char *root_path,
                        bool keep_excluded, struct sorter **out, struct errinfo *ei);

/* Distributed listing (MPI, dist.h `list_walk`): rank 0's walk lends
 * directories to the other ranks. Rank 0's main thread only:
 *  - listing_lend: take a directory off the walk's stack for `slot` (one
 *    directory per slot, DIST_LIST_AHEAD slots per rank); false when none waits;
 *  - listing_lent_child: one child of slot's directory as its rank listed
 *    it, treated exactly as the walk's threads treat theirs (unsafe names,
 *    filters, the sorter, subdirectories pushed on the stack); ERR_*;
 *  - listing_lent_done: slot's directory finished (rc: its listing's error,
 *    ei its message; NULL keeps the one a child's failure left);
 *  - listing_walk_over: every directory listed, or the walk failed.
 * Other ranks: listing_list_dir lists one directory of root `root` with the
 * walk's retries and test faults. */
struct walk;
bool listing_lend(struct walk *w, size_t slot, uint32_t *root, const char **path);
int listing_lent_child(struct walk *w, size_t slot, const char *name, size_t namelen,
                       const struct be_stat *st);
void listing_lent_done(struct walk *w, size_t slot, int rc, const struct errinfo *ei);
bool listing_walk_over(struct walk *w);
int listing_list_dir(struct job *j, uint32_t root, const char *path, be_list_cb cb, void *arg,
                     struct errinfo *ei);
/* The walk's thread count (-numListstatusThreads; 1 with -useiterator). */
size_t listing_threads(const struct job *j);

#endif
