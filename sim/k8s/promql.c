/*
 * promql.c: a recursive-descent parser for the PromQL subset of sim/k8s/promql.h, with
 * static checks (metric names, argument types, histogram_quantile's `le`), and an
 * instant-query evaluator over sim/k8s/tsdb.h whose buffers live in the expression nodes.
 *
 * Semantics follow prometheus/prometheus (promql/engine.go, promql/functions.go
 * extrapolatedRate and instantValue, promql/quantile.go BucketQuantile, util/kahansum),
 * read at commit d15adb9a (2026).
 */
#include "sim/k8s/promql.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/k8s/metrics.h"

/* ------------------------------------------------------------------------------------ */
/* Tables                                                                               */
/* ------------------------------------------------------------------------------------ */

enum fn_id {
    FN_RATE,
    FN_IRATE,
    FN_INCREASE,
    FN_DELTA,
    FN_AVG_OT,
    FN_MIN_OT,
    FN_MAX_OT,
    FN_SUM_OT,
    FN_COUNT_OT,
    FN_LAST_OT,
    FN_HQ,
    FN_SCALAR,
    FN_VECTOR,
    FN_CLAMP,
    FN_CLAMP_MIN,
    FN_CLAMP_MAX,
    FN_ABS,
    FN_CEIL,
    FN_FLOOR,
    FN_ROUND,
    FN_SQRT,
    FN_EXP,
    FN_LN,
    FN_LOG2,
    FN_LOG10,
    FN_N
};

/* args: one letter per parameter, 'm' range vector, 'v' instant vector, 's' scalar. */
struct fn_def {
    const char *name;
    const char *args;
    unsigned min_args;
    enum promql_type ret;
};

static const struct fn_def fn_defs[FN_N] = {
    [FN_RATE] = {"rate", "m", 1, PROMQL_VECTOR},
    [FN_IRATE] = {"irate", "m", 1, PROMQL_VECTOR},
    [FN_INCREASE] = {"increase", "m", 1, PROMQL_VECTOR},
    [FN_DELTA] = {"delta", "m", 1, PROMQL_VECTOR},
    [FN_AVG_OT] = {"avg_over_time", "m", 1, PROMQL_VECTOR},
    [FN_MIN_OT] = {"min_over_time", "m", 1, PROMQL_VECTOR},
    [FN_MAX_OT] = {"max_over_time", "m", 1, PROMQL_VECTOR},
    [FN_SUM_OT] = {"sum_over_time", "m", 1, PROMQL_VECTOR},
    [FN_COUNT_OT] = {"count_over_time", "m", 1, PROMQL_VECTOR},
    [FN_LAST_OT] = {"last_over_time", "m", 1, PROMQL_VECTOR},
    [FN_HQ] = {"histogram_quantile", "sv", 2, PROMQL_VECTOR},
    [FN_SCALAR] = {"scalar", "v", 1, PROMQL_SCALAR},
    [FN_VECTOR] = {"vector", "s", 1, PROMQL_VECTOR},
    [FN_CLAMP] = {"clamp", "vss", 3, PROMQL_VECTOR},
    [FN_CLAMP_MIN] = {"clamp_min", "vs", 2, PROMQL_VECTOR},
    [FN_CLAMP_MAX] = {"clamp_max", "vs", 2, PROMQL_VECTOR},
    [FN_ABS] = {"abs", "v", 1, PROMQL_VECTOR},
    [FN_CEIL] = {"ceil", "v", 1, PROMQL_VECTOR},
    [FN_FLOOR] = {"floor", "v", 1, PROMQL_VECTOR},
    [FN_ROUND] = {"round", "vs", 1, PROMQL_VECTOR},
    [FN_SQRT] = {"sqrt", "v", 1, PROMQL_VECTOR},
    [FN_EXP] = {"exp", "v", 1, PROMQL_VECTOR},
    [FN_LN] = {"ln", "v", 1, PROMQL_VECTOR},
    [FN_LOG2] = {"log2", "v", 1, PROMQL_VECTOR},
    [FN_LOG10] = {"log10", "v", 1, PROMQL_VECTOR},
};

/* Every function Prometheus knows (promql/parser/functions.go), to tell "unsupported
 * here" from "no such function". */
static const char *const prom_functions[] = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "deg",
    "delta", "deriv", "exp", "first_over_time", "floor", "histogram_avg", "histogram_count",
    "histogram_sum", "histogram_stddev", "histogram_stdvar", "histogram_fraction",
    "histogram_quantile", "histogram_quantiles", "double_exponential_smoothing", "hour",
    "idelta", "increase", "info", "irate", "label_replace", "label_join", "last_over_time",
    "ln", "log10", "log2", "mad_over_time", "max_over_time", "min_over_time", "minute",
    "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad",
    "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_desc",
    "sort_by_label", "sort_by_label_desc", "sqrt", "stddev_over_time", "stdvar_over_time",
    "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
};

enum agg_op { AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX, AGG_COUNT, AGG_N };
static const char *const agg_names[AGG_N] = {"sum", "avg", "min", "max", "count"};
static const char *const unsupported_aggs[] = {
    "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group", "limitk",
    "limit_ratio",
};

enum bin_op { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_POW };
static const char *const op_names[] = {"+", "-", "*", "/", "%", "^"};

/* Words that cannot start a metric selector. */
static const char *const keywords[] = {
    "by", "without", "offset", "bool", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "atan2",
};

