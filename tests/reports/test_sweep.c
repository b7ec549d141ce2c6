/* Sweeps: the grid, labels and shards (unit), and llmcap sweep through the CLI. */
#include "helpers.h"
#include "reports/sweep.h"

static struct sweep grid(const char *a, const char *b)
{
    struct sweep s;
    struct sim_err err = {0};
    sweep_init(&s);
    cr_assert_eq(sweep_add_axis(&s, a, &err), SIM_OK, "%s", err.msg);
    if (b)
        cr_assert_eq(sweep_add_axis(&s, b, &err), SIM_OK, "%s", err.msg);
    return s;
}

Test(sweep, grid_is_row_major_with_the_first_axis_slowest)
{
    struct sweep s = grid("fleet.replicas=1,2", "engine.max_num_seqs=8,16,32");
    cr_assert_eq(sweep_points(&s), 6);
    static const char *const want[6][2] = {
        {"fleet.replicas=1", "engine.max_num_seqs=8"},
        {"fleet.replicas=1", "engine.max_num_seqs=16"},
        {"fleet.replicas=1", "engine.max_num_seqs=32"},
        {"fleet.replicas=2", "engine.max_num_seqs=8"},
        {"fleet.replicas=2", "engine.max_num_seqs=16"},
        {"fleet.replicas=2", "engine.max_num_seqs=32"},
    };
    for (size_t p = 0; p < 6; p++)
        for (size_t a = 0; a < 2; a++) {
            char buf[128];
            sweep_point_set(&s, p, a, buf, sizeof buf);
            cr_assert_str_eq(buf, want[p][a], "point %zu axis %zu", p, a);
        }
    char *l = sweep_labels_json(&s, 4);
    cr_assert_str_eq(l, "{\"fleet.replicas\": 2, \"engine.max_num_seqs\": 16}");
    free(l);
    sweep_release(&s);
}

Test(sweep, labels_keep_numbers_and_booleans_and_quote_the_rest)
{
    struct sweep s = grid("a=-0.5,2.5e3,01,true,30s,{x: 1, y: [2, 3]},'q,r'", NULL);
    /* commas inside braces, brackets and quotes do not split values */
    cr_assert_eq(sweep_points(&s), 7);
    static const char *const want[7] = {"{\"a\": -0.5}",     "{\"a\": 2.5e3}",
                                        "{\"a\": \"01\"}",   "{\"a\": true}",
                                        "{\"a\": \"30s\"}",  "{\"a\": \"{x: 1, y: [2, 3]}\"}",
                                        "{\"a\": \"'q,r'\"}"};
    for (size_t p = 0; p < 7; p++) {
        char *l = sweep_labels_json(&s, p);
        cr_assert_str_eq(l, want[p]);
        free(l);
    }
    sweep_release(&s);
}

