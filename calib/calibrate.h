/*
 * calibrate.h: `llmcap calibrate`: fit the step model's parameters on measured benchmark
 * runs (docs/latency-models.md section 6).
 *
 * A spec (YAML) lists runs; each names a result file of `vllm bench serve --save-result
 * [--save-detailed]` or vLLM's `benchmarks/benchmark_serving.py` (JSON with `input_lens`,
 * `output_lens`, `ttfts`, optionally `itls`, and the summary keys) and the deployment it
 * was measured on (`model`, `engine` as in a scenario, `load: {request_rate: inf,
 * max_concurrency: N}`). Each run is replayed in the simulator as it was sent; the
 * parameters (struct roof_params) are fitted per GPU type with GSL's Nelder-Mead on a
 * robust loss over median TTFT, median TPOT and output throughput, each parameter
 * bounded to a physical range. Nothing here writes a file except calib_write().
 */
#ifndef LLMCAP_CALIB_CALIBRATE_H
#define LLMCAP_CALIB_CALIBRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "models/roofline.h"
#include "sim/config/scenario.h"
#include "sim/core/err.h"

struct catalog;

enum calib_metric { CM_TTFT, CM_TPOT, CM_THROUGHPUT, CM_N };

/* Median TTFT (s), median TPOT (s) over requests that returned more than one token, and
 * output tokens per second over the run. */
struct calib_metrics {
    double v[CM_N];
};

struct calib_run {
    char name[128];         /* the result file's base name */
    char path[SC_PATH_MAX]; /* resolved */
    char sha256[65];
    char config[192];       /* gpu/model/dtype/tp: runs of one configuration */
    char gpu[64];           /* catalog id */
    struct scenario sc;     /* the deployment (no doc of its own) */
    int32_t n;              /* requests sent */
    int32_t *input_lens, *output_lens;
    double *ttfts;           /* s; 0 for requests that returned no text */
    int32_t n_empty;         /* requests that returned no text (replayed as 1 token) */
    int32_t max_concurrency; /* 0: none (a burst: every request at time 0) */
    struct calib_metrics measured;
    struct calib_metrics fitted; /* with the GPU's fitted parameters */
    struct calib_metrics held_out; /* with parameters fitted without its configuration */
    bool has_held_out;
};

struct calib_gpu {
    char gpu[64];
    char arch[32];
    int n_runs;
    struct roof_params p;
    double loss;
    int iterations;
};

struct calib {
    char spec_path[SC_PATH_MAX];
    char spec_sha256[65];
    struct calib_run *runs;
    int n_runs;
    struct calib_gpu gpus[16];
    int n_gpus;
    bool free_param[ROOF_N_PARAMS]; /* which parameters the fit moves */
    int max_iterations;
    struct catalog *catalog;
};

/* Read the spec and every result file it names. Caller owns: calib_release(). SIM_EINVAL
 * (bad input: file:line:col or file: what was expected), SIM_ENOENT, SIM_ENOMEM + err. */
int calib_load(struct calib *c, const char *spec_path, struct sim_err *err);

void calib_release(struct calib *c);

/* Fit every GPU type, then the leave-one-configuration-out fits. SIM_OK, or SIM_ERUNTIME-
 * like failures (SIM_EIO) when a fit does not converge or a replay fails (err says which).
 * `log` (may be NULL) gets progress lines. */
int calib_fit(struct calib *c, FILE *log, struct sim_err *err);

/* Replay run `r` with parameters `p`; fills m and, when not NULL, per-request TTFT and
 * end-to-end seconds (arrays of r->n). SIM_OK or an error from the simulator. */
int calib_replay(const struct calib *c, const struct calib_run *r, const struct roof_params *p,
                 struct calib_metrics *m, double *ttft_s, double *e2e_s, struct sim_err *err);

/* Write CAL.json to `path` atomically (a temporary file renamed over it). SIM_EIO + err. */
int calib_write(const struct calib *c, const char *path, struct sim_err *err);

/* Print the per-run fit errors and the leave-one-configuration-out table. */
void calib_print(const struct calib *c, FILE *out);

/* Write models/roof_fitted.inc from the fit (one set per architecture). SIM_EIO + err. */
int calib_write_defaults(const struct calib *c, const char *path, struct sim_err *err);

const char *calib_metric_name(enum calib_metric m);

#endif