/* Metrics vLLM renamed: a query that still uses the old name gets the new one. */
static const struct {
    const char *old_base, *new_base, *when;
} renamed_metrics[] = {
    {"vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc", "deprecated in vLLM 0.9"},
    {"vllm:time_per_output_token_seconds", "vllm:inter_token_latency_seconds",
     "deprecated in vLLM 0.11"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------------------ */
/* Types                                                                                */
/* ------------------------------------------------------------------------------------ */

enum tk {
    TK_EOF,
    TK_BAD, /* lexical error; tok.why says which */
    TK_NUM,
    TK_STR,
    TK_IDENT,
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACE,
    TK_RBRACE,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_COMMA,
    TK_COLON,
    TK_ADD,
    TK_SUB,
    TK_MUL,
    TK_DIV,
    TK_MOD,
    TK_POW,
    TK_ASSIGN, /* = */
    TK_EQLC,   /* == */
    TK_NEQ,    /* != */
    TK_RE,     /* =~ */
    TK_NRE,    /* !~ */
    TK_LSS,
    TK_LTE,
    TK_GTR,
    TK_GTE,
    TK_AT,
};

struct tok {
    enum tk kind;
    size_t pos, len;
    double num;
    const char *why;
};

enum match_op { MATCH_EQ, MATCH_NEQ, MATCH_RE, MATCH_NRE };

struct matcher {
    char *label;
    char *value;
    enum match_op op;
    bool has_re;
    regex_t re;
    size_t pos; /* of the label name */
};

static bool matcher_accepts(const struct matcher *m, const char *v);

struct selector {
    char *metric;
    const struct metric_def *def;
    enum metric_series kind;
    struct matcher *m;
    size_t nm;
    int64_t range_us; /* 0 for an instant selector */
    int64_t offset_us;
    bool has_offset;
    /* Series cache for the bound store: the matching series among the first n_seen of
     * the metric's family. Series never change labels, so only new ones are examined. */
    int32_t name_id;
    size_t n_seen;
    int32_t *ids;
    size_t n_ids, cap_ids;
};

enum node_kind { N_NUM, N_SEL, N_AGG, N_BIN, N_NEG, N_CALL };

struct vec {
    struct promql_sample *s;
    size_t n, cap;
};

struct lsmap {
    int32_t *slot;
    size_t cap;
};

struct node {
    enum node_kind kind;
    enum promql_type type;
    size_t pos; /* offset of the node's first character (operators: of the operator) */
    double num;
    struct selector *sel;
    int op; /* enum bin_op, enum agg_op or enum fn_id */
    bool without;
    bool has_grouping;
    char **grp;
    int32_t *grp_ids;
    size_t ngrp;
    struct node *kid[3];
    size_t nkid;
    int height; /* of the subtree: 1 for a leaf (bounded by PQ_MAX_DEPTH) */
    /* evaluation state, reused from call to call */
    struct vec out;
    struct lsmap map;
    void *scr[3];
    size_t scr_cap[3]; /* bytes */
    int32_t le_id;
};

struct promql_binding {
    const struct tsdb *db;
};

struct promql_expr {
    char *text;
    char *file;
    long line, col;
    struct node *root;
    struct node **nodes;
    size_t n_nodes, cap_nodes;
    int64_t lookback_us;
    struct promql_binding *bind;
};

struct parser {
    struct promql_expr *e;
    const char *s;
    struct tok cur;
    struct sim_err *err;
    bool failed;
    int depth; /* parse_expr() calls open now */
};

/* Nesting limit: parentheses, function calls, aggregations and operators inside one
 * another, a chain of binary operators counting one level per operator (the tree it
 * makes is that deep). Real trigger queries nest a handful of levels; the limit keeps
 * the parser's and the evaluator's recursion far from the stack's end on any input. */
#define PQ_MAX_DEPTH 256

/* ------------------------------------------------------------------------------------ */
/* Locations and errors                                                                 */
/* ------------------------------------------------------------------------------------ */

/* A column of 0 means the query's columns are unknown (a YAML block scalar, whose
 * indentation is not kept): messages then give the line only. */
static void text_loc(const struct promql_expr *e, size_t off, long *line, long *col)
{
    long l = e->line, c = e->col > 0 ? e->col + (long)off : 0;
    size_t nl = (size_t)-1;
    for (size_t i = 0; i < off && e->text[i]; i++) {
        if (e->text[i] == '\n') {
            l++;
            nl = i;
        }
    }
    if (nl != (size_t)-1 && e->col > 0)
        c = (long)(off - nl);
    *line = l;
    *col = c;
}

/* Where text offset `off` is, for messages that name another token: "column 12", or
 * "line 16" when the columns are unknown (a block scalar). */
static const char *pos_of(const struct promql_expr *e, size_t off, char *buf, size_t n)
{
    long line, col;
    text_loc(e, off, &line, &col);
    if (e->col > 0)
        snprintf(buf, n, "column %ld", col > 0 ? col : (long)off + 1);
    else
        snprintf(buf, n, "line %ld", line);
    return buf;
}

static int expr_verr(const struct promql_expr *e, struct sim_err *err, int code, size_t off,
                     const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static int expr_verr(const struct promql_expr *e, struct sim_err *err, int code, size_t off,
                     const char *fmt, va_list ap)
{
    char msg[sizeof err->msg];
    vsnprintf(msg, sizeof msg, fmt, ap);
    long line, col;
    text_loc(e, off, &line, &col);
    return sim_err_at(err, code, e->file, e->file ? line : 0, col, "%s", msg);
}

static int expr_err(const struct promql_expr *e, struct sim_err *err, int code, size_t off,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int expr_err(const struct promql_expr *e, struct sim_err *err, int code, size_t off,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = expr_verr(e, err, code, off, fmt, ap);
    va_end(ap);
    return rc;
}

static void *perr(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void *perr(struct parser *p, size_t off, const char *fmt, ...)
{
    if (p->failed)
        return NULL;
    p->failed = true;
    va_list ap;
    va_start(ap, fmt);
    expr_verr(p->e, p->err, SIM_EINVAL, off, fmt, ap);
    va_end(ap);
    return NULL;
}

static void *poom(struct parser *p)
{
    if (!p->failed) {
        p->failed = true;
        sim_err_set(p->err, SIM_ENOMEM, "out of memory parsing a PromQL query");
    }
    return NULL;
}

/* "'text'" of a token for "found ..." in messages, or "end of query". */
static const char *tok_desc(const struct parser *p, const struct tok *t, char *buf, size_t n)
{
    if (t->kind == TK_EOF)
        return "end of query";
    int len = t->len > 40 ? 40 : (int)t->len;
    snprintf(buf, n, "'%.*s%s'", len, p->s + t->pos, t->len > 40 ? "..." : "");
    return buf;
}

static void *expected(struct parser *p, const char *what)
{
    char b[64];
    return perr(p, p->cur.pos, "expected %s, found %s", what, tok_desc(p, &p->cur, b, sizeof b));
}

/* Levenshtein distance of two short strings (SIZE_MAX when too long to bother). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    size_t row[128];
    if (nb >= N_OF(row) || na >= 128)
        return (size_t)-1;
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* "rate, irate, ..." */
static void supported_functions(char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < FN_N && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", fn_defs[i].name);
}

/* ------------------------------------------------------------------------------------ */
/* Lexer: a pure function of the text and a position                                    */
/* ------------------------------------------------------------------------------------ */

static bool is_ident_start(int c)
{
    return isalpha(c) || c == '_' || c == ':';
}

static bool is_ident_char(int c)
{
    return isalnum(c) || c == '_' || c == ':';
}

static size_t skip_space(const char *s, size_t i)
{
    for (;;) {
        while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
            i++;
        if (s[i] != '#')
            return i;
        while (s[i] && s[i] != '\n') /* comment to the end of the line */
            i++;
    }
}

static struct tok lex_at(const char *s, size_t i)
{
    i = skip_space(s, i);
    struct tok t = {.kind = TK_EOF, .pos = i, .len = 0};
    unsigned char c = (unsigned char)s[i];
    if (!c)
        return t;
    if (is_ident_start(c)) {
        size_t j = i;
        while (is_ident_char((unsigned char)s[j]))
            j++;
        t.kind = TK_IDENT;
        t.len = j - i;
        return t;
    }
    if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[i + 1]))) {
        size_t j = i;
        if (c == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') &&
            isxdigit((unsigned char)s[i + 2])) {
            j = i + 2;
            while (isxdigit((unsigned char)s[j]))
                j++;
            t.num = (double)strtoull(s + i + 2, NULL, 16);
        } else {
            while (isdigit((unsigned char)s[j]))
                j++;
            if (s[j] == '.') {
                j++;
                while (isdigit((unsigned char)s[j]))
                    j++;
            }
            if ((s[j] == 'e' || s[j] == 'E') &&
                (isdigit((unsigned char)s[j + 1]) ||
                 ((s[j + 1] == '+' || s[j + 1] == '-') && isdigit((unsigned char)s[j + 2])))) {
                j += 2;
                while (isdigit((unsigned char)s[j]))
                    j++;
            }
            t.num = strtod(s + i, NULL);
        }
        t.kind = TK_NUM;
        if (is_ident_char((unsigned char)s[j])) {
            while (is_ident_char((unsigned char)s[j]))
                j++;
            t.kind = TK_BAD;
            t.why = "bad number";
        }
        t.len = j - i;
        return t;
    }
    if (c == '"' || c == '\'' || c == '`') {
        size_t j = i + 1;
        while (s[j] && (unsigned char)s[j] != c) {
            if (c != '`' && s[j] == '\\' && s[j + 1])
                j++;
            j++;
        }
        if (!s[j]) {
            t.kind = TK_BAD;
            t.why = "unterminated string";
            t.len = j - i;
            return t;
        }
        t.kind = TK_STR;
        t.len = j + 1 - i;
        return t;
    }
    t.len = 1;
    switch (c) {
    case '(': t.kind = TK_LPAREN; break;
    case ')': t.kind = TK_RPAREN; break;
    case '{': t.kind = TK_LBRACE; break;
    case '}': t.kind = TK_RBRACE; break;
    case '[': t.kind = TK_LBRACKET; break;
    case ']': t.kind = TK_RBRACKET; break;
    case ',': t.kind = TK_COMMA; break;
    case ':': t.kind = TK_COLON; break;
    case '+': t.kind = TK_ADD; break;
    case '-': t.kind = TK_SUB; break;
    case '*': t.kind = TK_MUL; break;
    case '/': t.kind = TK_DIV; break;
    case '%': t.kind = TK_MOD; break;
    case '^': t.kind = TK_POW; break;
    case '@': t.kind = TK_AT; break;
    case '=':
        if (s[i + 1] == '=') {
            t.kind = TK_EQLC;
            t.len = 2;
        } else if (s[i + 1] == '~') {
            t.kind = TK_RE;
            t.len = 2;
        } else {
            t.kind = TK_ASSIGN;
        }
        break;
    case '!':
        if (s[i + 1] == '=' || s[i + 1] == '~') {
            t.kind = s[i + 1] == '=' ? TK_NEQ : TK_NRE;
            t.len = 2;
        } else {
            t.kind = TK_BAD;
            t.why = "unexpected character";
        }
        break;
    case '<':
    case '>':
        t.kind = c == '<' ? TK_LSS : TK_GTR;
        if (s[i + 1] == '=') {
            t.kind = c == '<' ? TK_LTE : TK_GTE;
            t.len = 2;
        }
        break;
    default:
        t.kind = TK_BAD;
        t.why = "unexpected character";
        break;
    }
    return t;
}

static bool parse_duration(const char *s, size_t n, int64_t *us);

/* Make the token at `pos` current; a lexical error stops the parse there. */
static void lex_to(struct parser *p, size_t pos)
{
    p->cur = lex_at(p->s, pos);
    if (p->cur.kind != TK_BAD)
        return;
    int64_t us;
    const char *hint = "";
    if (strcmp(p->cur.why, "bad number") == 0 &&
        parse_duration(p->s + p->cur.pos, p->cur.len, &us))
        hint = " (durations belong in a range [...] or after 'offset')";
    perr(p, p->cur.pos, "%s '%.*s' in PromQL query%s", p->cur.why, (int)p->cur.len,
         p->s + p->cur.pos, hint);
}

static void advance(struct parser *p)
{
    lex_to(p, p->cur.pos + p->cur.len);
}

static struct tok peek(const struct parser *p)
{
    return lex_at(p->s, p->cur.pos + p->cur.len);
}

static bool tok_is(const struct parser *p, const struct tok *t, const char *word)
{
    return t->kind == TK_IDENT && t->len == strlen(word) &&
           strncasecmp(p->s + t->pos, word, t->len) == 0;
}

static bool tok_in(const struct parser *p, const struct tok *t, const char *const *words,
                   size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tok_is(p, t, words[i]))
            return true;
    return false;
}

static char *tok_strdup(const struct parser *p, const struct tok *t)
{
    char *s = malloc(t->len + 1);
    if (s) {
        memcpy(s, p->s + t->pos, t->len);
        s[t->len] = '\0';
    }
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* Strings, durations, regexes                                                          */
/* ------------------------------------------------------------------------------------ */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* The value of string token `t` (Go quoting: "..." and '...' with escapes, `...` raw). */
static char *unquote(struct parser *p, const struct tok *t)
{
    const char *s = p->s + t->pos;
    char q = s[0];
    size_t n = t->len - 2;
    char *out = malloc(n * 3 + 1);
    if (!out)
        return poom(p);
    size_t o = 0;
    for (size_t i = 1; i <= n; i++) {
        if (q == '`' || s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case '\\': out[o++] = '\\'; break;
        case '"': out[o++] = '"'; break;
        case '\'': out[o++] = '\''; break;
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'v': out[o++] = '\v'; break;
        case 'x':
            if (i + 2 <= n && isxdigit((unsigned char)s[i + 1]) &&
                isxdigit((unsigned char)s[i + 2])) {
                out[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 +
                                  hexval((unsigned char)s[i + 2]));
                i += 2;
                break;
            }
            /* fall through */
        default:
            free(out);
            return perr(p, t->pos + i - 1,
                        "invalid escape '\\%c' in string (a regex backslash is written "
                        "'\\\\%c')",
                        c, c);
        }
    }
    out[o] = '\0';
    return out;
}

/*
 * Prometheus durations (prometheus/common model.ParseDuration): one or more of
 * <int>y <int>w <int>d <int>h <int>m <int>s <int>ms, in that order, each at most once;
 * "0" alone is zero. y = 365d, w = 7d.
 */
static bool parse_duration(const char *s, size_t n, int64_t *us)
{
    static const struct {
        const char *unit;
        int64_t us;
    } units[] = {
        {"y", 365LL * 86400 * 1000000}, {"w", 7LL * 86400 * 1000000}, {"d", 86400LL * 1000000},
        {"h", 3600LL * 1000000},        {"m", 60LL * 1000000},         {"s", 1000000},
        {"ms", 1000},
    };
    if (n == 1 && s[0] == '0') {
        *us = 0;
        return true;
    }
    size_t i = 0, next_unit = 0;
    int64_t total = 0;
    if (n == 0)
        return false;
    while (i < n) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        int64_t v = 0;
        while (i < n && isdigit((unsigned char)s[i])) {
            if (v > INT64_MAX / 10 - 10)
                return false;
            v = v * 10 + (s[i++] - '0');
        }
        size_t u0 = i;
        while (i < n && isalpha((unsigned char)s[i]))
            i++;
        size_t k = next_unit;
        while (k < N_OF(units) &&
               !(strlen(units[k].unit) == i - u0 && strncmp(units[k].unit, s + u0, i - u0) == 0))
            k++;
        if (k == N_OF(units) || v > (INT64_MAX - total) / units[k].us)
            return false;
        total += v * units[k].us;
        next_unit = k + 1;
    }
    *us = total;
    return true;
}

/* Append to a bounded buffer; false when it is full. */
/* Append the n bytes at s to out (cap bytes, *o used), NUL-terminated; false if full. */
static bool put_n(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + n >= cap)
        return false;
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = '\0';
    return true;
}

static bool put(char *out, size_t cap, size_t *o, const char *s)
{
    return put_n(out, cap, o, s, strlen(s));
}

/*
 * Translate a Prometheus (RE2) regex to a POSIX extended one anchored as Prometheus
 * anchors it ("^(?:re)$"): \d \w \s and their negations become bracket expressions,
 * (?: becomes (, a leading (?i) becomes REG_ICASE, and lazy quantifiers lose their '?'
 * (laziness cannot change whether the whole value matches). Returns NULL on success, or
 * what is not supported.
 *
 * Repetition is bounded as RE2 bounds it, because the C library's regcomp() copies a
 * repeated subexpression once per repetition: a repetition of a repetition ('a++') is an
 * error in RE2 and here, a count above 1000 too, and so is nesting whose repetitions
 * multiply past 1000 ('+' and '*' count as 2). Without these limits 'L+++...' (found by
 * fuzz_promql) made regcomp() take gigabytes.
 */
enum { RE_MAX_REPEAT = 1000, RE_MAX_GROUPS = 64 };

/* `s` at '{': the length of a counted repetition {n}, {n,} or {n,m} and its largest count
 * in *k (n for {n,}); 0 when it is not one (then '{' is left to regcomp). */
static size_t re_count(const char *s, long *k)
{
    size_t i = 1;
    long n = 0, m = -1;
    if (!isdigit((unsigned char)s[i]))
        return 0;
    for (; isdigit((unsigned char)s[i]); i++) /* saturates: any count past 1000 is refused */
        n = n > RE_MAX_REPEAT ? n : n * 10 + (s[i] - '0');
    if (s[i] == ',') {
        i++;
        if (isdigit((unsigned char)s[i])) {
            m = 0;
            for (; isdigit((unsigned char)s[i]); i++)
                m = m > RE_MAX_REPEAT ? m : m * 10 + (s[i] - '0');
        }
    }
    if (s[i] != '}')
        return 0;
    *k = m > n ? m : n;
    return i + 1;
}

