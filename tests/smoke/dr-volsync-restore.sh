#!/usr/bin/env bash
# The DR runbook's smoke test: back up an app, change its data, restore it
# through `task volsync:restore`, check the data is back, and print how long
# each phase took. Runs against any cluster; by default the local sandbox
# (started with `task sandbox:up` when it is not up).
#
# Usage: tests/smoke/dr-volsync-restore.sh [CLUSTER=sandbox] [APP=demo] [NAMESPACE=] [KUBECONFIG=<file>]
#   CLUSTER     cluster, resolved as the toolkit does: KUBECONFIG=<file> if given, else
#               <repo>/kubeconfig-<CLUSTER>, else the context <CLUSTER> of your kubeconfig
#   APP         the app: ReplicationSource <APP>-backup, its PVC, its workloads
#   NAMESPACE   namespace of the ReplicationSource (default: found by name)
#   TIMEOUT     passed to each task (default 30m)
#   PROBE_IMAGE image of the probe pods (default restic/restic:0.18.1: sh, find, sha256sum)
#
# What it does to the app: takes a snapshot, adds ONE file (volsync-smoke-<time>.txt)
# to the PVC, then restores that snapshot (the app is stopped meanwhile, as in
# a real restore). Success: after the restore every file has the checksum it
# had right after the snapshot, and the added file is gone. A probe pod (the
# PVC mounted at /data, the mover's securityContext, on the node of the app's
# pod) reads and writes the data, so nothing but kubectl is needed. Use an
# app that does not write while the test runs (a busy database makes the
# checksums differ), and a cluster where a restore of it is acceptable.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER=sandbox APP=demo NAMESPACE='' EXPLICIT_KUBECONFIG='' TIMEOUT=30m PROBE_IMAGE=restic/restic:0.18.1
for arg in "$@"; do
  case "$arg" in
    CLUSTER=*) CLUSTER=${arg#*=} ;;
    APP=*) APP=${arg#*=} ;;
    NAMESPACE=*) NAMESPACE=${arg#*=} ;;
    KUBECONFIG=*) EXPLICIT_KUBECONFIG=${arg#*=} ;;
    TIMEOUT=*) TIMEOUT=${arg#*=} ;;
    PROBE_IMAGE=*) PROBE_IMAGE=${arg#*=} ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done
for value in "$CLUSTER" "$APP" "$NAMESPACE"; do
  [[ -z $value || $value =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || { echo "not a Kubernetes name: $value" >&2; exit 2; }
done
RS=replicationsources.volsync.backube
TASK=$(command -v task || echo "$ROOT/.cache/bin/task")
[[ -x $TASK ]] || { echo "task (go-task) is not on PATH; see README.md" >&2; exit 2; }

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

declare -a PHASES=()
phase() {
  local name=$1 started=$SECONDS
  shift
  log "$name"
  "$@"
  PHASES+=("$(printf '%-34s %4ss' "$name" $((SECONDS - started)))")
}
report() {
  local line
  ((${#PHASES[@]})) || return 0
  printf '\nphase                              took\n' >&2
  for line in "${PHASES[@]}"; do printf '%s\n' "$line" >&2; done
}

# ---------------------------------------------------------------- the cluster

if [[ $CLUSTER == sandbox && -z $EXPLICIT_KUBECONFIG ]] && ! (cd "$ROOT" && "$TASK" sandbox:status >/dev/null 2>&1); then
  phase "task sandbox:up" bash -c 'cd "$1" && "$2" sandbox:up' _ "$ROOT" "$TASK"
fi

# kubectl for the probes, on the cluster the toolkit resolves
if [[ -n $EXPLICIT_KUBECONFIG ]]; then
  TARGET=(--kubeconfig "$EXPLICIT_KUBECONFIG")
  TASK_TARGET=(CLUSTER="$CLUSTER" KUBECONFIG="$EXPLICIT_KUBECONFIG")
elif [[ -f $ROOT/kubeconfig-$CLUSTER ]]; then
  TARGET=(--kubeconfig "$ROOT/kubeconfig-$CLUSTER")
  TASK_TARGET=(CLUSTER="$CLUSTER")
else
  TARGET=(--context "$CLUSTER")
  TASK_TARGET=(CLUSTER="$CLUSTER")
fi
# the sandbox's kubectl when there is no other
KUBECTL=$(command -v kubectl || echo "$ROOT/.cache/e2e/bin/kubectl")
kc() { "$KUBECTL" "${TARGET[@]}" "$@"; }
# task from the repository root; an explicit KUBECONFIG is a task variable, not the environment
vtask() {
  if [[ -n $EXPLICIT_KUBECONFIG ]]; then
    (cd "$ROOT" && env -u KUBECONFIG "$TASK" -x "$@" "${TASK_TARGET[@]}")
  else
    (cd "$ROOT" && "$TASK" -x "$@" "${TASK_TARGET[@]}")
  fi
}

# ---------------------------------------------------------------- the app

if [[ -z $NAMESPACE ]]; then
  NAMESPACE=$(kc get "$RS" --all-namespaces --field-selector "metadata.name=$APP-backup" -o json | jq -r '[.items[].metadata.namespace] | if length == 1 then .[0] else "" end')
  [[ -n $NAMESPACE ]] || die "ReplicationSource $APP-backup not found exactly once on cluster $CLUSTER; give NAMESPACE="
fi
SOURCE=$(kc -n "$NAMESPACE" get "$RS" "$APP-backup" -o json)
PVC=$(jq -r '.spec.sourcePVC // empty' <<<"$SOURCE")
[[ -n $PVC ]] || die "$NAMESPACE/$APP-backup has no spec.sourcePVC"
SECURITY=$(jq -c '.spec.restic.moverSecurityContext // {}' <<<"$SOURCE")
MARKER="volsync-smoke-$(date -u +%Y%m%dT%H%M%SZ).txt"
log "cluster $CLUSTER, app $APP: ReplicationSource $NAMESPACE/$APP-backup, PVC $PVC"

PROBES=()
cleanup() {
  local rc=$? pod
  for pod in "${PROBES[@]}"; do kc -n "$NAMESPACE" delete pod "$pod" --ignore-not-found --wait=false >/dev/null 2>&1 || true; done
  report
  if ((rc == 0)); then printf '\nDR smoke test PASSED on cluster %s (app %s)\n' "$CLUSTER" "$APP" >&2; fi
  exit "$rc"
}
trap cleanup EXIT

# probe NAME SCRIPT: runs SCRIPT with the PVC at /data in a one-shot pod next
# to the app's pod (ReadWriteOnce), prints its output
probe() {
  local name="volsync-smoke-$1-$RANDOM" script=$2 node phase deadline=$((SECONDS + 300))
  node=$(kc -n "$NAMESPACE" get pods -o json | jq -r --arg pvc "$PVC" '[.items[]
    | select(.status.phase == "Running" and any(.spec.volumes[]?; .persistentVolumeClaim.claimName == $pvc))
    | .spec.nodeName] | first // empty')
  PROBES+=("$name")
  jq -n --arg name "$name" --arg pvc "$PVC" --arg image "$PROBE_IMAGE" --arg script "$script" \
    --arg node "$node" --argjson security "$SECURITY" '{
    apiVersion: "v1", kind: "Pod",
    metadata: {name: $name, labels: {"app.kubernetes.io/managed-by": "volsync-smoke"}},
    spec: ({restartPolicy: "Never", automountServiceAccountToken: false, securityContext: $security,
            containers: [{name: "probe", image: $image, command: ["sh", "-c", $script],
                          volumeMounts: [{name: "data", mountPath: "/data"}]}],
            volumes: [{name: "data", persistentVolumeClaim: {claimName: $pvc}}]}
           + (if $node == "" then {} else {nodeName: $node} end))}' |
    kc -n "$NAMESPACE" create -f - >/dev/null
  until phase=$(kc -n "$NAMESPACE" get pod "$name" -o jsonpath='{.status.phase}') && [[ $phase == Succeeded || $phase == Failed ]]; do
    ((SECONDS < deadline)) || die "probe pod $NAMESPACE/$name did not finish in 300s (phase ${phase:-none})"
    sleep 1
  done
  kc -n "$NAMESPACE" logs "$name"
  kc -n "$NAMESPACE" delete pod "$name" --ignore-not-found --wait=false >/dev/null
  [[ $phase == Succeeded ]] || die "probe pod $NAMESPACE/$name failed"
}

# every file, link and directory with its type, and each file's checksum
SUMS='cd /data && find . \( -type f -o -type l -o -type d \) -exec sh -c '\''for p; do
  if [ -f "$p" ] && [ ! -L "$p" ]; then echo "f $(sha256sum "$p" | cut -d" " -f1) $p";
  elif [ -L "$p" ]; then echo "l $(readlink "$p") $p"; else echo "d - $p"; fi; done'\'' sh {} + | sort -k3'

# ---------------------------------------------------------------- the drill

SNAPSHOT=''
backup() {
  local out
  out=$(vtask volsync:snapshot APP="$APP" NAMESPACE="$NAMESPACE" TIMEOUT="$TIMEOUT" 2>&1) || { printf '%s\n' "$out" >&2; die "the backup failed"; }
  printf '%s\n' "$out" | sed 's/^/    /' >&2
  SNAPSHOT=$(sed -n 's/^New restic snapshot: //p' <<<"$out")
  [[ -n $SNAPSHOT ]] || die "the backup reported no new snapshot (an empty PVC?)"
}

BEFORE=''
checksums_before() {
  BEFORE=$(probe sums "$SUMS")
  [[ -n $BEFORE ]] || die "the probe saw no files in $PVC"
  log "$(wc -l <<<"$BEFORE") entries in $PVC"
}

change() {
  probe change "echo 'written by the DR smoke test after snapshot $SNAPSHOT' > /data/$MARKER && ls -l /data/$MARKER" | sed 's/^/    /' >&2
}

restore() {
  vtask volsync:restore APP="$APP" NAMESPACE="$NAMESPACE" SNAPSHOT="$SNAPSHOT" YES=true TIMEOUT="$TIMEOUT" 2>&1 | sed 's/^/    /' >&2
  [[ ${PIPESTATUS[0]} == 0 ]] || die "the restore failed"
}

verify() {
  local after
  after=$(probe sums "$SUMS")
  if grep -q " ./$MARKER\$" <<<"$after"; then die "$MARKER is still in $PVC: the restore did not make the PVC equal to the snapshot"; fi
  if [[ $after != "$BEFORE" ]]; then
    diff <(printf '%s\n' "$BEFORE") <(printf '%s\n' "$after") >&2 || true
    die "the data in $PVC differs from what it was right after snapshot $SNAPSHOT"
  fi
  log "all $(wc -l <<<"$after") entries of $PVC are as they were at snapshot $SNAPSHOT; $MARKER is gone"
}

phase "backup (task volsync:snapshot)" backup
phase "checksums after the backup" checksums_before
phase "change the data" change
phase "restore (task volsync:restore)" restore
phase "verify the data" verify
