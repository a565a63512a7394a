/* cmd_checksum.c - `distcp checksum [OPTIONS] <path>...`: print each file's
 * HDFS-style checksum the way `hadoop fs -checksum` does:
 *     <path as given> TAB <algorithm> TAB <hex of the checksum bytes>
 * (with -v a fourth column "BlockSize=<n>"), for any store. Where the store
 * reports a checksum itself (WebHDFS GETFILECHECKSUM) that answer is printed,
 * unless the parameters asked for give another algorithm (or --compute);
 * everywhere else the checksum is computed from the bytes (util/checksum.c,
 * protocols.md §2) with the chosen combine mode, CRC type, bytes per CRC and
 * block size (default: the file's block size where the store has blocks,
 * else HDFS's 128 MiB).
 *
 * Exit status: 0 when every path was printed, 1 when some path failed
 * (missing, a directory, unreadable: as `hadoop fs`), 255 for bad options.
 * Single-threaded; one store opened per path. */
#include "cmd/cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cmd/exit.h"
#include "engine/verify.h"
#include "util/checksum.h"
#include "util/cksum_spec.h"
#include "util/err.h"

#define CK_BUF (1u << 20)
#define CK_MAX_DEFS 256
#define CLI_HELP_STATUS (-1) /* parse_args: -h/--help seen */

struct ck_opts {
    struct cksum_spec spec;
    bool mode_set, type_set, bpc_set, bs_set; /* given explicitly */
    bool compute;        /* --compute: never the store's own answer */
    bool verbose;        /* -v: BlockSize column */
    const char *defs[CK_MAX_DEFS][2];
    size_t ndefs;
};

static const char *ck_cfg_get(void *ctx, const char *key)
{
    const struct ck_opts *o = ctx;
    const char *v = NULL;
    for (size_t i = 0; i < o->ndefs; i++)
        if (!strcmp(o->defs[i][0], key))
            v = o->defs[i][1];
    return v;
}

static void ck_usage(FILE *f)
{
    fputs("usage: distcp checksum [OPTIONS] <path>...\n"
          "Print each file's HDFS checksum as `hadoop fs -checksum` does:\n"
          "  <path> TAB <algorithm, e.g. MD5-of-0MD5-of-512CRC32C> TAB <hex>\n"
          "for any store: WebHDFS/HttpFS/Knox answer GETFILECHECKSUM themselves; local files,\n"
          "S3 objects (and HDFS files when other parameters are asked for) are read and the\n"
          "checksum computed from the bytes.\n"
          "Options:\n"
          "  -v                          add a column BlockSize=<n>\n"
          "  --combine-mode MODE         MD5MD5CRC (default) or COMPOSITE_CRC\n"
          "  --checksum-type TYPE        CRC32C (default) or CRC32\n"
          "  --bytes-per-checksum N      bytes per CRC chunk (default 512)\n"
          "  --block-size N              block size (default: the file's, else 134217728);\n"
          "                              a multiple of the bytes per checksum\n"
          "  --compute                   always compute from the bytes\n"
          "  -D key=value                store settings as for a copy; also\n"
          "                              dfs.checksum.combine.mode, dfs.checksum.type,\n"
          "                              dfs.bytes-per-checksum, dfs.blocksize\n"
          "  -h, --help                  this text\n"
          "Exit status: 0 all printed, 1 some path failed, 255 invalid arguments.\n", f);
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    char *e;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    unsigned long long n = strtoull(s, &e, 10);
    if (*e || n < lo || n > hi)
        return false;
    *v = n;
    return true;
}

/* Apply one parameter by name (option or -D key); false with msg on a bad value. */
static bool set_param(struct ck_opts *o, const char *name, const char *v, char *msg, size_t n)
{
    uint64_t x;
    if (!strcmp(name, "combine-mode")) {
        if (cksum_parse_mode(v, &o->spec.mode))
            goto bad;
        o->mode_set = true;
    } else if (!strcmp(name, "checksum-type")) {
        if (cksum_parse_type(v, &o->spec.type))
            goto bad;
        o->type_set = true;
    } else if (!strcmp(name, "bytes-per-checksum")) {
        if (!parse_u64(v, 1, INT32_MAX, &x))
            goto bad;
        o->spec.bpc = (uint32_t)x;
        o->bpc_set = true;
    } else if (!strcmp(name, "block-size")) {
        if (!parse_u64(v, 1, (uint64_t)INT64_MAX, &x))
            goto bad;
        o->spec.block_size = x;
        o->bs_set = true;
    }
    return true;
bad:
    snprintf(msg, n, "bad value '%s' for %s", v, name);
    return false;
}

