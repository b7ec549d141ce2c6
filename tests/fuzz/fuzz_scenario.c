/* fuzz_scenario.c: the scenario loader (sim/config/scenario.c on sim/config/ynode.c) on arbitrary
 * YAML: scenario_load() must return SIM_OK or an error, never crash, leak or hang. */
#include "sim/config/scenario.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "scenario.yaml");
    fuzz_write(path, data, size);
    struct scenario sc;
    struct sim_err err = {0};
    if (scenario_load(&sc, path, NULL, 0, &err) == SIM_OK)
        scenario_release(&sc);
    return 0;
}
