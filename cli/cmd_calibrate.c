/* cmd_calibrate.c: `llmcap calibrate SPEC.yaml -o CAL.json`: fit the step model on
 * measured benchmark runs (calib/calibrate.h, docs/latency-models.md section 6). */
#include <stdio.h>
#include <string.h>

#include "calib/calibrate.h"
#include "cli/cli.h"

int cmd_calibrate(int argc, char **argv); /* cli/cli.h */

enum { OPT_OUT, OPT_DEFAULTS, OPT_CHECK, OPT_QUIET };

static const struct cli_opt calibrate_opts[] = {
    [OPT_OUT] = {"output", 'o', "CAL.json", "write the calibration here (required)"},
    [OPT_DEFAULTS] = {"emit-defaults", 0, "FILE.inc",
                      "also write the fitted parameters per GPU architecture as the shipped "
                      "defaults (models/roof_fitted.inc)"},
    [OPT_CHECK] = {"check", 0, NULL,
                   "read the spec and every result file, fit nothing, write nothing"},
    [OPT_QUIET] = {"quiet", 'q', NULL, "print nothing but errors"},
};

int cmd_calibrate(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, calibrate_opts, sizeof calibrate_opts / sizeof calibrate_opts[0],
                       "SPEC.yaml -o CAL.json",
                       "Replay every measured run the spec lists (result files of `vllm bench "
                       "serve --save-result` or benchmark_serving.py, with the deployment they "
                       "were measured on) in the simulator as it was sent, fit the step model's "
                       "parameters per GPU type (GSL Nelder-Mead on a robust loss over median "
                       "TTFT, median TPOT and output throughput, parameters bounded to physical "
                       "ranges), print the fit error and the leave-one-configuration-out error, "
                       "and write CAL.json (parameters per GPU, the files with their sha256, the "
                       "error per run). Scenarios use it with engine.latency.calibration. "
                       "Nothing is written unless the fit succeeds.",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    const char *out = NULL, *defaults = NULL;
    bool quiet = false, check = false;
    for (size_t i = 0; i < a.n_opts; i++) {
        if (a.opts[i].which == OPT_OUT)
            out = a.opts[i].value;
        else if (a.opts[i].which == OPT_DEFAULTS)
            defaults = a.opts[i].value;
        else if (a.opts[i].which == OPT_QUIET)
            quiet = true;
        else if (a.opts[i].which == OPT_CHECK)
            check = true;
    }
    if (a.n_pos != 1)
        return cli_usage_error(argv[0], "expected one spec file");
    if (!out && !check)
        return cli_usage_error(argv[0], "expected -o CAL.json");
    struct sim_err err = {0};
    struct calib c;
    if (calib_load(&c, a.pos[0], &err))
        return cli_error(&err);
    if (check) {
        if (!quiet)
            printf("%s: %d runs on %d GPU types, readable\n", a.pos[0], c.n_runs, c.n_gpus);
        calib_release(&c);
        return EXIT_OK;
    }
    double t0 = cli_wall_s();
    if (calib_fit(&c, quiet ? NULL : stderr, &err)) {
        calib_release(&c);
        return cli_error(&err);
    }
    if (calib_write(&c, out, &err) || (defaults && calib_write_defaults(&c, defaults, &err))) {
        calib_release(&c);
        return cli_error(&err);
    }
    if (!quiet) {
        calib_print(&c, stdout);
        printf("\nwrote %s (%d runs, %d GPU types) in %.1f s\n", out, c.n_runs, c.n_gpus,
               cli_wall_s() - t0);
    }
    calib_release(&c);
    return EXIT_OK;
}
