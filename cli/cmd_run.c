/* cmd_run.c: `llmcap run` and `llmcap validate`. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "models/catalog.h"
#include "reports/db.h"
#include "cli/cli.h"
#include "sim/config/scenario.h"
#include "sim/core/rng.h"
#include "sim/sim.h"
#include "sim/workload/workload.h"

enum { OPT_OUTPUT, OPT_SET, OPT_SEED, OPT_QUIET, OPT_NO_PROGRESS, OPT_LABELS, OPT_JSON };

static const struct cli_opt run_opts[] = {
    [OPT_OUTPUT] = {"output", 'o', "DB", "append the run to this SQLite database"},
    [OPT_SET] = {"set", 's', "PATH=VALUE", "override a scenario field (repeatable)"},
    [OPT_SEED] = {"seed", 0, "N", "master random seed (same as --set seed=N)"},
    [OPT_QUIET] = {"quiet", 'q', NULL, "print nothing but errors"},
    [OPT_NO_PROGRESS] = {"no-progress", 0, NULL, "no progress line on a terminal"},
    [OPT_LABELS] = {"labels", 0, "JSON", "labels recorded with the run (sweeps)"},
    [OPT_JSON] = {"json", 0, NULL, "print the summary as one JSON object (keys as in the summary table)"},
};

#define MAX_SETS 128

struct run_cfg {
    const char *scenario;
    const char *output;
    const char *sets[MAX_SETS + 1];
    size_t n_sets;
    char seed_set[64];
    bool quiet;
    bool progress;
    bool json;
    const char *labels;
};

static int parse_run_args(int argc, char **argv, const char *usage, const char *summary,
                          struct run_cfg *cfg)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, run_opts, sizeof run_opts / sizeof run_opts[0], usage,
                       summary, &a);
    if (rc)
        return rc;
    memset(cfg, 0, sizeof *cfg);
    cfg->progress = true;
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        switch (a.opts[i].which) {
        case OPT_OUTPUT:
            cfg->output = v;
            break;
        case OPT_SET:
            if (cfg->n_sets == MAX_SETS)
                return cli_usage_error(argv[0], "too many --set options (at most %d)",
                                       MAX_SETS);
            cfg->sets[cfg->n_sets++] = v;
            break;
        case OPT_SEED: {
            char *end;
            unsigned long long seed = strtoull(v, &end, 10);
            if (!*v || *end || v[0] == '-')
                return cli_usage_error(argv[0], "'--seed' must be an integer >= 0, got '%s'",
                                       v);
            snprintf(cfg->seed_set, sizeof cfg->seed_set, "seed=%llu", seed);
            break;
        }
        case OPT_QUIET:
            cfg->quiet = true;
            break;
        case OPT_NO_PROGRESS:
            cfg->progress = false;
            break;
        case OPT_LABELS:
            cfg->labels = v;
            break;
        case OPT_JSON:
            cfg->json = true;
            break;
        }
    }
    /* --seed applies last: it wins over a --set seed=... */
    if (cfg->seed_set[0])
        cfg->sets[cfg->n_sets++] = cfg->seed_set;
    if (a.n_pos != 1)
        return cli_usage_error(argv[0], a.n_pos ? "expected one scenario file, got %zu"
                                                : "expected a scenario file%.0zu",
                               a.n_pos);
    cfg->scenario = a.pos[0];
    return 0;
}

/* ---- progress on a terminal ----------------------------------------------------------- */

struct progress_ctx {
    double t0, last;
    bool shown;
};

static void show_progress(void *ctx, const struct sim_progress *p)
{
    struct progress_ctx *pc = ctx;
    double now = cli_wall_s();
    if (now - pc->last < 0.2)
        return;
    pc->last = now;
    pc->shown = true;
    fprintf(stderr, "\r  simulated %10.1f s  %9llu requests done  %9llu arrived  (%.1f s)",
            (double)p->now_us * 1e-6, (unsigned long long)p->finished,
            (unsigned long long)p->arrived, now - pc->t0);
    fflush(stderr);
}

/* ---- the summary table ------------------------------------------------------------------ */

static void fmt_s(char *buf, size_t n, double s)
{
    if (isnan(s))
        snprintf(buf, n, "%9s", "-");
    else if (s < 10)
        snprintf(buf, n, "%9.4f", s);
    else
        snprintf(buf, n, "%9.2f", s);
}

