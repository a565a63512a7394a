/* cli.c - parse and validate the copy command line (spec/distcp.md Part A 1-3,
 * Part B §1, §11, §12).
 *
 * Three steps: tokenize() walks argv once (GNU style: options anywhere, "--"
 * ends them) and collects trimmed copies of every value; validate() applies
 * the checks of B §1.3 rules 1-17 in the order listed there, each failure
 * giving Hadoop's message; fill() moves the results into struct options.
 * A value option given twice keeps its first value, as Hadoop's
 * CommandLine.getOptionValue() does; -D and --exclude accumulate.
 *
 * Invariants: argv is never modified; every string stored in struct options
 * is a heap copy trimmed like Java's String.trim(). Every array is bounded by
 * argc. Threading: no global mutable state; reentrant. */
#include "cmd/cli.h"
#include "cmd/cmd.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
    OPT_I, OPT_P, OPT_UPDATE, OPT_OVERWRITE, OPT_APPEND, OPT_DELETE, OPT_UPDATE_ROOT,
    OPT_DIFF, OPT_RDIFF, OPT_F, OPT_FILTERS, OPT_ATOMIC, OPT_TMP, OPT_LOG, OPT_V, OPT_M,
    OPT_STRATEGY, OPT_BANDWIDTH, OPT_LIST_THREADS, OPT_USE_ITERATOR, OPT_SKIPCRC,
    OPT_BLOCKS_PER_CHUNK, OPT_COPY_BUFFER, OPT_DIRECT, OPT_XTRACK, OPT_ASYNC,
    OPT_FILELIMIT, OPT_SIZELIMIT, OPT_DEFINE,
    OPT_DRY_RUN, OPT_JSON, OPT_CHECKSUM, OPT_MAX_DELETE, OPT_TRASH, OPT_EXCLUDE, OPT_JOB_STORE,
    OPT_PROGRESS, OPT_NO_PROGRESS, OPT_GLOBAL_BW,
    OPT_HELP, OPT_VERSION,
    OPT__COUNT
};

/* nargs: 0 flag, 1 one value, 2 two values (-diff/-rdiff); -p is 0 with an
 * optional attached value. disp is the usage column (NULL: an alias). */
struct optdef {
    const char *name;
    enum opt_id id;
    int nargs;
    const char *disp;
    const char *help;
};

