/* glob.c - Hadoop glob syntax: brace expansion and a per-component matcher.
 *
 * A component pattern compiles to a tiny NFA program (CHAR, ANY, CLASS,
 * SPLIT, JMP, MATCH) run Thompson-style over the name: every live state
 * advances together, so there is no backtracking and no pathological input.
 * Names and patterns are read as "units": a valid UTF-8 sequence gives its
 * code point, any other byte b gives UNIT_BYTE + b (above Unicode), so a
 * stray byte in a pattern matches the same stray byte in a name and nothing
 * else.
 *
 * Invariants: a compiled program is never modified after glob_compile();
 * program size <= 3 * pattern length + 1, so all arrays are sized up front.
 * Threading: no global state; glob_match keeps its state on the stack (or in
 * a per-call allocation for very large patterns). */
#include "util/glob.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_BYTE 0x110000u
#define NONE UINT32_MAX
#define MATCH_STACK_STATES 128 /* states handled without malloc in glob_match */

enum gop { G_CHAR, G_ANY, G_CLASS, G_SPLIT, G_JMP, G_MATCH };

struct ginst {
    uint32_t op;
    uint32_t arg;  /* G_CHAR: unit; G_CLASS: class index */
    uint32_t x, y; /* G_SPLIT: both targets; G_JMP: x */
};

struct grange { uint32_t lo, hi; };

struct gclass {
    uint32_t first, count; /* slice of the range array */
    bool neg;
};

struct glob {
    struct ginst *prog;
    uint32_t nprog;
    struct gclass *cls;
    struct grange *rng;
};

/* ---- UTF-8 units ---------------------------------------------------------- */

/* Decode one unit at s[0..len), len >= 1. Returns bytes consumed (1..4). */
static size_t unit_at(const unsigned char *s, size_t len, uint32_t *u)
{
    unsigned c = s[0];
    size_t need;
    uint32_t cp, min;

    if (c < 0x80) {
        *u = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3, cp = c & 0x07, min = 0x10000;
    } else {
        goto stray;
    }
    if (len < need + 1)
        goto stray;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            goto stray;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        goto stray;
    *u = cp;
    return need + 1;
stray:
    *u = UNIT_BYTE + c;
    return 1;
}

/* ---- shared scanning helpers --------------------------------------------- */

/* s[i] == '['. Index of the ']' closing the class, or SIZE_MAX if unclosed. */
static size_t class_end(const char *s, size_t len, size_t i)
{
    size_t j = i + 1;
    if (j < len && (s[j] == '!' || s[j] == '^'))
        j++;
    if (j < len && s[j] == ']')
        j++;
    while (j < len) {
        if (s[j] == '\\')
            j += 2;
        else if (s[j] == ']')
            return j;
        else
            j++;
    }
    return SIZE_MAX;
}

bool glob_has_magic(const char *s)
{
    for (; *s; s++) {
        if (*s == '\\') {
            if (!s[1])
                break;
            s++;
        } else if (*s == '*' || *s == '?' || *s == '[' || *s == '{') {
            return true;
        }
    }
    return false;
}

char *glob_unescape(const char *component)
{
    size_t len = strlen(component);
    char *r = malloc(len + 1);
    size_t o = 0;

    if (!r)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (component[i] == '\\' && i + 1 < len)
            i++;
        r[o++] = component[i];
    }
    r[o] = 0;
    return r;
}

/* ---- brace expansion ------------------------------------------------------ */

struct strv {
    char **v;
    size_t *off; /* only for the work stack: where scanning resumes */
    size_t n, cap;
};

static int strv_push(struct strv *sv, char *s, size_t off, bool with_off)
{
    if (sv->n == sv->cap) {
        size_t ncap = sv->cap ? sv->cap * 2 : 8;
        char **nv = realloc(sv->v, ncap * sizeof *nv);
        if (!nv)
            return ERR_NOMEM;
        sv->v = nv;
        if (with_off) {
            size_t *no = realloc(sv->off, ncap * sizeof *no);
            if (!no)
                return ERR_NOMEM;
            sv->off = no;
        }
        sv->cap = ncap;
    }
    if (with_off)
        sv->off[sv->n] = off;
    sv->v[sv->n++] = s;
    return ERR_OK;
}

/* Check the whole pattern once: braces balanced (a stray '}' is literal) and
 * no trailing '\'. Classes are skipped so "[{]" is fine. */
