#!/usr/bin/env bash
# Speed of `llmcap calibrate` over the shipped runs (scenarios/calibrate-example.yaml: 11
# usable published vLLM 0.6 runs, the joint fit and 6 leave-one-configuration-out fits):
# wall and CPU time of one calibration, and that it writes the same CAL.json as the one
# committed in models/calibrations/ (byte for byte). Target: < 2 minutes on 2 cores.
# Usage: bench/calibrate_speed.sh   (builds build-bench/ in Release first)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLLMCAP_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target llmcap >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s.%N)
/usr/bin/time -f "%U %S %M" -o "$tmp/time" build-bench/llmcap calibrate -q \
    scenarios/calibrate-example.yaml -o "$tmp/cal.json"
end=$(date +%s.%N)
read -r user sys rss <"$tmp/time"
awk -v w="$(echo "$end - $start" | bc)" -v u="$user" -v s="$sys" -v m="$rss" 'BEGIN{
  printf "calibrate: 11 runs, wall %.1f s, CPU %.1f s, peak RSS %.1f MiB (target < 120 s)\n",
         w, u + s, m / 1024 }'
if cmp -s "$tmp/cal.json" models/calibrations/lambda-vllm-0.6.json; then
  echo "same CAL.json as models/calibrations/lambda-vllm-0.6.json"
else
  echo "CAL.json differs from models/calibrations/lambda-vllm-0.6.json" >&2
  exit 1
fi
