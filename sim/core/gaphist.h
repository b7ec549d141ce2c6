/*
 * gaphist.h: a weighted distribution of durations in whole microseconds, in bounded
 * memory: the inter-token latencies (ITL) of a run, whose count grows with tokens.
 *
 * Values below 2048 us are kept exactly. Above, each octave [2^e, 2^(e+1)) is split into
 * 1024 buckets (width <= 0.1% of the value), and every bucket keeps the sum of its
 * values: a bucket reports the mean of what fell in it, exactly the value when it holds
 * only one distinct value. Octaves are allocated on first use (16 KiB each). Quantiles
 * follow GSL's and NumPy's default (linear interpolation between order statistics,
 * Hyndman-Fan type 7) over those bucket values; the mean and the maximum are exact.
 */
#ifndef LLMCAP_SIM_GAPHIST_H
#define LLMCAP_SIM_GAPHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GAPHIST_OCTAVES 53 /* octave 0: [0, 2048) exactly; then 2^11 .. 2^63 */
#define GAPHIST_SUB_BITS 10 /* 1024 buckets per octave above 2048 us */
#define GAPHIST_EXACT_N 2048

struct gaphist {
    uint64_t *count[GAPHIST_OCTAVES]; /* NULL until used */
    double *sum[GAPHIST_OCTAVES];
    uint64_t n;
    double total_us; /* sum of all values */
    int64_t max_us;
    bool oom; /* an octave could not be allocated: its values were dropped */
};

/* Allocate octave o on its first use; false (and h->oom) when out of memory. */
bool gaphist_octave_new(struct gaphist *h, int o);

/* Add `weight` observations of `v_us` (< 0 is taken as 0). Inline: a run adds one value
 * per decode iteration. */
static inline void gaphist_add(struct gaphist *h, int64_t v_us, uint64_t weight)
{
    if (weight == 0)
        return;
    if (v_us < 0)
        v_us = 0;
    int o;
    size_t b;
    if (v_us < GAPHIST_EXACT_N) {
        o = 0;
        b = (size_t)v_us;
    } else {
        int e = 63 - __builtin_clzll((unsigned long long)v_us); /* 2^e <= v < 2^(e+1) */
        o = e - 10;
        b = (size_t)(((unsigned long long)v_us >> (e - GAPHIST_SUB_BITS)) &
                     ((1u << GAPHIST_SUB_BITS) - 1));
    }
    if (!h->count[o] && !gaphist_octave_new(h, o))
        return;
    h->count[o][b] += weight;
    h->sum[o][b] += (double)v_us * (double)weight;
    h->n += weight;
    h->total_us += (double)v_us * (double)weight;
    if (v_us > h->max_us)
        h->max_us = v_us;
}

/* The q-quantile (0 <= q <= 1) in microseconds; NaN when empty. */
double gaphist_quantile(const struct gaphist *h, double q);

void gaphist_free(struct gaphist *h); /* frees the octaves; h itself is the caller's */

#endif
