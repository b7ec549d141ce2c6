/* cmd_trace.c: `llmcap trace stats FILE`: what a request trace holds (plain, gzip or
 * zstd; any CSV through --columns, as workload.trace.columns reads it).
 * `llmcap trace from-prometheus` is in cmd_trace_prom.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sim/workload/workload.h"

enum { OPT_FORMAT, OPT_COLUMNS, OPT_TIME_FORMAT, OPT_MODEL, OPT_SKIP_BAD, OPT_JSON };

static const struct cli_opt trace_opts[] = {
    [OPT_FORMAT] = {"format", 'f', "FORMAT", "auto (default), azure, mooncake or csv"},
    [OPT_COLUMNS] = {"columns", 'c', "ROLE=NAME,...",
                     "a CSV's own column names, as workload.trace.columns: arrival, "
                     "prompt_tokens, output_tokens (required), model, session"},
    [OPT_TIME_FORMAT] = {"time-format", 0, "FMT",
                         "unit of the arrival column: auto (default), s, ms, us, iso8601"},
    [OPT_MODEL] = {"model", 0, "NAME", "only the rows of this model (needs a model column)"},
    [OPT_SKIP_BAD] = {"skip-bad-rows", 0, NULL, "skip and count malformed rows"},
    [OPT_JSON] = {"json", 0, NULL, "print one JSON object instead of a table"},
};

/* "arrival=ts,prompt_tokens=in,..." into `c`. NULL, or the message's text. */
static const char *parse_columns(const char *v, struct trace_columns *c, char *why, size_t n)
{
    char *roles[5] = {c->arrival, c->prompt, c->output, c->model, c->session};
    static const char *const keys[5] = {"arrival", "prompt_tokens", "output_tokens", "model",
                                        "session"};
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p || eq + 1 == p + len) {
            snprintf(why, n, "'--columns' takes ROLE=NAME pairs separated by commas, got '%.*s'",
                     (int)len, p);
            return why;
        }
        size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
        int k = -1;
        for (int i = 0; i < 5; i++)
            if (strlen(keys[i]) == klen && !strncmp(p, keys[i], klen))
                k = i;
        if (k < 0) {
            snprintf(why, n,
                     "'--columns': unknown role '%.*s' (expected arrival, prompt_tokens, "
                     "output_tokens, model or session)",
                     (int)klen, p);
            return why;
        }
        if (vlen >= SC_NAME_MAX) {
            snprintf(why, n, "'--columns': the name for '%s' is too long", keys[k]);
            return why;
        }
        memcpy(roles[k], eq + 1, vlen);
        roles[k][vlen] = '\0';
        p += len + (comma ? 1 : 0);
    }
    for (int i = 0; i < 3; i++)
        if (!roles[i][0]) {
            snprintf(why, n, "'--columns' needs %s=NAME", keys[i]);
            return why;
        }
    return NULL;
}

static void print_len(const char *name, const struct trace_len_stats *l, bool json, bool last)
{
    if (json) {
        printf("\"%s\": {\"sum\": %llu, \"min\": %d, \"mean\": %.17g, \"p50\": %.17g, "
               "\"p90\": %.17g, \"p99\": %.17g, \"max\": %d}%s",
               name, (unsigned long long)l->sum_tokens, l->min_tokens, l->mean_tokens,
               l->p50_tokens, l->p90_tokens, l->p99_tokens, l->max_tokens, last ? "" : ", ");
        return;
    }
    printf("  %-14s %12llu %7d %9.1f %9.1f %9.1f %9.1f %7d\n", name,
           (unsigned long long)l->sum_tokens, l->min_tokens, l->mean_tokens, l->p50_tokens,
           l->p90_tokens, l->p99_tokens, l->max_tokens);
}

