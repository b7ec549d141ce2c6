#!/usr/bin/env bash
# Run the sharded sweep of deploy/k8s on the current kubectl context and fetch the merged
# database: the volume, the ConfigMap and the Indexed Job (kubectl apply -k), a wait until
# every index succeeded, only then the merge Job, then a short-lived pod to copy sweep.db
# out (docs/scale-out.md, deploy/README.md).
#
# Usage: deploy/scripts/k8s-sweep.sh [OUT.db]
#   Configure the grid and the shard count in deploy/k8s/sweep.env (the one place).
#   IMAGE=registry/llmcap:0.1.0   the image built from deploy/Dockerfile (default llmcap:0.1.0)
#   NAMESPACE=default  TIMEOUT_S=43200 (the sweep Job's activeDeadlineSeconds)
set -euo pipefail
if ((BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
  echo "llmcap: $0 needs bash 5.1 or later (wait -n -p), this is $BASH_VERSION" >&2
  exit 2
fi
cd "$(dirname "$0")/../.."
out=${1:-sweep.db}
image=${IMAGE:-llmcap:0.1.0}
ns=${NAMESPACE:-default}
timeout_s=${TIMEOUT_S:-43200}
sweep=$(sed -n 's/^SWEEP=//p' deploy/k8s/sweep.env)
k() { kubectl -n "$ns" "$@"; }

# The manifests with this run's image.
with_image() { sed -e "s|image: llmcap:0.1.0|image: $image|"; }

# Wait until Job $1 is Complete (return 0) or Failed, or the time is up (return 1).
# Two `kubectl wait`s race: the first to return says which condition came.
wait_job() {
  local job=$1 done_pid failed_pid first rc
  k wait --for=condition=complete "job/$job" --timeout="${timeout_s}s" >/dev/null 2>&1 &
  done_pid=$!
  k wait --for=condition=failed "job/$job" --timeout="${timeout_s}s" >/dev/null 2>&1 &
  failed_pid=$!
  rc=0
  wait -n -p first "$done_pid" "$failed_pid" || rc=$?
  kill "$done_pid" "$failed_pid" 2>/dev/null || true
  wait "$done_pid" "$failed_pid" 2>/dev/null || true
  if [[ "$first" == "$done_pid" && $rc -eq 0 ]]; then
    return 0
  fi
  if [[ "$first" == "$failed_pid" && $rc -eq 0 ]]; then
    echo "llmcap: job $job failed: $(k get job "$job" \
      -o jsonpath='{.status.conditions[?(@.type=="Failed")].message}')" >&2
    echo "llmcap: see kubectl -n $ns logs job/$job; nothing was merged" >&2
  else
    echo "llmcap: job $job did not finish within ${timeout_s} s; nothing was merged" >&2
  fi
  return 1
}

k delete job llmcap-sweep llmcap-merge --ignore-not-found --wait=true
kubectl kustomize deploy/k8s | with_image | k apply -f -
wait_job llmcap-sweep
# Complete means every index succeeded (completions reached, maxFailedIndexes 0).
want=$(k get job llmcap-sweep -o jsonpath='{.spec.completions}')
got=$(k get job llmcap-sweep -o jsonpath='{.status.succeeded}')
if [[ "$got" != "$want" ]]; then
  echo "llmcap: $got of $want shards succeeded; nothing was merged" >&2
  exit 1
fi
with_image <deploy/k8s/merge-job.yaml | k apply -f -
wait_job llmcap-merge
k logs job/llmcap-merge

# kubectl cp needs a running pod with the volume mounted.
k delete pod llmcap-fetch --ignore-not-found --wait=true
k run llmcap-fetch --image="$image" --restart=Never --command --overrides='{
  "spec": {
    "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "fsGroup": 10001},
    "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": "llmcap-results"}}],
    "containers": [{"name": "llmcap-fetch", "image": "'"$image"'",
                    "command": ["sleep", "3600"],
                    "securityContext": {"allowPrivilegeEscalation": false,
                                        "readOnlyRootFilesystem": true,
                                        "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "results", "mountPath": "/results"}]}]}}' \
  -- sleep 3600
k wait --for=condition=Ready pod/llmcap-fetch --timeout=300s
k cp "llmcap-fetch:/results/$sweep/sweep.db" "$out"
k delete pod llmcap-fetch --wait=false
echo "llmcap: the merged sweep is in $out"