/* One line per request class (workload.classes): outcomes, latencies, its own SLOs. */
static void print_classes(const struct sim_result *r)
{
    for (int c = 0; c < r->n_classes; c++) {
        const struct class_result *cr = &r->cls[c];
        printf("  class %-12s %llu requests: ok %llu", cr->spec->name,
               (unsigned long long)cr->n_requests,
               (unsigned long long)cr->n_outcome[OUTCOME_OK]);
        for (int o = 1; o < OUTCOME_N; o++)
            if (cr->n_outcome[o])
                printf(", %s %llu", req_outcome_name((enum req_outcome)o),
                       (unsigned long long)cr->n_outcome[o]);
        printf("; TTFT p95 %.4f s, TPOT p95 %.4f s, e2e p95 %.4f s; preemptions %llu\n",
               cr->ttft.q_s[2], cr->tpot.q_s[2], cr->e2e.q_s[2],
               (unsigned long long)cr->preemptions);
        for (size_t i = 0; i < cr->n_slo; i++) {
            const struct slo_result *sr = &cr->slo[i];
            bool rate = sr->slo->metric == SLO_ERROR_RATE;
            printf("        %-12s %s <= %.4g%s: %s (%.4g%s)\n", "", sr->slo->key,
                   rate ? sr->slo->target * 100 : sr->slo->target, rate ? "%" : " s",
                   sr->pass ? "PASS" : "FAIL", rate ? sr->actual * 100 : sr->actual,
                   rate ? "%" : " s");
        }
    }
}

static void print_latency_row(const char *label, const struct latency_stats *st,
                              const struct sim_result *r, enum slo_metric m)
{
    char cells[SIM_NQ + 1][32];
    for (int q = 0; q < SIM_NQ; q++)
        fmt_s(cells[q], sizeof cells[q], st->q_s[q]);
    fmt_s(cells[SIM_NQ], sizeof cells[SIM_NQ], st->max_s);
    printf("  %-10s %s %s %s %s %s", label, cells[0], cells[1], cells[2], cells[3],
           cells[SIM_NQ]);
    bool first = true;
    for (size_t i = 0; i < r->n_slo; i++) {
        const struct slo_result *sr = &r->slo[i];
        if (sr->slo->metric != m)
            continue;
        char actual[32];
        fmt_s(actual, sizeof actual, sr->actual);
        printf("%s%s <= %g s: %s (%s)", first ? "   " : "; ", sr->slo->key, sr->slo->target,
               sr->pass ? "PASS" : "FAIL", actual + strspn(actual, " "));
        first = false;
    }
    printf("\n");
}

/* A line of the benchmark block: vllm bench serve's "{:<40} {:<10.2f}" layout. */
static void bench_line(const char *label, double v, bool integer)
{
    if (isnan(v))
        printf("  %-40s %s\n", label, "-");
    else if (integer)
        printf("  %-40s %.0f\n", label, v);
    else
        printf("  %-40s %.2f\n", label, v);
}

static void bench_latency(const char *title, const char *name, const struct latency_stats *st)
{
    char label[64];
    printf("  %s\n", title);
    snprintf(label, sizeof label, "Mean %s (ms):", name);
    bench_line(label, st->mean_s * 1e3, false);
    snprintf(label, sizeof label, "Median %s (ms):", name);
    bench_line(label, st->q_s[0] * 1e3, false);
    snprintf(label, sizeof label, "P99 %s (ms):", name);
    bench_line(label, st->q_s[3] * 1e3, false);
}

/* What `vllm bench serve` prints (vllm/benchmarks/serve.py, calculate_metrics), so that a
 * closed-loop run can be held against a published table row. */
static void print_bench(const struct sim_result *r)
{
    printf("  ============ Serving Benchmark Result ============\n");
    bench_line("Successful requests:", (double)r->n_outcome[OUTCOME_OK], true);
    bench_line("Failed requests:", (double)(r->n_requests - r->n_outcome[OUTCOME_OK]), true);
    bench_line("Maximum request concurrency:", (double)r->clients, true);
    bench_line("Benchmark duration (s):", r->bench_duration_s, false);
    bench_line("Total input tokens:", (double)r->prompt_tokens, true);
    bench_line("Total generated tokens:", (double)r->ok_output_tokens, true);
    bench_line("Request throughput (req/s):", r->throughput_req_per_s, false);
    bench_line("Output token throughput (tok/s):", r->ok_output_tokens_per_s, false);
    bench_line("Total Token throughput (tok/s):", r->ok_total_tokens_per_s, false);
    bench_latency("---------------Time to First Token----------------", "TTFT", &r->ttft);
    bench_latency("-----Time per Output Token (excl. 1st token)------", "TPOT", &r->tpot);
    bench_latency("---------------Inter-token Latency----------------", "ITL", &r->itl);
    bench_latency("----------------End-to-end Latency----------------", "E2EL", &r->e2e);
    printf("  ==================================================\n");
}

