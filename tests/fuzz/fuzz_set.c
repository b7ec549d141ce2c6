/* fuzz_set.c: `--set` overrides (ydoc_set in sim/config/ynode.c). Each line of the input is one
 * assignment applied, in order, to a small scenario tree; the ydoc_set contract is that
 * every assignment is applied or rejected with an error, never a crash. */
#include "sim/config/ynode.h"
#include "tests/fuzz/fuzz_util.h"

static const char base[] =
    "name: fuzz\n"
    "workload:\n"
    "  arrivals: {process: poisson, rate_per_s: 2.5}\n"
    "  rate_profile:\n"
    "    steps:\n"
    "      - {at: 0s, rate_per_s: 1}\n"
    "      - {at: 60s, rate_per_s: 3}\n"
    "  prompt_tokens: {dist: constant, value: 100}\n"
    "engine:\n"
    "  max_num_seqs: 64\n"
    "  args: [\"--max-model-len\", \"4096\"]\n"
    "fleet:\n"
    "  replicas: 2\n"
    "  empty:\n"
    "slo: [ttft_p95: 1s]\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_err err = {0};
    struct ydoc *doc = ydoc_load_string("s.yaml", base, sizeof base - 1, &err);
    if (!doc)
        abort();
    char *text = fuzz_strdup(data, size);
    char *save = NULL;
    int n = 0;
    for (char *line = strtok_r(text, "\n", &save); line && n < 16;
         line = strtok_r(NULL, "\n", &save), n++)
        ydoc_set(doc, line, &err);
    free(text);
    ydoc_free(doc);
    return 0;
}
