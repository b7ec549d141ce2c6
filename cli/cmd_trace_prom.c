/*
 * cmd_trace_prom.c: `llmcap trace from-prometheus`: a replayable plain CSV trace from a
 * team's Prometheus (vLLM's success and token counters) when no request log exists.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sim/k8s/promtrace.h"

enum {
    OPT_SUCCESS,
    OPT_PROMPT,
    OPT_GEN,
    OPT_PROMPT_HIST,
    OPT_GEN_HIST,
    OPT_MAX_LEN,
    OPT_RATED,
    OPT_PROMPT_LEN,
    OPT_OUTPUT_LEN,
    OPT_LENGTHS,
    OPT_SEED,
    OPT_OUT
};

static const struct cli_opt prom_opts[] = {
    [OPT_SUCCESS] = {"success", 's', "FILE",
                     "query_range JSON of vllm:request_success_total (required)"},
    [OPT_PROMPT] = {"prompt", 0, "FILE", "query_range JSON of vllm:prompt_tokens_total"},
    [OPT_GEN] = {"generation", 0, "FILE",
                 "query_range JSON of vllm:generation_tokens_total"},
    [OPT_PROMPT_HIST] = {"prompt-hist", 0, "FILE",
                         "query_range JSON of vllm:request_prompt_tokens_bucket (lengths per "
                         "step from the histogram)"},
    [OPT_GEN_HIST] = {"generation-hist", 0, "FILE",
                      "query_range JSON of vllm:request_generation_tokens_bucket"},
    [OPT_MAX_LEN] = {"max-model-len", 0, "N",
                     "the model's max_model_len: the largest length in a histogram's +Inf "
                     "bucket (default: the largest finite bound)"},
    [OPT_RATED] = {"rated", 0, NULL,
                   "the series are per-second rates (e.g. sum(rate(...[1m]))), not counters"},
    [OPT_PROMPT_LEN] = {"prompt-tokens", 0, "N", "mean prompt length without --prompt"},
    [OPT_OUTPUT_LEN] = {"output-tokens", 0, "N", "mean output length without --generation"},
    [OPT_LENGTHS] = {"lengths", 0, "exp|const",
                     "lengths around each step's mean: exp (geometric, default) or const"},
    [OPT_SEED] = {"seed", 0, "N", "random seed of the arrivals and lengths (default 1)"},
    [OPT_OUT] = {"output", 'o', "FILE.csv", "the trace to write (required)"},
};

static int positive(const char *cmd, const char *opt, const char *v, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !(d > 0) || d > PROMTRACE_MAX_TOKENS)
        return cli_usage_error(cmd, "'--%s' must be a number of tokens > 0, got '%s'", opt, v);
    *out = d;
    return EXIT_OK;
}

/* Write the trace to a temporary file beside `path`, renamed over it once complete. */
static int write_atomic(const char *path, const struct prom_step *st, size_t n, uint64_t seed,
                        enum promtrace_lengths len, const struct promtrace_hist *h,
                        uint64_t *n_req, struct sim_err *err)
{
    char tmp[4096];
    FILE *out = cli_atomic_open(path, tmp, sizeof tmp, err);
    if (!out)
        return err->code;
    int rc = promtrace_write(st, n, seed, len, h[0].n_b ? &h[0] : NULL,
                             h[1].n_b ? &h[1] : NULL, out, n_req, err);
    return cli_atomic_close(out, tmp, path, rc, err);
}

