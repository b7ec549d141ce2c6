/*
 * trace.c: streamed readers for request traces (Azure LLM inference CSV 2023/2024,
 * Mooncake JSONL, llmcap's plain CSV, and any CSV whose columns workload.trace.columns
 * names), plain, gzip or zstd (sim/workload/instream.c). One reusable line buffer per
 * reader; rows are parsed in place and never stored, so memory does not grow with the
 * trace.
 */
#include "sim/core/civil.h"
#include "sim/workload/workload.h"

#include <cJSON.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/workload/instream.h"

static const char azure_header[] = "TIMESTAMP,ContextTokens,GeneratedTokens";
static const char csv_header[] = "arrival_s,prompt_tokens,output_tokens";

/* How much of a bad value an error message quotes. */
enum { QUOTE_MAX = 48, TS_TEXT_MAX = 48 };

/* The longest line (or quoted record) a trace may have: a Mooncake row of a 1M-token
 * prompt has ~2,000 hash_ids (~16 KiB); past this the file is not a trace. */
#define TRACE_LINE_MAX ((size_t)16 << 20)

/* The roles of a mapped CSV's columns. */
enum { COL_ARRIVAL, COL_PROMPT, COL_OUTPUT, COL_MODEL, COL_SESSION, COL_CLASS, COL_GROUP,
       N_COLS };
static const char *const col_keys[N_COLS] = {"arrival", "prompt_tokens", "output_tokens",
                                             "model",   "session",       "class",
                                             "prefix_group"};
/* A mapped CSV's header may have this many columns. */
enum { MAP_COLS_MAX = 4096 };

/* One field of a mapped CSV record, unquoted in place. */
struct fld {
    char *s;
    size_t n;
    long col;   /* 1-based column of its first byte in its line */
    long line;  /* offset of that line from the record's first */
    bool quoted;
};

struct trace_reader {
    struct instream *in;
    char *path; /* owned copy, for messages */
    enum trace_format fmt;
    char *line; /* getline() buffer: grows to the longest line, then reused */
    size_t cap;
    size_t len;      /* length of the current line, line ending stripped */
    uint64_t lineno; /* 1-based number of the current line */
    bool pending;    /* `line` holds a data row not yet returned (Mooncake line 1) */
    uint32_t *hash;  /* hash_ids of the current row: grows, then reused */
    size_t hash_cap;
    bool have_prev;
    int64_t first_abs_us, prev_abs_us;
    char prev_text[TS_TEXT_MAX]; /* the previous row's timestamp as written */
    uint64_t n_bad;
    /* mapped CSV (workload.trace.columns) */
    bool mapped;
    char col_name[N_COLS][SC_NAME_MAX];
    int col_idx[N_COLS]; /* index in the header; -1: not mapped */
    const char *const *class_names; /* borrowed from trace_opts */
    int n_class_names;
    int n_header;        /* columns in the header */
    struct fld *flds;    /* n_header of them, reused per record */
    char *rec;           /* the current record (lines joined when a quoted field spans) */
    size_t rec_cap, rec_len;
    enum trace_time_format tfmt; /* TIME_AUTO until the first row decides */
    char tnote[320];
    char *model_want;            /* keep only this model (NULL: all, which must be one) */
    const char *const *route;    /* routed: every row kept, its model's index told */
    size_t n_route;
    char model_first[SC_NAME_MAX];
    uint64_t model_first_line;
    bool have_model;
    uint64_t n_other_model;
};

/* A parsed row before the order check: the timestamp's text and column for messages. */
struct raw_row {
    int32_t model; /* index in route (-1: none of them); 0 when not routed */
    int64_t abs_us;
    int32_t prompt, output;
    uint32_t n_hash;
    const char *ts_text;
    size_t ts_len;
    long ts_col;
};

const char *trace_format_name(enum trace_format f)
{
    switch (f) {
    case TRACE_AUTO:
        return "auto";
    case TRACE_AZURE:
        return "azure";
    case TRACE_MOONCAKE:
        return "mooncake";
    case TRACE_CSV:
        return "csv";
    }
    return "?";
}

/* At most QUOTE_MAX bytes of `s` (length n) for a message, with control and non-ASCII
 * bytes written as \xNN: a binary file must not put raw bytes on a terminal. */
enum { SHOWN_MAX = 4 * QUOTE_MAX + 1 };
static const char *shown(const char *s, size_t n, char *buf)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            buf[k++] = (char)c;
        } else {
            static const char hex[] = "0123456789abcdef";
            buf[k++] = '\\';
            buf[k++] = 'x';
            buf[k++] = hex[c >> 4];
            buf[k++] = hex[c & 15];
        }
    }
    buf[k] = '\0';
    return buf;
}

/* ---- lines ------------------------------------------------------------------------- */

/* Read the next line into r->line without its "\n" or "\r\n". 1 = read, 0 = EOF. */
static int read_line(struct trace_reader *r, struct sim_err *err)
{
    size_t len = 0;
    int rc = instream_getline(r->in, &r->line, &r->cap, &len, TRACE_LINE_MAX, err);
    if (rc <= 0)
        return rc;
    r->lineno = instream_lineno(r->in);
    if (r->lineno == 1 && len >= 3 && memcmp(r->line, "\xEF\xBB\xBF", 3) == 0) {
        memmove(r->line, r->line + 3, len - 2); /* a UTF-8 byte-order mark */
        len -= 3;
    }
    r->len = len;
    return 1;
}

static bool line_is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* ---- numbers and times ------------------------------------------------------------- */

/* A token count: decimal digits only, 0..INT32_MAX. 0 = ok, -1 = not a count, -2 = too
 * large. */
static int parse_count(const char *s, size_t n, int32_t *out)
{
    if (n == 0)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
        if (v > INT32_MAX)
            return -2;
    }
    *out = (int32_t)v;
    return 0;
}

/* Fixed-width unsigned decimal field. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/*
 * "YYYY-MM-DD HH:MM:SS[.fff...][Z|+HH:MM|+HHMM|+HH|-...]" (or 'T' between date and time) to
 * epoch microseconds, UTC. Fractional digits past the sixth are truncated. No offset
 * means UTC (the 2023 Azure files).
 */
