#!/usr/bin/env bash
# Plan speed: `llmcap plan scenarios/plan-conv.yaml` searches 540 configurations against
# the Azure conv trace; reports wall time and simulations per second with -j 1 and -j 2.
# Usage: bench/plan_speed.sh   (builds build-bench/ in Release)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLLMCAP_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target llmcap >/dev/null
for j in 1 2; do
  start=$(date +%s.%N)
  line=$(build-bench/llmcap plan scenarios/plan-conv.yaml -j "$j" | grep '^  searched')
  end=$(date +%s.%N)
  sims=$(sed -E 's/.*; ([0-9]+) simulations.*/\1/' <<<"$line")
  awk -v j="$j" -v s="$start" -v e="$end" -v n="$sims" 'BEGIN {
    printf "-j %d: %.1f s wall, %d simulations, %.0f simulations/s\n", j, e - s, n, n / (e - s) }'
  echo "      $line"
done