/* The pasted fields accepted and ignored, one line when there are any: the list in full
 * (validate), or their count (run: the list is in the database's run_notes and
 * --json). */
static void print_ignored(const struct sim_result *r, bool full)
{
    if (!r->ignored.n)
        return;
    size_t n = r->ignored.n + r->ignored.more;
    if (!full) {
        printf("  ignored    %zu field%s of pasted objects that cannot change the run (listed "
               "by llmcap validate, --json and run_notes)\n",
               n, n == 1 ? "" : "s");
        return;
    }
    char text[IGNORED_MAX * (IGNORED_PATH_MAX + 2) + 64];
    ignored_format(&r->ignored, text, sizeof text);
    printf("  ignored    %zu field%s of pasted objects (cannot change the run): %s\n", n,
           n == 1 ? "" : "s", text);
}
/* How much of the summary to print: a deployment of several (`part`: no run tail), or
 * the whole cluster of several (`cluster`: no single workload, fleet or latency model). */
struct summary_part {
    const char *deployment;
    bool part, cluster;
    const char *slo_note; /* cluster: every deployment's verdicts */
};

static void print_body(const struct scenario *sc, const struct sim_result *r, double wall_s,
                       const char *db_path, int64_t run_id, const struct summary_part *sp);

static void print_summary(const struct scenario *sc, const struct sim_result *r,
                          double wall_s, const char *db_path, int64_t run_id)
{
    printf("llmcap run: %s (%s, seed %llu)\n", sc->name, sc->path,
           (unsigned long long)sc->seed);
    struct summary_part whole = {NULL, false, false, NULL};
    print_body(sc, r, wall_s, db_path, run_id, &whole);
}

/* A run of several deployments: each one's summary, then the cluster's. */
static void print_deployments(const struct scenario *sc, const struct sim *s, double wall_s,
                              const char *db_path, int64_t run_id)
{
    printf("llmcap run: %s (%s, seed %llu), %d deployments on one cluster\n", sc->name,
           sc->path, (unsigned long long)sc->seed, (int)sim_n_deployments(s));
    for (int32_t i = 0; i < sim_n_deployments(s); i++) {
        const struct scenario *d = sim_deployment_scenario(s, i);
        const struct sim_result *r = sim_deployment_result(s, i);
        printf("deployment %s (model %s)\n", d->deployment, sim_deployment_model(s, i));
        struct summary_part part = {d->deployment, true, false, NULL};
        print_body(d, r, wall_s, db_path, run_id, &part);
    }
    /* "2 of 3 met over 2 deployments: chat PASS 1/1, code FAIL 1/2" */
    char note[1024];
    size_t n_slo = 0, n_pass = 0, len = 0;
    for (int32_t i = 0; i < sim_n_deployments(s); i++) {
        const struct sim_result *r = sim_deployment_result(s, i);
        n_slo += r->n_slo;
        for (size_t k = 0; k < r->n_slo; k++)
            n_pass += r->slo[k].pass;
    }
    int k = snprintf(note, sizeof note, "%zu of %zu met over %d deployments:", n_pass, n_slo,
                     (int)sim_n_deployments(s));
    len = k > 0 ? (size_t)k : 0;
    for (int32_t i = 0; i < sim_n_deployments(s) && len < sizeof note; i++) {
        const struct sim_result *r = sim_deployment_result(s, i);
        size_t p = 0;
        for (size_t q = 0; q < r->n_slo; q++)
            p += r->slo[q].pass;
        k = r->n_slo ? snprintf(note + len, sizeof note - len, "%s %s %s %zu/%zu", i ? "," : "",
                                sim_deployment_scenario(s, i)->deployment,
                                r->slo_pass ? "PASS" : "FAIL", p, r->n_slo)
                     : snprintf(note + len, sizeof note - len, "%s %s none set", i ? "," : "",
                                sim_deployment_scenario(s, i)->deployment);
        len = k > 0 ? len + (size_t)k : sizeof note;
    }
    const struct sim_result *r = sim_result(s);
    printf("cluster (every deployment)\n");
    if (r->unknown_model_requests)
        printf("  gateway    %llu requests for a model no deployment serves (404, not "
               "counted below)\n",
               (unsigned long long)r->unknown_model_requests);
    struct summary_part all = {NULL, false, true, n_slo ? note : NULL};
    print_body(sc, r, wall_s, db_path, run_id, &all);
}

