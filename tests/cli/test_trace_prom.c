/*
 * test_trace_prom.c: `llmcap trace from-prometheus` end to end on the hand-made
 * query_range fixtures: the trace written is one `llmcap trace stats` reads, the same seed
 * gives the same bytes, and bad input exits 2 with file:line:col and writes nothing.
 */
#include "tests/cli/cli_run.h"

#define PD FIXTURES "/prometheus/"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 16];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char *c = malloc(*n + 1);
    cr_assert_not_null(c);
    memcpy(c, buf, *n);
    c[*n] = '\0';
    return c;
}

Test(cli_trace_prom, writes_a_trace_stats_reads_and_is_deterministic)
{
    char dir[] = "/tmp/llmcap-trace-prom-XXXXXX", a[96], b[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(a, sizeof a, "%s/a.csv", dir);
    snprintf(b, sizeof b, "%s/b.csv", dir);
    const char *outs[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        char *argv[] = {"llmcap", "trace", "from-prometheus", "--success", PD "success.json",
                        "--prompt", PD "prompt.json", "--generation", PD "generation.json",
                        "--seed", "11", "-o", (char *)outs[i], NULL};
        struct cli_result r;
        cli_run(NULL, argv, 60, &r);
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_expect(strstr(r.err, "3 steps, 290.0 successes in the series") != NULL, "%s", r.err);
        cli_result_free(&r);
    }
    size_t na, nb;
    char *ta = slurp(a, &na), *tb = slurp(b, &nb);
    cr_expect(na == nb && !memcmp(ta, tb, na), "same seed, different bytes");
    free(ta);
    free(tb);
    char *st[] = {"llmcap", "trace", "stats", a, "--json", NULL};
    struct cli_result r;
    cli_run(NULL, st, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"format\": \"csv\"") != NULL, "%s", r.out);
    cli_result_free(&r);
    unlink(a);
    unlink(b);
    rmdir(dir);
}

Test(cli_trace_prom, bad_input_exits_2_and_writes_nothing)
{
    char dir[] = "/tmp/llmcap-trace-prom-XXXXXX", o[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(o, sizeof o, "%s/t.csv", dir);
    char *argv[] = {"llmcap", "trace", "from-prometheus", "--success", PD "bad_value.json",
                    "--prompt-tokens", "100", "--output-tokens", "10", "-o", o, NULL};
    struct cli_result r;
    cli_run(NULL, argv, 60, &r);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "bad_value.json:2:") != NULL && strstr(r.err, "error:") != NULL,
              "%s", r.err);
    cli_result_free(&r);
    /* grids that differ: named file, exit 2 */
    char *argv2[] = {"llmcap", "trace", "from-prometheus", "--success", PD "success.json",
                     "--prompt", PD "other_step.json", "--output-tokens", "10", "-o", o, NULL};
    cli_run(NULL, argv2, 60, &r);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "other_step.json: error: expected the same range and step") != NULL,
              "%s", r.err);
    cli_result_free(&r);
    /* no lengths at all: a usage error */
    char *argv3[] = {"llmcap", "trace", "from-prometheus", "--success", PD "success.json", "-o",
                     o, NULL};
    cli_run(NULL, argv3, 60, &r);
    cr_expect_eq(r.status, 2);
    cli_result_free(&r);
    cr_expect_eq(rmdir(dir), 0, "something was written in %s", dir); /* still empty */
}

Test(cli_trace_prom, prompt_lengths_from_the_histogram)
{
    char dir[] = "/tmp/llmcap-trace-prom-XXXXXX", o[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(o, sizeof o, "%s/h.csv", dir);
    char *argv[] = {"llmcap", "trace", "from-prometheus", "--success", PD "success.json",
                    "--prompt-hist", PD "prompt_hist.json", "--max-model-len", "2048",
                    "--generation", PD "generation.json", "-o", o, NULL};
    struct cli_result r;
    cli_run(NULL, argv, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "; prompt lengths from the histogram)") != NULL, "%s", r.err);
    cli_result_free(&r);
    /* every prompt within the buckets that hold requests: 101..1000, or 1001..2048 (+Inf) */
    size_t n;
    char *t = slurp(o, &n);
    size_t rows = 0;
    for (char *p = strchr(t, '\n') + 1; *p; rows++) {
        double at;
        int a, b, used = 0;
        cr_assert_eq(sscanf(p, "%lf,%d,%d\n%n", &at, &a, &b, &used), 3);
        cr_expect(a >= 101 && a <= 2048, "%d", a);
        p += used;
    }
    cr_expect_gt(rows, 200);
    free(t);
    unlink(o);
    /* a bucket bound that is not a number: file:line:col, exit 2, nothing written */
    char *bad[] = {"llmcap", "trace", "from-prometheus", "--success", PD "success.json",
                   "--prompt-hist", PD "bad_le.json", "--output-tokens", "10", "-o", o, NULL};
    cli_run(NULL, bad, 60, &r);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "bad_le.json:2:") != NULL &&
                  strstr(r.err, "expected a bucket bound as the 'le' label") != NULL,
              "%s", r.err);
    cli_result_free(&r);
    cr_expect(access(o, F_OK) != 0);
    rmdir(dir);
}
