/*
 * PromQL subset: selectors, aggregation, arithmetic, rate/increase extrapolation,
 * histogram_quantile, parse errors with their exact location, KEDA semantics. Expected
 * values are worked out by hand from Prometheus' definitions (promql/functions.go
 * extrapolatedRate, promql/quantile.go BucketQuantile); each test says how.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim/k8s/promql.h"
#include "sim/k8s/tsdb.h"

#define S ((int64_t)1000000)
#define FILE_ "scenarios/keda.yaml"

/* A series from "name" and "k=v,k=v" labels. */
static int32_t add(struct tsdb *db, const char *name, const char *spec)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    struct tsdb_labels l = {0};
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        l.l[l.n++] = (struct tsdb_label){kv, eq + 1};
    }
    int32_t id = tsdb_series(db, name, &l);
    cr_assert_geq(id, 0);
    return id;
}

static struct tsdb *new_db(void)
{
    struct sim_err err = {0};
    struct tsdb *db = tsdb_new(15 * S, 600 * S, &err);
    cr_assert_not_null(db, "%s", err.msg);
    return db;
}

static struct promql_expr *parse_ok(const char *q)
{
    struct sim_err err = {0};
    struct promql_expr *e = promql_parse(q, FILE_, 12, 14, &err);
    cr_assert_not_null(e, "%s: %s: %s", q, err.where, err.msg);
    return e;
}

/* Evaluate `q` at `t`; the result's series count; `*v` the value of the series whose
 * label `lname` is `lvalue` (or of the first series, or the scalar, when lname is NULL). */
static size_t eval_q(struct tsdb *db, const char *q, int64_t t, const char *lname,
                     const char *lvalue, double *v)
{
    struct promql_expr *e = parse_ok(q);
    struct sim_err err = {0};
    struct promql_value r;
    cr_assert_eq(promql_eval(e, db, t, &r, &err), SIM_OK, "%s: %s", q, err.msg);
    size_t n = r.n;
    *v = NAN;
    if (r.type == PROMQL_SCALAR) {
        *v = r.scalar;
        n = 1;
    } else {
        int32_t lid = lname ? tsdb_str_find(db, lname) : -1;
        for (size_t i = 0; i < r.n; i++) {
            int32_t vid = lname ? tsdb_lset_get(&r.samples[i].labels, lid) : -1;
            if (!lname || (vid >= 0 && strcmp(tsdb_str(db, vid), lvalue) == 0)) {
                *v = r.samples[i].v;
                break;
            }
        }
    }
    promql_free(e);
    return n;
}

static double eval1(struct tsdb *db, const char *q, int64_t t)
{
    double v;
    size_t n = eval_q(db, q, t, NULL, NULL, &v);
    cr_assert_eq(n, 1, "%s: %zu series", q, n);
    return v;
}

static void parse_fails(const char *q, const char *where, const char *msg)
{
    struct sim_err err = {0};
    struct promql_expr *e = promql_parse(q, FILE_, 12, 14, &err);
    cr_assert_null(e, "%s parsed", q);
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.where, where, "%s: got %s: %s", q, err.where, err.msg);
    cr_assert_str_eq(err.msg, msg, "%s: got %s: %s", q, err.where, err.msg);
}

/* Three replicas' queue depth: vllm-0 3, vllm-1 5 (model llama), vllm-2 7 (model qwen). */
static struct tsdb *queue_db(void)
{
    struct tsdb *db = new_db();
    const char *specs[] = {"pod=vllm-0,model_name=llama,engine=0",
                           "pod=vllm-1,model_name=llama,engine=0", "pod=vllm-2,model_name=qwen"};
    double vals[] = {3, 5, 7};
    for (int i = 0; i < 3; i++)
        tsdb_append(db, add(db, "vllm:num_requests_waiting", specs[i]), 100 * S, vals[i]);
    return db;
}

/* ---- selectors ---- */

Test(promql, equality_and_inequality_matchers)
{
    struct tsdb *db = queue_db();
    double v;
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting", 110 * S, NULL, NULL, &v), 3);
    cr_assert_eq(eval1(db, "vllm:num_requests_waiting{pod=\"vllm-1\"}", 110 * S), 5);
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting{pod!=\"vllm-1\"}", 110 * S, "pod", "vllm-2",
                        &v),
                 2);
    cr_assert_eq(v, 7);
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting{pod=\"vllm-9\"}", 110 * S, NULL, NULL, &v),
                 0);
    /* A label a series lacks has the value "". */
    cr_assert_eq(eval1(db, "vllm:num_requests_waiting{engine=\"\"}", 110 * S), 7);
    cr_assert_eq(eval1(db, "{__name__=\"vllm:num_requests_waiting\", model_name='qwen'}", 110 * S),
                 7);
    tsdb_free(db);
}

Test(promql, regex_matchers_are_anchored_like_prometheus)
{
    struct tsdb *db = queue_db();
    double v;
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting{pod=~\"vllm-[02]\"}", 110 * S, NULL, NULL,
                        &v),
                 2);
    /* "vllm" alone matches no value whole: Prometheus anchors as ^(?:vllm)$. */
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting{pod=~\"vllm\"}", 110 * S, NULL, NULL, &v),
                 0);
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting{pod=~\"vllm-\\\\d\"}", 110 * S, NULL, NULL,
                        &v),
                 3);
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting{pod=~`vllm-(?:0|1)`}", 110 * S, NULL, NULL,
                        &v),
                 2);
    cr_assert_eq(eval1(db, "vllm:num_requests_waiting{pod=~\"(?i)VLLM-2\"}", 110 * S), 7);
    cr_assert_eq(eval1(db, "vllm:num_requests_waiting{pod!~\"vllm-[01]\"}", 110 * S), 7);
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting{pod=~\"v.*?-1|vllm-2\"}", 110 * S, NULL,
                        NULL, &v),
                 2);
    tsdb_free(db);
}

Test(promql, instant_selector_does_not_see_samples_older_than_five_minutes)
{
    struct tsdb *db = queue_db(); /* samples at 100 s */
    double v;
    cr_assert_eq(eval_q(db, "sum(vllm:num_requests_waiting)", 399 * S, NULL, NULL, &v), 1);
    cr_assert_eq(v, 15);
    cr_assert_eq(eval_q(db, "sum(vllm:num_requests_waiting)", 400 * S, NULL, NULL, &v), 0);
    /* offset moves the evaluation time back: at 400 s, offset 1m looks at 340 s. */
    cr_assert_eq(eval1(db, "sum(vllm:num_requests_waiting offset 1m)", 400 * S), 15);
    tsdb_free(db);
}

Test(promql, stale_series_leave_the_result)
{
    struct tsdb *db = queue_db();
    int32_t id = add(db, "vllm:num_requests_waiting", "pod=vllm-1,model_name=llama,engine=0");
    tsdb_mark_stale(db, id, 105 * S);
    cr_assert_eq(eval1(db, "sum(vllm:num_requests_waiting)", 104 * S), 15);
    cr_assert_eq(eval1(db, "sum(vllm:num_requests_waiting)", 105 * S), 10);
    tsdb_free(db);
}

Test(promql, series_created_after_the_first_evaluation_are_picked_up)
{
    struct tsdb *db = queue_db();
    struct promql_expr *e = parse_ok("sum(vllm:num_requests_waiting{model_name=\"llama\"})");
    struct promql_value r;
    cr_assert_eq(promql_eval(e, db, 110 * S, &r, NULL), SIM_OK);
    cr_assert_eq(r.samples[0].v, 8);
    tsdb_append(db, add(db, "vllm:num_requests_waiting", "pod=vllm-3,model_name=llama"), 111 * S,
                4);
    tsdb_append(db, add(db, "vllm:num_requests_waiting", "pod=vllm-4,model_name=qwen"), 111 * S, 4);
    cr_assert_eq(promql_eval(e, db, 112 * S, &r, NULL), SIM_OK);
    cr_assert_eq(r.samples[0].v, 12);
    /* A new store resets the cache of matching series. */
    struct tsdb *db2 = new_db();
    tsdb_append(db2, add(db2, "vllm:num_requests_waiting", "pod=a,model_name=llama"), 0, 2.5);
    cr_assert_eq(promql_eval(e, db2, S, &r, NULL), SIM_OK);
    cr_assert_eq(r.samples[0].v, 2.5);
    promql_free(e);
    tsdb_free(db2);
    tsdb_free(db);
}