static void print_body(const struct scenario *sc, const struct sim_result *r, double wall_s,
                       const char *db_path, int64_t run_id, const struct summary_part *sp)
{
    double span = r->first_arrival_us >= 0
                      ? (double)(r->last_arrival_us - r->first_arrival_us) * 1e-6
                      : 0.0;
    const struct clients_spec *cl = &sc->workload.clients;
    char loop[160] = "";
    if (cl->concurrency > 0) {
        char think[48];
        format_duration_us(cl->think_time_us, think, sizeof think);
        snprintf(loop, sizeof loop, ", closed loop: %d client%s, think time %s%s",
                 (int)cl->concurrency, cl->concurrency == 1 ? "" : "s",
                 cl->think == THINK_EXPONENTIAL ? "exponential, mean " : "", think);
    }
    if (sp->cluster)
        printf("  workload   %llu requests over %.1f s\n", (unsigned long long)r->n_requests,
               span);
    else if (sc->workload.kind == WL_TRACE)
        printf("  workload   %llu requests %s %.1f s from %s%s%s%s%s\n",
               (unsigned long long)r->n_requests, cl->concurrency > 0 ? "sent over" : "over",
               span, sc->workload.trace_path, r->trace_note[0] ? " (" : "", r->trace_note,
               r->trace_note[0] ? ")" : "", loop);
    else
        printf("  workload   %llu requests %s %.1f s (synthetic%s)\n",
               (unsigned long long)r->n_requests, cl->concurrency > 0 ? "sent over" : "over",
               span, loop);
    const char *kind = sc->engine.kind == ENGINE_STATIC ? "static-batching" : "vLLM";
    const char *model = sc->model.name[0] ? sc->model.name : "(unnamed model)";
    /* a share of a GPU (docs/gpu-sharing.md): "h100-sxm-80gb (MIG 3g.40gb)" */
    char gpu[160];
    if (!strncmp(sc->fleet.pod.gpu.resource, "nvidia.com/mig-", 15))
        snprintf(gpu, sizeof gpu, "%.64s (MIG %.40s)", sc->engine.gpu, sc->fleet.pod.gpu.resource + 15);
    else if (sc->cluster.sharing.mode == GS_TIME_SLICING)
        snprintf(gpu, sizeof gpu, "%.64s (time-sliced, %d replica%s per GPU)", sc->engine.gpu,
                 (int)sc->cluster.sharing.replicas, sc->cluster.sharing.replicas == 1 ? "" : "s");
    else
        snprintf(gpu, sizeof gpu, "%.64s", sc->engine.gpu);
    if (sp->cluster)
        printf("  fleet      %d replica%s at the start, %llu pod%s created, %.1f "
               "replica-minutes\n",
               r->replicas, r->replicas == 1 ? "" : "s", (unsigned long long)r->pods_created,
               r->pods_created == 1 ? "" : "s", r->replica_s / 60.0);
    else if (r->autoscaled)
        printf("  fleet      %s replicas of %s%s%s (autoscaled by %s: %d at the start, %d at "
               "peak, %llu pod%s created, %.1f replica-minutes), %lld KV blocks each\n",
               kind, model, sc->engine.gpu[0] ? " on " : "", gpu,
               sc->fleet.scaled_object ? "KEDA + HPA" : "the HPA", r->replicas,
               r->peak_replicas_ready, (unsigned long long)r->pods_created,
               r->pods_created == 1 ? "" : "s", r->replica_s / 60.0,
               (long long)r->num_gpu_blocks);
    else
        printf("  fleet      %d x %s replica%s of %s%s%s, %lld KV blocks each\n", r->replicas,
               kind, r->replicas == 1 ? "" : "s", model, sc->engine.gpu[0] ? " on " : "",
               gpu, (long long)r->num_gpu_blocks);
    if (!sp->cluster)
        printf("  latency    %s\n", r->latency_provenance);
    print_ignored(r, false);
    char shed[48] = "";
    if (r->n_outcome[OUTCOME_SHED])
        snprintf(shed, sizeof shed, ", shed %llu", (unsigned long long)r->n_outcome[OUTCOME_SHED]);
    printf("  outcomes   ok %llu, timeout %llu, rejected %llu, aborted %llu, 5xx %llu, "
           "client timeout %llu, unfinished %llu%s (error rate %.3f%%)\n",
           (unsigned long long)r->n_outcome[OUTCOME_OK],
           (unsigned long long)r->n_outcome[OUTCOME_TIMEOUT],
           (unsigned long long)r->n_outcome[OUTCOME_REJECTED],
           (unsigned long long)r->n_outcome[OUTCOME_ABORTED],
           (unsigned long long)r->n_outcome[OUTCOME_5XX],
           (unsigned long long)r->n_outcome[OUTCOME_CLIENT_TIMEOUT],
           (unsigned long long)r->n_outcome[OUTCOME_UNFINISHED], shed, r->error_rate * 100.0);
    printf("  %-10s %9s %9s %9s %9s %9s\n", "seconds", "p50", "p90", "p95", "p99", "max");
    print_latency_row("TTFT", &r->ttft, r, SLO_TTFT);
    print_latency_row("TPOT", &r->tpot, r, SLO_TPOT);
    print_latency_row("e2e", &r->e2e, r, SLO_E2E);
    print_latency_row("ITL", &r->itl, r, (enum slo_metric)-1);
    print_latency_row("queue", &r->queue, r, (enum slo_metric)-1);
    printf("  throughput %.3f req/s, %.1f output tok/s, %.1f input tok/s; goodput %.3f req/s\n",
           r->throughput_req_per_s, r->output_tokens_per_s, r->input_tokens_per_s,
           r->goodput_req_per_s);
    const struct sim_cost *c = &r->cost;
    if (c->billed) {
        double total = c->usd > 0 ? c->usd : 1.0;
        /* A bill for a fleet that missed its SLOs is not the price of meeting them. */
        if (sp->part)
            printf("  cost       $%.2f%s: %.1f%% of the cluster's bill by GPU-time on its "
                   "%llu node%s (spot $%.2f, on-demand $%.2f); its GPUs serving %.0f%%, "
                   "loading %.0f%%, idle %.0f%%\n",
                   c->usd, r->n_slo && !r->slo_pass ? " for a deployment that FAILED its SLOs"
                                                    : "",
                   100.0 * c->share_frac, (unsigned long long)c->n_nodes,
                   c->n_nodes == 1 ? "" : "s", c->spot_usd, c->on_demand_usd,
                   100.0 * c->serving_usd / total, 100.0 * c->loading_usd / total,
                   100.0 * c->idle_usd / total);
        else
            printf("  cost       $%.2f%s on %llu node%s (spot $%.2f, on-demand $%.2f); GPUs "
                   "serving %.0f%%, loading %.0f%%, idle %.0f%%\n",
                   c->usd,
                   (r->n_slo || sp->cluster) && !r->slo_pass
                       ? " for a run that FAILED its SLOs,"
                       : "",
                   (unsigned long long)c->n_nodes, c->n_nodes == 1 ? "" : "s", c->spot_usd,
                   c->on_demand_usd, 100.0 * c->serving_usd / total,
                   100.0 * c->loading_usd / total, 100.0 * c->idle_usd / total);
        /* What the bill bought: every token, and the tokens of requests within the SLOs. */
        printf("             $%.4f per 1M output tokens, $%.4f per 1M goodput tokens, $%.0f a "
               "month at this rate",
               c->usd_per_mtok_output, c->usd_per_mtok_goodput, c->usd_per_month);
        if (!isnan(c->break_even_ratio) && c->managed_api_usd > 0)
            printf("; %.2fx the managed API's price", c->break_even_ratio);
        printf("\n");
        if (c->n_spot_interruptions || c->n_ice_errors)
            printf("             %llu spot interruption%s, %llu insufficient-capacity error%s\n",
                   (unsigned long long)c->n_spot_interruptions,
                   c->n_spot_interruptions == 1 ? "" : "s", (unsigned long long)c->n_ice_errors,
                   c->n_ice_errors == 1 ? "" : "s");
    }
    if (cl->concurrency > 0)
        print_bench(r);
    if (r->semantic_hits) {
        printf("  semantic cache answered %llu requests (%llu tokens the fleet did not serve",
               (unsigned long long)r->semantic_hits,
               (unsigned long long)r->semantic_saved_tokens);
        if (!isnan(r->semantic_saved_usd))
            printf(", $%.2f at the fleet's cost per token", r->semantic_saved_usd);
        if (!isnan(r->semantic_saved_api_usd))
            printf(", $%.2f at the managed API's price", r->semantic_saved_api_usd);
        printf(")\n");
    }
    if (r->prefix_queries_tokens)
        printf("  prefix cache %.1f%% of %llu prompt tokens cached at admission%s",
               100.0 * (double)r->prefix_hits_tokens / (double)r->prefix_queries_tokens,
               (unsigned long long)r->prefix_queries_tokens,
               r->prefix_resume_queries_tokens ? "; resumes after preemption " : "\n");
    if (r->prefix_queries_tokens && r->prefix_resume_queries_tokens)
        printf("%.1f%% of %llu\n",
               100.0 * (double)r->prefix_resume_hits_tokens /
                   (double)r->prefix_resume_queries_tokens,
               (unsigned long long)r->prefix_resume_queries_tokens);
    printf("  preemptions %llu", (unsigned long long)r->preemptions);
    if (r->engine_failed_starts)
        printf(", engine start-ups failed for GPU memory %llu (CrashLoopBackOff)",
               (unsigned long long)r->engine_failed_starts);
    if (r->engine_oom_kills)
        printf(", running engines killed by a GPU out of memory %llu (CrashLoopBackOff)",
               (unsigned long long)r->engine_oom_kills);
    if (r->mig_relayout_nodes || r->mig_relayout_evictions)
        printf(", MIG re-layout: %llu nodes re-partitioned, %llu pods evicted",
               (unsigned long long)r->mig_relayout_nodes,
               (unsigned long long)r->mig_relayout_evictions);
    if (r->skipped_rows)
        printf(", skipped trace rows %llu", (unsigned long long)r->skipped_rows);
    if (r->other_model_rows)
        printf(", rows of other models left out %llu", (unsigned long long)r->other_model_rows);
    printf("\n");
    for (size_t i = 0; i < r->n_slo; i++) {
        const struct slo_result *sr = &r->slo[i];
        if (sr->slo->metric == SLO_ERROR_RATE)
            printf("  error_rate <= %.4g%%: %s (%.4g%%)\n", sr->slo->target * 100,
                   sr->pass ? "PASS" : "FAIL", sr->actual * 100);
    }
    if (!isnan(r->slo_breach_s) && r->slo_breach_s > 0)
        printf("  TTFT SLO missed in %.0f one-minute windows; longest run %.0f min\n",
               r->slo_breach_s / 60.0, r->slo_breach_longest_s / 60.0);
    print_classes(r);
    size_t n_slo = r->n_slo, pass = 0;
    for (size_t i = 0; i < r->n_slo; i++)
        pass += r->slo[i].pass;
    for (int k = 0; k < r->n_classes; k++) {
        n_slo += r->cls[k].n_slo;
        for (size_t i = 0; i < r->cls[k].n_slo; i++)
            pass += r->cls[k].slo[i].pass;
    }
    if (n_slo)
        printf("  SLOs       %s (%zu of %zu met)\n", r->slo_pass ? "PASS" : "FAIL", pass, n_slo);
    else if (sp->cluster && sp->slo_note)
        printf("  SLOs       %s (%s)\n", r->slo_pass ? "PASS" : "FAIL", sp->slo_note);
    else if (sp->cluster)
        printf("  SLOs       none (no deployment sets an SLO)\n");
    if (r->autoscaled && r->autoscaler_evals > 0 && r->autoscaler_active_evals == 0 &&
        !r->slo_pass)
        printf("  autoscaler never active in %llu evaluations while SLOs failed%s\n",
               (unsigned long long)r->autoscaler_evals,
               r->autoscaler_empty_evals
                   ? ": a trigger query matched no series (see scaling_events.reason)"
                   : "");
    if (sp->part)
        return;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("  simulated  %.1f s in %.3f s wall (%llu events, %.0f events/s, peak RSS %.1f "
           "MiB)\n",
           (double)r->end_us * 1e-6, wall_s, (unsigned long long)r->events,
           wall_s > 0 ? (double)r->events / wall_s : 0.0, (double)ru.ru_maxrss / 1024.0);
    if (db_path)
        printf("  results    %s, run %lld\n", db_path, (long long)run_id);
}

