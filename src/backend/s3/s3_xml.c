/* s3_xml.c - the few S3 XML answers distcp reads (ListObjectsV2 pages,
 * single-value lookups such as UploadId or an <Error> Code), parsed with
 * expat. Element text is capped (S3_TEXT_MAX); a page holds at most
 * S3_PAGE_MAX items, so a hostile answer cannot exhaust memory.
 * Threading: pure functions on their arguments. */
#include "backend/s3/s3.h"

#include <ctype.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S3_TEXT_MAX 8192
#define S3_PAGE_MAX 10000
#define S3_DEPTH_MAX 16

struct px {
    XML_Parser p;
    int depth;
    char names[S3_DEPTH_MAX][32];
    char text[S3_TEXT_MAX + 1];
    size_t tlen;
    bool failed;
    /* list */
    struct s3_page *pg;
    struct s3_item cur;
    bool in_contents, in_prefixes;
    /* find */
    const char *want;
    char *found;
};

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct px *x = ud;
    const char *local = strrchr(name, ':');   /* namespace-less parser: plain names */
    local = local ? local + 1 : name;
    if (x->depth < S3_DEPTH_MAX)
        snprintf(x->names[x->depth], sizeof x->names[0], "%s", local);
    x->depth++;
    x->tlen = 0;
    if (x->pg && !strcmp(local, "Contents")) {
        memset(&x->cur, 0, sizeof x->cur);
        x->in_contents = true;
    } else if (x->pg && !strcmp(local, "CommonPrefixes")) {
        memset(&x->cur, 0, sizeof x->cur);
        x->cur.prefix = true;
        x->in_prefixes = true;
    }
}

static void on_text(void *ud, const XML_Char *s, int len)
{
    struct px *x = ud;
    size_t n = (size_t)len;
    if (x->tlen + n > S3_TEXT_MAX) {
        x->failed = true;
        XML_StopParser(x->p, XML_FALSE);
        return;
    }
    memcpy(x->text + x->tlen, s, n);
    x->tlen += n;
}

static bool page_push(struct s3_page *pg, struct s3_item *it)
{
    if (pg->n >= S3_PAGE_MAX)
        return false;
    if (pg->n == pg->cap) {
        size_t nc = pg->cap ? pg->cap * 2 : 64;
        struct s3_item *a = realloc(pg->items, nc * sizeof *a);
        if (!a)
            return false;
        pg->items = a;
        pg->cap = nc;
    }
    pg->items[pg->n++] = *it;
    memset(it, 0, sizeof *it);
    return true;
}

static void on_end(void *ud, const XML_Char *name)
{
    struct px *x = ud;
    const char *local = strrchr(name, ':');
    local = local ? local + 1 : name;
    x->text[x->tlen] = 0;
    x->depth--;
    if (x->want && !x->found && !strcmp(local, x->want)) {
        x->found = strdup(x->text);
        if (!x->found)
            x->failed = true;
    }
    if (!x->pg) {
        x->tlen = 0;
        return;
    }
    struct s3_page *pg = x->pg;
    if (x->in_contents || x->in_prefixes) {
        if ((x->in_contents && !strcmp(local, "Key")) ||
            (x->in_prefixes && !strcmp(local, "Prefix"))) {
            free(x->cur.key);
            x->cur.key = strdup(x->text);
            if (!x->cur.key)
                x->failed = true;
        } else if (!strcmp(local, "Size")) {
            x->cur.size = strtoull(x->text, NULL, 10);
        } else if (!strcmp(local, "LastModified")) {
            x->cur.mtime_ns = s3_parse_iso8601(x->text);
        } else if (!strcmp(local, "Contents") || !strcmp(local, "CommonPrefixes")) {
            x->in_contents = x->in_prefixes = false;
            if (!x->cur.key || !page_push(pg, &x->cur)) {
                free(x->cur.key);
                x->cur.key = NULL;
                x->failed = true;
            }
        }
    } else if (x->depth == 1) {
        if (!strcmp(local, "IsTruncated"))
            pg->truncated = !strcmp(x->text, "true");
        else if (!strcmp(local, "NextContinuationToken")) {
            free(pg->next_token);
            pg->next_token = strdup(x->text);
        } else if (!strcmp(local, "EncodingType"))
            pg->url_encoded = !strcmp(x->text, "url");
    }
    if (x->failed)
        XML_StopParser(x->p, XML_FALSE);
    x->tlen = 0;
}

static int run(struct px *x, const char *xml, size_t len)
{
    x->p = XML_ParserCreate("UTF-8");
    if (!x->p)
        return ERR_NOMEM;
    XML_SetUserData(x->p, x);
    XML_SetElementHandler(x->p, on_start, on_end);
    XML_SetCharacterDataHandler(x->p, on_text);
    enum XML_Status st = XML_Parse(x->p, xml, (int)len, 1);
    XML_ParserFree(x->p);
    return st == XML_STATUS_OK && !x->failed ? ERR_OK : ERR_PROTOCOL;
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void url_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        int hi, lo;
        if (*r == '%' && (hi = hexv((unsigned char)r[1])) >= 0 &&
            (lo = hexv((unsigned char)r[2])) >= 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else if (*r == '+') {
            *w++ = ' ';
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
}

int s3_parse_list(const char *xml, size_t len, struct s3_page *pg, struct errinfo *ei)
{
    struct px *x = calloc(1, sizeof *x);
    if (!x)
        return err_setx(ei, ERR_NOMEM, "cannot parse a listing: out of memory");
    memset(pg, 0, sizeof *pg);
    x->pg = pg;
    int rc = run(x, xml ? xml : "", xml ? len : 0);
    free(x->cur.key);
    free(x);
    if (rc) {
        s3_page_free(pg);
        return err_setx(ei, rc, "bad ListObjectsV2 answer (malformed XML or over the limits)");
    }
    if (pg->url_encoded)
        for (size_t i = 0; i < pg->n; i++)
            url_decode(pg->items[i].key);
    return ERR_OK;
}

void s3_page_free(struct s3_page *pg)
{
    if (!pg)
        return;
    for (size_t i = 0; i < pg->n; i++)
        free(pg->items[i].key);
    free(pg->items);
    free(pg->next_token);
    memset(pg, 0, sizeof *pg);
}

char *s3_xml_find(const char *xml, size_t len, const char *name)
{
    struct px *x = calloc(1, sizeof *x);
    char *v = NULL;
    if (!x || !xml)
        goto out;
    x->want = name;
    run(x, xml, len);
    v = x->found;
out:
    free(x);
    return v;
}

int64_t s3_parse_iso8601(const char *s)
{
    struct tm tm = {0};
    const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!e)
        return 0;
    long ms = 0;
    if (*e == '.') {
        int digits = 0;
        for (e++; isdigit((unsigned char)*e); e++)
            if (digits++ < 3)
                ms = ms * 10 + (*e - '0');
        while (digits++ < 3)
            ms *= 10;
    }
    return (int64_t)timegm(&tm) * 1000000000LL + ms * 1000000LL;
}

int64_t s3_parse_http_date(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%a, %d %b %Y %H:%M:%S", &tm))
        return 0;
    return (int64_t)timegm(&tm) * 1000000000LL;
}