/* ---- aggregation ---- */

Test(promql, aggregations_over_all_series)
{
    struct tsdb *db = queue_db(); /* 3, 5, 7 */
    cr_assert_eq(eval1(db, "sum(vllm:num_requests_waiting)", 110 * S), 15);
    cr_assert_eq(eval1(db, "avg(vllm:num_requests_waiting)", 110 * S), 5);
    cr_assert_eq(eval1(db, "min(vllm:num_requests_waiting)", 110 * S), 3);
    cr_assert_eq(eval1(db, "max(vllm:num_requests_waiting)", 110 * S), 7);
    cr_assert_eq(eval1(db, "count(vllm:num_requests_waiting)", 110 * S), 3);
    cr_assert_eq(eval1(db, "SUM(vllm:num_requests_waiting)", 110 * S), 15);
    tsdb_free(db);
}

Test(promql, aggregation_of_nothing_is_an_empty_vector)
{
    struct tsdb *db = new_db();
    double v;
    cr_assert_eq(eval_q(db, "sum(vllm:num_requests_waiting)", 0, NULL, NULL, &v), 0);
    cr_assert_eq(eval_q(db, "count(vllm:num_requests_waiting)", 0, NULL, NULL, &v), 0);
    tsdb_free(db);
}

Test(promql, by_and_without_in_both_placements)
{
    struct tsdb *db = queue_db();
    const char *qs[] = {
        "sum by (model_name) (vllm:num_requests_waiting)",
        "sum(vllm:num_requests_waiting) by (model_name)",
        "sum without (pod, engine) (vllm:num_requests_waiting)",
        "sum(vllm:num_requests_waiting) without (pod,engine,)",
    };
    for (size_t i = 0; i < 4; i++) {
        double v;
        cr_assert_eq(eval_q(db, qs[i], 110 * S, "model_name", "llama", &v), 2, "%s", qs[i]);
        cr_assert_eq(v, 8, "%s", qs[i]);
        eval_q(db, qs[i], 110 * S, "model_name", "qwen", &v);
        cr_assert_eq(v, 7, "%s", qs[i]);
    }
    double v;
    cr_assert_eq(eval_q(db, "max by (pod) (vllm:num_requests_waiting)", 110 * S, "pod", "vllm-1",
                        &v),
                 3);
    cr_assert_eq(v, 5);
    cr_assert_eq(eval_q(db, "count by (engine) (vllm:num_requests_waiting)", 110 * S, "engine",
                        "0", &v),
                 2); /* {engine="0"}: 2 series, {}: 1 */
    cr_assert_eq(v, 2);
    cr_assert_eq(eval_q(db, "avg by (nonexistent) (vllm:num_requests_waiting)", 110 * S, NULL,
                        NULL, &v),
                 1);
    cr_assert_eq(v, 5);
    tsdb_free(db);
}

Test(promql, aggregation_keeps_only_the_grouping_labels)
{
    struct tsdb *db = queue_db();
    struct promql_expr *e = parse_ok("sum by (model_name) (vllm:num_requests_waiting)");
    struct promql_value r;
    cr_assert_eq(promql_eval(e, db, 110 * S, &r, NULL), SIM_OK);
    char buf[128];
    cr_assert_str_eq(promql_format_sample(db, &r.samples[0], buf, sizeof buf),
                     "{model_name=\"llama\"}");
    promql_free(e);
    e = parse_ok("vllm:num_requests_waiting{pod=\"vllm-0\"}");
    cr_assert_eq(promql_eval(e, db, 110 * S, &r, NULL), SIM_OK);
    cr_assert_str_eq(promql_format_sample(db, &r.samples[0], buf, sizeof buf),
                     "vllm:num_requests_waiting{engine=\"0\", model_name=\"llama\", "
                     "pod=\"vllm-0\"}");
    promql_free(e);
    tsdb_free(db);
}

/* ---- arithmetic ---- */

Test(promql, scalar_arithmetic_and_precedence)
{
    struct tsdb *db = new_db();
    cr_assert_eq(eval1(db, "1 + 2 * 3 ^ 2", 0), 19);
    cr_assert_eq(eval1(db, "(1 + 2) * 3", 0), 9);
    cr_assert_eq(eval1(db, "2 ^ 3 ^ 2", 0), 512);  /* right-associative */
    cr_assert_eq(eval1(db, "-2 ^ 2", 0), -4);      /* unary minus binds looser than ^ */
    cr_assert_eq(eval1(db, "10 / 4 - 1", 0), 1.5); /* left to right */
    cr_assert_eq(eval1(db, "10 - 4 - 3", 0), 3);
    cr_assert_eq(eval1(db, "7 % 4", 0), 3);
    cr_assert_eq(eval1(db, "2 * -3", 0), -6);
    cr_assert_eq(eval1(db, "0x10 + 1e2 + .5", 0), 116.5);
    cr_assert(isinf(eval1(db, "1 / 0", 0)));
    cr_assert(isnan(eval1(db, "NaN", 0)));
    cr_assert_eq(eval1(db, "-Inf", 0), -INFINITY);
    cr_assert_eq(eval1(db, "# a comment\n 2 * 21", 0), 42);
    tsdb_free(db);
}

Test(promql, vector_scalar_and_vector_vector_arithmetic)
{
    struct tsdb *db = queue_db(); /* 3, 5, 7 */
    double v;
    cr_assert_eq(eval1(db, "sum(vllm:num_requests_waiting) / 4", 110 * S), 3.75);
    cr_assert_eq(eval1(db, "60 - sum(vllm:num_requests_waiting)", 110 * S), 45);
    cr_assert_eq(eval1(db, "-sum(vllm:num_requests_waiting)", 110 * S), -15);
    /* Both sides have the empty label set, so they match one-to-one. */
    cr_assert_eq(eval1(db, "sum(vllm:num_requests_waiting) / count(vllm:num_requests_waiting)",
                       110 * S),
                 5);
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting * 2 + 1", 110 * S, "pod", "vllm-2", &v), 3);
    cr_assert_eq(v, 15);
    tsdb_free(db);
}

Test(promql, vector_vector_matches_identical_label_sets)
{
    struct tsdb *db = queue_db();
    tsdb_append(db, add(db, "vllm:num_requests_running", "pod=vllm-0,model_name=llama,engine=0"),
                100 * S, 1);
    tsdb_append(db, add(db, "vllm:num_requests_running", "pod=vllm-2,model_name=qwen"), 100 * S,
                14);
    double v;
    /* vllm-1 has no running series: it drops out; names do not take part in matching. */
    cr_assert_eq(eval_q(db, "vllm:num_requests_waiting / vllm:num_requests_running", 110 * S,
                        "pod", "vllm-2", &v),
                 2);
    cr_assert_eq(v, 0.5);
    eval_q(db, "vllm:num_requests_waiting / vllm:num_requests_running", 110 * S, "pod", "vllm-0",
           &v);
    cr_assert_eq(v, 3);
    cr_assert_eq(eval1(db, "sum(vllm:num_requests_waiting + vllm:num_requests_running)", 110 * S),
                 3 + 1 + 7 + 14);
    tsdb_free(db);
}

/* ---- rate and friends ---- */

/*
 * A counter scraped at 5, 20, 35, 50 s, evaluated at 60 s over [1m], window (0, 60]:
 * first/last sample 5 s and 50 s, sampled interval 45 s, 3 steps of 15 s, threshold
 * 1.1 * 15 = 16.5 s. Start gap 5 s and end gap 10 s are both below it, so Prometheus
 * extrapolates to both edges: factor (45 + 5 + 10) / 45 = 4/3.
 */
