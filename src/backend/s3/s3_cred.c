/* s3_cred.c - where the S3 backend's credentials and region come from, in
 * the order Hadoop S3A and awscli apply them (first complete source wins;
 * a key pair and its session token always come from the same source):
 *   1. -D fs.s3a.access.key / fs.s3a.secret.key [/ fs.s3a.session.token]
 *   2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN]
 *   3. the profile (-D fs.s3a.aws.profile, else AWS_PROFILE, else
 *      AWS_DEFAULT_PROFILE, else "default") in the shared credentials file
 *      (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials, section
 *      [name]), then in the config file (AWS_CONFIG_FILE, default
 *      ~/.aws/config, section [profile name] or [default]); keys
 *      aws_access_key_id, aws_secret_access_key, aws_session_token.
 * Region: -D fs.s3a.endpoint.region, AWS_REGION, AWS_DEFAULT_REGION, the
 * profile's `region` (config file, then credentials file), us-east-1.
 *
 * A profile named explicitly that exists in neither file is an error, as
 * are profiles that only name another way to get keys (role_arn, sso_*,
 * credential_process: not supported). Files are capped at 1 MiB. Messages
 * name files, profiles and line numbers, never a value.
 *
 * Threading: called from s3_open only; no shared state. */
#include "backend/s3/s3.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CRED_FILE_MAX (1u << 20)

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void s3_profile_free(struct s3_profile *p)
{
    wipe_free(p->akid);
    wipe_free(p->secret);
    wipe_free(p->token);
    free(p->region);
    free(p->name);
    free(p->unsupported);
    memset(p, 0, sizeof *p);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

/* Read the whole file (capped). ERR_NOT_FOUND when absent. */
static int slurp(const char *file, char **out, struct errinfo *ei)
{
    int rc = ERR_OK;
    char *buf = NULL;
    FILE *f = fopen(file, "r");
    *out = NULL;
    if (!f)
        return errno == ENOENT ? ERR_NOT_FOUND
                               : err_setx(ei, ERR_ACCESS, "cannot read AWS file '%s': %s", file,
                                          strerror(errno));
    if (!(buf = malloc(CRED_FILE_MAX + 1))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot read AWS file '%s': out of memory", file);
        goto out;
    }
    size_t n = fread(buf, 1, CRED_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = err_setx(ei, ERR_IO, "cannot read AWS file '%s': read error", file);
        goto out;
    }
    if (n > CRED_FILE_MAX) {
        rc = err_setx(ei, ERR_LIMIT, "cannot read AWS file '%s': larger than 1 MiB", file);
        goto out;
    }
    buf[n] = 0;
    *out = buf;
    buf = NULL;
out:
    if (buf) {
        memset(buf, 0, CRED_FILE_MAX + 1);
        free(buf);
    }
    fclose(f);
    return rc;
}

static int set_field(char **dst, const char *v, const char *file, struct errinfo *ei)
{
    if (*dst)
        return ERR_OK;   /* the first file that has it wins */
    if (!(*dst = strdup(v)))
        return err_setx(ei, ERR_NOMEM, "cannot read AWS file '%s': out of memory", file);
    return ERR_OK;
}

/* Fill what p lacks from section `want` of the INI text. *found when the
 * section is there. */
static int parse_ini(char *text, const char *file, const char *want, bool config_style,
                     struct s3_profile *p, bool *found, struct errinfo *ei)
{
    int rc = ERR_OK;
    bool in = false, nested = false;
    unsigned lineno = 0;
    for (char *line = text, *next; line && !rc; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        lineno++;
        bool indented = line[0] == ' ' || line[0] == '\t';
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            nested = false;
            if (!e) {
                rc = err_setx(ei, ERR_INVAL, "cannot read AWS file '%s': line %u: a section "
                              "header without ']'", file, lineno);
                break;
            }
            *e = 0;
            char *name = trim(s + 1);
            if (config_style && strcmp(name, "default")) {
                if (strncmp(name, "profile", 7) || (name[7] != ' ' && name[7] != '\t')) {
                    in = false;   /* [sso-session x], [services x], ... */
                    continue;
                }
                name = trim(name + 8);
            }
            in = !strcmp(name, want);
            if (in)
                *found = true;
            continue;
        }
        if (!in)
            continue;
        if (indented && nested)
            continue;         /* "s3 =\n  max_concurrent_requests = 10" */
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = err_setx(ei, ERR_INVAL, "cannot read AWS file '%s': line %u: expected "
                          "'name = value'", file, lineno);
            break;
        }
        *eq = 0;
        char *k = trim(s), *v = trim(eq + 1);
        nested = !*v;
        if (!strcasecmp(k, "aws_access_key_id"))
            rc = set_field(&p->akid, v, file, ei);
        else if (!strcasecmp(k, "aws_secret_access_key"))
            rc = set_field(&p->secret, v, file, ei);
        else if (!strcasecmp(k, "aws_session_token"))
            rc = set_field(&p->token, v, file, ei);
        else if (!strcasecmp(k, "region"))
            rc = set_field(&p->region, v, file, ei);
        else if (!strcasecmp(k, "role_arn") || !strcasecmp(k, "credential_process") ||
                 !strcasecmp(k, "sso_session") || !strcasecmp(k, "sso_start_url") ||
                 !strcasecmp(k, "web_identity_token_file"))
            rc = set_field(&p->unsupported, k, file, ei);
    }
    return rc;
}