static bool parse_timestamp(const char *s, size_t n, int64_t *out_us)
{
    int y, mo, d, h, mi, sec;
    if (n < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != ' ' && s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return false;
    size_t i = 19;
    int64_t frac_us = 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t start = i;
        int64_t scale = 100000;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            frac_us += (s[i] - '0') * scale; /* digits past the 6th add 0: truncation */
            scale /= 10;
            i++;
        }
        if (i == start)
            return false;
    }
    int64_t offset_s = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        /* ISO 8601 offsets: +HH:MM, +HHMM or +HH */
        int oh, om = 0;
        size_t k = n - i;
        if (k < 3 || !digits(s + i + 1, 2, &oh))
            return false;
        if (k == 6 && s[i + 3] == ':') {
            if (!digits(s + i + 4, 2, &om))
                return false;
        } else if (k == 5) {
            if (!digits(s + i + 3, 2, &om))
                return false;
        } else if (k != 3) {
            return false;
        }
        if (oh > 23 || om > 59)
            return false;
        offset_s = (s[i] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
        i = n;
    }
    if (i != n)
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *out_us = secs * 1000000 + frac_us;
    return true;
}

/*
 * A non-negative decimal number of units of 10^-`unit_exp` s ("12", "12.5", ".5",
 * "1e-05", "2.5E3"; unit_exp 0: seconds, 3: milliseconds, 6: microseconds) to
 * microseconds, exactly, truncating digits below the microsecond (no binary rounding).
 * false on anything else or past INT64_MAX microseconds.
 */
static bool parse_decimal_us(const char *s, size_t n, int unit_exp, int64_t *out_us)
{
    char dig[64];
    int nd = 0, n_frac = 0;
    bool any = false, dot = false;
    size_t i = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.' && !dot) {
            dot = true;
        } else if (c >= '0' && c <= '9') {
            any = true;
            if (dot)
                n_frac++;
            if (nd == 0 && c == '0') /* leading zeros carry no digits */
                continue;
            if (nd == (int)sizeof dig)
                return false;
            dig[nd++] = c;
        } else {
            break;
        }
    }
    if (!any)
        return false;
    long e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int sign = 1;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            sign = s[i++] == '-' ? -1 : 1;
        size_t start = i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            e = e * 10 + (s[i] - '0');
            if (e > 1000)
                return false;
        }
        if (i == start)
            return false;
        e *= sign;
    }
    if (i != n)
        return false;
    /* value = 0.dig * 10^(nd + e - n_frac): keep the digits left of the microsecond. */
    long keep = nd + e - n_frac + 6 - unit_exp;
    if (keep > 19)
        return false;
    uint64_t v = 0;
    for (long k = 0; k < keep; k++) {
        uint64_t d = (uint64_t)(k < nd ? dig[k] - '0' : 0);
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out_us = (int64_t)v;
    return true;
}

static bool parse_seconds_us(const char *s, size_t n, int64_t *out_us)
{
    return parse_decimal_us(s, n, 0, out_us);
}

/* True when parse_seconds_us() refused a plain non-negative decimal number only because
 * it is too large (for a message that says so rather than "must be a number"). */
static bool too_many_seconds(const char *s, size_t n)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf || !((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789.eE+-", s[i]))
            return false; /* no "inf", "nan", "0x..." */
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    double x = strtod(buf, &end);
    return *end == '\0' && x >= 9223372036854.0;
}

/* ---- the three formats --------------------------------------------------------------- */

/* Split a CSV line on commas (no quoting). Returns the number of fields found; the first
 * `max` are stored. */
static int split_csv(const char *s, size_t n, const char **f, size_t *fl, long *col, int max)
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ',') {
            if (k < max) {
                f[k] = s + start;
                fl[k] = i - start;
                col[k] = (long)start + 1;
            }
            k++;
            start = i + 1;
        }
    }
    return k;
}

static int count_error(struct trace_reader *r, struct sim_err *err, long col, const char *name,
                       const char *s, size_t n, int why)
{
    char sb[SHOWN_MAX];
    if (why == -2)
        return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, col,
                          "'%s' must be <= 2147483647 (tokens), got '%s'", name, shown(s, n, sb));
    return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, col,
                      "'%s' must be an integer >= 0 (tokens), got '%s'", name, shown(s, n, sb));
}

/* Azure and plain CSV rows share the layout time,prompt,output. */
static int parse_csv_row(struct trace_reader *r, struct raw_row *row, struct sim_err *err)
{
    bool azure = r->fmt == TRACE_AZURE;
    const char *names[3] = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"};
    if (!azure) {
        names[0] = "arrival_s";
        names[1] = "prompt_tokens";
        names[2] = "output_tokens";
    }
    const char *f[3];
    size_t fl[3];
    long col[3];
    int k = split_csv(r->line, r->len, f, fl, col, 3);
    if (k != 3) {
        /* Point at the first extra field, or at the end of a short line. */
        long c = k > 3 ? col[2] + (long)fl[2] + 1 : (long)r->len + 1;
        return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, c,
                          "expected 3 columns (%s,%s,%s), found %d", names[0], names[1], names[2],
                          k);
    }
    char sb[SHOWN_MAX];
    if (azure) {
        if (!parse_timestamp(f[0], fl[0], &row->abs_us))
            return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, col[0],
                              "'TIMESTAMP' must be a date and time like "
                              "'2023-11-16 18:17:03.9799600' or "
                              "'2024-05-10 00:00:00.009930+00:00', got '%s'",
                              shown(f[0], fl[0], sb));
    } else if (!parse_seconds_us(f[0], fl[0], &row->abs_us)) {
        if (too_many_seconds(f[0], fl[0]))
            return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, col[0],
                              "'arrival_s' must be a number of seconds in [0, 9223372036854] "
                              "(int64 microseconds), got '%s'",
                              shown(f[0], fl[0], sb));
        return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, col[0],
                          "'arrival_s' must be a number of seconds >= 0, got '%s'",
                          shown(f[0], fl[0], sb));
    }
    int why = parse_count(f[1], fl[1], &row->prompt);
    if (why)
        return count_error(r, err, col[1], names[1], f[1], fl[1], why);
    why = parse_count(f[2], fl[2], &row->output);
    if (why)
        return count_error(r, err, col[2], names[2], f[2], fl[2], why);
    row->n_hash = 0;
    row->ts_text = f[0];
    row->ts_len = fl[0];
    row->ts_col = col[0];
    return SIM_OK;
}