static int braces_check(const char *s, size_t len, struct errinfo *ei)
{
    size_t depth = 0, open_at = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\') {
            if (i + 1 >= len)
                return err_setx(ei, ERR_INVAL, "invalid glob pattern '%s': "
                                "missing escaped character at position %zu",
                                s, i);
            i++;
        } else if (s[i] == '[') {
            size_t e = class_end(s, len, i);
            if (e != SIZE_MAX)
                i = e;
        } else if (s[i] == '{') {
            if (depth++ == 0)
                open_at = i;
        } else if (s[i] == '}' && depth > 0) {
            depth--;
        }
    }
    if (depth > 0)
        return err_setx(ei, ERR_INVAL, "invalid glob pattern '%s': "
                        "unclosed group '{' at position %zu", s, open_at);
    return ERR_OK;
}

/* Leftmost outer group, at or after `from`, that contains a '/'. Sets
 * [*start, *end] to its braces; false if there is none. Pattern is checked. */
static bool leftmost_slash_group(const char *s, size_t len, size_t from,
                                 size_t *start, size_t *end)
{
    size_t depth = 0;
    bool slash = false;

    for (size_t i = from; i < len; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == '[') {
            size_t e = class_end(s, len, i);
            if (e != SIZE_MAX)
                i = e;
        } else if (s[i] == '{') {
            if (depth++ == 0) {
                *start = i;
                slash = false;
            }
        } else if (s[i] == '}' && depth > 0) {
            if (--depth == 0 && slash) {
                *end = i;
                return true;
            }
        } else if (s[i] == '/' && depth > 0) {
            slash = true;
        }
    }
    return false;
}

/* End of the alternative starting at s[i] inside a group closing at s[end]:
 * the index of the next top-level ',' or `end`. */
static size_t alt_end(const char *s, size_t len, size_t i, size_t end)
{
    size_t depth = 0;

    for (; i < end; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == '[') {
            size_t e = class_end(s, len, i);
            if (e != SIZE_MAX && e < end)
                i = e;
        } else if (s[i] == '{') {
            depth++;
        } else if (s[i] == '}' && depth > 0) {
            depth--;
        } else if (s[i] == ',' && depth == 0) {
            return i;
        }
    }
    return end;
}

/* s[start] == '{', s[end] its '}'. Push prefix+alt+suffix for every
 * alternative onto the work stack, last first (so the first pops first).
 * `live` strings of *live_bytes bytes exist already. */
static int expand_group(struct strv *work, const char *s, size_t len,
                        size_t start, size_t end, size_t live,
                        size_t *live_bytes)
{
    size_t nalt = 0, count = 0, *bounds = NULL;
    int rc = ERR_OK;

    for (size_t i = start + 1;; i++) {
        count++;
        if ((i = alt_end(s, len, i, end)) >= end)
            break;
    }
    /* Alternative k is s[bounds[2k] .. bounds[2k+1]). */
    bounds = malloc(2 * count * sizeof *bounds);
    if (!bounds)
        return ERR_NOMEM;
    for (size_t i = start + 1; nalt < count; i++) {
        bounds[2 * nalt] = i;
        bounds[2 * nalt + 1] = i = alt_end(s, len, i, end);
        nalt++;
    }
    /* Every pending pattern yields at least one result, so the count of live
     * strings never exceeds the final count: check before allocating. */
    size_t bytes = 0;
    for (size_t k = 0; k < nalt; k++)
        bytes += start + (bounds[2 * k + 1] - bounds[2 * k]) + (len - end);
    if (live + nalt > GLOB_MAX_EXPANSIONS ||
        *live_bytes + bytes > GLOB_MAX_EXPANDED_BYTES) {
        rc = ERR_LIMIT;
        goto out;
    }
    *live_bytes += bytes;
    for (size_t k = nalt; k-- > 0;) {
        size_t alen = bounds[2 * k + 1] - bounds[2 * k];
        size_t slen = len - end - 1;
        char *ns = malloc(start + alen + slen + 1);
        if (!ns) {
            rc = ERR_NOMEM;
            goto out;
        }
        memcpy(ns, s, start);
        memcpy(ns + start, s + bounds[2 * k], alen);
        memcpy(ns + start + alen, s + end + 1, slen);
        ns[start + alen + slen] = 0;
        rc = strv_push(work, ns, start, true);
        if (rc) {
            free(ns);
            goto out;
        }
    }
out:
    free(bounds);
    return rc;
}