static int load_file(const char *file, const char *profile, bool config_style,
                     struct s3_profile *p, bool *found, struct errinfo *ei)
{
    char *text = NULL;
    int rc = slurp(file, &text, ei);
    if (rc == ERR_NOT_FOUND)
        return ERR_OK;
    if (rc)
        return rc;
    rc = parse_ini(text, file, profile, config_style, p, found, ei);
    memset(text, 0, strlen(text));
    free(text);
    return rc;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *home_file(const char *envname, const char *rel)
{
    const char *f = env(envname);
    char *out = NULL;
    if (f)
        return strdup(f);
    const char *home = env("HOME");
    if (!home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "/";
    }
    if (asprintf(&out, "%s/%s", home, rel) < 0)
        return NULL;
    return out;
}

int s3_profile_load(const char *profile, bool explicit_name, struct s3_profile *p,
                    struct errinfo *ei)
{
    int rc = ERR_OK;
    bool found = false;
    char *cred = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    char *conf = home_file("AWS_CONFIG_FILE", ".aws/config");
    memset(p, 0, sizeof *p);
    if (!cred || !conf || !(p->name = strdup(profile))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot read the AWS profile: out of memory");
        goto out;
    }
    /* keys: credentials file first; region: config file first */
    if ((rc = load_file(cred, profile, false, p, &found, ei)))
        goto out;
    char *region = p->region;
    p->region = NULL;
    if ((rc = load_file(conf, profile, true, p, &found, ei))) {
        free(region);
        goto out;
    }
    if (!p->region)
        p->region = region;
    else
        free(region);
    p->found = found;
    if (explicit_name && !found) {
        rc = err_setx(ei, ERR_AUTH, "AWS profile '%s' not found in '%s' or '%s'", profile,
                      cred, conf);
        goto out;
    }
    if (found && (!p->akid != !p->secret)) {
        rc = err_setx(ei, ERR_AUTH, "AWS profile '%s' has %s but not %s ('%s', '%s')",
                      profile, p->akid ? "aws_access_key_id" : "aws_secret_access_key",
                      p->akid ? "aws_secret_access_key" : "aws_access_key_id", cred, conf);
        goto out;
    }
out:
    if (rc)
        s3_profile_free(p);
    free(cred);
    free(conf);
    return rc;
}

/* The profile name in effect and whether the user named it. */
static const char *profile_name(const struct be_config *cfg, bool *explicit_name)
{
    const char *v = cfg && cfg->get ? cfg->get(cfg->ctx, "fs.s3a.aws.profile") : NULL;
    *explicit_name = true;
    if (v && *v)
        return v;
    if ((v = env("AWS_PROFILE")) || (v = env("AWS_DEFAULT_PROFILE")))
        return v;
    *explicit_name = false;
    return "default";
}

static const char *cfg_get(const struct be_config *cfg, const char *key)
{
    const char *v = cfg && cfg->get ? cfg->get(cfg->ctx, key) : NULL;
    return v && *v ? v : NULL;
}

int s3_cred_resolve(const struct be_config *cfg, const char *what, struct s3_cred *cred,
                    char **region, struct errinfo *ei)
{
    struct s3_profile p = {0};
    const char *akid, *secret, *token = NULL, *reg;
    bool explicit_name = false;
    const char *pname = profile_name(cfg, &explicit_name);
    int rc = ERR_OK;
    memset(cred, 0, sizeof *cred);
    *region = NULL;
    /* the profile is read when it supplies anything in effect (keys or
     * region) or when it was named: a named profile that is missing fails */
    akid = cfg_get(cfg, "fs.s3a.access.key");
    secret = cfg_get(cfg, "fs.s3a.secret.key");
    if (akid || secret) {
        token = cfg_get(cfg, "fs.s3a.session.token");
    } else if ((akid = env("AWS_ACCESS_KEY_ID")) || (secret = env("AWS_SECRET_ACCESS_KEY"))) {
        secret = env("AWS_SECRET_ACCESS_KEY");
        token = env("AWS_SESSION_TOKEN");
    }
    reg = cfg_get(cfg, "fs.s3a.endpoint.region");
    if (!reg)
        reg = env("AWS_REGION");
    if (!reg)
        reg = env("AWS_DEFAULT_REGION");
    if (!akid && !secret) {
        if ((rc = s3_profile_load(pname, explicit_name, &p, ei)))
            goto named;
        if (p.akid) {
            akid = p.akid;
            secret = p.secret;
            token = p.token;
        } else if (p.unsupported) {
            rc = err_setx(ei, ERR_AUTH, "cannot open '%s': AWS profile '%s' gets its keys "
                          "with %s, which distcp does not support (give "
                          "aws_access_key_id and aws_secret_access_key)", what, pname,
                          p.unsupported);
            goto out;
        }
    } else if (!reg && explicit_name) {
        if ((rc = s3_profile_load(pname, true, &p, ei)))
            goto named;
    } else if (!reg && !s3_profile_load(pname, false, &p, NULL)) {
        /* only for the region: a broken default profile is not our business */
    }
    if (!reg)
        reg = p.region;
    if (!akid || !secret) {
        rc = err_setx(ei, ERR_AUTH, "cannot open '%s': no credentials (%s is missing; set "
                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, -D fs.s3a.access.key "
                      "and -D fs.s3a.secret.key, or a profile in ~/.aws/credentials)", what,
                      akid ? "the secret key" : secret ? "the access key id" : "every source");
        goto out;
    }
    if (!(cred->akid = strdup(akid)) || !(cred->secret = strdup(secret)) ||
        (token && !(cred->token = strdup(token))) ||
        !(*region = strdup(reg ? reg : "us-east-1"))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot open '%s': out of memory", what);
        goto out;
    }
    goto out;
named:
    if (ei) {
        char msg[sizeof ei->msg];
        snprintf(msg, sizeof msg, "%s", ei->msg);
        err_setx(ei, rc, "cannot open '%s': %s", what, msg);
    }
out:
    if (rc) {
        free(cred->akid);
        wipe_free(cred->secret);
        wipe_free(cred->token);
        memset(cred, 0, sizeof *cred);
        free(*region);
        *region = NULL;
    }
    s3_profile_free(&p);
    return rc;
}