/* Column of `"key"` in the line, for messages about a JSON member (1 if absent). */
static long json_key_col(const char *line, const char *key)
{
    char pat[40];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(line, pat);
    return p ? (long)(p - line) + 1 : 1;
}

/* A JSON value as text for a message (allocates on the error path only). */
static int json_value_error(struct trace_reader *r, struct sim_err *err, const char *key,
                            const char *name, const cJSON *v, const char *expect)
{
    char *text = cJSON_PrintUnformatted(v);
    char sb[SHOWN_MAX];
    int rc = sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, json_key_col(r->line, key),
                        "'%s' must be %s, got '%s'", name, expect,
                        text ? shown(text, strlen(text), sb) : "?");
    free(text);
    return rc;
}

/* An integral JSON number in [0, max]. */
static bool json_int(const cJSON *v, double max, double *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double x = v->valuedouble;
    if (!(x >= 0.0 && x <= max) || x != floor(x))
        return false;
    *out = x;
    return true;
}

static int parse_mooncake_row(struct trace_reader *r, struct raw_row *row, struct sim_err *err)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithOpts(r->line, &end, 1);
    if (!o) {
        long col = end && end >= r->line ? (long)(end - r->line) + 1 : 1;
        char sb[SHOWN_MAX];
        if (end && *end)
            return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, col,
                              "expected one JSON object per line, found invalid JSON at "
                              "'%s'",
                              shown(end, strnlen(end, QUOTE_MAX), sb));
        return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, col,
                          "expected one JSON object per line, found the line ends inside "
                          "the JSON");
    }
    int rc = SIM_OK;
    if (!cJSON_IsObject(o)) {
        rc = sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, 1,
                        "expected one JSON object per line, found another JSON value");
        goto done;
    }
    /* cJSON keeps both members of a repeated key and lookups see only the first: which
     * value was meant is unknowable, so a repeated key is an error. */
    static const char *const all_keys[4] = {"timestamp", "input_length", "output_length",
                                            "hash_ids"};
    for (int k = 0; k < 4; k++) {
        int seen = 0;
        for (const cJSON *c = o->child; c; c = c->next)
            if (c->string && !strcmp(c->string, all_keys[k]) && ++seen == 2) {
                char pat[40];
                snprintf(pat, sizeof pat, "\"%s\"", all_keys[k]);
                const char *p = strstr(r->line, pat);
                p = p ? strstr(p + 1, pat) : NULL;
                rc = sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno,
                                p ? (long)(p - r->line) + 1 : 1,
                                "duplicate key '%s' in the JSON object", all_keys[k]);
                goto done;
            }
    }
    static const char *const keys[3] = {"timestamp", "input_length", "output_length"};
    static const char *const expect[3] = {"a number of milliseconds >= 0",
                                          "an integer in [0, 2147483647] (tokens)",
                                          "an integer in [0, 2147483647] (tokens)"};
    for (int k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
        if (!v) {
            rc = sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, 1,
                            "missing '%s': expected %s", keys[k], expect[k]);
            goto done;
        }
        double x;
        if (k == 0) {
            /* 9.2e15 ms keeps the microseconds inside int64. */
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0 && v->valuedouble <= 9.2e15)) {
                bool past = cJSON_IsNumber(v) && v->valuedouble > 9.2e15;
                rc = json_value_error(r, err, keys[k], keys[k], v,
                                      past ? "a number of milliseconds in [0, 9200000000000000] "
                                             "(int64 microseconds)"
                                           : expect[k]);
                goto done;
            }
            /* JSON numbers are doubles: round to the nearest microsecond. */
            row->abs_us = llround(v->valuedouble * 1000.0);
        } else if (!json_int(v, (double)INT32_MAX, &x)) {
            rc = json_value_error(r, err, keys[k], keys[k], v, expect[k]);
            goto done;
        } else if (k == 1) {
            row->prompt = (int32_t)x;
        } else {
            row->output = (int32_t)x;
        }
    }
    row->n_hash = 0;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hash_ids");
    if (h) {
        if (!cJSON_IsArray(h)) {
            rc = json_value_error(r, err, "hash_ids", "hash_ids", h,
                                  "an array of integers in 0..4294967295");
            goto done;
        }
        size_t n = (size_t)cJSON_GetArraySize(h);
        if (n > UINT32_MAX) {
            rc = json_value_error(r, err, "hash_ids", "hash_ids", h, "at most 4294967295 long");
            goto done;
        }
        if (n > r->hash_cap) {
            size_t cap = r->hash_cap ? r->hash_cap : 64;
            while (cap < n)
                cap *= 2;
            uint32_t *p = sim_reallocarray(r->hash, cap, sizeof *p);
            if (!p) {
                rc = sim_err_at(err, SIM_ENOMEM, r->path, (long)r->lineno, 0,
                                "out of memory for %zu hash_ids", n);
                goto done;
            }
            r->hash = p;
            r->hash_cap = cap;
        }
        size_t i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, h)
        {
            double x;
            if (!json_int(e, 4294967295.0, &x)) {
                char name[40];
                snprintf(name, sizeof name, "hash_ids[%zu]", i);
                rc = json_value_error(r, err, "hash_ids", name, e, "an integer in 0..4294967295");
                goto done;
            }
            r->hash[i++] = (uint32_t)x;
        }
        row->n_hash = (uint32_t)n;
    }
    row->ts_text = NULL; /* quoted from the numbers instead */
    row->ts_len = 0;
    row->ts_col = json_key_col(r->line, "timestamp");
done:
    cJSON_Delete(o);
    return rc;
}

/* ---- a CSV with its own column names (workload.trace.columns) ------------------------ */

/* Quote state of a CSV record scanned so far (RFC 4180). */
struct qstate {
    bool inq;   /* inside a quoted field */
    bool start; /* at the start of a field */
};

static void csv_scan(struct qstate *q, const char *s, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        char c = s[i];
        if (q->inq) {
            if (c == '"') {
                if (i + 1 < n && s[i + 1] == '"')
                    i++;
                else
                    q->inq = false;
            }
            continue;
        }
        if (c == '"' && q->start) {
            q->inq = true;
            q->start = false;
            continue;
        }
        q->start = c == ',';
    }
}

/* Where a field of the record is, for messages. */
struct at {
    long line, col;
};

