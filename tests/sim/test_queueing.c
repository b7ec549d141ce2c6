/*
 * Queueing theory: with batching off, the fleet is a textbook queue, and the simulated
 * waiting times must agree with the closed forms within statistical tolerance.
 *
 * Service: a 1-token prompt prefilled in d = 5 ms, then K - 1 decode iterations of d, so
 * a request holds its server for exactly K*d, K ~ Geometric(p) on {1, 2, ...} with mean
 * 1/p = 200: E[S] = d/p = 1 s, E[S^2] = d^2 (2 - p) / p^2. Arrivals are Poisson. The
 * tolerance is 4 standard errors of the mean waiting time, estimated by batch means over
 * 20 batches (each batch spans thousands of seconds, far longer than the queue's
 * relaxation time, so batch means are close to independent).
 */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>

#include "engine_harness.h"

#define D_S 0.005
#define P_GEOM (1.0 / 200.0)

static struct wl_request *poisson_workload(size_t n, double lambda, unsigned long seed)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, seed);
    struct wl_request *w = calloc(n, sizeof *w);
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        t += gsl_ran_exponential(g, 1.0 / lambda);
        w[i].arrival_us = (int64_t)llround(t * 1e6);
        w[i].prompt_tokens = 1;
        w[i].output_tokens = (int32_t)gsl_ran_geometric(g, P_GEOM);
    }
    gsl_rng_free(g);
    return w;
}

static void service_scenario(struct scenario *sc)
{
    h_scenario(sc);
    sc->engine.latency.kind = LAT_CONSTANT;
    sc->engine.latency.prefill_per_token_us = D_S * 1e6;
    sc->engine.latency.decode_iteration_ms = D_S * 1e3;
    sc->engine.max_model_len = 1 << 20;
    sc->engine.num_gpu_blocks = 1 << 20;
    sc->router.queue_timeout_us = INT64_MAX / 4;
    sc->drain_timeout_us = INT64_MAX / 4;
    sc->record.samples = false;
}

/* Mean waiting time (first schedule - arrival) and its batch-means standard error. */
static void wait_stats(const struct h_sink *out, size_t n, double *mean, double *se)
{
    enum { NB = 20 };
    double batch[NB] = {0};
    size_t per = n / NB;
    double *w = calloc(n, sizeof *w);
    for (size_t i = 0; i < n; i++) {
        const struct rec_request *r = &out->rows[i];
        cr_assert_eq(r->outcome, OUTCOME_OK);
        /* First token = first schedule + d (the 1-token prefill step). */
        w[i] = (double)(r->first_token_us - r->arrival_us) * 1e-6 - D_S;
    }
    for (size_t b = 0; b < NB; b++)
        batch[b] = gsl_stats_mean(w + b * per, 1, per);
    *mean = gsl_stats_mean(w, 1, n);
    *se = gsl_stats_sd(batch, 1, NB) / sqrt((double)NB);
    free(w);
}

Test(queueing, single_server_matches_pollaczek_khinchine)
{
    /* max_num_seqs 1: one vLLM replica serves one request at a time, the rest wait in its
     * FCFS queue: an M/G/1 queue. Pollaczek-Khinchine: Wq = lambda E[S^2] / (2 (1 - rho)).
     * lambda = 0.6/s, rho = 0.6: Wq = 0.6 * 0.025^2... computed below from the moments. */
    struct scenario sc;
    service_scenario(&sc);
    sc.engine.max_num_seqs = 1;
    const double lambda = 0.6;
    const size_t n = 40000;
    struct wl_request *w = poisson_workload(n, lambda, 2024);
    struct h_sink out;
    struct sim *s = h_run(&sc, w, n, &out, false);
    double es = D_S / P_GEOM, es2 = D_S * D_S * (2.0 - P_GEOM) / (P_GEOM * P_GEOM);
    double rho = lambda * es;
    double wq = lambda * es2 / (2.0 * (1.0 - rho));
    double mean, se;
    wait_stats(&out, n, &mean, &se);
    cr_log_info("M/G/1: simulated Wq %.4f s (se %.4f), Pollaczek-Khinchine %.4f s", mean, se,
                wq);
    cr_assert_lt(fabs(mean - wq), 4.0 * se, "Wq %.4f vs %.4f (se %.4f)", mean, wq, se);
    cr_assert_lt(se / wq, 0.1, "the test must be precise enough to mean something");
    sim_free(s);
    free(out.rows);
    free(w);
}

/* Erlang C probability of waiting for c servers at offered load a = lambda/mu. */
static double erlang_c(int c, double a)
{
    double sum = 0, term = 1;
    for (int k = 0; k < c; k++) {
        sum += term;
        term *= a / (k + 1);
    }
    double top = term * c / (c - a); /* a^c/c! * c/(c-a) */
    return top / (sum + top);
}

Test(queueing, central_queue_over_c_replicas_matches_erlang_c)
{
    /* Three replicas that each take one request at a time (router
     * max_outstanding_per_replica 1) behind the gateway's FCFS queue: M/M/3 with
     * lambda = 2.1/s, mu = 1/s (rho = 0.7). Wq = C(3, 2.1) / (3 mu - lambda). The
     * geometric service has E[S^2]/(2 E[S]^2) = (2 - p)/2 = 0.9975 instead of 1: a 0.25%
     * bias, far inside the statistical tolerance. */
    struct scenario sc;
    service_scenario(&sc);
    sc.fleet.replicas = 3;
    sc.router.max_outstanding_per_replica = 1;
    const double lambda = 2.1;
    const size_t n = 60000;
    struct wl_request *w = poisson_workload(n, lambda, 77);
    struct h_sink out;
    struct sim *s = h_run(&sc, w, n, &out, false);
    double wq = erlang_c(3, lambda) / (3.0 - lambda);
    double mean, se;
    wait_stats(&out, n, &mean, &se);
    cr_log_info("M/M/3: simulated Wq %.4f s (se %.4f), Erlang C %.4f s", mean, se, wq);
    cr_assert_lt(fabs(mean - wq), 4.0 * se, "Wq %.4f vs %.4f (se %.4f)", mean, wq, se);
    cr_assert_lt(se / wq, 0.1);
    sim_free(s);
    free(out.rows);
    free(w);
}

Test(queueing, erlang_c_helper_matches_a_published_value)
{
    /* Textbook value: C(2, 1) = 1/3 (two servers at 50% utilisation). */
    cr_assert_float_eq(erlang_c(2, 1.0), 1.0 / 3.0, 1e-12);
}
