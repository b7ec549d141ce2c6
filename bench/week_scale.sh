#!/usr/bin/env bash
# Scale bench: one week of synthetic traffic at the Azure 2024 conversation trace's scale
# (about 27 million requests, 45 req/s on average, diurnal and weekly curves, lengths from
# the bundled conv trace) against an autoscaled fleet (KEDA + HPA, 4 to 100 replicas,
# Karpenter nodes with spot). Reports wall time, requests/s, events/s and peak RSS on one
# core. Targets: under 60 s wall and under 2 GiB peak RSS.
# Usage: bench/week_scale.sh [extra llmcap run args, e.g. --set duration=1d]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLLMCAP_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target llmcap >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# taskset: one core, as the target says; the run exits 1 when the bench's SLOs fail,
# which is a result, not an error.
/usr/bin/time -f 'maxrss_kib %M wall_s %e' taskset -c 0 \
  build-bench/llmcap run bench/scenarios/week-azure2024-scale.yaml --no-progress "$@" \
  >"$out" 2>&1 || true
cat "$out"
reqs=$(sed -nE 's/^  workload +([0-9]+) requests.*/\1/p' "$out")
events=$(sed -nE 's/.*\(([0-9]+) events,.*/\1/p' "$out")
wall=$(sed -nE 's/.*wall_s ([0-9.]+).*/\1/p' "$out")
rss=$(sed -nE 's/.*maxrss_kib ([0-9]+).*/\1/p' "$out")
awk -v r="$reqs" -v e="$events" -v w="$wall" -v m="$rss" 'BEGIN {
  printf "\nweek bench: %d requests, %.1f s wall, %.0f requests/s, %.0f events/s, peak RSS %.0f MiB\n",
         r, w, r / w, e / w, m / 1024 }'
