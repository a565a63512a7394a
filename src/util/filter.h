/* filter.h - exclusion filters: Java-regex-like patterns (PCRE2) that must
 * match a WHOLE path string (Java's Matcher.matches()), spec B §4, A 6.
 *
 * A path is excluded if ANY pattern matches all of it: ".*test.*" excludes
 * "/hive/test_data", "user" excludes nothing but "user" itself.
 * Paths are byte strings. A path that is valid UTF-8 is matched in UTF mode
 * ('.' is one character, as in Java); a path that is not is matched byte by
 * byte (as Java would after replacing bad bytes with U+FFFD, one byte per
 * '.'), so ".*" still excludes it. As in Java, '.' does not match '\n'
 * unless the pattern says (?s).
 * What string is matched (qualified "file:/a/b" or plain "/a/b") is the
 * caller's choice; this module only matches bytes.
 *
 * Threading: build the filter (filter_new/filter_add/filter_load_file) from
 * one thread; afterwards filter_excludes() may be called from any number of
 * threads at once on the same filter (per-call match state, no locks). */
#ifndef DISTCP_FILTER_H
#define DISTCP_FILTER_H
#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

/* Caps (ERR_LIMIT beyond): bytes in a -filters file, patterns per filter. */
#define FILTER_MAX_FILE_BYTES (1024 * 1024)
#define FILTER_MAX_PATTERNS 10000

struct filter;

/* An empty filter (excludes nothing). NULL on out of memory. */
struct filter *filter_new(void);

/* Add one regex (borrowed, copied). Errors: ERR_BAD_REGEX with
 * "invalid filter regex '<re>': <pcre2 message> at offset N"; ERR_LIMIT past
 * FILTER_MAX_PATTERNS; ERR_NOMEM. On error the filter is unchanged. */
int filter_add(struct filter *f, const char *regex, struct errinfo *ei);

/* Load a -filters file: one regex per line, UTF-8, lines end with "\n",
 * "\r\n" or a lone "\r" (Java's readLine); a last line without an end counts;
 * a leading UTF-8 byte-order mark is skipped. An empty line adds a pattern
 * that only matches the empty string (harmless).
 * A file that cannot be read is an error (deliberately unlike Hadoop, which
 * logs and copies everything): ERR_NOT_FOUND / ERR_ACCESS / ... with
 * "cannot read filters file '<p>': <strerror>". A bad line gives
 * ERR_BAD_REGEX "invalid filter regex '<re>' (line N of '<p>'): <msg> at
 * offset N". Files over FILTER_MAX_FILE_BYTES or with more patterns than
 * FILTER_MAX_PATTERNS give ERR_LIMIT. All or nothing: on error no pattern of
 * the file stays in the filter. */
int filter_load_file(struct filter *f, const char *path, struct errinfo *ei);

/* Number of patterns (0 for NULL). */
size_t filter_count(const struct filter *f);

/* True if any pattern fully matches s[0..len). `s` need not be
 * NUL-terminated and may hold any bytes. False for a NULL or empty filter.
 * A match that fails inside PCRE2 (a resource limit on a pathological
 * pattern) counts as "no match": the path is kept. Thread-safe. */
bool filter_excludes(const struct filter *f, const char *s, size_t len);

/* Free the filter (NULL allowed). */
void filter_free(struct filter *f);

#endif
