/* Metrics store: series identity, lookback, staleness, range windows, ring retention. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "sim/k8s/metrics.h"
#include "sim/k8s/tsdb.h"

#define S ((int64_t)1000000)

static struct tsdb_labels labels2(const char *n1, const char *v1, const char *n2, const char *v2)
{
    struct tsdb_labels l = {0};
    if (n1)
        l.l[l.n++] = (struct tsdb_label){n1, v1};
    if (n2)
        l.l[l.n++] = (struct tsdb_label){n2, v2};
    return l;
}

static int32_t pod_series(struct tsdb *db, const char *name, const char *pod)
{
    struct tsdb_labels l = labels2("pod", pod, "model_name", "llama");
    return tsdb_series(db, name, &l);
}

Test(tsdb, rejects_non_positive_interval_and_retention)
{
    struct sim_err err = {0};
    cr_assert_null(tsdb_new(0, 60 * S, &err));
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.msg, "scrape interval must be > 0 (us), got '0'");
    cr_assert_null(tsdb_new(15 * S, -5, &err));
    cr_assert_str_eq(err.msg, "retention must be > 0 (us), got '-5'");
}

Test(tsdb, same_name_and_labels_in_any_order_are_one_series)
{
    struct tsdb *db = tsdb_new(15 * S, 60 * S, NULL);
    char pod[16], name[64];
    strcpy(pod, "vllm-0");
    strcpy(name, "vllm:num_requests_waiting");
    struct tsdb_labels a = labels2("pod", pod, "model_name", "llama");
    int32_t id = tsdb_series(db, name, &a);
    cr_assert_geq(id, 0);
    /* The caller's strings are temporaries: the store interned its own copies. */
    strcpy(pod, "XXXXXX");
    strcpy(name, "XXXXXXXXXXXXXXXXXXXXXXXXX");
    struct tsdb_labels b = labels2("model_name", "llama", "pod", "vllm-0");
    cr_assert_eq(tsdb_series(db, "vllm:num_requests_waiting", &b), id);
    cr_assert_str_eq(tsdb_str(db, tsdb_series_name(db, id)), "vllm:num_requests_waiting");
    /* Stored sorted by label name. */
    const struct tsdb_lset *ls = tsdb_series_labels(db, id);
    cr_assert_eq(ls->n, 2);
    cr_assert_str_eq(tsdb_str(db, ls->p[0].name), "model_name");
    cr_assert_str_eq(tsdb_str(db, ls->p[1].name), "pod");
    cr_assert_str_eq(tsdb_str(db, ls->p[1].value), "vllm-0");

    struct tsdb_labels c = labels2("pod", "vllm-1", "model_name", "llama");
    int32_t other = tsdb_series(db, "vllm:num_requests_waiting", &c);
    cr_assert_eq(other, id + 1);
    struct tsdb_labels d = labels2("pod", "vllm-0", "model_name", "llama");
    cr_assert_neq(tsdb_series(db, "vllm:num_requests_running", &d), id);
    cr_assert_eq(tsdb_n_series(db), 3);
    tsdb_free(db);
}

Test(tsdb, empty_label_value_is_the_same_as_no_label)
{
    struct tsdb *db = tsdb_new(15 * S, 60 * S, NULL);
    struct tsdb_labels a = labels2("pod", "vllm-0", "engine", "");
    struct tsdb_labels b = labels2("pod", "vllm-0", NULL, NULL);
    cr_assert_eq(tsdb_series(db, "x", &a), tsdb_series(db, "x", &b));
    cr_assert_eq(tsdb_series_labels(db, tsdb_series(db, "x", &a))->n, 1);
    tsdb_free(db);
}

Test(tsdb, family_lists_series_of_a_name_in_creation_order)
{
    struct tsdb *db = tsdb_new(15 * S, 60 * S, NULL);
    int32_t a = pod_series(db, "vllm:num_requests_waiting", "vllm-0");
    pod_series(db, "vllm:num_requests_running", "vllm-0");
    int32_t b = pod_series(db, "vllm:num_requests_waiting", "vllm-1");
    size_t n;
    const int32_t *ids = tsdb_family(db, tsdb_str_find(db, "vllm:num_requests_waiting"), &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[0], a);
    cr_assert_eq(ids[1], b);
    cr_assert_null(tsdb_family(db, tsdb_str_find(db, "nothing"), &n));
    cr_assert_eq(n, 0);
    tsdb_free(db);
}