/*
 * Split the record `s` (n bytes; lines joined by '\n') in place into fields, quoted
 * fields unquoted ("" -> "). Returns the number of fields (the first `max` stored in
 * f), or -1 with *bad set where a closing quote is followed by something other than a
 * comma.
 */
static int csv_split_inplace(char *s, size_t n, struct fld *f, int max, struct at *bad)
{
    int k = 0;
    size_t i = 0, line_start = 0;
    long line = 0;
    for (;;) {
        struct fld cur = {.s = s + i, .n = 0, .col = (long)(i - line_start) + 1, .line = line,
                          .quoted = false};
        if (i < n && s[i] == '"') {
            cur.quoted = true;
            size_t m = 0;
            i++;
            while (i < n) {
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        cur.s[m++] = '"';
                        i += 2;
                        continue;
                    }
                    break;
                }
                if (s[i] == '\n') {
                    line++;
                    line_start = i + 1;
                }
                cur.s[m++] = s[i++];
            }
            i++; /* the closing quote (the record is joined until it is there) */
            cur.n = m;
            if (i < n && s[i] != ',') {
                bad->line = line;
                bad->col = (long)(i - line_start) + 1;
                return -1;
            }
        } else {
            size_t st = i;
            while (i < n && s[i] != ',')
                i++;
            cur.n = i - st;
        }
        if (k < max)
            f[k] = cur;
        k++;
        if (i >= n)
            break;
        i++; /* the comma */
    }
    return k;
}

/* An unquoted field without the spaces around it. */
static void trim(const struct fld *f, const char **s, size_t *n)
{
    const char *p = f->s;
    size_t m = f->n;
    if (!f->quoted) {
        while (m && (*p == ' ' || *p == '\t')) {
            p++;
            m--;
        }
        while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
    }
    *s = p;
    *n = m;
}

/* The current line and the lines after it while a quoted field is open, into r->rec. */
static int read_record(struct trace_reader *r, struct sim_err *err)
{
    uint64_t first = r->lineno;
    struct qstate q = {false, true};
    r->rec_len = 0;
    for (;;) {
        if (memchr(r->line, '\0', r->len))
            return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno,
                              (long)strlen(r->line) + 1, "unexpected NUL byte in the line");
        size_t need = r->rec_len + r->len + 2;
        if (need > TRACE_LINE_MAX)
            return sim_err_at(err, SIM_EINVAL, r->path, (long)first, 1,
                              "the record starting here is longer than %zu bytes (a quoted "
                              "field never closed?)",
                              TRACE_LINE_MAX);
        if (need > r->rec_cap) {
            size_t c = r->rec_cap ? r->rec_cap : 256;
            while (c < need)
                c *= 2;
            char *p = realloc(r->rec, c);
            if (!p)
                return sim_err_at(err, SIM_ENOMEM, r->path, (long)r->lineno, 0,
                                  "out of memory reading a record");
            r->rec = p;
            r->rec_cap = c;
        }
        size_t from = r->rec_len;
        if (r->rec_len)
            r->rec[r->rec_len++] = '\n';
        memcpy(r->rec + r->rec_len, r->line, r->len);
        r->rec_len += r->len;
        r->rec[r->rec_len] = '\0';
        csv_scan(&q, r->rec, from, r->rec_len);
        if (!q.inq)
            return SIM_OK;
        int rc = read_line(r, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return sim_err_at(err, SIM_EINVAL, r->path, (long)first, 1,
                              "a quoted field opened on this line is never closed (the file "
                              "ends inside it)");
    }
}

static uint64_t fnv1a64(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1; /* 0 means "no session" */
}

uint64_t workload_group_key(const char *s, size_t n)
{
    return fnv1a64(s, n);
}

/* Epoch microseconds as "2024-05-10T00:00:00.009Z" (microseconds shown when not 0). */
static void format_epoch_us(int64_t us, char *buf, size_t n)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    int64_t days = secs / 86400, sod = secs % 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int hh = (int)(sod / 3600), mm = (int)(sod % 3600 / 60), ss = (int)(sod % 60);
    if (frac)
        snprintf(buf, n, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%06" PRId64 "Z", y, m, d, hh, mm,
                 ss, frac);
    else
        snprintf(buf, n, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", y, m, d, hh, mm, ss);
}

/* The unit a column's name states: "ts_ms", "Timestamp (ms)", "arrival_s", "time_us". */
static enum trace_time_format unit_from_name(const char *name)
{
    static const char *const ms[] = {"ms", "msec", "millis", "millisecond", "milliseconds", NULL};
    static const char *const us[] = {"us", "usec", "micros", "microsecond", "microseconds", NULL};
    static const char *const sec[] = {"s", "sec", "secs", "second", "seconds", NULL};
    const char *p = name;
    while (*p) {
        while (*p && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                       (*p >= '0' && *p <= '9')))
            p++;
        char word[24];
        size_t k = 0;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) {
            if (k + 1 < sizeof word)
                word[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
            p++;
        }
        word[k] = '\0';
        for (int i = 0; ms[i]; i++)
            if (!strcmp(word, ms[i]))
                return TIME_MS;
        for (int i = 0; us[i]; i++)
            if (!strcmp(word, us[i]))
                return TIME_US;
        for (int i = 0; sec[i]; i++)
            if (!strcmp(word, sec[i]))
                return TIME_S;
    }
    return TIME_AUTO;
}

static const char *time_format_key(enum trace_time_format t)
{
    switch (t) {
    case TIME_AUTO:
        return "auto";
    case TIME_S:
        return "s";
    case TIME_MS:
        return "ms";
    case TIME_US:
        return "us";
    case TIME_ISO8601:
        return "iso8601";
    }
    return "?";
}

static int unit_exp(enum trace_time_format t)
{
    return t == TIME_MS ? 3 : t == TIME_US ? 6 : 0;
}

/*
 * time_format auto: decide from the first row's value and the column's name, only when
 * that is unambiguous: an ISO 8601 date and time; a number with a unit in the column's
 * name; or a number that is an epoch time of 2000..2100 in exactly one of s, ms, us. A
 * relative number with no unit in the name is refused (seconds or milliseconds would
 * both read, 1000x apart).
 */