static const struct optdef optdefs[] = {
    /* Hadoop DistCp's options, spec B §1.2 */
    {"append", OPT_APPEND, 0, "-append",
     "With -update: append only the missing tail when the target is a prefix"},
    {"async", OPT_ASYNC, 0, "-async", "Run as a detached job: print its id and return at once (= distcp submit)"},
    {"atomic", OPT_ATOMIC, 0, "-atomic",
     "Copy into a temporary directory, rename it to the target at commit"},
    {"bandwidth", OPT_BANDWIDTH, 1, "-bandwidth <MB/s>",
     "Bandwidth per copy task in MB/s, fractions allowed (default: unlimited)"},
    {"blocksperchunk", OPT_BLOCKS_PER_CHUNK, 1, "-blocksperchunk <n>",
     "Split files of more than n blocks into chunks copied in parallel (0: off)"},
    {"copybuffersize", OPT_COPY_BUFFER, 1, "-copybuffersize <bytes>",
     "Size of the copy buffer (default: 1 MiB; Hadoop 8192)"},
    {"delete", OPT_DELETE, 0, "-delete",
     "Delete target files missing at the source (with -update/-overwrite)"},
    {"diff", OPT_DIFF, 2, "-diff <oldSnap> <newSnap>",
     "Sync by a snapshot diff oldSnap->newSnap (with -update; not available yet)"},
    {"direct", OPT_DIRECT, 0, "-direct", "Write straight to the target file: no temporary file + rename"},
    {"f", OPT_F, 1, "-f <urilist_uri>", "Read the source paths from this file, one per line"},
    {"filelimit", OPT_FILELIMIT, 1, "-filelimit <n>", "(Deprecated, ignored) Limit the number of files to <= n"},
    {"filters", OPT_FILTERS, 1, "-filters <file>",
     "Local file of regexes; paths fully matching any of them are not copied"},
    {"i", OPT_I, 0, "-i", "Ignore failures during copy"},
    {"log", OPT_LOG, 1, "-log <logdir>", "Directory where the per-task copy logs are kept"},
    {"m", OPT_M, 1, "-m <num_maps>", "Maximum number of simultaneous copies (default 20)"},
    {"numListstatusThreads", OPT_LIST_THREADS, 1, "-numListstatusThreads <n>",
     "Threads used to build the file listing (default 8, max 40)"},
    {"overwrite", OPT_OVERWRITE, 0, "-overwrite", "Overwrite target files unconditionally, even if they exist"},
    {"p", OPT_P, 0, "-p[rbugpcaxt]",
     "Preserve r:replication b:block size u:user g:group p:permission\n"
     "                              c:checksum type a:ACL x:XAttr t:timestamps (-p alone: rbugpct)"},
    {"rdiff", OPT_RDIFF, 2, "-rdiff <newSnap> <oldSnap>",
     "Roll the target back newSnap->oldSnap (with -update; not available yet)"},
    {"sizelimit", OPT_SIZELIMIT, 1, "-sizelimit <n>", "(Deprecated, ignored) Limit the total size to <= n bytes"},
    {"skipcrccheck", OPT_SKIPCRC, 0, "-skipcrccheck", "Skip checksum checks between source and target files"},
    {"strategy", OPT_STRATEGY, 1, "-strategy <name>", "Work distribution: uniformsize (default) or dynamic"},
    {"tmp", OPT_TMP, 1, "-tmp <tmp_dir>", "Work directory for -atomic (only with -atomic)"},
    {"update", OPT_UPDATE, 0, "-update", "Copy only files missing at the target or differing from it"},
    {"updateRoot", OPT_UPDATE_ROOT, 0, "-updateRoot",
     "Also apply the source root directory's attributes to the target root"},
    {"useiterator", OPT_USE_ITERATOR, 0, "-useiterator",
     "Build the listing with one thread and an iterator, to save memory"},
    {"v", OPT_V, 0, "-v", "Log additional info (path, size) in the SKIP/COPY log (only with -log)"},
    {"xtrack", OPT_XTRACK, 1, "-xtrack <dir>", "Save information about missing source files to this directory"},
    {"D", OPT_DEFINE, 1, "-D <key=value>", "Set a configuration key (e.g. -D distcp.copy.buffer.size=65536)"},
    /* ours, spec Part A 6 */
    {"checksum", OPT_CHECKSUM, 0, "--checksum",
     "With -update: compare file contents in full before skipping a file"},
    {"dry-run", OPT_DRY_RUN, 0, "--dry-run",
     "Report what would be copied, skipped and deleted; change nothing"},
    {"exclude", OPT_EXCLUDE, 1, "--exclude <regex>", "Do not copy paths fully matching this regex (repeatable)"},
    {"global-bandwidth", OPT_GLOBAL_BW, 1, "--global-bandwidth <MB/s>",
     "Bandwidth limit over all copy tasks together, in MB/s"},
    {"job-store", OPT_JOB_STORE, 1, "--job-store <path>",
     "Job store database (default $XDG_STATE_HOME/distcp/jobs.db; \"none\": do not record)"},
    {"json", OPT_JSON, 0, "--json", "Print a machine-readable JSON summary"},
    {"max-delete", OPT_MAX_DELETE, 1, "--max-delete <n>", "With -delete: refuse to delete more than n entries"},
    {"no-progress", OPT_NO_PROGRESS, 0, "--no-progress", "Never show the progress line"},
    {"progress", OPT_PROGRESS, 0, "--progress", "Show a live progress line (default: only on a terminal)"},
    {"trash", OPT_TRASH, 1, "--trash <dir>",
     "With -delete: move deleted entries into dir instead of removing them"},
    {"help", OPT_HELP, 0, "-h, --help", "Print this help and exit"},
    {"h", OPT_HELP, 0, NULL, NULL},
    {"version", OPT_VERSION, 0, "--version", "Print the version and exit"},
};
#define NOPTDEFS (sizeof(optdefs) / sizeof(optdefs[0]))

/* A classified option token. attached: value glued to -m, -p or -D, else NULL. */
struct tok {
    const struct optdef *def;
    const char *attached;
};

/* Everything tokenize() collects; owned heap copies, freed by pstate_release. */
struct pstate {
    bool seen[OPT__COUNT];
    char *val[OPT__COUNT];     /* first value of a one-value option */
    char *snap[2][2];          /* [0] -diff names, [1] -rdiff names */
    int nsnap[2];
    char **pos;                /* positional arguments, capacity argc */
    size_t npos;
    char parse_err[512];       /* first "Unable to parse arguments" (rule 4) */
};

