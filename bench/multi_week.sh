#!/usr/bin/env bash
# Scale bench with two deployments on one cluster: a week of two autoscaled vLLM
# Deployments (bench/scenarios/week-two-deployments.yaml: "chat" at the week bench's
# Azure 2024 conversation scale, 45 req/s over the week, KEDA + HPA 4-100 replicas;
# "code", 6.6 req/s with lengths from the Azure code trace, its own ScaledObject 2-30
# replicas), both drawing p5.48xlarge nodes from one Karpenter NodePool, spot preferred.
# Reports requests (per deployment and the cluster's), events, wall and CPU time and peak
# RSS on one core. Targets: the week bench's (bench/week_scale.sh), under 60 s wall and
# under 2 GiB peak RSS, for about 31 million requests.
# Usage: bench/multi_week.sh [extra llmcap run args, e.g. --set duration=2h]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/week_lib.sh
out=$(mktemp)
trap 'rm -f "$out"' EXIT
week_run "$out" bench/scenarios/week-two-deployments.yaml "$@"
# the summary prints each deployment's block ("deployment NAME (model ...)") and then the
# cluster's ("cluster (every deployment)"), each with a "workload N requests" line
deps=$(awk '/^deployment /{d=$2} /^cluster /{d=""} d != "" && /^  workload +[0-9]+ requests/ {
  printf "%s%s %s", sep, d, $2; sep=", " }' "$out")
reqs=$(awk '/^cluster /{c=1} c && /^  workload +[0-9]+ requests/ {print $2; exit}' "$out")
events=$(sed -nE 's/.*\(([0-9]+) events,.*/\1/p' "$out")
wall=$(sed -nE 's/.*wall_s ([0-9.]+).*/\1/p' "$out")
user=$(sed -nE 's/.*user_s ([0-9.]+).*/\1/p' "$out")
sys=$(sed -nE 's/.*sys_s ([0-9.]+).*/\1/p' "$out")
rss=$(sed -nE 's/.*maxrss_kib ([0-9]+).*/\1/p' "$out")
if [ -z "$reqs" ] || [ -z "$events" ] || [ -z "$wall" ]; then
  echo "multi week bench: the run printed no summary (above)" >&2
  exit 3
fi
awk -v r="$reqs" -v d="$deps" -v e="$events" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" 'BEGIN {
  printf "\nmulti week bench: %d requests (%s), %d events, %.1f s wall, %.1f s user + %.1f s sys CPU, %.0f requests/s, %.0f events/s of CPU, peak RSS %.0f MiB\n",
         r, d, e, w, u, s, r / w, e / (u + s > 0 ? u + s : w), m / 1024 }'
