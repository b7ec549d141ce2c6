#!/bin/sh
# validate_roofline.sh: build bench/validate_roofline.c against the models library and
# run it. Predicts the published TensorRT-LLM rows of the hardware reference with the
# roofline and prints predicted vs published per row and the median absolute errors.
#
#   bench/validate_roofline.sh [--fit | --variants] [BUILD_DIR]
#
# --fit refits the efficiencies on the 7-8B rows (Nelder-Mead, GSL) and prints the block
# to paste into models/roofline.c; --variants fits four model structures and prints
# their fit and held-out errors (docs/latency-models.md). BUILD_DIR (default build) must hold a configured and
# built tree (libllmcap_models.a). The committed output is bench/validate_roofline.out.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
fit=""
if [ "${1:-}" = "--fit" ] || [ "${1:-}" = "--variants" ]; then
    fit="$1"
    shift
fi
build=${1:-"$root/build"}
lib="$build/libllmcap_models.a"
if [ ! -f "$lib" ]; then
    echo "validate_roofline.sh: $lib not found: build the project first" >&2
    echo "  cmake -S $root -B $build && make -C $build" >&2
    exit 2
fi
out="$build/validate_roofline"
cc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L -I"$root" \
    "$here/validate_roofline.c" "$lib" $(pkg-config --libs gsl libcjson) -lm -o "$out"
LLMCAP_DATA_DIR="$root/models/data" "$out" $fit