#define DEF_COPY_BUFFER 8192
#define DEF_LIST_THREADS 1
#define MAX_LIST_THREADS 40

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Java String.trim(): drop leading and trailing chars <= ' '. */
static char *trimdup(const char *s)
{
    size_t n;

    while (*s && (unsigned char)*s <= ' ')
        s++;
    n = strlen(s);
    while (n > 0 && (unsigned char)s[n - 1] <= ' ')
        n--;
    return strndup(s, n);
}

static bool is_blank(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s > ' ')
            return false;
    return true;
}

static const struct optdef *lookup(const char *name)
{
    for (size_t i = 0; i < NOPTDEFS; i++)
        if (strcmp(optdefs[i].name, name) == 0)
            return &optdefs[i];
    return NULL;
}

/* Is t an option token? Names take one or two dashes; attached values
 * (-m10, -pugp, -Dk=v) only the single-dash short form. "--" is not. */
static bool classify(const char *t, struct tok *tk)
{
    const char *name;
    bool two = false;

    if (t[0] != '-' || t[1] == '\0')
        return false;
    name = t + 1;
    if (name[0] == '-') {
        name++;
        two = true;
    }
    if (name[0] == '\0')
        return false;
    tk->attached = NULL;
    tk->def = lookup(name);
    if (tk->def)
        return true;
    if (two)
        return false;
    /* Hadoop (commons-cli) splits "-mXYZ" into -m XYZ, so "-mabc" reports
     * "Number of maps is invalid: abc" as Hadoop does. */
    if (name[0] != 'm' && name[0] != 'p' && name[0] != 'D')
        return false;
    tk->def = lookup((char[]){name[0], '\0'});
    tk->attached = name + 1;
    return true;
}

/* A token that ends an option's values: "--" or any recognised option. A
 * negative number ("-5") is not an option, so it is a value. */
static bool is_opt_token(const char *t)
{
    struct tok tk;
    return strcmp(t, "--") == 0 || classify(t, &tk);
}

static void missing_arg(struct pstate *st, const char *name)
{
    if (!st->parse_err[0])
        snprintf(st->parse_err, sizeof(st->parse_err),
                 "Unable to parse arguments. Missing argument for option: %s", name);
}

/* -D key=value: appended to o->defs (capacity cap, bounded by argc). */
static int add_define(struct pstate *st, struct options *o, size_t cap, const char *raw)
{
    char *v = trimdup(raw), *eq, *key = NULL, *val = NULL;
    int rc = CLI_ERROR;

    if (!v)
        goto out;
    eq = strchr(v, '=');
    if (eq) {
        *eq = '\0';
        key = trimdup(v);
        val = trimdup(eq + 1);
        *eq = '=';
        if (!key || !val)
            goto out;
    }
    if (!eq || !key[0]) {
        if (!st->parse_err[0])
            snprintf(st->parse_err, sizeof(st->parse_err),
                     "Unable to parse arguments. Invalid -D property: %s", v);
        rc = CLI_OK;
        goto out;
    }
    if (!o->defs) {
        o->defs = calloc(cap, sizeof(*o->defs));
        if (!o->defs)
            goto out;
    }
    if (o->ndefs >= cap)
        goto out;
    o->defs[o->ndefs].key = key;
    o->defs[o->ndefs].value = val;
    o->ndefs++;
    key = val = NULL;
    rc = CLI_OK;
out:
    free(key);
    free(val);
    free(v);
    return rc;
}

static int add_exclude(struct options *o, size_t cap, const char *raw)
{
    char *v = trimdup(raw);

    if (!v)
        return CLI_ERROR;
    if (!o->excludes) {
        o->excludes = calloc(cap, sizeof(*o->excludes));
        if (!o->excludes) {
            free(v);
            return CLI_ERROR;
        }
    }
    if (o->nexcludes >= cap) {
        free(v);
        return CLI_ERROR;
    }
    o->excludes[o->nexcludes++] = v;
    return CLI_OK;
}

/* Walk argv once. Returns CLI_ERROR (with err) only for an unrecognised
 * option or out of memory; rule-4 parse errors are kept in st->parse_err. */
