/* err.c: error records and the always-on assertion. */
#include "sim/core/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void err_vfill(struct sim_err *e, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void err_vfill(struct sim_err *e, int code, const char *fmt, va_list ap)
{
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

/* The names in parentheses: err.h models these as macros for clang's analyzer. */
int (sim_err_at)(struct sim_err *e, int code, const char *file, long line, long col,
                 const char *fmt, ...)
{
    if (!e)
        return code;
    e->where[0] = '\0';
    if (file && line > 0 && col > 0)
        snprintf(e->where, sizeof e->where, "%s:%ld:%ld", file, line, col);
    else if (file && line > 0)
        snprintf(e->where, sizeof e->where, "%s:%ld", file, line);
    else if (file)
        snprintf(e->where, sizeof e->where, "%s", file);
    va_list ap;
    va_start(ap, fmt);
    err_vfill(e, code, fmt, ap);
    va_end(ap);
    return code;
}

int (sim_err_set)(struct sim_err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->where[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    err_vfill(e, code, fmt, ap);
    va_end(ap);
    return code;
}

void sim_err_clear(struct sim_err *e)
{
    if (!e)
        return;
    e->code = SIM_OK;
    e->where[0] = '\0';
    e->msg[0] = '\0';
}

char *sim_err_format(const struct sim_err *e, char *buf, size_t n)
{
    if (e->where[0])
        snprintf(buf, n, "%s: error: %s", e->where, e->msg);
    else
        snprintf(buf, n, "error: %s", e->msg);
    return buf;
}

int sim_err_exit_code(int code)
{
    switch (code) {
    case SIM_OK:
        return 0;
    case SIM_EINVAL:
    case SIM_ENOENT:
        return 2;
    default:
        return 3;
    }
}

_Noreturn void sim_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "llmcap: %s:%d: internal error: assertion '%s' failed\n", file, line,
            expr);
    abort();
}

void *sim_calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0)
        return calloc(1, 1);
    return calloc(n, size);
}

void *sim_reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    return realloc(p, bytes ? bytes : 1);
}
