#!/usr/bin/env bash
# The event queue alone (bench/evq_hold.c: a hold model shaped like the two-deployment
# week's queue), built against this tree's sim/core/evq.c and, when REV is given, against
# REV's too, run alternately 3 times each; prints each run's best ns per pop and the
# popped sequence's hash (equal hashes: the same pop order).
# Usage: [taskset -c 0] bench/evq_hold.sh [REV [N_ACTORS [POPS]]]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-} n=${2:-18} pops=${3:-4000000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
build() { # NAME EVQ_DIR: EVQ_DIR holds sim/core/evq.[ch]
  cc -O3 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$2" -I. bench/evq_hold.c "$2/sim/core/evq.c" \
    sim/core/err.c -lm -o "$dir/$1"
}
sides=tree
build tree .
if [[ -n $rev ]]; then
  mkdir -p "$dir/src/sim/core"
  git show "$rev:sim/core/evq.c" >"$dir/src/sim/core/evq.c"
  git show "$rev:sim/core/evq.h" >"$dir/src/sim/core/evq.h"
  build rev "$dir/src"
  sides="rev tree"
fi
for _ in 1 2 3; do
  for s in $sides; do
    printf '%-5s %s\n' "$s" "$("$dir/$s" "$n" "$pops" 5)"
  done
done