static int tokenize(struct pstate *st, int argc, char **argv, struct options *o,
                    char *err, size_t errlen)
{
    size_t cap = (size_t)argc + 1;
    bool opts_done = false;
    int rc = CLI_ERROR;

    st->pos = calloc(cap, sizeof(*st->pos));
    if (!st->pos)
        goto oom;
    for (int i = 0; i < argc; i++) {
        const char *t = argv[i];
        struct tok tk;
        const char *value = NULL;
        enum opt_id id;

        if (!opts_done && strcmp(t, "--") == 0) {
            opts_done = true;
            continue;
        }
        if (opts_done || t[0] != '-' || t[1] == '\0') {
            if (!(st->pos[st->npos] = trimdup(t)))
                goto oom;
            st->npos++;
            continue;
        }
        if (!classify(t, &tk)) {
            seterr(err, errlen, "Unrecognized option: %s", t);
            goto out;
        }
        id = tk.def->id;
        if (id == OPT_P) {
            if (!st->seen[OPT_P] && tk.attached && !(st->val[OPT_P] = trimdup(tk.attached)))
                goto oom;
            st->seen[OPT_P] = true;
            continue;
        }
        if (tk.def->nargs == 2) {
            int k = id == OPT_DIFF ? 0 : 1, n = 0;
            const char *names[2];

            while (n < 2 && i + 1 < argc && !is_opt_token(argv[i + 1]))
                names[n++] = argv[++i];
            if (n == 0) {
                missing_arg(st, tk.def->name);
                continue;
            }
            if (!st->seen[id]) {
                for (int j = 0; j < n; j++)
                    if (!(st->snap[k][j] = trimdup(names[j])))
                        goto oom;
                st->nsnap[k] = n;
            }
            st->seen[id] = true;
            continue;
        }
        if (tk.def->nargs == 0) {
            st->seen[id] = true;
            if (id == OPT_PROGRESS)
                o->progress = 1;
            else if (id == OPT_NO_PROGRESS)
                o->progress = 0;
            continue;
        }
        if (tk.attached && tk.attached[0])
            value = tk.attached;
        else if (i + 1 < argc && !is_opt_token(argv[i + 1]))
            value = argv[++i];
        if (!value) {
            missing_arg(st, tk.def->name);
            continue;
        }
        if (id == OPT_DEFINE) {
            if (add_define(st, o, cap, value) != CLI_OK)
                goto oom;
        } else if (id == OPT_EXCLUDE) {
            if (add_exclude(o, cap, value) != CLI_OK)
                goto oom;
        } else if (!st->seen[id]) {
            if (!(st->val[id] = trimdup(value)))
                goto oom;
        }
        st->seen[id] = true;
    }
    rc = CLI_OK;
    goto out;
oom:
    seterr(err, errlen, "out of memory");
out:
    return rc;
}

static void pstate_release(struct pstate *st)
{
    for (int i = 0; i < OPT__COUNT; i++)
        free(st->val[i]);
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++)
            free(st->snap[k][j]);
    for (size_t i = 0; i < st->npos; i++)
        free(st->pos[i]);
    free(st->pos);
}

/* ---- numbers, the Java way ---- */

/* Integer.parseInt: optional sign, decimal digits, int32 range. */
static bool java_int(const char *s, int *out)
{
    long long v = 0;
    bool neg = false;

    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        v = v * 10 + (*s - '0');
        if (v > (long long)INT_MAX + 1)
            return false;
    }
    if (neg)
        v = -v;
    if (v > INT_MAX || v < INT_MIN)
        return false;
    *out = (int)v;
    return true;
}

static const char *skip_digits(const char *s, bool hex, int *n)
{
    for (; hex ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s); s++)
        (*n)++;
    return s;
}

/* Float.parseFloat on an already trimmed string: [sign] (NaN | Infinity |
 * decimal [eE exp] | 0x hex p exp) [fFdD]. Rounded straight to float. */
static bool java_float(const char *s, float *out)
{
    const char *p = s;
    bool neg = false, hex = false;
    int ndig = 0;
    size_t body;
    char *num;
    locale_t cloc;
    bool ok = false;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (strcmp(p, "NaN") == 0) {
        *out = NAN;
        return true;
    }
    if (strcmp(p, "Infinity") == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return true;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        hex = true;
        p += 2;
    }
    p = skip_digits(p, hex, &ndig);
    if (*p == '.')
        p = skip_digits(p + 1, hex, &ndig);
    if (ndig == 0)
        return false;
    if (hex ? (*p == 'p' || *p == 'P') : (*p == 'e' || *p == 'E')) {
        int nexp = 0;
        p++;
        if (*p == '+' || *p == '-')
            p++;
        p = skip_digits(p, false, &nexp);
        if (nexp == 0)
            return false;
    } else if (hex) {
        return false; /* a hex float needs its binary exponent */
    }
    body = (size_t)(p - s);
    if (*p && strchr("fFdD", *p))
        p++;
    if (*p)
        return false;
    num = strndup(s, body); /* without the type suffix */
    cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); /* '.' whatever LC_NUMERIC says */
    if (num && cloc) {
        *out = strtof_l(num, NULL, cloc);
        ok = true;
    }
    if (cloc)
        freelocale(cloc);
    free(num);
    return ok;
}

