/* cmd_plan.c: `llmcap plan`: the cheapest fleet that meets the SLOs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/catalog.h"
#include "reports/db.h"
#include "reports/sweep.h"
#include "cli/cli.h"
#include "plan/plan.h"
#include "plan/plan_db.h"
#include "plan/shared.h"
#include "sim/config/scenario.h"

enum { OPT_JOBS, OPT_OUTPUT, OPT_SET, OPT_QUIET, OPT_SHOW, OPT_SHARD };

static const struct cli_opt plan_opts[] = {
    [OPT_JOBS] = {"jobs", 'j', "N", "worker processes (default: the number of cores)"},
    [OPT_OUTPUT] = {"output", 'o', "DB", "record every configuration's result in this database"},
    [OPT_SET] = {"set", 's', "PATH=VALUE", "override a scenario field (repeatable)"},
    [OPT_QUIET] = {"quiet", 'q', NULL, "print only the answer"},
    [OPT_SHOW] = {"show", 0, "N", "runners-up and failures to list (default 5)"},
    [OPT_SHARD] = {"shard", 0, "I/N",
                   "evaluate only configurations c with c % N == I (I from 0); needs -o; "
                   "`llmcap merge` combines the N databases into the whole plan"},
};

static void show_progress(void *ctx, size_t done, size_t total)
{
    (void)ctx;
    fprintf(stderr, "\r  %zu of %zu configurations", done, total);
    if (done == total)
        fprintf(stderr, "\r%40s\r", "");
    fflush(stderr);
}

static void print_row(const struct plan_result *r)
{
    char label[256], nodes[32] = "";
    plan_label(r, label, sizeof label);
    if (r->billing == PLAN_BILL_WHOLE_NODES)
        snprintf(nodes, sizeof nodes, "%3d node%s", r->nodes, r->nodes == 1 ? " " : "s");
    printf("  %-56s %3d x %s $%9.2f/h  $%8.4f/1M tok  TTFT p95 %7.3f s  TPOT p95 %6.3f s\n",
           label, r->replicas, nodes, r->usd_per_hour, r->usd_per_mtok, r->ttft_p95_s,
           r->tpot_p95_s);
}

static int cmp_rank(const void *a, const void *b)
{
    return plan_rank_cmp(*(const struct plan_result *const *)a,
                         *(const struct plan_result *const *)b);
}

/* How the answer is billed, and what verification under the cluster model found. */
static void print_billing(const struct plan_result *b)
{
    if (b->billing == PLAN_BILL_WHOLE_NODES)
        printf("    billed as whole nodes: %d x %s (%d GPU%s, $%.4g/h each), %.3g node-hours\n",
               b->nodes, b->node_type, b->gpus_per_node, b->gpus_per_node == 1 ? "" : "s",
               b->usd_per_node_hour, b->node_hours);
    else
        printf("    billed as GPU shares of %s (%d GPUs at $%.4g/h): the nodes' other GPUs are "
               "paid by other workloads\n",
               b->node_type, b->gpus_per_node, b->usd_per_node_hour);
    if (b->verify == PLAN_VERIFY_PASS)
        printf("    verified: %s ($%.2f/h, $%.4f/1M tok, TTFT p95 %.3f s)\n", b->verify_note,
               b->verified_usd_per_hour, b->verified_usd_per_mtok, b->verified_ttft_p95_s);
}

/* The candidates verification rejected, in the order they were tried. */
static void print_rejected(const struct plan_result *res, size_t n)
{
    const struct plan_result **o = calloc(n ? n : 1, sizeof *o);
    size_t no = 0;
    for (size_t i = 0; o && i < n; i++)
        if (res[i].verify == PLAN_VERIFY_FAIL)
            o[no++] = &res[i];
    if (no) {
        printf("  rejected by verification under the cluster model (%zu, cheapest first):\n",
               no);
        qsort(o, no, sizeof *o, cmp_rank);
    }
    for (size_t i = 0; i < no; i++) {
        char label[256];
        plan_label(o[i], label, sizeof label);
        printf("    %s at $%.2f/h: %s\n", label, o[i]->usd_per_hour, o[i]->verify_note);
    }
    free(o);
}

