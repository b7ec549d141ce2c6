/* fuzz_catalog.c: catalog_add_file() (models/catalog.c) on arbitrary JSON over the
 * built-in catalog. A fresh catalog per input: an accepted file changes it. */
#include "models/catalog.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "catalog.json");
    fuzz_write(path, data, size);
    struct sim_err err = {0};
    struct catalog *c = catalog_new(NULL, &err);
    if (!c)
        abort(); /* the built-in catalog must load */
    if (catalog_add_file(c, path, &err) == SIM_OK) {
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) {
            catalog_write_gpus(c, devnull);
            catalog_write_instances(c, devnull);
            catalog_write_models(c, devnull);
            fclose(devnull);
        }
    }
    catalog_free(c);
    return 0;
}
