/*
 * rng.h: independent random streams, one per purpose.
 *
 * Every random purpose has its own GSL mt19937 generator, seeded from the run's master
 * seed and the stream's id (splitmix64), so adding draws in one subsystem never shifts
 * another. Stream ids are part of the determinism contract: append new ones at the end,
 * never renumber. GSL types stay inside rng.c.
 */
#ifndef LLMCAP_SIM_RNG_H
#define LLMCAP_SIM_RNG_H

#include <stdint.h>

#include "sim/core/err.h"

enum rng_stream {
    RNG_ARRIVALS = 0,      /* synthetic inter-arrival times */
    RNG_PROMPT_TOKENS = 1, /* synthetic prompt lengths */
    RNG_OUTPUT_TOKENS = 2, /* synthetic output lengths */
    RNG_TRACE_SCALE = 3,   /* trace rate scaling: thinning and replication */
    RNG_ROUTER = 4,        /* router tie-breaks that are random by design */
    RNG_STARTUP = 5,       /* pod start-up phase jitter */
    RNG_NODES = 6,         /* node provisioning latencies */
    RNG_SPOT = 7,          /* spot interruptions */
    RNG_FAULTS = 8,        /* injected metric/scrape failures */
    RNG_EXPANDER = 9,      /* cluster-autoscaler random expander */
    RNG_SAMPLE = 10,       /* per-request row sampling in the recorder */
    RNG_CLIENT = 11,       /* client retry backoff jitter */
    RNG_REPLICASET = 12,   /* pod UIDs: the ReplicaSet's scale-in tie-break */
    RNG_THINK = 13,        /* closed-loop clients' think times */
    RNG_PREFIX = 14,       /* synthetic prefixes: pool lengths, system prompt and document picks */
    RNG_SESSIONS = 15,     /* synthetic sessions: turns per session, think times */
    RNG_SCHEDULER = 16,    /* kube-scheduler selectHost: ties among the best nodes */
    RNG_CLASS = 17,        /* request classes drawn by share (workload.classes) */
    RNG_N
};

struct rng_set; /* opaque: RNG_N generators */

/* New set of RNG_N streams for `master_seed`. Caller owns: rng_set_free(). NULL on OOM. */
struct rng_set *rng_set_new(uint64_t master_seed);
void rng_set_free(struct rng_set *r); /* NULL is a no-op */

/* The 32-bit GSL seed of stream `id` under `master` (never 0). Exposed for tests/docs. */
unsigned long rng_stream_seed(uint64_t master, unsigned id);

/* Draws. Parameters must be valid (callers validate input first); all return doubles
 * unless stated. */
double rng_uniform(struct rng_set *r, enum rng_stream s);     /* [0, 1) */
double rng_uniform_pos(struct rng_set *r, enum rng_stream s); /* (0, 1) */
unsigned long rng_uniform_int(struct rng_set *r, enum rng_stream s, unsigned long n); /* [0,n) */
double rng_exponential(struct rng_set *r, enum rng_stream s, double mean);
double rng_gamma(struct rng_set *r, enum rng_stream s, double shape, double scale);
double rng_lognormal(struct rng_set *r, enum rng_stream s, double zeta, double sigma);
double rng_gaussian(struct rng_set *r, enum rng_stream s, double sigma);

#endif
