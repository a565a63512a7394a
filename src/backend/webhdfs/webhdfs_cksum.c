/* webhdfs_cksum.c - GETFILECHECKSUM for the checksum / wchecksum slots
 * (protocols.md §1.3, §2.2): HDFS's own MD5-of-MD5-of-CRC of a file or of a
 * writer's temp. Thread-safe: no state beyond the calls. */
#include "backend/webhdfs/webhdfs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checksums (GETFILECHECKSUM, §1.3 / §2.2) --------------------------------- */

/* Parse {"FileChecksum":{"algorithm":..,"bytes":"<hex>","length":n}}; the
 * hex must hold exactly `length` bytes (the Java client's check). */
static int parse_checksum(const struct http_resp *r, const char *path,
                          struct hdfs_cksum_result *out, struct errinfo *ei)
{
    json_error_t je;
    json_t *j = json_loadb(r->body ? r->body : "", r->len, 0, &je);
    json_t *fc = j ? json_object_get(j, "FileChecksum") : NULL;
    const char *alg = json_string_value(json_object_get(fc, "algorithm"));
    const char *hex = json_string_value(json_object_get(fc, "bytes"));
    json_t *len = json_object_get(fc, "length");
    int rc = ERR_OK;
    memset(out, 0, sizeof *out);
    if (!alg || !hex || !json_is_integer(len) || json_integer_value(len) < 0 ||
        (size_t)json_integer_value(len) > sizeof out->bytes ||
        strlen(hex) != 2 * (size_t)json_integer_value(len) ||
        strlen(alg) >= sizeof out->algorithm) {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot read the checksum of '%s': malformed "
                      "FileChecksum answer", path);
        goto out;
    }
    out->len = (size_t)json_integer_value(len);
    for (size_t i = 0; i < out->len; i++) {
        int hi = wh_hexv((unsigned char)hex[2 * i]), lo = wh_hexv((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            rc = err_setx(ei, ERR_PROTOCOL, "cannot read the checksum of '%s': bytes are not "
                          "hex", path);
            goto out;
        }
        out->bytes[i] = (unsigned char)(hi * 16 + lo);
    }
    snprintf(out->algorithm, sizeof out->algorithm, "%s", alg);
    hex_encode(out->bytes, out->len, out->hex);
out:
    if (rc)
        memset(out, 0, sizeof *out);
    json_decref(j);
    return rc;
}

static int get_checksum(struct wh_fs *fs, const char *path, struct hdfs_cksum_result *out,
                        struct errinfo *ei)
{
    struct http_resp r;
    int rc = wh_data_call(fs, "GET", path, "GETFILECHECKSUM", NULL, NULL, 0, WH_JSON_MAX,
                       "read the checksum of", &r, ei);
    if (rc == ERR_OK)
        rc = parse_checksum(&r, path, out, ei);
    http_resp_free(&r);
    return rc;
}

int wh_checksum(struct be_fs *f, const char *path, struct hdfs_cksum_result *out,
                struct errinfo *ei)
{
    struct be_stat st;
    int rc = wh_stat(f, path, &st, ei);
    if (rc == ERR_OK && st.type == BE_DIR)
        rc = err_set(ei, ERR_IS_DIR, "cannot read the checksum of '%s'", path);
    if (rc == ERR_OK)
        rc = get_checksum(fs_of(f), path, out, ei);
    return rc;
}

int wh_wchecksum(struct be_file *f, struct hdfs_cksum_result *out, struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f;
    int rc = wh_flush_buf(w, ei);
    return rc ? rc : get_checksum(w->fs, w->target, out, ei);
}