/* Prometheus 3 lookback is left-open: at t, a sample is seen when t - 5m < t_s <= t. */
Test(tsdb, instant_lookback_is_five_minutes_left_open)
{
    struct tsdb *db = tsdb_new(15 * S, 600 * S, NULL);
    int32_t id = pod_series(db, "vllm:num_requests_waiting", "vllm-0");
    double v;
    cr_assert_not(tsdb_instant(db, id, 10 * S, TSDB_LOOKBACK_US, &v, NULL));
    tsdb_append(db, id, 10 * S, 4.5);
    cr_assert_not(tsdb_instant(db, id, 10 * S - 1, TSDB_LOOKBACK_US, &v, NULL));
    cr_assert(tsdb_instant(db, id, 10 * S, TSDB_LOOKBACK_US, &v, NULL));
    cr_assert_eq(v, 4.5);
    cr_assert(tsdb_instant(db, id, 310 * S - 1, TSDB_LOOKBACK_US, &v, NULL));
    cr_assert_not(tsdb_instant(db, id, 310 * S, TSDB_LOOKBACK_US, &v, NULL));
    tsdb_free(db);
}

Test(tsdb, instant_picks_the_newest_sample_at_or_before_t)
{
    struct tsdb *db = tsdb_new(15 * S, 600 * S, NULL);
    int32_t id = pod_series(db, "vllm:num_requests_waiting", "vllm-0");
    for (int i = 0; i < 10; i++)
        tsdb_append(db, id, i * 15 * S, i * 1.5);
    double v;
    int64_t ts;
    cr_assert(tsdb_instant(db, id, 44 * S, TSDB_LOOKBACK_US, &v, &ts));
    cr_assert_eq(v, 3.0); /* the sample at 30 s */
    cr_assert_eq(ts, 30 * S);
    cr_assert(tsdb_instant(db, id, 45 * S, TSDB_LOOKBACK_US, &v, &ts));
    cr_assert_eq(v, 4.5);
    tsdb_free(db);
}

Test(tsdb, stale_marker_hides_the_series_until_a_new_sample)
{
    struct tsdb *db = tsdb_new(15 * S, 600 * S, NULL);
    int32_t id = pod_series(db, "vllm:num_requests_waiting", "vllm-0");
    tsdb_append(db, id, 0, 2.0);
    tsdb_append(db, id, 15 * S, 3.0);
    tsdb_mark_stale(db, id, 20 * S);
    double v;
    cr_assert(tsdb_instant(db, id, 19 * S, TSDB_LOOKBACK_US, &v, NULL));
    cr_assert_eq(v, 3.0);
    cr_assert_not(tsdb_instant(db, id, 20 * S, TSDB_LOOKBACK_US, &v, NULL));
    cr_assert_not(tsdb_instant(db, id, 100 * S, TSDB_LOOKBACK_US, &v, NULL));
    tsdb_append(db, id, 30 * S, 7.0);
    cr_assert(tsdb_instant(db, id, 31 * S, TSDB_LOOKBACK_US, &v, NULL));
    cr_assert_eq(v, 7.0);
    /* Range selectors skip the marker. */
    struct tsdb_iter it;
    tsdb_range(db, id, -1, 30 * S, &it);
    int64_t t;
    double want[] = {2.0, 3.0, 7.0};
    for (int i = 0; i < 3; i++) {
        cr_assert(tsdb_iter_next(&it, &t, &v));
        cr_assert_eq(v, want[i]);
    }
    cr_assert_not(tsdb_iter_next(&it, &t, &v));
    tsdb_free(db);
}

Test(tsdb, a_nan_sample_is_not_a_stale_marker)
{
    struct tsdb *db = tsdb_new(15 * S, 600 * S, NULL);
    int32_t id = pod_series(db, "vllm:kv_cache_usage_perc", "vllm-0");
    tsdb_append(db, id, 0, NAN);
    double v = 0;
    cr_assert(tsdb_instant(db, id, 1, TSDB_LOOKBACK_US, &v, NULL));
    cr_assert(isnan(v));
    tsdb_free(db);
}

