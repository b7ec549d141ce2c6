/* workload.classes in the workload: classes drawn by share (a binomial count), a class's
 * own lengths, a trace's class and prefix_group columns counted by hand, and an unknown
 * class name refused at its cell. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

#include "sim/workload/workload.h"

#define TR FIXTURES "/traces/"

static void init(void)
{
    gsl_set_error_handler_off();
}

TestSuite(wl_classes, .init = init);

static void two_classes(struct workload_spec *s)
{
    s->n_classes = 2;
    snprintf(s->classes[0].name, sizeof s->classes[0].name, "interactive");
    s->classes[0].share = 0.7;
    snprintf(s->classes[1].name, sizeof s->classes[1].name, "batch");
    s->classes[1].share = 0.3;
}

/* A gateway log read by its own column names, with a class column (tier). */
static void gateway_spec(struct workload_spec *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->kind = WL_TRACE;
    snprintf(s->trace_path, sizeof s->trace_path, "%s", path);
    s->format = TRACE_CSV;
    s->time_scale = s->rate_scale = 1.0;
    s->window_end_us = -1;
    s->time_format = TIME_MS;
    snprintf(s->columns.arrival, SC_NAME_MAX, "ts_ms");
    snprintf(s->columns.prompt, SC_NAME_MAX, "prompt");
    snprintf(s->columns.output, SC_NAME_MAX, "completion");
    snprintf(s->columns.class_, SC_NAME_MAX, "tier");
    two_classes(s);
}

Test(wl_classes, shares_and_own_lengths)
{
    /* 10,000 requests, batch share 0.3: Binomial(10000, 0.3) batch requests, within 4.5 sd
     * (45.8). The batch class has its own constant lengths (3000 / 400), the interactive
     * class the workload's (100 / 10), so each request's lengths tell its class. */
    struct workload_spec s;
    memset(&s, 0, sizeof s);
    s.kind = WL_SYNTHETIC;
    s.process = ARR_POISSON;
    s.rate_per_s = 10;
    s.count = 10000;
    s.prompt = (struct len_spec){.dist = LEN_CONSTANT, .value = 100};
    s.output = (struct len_spec){.dist = LEN_CONSTANT, .value = 10};
    two_classes(&s);
    s.classes[1].own_lengths = true;
    s.classes[1].prompt = (struct len_spec){.dist = LEN_CONSTANT, .value = 3000};
    s.classes[1].output = (struct len_spec){.dist = LEN_CONSTANT, .value = 400};
    struct rng_set *rng = rng_set_new(7);
    struct sim_err err = {0};
    struct workload *w = workload_open(&s, -1, rng, &err);
    cr_assert_not_null(w, "%s", err.msg);
    struct wl_request q;
    uint64_t n[2] = {0, 0};
    while (workload_next(w, &q, &err) == 1) {
        cr_assert(q.cls == 0 || q.cls == 1);
        n[q.cls]++;
        cr_assert_eq(q.prompt_tokens, q.cls ? 3000 : 100);
        cr_assert_eq(q.output_tokens, q.cls ? 400 : 10);
    }
    double sd = sqrt(10000 * 0.3 * 0.7);
    cr_assert(fabs((double)n[1] - 3000) <= 4.5 * sd, "batch %llu", (unsigned long long)n[1]);
    cr_assert_eq(n[0] + n[1], 10000);
    workload_close(w);
    rng_set_free(rng);
}

Test(wl_classes, a_trace_class_column_and_prefix_groups)
{
    /* classes_gateway.csv by hand: interactive on lines 2, 4, 7, 8; batch on 3, 6, 9;
     * line 5 has an empty tier (drawn by share) and no app. Groups: support-bot x3,
     * summariser x3, search x1, none x1. */
    struct workload_spec s;
    gateway_spec(&s, TR "classes_gateway.csv");
    snprintf(s.columns.prefix_group, SC_NAME_MAX, "app");
    struct rng_set *rng = rng_set_new(3);
    struct sim_err err = {0};
    struct workload *w = workload_open(&s, -1, rng, &err);
    cr_assert_not_null(w, "%s", err.msg);
    static const int want[8] = {0, 1, 0, -1, 1, 0, 0, 1};
    uint64_t bot = workload_group_key("support-bot", 11), sum = workload_group_key("summariser", 10);
    uint64_t search = workload_group_key("search", 6);
    const uint64_t group[8] = {bot, sum, bot, 0, sum, bot, search, sum};
    struct wl_request q;
    int i = 0;
    while (workload_next(w, &q, &err) == 1) {
        cr_assert_lt(i, 8);
        if (want[i] >= 0)
            cr_assert_eq(q.cls, want[i], "row %d", i);
        else
            cr_assert(q.cls == 0 || q.cls == 1);
        cr_assert_eq(q.group, group[i], "row %d", i);
        i++;
    }
    cr_assert_eq(i, 8);
    workload_close(w);
    rng_set_free(rng);
}

Test(wl_classes, an_unknown_class_name_is_refused_at_its_cell)
{
    struct workload_spec s;
    gateway_spec(&s, TR "bad_classes_gateway.csv");
    struct rng_set *rng = rng_set_new(3);
    struct sim_err err = {0};
    struct workload *w = workload_open(&s, -1, rng, &err);
    cr_assert_not_null(w, "%s", err.msg);
    struct wl_request q;
    cr_assert_eq(workload_next(w, &q, &err), 1);
    cr_assert_eq(workload_next(w, &q, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "'tier' must name one of workload.classes ('interactive', "
                              "'batch'), got 'bulk'"),
              "%s", err.msg);
    /* "1010,u2,bulk": the field starts at byte 9 */
    cr_assert(strstr(err.where, "bad_classes_gateway.csv:3:9"), "%s", err.where);
    workload_close(w);
    rng_set_free(rng);
}
