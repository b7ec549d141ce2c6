#!/usr/bin/env bash
# Submit a sharded sweep to Slurm: an array of SHARDS tasks, then the merge once every
# task succeeded. Prints the two job ids.
#
# Usage: SWEEP_DIR=/shared/llmcap/conv SCENARIO=scenarios/x.yaml \
#          VARY="--vary fleet.replicas=2,4,8 --vary engine.max_num_seqs=64,128" \
#          SHARDS=16 deploy/scripts/slurm-sweep.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
: "${SWEEP_DIR:?}" "${SCENARIO:?}" "${VARY:?}"
shards=${SHARDS:-16}
export SWEEP_DIR SCENARIO VARY SHARDS=$shards
array=$(sbatch --parsable --export=ALL --array="0-$((shards - 1))" "$here/slurm/sweep.sbatch")
merge=$(sbatch --parsable --export=ALL --dependency="afterok:${array%%;*}" \
  "$here/slurm/merge.sbatch")
echo "llmcap: sweep array job $array, merge job $merge; the result: $SWEEP_DIR/sweep.db"