struct json_ctx {
    bool first;
};

static int print_json_kv(void *ctx, const char *key, double value)
{
    struct json_ctx *j = ctx;
    printf("%s\n    ", j->first ? "" : ",");
    j->first = false;
    cli_json_string(stdout, key);
    if (isnan(value) || isinf(value))
        printf(": null");
    else
        printf(": %.17g", value);
    return 0;
}

static void print_json_slos(const struct sim_result *r, const char *deployment, bool *first)
{
    for (size_t i = 0; i < r->n_slo; i++) {
        const struct slo_result *sr = &r->slo[i];
        printf("%s\n    {", *first ? "" : ",");
        *first = false;
        if (deployment) {
            printf("\"deployment\": ");
            cli_json_string(stdout, deployment);
            printf(", ");
        }
        printf("\"slo\": ");
        cli_json_string(stdout, sr->slo->key);
        printf(", \"target\": %.17g, \"actual\": ", sr->slo->target);
        if (isnan(sr->actual))
            printf("null");
        else
            printf("%.17g", sr->actual);
        printf(", \"pass\": %s}", sr->pass ? "true" : "false");
    }
}

/* A run of several deployments: the run's summary is the cluster's; "slo" lists every
 * deployment's verdicts (with "deployment"), and "deployments" each one's summary. */