static struct tsdb *counter_db(const double vals[4])
{
    struct tsdb *db = new_db();
    int32_t id = add(db, "vllm:prompt_tokens_total", "pod=vllm-0,model_name=llama");
    for (int i = 0; i < 4; i++)
        tsdb_append(db, id, (5 + 15 * i) * S, vals[i]);
    return db;
}

Test(promql, increase_and_rate_extrapolate_to_the_window_edges)
{
    /* 10..55: raw increase 45; the zero point is 45 * 10/45 = 10 s back, beyond the 5 s
     * gap, so it does not limit. increase = 45 * 4/3 = 60, rate = 60 / 60 s = 1. */
    const double vals[] = {10, 25, 40, 55};
    struct tsdb *db = counter_db(vals);
    /* 1e-12: a handful of float operations on values near 1..60. */
    cr_assert_float_eq(eval1(db, "increase(vllm:prompt_tokens_total[1m])", 60 * S), 60, 1e-12);
    cr_assert_float_eq(eval1(db, "rate(vllm:prompt_tokens_total[1m])", 60 * S), 1, 1e-12);
    cr_assert_float_eq(eval1(db, "sum(rate(vllm:prompt_tokens_total[60s]))", 60 * S), 1, 1e-12);
    /* irate: last two samples, (55 - 40) / 15 s. */
    cr_assert_float_eq(eval1(db, "irate(vllm:prompt_tokens_total[1m])", 60 * S), 1, 1e-12);
    tsdb_free(db);
}

Test(promql, rate_handles_a_counter_reset)
{
    /* 10, 25, 5, 20: the drop 25 -> 5 is a reset, so 25 is added back: increase before
     * extrapolation 25 + (20 - 10) = 35; zero point 45 * 10/35 = 12.9 s > 5 s gap, no
     * limit. increase = 35 * 4/3 = 46.666..., rate = 46.666... / 60 = 0.7777... */
    const double vals[] = {10, 25, 5, 20};
    struct tsdb *db = counter_db(vals);
    cr_assert_float_eq(eval1(db, "increase(vllm:prompt_tokens_total[1m])", 60 * S), 140.0 / 3,
                       1e-12);
    cr_assert_float_eq(eval1(db, "rate(vllm:prompt_tokens_total[1m])", 60 * S), 140.0 / 180,
                       1e-12);
    /* irate looks at the last two samples only: (20 - 5) / 15 s. */
    cr_assert_float_eq(eval1(db, "irate(vllm:prompt_tokens_total[1m])", 60 * S), 1, 1e-12);
    /* delta (no reset handling): (20 - 10) * 4/3. */
    cr_assert_float_eq(eval1(db, "delta(vllm:prompt_tokens_total[1m])", 60 * S), 40.0 / 3, 1e-12);
    tsdb_free(db);
    /* 10, 25, 40, 5: the reset is in the last step, where irate sees the counter count 5
     * from 0 in 15 s; increase = (40 + 5 - 10) * 4/3 as above. */
    const double late[] = {10, 25, 40, 5};
    db = counter_db(late);
    cr_assert_float_eq(eval1(db, "irate(vllm:prompt_tokens_total[1m])", 60 * S), 5.0 / 15, 1e-12);
    cr_assert_float_eq(eval1(db, "increase(vllm:prompt_tokens_total[1m])", 60 * S), 140.0 / 3,
                       1e-12);
    tsdb_free(db);
}

Test(promql, rate_does_not_extrapolate_a_counter_below_zero)
{
    /* Samples at 20, 35, 50 s: 2, 17, 32. Start gap 20 s >= 16.5 s, so it becomes half a
     * step, 7.5 s; but the counter reaches 0 just 30 * 2/30 = 2 s before 20 s, so the
     * start gap is 2 s. End gap 10 s. increase = 30 * (30 + 2 + 10) / 30 = 42. */
    struct tsdb *db = new_db();
    int32_t id = add(db, "vllm:generation_tokens_total", "pod=vllm-0");
    tsdb_append(db, id, 20 * S, 2);
    tsdb_append(db, id, 35 * S, 17);
    tsdb_append(db, id, 50 * S, 32);
    cr_assert_float_eq(eval1(db, "increase(vllm:generation_tokens_total[1m])", 60 * S), 42, 1e-12);
    cr_assert_float_eq(eval1(db, "rate(vllm:generation_tokens_total[1m])", 60 * S), 0.7, 1e-12);
    /* At 80 s the window (20, 80] holds 35 and 50 only: start gap 15 s < threshold 16.5;
     * end gap 30 s >= 16.5 becomes 7.5 s; zero point 15 * 17/15 = 17 s > 15 s.
     * increase = 15 * (15 + 15 + 7.5) / 15 = 37.5. */
    cr_assert_float_eq(eval1(db, "increase(vllm:generation_tokens_total[1m])", 80 * S), 37.5,
                       1e-12);
    tsdb_free(db);
}

Test(promql, rate_needs_two_samples_in_the_window)
{
    struct tsdb *db = new_db();
    int32_t id = add(db, "vllm:generation_tokens_total", "pod=vllm-0");
    tsdb_append(db, id, 50 * S, 32);
    double v;
    cr_assert_eq(eval_q(db, "rate(vllm:generation_tokens_total[1m])", 60 * S, NULL, NULL, &v), 0);
    cr_assert_eq(eval_q(db, "sum(rate(vllm:generation_tokens_total[1m]))", 60 * S, NULL, NULL, &v),
                 0);
    tsdb_free(db);
}

Test(promql, over_time_functions)
{
    struct tsdb *db = new_db();
    int32_t id = add(db, "vllm:kv_cache_usage_perc", "pod=vllm-0");
    const double vals[] = {0.9, 0.1, 0.2, 0.3, 0.6}; /* at 0, 15, 30, 45, 60 s */
    for (int i = 0; i < 5; i++)
        tsdb_append(db, id, 15 * i * S, vals[i]);
    /* [1m] at 60 s is (0, 60]: the sample at 0 s is out. */
    cr_assert_float_eq(eval1(db, "avg_over_time(vllm:kv_cache_usage_perc[1m])", 60 * S), 0.3,
                       1e-15);
    cr_assert_eq(eval1(db, "max_over_time(vllm:kv_cache_usage_perc[1m])", 60 * S), 0.6);
    cr_assert_eq(eval1(db, "min_over_time(vllm:kv_cache_usage_perc[1m])", 60 * S), 0.1);
    cr_assert_eq(eval1(db, "count_over_time(vllm:kv_cache_usage_perc[1m])", 60 * S), 4);
    cr_assert_float_eq(eval1(db, "sum_over_time(vllm:kv_cache_usage_perc[1m])", 60 * S), 1.2,
                       1e-15);
    cr_assert_eq(eval1(db, "last_over_time(vllm:kv_cache_usage_perc[1m])", 60 * S), 0.6);
    cr_assert_eq(eval1(db, "max_over_time(vllm:kv_cache_usage_perc[61s])", 60 * S), 0.9);
    cr_assert_eq(eval1(db, "max_over_time(vllm:kv_cache_usage_perc[1m] offset 15s)", 75 * S), 0.6);
    tsdb_free(db);
}

