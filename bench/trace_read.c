/*
 * trace_read.c: read a trace end to end with the replay reader (trace_open_opts +
 * trace_next), as `llmcap run` does, and print rows and the best wall time of 3 reads.
 * Usage: trace_read FILE [mapped]   ("mapped": the columns of bench/trace_read.sh's
 * gateway-style CSV). Built and run by bench/trace_read.sh.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim/workload/workload.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: trace_read FILE [mapped]\n");
        return 2;
    }
    struct trace_columns c = {.arrival = "ts",
                              .prompt = "input_tokens",
                              .output = "output_tokens",
                              .model = "model",
                              .session = "conversation_id"};
    struct trace_opts o = {.format = TRACE_AUTO, .columns = argc > 2 ? &c : NULL};
    double best = 1e9;
    unsigned long long n = 0;
    for (int k = 0; k < 3; k++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        struct sim_err err = {0};
        struct trace_reader *r = trace_open_opts(argv[1], &o, &err);
        if (!r) {
            fprintf(stderr, "%s: %s\n", err.where, err.msg);
            return 2;
        }
        struct trace_row row;
        int rc;
        n = 0;
        while ((rc = trace_next(r, &row, false, &err)) == 1)
            n++;
        trace_close(r);
        if (rc < 0) {
            fprintf(stderr, "%s: %s\n", err.where, err.msg);
            return 2;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        if (s < best)
            best = s;
    }
    printf("%-28s %9llu rows  best of 3: %.3f s\n", argv[1], n, best);
    return 0;
}
