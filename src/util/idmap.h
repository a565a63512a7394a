/* idmap.h - owner and group names of stores that have names only (HDFS)
 * carried through the engine's 32-bit uid/gid fields.
 *
 * A listing entry keeps numeric ids only. A backend whose store reports
 * names (WebHDFS) interns each name here and reports the returned pseudo id
 * (high bit set); a backend applying an owner asks idmap_name() first and
 * uses the name when it gets one. Ids without the high bit are real numeric
 * ids and pass through unchanged.
 *
 * Invariants: a name keeps its id for the life of the process; at most
 * IDMAP_MAX names (then BE_ID_NONE-like UINT32_MAX: "unknown"); names are
 * at most IDMAP_NAME_MAX - 1 bytes (longer: UINT32_MAX).
 * Threading: every function is thread-safe (one mutex); returned names stay
 * valid until the process exits. */
#ifndef DISTCP_IDMAP_H
#define DISTCP_IDMAP_H
#include <stdbool.h>
#include <stdint.h>

#define IDMAP_BIT 0x80000000u
#define IDMAP_MAX 65536u
#define IDMAP_NAME_MAX 64u

/* The pseudo id of `name` (interned on first use); UINT32_MAX for NULL, "",
 * a too-long name, a full table or no memory. */
uint32_t idmap_intern(const char *name);

/* The name behind a pseudo id; NULL for a real numeric id or an unknown one. */
const char *idmap_name(uint32_t id);

/* Do two ids name the same user (group)? Equal ids do; a pseudo id and a
 * real numeric id do when the local account database gives that id that
 * name. UINT32_MAX (unknown) matches nothing. */
bool idmap_same(uint32_t a, uint32_t b, bool user);

static inline bool idmap_is_pseudo(uint32_t id)
{
    return (id & IDMAP_BIT) && id != UINT32_MAX;
}

#endif