static const char *re_translate(const char *re, char *out, size_t cap, bool *icase)
{
    size_t o = 0;
    *icase = false;
    /* grp[d]: the largest product of repetitions inside the open group at depth d; atom:
     * that of the last atom (a closed group's, or 1); quant: the last token was a
     * repetition; lazy: and a lazy '?' followed it. */
    long grp[RE_MAX_GROUPS + 1] = {1};
    int depth = 0;
    long atom = 1;
    bool quant = false;
    if (strncmp(re, "(?i)", 4) == 0) {
        *icase = true;
        re += 4;
    }
    out[0] = '\0';
    if (!put(out, cap, &o, "^("))
        return "a regex this long";
    bool after_quant = false;
    for (size_t i = 0; re[i];) {
        char c = re[i];
        char one[3] = {c, 0, 0};
        if (c == '\\') {
            char e = re[i + 1];
            const char *rep = NULL;
            switch (e) {
            case 'd': rep = "[0-9]"; break;
            case 'D': rep = "[^0-9]"; break;
            case 'w': rep = "[[:alnum:]_]"; break;
            case 'W': rep = "[^[:alnum:]_]"; break;
            case 's': rep = "[[:space:]]"; break;
            case 'S': rep = "[^[:space:]]"; break;
            case 'n': rep = "\n"; break;
            case 't': rep = "\t"; break;
            default:
                if (!e || isalnum((unsigned char)e))
                    return "this regex escape";
                one[0] = '\\';
                one[1] = e;
                rep = one;
                break;
            }
            if (!put(out, cap, &o, rep))
                return "a regex this long";
            i += 2;
            after_quant = quant = false;
            atom = 1;
            continue;
        }
        if (c == '[') {
            /* Copy the bracket expression; inside it RE2 escapes become literals. */
            size_t j = i + 1;
            if (!put(out, cap, &o, "["))
                return "a regex this long";
            if (re[j] == '^') {
                put(out, cap, &o, "^");
                j++;
            }
            if (re[j] == ']') {
                put(out, cap, &o, "]");
                j++;
            }
            while (re[j] && re[j] != ']') {
                char b[3] = {re[j], 0, 0};
                const char *rep = b;
                if (re[j] == '[' && re[j + 1] == ':') {
                    const char *end = strstr(re + j, ":]");
                    if (!end)
                        return "this bracket expression";
                    size_t len = (size_t)(end + 2 - (re + j));
                    if (!put_n(out, cap, &o, re + j, len))
                        return "a regex this long";
                    j += len;
                    continue;
                }
                if (re[j] == '\\') {
                    char e = re[j + 1];
                    if (e == 'd')
                        rep = "0-9";
                    else if (e == 'w')
                        rep = "[:alnum:]_";
                    else if (e == 's')
                        rep = "[:space:]";
                    else if (e == '\\')
                        rep = "\\";
                    else if (e && ispunct((unsigned char)e) && e != ']' && e != '^' && e != '-')
                        b[0] = e;
                    else
                        return "this escape inside [...]";
                    j++;
                }
                if (!put(out, cap, &o, rep))
                    return "a regex this long";
                j++;
            }
            if (re[j] != ']')
                return "an unterminated [...]";
            if (!put(out, cap, &o, "]"))
                return "a regex this long";
            i = j + 1;
            after_quant = quant = false;
            atom = 1;
            continue;
        }
        if (c == '(') {
            if (depth == RE_MAX_GROUPS)
                return "nesting this deep";
            grp[++depth] = 1;
        } else if (c == ')' && depth > 0) {
            atom = grp[depth--];
            if (atom > grp[depth])
                grp[depth] = atom;
            after_quant = quant = false;
            if (!put(out, cap, &o, one))
                return "a regex this long";
            i++;
            continue;
        }
        if (c == '(' && re[i + 1] == '?') {
            if (re[i + 2] != ':')
                return "this (?...) group or flag";
            if (!put(out, cap, &o, "("))
                return "a regex this long";
            i += 3;
            after_quant = quant = false;
            continue;
        }
        if (c == '?' && after_quant) { /* lazy quantifier */
            i++;
            after_quant = false;
            continue;
        }
        long k = 0;
        size_t len = 1;
        if (c == '*' || c == '+')
            k = 2;
        else if (c == '?')
            k = 1;
        else if (c == '{' && (len = re_count(re + i, &k)) == 0)
            len = 1; /* not a repetition: regcomp says what it makes of it */
        if (k > 0) {
            if (quant)
                return "a repetition of a repetition";
            if (k > RE_MAX_REPEAT)
                return "a repetition count above 1000";
            if (atom * k > RE_MAX_REPEAT)
                return "repetitions that multiply past 1000";
            if (atom * k > grp[depth])
                grp[depth] = atom * k;
            if (!put_n(out, cap, &o, re + i, len))
                return "a regex this long";
            i += len;
            after_quant = quant = true;
            continue;
        }
        if (!put(out, cap, &o, one))
            return "a regex this long";
        after_quant = quant = false;
        atom = 1;
        i++;
    }
    if (!put(out, cap, &o, ")$"))
        return "a regex this long";
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Nodes                                                                                */
/* ------------------------------------------------------------------------------------ */

static struct node *new_node(struct parser *p, enum node_kind kind, size_t pos)
{
    struct promql_expr *e = p->e;
    if (e->n_nodes == e->cap_nodes) {
        size_t cap = e->cap_nodes ? 2 * e->cap_nodes : 16;
        struct node **a = sim_reallocarray(e->nodes, cap, sizeof *a);
        if (!a)
            return poom(p);
        e->nodes = a;
        e->cap_nodes = cap;
    }
    struct node *n = sim_calloc(1, sizeof *n);
    if (!n)
        return poom(p);
    n->kind = kind;
    n->pos = pos;
    n->le_id = -1;
    n->height = 1;
    e->nodes[e->n_nodes++] = n;
    return n;
}

static void free_selector(struct selector *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nm; i++) {
        free(s->m[i].label);
        free(s->m[i].value);
        if (s->m[i].has_re)
            regfree(&s->m[i].re);
    }
    free(s->m);
    free(s->metric);
    free(s->ids);
    free(s);
}

static void free_node(struct node *n)
{
    free_selector(n->sel);
    for (size_t i = 0; i < n->ngrp; i++)
        free(n->grp[i]);
    free(n->grp);
    free(n->grp_ids);
    free(n->out.s);
    free(n->map.slot);
    for (size_t i = 0; i < N_OF(n->scr); i++)
        free(n->scr[i]);
    free(n);
}

static const char *type_name(enum promql_type t)
{
    switch (t) {
    case PROMQL_SCALAR: return "a scalar";
    case PROMQL_VECTOR: return "an instant vector";
    default: return "a range vector";
    }
}

/* ------------------------------------------------------------------------------------ */
/* Parser                                                                               */
/* ------------------------------------------------------------------------------------ */

enum { PREC_ADD = 1, PREC_MUL = 2, PREC_POW = 3 };

static struct node *parse_expr(struct parser *p, int min_prec);

static void *too_deep(struct parser *p, size_t pos)
{
    return perr(p, pos,
                "the query nests deeper than %d levels (parentheses, function calls, "
                "aggregations and chained operators each count one)",
                PQ_MAX_DEPTH);
}

/* n's height from its kids; false (an error) past the nesting limit. */
static bool set_height(struct parser *p, struct node *n)
{
    int h = 0;
    for (size_t i = 0; i < n->nkid; i++)
        if (n->kid[i] && n->kid[i]->height > h)
            h = n->kid[i]->height;
    n->height = h + 1;
    if (n->height > PQ_MAX_DEPTH) {
        too_deep(p, n->pos);
        return false;
    }
    return true;
}

/* The metric name must be one llmcap's replicas expose. */
static bool check_metric(struct parser *p, struct selector *sel, size_t pos)
{
    const char *name = sel->metric;
    sel->def = metric_lookup_series(name, &sel->kind);
    if (sel->def)
        return true;
    const struct metric_def *d = metric_by_base(name);
    if (d && d->type == METRIC_HISTOGRAM) {
        perr(p, pos,
             "'%s' is a histogram, exposed as '%s_bucket', '_sum' and '_count' "
             "(e.g. histogram_quantile(0.95, sum by (le) (rate(%s_bucket[1m]))))",
             name, name, name);
        return false;
    }
    if (d && d->type == METRIC_COUNTER) {
        perr(p, pos,
             "unknown metric '%s' (counters are exposed with '_total': did you mean '%s_total'?)",
             name, name);
        return false;
    }
    for (size_t i = 0; i < N_OF(renamed_metrics); i++) {
        size_t nb = strlen(renamed_metrics[i].old_base);
        if (strncmp(name, renamed_metrics[i].old_base, nb) == 0) {
            perr(p, pos, "unknown metric '%s' (%s: did you mean '%s%s'?)", name,
                 renamed_metrics[i].when, renamed_metrics[i].new_base, name + nb);
            return false;
        }
    }
    /* The closest exposed series name. */
    static const char *const suffixes[][3] = {
        [METRIC_GAUGE] = {"", NULL, NULL},
        [METRIC_COUNTER] = {"_total", NULL, NULL},
        [METRIC_HISTOGRAM] = {"_bucket", "_sum", "_count"},
    };
    char best[128] = "", cand[128];
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < M_N_METRICS; i++) {
        const struct metric_def *m = &sim_metric_defs[i];
        for (size_t k = 0; k < 3 && suffixes[m->type][k]; k++) {
            snprintf(cand, sizeof cand, "%s%s", m->name, suffixes[m->type][k]);
            size_t dist = edit_distance(name, cand);
            if (dist < best_d) {
                best_d = dist;
                memcpy(best, cand, sizeof best);
            }
        }
    }
    if (best_d <= 1 + strlen(name) / 4)
        perr(p, pos, "unknown metric '%s' (did you mean '%s'?)", name, best);
    else
        perr(p, pos, "unknown metric '%s' (llmcap's replicas expose the vLLM and DCGM metrics "
                     "listed in docs/promql.md)",
             name);
    return false;
}

