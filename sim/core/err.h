/*
 * err.h: how llmcap reports bad input and failures.
 *
 * Library code never prints or exits. A function that can fail on input returns an int
 * (SIM_OK = 0, or a negative SIM_E* code) and fills the caller's struct sim_err with
 * where it happened ("file:line:col", or another label such as "--set") and a message in
 * llmcap's error wording: lower case, no final period, the key and value in '...', the
 * expected range and unit given. Our own bugs go through SIM_ASSERT, which is always on.
 */
#ifndef LLMCAP_SIM_ERR_H
#define LLMCAP_SIM_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#define SIM_NORETURN [[noreturn]]
#else
#define SIM_NORETURN _Noreturn
#endif

enum sim_errcode {
    SIM_OK = 0,
    SIM_EINVAL = -1,  /* bad input: scenario, trace, table, usage (exit code 2) */
    SIM_ENOMEM = -2,  /* allocation failed (exit code 3) */
    SIM_EIO = -3,     /* I/O or database failure (exit code 3) */
    SIM_EINTR = -4,   /* interrupted by a signal (exit code 3) */
    SIM_ENOENT = -5,  /* a named file or catalog entry does not exist (exit code 2) */
    SIM_ERANGE = -6,  /* a run left the simulated clock's range (exit code 3) */
};

/* Caller-owned, no heap. `where` is empty when there is no location. */
struct sim_err {
    int code;
    char where[256];
    char msg[512];
};

/*
 * Fill `e` (when not NULL) and return `code`. `file` may be NULL for no location; a line
 * of 0 leaves the line (and column) out, a column of 0 leaves the column out.
 */
int sim_err_at(struct sim_err *e, int code, const char *file, long line, long col,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Same as sim_err_at() with no location. */
int sim_err_set(struct sim_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * clang's static analyzer (clang-tidy's clang-analyzer-* checks) never inlines a variadic
 * function, so it cannot see that these return `code`: after `return sim_err_set(err,
 * SIM_EINVAL, ...)` it would go on as if the caller's `if (rc)` could find SIM_OK, and
 * report the outputs a failed call leaves unset. For the analyzer only, these macros say
 * what they return; the compiled code calls the functions as declared. err.c defines them
 * with their names in parentheses, which a function-like macro does not expand. A file's
 * own variadic error helper (e.g. fail()) that always returns one code gets the same model.
 */
#ifdef __clang_analyzer__
#define sim_err_at(e, code, ...) (sim_err_at((e), (code), __VA_ARGS__), (code))
#define sim_err_set(e, code, ...) (sim_err_set((e), (code), __VA_ARGS__), (code))
#endif

/* Clear `e` to "no error". */
void sim_err_clear(struct sim_err *e);

/*
 * Format `e` as the single line llmcap prints: "WHERE: error: MSG" or "error: MSG".
 * Writes at most `n` bytes including the terminating NUL; returns `buf`.
 */
char *sim_err_format(const struct sim_err *e, char *buf, size_t n);

/* Process exit code for an error code: 2 for bad input, 3 for runtime failures. */
int sim_err_exit_code(int code);

/* Always-on assertion for our own invariants: prints file:line and aborts. cppcheck sees
 * it as assert(), which it understands; clang's analyzer sees the real definition (a
 * _Noreturn call), so that it holds in Release builds too, where NDEBUG empties assert(). */
#if defined(__CPPCHECK__)
#include <assert.h>
#define SIM_ASSERT(cond) assert(cond)
#else
#define SIM_ASSERT(cond)                                                                   \
    do {                                                                                   \
        if (!(cond))                                                                       \
            sim_assert_fail(#cond, __FILE__, __LINE__);                                    \
    } while (0)
#endif

SIM_NORETURN void sim_assert_fail(const char *expr, const char *file, int line);

/* Allocation helpers that abort on out-of-memory would hide failures; these return NULL
 * and leave reporting to the caller. They exist to keep overflow checks in one place. */
void *sim_calloc(size_t n, size_t size);
void *sim_reallocarray(void *p, size_t n, size_t size);

#ifdef __cplusplus
}
#endif

#endif
