/* Several deployments on one cluster (scenario `deployments:`): packing onto shared nodes
 * and the bill, a trace routed by its model column, and the scenario's checks. Expected
 * numbers are worked out by hand in each test. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "models/catalog.h"
#include "reports/db.h"
#include "sim/config/scenario.h"
#include "sim/sim.h"

#define FIX FIXTURES "/multi/"

struct run {
    struct scenario sc;
    struct catalog *cat;
    struct sim *s;
};

static void run_loaded(struct run *r)
{
    struct sim_err err = {0};
    r->cat = sim_load_catalog(&r->sc, &err);
    cr_assert_not_null(r->cat, "%s", err.msg);
    struct sim_options opt = {.catalog = r->cat};
    r->s = sim_new(&r->sc, &opt, &err);
    cr_assert_not_null(r->s, "%s: %s", err.where, err.msg);
    cr_assert_eq(sim_run(r->s, &err), SIM_OK, "%s", err.msg);
}

static void run_file(struct run *r, const char *path)
{
    gsl_set_error_handler_off();
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&r->sc, path, NULL, 0, &err), SIM_OK, "%s: %s", err.where,
                 err.msg);
    run_loaded(r);
}

static void run_done(struct run *r)
{
    sim_free(r->s);
    catalog_free(r->cat);
    scenario_release(&r->sc);
}

/* g6e.48xlarge on demand in us-east-1 (models/data/instances.json, from Karpenter's generated
 * AWS pricing): $30.13118 an hour. */
#define G6E_48XL_USD_PER_H 30.13118

/* Billed per second from the launch request (t = 0: the run starts in steady state) to
 * the end, rounded up to whole seconds. */
static double node_bill(double end_s)
{
    return G6E_48XL_USD_PER_H * ceil(end_s) / 3600.0;
}

Test(deployments, two_deployments_pack_onto_one_8_gpu_node)
{
    /* chat: 2 replicas x TP2, code: 2 replicas x TP2 = 8 GPUs: the one 8-GPU type the
     * NodePool allows holds them all, so the cluster runs one node. */
    struct run r;
    run_file(&r, FIX "pack_one_node.yaml");
    cr_assert_eq(sim_n_deployments(r.s), 2);
    const struct sim_result *all = sim_result(r.s);
    cr_assert_eq(all->cost.n_nodes, 1);
    double end_s = (double)all->end_us * 1e-6;
    cr_assert_float_eq(all->cost.usd, node_bill(end_s), 1e-9, "%.9f vs %.9f", all->cost.usd,
                       node_bill(end_s));
    /* Equal replicas of equal size for the whole run: equal GPU-time, half the bill each. */
    const struct sim_result *a = sim_deployment_result(r.s, 0);
    const struct sim_result *b = sim_deployment_result(r.s, 1);
    cr_assert_float_eq(a->cost.share_frac, 0.5, 1e-12);
    cr_assert_float_eq(a->cost.usd + b->cost.usd, all->cost.usd, 1e-9);
    cr_assert_eq(all->n_requests, a->n_requests + b->n_requests);
    cr_assert_eq(all->n_outcome[OUTCOME_OK], a->n_outcome[OUTCOME_OK] + b->n_outcome[OUTCOME_OK]);
    cr_assert_eq(all->deployments, 2);
    cr_assert(all->slo_pass);
    run_done(&r);
}

