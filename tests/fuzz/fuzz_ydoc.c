/* fuzz_ydoc.c: the positioned YAML tree (sim/config/ynode.c) on arbitrary bytes, then every
 * scalar through the typed readers (numbers, durations, fractions, booleans, enums). */
#include <math.h>

#include "sim/config/ynode.h"
#include "tests/fuzz/fuzz_util.h"

static void walk(const struct ynode *n, int depth)
{
    struct sim_err err = {0};
    if (!n || depth > 64)
        return;
    if (n->kind == YNODE_SCALAR) {
        int64_t i;
        double d;
        bool b;
        int e;
        static const char *const names[] = {"poisson", "gamma", "constant", NULL};
        struct ynode_range r = {0, INFINITY, true, false, "req/s"};
        ynode_as_int64(n, "k", -5, 1000000, &i, &err);
        ynode_as_double(n, "k", -1e9, 1e9, &d, &err);
        ynode_as_duration_us(n, "k", 0, INT64_MAX / 2, 1000000, &i, &err);
        ynode_as_duration_us(n, "k", -1000000, 1000000, 0, &i, &err);
        ynode_as_frac(n, "k", 0, 1, &d, &err);
        ynode_as_bool(n, "k", &b, &err);
        ynode_as_enum(n, "k", names, &e, &err);
        ynode_as_number(n, "k", &r, &d, &err);
        ynode_as_int64_unit(n, "k", 1, INT32_MAX, "GPUs", &i, &err);
        (void)did_you_mean(n->value, names);
        return;
    }
    static const char *const allowed[] = {"name", "workload", "engine", NULL};
    if (n->kind == YNODE_MAP)
        ynode_check_keys(n, "", allowed, &err);
    for (size_t k = 0; k < n->n; k++)
        walk(n->items[k], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_err err = {0};
    struct ydoc *doc = ydoc_load_string("y.yaml", (const char *)data, size, &err);
    if (!doc)
        return 0;
    walk(ydoc_root(doc), 0);
    ydoc_free(doc);
    return 0;
}
