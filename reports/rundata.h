/*
 * rundata.h: one run read back from the results database, for reports, comparisons and
 * checks.
 *
 * run_data_load() reads the run row, the summary and the SLO verdicts (RD_HEADLINE), and
 * with RD_SERIES also the time series a report draws: per-window arrivals, outcomes,
 * preemptions and latency quantiles (requests binned by arrival time), ready and
 * starting replicas and nodes over time (pods, nodes), queue depth and KV-cache usage
 * (samples), cumulative cost by capacity type (nodes) and latency CDFs. Everything is
 * derived from the database alone, in a fixed order, so the same database gives the
 * same data. Requests are streamed through SQL ordering, so memory grows with the
 * number of windows, pods, nodes and samples, not with requests.
 */
#ifndef LLMCAP_REPORTS_RUNDATA_H
#define LLMCAP_REPORTS_RUNDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reports/db.h"
#include "reports/zones.h"
#include "sim/core/err.h"

enum { RD_HEADLINE = 1, RD_SERIES = 2 };

/* Quantiles computed per window: 0.95 first, then those of the TTFT/TPOT SLOs. A window's
 * quantile is NaN when it holds fewer than RD_MIN_WINDOW_N values (the window width is
 * chosen so that a window at the mean rate holds about 40 requests). */
enum { RD_MAX_Q = 4, RD_MIN_WINDOW_N = 10 };

struct rd_point {
    double t_s; /* seconds of run time (or the value, for CDFs) */
    double v;
};

/* A series of points in time order. Step series hold the value from each t_s to the next
 * point's; the last point is at the run's end. */
struct rd_series {
    struct rd_point *p;
    size_t n, cap;
};

struct rd_window {
    double t_s; /* start; the window is [t_s, t_s + window_s) by arrival time */
    uint32_t n_arrived, n_ok, n_timeout, n_rejected, n_failed, n_unfinished;
    uint64_t preemptions;
    uint32_t n_ttft, n_tpot; /* ok requests with a TTFT / TPOT */
    double ttft_q[RD_MAX_Q]; /* at run_data.q[]; NaN below RD_MIN_WINDOW_N */
    double tpot_q[RD_MAX_Q];
};

struct rd_kv {
    char *key;
    double value; /* NaN for NULL */
};

struct rd_slo {
    char *slo, *metric, *unit; /* a deployment's SLO of several is named "DEPLOYMENT.slo" */
    double quantile;       /* NaN for error_rate */
    double target, actual; /* actual NaN when nothing was measured */
    bool pass;
    const char *deployment; /* that deployment (borrowed from run_data.deps), else NULL */
};

/* One deployment of a run with several (tables deployments, deployment_summary). */
struct rd_dep {
    char *name;
    bool slo_pass;
    size_t n_slo, n_pass; /* its SLOs in run_data.slo and how many it met */
    double cost_usd;      /* its share of the cluster's bill by GPU-time (NaN: no cost model) */
    double ttft_slo_breach_s, ttft_slo_breach_longest_s; /* NaN without a TTFT SLO */
    struct rd_kv *summary; /* its deployment_summary rows, in key order */
    size_t n_summary;
};

/* A view of `rd` whose summary is deployment `d`'s (for hl_value() and run_data_get() on
 * one deployment); borrows from both. */
struct run_data run_data_deployment_view(const struct run_data *rd, const struct rd_dep *d);

/* The nodes of one offering: instance type, capacity type and zone (as the nodes table
 * keeps it: the zone ID on AWS, the region on Azure; run_data.zones names it). */
struct rd_node_group {
    char instance_type[64], capacity_type[16], zone[48];
    size_t nodes, spot_interruptions;
    double cost_usd; /* NaN when no node of the group has a bill */
};

struct run_data {
    int64_t run_id;
    /* the runs row (owned strings; trace_path NULL for synthetic workloads) */
    char *scenario_name, *scenario_path, *scenario_sha256, *overrides, *labels_json;
    char *llmcap_version, *git_describe, *gsl_version, *sqlite_version;
    char *latency_model, *latency_provenance, *trace_path, *created_utc;
    int64_t seed;
    double wall_s, sim_end_s;
    int64_t n_events, n_requests;
    /* summary in key order, SLO verdicts in slo order; a run of several deployments has
     * no SLO of its own: slo holds every deployment's, in the deployments' order (each
     * one's in slo order), and deps the deployments (n_deps 0 for a single one) */
    struct rd_kv *summary;
    size_t n_summary;
    struct rd_slo *slo;
    size_t n_slo;
    /* the nodes by offering, ordered by zone, instance type, capacity type; and the run's
     * zone names and cloud (run_notes), for showing a zone beside its name */
    struct rd_node_group *node_groups;
    size_t n_node_groups;
    struct zone_notes zones;
    struct rd_dep *deps;
    size_t n_deps;

