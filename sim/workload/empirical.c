/* empirical.c: one or two columns of a CSV file as an empirical length distribution. */
#include "sim/workload/empirical.h"

#include "sim/core/lineio.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct emp_table {
    size_t n, cap;
    int n_cols;
    double *v[2];
};

/* strerror's text with its first letter in lower case, for llmcap's wording. */
static const char *errno_text(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

enum { QUOTE_MAX = 48 };

size_t emp_table_rows(const struct emp_table *t)
{
    return t->n;
}

double emp_table_value(const struct emp_table *t, size_t row, int which)
{
    SIM_ASSERT(row < t->n && which >= 0 && which < t->n_cols);
    return t->v[which][row];
}

void emp_table_free(struct emp_table *t)
{
    if (!t)
        return;
    free(t->v[0]);
    free(t->v[1]);
    free(t);
}

/* Strip the line ending (and a UTF-8 byte-order mark on line 1); returns the length. */
static size_t strip_line(char *s, size_t n, unsigned long lineno)
{
    if (n && s[n - 1] == '\n')
        n--;
    if (n && s[n - 1] == '\r')
        n--;
    s[n] = '\0';
    if (lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        memmove(s, s + 3, n - 2);
        n -= 3;
    }
    return n;
}

static int grow(struct emp_table *t, struct sim_err *err, const char *path)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    for (int c = 0; c < t->n_cols; c++) {
        double *p = sim_reallocarray(t->v[c], cap, sizeof *p);
        if (!p)
            return sim_err_at(err, SIM_ENOMEM, path, 0, 0,
                              "out of memory loading an empirical distribution");
        t->v[c] = p;
    }
    t->cap = cap;
    return SIM_OK;
}

/* The columns of line `s` (NUL-terminated fields after this: commas become NULs). */
static int split(char *s, size_t n, char **f, long *col, int max)
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ',') {
            if (k < max) {
                f[k] = s + start;
                col[k] = (long)start + 1;
            }
            s[i] = '\0';
            k++;
            start = i + 1;
        }
    }
    return k;
}

/* A header of at most 256 columns, lines of at most 1 MiB, at most 10 million rows (two
 * columns of doubles: 160 MiB): a file past these is refused, whatever its size. */
enum { EMP_MAX_COLS = 256, EMP_LINE_MAX = 1 << 20, EMP_MAX_ROWS = 10000000 };

