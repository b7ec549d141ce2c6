#!/bin/sh
# kernels/run_on_gpu.sh [OUTDIR]: on a GPU machine, build llmcap-kbench with nvcc and a C
# compiler alone (no CMake, cJSON, GSL or Criterion needed), compare the CUDA kernels with
# the CPU reference (--check), then measure the latency tables the project ships:
#   models/tables/<gpu>.llama-3-8b.bf16.json       Llama-3-8B, bf16, one GPU
#   models/tables/<gpu>.llama-3-70b.bf16.tp4.json  Llama-3-70B, bf16, one shard of TP 4
# where <gpu> is the catalog id of the device (h100-sxm-80gb on an H100 SXM). Copies of the
# tables and the logs go to OUTDIR (default: $OUT, else ./kbench-out).
#
# Without a GPU, or when --check fails, no table is written (exit 3 or 1).
# Environment: NVCC (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc), CC (cc),
# KBENCH_ARCH (90: sm_90 for H100/H200; 80 for A100), KBENCH_BUILD (build directory),
# KBENCH_ARGS (extra llmcap-kbench arguments for both sweeps, e.g. --quick).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-${OUT:-$root/kbench-out}}
build=${KBENCH_BUILD:-${TMPDIR:-/tmp}/llmcap-kbench-build}
arch=${KBENCH_ARCH:-90}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cc=${CC:-cc}
cuda_home=$(dirname "$(dirname "$nvcc")")
version=$(sed -n 's/^project(llmcap VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
git=$(git -C "$root" describe --always --dirty --tags 2>/dev/null || echo unknown)
start=$(date +%s)

say() {
    echo "run_on_gpu: $*" >&2
}

# cuBLAS: the toolkit's, else the one a Python wheel (nvidia-cublas) brings
cublas_inc="$cuda_home/include"
cublas_dir=""
for d in "$cuda_home/lib64" "$cuda_home/targets/x86_64-linux/lib" "$cuda_home/lib"; do
    if ls "$d"/libcublas.so* >/dev/null 2>&1; then
        cublas_dir=$d
        break
    fi
done
if [ -z "$cublas_dir" ] || [ ! -e "$cublas_inc/cublas_v2.h" ]; then
    wheel=$(python3 -c 'import nvidia.cublas as m; print(list(m.__path__)[0])' 2>/dev/null ||
        true)
    if [ -n "$wheel" ] && ls "$wheel"/lib/libcublas.so* >/dev/null 2>&1; then
        cublas_dir="$wheel/lib"
        [ -e "$cublas_inc/cublas_v2.h" ] || cublas_inc="$wheel/include"
    fi
fi
if [ -z "$cublas_dir" ]; then
    say "cannot find libcublas (looked in $cuda_home and the nvidia-cublas wheel)"
    exit 3
fi
if [ -e "$cublas_dir/libcublas.so" ]; then
    cublas_link="-L$cublas_dir -lcublas"
else # a wheel has only the versioned name
    cublas_link=$(ls "$cublas_dir"/libcublas.so.* | head -n 1)
fi

mkdir -p "$out" "$build/obj"
say "building llmcap-kbench $version ($git) for sm_$arch with $nvcc, cuBLAS from $cublas_dir"
pids=""
for f in decode prefill convert; do
    "$nvcc" -std=c++17 -O3 -I"$root" -gencode "arch=compute_$arch,code=sm_$arch" \
        -Xcompiler=-Wall,-Wextra -c "$root/kernels/cuda/$f.cu" -o "$build/obj/$f.o" &
    pids="$pids $!"
done
for f in kernels/kbench kernels/ktable kernels/paged_attn_ref kernels/cuda/kcheck; do
    "$cc" -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -I"$root" \
        -isystem "$cuda_home/include" -isystem "$cublas_inc" -DLLMCAP_VERSION="\"$version\"" \
        -DLLMCAP_GIT_DESCRIBE="\"$git\"" -c "$root/$f.c" -o "$build/obj/$(basename "$f").o" &
    pids="$pids $!"
done
for p in $pids; do
    wait "$p" || { say "build failed"; exit 3; }
done
# shellcheck disable=SC2086 # cublas_link is one or two words
"$nvcc" -o "$build/llmcap-kbench" "$build"/obj/*.o $cublas_link -lm \
    -Xlinker "-rpath=$cublas_dir" -Xlinker "-rpath=$cuda_home/lib64"
kb="$build/llmcap-kbench"
say "built in $(( $(date +%s) - start )) s"

if ! "$kb" --list-devices >"$out/devices.txt" 2>&1; then
    cat "$out/devices.txt" >&2
    say "no GPU here: nothing measured, no table written"
    exit 3
fi
cat "$out/devices.txt" >&2
gpu=$(awk -F '\t' 'NR == 1 { print $3 }' "$out/devices.txt")
if [ -z "$gpu" ] || [ "$gpu" = "-" ]; then
    say "device 0 has no llmcap catalog id; add it to kt_gpu_catalog_id() (kernels/ktable.c)"
    exit 3
fi

say "checking the kernels against the CPU reference"
if ! "$kb" --check 2>"$out/check.log"; then
    cat "$out/check.log" >&2
    say "--check failed: no table measured"
    exit 1
fi
tail -n 1 "$out/check.log" >&2

mkdir -p "$root/models/tables"
measure() { # name, extra args...
    name=$1
    shift
    say "measuring $name"
    # shellcheck disable=SC2086 # KBENCH_ARGS is a list of words
    "$kb" "$@" ${KBENCH_ARGS:-} -o "$root/models/tables/$name.json" 2>"$out/$name.log" || {
        tail -n 20 "$out/$name.log" >&2
        say "$name failed"
        exit 3
    }
    tail -n 2 "$out/$name.log" >&2
    cp "$root/models/tables/$name.json" "$out/$name.json"
}
measure "$gpu.llama-3-8b.bf16" --model llama-3-8b --dtype bf16 --tp 1
measure "$gpu.llama-3-70b.bf16.tp4" --model llama-3-70b --dtype bf16 --tp 4
say "done in $(( $(date +%s) - start )) s; tables in $root/models/tables and $out"
