/* helpers.h: running the llmcap CLI from the reports tests and reading what it wrote. */
#ifndef LLMCAP_TESTS_REPORTS_HELPERS_H
#define LLMCAP_TESTS_REPORTS_HELPERS_H

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STEADY FIXTURES "/reports/steady.yaml"
#define BURST FIXTURES "/reports/burst.yaml"
/* two deployments on one node; code misses its 10 ms TPOT SLO (exit 1) */
#define SPLIT3 FIXTURES "/multi/split_three_one.yaml"

/* Every one of want[0..n) is in `text`. */
static inline void has_all(const char *text, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(strstr(text, want[i]), "'%s' not in\n%s", want[i], text);
}

/* A fresh folder for one test (removed by rm_tree). */
static inline void make_tmp(char *dir, size_t n, const char *tag)
{
    snprintf(dir, n, "/tmp/llmcap-rt-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(dir));
}

static inline void rm_tree(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Whole file into a NUL-terminated buffer (caller frees); NULL when it cannot be read. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

static inline bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Run "llmcap ARGS" (a shell command line after the binary) with stdout and stderr into
 * DIR/out.txt and DIR/err.txt; return its exit code. `env` is prepended (may be ""). */
static inline int llmcap(const char *dir, const char *env, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int llmcap(const char *dir, const char *env, const char *fmt, ...)
{
    char args[6000], cmd[8000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s %s >'%s/out.txt' 2>'%s/err.txt'", env, LLMCAP_BIN, args, dir,
             dir);
    int status = system(cmd);
    cr_assert(WIFEXITED(status), "%s", cmd);
    return WEXITSTATUS(status);
}

/* DIR/out.txt or DIR/err.txt (caller frees). */
static inline char *out_of(const char *dir, const char *which)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s.txt", dir, which);
    char *s = slurp(p, NULL);
    cr_assert_not_null(s, "%s", p);
    return s;
}

/* Every row of `sql` as text, full precision, "|" between cells, one line per row.
 * Caller frees. */
static inline char *dump(const char *db, const char *sql)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", db);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(h));
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            char cell[512];
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL:
                snprintf(cell, sizeof cell, "NULL|");
                break;
            case SQLITE_FLOAT:
                snprintf(cell, sizeof cell, "%.17g|", sqlite3_column_double(st, c));
                break;
            default:
                snprintf(cell, sizeof cell, "%s|", (const char *)sqlite3_column_text(st, c));
            }
            size_t n = strlen(cell);
            while (len + n + 2 > cap)
                out = realloc(out, cap *= 2);
            memcpy(out + len, cell, n + 1);
            len += n;
        }
        out[len++] = '\n';
        out[len] = '\0';
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}

/* One number from a query (NaN for NULL). */
static inline double query_num(const char *db, const char *sql)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", db);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(h));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s returned no row", sql);
    double v = sqlite3_column_type(st, 0) == SQLITE_NULL ? __builtin_nan("")
                                                         : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* How many times `needle` occurs in `hay`. */
static inline size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

#endif
