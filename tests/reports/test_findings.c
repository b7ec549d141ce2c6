/* Findings and the report's number formats, on data built by hand. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/findings.h"
#include "reports/report.h"
#include "reports/rundata.h"

Test(findings, clock_duration_latency_and_dollars_are_written_for_people)
{
    char b[64];
    fmt_clock(b, sizeof b, 3725.9); /* 1 h 2 min 5.9 s, rounded down */
    cr_assert_str_eq(b, "1:02:05");
    fmt_clock(b, sizeof b, 0.0);
    cr_assert_str_eq(b, "0:00:00");
    fmt_duration(b, sizeof b, 45.0);
    cr_assert_str_eq(b, "45 s");
    fmt_duration(b, sizeof b, 150.0);
    cr_assert_str_eq(b, "2 min 30 s");
    fmt_duration(b, sizeof b, 540.0);
    cr_assert_str_eq(b, "9 min");
    fmt_duration(b, sizeof b, 3600.0);
    cr_assert_str_eq(b, "1 h");
    fmt_duration(b, sizeof b, 7500.0); /* 2 h 5 min */
    cr_assert_str_eq(b, "2 h 05 min");
    fmt_latency(b, sizeof b, 0.2124);
    cr_assert_str_eq(b, "212 ms");
    fmt_latency(b, sizeof b, 2.0);
    cr_assert_str_eq(b, "2 s");
    fmt_latency(b, sizeof b, 48.391216);
    cr_assert_str_eq(b, "48.4 s");
    fmt_latency(b, sizeof b, NAN);
    cr_assert_str_eq(b, "-");
    fmt_usd(b, sizeof b, 3513.85);
    cr_assert_str_eq(b, "$3,514");
    fmt_usd(b, sizeof b, 1234567.4);
    cr_assert_str_eq(b, "$1,234,567");
    fmt_usd(b, sizeof b, 412.3);
    cr_assert_str_eq(b, "$412");
    fmt_usd(b, sizeof b, 1.6243);
    cr_assert_str_eq(b, "$1.62");
}

Test(findings, quantile_interpolates_between_order_statistics_as_type_7)
{
    /* numpy.quantile([1, 2, 3, 4, 10], 0.95): h = 4 x 0.95 = 3.8, 4 + 0.8 x (10 - 4) = 8.8 */
    double x[] = {1, 2, 3, 4, 10};
    cr_assert_float_eq(rd_quantile_sorted(x, 5, 0.95), 8.8, 1e-12);
    cr_assert_float_eq(rd_quantile_sorted(x, 5, 0.5), 3.0, 1e-12);
    cr_assert(isnan(rd_quantile_sorted(x, 0, 0.5)));
}

/* Ten one-minute windows of 50 requests; p95 TTFT 1 s except 3, 4 and 5 s in minutes 2 to 4;
 * two replicas starting from 100 s to 400 s next to one ready; the queue at 0, 40, 90, 10
 * at the scrapes of 120, 180, 240 and 300 s. */
static struct rd_kv summary_kv[2];
static struct rd_slo slo_ttft;
static struct rd_point starting_p[] = {{0, 0}, {100, 2}, {400, 0}, {600, 0}};
static struct rd_point ready_p[] = {{0, 1}, {600, 1}};
static struct rd_point queue_p[] = {{120, 0}, {180, 40}, {240, 90}, {300, 10}};

static void by_hand(struct run_data *rd, struct rd_window *win)
{
    memset(rd, 0, sizeof *rd);
    static const double p95[10] = {1, 1, 3, 4, 5, 1, 1, 1, 1, 1};
    for (int i = 0; i < 10; i++) {
        memset(&win[i], 0, sizeof win[i]);
        win[i].t_s = 60.0 * i;
        win[i].n_arrived = win[i].n_ok = win[i].n_ttft = 50;
        win[i].ttft_q[0] = p95[i];
        for (int k = 1; k < RD_MAX_Q; k++)
            win[i].ttft_q[k] = NAN;
        for (int k = 0; k < RD_MAX_Q; k++)
            win[i].tpot_q[k] = NAN;
    }
    rd->has_series = true;
    rd->sim_end_s = 600;
    rd->window_s = 60;
    rd->n_windows = 10;
    rd->win = win;
    rd->q[0] = 0.95;
    rd->nq = 1;
    rd->n_request_rows = 500;
    rd->n_pods = 3;
    slo_ttft =
        (struct rd_slo){(char *)"ttft_p95", (char *)"ttft", (char *)"s", 0.95, 2.0, 4.5, false, NULL};
    rd->slo = &slo_ttft;
    rd->n_slo = 1;
    summary_kv[0] = (struct rd_kv){(char *)"requests_total", 500};
    rd->summary = summary_kv;
    rd->n_summary = 1;
    rd->starting = (struct rd_series){starting_p, 4, 4};
    rd->ready = (struct rd_series){ready_p, 2, 2};
    rd->queue = (struct rd_series){queue_p, 4, 4};
}

