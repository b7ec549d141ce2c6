/*
 * mutil.h: helpers shared by the models/ library (internal: only models/ and its tests
 * include this header).
 *
 * Error records. models/ is linked after sim/ (sim -> models), so it cannot call
 * sim_err_at() from sim/core/err.c without a link-order cycle; mu_err_at() fills the same
 * struct sim_err (sim/core/err.h, header only) with the same layout and wording rules.
 *
 * JSON. The catalogs and latency tables are JSON read with cJSON. cJSON does not keep
 * the position of a node, so mu_json_where() finds it again by walking the text and the
 * tree in parallel (errors are rare; this costs one pass over the text per error).
 * cJSON's types appear only in this internal header, never in a public one.
 */
#ifndef LLMCAP_MODELS_MUTIL_H
#define LLMCAP_MODELS_MUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "sim/core/err.h"

/* Fill `e` (when not NULL) like sim_err_at() and return `code`. */
int mu_err_at(struct sim_err *e, int code, const char *file, long line, long col,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Same with no location. */
int mu_err_set(struct sim_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Read the whole file at `path` into a NUL-terminated heap buffer (caller frees). Its
 * length goes to `*len` when `len` is not NULL. NULL + err (SIM_ENOENT when the file
 * does not exist, SIM_EIO otherwise, SIM_ENOMEM) on failure.
 */
char *mu_read_file(const char *path, size_t *len, struct sim_err *err);

/* 1-based line and column (in bytes) of byte offset `off` of `text`. */
void mu_line_col(const char *text, size_t off, long *line, long *col);

/* A parsed JSON document that remembers its text, for error locations. */
struct mu_json {
    const char *path; /* borrowed: the file name used in messages */
    char *text;       /* owned */
    cJSON *root;      /* owned */
};

/*
 * Read and parse `path`. On a syntax error, err says "file:line:col" and
 * "invalid JSON near '...'" and SIM_EINVAL is returned. `path` must outlive `doc`.
 * Release with mu_json_release().
 */
int mu_json_load(struct mu_json *doc, const char *path, struct sim_err *err);

/* Parse `text` (copied) as if it were the file `path`. */
int mu_json_parse(struct mu_json *doc, const char *path, const char *text,
                  struct sim_err *err);

void mu_json_release(struct mu_json *doc);

/* Byte offset in doc->text where `node` (a node of doc->root) starts; 0 if not found. */
size_t mu_json_offset(const struct mu_json *doc, const cJSON *node);

/* Offset of the key of object member `member` (its value's offset if it has none). */
size_t mu_json_key_offset(const struct mu_json *doc, const cJSON *member);

/* Fill `err` with the location of `node` in `doc` (NULL: the root) and the message;
 * returns `code`. */
int mu_json_err(const struct mu_json *doc, const cJSON *node, struct sim_err *err, int code,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Same, located at the key of object member `member` (for unknown keys). */
int mu_json_err_key(const struct mu_json *doc, const cJSON *member, struct sim_err *err,
                    int code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* For clang's analyzer only, as sim/core/err.h does for sim_err_at(): it does not inline
 * variadic functions, so it is told that these return `code`. */
#ifdef __clang_analyzer__
#define mu_err_at(e, code, ...) (mu_err_at((e), (code), __VA_ARGS__), (code))
#define mu_err_set(e, code, ...) (mu_err_set((e), (code), __VA_ARGS__), (code))
#define mu_json_err(doc, node, err, code, ...)                                              \
    (mu_json_err((doc), (node), (err), (code), __VA_ARGS__), (code))
#define mu_json_err_key(doc, member, err, code, ...)                                        \
    (mu_json_err_key((doc), (member), (err), (code), __VA_ARGS__), (code))
#endif

/* Short text of a JSON value for messages ("'abc'", "'12.5'", "an object"). Writes at
 * most n bytes including the NUL; returns buf. */
char *mu_json_show(const cJSON *v, char *buf, size_t n);

/* Case-insensitive ASCII comparison (locale-free). */
int mu_strcasecmp(const char *a, const char *b);

/* Copy `src` into `dst` of size `n` lower-cased (ASCII), always NUL-terminated. */
void mu_lower_copy(char *dst, const char *src, size_t n);

/* Levenshtein distance between a and b, compared case-insensitively. Strings longer than
 * 127 bytes are compared on their first 127 bytes. */
int mu_levenshtein(const char *a, const char *b);

/*
 * Write "did you mean 'x', 'y' or 'z'?" suggestions for `query` among `names` (n of
 * them, in listing order) into `buf`: up to 3 names, first those containing the query
 * (shortest first), then those within edit distance max(2, strlen(query)/4) (nearest
 * first); ties keep listing order. Writes "" when nothing is close. Returns buf.
 */
char *mu_suggest(char *buf, size_t n, const char *query, const char *const *names,
                 size_t n_names);

/* The hint for an unknown key: mu_suggest()'s "did you mean ...?" for a key of 3 or more
 * characters, else "known keys: a, b, c" (cut to fit). Returns buf. */
char *mu_key_hint(char *buf, size_t n, const char *key, const char *const *names,
                  size_t n_names);

#endif
