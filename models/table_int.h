/*
 * table_int.h: the latency-table reader and its lookups (internal to models/ and its
 * tests; the public entry points are lat_table_new() and lat_model_from_spec() in
 * latency.h).
 *
 * A table (docs/latency-tables.md) gives per-layer operator times for one shard. Lookups
 * interpolate linearly with GSL inside the grid; outside it (docs/latency-models.md):
 *  - below the first grid point the first value is used (clamped);
 *  - above the last grid point the value is extrapolated linearly from the last two
 *    grid points, and never falls below the last value (more work is never faster);
 *  - 2-D grids apply the same rule on each axis (bilinear inside).
 */
#ifndef LLMCAP_MODELS_TABLE_INT_H
#define LLMCAP_MODELS_TABLE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "models/latency.h"
#include "models/roofline.h"
#include "sim/core/err.h"

enum lat_tab_prov { LAT_PROV_MEASURED, LAT_PROV_ROOFLINE, LAT_PROV_PUBLISHED };

/* A 1-D grid: y(x) at n strictly increasing x. gsl is an opaque gsl_interp. */
struct lat_grid1 {
    double *x;
    double *y;
    size_t n;
    void *gsl;
};

/* A 2-D grid: z(x_i, y_j) = z[j * nx + i] (GSL's layout). gsl is a gsl_interp2d. */
struct lat_grid2 {
    double *x;
    double *y;
    double *z;
    size_t nx, ny;
    void *gsl;
};

enum lat_tab_gemm { TAB_QKV, TAB_O, TAB_GATE_UP, TAB_DOWN, TAB_LM_HEAD, TAB_N_GEMM };

/* The whole table, as read. */
struct lat_tab {
    enum lat_tab_prov prov;
    char prov_gpu[96], prov_gpu_catalog[64], prov_driver[32], prov_cuda[32], prov_date[16],
        prov_tool[64];
    char prov_source[320], prov_note[480];
    char model[64], dtype[16], kv_dtype[16];
    int tp, layers, hidden, heads, kv_heads, head_dim, intermediate, vocab, block_size;
    struct lat_grid1 gemm[TAB_N_GEMM]; /* share one x array (gemm[0].x owns it) */
    struct lat_grid2 decode;           /* x = batch, y = context_tokens */
    struct lat_grid2 prefill;          /* x = tokens, y = context_tokens */
    bool has_allreduce;
    struct lat_grid1 allreduce;
    double overhead_us;
    /* the step model's terms (docs/latency-tables.md), each optional */
    double layer_us, launch_us, host_us, host_seq_us, frontend_us;
    bool has_layer_us, has_launch_us, has_host_us, has_host_seq_us, has_frontend_us;
};

/* Read and check `path`. Caller owns: lat_tab_release(). SIM_EINVAL + err (file:line:col)
 * for a table that breaks a rule of docs/latency-tables.md; SIM_ENOENT when missing. */
int lat_tab_load(struct lat_tab *t, const char *path, struct sim_err *err);

/* Free what `t` owns (not t). */
void lat_tab_release(struct lat_tab *t);

/* Lookups with the rules above (microseconds, per layer except lm_head). */
double lat_grid1_eval(const struct lat_grid1 *g, double x);
double lat_grid2_eval(const struct lat_grid2 *g, double x, double y);

/* lat_grid2_eval(g, x, y) along one x for a run of y values, the same numbers bit for bit
 * (the same bilinear arithmetic as GSL's), without searching for x and, while y grows,
 * without searching for y: a decode run evaluates the attention at one batch size and a
 * mean context one token longer each iteration. */
struct lat_grid2_row {
    const struct lat_grid2 *g;
    double x, t; /* t: x's fraction of its cell (inside the grid) */
    size_t xi, yi; /* x's cell; the cell of the last y */
    bool x_in;
};
void lat_grid2_row_init(struct lat_grid2_row *r, const struct lat_grid2 *g, double x);
/* The cases off the walk: x or y outside the grid, y back below the last cell. */
double lat_grid2_row_seek(struct lat_grid2_row *r, double y);

static inline double lat_grid2_row_eval(struct lat_grid2_row *r, double y)
{
    const struct lat_grid2 *g = r->g;
    const double *ya = g->y;
    size_t ny = g->ny, j = r->yi;
    if (!r->x_in || !(y >= ya[j] && y <= ya[ny - 1]))
        return lat_grid2_row_seek(r, y);
    /* y's cell as gsl_interp_bsearch finds it: the last j <= ny - 2 with ya[j] <= y */
    while (j + 2 < ny && ya[j + 1] <= y)
        j++;
    r->yi = j;
    /* gsl_interp2d_bilinear's interpolation, term for term (interpolation/bilinear.c) */
    size_t nx = g->nx, i = r->xi;
    double z00 = g->z[j * nx + i], z01 = g->z[(j + 1) * nx + i];
    double z10 = g->z[j * nx + i + 1], z11 = g->z[(j + 1) * nx + i + 1];
    double t = r->t, u = (y - ya[j]) / (ya[j + 1] - ya[j]);
    return (1. - t) * (1. - u) * z00 + t * (1. - u) * z10 + (1. - t) * u * z01 + t * u * z11;
}

#endif
