/*
 * ynode.h: a YAML document as a plain tree with source positions.
 *
 * The scenario loader, the Kubernetes manifest readers (ScaledObject, HPA, NodePool, AKS
 * profiles) and `--set` overrides all work on this tree, so every error can point at
 * file:line:col and no libyaml type leaks into our headers. Aliases are expanded; merge
 * keys (<<) and multi-document streams are rejected. Scalars keep their text and whether
 * they were quoted; typed readers below convert and range-check them with llmcap's error
 * wording.
 */
#ifndef LLMCAP_SIM_YNODE_H
#define LLMCAP_SIM_YNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

enum ynode_kind { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

struct ynode {
    enum ynode_kind kind;
    const char *file; /* the file it came from (borrowed from its ydoc), or "--set" */
    long line, col;   /* 1-based position of the node's first character */
    char *value;      /* scalar text; NULL for maps and sequences */
    bool quoted;      /* scalar written in quotes (then never null/bool/number-like) */
    bool float_tag;   /* scalar tagged !!float: never an integer */
    bool block;       /* scalar written as a block (| or >): its text starts on the next
                         line; line:col are the indicator's */
    size_t n;         /* entries (map) or items (seq) */
    struct ynode **keys;  /* map: key scalars, in file order; NULL for seq */
    struct ynode **items; /* map: values; seq: items */
};

struct ydoc; /* owns every node and file name of one or more loaded files */

/* Parse `path` into a new document. An empty file gives an empty map. Caller owns:
 * ydoc_free(). NULL + err ("file:line:col: ...") on a syntax error or unreadable file. */
struct ydoc *ydoc_load_file(const char *path, struct sim_err *err);

/* Parse a string (used by tests and `--set` values); `name` labels positions. */
struct ydoc *ydoc_load_string(const char *name, const char *text, size_t len,
                              struct sim_err *err);

/* Parse another file into `doc` (for `file: path` includes); the nodes live as long as
 * `doc`. Returns the new root or NULL + err. */
struct ynode *ydoc_include_file(struct ydoc *doc, const char *path, struct sim_err *err);

void ydoc_free(struct ydoc *doc); /* NULL is a no-op */

struct ynode *ydoc_root(const struct ydoc *doc);

/* Path of the document's main file (borrowed). */
const char *ydoc_path(const struct ydoc *doc);

/* Map lookup by key (NULL when absent or `map` is not a map). */
const struct ynode *ynode_get(const struct ynode *map, const char *key);

/* The key scalar for `key` in `map` (for errors that point at the key), or NULL. */
const struct ynode *ynode_key(const struct ynode *map, const char *key);

/*
 * Apply a command-line override "a.b.c=value" to the tree: walk (creating maps as
 * needed) to the parent, then replace or add the scalar. Sequence items are addressed by
 * index ("workload.rate_profile.steps.1.rate_per_s"); index n appends to a sequence of n
 * items, and a missing node followed by index 0 is created as a sequence. A null node on
 * the way ("rate_profile:" with nothing under it) becomes a map. An item of a sequence of
 * named maps may also be addressed by its `name` ("deployments.chat.fleet.replicas", as
 * Kubernetes addresses lists of named objects); a segment that is neither an index nor
 * an item's name is an error listing the names. A value that parses as
 * a YAML flow collection ("[1,2]", "{a: 1}") replaces the node with that collection; a
 * value in quotes is a quoted scalar; any other value is taken verbatim (no comments).
 * Positions of new nodes are "--set:1:COL" where COL is the value's column in the
 * argument (the segment's column for keys and created maps). Errors: where "--set",
 * message "invalid --set 'ASSIGNMENT': ...".
 */
int ydoc_set(struct ydoc *doc, const char *assignment, struct sim_err *err);

/*
 * Expands an include met on the way of an override: `at` is the dotted path walked so far
 * ("fleet.autoscaler.scaledObject"), `file` the scalar value of its `{file: ...}` map.
 * Sets *root to the included file's root (parsed into the same document) to put it in
 * the include's place, or leaves it NULL when `at` is not a place that takes includes.
 * Returns SIM_OK or an error code with err set.
 */
typedef int ydoc_include_fn(void *ctx, const char *at, const struct ynode *file,
                            struct ynode **root, struct sim_err *err);

/*
 * ydoc_set(), reaching into includes: a map with exactly one key `file` on the way to
 * the assigned node (not an assignment to `...file` itself) is replaced by what
 * `include` returns for it before the walk goes on, so "fleet.autoscaler.scaledObject.
 * spec.maxReplicaCount=8" changes the included object. `include` NULL is ydoc_set().
 */
int ydoc_set_with(struct ydoc *doc, const char *assignment, ydoc_include_fn *include, void *ctx,
                  struct sim_err *err);

/* True when the scalar is YAML null ("", "~", "null", unquoted). */
bool ynode_is_null(const struct ynode *n);

/* ---- typed readers: all fill err with "<file>:<line>:<col>" and the key name ---- */

/* Check that every key of `map` is in `allowed` (NULL-terminated). An unknown key is an
 * error at the key: "unknown key 'ratee_per_s' in 'workload.arrivals' (did you mean
 * 'rate_per_s'?)". `ctx` names the map in messages ("" for the top level). Also
 * rejects duplicate keys and a non-map node. */
int ynode_check_keys(const struct ynode *map, const char *ctx, const char *const *allowed,
                     struct sim_err *err);

/* `key` is the full dotted name used in messages. Ranges are inclusive. */
int ynode_as_string(const struct ynode *n, const char *key, const char **out,
                    struct sim_err *err);
int ynode_as_bool(const struct ynode *n, const char *key, bool *out, struct sim_err *err);
int ynode_as_int64(const struct ynode *n, const char *key, int64_t min, int64_t max,
                   int64_t *out, struct sim_err *err);
int ynode_as_double(const struct ynode *n, const char *key, double min, double max,
                    double *out, struct sim_err *err);
/* A duration with a unit: "250ms", "30s", "5m", "2h", "1.5s", "1d", "500us"; combined
 * forms like "1h30m" too. A bare number is an error unless `bare_unit_us` > 0, in which
 * case it is that many microseconds per unit (Kubernetes fields in seconds pass 1e6). */
int ynode_as_duration_us(const struct ynode *n, const char *key, int64_t min_us,
                         int64_t max_us, int64_t bare_unit_us, int64_t *out,
                         struct sim_err *err);
/* A fraction: "0.1%" (percent) or a plain number in [min, max] ("0.001"). */
int ynode_as_frac(const struct ynode *n, const char *key, double min, double max,
                  double *out, struct sim_err *err);
/* One of `names` (NULL-terminated); *out is its index. The error lists the choices. */
int ynode_as_enum(const struct ynode *n, const char *key, const char *const *names,
                  int *out, struct sim_err *err);

/* A range for messages that need open bounds or a unit: bounds are -INFINITY/INFINITY
 * when absent; `unit` ("req/s", "GiB") is written after the range when not NULL:
 * "'workload.arrivals.rate_per_s' must be > 0 (req/s), got '-2.5'". */
struct ynode_range {
    double min, max;
    bool min_open, max_open; /* exclusive bounds */
    const char *unit;
};

/* ynode_as_double() with open bounds and a unit. Rejects inf and nan. */
int ynode_as_number(const struct ynode *n, const char *key, const struct ynode_range *r,
                    double *out, struct sim_err *err);

/* ynode_as_int64() with a unit in the range message ("must be in [1, 64] (GPUs)"). A max
 * of INT32_MAX or more reads as "no upper bound": the message names only the bound that
 * was crossed. */
int ynode_as_int64_unit(const struct ynode *n, const char *key, int64_t min, int64_t max,
                        const char *unit, int64_t *out, struct sim_err *err);

/* What a node is, for "expected a map for 'engine', found a sequence": "a map",
 * "a sequence", "null" or "a scalar". */
const char *ynode_kind_name(const struct ynode *n);

/* Read a whole file into a new NUL-terminated buffer (caller frees *out). SIM_ENOENT
 * when it does not exist, SIM_EINVAL for a folder, SIM_EIO otherwise; err.where is the
 * path and the message "cannot open 'PATH': no such file or directory". */
int ynode_read_file(const char *path, char **out, size_t *len, struct sim_err *err);

/* Write a duration compactly in a form parse_duration_us() reads back ("1h30m",
 * "250ms", "1s500ms", "0s"); returns buf. */
char *format_duration_us(int64_t us, char *buf, size_t n);

/* Parse a duration string as above (no node); returns SIM_OK or SIM_EINVAL. Units are
 * d, h, m, s, ms, us, each at most once and largest first; a leading '-' is allowed (for
 * range messages); "0" is the only bare number accepted; results are rounded to the
 * nearest microsecond. */
int parse_duration_us(const char *text, int64_t *out);

/* Levenshtein-based suggestion: the closest of `candidates` to `word` (first on ties)
 * within distance max(2, strlen(word) / 3) and below strlen(word) (so "a" never
 * suggests "cv"), or NULL. */
const char *did_you_mean(const char *word, const char *const *candidates);

/* "a" + "." + "b" into out[n], cut to fit (dotted keys are far shorter than the buffers;
 * a cut one would only shorten a message). "" + "b" is "b". */
void ynode_join_key(char *out, size_t n, const char *a, const char *b);

/* err as `file:line:col: error: MESSAGE` at node n (no position when n is NULL); returns
 * code. */
int ynode_fail_at(struct sim_err *err, int code, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#ifdef __clang_analyzer__ /* what it returns, for the analyzer (see sim/core/err.h) */
#define ynode_fail_at(err, code, ...) (ynode_fail_at((err), (code), __VA_ARGS__), (code))
#endif

#endif