/* Float.toString for the "Bandwidth <v> is invalid" message: shortest digits
 * that read back as the same float; plain notation for 1e-3 <= |v| < 1e7,
 * else d.dddE<n>. */
static void java_float_str(float v, char *buf, size_t len)
{
    char tmp[40], digits[16], *e;
    int exp, nd = 0;
    float av = fabsf(v);
    size_t o = 0;

    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, "%sInfinity", v < 0 ? "-" : "");
        return;
    }
    if (v == 0) {
        snprintf(buf, len, "%s0.0", signbit(v) ? "-" : "");
        return;
    }
    for (int p = 1; p <= 9; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, (double)av);
        if (strtof(tmp, NULL) == av)
            break;
    }
    e = strchr(tmp, 'e');
    exp = atoi(e + 1);
    for (const char *c = tmp; c < e; c++)
        if (isdigit((unsigned char)*c))
            digits[nd++] = *c;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    if (v < 0)
        tmp[o++] = '-';
    if (av >= 1e-3f && av < 1e7f) {
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++)
                tmp[o++] = i < nd ? digits[i] : '0';
            tmp[o++] = '.';
            if (exp + 1 < nd)
                for (int i = exp + 1; i < nd; i++)
                    tmp[o++] = digits[i];
            else
                tmp[o++] = '0';
        } else {
            tmp[o++] = '0';
            tmp[o++] = '.';
            for (int i = 0; i < -exp - 1; i++)
                tmp[o++] = '0';
            for (int i = 0; i < nd; i++)
                tmp[o++] = digits[i];
        }
        tmp[o] = '\0';
    } else {
        tmp[o++] = digits[0];
        tmp[o++] = '.';
        tmp[o] = '\0';
        snprintf(tmp + o, sizeof(tmp) - o, "%sE%d", nd > 1 ? digits + 1 : "0", exp);
    }
    snprintf(buf, len, "%s", tmp);
}

/* ---- validation, spec B §1.3 ---- */

/* The option's value if given, else the -D key's (spec B §11), else NULL. */
static const char *opt_or_def(const struct pstate *st, const struct options *o,
                              enum opt_id id, const char *key)
{
    if (st->val[id])
        return st->val[id];
    return key ? options_def(o, key) : NULL;
}

