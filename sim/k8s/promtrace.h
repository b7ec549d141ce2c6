/*
 * promtrace.h: an arrival-rate workload from a real Prometheus (`llmcap trace
 * from-prometheus`), for teams with no request log.
 *
 * Inputs are query_range responses (sim/k8s/promrange.h) of vLLM's counters
 * `vllm:request_success_total` (required), `vllm:prompt_tokens_total` and
 * `vllm:generation_tokens_total` (optional), one series per pod, or values already rated
 * (e.g. `sum(rate(vllm:request_success_total[1m]))`, per second). Grid points T_0 < T_1 <
 * ... < T_K (the query's start and step); step j covers (T_j, T_{j+1}].
 *
 * Raw counters: a series' increase between two consecutive points is b - a, or b when
 * b < a (a counter reset: the process restarted from 0), as Prometheus' increase() counts
 * resets; with a gap (missed evaluations) the increase is spread evenly over the steps it
 * spans. A series' first point is its baseline (as in increase(), it adds nothing), NaN
 * and +-Inf points are skipped. Increases are summed over series (pods). Rated values:
 * step j's count is the sum over series of the value at T_{j+1} times the step (the value
 * at T_0 describes time before the range and is not used).
 *
 * Per step: rate = successes / step seconds; mean prompt (output) length = prompt
 * (generation) token increase / success increase, or the fixed lengths given.
 *
 * Length histograms: vLLM's `vllm:request_prompt_tokens` and
 * `vllm:request_generation_tokens` (vllm/v1/metrics/loggers.py, PrometheusStatLogger:
 * observed once per finished request, beside vllm:request_success_total; buckets
 * build_1_2_5_buckets(max_model_len) plus +Inf). Their `_bucket` series (one per pod and
 * `le`, cumulative) are read as counters (or rated) like the others, summed per `le`, and
 * differenced over `le` into each step's count per bucket.
 */
#ifndef LLMCAP_SIM_PROMTRACE_H
#define LLMCAP_SIM_PROMTRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/core/err.h"
#include "sim/k8s/promrange.h"

#define PROMTRACE_MAX_STEPS 1000000  /* a range with more steps is refused */
#define PROMTRACE_MAX_REQUESTS 1e9   /* a trace expected to be longer is refused */
#define PROMTRACE_MAX_TOKENS (1 << 24) /* a drawn length is capped here */

/* One series file: the matrix read and its path (for messages). */
struct promtrace_input {
    const char *path;
    const struct prom_matrix *m; /* NULL: not given */
};

struct prom_step {
    int64_t t0_us, t1_us;     /* (t0, t1], times as in the files (unix) */
    double successes;         /* completed requests in the step, summed over pods */
    double prompt_tokens;     /* token increases (0 when the series is not given) */
    double output_tokens;
    double rate_per_s;        /* successes / step seconds */
    double mean_prompt;       /* tokens per request in this step (0: no request) */
    double mean_output;
};

struct promtrace_opts {
    bool rated;           /* the series are per-second rates, not counters */
    double prompt_tokens; /* mean lengths used when the token series is absent (> 0) */
    double output_tokens;
    bool prompt_hist;     /* a length histogram is given: no mean length needed */
    bool output_hist;
};

#define PROMTRACE_MAX_BUCKETS 64

/* A length histogram per step, on the success series' grid. */
struct promtrace_hist {
    size_t n_b;                        /* buckets, the +Inf one last */
    double le[PROMTRACE_MAX_BUCKETS];  /* upper bounds, ascending; le[n_b - 1] = +Inf */
    double inf_hi;                     /* the +Inf bucket's largest length (see below) */
    size_t n_steps;
    double *w;                         /* [step * n_b + b]: requests in bucket b (>= 0) */
    double all[PROMTRACE_MAX_BUCKETS]; /* over the whole range */
    double total;                      /* sum of all[] */
};

/*
 * Read the `_bucket` series `h` (every series with an `le` label, +Inf among them) on the
 * grid of `grid` (the success series) into `out` (promtrace_hist_free). A bucket's count
 * in a step is the increase of its cumulative count less the next lower bound's, at
 * least 0. The +Inf bucket holds lengths above the largest finite bound; `max_len` (> 0:
 * the model's max_model_len) bounds it, else its lengths are that bound (as
 * histogram_quantile() answers for the +Inf bucket). Bad input (a series without `le`,
 * no +Inf bucket, more than PROMTRACE_MAX_BUCKETS bounds, another grid, no observation in
 * the range): SIM_EINVAL naming the file.
 */
int promtrace_hist_load(struct promtrace_input h, const struct prom_matrix *grid, bool rated,
                        double max_len, struct promtrace_hist *out, struct sim_err *err);
void promtrace_hist_free(struct promtrace_hist *h);

/*
 * The steps of the success series' grid into a new array (*out, *n; free()). The token
 * series, when given, must be on the same step and cover the same range. Bad input
 * (a negative counter or rate, grids that differ, fewer than two grid points, a missing
 * fallback length): SIM_EINVAL naming the file.
 */
int promtrace_steps(struct promtrace_input succ, struct promtrace_input prompt,
                    struct promtrace_input gen, const struct promtrace_opts *o,
                    struct prom_step **out, size_t *n, struct sim_err *err);

enum promtrace_lengths {
    PROMTRACE_LEN_EXP,  /* geometric on 1, 2, ... (the discrete exponential), mean = the step's */
    PROMTRACE_LEN_CONST /* the step's mean, rounded, at least 1 */
};

/*
 * Write llmcap's plain CSV trace (arrival_s,prompt_tokens,output_tokens; time 0 = T_0):
 * Poisson arrivals within each step at its rate (stream RNG_ARRIVALS of `seed`), lengths
 * drawn around the step's means (RNG_PROMPT_TOKENS, RNG_OUTPUT_TOKENS). With a histogram
 * (`ph`, `gh`; NULL: none) a length is drawn from the step's histogram instead: a bucket
 * with probability its share of the step's requests, then a whole number uniform in the
 * bucket (lo, hi] (Prometheus' histogram_quantile() interpolates linearly within a
 * bucket, the same assumption); a step whose histogram is empty uses the step's mean when
 * there is one, else the whole range's histogram. *n_req: the rows written. SIM_EIO when
 * writing fails, SIM_EINVAL when the trace would exceed PROMTRACE_MAX_REQUESTS.
 */
int promtrace_write(const struct prom_step *st, size_t n, uint64_t seed,
                    enum promtrace_lengths lengths, const struct promtrace_hist *ph,
                    const struct promtrace_hist *gh, FILE *out, uint64_t *n_req,
                    struct sim_err *err);

#endif
