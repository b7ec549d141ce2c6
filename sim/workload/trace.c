/*
 * trace.c: streamed readers for request traces (Azure LLM inference CSV 2023/2024,
 * Mooncake JSONL, llmcap's plain CSV). One reusable line buffer per reader; rows are
 * parsed in place and never stored, so memory does not grow with the trace.
 */
#include "sim/workload/workload.h"

#include <cJSON.h>
#include <errno.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char azure_header[] = "TIMESTAMP,ContextTokens,GeneratedTokens";
static const char csv_header[] = "arrival_s,prompt_tokens,output_tokens";

/* How much of a bad value an error message quotes. */
enum { QUOTE_MAX = 48, TS_TEXT_MAX = 48 };

struct trace_reader {
    FILE *f;
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
};

/* A parsed row before the order check: the timestamp's text and column for messages. */
struct raw_row {
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

/* strerror's text with its first letter in lower case, for llmcap's wording. */
static const char *errno_text(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* ---- lines ------------------------------------------------------------------------- */

/* Read the next line into r->line without its "\n" or "\r\n". 1 = read, 0 = EOF. */
static int read_line(struct trace_reader *r, struct sim_err *err)
{
    errno = 0;
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0) {
        if (ferror(r->f)) {
            int e = errno ? errno : EIO;
            char why[128];
            if (e == EISDIR) /* a folder given for a file: bad input, not an I/O failure */
                return sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                                  "cannot read the trace '%s': %s", r->path,
                                  errno_text(e, why, sizeof why));
            return sim_err_at(err, SIM_EIO, r->path, (long)r->lineno + 1, 0,
                              "cannot read the trace '%s': %s", r->path,
                              errno_text(e, why, sizeof why));
        }
        if (errno == ENOMEM)
            return sim_err_at(err, SIM_ENOMEM, r->path, (long)r->lineno + 1, 0,
                              "out of memory reading a line");
        return 0;
    }
    r->lineno++;
    size_t len = (size_t)n;
    if (len && r->line[len - 1] == '\n')
        len--;
    if (len && r->line[len - 1] == '\r')
        len--;
    r->line[len] = '\0';
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

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil), so no timegm() and no TZ. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/*
 * "YYYY-MM-DD HH:MM:SS[.fff...][Z|+HH:MM|-HH:MM]" (or 'T' between date and time) to
 * epoch microseconds, UTC. Fractional digits past the sixth are truncated. No offset
 * means UTC (the 2023 Azure files).
 */
static bool parse_timestamp(const char *s, size_t n, int64_t *out_us)
{
    int y, mo, d, h, mi, sec;
    if (n < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != ' ' && s[10] != 'T') || !digits(s + 11, 2, &h) ||
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
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (n - i != 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset_s = (s[i] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
        i += 6;
    }
    if (i != n)
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *out_us = secs * 1000000 + frac_us;
    return true;
}

/*
 * A non-negative decimal number of seconds ("12", "12.5", ".5", "1e-05", "2.5E3") to
 * microseconds, exactly, truncating digits below the microsecond (no binary rounding).
 * false on anything else or past INT64_MAX microseconds.
 */
static bool parse_seconds_us(const char *s, size_t n, int64_t *out_us)
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
    long keep = nd + e - n_frac + 6;
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
                                          "an integer >= 0 (tokens)", "an integer >= 0 (tokens)"};
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

/* ---- reader -------------------------------------------------------------------------- */

static bool starts_json(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '{';
}

struct trace_reader *trace_open(const char *path, enum trace_format format, struct sim_err *err)
{
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
    r->f = fopen(path, "rb");
    if (!r->f) {
        int e = errno;
        char why[128];
        sim_err_at(err, e == ENOENT ? SIM_ENOENT : SIM_EIO, path, 0, 0,
                   "cannot open the trace '%s': %s", path, errno_text(e, why, sizeof why));
        goto fail;
    }
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
    if (memchr(r->line, '\0', r->len))
        return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, (long)strlen(r->line) + 1,
                          "unexpected NUL byte in the line");
    struct raw_row raw = {0};
    int rc =
        r->fmt == TRACE_MOONCAKE ? parse_mooncake_row(r, &raw, err) : parse_csv_row(r, &raw, err);
    if (rc < 0)
        return rc;
    char now[TS_TEXT_MAX];
    ts_quote(r, &raw, now, sizeof now);
    if (r->have_prev && raw.abs_us < r->prev_abs_us)
        return sim_err_at(err, SIM_EINVAL, r->path, (long)r->lineno, raw.ts_col,
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
    row->line = r->lineno;
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

void trace_close(struct trace_reader *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
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

int trace_stats_read(const char *path, enum trace_format format, bool skip_bad,
                     struct trace_stats *st, struct sim_err *err)
{
    memset(st, 0, sizeof *st);
    struct trace_reader *r = trace_open(path, format, err);
    if (!r)
        return err ? err->code : SIM_EINVAL;
    st->format = r->fmt;
    double *pv = NULL, *ov = NULL;
    size_t cap = 0;
    struct trace_row row;
    int rc;
    while ((rc = trace_next(r, &row, skip_bad, err)) == 1) {
        if (st->n_rows == cap) {
            cap = cap ? 2 * cap : 4096;
            double *p = sim_reallocarray(pv, cap, sizeof *p);
            if (p)
                pv = p;
            double *o = p ? sim_reallocarray(ov, cap, sizeof *o) : NULL;
            if (!o) {
                rc = sim_err_at(err, SIM_ENOMEM, path, 0, 0, "out of memory for trace stats");
                break;
            }
            ov = o;
        }
        SIM_ASSERT(pv && ov && st->n_rows < cap);
        if (st->n_rows == 0)
            st->first_abs_us = row.abs_t_us;
        st->last_abs_us = row.abs_t_us;
        pv[st->n_rows] = row.prompt_tokens;
        ov[st->n_rows] = row.output_tokens;
        st->prompt.sum_tokens += (uint64_t)row.prompt_tokens;
        st->output.sum_tokens += (uint64_t)row.output_tokens;
        st->prompt.n_zero += row.prompt_tokens == 0;
        st->output.n_zero += row.output_tokens == 0;
        st->n_hash_ids += row.n_hash_ids;
        st->n_rows++;
    }
    st->n_bad_rows = trace_bad_rows(r);
    trace_close(r);
    if (rc == 0 && st->n_rows == 0)
        rc = sim_err_at(err, SIM_EINVAL, path, 0, 0, "the trace has no rows");
    if (rc == 0) {
        st->duration_us = st->last_abs_us - st->first_abs_us;
        if (st->duration_us > 0)
            st->mean_rate_per_s = (double)(st->n_rows - 1) / ((double)st->duration_us / 1e6);
        len_finish(pv, st->n_rows, &st->prompt);
        len_finish(ov, st->n_rows, &st->output);
    }
    free(pv);
    free(ov);
    return rc;
}