int cmd_trace(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "from-prometheus")) {
        static char name[] = "trace from-prometheus"; /* for usage and error lines */
        argv[1] = name;
        return cmd_trace_prom(argc - 1, argv + 1);
    }
    struct cli_args a;
    int rc = cli_parse(argc, argv, trace_opts, sizeof trace_opts / sizeof trace_opts[0],
                       "stats FILE [--format F] [--columns ROLE=NAME,...] [--time-format T] "
                       "[--json] | from-prometheus --help",
                       "Describe a request trace: rows, time span, mean rate and the token "
                       "lengths (sum, mean, percentiles).",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    enum trace_format fmt = TRACE_AUTO;
    bool skip_bad = false, json = false;
    struct trace_columns cols;
    memset(&cols, 0, sizeof cols);
    struct trace_opts to = {.format = TRACE_AUTO, .time_format = TIME_AUTO};
    static const char *const tfs[] = {"auto", "s", "ms", "us", "iso8601"};
    char why[320];
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        switch (a.opts[i].which) {
        case OPT_FORMAT:
            if (!strcmp(v, "auto"))
                fmt = TRACE_AUTO;
            else if (!strcmp(v, "azure"))
                fmt = TRACE_AZURE;
            else if (!strcmp(v, "mooncake"))
                fmt = TRACE_MOONCAKE;
            else if (!strcmp(v, "csv"))
                fmt = TRACE_CSV;
            else
                return cli_usage_error(argv[0],
                                       "'--format' must be one of auto, azure, mooncake, csv, "
                                       "got '%s'",
                                       v);
            break;
        case OPT_COLUMNS:
            if (parse_columns(v, &cols, why, sizeof why))
                return cli_usage_error(argv[0], "%s", why);
            to.columns = &cols;
            break;
        case OPT_TIME_FORMAT: {
            int k = -1;
            for (int j = 0; j < 5; j++)
                if (!strcmp(v, tfs[j]))
                    k = j;
            if (k < 0)
                return cli_usage_error(argv[0],
                                       "'--time-format' must be one of auto, s, ms, us, "
                                       "iso8601, got '%s'",
                                       v);
            to.time_format = (enum trace_time_format)k;
            break;
        }
        case OPT_MODEL:
            to.model = v;
            break;
        case OPT_SKIP_BAD:
            skip_bad = true;
            break;
        case OPT_JSON:
            json = true;
            break;
        }
    }
    if (a.n_pos != 2 || strcmp(a.pos[0], "stats") != 0)
        return cli_usage_error(argv[0], "expected 'stats FILE'");
    if ((to.time_format != TIME_AUTO || to.model) && !to.columns)
        return cli_usage_error(argv[0], "'--time-format' and '--model' need '--columns'");
    to.format = fmt;
    struct trace_stats st;
    struct sim_err err = {0};
    if (trace_stats_read(a.pos[1], &to, skip_bad, &st, &err) != SIM_OK)
        return cli_error(&err);
    double dur = (double)st.duration_us * 1e-6;
    if (json) {
        printf("{\"path\": ");
        cli_json_string(stdout, a.pos[1]);
        printf(", \"format\": \"%s\", \"rows\": %llu, \"bad_rows\": %llu, "
               "\"duration_s\": %.17g, \"mean_rate_per_s\": %.17g, \"compression\": \"%s\", "
               "\"time_format\": ",
               trace_format_name(st.format), (unsigned long long)st.n_rows,
               (unsigned long long)st.n_bad_rows, dur, st.mean_rate_per_s, st.compression);
        cli_json_string(stdout, st.time_note);
        printf(", \"sessions\": %llu, \"other_model_rows\": %llu, ",
               (unsigned long long)st.n_sessions, (unsigned long long)st.n_other_model);
        print_len("prompt_tokens", &st.prompt, true, false);
        print_len("output_tokens", &st.output, true, true);
        printf("}\n");
        return EXIT_OK;
    }
    printf("%s (%s, %s)\n", a.pos[1], trace_format_name(st.format), st.compression);
    if (st.time_note[0])
        printf("  time format    %s\n", st.time_note);
    printf("  rows           %llu", (unsigned long long)st.n_rows);
    if (st.n_bad_rows)
        printf(" (%llu malformed rows skipped)", (unsigned long long)st.n_bad_rows);
    printf("\n  span           %.3f s (%.2f h)\n", dur, dur / 3600.0);
    printf("  mean rate      %.3f req/s\n", st.mean_rate_per_s);
    if (st.n_hash_ids)
        printf("  hash_ids       %llu\n", (unsigned long long)st.n_hash_ids);
    if (st.n_sessions)
        printf("  sessions       %llu\n", (unsigned long long)st.n_sessions);
    if (st.n_other_model)
        printf("  other models   %llu rows skipped\n", (unsigned long long)st.n_other_model);
    printf("  %-14s %12s %7s %9s %9s %9s %9s %7s\n", "tokens", "sum", "min", "mean", "p50",
           "p90", "p99", "max");
    print_len("prompt", &st.prompt, false, false);
    print_len("output", &st.output, false, false);
    return EXIT_OK;
}
