/*
 * classes.c: per-class results (workload.classes): the latency statistics and SLOs of each
 * class over its own OK requests, from the class's run_stats (stats.h), which sim.c feeds
 * beside the deployment's. Counts per class are kept as requests end (sim_request_done).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

void classes_finish(struct deployment *d)
{
    struct sim_result *res = &d->res;
    if (res->n_classes <= 0)
        return;
    struct sim_result *tmp = calloc(1, sizeof *tmp);
    if (!tmp) {
        sim_fail(d->s, SIM_ENOMEM, "per-class statistics (out of memory)");
        return;
    }
    for (int c = 0; c < res->n_classes; c++) {
        struct class_result *cr = &res->cls[c];
        struct run_stats *st = &d->cls_st[c];
        run_stats_fill(st, tmp);
        cr->ttft = tmp->ttft;
        cr->tpot = tmp->tpot;
        cr->e2e = tmp->e2e;
        uint64_t ok = cr->n_outcome[OUTCOME_OK];
        cr->error_rate = cr->n_requests ? (double)(cr->n_requests - ok) / (double)cr->n_requests
                                        : 0.0;
        const struct class_spec *cs = cr->spec;
        cr->n_slo = cs->n_slo;
        cr->slo_pass = true;
        for (size_t i = 0; i < cs->n_slo; i++) {
            const struct slo_item *it = &cs->slo[i];
            struct slo_result *sr = &cr->slo[i];
            sr->slo = it;
            sr->actual = it->metric == SLO_ERROR_RATE
                             ? cr->error_rate
                             : run_stats_slo_quantile(st, tmp, it->metric, it->quantile);
            sr->pass = !isnan(sr->actual) && sr->actual <= it->target;
            cr->slo_pass = cr->slo_pass && sr->pass;
        }
    }
    free(tmp);
}
