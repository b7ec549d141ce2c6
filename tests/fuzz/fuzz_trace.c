/* fuzz_trace.c: the trace readers (sim/workload/trace.c). The first byte picks the format (auto,
 * Azure CSV, Mooncake JSONL, plain CSV) and whether bad rows are skipped; the rest is the
 * file. Every row is read to the end or the first error. */
#include "sim/workload/workload.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "trace");
    if (size < 1)
        return 0;
    static const enum trace_format formats[] = {TRACE_AUTO, TRACE_AZURE, TRACE_MOONCAKE,
                                                TRACE_CSV};
    enum trace_format fmt = formats[data[0] & 3];
    bool skip_bad = (data[0] & 4) != 0;
    fuzz_write(path, data + 1, size - 1);
    struct sim_err err = {0};
    struct trace_reader *r = trace_open(path, fmt, &err);
    if (!r)
        return 0;
    struct trace_row row;
    int rc;
    uint64_t sum = 0;
    while ((rc = trace_next(r, &row, skip_bad, &err)) == 1) {
        for (uint32_t i = 0; i < row.n_hash_ids; i++)
            sum += row.hash_ids[i]; /* touch the borrowed array (ASan checks it) */
        sum += (uint64_t)row.prompt_tokens + (uint64_t)row.output_tokens;
    }
    (void)trace_detected_format(r);
    (void)trace_bad_rows(r);
    trace_close(r);
    (void)sum;
    return 0;
}