int cmd_trace_prom(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, prom_opts, sizeof prom_opts / sizeof prom_opts[0],
                       "--success FILE [--prompt FILE] [--generation FILE] "
                       "[--prompt-hist FILE] [--generation-hist FILE] [--max-model-len N] "
                       "[--rated] [--prompt-tokens N] [--output-tokens N] "
                       "[--lengths exp|const] [--seed N] -o FILE.csv",
                       "Build a plain CSV trace from Prometheus query_range responses of vLLM's "
                       "request and token counters: Poisson arrivals at each step's success "
                       "rate, lengths from each step's length histogram or around each step's "
                       "mean (docs/workloads.md).",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    const char *paths[5] = {NULL, NULL, NULL, NULL, NULL}, *outp = NULL;
    double max_len = 0;
    struct promtrace_opts o = {0};
    enum promtrace_lengths len = PROMTRACE_LEN_EXP;
    uint64_t seed = 1;
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        char *end = NULL;
        switch (a.opts[i].which) {
        case OPT_SUCCESS:
        case OPT_PROMPT:
        case OPT_GEN:
        case OPT_PROMPT_HIST:
        case OPT_GEN_HIST:
            paths[a.opts[i].which - OPT_SUCCESS] = v;
            break;
        case OPT_MAX_LEN:
            if ((rc = positive(argv[0], "max-model-len", v, &max_len)))
                return rc;
            break;
        case OPT_RATED:
            o.rated = true;
            break;
        case OPT_PROMPT_LEN:
            if ((rc = positive(argv[0], "prompt-tokens", v, &o.prompt_tokens)))
                return rc;
            break;
        case OPT_OUTPUT_LEN:
            if ((rc = positive(argv[0], "output-tokens", v, &o.output_tokens)))
                return rc;
            break;
        case OPT_LENGTHS:
            if (!strcmp(v, "exp"))
                len = PROMTRACE_LEN_EXP;
            else if (!strcmp(v, "const"))
                len = PROMTRACE_LEN_CONST;
            else
                return cli_usage_error(argv[0], "'--lengths' must be exp or const, got '%s'", v);
            break;
        case OPT_SEED:
            errno = 0;
            seed = strtoull(v, &end, 10);
            if (!*v || *end || errno || *v == '-')
                return cli_usage_error(argv[0], "'--seed' must be an integer >= 0, got '%s'", v);
            break;
        case OPT_OUT:
            outp = v;
            break;
        }
    }
    if (a.n_pos != 0)
        return cli_usage_error(argv[0], "unexpected argument '%s'", a.pos[0]);
    if (!paths[0] || !outp)
        return cli_usage_error(argv[0], "'--success FILE' and '-o FILE.csv' are required");
    o.prompt_hist = paths[3] != NULL;
    o.output_hist = paths[4] != NULL;
    if ((!paths[1] && !paths[3] && !(o.prompt_tokens > 0)) ||
        (!paths[2] && !paths[4] && !(o.output_tokens > 0)))
        return cli_usage_error(argv[0], "without '--prompt' or '--prompt-hist' ('--generation' "
                                        "or '--generation-hist') give '--prompt-tokens N' "
                                        "('--output-tokens N')");
    struct prom_matrix m[5];
    memset(m, 0, sizeof m);
    struct promtrace_hist h[2];
    memset(h, 0, sizeof h);
    struct sim_err err = {0};
    for (int i = 0; !rc && i < 5; i++)
        if (paths[i])
            rc = prom_matrix_load(paths[i], NULL, &m[i], &err);
    for (int i = 0; !rc && i < 2; i++)
        if (paths[3 + i])
            rc = promtrace_hist_load((struct promtrace_input){paths[3 + i], &m[3 + i]}, &m[0],
                                     o.rated, max_len, &h[i], &err);
    struct prom_step *st = NULL;
    size_t n = 0;
    uint64_t n_req = 0;
    if (!rc)
        rc = promtrace_steps((struct promtrace_input){paths[0], &m[0]},
                             (struct promtrace_input){paths[1], paths[1] ? &m[1] : NULL},
                             (struct promtrace_input){paths[2], paths[2] ? &m[2] : NULL}, &o,
                             &st, &n, &err);
    for (int i = 0; i < 5; i++)
        prom_matrix_free(&m[i]);
    if (!rc)
        rc = write_atomic(outp, st, n, seed, len, h, &n_req, &err);
    for (int i = 0; i < 2; i++)
        promtrace_hist_free(&h[i]);
    double succ = 0.0;
    for (size_t j = 0; j < n; j++)
        succ += st[j].successes;
    free(st);
    if (rc)
        return cli_error(&err);
    fprintf(stderr,
            "llmcap trace from-prometheus: %zu steps, %.1f successes in the series, %llu "
            "requests to %s (seed %llu, lengths %s%s%s)\n",
            n, succ, (unsigned long long)n_req, outp, (unsigned long long)seed,
            len == PROMTRACE_LEN_EXP ? "exp" : "const",
            paths[3] ? "; prompt lengths from the histogram" : "",
            paths[4] ? "; output lengths from the histogram" : "");
    return EXIT_OK;
}