Test(deployments, separate_runs_need_a_node_each)
{
    /* Each deployment alone: 4 GPUs on the only (8-GPU) type, one node each; two runs
     * bill two nodes, twice the shared cluster's bill for the same time. */
    double usd = 0;
    uint64_t nodes = 0;
    for (int k = 0; k < 2; k++) {
        struct run r;
        gsl_set_error_handler_off();
        struct sim_err err = {0};
        cr_assert_eq(scenario_load(&r.sc, FIX "pack_one_node.yaml", NULL, 0, &err), SIM_OK,
                     "%s", err.msg);
        struct scenario keep = r.sc.deployments[0];
        r.sc.deployments[0] = r.sc.deployments[k];
        r.sc.deployments[k] = keep;
        r.sc.n_deployments = 1;
        run_loaded(&r);
        const struct sim_result *res = sim_result(r.s);
        cr_assert_eq(res->cost.n_nodes, 1);
        cr_assert_float_eq(res->cost.usd, node_bill((double)res->end_us * 1e-6), 1e-9);
        usd += res->cost.usd;
        nodes += res->cost.n_nodes;
        r.sc.n_deployments = 2;
        run_done(&r);
    }
    cr_assert_eq(nodes, 2);
    cr_assert_gt(usd, 1.9 * node_bill(600.0));
}

Test(deployments, trace_routed_by_model_column)
{
    /* routed.csv, by hand: chat-8b at 0.0, 1.0, 4.0 s -> chat (3); code-llama at 0.5, 2.5,
     * 3.0 s -> code (3); gpt-4o twice and the catalog id of chat's model (chat sets
     * served_model_name, so vLLM answers to that name only) -> no deployment (3). */
    struct run r;
    run_file(&r, FIX "routed.yaml");
    const struct sim_result *chat = sim_deployment_result(r.s, 0);
    const struct sim_result *code = sim_deployment_result(r.s, 1);
    const struct sim_result *all = sim_result(r.s);
    cr_assert_str_eq(sim_deployment_scenario(r.s, 0)->deployment, "chat");
    cr_assert_eq(chat->n_requests, 3);
    cr_assert_eq(code->n_requests, 3);
    cr_assert_eq(all->unknown_model_requests, 3);
    cr_assert_eq(all->n_requests, 6);
    /* arrivals keep the trace's clock (the first row at 0): chat's last at 4.0 s, code's
     * first at 0.5 s */
    cr_assert_eq(chat->last_arrival_us, 4000000);
    cr_assert_eq(code->first_arrival_us, 500000);
    cr_assert_eq(all->n_outcome[OUTCOME_OK], 6);
    run_done(&r);
}

/* Load `yaml` (written to a per-process file) and expect a load error naming `what` at
 * line `line`. */
static void expect_error(const char *yaml, long line, const char *what)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/llmcap-test-deployments-%d.yaml", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(yaml, f);
    fclose(f);
    struct scenario sc;
    struct sim_err err = {0};
    int rc = scenario_load(&sc, path, NULL, 0, &err);
    remove(path);
    cr_assert_eq(rc, SIM_EINVAL, "loaded: %s", yaml);
    char at[64];
    snprintf(at, sizeof at, ":%ld:", line);
    cr_assert(strstr(err.where, at) != NULL, "%s: %s (want line %ld)", err.where, err.msg, line);
    cr_assert(strstr(err.msg, what) != NULL, "%s", err.msg);
}

#define DEP(name)                                                                          \
    "- name: " name "\n"                                                                   \
    "  model: {name: m}\n"                                                                 \
    "  engine: {max_model_len: 64, num_gpu_blocks: 10, latency: {model: constant, "        \
    "constant: {prefill_per_token_us: 1, decode_iteration_ms: 1}}}\n"                      \
    "  workload: {arrivals: {rate_per_s: 1}, count: 1, prompt_tokens: {dist: constant, "   \
    "value: 1}, output_tokens: {dist: constant, value: 1}}\n"

Test(deployments, scenario_errors)
{
    expect_error("engine: {kind: vllm}\ndeployments:\n" DEP("a"), 1,
                 "'engine' belongs in each deployment");
    expect_error("deployments:\n" DEP("a") DEP("a"), 6, "two deployments are named 'a'");
    expect_error("deployments:\n" DEP("Chat_1"), 2, "DNS-1123 label");
    expect_error("deployments: []\n", 1, "non-empty list");
    expect_error("deployments:\n- name: a\n  model: {name: m}\n", 2,
                 "'deployments.0.workload' is required");
}

