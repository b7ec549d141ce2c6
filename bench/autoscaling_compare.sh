#!/usr/bin/env bash
# Runs the autoscaling scenarios of docs/autoscaling.md and prints their comparison as a
# Markdown table (the numbers in the doc come from this script). The scenarios run on
# Karpenter-provisioned one-H100 nodes (scenarios/k8s/nodepool-h100.yaml), so every row
# has its bill: the nodes' cost, per 1M output tokens and per 1M goodput tokens.
# Usage: bench/autoscaling_compare.sh [BUILD_DIR]   (default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/llmcap
[ -x "$bin" ] || { echo "build llmcap first (cmake --build build)" >&2; exit 2; }

get() { sed -nE "s/^ *\"$1\": ([^,]*),?$/\1/p" <<<"$2" | head -n1; }
row() { # label, scenario, extra args...
  local label=$1 scn=$2; shift 2
  local j
  j=$("$bin" run "$scn" --json "$@" || true)
  awk -v l="$label" -v t95="$(get ttft_p95_s "$j")" -v t99="$(get ttft_p99_s "$j")" \
      -v tp="$(get tpot_p95_s "$j")" -v br="$(get ttft_slo_breach_s "$j")" \
      -v lg="$(get ttft_slo_breach_longest_s "$j")" -v rm="$(get replica_minutes "$j")" \
      -v pk="$(get replicas_peak_ready "$j")" -v pc="$(get pods_created "$j")" \
      -v ok="$(get slo_pass "$j")" -v usd="$(get cost_usd "$j")" \
      -v nodes="$(get nodes_total "$j")" -v mt="$(get cost_usd_per_mtok_output "$j")" \
      -v mg="$(get cost_usd_per_mtok_goodput "$j")" 'BEGIN {
    printf "| %s | %.2f | %.2f | %.3f | %d | %d | %.0f | %d | %d | %d | $%.2f | $%.2f | $%.2f | %s |\n",
           l, t95, t99, tp, br / 60, lg / 60, rm, pk, pc, nodes, usd, mt, mg,
           ok == 1 ? "pass" : "fail" }'
}

echo "| scenario | TTFT p95 (s) | TTFT p99 (s) | TPOT p95 (s) | minutes over the TTFT SLO | longest breach (min) | replica-minutes | peak replicas | pods created | nodes | bill | $/1M output tok | $/1M goodput tok | SLOs |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
row "fixed 4 replicas (no autoscaler)" scenarios/autoscale-keda-queue.yaml --set fleet.autoscaler= --set fleet.replicas=4
row "KEDA queue depth, min 2 (baseline)" scenarios/autoscale-keda-queue.yaml
row "HPA on GPU utilisation, min 2" scenarios/autoscale-hpa-gpu-util.yaml
row "KEDA queue depth, min 3" scenarios/autoscale-keda-queue.yaml --set fleet.autoscaler.scaledObject.spec.minReplicaCount=3
row "KEDA queue depth, min 1" scenarios/autoscale-keda-queue.yaml --set fleet.autoscaler.scaledObject.spec.minReplicaCount=1
row "KEDA queue depth, min 0 (+ rate activation)" scenarios/autoscale-keda-min0.yaml
row "KEDA queue depth, 30 s scale-down window" scenarios/autoscale-keda-fast-scaledown.yaml
row "KEDA queue depth, slow start-up" scenarios/autoscale-keda-slow-start.yaml
