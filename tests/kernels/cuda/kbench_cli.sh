#!/bin/sh
# kbench_cli.sh KBENCH TMPDIR: llmcap-kbench's command line (--help, usage errors exit 2
# with llmcap's messages) and, where there is no CUDA device, that a run fails with exit 3
# and writes no table (a measured table is never made up). Exit 77 (skipped) for the
# no-device part when a device is present.
set -u
kb=$1
tmp=$2
rm -rf "$tmp"
mkdir -p "$tmp"

fail() {
    echo "FAIL: $*"
    exit 1
}

# expect CODE MESSAGE ARGS...: exit status CODE and MESSAGE as the first stderr line
expect() {
    want=$1
    msg=$2
    shift 2
    "$kb" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq "$want" ] || fail "llmcap-kbench $*: exit $rc, want $want"
    first=$(head -n 1 "$tmp/err")
    [ "$first" = "$msg" ] || fail "llmcap-kbench $*: got '$first', want '$msg'"
}

"$kb" --help >"$tmp/help" 2>&1 || fail "--help: exit $?"
grep -q -- "--decode-context LIST" "$tmp/help" || fail "--help does not list --decode-context"
"$kb" --version | grep -q "^llmcap-kbench " || fail "--version"

expect 2 "llmcap-kbench: error: '--dtype' must be 'bf16' or 'fp16', got 'fp8'" --dtype fp8
expect 2 "llmcap-kbench: error: '--block-size' must be 16 or 32 (tokens), got '8'" \
    --block-size 8
expect 2 "llmcap-kbench: error: '--decode-batch' must be strictly increasing, got '4' after '8'" \
    --decode-batch 1,8,4
expect 2 "llmcap-kbench: error: unknown model 'llama-2-7b' (built-in: llama-3-8b, llama-3-70b)" \
    --model llama-2-7b
expect 2 "llmcap-kbench: error: 'tp' must divide 'num_heads' (64), got '3'" \
    --model llama-3-70b --tp 3
expect 2 "llmcap-kbench: error: '--reps' must be an integer in 1..1000, got '0'" --reps 0
expect 2 "llmcap-kbench: error: unexpected argument 'extra'" --quick extra

if "$kb" --list-devices >"$tmp/devices" 2>&1; then
    echo "a CUDA device is present; the no-device checks do not apply"
    exit 77
fi
expect 3 "llmcap-kbench: error: no CUDA device ($(sed -n 's/.*no CUDA device (\(.*\))$/\1/p' \
    "$tmp/devices")): nothing measured, no table written" --quick -o "$tmp/table.json"
[ ! -e "$tmp/table.json" ] || fail "a table was written without a GPU"
[ ! -e "$tmp/table.json.tmp" ] || fail "a partial table was left without a GPU"
expect 3 "llmcap-kbench: error: no CUDA device ($(sed -n 's/.*no CUDA device (\(.*\))$/\1/p' \
    "$tmp/devices")): nothing measured, no table written" --check
echo "ok"
