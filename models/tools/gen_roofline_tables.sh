#!/bin/sh
# gen_roofline_tables.sh: (re)generate the shipped roofline latency tables in
# models/tables/ from the roofline and the committed efficiencies. The tables carry
# provenance kind "roofline" and say MODELLED, NOT MEASURED; a GPU run of llmcap-kbench
# replaces them with measured tables.
#
#   models/tools/gen_roofline_tables.sh [BUILD_DIR]
#
# BUILD_DIR (default build) must hold a built tree (libllmcap_models.a). The output is
# deterministic: running it twice gives the same bytes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-"$root/build"}
lib="$build/libllmcap_models.a"
if [ ! -f "$lib" ]; then
    echo "gen_roofline_tables.sh: $lib not found: build the project first" >&2
    exit 2
fi
bin="$build/gen_roofline_tables"
cc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L -I"$root" \
    "$here/gen_roofline_tables.c" "$lib" $(pkg-config --libs gsl libcjson) -lm -o "$bin"
export LLMCAP_DATA_DIR="$root/models/data"
out="$root/models/tables"
mkdir -p "$out"
"$bin" h100-sxm-80gb llama-3-8b bf16 auto 1 "$out/h100-sxm-80gb.llama-3-8b.bf16.json"
"$bin" h100-sxm-80gb llama-3-70b bf16 auto 4 "$out/h100-sxm-80gb.llama-3-70b.bf16.tp4.json"
echo "wrote $out/h100-sxm-80gb.llama-3-8b.bf16.json"
echo "wrote $out/h100-sxm-80gb.llama-3-70b.bf16.tp4.json"