int glob_expand_braces(const char *pattern, char ***out, size_t *n,
                       struct errinfo *ei)
{
    struct strv work = {0}, done = {0};
    size_t len = strlen(pattern), live_bytes = len + 1;
    int rc;

    *out = NULL;
    *n = 0;
    if (len > GLOB_MAX_PATTERN) {
        rc = err_setx(ei, ERR_TOO_LONG, "invalid glob pattern '%.64s...': "
                      "longer than %d bytes", pattern, GLOB_MAX_PATTERN);
        goto out;
    }
    rc = braces_check(pattern, len, ei);
    if (rc)
        goto out;
    char *first = strdup(pattern);
    if (!first) {
        rc = err_setx(ei, ERR_NOMEM, "expanding glob '%s': out of memory",
                      pattern);
        goto out;
    }
    rc = strv_push(&work, first, 0, true);
    if (rc) {
        free(first);
        goto nomem;
    }
    while (work.n > 0) {
        char *s = work.v[--work.n];
        size_t from = work.off[work.n], slen = strlen(s), start = 0, end = 0;

        if (!leftmost_slash_group(s, slen, from, &start, &end)) {
            rc = strv_push(&done, s, 0, false);
            if (rc) {
                free(s);
                goto nomem;
            }
            continue;
        }
        /* s itself is replaced by its expansions. */
        rc = expand_group(&work, s, slen, start, end, work.n + done.n,
                          &live_bytes);
        live_bytes -= slen + 1;
        free(s);
        if (rc == ERR_LIMIT) {
            rc = err_setx(ei, ERR_LIMIT, "glob '%s' expands to more than %d "
                          "patterns or %d bytes", pattern,
                          GLOB_MAX_EXPANSIONS, GLOB_MAX_EXPANDED_BYTES);
            goto out;
        }
        if (rc)
            goto nomem;
    }
    *out = done.v;
    *n = done.n;
    done.v = NULL;
    done.n = 0;
    rc = ERR_OK;
    goto out;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "expanding glob '%s': out of memory",
                  pattern);
out:
    glob_strv_free(work.v, work.n);
    free(work.off);
    glob_strv_free(done.v, done.n);
    return rc;
}

void glob_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- compiling one component ---------------------------------------------- */

struct gframe {
    uint32_t split;    /* the SPLIT in front of the current alternative */
    uint32_t jmps;     /* chain of JMPs to patch to the group's end (via x) */
    size_t open_at;    /* position of '{', for messages */
};

struct gbuild {
    struct glob *g;
    uint32_t nrng, ncls;
    const char *pat;
    struct errinfo *ei;
};

static uint32_t emit(struct gbuild *b, uint32_t op, uint32_t arg, uint32_t x,
                     uint32_t y)
{
    struct ginst *in = &b->g->prog[b->g->nprog];
    in->op = op;
    in->arg = arg;
    in->x = x;
    in->y = y;
    return b->g->nprog++;
}

static int bad(struct gbuild *b, const char *what, size_t pos)
{
    return err_setx(b->ei, ERR_INVAL, "invalid glob pattern '%s': %s at "
                    "position %zu", b->pat, what, pos);
}

/* One character of a class at s[*j] (handles '\' escapes); advances *j. */
static int class_unit(struct gbuild *b, const char *s, size_t len, size_t *j,
                      uint32_t *u)
{
    if (s[*j] == '\\') {
        if (*j + 1 >= len)
            return bad(b, "missing escaped character", *j);
        (*j)++;
    } else if (s[*j] == '[') {
        return bad(b, "'[' inside a character class", *j);
    }
    *j += unit_at((const unsigned char *)s + *j, len - *j, u);
    return ERR_OK;
}