static int decide_time(struct trace_reader *r, const char *s, size_t n, long line, long col,
                       struct sim_err *err)
{
    char sb[SHOWN_MAX], when[64];
    const char *name = r->col_name[COL_ARRIVAL];
    int64_t us;
    if (parse_timestamp(s, n, &us)) {
        r->tfmt = TIME_ISO8601;
        snprintf(r->tnote, sizeof r->tnote, "iso8601 (auto: '%s' is a date and time)",
                 shown(s, n, sb));
        return SIM_OK;
    }
    int64_t as_us;
    if (!parse_decimal_us(s, n, 6, &as_us)) /* as microseconds: is it a number at all */
        return sim_err_at(err, SIM_EINVAL, r->path, line, col,
                          "'%s' must be a time: a number of seconds, milliseconds or "
                          "microseconds, or an ISO 8601 date and time like "
                          "'2024-05-10T00:00:00.009+00:00', got '%s'",
                          name, shown(s, n, sb));
    enum trace_time_format by_name = unit_from_name(name);
    if (by_name != TIME_AUTO) {
        r->tfmt = by_name;
        snprintf(r->tnote, sizeof r->tnote, "%s (auto: the column's name '%s' says so)",
                 time_format_key(by_name), name);
        return SIM_OK;
    }
    /* epoch 2000-01-01 .. 2100-01-01 in each unit, in microseconds of that reading */
    static const int64_t lo_s = 946684800, hi_s = 4102444800;
    double v = (double)as_us; /* the number as written */
    enum trace_time_format found = TIME_AUTO;
    if (v >= (double)lo_s && v < (double)hi_s)
        found = TIME_S;
    else if (v >= (double)lo_s * 1e3 && v < (double)hi_s * 1e3)
        found = TIME_MS;
    else if (v >= (double)lo_s * 1e6 && v < (double)hi_s * 1e6)
        found = TIME_US;
    if (found == TIME_AUTO)
        return sim_err_at(err, SIM_EINVAL, r->path, line, col,
                          "cannot tell the unit of '%s' from its first value '%s' (no epoch "
                          "time of 2000-2100 in s, ms or us, and no unit in the column's "
                          "name): set workload.trace.time_format to s, ms or us",
                          name, shown(s, n, sb));
    r->tfmt = found;
    int64_t t_us = 0;
    (void)parse_decimal_us(s, n, unit_exp(found), &t_us);
    format_epoch_us(t_us, when, sizeof when);
    snprintf(r->tnote, sizeof r->tnote, "%s (auto: '%s' is %s as epoch %s)",
             time_format_key(found), shown(s, n, sb), when,
             found == TIME_S ? "seconds" : found == TIME_MS ? "milliseconds" : "microseconds");
    return SIM_OK;
}

/* A token count as exports write it: "512", " 512", "512.0" (pandas writes integers of a
 * column with gaps as floats). */
static int parse_count_export(const char *s, size_t n, int32_t *out)
{
    size_t m = n;
    const char *dot = memchr(s, '.', n);
    if (dot) {
        m = (size_t)(dot - s);
        for (size_t i = m + 1; i < n; i++)
            if (s[i] != '0')
                return -1;
        if (m == 0)
            return -1;
    }
    return parse_count(s, m, out);
}

/* Parse a mapped CSV record. 1 = a row in `row`; 2 = a row of another model, skipped. */
static int parse_mapped_row(struct trace_reader *r, struct raw_row *row, uint64_t *session,
                            int32_t *cls, uint64_t *group, struct sim_err *err)
{
    uint64_t first = r->lineno;
    int rc = read_record(r, err);
    if (rc < 0)
        return rc;
    struct at bad;
    int k = csv_split_inplace(r->rec, r->rec_len, r->flds, r->n_header, &bad);
    if (k < 0)
        return sim_err_at(err, SIM_EINVAL, r->path, (long)first + bad.line, bad.col,
                          "expected ',' or the end of the line after a closing quote");
    if (k != r->n_header) {
        const struct fld *last = &r->flds[k < r->n_header ? k - 1 : r->n_header - 1];
        long c = last->col + (long)last->n + (k < r->n_header ? 0 : 1);
        return sim_err_at(err, SIM_EINVAL, r->path, (long)first + last->line, c,
                          "expected %d columns as in the header, found %d", r->n_header, k);
    }
    char sb[SHOWN_MAX];
    const char *s;
    size_t n;
#define AT(role) (long)first + r->flds[r->col_idx[role]].line, r->flds[r->col_idx[role]].col
    if (r->col_idx[COL_MODEL] >= 0) {
        trim(&r->flds[r->col_idx[COL_MODEL]], &s, &n);
        if (r->n_route) {
            row->model = -1;
            for (size_t i = 0; i < r->n_route; i++)
                if (strlen(r->route[i]) == n && memcmp(r->route[i], s, n) == 0) {
                    row->model = (int32_t)i;
                    break;
                }
        } else if (r->model_want) {
            if (strlen(r->model_want) != n || memcmp(r->model_want, s, n) != 0) {
                r->n_other_model++;
                return 2;
            }
        } else if (!r->have_model) {
            size_t m = n < sizeof r->model_first - 1 ? n : sizeof r->model_first - 1;
            memcpy(r->model_first, s, m);
            r->model_first[m] = '\0';
            r->model_first_line = first;
            r->have_model = true;
        } else if (strlen(r->model_first) != n || memcmp(r->model_first, s, n) != 0) {
            char sf[SHOWN_MAX];
            return sim_err_at(err, SIM_EINVAL, r->path, AT(COL_MODEL),
                              "the trace has requests for more than one model ('%s' from line "
                              "%llu, '%s' here) and a run simulates one: choose its rows with "
                              "workload.trace.model",
                              shown(r->model_first, strlen(r->model_first), sf),
                              (unsigned long long)r->model_first_line, shown(s, n, sb));
        }
    }
    trim(&r->flds[r->col_idx[COL_ARRIVAL]], &s, &n);
    if (r->tfmt == TIME_AUTO && (rc = decide_time(r, s, n, AT(COL_ARRIVAL), err)) < 0)
        return rc;
    const char *tname = r->col_name[COL_ARRIVAL];
    if (r->tfmt == TIME_ISO8601) {
        if (!parse_timestamp(s, n, &row->abs_us))
            return sim_err_at(err, SIM_EINVAL, r->path, AT(COL_ARRIVAL),
                              "'%s' must be an ISO 8601 date and time like "
                              "'2024-05-10T00:00:00.009+00:00' (time_format %s), got '%s'",
                              tname, r->tnote[0] ? r->tnote : "iso8601", shown(s, n, sb));
    } else if (!parse_decimal_us(s, n, unit_exp(r->tfmt), &row->abs_us)) {
        return sim_err_at(err, SIM_EINVAL, r->path, AT(COL_ARRIVAL),
                          "'%s' must be a number of %s >= 0 within int64 microseconds "
                          "(time_format %s), got '%s'",
                          tname,
                          r->tfmt == TIME_S    ? "seconds"
                          : r->tfmt == TIME_MS ? "milliseconds"
                                               : "microseconds",
                          r->tnote[0] ? r->tnote : time_format_key(r->tfmt), shown(s, n, sb));
    }
    static const int count_roles[2] = {COL_PROMPT, COL_OUTPUT};
    for (int i = 0; i < 2; i++) {
        int role = count_roles[i];
        int32_t v = 0;
        trim(&r->flds[r->col_idx[role]], &s, &n);
        int why = parse_count_export(s, n, &v);
        if (why)
            return sim_err_at(err, SIM_EINVAL, r->path, AT(role),
                              why == -2 ? "'%s' must be <= 2147483647 (tokens), got '%s'"
                                        : "'%s' must be an integer >= 0 (tokens), got '%s'",
                              r->col_name[role], shown(s, n, sb));
        if (role == COL_PROMPT)
            row->prompt = v;
        else
            row->output = v;
    }
    *session = 0;
    if (r->col_idx[COL_SESSION] >= 0) {
        trim(&r->flds[r->col_idx[COL_SESSION]], &s, &n);
        *session = n ? fnv1a64(s, n) : 0;
    }
    *cls = -1;
    if (r->col_idx[COL_CLASS] >= 0) {
        trim(&r->flds[r->col_idx[COL_CLASS]], &s, &n);
        for (int i = 0; n && i < r->n_class_names && *cls < 0; i++)
            if (strlen(r->class_names[i]) == n && !memcmp(r->class_names[i], s, n))
                *cls = i;
        if (n && *cls < 0) {
            char list[320];
            size_t at = 0;
            for (int i = 0; i < r->n_class_names && at + 8 < sizeof list; i++) {
                int w = snprintf(list + at, sizeof list - at, "%s'%s'", i ? ", " : "",
                                 r->class_names[i]);
                if (w < 0 || (size_t)w >= sizeof list - at)
                    break;
                at += (size_t)w;
            }
            return sim_err_at(err, SIM_EINVAL, r->path, AT(COL_CLASS),
                              "'%s' must name one of workload.classes (%s), got '%s'",
                              r->col_name[COL_CLASS], list, shown(s, n, sb));
        }
    }
    *group = 0;
    if (r->col_idx[COL_GROUP] >= 0) {
        trim(&r->flds[r->col_idx[COL_GROUP]], &s, &n);
        *group = n ? fnv1a64(s, n) : 0;
    }
#undef AT
    const struct fld *tf = &r->flds[r->col_idx[COL_ARRIVAL]];
    row->n_hash = 0;
    row->ts_text = tf->s;
    row->ts_len = tf->n;
    row->ts_col = tf->col;
    return 1;
}

