/* cmd_argv.c - the command line a job records: as a JSON array with its
 * secrets redacted (-D values of keys that name a secret, passwords in
 * URIs), and back as a shell command for display (docs/cli.md §4).
 * Pure functions; reentrant. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/cmd_job.h"

static bool secret_key(const char *k, size_t n)
{
    static const char *const words[] = {"secret", "password", "passwd", "token", "access.key",
                                        "credential", "sas", "account.key"};
    char low[256];
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]);
    low[n] = 0;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(low, words[i]))
            return true;
    return false;
}

/* "-D k=v" / "-Dk=v" values of secret keys and URI passwords are replaced. */
static json_t *argv_redacted(int argc, char **argv)
{
    json_t *a = json_array();
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *kv = NULL;
        if (!strcmp(s, "-D") && i + 1 < argc) {
            json_array_append_new(a, json_string(s));
            s = argv[++i];
            kv = s;
        } else if (!strncmp(s, "-D", 2) && s[2]) {
            kv = s + 2;
        }
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (eq && secret_key(kv, (size_t)(eq - kv))) {
            char buf[512];
            snprintf(buf, sizeof buf, "%.*s%.*s=" REDACTED, kv == s ? 0 : 2, s, (int)(eq - kv), kv);
            json_array_append_new(a, json_string(buf));
            continue;
        }
        /* scheme://user:password@host/... */
        const char *sch = strstr(s, "://");
        const char *at = sch ? strchr(sch + 3, '@') : NULL;
        const char *slash = sch ? strchr(sch + 3, '/') : NULL;
        const char *colon = sch ? strchr(sch + 3, ':') : NULL;
        if (at && (!slash || at < slash) && colon && colon < at) {
            char buf[8192];
            snprintf(buf, sizeof buf, "%.*s:" REDACTED "%s", (int)(colon - s), s, at);
            json_array_append_new(a, json_string(buf));
            continue;
        }
        json_array_append_new(a, json_string(s));
    }
    return a;
}

char *cmd_argv_json(int argc, char **argv)
{
    json_t *a = argv_redacted(argc, argv);
    char *t = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return t;
}

void jcmd_argv_display(const char *argv_json, char *buf, size_t n)
{
    json_t *a = json_loads(argv_json ? argv_json : "[]", 0, NULL);
    size_t o = (size_t)snprintf(buf, n, "distcp");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (!s || o >= n)
            continue;
        bool q = !*s || strpbrk(s, " \t'\"$\\");
        o += (size_t)snprintf(buf + o, n - o, q ? " '%s'" : " %s", s);
    }
    json_decref(a);
}

