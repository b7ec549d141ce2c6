/*
 * autoscale_replay: `llmcap autoscale replay` end to end on fixture series, compared byte
 * for byte with golden decision files (tests/fixtures/series/NAME.decisions.csv, regenerated
 * only by tests/fixtures/series/regen.sh). The decisive rows are worked out by hand below
 * from the KEDA and Kubernetes rules; the rest repeat them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sim/k8s/replay.h"

#define SER FIXTURES "/series/"
#define MAN FIXTURES "/manifests/"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* Replay into memory; returns the output (caller frees) or NULL with *err set. */
static char *replay(const char *so, const char *hpa, const char *series, struct sim_err *err)
{
    struct replay_opts o = {so, hpa, series, -1};
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    cr_assert_not_null(m);
    int rc = autoscale_replay(&o, m, err);
    fclose(m);
    if (rc) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void matches_golden(const char *so, const char *hpa, const char *series, const char *golden)
{
    struct sim_err e = {0};
    char *got = replay(so, hpa, series, &e);
    cr_assert_not_null(got, "%s: %s", e.where, e.msg);
    char *want = slurp(golden);
    cr_assert_str_eq(got, want, "replay differs from %s", golden);
    free(got);
    free(want);
}

/* Find the output row starting with `prefix` ("105,hpa,"). */
static const char *row(const char *csv, const char *prefix)
{
    char key[64];
    snprintf(key, sizeof key, "\n%s", prefix);
    const char *p = strstr(csv, key);
    cr_assert_not_null(p, "no row %s", prefix);
    return p + 1;
}

static void row_is(const char *csv, const char *want)
{
    size_t len = strlen(want);
    char prefix[32];
    const char *comma2 = strchr(strchr(want, ',') + 1, ',');
    memcpy(prefix, want, (size_t)(comma2 - want) + 1);
    prefix[comma2 - want + 1] = '\0';
    const char *r = row(csv, prefix);
    cr_assert(!strncmp(r, want, len) && r[len] == '\n', "row %.*s, want %s",
              (int)(strchr(r, '\n') - r), r, want);
}

Test(autoscale_replay, keda_with_legacy_hpa_matches_golden)
{
    /* so_vllm.yaml: minReplicaCount 0, max 10, threshold 5 (AverageValue),
     * activationThreshold 0.5, polling 30 s, cooldown 300 s, no behavior (legacy HPA).
     * Series: 0 until 40 s, 12 until 100 s, 31 until 160 s, then 0.4 until 510 s. */
    matches_golden(MAN "so_vllm.yaml", NULL, SER "queue_burst.csv",
                   SER "queue_burst.decisions.csv");
    struct sim_err e = {0};
    char *out = replay(MAN "so_vllm.yaml", NULL, SER "queue_burst.csv", &e);
    cr_assert_not_null(out);
    /* t=45: the HPA sees 12 but the target is at 0: ScalingDisabled */
    row_is(out, "45,hpa,12,0,0,,0,scaling disabled: the target has 0 replicas");
    /* t=60: KEDA's poll sees 12 > 0.5 and scales 0 -> max(1, min 0) = 1; then the HPA
     * at the same instant: ceil(12/5) = 3 (ratio 12/(5x1) = 2.4), under the legacy cap
     * max(2x1, 4) = 4 */
    row_is(out, "60,keda,12,0,0,1,1,activate: scale from 0 to 1");
    row_is(out, "60,hpa,12,1,1,3,3,scale up");
    /* t=105: 31/(5x3) = 2.07, ceil(31/5) = 7, capped at max(2x3, 4) = 6 */
    row_is(out, "105,hpa,31,3,3,7,6,\"scale up limited by max(2x3, 4) = 6\"");
    /* t=120: 31/(5x6) = 1.03 is within tolerance (raw 6), but the legacy window is the
     * max over 300 s and holds the 7 of t=105: up to 7 */
    row_is(out, "120,hpa,31,6,6,6,7,"
                "scale up to the highest recent recommendation (max 7 over 300s)");
    /* last active poll t=150. From t=165 the value 0.4 asks ceil(0.08) = 1; the 7
     * recorded at t=150 counts until now - 300 > 150: the HPA drops 7 -> 1 at 465 */
    row_is(out, "450,hpa,0.4,7,7,1,7,scale down held by stabilization window (max 7 over 300s)");
    row_is(out, "465,hpa,0.4,7,7,1,1,scale down");
    /* KEDA: 150 + 300 < now first holds at the poll of 480 (450 < 450 is false) */
    row_is(out, "450,keda,0.4,7,7,0,7,"
                "\"scale in to 0 held by cooldown (last active at 150s, cooldown 300s)\"");
    row_is(out, "480,keda,0.4,1,1,0,0,"
                "\"cooldown over: scale in to 0 (last active at 150s, cooldown 300s)\"");
    /* the run ends with the last series row (510): the last events are at 510 */
    cr_assert(strstr(out, "\n510,hpa,") && !strstr(out, "\n525,"));
    free(out);
}

Test(autoscale_replay, hpa_with_pods_and_external_metrics_matches_golden)
{
    /* hpa_vllm.yaml: min 1, max 8; Pods vllm:num_requests_running averageValue 40;
     * External waiting with value 0.5 (Value target, ready pods); behavior: scaleDown
     * window 120 s, the rest defaulted. */
    matches_golden(NULL, MAN "hpa_vllm.yaml", SER "hpa_two_metrics.csv",
                   SER "hpa_two_metrics.decisions.csv");
    struct sim_err e = {0};
    char *out = replay(NULL, MAN "hpa_vllm.yaml", SER "hpa_two_metrics.csv", &e);
    cr_assert_not_null(out);
    /* t=45: 3 pods at 90 -> ratio 2.25, ceil(2.25x3) = 7; waiting 0.2/0.5 = 0.4 x 3 ready
     * -> 2; max 7; policies from 3: Pods 7, Percent 6 -> 7 */
    row_is(out, "45,hpa,90,0.2,3,3,7,7,scale up");
    /* t=60: 7 pods, 2 ready: the Pods metric has 5 Pending pods on a scale-up, they
     * count as 0: 180/7 -> 0.64 flips the direction -> keep 7. External Value:
     * 3/0.5 = 6 x 2 ready = 12 -> raw 12, capped at maxReplicas 8 */
    row_is(out, "60,hpa,90,3,2,7,12,8,scale up limited by maxReplicas 8");
    /* the 12 of t=75 counts while 75 > now - 120: until 180; at 195 -> 4 (0.5 x 8) */
    row_is(out, "180,hpa,20,0,8,8,4,8,scale down held by stabilization window (max 12 over 120s)");
    row_is(out, "195,hpa,20,0,8,8,4,4,scale down");
    free(out);
}

Test(autoscale_replay, fallback_and_cached_metrics_match_golden)
{
    /* so_full.yaml: min 2, idle 0, max 16, polling 15 s; fallback failureThreshold 3,
     * replicas 6, currentReplicasIfHigher; behavior scaleUp {window 30 s, Min,
     * tolerance 0.05}, scaleDown {Pods 1/180s}. Trigger 0 "kv": Value 0.75,
     * useCachedMetrics, ignoreNullValues false. Trigger 1 "queue": AverageValue 2.5. */
    matches_golden(MAN "so_full.yaml", NULL, SER "fallback_cached.csv",
                   SER "fallback_cached.decisions.csv");
    struct sim_err e = {0};
    char *out = replay(MAN "so_full.yaml", NULL, SER "fallback_cached.csv", &e);
    cr_assert_not_null(out);
    /* t=30: kv (cached poll value 0.9) -> 0.9/0.75 = 1.2 x 2 = ceil(2.4) = 3; queue fails
     * (failures: poll 1, HPA 2); the scale-up window (30 s, strictly after t=0) holds the
     * 2s recorded at t=15: min 2 */
    row_is(out, "30,hpa,0.9,error,2,2,3,2,scale up held by stabilization window (min 2 over "
                "30s) (1 of 2 metrics failed)");
    /* t=45: queue's 4th failure (poll 3, HPA 4 > 3): fallback max(current 2, 6) = 6 ->
     * 2.5 x 6 = 15 -> ceil(15/2.5) = 6; the window's min is the 3 of t=30 */
    row_is(out, "45,hpa,0.9,error,2,2,6,3,scale up held by stabilization window (min 3 over "
                "30s)");
    /* t=60: window min 6; selectPolicy Min of Pods 3+4 = 7 and Percent 3x2 = 6: 6 */
    row_is(out, "60,hpa,error,error,3,3,6,6,scale up (1 of 2 metrics failed)");
    /* t=90: kv's 5th failure falls back too, so the poll is clean and active */
    row_is(out, "90,keda,error,error,6,6,6,6,active (fallback)");
    /* t=105: reading the cached fallback record at t=90 reset kv's count to 0 (KEDA runs
     * the fallback again on cached records), so the poll's failure is the 1st again */
    row_is(out, "105,hpa,error,error,6,6,6,6,within tolerance (1 of 2 metrics failed)");
    free(out);
}

static void replay_fails(const char *series, const char *pos, const char *msg)
{
    struct sim_err e = {0};
    char *out = replay(MAN "so_vllm.yaml", NULL, series, &e);
    cr_assert_null(out);
    cr_assert_eq(e.code, SIM_EINVAL);
    char where[512];
    snprintf(where, sizeof where, "%s%s%s", series, pos[0] ? ":" : "", pos);
    cr_assert_str_eq(e.where, where);
    cr_assert_str_eq(e.msg, msg);
}

Test(autoscale_replay, bad_series_rows_are_reported_at_file_line_col)
{
    replay_fails(SER "bad_header.csv", "1:1", "the header must start with 't_s', got 'time'");
    replay_fails(SER "bad_value.csv", "3:4",
                 "'value' must be a number, NaN, +Inf, -Inf, empty (no series) or 'error', got "
                 "'abc'");
    replay_fails(SER "bad_time_order.csv", "4:1",
                 "'t_s' must increase from row to row: '15' after line 3");
    replay_fails(SER "bad_columns.csv", "3:6", "expected 2 columns as in the header, got 3");
    replay_fails(SER "bad_ready.csv", "3:6",
                 "'ready_replicas' must be an integer >= 0 or empty, got '-1'");
    replay_fails(SER "bad_value_columns.csv", "1",
                 "the header has 3 value columns: give 1 (it feeds every trigger) or 1 (one per "
                 "trigger / metric, in manifest order)");
    replay_fails(SER "bad_no_rows.csv", "",
                 "'" SER "bad_no_rows.csv' has no rows after the header");
    replay_fails(SER "bad_negative_time.csv", "2:1",
                 "'t_s' must be a number of seconds >= 0, got '-5'");
    /* a file that never ends a line is refused at 1 MiB, not read into memory */
    replay_fails("/dev/zero", "1", "a line longer than 1048576 bytes: expected a CSV of samples");
}

Test(autoscale_replay, a_bad_manifest_is_reported_before_the_series_is_read)
{
    struct sim_err e = {0};
    cr_assert_null(replay(MAN "bad_so_trigger_kafka.yaml", NULL, SER "queue_burst.csv", &e));
    cr_assert_str_eq(e.where, MAN "bad_so_trigger_kafka.yaml:11:11");
}

/* ---- the command line (when this build's llmcap has the subcommand) ---------------- */

static int run_cli(const char *args, char *errbuf, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>/tmp/llmcap_autoscale_test.err", LLMCAP_BIN, args);
    int st = system(cmd);
    FILE *f = fopen("/tmp/llmcap_autoscale_test.err", "r");
    size_t got = f ? fread(errbuf, 1, n - 1, f) : 0;
    errbuf[got] = '\0';
    if (f)
        fclose(f);
    remove("/tmp/llmcap_autoscale_test.err");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void need_subcommand(void)
{
    char err[1024];
    if (run_cli("autoscale --help >/dev/null", err, sizeof err) != 0)
        cr_skip_test("this llmcap build has no 'autoscale' subcommand yet");
}

Test(autoscale_replay, cli_writes_the_golden_file_and_exits_2_on_bad_rows)
{
    need_subcommand();
    char err[1024], args[1024];
    const char *out = "/tmp/llmcap_autoscale_test.decisions.csv";
    snprintf(args, sizeof args, "autoscale replay --scaledobject '%s' --series '%s' -o '%s'",
             MAN "so_vllm.yaml", SER "queue_burst.csv", out);
    cr_assert_eq(run_cli(args, err, sizeof err), 0, "%s", err);
    char *got = slurp(out), *want = slurp(SER "queue_burst.decisions.csv");
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
    remove(out);
    snprintf(args, sizeof args, "autoscale replay --scaledobject '%s' --series '%s' >/dev/null",
             MAN "so_vllm.yaml", SER "bad_value.csv");
    cr_assert_eq(run_cli(args, err, sizeof err), 2);
    cr_assert(strstr(err, "bad_value.csv:3:4: error: 'value' must be a number"), "%s", err);
    snprintf(args, sizeof args, "autoscale replay --series '%s' >/dev/null", SER "queue_burst.csv");
    cr_assert_eq(run_cli(args, err, sizeof err), 2);
    cr_assert(strstr(err, "give exactly one of '--scaledobject' or '--hpa'"), "%s", err);
}

/* A Prometheus query_range response (as curl .../api/v1/query_range or promtool query
 * range -o json save it, Prometheus docs/querying/api.md "Range queries") of the same
 * queue as queue_burst.csv, on a 15 s step from 2026-01-01T00:00:00Z (1767225600): the
 * decisions are queue_burst.decisions.csv with every time shifted by that much. */
Test(autoscale_replay, a_prometheus_query_range_response_replays_like_the_csv)
{
    struct sim_err e = {0};
    char *got = replay(MAN "so_vllm.yaml", NULL, SER "queue_burst.prom.json", &e);
    cr_assert_not_null(got, "%s: %s", e.where, e.msg);
    char *want = slurp(SER "queue_burst.decisions.csv");
    /* shift the golden file's times */
    size_t cap = strlen(want) * 2 + 64, o = 0;
    char *shifted = malloc(cap);
    const char *line = want;
    bool header = true;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        if (header) {
            o += (size_t)snprintf(shifted + o, cap - o, "%.*s", (int)len, line);
            header = false;
        } else {
            char *rest;
            long long t = strtoll(line, &rest, 10);
            o += (size_t)snprintf(shifted + o, cap - o, "%lld", t + 1767225600LL);
            /* KEDA's reason names its last active time: shifted too */
            const char *la = strstr(rest, "last active at ");
            if (la && la < line + len) {
                la += strlen("last active at ");
                o += (size_t)snprintf(shifted + o, cap - o, "%.*s", (int)(la - rest), rest);
                long long a = strtoll(la, &rest, 10);
                o += (size_t)snprintf(shifted + o, cap - o, "%lld", a + 1767225600LL);
            }
            o += (size_t)snprintf(shifted + o, cap - o, "%.*s",
                                  (int)(len - (size_t)(rest - line)), rest);
        }
        line += len;
    }
    cr_assert_str_eq(got, shifted);
    free(shifted);
    free(want);
    free(got);
}

Test(autoscale_replay, a_missing_step_of_a_query_range_is_a_query_with_no_series)
{
    /* gap.prom.json: 3 at t0, 7.5 at t0+15, nothing at t0+30, NaN at t0+45. KEDA's poll at
     * t0 activates (3 > 0.5): 0 -> 1; the HPA at t0+15: ceil(7.5/5) = 2. At t0+30 the
     * query has no series: KEDA reads 0 (ignoreNullValues), inactive; the HPA gets 0 and
     * the stabilization window holds 2. */
    struct sim_err e = {0};
    char *out = replay(MAN "so_vllm.yaml", NULL, SER "gap.prom.json", &e);
    cr_assert_not_null(out, "%s: %s", e.where, e.msg);
    row_is(out, "1767225600,keda,3,0,0,1,1,activate: scale from 0 to 1");
    row_is(out, "1767225615,hpa,7.5,1,1,2,2,scale up");
    row_is(out, "1767225630,hpa,,2,2,0,2,scale down held by stabilization window (max 2 over "
                "300s)");
    row_is(out, "1767225645,hpa,NaN,2,2,0,2,scale down held by stabilization window (max 2 over "
                "300s)");
    free(out);
}

Test(autoscale_replay, a_prometheus_error_or_instant_result_is_refused_where_it_says_so)
{
    replay_fails(SER "bad_vector.prom.json", "4:19",
                 "expected a range query's result (\"resultType\": \"matrix\"); an instant "
                 "query (/api/v1/query) gives one point: use /api/v1/query_range");
    replay_fails(SER "bad_error.prom.json", "2:13",
                 "the query failed: status 'error': invalid parameter \"query\": 1:5: parse "
                 "error: unexpected end of input");
}
