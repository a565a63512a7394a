/* store.c - the SQLite job store (see store.h for where it lives, its
 * permissions and its concurrency rules).
 *
 * Schema history (PRAGMA user_version), applied in order on open:
 *   1: jobs, runs
 *   2: errors (per-run messages) and jobs.cancel_requested
 * Every migration runs inside one transaction with the version bump, so a
 * store is always at a whole version.
 *
 * Threading: a mutex serialises every call on one struct jstore. */
#include "jobs/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/path.h"

struct jstore {
    sqlite3 *db;
    char path[4096];
    char dir[4096];
    pthread_mutex_t lock;
};

static const char *const state_names[JS__COUNT] = {
    "PENDING", "LISTING", "COPYING", "COMMITTING", "SUCCEEDED", "FAILED", "CANCELLED", "KILLED",
};

const char *jstate_name(enum jstate s)
{
    return (unsigned)s < JS__COUNT ? state_names[s] : "UNKNOWN";
}

int jstate_parse(const char *s)
{
    for (int i = 0; i < JS__COUNT; i++)
        if (!strcasecmp(s, state_names[i]))
            return i;
    return -1;
}

bool jstate_active(enum jstate s)
{
    return s == JS_PENDING || s == JS_LISTING || s == JS_COPYING || s == JS_COMMITTING;
}

double jstore_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t jstore_proc_start(int pid)
{
    char p[64], buf[4096];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* the command name may hold spaces and parentheses: fields start after the last ')' */
    char *s = strrchr(buf, ')');
    if (!s)
        return 0;
    s++;
    /* field 3 is the state; starttime is field 22 */
    int field = 2;
    for (char *t = s; *t; t++) {
        if (*t == ' ') {
            field++;
            if (field == 22)
                return strtoll(t + 1, NULL, 10);
        }
    }
    return 0;
}

void jstore_boot_id(char *buf, size_t n)
{
    buf[0] = 0;
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r < 0)
        r = 0;
    buf[r] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
}

void jrow_release(struct jrow *r)
{
    free(r->argv_json);
    free(r->cwd);
    free(r->host);
    free(r->boot_id);
    free(r->error);
    free(r->counters_json);
    free(r->setup_json);
    memset(r, 0, sizeof *r);
}

void jrun_release(struct jrun *r)
{
    free(r->counters_json);
    memset(r, 0, sizeof *r);
}

int jstore_path(const char *explicit_path, char *buf, size_t n, struct errinfo *ei)
{
    const char *e = explicit_path && *explicit_path ? explicit_path : getenv("DISTCP_JOB_STORE");
    int w;
    if (e && *e) {
        w = snprintf(buf, n, "%s", e);
    } else {
        const char *x = getenv("XDG_STATE_HOME");
        const char *h = getenv("HOME");
        if (x && *x == '/')
            w = snprintf(buf, n, "%s/distcp/jobs.db", x);
        else if (h && *h)
            w = snprintf(buf, n, "%s/.local/state/distcp/jobs.db", h);
        else
            return err_setx(ei, ERR_INVAL, "cannot place the job store: neither XDG_STATE_HOME nor HOME is set "
                                           "(give --job-store PATH or DISTCP_JOB_STORE)");
    }
    if (w < 0 || (size_t)w >= n)
        return err_setx(ei, ERR_TOO_LONG, "job store path too long");
    return ERR_OK;
}

/* mkdir -p with mode 0700 for what we create */
static int mkdirs_private(const char *dir, struct errinfo *ei)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0700) && errno != EEXIST)
                return err_sys(ei, errno, "cannot create job store directory '%s'", p);
            *s = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return err_setx(ei, ERR_NOT_DIR, "job store directory '%s' is not a directory", dir);
    return ERR_OK;
}

