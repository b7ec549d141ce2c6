#!/usr/bin/env bash
# Sweep speed-up: one 64-point sweep (bench/scenarios/sweep-conv.yaml x 8 fleet sizes x 4
# max_num_seqs x 2 load levels) run with -j 1 and then with -j 2, each into a fresh
# database; prints both wall times and the speed-up, and checks that the two databases
# hold the same runs (every request and summary row, by point). On 2 cores expect about
# 1.8-2x: the points are independent processes; the parent merges each point's database
# into the output in grid order while the others run.
# Usage: bench/sweep_speedup.sh [BUILD_DIR]   (default: builds build-bench/ in Release)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -ge 1 ]]; then
  build=$1
else
  build="build-bench"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLMCAP_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target llmcap >/dev/null
fi
bin=$build/llmcap
out=$(mktemp -d "${TMPDIR:-/tmp}/llmcap-sweep-bench-XXXXXX")
trap 'rm -rf "$out"' EXIT
vary=(--vary "fleet.replicas=2,3,4,5,6,7,8,9" --vary "engine.max_num_seqs=32,64,128,256"
      --vary "workload.trace.rate_scale=0.5,1")

cores=$(nproc)
echo "llmcap sweep speed-up: 64 points of bench/scenarios/sweep-conv.yaml on $cores cores"
echo "  load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows -j 2)"
jobs=(1 2)
((cores > 2)) && jobs+=("$cores")
declare -A wall
TIMEFORMAT='%R %U %S'   # bash's time: wall, then user and system CPU of all the processes
for j in "${jobs[@]}"; do
  { time "$bin" sweep bench/scenarios/sweep-conv.yaml "${vary[@]}" -j "$j" \
      -o "$out/j$j.db" -q; } 2>"$out/time"
  read -r w u s <"$out/time"
  wall[$j]=$w
  awk -v j="$j" -v w="$w" -v u="$u" -v s="$s" 'BEGIN {
    printf "  -j %d: %.2f s wall, %.2f s CPU (%.2f CPUs busy on average)\n", j, w, u + s,
           (u + s) / w }'
done
for j in "${jobs[@]:1}"; do
  awk -v a="${wall[1]}" -v b="${wall[$j]}" -v j="$j" \
    'BEGIN { printf "  speed-up -j %d over -j 1: %.2fx\n", j, a / b }'
done
echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

if command -v sqlite3 >/dev/null; then
  for j in 1 2; do
    sqlite3 "$out/j$j.db" "SELECT r.labels_json, q.request_id, q.ttft_s, q.tpot_s, q.e2e_s,
        q.outcome FROM requests q JOIN runs r USING (run_id) ORDER BY r.labels_json,
        q.request_id; SELECT r.labels_json, s.key, s.value FROM summary s JOIN runs r
        USING (run_id) ORDER BY r.labels_json, s.key" | sha256sum >"$out/j$j.sum"
  done
  if cmp -s "$out/j1.sum" "$out/j2.sum"; then
    echo "  same runs with -j 1 and -j 2 (requests and summary rows)"
  else
    echo "  error: the two sweeps differ" >&2
    exit 1
  fi
fi