/* `{label op "value", ...}` into sel; cur is '{'. */
static bool parse_matchers(struct parser *p, struct selector *sel, bool *named)
{
    advance(p);
    while (!p->failed && p->cur.kind != TK_RBRACE) {
        if (p->cur.kind != TK_IDENT) {
            expected(p, "a label name or '}'");
            return false;
        }
        struct tok lt = p->cur;
        if (memchr(p->s + lt.pos, ':', lt.len)) {
            perr(p, lt.pos, "invalid label name '%.*s' (':' is only allowed in metric names)",
                 (int)lt.len, p->s + lt.pos);
            return false;
        }
        advance(p);
        enum match_op op;
        switch (p->cur.kind) {
        case TK_ASSIGN: op = MATCH_EQ; break;
        case TK_NEQ: op = MATCH_NEQ; break;
        case TK_RE: op = MATCH_RE; break;
        case TK_NRE: op = MATCH_NRE; break;
        case TK_EQLC:
            perr(p, p->cur.pos, "label matchers use '=', not '=='");
            return false;
        default:
            expected(p, "a label matcher ('=', '!=', '=~' or '!~')");
            return false;
        }
        size_t op_pos = p->cur.pos;
        advance(p);
        if (p->cur.kind != TK_STR) {
            expected(p, "a quoted label value");
            return false;
        }
        struct tok vt = p->cur;
        char *value = unquote(p, &vt);
        if (!value)
            return false;
        if (lt.len == 8 && strncmp(p->s + lt.pos, "__name__", 8) == 0) {
            if (op != MATCH_EQ || *named) {
                free(value);
                perr(p, op_pos, "only one '__name__=\"...\"' matcher is supported, and only "
                                "without a metric name before '{'");
                return false;
            }
            sel->metric = value;
            *named = true;
            advance(p);
        } else {
            struct matcher *m = sim_reallocarray(sel->m, sel->nm + 1, sizeof *m);
            if (!m) {
                free(value);
                poom(p);
                return false;
            }
            sel->m = m;
            struct matcher *mt = &sel->m[sel->nm];
            *mt = (struct matcher){.label = tok_strdup(p, &lt), .value = value, .op = op,
                                   .pos = lt.pos};
            sel->nm++;
            if (!mt->label) {
                poom(p);
                return false;
            }
            if (op == MATCH_RE || op == MATCH_NRE) {
                char re[1024];
                bool icase;
                const char *why = re_translate(value, re, sizeof re, &icase);
                if (why) {
                    perr(p, vt.pos, "invalid or unsupported regex '%s' in label matcher: %s is "
                                    "not supported (POSIX extended syntax plus \\d \\w \\s (?:) "
                                    "and a leading (?i))",
                         value, why);
                    return false;
                }
                int rc = regcomp(&mt->re, re, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
                if (rc != 0) {
                    char msg[128];
                    regerror(rc, &mt->re, msg, sizeof msg);
                    perr(p, vt.pos, "invalid regex '%s' in label matcher: %s", value, msg);
                    return false;
                }
                mt->has_re = true;
            }
            advance(p);
        }
        if (p->cur.kind == TK_COMMA)
            advance(p);
        else if (p->cur.kind != TK_RBRACE) {
            expected(p, "',' or '}' in the label matchers");
            return false;
        }
    }
    if (p->failed)
        return false;
    advance(p); /* '}' */
    return true;
}

/* A metric selector; cur is its name or '{'. */
static struct node *parse_selector(struct parser *p)
{
    size_t pos = p->cur.pos;
    struct node *n = new_node(p, N_SEL, pos);
    if (!n)
        return NULL;
    n->type = PROMQL_VECTOR;
    n->sel = sim_calloc(1, sizeof *n->sel);
    if (!n->sel)
        return poom(p);
    n->sel->name_id = -1;
    bool named = false;
    size_t name_pos = pos;
    if (p->cur.kind == TK_IDENT) {
        n->sel->metric = tok_strdup(p, &p->cur);
        if (!n->sel->metric)
            return poom(p);
        named = true;
        advance(p);
    }
    if (p->cur.kind == TK_LBRACE) {
        size_t brace = p->cur.pos;
        if (!parse_matchers(p, n->sel, &named))
            return NULL;
        if (!named)
            return perr(p, brace, "a selector needs a metric name, e.g. "
                                  "vllm:num_requests_waiting{...}");
    }
    if (!check_metric(p, n->sel, name_pos))
        return NULL;
    return n;
}

/* `(` label, ... `)` after by/without; cur is the keyword. */
static bool parse_grouping(struct parser *p, struct node *n)
{
    n->without = tok_is(p, &p->cur, "without");
    n->has_grouping = true;
    char what[32];
    snprintf(what, sizeof what, "'(' after '%s'", n->without ? "without" : "by");
    advance(p);
    if (p->cur.kind != TK_LPAREN) {
        expected(p, what);
        return false;
    }
    advance(p);
    while (!p->failed && p->cur.kind != TK_RPAREN) {
        if (p->cur.kind != TK_IDENT || memchr(p->s + p->cur.pos, ':', p->cur.len)) {
            expected(p, "a label name");
            return false;
        }
        char **g = sim_reallocarray(n->grp, n->ngrp + 1, sizeof *g);
        if (!g) {
            poom(p);
            return false;
        }
        n->grp = g;
        n->grp[n->ngrp] = tok_strdup(p, &p->cur);
        if (!n->grp[n->ngrp++]) {
            poom(p);
            return false;
        }
        advance(p);
        if (p->cur.kind == TK_COMMA)
            advance(p);
        else if (p->cur.kind != TK_RPAREN) {
            expected(p, "',' or ')' in the grouping labels");
            return false;
        }
    }
    if (p->failed)
        return false;
    n->grp_ids = sim_reallocarray(NULL, n->ngrp ? n->ngrp : 1, sizeof *n->grp_ids);
    if (!n->grp_ids) {
        poom(p);
        return false;
    }
    for (size_t i = 0; i < n->ngrp; i++)
        n->grp_ids[i] = -1;
    advance(p); /* ')' */
    return true;
}

/* `(` args `)`; cur is '('. Fills kid[], at most `max` of them (more is an error). */
static bool parse_args(struct parser *p, struct node *n, const char *fname, size_t max,
                       size_t *count)
{
    size_t open = p->cur.pos;
    advance(p);
    *count = 0;
    while (!p->failed && p->cur.kind != TK_RPAREN) {
        struct node *a = parse_expr(p, 0);
        if (!a)
            return false;
        if (*count < max)
            n->kid[*count] = a;
        (*count)++;
        if (p->cur.kind == TK_COMMA) {
            advance(p);
        } else if (p->cur.kind != TK_RPAREN) {
            char what[128], at[32];
            snprintf(what, sizeof what, "',' or ')' in the arguments of %s() opened at %s",
                     fname, pos_of(p->e, open, at, sizeof at));
            expected(p, what);
            return false;
        }
    }
    if (p->failed)
        return false;
    advance(p); /* ')' */
    n->nkid = *count < max ? *count : max;
    return set_height(p, n);
}

static bool contains_bucket_selector(const struct node *n)
{
    if (n->kind == N_SEL)
        return n->sel->kind == METRIC_SERIES_BUCKET;
    for (size_t i = 0; i < n->nkid; i++)
        if (contains_bucket_selector(n->kid[i]))
            return true;
    return false;
}

static bool grouping_keeps(const struct node *n, const char *label)
{
    bool listed = false;
    for (size_t i = 0; i < n->ngrp; i++)
        listed |= strcmp(n->grp[i], label) == 0;
    return n->without ? !listed : listed;
}

/* histogram_quantile's vector must reach it with its `le` label. */
static const struct node *le_dropper(const struct node *n)
{
    if (n->kind == N_AGG && !grouping_keeps(n, "le") && contains_bucket_selector(n))
        return n;
    for (size_t i = 0; i < n->nkid; i++) {
        const struct node *d = le_dropper(n->kid[i]);
        if (d)
            return d;
    }
    return NULL;
}

static void *check_histogram_quantile(struct parser *p, struct node *arg)
{
    if (!contains_bucket_selector(arg))
        return perr(p, arg->pos, "histogram_quantile() needs the '_bucket' series of a "
                                 "histogram, e.g. histogram_quantile(0.95, sum by (le) "
                                 "(rate(vllm:time_to_first_token_seconds_bucket[1m])))");
    const struct node *d = le_dropper(arg);
    if (!d)
        return arg;
    const char *op = agg_names[d->op];
    if (!d->has_grouping || (!d->without && d->ngrp == 0))
        return perr(p, d->pos, "'%s(...)' drops the 'le' label that histogram_quantile() "
                               "needs: write '%s by (le) (...)'",
                    op, op);
    char list[256] = "";
    size_t o = 0;
    for (size_t i = 0; i < d->ngrp; i++)
        o += (size_t)snprintf(list + o, o < sizeof list ? sizeof list - o : 0, "%s%s",
                              i ? ", " : "", d->grp[i]);
    if (d->without)
        return perr(p, d->pos, "'%s without (%s)' drops the 'le' label that "
                               "histogram_quantile() needs",
                    op, list);
    return perr(p, d->pos, "'%s by (%s)' drops the 'le' label that histogram_quantile() needs: "
                           "write '%s by (le, %s)'",
                op, list, op, list);
}

static struct node *parse_call(struct parser *p)
{
    struct tok name = p->cur;
    char fname[64];
    snprintf(fname, sizeof fname, "%.*s", (int)(name.len < 60 ? name.len : 60), p->s + name.pos);
    int fn = -1;
    for (int i = 0; i < FN_N; i++)
        if (strcmp(fn_defs[i].name, fname) == 0)
            fn = i;
    if (fn < 0) {
        char list[512];
        supported_functions(list, sizeof list);
        bool known = false;
        for (size_t i = 0; i < N_OF(prom_functions); i++)
            known |= strcmp(prom_functions[i], fname) == 0;
        if (known)
            return perr(p, name.pos, "unsupported function '%s' in PromQL query (supported: %s)",
                        fname, list);
        size_t best_d = (size_t)-1;
        const char *best = NULL;
        for (size_t i = 0; i < FN_N; i++) { /* ties go to what llmcap supports */
            size_t dist = edit_distance(fname, fn_defs[i].name);
            if (dist < best_d) {
                best_d = dist;
                best = fn_defs[i].name;
            }
        }
        for (size_t i = 0; i < N_OF(prom_functions); i++) {
            size_t dist = edit_distance(fname, prom_functions[i]);
            if (dist < best_d) {
                best_d = dist;
                best = prom_functions[i];
            }
        }
        if (best && best_d <= 1 + strlen(fname) / 4)
            return perr(p, name.pos, "unknown function '%s' (did you mean '%s'?)", fname, best);
        return perr(p, name.pos, "unknown function '%s' (supported: %s)", fname, list);
    }
    const struct fn_def *def = &fn_defs[fn];
    struct node *n = new_node(p, N_CALL, name.pos);
    if (!n)
        return NULL;
    n->op = fn;
    n->type = def->ret;
    advance(p);
    size_t nargs;
    size_t max = strlen(def->args);
    if (!parse_args(p, n, def->name, max, &nargs))
        return NULL;
    if (nargs < def->min_args || nargs > max) {
        if (def->min_args == max)
            return perr(p, name.pos, "%s() takes %zu argument%s, got %zu", def->name, max,
                        max == 1 ? "" : "s", nargs);
        return perr(p, name.pos, "%s() takes %u to %zu arguments, got %zu", def->name,
                    def->min_args, max, nargs);
    }
    for (size_t i = 0; i < nargs; i++) {
        struct node *a = n->kid[i];
        char want = def->args[i];
        if (want == 'm' && a->type != PROMQL_MATRIX) {
            const char *range = fn == FN_RATE || fn == FN_IRATE || fn == FN_INCREASE ? "1m" : "5m";
            if (a->kind == N_SEL)
                return perr(p, a->pos, "%s() needs a range vector, e.g. %s(%s[%s])", def->name,
                            def->name, a->sel->metric, range);
            return perr(p, a->pos, "%s() needs a range vector, e.g. %s(x[%s])", def->name,
                        def->name, range);
        }
        if (want == 'v' && a->type != PROMQL_VECTOR)
            return perr(p, a->pos, "%s() needs an instant vector as argument %zu, got %s%s",
                        def->name, i + 1, type_name(a->type),
                        a->type == PROMQL_SCALAR ? " (wrap it in vector(...))" : "");
        if (want == 's' && a->type != PROMQL_SCALAR)
            return perr(p, a->pos, "%s() needs a scalar as argument %zu, got %s%s", def->name,
                        i + 1, type_name(a->type),
                        a->type == PROMQL_VECTOR ? " (wrap it in scalar(...))" : "");
    }
    if (fn == FN_HQ && !check_histogram_quantile(p, n->kid[1]))
        return NULL;
    return n;
}

static struct node *parse_aggregation(struct parser *p, int op)
{
    struct node *n = new_node(p, N_AGG, p->cur.pos);
    if (!n)
        return NULL;
    n->op = op;
    n->type = PROMQL_VECTOR;
    advance(p);
    if (tok_is(p, &p->cur, "by") || tok_is(p, &p->cur, "without")) {
        if (!parse_grouping(p, n))
            return NULL;
    }
    if (p->cur.kind != TK_LPAREN) {
        char what[64];
        snprintf(what, sizeof what, "'(' %safter '%s'", n->has_grouping ? "" : "or 'by'/'without' ",
                 agg_names[op]);
        return expected(p, what);
    }
    size_t nargs;
    if (!parse_args(p, n, agg_names[op], 1, &nargs))
        return NULL;
    if (nargs != 1)
        return perr(p, n->pos, "%s() takes 1 argument, got %zu", agg_names[op], nargs);
    if (!n->has_grouping && (tok_is(p, &p->cur, "by") || tok_is(p, &p->cur, "without"))) {
        if (!parse_grouping(p, n))
            return NULL;
    }
    struct node *a = n->kid[0];
    if (a->type != PROMQL_VECTOR)
        return perr(p, a->pos, "%s() needs an instant vector, got %s%s", agg_names[op],
                    type_name(a->type),
                    a->type == PROMQL_MATRIX ? " (apply rate() or avg_over_time() first)" : "");
    return n;
}

/* `[range]` and `offset d` after a selector. */
static struct node *parse_postfix(struct parser *p, struct node *n)
{
    for (;;) {
        if (!n || p->failed)
            return NULL;
        if (p->cur.kind == TK_LBRACKET) {
            size_t open = p->cur.pos;
            if (n->kind != N_SEL || n->type != PROMQL_VECTOR || n->sel->has_offset) {
                if (n->kind == N_SEL && n->sel->has_offset)
                    return perr(p, open, "the range [...] must come before 'offset'");
                if (n->kind == N_SEL)
                    return perr(p, open, "a selector takes one range [...]");
                return perr(p, open, "a range [...] applies to a metric selector only, e.g. "
                                     "x[5m] (subqueries like (...)[5m:1m] are not supported)");
            }
            size_t i = skip_space(p->s, open + 1), d0 = i;
            while (isalnum((unsigned char)p->s[i]) || p->s[i] == '.')
                i++;
            int64_t us;
            if (!parse_duration(p->s + d0, i - d0, &us))
                return perr(p, d0, "invalid duration '%.*s' in range (write it like '30s', '5m' "
                                   "or '1h30m': units ms, s, m, h, d, w, y)",
                            (int)(i - d0), p->s + d0);
            if (us == 0)
                return perr(p, d0, "a range must be > 0, got '%.*s'", (int)(i - d0), p->s + d0);
            i = skip_space(p->s, i);
            if (p->s[i] == ':')
                return perr(p, i, "subqueries like x[5m:1m] are not supported");
            lex_to(p, i);
            if (p->cur.kind != TK_RBRACKET)
                return expected(p, "']' after the range");
            n->sel->range_us = us;
            n->type = PROMQL_MATRIX;
            advance(p);
            continue;
        }
        if (tok_is(p, &p->cur, "offset")) {
            if (n->kind != N_SEL)
                return perr(p, p->cur.pos, "'offset' applies to a metric selector only, e.g. "
                                           "x offset 5m or x[5m] offset 5m");
            if (n->sel->has_offset)
                return perr(p, p->cur.pos, "a selector takes one 'offset'");
            size_t i = skip_space(p->s, p->cur.pos + p->cur.len), d0 = i;
            bool neg = p->s[i] == '-';
            if (neg)
                i = skip_space(p->s, i + 1);
            size_t v0 = i;
            while (isalnum((unsigned char)p->s[i]) || p->s[i] == '.')
                i++;
            int64_t us;
            if (!parse_duration(p->s + v0, i - v0, &us))
                return perr(p, d0, "invalid duration '%.*s' after 'offset' (write it like '30s', "
                                   "'5m' or '1h30m': units ms, s, m, h, d, w, y)",
                            (int)(i - d0), p->s + d0);
            n->sel->offset_us = neg ? -us : us;
            n->sel->has_offset = true;
            lex_to(p, i);
            continue;
        }
        if (p->cur.kind == TK_AT)
            return perr(p, p->cur.pos, "the '@' modifier is not supported");
        return n;
    }
}

static struct node *parse_primary(struct parser *p)
{
    if (p->failed)
        return NULL;
    struct tok t = p->cur;
    switch (t.kind) {
    case TK_NUM: {
        struct node *n = new_node(p, N_NUM, t.pos);
        if (!n)
            return NULL;
        n->type = PROMQL_SCALAR;
        n->num = t.num;
        advance(p);
        return parse_postfix(p, n);
    }
    case TK_LPAREN: {
        advance(p);
        struct node *n = parse_expr(p, 0);
        if (!n)
            return NULL;
        if (p->cur.kind != TK_RPAREN) {
            char what[64], at[32];
            snprintf(what, sizeof what, "')' to close the '(' at %s",
                     pos_of(p->e, t.pos, at, sizeof at));
            return expected(p, what);
        }
        advance(p);
        return parse_postfix(p, n);
    }
    case TK_LBRACE:
        return parse_postfix(p, parse_selector(p));
    case TK_STR:
        return perr(p, t.pos, "string literals are only allowed as label values in {...}");
    case TK_IDENT:
        break;
    default:
        return expected(p, "a metric, a number, a function or '('");
    }
    for (int i = 0; i < AGG_N; i++)
        if (tok_is(p, &t, agg_names[i]))
            return parse_postfix(p, parse_aggregation(p, i));
    if (tok_in(p, &t, unsupported_aggs, N_OF(unsupported_aggs)))
        return perr(p, t.pos, "unsupported aggregation '%.*s' in PromQL query (supported: sum, "
                              "avg, min, max, count)",
                    (int)t.len, p->s + t.pos);
    if (tok_in(p, &t, keywords, N_OF(keywords)))
        return expected(p, "a metric, a number, a function or '('");
    if (tok_is(p, &t, "inf") || tok_is(p, &t, "nan")) {
        struct node *n = new_node(p, N_NUM, t.pos);
        if (!n)
            return NULL;
        n->type = PROMQL_SCALAR;
        n->num = tok_is(p, &t, "inf") ? INFINITY : NAN;
        advance(p);
        return n;
    }
    struct tok next = peek(p);
    if (next.kind == TK_LPAREN)
        return parse_postfix(p, parse_call(p));
    return parse_postfix(p, parse_selector(p));
}

static struct node *parse_unary(struct parser *p)
{
    if (p->cur.kind != TK_ADD && p->cur.kind != TK_SUB)
        return parse_primary(p);
    /* A run of signs ("- - -a", 100,000 of them) folds into one, in a loop. */
    bool neg = false;
    size_t pos = p->cur.pos;
    while (!p->failed && (p->cur.kind == TK_ADD || p->cur.kind == TK_SUB)) {
        neg ^= p->cur.kind == TK_SUB;
        advance(p);
    }
    /* Prometheus: unary_op expr %prec MUL, so -a^b is -(a^b) and -a*b is (-a)*b. */
    struct node *a = parse_expr(p, PREC_POW);
    if (!a)
        return NULL;
    if (a->type == PROMQL_MATRIX)
        return perr(p, a->pos, "unary '%c' needs a scalar or an instant vector, got a range "
                               "vector",
                    neg ? '-' : '+');
    if (!neg)
        return a;
    if (a->kind == N_NUM) {
        a->num = -a->num;
        a->pos = pos;
        return a;
    }
    struct node *n = new_node(p, N_NEG, pos);
    if (!n)
        return NULL;
    n->type = a->type;
    n->kid[0] = a;
    n->nkid = 1;
    return set_height(p, n) ? n : NULL;
}

static int bin_prec(int op)
{
    return op == OP_POW ? PREC_POW : op >= OP_MUL ? PREC_MUL : PREC_ADD;
}

/* The binary operator at cur, -1 when cur is none; an unsupported one is an error. */
static int binary_op(struct parser *p)
{
    switch (p->cur.kind) {
    case TK_ADD: return OP_ADD;
    case TK_SUB: return OP_SUB;
    case TK_MUL: return OP_MUL;
    case TK_DIV: return OP_DIV;
    case TK_MOD: return OP_MOD;
    case TK_POW: return OP_POW;
    case TK_EQLC:
    case TK_NEQ:
    case TK_LSS:
    case TK_LTE:
    case TK_GTR:
    case TK_GTE:
        break;
    case TK_IDENT: {
        static const char *const set_ops[] = {"and", "or", "unless", "atan2"};
        if (tok_in(p, &p->cur, set_ops, N_OF(set_ops)))
            break;
        return -1;
    }
    default:
        return -1;
    }
    perr(p, p->cur.pos, "unsupported operator '%.*s' in PromQL query (supported: + - * / %% ^)",
         (int)p->cur.len, p->s + p->cur.pos);
    return -2;
}

static struct node *parse_expr_in(struct parser *p, int min_prec);

static struct node *parse_expr(struct parser *p, int min_prec)
{
    if (p->depth >= PQ_MAX_DEPTH)
        return too_deep(p, p->cur.pos);
    p->depth++;
    struct node *n = parse_expr_in(p, min_prec);
    p->depth--;
    return n;
}

static struct node *parse_expr_in(struct parser *p, int min_prec)
{
    struct node *lhs = parse_unary(p);
    while (lhs && !p->failed) {
        int op = binary_op(p);
        if (op == -2)
            return NULL;
        if (op < 0 || bin_prec(op) < min_prec)
            break;
        size_t op_pos = p->cur.pos;
        advance(p);
        static const char *const modifiers[] = {"bool", "on", "ignoring", "group_left",
                                                "group_right"};
        if (tok_in(p, &p->cur, modifiers, N_OF(modifiers)))
            return perr(p, p->cur.pos, "unsupported vector matching modifier '%.*s' (llmcap "
                                       "matches series one-to-one on identical label sets)",
                        (int)p->cur.len, p->s + p->cur.pos);
        struct node *rhs = parse_expr(p, op == OP_POW ? PREC_POW : bin_prec(op) + 1);
        if (!rhs)
            return NULL;
        const struct node *sides[2] = {lhs, rhs};
        for (int i = 0; i < 2; i++)
            if (sides[i]->type == PROMQL_MATRIX)
                return perr(p, sides[i]->pos, "operator '%s' needs scalars or instant vectors, got "
                                              "a range vector (apply rate() or avg_over_time() "
                                              "first)",
                            op_names[op]);
        struct node *n = new_node(p, N_BIN, op_pos);
        if (!n)
            return NULL;
        n->op = op;
        n->kid[0] = lhs;
        n->kid[1] = rhs;
        n->nkid = 2;
        if (!set_height(p, n))
            return NULL;
        n->type = lhs->type == PROMQL_SCALAR && rhs->type == PROMQL_SCALAR ? PROMQL_SCALAR
                                                                           : PROMQL_VECTOR;
        lhs = n;
    }
    return p->failed ? NULL : lhs;
}

static int64_t node_lookback(const struct node *n)
{
    int64_t m = 0;
    if (!n)
        return 0;
    if (n->kind == N_SEL) {
        int64_t w = n->sel->range_us ? n->sel->range_us : TSDB_LOOKBACK_US;
        m = w + (n->sel->offset_us > 0 ? n->sel->offset_us : 0);
    }
    for (size_t i = 0; i < n->nkid; i++) {
        int64_t k = node_lookback(n->kid[i]);
        if (k > m)
            m = k;
    }
    return m;
}

void promql_free(struct promql_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_nodes; i++)
        free_node(e->nodes[i]);
    free(e->nodes);
    free(e->text);
    free(e->file);
    free(e->bind);
    free(e);
}