struct emp_table *emp_table_load(const char *path, const char *col_a, const char *col_b,
                                 struct sim_err *err)
{
    struct emp_table *t = calloc(1, sizeof *t);
    char *line = NULL;
    size_t cap = 0;
    char **f = calloc(EMP_MAX_COLS, sizeof *f);
    long *col = calloc(EMP_MAX_COLS, sizeof *col);
    FILE *fp = NULL;
    if (!t || !f || !col) {
        sim_err_at(err, SIM_ENOMEM, path, 0, 0, "out of memory loading an empirical distribution");
        goto fail;
    }
    t->n_cols = col_b ? 2 : 1;
    fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        char why[128];
        sim_err_at(err, e == ENOENT ? SIM_ENOENT : SIM_EIO, path, 0, 0,
                   "cannot open the length distribution '%s': %s", path,
                   errno_text(e, why, sizeof why));
        goto fail;
    }
    unsigned long lineno = 0;
    size_t got = 0;
    int lr;
    int n_head = 0, idx[2] = {-1, -1};
    const char *want[2] = {col_a, col_b};
    while ((lr = lineio_getline(fp, &line, &cap, EMP_LINE_MAX, &got)) == LINEIO_LINE) {
        lineno++;
        size_t n = strip_line(line, got, lineno);
        if (memchr(line, '\0', n)) {
            /* The fields are C strings: a NUL would silently cut one short. */
            sim_err_at(err, SIM_EINVAL, path, (long)lineno, (long)strlen(line) + 1,
                       "unexpected NUL byte in the line");
            goto fail;
        }
        if (lineno == 1) {
            char head[512];
            snprintf(head, sizeof head, "%s", line);
            n_head = split(line, n, f, col, EMP_MAX_COLS);
            if (n_head > EMP_MAX_COLS) {
                sim_err_at(err, SIM_EINVAL, path, 1, 0,
                           "the header has %d columns, at most %d are supported", n_head,
                           EMP_MAX_COLS);
                goto fail;
            }
            for (int c = 0; c < t->n_cols; c++) {
                for (int k = 0; k < n_head && idx[c] < 0; k++)
                    if (strcmp(f[k], want[c]) == 0)
                        idx[c] = k;
                if (idx[c] < 0) {
                    sim_err_at(err, SIM_EINVAL, path, 1, 1, "no column '%s' in the header '%.*s'",
                               want[c], (int)(strlen(head) < 200 ? strlen(head) : 200), head);
                    goto fail;
                }
                /* Two columns of the same name: which one is meant is anyone's guess. */
                for (int k = idx[c] + 1; k < n_head; k++)
                    if (strcmp(f[k], want[c]) == 0) {
                        sim_err_at(err, SIM_EINVAL, path, 1, col[k],
                                   "column '%s' appears twice in the header (columns %d and "
                                   "%d)",
                                   want[c], idx[c] + 1, k + 1);
                        goto fail;
                    }
            }
            continue;
        }
        if (n == 0)
            continue; /* blank line */
        int k = split(line, n, f, col, EMP_MAX_COLS);
        if (k != n_head) {
            sim_err_at(err, SIM_EINVAL, path, (long)lineno, k < n_head ? (long)n + 1 : 1,
                       "expected %d columns as in the header, found %d", n_head, k);
            goto fail;
        }
        if (t->n == EMP_MAX_ROWS) {
            sim_err_at(err, SIM_EINVAL, path, (long)lineno, 1,
                       "more than %d rows: a length distribution this large is not supported "
                       "(sample it first)",
                       EMP_MAX_ROWS);
            goto fail;
        }
        if (t->n == t->cap && grow(t, err, path) < 0)
            goto fail;
        for (int c = 0; c < t->n_cols; c++) {
            const char *s = f[idx[c]];
            char *end;
            errno = 0;
            double x = *s ? strtod(s, &end) : NAN;
            if (!*s || *end || !isfinite(x) || !(x >= 0.0) || x > 2147483647.0) {
                sim_err_at(err, SIM_EINVAL, path, (long)lineno, col[idx[c]],
                           "'%s' must be a number in 0..2147483647 (tokens), got '%.*s'", want[c],
                           (int)(strlen(s) < QUOTE_MAX ? strlen(s) : QUOTE_MAX), s);
                goto fail;
            }
            t->v[c][t->n] = x;
        }
        t->n++;
    }
    if (lr == LINEIO_TOO_LONG) {
        sim_err_at(err, SIM_EINVAL, path, (long)lineno + 1, 1,
                   "a line longer than %d bytes: expected a CSV of token lengths",
                   EMP_LINE_MAX);
        goto fail;
    }
    if (lr == LINEIO_NOMEM) {
        sim_err_at(err, SIM_ENOMEM, path, (long)lineno + 1, 0,
                   "out of memory loading an empirical distribution");
        goto fail;
    }
    if (ferror(fp)) {
        int e = errno ? errno : EIO;
        char why[128];
        sim_err_at(err, e == EISDIR ? SIM_EINVAL : SIM_EIO, path, 0, 0,
                   "cannot read the length distribution '%s': %s", path,
                   errno_text(e, why, sizeof why));
        goto fail;
    }
    if (lineno == 0) {
        sim_err_at(err, SIM_EINVAL, path, 1, 0,
                   "the file is empty: expected a header naming column '%s'", col_a);
        goto fail;
    }
    if (t->n == 0) {
        sim_err_at(err, SIM_EINVAL, path, 0, 0,
                   "no rows: an empirical distribution needs at least one");
        goto fail;
    }
    fclose(fp);
    free(line);
    free(f);
    free(col);
    return t;
fail:
    if (fp)
        fclose(fp);
    free(line);
    free(f);
    free(col);
    emp_table_free(t);
    return NULL;
}
