/* fuzz_promql.c: the PromQL parser (sim/k8s/promql.c) on arbitrary text and, for a query
 * that parses, evaluation against a small store holding every metric of sim/k8s/metrics.h
 * for two pods (counter resets, a staleness marker, histogram buckets included), at
 * several times, as an instant query and the way KEDA reads it. */
#include <math.h>

#include "sim/k8s/metrics.h"
#include "sim/k8s/promql.h"
#include "tests/fuzz/fuzz_util.h"

#define S ((int64_t)1000000)

static void add_series(struct tsdb *db, const char *name, const char *pod, const char *le,
                       double base, int kind)
{
    struct tsdb_labels l = {0};
    l.l[l.n++] = (struct tsdb_label){"pod", pod};
    l.l[l.n++] = (struct tsdb_label){"model_name", "llama"};
    l.l[l.n++] = (struct tsdb_label){"engine", "0"};
    if (le)
        l.l[l.n++] = (struct tsdb_label){"le", le};
    int32_t id = tsdb_series(db, name, &l);
    if (id < 0)
        abort();
    for (int i = 0; i < 24; i++) {
        double v;
        if (kind == METRIC_GAUGE)
            v = base * (double)((i * 7) % 5);
        else /* counters and buckets grow, with a reset at i = 13 */
            v = base * (double)(i < 13 ? i : i - 13);
        tsdb_append(db, id, (int64_t)i * 15 * S, v);
    }
    if (pod[5] == '1')
        tsdb_mark_stale(db, id, 24 * 15 * S);
}

static void fill(struct tsdb *db)
{
    static const char *const pods[] = {"vllm-0", "vllm-1"};
    char name[160], le[32];
    for (int m = 0; m < M_N_METRICS; m++) {
        const struct metric_def *d = &sim_metric_defs[m];
        if (!tsdb_wants(db, d->name))
            continue;
        for (int p = 0; p < 2; p++) {
            double base = 1.5 + p;
            switch (d->type) {
            case METRIC_GAUGE:
                add_series(db, d->name, pods[p], NULL, base, METRIC_GAUGE);
                break;
            case METRIC_COUNTER:
                snprintf(name, sizeof name, "%s_total", d->name);
                add_series(db, name, pods[p], NULL, base, METRIC_COUNTER);
                break;
            case METRIC_HISTOGRAM:
                snprintf(name, sizeof name, "%s_bucket", d->name);
                for (size_t b = 0; b < d->n_buckets; b++) {
                    snprintf(le, sizeof le, "%g", d->buckets[b]);
                    add_series(db, name, pods[p], le, base * (double)(b + 1),
                               METRIC_COUNTER);
                }
                add_series(db, name, pods[p], "+Inf", base * (double)(d->n_buckets + 2),
                           METRIC_COUNTER);
                snprintf(name, sizeof name, "%s_sum", d->name);
                add_series(db, name, pods[p], NULL, base * 0.37, METRIC_COUNTER);
                snprintf(name, sizeof name, "%s_count", d->name);
                add_series(db, name, pods[p], NULL, base * (double)(d->n_buckets + 2),
                           METRIC_COUNTER);
                break;
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strdup(data, size);
    struct sim_err err = {0};
    struct promql_expr *e = promql_parse(text, "q.yaml", 3, 12, &err);
    if (e) {
        struct tsdb *db = tsdb_new(15 * S, 600 * S, &err);
        if (!db)
            abort();
        if (promql_register(e, db, &err) == SIM_OK) {
            fill(db);
            static const int64_t at[] = {0, 7 * S, 100 * S, 195 * S, 200 * S, 361 * S,
                                         2000 * S};
            for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
                struct promql_value v;
                double kv;
                if (promql_eval(e, db, at[i], &v, &err) == SIM_OK &&
                    v.type == PROMQL_VECTOR) {
                    char buf[256];
                    for (size_t k = 0; k < v.n; k++)
                        promql_format_sample(db, &v.samples[k], buf, sizeof buf);
                }
                promql_eval_keda(e, db, at[i], i & 1, &kv, &err);
            }
            static const char *const labels[] = {"pod", "model_name", "engine"};
            promql_check_labels(e, labels, 3, &err);
        }
        tsdb_free(db);
        promql_free(e);
    }
    free(text);
    return 0;
}
