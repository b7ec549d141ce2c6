#!/usr/bin/env bash
# Run the sharded sweep of deploy/k8s on the current kubectl context and fetch the merged
# database: the volume, the Indexed Job (one pod per shard), then the merge Job, then a
# short-lived pod to copy sweep.db out (docs/scale-out.md).
#
# Usage: deploy/scripts/k8s-sweep.sh [OUT.db]
#   IMAGE=registry/llmcap:0.1.0   the image built from deploy/Dockerfile (default llmcap:0.1.0)
#   SHARDS=8                      pods (the N of --shard i/N); PARALLELISM defaults to it
#   NAMESPACE=default  SWEEP=conv  TIMEOUT_S=86400
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-sweep.db}
image=${IMAGE:-llmcap:0.1.0}
shards=${SHARDS:-8}
parallelism=${PARALLELISM:-$shards}
ns=${NAMESPACE:-default}
sweep=${SWEEP:-conv}
timeout_s=${TIMEOUT_S:-86400}
k() { kubectl -n "$ns" "$@"; }

# The manifests as committed, with this run's image, shard count and sweep folder.
render() {
  sed -e "s|image: llmcap:0.1.0|image: $image|" \
      -e "s|completions: 8 |completions: $shards |" \
      -e "s|parallelism: 8 |parallelism: $parallelism |" \
      -e "s|{name: SHARDS, value: \"8\"}|{name: SHARDS, value: \"$shards\"}|" \
      -e "s|{name: SWEEP, value: \"conv\"}|{name: SWEEP, value: \"$sweep\"}|" "$1"
}

# Wait until a Job is Complete (0) or Failed (1).
wait_job() {
  local waited=0 state
  while :; do
    state=$(k get job "$1" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
    case "$state" in
      *Complete*) return 0 ;;
      *Failed*) echo "llmcap: job $1 failed; see: kubectl -n $ns logs job/$1" >&2; return 1 ;;
    esac
    if ((waited >= timeout_s)); then
      echo "llmcap: job $1 still running after ${timeout_s} s" >&2
      return 1
    fi
    sleep 10
    waited=$((waited + 10))
  done
}

k apply -f deploy/k8s/pvc.yaml
k delete job llmcap-sweep llmcap-merge --ignore-not-found --wait=true
render deploy/k8s/sweep-job.yaml | k apply -f -
wait_job llmcap-sweep
render deploy/k8s/merge-job.yaml | k apply -f -
wait_job llmcap-merge
k logs job/llmcap-merge

# kubectl cp needs a running pod with the volume mounted.
k delete pod llmcap-fetch --ignore-not-found --wait=true
k run llmcap-fetch --image="$image" --restart=Never --command --overrides='{
  "spec": {
    "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": "llmcap-results"}}],
    "containers": [{"name": "llmcap-fetch", "image": "'"$image"'",
                    "command": ["sleep", "3600"],
                    "volumeMounts": [{"name": "results", "mountPath": "/results"}]}]}}' \
  -- sleep 3600
k wait --for=condition=Ready pod/llmcap-fetch --timeout=300s
k cp "llmcap-fetch:/results/$sweep/sweep.db" "$out"
k delete pod llmcap-fetch --wait=false
echo "llmcap: the merged sweep is in $out"