static void print_json(const struct scenario *sc, const struct sim *s, int64_t run_id)
{
    const struct sim_result *r = sim_result(s);
    printf("{\n  \"scenario\": ");
    cli_json_string(stdout, sc->name);
    printf(",\n  \"seed\": %llu,\n  \"run_id\": %lld,\n  \"latency_provenance\": ",
           (unsigned long long)sc->seed, (long long)run_id);
    cli_json_string(stdout, r->latency_provenance);
    printf(",\n  \"ignored_fields\": [");
    for (size_t i = 0; i < r->ignored.n; i++) {
        printf("%s", i ? ", " : "");
        cli_json_string(stdout, r->ignored.path[i]);
    }
    printf("],\n  \"summary\": {");
    struct json_ctx j = {true};
    sim_result_foreach(r, print_json_kv, &j);
    printf("\n  },\n  \"slo\": [");
    bool first = true;
    int32_t n_deps = sim_n_deployments(s);
    if (n_deps > 1)
        for (int32_t i = 0; i < n_deps; i++)
            print_json_slos(sim_deployment_result(s, i), sim_deployment_scenario(s, i)->deployment,
                            &first);
    else
        print_json_slos(r, NULL, &first);
    printf("\n  ]");
    for (int32_t i = 0; n_deps > 1 && i < n_deps; i++) {
        const struct sim_result *dr = sim_deployment_result(s, i);
        printf("%s\n    {\"deployment\": ", i ? "," : ",\n  \"deployments\": [");
        cli_json_string(stdout, sim_deployment_scenario(s, i)->deployment);
        printf(", \"model\": ");
        cli_json_string(stdout, sim_deployment_model(s, i));
        printf(", \"slo_pass\": %s, \"summary\": {", dr->slo_pass ? "true" : "false");
        struct json_ctx dj = {true};
        sim_result_foreach(dr, print_json_kv, &dj);
        printf("\n    }}%s", i + 1 == n_deps ? "\n  ]" : "");
    }
    printf("\n}\n");
}

