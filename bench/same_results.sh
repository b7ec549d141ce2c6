#!/usr/bin/env bash
# Check that two llmcap binaries give the same results: for each scenario, run both,
# export the requests, summary, scaling_events, nodes, pods, slo_results and samples
# tables as CSV and compare them byte for byte (events_total, the runs table's wall time,
# event count, creation time, version, git describe and the run key hashed from them
# are left out: they may differ). Used before landing a speed-up, which must not change
# results.
# Usage: bench/same_results.sh BASE_LLMCAP NEW_LLMCAP [SCENARIO[@--set k=v]...]
# Default scenarios: the quick shipped ones (scenarios/*.yaml except plan and calibrate
# inputs), bench/scenarios/conv-8-replicas.yaml, the week bench over 2h and the
# two-deployment week over 2h.
set -uo pipefail
cd "$(dirname "$0")/.."
base=$(realpath "$1") new=$(realpath "$2")
shift 2
if (($# == 0)); then
  set -- $(ls scenarios/*.yaml | grep -v -e plan- -e calibrate-) \
    bench/scenarios/conv-8-replicas.yaml \
    "bench/scenarios/week-azure2024-scale.yaml@--set duration=2h --set record.requests=full" \
    "bench/scenarios/week-two-deployments.yaml@--set duration=2h"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tables="requests summary scaling_events nodes pods slo_results samples"
bad=0
for spec in "$@"; do
  scn=${spec%%@*} extra=""
  [[ $spec == *@* ]] && extra=${spec#*@}
  for side in base new; do
    bin=$base
    [[ $side == new ]] && bin=$new
    # shellcheck disable=SC2086
    mkdir -p "$tmp/$side"
    (cd "$tmp/$side" && "$bin" run "$OLDPWD/$scn" --no-progress $extra -o r.db) >"$tmp/$side.out" 2>&1
    echo "rc $?" >>"$tmp/$side.out"
    sed -i -E -e 's/[0-9.]+ s wall.*//' -e 's/\([0-9]+ events,.*//' "$tmp/$side.out"
    for t in $tables; do
      "$bin" export "$tmp/$side/r.db" --table "$t" 2>/dev/null | grep -v '^[0-9]*,events_total,' \
        >"$tmp/$side.$t.csv"
    done
    "$bin" export "$tmp/$side/r.db" --table runs --format jsonl 2>/dev/null |
      sed -E -e 's/"(created_utc|wall_s|n_events|git_describe|llmcap_version)":[^,]*,//g' \
        -e 's/,?"run_key":"[0-9a-f]*"//' \
        >"$tmp/$side.runs.csv"
    rm -f "$tmp/$side/r.db"
  done
  diffs=""
  for f in out runs $tables; do
    ext=csv
    [[ $f == out ]] && ext=""
    a="$tmp/base.$f${ext:+.$ext}" b="$tmp/new.$f${ext:+.$ext}"
    [[ $f == out ]] && a="$tmp/base.out" b="$tmp/new.out"
    cmp -s "$a" "$b" || diffs+=" $f"
  done
  rows=$(($(wc -l <"$tmp/new.requests.csv") + $(wc -l <"$tmp/new.samples.csv")))
  if [[ -n $diffs ]]; then
    echo "DIFFERENT $spec:$diffs"
    bad=1
  else
    echo "same      $spec ($rows rows)"
  fi
done
exit $bad