struct promql_expr *promql_parse(const char *text, const char *file, long line, long col,
                                 struct sim_err *err)
{
    struct promql_expr *e = sim_calloc(1, sizeof *e);
    if (!e || !(e->text = strdup(text)) || (file && !(e->file = strdup(file))) ||
        !(e->bind = sim_calloc(1, sizeof *e->bind))) {
        promql_free(e);
        sim_err_set(err, SIM_ENOMEM, "out of memory parsing a PromQL query");
        return NULL;
    }
    e->line = line;
    e->col = col;
    struct parser p = {.e = e, .s = e->text, .err = err};
    p.cur = (struct tok){.kind = TK_EOF, .pos = 0, .len = 0};
    advance(&p);
    if (!p.failed && p.cur.kind == TK_EOF)
        perr(&p, p.cur.pos, "empty PromQL query");
    struct node *root = p.failed ? NULL : parse_expr(&p, 0);
    if (root && !p.failed && p.cur.kind != TK_EOF)
        expected(&p, "an operator or the end of the query");
    if (root && !p.failed && root->type == PROMQL_MATRIX)
        perr(&p, root->pos, "the query returns a range vector, but an instant query must return "
                            "a scalar or an instant vector (apply rate(), increase() or "
                            "avg_over_time() to it)");
    if (p.failed) {
        promql_free(e);
        return NULL;
    }
    e->root = root;
    e->lookback_us = node_lookback(root);
    return e;
}

