/* headline.c: the headline metrics shared by compare and check, and the regression rule. */
#include "reports/headline.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Floors: 1 ms, 0.01 percentage points of error rate, 0.001 req/s, one minute of SLO
 * breach (the summary measures it in whole minutes), a cent, 0.01 cent per 1M tokens. */
const struct hl_metric hl_metrics[] = {
    {"error_rate_frac", "error rate", HL_FRAC, HL_HIGHER_WORSE, true, 1e-4},
    {"ttft_p50_s", "TTFT p50", HL_S, HL_HIGHER_WORSE, false, 1e-3},
    {"ttft_p95_s", "TTFT p95", HL_S, HL_HIGHER_WORSE, true, 1e-3},
    {"ttft_p99_s", "TTFT p99", HL_S, HL_HIGHER_WORSE, true, 1e-3},
    {"tpot_p50_s", "TPOT p50", HL_S, HL_HIGHER_WORSE, false, 1e-3},
    {"tpot_p95_s", "TPOT p95", HL_S, HL_HIGHER_WORSE, true, 1e-3},
    {"tpot_p99_s", "TPOT p99", HL_S, HL_HIGHER_WORSE, true, 1e-3},
    {"e2e_p95_s", "end-to-end p95", HL_S, HL_HIGHER_WORSE, true, 1e-3},
    {"queue_p95_s", "queue wait p95", HL_S, HL_HIGHER_WORSE, false, 1e-3},
    {"ttft_slo_breach_s", "TTFT SLO missed", HL_MIN, HL_HIGHER_WORSE, true, 60.0},
    {"throughput_req_per_s", "throughput", HL_REQ_PER_S, HL_LOWER_WORSE, true, 1e-3},
    {"goodput_req_per_s", "goodput", HL_REQ_PER_S, HL_LOWER_WORSE, true, 1e-3},
    {"output_tokens_per_s", "output tokens", HL_TOK_PER_S, HL_LOWER_WORSE, false, 1e-3},
    {"preemptions_total", "preemptions", HL_COUNT, HL_HIGHER_WORSE, false, 1.0},
    {"replicas_peak_ready", "replicas at peak", HL_COUNT, HL_NEUTRAL, false, 0.0},
    {"replica_minutes", "replica-minutes", HL_COUNT, HL_NEUTRAL, false, 0.0},
    {"cost_usd", "cost", HL_USD, HL_HIGHER_WORSE, true, 0.01},
    {"cost_usd_per_mtok_output", "cost per 1M output tokens", HL_USD_PER_MTOK, HL_HIGHER_WORSE,
     true, 1e-4},
    {"cost_usd_per_month", "cost projected to a month", HL_USD, HL_HIGHER_WORSE, false, 0.01},
    {"cost_idle_frac", "idle share of the bill", HL_FRAC, HL_HIGHER_WORSE, false, 1e-4},
    {"cost_loading_frac", "loading share of the bill", HL_FRAC, HL_HIGHER_WORSE, false, 1e-4},
    {"spot_interruptions_total", "spot interruptions", HL_COUNT, HL_NEUTRAL, false, 0.0},
};

const size_t hl_n_metrics = sizeof hl_metrics / sizeof hl_metrics[0];

double hl_value(const struct run_data *rd, const struct hl_metric *m)
{
    if (!strcmp(m->key, "cost_idle_frac") || !strcmp(m->key, "cost_loading_frac")) {
        double cost = run_data_get(rd, "cost_usd");
        double part = run_data_get(rd, m->key[5] == 'i' ? "cost_idle_usd" : "cost_loading_usd");
        return cost > 0 ? part / cost : NAN;
    }
    return run_data_get(rd, m->key);
}

const char *hl_unit_name(enum hl_unit u)
{
    switch (u) {
    case HL_S:
        return "s";
    case HL_FRAC:
        return "%";
    case HL_REQ_PER_S:
        return "req/s";
    case HL_TOK_PER_S:
        return "tok/s";
    case HL_USD:
        return "USD";
    case HL_USD_PER_MTOK:
        return "USD/1M tok";
    case HL_MIN:
        return "min";
    default:
        return "";
    }
}

double hl_display_scale(const struct hl_metric *m)
{
    if (m->unit == HL_FRAC)
        return 100.0;
    if (m->unit == HL_MIN)
        return 1.0 / 60.0;
    return 1.0;
}

void hl_format(char *buf, size_t n, const struct hl_metric *m, double v)
{
    if (isnan(v)) {
        snprintf(buf, n, "-");
        return;
    }
    v *= hl_display_scale(m);
    switch (m->unit) {
    case HL_USD:
        snprintf(buf, n, "%.2f", v);
        break;
    case HL_USD_PER_MTOK:
        snprintf(buf, n, "%.4f", v);
        break;
    case HL_COUNT:
    case HL_MIN:
        if (v == floor(v) && fabs(v) < 1e15)
            snprintf(buf, n, "%.0f", v);
        else
            snprintf(buf, n, "%.1f", v);
        break;
    default:
        snprintf(buf, n, "%.4g", v);
    }
}

bool hl_regressed(const struct hl_metric *m, double base, double now, double tolerance_pct,
                  double *limit)
{
    double allowed = fmax(fabs(base) * tolerance_pct / 100.0, m->floor);
    if (m->dir == HL_LOWER_WORSE) {
        *limit = base - allowed;
        return !isnan(base) && !isnan(now) && now < *limit;
    }
    *limit = base + allowed;
    return m->dir == HL_HIGHER_WORSE && !isnan(base) && !isnan(now) && now > *limit;
}

const char *hl_verdict(const struct hl_metric *m, double base, double now)
{
    if (isnan(base) || isnan(now) || base == now || m->dir == HL_NEUTRAL)
        return "";
    bool up = now > base;
    return (up == (m->dir == HL_HIGHER_WORSE)) ? "worse" : "better";
}
