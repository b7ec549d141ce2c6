/* test_calibrate.c: `llmcap calibrate` recovers parameters from results the simulator
 * itself generated, and refuses bad input with exit 2 (3 for a fit that does not
 * converge) without writing CAL.json. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calib/calibrate.h"
#include "models/calibration.h"

static char dir[256];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/llmcap-calib-%ld", (long)getpid());
    mkdir(dir, 0700);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(calibrate, .init = setup, .fini = teardown);

static void put(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* A benchmark_serving.py-style result for n requests (lengths from a fixed pattern);
 * ttft/e2e NULL write placeholders. */
static void put_result(const char *name, int n, const double *ttft, const double *e2e,
                       const int *in, const int *out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    double end = 0.0, tokens = 0.0, tpots[4096];
    int nt = 0;
    for (int i = 0; i < n; i++) {
        tokens += out[i];
        if (e2e && e2e[i] > end)
            end = e2e[i];
        if (e2e && out[i] > 1)
            tpots[nt++] = (e2e[i] - ttft[i]) / (out[i] - 1);
    }
    /* median (the sort is tiny) */
    for (int i = 1; i < nt; i++)
        for (int j = i; j > 0 && tpots[j - 1] > tpots[j]; j--) {
            double t = tpots[j];
            tpots[j] = tpots[j - 1];
            tpots[j - 1] = t;
        }
    double med = nt ? (nt % 2 ? tpots[nt / 2] : 0.5 * (tpots[nt / 2 - 1] + tpots[nt / 2])) : 0.01;
    fprintf(f, "{\"backend\": \"vllm\", \"num_prompts\": %d, \"request_rate\": \"inf\", "
               "\"completed\": %d, \"duration\": %.17g, \"total_output_tokens\": %.0f, "
               "\"output_throughput\": %.17g, \"median_tpot_ms\": %.17g,\n",
            n, n, e2e ? end : 1.0, tokens, e2e ? tokens / end : 100.0, med * 1e3);
    const char *keys[] = {"input_lens", "output_lens", "ttfts"};
    for (int k = 0; k < 3; k++) {
        fprintf(f, "\"%s\": [", keys[k]);
        for (int i = 0; i < n; i++)
            fprintf(f, "%s%.17g", i ? ", " : "",
                    k == 0 ? in[i] : k == 1 ? out[i] : (ttft ? ttft[i] : 0.1));
        fprintf(f, "]%s\n", k < 2 ? "," : "");
    }
    fprintf(f, "}\n");
    fclose(f);
}

static const char spec_text[] =
    "fit: {params: [mem_eff, host_seq_us, frontend_us]}\n"
    "runs:\n"
    "  - result: a10.json\n"
    "    model: {name: llama-3-8b}\n"
    "    engine: {gpu: h100-sxm-80gb, vllm_version: 0.6.0, max_model_len: 2048,\n"
    "             latency: {model: roofline}}\n"
    "    load: {request_rate: inf}\n"
    "  - result: a60.json\n"
    "    model: {name: llama-3-8b}\n"
    "    engine: {gpu: h100-sxm-80gb, vllm_version: 0.6.0, max_model_len: 2048,\n"
    "             latency: {model: roofline}}\n"
    "    load: {request_rate: inf}\n"
    "  - result: b10.json\n"
    "    model: {name: mistral-7b}\n"
    "    engine: {gpu: h100-sxm-80gb, vllm_version: 0.6.0, max_model_len: 2048,\n"
    "             latency: {model: roofline}}\n"
    "    load: {request_rate: inf}\n";

static void lens(int n, int seed, int *in, int *out)
{
    for (int i = 0; i < n; i++) {
        in[i] = 20 + (i * 37 + seed * 11) % 300;
        out[i] = 2 + (i * 53 + seed * 7) % 120;
    }
}

