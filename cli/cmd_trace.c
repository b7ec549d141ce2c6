/* cmd_trace.c: `llmcap trace stats FILE`: what a request trace holds. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sim/workload/workload.h"

enum { OPT_FORMAT, OPT_SKIP_BAD, OPT_JSON };

static const struct cli_opt trace_opts[] = {
    [OPT_FORMAT] = {"format", 'f', "FORMAT", "auto (default), azure, mooncake or csv"},
    [OPT_SKIP_BAD] = {"skip-bad-rows", 0, NULL, "skip and count malformed rows"},
    [OPT_JSON] = {"json", 0, NULL, "print one JSON object instead of a table"},
};

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
    struct cli_args a;
    int rc = cli_parse(argc, argv, trace_opts, sizeof trace_opts / sizeof trace_opts[0],
                       "stats FILE [--format F] [--json]",
                       "Describe a request trace: rows, time span, mean rate and the token "
                       "lengths (sum, mean, percentiles).",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    enum trace_format fmt = TRACE_AUTO;
    bool skip_bad = false, json = false;
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
    struct trace_stats st;
    struct sim_err err = {0};
    if (trace_stats_read(a.pos[1], fmt, skip_bad, &st, &err) != SIM_OK)
        return cli_error(&err);
    double dur = (double)st.duration_us * 1e-6;
    if (json) {
        printf("{\"path\": ");
        cli_json_string(stdout, a.pos[1]);
        printf(", \"format\": \"%s\", \"rows\": %llu, \"bad_rows\": %llu, "
               "\"duration_s\": %.17g, \"mean_rate_per_s\": %.17g, ",
               trace_format_name(st.format), (unsigned long long)st.n_rows,
               (unsigned long long)st.n_bad_rows, dur, st.mean_rate_per_s);
        print_len("prompt_tokens", &st.prompt, true, false);
        print_len("output_tokens", &st.output, true, true);
        printf("}\n");
        return EXIT_OK;
    }
    printf("%s (%s)\n", a.pos[1], trace_format_name(st.format));
    printf("  rows           %llu", (unsigned long long)st.n_rows);
    if (st.n_bad_rows)
        printf(" (%llu malformed rows skipped)", (unsigned long long)st.n_bad_rows);
    printf("\n  span           %.3f s (%.2f h)\n", dur, dur / 3600.0);
    printf("  mean rate      %.3f req/s\n", st.mean_rate_per_s);
    if (st.n_hash_ids)
        printf("  hash_ids       %llu\n", (unsigned long long)st.n_hash_ids);
    printf("  %-14s %12s %7s %9s %9s %9s %9s %7s\n", "tokens", "sum", "min", "mean", "p50",
           "p90", "p99", "max");
    print_len("prompt", &st.prompt, false, false);
    print_len("output", &st.output, false, false);
    return EXIT_OK;
}
