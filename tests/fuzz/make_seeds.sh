#!/bin/sh
# make_seeds.sh: (re)build the committed seed corpora tests/fuzz/corpus/<harness>/ from
# the project's fixtures, scenarios, tables and PromQL examples. Seeds are named by the
# source file so that reruns are stable; trace and manifest seeds carry the harness's
# leading selector byte. Run from anywhere: sh tests/fuzz/make_seeds.sh
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/tests/fuzz/corpus
cd "$root"
rm -rf "$out"
for h in scenario scenario_sim trace table catalog promql manifest set ydoc; do
    mkdir -p "$out/$h"
done

# Scenarios (the same seeds for the loader, the loader + sim_new, and the YAML tree).
for f in scenarios/*.yaml tests/fixtures/scenarios/*.yaml tests/fixtures/cluster/*.yaml \
         tests/fixtures/plan/*.yaml tests/fixtures/autoscale/*.yaml; do
    name=$(echo "$f" | tr '/' '_')
    cp "$f" "$out/scenario/$name"
done
for f in scenarios/*.yaml tests/fixtures/scenarios/good_*.yaml tests/fixtures/cluster/good_*.yaml \
         tests/fixtures/plan/two_gpus.yaml tests/fixtures/autoscale/*.yaml; do
    [ -f "$f" ] || continue
    name=$(echo "$f" | tr '/' '_')
    cp "$f" "$out/scenario_sim/$name"
done
for f in scenarios/*.yaml tests/fixtures/manifests/so_full.yaml; do
    name=$(echo "$f" | tr '/' '_')
    cp "$f" "$out/ydoc/$name"
done

# Traces: selector byte (0 auto, 1 azure, 2 mooncake, 3 csv; +4 skip bad rows) and at
# most 12 lines of each trace.
sel() { printf "\\$(printf '%03o' "$1")"; }
for f in tests/fixtures/traces/* traces/*.csv traces/*.jsonl; do
    name=$(basename "$f")
    case "$name" in
        *mooncake*|*.jsonl) s=2 ;;
        *azure*|*Azure*) s=1 ;;
        *) s=3 ;;
    esac
    { sel 0; head -n 12 "$f"; } > "$out/trace/auto_$name"
    { sel "$s"; head -n 12 "$f"; } > "$out/trace/fmt_$name"
    { sel $((s + 4)); head -n 12 "$f"; } > "$out/trace/skip_$name"
done

# Latency tables and catalogs.
for f in tests/fixtures/tables/*.json models/tables/*.json; do
    cp "$f" "$out/table/$(basename "$f")"
done
for f in tests/fixtures/catalog/*.json tests/fixtures/cluster/catalog.json \
         tests/fixtures/plan/catalog.json; do
    name=$(echo "$f" | tr '/' '_')
    cp "$f" "$out/catalog/$name"
done

# Manifests: selector byte (bit 0: HPA reader, bit 1: inside a scenario).
for f in tests/fixtures/manifests/*.yaml; do
    name=$(basename "$f")
    case "$name" in *hpa*) s=1 ;; *) s=0 ;; esac
    { sel "$s"; cat "$f"; } > "$out/manifest/$name"
    { sel $((s + 2)); cat "$f"; } > "$out/manifest/ctx_$name"
done

# PromQL: the queries of the scenarios and manifests, and those the tests evaluate.
n=0
{
    grep -h 'query:' scenarios/*.yaml tests/fixtures/manifests/*.yaml tests/fixtures/scenarios/*.yaml \
        tests/fixtures/cluster/*.yaml 2>/dev/null | sed 's/^ *query: *//'
    grep -ho 'eval1(db, "[^"]*\(\\"[^"]*\)*"' tests/sim/test_promql.c |
        sed 's/^eval1(db, "//; s/"$//; s/\\"/"/g'
    cat <<'Q'
sum(vllm:num_requests_waiting) by (model_name)
sum by (model_name) (vllm:num_requests_waiting)
sum(vllm:num_requests_waiting) without (pod,engine,)
histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))
histogram_quantile(0.9, rate(vllm:e2e_request_latency_seconds_bucket[2m]))
sum(rate(vllm:request_success_total[1m])) / count(vllm:num_requests_running)
avg(DCGM_FI_DEV_GPU_UTIL{pod=~"vllm-.*"}) / 100
max(vllm:kv_cache_usage_perc) * 100 > 0
llmcap:gateway_requests_waiting + sum(vllm:num_requests_waiting)
sum(vllm:num_requests_waiting{pod!~"vllm-[0-9]+", engine!="1"} offset 1h30m)
2 ^ 3 ^ 2 % 5 - -1
Q
} | sort -u | while IFS= read -r q; do
    [ -n "$q" ] || continue
    n=$((n + 1))
    printf '%s' "$q" > "$out/promql/q$(printf '%03d' "$n")"
done

# --set assignments (one per line, as the harness splits them).
i=0
while IFS= read -r a; do
    i=$((i + 1))
    printf '%s\n' "$a" > "$out/set/s$(printf '%02d' "$i")"
done <<'S'
engine.max_num_seqs=128
workload.rate_profile.steps.1.rate_per_s=4
workload.rate_profile.steps.2={at: 120s, rate_per_s: 5}
engine.args=["--max-model-len", "8192"]
fleet.empty.replicas=3
slo.0.ttft_p95="250ms"
workload.arrivals={process: gamma, rate_per_s: 3, cv: 2}
new.list.0=1
name='quoted'
fleet.replicas=
S
printf 'engine.max_num_seqs=8\nfleet.replicas=4\nworkload.arrivals.rate_per_s=9.5\n' \
    > "$out/set/multi"
echo "seeds: $(find "$out" -type f | wc -l) files, $(du -sk "$out" | cut -f1) KiB"