/* Rule 6: the numeric options, in Hadoop's order, with its clamps. */
static int check_numbers(struct pstate *st, struct options *o, char *err, size_t errlen)
{
    const char *v;
    float f;
    int n;

    if ((v = opt_or_def(st, o, OPT_BANDWIDTH, "distcp.map.bandwidth.mb"))) {
        if (!java_float(v, &f)) {
            seterr(err, errlen, "Bandwidth specified is invalid: %s", v);
            return CLI_ERROR;
        }
        if (!(f > 0)) {
            char fs[48];
            java_float_str(f, fs, sizeof(fs));
            seterr(err, errlen, "Bandwidth %s is invalid (should be > 0)", fs);
            return CLI_ERROR;
        }
        o->bandwidth_mb = f;
        o->bandwidth_set = true;
        o->given |= OPT_GIVEN(SET_BANDWIDTH);
    }
    if ((v = opt_or_def(st, o, OPT_LIST_THREADS, "distcp.liststatus.threads"))) {
        if (!java_int(v, &n)) {
            seterr(err, errlen, "Number of liststatus threads is invalid: %s", v);
            return CLI_ERROR;
        }
        o->list_threads = n > MAX_LIST_THREADS ? MAX_LIST_THREADS : n > 0 ? n : DEF_LIST_THREADS;
        if (n > 0)   /* <= 0: Hadoop's "use the default", so ours */
            o->given |= OPT_GIVEN(SET_LIST_THREADS);
    }
    if ((v = st->val[OPT_M])) {
        if (!java_int(v, &n)) {
            seterr(err, errlen, "Number of maps is invalid: %s", v);
            return CLI_ERROR;
        }
        o->max_maps = n < 1 ? 1 : n;
        o->given |= OPT_GIVEN(SET_MAPS);
    }
    if ((v = st->val[OPT_BLOCKS_PER_CHUNK])) {
        if (!java_int(v, &n)) {
            seterr(err, errlen, "blocksPerChunk is invalid: %s", v);
            return CLI_ERROR;
        }
        o->blocks_per_chunk = n > 0 ? n : 0;
    }
    if ((v = opt_or_def(st, o, OPT_COPY_BUFFER, "distcp.copy.buffer.size"))) {
        if (!java_int(v, &n)) {
            seterr(err, errlen, "copyBufferSize is invalid: %s", v);
            return CLI_ERROR;
        }
        o->copy_buffer_size = n > 0 ? n : DEF_COPY_BUFFER;
        if (n > 0)   /* <= 0: Hadoop's "use the default", so ours */
            o->given |= OPT_GIVEN(SET_COPY_BUFFER);
    }
    if ((v = st->val[OPT_MAX_DELETE])) {
        const char *d = v + (*v == '+');
        char *end;
        long long m;

        errno = 0;
        m = strtoll(d, &end, 10);
        if (!isdigit((unsigned char)*d) || *end || errno == ERANGE) {
            seterr(err, errlen, "max-delete is invalid: %s", v);
            return CLI_ERROR;
        }
        o->max_delete = m;
    }
    if ((v = st->val[OPT_GLOBAL_BW])) {
        if (!java_float(v, &f) || !(f > 0) || isinf(f)) {
            seterr(err, errlen, "global-bandwidth is invalid: %s", v);
            return CLI_ERROR;
        }
        o->global_bandwidth_mb = f;
    }
    return CLI_OK;
}

/* Rule 7: -p letters (case-insensitive, repeatable); bare -p = rbugpct. */
static int check_preserve(const struct pstate *st, struct options *o, char *err, size_t errlen)
{
    static const char letters[] = "RBUGPCAXT";
    static const unsigned bits[] = {PRESERVE_R, PRESERVE_B, PRESERVE_U, PRESERVE_G, PRESERVE_P,
                                    PRESERVE_C, PRESERVE_A, PRESERVE_X, PRESERVE_T};
    const char *v = st->val[OPT_P];

    if (!st->seen[OPT_P])
        return CLI_OK;
    if (!v || !v[0])
        v = "rbugpct";
    for (; *v; v++) {
        int c = toupper((unsigned char)*v);
        const char *hit = c ? strchr(letters, c) : NULL;

        if (!hit) {
            seterr(err, errlen, "No attribute for %c", *v);   /* as given, like Hadoop */
            return CLI_ERROR;
        }
        o->preserve |= bits[hit - letters];
    }
    return CLI_OK;
}

/* Rules 1-3: positional arguments and -f. */
static int check_paths(const struct pstate *st, char *err, size_t errlen)
{
    if (st->npos == 0) {
        seterr(err, errlen, "Target path not specified");
        return CLI_ERROR;
    }
    for (size_t i = st->npos; i > 0; i--) {
        if (!st->pos[i - 1][0]) {
            seterr(err, errlen, "Can not create a Path from an empty string");
            return CLI_ERROR;
        }
    }
    if (st->seen[OPT_F]) {
        if (st->npos > 1) {
            seterr(err, errlen, "Both source file listing and source paths present");
            return CLI_ERROR;
        }
        if (!st->val[OPT_F][0]) {
            seterr(err, errlen, "Can not create a Path from an empty string");
            return CLI_ERROR;
        }
    } else if (st->npos == 1) {
        seterr(err, errlen, "Neither source file listing nor source paths present");
        return CLI_ERROR;
    }
    return CLI_OK;
}