/* Parse argv (after "checksum"); paths are left in argv[*first..argc). */
static int parse_args(int argc, char **argv, struct ck_opts *o, int *first, char *msg,
                      size_t n)
{
    static const char *const longs[] = {"combine-mode", "checksum-type", "bytes-per-checksum",
                                        "block-size"};
    static const char *const dkeys[][2] = {
        {"dfs.checksum.combine.mode", "combine-mode"}, {"dfs.checksum.type", "checksum-type"},
        {"dfs.bytes-per-checksum", "bytes-per-checksum"}, {"dfs.blocksize", "block-size"}};
    int i;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || !a[1])
            break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return CLI_HELP_STATUS;
        if (!strcmp(a, "-v")) {
            o->verbose = true;
            continue;
        }
        if (!strcmp(a, "--compute")) {
            o->compute = true;
            continue;
        }
        if (!strncmp(a, "-D", 2)) {
            const char *kv = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            const char *eq = kv ? strchr(kv, '=') : NULL;
            if (!eq || eq == kv) {
                snprintf(msg, n, "-D needs key=value");
                return EXIT_INVALID;
            }
            if (o->ndefs == CK_MAX_DEFS) {
                snprintf(msg, n, "too many -D settings (at most %d)", CK_MAX_DEFS);
                return EXIT_INVALID;
            }
            /* split in place: argv strings are ours to keep until exit */
            ((char *)eq)[0] = 0;
            o->defs[o->ndefs][0] = kv;
            o->defs[o->ndefs][1] = eq + 1;
            o->ndefs++;
            for (size_t k = 0; k < sizeof dkeys / sizeof dkeys[0]; k++)
                if (!strcmp(kv, dkeys[k][0]) && !set_param(o, dkeys[k][1], eq + 1, msg, n))
                    return EXIT_INVALID;
            continue;
        }
        bool known = false;
        for (size_t k = 0; k < sizeof longs / sizeof longs[0]; k++) {
            size_t l = strlen(longs[k]);
            if (strncmp(a, "--", 2) || strncmp(a + 2, longs[k], l))
                continue;
            const char *v = a[2 + l] == '=' ? a + 3 + l : NULL;
            if (!v && a[2 + l] == 0)
                v = i + 1 < argc ? argv[++i] : NULL;
            else if (!v)
                continue;
            if (!v) {
                snprintf(msg, n, "%s needs a value", a);
                return EXIT_INVALID;
            }
            if (!set_param(o, longs[k], v, msg, n))
                return EXIT_INVALID;
            known = true;
            break;
        }
        if (!known) {
            snprintf(msg, n, "unknown option '%s'", a);
            return EXIT_INVALID;
        }
    }
    *first = i;
    if (i >= argc) {
        snprintf(msg, n, "no path given");
        return EXIT_INVALID;
    }
    if (o->bs_set && o->spec.block_size % o->spec.bpc) {
        snprintf(msg, n, "block size %" PRIu64 " is not a multiple of the bytes per checksum "
                 "%" PRIu32, o->spec.block_size, o->spec.bpc);
        return EXIT_INVALID;
    }
    return EXIT_OK;
}


/* One path: print its line or fill ei. */
static int one(const struct ck_opts *o, const char *arg, unsigned char *buf, struct errinfo *ei)
{
    struct be_config cfg = {.get = ck_cfg_get, .ctx = (void *)o};
    struct be_fs *fs = NULL;
    char *path = NULL;
    struct be_stat st;
    struct hdfs_cksum_result res;
    int rc;
    if ((rc = backend_open_uri(arg, &cfg, &fs, &path, ei)))
        goto out;
    if ((rc = fs->ops->stat(fs, path, &st, ei)))
        goto out;
    if (st.type == BE_DIR) {
        rc = err_set(ei, ERR_IS_DIR, "cannot checksum '%s'", arg);
        goto out;
    }
    if (st.type != BE_FILE) {
        rc = err_setx(ei, ERR_INVAL, "cannot checksum '%s': not a regular file", arg);
        goto out;
    }
    struct cksum_spec s = o->spec;
    if (!o->bs_set && st.blocksize)
        s.block_size = st.blocksize;
    if (!o->bs_set && s.block_size % s.bpc) {
        rc = err_setx(ei, ERR_INVAL, "cannot checksum '%s': its block size %" PRIu64 " is not "
                      "a multiple of the bytes per checksum %" PRIu32 " (--block-size)", arg,
                      s.block_size, s.bpc);
        goto out;
    }
    bool native = false;
    if (fs->ops->checksum && !o->compute) {
        if ((rc = fs->ops->checksum(fs, path, &res, ei)))
            goto out;
        char want[64];
        cksum_spec_algorithm(&s, st.size, want, sizeof want);
        native = !(o->mode_set || o->type_set || o->bpc_set || o->bs_set) ||
                 !strcmp(want, res.algorithm);
    }
    if (!native && (rc = verify_read_compute(fs, path, arg, st.size, &s, buf, CK_BUF, &res, ei)))
        goto out;
    if (o->verbose)
        printf("%s\t%s\t%s\tBlockSize=%" PRIu64 "\n", arg, res.algorithm, res.hex,
               st.blocksize ? st.blocksize : s.block_size);
    else
        printf("%s\t%s\t%s\n", arg, res.algorithm, res.hex);
out:
    free(path);
    backend_close(fs);
    return rc;
}

int cmd_checksum(int argc, char **argv)
{
    struct ck_opts *o = calloc(1, sizeof *o);
    unsigned char *buf = NULL;
    char msg[512] = "";
    int first = 0, status;
    if (!o) {
        fprintf(stderr, "distcp checksum: out of memory\n");
        return EXIT_FAIL;
    }
    cksum_spec_default(&o->spec);
    status = parse_args(argc, argv, o, &first, msg, sizeof msg);
    if (status == CLI_HELP_STATUS) {
        ck_usage(stdout);
        status = EXIT_OK;
        goto out;
    }
    if (status) {
        fprintf(stderr, "distcp checksum: %s\n", msg);
        ck_usage(stderr);
        goto out;
    }
    if (!(buf = malloc(CK_BUF))) {
        fprintf(stderr, "distcp checksum: out of memory\n");
        status = EXIT_FAIL;
        goto out;
    }
    for (int i = first; i < argc; i++) {
        struct errinfo ei = {0};
        if (one(o, argv[i], buf, &ei)) {
            fflush(stdout);
            fprintf(stderr, "distcp checksum: %s\n", ei.msg);
            status = 1;
        }
    }
    fflush(stdout);
out:
    free(buf);
    free(o);
    return status;
}