/* ---- run ---------------------------------------------------------------------------------- */

int cmd_run(int argc, char **argv)
{
    struct run_cfg cfg;
    int rc = parse_run_args(argc, argv, "SCENARIO [options]",
                            "Replay the scenario's workload against its fleet and print the "
                            "summary; with -o, append the run to a SQLite database.",
                            &cfg);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    struct sim_err err = {0};
    struct scenario sc;
    if (cli_load_scenario(&sc, cfg.scenario, cfg.sets, cfg.n_sets, &err) != SIM_OK)
        return cli_error(&err);
    int code = EXIT_OK;
    struct db *db = NULL;
    struct sim *s = NULL;
    int64_t run_id = 0;
    struct catalog *cat = sim_load_catalog(&sc, &err);
    if (!cat) {
        scenario_release(&sc);
        return cli_error(&err);
    }
    struct progress_ctx pc = {cli_wall_s(), cli_wall_s(), false};
    cli_install_signals();
    struct sim_options opt = {.stop = &cli_stop, .catalog = cat};
    if (cfg.progress && !cfg.quiet && isatty(STDERR_FILENO)) {
        opt.progress = show_progress;
        opt.progress_ctx = &pc;
    }
    if (cfg.output) {
        db = db_open(cfg.output, &err);
        if (!db) {
            code = cli_error(&err);
            goto out;
        }
        opt.sink = db_sink(db);
    }
    s = sim_new(&sc, &opt, &err);
    if (!s) {
        code = cli_error(&err);
        goto out;
    }
    if (db && db_begin_run(db, &run_id, &err) != SIM_OK) {
        code = cli_error(&err);
        goto out;
    }
    double t0 = cli_wall_s();
    rc = sim_run(s, &err);
    double wall = cli_wall_s() - t0;
    if (pc.shown)
        fprintf(stderr, "\r%78s\r", "");
    if (rc != SIM_OK) {
        if (rc == SIM_EINTR) /* which signal stopped the run */
            snprintf(err.msg + strlen(err.msg), sizeof err.msg - strlen(err.msg), " (%s)",
                     cli_stop == SIGTERM ? "SIGTERM" : "SIGINT");
        if (db) {
            /* A failed write says why (the disk is full, ...) in the database's error. */
            if (rc == SIM_EIO && db_sink_error(db))
                err = *db_sink_error(db);
            db_abort_run(db);
            snprintf(err.msg + strlen(err.msg), sizeof err.msg - strlen(err.msg),
                     "; the run was rolled back and earlier runs in '%s' are intact",
                     cfg.output);
        }
        code = cli_error(&err);
        goto out;
    }
    const struct sim_result *r = sim_result(s);
    if (sc.workload.kind == WL_SYNTHETIC && sc.workload.count > 0 &&
        r->n_requests < (uint64_t)sc.workload.count) {
        char d[48];
        fprintf(stderr,
                "llmcap: %s: warning: the workload made %llu of the %lld requests of "
                "'workload.count': 'duration' (%s) ended the arrivals first\n",
                sc.path, (unsigned long long)r->n_requests, (long long)sc.workload.count,
                format_duration_us(sc.duration_us, d, sizeof d));
    }
    /* A `deployments:` list of one is that deployment's run (its model, engine, workload);
     * without the list, that is the scenario itself. */
    const struct scenario *one = sim_n_deployments(s) == 1 ? sim_deployment_scenario(s, 0) : &sc;
    if (db) {
        struct db_run_info info = {one, cfg.labels, lat_kind_name(one->engine.latency.kind), s};
        if (db_finish_run(db, &info, r, wall, &err) != SIM_OK) {
            snprintf(err.msg + strlen(err.msg), sizeof err.msg - strlen(err.msg),
                     "; the run was rolled back and earlier runs in '%s' are intact",
                     cfg.output);
            code = cli_error(&err);
            goto out;
        }
    }
    if (cfg.json)
        print_json(one, s, run_id);
    else if (!cfg.quiet && sim_n_deployments(s) > 1)
        print_deployments(&sc, s, wall, cfg.output, run_id);
    else if (!cfg.quiet)
        print_summary(one, r, wall, cfg.output, run_id);
    code = r->slo_pass ? EXIT_OK : EXIT_CHECK_FAILED;
out:
    sim_free(s);
    db_close(db);
    catalog_free(cat);
    scenario_release(&sc);
    return code;
}