const char *promql_text(const struct promql_expr *e)
{
    return e->text;
}

enum promql_type promql_result_type(const struct promql_expr *e)
{
    return e->root->type;
}

int64_t promql_lookback_us(const struct promql_expr *e)
{
    return e->lookback_us;
}

/* ------------------------------------------------------------------------------------ */
/* Evaluation                                                                           */
/* ------------------------------------------------------------------------------------ */

struct ctx {
    const struct promql_expr *e;
    const struct tsdb *db;
    int64_t t_us;
    struct sim_err *err;
};

struct res {
    enum promql_type type;
    double s;
    const struct vec *v;
};

static int oom(struct ctx *c, const struct node *n)
{
    return expr_err(c->e, c->err, SIM_ENOMEM, n->pos, "out of memory evaluating this PromQL "
                                                       "query");
}

static void bind(const struct promql_expr *e, const struct tsdb *db)
{
    e->bind->db = db;
    for (size_t i = 0; i < e->n_nodes; i++) {
        struct node *n = e->nodes[i];
        if (n->sel) {
            n->sel->name_id = -1;
            n->sel->n_seen = 0;
            n->sel->n_ids = 0;
        }
        for (size_t k = 0; k < n->ngrp; k++)
            n->grp_ids[k] = -1;
        n->le_id = -1;
    }
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return SIM_OK;
    size_t c = *cap ? *cap : 16;
    while (c < n)
        c *= 2;
    void *q = sim_reallocarray(*p, c, size);
    if (!q)
        return SIM_ENOMEM;
    *p = q;
    *cap = c;
    return SIM_OK;
}

/* Node scratch buffer k with room for `count` elements of `size` bytes (NULL on OOM). */
static void *scratch(struct node *n, int k, size_t count, size_t size)
{
    size_t need = count * size;
    if (need == 0)
        need = 1;
    if (need > n->scr_cap[k]) {
        size_t bytes = n->scr_cap[k] ? n->scr_cap[k] : 256;
        while (bytes < need)
            bytes *= 2;
        void *q = realloc(n->scr[k], bytes);
        if (!q)
            return NULL;
        n->scr[k] = q;
        n->scr_cap[k] = bytes;
    }
    return n->scr[k];
}

static int vec_push(struct vec *v, int32_t name, const struct tsdb_lset *ls, double x)
{
    if (v->n == v->cap) {
        size_t cap = v->cap;
        void *p = v->s;
        if (grow(&p, &cap, v->n + 1, sizeof *v->s))
            return SIM_ENOMEM;
        v->s = p;
        v->cap = cap;
    }
    struct promql_sample *s = &v->s[v->n++];
    s->name = name;
    s->labels.n = ls->n;
    memcpy(s->labels.p, ls->p, ls->n * sizeof ls->p[0]);
    s->v = x;
    return SIM_OK;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t hash_key(int32_t name, const struct tsdb_lset *ls)
{
    uint64_t h = mix64((uint64_t)(uint32_t)name + 0x9e3779b97f4a7c15u);
    for (uint32_t i = 0; i < ls->n; i++)
        h = mix64(h ^ (((uint64_t)(uint32_t)ls->p[i].name << 32) | (uint32_t)ls->p[i].value));
    return h;
}

static bool lset_eq(const struct tsdb_lset *a, const struct tsdb_lset *b)
{
    return a->n == b->n && memcmp(a->p, b->p, a->n * sizeof a->p[0]) == 0;
}

static int lsmap_reset(struct lsmap *m, size_t n)
{
    size_t need = 16;
    while (need < 2 * n + 2)
        need *= 2;
    if (m->cap < need) {
        int32_t *s = sim_reallocarray(m->slot, need, sizeof *s);
        if (!s)
            return SIM_ENOMEM;
        m->slot = s;
        m->cap = need;
    }
    for (size_t i = 0; i < m->cap; i++)
        m->slot[i] = -1;
    return SIM_OK;
}

/* The slot of key (name, ls) among `keys`: holds its index, or -1 where to insert it. */
static int32_t *lsmap_find(struct lsmap *m, const struct promql_sample *keys, uint64_t h,
                           int32_t name, const struct tsdb_lset *ls, bool use_name)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        int32_t k = m->slot[i];
        if (k < 0)
            return &m->slot[i];
        const struct promql_sample *s = &keys[k];
        if ((!use_name || s->name == name) && lset_eq(&s->labels, ls))
            return &m->slot[i];
    }
}

/* -- selectors -- */

static bool matcher_ok(const struct ctx *c, const struct matcher *m,
                       const struct tsdb_lset *ls)
{
    int32_t lid = tsdb_str_find(c->db, m->label);
    int32_t vid = lid < 0 ? -1 : tsdb_lset_get(ls, lid);
    return matcher_accepts(m, vid < 0 ? "" : tsdb_str(c->db, vid));
}

/* Bring the selector's list of matching series up to date with the store. */
static int sel_refresh(struct ctx *c, struct node *n)
{
    struct selector *s = n->sel;
    if (s->name_id < 0) {
        s->name_id = tsdb_str_find(c->db, s->metric);
        if (s->name_id < 0)
            return SIM_OK;
    }
    size_t total;
    const int32_t *ids = tsdb_family(c->db, s->name_id, &total);
    for (; s->n_seen < total; s->n_seen++) {
        int32_t id = ids[s->n_seen];
        const struct tsdb_lset *ls = tsdb_series_labels(c->db, id);
        bool ok = true;
        for (size_t k = 0; k < s->nm && ok; k++)
            ok = matcher_ok(c, &s->m[k], ls);
        if (!ok)
            continue;
        void *p = s->ids;
        if (grow(&p, &s->cap_ids, s->n_ids + 1, sizeof *s->ids))
            return oom(c, n);
        s->ids = p;
        s->ids[s->n_ids++] = id;
    }
    return SIM_OK;
}

static int eval_instant_selector(struct ctx *c, struct node *n)
{
    int rc = sel_refresh(c, n);
    if (rc)
        return rc;
    const struct selector *s = n->sel;
    int64_t t = c->t_us - s->offset_us;
    n->out.n = 0;
    for (size_t i = 0; i < s->n_ids; i++) {
        double v;
        if (!tsdb_instant(c->db, s->ids[i], t, TSDB_LOOKBACK_US, &v, NULL))
            continue;
        if (vec_push(&n->out, tsdb_series_name(c->db, s->ids[i]),
                     tsdb_series_labels(c->db, s->ids[i]), v))
            return oom(c, n);
    }
    return SIM_OK;
}

/* -- range functions -- */

/* util/kahansum.Inc: Kahan-Babuska-Neumaier summation step. */
static void kahan_inc(double inc, double *sum, double *comp)
{
    double t = *sum + inc;
    if (isinf(t))
        *comp = 0;
    else if (fabs(*sum) >= fabs(inc))
        *comp += (*sum - t) + inc;
    else
        *comp += (inc - t) + *sum;
    *sum = t;
}

/*
 * promql/functions.go extrapolatedRate for float samples without start timestamps:
 * rate (is_rate), increase and delta (!is_counter) over the samples in
 * (range_start, range_end]. False when there are fewer than two samples.
 */