    /* RD_SERIES */
    bool has_series;
    double window_s;
    size_t n_windows;
    struct rd_window *win;
    double q[RD_MAX_Q];
    int nq;
    uint64_t n_request_rows;                      /* rows in `requests` (all, a sample, or none) */
    uint64_t n_ok_rows[3]; /* of them ok with a TTFT, with a TPOT, and ok (e2e): the CDFs' */
    struct rd_series ready, starting, nodes;      /* steps: counts */
    struct rd_series queue, gateway, running;     /* samples: summed over replicas */
    struct rd_series kv_mean, kv_max;             /* samples: fraction 0..1 over replicas */
    struct rd_series cost_spot, cost_on_demand;   /* cumulative USD, same times */
    struct rd_series cdf_ttft, cdf_tpot, cdf_e2e; /* (value s, fraction of ok requests) */
    struct rd_series spot_interruptions;          /* (time, node id) */
    size_t n_pods, n_nodes;
    /* pods that started during the run (not there from the start): how many, and the
     * median of their start-up phases in seconds (NaN when a phase was never timed):
     * [0] created to Ready, [1] waiting for a node, [2] image pull, [3] weight load,
     * [4] engine init */
    size_t n_started;
    double startup_median_s[5], startup_max_s;
    size_t n_samples_waiting, n_samples_kv;
    /* run_data_load_series(): the deployment whose rows the series are (borrowed);
     * NULL: the run's */
    const char *series_deployment;
};

/* Every rd_series of a run_data, for initialising and freeing them all. */
#define RD_SERIES_LIST(rd)                                                                 \
    &(rd)->ready, &(rd)->starting, &(rd)->nodes, &(rd)->queue, &(rd)->gateway,            \
        &(rd)->running, &(rd)->kv_mean, &(rd)->kv_max, &(rd)->cost_spot,                  \
        &(rd)->cost_on_demand, &(rd)->cdf_ttft, &(rd)->cdf_tpot, &(rd)->cdf_e2e,          \
        &(rd)->spot_interruptions

/* Run ids in the database, ascending. Caller frees *ids. SIM_EIO/SIM_ENOMEM + err. */
int run_ids(struct db *db, int64_t **ids, size_t *n, struct sim_err *err);

/* The run to use in a database: `want` when > 0, else the last run. *n_runs (when not
 * NULL) gets the number of runs. SIM_EINVAL + err when the database holds no run,
 * SIM_ENOENT when `want` is not in it. */
int run_pick(struct db *db, int64_t want, int64_t *run_id, size_t *n_runs, struct sim_err *err);

/* Read run `run_id` (RD_HEADLINE, plus RD_SERIES for reports) into `rd` (caller owns:
 * run_data_release()). SIM_ENOENT + err when there is no such run, SIM_EIO/SIM_ENOMEM. */
int run_data_load(struct db *db, int64_t run_id, unsigned what, struct run_data *rd,
                  struct sim_err *err);

void run_data_release(struct run_data *rd);

/* The RD_SERIES of `rd` (loaded with RD_HEADLINE alone), and with n == rd->n_deps (a run
 * of several) also of each deployment on its own into dep[0..n): a view of rd whose
 * summary is its (run_data_deployment_view), whose SLOs are its own under their own names
 * ("ttft_p95"), and whose RD_SERIES are read from its rows alone (the deployment column of
 * schema 3: its requests' windows and CDFs, its pods' ready and starting replicas and
 * start-up, its samples); nodes, their bill and node groups are the cluster's and left
 * empty, as are deps. recorded[k] is false, and dep[k]'s series empty, when the file does
 * not say whose its rows are (written before schema 3). The request rows are read once
 * for the run and all its deployments (one pass per ordering: counts, then TTFT, TPOT and
 * e2e in value order), each row going to the run's and its deployment's windows and
 * CDFs. Strings are borrowed from rd: release each dep[k] (zeroed by the caller
 * beforehand) with run_data_release_deployment() before rd, also after a failure.
 * SIM_OK, or SIM_EIO/SIM_ENOMEM + err. */
int run_data_load_series(struct db *db, struct run_data *rd, struct run_data *dep,
                         bool *recorded, size_t n, struct sim_err *err);
void run_data_release_deployment(struct run_data *view);

/* A summary value by key; NaN when the key is missing or NULL. */
double run_data_get(const struct run_data *rd, const char *key);

/* Whether the summary has `key` at all (NULL values included). */
bool run_data_has(const struct run_data *rd, const char *key);

/* Type-7 quantile (linear between order statistics, as the summary's percentiles) of
 * sorted x[0..n); NaN when n == 0. */
double rd_quantile_sorted(const double *x, size_t n, double q);

/* Step series: the value at t (the last point at or before t; 0 before the first). */
double rd_step_at(const struct rd_series *s, double t);
/* Step series: the largest value over [t0, t1]. */
double rd_step_max(const struct rd_series *s, double t0, double t1);
/* Sampled series: the last sample at or before t (NaN when none). */
double rd_sample_at(const struct rd_series *s, double t);
/* Sampled series: the largest sample in [t0, t1] (NaN when none). */
double rd_sample_max(const struct rd_series *s, double t0, double t1);

#endif
