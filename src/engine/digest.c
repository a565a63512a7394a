/* digest.c - format and check distcp's recorded digest; see digest.h. */
#include "engine/digest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/checksum.h"
#include "util/err.h"

void digest_meta_format(uint32_t crc, uint64_t size, int64_t mtime, char *buf, size_t n)
{
    struct digest d = {.crc32c = crc, .len = size};
    char dv[32];
    digest_format(&d, dv, sizeof dv);
    snprintf(buf, n, "%s;s=%" PRIu64 ";m=%" PRId64, dv, size, mtime);
}

bool digest_meta_valid(const char *v, uint64_t size, int64_t mtime, uint32_t *crc)
{
    const char *semi = strchr(v, ';');
    uint64_t s = 0;
    int64_t m = 0;
    char head[32];
    if (!semi || (size_t)(semi - v) >= sizeof head)
        return false;
    if (sscanf(semi, ";s=%" SCNu64 ";m=%" SCNd64, &s, &m) != 2 || s != size || m != mtime)
        return false;
    memcpy(head, v, (size_t)(semi - v));
    head[semi - v] = 0;
    struct digest d;
    if (digest_parse(head, &d) != ERR_OK)
        return false;
    *crc = d.crc32c;
    return true;
}
