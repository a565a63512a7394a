/* s3_sigv4.c - AWS Signature Version 4 for S3 (protocols.md §3.1), with
 * OpenSSL's HMAC-SHA256. Canonical URIs are encoded once and never
 * normalised, so keys like "a/../b" and "a//b" sign correctly.
 * Threading: pure functions. */
#include "backend/s3/s3.h"
#include "util/checksum.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_CANON_MAX (64u << 10)

char *s3_uri_encode(const char *s, bool keep_slash)
{
    return http_escape(s, keep_slash ? 1 : 0);
}

void s3_base64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

size_t s3_base64_decode(const char *in, unsigned char *out, size_t cap)
{
    unsigned char tmp[96];
    size_t l = strlen(in);
    if (l == 0 || l % 4 || l / 4 * 3 > sizeof tmp)
        return 0;
    int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)l);
    if (n < 0)
        return 0;
    size_t got = (size_t)n;
    for (size_t i = l; i > 0 && in[i - 1] == '='; i--)
        got--;                 /* EVP_DecodeBlock counts padding as zero bytes */
    if (got > cap)
        return 0;
    memcpy(out, tmp, got);
    return got;
}

static int hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int olen = 32;
    return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out,
                &olen) ? ERR_OK : ERR_INTERNAL;
}

static int cmp_hdr(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t xl = strcspn(x, ":"), yl = strcspn(y, ":");
    int c = strncmp(x, y, xl < yl ? xl : yl);
    return c ? c : (xl < yl ? -1 : xl > yl);
}

int s3_sigv4(const struct s3_cred *cred, const char *region, const char *method,
             const char *canon_uri, const char *canon_query, const char *const *headers,
             size_t n, const char *payload_hash, const char *amzdate, char *out,
             size_t outn)
{
    int rc = ERR_INTERNAL;
    const char **h = calloc(n ? n : 1, sizeof *h);
    char *canon = malloc(SIG_CANON_MAX), *signed_h = malloc(4096);
    char date[9], scope[256], sts[512], hex[65], *kbuf = NULL;
    unsigned char dig[32], k[32];
    if (!h || !canon || !signed_h)
        goto out;
    memcpy(h, headers, n * sizeof *h);
    qsort(h, n, sizeof *h, cmp_hdr);
    size_t cl = 0, sl = 0;
    int w = snprintf(canon, SIG_CANON_MAX, "%s\n%s\n%s\n", method, canon_uri,
                     canon_query ? canon_query : "");
    if (w < 0 || (size_t)w >= SIG_CANON_MAX)
        goto out;
    cl = (size_t)w;
    signed_h[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strcspn(h[i], ":");
        w = snprintf(canon + cl, SIG_CANON_MAX - cl, "%s\n", h[i]);
        if (w < 0 || (size_t)w >= SIG_CANON_MAX - cl)
            goto out;
        cl += (size_t)w;
        w = snprintf(signed_h + sl, 4096 - sl, "%s%.*s", i ? ";" : "", (int)nl, h[i]);
        if (w < 0 || (size_t)w >= 4096 - sl)
            goto out;
        sl += (size_t)w;
    }
    w = snprintf(canon + cl, SIG_CANON_MAX - cl, "\n%s\n%s", signed_h, payload_hash);
    if (w < 0 || (size_t)w >= SIG_CANON_MAX - cl)
        goto out;
    cl += (size_t)w;
    if (sha256_buf(canon, cl, dig))
        goto out;
    hex_encode(dig, 32, hex);
    memcpy(date, amzdate, 8);
    date[8] = 0;
    snprintf(scope, sizeof scope, "%s/%s/s3/aws4_request", date, region);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amzdate, scope, hex);
    if (asprintf(&kbuf, "AWS4%s", cred->secret) < 0) {
        kbuf = NULL;
        goto out;
    }
    if (hmac(kbuf, strlen(kbuf), date, k) || hmac(k, 32, region, k) || hmac(k, 32, "s3", k) ||
        hmac(k, 32, "aws4_request", k) || hmac(k, 32, sts, dig))
        goto out;
    hex_encode(dig, 32, hex);
    w = snprintf(out, outn, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                 cred->akid, scope, signed_h, hex);
    rc = (w < 0 || (size_t)w >= outn) ? ERR_TOO_LONG : ERR_OK;
out:
    if (kbuf) {
        memset(kbuf, 0, strlen(kbuf));
        free(kbuf);
    }
    memset(k, 0, sizeof k);
    free(h);
    free(canon);
    free(signed_h);
    return rc;
}