static int cmp_cost(const void *a, const void *b)
{
    const struct plan_result *x = *(const struct plan_result *const *)a;
    const struct plan_result *y = *(const struct plan_result *const *)b;
    if (x->usd_per_hour != y->usd_per_hour)
        return x->usd_per_hour < y->usd_per_hour ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* A shard's summary: what it evaluated; the answer needs every shard (llmcap merge). */
static void print_shard(const struct plan_result *res, size_t n, unsigned si, unsigned sn,
                        const struct plan_run_info *info, double wall, int jobs)
{
    size_t feasible = 0, verified = 0;
    int runs = 0;
    for (size_t i = 0; i < n; i++) {
        feasible += res[i].feasible;
        verified += res[i].verify != PLAN_VERIFY_NONE;
        runs += res[i].search_runs;
    }
    printf("  shard      %u/%u: %zu of the plan's %zu configurations, %zu meet every SLO, %zu "
           "verified under the cluster model; %d simulations in %.1f s on %d process%s\n",
           si, sn, n, info->n_configs, feasible, verified, runs, wall, jobs,
           jobs == 1 ? "" : "es");
}

static int cmp_est(const void *a, const void *b)
{
    const struct plan_result *x = *(const struct plan_result *const *)a;
    const struct plan_result *y = *(const struct plan_result *const *)b;
    if (x->est_cost_usd_per_hour != y->est_cost_usd_per_hour)
        return x->est_cost_usd_per_hour < y->est_cost_usd_per_hour ? -1 : 1;
    return x < y ? -1 : x > y;
}


/* ---- a shared cluster (plan/shared.h) ---- */

static void print_groups(const struct plan_layout *l)
{
    for (size_t g = 0; g < l->n_groups; g++) {
        const struct plan_group *x = &l->group[g];
        printf("%s%d x %s%s%s (%d of %d %s%s)", g ? ", " : "", x->nodes, x->node_type,
               x->mig[0] ? " MIG all-" : "", x->mig, x->used_units, x->nodes * x->units_per_node,
               x->mig[0] ? "slices" : "GPUs", x->exact ? "" : ", packing not proven minimal");
    }
}

static void print_layout(const struct plan_shared *s, const struct plan_layout *l, bool detail)
{
    printf("    $%9.2f/h  %2d node%s: ", l->usd_per_hour, l->nodes, l->nodes == 1 ? " " : "s");
    print_groups(l);
    printf("\n");
    for (size_t d = 0; d < s->n_deps; d++) {
        const struct plan_result *r = &s->res[l->choice[d]];
        char label[256];
        plan_label(r, label, sizeof label);
        printf("      %-12s %-56s %3d x  TTFT p95 %7.3f s  TPOT p95 %6.3f s", s->deployment[d],
               label, r->replicas, r->ttft_p95_s, r->tpot_p95_s);
        if (detail && l->verify != PLAN_VERIFY_NONE)
            printf("  | cluster: %s, TTFT p95 %.3f s, $%.2f", l->dep[d].pass ? "pass" : "FAIL",
                   l->dep[d].ttft_p95_s, l->dep[d].usd);
        printf("\n");
    }
    if (l->verify_note[0])
        printf("      %s%s\n", l->verify == PLAN_VERIFY_PASS ? "verified: " : "", l->verify_note);
}

static int plan_shared_cli(struct scenario *sc, struct catalog *cat, struct db *db,
                           const char *output, int jobs, int show, bool quiet)
{
    struct sim_err err = {0};
    struct plan_options opt = {.jobs = jobs, .catalog = cat, .stop = &cli_stop};
    if (!quiet && isatty(STDERR_FILENO))
        opt.progress = show_progress;
    struct plan_shared s;
    double t0 = cli_wall_s();
    int rc = plan_shared_run(sc, &opt, &s, &err);
    double wall = cli_wall_s() - t0;
    if (rc != SIM_OK)
        return cli_error(&err);
    int64_t plan_id = 0;
    if (db && plan_db_write_shared(db, sc, &s, &plan_id, &err) != SIM_OK) {
        plan_shared_free(&s);
        return cli_error(&err);
    }
    int runs = 0;
    for (size_t i = 0; i < s.n_res; i++)
        runs += s.res[i].search_runs;
    printf("llmcap plan: %s (%s): one cluster, %zu deployments\n", sc->name, sc->path, s.n_deps);
    printf("  searched   ");
    for (size_t d = 0; d < s.n_deps; d++) {
        size_t n = 0, ok = 0;
        for (size_t i = 0; i < s.n_res; i++)
            if (s.res[i].deployment == (int32_t)d) {
                n++;
                ok += s.res[i].feasible;
            }
        printf("%s%s %zu configurations (%zu meet its SLOs)", d ? ", " : "", s.deployment[d], n,
               ok);
    }
    printf("; %d simulations in %.1f s on %d process%s\n", runs, wall, jobs,
           jobs == 1 ? "" : "es");
    printf("  layouts    %llu priced by branch-and-bound, %llu subtrees cut by the bound%s\n",
           (unsigned long long)s.searched, (unsigned long long)s.pruned,
           s.complete ? "" : " (stopped at its step budget: the cheapest found is not proven)");
    int code = EXIT_OK;
    if (s.best < 0) {
        printf("  no layout meets every deployment's SLOs%s\n",
               s.n_layouts ? " under the cluster model" : "");
        for (size_t d = 0; d < s.n_deps; d++) {
            bool any = false;
            for (size_t i = 0; i < s.n_res && !any; i++)
                any = s.res[i].deployment == (int32_t)d && s.res[i].feasible;
            if (any)
                continue;
            printf("    %s: no configuration meets its SLOs alone:\n", s.deployment[d]);
            int shown = 0;
            for (size_t i = 0; i < s.n_res && shown < show + 5; i++) {
                if (s.res[i].deployment != (int32_t)d || !s.res[i].valid)
                    continue;
                char label[256];
                plan_label(&s.res[i], label, sizeof label);
                printf("      %-56s %s\n", label, s.res[i].reason);
                shown++;
            }
        }
        for (size_t k = 0; k < s.n_layouts; k++)
            if (s.layout[k].verify != PLAN_VERIFY_NONE || s.layout[k].verify_note[0])
                print_layout(&s, &s.layout[k], true);
        fprintf(stderr, "llmcap: plan: no layout of the shared cluster meets every "
                        "deployment's SLOs\n");
        code = EXIT_CHECK_FAILED;
        goto out;
    }
    const struct plan_layout *b = &s.layout[s.best];
    printf("  cheapest layout that meets every deployment's SLOs%s:\n",
           b->verify == PLAN_VERIFY_PASS ? " (verified under the cluster model)"
           : s.provisioner               ? " (not verified)"
                                         : " (not verified: no node provisioner in 'cluster:')");
    print_layout(&s, b, true);
    if (!isnan(s.separate_usd_per_hour)) {
        printf("  separate clusters (each deployment on its own nodes): $%.2f/h (", s.separate_usd_per_hour);
        for (size_t d = 0; d < s.n_deps; d++) {
            const struct plan_result *r = &s.res[s.separate[d]];
            printf("%s%s %d x %s $%.2f/h", d ? ", " : "", s.deployment[d], r->nodes, r->node_type,
                   r->usd_per_hour);
        }
        double save = s.separate_usd_per_hour - b->usd_per_hour;
        printf("): sharing saves $%.2f/h (%.1f%%)\n", save,
               s.separate_usd_per_hour > 0 ? 100.0 * save / s.separate_usd_per_hour : 0.0);
    }
    bool header = false;
    for (size_t k = 0; k < s.n_layouts; k++)
        if ((long)k < s.best && s.layout[k].verify != PLAN_VERIFY_PASS) {
            if (!header)
                printf("  cheaper layouts rejected or not verifiable under the cluster model:\n");
            header = true;
            print_layout(&s, &s.layout[k], true);
        }
    if (show > 0 && s.n_layouts > (size_t)s.best + 1) {
        printf("  runners-up:\n");
        int shown = 0;
        for (size_t k = (size_t)s.best + 1; k < s.n_layouts && shown < show; k++, shown++)
            print_layout(&s, &s.layout[k], false);
    }
    if (db)
        printf("  results    %s, plan %lld (tables plan_results, plan_shared_layouts)\n", output,
               (long long)plan_id);
out:
    plan_shared_free(&s);
    return code;
}

int cmd_plan(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, plan_opts, sizeof plan_opts / sizeof plan_opts[0],
                       "SCENARIO [-j N] [-o DB] [--set PATH=VALUE]...",
                       "Search the scenario's 'plan:' space (GPU or instance types, tensor "
                       "parallelism, dtypes, vLLM limits, spot share, autoscaler settings) for "
                       "the cheapest fleet that meets every SLO on the scenario's traffic. Exit "
                       "code 1 when no configuration does.",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    const char *sets[130];
    size_t n_sets = 0;
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int show = 5;
    const char *output = NULL;
    bool quiet = false;
    unsigned shard_i = 0, shard_n = 1;
    struct sim_err err = {0};
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        char *end;
        switch (a.opts[i].which) {
        case OPT_JOBS:
            jobs = (int)strtol(v, &end, 10);
            if (*end || jobs < 1 || jobs > 256)
                return cli_usage_error(argv[0], "'--jobs' must be in [1, 256], got '%s'", v);
            break;
        case OPT_OUTPUT:
            output = v;
            break;
        case OPT_SET:
            if (n_sets == 128)
                return cli_usage_error(argv[0], "too many --set options (at most 128)");
            sets[n_sets++] = v;
            break;
        case OPT_QUIET:
            quiet = true;
            break;
        case OPT_SHARD:
            if (sweep_parse_shard(v, &shard_i, &shard_n, &err) != SIM_OK)
                return cli_error(&err);
            if (shard_n > PLAN_DB_MAX_SHARDS)
                return cli_usage_error(argv[0], "'--shard' splits a plan into at most %d "
                                                "shards, got '%s'",
                                       PLAN_DB_MAX_SHARDS, v);
            break;
        case OPT_SHOW:
            show = (int)strtol(v, &end, 10);
            if (*end || show < 0)
                return cli_usage_error(argv[0], "'--show' must be an integer >= 0, got '%s'", v);
            break;
        }
    }
    if (a.n_pos != 1)
        return cli_usage_error(argv[0], "expected one scenario file");
    if (jobs < 1)
        jobs = 1;
    if (shard_n > 1 && !output)
        return cli_usage_error(argv[0], "'--shard' needs '-o DB': a shard's results are merged "
                                        "from its database");
    struct scenario sc;
    if (cli_load_scenario(&sc, a.pos[0], sets, n_sets, &err) != SIM_OK)
        return cli_error(&err);
    struct catalog *cat = sim_load_catalog(&sc, &err);
    if (!cat) {
        scenario_release(&sc);
        return cli_error(&err);
    }
    struct db *db = NULL;
    int code_shared;
    if (output && !(db = db_open(output, &err))) {
        catalog_free(cat);
        scenario_release(&sc);
        return cli_error(&err);
    }
    cli_install_signals();
    if (plan_is_shared(&sc)) {
        if (shard_n > 1) {
            code_shared = cli_usage_error(argv[0], "'--shard' splits a single-deployment plan; "
                                                   "a shared cluster's plan runs in one process");
        } else
            code_shared = plan_shared_cli(&sc, cat, db, output, jobs, show, quiet);
        db_close(db);
        catalog_free(cat);
        scenario_release(&sc);
        return code_shared;
    }
    struct plan_run_info info = {0};
    struct plan_options opt = {.jobs = jobs,
                               .catalog = cat,
                               .stop = &cli_stop,
                               .shard_i = shard_i,
                               .shard_n = shard_n,
                               .info = &info};
    if (!quiet && isatty(STDERR_FILENO))
        opt.progress = show_progress;
    struct plan_result *res = NULL;
    size_t n = 0;
    double t0 = cli_wall_s();
    rc = plan_run(&sc, &opt, &res, &n, &err);
    double wall = cli_wall_s() - t0;
    int code = EXIT_OK;
    if (rc != SIM_OK) {
        code = cli_error(&err);
        goto out;
    }
    long best = plan_best(res, n);
    int64_t plan_id = 0;
    struct plan_db_info dbi = {shard_i, shard_n, info.n_configs, info.verify_candidates};
    if (db && plan_db_write(db, &sc, res, n, best, &dbi, &plan_id, &err) != SIM_OK) {
        code = cli_error(&err);
        goto out;
    }
    size_t valid = 0, fits = 0, feasible = 0;
    int runs = 0;
    bool spot = false;
    for (size_t i = 0; i < n; i++) {
        valid += res[i].valid;
        fits += res[i].fits;
        feasible += res[i].feasible;
        runs += res[i].search_runs;
        spot = spot || res[i].spot_share > 0;
    }
    printf("llmcap plan: %s (%s)\n", sc.name, sc.path);
    if (shard_n > 1) {
        print_shard(res, n, shard_i, shard_n, &info, wall, jobs);
        printf("  results    %s, plan %lld: merge the %u shards' databases with `llmcap merge "
               "OUT.db SHARD.db...` for the answer\n",
               output, (long long)plan_id, shard_n);
        goto out;
    }
    printf("  searched   %zu configurations: %zu not placeable, %zu do not fit, %zu miss an SLO, "
           "%zu meet every SLO; %d simulations in %.1f s on %d process%s\n",
           n, n - valid, valid - fits, fits - feasible, feasible, runs, wall, jobs,
           jobs == 1 ? "" : "es");
    bool verified = false;
    for (size_t i = 0; i < n; i++)
        verified = verified || res[i].verify != PLAN_VERIFY_NONE;
    if (!verified && feasible && info.provisioner)
        printf("  note       not verified: plan.verify.candidates is 0, so the cluster model's "
               "provisioning delays and spot interruptions are not in the answer\n");
    else if (!verified && feasible)
        printf("  note       not verified: the scenario has no node provisioner in 'cluster:' "
               "(Karpenter or AKS), so provisioning delays and spot interruptions are not "
               "simulated%s\n",
               spot ? "; spot shares are priced only" : "");
    print_rejected(res, n);
    if (best < 0) {
        printf("  no configuration meets every SLO. Why, cheapest first:\n");
        const struct plan_result **o = calloc(n ? n : 1, sizeof *o);
        size_t no2 = 0;
        for (size_t i = 0; i < n; i++)
            if (res[i].valid)
                o[no2++] = &res[i];
        qsort(o, no2, sizeof *o, cmp_est);
        for (size_t i = 0; i < no2 && i < (size_t)show + 5; i++) {
            char label[256];
            plan_label(o[i], label, sizeof label);
            printf("    %-56s %s\n", label, o[i]->reason);
        }
        free(o);
        fprintf(stderr, "llmcap: plan: no configuration in the search space meets every SLO\n");
        code = EXIT_CHECK_FAILED;
        goto out;
    }
    const struct plan_result *b = &res[best];
    printf("  cheapest that meets every SLO%s:\n",
           b->verify == PLAN_VERIFY_PASS ? " (verified under the cluster model)" : "");
    print_row(b);
    printf("    %s\n", b->reason);
    print_billing(b);
    /* Runners-up, cheapest first, and the cheaper configurations that failed. */
    const struct plan_result **order = calloc(n ? n : 1, sizeof *order);
    size_t no = 0;
    for (size_t i = 0; i < n; i++)
        if (res[i].feasible && (long)i != best && res[i].verify != PLAN_VERIFY_FAIL)
            order[no++] = &res[i];
    qsort(order, no, sizeof *order, cmp_cost);
    if (no && show) {
        printf("  runners-up:\n");
        for (size_t i = 0; i < no && i < (size_t)show; i++)
            print_row(order[i]);
    }
    no = 0;
    for (size_t i = 0; i < n; i++)
        if (res[i].valid && !res[i].feasible &&
            res[i].est_cost_usd_per_hour < b->usd_per_hour)
            order[no++] = &res[i];
    qsort(order, no, sizeof *order, cmp_est);
    if (no && show) {
        /* One line per hardware choice and reason: vLLM limits that fail the same way are
         * folded into it. */
        printf("  cheaper options that failed (%zu):\n", no);
        int shown = 0;
        for (size_t i = 0; i < no && shown < show; i++) {
            const struct plan_result *x = order[i];
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = !strcmp(order[j]->instance, x->instance) &&
                       !strcmp(order[j]->gpu, x->gpu) && order[j]->tp == x->tp &&
                       !strcmp(order[j]->dtype, x->dtype) &&
                       order[j]->spot_share == x->spot_share &&
                       !strcmp(order[j]->reason, x->reason);
            if (seen)
                continue;
            printf("    %s tp%d %s%s from $%.2f/h: %s\n",
                   x->instance[0] ? x->instance : x->gpu, x->tp, x->dtype,
                   x->spot_share > 0 ? " (spot)" : "", x->est_cost_usd_per_hour, x->reason);
            shown++;
        }
    }
    size_t n_front = 0;
    for (size_t i = 0; i < n; i++)
        n_front += res[i].pareto;
    printf("  Pareto frontier (cost vs TTFT p95), %zu point%s:\n", n_front, n_front == 1 ? "" : "s");
    no = 0;
    for (size_t i = 0; i < n; i++)
        if (res[i].pareto)
            order[no++] = &res[i];
    qsort(order, no, sizeof *order, cmp_cost);
    for (size_t i = 0; i < no; i++)
        print_row(order[i]);
    free(order);
    if (sc.cost.managed_api_usd_per_mtok > 0 && !isnan(b->usd_per_mtok)) {
        double api = sc.cost.managed_api_usd_per_mtok;
        /* The output token rate at which the fleet's hourly cost equals the API's bill. */
        double breakeven_tok_s = b->usd_per_hour / 3600.0 / (api * 1e-6);
        printf("  vs the managed API at $%.4g/1M tokens: self-hosted costs $%.4g/1M at this "
               "traffic (%s); break-even at %.0f output tokens/s\n",
               api, b->usd_per_mtok, b->usd_per_mtok < api ? "cheaper" : "dearer",
               breakeven_tok_s);
    }
    if (db)
        printf("  results    %s, plan %lld (table plan_results)\n", output, (long long)plan_id);
out:
    free(res);
    db_close(db);
    catalog_free(cat);
    scenario_release(&sc);
    return code;
}