/* Rules 8-17 (DistCpOptions.Builder.validate) and Part A 6's delete guard. */
static int check_combinations(const struct pstate *st, char *err, size_t errlen)
{
    const bool *s = st->seen;
    const bool diff = s[OPT_DIFF] || s[OPT_RDIFF];
    const char *msg = NULL;

    if (diff && s[OPT_DELETE])
        msg = "-delete and -diff/-rdiff are mutually exclusive. The -delete option will be ignored.";
    else if (s[OPT_TMP] && !s[OPT_ATOMIC])
        msg = "-tmp work-path can only be specified along with -atomic";
    else if (s[OPT_ATOMIC] && s[OPT_UPDATE])
        msg = "Atomic commit can't be used with sync folder or overwrite options";
    else if (s[OPT_DELETE] && !(s[OPT_UPDATE] || s[OPT_OVERWRITE]))
        msg = "Delete missing is applicable only with update or overwrite options";
    else if (s[OPT_OVERWRITE] && s[OPT_UPDATE])
        msg = "Overwrite and update options are mutually exclusive";
    else if (s[OPT_APPEND] && !s[OPT_UPDATE])
        msg = "Append is valid only with update options";
    else if (s[OPT_APPEND] && s[OPT_SKIPCRC])
        msg = "Append is disallowed when skipping CRC";
    else if (diff && !s[OPT_UPDATE])
        msg = "-diff/-rdiff is valid only with -update option";
    else if (s[OPT_DIFF] && s[OPT_RDIFF])
        msg = "-diff and -rdiff are mutually exclusive";
    else if (s[OPT_V] && !s[OPT_LOG])
        msg = "-v is valid only with -log option";
    else if ((s[OPT_TRASH] || s[OPT_MAX_DELETE]) && !s[OPT_DELETE])
        msg = "--trash/--max-delete are valid only with -delete";
    if (msg) {
        seterr(err, errlen, "%s", msg);
        return CLI_ERROR;
    }
    return CLI_OK;
}

static int validate(struct pstate *st, struct options *o, char *err, size_t errlen, FILE *warn)
{
    static const enum opt_id path_opts[] = {OPT_LOG, OPT_TMP, OPT_XTRACK, OPT_TRASH};

    if (check_paths(st, err, errlen) != CLI_OK)
        return CLI_ERROR;
    if (st->parse_err[0]) { /* rule 4 */
        seterr(err, errlen, "%s", st->parse_err);
        return CLI_ERROR;
    }
    for (int k = 0; k < 2; k++) { /* rule 5 */
        if (st->seen[k ? OPT_RDIFF : OPT_DIFF] &&
            (st->nsnap[k] < 2 || is_blank(st->snap[k][0]) || is_blank(st->snap[k][1]))) {
            seterr(err, errlen, "Must provide both the starting and ending snapshot names");
            return CLI_ERROR;
        }
    }
    for (size_t i = 0; i < sizeof(path_opts) / sizeof(path_opts[0]); i++) {
        if (st->val[path_opts[i]] && !st->val[path_opts[i]][0]) {
            seterr(err, errlen, "Can not create a Path from an empty string");
            return CLI_ERROR;
        }
    }
    if (check_numbers(st, o, err, errlen) != CLI_OK)
        return CLI_ERROR;
    if (check_preserve(st, o, err, errlen) != CLI_OK)
        return CLI_ERROR;
    if (warn && st->seen[OPT_FILELIMIT])
        fprintf(warn, "filelimit is a deprecated option. Ignoring.\n");
    if (warn && st->seen[OPT_SIZELIMIT])
        fprintf(warn, "sizelimit is a deprecated option. Ignoring.\n");
    if (o->blocks_per_chunk > 0) { /* B §1.3 side effects, before validate() */
        o->preserve |= PRESERVE_B;
        st->seen[OPT_APPEND] = false;
    }
    return check_combinations(st, err, errlen);
}

