/* mutil.c: error records, file reading, JSON locations and name suggestions for models/. */
#include "models/mutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mu_vfill(struct sim_err *e, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void mu_vfill(struct sim_err *e, int code, const char *fmt, va_list ap)
{
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

static void mu_where(struct sim_err *e, const char *file, long line, long col)
{
    e->where[0] = '\0';
    if (file && line > 0 && col > 0)
        snprintf(e->where, sizeof e->where, "%s:%ld:%ld", file, line, col);
    else if (file && line > 0)
        snprintf(e->where, sizeof e->where, "%s:%ld", file, line);
    else if (file)
        snprintf(e->where, sizeof e->where, "%s", file);
}

/* The names in parentheses: mutil.h models these as macros for clang's analyzer. */
int (mu_err_at)(struct sim_err *e, int code, const char *file, long line, long col,
                const char *fmt, ...)
{
    if (!e)
        return code;
    mu_where(e, file, line, col);
    va_list ap;
    va_start(ap, fmt);
    mu_vfill(e, code, fmt, ap);
    va_end(ap);
    return code;
}

int (mu_err_set)(struct sim_err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->where[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    mu_vfill(e, code, fmt, ap);
    va_end(ap);
    return code;
}

/* strerror's text with its first letter in lower case, for llmcap's wording. */
static const char *mu_errno_text(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

char *mu_read_file(const char *path, size_t *len, struct sim_err *err)
{
    char why[128];
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        mu_err_at(err, e == ENOENT ? SIM_ENOENT : SIM_EIO, path, 0, 0, "cannot open '%s': %s",
                  path, mu_errno_text(e, why, sizeof why));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        goto nomem;
    for (;;) {
        if (cap - n < 2) {
            if (cap >= ((size_t)64 << 20)) { /* /dev/zero or a 10 GB line stop here */
                mu_err_at(err, SIM_EINVAL, path, 0, 0,
                          "cannot read '%s': larger than 64 MiB (a JSON catalog or latency "
                          "table is a few KiB)",
                          path);
                goto fail;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                goto nomem;
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        if (n == 0 && got >= 2 && ((unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b)) {
            mu_err_at(err, SIM_EINVAL, path, 0, 0,
                      "'%s' is gzip-compressed: decompress it first (gunzip)", path);
            goto fail;
        }
        if (n == 0 && got >= 4 && (unsigned char)buf[0] == 0x28 && (unsigned char)buf[1] == 0xb5 &&
            (unsigned char)buf[2] == 0x2f && (unsigned char)buf[3] == 0xfd) {
            mu_err_at(err, SIM_EINVAL, path, 0, 0,
                      "'%s' is zstd-compressed: decompress it first (unzstd)", path);
            goto fail;
        }
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                mu_err_at(err, e == EISDIR ? SIM_EINVAL : SIM_EIO, path, 0, 0,
                          "cannot read '%s': %s", path, mu_errno_text(e, why, sizeof why));
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
nomem:
    mu_err_set(err, SIM_ENOMEM, "out of memory");
fail:
    free(buf);
    fclose(f);
    return NULL;
}

void mu_line_col(const char *text, size_t off, long *line, long *col)
{
    long l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

int mu_json_parse(struct mu_json *doc, const char *path, const char *text,
                  struct sim_err *err)
{
    doc->path = path;
    doc->root = NULL;
    size_t n = strlen(text);
    doc->text = malloc(n + 1);
    if (!doc->text)
        return mu_err_set(err, SIM_ENOMEM, "out of memory");
    memcpy(doc->text, text, n + 1);
    const char *end = NULL;
    doc->root = cJSON_ParseWithOpts(doc->text, &end, 1);
    if (!doc->root) {
        size_t off = end ? (size_t)(end - doc->text) : 0;
        if (off > n)
            off = n;
        long line, col;
        mu_line_col(doc->text, off, &line, &col);
        char near[24];
        size_t k = 0, i = off;
        while (doc->text[i] == ' ' || doc->text[i] == '\t' || doc->text[i] == '\r' ||
               doc->text[i] == '\n')
            i++; /* show the next token when the parser stopped at a line end */
        for (; doc->text[i] && doc->text[i] != '\n' && k < 16; i++)
            near[k++] = doc->text[i];
        near[k] = '\0';
        int rc;
        if (k == 0)
            rc = mu_err_at(err, SIM_EINVAL, path, line, col,
                           "invalid JSON: unexpected end of input");
        else
            rc = mu_err_at(err, SIM_EINVAL, path, line, col, "invalid JSON near '%s'", near);
        free(doc->text);
        doc->text = NULL;
        return rc;
    }
    return SIM_OK;
}

/* ---- duplicate keys: cJSON keeps both members and lookups see only the first ------- */

struct mu_member {
    const cJSON *m;
    size_t index; /* position among the object's members */
};

static int mu_member_cmp(const void *a, const void *b)
{
    const struct mu_member *x = a, *y = b;
    int c = strcmp(x->m->string, y->m->string);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Find, in `node` and below, the first member (in file order within its object) whose key
 * an earlier member of the same object already has: *dup gets it and *first the earlier
 * one. Sorting keeps this O(k log k) for an object of k members. SIM_ENOMEM on OOM.
 */
static int mu_find_dup(const cJSON *node, const cJSON **dup, const cJSON **first)
{
    size_t k = 0;
    for (const cJSON *c = node->child; c; c = c->next)
        k++;
    if (cJSON_IsObject(node) && k > 1) {
        struct mu_member *v = malloc(k * sizeof *v);
        if (!v)
            return SIM_ENOMEM;
        size_t i = 0;
        for (const cJSON *c = node->child; c; c = c->next, i++)
            v[i] = (struct mu_member){c, i};
        qsort(v, k, sizeof *v, mu_member_cmp);
        size_t best = SIZE_MAX;
        for (i = 1; i < k; i++)
            if (!strcmp(v[i].m->string, v[i - 1].m->string) && v[i].index < best) {
                /* v[i - 1] is the earliest member with this key only when it starts a run */
                size_t j = i - 1;
                while (j > 0 && !strcmp(v[j - 1].m->string, v[i].m->string))
                    j--;
                best = v[i].index;
                *dup = v[i].m;
                *first = v[j].m;
            }
        free(v);
        if (best != SIZE_MAX)
            return SIM_OK;
    }
    for (const cJSON *c = node->child; c; c = c->next) {
        int rc = mu_find_dup(c, dup, first);
        if (rc || *dup)
            return rc;
    }
    return SIM_OK;
}

static int mu_json_check_dups(struct mu_json *doc, struct sim_err *err)
{
    const cJSON *dup = NULL, *first = NULL;
    if (mu_find_dup(doc->root, &dup, &first))
        return mu_err_set(err, SIM_ENOMEM, "out of memory");
    if (!dup)
        return SIM_OK;
    long line, col;
    mu_line_col(doc->text, mu_json_key_offset(doc, first), &line, &col);
    return mu_json_err_key(doc, dup, err, SIM_EINVAL, "duplicate key '%.60s' (first at line %ld)",
                           dup->string, line);
}

int mu_json_load(struct mu_json *doc, const char *path, struct sim_err *err)
{
    doc->path = path;
    doc->text = NULL;
    doc->root = NULL;
    size_t len = 0;
    char *text = mu_read_file(path, &len, err);
    if (!text)
        return err ? err->code : SIM_EIO;
    size_t nul = strlen(text);
    if (nul < len) {
        /* The parser would stop at the NUL and ignore the rest of the file. */
        long line, col;
        mu_line_col(text, nul, &line, &col);
        free(text);
        return mu_err_at(err, SIM_EINVAL, path, line, col,
                         "unexpected NUL byte: a JSON file is text");
    }
    int rc = mu_json_parse(doc, path, text, err);
    free(text);
    if (rc == SIM_OK && (rc = mu_json_check_dups(doc, err)) != SIM_OK)
        mu_json_release(doc);
    return rc;
}

void mu_json_release(struct mu_json *doc)
{
    if (!doc)
        return;
    cJSON_Delete(doc->root);
    free(doc->text);
    doc->root = NULL;
    doc->text = NULL;
}

/* ---- locating a node: walk the text and the tree together ------------------------ */

struct walk {
    const char *s;
    size_t i;
    const cJSON *target;
    bool want_key; /* report the member's key rather than its value */
    size_t found;
    bool done;
};

static void w_ws(struct walk *w)
{
    /* As cJSON's skip_whitespace(): every byte from 1 to 32 (control characters too) */
    while ((unsigned char)w->s[w->i] - 1u < 32u)
        w->i++;
}

static void w_string(struct walk *w)
{
    /* at '"' */
    w->i++;
    while (w->s[w->i] && w->s[w->i] != '"') {
        if (w->s[w->i] == '\\' && w->s[w->i + 1])
            w->i++;
        w->i++;
    }
    if (w->s[w->i] == '"')
        w->i++;
}

static void w_value(struct walk *w, const cJSON *node)
{
    if (w->done)
        return;
    w_ws(w);
    if (node == w->target) {
        w->found = w->i;
        w->done = true;
        return;
    }
    char c = w->s[w->i];
    if (c == '{') {
        w->i++;
        const cJSON *child = node ? node->child : NULL;
        for (size_t last = SIZE_MAX; last != w->i;) {
            /* a member that did not move the walk on means it lost its way: give up */
            last = w->i;
            w_ws(w);
            if (w->s[w->i] == '}' || !w->s[w->i]) {
                if (w->s[w->i])
                    w->i++;
                return;
            }
            if (w->want_key && child == w->target) {
                w->found = w->i;
                w->done = true;
                return;
            }
            if (w->s[w->i] == '"')
                w_string(w);
            w_ws(w);
            if (w->s[w->i] == ':')
                w->i++;
            w_value(w, child);
            if (w->done)
                return;
            child = child ? child->next : NULL;
            w_ws(w);
            if (w->s[w->i] == ',')
                w->i++;
        }
    } else if (c == '[') {
        w->i++;
        const cJSON *child = node ? node->child : NULL;
        for (size_t last = SIZE_MAX; last != w->i;) {
            last = w->i;
            w_ws(w);
            if (w->s[w->i] == ']' || !w->s[w->i]) {
                if (w->s[w->i])
                    w->i++;
                return;
            }
            w_value(w, child);
            if (w->done)
                return;
            child = child ? child->next : NULL;
            w_ws(w);
            if (w->s[w->i] == ',')
                w->i++;
        }
    } else if (c == '"') {
        w_string(w);
    } else {
        while (w->s[w->i] && !strchr(",]} \t\r\n", w->s[w->i]))
            w->i++;
    }
}

static size_t mu_json_find(const struct mu_json *doc, const cJSON *node, bool want_key)
{
    if (!doc->text || !node)
        return 0;
    struct walk w = {doc->text, 0, node, want_key, 0, false};
    /* cJSON skips a UTF-8 byte order mark */
    if ((unsigned char)w.s[0] == 0xEF && (unsigned char)w.s[1] == 0xBB &&
        (unsigned char)w.s[2] == 0xBF)
        w.i = 3;
    w_value(&w, doc->root);
    return w.done ? w.found : 0;
}

size_t mu_json_offset(const struct mu_json *doc, const cJSON *node)
{
    return mu_json_find(doc, node, false);
}

size_t mu_json_key_offset(const struct mu_json *doc, const cJSON *member)
{
    size_t off = mu_json_find(doc, member, true);
    return off ? off : mu_json_find(doc, member, false);
}

static void mu_json_vfill(const struct mu_json *doc, size_t off, struct sim_err *err,
                          int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void mu_json_vfill(const struct mu_json *doc, size_t off, struct sim_err *err,
                          int code, const char *fmt, va_list ap)
{
    long line = 0, col = 0;
    if (doc->text)
        mu_line_col(doc->text, off, &line, &col);
    mu_where(err, doc->path, line, col);
    mu_vfill(err, code, fmt, ap);
}

int (mu_json_err)(const struct mu_json *doc, const cJSON *node, struct sim_err *err,
                  int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    mu_json_vfill(doc, mu_json_offset(doc, node ? node : doc->root), err, code, fmt, ap);
    va_end(ap);
    return code;
}

int (mu_json_err_key)(const struct mu_json *doc, const cJSON *member, struct sim_err *err,
                      int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    mu_json_vfill(doc, mu_json_key_offset(doc, member), err, code, fmt, ap);
    va_end(ap);
    return code;
}

char *mu_json_show(const cJSON *v, char *buf, size_t n)
{
    if (!v)
        snprintf(buf, n, "nothing");
    else if (cJSON_IsString(v))
        snprintf(buf, n, "'%.60s'", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(buf, n, "'%.17g'", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(buf, n, "'%s'", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(buf, n, "'null'");
    else if (cJSON_IsArray(v))
        snprintf(buf, n, "an array");
    else
        snprintf(buf, n, "an object");
    return buf;
}

/* ---- names ---------------------------------------------------------------------- */

static char mu_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int mu_strcasecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = (unsigned char)mu_lower(*a), cb = (unsigned char)mu_lower(*b);
        if (ca != cb || ca == 0)
            return ca - cb;
    }
}

void mu_lower_copy(char *dst, const char *src, size_t n)
{
    size_t i = 0;
    if (n == 0)
        return;
    for (; src[i] && i + 1 < n; i++)
        dst[i] = mu_lower(src[i]);
    dst[i] = '\0';
}

#define MU_LEV_MAX 127

int mu_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > MU_LEV_MAX)
        la = MU_LEV_MAX;
    if (lb > MU_LEV_MAX)
        lb = MU_LEV_MAX;
    int prev[MU_LEV_MAX + 1], cur[MU_LEV_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cost = mu_lower(a[i - 1]) == mu_lower(b[j - 1]) ? 0 : 1;
            int best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            cur[j] = best;
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

static bool mu_contains_ci(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    if (nl == 0)
        return false;
    for (; *hay; hay++) {
        size_t k = 0;
        while (k < nl && hay[k] && mu_lower(hay[k]) == mu_lower(needle[k]))
            k++;
        if (k == nl)
            return true;
    }
    return false;
}

char *mu_suggest(char *buf, size_t n, const char *query, const char *const *names,
                 size_t n_names)
{
    enum { KEEP = 3 };
    size_t best[KEEP] = {0};
    int bestd[KEEP] = {0};
    size_t kept = 0;
    int limit = (int)strlen(query) / 4;
    if (limit < 2)
        limit = 2;
    for (size_t i = 0; i < n_names; i++) {
        /* names containing the query rank first (shortest first), then close spellings */
        int d;
        if (mu_contains_ci(names[i], query)) {
            d = (int)(strlen(names[i]) - strlen(query)) - 1000;
        } else {
            d = mu_levenshtein(query, names[i]);
            if (d > limit)
                continue;
        }
        /* insertion into the kept list, stable for ties */
        size_t pos = kept;
        while (pos > 0 && bestd[pos - 1] > d)
            pos--;
        if (pos >= KEEP)
            continue;
        size_t last = kept < KEEP ? kept : KEEP - 1;
        for (size_t k = last; k > pos; k--) {
            best[k] = best[k - 1];
            bestd[k] = bestd[k - 1];
        }
        best[pos] = i;
        bestd[pos] = d;
        if (kept < KEEP)
            kept++;
    }
    buf[0] = '\0';
    if (kept == 0 || n == 0)
        return buf;
    size_t used = 0;
    int w = snprintf(buf, n, "did you mean ");
    used = w > 0 ? (size_t)w : 0;
    for (size_t k = 0; k < kept && used < n; k++) {
        const char *sep = k == 0 ? "" : (k + 1 == kept ? " or " : ", ");
        w = snprintf(buf + used, n - used, "%s'%s'", sep, names[best[k]]);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < n)
        snprintf(buf + used, n - used, "?");
    return buf;
}

char *mu_key_hint(char *buf, size_t n, const char *key, const char *const *names,
                  size_t n_names)
{
    buf[0] = '\0';
    if (strlen(key) >= 3)
        mu_suggest(buf, n, key, names, n_names);
    if (buf[0])
        return buf;
    int w = snprintf(buf, n, "known keys: ");
    size_t used = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < n_names && used + 1 < n; i++) {
        w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}