static bool extrapolated_rate(struct tsdb_iter *it, int64_t range_start, int64_t range_end,
                              bool is_counter, bool is_rate, double *out)
{
    int64_t t, first_t = 0, last_t = 0;
    double v, first_v = 0, prev = 0, result = 0;
    size_t n = 0;
    while (tsdb_iter_next(it, &t, &v)) {
        if (n == 0) {
            first_t = t;
            first_v = v;
        } else if (is_counter && v < prev) {
            result += prev; /* counter reset: the counter went on from 0 */
        }
        prev = v;
        last_t = t;
        n++;
    }
    if (n < 2)
        return false;
    result += prev - first_v;
    double to_start = (double)(first_t - range_start) / 1e6;
    double to_end = (double)(range_end - last_t) / 1e6;
    double sampled = (double)(last_t - first_t) / 1e6;
    double avg_step = sampled / (double)(n - 1);
    double threshold = avg_step * 1.1;
    /* Extrapolate to a boundary only when the first/last sample is within 1.1 average
     * steps of it; else assume the series starts/ends half a step beyond its samples. */
    if (to_start >= threshold)
        to_start = avg_step / 2;
    if (is_counter) {
        /* A counter cannot go below zero: do not extrapolate past where it was 0. */
        double to_zero = to_start;
        if (result > 0 && first_v >= 0)
            to_zero = sampled * (first_v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    if (to_end >= threshold)
        to_end = avg_step / 2;
    double factor = (sampled + to_start + to_end) / sampled;
    if (is_rate)
        factor /= (double)(range_end - range_start) / 1e6;
    *out = result * factor;
    return true;
}

/* promql/functions.go instantValue (irate): the last two samples. */
static bool instant_rate(struct tsdb_iter *it, double *out)
{
    int64_t t, t0 = 0, t1 = 0;
    double v, v0 = 0, v1 = 0;
    size_t n = 0;
    while (tsdb_iter_next(it, &t, &v)) {
        t0 = t1;
        v0 = v1;
        t1 = t;
        v1 = v;
        n++;
    }
    if (n < 2 || t1 == t0)
        return false;
    double r = v1 < v0 ? v1 : v1 - v0; /* after a reset the counter counted from 0 */
    *out = r / ((double)(t1 - t0) / 1e6);
    return true;
}

static bool over_time(int fn, struct tsdb_iter *it, double *out)
{
    int64_t t;
    double v, acc = 0, comp = 0;
    size_t n = 0;
    while (tsdb_iter_next(it, &t, &v)) {
        switch (fn) {
        case FN_AVG_OT:
        case FN_SUM_OT:
            kahan_inc(v, &acc, &comp);
            break;
        case FN_MIN_OT:
            if (n == 0 || v < acc || isnan(acc))
                acc = v;
            break;
        case FN_MAX_OT:
            if (n == 0 || v > acc || isnan(acc))
                acc = v;
            break;
        case FN_LAST_OT:
            acc = v;
            break;
        default:
            break;
        }
        n++;
    }
    if (n == 0)
        return false;
    switch (fn) {
    case FN_AVG_OT: *out = acc / (double)n + comp / (double)n; break;
    case FN_SUM_OT: *out = acc + comp; break;
    case FN_COUNT_OT: *out = (double)n; break;
    default: *out = acc; break;
    }
    return true;
}

static int eval_range_function(struct ctx *c, struct node *n)
{
    struct node *arg = n->kid[0];
    int rc = sel_refresh(c, arg);
    if (rc)
        return rc;
    const struct selector *s = arg->sel;
    int64_t end = c->t_us - s->offset_us, start = end - s->range_us;
    n->out.n = 0;
    for (size_t i = 0; i < s->n_ids; i++) {
        int32_t id = s->ids[i];
        struct tsdb_iter it;
        tsdb_range(c->db, id, start, end, &it);
        double v;
        bool ok;
        switch (n->op) {
        case FN_RATE: ok = extrapolated_rate(&it, start, end, true, true, &v); break;
        case FN_INCREASE: ok = extrapolated_rate(&it, start, end, true, false, &v); break;
        case FN_DELTA: ok = extrapolated_rate(&it, start, end, false, false, &v); break;
        case FN_IRATE: ok = instant_rate(&it, &v); break;
        default: ok = over_time(n->op, &it, &v); break;
        }
        if (!ok)
            continue;
        int32_t name = n->op == FN_LAST_OT ? tsdb_series_name(c->db, id) : -1;
        if (vec_push(&n->out, name, tsdb_series_labels(c->db, id), v))
            return oom(c, n);
    }
    return SIM_OK;
}

/* -- histogram_quantile -- */

struct bucket {
    int32_t group;
    double upper;
    double count;
};

/* util/almost.Equal */
static bool almost_equal(double a, double b, double eps)
{
    static const double min_normal = 2.2250738585072014e-308;
    if (isnan(a) && isnan(b))
        return true;
    if (a == b)
        return true;
    double abs_sum = fabs(a) + fabs(b), diff = fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < min_normal)
        return diff < eps * min_normal;
    return diff / fmin(abs_sum, 1.79769313486231570815e+308) < eps;
}

/* promql/quantile.go BucketQuantile. `b` is one group's buckets, in any order. */
static double bucket_quantile(double q, struct bucket *b, size_t n)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    for (size_t i = 1; i < n; i++) { /* insertion sort by upper bound (usually sorted) */
        struct bucket x = b[i];
        size_t j = i;
        while (j > 0 && b[j - 1].upper > x.upper) {
            b[j] = b[j - 1];
            j--;
        }
        b[j] = x;
    }
    if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
        return NAN;
    size_t m = 0; /* coalesce buckets with the same upper bound */
    for (size_t i = 1; i < n; i++) {
        if (b[i].upper == b[m].upper)
            b[m].count += b[i].count;
        else
            b[++m] = b[i];
    }
    n = m + 1;
    /* ensureMonotonicAndIgnoreSmallDeltas, tolerance 1e-12 */
    double prev = b[0].count;
    for (size_t i = 1; i < n; i++) {
        double cur = b[i].count;
        if (cur == prev)
            continue;
        if (almost_equal(prev, cur, 1e-12) || cur < prev) {
            b[i].count = prev;
            continue;
        }
        prev = cur;
    }
    if (n < 2)
        return NAN;
    double observations = b[n - 1].count;
    if (observations == 0)
        return NAN;
    double rank = q * observations;
    size_t k = 0; /* sort.Search(n - 1, count >= rank) */
    while (k < n - 1 && !(b[k].count >= rank))
        k++;
    if (k == n - 1)
        return b[n - 2].upper;
    if (k == 0 && b[0].upper <= 0)
        return b[0].upper;
    double start = 0, end = b[k].upper, count = b[k].count;
    if (k > 0) {
        start = b[k - 1].upper;
        count -= b[k - 1].count;
        rank -= b[k - 1].count;
    }
    return start + (end - start) * (rank / count);
}

static int eval_histogram_quantile(struct ctx *c, struct node *n, double q, const struct vec *in)
{
    if (n->le_id < 0)
        n->le_id = tsdb_str_find(c->db, "le");
    n->out.n = 0;
    if (n->le_id < 0 || in->n == 0)
        return SIM_OK;
    struct bucket *raw = scratch(n, 0, in->n, sizeof *raw);
    struct bucket *sorted = scratch(n, 1, in->n, sizeof *sorted);
    if (!raw || !sorted || lsmap_reset(&n->map, in->n))
        return oom(c, n);
    size_t nb = 0;
    for (size_t i = 0; i < in->n; i++) {
        const struct promql_sample *s = &in->s[i];
        struct tsdb_lset key = {0};
        int32_t le = -1;
        for (uint32_t k = 0; k < s->labels.n; k++) {
            if (s->labels.p[k].name == n->le_id)
                le = s->labels.p[k].value;
            else
                key.p[key.n++] = s->labels.p[k];
        }
        double upper = le < 0 ? NAN : tsdb_str_num(c->db, le);
        if (isnan(upper))
            continue; /* Prometheus skips series without a parsable `le` (with a warning) */
        int32_t *slot = lsmap_find(&n->map, n->out.s, hash_key(s->name, &key), s->name, &key,
                                   true);
        if (*slot < 0) {
            *slot = (int32_t)n->out.n;
            if (vec_push(&n->out, s->name, &key, 0))
                return oom(c, n);
        }
        raw[nb++] = (struct bucket){*slot, upper, s->v};
    }
    size_t ng = n->out.n;
    size_t *off = scratch(n, 2, ng + 1, sizeof *off);
    if (!off)
        return oom(c, n);
    memset(off, 0, (ng + 1) * sizeof *off); /* counting sort by group, stable */
    for (size_t i = 0; i < nb; i++)
        off[raw[i].group + 1]++;
    for (size_t g = 0; g < ng; g++)
        off[g + 1] += off[g];
    for (size_t i = 0; i < nb; i++)
        sorted[off[raw[i].group]++] = raw[i];
    size_t begin = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t end = off[g]; /* after the scatter, off[g] is the end of group g */
        n->out.s[g].v = bucket_quantile(q, sorted + begin, end - begin);
        n->out.s[g].name = -1;
        begin = end;
    }
    return SIM_OK;
}

/* -- aggregation -- */

struct agg_state {
    double comp;
    double count;
};

static int eval_aggregation(struct ctx *c, struct node *n, const struct vec *in)
{
    for (size_t k = 0; k < n->ngrp; k++)
        if (n->grp_ids[k] < 0)
            n->grp_ids[k] = tsdb_str_find(c->db, n->grp[k]);
    n->out.n = 0;
    if (lsmap_reset(&n->map, in->n))
        return oom(c, n);
    struct agg_state *st = scratch(n, 0, in->n ? in->n : 1, sizeof *st);
    if (!st)
        return oom(c, n);
    for (size_t i = 0; i < in->n; i++) {
        const struct promql_sample *s = &in->s[i];
        struct tsdb_lset key = {0};
        for (uint32_t k = 0; k < s->labels.n; k++) {
            bool listed = false;
            for (size_t g = 0; g < n->ngrp; g++)
                listed |= s->labels.p[k].name == n->grp_ids[g];
            if (listed != n->without)
                key.p[key.n++] = s->labels.p[k];
        }
        int32_t *slot = lsmap_find(&n->map, n->out.s, hash_key(-1, &key), -1, &key, false);
        double v = s->v;
        if (*slot < 0) {
            *slot = (int32_t)n->out.n;
            st[n->out.n] = (struct agg_state){0, 1};
            if (vec_push(&n->out, -1, &key, v))
                return oom(c, n);
            continue;
        }
        struct promql_sample *g = &n->out.s[*slot];
        struct agg_state *a = &st[*slot];
        a->count++;
        switch (n->op) {
        case AGG_SUM:
        case AGG_AVG:
            kahan_inc(v, &g->v, &a->comp);
            break;
        case AGG_MIN:
            if (g->v > v || isnan(g->v))
                g->v = v;
            break;
        case AGG_MAX:
            if (g->v < v || isnan(g->v))
                g->v = v;
            break;
        default:
            break;
        }
    }
    for (size_t g = 0; g < n->out.n; g++) {
        struct promql_sample *o = &n->out.s[g];
        switch (n->op) {
        case AGG_SUM: o->v += st[g].comp; break;
        case AGG_AVG: o->v = o->v / st[g].count + st[g].comp / st[g].count; break;
        case AGG_COUNT: o->v = st[g].count; break;
        default: break;
        }
    }
    return SIM_OK;
}

/* -- arithmetic -- */

static double arith(int op, double a, double b)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_MOD: return fmod(a, b);
    default: return pow(a, b);
    }
}

static int eval_vector_vector(struct ctx *c, struct node *n, const struct vec *l,
                              const struct vec *r)
{
    n->out.n = 0;
    if (lsmap_reset(&n->map, r->n))
        return oom(c, n);
    unsigned char *used = scratch(n, 0, r->n ? r->n : 1, 1);
    if (!used)
        return oom(c, n);
    char buf[256];
    for (size_t i = 0; i < r->n; i++) {
        const struct tsdb_lset *ls = &r->s[i].labels;
        int32_t *slot = lsmap_find(&n->map, r->s, hash_key(-1, ls), -1, ls, false);
        if (*slot >= 0) {
            struct promql_sample tmp = {-1, *ls, 0};
            return expr_err(c->e, c->err, SIM_EINVAL, n->pos,
                            "operator '%s' found two series with the labels %s on its right "
                            "side; llmcap matches series one-to-one on identical label sets "
                            "(aggregate first, e.g. sum by (pod) (...))",
                            op_names[n->op], promql_format_sample(c->db, &tmp, buf, sizeof buf));
        }
        *slot = (int32_t)i;
        used[i] = 0;
    }
    for (size_t i = 0; i < l->n; i++) {
        const struct tsdb_lset *ls = &l->s[i].labels;
        int32_t k = *lsmap_find(&n->map, r->s, hash_key(-1, ls), -1, ls, false);
        if (k < 0)
            continue;
        if (used[k]) {
            struct promql_sample tmp = {-1, *ls, 0};
            return expr_err(c->e, c->err, SIM_EINVAL, n->pos,
                            "operator '%s' found two series with the labels %s on its left "
                            "side; llmcap matches series one-to-one on identical label sets "
                            "(aggregate first, e.g. sum by (pod) (...))",
                            op_names[n->op], promql_format_sample(c->db, &tmp, buf, sizeof buf));
        }
        used[k] = 1;
        if (vec_push(&n->out, -1, ls, arith(n->op, l->s[i].v, r->s[k].v)))
            return oom(c, n);
    }
    return SIM_OK;
}

/* -- the tree -- */

static int eval(struct ctx *c, struct node *n, struct res *r);

static int eval_vector_of(struct ctx *c, struct node *n, const struct vec **v)
{
    struct res r = {0};
    int rc = eval(c, n, &r);
    *v = r.v;
    return rc;
}