Test(promql, math_functions_and_clamps)
{
    struct tsdb *db = queue_db(); /* 3, 5, 7 */
    cr_assert_eq(eval1(db, "clamp_max(sum(vllm:num_requests_waiting), 10)", 110 * S), 10);
    cr_assert_eq(eval1(db, "clamp_min(sum(vllm:num_requests_waiting), 20)", 110 * S), 20);
    cr_assert_eq(eval1(db, "clamp(sum(vllm:num_requests_waiting), 0, 12)", 110 * S), 12);
    double v;
    cr_assert_eq(eval_q(db, "clamp(sum(vllm:num_requests_waiting), 12, 0)", 110 * S, NULL, NULL,
                        &v),
                 0);
    cr_assert_eq(eval1(db, "ceil(sum(vllm:num_requests_waiting) / 4)", 110 * S), 4);
    cr_assert_eq(eval1(db, "floor(sum(vllm:num_requests_waiting) / 4)", 110 * S), 3);
    cr_assert_eq(eval1(db, "round(sum(vllm:num_requests_waiting) / 4)", 110 * S), 4);
    cr_assert_eq(eval1(db, "round(sum(vllm:num_requests_waiting) / 4, 0.5)", 110 * S), 4);
    cr_assert_eq(eval1(db, "abs(-sum(vllm:num_requests_waiting))", 110 * S), 15);
    cr_assert_eq(eval1(db, "sqrt(vector(16))", 0), 4);
    cr_assert_eq(eval1(db, "scalar(sum(vllm:num_requests_waiting)) * 2", 110 * S), 30);
    cr_assert(isnan(eval1(db, "scalar(vllm:num_requests_waiting)", 110 * S))); /* 3 series */
    cr_assert_eq(eval1(db, "vector(2) + 1", 0), 3);
    tsdb_free(db);
}

/* ---- histogram_quantile ---- */

/* Cumulative buckets le=0.1: 10, le=0.5: 30, le=1: 40, le=+Inf: 50 (out of order on
 * purpose: Prometheus sorts them). */
static struct tsdb *hist_db(bool with_inf)
{
    struct tsdb *db = new_db();
    const char *les[] = {"0.5", "0.1", "+Inf", "1"};
    double counts[] = {30, 10, 50, 40};
    for (int i = 0; i < 4; i++) {
        if (!with_inf && i == 2)
            continue;
        char spec[64];
        snprintf(spec, sizeof spec, "pod=vllm-0,le=%s", les[i]);
        tsdb_append(db, add(db, "vllm:time_to_first_token_seconds_bucket", spec), 0, counts[i]);
    }
    return db;
}

static double hq(struct tsdb *db, const char *q)
{
    char text[200];
    snprintf(text, sizeof text, "histogram_quantile(%s, vllm:time_to_first_token_seconds_bucket)",
             q);
    return eval1(db, text, S);
}

Test(promql, histogram_quantile_interpolates_within_the_bucket)
{
    struct tsdb *db = hist_db(true);
    /* q=0.5: rank 25 lies in (0.1, 0.5] holding 20: 0.1 + 0.4 * (25 - 10) / 20 = 0.4. */
    cr_assert_float_eq(hq(db, "0.5"), 0.4, 1e-15);
    /* q=0.8: rank 40 is reached exactly at le=1: 0.5 + 0.5 * (40 - 30) / 10 = 1. */
    cr_assert_float_eq(hq(db, "0.8"), 1.0, 1e-15);
    tsdb_free(db);
}

Test(promql, histogram_quantile_in_the_first_bucket_starts_at_zero)
{
    struct tsdb *db = hist_db(true);
    /* q=0.05: rank 2.5 in (0, 0.1] holding 10: 0.1 * 2.5 / 10 = 0.025. */
    cr_assert_float_eq(hq(db, "0.05"), 0.025, 1e-15);
    tsdb_free(db);
}

Test(promql, histogram_quantile_in_the_inf_bucket_returns_the_last_finite_bound)
{
    struct tsdb *db = hist_db(true);
    /* q=0.9: rank 45 > 40, so it falls in (1, +Inf]: Prometheus returns 1. */
    cr_assert_eq(hq(db, "0.9"), 1.0);
    cr_assert_eq(hq(db, "1"), 1.0);
    tsdb_free(db);
}

Test(promql, histogram_quantile_special_cases)
{
    struct tsdb *db = hist_db(true);
    cr_assert_eq(hq(db, "1.5"), INFINITY);
    cr_assert_eq(hq(db, "-0.5"), -INFINITY);
    cr_assert(isnan(hq(db, "NaN")));
    tsdb_free(db);
    db = hist_db(false); /* no +Inf bucket */
    cr_assert(isnan(hq(db, "0.5")));
    tsdb_free(db);
    /* No observations: NaN. */
    db = new_db();
    tsdb_append(db, add(db, "vllm:time_to_first_token_seconds_bucket", "le=0.1"), 0, 0);
    tsdb_append(db, add(db, "vllm:time_to_first_token_seconds_bucket", "le=+Inf"), 0, 0);
    cr_assert(isnan(hq(db, "0.5")));
    tsdb_free(db);
}

Test(promql, histogram_quantile_forces_monotonic_buckets)
{
    /* le=0.1: 10, le=0.5: 8 (a decrease, raised to 10), le=+Inf: 20. q=0.5: rank 10 is
     * reached at le=0.1 already: 0.1 * 10 / 10 = 0.1. */
    struct tsdb *db = new_db();
    tsdb_append(db, add(db, "vllm:time_to_first_token_seconds_bucket", "le=0.1"), 0, 10);
    tsdb_append(db, add(db, "vllm:time_to_first_token_seconds_bucket", "le=0.5"), 0, 8);
    tsdb_append(db, add(db, "vllm:time_to_first_token_seconds_bucket", "le=+Inf"), 0, 20);
    cr_assert_float_eq(hq(db, "0.5"), 0.1, 1e-15);
    /* q=0.75: rank 15 > 10 at le=0.5 (forced to 10), so (0.5, +Inf]: returns 0.5. */
    cr_assert_eq(hq(db, "0.75"), 0.5);
    tsdb_free(db);
}

/*
 * The typical TTFT trigger: two pods, each bucket counter growing linearly, scraped at
 * 5, 20, 35, 50 s: value = slope * t, so rate over [1m] at 60 s is exactly the slope
 * (raw increase 45 * slope, zero point 5 s back = the start gap, factor 60/45, / 60 s).
 * Pod a slopes: le=0.1 1/s, le=0.5 3/s, +Inf 4/s; pod b: 1, 1, 2. Summed by le:
 * 2, 4, 6. q=0.5: rank 3 in (0.1, 0.5] holding 2: 0.1 + 0.4 * (3 - 2) / 2 = 0.3.
 */
Test(promql, histogram_quantile_of_summed_bucket_rates)
{
    struct tsdb *db = new_db();
    const char *pods[] = {"a", "b"};
    const char *les[] = {"0.1", "0.5", "+Inf"};
    double slopes[2][3] = {{1, 3, 4}, {1, 1, 2}};
    for (int p = 0; p < 2; p++) {
        for (int b = 0; b < 3; b++) {
            char spec[64];
            snprintf(spec, sizeof spec, "pod=%s,model_name=llama,le=%s", pods[p], les[b]);
            int32_t id = add(db, "vllm:time_to_first_token_seconds_bucket", spec);
            for (int i = 0; i < 4; i++)
                tsdb_append(db, id, (5 + 15 * i) * S, slopes[p][b] * (5 + 15 * i));
        }
    }
    const char *q = "histogram_quantile(0.5, sum by (le) "
                    "(rate(vllm:time_to_first_token_seconds_bucket[1m])))";
    /* 1e-12: the rates carry a few ulps from the extrapolation factor. */
    cr_assert_float_eq(eval1(db, q, 60 * S), 0.3, 1e-12);
    double v;
    /* Per pod: a: 2, 6, 8 -> rank 4... a: counts 1, 3, 4 -> rank 2 in (0.1, 0.5]: 0.1 +
     * 0.4 * (2 - 1) / 2 = 0.3; b: counts 1, 1, 2 -> rank 1 reached at le=0.1: 0.1. */
    const char *per_pod = "histogram_quantile(0.5, sum by (le, pod) "
                          "(rate(vllm:time_to_first_token_seconds_bucket[1m])))";
    cr_assert_eq(eval_q(db, per_pod, 60 * S, "pod", "a", &v), 2);
    cr_assert_float_eq(v, 0.3, 1e-12);
    eval_q(db, per_pod, 60 * S, "pod", "b", &v);
    cr_assert_float_eq(v, 0.1, 1e-12);
    /* KEDA reads the fleet-wide p50. */
    struct promql_expr *e = parse_ok(q);
    cr_assert_eq(promql_eval_keda(e, db, 60 * S, true, &v, NULL), SIM_OK);
    cr_assert_float_eq(v, 0.3, 1e-12);
    promql_free(e);
    tsdb_free(db);
}

