#!/usr/bin/env bash
# Foundation bench: replay the Azure conv trace (19,366 requests) on a fixed fleet of 8
# replicas and report wall time, simulated requests per second, events per second and
# peak RSS, best of N runs (default 5), with and without writing the SQLite database.
# Usage: bench/conv_fleet.sh [N]   (builds build-bench/ in Release first)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLLMCAP_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target llmcap >/dev/null
bin=build-bench/llmcap
scn=bench/scenarios/conv-8-replicas.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # label, extra args...
  local label=$1; shift
  local best="" line
  for i in $(seq "$n"); do
    rm -f "$tmp/out.db"
    line=$("$bin" run "$scn" --no-progress "$@" | grep '^  simulated')
    wall=$(sed -E 's/.* in ([0-9.]+) s wall.*/\1/' <<<"$line")
    if [[ -z "$best" ]] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; bestline=$line; fi
  done
  reqs=$("$bin" run "$scn" --no-progress "$@" | sed -nE 's/^  workload +([0-9]+) requests.*/\1/p')
  events=$(sed -E 's/.*\(([0-9]+) events,.*/\1/' <<<"$bestline")
  rss=$(sed -E 's/.*peak RSS ([0-9.]+) MiB.*/\1/' <<<"$bestline")
  awk -v l="$label" -v w="$best" -v r="$reqs" -v e="$events" -v m="$rss" 'BEGIN{
    printf "%-22s wall %.4f s  %9.0f req/s  %10.0f events/s  %8d events  peak RSS %s MiB\n",
           l, w, r / w, e / w, e, m }'
}

echo "conv trace, 8 replicas, best of $n (machine: $(nproc) cores, $(uname -m))"
measure "simulation only"
measure "with SQLite output" -o "$tmp/out.db"