static int db_err(struct jstore *s, int rc, struct errinfo *ei, const char *what)
{
    const char *m = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int prim = rc & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return err_setx(ei, ERR_BUSY, "job store '%s' is locked by another process (%s): %s", s->path, what, m);
    if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
        return err_setx(ei, ERR_IO, "job store '%s' is not a valid database (corrupted?): %s; "
                        "move it away to start a new one", s->path, m);
    if (prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN || prim == SQLITE_PERM)
        return err_setx(ei, ERR_ACCESS, "job store '%s' cannot be written (%s): %s", s->path, what, m);
    if (prim == SQLITE_FULL)
        return err_setx(ei, ERR_NO_SPACE, "job store '%s': disk full (%s)", s->path, what);
    return err_setx(ei, ERR_IO, "job store '%s': %s: %s", s->path, what, m);
}

static int exec_sql(struct jstore *s, const char *sql, struct errinfo *ei)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? ERR_OK : db_err(s, rc, ei, "update");
}

static const char *const migrations[JSTORE_SCHEMA] = {
    /* 1 */
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " state INTEGER NOT NULL,"
    " argv TEXT NOT NULL, cwd TEXT NOT NULL, host TEXT, pid INTEGER DEFAULT 0,"
    " pid_start INTEGER DEFAULT 0, boot_id TEXT,"
    " created REAL NOT NULL, started REAL DEFAULT 0, updated REAL DEFAULT 0,"
    " heartbeat REAL DEFAULT 0, ended REAL DEFAULT 0,"
    " exit_code INTEGER DEFAULT -1, runs INTEGER DEFAULT 0, async INTEGER DEFAULT 0,"
    " dry_run INTEGER DEFAULT 0, error TEXT, counters TEXT, setup TEXT);"
    "CREATE TABLE runs ("
    " job_id INTEGER NOT NULL, run INTEGER NOT NULL, started REAL, ended REAL DEFAULT 0,"
    " state INTEGER, exit_code INTEGER DEFAULT -1, dry_run INTEGER DEFAULT 0, counters TEXT,"
    " PRIMARY KEY (job_id, run));",
    /* 2 */
    "CREATE TABLE errors (job_id INTEGER NOT NULL, run INTEGER NOT NULL, msg TEXT NOT NULL);"
    "CREATE INDEX errors_job ON errors (job_id, run);"
    "ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER DEFAULT 0;",
};