static int count_row(void *ctx, const struct db_value *cols, int n)
{
    cr_assert_eq(n, 1);
    *(int64_t *)ctx = cols[0].i;
    return 0;
}

static int64_t count(struct db *db, const char *sql)
{
    int64_t n = -1;
    struct sim_err err = {0};
    cr_assert_eq(db_query(db, sql, NULL, 0, count_row, &n, &err), SIM_OK, "%s", err.msg);
    return n;
}

Test(deployments, results_database_per_deployment)
{
    /* One row per deployment in `deployments`, each one's summary keys and SLO verdict;
     * the run's summary is the cluster's; merge copies them. */
    gsl_set_error_handler_off();
    char path[128], merged[128];
    snprintf(path, sizeof path, "/tmp/llmcap-test-deployments-%d.db", (int)getpid());
    snprintf(merged, sizeof merged, "/tmp/llmcap-test-deployments-%d-m.db", (int)getpid());
    remove(path);
    remove(merged);
    struct run r;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&r.sc, FIX "routed.yaml", NULL, 0, &err), SIM_OK, "%s", err.msg);
    struct db *db = db_open(path, &err);
    cr_assert_not_null(db, "%s", err.msg);
    int64_t id;
    cr_assert_eq(db_begin_run(db, &id, &err), SIM_OK, "%s", err.msg);
    r.cat = sim_load_catalog(&r.sc, &err);
    struct sim_options opt = {.catalog = r.cat, .sink = db_sink(db)};
    r.s = sim_new(&r.sc, &opt, &err);
    cr_assert_not_null(r.s, "%s", err.msg);
    cr_assert_eq(sim_run(r.s, &err), SIM_OK, "%s", err.msg);
    struct db_run_info info = {&r.sc, NULL, "constant", r.s};
    cr_assert_eq(db_finish_run(db, &info, sim_result(r.s), 0.0, &err), SIM_OK, "%s", err.msg);
    cr_assert_eq(count(db, "SELECT count(*) FROM deployments"), 2);
    cr_assert_eq(count(db, "SELECT value FROM deployment_summary WHERE deployment = 'chat' "
                           "AND key = 'requests_total'"),
                 3);
    cr_assert_eq(count(db, "SELECT value FROM summary WHERE key = 'requests_unknown_model'"),
                 3);
    cr_assert_eq(count(db, "SELECT value FROM summary WHERE key = 'requests_total'"), 6);
    cr_assert_eq(count(db, "SELECT count(DISTINCT request_id) FROM requests"), 6);
    db_close(db);
    struct db *out = db_open(merged, &err);
    cr_assert_not_null(out, "%s", err.msg);
    struct db_merge_stats ms = {0};
    cr_assert_eq(db_merge(out, path, &ms, &err), SIM_OK, "%s", err.msg);
    cr_assert_eq(count(out, "SELECT count(*) FROM deployment_summary WHERE deployment = 'code' "
                            "AND key = 'requests_total' AND value = 3"),
                 1);
    db_close(out);
    remove(path);
    remove(merged);
    run_done(&r);
}

/* Each deployment names its own catalog file (the plan fixture: both name catalog.json,
 * which prices the 'test' region). The run loads every deployment's catalog, not only
 * the top-level model.catalog, which this scenario does not have: before, its cluster
 * was refused for a region the built-in catalog does not price. */
Test(deployments, each_deployments_own_catalog_is_loaded)
{
    struct run r;
    gsl_set_error_handler_off();
    struct sim_err err = {0};
    const char *set[] = {"duration=60s"};
    cr_assert_eq(scenario_load(&r.sc, FIXTURES "/plan/shared_pack.yaml", set, 1, &err), SIM_OK,
                 "%s: %s", err.where, err.msg);
    cr_assert_str_empty(r.sc.model.catalog_path);
    cr_assert_str_neq(r.sc.deployments[0].model.catalog_path, "");
    run_loaded(&r);
    run_done(&r);
}
