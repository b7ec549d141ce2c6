/* fuzz_trace.c: the trace readers (sim/workload/trace.c, sim/workload/instream.c). The first
 * byte picks the format (auto, Azure CSV, Mooncake JSONL, plain CSV), whether bad rows are
 * skipped, and (bit 3) a CSV read by workload.trace.columns (columns t, p, o, m, s; bits
 * 4-6 the time format, bit 7 keep model "a" only); the rest is the file, which may be
 * gzip or zstd (told by its magic bytes). Every row is read to the end or the first
 * error. */
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
    static const struct trace_columns cols = {
        .arrival = "t", .prompt = "p", .output = "o", .model = "m", .session = "s"};
    struct trace_opts o = {.format = fmt};
    if (data[0] & 8) {
        o.format = TRACE_AUTO;
        o.columns = &cols;
        o.time_format = (enum trace_time_format)(((data[0] >> 4) & 7) % 5);
        o.model = (data[0] & 128) ? "a" : NULL;
    }
    struct trace_reader *r = trace_open_opts(path, &o, &err);
    if (!r)
        return 0;
    struct trace_row row;
    int rc;
    uint64_t sum = 0;
    while ((rc = trace_next(r, &row, skip_bad, &err)) == 1) {
        for (uint32_t i = 0; i < row.n_hash_ids; i++)
            sum += row.hash_ids[i]; /* touch the borrowed array (ASan checks it) */
        sum += (uint64_t)row.prompt_tokens + (uint64_t)row.output_tokens + row.session_id;
    }
    (void)trace_detected_format(r);
    (void)trace_bad_rows(r);
    (void)trace_other_model_rows(r);
    sum += strlen(trace_time_note(r)) + strlen(trace_compression(r));
    trace_close(r);
    (void)sum;
    return 0;
}