/* s[*i] == '['. Parse the class, emit G_CLASS, leave *i on the ']'. */
static int parse_class(struct gbuild *b, const char *s, size_t len, size_t *i)
{
    struct gclass *c = &b->g->cls[b->ncls];
    size_t j = *i + 1;
    bool first = true;
    int rc;

    c->first = b->nrng;
    c->count = 0;
    c->neg = false;
    if (j < len && (s[j] == '!' || s[j] == '^')) {
        c->neg = true;
        j++;
    }
    for (;;) {
        uint32_t lo, hi;
        size_t at = j;

        if (j >= len)
            return bad(b, "unclosed character class", *i);
        if (s[j] == ']' && !first)
            break;
        first = false;
        if (s[j] == ']') { /* literal ']' first in the class */
            lo = ']';
            j++;
        } else if ((rc = class_unit(b, s, len, &j, &lo))) {
            return rc;
        }
        hi = lo;
        if (j + 1 < len && s[j] == '-' && s[j + 1] != ']') {
            j++;
            if ((rc = class_unit(b, s, len, &j, &hi)))
                return rc;
            if (hi < lo)
                return bad(b, "range end below range start", at);
        }
        b->g->rng[b->nrng].lo = lo;
        b->g->rng[b->nrng].hi = hi;
        b->nrng++;
        c->count++;
    }
    *i = j;
    emit(b, G_CLASS, b->ncls++, 0, 0);
    return ERR_OK;
}

static int compile_prog(struct gbuild *b, const char *s, size_t len)
{
    struct gframe *stack = NULL;
    size_t depth = 0, maxdepth = 0;
    bool after_star = false;
    int rc = ERR_OK;

    for (size_t i = 0; i < len; i++)
        maxdepth += s[i] == '{';
    if (maxdepth && !(stack = malloc(maxdepth * sizeof *stack)))
        return err_setx(b->ei, ERR_NOMEM, "compiling glob '%s': out of memory",
                        s);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool star = false;

        if (c == '\\') {
            uint32_t u;
            if (i + 1 >= len) {
                rc = bad(b, "missing escaped character", i);
                goto out;
            }
            i++;
            i += unit_at((const unsigned char *)s + i, len - i, &u) - 1;
            emit(b, G_CHAR, u, 0, 0);
        } else if (c == '*') {
            star = true;
            if (!after_star) { /* L: SPLIT L+1, L+3; ANY; JMP L */
                uint32_t l = b->g->nprog;
                emit(b, G_SPLIT, 0, l + 1, l + 3);
                emit(b, G_ANY, 0, 0, 0);
                emit(b, G_JMP, 0, l, 0);
            }
        } else if (c == '?') {
            emit(b, G_ANY, 0, 0, 0);
        } else if (c == '[') {
            if ((rc = parse_class(b, s, len, &i)))
                goto out;
        } else if (c == '{') {
            struct gframe *f = &stack[depth++];
            f->split = emit(b, G_SPLIT, 0, b->g->nprog + 1, NONE);
            f->jmps = NONE;
            f->open_at = i;
        } else if (c == ',' && depth > 0) {
            struct gframe *f = &stack[depth - 1];
            f->jmps = emit(b, G_JMP, 0, f->jmps, 0);
            b->g->prog[f->split].y = b->g->nprog;
            f->split = emit(b, G_SPLIT, 0, b->g->nprog + 1, NONE);
        } else if (c == '}' && depth > 0) {
            struct gframe *f = &stack[--depth];
            struct ginst *last = &b->g->prog[f->split];
            uint32_t end = b->g->nprog;
            last->op = G_JMP; /* the last alternative has no other choice */
            last->y = 0;
            for (uint32_t j = f->jmps; j != NONE;) {
                uint32_t next = b->g->prog[j].x;
                b->g->prog[j].x = end;
                j = next;
            }
        } else {
            uint32_t u;
            i += unit_at((const unsigned char *)s + i, len - i, &u) - 1;
            emit(b, G_CHAR, u, 0, 0);
        }
        after_star = star;
    }
    if (depth > 0) {
        rc = bad(b, "unclosed group '{'", stack[depth - 1].open_at);
        goto out;
    }
    emit(b, G_MATCH, 0, 0, 0);
out:
    free(stack);
    return rc;
}

int glob_compile(const char *component, struct glob **out,
                 struct errinfo *ei)
{
    size_t len = strlen(component);
    struct glob *g = NULL;
    struct gbuild b = {.pat = component, .ei = ei};
    int rc;