/* ---- KEDA ---- */

Test(keda, empty_result_is_zero_with_ignore_null_values_else_an_error)
{
    struct tsdb *db = new_db();
    struct promql_expr *e = parse_ok("sum(vllm:num_requests_waiting)");
    double v = -1;
    struct sim_err err = {0};
    cr_assert_eq(promql_eval_keda(e, db, 0, true, &v, &err), SIM_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(promql_eval_keda(e, db, 0, false, &v, &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, FILE_ ":12:14");
    cr_assert_str_eq(err.msg, "query returned no series and ignoreNullValues is false (KEDA: the "
                              "result is empty)");
    promql_free(e);
    tsdb_free(db);
}

Test(keda, one_series_gives_its_value)
{
    struct tsdb *db = queue_db();
    struct promql_expr *e = parse_ok("sum(vllm:num_requests_waiting) - 20");
    double v;
    cr_assert_eq(promql_eval_keda(e, db, 110 * S, true, &v, NULL), SIM_OK);
    cr_assert_eq(v, -5); /* not clamped: KEDA clamps only when it hands the value to the HPA */
    promql_free(e);
    tsdb_free(db);
}

Test(keda, two_series_are_an_error)
{
    struct tsdb *db = queue_db();
    struct promql_expr *e = parse_ok("sum by (model_name) (vllm:num_requests_waiting)");
    double v;
    struct sim_err err = {0};
    cr_assert_eq(promql_eval_keda(e, db, 110 * S, true, &v, &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, FILE_ ":12:14");
    cr_assert_str_eq(err.msg, "query returned 2 series, KEDA needs 0 or 1 (aggregate them, e.g. "
                              "sum(...) or max(...))");
    promql_free(e);
    tsdb_free(db);
}

Test(keda, nan_is_zero_with_ignore_null_values_else_an_error)
{
    struct tsdb *db = new_db();
    tsdb_append(db, add(db, "vllm:num_requests_waiting", "pod=a"), 0, 0);
    /* 0 / 0 is NaN, as an idle fleet's average TTFT would be. */
    struct promql_expr *e = parse_ok("sum(vllm:num_requests_waiting) / 0 * 0");
    double v = -1;
    struct sim_err err = {0};
    cr_assert_eq(promql_eval_keda(e, db, S, true, &v, &err), SIM_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(promql_eval_keda(e, db, S, false, &v, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "query returned 'NaN' and ignoreNullValues is false (KEDA rejects "
                              "NaN and Inf)");
    promql_free(e);
    e = parse_ok("sum(vllm:num_requests_waiting) - 1 / 0");
    cr_assert_eq(promql_eval_keda(e, db, S, true, &v, &err), SIM_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(promql_eval_keda(e, db, S, false, &v, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "query returned '-Inf' and ignoreNullValues is false (KEDA rejects "
                              "NaN and Inf)");
    promql_free(e);
    tsdb_free(db);
}

Test(keda, scalar_result_is_an_error)
{
    struct tsdb *db = new_db();
    struct promql_expr *e = parse_ok("scalar(sum(vllm:num_requests_waiting))");
    double v;
    struct sim_err err = {0};
    cr_assert_eq(promql_result_type(e), PROMQL_SCALAR);
    cr_assert_eq(promql_eval_keda(e, db, 0, true, &v, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "the query returns a scalar, which KEDA's Prometheus scaler cannot "
                              "read: wrap it in vector(...)");
    promql_free(e);
    tsdb_free(db);
}

/* ---- registration ---- */

Test(promql, register_wants_read_metrics_and_retains_the_lookback)
{
    struct tsdb *db = tsdb_new(15 * S, 60 * S, NULL);
    struct promql_expr *e = parse_ok(
        "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[10m] "
        "offset 5m))) + sum(vllm:num_requests_waiting)");
    cr_assert_eq(promql_lookback_us(e), 900 * S);
    cr_assert_eq(promql_register(e, db, NULL), SIM_OK);
    cr_assert(tsdb_wants(db, "vllm:time_to_first_token_seconds"));
    cr_assert(tsdb_wants(db, "vllm:num_requests_waiting"));
    cr_assert_not(tsdb_wants(db, "vllm:num_requests_running"));
    cr_assert_not(tsdb_wants(db, "DCGM_FI_DEV_GPU_UTIL"));
    cr_assert_eq(tsdb_retention_us(db), 900 * S);
    promql_free(e);
    e = parse_ok("sum(vllm:prompt_tokens_total)");
    cr_assert_eq(promql_lookback_us(e), 300 * S); /* the instant lookback */
    cr_assert_eq(promql_register(e, db, NULL), SIM_OK);
    cr_assert(tsdb_wants(db, "vllm:prompt_tokens"));
    promql_free(e);
    tsdb_free(db);
}

Test(promql, check_labels_flags_matchers_on_labels_the_simulation_lacks)
{
    const char *labels[] = {"pod", "model_name", "engine"};
    struct sim_err err = {0};
    struct promql_expr *e =
        parse_ok("sum(vllm:num_requests_waiting{namespace=\"llm\", pod=~\"vllm-.*\"})");
    cr_assert_eq(promql_check_labels(e, labels, 3, &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, FILE_ ":12:44");
    cr_assert_str_eq(err.msg, "label 'namespace' is not on llmcap's simulated series (they carry "
                              "pod, model_name, engine), so this selector would match nothing");
    promql_free(e);
    /* Matchers that also match the empty value are harmless; le is known on buckets. */
    e = parse_ok("histogram_quantile(0.9, vllm:time_to_first_token_seconds_bucket{job!=\"x\", "
                 "ns=~\".*\", le!=\"\"})");
    cr_assert_eq(promql_check_labels(e, labels, 3, &err), SIM_OK);
    promql_free(e);
    e = parse_ok("max(vllm:kv_cache_usage_perc{job=~\"vllm|sglang\"})");
    cr_assert_eq(promql_check_labels(e, labels, 3, &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, FILE_ ":12:43");
    promql_free(e);
}

Test(promql, evaluation_reuses_its_buffers)
{
    struct tsdb *db = queue_db();
    struct promql_expr *e = parse_ok("sum by (pod) (vllm:num_requests_waiting * 2)");
    struct promql_value r;
    cr_assert_eq(promql_eval(e, db, 110 * S, &r, NULL), SIM_OK);
    const struct promql_sample *first = r.samples;
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(promql_eval(e, db, (110 + i) * S, &r, NULL), SIM_OK);
        cr_assert_eq(r.samples, first);
        cr_assert_eq(r.n, 3);
    }
    cr_assert_eq(promql_text(e)[0], 's');
    promql_free(e);
    tsdb_free(db);
}

/* ---- parse errors: message and exact location (query starts at line 12, column 14) ---- */

Test(promql_errors, unsupported_function)
{
    parse_fails("sum(label_replace(vllm:num_requests_waiting, \"a\", \"b\", \"c\", \"d\"))",
                FILE_ ":12:18",
                "unsupported function 'label_replace' in PromQL query (supported: rate, irate, "
                "increase, delta, avg_over_time, min_over_time, max_over_time, sum_over_time, "
                "count_over_time, last_over_time, histogram_quantile, scalar, vector, clamp, "
                "clamp_min, clamp_max, abs, ceil, floor, round, sqrt, exp, ln, log2, log10)");
}

Test(promql_errors, unknown_function_with_a_suggestion)
{
    parse_fails("sum(rat(vllm:prompt_tokens_total[1m]))", FILE_ ":12:18",
                "unknown function 'rat' (did you mean 'rate'?)");
}

Test(promql_errors, unknown_metric_with_a_suggestion)
{
    parse_fails("sum(vllm:num_request_waiting)", FILE_ ":12:18",
                "unknown metric 'vllm:num_request_waiting' (did you mean "
                "'vllm:num_requests_waiting'?)");
    parse_fails("avg(vllm:kv_cache_usage)", FILE_ ":12:18",
                "unknown metric 'vllm:kv_cache_usage' (did you mean 'vllm:kv_cache_usage_perc'?)");
    parse_fails("sum(http_requests_total)", FILE_ ":12:18",
                "unknown metric 'http_requests_total' (llmcap's replicas expose the vLLM and DCGM "
                "metrics listed in docs/promql.md)");
}

Test(promql_errors, histogram_base_name)
{
    parse_fails("avg(vllm:time_to_first_token_seconds)", FILE_ ":12:18",
                "'vllm:time_to_first_token_seconds' is a histogram, exposed as "
                "'vllm:time_to_first_token_seconds_bucket', '_sum' and '_count' (e.g. "
                "histogram_quantile(0.95, sum by (le) "
                "(rate(vllm:time_to_first_token_seconds_bucket[1m]))))");
}

Test(promql_errors, counter_without_total)
{
    parse_fails("rate(vllm:num_preemptions[1m])", FILE_ ":12:19",
                "unknown metric 'vllm:num_preemptions' (counters are exposed with '_total': did "
                "you mean 'vllm:num_preemptions_total'?)");
}

Test(promql_errors, renamed_vllm_metric)
{
    parse_fails("max(vllm:gpu_cache_usage_perc)", FILE_ ":12:18",
                "unknown metric 'vllm:gpu_cache_usage_perc' (deprecated in vLLM 0.9: did you mean "
                "'vllm:kv_cache_usage_perc'?)");
}

Test(promql_errors, missing_closing_parenthesis)
{
    parse_fails("(sum(vllm:num_requests_waiting) + 1", FILE_ ":12:49",
                "expected ')' to close the '(' at column 14, found end of query");
    parse_fails("sum(rate(vllm:prompt_tokens_total[1m])", FILE_ ":12:52",
                "expected ',' or ')' in the arguments of sum() opened at column 17, found end of "
                "query");
    parse_fails("sum(vllm:num_requests_waiting]", FILE_ ":12:43",
                "expected ',' or ')' in the arguments of sum() opened at column 17, found ']'");
}

/* The C library's regcomp() copies a repeated subexpression once per repetition, so
 * repetition is bounded as RE2 bounds it. fuzz_promql found 'L+++...+' taking gigabytes. */
Test(promql_errors, regex_repetition_is_bounded_as_re2_bounds_it)
{
    const char *tail = " is not supported (POSIX extended syntax plus \\d \\w \\s (?:) and a "
                       "leading (?i))";
    char msg[512];
    snprintf(msg, sizeof msg,
             "invalid or unsupported regex 'L++' in label matcher: a repetition of a "
             "repetition%s",
             tail);
    parse_fails("vllm:num_requests_waiting{pod=~\"L++\"}", FILE_ ":12:45", msg);
    snprintf(msg, sizeof msg,
             "invalid or unsupported regex 'a+?*' in label matcher: a repetition of a "
             "repetition%s",
             tail);
    parse_fails("vllm:num_requests_waiting{pod=~\"a+?*\"}", FILE_ ":12:45", msg);
    snprintf(msg, sizeof msg,
             "invalid or unsupported regex 'a{1001}' in label matcher: a repetition count "
             "above 1000%s",
             tail);
    parse_fails("vllm:num_requests_waiting{pod=~\"a{1001}\"}", FILE_ ":12:45", msg);
    snprintf(msg, sizeof msg,
             "invalid or unsupported regex 'a{2,99999999999999999999}' in label matcher: a "
             "repetition count above 1000%s",
             tail);
    parse_fails("vllm:num_requests_waiting{pod=~\"a{2,99999999999999999999}\"}", FILE_ ":12:45",
                msg);
    /* 100 x 20 = 2000 copies; 10 nested '+' = 1024 */
    snprintf(msg, sizeof msg,
             "invalid or unsupported regex '(x(a{100})y){20}' in label matcher: repetitions "
             "that multiply past 1000%s",
             tail);
    parse_fails("vllm:num_requests_waiting{pod=~\"(x(a{100})y){20}\"}", FILE_ ":12:45", msg);
    snprintf(msg, sizeof msg,
             "invalid or unsupported regex '((((((((((a+)+)+)+)+)+)+)+)+)+)' in label "
             "matcher: repetitions that multiply past 1000%s",
             tail);
    parse_fails("vllm:num_requests_waiting{pod=~\"((((((((((a+)+)+)+)+)+)+)+)+)+)\"}",
                FILE_ ":12:45", msg);
    /* The input fuzz_promql found, whole: refused at once. */
    struct sim_err err = {0};
    cr_assert_null(promql_parse("vllminuting{pod=~\")?iroun)VL+  +\t\te(0\t\t?\t\tpL"
                                "+++++++++++++++++++++++++++++++++++M-1\"}d\"",
                                FILE_, 12, 14, &err));
    cr_assert(strstr(err.msg, "a repetition of a repetition"), "%s", err.msg);

    /* Within the bounds: parsed, and matching as before. */
    const char *ok[] = {"(x(a{10})y){100}", "a{2,5}b{3}", "v.*?-1", "(a+)+b", "x{1000}",
                        "a{,", "vllm-(prefill|decode)-[0-9]+"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char q[256];
        snprintf(q, sizeof q, "vllm:num_requests_waiting{pod=~\"%s\"}", ok[i]);
        struct promql_expr *e = promql_parse(q, FILE_, 12, 14, &err);
        if (!strcmp(ok[i], "a{,")) { /* not a repetition: regcomp's answer */
            cr_assert_null(e, "%s", q);
            continue;
        }
        cr_assert_not_null(e, "%s: %s", q, err.msg);
        promql_free(e);
    }
}

Test(promql_errors, rate_needs_a_range_vector)
{
    parse_fails("sum(rate(vllm:prompt_tokens_total))", FILE_ ":12:23",
                "rate() needs a range vector, e.g. rate(vllm:prompt_tokens_total[1m])");
    parse_fails("rate(sum(vllm:prompt_tokens_total))", FILE_ ":12:19",
                "rate() needs a range vector, e.g. rate(x[1m])");
    parse_fails("avg_over_time(vllm:kv_cache_usage_perc)", FILE_ ":12:28",
                "avg_over_time() needs a range vector, e.g. "
                "avg_over_time(vllm:kv_cache_usage_perc[5m])");
}

Test(promql_errors, aggregation_of_a_range_vector)
{
    parse_fails("sum(vllm:prompt_tokens_total[5m])", FILE_ ":12:18",
                "sum() needs an instant vector, got a range vector (apply rate() or "
                "avg_over_time() first)");
}

Test(promql_errors, query_returning_a_range_vector)
{
    parse_fails("vllm:prompt_tokens_total[5m]", FILE_ ":12:14",
                "the query returns a range vector, but an instant query must return a scalar or "
                "an instant vector (apply rate(), increase() or avg_over_time() to it)");
}

Test(promql_errors, bad_durations)
{
    parse_fails("rate(vllm:prompt_tokens_total[5min])", FILE_ ":12:44",
                "invalid duration '5min' in range (write it like '30s', '5m' or '1h30m': units "
                "ms, s, m, h, d, w, y)");
    parse_fails("rate(vllm:prompt_tokens_total[30m1h])", FILE_ ":12:44",
                "invalid duration '30m1h' in range (write it like '30s', '5m' or '1h30m': units "
                "ms, s, m, h, d, w, y)");
    parse_fails("rate(vllm:prompt_tokens_total[0s])", FILE_ ":12:44",
                "a range must be > 0, got '0s'");
    parse_fails("rate(vllm:prompt_tokens_total[5m:1m])", FILE_ ":12:46",
                "subqueries like x[5m:1m] are not supported");
    parse_fails("sum(vllm:num_requests_waiting offset 5 m)", FILE_ ":12:51",
                "invalid duration '5' after 'offset' (write it like '30s', '5m' or '1h30m': units "
                "ms, s, m, h, d, w, y)");
    parse_fails("sum(vllm:num_requests_waiting) * 5m", FILE_ ":12:47",
                "bad number '5m' in PromQL query (durations belong in a range [...] or after "
                "'offset')");
}

Test(promql_errors, durations_that_parse)
{
    struct promql_expr *e = parse_ok("rate(vllm:prompt_tokens_total[1h30m]) + "
                                     "rate(vllm:prompt_tokens_total[1d2h3m4s5ms] offset 1w)");
    cr_assert_eq(promql_lookback_us(e), (int64_t)(26 * 3600 + 3 * 60 + 4 + 7 * 86400) * S + 5000);
    promql_free(e);
    e = parse_ok("max_over_time(vllm:num_requests_waiting[1y])");
    cr_assert_eq(promql_lookback_us(e), (int64_t)365 * 86400 * S);
    promql_free(e);
}

Test(promql_errors, unsupported_operators_and_modifiers)
{
    parse_fails("sum(vllm:num_requests_waiting) > 5", FILE_ ":12:45",
                "unsupported operator '>' in PromQL query (supported: + - * / % ^)");
    parse_fails("vllm:num_requests_waiting and vllm:num_requests_running", FILE_ ":12:40",
                "unsupported operator 'and' in PromQL query (supported: + - * / % ^)");
    parse_fails("vllm:num_requests_waiting / on(pod) vllm:num_requests_running", FILE_ ":12:42",
                "unsupported vector matching modifier 'on' (llmcap matches series one-to-one on "
                "identical label sets)");
    parse_fails("topk(3, vllm:num_requests_waiting)", FILE_ ":12:14",
                "unsupported aggregation 'topk' in PromQL query (supported: sum, avg, min, max, "
                "count)");
    parse_fails("sum(vllm:num_requests_waiting @ 100)", FILE_ ":12:44",
                "the '@' modifier is not supported");
    parse_fails("sum(vllm:num_requests_waiting)[5m:1m]", FILE_ ":12:44",
                "a range [...] applies to a metric selector only, e.g. x[5m] (subqueries like "
                "(...)[5m:1m] are not supported)");
}

Test(promql_errors, histogram_quantile_needs_le)
{
    parse_fails("histogram_quantile(0.95, sum by (pod) "
                "(rate(vllm:time_to_first_token_seconds_bucket[1m])))",
                FILE_ ":12:39",
                "'sum by (pod)' drops the 'le' label that histogram_quantile() needs: write "
                "'sum by (le, pod)'");
    parse_fails("histogram_quantile(0.95, sum(rate(vllm:time_to_first_token_seconds_bucket[1m])))",
                FILE_ ":12:39",
                "'sum(...)' drops the 'le' label that histogram_quantile() needs: write 'sum by "
                "(le) (...)'");
    parse_fails("histogram_quantile(0.95, rate(vllm:time_to_first_token_seconds_sum[1m]))",
                FILE_ ":12:39",
                "histogram_quantile() needs the '_bucket' series of a histogram, e.g. "
                "histogram_quantile(0.95, sum by (le) "
                "(rate(vllm:time_to_first_token_seconds_bucket[1m])))");
    parse_fails("histogram_quantile(vector(0.95), vllm:time_to_first_token_seconds_bucket)",
                FILE_ ":12:33",
                "histogram_quantile() needs a scalar as argument 1, got an instant vector (wrap "
                "it in scalar(...))");
}

Test(promql_errors, argument_counts_and_types)
{
    parse_fails("rate(vllm:prompt_tokens_total[1m], 2)", FILE_ ":12:14",
                "rate() takes 1 argument, got 2");
    parse_fails("round()", FILE_ ":12:14", "round() takes 1 to 2 arguments, got 0");
    parse_fails("abs(3)", FILE_ ":12:18",
                "abs() needs an instant vector as argument 1, got a scalar (wrap it in "
                "vector(...))");
    parse_fails("sum(vllm:num_requests_waiting, 2)", FILE_ ":12:14",
                "sum() takes 1 argument, got 2");
    parse_fails("sum(3)", FILE_ ":12:18", "sum() needs an instant vector, got a scalar");
    parse_fails("vllm:prompt_tokens_total[1m] * 2", FILE_ ":12:14",
                "operator '*' needs scalars or instant vectors, got a range vector (apply rate() "
                "or avg_over_time() first)");
}

Test(promql_errors, selector_syntax)
{
    parse_fails("sum(vllm:num_requests_waiting{pod==\"a\"})", FILE_ ":12:47",
                "label matchers use '=', not '=='");
    parse_fails("sum(vllm:num_requests_waiting{pod=a})", FILE_ ":12:48",
                "expected a quoted label value, found 'a'");
    parse_fails("sum(vllm:num_requests_waiting{pod=\"a\" model_name=\"b\"})", FILE_ ":12:52",
                "expected ',' or '}' in the label matchers, found 'model_name'");
    parse_fails("sum({pod=\"a\"})", FILE_ ":12:18",
                "a selector needs a metric name, e.g. vllm:num_requests_waiting{...}");
    parse_fails("sum(vllm:num_requests_waiting{pod=~\"vllm-\\d\"})", FILE_ ":12:55",
                "invalid escape '\\d' in string (a regex backslash is written '\\\\d')");
    /* The tail of this message is the C library's regerror() text. */
    struct sim_err err = {0};
    cr_assert_null(promql_parse("sum(vllm:num_requests_waiting{pod=~\"vllm-(\"})", FILE_, 12, 14,
                                &err));
    cr_assert_str_eq(err.where, FILE_ ":12:49");
    const char *want = "invalid regex 'vllm-(' in label matcher: ";
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
    parse_fails("sum(vllm:num_requests_waiting{pod=\"a})", FILE_ ":12:48",
                "unterminated string '\"a})' in PromQL query");
    parse_fails("sum by (pod (vllm:num_requests_waiting)", FILE_ ":12:26",
                "expected ',' or ')' in the grouping labels, found '('");
    parse_fails("sum \"x\"", FILE_ ":12:18",
                "expected '(' or 'by'/'without' after 'sum', found '\"x\"'");
    parse_fails("\"vllm\"", FILE_ ":12:14",
                "string literals are only allowed as label values in {...}");
    parse_fails("", FILE_ ":12:14", "empty PromQL query");
    parse_fails("sum(vllm:num_requests_waiting) sum", FILE_ ":12:45",
                "expected an operator or the end of the query, found 'sum'");
}

Test(promql_errors, more_selector_and_modifier_errors)
{
    parse_fails("vllm:num_requests_waiting{a:b=\"x\"}", FILE_ ":12:40",
                "invalid label name 'a:b' (':' is only allowed in metric names)");
    parse_fails("vllm:num_requests_waiting{__name__=\"vllm:num_requests_waiting\"}",
                FILE_ ":12:48",
                "only one '__name__=\"...\"' matcher is supported, and only without a metric "
                "name before '{'");
    parse_fails("vllm:num_requests_waiting{pod=~\"\\\\bx\"}", FILE_ ":12:45",
                "invalid or unsupported regex '\\bx' in label matcher: this regex escape is not "
                "supported (POSIX extended syntax plus \\d \\w \\s (?:) and a leading (?i))");
    parse_fails("vllm:num_requests_waiting{\"pod\"=\"a\"}", FILE_ ":12:40",
                "expected a label name or '}', found '\"pod\"'");
    parse_fails("vllm:num_requests_waiting{pod ~ \"a\"}", FILE_ ":12:44",
                "unexpected character '~' in PromQL query");
    parse_fails("vllm:num_requests_waiting $ 2", FILE_ ":12:40",
                "unexpected character '$' in PromQL query");
    parse_fails("-vllm:prompt_tokens_total[5m]", FILE_ ":12:15",
                "unary '-' needs a scalar or an instant vector, got a range vector");
    parse_fails("vllm:num_requests_waiting offset 5m [5m]", FILE_ ":12:50",
                "the range [...] must come before 'offset'");
    parse_fails("vllm:num_requests_waiting[5m][5m]", FILE_ ":12:43",
                "a selector takes one range [...]");
    parse_fails("vllm:num_requests_waiting offset 5m offset 1m", FILE_ ":12:50",
                "a selector takes one 'offset'");
    parse_fails("sum(vllm:num_requests_waiting) offset 5m", FILE_ ":12:45",
                "'offset' applies to a metric selector only, e.g. x offset 5m or x[5m] offset 5m");
    parse_fails("sum by pod (vllm:num_requests_waiting)", FILE_ ":12:21",
                "expected '(' after 'by', found 'pod'");
    parse_fails("sum by (1) (vllm:num_requests_waiting)", FILE_ ":12:22",
                "expected a label name, found '1'");
    parse_fails("abs(vllm:num_requests_waiting[5m])", FILE_ ":12:18",
                "abs() needs an instant vector as argument 1, got a range vector");
    parse_fails("histogram_quantile(0.9, sum without (pod, le) "
                "(rate(vllm:time_to_first_token_seconds_bucket[5m])))",
                FILE_ ":12:38",
                "'sum without (pod, le)' drops the 'le' label that histogram_quantile() needs");
}

Test(promql_errors, location_on_a_later_line_of_a_multi_line_query)
{
    parse_fails("sum(\n  vllm:num_request_waiting\n)", FILE_ ":13:3",
                "unknown metric 'vllm:num_request_waiting' (did you mean "
                "'vllm:num_requests_waiting'?)");
}

/* ---- performance (not run in CI) ---- */

/* 100 replicas, a TTFT histogram (24 series each) and the queue gauge, scraped every 15 s
 * for an hour; then the two typical triggers evaluated at every 15 s HPA sync. */
Test(perf_promql, hpa_sync_evaluations_per_second)
{
    struct tsdb *db = new_db();
    struct promql_expr *q1 = parse_ok("sum(vllm:num_requests_waiting)");
    struct promql_expr *q2 = parse_ok("histogram_quantile(0.95, sum by (le) "
                                      "(rate(vllm:time_to_first_token_seconds_bucket[1m])))");
    cr_assert_eq(promql_register(q1, db, NULL), SIM_OK);
    cr_assert_eq(promql_register(q2, db, NULL), SIM_OK);
    enum { PODS = 100, BUCKETS = 23 };
    static int32_t ids[PODS][BUCKETS + 1];
    static const char *les[BUCKETS] = {"0.001", "0.005", "0.01", "0.02", "0.04", "0.06",
                                       "0.08",  "0.1",   "0.25", "0.5",  "0.75", "1.0",
                                       "2.5",   "5.0",   "7.5",  "10.0", "20.0", "40.0",
                                       "80.0",  "160.0", "640.0", "2560.0", "+Inf"};
    for (int p = 0; p < PODS; p++) {
        char spec[64];
        snprintf(spec, sizeof spec, "pod=vllm-%d,model_name=llama,engine=0", p);
        ids[p][BUCKETS] = add(db, "vllm:num_requests_waiting", spec);
        for (int b = 0; b < BUCKETS; b++) {
            snprintf(spec, sizeof spec, "pod=vllm-%d,model_name=llama,engine=0,le=%s", p, les[b]);
            ids[p][b] = add(db, "vllm:time_to_first_token_seconds_bucket", spec);
        }
    }
    long evals = 0;
    double total_s = 0, v;
    for (int64_t k = 0; k < 240; k++) {
        int64_t t = k * 15 * S;
        for (int p = 0; p < PODS; p++) {
            tsdb_append(db, ids[p][BUCKETS], t, (double)((p + k) % 7));
            for (int b = 0; b < BUCKETS; b++)
                tsdb_append(db, ids[p][b], t, (double)(k * (b + 1)));
        }
        struct timespec a, z;
        clock_gettime(CLOCK_MONOTONIC, &a);
        cr_assert_eq(promql_eval_keda(q1, db, t, true, &v, NULL), SIM_OK);
        cr_assert_eq(promql_eval_keda(q2, db, t, true, &v, NULL), SIM_OK);
        clock_gettime(CLOCK_MONOTONIC, &z);
        total_s += (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) * 1e-9;
        evals++;
    }
    cr_log_info("%ld syncs of 2 queries over %d series: %.2f us per sync", evals,
                PODS * (BUCKETS + 1), total_s / (double)evals * 1e6);
    promql_free(q1);
    promql_free(q2);
    tsdb_free(db);
}

/* ---- hostile depth and length: a limit with its message, never the stack's end ---- */

static char *repeat3(const char *head, const char *unit, size_t n, const char *mid,
                     const char *tail, size_t n_tail)
{
    size_t lu = strlen(unit), lt = strlen(tail);
    char *q = malloc(strlen(head) + n * lu + strlen(mid) + n_tail * lt + 1);
    char *w = q;
    w += sprintf(w, "%s", head);
    for (size_t i = 0; i < n; i++, w += lu)
        memcpy(w, unit, lu);
    w += sprintf(w, "%s", mid);
    for (size_t i = 0; i < n_tail; i++, w += lt)
        memcpy(w, tail, lt);
    *w = '\0';
    return q;
}

Test(promql, nesting_past_the_limit_is_refused_with_the_limit)
{
    /* 10,000 parentheses, sum( or abs( nested 10,000 deep, a ^ chain (right-nested) and
     * a + chain of 100,000 operators (a tree that deep): each refused, naming the limit,
     * at the point where it was passed. */
    const char *msg = "the query nests deeper than 256 levels (parentheses, function calls, "
                      "aggregations and chained operators each count one)";
    struct {
        const char *unit, *mid, *tail;
        size_t n;
    } cases[] = {{"(", "x", ")", 10000},     {"sum(", "x", ")", 10000},
                 {"abs(", "x", ")", 10000},  {"2 ^ ", "2", "", 10000},
                 {"", "1", " + 1", 100000},  {"", "1", " * 2", 100000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool chain = cases[i].unit[0] == '\0';
        char *q = repeat3("", cases[i].unit, chain ? 0 : cases[i].n, cases[i].mid,
                          cases[i].tail, chain ? cases[i].n : (cases[i].tail[0] ? cases[i].n : 0));
        struct sim_err err = {0};
        struct promql_expr *e = promql_parse(q, FILE_, 12, 14, &err);
        cr_assert_null(e, "case %zu parsed", i);
        cr_assert_str_eq(err.msg, msg, "case %zu: %s", i, err.msg);
        free(q);
    }
    /* Within the limit: parsed and evaluated (100 nested parentheses, a chain of 200). */
    struct tsdb *db = queue_db();
    char *q = repeat3("", "(", 100, "sum(vllm:num_requests_waiting)", ")", 100);
    cr_assert_float_eq(eval1(db, q, 100 * S), 15, 1e-12);
    free(q);
    q = repeat3("", "", 0, "sum(vllm:num_requests_waiting)", " + 1", 200);
    cr_assert_float_eq(eval1(db, q, 100 * S), 215, 1e-12);
    free(q);
    tsdb_free(db);
}

Test(promql, a_run_of_unary_signs_folds_in_a_loop)
{
    /* 100,000 minus signs (even: the value itself) and 99,999 (odd: negated), and a run
     * of mixed signs: no recursion per sign. */
    struct tsdb *db = queue_db();
    char *q = repeat3("", "-", 100000, "sum(vllm:num_requests_waiting)", "", 0);
    cr_assert_float_eq(eval1(db, q, 100 * S), 15, 1e-12);
    free(q);
    q = repeat3("", "-", 99999, "sum(vllm:num_requests_waiting)", "", 0);
    cr_assert_float_eq(eval1(db, q, 100 * S), -15, 1e-12);
    free(q);
    cr_assert_float_eq(eval1(db, "-+-+-sum(vllm:num_requests_waiting)", 100 * S), -15,
                       1e-12);
    tsdb_free(db);
}
