# Shared by the week benches (week_scale.sh, multi_week.sh); sourced, not run.
# week_run OUT SCENARIO [llmcap run args]: build build-bench/llmcap (Release), run
# SCENARIO on one core under /usr/bin/time into OUT (the summary, then a line with
# maxrss_kib, wall_s, user_s, sys_s) and print it. The run exits 1 when an SLO fails,
# which is a result, not an error.
week_run() {
  local out=$1 scenario=$2
  shift 2
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLLMCAP_TESTS=OFF >/dev/null
  cmake --build build-bench -j2 --target llmcap >/dev/null
  # taskset: one core, as the targets say
  /usr/bin/time -f 'maxrss_kib %M wall_s %e user_s %U sys_s %S' taskset -c 0 \
    build-bench/llmcap run "$scenario" --no-progress "$@" >"$out" 2>&1 || true
  cat "$out"
}
