/* cksum_spec.c - HDFS checksum parameters and algorithm names; see
 * cksum_spec.h. No allocation, no global state. */
#include "util/cksum_spec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"

void cksum_spec_default(struct cksum_spec *s)
{
    s->mode = HDFS_MD5MD5CRC;
    s->type = HDFS_CRC32C;
    s->bpc = HDFS_DEFAULT_BYTES_PER_CRC;
    s->block_size = HDFS_DEFAULT_BLOCK_SIZE;
}

/* "CRC32" / "CRC32C" exactly at p (nothing after). */
static int type_at(const char *p, enum hdfs_crc_type *t)
{
    if (!strcmp(p, "CRC32C"))
        *t = HDFS_CRC32C;
    else if (!strcmp(p, "CRC32"))
        *t = HDFS_CRC32;
    else
        return ERR_INVAL;
    return ERR_OK;
}

/* A decimal number without sign at *p; advances *p. */
static int number_at(const char **p, uint64_t max, uint64_t *v)
{
    const char *s = *p;
    uint64_t n = 0;
    if (*s < '0' || *s > '9')
        return ERR_INVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (n > (max - (uint64_t)(*s - '0')) / 10)
            return ERR_INVAL;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *v = n;
    return ERR_OK;
}

int cksum_spec_parse(const char *algorithm, struct cksum_spec *s, uint64_t *crc_per_block)
{
    const char *p = algorithm;
    uint64_t n = 0, bpc = 0;
    enum hdfs_crc_type t;
    *crc_per_block = 0;
    if (!strncmp(p, "COMPOSITE-", 10)) {
        if (type_at(p + 10, &t))
            return ERR_INVAL;
        s->mode = HDFS_COMPOSITE_CRC;
        s->type = t;
        return ERR_OK;
    }
    if (strncmp(p, "MD5-of-", 7))
        return ERR_INVAL;
    p += 7;
    if (number_at(&p, INT64_MAX, &n) || strncmp(p, "MD5-of-", 7))
        return ERR_INVAL;
    p += 7;
    if (number_at(&p, INT32_MAX, &bpc) || type_at(p, &t))
        return ERR_INVAL;
    s->mode = HDFS_MD5MD5CRC;
    s->type = t;
    s->bpc = (uint32_t)bpc;
    *crc_per_block = n;
    return ERR_OK;
}

void cksum_spec_algorithm(const struct cksum_spec *s, uint64_t size, char *buf, size_t n)
{
    const char *t = s->type == HDFS_CRC32 ? "CRC32" : "CRC32C";
    if (size == 0) {
        snprintf(buf, n, "MD5-of-0MD5-of-0CRC32");
        return;
    }
    if (s->mode == HDFS_COMPOSITE_CRC) {
        snprintf(buf, n, "COMPOSITE-%s", t);
        return;
    }
    uint64_t per_block = 0;
    if (size > s->block_size)
        per_block = (s->block_size + s->bpc - 1) / s->bpc;
    snprintf(buf, n, "MD5-of-%" PRIu64 "MD5-of-%" PRIu32 "%s", per_block, s->bpc, t);
}

int cksum_spec_for(const char *algorithm, uint64_t size, struct cksum_spec *s)
{
    uint64_t per_block = 0;
    cksum_spec_default(s);
    if (cksum_spec_parse(algorithm, s, &per_block))
        return ERR_INVAL;
    if (size == 0)
        return ERR_OK;
    if (s->mode == HDFS_MD5MD5CRC && s->bpc == 0)
        return ERR_INVAL; /* only the empty file has bpc 0 */
    if (per_block) {
        if (per_block > UINT64_MAX / s->bpc)
            return ERR_INVAL;
        s->block_size = per_block * s->bpc;
    } else {
        s->block_size = size; /* one block holds it all */
    }
    return ERR_OK;
}

int cksum_parse_type(const char *v, enum hdfs_crc_type *t)
{
    if (!strcasecmp(v, "CRC32C"))
        *t = HDFS_CRC32C;
    else if (!strcasecmp(v, "CRC32"))
        *t = HDFS_CRC32;
    else
        return ERR_INVAL;
    return ERR_OK;
}

int cksum_parse_mode(const char *v, enum hdfs_combine *m)
{
    if (!strcasecmp(v, "MD5MD5CRC"))
        *m = HDFS_MD5MD5CRC;
    else if (!strcasecmp(v, "COMPOSITE_CRC") || !strcasecmp(v, "COMPOSITE-CRC"))
        *m = HDFS_COMPOSITE_CRC;
    else
        return ERR_INVAL;
    return ERR_OK;
}

bool cksum_equal(const struct hdfs_cksum_result *a, const struct hdfs_cksum_result *b,
                 bool *comparable)
{
    *comparable = !strcmp(a->algorithm, b->algorithm) && a->len == b->len;
    return *comparable && !memcmp(a->bytes, b->bytes, a->len);
}
