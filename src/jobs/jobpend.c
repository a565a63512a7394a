/* jobpend.c - the record of server-side state the job's writers opened
 * (S3 multipart uploads), so that a killed run's leftovers get aborted.
 *
 * File <job dir>/pending, append-only text lines:
 *   open <store> <token>\n   written and fdatasync'ed before the writer puts
 *                            any data into that state
 *   done <store> <token>\n   once the writer completed or aborted it; not
 *                            synced (a lost "done" only costs a later abort
 *                            attempt that the store answers "no such upload")
 * <store> is "scheme://authority" ("s3a://bucket"), <token> the backend's
 * opaque token (backend.h, be_create_opts.pending); both %XX-escaped (bytes
 * <= ' ', >= 0x7f and '%'), so a line never holds a space or newline inside
 * a field. A torn last line (no '\n', a crash mid-write) is ignored: an open
 * record is complete on disk before the writer goes on.
 *
 * A sweep (resume, clean) reads the file, aborts every store/token still
 * open through the store's abort_pending slot, and rewrites the file (temp
 * + rename) with only what failed in a way worth trying again.
 *
 * Invariants: at most OPEN_MAX records open at once in a file being swept,
 * lines at most LINE_MAX bytes (longer: the file is refused, not trusted in
 * part). Threading: see jobpend.h. */
#include "jobs/jobpend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#define LINE_MAX_ 16384
#define OPEN_MAX 100000

struct jobpend {
    pthread_mutex_t lock;
    int fd;                 /* -1 until the first record */
    char path[4200];
    char store[1024];       /* escaped "scheme://authority" of the target */
    bool broken;            /* a write failed: every later open fails too */
};

/* %XX-escape s into out (cap bytes, NUL-terminated); false if it does not fit. */
static bool esc(const char *s, char *out, size_t cap)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '%') {
            if (n + 4 > cap)
                return false;
            out[n++] = '%';
            out[n++] = hx[*p >> 4];
            out[n++] = hx[*p & 15];
        } else {
            if (n + 2 > cap)
                return false;
            out[n++] = (char)*p;
        }
    }
    if (n + 1 > cap)
        return false;
    out[n] = 0;
    return true;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
         : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Undo esc() in place; false when malformed (or it would hold a NUL). */
static bool unesc(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p == '%') {
            int a = hexv(p[1]), b = a < 0 ? -1 : hexv(p[2]);
            if (a < 0 || b < 0 || (a | b) == 0)
                return false;
            *w++ = (char)(a * 16 + b);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = 0;
    return true;
}

struct jobpend *jobpend_new(const char *dir)
{
    struct jobpend *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->fd = -1;
    snprintf(p->path, sizeof p->path, "%s/pending", dir);
    return p;
}

bool jobpend_exists(const struct jobpend *p)
{
    return access(p->path, F_OK) == 0;
}

