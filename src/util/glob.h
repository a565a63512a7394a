/* glob.h - Hadoop glob syntax (GlobExpander + GlobPattern semantics).
 *
 * Syntax, per path component:
 *   *        any run of characters (also the empty one), never '/'
 *   ?        exactly one character, never '/'
 *   [abc]    one of the listed characters; [a-z] ranges; [^a] and [!a] negate;
 *            ']' right after '[' (or '[^' / '[!') is literal; '\' escapes inside
 *   {a,b}    alternation; groups may nest: {a,b{c,d}}; {a,} matches "a" or ""
 *   \c       the character c without its special meaning
 *   ',' outside a group and '}' without an open group are literal.
 * A "character" is one valid UTF-8 sequence, or a single byte where the name
 * is not valid UTF-8 (names are byte strings and may be any bytes).
 * A leading '.' is matched by '*' and '?' (Hadoop does not hide dotfiles).
 * Matching is case-sensitive.
 *
 * How a path pattern is used: glob_expand_braces() first splits brace groups
 * that contain '/' into several patterns (like Hadoop's GlobExpander); each
 * result is then split on '/' and every component either has magic
 * (glob_has_magic) and is compiled with glob_compile() and matched against
 * directory entries, or is a literal looked up by name after glob_unescape().
 *
 * Differences from Hadoop, all where Hadoop's regex translation leaks through:
 * '\d', '\w', '\s' mean the letters d, w, s (Hadoop: digit/word/space
 * classes); '*' and '?' also match '\n'; '{' ',' '*' '?' inside [...] are
 * literal; GlobExpander keeps backslash escapes inside expanded groups
 * (Hadoop drops them, so a '\*' there became a wildcard) and does not
 * split groups at a ',' that is inside [...].
 *
 * The matcher is a small NFA (no backtracking): matching time is linear in
 * name length x pattern size, whatever the pattern.
 *
 * Threading: no global state; a compiled struct glob is immutable and may be
 * matched from many threads at once. */
#ifndef DISTCP_GLOB_H
#define DISTCP_GLOB_H
#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

/* Longest pattern glob_expand_braces() accepts (ERR_TOO_LONG beyond). */
#define GLOB_MAX_PATTERN 65536
/* Most patterns, and most bytes in them, glob_expand_braces() may produce
 * (ERR_LIMIT beyond). */
#define GLOB_MAX_EXPANSIONS 10000
#define GLOB_MAX_EXPANDED_BYTES (16 * 1024 * 1024)
/* Longest component glob_compile() accepts (ERR_TOO_LONG beyond). */
#define GLOB_MAX_COMPONENT 16384

/* True if `s` contains an unescaped '*', '?', '[' or '{' (Hadoop's
 * hasWildcard). Borrowed `s`, NUL-terminated. */
bool glob_has_magic(const char *s);

/* Expand brace groups that contain '/' into separate patterns, leftmost
 * group first, depth-first (Hadoop's GlobExpander order):
 *   p{a/b,c/d}s        -> pa/bs, pc/ds
 *   {a/b,c/d,{e,f}}    -> a/b, c/d, {e,f}
 *   {a,b}/{b,{c/d,e/f}} -> {a,b}/b, {a,b}/c/d, {a,b}/e/f
 * Groups without '/' are left for glob_compile(). A pattern with no such
 * group comes back as a single copy.
 * On ERR_OK *out is a malloc'd array of *n malloc'd strings (caller frees with
 * glob_strv_free). Errors: ERR_INVAL (unclosed '{', a trailing '\'),
 * ERR_TOO_LONG, ERR_LIMIT (more than GLOB_MAX_EXPANSIONS results or
 * GLOB_MAX_EXPANDED_BYTES bytes), ERR_NOMEM;
 * the message names the pattern. On error *out = NULL, *n = 0. */
int glob_expand_braces(const char *pattern, char ***out, size_t *n,
                       struct errinfo *ei);

/* Free an array from glob_expand_braces (NULL allowed). */
void glob_strv_free(char **v, size_t n);

/* A compiled pattern for ONE path component. Opaque, immutable. */
struct glob;

/* Compile one component (no '/' expected; a '/' in it is a literal that no
 * wildcard matches). On ERR_OK *out is caller-owned (glob_free).
 * Errors: ERR_INVAL for a malformed pattern ('[' unclosed, '[' inside a
 * class, a range whose end is below its start, '{' unclosed, a trailing
 * '\'), message "invalid glob pattern '<p>': <what> at position N";
 * ERR_TOO_LONG; ERR_NOMEM. */
int glob_compile(const char *component, struct glob **out, struct errinfo *ei);

/* True if the whole of name[0..len) matches. `name` need not be
 * NUL-terminated and may hold any bytes. Returns false if memory for a very
 * large pattern cannot be had. */
bool glob_match(const struct glob *g, const char *name, size_t len);

/* Free a compiled pattern (NULL allowed). */
void glob_free(struct glob *g);

/* Remove backslash escapes ("a\*b" -> "a*b") from a component without magic,
 * for a literal lookup. A lone trailing '\' is kept. malloc'd; NULL on
 * out of memory. */
char *glob_unescape(const char *component);

#endif