Test(sweep, bad_axes_and_shards_are_reported_exactly)
{
    struct sweep s;
    struct sim_err err = {0};
    sweep_init(&s);
    cr_assert_eq(sweep_add_axis(&s, "fleet.replicas", &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, "--vary");
    cr_assert_str_eq(err.msg, "invalid --vary 'fleet.replicas': expected PATH=V1,V2,...");
    cr_assert_eq(sweep_add_axis(&s, "a=1,,2", &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "invalid --vary 'a=1,,2': an empty value (two commas, or a comma "
                              "at an end)");
    cr_assert_eq(sweep_add_axis(&s, "a=1,2", &err), SIM_OK);
    cr_assert_eq(sweep_add_axis(&s, "a=3", &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'a' is varied twice: give all its values in one --vary");
    sweep_release(&s);
    unsigned i, n;
    cr_assert_eq(sweep_parse_shard("1/3", &i, &n, &err), SIM_OK);
    cr_assert_eq(i, 1);
    cr_assert_eq(n, 3);
    cr_assert_eq(sweep_parse_shard("3/3", &i, &n, &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, "--shard");
    cr_assert_str_eq(err.msg, "'--shard' must be I/N with 0 <= I < N <= 100000 (I counts from "
                              "0), got '3/3'");
    cr_assert_eq(sweep_parse_shard("-1/3", &i, &n, &err), SIM_EINVAL);
    cr_assert_eq(sweep_parse_shard("1", &i, &n, &err), SIM_EINVAL);
    /* shard 1/3 of 10 points: 1, 4, 7 */
    size_t got[10], k = 0;
    for (size_t p = 0; p < 10; p++)
        if (sweep_in_shard(p, 1, 3))
            got[k++] = p;
    cr_assert_eq(k, 3);
    cr_assert(got[0] == 1 && got[1] == 4 && got[2] == 7);
}

#define VARY "--vary fleet.replicas=1,2 --vary workload.arrivals.rate_per_s=2,4"

Test(sweep, runs_every_point_in_grid_order_labelled_with_its_values)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "sweep");
    cr_assert_eq(llmcap(dir, "", "sweep %s " VARY " -j 2 -o %s/s.db", STEADY, dir), 0);
    char db[1100];
    snprintf(db, sizeof db, "%s/s.db", dir);
    char *runs = dump(db, "SELECT run_id, labels_json, overrides FROM runs ORDER BY run_id");
    cr_assert_str_eq(
        runs, "1|{\"fleet.replicas\": 1, \"workload.arrivals.rate_per_s\": 2}|fleet.replicas=1;"
              "workload.arrivals.rate_per_s=2|\n"
              "2|{\"fleet.replicas\": 1, \"workload.arrivals.rate_per_s\": 4}|fleet.replicas=1;"
              "workload.arrivals.rate_per_s=4|\n"
              "3|{\"fleet.replicas\": 2, \"workload.arrivals.rate_per_s\": 2}|fleet.replicas=2;"
              "workload.arrivals.rate_per_s=2|\n"
              "4|{\"fleet.replicas\": 2, \"workload.arrivals.rate_per_s\": 4}|fleet.replicas=2;"
              "workload.arrivals.rate_per_s=4|\n");
    free(runs);
    /* the points really differ: 200 requests at 4 req/s end about 50 s sooner than at 2 */
    double end2 = query_num(db, "SELECT sim_end_s FROM runs WHERE run_id = 1");
    double end4 = query_num(db, "SELECT sim_end_s FROM runs WHERE run_id = 2");
    cr_assert_float_eq(end2 - end4, 50.0, 0.5);
    /* run again: every point is already there */
    cr_assert_eq(llmcap(dir, "", "sweep %s " VARY " -j 2 -o %s/s.db", STEADY, dir), 0);
    char *out = out_of(dir, "out");
    cr_assert(strstr(out, "; 0 run, 4 already there, 0 failed;"), "%s", out);
    free(out);
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM runs"), 4.0, 0.0);
    rm_tree(dir);
}

/* Rows of every table that depend on the run's content, keyed by the point's labels, not
 * by run id or wall time. */
static const char *const content[] = {
    "SELECT r.labels_json, r.overrides, r.seed, r.scenario_sha256, r.run_key, r.sim_end_s, "
    "r.n_events, r.n_requests FROM runs r ORDER BY r.labels_json",
    "SELECT r.labels_json, q.request_id, q.arrival_s, q.prompt_tokens, q.output_tokens, "
    "q.generated_tokens, q.replica, q.first_token_s, q.finish_s, q.ttft_s, q.tpot_s, q.e2e_s, "
    "q.preemptions, q.retries, q.outcome FROM requests q JOIN runs r USING (run_id) ORDER BY "
    "r.labels_json, q.request_id",
    "SELECT r.labels_json, s.key, s.value FROM summary s JOIN runs r USING (run_id) ORDER BY "
    "r.labels_json, s.key",
    "SELECT r.labels_json, s.slo, s.target, s.actual, s.pass FROM slo_results s JOIN runs r "
    "USING (run_id) ORDER BY r.labels_json, s.slo",
    "SELECT r.labels_json, s.t_s, s.metric, s.replica, s.value FROM samples s JOIN runs r "
    "USING (run_id) ORDER BY r.labels_json, s.t_s, s.metric, s.replica",
    "SELECT r.labels_json, p.pod_id, p.created_s, p.ready_s, p.terminated_s FROM pods p JOIN "
    "runs r USING (run_id) ORDER BY r.labels_json, p.pod_id",
};

Test(sweep, shards_merged_give_exactly_the_runs_of_one_process)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "shards");
    cr_assert_eq(llmcap(dir, "", "sweep %s " VARY " -j 2 -o %s/one.db -q", STEADY, dir), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(llmcap(dir, "", "sweep %s " VARY " -j 1 --shard %d/3 -o %s/shard%d.db -q",
                            STEADY, i, dir, i),
                     0);
    /* shard 0 holds points 0 and 3, shard 1 point 1, shard 2 point 2; merged in another
     * order than the grid's */
    cr_assert_eq(llmcap(dir, "", "merge %s/all.db %s/shard2.db %s/shard0.db %s/shard1.db", dir, dir,
                        dir, dir),
                 0);
    char one[1100], all[1100];
    snprintf(one, sizeof one, "%s/one.db", dir);
    snprintf(all, sizeof all, "%s/all.db", dir);
    for (size_t i = 0; i < sizeof content / sizeof content[0]; i++) {
        char *x = dump(one, content[i]), *y = dump(all, content[i]);
        cr_assert_gt(strlen(x), 0, "%s returned nothing", content[i]);
        cr_assert(!strcmp(x, y), "%s differs between the sharded and the single sweep", content[i]);
        free(x);
        free(y);
    }
    cr_assert_float_eq(query_num(all, "SELECT count(*) FROM requests"), 800.0, 0.0);
    rm_tree(dir);
}

Test(sweep, a_bad_point_stops_the_sweep_before_anything_runs)
{
    char dir[256], want[1200];
    make_tmp(dir, sizeof dir, "sweepbad");
    cr_assert_eq(llmcap(dir, "", "sweep %s --vary fleet.replicas=1,0 -o %s/s.db", STEADY, dir), 2);
    char *err = out_of(dir, "err");
    cr_assert(strstr(err, "llmcap: sweep: in point 1 of the grid: {\"fleet.replicas\": 0}\n"), "%s",
              err);
    snprintf(want, sizeof want, "%s/s.db", dir);
    cr_assert(!file_exists(want), "nothing is written");
    free(err);
    cr_assert_eq(
        llmcap(dir, "", "sweep %s --vary fleet.replicas=1 --shard 2/2 -o %s/s.db", STEADY, dir), 2);
    err = out_of(dir, "err");
    cr_assert_str_eq(err, "llmcap: --shard: error: '--shard' must be I/N with 0 <= I < N <= "
                          "100000 (I counts from 0), got '2/2'\n");
    free(err);
    cr_assert_eq(llmcap(dir, "", "sweep %s --vary fleet.replicas=1", STEADY), 2);
    err = out_of(dir, "err");
    cr_assert_str_eq(err, "llmcap: sweep: error: '-o DB' is required (the database of the "
                          "sweep)\nTry 'llmcap sweep --help'.\n");
    free(err);
    rm_tree(dir);
}

/* The last command printed `needle` on DIR's "out" or "err". */
static void printed(const char *dir, const char *which, const char *needle)
{
    char *text = out_of(dir, which);
    cr_assert(strstr(text, needle), "'%s' not in\n%s", needle, text);
    free(text);
}

/* A deployment of several is varied by name (or index) like any other field: chat's
 * replicas in split_three_one.yaml (3 in the file) are 1 and then 2, code's stay 1. */
Test(sweep, varies_one_deployment_of_several_by_name)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "sweepdep");
    cr_assert_eq(llmcap(dir, "", "sweep %s/multi/split_three_one.yaml --vary "
                                 "deployments.chat.fleet.replicas=1,2 -o %s/s.db -q",
                        FIXTURES, dir),
                 0);
    char db[1100];
    snprintf(db, sizeof db, "%s/s.db", dir);
    char *rows = dump(db, "SELECT r.labels_json, d.deployment, s.value FROM runs r JOIN deployments "
                          "d USING (run_id) JOIN deployment_summary s ON s.run_id = r.run_id AND "
                          "s.deployment = d.deployment AND s.key = 'replicas_peak_ready' ORDER "
                          "BY r.run_id, d.position");
    cr_assert_str_eq(rows, "{\"deployments.chat.fleet.replicas\": 1}|chat|1|\n"
                           "{\"deployments.chat.fleet.replicas\": 1}|code|1|\n"
                           "{\"deployments.chat.fleet.replicas\": 2}|chat|2|\n"
                           "{\"deployments.chat.fleet.replicas\": 2}|code|1|\n");
    free(rows);
    /* a name that is not there stops the sweep before anything runs */
    cr_assert_eq(llmcap(dir, "", "sweep %s/multi/split_three_one.yaml --vary "
                                 "deployments.chta.fleet.replicas=1 -o %s/t.db",
                        FIXTURES, dir),
                 2);
    printed(dir, "err", "'chta' is neither an index nor the name of an item (names: chat, code); "
                        "did you mean 'chat'?");
    /* the SLO column counts every deployment's verdicts: code's TPOT (at least its 20 ms
     * decode iteration) fails a 10 ms target and passes a 50 ms one */
    cr_assert_eq(llmcap(dir, "", "sweep %s/multi/split_three_one.yaml --vary "
                                 "deployments.code.slo.tpot_p95=10ms,50ms -j 1 -o %s/u.db",
                        FIXTURES, dir),
                 0);
    printed(dir, "out", "      0       1  FAIL 2/3    {\"deployments.code.slo.tpot_p95\": "
                        "\"10ms\"}\n      1       2  PASS 3/3    ");
    rm_tree(dir);
}