Test(tsdb, range_is_left_open_and_right_closed)
{
    struct tsdb *db = tsdb_new(15 * S, 600 * S, NULL);
    int32_t id = pod_series(db, "vllm:prompt_tokens_total", "vllm-0");
    for (int i = 0; i <= 8; i++)
        tsdb_append(db, id, i * 15 * S, 100.0 + i);
    struct tsdb_iter it;
    tsdb_range(db, id, 15 * S, 60 * S, &it); /* (15 s, 60 s]: 30, 45, 60 */
    int64_t t;
    double v;
    int64_t want[] = {30 * S, 45 * S, 60 * S};
    for (int i = 0; i < 3; i++) {
        cr_assert(tsdb_iter_next(&it, &t, &v));
        cr_assert_eq(t, want[i]);
        cr_assert_eq(v, 100.0 + 2 + i);
    }
    cr_assert_not(tsdb_iter_next(&it, &t, &v));
    tsdb_range(db, id, 200 * S, 300 * S, &it);
    cr_assert_not(tsdb_iter_next(&it, &t, &v));
    tsdb_free(db);
}

Test(tsdb, sample_at_the_same_time_replaces_the_newest)
{
    struct tsdb *db = tsdb_new(15 * S, 600 * S, NULL);
    int32_t id = pod_series(db, "vllm:num_requests_running", "vllm-0");
    tsdb_append(db, id, 15 * S, 1.0);
    tsdb_append(db, id, 15 * S, 2.0);
    struct tsdb_iter it;
    tsdb_range(db, id, 0, 15 * S, &it);
    int64_t t;
    double v;
    cr_assert(tsdb_iter_next(&it, &t, &v));
    cr_assert_eq(v, 2.0);
    cr_assert_not(tsdb_iter_next(&it, &t, &v));
    tsdb_free(db);
}

/* ring = ceil(60 s / 15 s) + 1 = 5 per window, + 5/4 + 4 slack = 10 samples. */
Test(tsdb, ring_keeps_the_newest_samples_when_it_wraps)
{
    struct tsdb *db = tsdb_new(15 * S, 60 * S, NULL);
    cr_assert_eq(tsdb_ring_cap(db), 10);
    int32_t id = pod_series(db, "vllm:num_requests_running", "vllm-0");
    for (int i = 0; i < 95; i++)
        tsdb_append(db, id, i * 15 * S, (double)i);
    struct tsdb_iter it;
    tsdb_range(db, id, -1, 95 * 15 * S, &it);
    int64_t t;
    double v;
    for (int i = 85; i < 95; i++) {
        cr_assert(tsdb_iter_next(&it, &t, &v));
        cr_assert_eq(v, (double)i);
    }
    cr_assert_not(tsdb_iter_next(&it, &t, &v));
    cr_assert(tsdb_instant(db, id, 94 * 15 * S + 7 * S, TSDB_LOOKBACK_US, &v, NULL));
    cr_assert_eq(v, 94.0);
    cr_assert(tsdb_instant(db, id, 86 * 15 * S, TSDB_LOOKBACK_US, &v, NULL));
    cr_assert_eq(v, 86.0);
    tsdb_free(db);
}

/* 600 s / 15 s = 40 + 1 = 41, + 10 + 4 = 55 samples after tsdb_retain(600 s). */
Test(tsdb, retain_grows_existing_rings_and_keeps_their_samples)
{
    struct tsdb *db = tsdb_new(15 * S, 60 * S, NULL);
    int32_t id = pod_series(db, "vllm:num_requests_running", "vllm-0");
    for (int i = 0; i < 15; i++) /* wraps the 10-sample ring: 5..14 left */
        tsdb_append(db, id, i * 15 * S, (double)i);
    cr_assert_eq(tsdb_retain(db, 30 * S, NULL), SIM_OK); /* never lowers */
    cr_assert_eq(tsdb_retention_us(db), 60 * S);
    cr_assert_eq(tsdb_retain(db, 600 * S, NULL), SIM_OK);
    cr_assert_eq(tsdb_retention_us(db), 600 * S);
    cr_assert_eq(tsdb_ring_cap(db), 55);
    for (int i = 15; i < 60; i++)
        tsdb_append(db, id, i * 15 * S, (double)i);
    struct tsdb_iter it;
    tsdb_range(db, id, -1, 3600 * S, &it);
    int64_t t;
    double v;
    for (int i = 5; i < 60; i++) {
        cr_assert(tsdb_iter_next(&it, &t, &v));
        cr_assert_eq(v, (double)i, "at %d got %g", i, v);
    }
    cr_assert_not(tsdb_iter_next(&it, &t, &v));
    tsdb_free(db);
}