static int migrate(struct jstore *s, struct errinfo *ei)
{
    int rc, v = 0;
    sqlite3_stmt *st = NULL;
    /* take the write lock first, so two processes never migrate at once */
    if ((rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
        return db_err(s, rc, ei, "open");
    if ((rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL)) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = db_err(s, rc ? rc : sqlite3_errcode(s->db), ei, "read schema version");
        goto fail;
    }
    v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (v > JSTORE_SCHEMA) {
        rc = err_setx(ei, ERR_UNSUPPORTED, "job store '%s' has schema version %d, written by a newer distcp "
                      "(this one knows up to %d); it was left untouched", s->path, v, JSTORE_SCHEMA);
        goto fail;
    }
    for (int k = v; k < JSTORE_SCHEMA; k++) {
        char sql[64];
        if ((rc = exec_sql(s, migrations[k], ei)))
            goto fail;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", k + 1);
        if ((rc = exec_sql(s, sql, ei)))
            goto fail;
    }
    if ((rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
        return db_err(s, rc, ei, "migrate");
    return ERR_OK;
fail:
    sqlite3_finalize(st);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int jstore_open(const char *path, struct jstore **out, struct errinfo *ei)
{
    int rc;
    *out = NULL;
    struct jstore *s = calloc(1, sizeof *s);
    if (!s)
        return err_setx(ei, ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->path, sizeof s->path, "%s", path);
    char *parent = path_parent(path);
    snprintf(s->dir, sizeof s->dir, "%s", parent ? parent : ".");
    free(parent);
    if ((rc = mkdirs_private(s->dir, ei)))
        goto fail;
    /* owner-only from the first byte: the db, its -wal and -shm files */
    mode_t old = umask(077);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (fd < 0) {
        umask(old);
        rc = err_sys(ei, e, "cannot open job store '%s'", path);
        goto fail;
    }
    int sr = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (sr == SQLITE_OK) {
        sqlite3_busy_timeout(s->db, 5000);
        sqlite3_extended_result_codes(s->db, 1);
        /* a store from a newer distcp is refused before anything (even the
         * journal mode) is written to it; a corrupted file fails here */
        sqlite3_stmt *st = NULL;
        sr = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
        if (sr == SQLITE_OK) {
            int step = sqlite3_step(st);
            int v = step == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
            sr = step == SQLITE_ROW ? SQLITE_OK : step;
            sqlite3_finalize(st);
            if (sr == SQLITE_OK && v > JSTORE_SCHEMA) {
                umask(old);
                rc = err_setx(ei, ERR_UNSUPPORTED, "job store '%s' has schema version %d, written by a newer "
                              "distcp (this one knows up to %d); it was left untouched", path, v, JSTORE_SCHEMA);
                goto fail;
            }
        }
    }
    if (sr == SQLITE_OK) {
        sr = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                          NULL, NULL, NULL);
    }
    if (sr != SQLITE_OK) {
        umask(old);
        rc = db_err(s, sr, ei, "open");
        goto fail;
    }
    rc = migrate(s, ei);
    umask(old);
    if (rc)
        goto fail;
    *out = s;
    return ERR_OK;
fail:
    if (s->db)
        sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return rc;
}

void jstore_close(struct jstore *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *jstore_file(const struct jstore *s)
{
    return s->path;
}

void jstore_job_dir(const struct jstore *s, int64_t id, char *buf, size_t n)
{
    snprintf(buf, n, "%s/jobs/%lld", s->dir, (long long)id);
}

/* ------------------------------------------------------------ statements */

/* Bind arguments described by `types`: 'i' int64, 'd' double, 't' text
 * (NULL binds NULL). Step once. With `row`, the first result row is left
 * in *out_st for the caller (who finalizes). */
static int run_sql(struct jstore *s, const char *sql, const char *types, struct errinfo *ei,
                   sqlite3_stmt **out_st, ...)
{
    va_list ap;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_err(s, rc, ei, "prepare");
    va_start(ap, out_st);
    for (int k = 0; types[k]; k++) {
        switch (types[k]) {
        case 'i':
            sqlite3_bind_int64(st, k + 1, va_arg(ap, int64_t));
            break;
        case 'd':
            sqlite3_bind_double(st, k + 1, va_arg(ap, double));
            break;
        default: {
            const char *t = va_arg(ap, const char *);
            if (t)
                sqlite3_bind_text(st, k + 1, t, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, k + 1);
        }
        }
    }
    va_end(ap);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && out_st) {
        *out_st = st;
        return ERR_OK;
    }
    if (out_st)
        *out_st = NULL;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        int r = db_err(s, rc, ei, "update");
        sqlite3_finalize(st);
        return r;
    }
    sqlite3_finalize(st);
    return out_st ? ERR_NOT_FOUND : ERR_OK;
}

static char *col_text(sqlite3_stmt *st, int c)
{
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? strdup((const char *)t) : NULL;
}

#define JOB_COLS "id, state, argv, cwd, host, pid, pid_start, boot_id, created, started, updated, " \
                 "heartbeat, ended, exit_code, runs, async, dry_run, error, counters, setup, cancel_requested"

static void row_from(sqlite3_stmt *st, struct jrow *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->state = (enum jstate)sqlite3_column_int(st, 1);
    r->argv_json = col_text(st, 2);
    r->cwd = col_text(st, 3);
    r->host = col_text(st, 4);
    r->pid = sqlite3_column_int(st, 5);
    r->pid_start = sqlite3_column_int64(st, 6);
    r->boot_id = col_text(st, 7);
    r->created = sqlite3_column_double(st, 8);
    r->started = sqlite3_column_double(st, 9);
    r->updated = sqlite3_column_double(st, 10);
    r->heartbeat = sqlite3_column_double(st, 11);
    r->ended = sqlite3_column_double(st, 12);
    r->exit_code = sqlite3_column_int(st, 13);
    r->runs = sqlite3_column_int(st, 14);
    r->async = sqlite3_column_int(st, 15) != 0;
    r->dry_run = sqlite3_column_int(st, 16) != 0;
    r->error = col_text(st, 17);
    r->counters_json = col_text(st, 18);
    r->setup_json = col_text(st, 19);
    r->cancel_requested = sqlite3_column_int(st, 20) != 0;
}

int jstore_create(struct jstore *s, const char *argv_json, const char *cwd, bool async,
                  bool dry_run, int64_t *id, struct errinfo *ei)
{
    pthread_mutex_lock(&s->lock);
    double now = jstore_now();
    int rc = run_sql(s, "INSERT INTO jobs (state, argv, cwd, created, updated, async, dry_run) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", "ittddii", ei, NULL,
                     (int64_t)JS_PENDING, argv_json, cwd, now, now, (int64_t)async, (int64_t)dry_run);
    if (!rc)
        *id = sqlite3_last_insert_rowid(s->db);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_get(struct jstore *s, int64_t id, struct jrow *r, struct errinfo *ei)
{
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->lock);
    int rc = run_sql(s, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", "i", ei, &st, id);
    if (rc == ERR_NOT_FOUND)
        err_setx(ei, ERR_NOT_FOUND, "no job %lld in job store '%s'", (long long)id, s->path);
    if (!rc) {
        row_from(st, r);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_list(struct jstore *s, struct jrow **rows, size_t *n, struct errinfo *ei)
{
    sqlite3_stmt *st = NULL;
    int rc = ERR_OK, sr;
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    if ((sr = sqlite3_prepare_v2(s->db, "SELECT " JOB_COLS " FROM jobs ORDER BY id DESC", -1, &st, NULL))) {
        rc = db_err(s, sr, ei, "list");
        goto out;
    }
    while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct jrow *g = realloc(*rows, nc * sizeof *g);
            if (!g) {
                rc = err_setx(ei, ERR_NOMEM, "out of memory");
                goto out;
            }
            *rows = g;
            cap = nc;
        }
        row_from(st, &(*rows)[(*n)++]);
    }
    if (sr != SQLITE_DONE)
        rc = db_err(s, sr, ei, "list");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_runs(struct jstore *s, int64_t id, struct jrun **runs, size_t *n, struct errinfo *ei)
{
    sqlite3_stmt *st = NULL;
    int rc = ERR_OK, sr;
    size_t cap = 0;
    *runs = NULL;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    if ((sr = sqlite3_prepare_v2(s->db, "SELECT run, started, ended, state, exit_code, dry_run, counters "
                                        "FROM runs WHERE job_id = ? ORDER BY run", -1, &st, NULL))) {
        rc = db_err(s, sr, ei, "runs");
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct jrun *g = realloc(*runs, nc * sizeof *g);
            if (!g) {
                rc = err_setx(ei, ERR_NOMEM, "out of memory");
                goto out;
            }
            *runs = g;
            cap = nc;
        }
        struct jrun *r = &(*runs)[(*n)++];
        r->job_id = id;
        r->run = sqlite3_column_int(st, 0);
        r->started = sqlite3_column_double(st, 1);
        r->ended = sqlite3_column_double(st, 2);
        r->state = (enum jstate)sqlite3_column_int(st, 3);
        r->exit_code = sqlite3_column_int(st, 4);
        r->dry_run = sqlite3_column_int(st, 5) != 0;
        r->counters_json = col_text(st, 6);
    }
    if (sr != SQLITE_DONE)
        rc = db_err(s, sr, ei, "runs");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_errors(struct jstore *s, int64_t id, int run, char ***msgs, size_t *n,
                  struct errinfo *ei)
{
    sqlite3_stmt *st = NULL;
    int rc = ERR_OK, sr;
    *msgs = NULL;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    if ((sr = sqlite3_prepare_v2(s->db, "SELECT msg FROM errors WHERE job_id = ? AND run = ? ORDER BY rowid",
                                 -1, &st, NULL))) {
        rc = db_err(s, sr, ei, "errors");
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, run);
    while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
        char **g = realloc(*msgs, (*n + 1) * sizeof *g);
        if (!g) {
            rc = err_setx(ei, ERR_NOMEM, "out of memory");
            goto out;
        }
        *msgs = g;
        g[(*n)++] = col_text(st, 0);
    }
    if (sr != SQLITE_DONE)
        rc = db_err(s, sr, ei, "errors");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static bool pid_zombie(int pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    char *s = strrchr(buf, ')');
    return s && (s[2] == 'Z' || s[2] == 'X');
}

static bool pid_alive(int pid, int64_t start)
{
    if (pid <= 0)
        return false;
    if (kill(pid, 0) && errno == ESRCH)
        return false;
    if (pid_zombie(pid))
        return false;           /* killed, not reaped yet */
    int64_t now = jstore_proc_start(pid);
    return !start || !now || now == start;
}

/* Is the process recorded in r running now? false when it is certainly
 * gone; true when alive or unknowable from here (another host: heartbeat). */
static bool owner_alive(const struct jrow *r, double stale_s)
{
    char host[256] = "", boot[64];
    gethostname(host, sizeof host - 1);
    jstore_boot_id(boot, sizeof boot);
    if (r->host && !strcmp(r->host, host)) {
        if (r->boot_id && *r->boot_id && *boot && strcmp(r->boot_id, boot))
            return false;            /* the machine restarted since */
        return pid_alive(r->pid, r->pid_start);
    }
    double hb = r->heartbeat > r->started ? r->heartbeat : r->started;
    return hb <= 0 || jstore_now() - hb < stale_s;
}

bool jstore_check_alive(struct jstore *s, struct jrow *r, double stale_s)
{
    if (!jstate_active(r->state))
        return false;
    if (r->state == JS_PENDING && r->pid == 0)
        return false;                /* submitted, not started yet */
    if (owner_alive(r, stale_s))
        return false;
    struct errinfo ei = {0};
    pthread_mutex_lock(&s->lock);
    int rc = run_sql(s, "UPDATE jobs SET state = ?, updated = ?, pid = 0 WHERE id = ? AND pid = ? AND state = ?",
                     "idiii", &ei, NULL, (int64_t)JS_KILLED, jstore_now(), r->id, (int64_t)r->pid,
                     (int64_t)r->state);
    if (!rc)
        run_sql(s, "UPDATE runs SET state = ?, ended = ? WHERE job_id = ? AND run = ? AND ended = 0",
                "idii", &ei, NULL, (int64_t)JS_KILLED, jstore_now(), r->id, (int64_t)r->runs);
    pthread_mutex_unlock(&s->lock);
    if (rc)
        return false;
    r->state = JS_KILLED;
    r->pid = 0;
    return true;
}

int jstore_claim(struct jstore *s, int64_t id, enum jstate state, bool dry_run, int *run,
                 struct errinfo *ei)
{
    int rc;
    sqlite3_stmt *st = NULL;
    struct jrow r;
    char host[256] = "", boot[64];
    gethostname(host, sizeof host - 1);
    jstore_boot_id(boot, sizeof boot);
    pthread_mutex_lock(&s->lock);
    int sr = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (sr != SQLITE_OK) {
        rc = db_err(s, sr, ei, "claim");
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    rc = run_sql(s, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", "i", ei, &st, id);
    if (rc == ERR_NOT_FOUND)
        err_setx(ei, ERR_NOT_FOUND, "no job %lld in job store '%s'", (long long)id, s->path);
    if (rc)
        goto fail;
    row_from(st, &r);
    sqlite3_finalize(st);
    bool busy = r.pid && r.pid != getpid() && jstate_active(r.state) && owner_alive(&r, 60);
    jrow_release(&r);
    if (busy) {
        rc = err_setx(ei, ERR_BUSY, "job %lld is being run by another process", (long long)id);
        goto fail;
    }
    double now = jstore_now();
    if ((rc = run_sql(s, "UPDATE jobs SET state = ?, pid = ?, pid_start = ?, boot_id = ?, host = ?, "
                         "started = ?, updated = ?, heartbeat = ?, ended = 0, runs = runs + 1, "
                         "dry_run = ?, cancel_requested = 0, error = NULL WHERE id = ?",
                      "iiittdddii", ei, NULL, (int64_t)state, (int64_t)getpid(),
                      jstore_proc_start(getpid()), boot, host, now, now, now, (int64_t)dry_run, id)))
        goto fail;
    if ((rc = run_sql(s, "SELECT runs FROM jobs WHERE id = ?", "i", ei, &st, id)))
        goto fail;
    *run = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if ((rc = run_sql(s, "INSERT INTO runs (job_id, run, started, state, dry_run) VALUES (?, ?, ?, ?, ?)",
                      "iidii", ei, NULL, id, (int64_t)*run, now, (int64_t)state, (int64_t)dry_run)))
        goto fail;
    if ((sr = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
        rc = db_err(s, sr, ei, "claim");
        goto fail;
    }
    pthread_mutex_unlock(&s->lock);
    return ERR_OK;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_set_state(struct jstore *s, int64_t id, enum jstate state, struct errinfo *ei)
{
    pthread_mutex_lock(&s->lock);
    int rc = run_sql(s, "UPDATE jobs SET state = ?, updated = ? WHERE id = ?", "idi", ei, NULL,
                     (int64_t)state, jstore_now(), id);
    if (!rc)
        rc = run_sql(s, "UPDATE runs SET state = ? WHERE job_id = ? AND run = (SELECT runs FROM jobs WHERE id = ?)",
                     "iii", ei, NULL, (int64_t)state, id, id);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_heartbeat(struct jstore *s, int64_t id, const char *counters_json, struct errinfo *ei)
{
    pthread_mutex_lock(&s->lock);
    double now = jstore_now();
    int rc = run_sql(s, "UPDATE jobs SET heartbeat = ?, updated = ?, counters = ? WHERE id = ?", "ddti",
                     ei, NULL, now, now, counters_json, id);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_set_setup(struct jstore *s, int64_t id, const char *setup_json, struct errinfo *ei)
{
    pthread_mutex_lock(&s->lock);
    int rc = run_sql(s, "UPDATE jobs SET setup = ?, updated = ? WHERE id = ?", "tdi", ei, NULL,
                     setup_json, jstore_now(), id);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_add_error(struct jstore *s, int64_t id, int run, const char *msg, struct errinfo *ei)
{
    pthread_mutex_lock(&s->lock);
    int rc = run_sql(s, "INSERT INTO errors (job_id, run, msg) VALUES (?, ?, ?)", "iit", ei, NULL,
                     id, (int64_t)run, msg);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_finish(struct jstore *s, int64_t id, int run, enum jstate state, int exit_code,
                  const char *error, const char *counters_json, struct errinfo *ei)
{
    pthread_mutex_lock(&s->lock);
    double now = jstore_now();
    int rc = run_sql(s, "UPDATE jobs SET state = ?, exit_code = ?, error = ?, counters = ?, ended = ?, "
                        "updated = ?, heartbeat = ?, pid = 0 WHERE id = ?",
                     "iittdddi", ei, NULL, (int64_t)state, (int64_t)exit_code, error, counters_json,
                     now, now, now, id);
    if (!rc)
        rc = run_sql(s, "UPDATE runs SET state = ?, exit_code = ?, counters = ?, ended = ? "
                        "WHERE job_id = ? AND run = ?", "iitdii", ei, NULL, (int64_t)state,
                     (int64_t)exit_code, counters_json, now, id, (int64_t)run);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_request_cancel(struct jstore *s, int64_t id, struct errinfo *ei)
{
    pthread_mutex_lock(&s->lock);
    int rc = run_sql(s, "UPDATE jobs SET cancel_requested = 1, updated = ? WHERE id = ?", "di", ei, NULL,
                     jstore_now(), id);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int jstore_delete(struct jstore *s, int64_t id, struct errinfo *ei)
{
    pthread_mutex_lock(&s->lock);
    int rc = exec_sql(s, "BEGIN IMMEDIATE", ei);
    if (!rc)
        rc = run_sql(s, "DELETE FROM errors WHERE job_id = ?", "i", ei, NULL, id);
    if (!rc)
        rc = run_sql(s, "DELETE FROM runs WHERE job_id = ?", "i", ei, NULL, id);
    if (!rc)
        rc = run_sql(s, "DELETE FROM jobs WHERE id = ?", "i", ei, NULL, id);
    if (!rc)
        rc = exec_sql(s, "COMMIT", ei);
    else
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->lock);
    return rc;
}
