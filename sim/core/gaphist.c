/* gaphist.c: the bounded-memory distribution of microsecond durations (gaphist.h). */
#include "sim/core/gaphist.h"

#include <math.h>
#include <stdlib.h>

static size_t octave_len(int o)
{
    return o == 0 ? GAPHIST_EXACT_N : (size_t)1 << GAPHIST_SUB_BITS;
}

bool gaphist_octave_new(struct gaphist *h, int o)
{
    h->count[o] = calloc(octave_len(o), sizeof *h->count[o]);
    h->sum[o] = calloc(octave_len(o), sizeof *h->sum[o]);
    if (!h->count[o] || !h->sum[o]) {
        free(h->count[o]);
        free(h->sum[o]);
        h->count[o] = NULL;
        h->sum[o] = NULL;
        h->oom = true;
        return false;
    }
    return true;
}

/* The value of the k-th smallest observation (0-based, k < n). */
static double order_stat(const struct gaphist *h, uint64_t k)
{
    uint64_t seen = 0;
    for (int o = 0; o < GAPHIST_OCTAVES; o++) {
        if (!h->count[o])
            continue;
        size_t len = octave_len(o);
        for (size_t b = 0; b < len; b++) {
            uint64_t c = h->count[o][b];
            if (c && k < seen + c)
                return o == 0 ? (double)b : h->sum[o][b] / (double)c;
            seen += c;
        }
    }
    return (double)h->max_us;
}

double gaphist_quantile(const struct gaphist *h, double q)
{
    if (h->n == 0)
        return NAN;
    /* the arithmetic of GSL's gsl_stats_quantile_from_sorted_data */
    const double index = q * (double)(h->n - 1);
    const uint64_t lhs = (uint64_t)index;
    const double delta = index - (double)lhs;
    if (lhs >= h->n - 1)
        return order_stat(h, h->n - 1);
    double a = order_stat(h, lhs);
    if (delta == 0.0)
        return a;
    return (1 - delta) * a + delta * order_stat(h, lhs + 1);
}

void gaphist_free(struct gaphist *h)
{
    for (int o = 0; o < GAPHIST_OCTAVES; o++) {
        free(h->count[o]);
        free(h->sum[o]);
        h->count[o] = NULL;
        h->sum[o] = NULL;
    }
}