Test(tsdb, wants_only_registered_metrics)
{
    struct tsdb *db = tsdb_new(15 * S, 60 * S, NULL);
    cr_assert_not(tsdb_wants(db, "vllm:num_requests_waiting"));
    cr_assert_eq(tsdb_want(db, "vllm:num_requests_waiting", NULL), SIM_OK);
    cr_assert(tsdb_wants(db, "vllm:num_requests_waiting"));
    cr_assert_not(tsdb_wants(db, "vllm:num_requests_running"));
    /* Having series of a metric does not make it wanted. */
    pod_series(db, "vllm:num_requests_running", "vllm-0");
    cr_assert_not(tsdb_wants(db, "vllm:num_requests_running"));
    tsdb_free(db);
}

Test(tsdb, interned_strings_read_as_prometheus_floats)
{
    struct tsdb *db = tsdb_new(15 * S, 60 * S, NULL);
    struct tsdb_labels a = labels2("le", "+Inf", NULL, NULL);
    struct tsdb_labels b = labels2("le", "0.25", NULL, NULL);
    tsdb_series(db, "h_bucket", &a);
    tsdb_series(db, "h_bucket", &b);
    cr_assert(isinf(tsdb_str_num(db, tsdb_str_find(db, "+Inf"))));
    cr_assert_eq(tsdb_str_num(db, tsdb_str_find(db, "0.25")), 0.25);
    cr_assert(isnan(tsdb_str_num(db, tsdb_str_find(db, "le"))));
    cr_assert_eq(tsdb_str_find(db, "absent"), -1);
    tsdb_free(db);
}

/* metrics.c: names and buckets as vLLM's loggers.py defines them. */
Test(metrics, lookup_maps_exposed_series_names_to_definitions)
{
    enum metric_series k;
    const struct metric_def *d =
        metric_lookup_series("vllm:time_to_first_token_seconds_bucket", &k);
    cr_assert_not_null(d);
    cr_assert_eq(d, &sim_metric_defs[M_TTFT]);
    cr_assert_eq(k, METRIC_SERIES_BUCKET);
    cr_assert_eq(metric_lookup("vllm:num_preemptions_total"), &sim_metric_defs[M_NUM_PREEMPTIONS]);
    cr_assert_eq(metric_lookup("DCGM_FI_DEV_GPU_UTIL"), &sim_metric_defs[M_GPU_UTIL]);
    cr_assert_null(metric_lookup("vllm:num_preemptions")); /* not exposed without _total */
    cr_assert_null(metric_lookup("vllm:time_to_first_token_seconds"));
    cr_assert_null(metric_lookup("vllm:num_requests_waiting_total"));
    cr_assert_eq(metric_by_base("vllm:e2e_request_latency_seconds"), &sim_metric_defs[M_E2E]);
}

Test(metrics, histogram_buckets_match_vllm)
{
    const struct metric_def *ttft = &sim_metric_defs[M_TTFT];
    cr_assert_eq(ttft->n_buckets, 22);
    cr_assert_eq(ttft->buckets[0], 0.001);
    cr_assert_eq(ttft->buckets[19], 160.0);
    cr_assert_eq(ttft->buckets[20], 640.0); /* vLLM skips 320 */
    cr_assert_eq(ttft->buckets[21], 2560.0);
    cr_assert_eq(sim_metric_defs[M_ITL].n_buckets, 19);
    cr_assert_eq(sim_metric_defs[M_ITL].buckets[18], 80.0);
    cr_assert_eq(sim_metric_defs[M_E2E].n_buckets, 21);
    cr_assert_eq(sim_metric_defs[M_E2E].buckets[20], 7680.0);
    cr_assert_eq(sim_metric_defs[M_QUEUE_TIME].buckets, sim_metric_defs[M_E2E].buckets);
    for (size_t m = 0; m < M_N_METRICS; m++) {
        const struct metric_def *d = &sim_metric_defs[m];
        cr_assert_not_null(d->name);
        cr_assert_not_null(d->help);
        cr_assert_eq(d->type == METRIC_HISTOGRAM, d->n_buckets > 0, "%s", d->name);
        for (size_t i = 1; i < d->n_buckets; i++)
            cr_assert_lt(d->buckets[i - 1], d->buckets[i], "%s", d->name);
    }
    cr_assert_eq(sim_metric_defs[M_GPU_UTIL].type, METRIC_GAUGE);
}
