/* fuzz_manifest.c: the KEDA ScaledObject and HPA readers (sim/config/manifest.c) on an arbitrary
 * YAML document (sim/config/ynode.c). The first byte picks the reader and whether the object
 * sits inside a scenario (a message prefix); the rest is the YAML. */
#include "sim/config/manifest.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct sim_err err = {0};
    struct ydoc *doc = ydoc_load_string("m.yaml", (const char *)data + 1, size - 1, &err);
    if (!doc)
        return 0;
    const char *ctx = (data[0] & 2) ? "fleet.autoscaler.scaledObject" : "";
    if (data[0] & 1) {
        struct hpa_config c;
        if (manifest_read_hpa(ydoc_root(doc), ctx, &c, &err) == SIM_OK)
            hpa_config_release(&c);
    } else {
        struct keda_config c;
        if (manifest_read_scaledobject(ydoc_root(doc), ctx, &c, &err) == SIM_OK)
            keda_config_release(&c);
    }
    ydoc_free(doc);
    return 0;
}
