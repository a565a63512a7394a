/* path.h - lexical helpers for '/'-separated paths and relative target keys.
 *
 * Pure string operations: nothing here touches a file system, follows a
 * symlink or knows a scheme. Paths are byte strings; only '/' is special
 * ('\' is an ordinary byte). A "key" is a path relative to a copy root,
 * written "" for the root itself or "/a/b" below it.
 * Threading: no state; all functions are reentrant. */
#ifndef DISTCP_PATH_H
#define DISTCP_PATH_H
#include <stdbool.h>
#include <stddef.h>

/* Limits checked by path_key_is_safe (Linux NAME_MAX and PATH_MAX). */
#define PATH_COMPONENT_MAX 255
#define PATH_KEY_MAX 4096

/* Normalise `p` in place: fold runs of '/' into one, drop "." components,
 * drop a trailing '/' (but "/" stays "/"). Does NOT resolve "..".
 *   "//a/./b/" -> "/a/b"    "/." -> "/"    "a/./b" -> "a/b"
 * A relative path that normalises to nothing becomes "." ("" stays "").
 * Returns the new length. */
size_t path_normalize(char *p);

/* Lexically resolve ".." (and normalise as above). In an absolute path ".."
 * at the root stays at the root ("/a/../.." -> "/"); in a relative one,
 * leading ".." that cannot be resolved are kept ("a/../../b" -> "../b"),
 * and a path that resolves to nothing is ".". Borrowed `p`; malloc'd result,
 * NULL on out of memory. */
char *path_resolve_dotdot(const char *p);

/* True if key[0..len) is safe to append to a target directory: "" (the
 * root), or '/' followed by components separated by single '/', none empty,
 * "." or "..", none longer than PATH_COMPONENT_MAX, no NUL byte, len at most
 * PATH_KEY_MAX. Rejects "a/b" (no leading '/'), "/a/" and "//a". */
bool path_key_is_safe(const char *key, size_t len);

/* base + key: "/t" + "/a/b" -> "/t/a/b"; "/" + "/a" -> "/a"; base + "" ->
 * base. Trailing '/' on base are dropped (except for "/"); a key without a
 * leading '/' gets one. Does not check the key (use path_key_is_safe).
 * Borrowed arguments; malloc'd result, NULL on out of memory. */
char *path_join(const char *base, const char *key);

/* Parent directory: "/a/b" -> "/a", "/a" -> "/", "/" -> "/", "/a/b/" ->
 * "/a"; relative: "a/b" -> "a", "a" -> ".", "" -> ".". Lexical only ("/a/.."
 * -> "/a"). malloc'd, NULL on out of memory. */
char *path_parent(const char *p);

/* Last component, as a pointer into p: "/a/b" -> "b", "/" -> "", "a" -> "a".
 * For a path ending in '/' ("/a/") it is "" (normalise first). */
const char *path_basename(const char *p);

/* True if `p` is `dir` or lies below it, component-wise: "/a/b" and "/a" are
 * within "/a", "/ab" is not; everything absolute is within "/". "//", "."
 * and ".." in either argument are resolved lexically first, so "/a/../b" is
 * not within "/a". An absolute path is never within a relative one or vice
 * versa. False if memory for resolving cannot be had. */
bool path_is_within(const char *p, const char *dir);

#endif