/* Move the collected values into *o (on success only). */
static int fill(struct pstate *st, struct options *o)
{
    const bool *s = st->seen;
    const char *v;

    o->ignore_failures = s[OPT_I];
    o->update = s[OPT_UPDATE];
    o->overwrite = s[OPT_OVERWRITE];
    o->append = s[OPT_APPEND];
    o->delete_missing = s[OPT_DELETE];
    o->update_root = s[OPT_UPDATE_ROOT];
    o->atomic = s[OPT_ATOMIC];
    o->verbose = s[OPT_V];
    o->use_iterator = s[OPT_USE_ITERATOR];
    o->skip_crc = s[OPT_SKIPCRC];
    o->direct = s[OPT_DIRECT];
    o->async = s[OPT_ASYNC];
    o->dry_run = s[OPT_DRY_RUN];
    o->json = s[OPT_JSON];
    o->checksum = s[OPT_CHECKSUM];

#define MOVE(dst, src) do { free(dst); (dst) = (src); (src) = NULL; } while (0)
    MOVE(o->target, st->pos[st->npos - 1]);
    st->npos--;
    free(o->sources);
    o->sources = st->pos;
    o->nsources = st->npos;
    st->pos = NULL;
    st->npos = 0;
    MOVE(o->source_list, st->val[OPT_F]);
    MOVE(o->filters_file, st->val[OPT_FILTERS]);
    MOVE(o->tmp_dir, st->val[OPT_TMP]);
    MOVE(o->log_dir, st->val[OPT_LOG]);
    MOVE(o->xtrack_dir, st->val[OPT_XTRACK]);
    MOVE(o->trash_dir, st->val[OPT_TRASH]);
    MOVE(o->job_store, st->val[OPT_JOB_STORE]);
    MOVE(o->strategy_name, st->val[OPT_STRATEGY]);
    MOVE(o->diff_from, st->snap[0][0]);
    MOVE(o->diff_to, st->snap[0][1]);
    MOVE(o->rdiff_new, st->snap[1][0]);
    MOVE(o->rdiff_old, st->snap[1][1]);
#undef MOVE
    o->strategy = o->strategy_name && strcmp(o->strategy_name, "dynamic") == 0
                      ? STRATEGY_DYNAMIC : STRATEGY_UNIFORMSIZE;

    /* -D defaults for options not given (spec B §11) */
    if (!o->filters_file && (v = options_def(o, "distcp.filters.file")) && v[0] &&
        !(o->filters_file = strdup(v)))
        return CLI_ERROR;
    if ((v = options_def(o, "distcp.exclude-file-regex")) && v[0]) {
        char **x = realloc(o->excludes, (o->nexcludes + 1) * sizeof(*x));
        if (!x)
            return CLI_ERROR;
        o->excludes = x;
        if (!(x[o->nexcludes] = strdup(v)))
            return CLI_ERROR;
        o->nexcludes++;
    }
    return CLI_OK;
}

int cli_parse(int argc, char **argv, struct options *o, char *err, size_t errlen, FILE *warn)
{
    struct pstate st;
    int rc = CLI_ERROR;

    memset(&st, 0, sizeof(st));
    if (err && errlen)
        err[0] = '\0';
    if (argc <= 0 || !argv)
        goto out; /* Hadoop prints the usage alone */
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        struct tok tk;
        if (classify(argv[i], &tk) && (tk.def->id == OPT_HELP || tk.def->id == OPT_VERSION)) {
            rc = tk.def->id == OPT_HELP ? CLI_HELP : CLI_VERSION;
            goto out;
        }
    }
    if ((rc = tokenize(&st, argc, argv, o, err, errlen)) != CLI_OK)
        goto out;
    if ((rc = validate(&st, o, err, errlen, warn)) != CLI_OK)
        goto out;
    if ((rc = fill(&st, o)) != CLI_OK)
        seterr(err, errlen, "out of memory");
out:
    pstate_release(&st);
    return rc;
}

void cli_usage(FILE *out)
{
    fprintf(out, "usage: distcp OPTIONS [source_path...] <target_path>\n"
                 "Options may stand anywhere among the paths and take one or two leading dashes;\n"
                 "\"--\" ends the options (later arguments are paths even if they begin with '-').\n"
                 "The last path is the target, the others are sources.\n"
                 "Settings: distcp --help-config [OPTIONS] lists every -D key and environment\n"
                 "variable distcp reads, with its default (and the value OPTIONS give).\n");
    cmd_commands_usage(out);
    fputc('\n', out);
    for (size_t i = 0; i < NOPTDEFS; i++) {
        if (optdefs[i].disp)
            fprintf(out, " %-28s %s\n", optdefs[i].disp, optdefs[i].help);
    }
    fprintf(out,
            "\nExit status (Hadoop's return value modulo 256):\n"
            "   0  success (also -async once the job is submitted, and failures ignored with -i)\n"
            " 255  invalid arguments (usage shown), no arguments, or invalid input: a source\n"
            "      that doesn't exist, several sources to a file, a directory to a file, an\n"
            "      -atomic target that exists, a snapshot not found (Hadoop -1)\n"
            " 254  duplicate target paths: two sources would be copied to the same target path\n"
            "      (Hadoop -2)\n"
            " 253  ACLs requested (-pa) but not supported by a file system (Hadoop -3)\n"
            " 252  XAttrs requested (-px) but not supported by a file system (Hadoop -4)\n"
            "  25  any other failure: job failure, a copy error not ignored with -i, a listing\n"
            "      failure, snapshot-diff sync failed, a bad filter regex, an unreadable -f or\n"
            "      filters file, a --max-delete refusal (Hadoop -999)\n");
}