static int eval_call(struct ctx *c, struct node *n, struct res *r)
{
    int fn = n->op;
    r->type = fn_defs[fn].ret;
    r->v = &n->out;
    if (fn_defs[fn].args[0] == 'm')
        return eval_range_function(c, n);
    /* The parser checked the arguments' number and types (fn_defs): one to three. */
    SIM_ASSERT(n->nkid >= 1 && n->nkid <= 3);
    struct res a[3] = {{0}};
    for (size_t i = 0; i < n->nkid; i++) {
        int rc = eval(c, n->kid[i], &a[i]);
        if (rc)
            return rc;
    }
    if (fn == FN_HQ) {
        SIM_ASSERT(n->nkid == 2 && a[1].v);
        return eval_histogram_quantile(c, n, a[0].s, a[1].v);
    }
    if (fn == FN_SCALAR) {
        SIM_ASSERT(a[0].v);
        r->s = a[0].v->n == 1 ? a[0].v->s[0].v : NAN;
        return SIM_OK;
    }
    n->out.n = 0;
    if (fn == FN_VECTOR) {
        struct tsdb_lset none = {0};
        return vec_push(&n->out, -1, &none, a[0].s) ? oom(c, n) : SIM_OK;
    }
    double lo = -INFINITY, hi = INFINITY, to_nearest = 1;
    if (fn == FN_CLAMP) {
        SIM_ASSERT(n->nkid == 3);
        lo = a[1].s;
        hi = a[2].s;
        if (hi < lo) /* Prometheus: an empty result */
            return SIM_OK;
    } else if (fn == FN_CLAMP_MIN) {
        SIM_ASSERT(n->nkid == 2);
        lo = a[1].s;
    } else if (fn == FN_CLAMP_MAX) {
        SIM_ASSERT(n->nkid == 2);
        hi = a[1].s;
    } else if (fn == FN_ROUND && n->nkid == 2) {
        to_nearest = a[1].s;
    }
    const struct vec *in = a[0].v;
    SIM_ASSERT(in);
    for (size_t i = 0; i < in->n; i++) {
        double x = in->s[i].v;
        switch (fn) {
        case FN_CLAMP:
        case FN_CLAMP_MIN:
        case FN_CLAMP_MAX:
            /* math.Max(lo, math.Min(hi, x)): NaN stays NaN */
            if (!isnan(x))
                x = x > hi ? hi : x < lo ? lo : x;
            if (isnan(lo) || isnan(hi))
                x = NAN;
            break;
        case FN_ABS: x = fabs(x); break;
        case FN_CEIL: x = ceil(x); break;
        case FN_FLOOR: x = floor(x); break;
        case FN_ROUND: {
            double inv = 1.0 / to_nearest; /* as Prometheus: fewer rounding surprises */
            x = floor(x * inv + 0.5) / inv;
            break;
        }
        case FN_SQRT: x = sqrt(x); break;
        case FN_EXP: x = exp(x); break;
        case FN_LN: x = log(x); break;
        case FN_LOG2: x = log2(x); break;
        default: x = log10(x); break;
        }
        if (vec_push(&n->out, -1, &in->s[i].labels, x))
            return oom(c, n);
    }
    return SIM_OK;
}

static int eval(struct ctx *c, struct node *n, struct res *r)
{
    int rc = SIM_OK;
    r->type = n->type;
    r->v = &n->out;
    r->s = 0;
    switch (n->kind) {
    case N_NUM:
        r->s = n->num;
        return SIM_OK;
    case N_SEL:
        return eval_instant_selector(c, n);
    case N_CALL:
        return eval_call(c, n, r);
    case N_AGG: {
        const struct vec *in;
        rc = eval_vector_of(c, n->kid[0], &in);
        return rc ? rc : eval_aggregation(c, n, in);
    }
    case N_NEG: {
        struct res a;
        rc = eval(c, n->kid[0], &a);
        if (rc)
            return rc;
        if (a.type == PROMQL_SCALAR) {
            r->s = -a.s;
            return SIM_OK;
        }
        n->out.n = 0;
        for (size_t i = 0; i < a.v->n; i++)
            if (vec_push(&n->out, -1, &a.v->s[i].labels, -a.v->s[i].v))
                return oom(c, n);
        return SIM_OK;
    }
    case N_BIN: {
        struct res a, b;
        rc = eval(c, n->kid[0], &a);
        if (!rc)
            rc = eval(c, n->kid[1], &b);
        if (rc)
            return rc;
        if (a.type == PROMQL_SCALAR && b.type == PROMQL_SCALAR) {
            r->s = arith(n->op, a.s, b.s);
            return SIM_OK;
        }
        if (a.type == PROMQL_VECTOR && b.type == PROMQL_VECTOR)
            return eval_vector_vector(c, n, a.v, b.v);
        const struct vec *in = a.type == PROMQL_VECTOR ? a.v : b.v;
        n->out.n = 0;
        for (size_t i = 0; i < in->n; i++) {
            double x = a.type == PROMQL_VECTOR ? arith(n->op, in->s[i].v, b.s)
                                               : arith(n->op, a.s, in->s[i].v);
            if (vec_push(&n->out, -1, &in->s[i].labels, x))
                return oom(c, n);
        }
        return SIM_OK;
    }
    }
    return SIM_OK;
}

int promql_register(const struct promql_expr *e, struct tsdb *db, struct sim_err *err)
{
    for (size_t i = 0; i < e->n_nodes; i++) {
        const struct node *n = e->nodes[i];
        if (n->kind != N_SEL)
            continue;
        int rc = tsdb_want(db, n->sel->def->name, err);
        if (rc)
            return rc;
    }
    int rc = tsdb_retain(db, e->lookback_us, err);
    if (rc)
        return rc;
    bind(e, db);
    return SIM_OK;
}

int promql_eval(const struct promql_expr *e, const struct tsdb *db, int64_t t_us,
                struct promql_value *out, struct sim_err *err)
{
    if (e->bind->db != db)
        bind(e, db);
    struct ctx c = {e, db, t_us, err};
    struct res r;
    int rc = eval(&c, e->root, &r);
    if (rc)
        return rc;
    out->type = r.type;
    out->scalar = r.type == PROMQL_SCALAR ? r.s : 0;
    out->n = r.type == PROMQL_VECTOR ? r.v->n : 0;
    out->samples = r.type == PROMQL_VECTOR ? r.v->s : NULL;
    return SIM_OK;
}

int promql_eval_keda(const struct promql_expr *e, const struct tsdb *db, int64_t t_us,
                     bool ignore_null_values, double *value, struct sim_err *err)
{
    struct promql_value v;
    int rc = promql_eval(e, db, t_us, &v, err);
    if (rc)
        return rc;
    if (v.type == PROMQL_SCALAR)
        return expr_err(e, err, SIM_EINVAL, 0, "the query returns a scalar, which KEDA's "
                                               "Prometheus scaler cannot read: wrap it in "
                                               "vector(...)");
    if (v.n > 1)
        return expr_err(e, err, SIM_EINVAL, 0, "query returned %zu series, KEDA needs 0 or 1 "
                                               "(aggregate them, e.g. sum(...) or max(...))",
                        v.n);
    if (v.n == 0) {
        if (ignore_null_values) {
            *value = 0;
            return SIM_OK;
        }
        return expr_err(e, err, SIM_EINVAL, 0, "query returned no series and ignoreNullValues "
                                               "is false (KEDA: the result is empty)");
    }
    double x = v.samples[0].v;
    if (isnan(x) || isinf(x)) {
        if (ignore_null_values) {
            *value = 0;
            return SIM_OK;
        }
        return expr_err(e, err, SIM_EINVAL, 0, "query returned '%s' and ignoreNullValues is "
                                               "false (KEDA rejects NaN and Inf)",
                        isnan(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf");
    }
    *value = x;
    return SIM_OK;
}

int promql_check_labels(const struct promql_expr *e, const char *const *labels, size_t n,
                        struct sim_err *err)
{
    for (size_t i = 0; i < e->n_nodes; i++) {
        const struct selector *s = e->nodes[i]->sel;
        if (!s)
            continue;
        for (size_t k = 0; k < s->nm; k++) {
            const struct matcher *m = &s->m[k];
            bool known = s->kind == METRIC_SERIES_BUCKET && strcmp(m->label, "le") == 0;
            for (size_t j = 0; j < n && !known; j++)
                known = strcmp(labels[j], m->label) == 0;
            bool needs_label = (m->op == MATCH_EQ && m->value[0]) ||
                               (m->op == MATCH_RE && regexec(&m->re, "", 0, NULL, 0) != 0);
            if (known || !needs_label)
                continue;
            char list[256] = "";
            size_t o = 0;
            for (size_t j = 0; j < n && o < sizeof list; j++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", labels[j]);
            return expr_err(e, err, SIM_EINVAL, m->pos,
                            "label '%s' is not on llmcap's simulated series (they carry %s), so "
                            "this selector would match nothing",
                            m->label, list);
        }
    }
    return SIM_OK;
}

static bool matcher_accepts(const struct matcher *m, const char *v)
{
    switch (m->op) {
    case MATCH_EQ: return strcmp(v, m->value) == 0;
    case MATCH_NEQ: return strcmp(v, m->value) != 0;
    case MATCH_RE: return regexec(&m->re, v, 0, NULL, 0) == 0;
    default: return regexec(&m->re, v, 0, NULL, 0) != 0;
    }
}

static const char *match_op_text(enum match_op op)
{
    static const char *const text[] = {"=", "!=", "=~", "!~"};
    return text[op];
}

int promql_check_values(const struct promql_expr *e, const struct promql_label_value *lv,
                        size_t n, struct sim_err *err)
{
    for (size_t i = 0; i < e->n_nodes; i++) {
        const struct selector *s = e->nodes[i]->sel;
        if (!s)
            continue;
        bool gateway = strncmp(s->metric, "llmcap:", 7) == 0;
        for (size_t k = 0; k < s->nm; k++) {
            const struct matcher *m = &s->m[k];
            const struct promql_label_value *have = NULL;
            for (size_t j = 0; j < n && !have && !gateway; j++)
                if (!strcmp(lv[j].name, m->label))
                    have = &lv[j];
            if (gateway && !matcher_accepts(m, ""))
                return expr_err(e, err, SIM_EINVAL, m->pos,
                                "matcher %s%s\"%s\" matches no series: llmcap's gateway series "
                                "'%s' carry no labels",
                                m->label, match_op_text(m->op), m->value, s->metric);
            if (!have || matcher_accepts(m, have->value))
                continue;
            return expr_err(e, err, SIM_EINVAL, m->pos,
                            "matcher %s%s\"%s\" matches no series the deployment exports: its "
                            "series have %s=\"%s\"%s%s",
                            m->label, match_op_text(m->op), m->value, have->name, have->value,
                            have->hint ? " " : "", have->hint ? have->hint : "");
        }
    }
    return SIM_OK;
}

char *promql_format_sample(const struct tsdb *db, const struct promql_sample *s, char *buf,
                           size_t n)
{
    size_t o = 0;
    if (!n)
        return buf;
    buf[0] = '\0';
#define APPEND(...)                                                                        \
    do {                                                                                   \
        if (o < n)                                                                         \
            o += (size_t)snprintf(buf + o, n - o, __VA_ARGS__);                           \
    } while (0)
    if (s->name >= 0)
        APPEND("%s", tsdb_str(db, s->name));
    APPEND("{");
    for (uint32_t i = 0; i < s->labels.n; i++)
        APPEND("%s%s=\"%s\"", i ? ", " : "", tsdb_str(db, s->labels.p[i].name),
               tsdb_str(db, s->labels.p[i].value));
    APPEND("}");
#undef APPEND
    return buf;
}
