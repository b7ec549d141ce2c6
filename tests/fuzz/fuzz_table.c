/* fuzz_table.c: the latency-table reader (models/table.c): lat_tab_load() on arbitrary
 * JSON, then lookups on and around every grid of a table that loads (interpolation and
 * out-of-grid extrapolation), then lat_table_new() without a catalog context. */
#include <math.h>

#include "models/table_int.h"
#include "tests/fuzz/fuzz_util.h"

static void probe1(const struct lat_grid1 *g)
{
    if (!g->n)
        return;
    volatile double s = 0;
    s += lat_grid1_eval(g, g->x[0] - 1);
    s += lat_grid1_eval(g, g->x[g->n - 1] * 2 + 1);
    for (size_t i = 0; i < g->n; i++)
        s += lat_grid1_eval(g, g->x[i] + 0.5);
    (void)s;
}

static void probe2(const struct lat_grid2 *g)
{
    if (!g->nx || !g->ny)
        return;
    volatile double s = 0;
    s += lat_grid2_eval(g, g->x[0] - 1, g->y[0] - 1);
    s += lat_grid2_eval(g, g->x[g->nx - 1] * 2 + 1, g->y[g->ny - 1] * 2 + 1);
    s += lat_grid2_eval(g, (g->x[0] + g->x[g->nx - 1]) / 2, (g->y[0] + g->y[g->ny - 1]) / 2);
    (void)s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "table.json");
    fuzz_write(path, data, size);
    struct lat_tab t;
    struct sim_err err = {0};
    if (lat_tab_load(&t, path, &err) == SIM_OK) {
        for (int i = 0; i < TAB_N_GEMM; i++)
            probe1(&t.gemm[i]);
        probe2(&t.decode);
        probe2(&t.prefill);
        if (t.has_allreduce)
            probe1(&t.allreduce);
        lat_tab_release(&t);
        /* Without a catalog context a TP > 1 table without its own all-reduce grid is
         * refused: that error path frees everything too (it leaked the memo once). */
        struct lat_model *m = lat_table_new(path, NULL, &err);
        lat_model_free(m);
    }
    return 0;
}
