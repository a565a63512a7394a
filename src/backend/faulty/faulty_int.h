/* faulty_int.h - the faulty:// backend's rule set, shared by faulty.c (the
 * forwarding slots) and faulty_rules.c (parsing and matching). The syntax is
 * described in faulty.c's opening note and docs/testing.md §3.
 *
 * A rule set is parsed once when a store opens and never changes after;
 * only the per-rule hit counters move, atomically, so any thread may call
 * faulty_hit() at any time. TEST BUILD ONLY (DISTCP_TESTING). */
#ifndef DISTCP_FAULTY_INT_H
#define DISTCP_FAULTY_INT_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "backend/backend.h"

/* The operations a rule can name; one bit each. */
enum faulty_op {
    FO_STAT, FO_LIST, FO_OPEN_READ, FO_READ, FO_CREATE, FO_WRITE, FO_FINISH,
    FO_COMMIT, FO_ABORT, FO_OPEN_APPEND, FO_COPY_RANGE, FO_MKDIRS, FO_RENAME,
    FO_REMOVE, FO_GETATTRS, FO_SETATTR, FO_WSETATTR, FO_GETMETA, FO_SETMETA,
    FO_WSETMETA, FO_READLINK, FO_SYMLINK, FO_CHECKSUM, FO_WCHECKSUM,
    FO_ABORT_PENDING, FO_WSHARE, FO_WJOIN, FO_WJOIN_END, FO_WRECEIPT, FO_SNAPSHOT, FO_SYNC,
    FO__COUNT
};

#define FAULTY_RULES_MAX 32
#define FAULTY_MISSING_ALL 63   /* slot_index("optional"): every optional slot */

struct faulty_rule {
    uint64_t ops;          /* 1 << enum faulty_op */
    char *glob;            /* fnmatch(3) pattern without FNM_PATHNAME ('*' crosses '/') */
    int err;               /* ERR_OK: no error, else the code to inject */
    uint64_t short_at;     /* readers see EOF at this absolute offset (0: off) */
    bool has_short;
    size_t piece;          /* reads return at most this many bytes (0: off) */
    unsigned delay_ms;     /* sleep before the call */
    uint64_t first, last;  /* fires on matching calls number first..last (1-based) */
    atomic_uint_fast64_t hits;
};

struct faulty_rules {
    struct faulty_rule r[FAULTY_RULES_MAX];
    size_t n;
    uint64_t missing;      /* slot bits (faulty.c's slot table index) presented as NULL */
};

/* What the rules say for one call: the error to return (ERR_OK: none), and
 * for open_read the reader's limits. Delays are slept inside faulty_hit. */
struct faulty_effect {
    int err;
    bool has_short;
    uint64_t short_at;
    size_t piece;
};

/* Parse `text` (may be NULL or empty) into *rs, adding to what is there.
 * slot_index(name) gives the bit of an optional slot for "missing=", or -1.
 * ERR_INVAL with a message naming the bad item. */
int faulty_rules_parse(struct faulty_rules *rs, const char *text,
                       int (*slot_index)(const char *name), struct errinfo *ei);
void faulty_rules_release(struct faulty_rules *rs);

/* Count this call against every rule naming op whose glob matches path (or
 * path2, for rename), sleep the delays and fill *fx. Thread-safe. */
void faulty_hit(struct faulty_rules *rs, enum faulty_op op, const char *path,
                const char *path2, struct faulty_effect *fx);

/* "cannot <verb of op> '<display>': <cause> (injected fault)" into ei. */
int faulty_error(struct errinfo *ei, int code, enum faulty_op op, const struct be_fs *fs,
                 const char *path);

/* The store fs shows as: the innermost store under any faulty wrappers,
 * fs itself when it is no faulty store (backend_display/_qualified). */
const struct be_fs *faulty_shown(const struct be_fs *fs);

#endif