    *out = NULL;
    if (len > GLOB_MAX_COMPONENT) {
        rc = err_setx(ei, ERR_TOO_LONG, "invalid glob pattern '%.64s...': "
                      "longer than %d bytes", component, GLOB_MAX_COMPONENT);
        goto out;
    }
    g = calloc(1, sizeof *g);
    if (!g)
        goto nomem;
    /* Upper bounds: '*' emits 3 instructions, ',' 2, anything else <= 1 per
     * byte; a class uses >= 2 bytes; a range >= 1 byte. */
    g->prog = malloc((3 * len + 1) * sizeof *g->prog);
    g->cls = malloc((len / 2 + 1) * sizeof *g->cls);
    g->rng = malloc((len + 1) * sizeof *g->rng);
    if (!g->prog || !g->cls || !g->rng)
        goto nomem;
    b.g = g;
    rc = compile_prog(&b, component, len);
    if (rc)
        goto out;
    struct ginst *p = realloc(g->prog, g->nprog * sizeof *p);
    if (p)
        g->prog = p;
    *out = g;
    g = NULL;
    rc = ERR_OK;
    goto out;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "compiling glob '%s': out of memory",
                  component);
out:
    glob_free(g);
    return rc;
}

void glob_free(struct glob *g)
{
    if (!g)
        return;
    free(g->prog);
    free(g->cls);
    free(g->rng);
    free(g);
}

/* ---- matching ------------------------------------------------------------- */

struct gsim {
    const struct glob *g;
    uint32_t *mark;  /* generation in which a state was last added */
    uint32_t *stack; /* epsilon-closure work stack */
};

/* Add state pc and everything reachable through JMP/SPLIT to list. */
static void add_state(struct gsim *m, uint32_t *list, uint32_t *n,
                      uint32_t pc, uint32_t gen)
{
    uint32_t sp = 0;

    if (m->mark[pc] == gen)
        return;
    m->mark[pc] = gen;
    m->stack[sp++] = pc;
    while (sp > 0) {
        const struct ginst *in = &m->g->prog[pc = m->stack[--sp]];
        if (in->op == G_JMP || in->op == G_SPLIT) {
            uint32_t t[2] = {in->x, in->y};
            for (int k = in->op == G_SPLIT ? 1 : 0; k >= 0; k--) {
                if (m->mark[t[k]] != gen) {
                    m->mark[t[k]] = gen;
                    m->stack[sp++] = t[k];
                }
            }
        } else {
            list[(*n)++] = pc;
        }
    }
}

static bool class_has(const struct glob *g, uint32_t idx, uint32_t u)
{
    const struct gclass *c = &g->cls[idx];
    bool in = false;

    for (uint32_t k = 0; k < c->count && !in; k++) {
        const struct grange *r = &g->rng[c->first + k];
        in = u >= r->lo && u <= r->hi;
    }
    return in != c->neg;
}

bool glob_match(const struct glob *g, const char *name, size_t len)
{
    uint32_t small[4 * MATCH_STACK_STATES];
    uint32_t *mem = small, n = g->nprog;
    uint32_t *cur, *nxt, ncur = 0, gen = 1;
    const unsigned char *s = (const unsigned char *)name;
    bool matched = false;

    if (n > MATCH_STACK_STATES && !(mem = malloc(4 * (size_t)n * sizeof *mem)))
        return false;
    struct gsim m = {.g = g, .mark = mem + 2 * (size_t)n,
                     .stack = mem + 3 * (size_t)n};
    memset(m.mark, 0, n * sizeof *m.mark);
    cur = mem;
    nxt = mem + n;
    add_state(&m, cur, &ncur, 0, gen);
    for (size_t pos = 0; pos < len && ncur > 0;) {
        uint32_t u, nnxt = 0;
        pos += unit_at(s + pos, len - pos, &u);
        if (++gen == 0) { /* wrapped: forget all marks */
            memset(m.mark, 0, n * sizeof *m.mark);
            gen = 1;
        }
        for (uint32_t k = 0; k < ncur; k++) {
            const struct ginst *in = &g->prog[cur[k]];
            bool ok = false;
            switch (in->op) {
            case G_CHAR: ok = in->arg == u; break;
            case G_ANY: ok = u != '/'; break;
            case G_CLASS: ok = u != '/' && class_has(g, in->arg, u); break;
            default: break;
            }
            if (ok)
                add_state(&m, nxt, &nnxt, cur[k] + 1, gen);
        }
        uint32_t *t = cur;
        cur = nxt;
        nxt = t;
        ncur = nnxt;
    }
    for (uint32_t k = 0; k < ncur && !matched; k++)
        matched = g->prog[cur[k]].op == G_MATCH;
    if (mem != small)
        free(mem);
    return matched;
}