/* Read the header of a mapped CSV and find the mapped columns. */
static int map_header(struct trace_reader *r, const struct trace_opts *o, struct sim_err *err)
{
    const struct trace_columns *c = o->columns;
    const char *names[N_COLS] = {c->arrival, c->prompt,  c->output,      c->model,
                                 c->session, c->class_, c->prefix_group};
    r->class_names = o->class_names;
    r->n_class_names = o->n_class_names;
    for (int i = 0; i < N_COLS; i++) {
        snprintf(r->col_name[i], sizeof r->col_name[i], "%s", names[i]);
        r->col_idx[i] = -1;
        if (i <= COL_OUTPUT && !names[i][0])
            return sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                              "workload.trace.columns needs '%s' (the column's name in the "
                              "file's header)",
                              col_keys[i]);
        for (int j = 0; j < i; j++)
            if (names[i][0] && !strcmp(names[i], names[j]))
                return sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                                  "workload.trace.columns maps '%s' and '%s' to the same column "
                                  "'%s'",
                                  col_keys[j], col_keys[i], names[i]);
    }
    if (o->model && o->model[0] && !names[COL_MODEL][0])
        return sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                          "workload.trace.model needs the model's column: set "
                          "workload.trace.columns.model");
    if (o->n_route_models && !names[COL_MODEL][0])
        return sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                          "a trace routed to several deployments needs the model's column: "
                          "set workload.trace.columns.model");
    r->route = o->route_models;
    r->n_route = o->n_route_models;
    if (o->model && o->model[0] && !(r->model_want = strdup(o->model)))
        return sim_err_at(err, SIM_ENOMEM, r->path, 0, 0, "out of memory");
    int rc = read_record(r, err);
    if (rc < 0)
        return rc;
    struct fld *hf = calloc(MAP_COLS_MAX, sizeof *hf);
    if (!hf)
        return sim_err_at(err, SIM_ENOMEM, r->path, 1, 0, "out of memory for the header");
    struct at bad;
    int k = csv_split_inplace(r->rec, r->rec_len, hf, MAP_COLS_MAX, &bad);
    if (k < 0) {
        free(hf);
        return sim_err_at(err, SIM_EINVAL, r->path, 1 + bad.line, bad.col,
                          "expected ',' or the end of the line after a closing quote");
    }
    if (k > MAP_COLS_MAX) {
        free(hf);
        return sim_err_at(err, SIM_EINVAL, r->path, 1, 1,
                          "the header has %d columns, more than the %d a trace may have", k,
                          MAP_COLS_MAX);
    }
    for (int i = 0; i < N_COLS; i++) {
        if (!names[i][0])
            continue;
        for (int j = 0; j < k; j++) {
            const char *s;
            size_t n;
            trim(&hf[j], &s, &n);
            if (n != strlen(names[i]) || memcmp(s, names[i], n) != 0)
                continue;
            if (r->col_idx[i] >= 0) {
                rc = sim_err_at(err, SIM_EINVAL, r->path, 1 + hf[j].line, hf[j].col,
                                "the header names column '%s' twice (columns %d and %d): "
                                "which one workload.trace.columns.%s means is unknowable",
                                names[i], r->col_idx[i] + 1, j + 1, col_keys[i]);
                free(hf);
                return rc;
            }
            r->col_idx[i] = j;
        }
        if (r->col_idx[i] < 0) {
            char list[320];
            size_t at = 0;
            for (int j = 0; j < k && at + 8 < sizeof list; j++) {
                char sb[SHOWN_MAX];
                int w = snprintf(list + at, sizeof list - at, "%s'%s'", j ? ", " : "",
                                 shown(hf[j].s, hf[j].n, sb));
                if (w < 0 || (size_t)w >= sizeof list - at) {
                    snprintf(list + at, sizeof list - at, ", ...");
                    break;
                }
                at += (size_t)w;
            }
            rc = sim_err_at(err, SIM_EINVAL, r->path, 1, 1,
                            "the header has no column '%s' (workload.trace.columns.%s); its "
                            "columns are %s",
                            names[i], col_keys[i], list);
            free(hf);
            return rc;
        }
    }
    free(hf);
    r->n_header = k;
    r->flds = calloc((size_t)k, sizeof *r->flds);
    if (!r->flds)
        return sim_err_at(err, SIM_ENOMEM, r->path, 1, 0, "out of memory for the header");
    r->tfmt = o->time_format;
    if (r->tfmt != TIME_AUTO)
        snprintf(r->tnote, sizeof r->tnote, "%s", time_format_key(r->tfmt));
    r->mapped = true;
    return SIM_OK;
}

