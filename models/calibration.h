/*
 * calibration.h: calibration files (CAL.json), as `llmcap calibrate` writes them and a
 * scenario's `engine.latency.calibration` reads them.
 *
 * A calibration holds, per GPU type, the step model's parameters (struct roof_params)
 * fitted on measured benchmark runs, with the files it was fitted on (and their sha256)
 * and the error per run. docs/latency-models.md describes the fit; the format:
 *
 *   {"format": "llmcap-calibration", "version": 1,
 *    "fitted_on": [{"file": "...", "sha256": "<64 hex>"}, ...],
 *    "gpus": {"h100-sxm-80gb": {"runs": 5, "params": {"gemm_mfu": 0.6, ...}}, ...},
 *    "runs": [...], "leave_one_out": [...]}       (informative, not read back)
 */
#ifndef LLMCAP_MODELS_CALIBRATION_H
#define LLMCAP_MODELS_CALIBRATION_H

#include <stddef.h>

#include "models/roofline.h"
#include "sim/core/err.h"

#define CAL_FORMAT "llmcap-calibration"
#define CAL_MAX_GPUS 32

struct cal_gpu {
    char gpu[64];
    int runs;
    struct roof_params p;
};

struct cal_file {
    struct cal_gpu gpus[CAL_MAX_GPUS];
    int n_gpus;
    int n_files;
    char files[640]; /* "a.json, b.json, ..." (base names, cut to fit) */
};

/* Read and check `path`. SIM_OK, or SIM_EINVAL (file:line:col) / SIM_ENOENT + err. */
int cal_load(struct cal_file *c, const char *path, struct sim_err *err);

/*
 * The parameters for `gpu` from the calibration at `path`, and a provenance note
 * ("calibrated on N runs (files...)" into note[n]). SIM_EINVAL naming the GPUs the
 * calibration covers when it has none for `gpu`.
 */
int cal_params_for(const char *path, const char *gpu, struct roof_params *out, char *note,
                   size_t n, struct sim_err *err);

#endif