Test(findings, a_run_of_windows_above_the_slo_is_one_breach_with_what_went_on)
{
    struct run_data rd;
    struct rd_window win[10];
    by_hand(&rd, win);
    struct finding f[8];
    size_t n = findings_detect(&rd, f, 8);
    cr_assert_eq(n, 1);
    cr_assert_eq(f[0].kind, FIND_SLO_BREACH);
    cr_assert(f[0].warn);
    /* windows 2, 3, 4 are above 2 s: [120 s, 300 s), peak 5 s in the window at 240 s */
    cr_assert_float_eq(f[0].t0_s, 120.0, 1e-12);
    cr_assert_float_eq(f[0].t1_s, 300.0, 1e-12);
    cr_assert_str_eq(f[0].text, "p95 TTFT above its 2 s SLO for 3 min, from 0:02:00 to 0:05:00 "
                                "(peak 5 s in the window at 0:04:00), while 2 replicas were "
                                "starting (1 ready); the queue grew from 0 to 90 waiting "
                                "requests");
}

Test(findings, an_arrival_spike_is_named_against_the_median_rate)
{
    struct run_data rd;
    struct rd_window win[10];
    by_hand(&rd, win);
    win[2].n_arrived = 200; /* 200 / 60 s = 3.33 req/s against a median of 50 / 60 = 0.833 */
    struct finding f[8];
    cr_assert_eq(findings_detect(&rd, f, 8), 1);
    cr_assert(strstr(f[0].text, "; arrivals peaked at 3.33 req/s at 0:02:00 (4.0x the median "
                                "0.833 req/s)"),
              "%s", f[0].text);
}

Test(findings, gateway_timeouts_are_placed_in_time)
{
    struct run_data rd;
    struct rd_window win[10];
    by_hand(&rd, win);
    for (int i = 0; i < 10; i++)
        win[i].ttft_q[0] = 1.0; /* no breach */
    win[2].n_timeout = 3;
    win[3].n_timeout = 4;
    win[7].n_timeout = 1;
    summary_kv[1] = (struct rd_kv){(char *)"requests_timeout", 8};
    rd.n_summary = 2;
    struct finding f[8];
    cr_assert_eq(findings_detect(&rd, f, 8), 1);
    cr_assert_eq(f[0].kind, FIND_TIMEOUT);
    /* the longest stretch: windows 2 and 3 (7 requests), not window 7 (1) */
    cr_assert_str_eq(f[0].text, "8 requests timed out at the gateway (queued longer than "
                                "router.queue_timeout with no replica to take them); 7 of them "
                                "arrived between 0:02:00 and 0:04:00, when 1 replica was ready "
                                "and 2 starting");
}

Test(findings, windows_without_enough_requests_break_a_breach)
{
    struct run_data rd;
    struct rd_window win[10];
    by_hand(&rd, win);
    win[3].ttft_q[0] = NAN; /* fewer than RD_MIN_WINDOW_N requests: no quantile */
    struct finding f[8];
    cr_assert_eq(findings_detect(&rd, f, 8), 2);
    cr_assert(strstr(f[0].text, "for 1 min, from 0:02:00 to 0:03:00"), "%s", f[0].text);
    cr_assert(strstr(f[1].text, "for 1 min, from 0:04:00 to 0:05:00"), "%s", f[1].text);
}

/* A run whose KEDA poll never found its trigger active while the error-rate SLO failed
 * (tests/fixtures/autoscale/never_active.yaml gives 34 polls, 31 with no series). */
Test(findings, an_autoscaler_never_active_while_an_slo_failed_is_a_warning)
{
    struct rd_kv kv[] = {{"autoscaler_active_evaluations", 0},
                         {"autoscaler_empty_query_evaluations", 31},
                         {"autoscaler_evaluations", 34},
                         {"replicas_peak_ready", 1}};
    struct rd_slo slo = {"error_rate", "error_rate", "frac", NAN, 0.01, 0.6667, false, NULL};
    struct run_data rd = {0};
    rd.summary = kv;
    rd.n_summary = sizeof kv / sizeof kv[0];
    rd.slo = &slo;
    rd.n_slo = 1;
    struct finding f[8];
    cr_assert_eq(findings_detect(&rd, f, 8), 1);
    cr_assert_eq(f[0].kind, FIND_AUTOSCALER_INACTIVE);
    cr_assert(f[0].warn);
    cr_assert_str_eq(f[0].text,
                     "the autoscaler was never active in 34 evaluations while SLO error_rate "
                     "failed: the fleet never scaled on demand (peak 1 ready replica); in 31 of "
                     "them a trigger query matched no series: check its label matchers against "
                     "the labels the deployment exports (scaling_events.reason names the query)");
    /* Active once, or every SLO met: nothing to say. */
    kv[0].value = 1;
    cr_assert_eq(findings_detect(&rd, f, 8), 0);
    kv[0].value = 0;
    slo.pass = true;
    cr_assert_eq(findings_detect(&rd, f, 8), 0);
}