/* ---- reader -------------------------------------------------------------------------- */

static bool starts_json(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '{';
}

struct trace_reader *trace_open(const char *path, enum trace_format format, struct sim_err *err)
{
    struct trace_opts o = {.format = format};
    return trace_open_opts(path, &o, err);
}

struct trace_reader *trace_open_opts(const char *path, const struct trace_opts *o,
                                     struct sim_err *err)
{
    enum trace_format format = o->format;
    bool mapped = o->columns && o->columns->arrival[0];
    if (mapped && format != TRACE_AUTO && format != TRACE_CSV) {
        sim_err_at(err, SIM_EINVAL, path, 0, 0,
                   "workload.trace.columns names a CSV's columns: it does not apply to "
                   "format '%s'",
                   trace_format_name(format));
        return NULL;
    }
    if (!mapped && o->model && o->model[0]) {
        sim_err_at(err, SIM_EINVAL, path, 0, 0,
                   "workload.trace.model needs the model's column: set "
                   "workload.trace.columns.model");
        return NULL;
    }
    struct trace_reader *r = calloc(1, sizeof *r);
    if (!r) {
        sim_err_at(err, SIM_ENOMEM, path, 0, 0, "out of memory opening the trace");
        return NULL;
    }
    r->path = strdup(path);
    if (!r->path) {
        sim_err_at(err, SIM_ENOMEM, path, 0, 0, "out of memory opening the trace");
        goto fail;
    }
    r->in = instream_open(path, "the trace", err);
    if (!r->in)
        goto fail;
    int rc = read_line(r, err);
    if (rc < 0)
        goto fail;
    if (rc == 0) {
        sim_err_at(err, SIM_EINVAL, path, 1, 0,
                   "the trace is empty: expected the header '%s' (azure) or '%s' (csv), or "
                   "a JSON object per line (mooncake)",
                   azure_header, csv_header);
        goto fail;
    }
    if (mapped) {
        r->fmt = TRACE_CSV;
        if (map_header(r, o, err) < 0)
            goto fail;
        return r;
    }
    enum trace_format seen = TRACE_AUTO;
    if (strcmp(r->line, azure_header) == 0)
        seen = TRACE_AZURE;
    else if (strcmp(r->line, csv_header) == 0)
        seen = TRACE_CSV;
    else if (starts_json(r->line))
        seen = TRACE_MOONCAKE;
    if (format == TRACE_AUTO) {
        if (seen == TRACE_AUTO) {
            char sb[SHOWN_MAX];
            sim_err_at(err, SIM_EINVAL, path, 1, 1,
                       "cannot tell the trace format from the first line '%s': expected "
                       "the header '%s' (azure) or '%s' (csv), or a JSON object (mooncake)",
                       shown(r->line, r->len, sb), azure_header, csv_header);
            goto fail;
        }
        format = seen;
    } else if (format == TRACE_AZURE || format == TRACE_CSV) {
        if (seen != format) {
            char sb[SHOWN_MAX];
            sim_err_at(err, SIM_EINVAL, path, 1, 1,
                       "expected the header '%s' (format '%s'), got '%s'",
                       format == TRACE_AZURE ? azure_header : csv_header, trace_format_name(format),
                       shown(r->line, r->len, sb));
            goto fail;
        }
    }
    r->fmt = format;
    r->pending = format == TRACE_MOONCAKE; /* no header: line 1 is a row */
    return r;
fail:
    trace_close(r);
    return NULL;
}

/* Quote a row's timestamp for the order message: its text, or the number (Mooncake). */
static void ts_quote(const struct trace_reader *r, const struct raw_row *row, char *out, size_t n)
{
    char sb[SHOWN_MAX];
    if (row->ts_text) {
        /* a shown value may be longer than out: cut it there */
        const char *t = shown(row->ts_text, row->ts_len, sb);
        size_t len = strnlen(t, n - 1);
        memcpy(out, t, len);
        out[len] = '\0';
    }
    else if (r->fmt == TRACE_MOONCAKE && row->abs_us % 1000 == 0)
        snprintf(out, n, "%" PRId64, row->abs_us / 1000);
    else
        snprintf(out, n, "%.17g", (double)row->abs_us / 1000.0);
}

