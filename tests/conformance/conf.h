/* conf.h - shared pieces of the backend conformance suite.
 *
 * The suite is written once against backend.h; `conformance <backend>`
 * picks the store (main.c). Every test gets a fresh directory under the
 * suite's root from conf_dir() and the per-test teardown removes it, so a
 * failing test does not disturb the next one. Tests skip (with a printed
 * reason) what the backend's caps or NULL slots say it lacks.
 *
 * Threading: the tests run one at a time; only the parallel-write test
 * starts threads, and those touch nothing here but the writer. */
#ifndef DISTCP_CONF_H
#define DISTCP_CONF_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include "backend/backend.h"

#define CONF_PATH_MAX 4096

/* finish() reports a be_stat; most tests only want the size. */
static inline int finish_size(const struct backend_ops *ops, struct be_file *w,
                              uint64_t *size, struct errinfo *ei)
{
    struct be_stat st;
    int rc = ops->finish(w, &st, ei);
    if (rc == ERR_OK)
        *size = st.size;
    return rc;
}

struct conf {
    const char *backend;           /* "local", "mem", "faulty", "webhdfs", "s3" */
    const char *scheme;            /* "file", "mem", "faulty+file", ... */
    char authority[128];
    const struct backend_ops *ops;
    struct be_fs *fs;
    char root[1024];               /* "/" or "/tmp/distcp-conf-XXXXXX" */
    char dir[CONF_PATH_MAX];       /* this test's directory, "" if none */
    unsigned seq;                  /* for unique temp tags */
    char tag[64];
};

/* Fail the test with the call, the code and the errinfo message. */
#define CHECK(call)                                                          \
    do {                                                                     \
        int rc_ = (call);                                                    \
        if (rc_ != ERR_OK) {                                                 \
            print_error("%s:%d: %s -> %s (%s)\n", __FILE__, __LINE__, #call, \
                        err_name(rc_), ei.msg);                              \
            fail();                                                          \
        }                                                                    \
    } while (0)

/* The call must fail with exactly `code`. */
#define EXPECT(code, call)                                                   \
    do {                                                                     \
        int rc_ = (call);                                                    \
        if (rc_ != (code)) {                                                 \
            print_error("%s:%d: %s -> %s, expected %s (%s)\n", __FILE__,     \
                        __LINE__, #call, err_name(rc_), err_name(code),      \
                        rc_ ? ei.msg : "");                                  \
            fail();                                                          \
        }                                                                    \
    } while (0)

/* Skip the rest of the test, printing why. */
#define REQUIRE(c, cond, why)                                                \
    do {                                                                     \
        if (!(cond)) {                                                       \
            print_message("[  SKIP    ] %s on %s: %s\n", __func__,           \
                          (c)->backend, (why));                              \
            skip();                                                          \
        }                                                                    \
    } while (0)

#define HAS(c, cap) (((c)->ops->caps & (cap)) != 0)

/* Make this test's directory root/<name> (mkdirs) and return it. */
const char *conf_dir(struct conf *c, const char *name);
/* A path under this test's directory; one of 16 rotating buffers. */
const char *conf_path(struct conf *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Create options with a unique temp tag. */
struct be_create_opts conf_opts(struct conf *c);

/* Deterministic bytes: the value at absolute offset `off` for `seed`. */
void conf_fill(unsigned char *buf, uint64_t off, size_t n, unsigned seed);
bool conf_check(const unsigned char *buf, uint64_t off, size_t n, unsigned seed);

/* Write a whole file through create/write/finish/commit. */
void conf_put(struct conf *c, const char *path, const void *data, size_t n);
/* Write n pattern bytes (seed) through create/write/commit. */
void conf_put_pattern(struct conf *c, const char *path, size_t n, unsigned seed);
/* Read a whole file (capped at 64 MiB); malloc'd, *n its length. */
unsigned char *conf_get(struct conf *c, const char *path, size_t *n);
/* The file holds exactly these bytes. */
void conf_expect_bytes(struct conf *c, const char *path, const void *data,
                       size_t n);
void conf_expect_type(struct conf *c, const char *path, enum be_type type);

/* A listing collected in memory. */
struct conf_entry {
    char *name;
    struct be_stat st;
};
struct conf_listing {
    struct conf_entry *e;
    size_t n, cap;
};
int conf_list(struct conf *c, const char *path, struct conf_listing *out,
              struct errinfo *ei);
void conf_listing_free(struct conf_listing *l);

/* Tests (t_*.c). */
void t_stat(void **state);
void t_mkdirs(void **state);
void t_list_empty(void **state);
void t_list_many(void **state);
void t_list_abort(void **state);
void t_list_errors(void **state);
void t_write_commit(void **state);
void t_write_abort(void **state);
void t_commit_replaces(void **state);
void t_commit_parents(void **state);
void t_commit_over_dir(void **state);
void t_direct(void **state);
void t_snapshot(void **state);
void t_parallel_write(void **state);
void t_shared_write(void **state);
void t_read_offset(void **state);
void t_open_read_missing(void **state);
void t_rename(void **state);
void t_remove(void **state);
void t_setattr(void **state);
void t_wsetattr(void **state);
void t_meta_attrs(void **state);
void t_meta(void **state);
void t_xattr(void **state);
void t_symlink(void **state);
void t_append(void **state);
void t_copy_range(void **state);
void t_required_slots(void **state);
void t_checksum(void **state);
void t_wchecksum(void **state);
void t_abort_pending(void **state);
void t_copy_whole(void **state);

/* mem-only extras (mem_extras.c): mem's own promises beyond the contract. */
extern const struct CMUnitTest mem_extra_tests[];
extern const size_t mem_extra_count;

#endif
