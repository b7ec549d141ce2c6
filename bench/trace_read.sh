#!/usr/bin/env bash
# Trace reading speed: 3,000,000 rows as llmcap's plain CSV (64 MB) and as a gateway-style
# CSV read by workload.trace.columns (145 MB: quoted strings, epoch ms, a session and a
# model column), each plain, gzip (-1) and zstd (-3). Prints the best wall time of 3 reads
# and, from /usr/bin/time, the CPU seconds of all 3 reads and the peak RSS.
# Usage: bench/trace_read.sh   (builds build-bench/ in Release; files in $TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLLMCAP_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target llmcap >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
B=build-bench
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I. $(pkg-config --cflags gsl libcjson) \
  bench/trace_read.c "$B/libllmcap_sim.a" "$B/libllmcap_models.a" "$B/libllmcap_base.a" \
  $(pkg-config --libs gsl yaml-0.1 libcjson zlib libzstd) -lm -o "$dir/trace_read"
awk 'BEGIN {
  srand(1); t = 0
  print "arrival_s,prompt_tokens,output_tokens" > "'"$dir"'/plain.csv"
  print "\"ts\",\"model\",\"input_tokens\",\"output_tokens\",\"conversation_id\",\"status\"" \
    > "'"$dir"'/mapped.csv"
  for (i = 0; i < 3000000; i++) {
    t += -log(1 - rand()) / 50; p = int(1 + rand() * 4000); o = int(1 + rand() * 800)
    printf "%.6f,%d,%d\n", t, p, o > "'"$dir"'/plain.csv"
    printf "%d,\"llama-3-8b\",%d,%d,\"c-%d\",200\n", 1715299200000 + int(t * 1000), p, o, i % 5000 \
      > "'"$dir"'/mapped.csv"
  }
}'
for f in plain mapped; do
  gzip -1 -k "$dir/$f.csv"
  zstd -q -3 "$dir/$f.csv" -o "$dir/$f.csv.zst"
done
for f in plain.csv plain.csv.gz plain.csv.zst mapped.csv mapped.csv.gz mapped.csv.zst; do
  extra=""
  [[ $f == mapped* ]] && extra=mapped
  /usr/bin/time -f "    cpu %U s user + %S s sys for 3 reads, peak RSS %M KiB" \
    "$dir/trace_read" "$dir/$f" $extra 2>&1 | sed "s|$dir/||"
done