/* Parse the current line; 1 = row, or a negative code with err set. */
static int parse_line(struct trace_reader *r, struct trace_row *row, struct sim_err *err)
{
    uint64_t first = r->lineno, session = 0, group = 0;
    int32_t cls = -1;
    struct raw_row raw = {0};
    int rc;
    if (r->mapped) {
        rc = parse_mapped_row(r, &raw, &session, &cls, &group, err);
        if (rc != 1)
            return rc; /* an error, or 2: a row of another model */
    } else {
        if (memchr(r->line, '\0', r->len))
            return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno,
                              (long)strlen(r->line) + 1, "unexpected NUL byte in the line");
        rc = r->fmt == TRACE_MOONCAKE ? parse_mooncake_row(r, &raw, err)
                                      : parse_csv_row(r, &raw, err);
        if (rc < 0)
            return rc;
    }
    char now[TS_TEXT_MAX];
    ts_quote(r, &raw, now, sizeof now);
    if (r->have_prev && raw.abs_us < r->prev_abs_us)
        return sim_err_at(err, SIM_EINVAL, r->path, (long)first, raw.ts_col,
                          "timestamps must not decrease: '%s' after '%s'", now, r->prev_text);
    if (!r->have_prev) {
        r->have_prev = true;
        r->first_abs_us = raw.abs_us;
    }
    r->prev_abs_us = raw.abs_us;
    memcpy(r->prev_text, now, sizeof now);
    row->t_us = raw.abs_us - r->first_abs_us;
    row->abs_t_us = raw.abs_us;
    row->prompt_tokens = raw.prompt;
    row->output_tokens = raw.output;
    row->hash_ids = raw.n_hash ? r->hash : NULL;
    row->n_hash_ids = raw.n_hash;
    row->session_id = session;
    row->cls = cls;
    row->group = group;
    row->line = first;
    row->model = raw.model;
    return 1;
}

int trace_next(struct trace_reader *r, struct trace_row *row, bool skip_bad, struct sim_err *err)
{
    for (;;) {
        if (r->pending) {
            r->pending = false;
        } else {
            int rc = read_line(r, err);
            if (rc <= 0)
                return rc;
        }
        if (line_is_blank(r->line, r->len))
            continue;
        /* A skipped row's message goes to a scratch record so that err stays clean. */
        struct sim_err scratch;
        int rc = parse_line(r, row, skip_bad ? &scratch : err);
        if (rc == 2)
            continue; /* another model's row */
        if (rc == SIM_EINVAL && skip_bad) {
            r->n_bad++;
            continue;
        }
        if (rc < 0 && skip_bad && err)
            *err = scratch;
        return rc;
    }
}

enum trace_format trace_detected_format(const struct trace_reader *r)
{
    return r->fmt;
}

uint64_t trace_bad_rows(const struct trace_reader *r)
{
    return r->n_bad;
}

uint64_t trace_other_model_rows(const struct trace_reader *r)
{
    return r->n_other_model;
}

const char *trace_time_note(const struct trace_reader *r)
{
    return r->tnote;
}

const char *trace_compression(const struct trace_reader *r)
{
    return instream_codec_name(instream_codec(r->in));
}

void trace_close(struct trace_reader *r)
{
    if (!r)
        return;
    instream_close(r->in);
    free(r->flds);
    free(r->rec);
    free(r->model_want);
    free(r->line);
    free(r->hash);
    free(r->path);
    free(r);
}

/* ---- trace stats -------------------------------------------------------------------- */

static void len_finish(double *v, size_t n, struct trace_len_stats *o)
{
    if (!v || n == 0)
        return;
    gsl_sort(v, 1, n);
    o->min_tokens = (int32_t)v[0];
    o->max_tokens = (int32_t)v[n - 1];
    o->mean_tokens = (double)o->sum_tokens / (double)n;
    o->p50_tokens = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.50);
    o->p90_tokens = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.90);
    o->p99_tokens = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.99);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int trace_stats_read(const char *path, const struct trace_opts *o, bool skip_bad,
                     struct trace_stats *st, struct sim_err *err)
{
    memset(st, 0, sizeof *st);
    struct trace_opts dflt = {.format = TRACE_AUTO};
    struct trace_reader *r = trace_open_opts(path, o ? o : &dflt, err);
    if (!r)
        return err ? err->code : SIM_EINVAL;
    st->format = r->fmt;
    snprintf(st->compression, sizeof st->compression, "%s", trace_compression(r));
    double *pv = NULL, *ov = NULL;
    uint64_t *sv = NULL;
    size_t cap = 0, n_sv = 0;
    struct trace_row row;
    int rc;
    while ((rc = trace_next(r, &row, skip_bad, err)) == 1) {
        if (st->n_rows == cap) {
            cap = cap ? 2 * cap : 4096;
            double *p = sim_reallocarray(pv, cap, sizeof *p);
            if (p)
                pv = p;
            double *q = p ? sim_reallocarray(ov, cap, sizeof *q) : NULL;
            if (q)
                ov = q;
            uint64_t *u = q && r->mapped ? sim_reallocarray(sv, cap, sizeof *u) : NULL;
            if (u)
                sv = u;
            if (!q || (r->mapped && !u)) {
                rc = sim_err_at(err, SIM_ENOMEM, path, 0, 0, "out of memory for trace stats");
                break;
            }
        }
        SIM_ASSERT(pv && ov && st->n_rows < cap);
        if (st->n_rows == 0)
            st->first_abs_us = row.abs_t_us;
        st->last_abs_us = row.abs_t_us;
        pv[st->n_rows] = row.prompt_tokens;
        ov[st->n_rows] = row.output_tokens;
        if (sv && row.session_id)
            sv[n_sv++] = row.session_id;
        st->prompt.sum_tokens += (uint64_t)row.prompt_tokens;
        st->output.sum_tokens += (uint64_t)row.output_tokens;
        st->prompt.n_zero += row.prompt_tokens == 0;
        st->output.n_zero += row.output_tokens == 0;
        st->n_hash_ids += row.n_hash_ids;
        st->n_rows++;
    }
    st->n_bad_rows = trace_bad_rows(r);
    st->n_other_model = trace_other_model_rows(r);
    snprintf(st->time_note, sizeof st->time_note, "%s", trace_time_note(r));
    trace_close(r);
    if (rc == 0 && st->n_rows == 0)
        rc = sim_err_at(err, SIM_EINVAL, path, 0, 0, "the trace has no rows");
    if (rc == 0) {
        st->duration_us = st->last_abs_us - st->first_abs_us;
        if (st->duration_us > 0)
            st->mean_rate_per_s = (double)(st->n_rows - 1) / ((double)st->duration_us / 1e6);
        len_finish(pv, st->n_rows, &st->prompt);
        len_finish(ov, st->n_rows, &st->output);
        if (n_sv) {
            qsort(sv, n_sv, sizeof *sv, cmp_u64);
            st->n_sessions = 1;
            for (size_t i = 1; i < n_sv; i++)
                st->n_sessions += sv[i] != sv[i - 1];
        }
    }
    free(pv);
    free(ov);
    free(sv);
    return rc;
}
