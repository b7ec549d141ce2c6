#!/usr/bin/env bash
# Plan speed: `llmcap plan scenarios/plan-conv.yaml` searches 540 configurations against
# the Azure conv trace, bills them as whole nodes and verifies the cheapest on the
# scenario's Karpenter cluster; reports wall time, CPU time (user + sys of the workers:
# the figure to trust on a shared machine) and simulations per second, with -j 1 and -j 2.
# Usage: bench/plan_speed.sh   (builds build-bench/ in Release; JOBS="2" for -j 2 only;
# SCENARIO=scenarios/plan-shared.yaml times the shared-cluster plan instead)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLLMCAP_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target llmcap >/dev/null
TIMEFORMAT='%R %U %S'
for j in ${JOBS:-1 2}; do
  out=$(mktemp)
  t=$( { time build-bench/llmcap plan "${SCENARIO:-scenarios/plan-conv.yaml}" -j "$j" >"$out"; } 2>&1 )
  line=$(grep '^  searched' "$out")
  verified=$(grep -c 'verified' "$out" || true)
  rm -f "$out"
  sims=$(sed -E 's/.*; ([0-9]+) simulations.*/\1/' <<<"$line")
  read -r real user sys <<<"$t"
  awk -v j="$j" -v r="$real" -v u="$user" -v s="$sys" -v n="$sims" -v v="$verified" 'BEGIN {
    printf "-j %d: %.1f s wall, %.1f s CPU, %d simulations, %.0f simulations/s of CPU%s\n",
           j, r, u + s, n, n / (u + s), v ? " (answer verified)" : "" }'
  echo "      $line"
done
