/* fuzz_scenario_sim.c: scenario_load() then sim_new() with the built-in catalog, so the
 * cluster/plan readers, the pasted ScaledObject/HPA, NodePool and AKS profiles, PromQL
 * triggers, engine sizing and the latency model all see the fuzzed scenario. No
 * sim_run(): building the run is where input is checked. */
#include "models/catalog.h"
#include "sim/config/scenario.h"
#include "sim/sim.h"
#include "tests/fuzz/fuzz_util.h"

static struct catalog *cat;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct sim_err err = {0};
    cat = catalog_new(NULL, &err);
    if (!cat) {
        fprintf(stderr, "catalog: %s: %s\n", err.where, err.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "scenario.yaml");
    fuzz_write(path, data, size);
    struct scenario sc;
    struct sim_err err = {0};
    if (scenario_load(&sc, path, NULL, 0, &err) != SIM_OK)
        return 0;
    /* A scenario's own catalog file would change the shared catalog: it is fuzzed by
     * fuzz_catalog. */
    struct sim_options opt = {.catalog = cat};
    struct sim *s = sim_new(&sc, &opt, &err);
    sim_free(s);
    scenario_release(&sc);
    return 0;
}
