#!/usr/bin/env bash
# Routing on the conversation scenario (scenarios/conversation-mooncake.yaml, time
# compressed 20x: about 40 requests/s of multi-turn chat): least_outstanding against the
# Gateway API Inference Extension endpoint picker, for 2..6 replicas. Prints TTFT p95,
# TPOT p95, the prefix-cache hit rate and which SLOs pass; docs/engine.md quotes it.
# Usage: bench/routing_compare.sh [BUILD_DIR]   (default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/llmcap
scn=scenarios/conversation-mooncake.yaml
printf '| policy | replicas | TTFT p95 (s) | TPOT p95 (s) | prefix cache hit | TTFT SLO (500 ms) | all SLOs |\n'
printf '|---|---:|---:|---:|---:|---|---|\n'
for p in least_outstanding endpoint_picker; do
  for k in 2 3 4 5 6; do
    out=$("$bin" run "$scn" --no-progress --set router.policy=$p \
          --set workload.trace.time_scale=0.05 --set fleet.replicas=$k || true)
    ttft=$(awk '/^  TTFT +[0-9]/ {print $4}' <<<"$out")
    tpot=$(awk '/^  TPOT/ {print $4}' <<<"$out")
    hit=$(awk '/prefix cache/ {print $3}' <<<"$out")
    tp=$(grep -q 'ttft_p95 <= 0.5 s: PASS' <<<"$out" && echo pass || echo fail)
    all=$(grep -q 'SLOs       PASS' <<<"$out" && echo pass || echo fail)
    printf '| %s | %d | %s | %s | %s | %s | %s |\n' "$p" "$k" "$ttft" "$tpot" "$hit" "$tp" "$all"
  done
done