/* Read a trace workload to its end as the run would (window, duration, skip_bad_rows),
 * so that a malformed row fails validate as it would fail the run. Synthetic workloads
 * need no reading. */
int cmd_validate(int argc, char **argv)
{
    struct run_cfg cfg;
    int rc = parse_run_args(argc, argv, "SCENARIO [--set PATH=VALUE]...",
                            "Check a scenario file, its overrides, trace file, engine sizing "
                            "and latency model without running it.",
                            &cfg);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    struct sim_err err = {0};
    struct scenario sc;
    if (cli_load_scenario(&sc, cfg.scenario, cfg.sets, cfg.n_sets, &err) != SIM_OK)
        return cli_error(&err);
    struct catalog *cat = sim_load_catalog(&sc, &err);
    if (!cat) {
        scenario_release(&sc);
        return cli_error(&err);
    }
    struct sim_options opt = {.catalog = cat};
    struct sim *s = sim_new(&sc, &opt, &err);
    int code = EXIT_OK;
    if (!s || sim_check_traces(s, &err) != SIM_OK) {
        code = cli_error(&err);
    } else if (!cfg.quiet) {
        const struct sim_result *r = sim_result(s);
        printf("%s: ok: %s\n", sc.path, sc.name);
        printf("  engine     %s, max_num_seqs %d, max_num_batched_tokens %d, max_model_len %d\n",
               sc.engine.kind == ENGINE_STATIC ? "static batching" : "vLLM", r->max_num_seqs,
               r->max_num_batched_tokens, r->max_model_len);
        printf("  KV cache   %lld blocks of %d tokens (%lld tokens)", (long long)r->num_gpu_blocks,
               r->block_size, (long long)r->num_gpu_blocks * r->block_size);
        if (!isnan(r->kv_cache_gib_per_gpu))
            printf(", %.2f GiB per GPU next to %.2f GiB of weights", r->kv_cache_gib_per_gpu,
                   r->weight_gib_per_gpu);
        printf("\n  latency    %s\n", r->latency_provenance);
        if (sc.fleet.scaled_object || sc.fleet.hpa)
            printf("  fleet      autoscaled\n");
        else
            printf("  fleet      %d replica%s\n", r->replicas, r->replicas == 1 ? "" : "s");
        print_ignored(r, true);
    }
    sim_free(s);
    catalog_free(cat);
    scenario_release(&sc);
    return code;
}
