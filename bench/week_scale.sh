#!/usr/bin/env bash
# Scale bench: one week of synthetic traffic at the Azure 2024 conversation trace's scale
# (about 27 million requests, 45 req/s on average, diurnal and weekly curves, lengths from
# the bundled conv trace) against an autoscaled fleet (KEDA + HPA, 4 to 100 replicas,
# Karpenter nodes with spot). Reports wall time, requests/s, events/s and peak RSS on one
# core. Targets: under 60 s wall and under 2 GiB peak RSS.
# Usage: bench/week_scale.sh [extra llmcap run args, e.g. --set duration=1d]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/week_lib.sh
out=$(mktemp)
trap 'rm -f "$out"' EXIT
week_run "$out" bench/scenarios/week-azure2024-scale.yaml "$@"
reqs=$(sed -nE 's/^  workload +([0-9]+) requests.*/\1/p' "$out")
events=$(sed -nE 's/.*\(([0-9]+) events,.*/\1/p' "$out")
wall=$(sed -nE 's/.*wall_s ([0-9.]+).*/\1/p' "$out")
rss=$(sed -nE 's/.*maxrss_kib ([0-9]+).*/\1/p' "$out")
awk -v r="$reqs" -v e="$events" -v w="$wall" -v m="$rss" 'BEGIN {
  printf "\nweek bench: %d requests, %.1f s wall, %.0f requests/s, %.0f events/s, peak RSS %.0f MiB\n",
         r, w, r / w, e / w, m / 1024 }'
