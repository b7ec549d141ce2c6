#!/usr/bin/env bash
# fuzz.sh: build llmcap's libFuzzer harnesses (tests/fuzz/) with clang, ASan and UBSan,
# and run each for a fixed time budget, printing executions and findings.
#
# usage: scripts/fuzz.sh [-t SECONDS] [-j JOBS] [-b BUILD_DIR] [-n] [HARNESS...]
#   -t SECONDS   time budget per harness (default 60, or $FUZZ_SECONDS)
#   -j JOBS      harnesses run at the same time (default 1, or $FUZZ_JOBS)
#   -b DIR       build folder (default build-fuzz in the repository, or $FUZZ_BUILD)
#   -n           no build: use the harnesses already in DIR
#   HARNESS      scenario scenario_sim trace table catalog promql manifest set ydoc
#                (default: all of tests/fuzz/fuzz_*.c)
#
# Each harness starts from the committed seeds (tests/fuzz/corpus/<harness>/) and keeps
# what it finds in DIR/corpus/<harness>/ (reused by the next run). Crashes, leaks,
# timeouts (-timeout=10 s per input) and out-of-memory inputs (over 2 GiB) are written to
# DIR/findings/<harness>/; replay one with `DIR/tests/fuzz/fuzz_<harness> FILE`.
# Exit code: 0 when no harness found anything, 1 when some did, 2 on bad usage, 3 when
# the build failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
build=${FUZZ_BUILD:-$root/build-fuzz}
do_build=1
while getopts "t:j:b:nh" o; do
    case $o in
        t) seconds=$OPTARG ;;
        j) jobs=$OPTARG ;;
        b) build=$OPTARG ;;
        n) do_build=0 ;;
        h) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fuzz.sh: error: unknown option (see -h)" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if ! [[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 && $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]]; then
    echo "fuzz.sh: error: -t and -j take integers > 0, got '$seconds' and '$jobs'" >&2
    exit 2
fi

harnesses=("$@")
if [[ ${#harnesses[@]} -eq 0 ]]; then
    for f in "$root"/tests/fuzz/fuzz_*.c; do
        h=$(basename "$f" .c)
        harnesses+=("${h#fuzz_}")
    done
fi
for h in "${harnesses[@]}"; do
    if [[ ! -f $root/tests/fuzz/fuzz_$h.c ]]; then
        echo "fuzz.sh: error: unknown harness '$h' (no tests/fuzz/fuzz_$h.c)" >&2
        exit 2
    fi
done

if [[ $do_build -eq 1 ]]; then
    if ! command -v clang >/dev/null; then
        echo "fuzz.sh: error: clang not found (scripts/install-deps.sh --with-tools)" >&2
        exit 3
    fi
    echo "fuzz.sh: building the harnesses in $build" >&2
    if ! CC=clang cmake -S "$root" -B "$build" -DLLMCAP_FUZZ=ON -DLLMCAP_TESTS=OFF \
            -DLLMCAP_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.cmake.log" 2>&1 ||
       ! make -C "$build" -j"$(nproc)" "${harnesses[@]/#/fuzz_}" >"$build.make.log" 2>&1; then
        echo "fuzz.sh: error: the build failed; see $build.cmake.log and $build.make.log" >&2
        tail -n 20 "$build.make.log" >&2 2>/dev/null
        exit 3
    fi
fi

# Inputs up to this size: large enough to reach the depth and length limits (PromQL
# nests at most 256 levels, a unary-sign run or an operator chain is cheap only when
# handled in a loop; YAML at most 1000 levels), small enough to keep the search fast.
max_len() {
    case $1 in
        promql|set) echo 8192 ;;
        *) echo 65536 ;;
    esac
}

run_one() {
    local h=$1 bin=$build/tests/fuzz/fuzz_$1
    local work=$build/corpus/$h finds=$build/findings/$h log=$build/logs/$h.log
    mkdir -p "$work" "$finds" "$build/logs"
    local before
    before=$(find "$finds" -type f | wc -l)
    local dict=()
    [[ -f $root/tests/fuzz/$h.dict ]] && dict=(-dict="$root/tests/fuzz/$h.dict")
    # ASAN_OPTIONS: leaks are findings; a failing allocation returns NULL (the code under
    # test must cope), except where libFuzzer's own -rss_limit_mb catches it first.
    local t0=$SECONDS
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$(max_len "$h")" -print_final_stats=1 -artifact_prefix="$finds/" \
        "${dict[@]}" "$work" "$root/tests/fuzz/corpus/$h" >"$log" 2>&1
    local rc=$? took=$((SECONDS - t0))
    local execs corpus after
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' |
            tail -n 1)
    corpus=$(find "$work" -type f | wc -l)
    after=$(find "$finds" -type f | wc -l)
    printf '%-13s %6ss %12s execs %6s corpus files %3s new findings (rc %d, log %s)\n' \
        "$h" "$took" "${execs:-?}" "$corpus" "$((after - before))" "$rc" "$log"
    if [[ $rc -ne 0 || $after -ne $before ]]; then
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5 | sed 's/^/    /'
        find "$finds" -type f -newer "$bin" | head -n 5 | sed 's/^/    finding: /'
        return 1
    fi
    return 0
}

echo "fuzz.sh: ${#harnesses[@]} harness(es), ${seconds}s each, $jobs at a time" >&2
found=0
pids=()
for h in "${harnesses[@]}"; do
    run_one "$h" &
    pids+=($!)
    if [[ ${#pids[@]} -ge $jobs ]]; then
        wait "${pids[0]}" || found=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do
    wait "$p" || found=1
done
if [[ $found -ne 0 ]]; then
    echo "fuzz.sh: findings in $build/findings (replay: $build/tests/fuzz/fuzz_HARNESS FILE)" >&2
    exit 1
fi
echo "fuzz.sh: no findings" >&2
exit 0
