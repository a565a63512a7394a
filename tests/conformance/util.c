/* util.c - helpers shared by the conformance tests: test directories,
 * patterned bytes, whole-file put/get through the backend, listings.
 * Single-threaded (the tests run one at a time). */
#include "conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONF_GET_MAX (64u << 20)

const char *conf_dir(struct conf *c, const char *name)
{
    struct errinfo ei = {0};
    if (strcmp(c->root, "/") == 0)
        snprintf(c->dir, sizeof c->dir, "/%s", name);
    else
        snprintf(c->dir, sizeof c->dir, "%s/%s", c->root, name);
    /* Leftovers of an earlier crashed run would falsify the test. */
    int rc = c->ops->remove(c->fs, c->dir, true, &ei);
    if (rc != ERR_OK && rc != ERR_NOT_FOUND) {
        print_error("cannot clear %s: %s\n", c->dir, ei.msg);
        fail();
    }
    CHECK(c->ops->mkdirs(c->fs, c->dir, 0755, &ei));
    return c->dir;
}

const char *conf_path(struct conf *c, const char *fmt, ...)
{
    static char bufs[16][CONF_PATH_MAX];
    static unsigned next;
    char *b = bufs[next++ % 16];
    size_t n = (size_t)snprintf(b, CONF_PATH_MAX, "%s/", c->dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, CONF_PATH_MAX - n, fmt, ap);
    va_end(ap);
    return b;
}

struct be_create_opts conf_opts(struct conf *c)
{
    snprintf(c->tag, sizeof c->tag, "conf%ld_%u", (long)getpid(), ++c->seq);
    return (struct be_create_opts){ .tmp_tag = c->tag };
}

static unsigned char pat(uint64_t off, unsigned seed)
{
    uint64_t x = (off + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed << 32);
    x ^= x >> 29;
    return (unsigned char)(x ^ (x >> 8));
}

void conf_fill(unsigned char *buf, uint64_t off, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = pat(off + i, seed);
}

bool conf_check(const unsigned char *buf, uint64_t off, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != pat(off + i, seed)) {
            print_error("byte %llu differs: 0x%02x, expected 0x%02x\n",
                        (unsigned long long)(off + i), buf[i],
                        pat(off + i, seed));
            return false;
        }
    return true;
}

void conf_put(struct conf *c, const char *path, const void *data, size_t n)
{
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    uint64_t size = 0;
    CHECK(c->ops->create(c->fs, path, &o, &w, &ei));
    if (n)
        CHECK(c->ops->write(w, 0, data, n, &ei));
    CHECK(finish_size(c->ops, w, &size, &ei));
    assert_int_equal(size, n);
    CHECK(c->ops->commit(w, &ei));
}

void conf_put_pattern(struct conf *c, const char *path, size_t n, unsigned seed)
{
    unsigned char *b = malloc(n ? n : 1);
    assert_non_null(b);
    conf_fill(b, 0, n, seed);
    conf_put(c, path, b, n);
    free(b);
}

unsigned char *conf_get(struct conf *c, const char *path, size_t *n)
{
    struct errinfo ei = {0};
    struct be_file *r = NULL;
    size_t cap = 65536, len = 0, got;
    unsigned char *b = malloc(cap);
    assert_non_null(b);
    CHECK(c->ops->open_read(c->fs, path, 0, &r, &ei));
    for (;;) {
        if (len == cap) {
            assert_true(cap < CONF_GET_MAX);
            cap *= 2;
            b = realloc(b, cap);
            assert_non_null(b);
        }
        int rc = c->ops->read(r, b + len, cap - len, &got, &ei);
        if (rc != ERR_OK) {
            c->ops->close_read(r);
            print_error("read %s: %s\n", path, ei.msg);
            fail();
        }
        if (got == 0)
            break;
        len += got;
    }
    c->ops->close_read(r);
    *n = len;
    return b;
}

void conf_expect_bytes(struct conf *c, const char *path, const void *data,
                       size_t n)
{
    size_t len;
    unsigned char *b = conf_get(c, path, &len);
    if (len != n || (n && memcmp(b, data, n))) {
        print_error("%s: %zu bytes, expected %zu%s\n", path, len, n,
                    len == n ? " (content differs)" : "");
        free(b);
        fail();
    }
    free(b);
}

void conf_expect_type(struct conf *c, const char *path, enum be_type type)
{
    struct errinfo ei = {0};
    struct be_stat st;
    CHECK(c->ops->stat(c->fs, path, &st, &ei));
    if (st.type != type) {
        print_error("%s: type %d, expected %d\n", path, st.type, type);
        fail();
    }
}

static int collect(void *arg, const char *name, size_t namelen,
                   const struct be_stat *st)
{
    struct conf_listing *l = arg;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct conf_entry *e = realloc(l->e, ncap * sizeof *e);
        if (!e)
            return ERR_NOMEM;
        l->e = e;
        l->cap = ncap;
    }
    char *nm = strndup(name, namelen);
    if (!nm)
        return ERR_NOMEM;
    l->e[l->n].name = nm;
    l->e[l->n].st = *st;
    l->n++;
    return ERR_OK;
}

int conf_list(struct conf *c, const char *path, struct conf_listing *out,
              struct errinfo *ei)
{
    memset(out, 0, sizeof *out);
    return c->ops->list(c->fs, path, collect, out, ei);
}

void conf_listing_free(struct conf_listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->e[i].name);
    free(l->e);
    memset(l, 0, sizeof *l);
}
