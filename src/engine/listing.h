/* listing.h - build the copy listing (spec B §2-§4): expand sources, check
 * inputs, compute each source's base, walk the trees in parallel into
 * sorted runs, apply filters, and detect duplicate keys.
 * Also lists a target tree the same way for -delete / -xtrack (B §8). */
#ifndef DISTCP_LISTING_H
#define DISTCP_LISTING_H
#include "engine/job.h"

/* Expand j->o->sources (or -f) into j->roots, probe the target, run the
 * input checks and compute bases. Returns an exit status (0 = go on). */
int listing_prepare(struct job *j);

/* Walk every root into j->plan (sorted), then check duplicates and total
 * the plan. Returns an exit status. */
int listing_build(struct job *j);

/* List the tree under `root_path` of `fs` into a new finished sorter: keys
 * relative to root_path, the root itself omitted. Entries matching the
 * filters are dropped, or with keep_excluded kept and flagged
 * ENTRY_F_EXCLUDED. Returns ERR_* and fills ei. */
int listing_walk_target(struct job *j, struct be_fs *fs, const char *root_path,
                        bool keep_excluded, struct sorter **out, struct errinfo *ei);

#endif