void jobpend_free(struct jobpend *p)
{
    if (!p)
        return;
    if (p->fd >= 0)
        close(p->fd);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int jobpend_note(struct jobpend *p, const struct be_fs *tfs, const char *token, bool opened,
                 struct errinfo *ei)
{
    char *line = NULL, tok[LINE_MAX_ / 2];
    int rc = ERR_OK;
    pthread_mutex_lock(&p->lock);
    if (!p->store[0]) {
        char s[900];
        snprintf(s, sizeof s, "%s://%s", tfs->scheme, tfs->authority);
        if (!esc(s, p->store, sizeof p->store)) {
            rc = err_setx(ei, ERR_TOO_LONG, "cannot record an open upload in '%s': the store "
                          "name is too long", p->path);
            goto out;
        }
    }
    if (!esc(token, tok, sizeof tok)) {
        rc = err_setx(ei, ERR_TOO_LONG, "cannot record an open upload in '%s': its token is "
                      "too long", p->path);
        goto out;
    }
    if (p->broken) {
        rc = err_setx(ei, ERR_IO, "cannot record an open upload in '%s': an earlier write "
                      "failed", p->path);
        goto out;
    }
    if (p->fd < 0 && (p->fd = open(p->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                                   0600)) < 0) {
        rc = err_setx(ei, ERR_IO, "cannot record an open upload in '%s': %s", p->path,
                      strerror(errno));
        goto out;
    }
    int n = asprintf(&line, "%s %s %s\n", opened ? "open" : "done", p->store, tok);
    if (n < 0) {
        line = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot record an open upload: out of memory");
        goto out;
    }
    if (write(p->fd, line, (size_t)n) != n || (opened && fdatasync(p->fd))) {
        rc = err_setx(ei, ERR_IO, "cannot record an open upload in '%s': %s", p->path,
                      strerror(errno));
        p->broken = true;
    }
out:
    pthread_mutex_unlock(&p->lock);
    free(line);
    return rc;
}

/* Sweep ------------------------------------------------------------------ */

struct rec {
    char *store, *token;    /* unescaped */
};

static void say(jobpend_say_fn fn, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(jobpend_say_fn fn, void *arg, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(arg, buf);
}

/* Read the open records of `path` into *recs. */
static int load(const char *path, struct rec **recs, size_t *n, struct errinfo *ei)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, ncap = 0;
    ssize_t len;
    int rc = ERR_OK;
    *recs = NULL;
    *n = 0;
    if (!f)
        return errno == ENOENT ? ERR_OK
             : err_setx(ei, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n')
            break;              /* torn last line: never acted upon */
        if (len > LINE_MAX_) {
            rc = err_setx(ei, ERR_LIMIT, "cannot read '%s': a line over %d bytes", path,
                          LINE_MAX_);
            goto out;
        }
        line[len - 1] = 0;
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp2 || strchr(sp2 + 1, ' ')) {
            rc = err_setx(ei, ERR_PROTOCOL, "cannot read '%s': a malformed line", path);
            goto out;
        }
        *sp1 = *sp2 = 0;
        char *st = sp1 + 1, *tk = sp2 + 1;
        bool open = !strcmp(line, "open");
        if ((!open && strcmp(line, "done")) || !unesc(st) || !unesc(tk) || !*st || !*tk) {
            rc = err_setx(ei, ERR_PROTOCOL, "cannot read '%s': a malformed line", path);
            goto out;
        }
        if (!open) {
            for (size_t i = *n; i-- > 0;)
                if (!strcmp((*recs)[i].token, tk) && !strcmp((*recs)[i].store, st)) {
                    free((*recs)[i].store);
                    free((*recs)[i].token);
                    (*recs)[i] = (*recs)[--*n];
                    break;
                }
            continue;
        }
        if (*n == OPEN_MAX) {
            rc = err_setx(ei, ERR_LIMIT, "cannot read '%s': more than %d open uploads", path,
                          OPEN_MAX);
            goto out;
        }
        if (*n == ncap) {
            size_t nc = ncap ? ncap * 2 : 16;
            struct rec *r = realloc(*recs, nc * sizeof *r);
            if (!r) {
                rc = err_setx(ei, ERR_NOMEM, "cannot read '%s': out of memory", path);
                goto out;
            }
            *recs = r;
            ncap = nc;
        }
        struct rec *r = &(*recs)[*n];
        r->store = strdup(st);
        r->token = strdup(tk);
        ++*n;
        if (!r->store || !r->token) {
            rc = err_setx(ei, ERR_NOMEM, "cannot read '%s': out of memory", path);
            goto out;
        }
    }
    if (ferror(f))
        rc = err_setx(ei, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
out:
    free(line);
    fclose(f);
    return rc;
}

/* Replace `path` with the records still open (none: remove it). */
static int rewrite(const char *path, const struct rec *recs, size_t n, const bool *keep,
                   struct errinfo *ei)
{
    char tmp[4300], a[LINE_MAX_ / 2], b[LINE_MAX_ / 2];
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        kept += keep[i];
    if (!kept)
        return unlink(path) && errno != ENOENT
             ? err_setx(ei, ERR_IO, "cannot remove '%s': %s", path, strerror(errno)) : ERR_OK;
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return err_setx(ei, ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
    for (size_t i = 0; i < n; i++)
        if (keep[i] && esc(recs[i].store, a, sizeof a) && esc(recs[i].token, b, sizeof b))
            fprintf(f, "open %s %s\n", a, b);
    bool bad = fflush(f) || fdatasync(fileno(f));
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return err_setx(ei, ERR_IO, "cannot write '%s': %s", path, strerror(e));
    }
    return ERR_OK;
}

int jobpend_sweep(const char *dir, const struct be_config *cfg, jobpend_say_fn fn, void *arg,
                  unsigned *aborted, unsigned *left, struct errinfo *ei)
{
    char path[4200];
    struct rec *recs = NULL;
    bool *keep = NULL;
    size_t n = 0;
    int rc;
    *aborted = *left = 0;
    snprintf(path, sizeof path, "%s/pending", dir);
    if ((rc = load(path, &recs, &n, ei)) || !n)
        goto out;
    if (!(keep = calloc(n, sizeof *keep))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot abort open uploads: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct be_fs *fs = NULL;
        char *p = NULL, uri[1100];
        struct errinfo e2 = {0};
        snprintf(uri, sizeof uri, "%s/", recs[i].store);
        int r = backend_open_uri(uri, cfg, &fs, &p, &e2);
        if (!r && !fs->ops->abort_pending)
            r = err_setx(&e2, ERR_UNSUPPORTED, "cannot abort an open upload on '%s': the "
                         "store has no way to", recs[i].store);
        if (!r)
            r = fs->ops->abort_pending(fs, recs[i].token, &e2);
        if (r == ERR_OK) {
            say(fn, arg, "aborted the open upload %s on %s", recs[i].token, recs[i].store);
            ++*aborted;
        } else if (r == ERR_NOT_FOUND || r == ERR_UNSUPPORTED) {
            /* gone already, or nothing anyone can do: not tried again */
            say(fn, arg, "%s%s", e2.msg, r == ERR_UNSUPPORTED ? "; its parts stay on the "
                "server" : "");
            ++*aborted;
        } else {
            say(fn, arg, "%s (tried again later)", e2.msg);
            keep[i] = true;
            ++*left;
        }
        free(p);
        backend_close(fs);
    }
    rc = rewrite(path, recs, n, keep, ei);
out:
    for (size_t i = 0; i < n; i++) {
        free(recs[i].store);
        free(recs[i].token);
    }
    free(recs);
    free(keep);
    return rc;
}