Test(calibrate, recovers_parameters_from_simulated_results)
{
    const char *names[] = {"a10.json", "a60.json", "b10.json"};
    const int ns[] = {10, 60, 10};
    static int in[3][60], out[3][60];
    for (int k = 0; k < 3; k++) {
        lens(ns[k], k, in[k], out[k]);
        put_result(names[k], ns[k], NULL, NULL, in[k], out[k]);
    }
    put("spec.yaml", spec_text);
    char spec[512];
    snprintf(spec, sizeof spec, "%s/spec.yaml", dir);
    struct calib c;
    struct sim_err err = {0};
    cr_assert_eq(calib_load(&c, spec, &err), SIM_OK, "%s: %s", err.where, err.msg);
    /* the truth: the fit's prior moved on the three free parameters */
    struct roof_params truth;
    cr_assert_eq(c.n_gpus, 1);
    truth = c.gpus[0].p; /* zero before the fit: take the prior through a no-op fit */
    struct calib_metrics m;
    double ttft[60], e2e[60];
    /* the prior is what fit_runs starts from; read it back by fitting nothing */
    memset(c.free_param, 0, sizeof c.free_param);
    cr_assert_eq(calib_fit(&c, NULL, &err), SIM_OK, "%s", err.msg);
    truth = c.gpus[0].p;
    truth.mem_eff = 0.66;
    truth.host_seq_us = 45.0;
    truth.frontend_us = 23000.0;
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(calib_replay(&c, &c.runs[k], &truth, &m, ttft, e2e, &err), SIM_OK, "%s",
                     err.msg);
        put_result(names[k], ns[k], ttft, e2e, in[k], out[k]);
    }
    calib_release(&c);
    cr_assert_eq(calib_load(&c, spec, &err), SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(calib_fit(&c, NULL, &err), SIM_OK, "%s", err.msg);
    const struct roof_params fitted = c.gpus[0].p, *p = &fitted;
    cr_assert_float_eq(p->mem_eff, 0.66, 0.66 * 0.03, "mem_eff %g", p->mem_eff);
    cr_assert_float_eq(p->host_seq_us, 45.0, 45.0 * 0.10, "host_seq_us %g", p->host_seq_us);
    cr_assert_float_eq(p->frontend_us, 23000.0, 23000.0 * 0.03, "frontend_us %g",
                       p->frontend_us);
    for (int k = 0; k < c.n_runs; k++)
        for (int q = 0; q < CM_N; q++)
            cr_assert_lt(fabs(c.runs[k].fitted.v[q] / c.runs[k].measured.v[q] - 1.0), 0.02);
    char cal[512];
    snprintf(cal, sizeof cal, "%s/cal.json", dir);
    cr_assert_eq(calib_write(&c, cal, &err), SIM_OK, "%s", err.msg);
    calib_release(&c);
    /* a scenario reads it back; a GPU it does not cover is an error naming the covered */
    struct cal_file cf;
    cr_assert_eq(cal_load(&cf, cal, &err), SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(cf.n_gpus, 1);
    cr_assert_float_eq(cf.gpus[0].p.frontend_us, p->frontend_us, 1e-6);
    cr_assert_str_eq(cf.files, "a10.json, a60.json, b10.json");
}

/* Run the CLI; returns its exit code, stderr in err_out. */
static int cli(const char *spec_name, char *err_out, size_t n)
{
    char cmd[1200], errf[512];
    snprintf(errf, sizeof errf, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "'%s' calibrate -q '%s/%s' -o '%s/out.json' 2>'%s'", LLMCAP_BIN,
             dir, spec_name, dir, errf);
    int st = system(cmd);
    FILE *f = fopen(errf, "r");
    size_t got = f ? fread(err_out, 1, n - 1, f) : 0;
    err_out[got] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool out_exists(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/out.json", dir);
    return access(path, F_OK) == 0;
}

static void spec_for(const char *result, const char *model)
{
    char text[1024];
    snprintf(text, sizeof text,
             "runs:\n  - result: %s\n    model: {name: %s}\n"
             "    engine: {gpu: h100-sxm-80gb, vllm_version: 0.6.0, max_model_len: 2048,\n"
             "             latency: {model: roofline}}\n    load: {request_rate: inf}\n",
             result, model);
    put("bad.yaml", text);
}

Test(calibrate, bad_input_is_exit_2_and_writes_nothing)
{
    char msg[2048];
    put("notjson.json", "this is not a benchmark result\n");
    spec_for("notjson.json", "llama-3-8b");
    cr_assert_eq(cli("bad.yaml", msg, sizeof msg), 2, "%s", msg);
    cr_assert(strstr(msg, "expected a benchmark result JSON object"), "%s", msg);
    cr_assert_not(out_exists());

    put("uneven.json", "{\"input_lens\": [10, 20], \"output_lens\": [5], \"ttfts\": [0.1, 0.1]}");
    spec_for("uneven.json", "llama-3-8b");
    cr_assert_eq(cli("bad.yaml", msg, sizeof msg), 2, "%s", msg);
    cr_assert(strstr(msg, "'output_lens' has 1 entries, 'input_lens' has 2"), "%s", msg);
    cr_assert_not(out_exists());

    int in[3] = {10, 20, 30}, out[3] = {5, 6, 7};
    put_result("ok.json", 3, NULL, NULL, in, out);
    spec_for("ok.json", "llama-9b");
    cr_assert_eq(cli("bad.yaml", msg, sizeof msg), 2, "%s", msg);
    cr_assert(strstr(msg, "llama-9b"), "%s", msg);
    cr_assert_not(out_exists());

    /* the shipped failed run is refused */
    spec_for(SOURCE_DIR "/models/calibration-data/2xa100-llama-3-70b-tp2-p320.json",
             "llama-3-70b");
    cr_assert_eq(cli("bad.yaml", msg, sizeof msg), 2, "%s", msg);
    cr_assert(strstr(msg, "a failed run: 32 of 320 requests completed"), "%s", msg);
    cr_assert_not(out_exists());

    /* an unknown parameter name in fit.params */
    put("badparam.yaml", "fit: {params: [mem_eff, hostus]}\nruns:\n  - result: ok.json\n"
                         "    model: {name: llama-3-8b}\n"
                         "    engine: {gpu: h100-sxm-80gb, latency: {model: roofline}}\n"
                         "    load: {request_rate: inf}\n");
    cr_assert_eq(cli("badparam.yaml", msg, sizeof msg), 2, "%s", msg);
    cr_assert(strstr(msg, "badparam.yaml:1:") && strstr(msg, "hostus"), "%s", msg);
    cr_assert_not(out_exists());

    /* a fit that does not converge: exit 3, nothing written */
    char text[1024];
    snprintf(text, sizeof text,
             "fit: {max_iterations: 10}\nruns:\n  - result: ok.json\n"
             "    model: {name: llama-3-8b}\n"
             "    engine: {gpu: h100-sxm-80gb, vllm_version: 0.6.0, max_model_len: 2048,\n"
             "             latency: {model: roofline}}\n    load: {request_rate: inf}\n");
    put("slow.yaml", text);
    cr_assert_eq(cli("slow.yaml", msg, sizeof msg), 3, "%s", msg);
    cr_assert(strstr(msg, "did not converge in 10 iterations"), "%s", msg);
    cr_assert_not(out_exists());
}

Test(calibrate, max_concurrency_runs_are_replayed_as_a_closed_loop)
{
    /* vllm bench serve --max-concurrency 1: one client, so each request is sent when the
     * previous one ended: the run lasts the sum of the end-to-end times, and no request
     * waits behind another (its TTFT is the unloaded one). */
    int in[4] = {100, 100, 100, 100}, out[4] = {20, 20, 20, 20};
    put_result("c1.json", 4, NULL, NULL, in, out);
    put("c1.yaml", "runs:\n  - result: c1.json\n    model: {name: llama-3-8b}\n"
                   "    engine: {gpu: h100-sxm-80gb, latency: {model: roofline}}\n"
                   "    load: {request_rate: inf, max_concurrency: 1}\n");
    char spec[512];
    snprintf(spec, sizeof spec, "%s/c1.yaml", dir);
    struct calib c;
    struct sim_err err = {0};
    cr_assert_eq(calib_load(&c, spec, &err), SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(c.runs[0].max_concurrency, 1);
    memset(c.free_param, 0, sizeof c.free_param);
    cr_assert_eq(calib_fit(&c, NULL, &err), SIM_OK, "%s", err.msg);
    double ttft[4], e2e[4];
    struct calib_metrics m;
    cr_assert_eq(calib_replay(&c, &c.runs[0], &c.gpus[0].p, &m, ttft, e2e, &err), SIM_OK, "%s",
                 err.msg);
    for (int i = 1; i < 4; i++) {
        cr_assert_float_eq(ttft[i], ttft[0], 1e-6); /* identical, unloaded requests */
        cr_assert_float_eq(e2e[i], e2e[0], 1e-6);
    }
    /* 80 tokens over 4 sequential end-to-end times */
    cr_assert_float_eq(m.v[CM_THROUGHPUT], 80.0 / (4.0 * e2e[0]), 1e-3 * m.v[CM_THROUGHPUT]);
    calib_release(&c);
}
