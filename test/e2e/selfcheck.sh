#!/usr/bin/env bash
# Proves the e2e control plane end to end with raw kubectl, before any of the
# toolkit's commands are involved:
#   backup    a manual trigger of a ReplicationSource makes a restic snapshot in
#             the S3 bucket, reported in status.latestMoverStatus
#   schedule  removing the manual trigger brings status.nextSyncTime back
#   restore   a ReplicationDestination (Direct, previous 0) brings deleted files back
#   list pod  a restic pod's `kubectl logs` are readable JSON
#   failure   a wrong password makes latestMoverStatus.result Failed
#
# Usage: test/e2e/selfcheck.sh
# Uses the running control plane of E2E_RUN_DIR; if none is up it starts one
# and stops it afterwards (E2E_KEEP_UP=1 leaves it running).
set -euo pipefail
# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../sandbox/lib.sh"
# this tier's own files (the *.bats, helpers/, selfcheck.sh)
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

NAMESPACE="selfcheck"
# daily, 12 hours from now: no scheduled sync during the check (as the tier's apps)
SCHEDULE=$(distant_schedule)
APP="demo"
TIMEOUT="${SELFCHECK_TIMEOUT:-180}"
CONTROLPLANE="$SANDBOX_DIR/controlplane.sh"

passed=0
failed=0
started_here=false
WORK="$(mktemp -d)"

cleanup() {
  local rc=$?
  if [[ -n "${KUBECONFIG:-}" ]]; then
    kubectl delete namespace "$NAMESPACE" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  if $started_here && [[ "${E2E_KEEP_UP:-}" != 1 ]]; then
    if ((rc == 0)); then
      "$CONTROLPLANE" down || true
    else
      # Keep the logs of a failed run for whoever investigates.
      E2E_KEEP_RUN=1 "$CONTROLPLANE" down || true
    fi
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

if ! "$CONTROLPLANE" status >/dev/null 2>&1; then
  "$CONTROLPLANE" up
  started_here=true
fi
eval "$("$CONTROLPLANE" env)"
PATH="$E2E_BIN:$PATH"

step() { printf '\n--- %s\n' "$*" >&2; step_started=$SECONDS; }
pass() {
  passed=$((passed + 1))
  printf 'ok   %s (%ss)\n' "$*" "$((SECONDS - step_started))" >&2
}
fail() {
  failed=$((failed + 1))
  printf 'FAIL %s\n' "$*" >&2
  printf '\nselfcheck: %d passed, %d failed\n' "$passed" "$failed"
  printf 'logs: %s (kept)\n' "$E2E_LOGS" >&2
  exit 1
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_until() {
  local timeout="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@"; do
    ((SECONDS < deadline)) || fail "$what: not within ${timeout}s"
    sleep 1
  done
}

# field KIND NAME JQ: a field of an object in the namespace, read as JSON.
field() { kubectl -n "$NAMESPACE" get "$1" "$2" -o json | jq -r "$3"; }
field_is() { [[ "$(field "$1" "$2" "$3")" == "$4" ]]; }
field_set() { [[ "$(field "$1" "$2" "$3 // \"\"")" != "" ]]; }

apply() { kubectl -n "$NAMESPACE" apply -f - >/dev/null; }

repository="s3:$E2E_S3_ENDPOINT/$E2E_S3_BUCKET/$APP"
password="selfcheck-$RANDOM$RANDOM"
pvc_dir="$E2E_PVC_ROOT/$NAMESPACE/$APP-data"

# restic_local ARGS...: restic run here against the app's repository.
restic_local() {
  RESTIC_REPOSITORY="$repository" RESTIC_PASSWORD="$password" \
    AWS_ACCESS_KEY_ID=e2e AWS_SECRET_ACCESS_KEY=e2e-secret restic --no-cache "$@"
}

secret() {
  jq -n --arg name "$1" --arg repo "$repository" --arg password "$2" '{
    apiVersion: "v1", kind: "Secret", metadata: {name: $name},
    stringData: {RESTIC_REPOSITORY: $repo, RESTIC_PASSWORD: $password,
                 AWS_ACCESS_KEY_ID: "e2e", AWS_SECRET_ACCESS_KEY: "e2e-secret"}}'
}

replication_source() {
  jq -n --arg name "$1" --arg pvc "$APP-data" --arg secret "$2" --arg schedule "$SCHEDULE" '{
    apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: {name: $name},
    spec: {sourcePVC: $pvc, trigger: {schedule: $schedule},
           restic: {repository: $secret, copyMethod: "Direct", pruneIntervalDays: 7,
                    retain: {hourly: 24, daily: 7}}}}'
}

# ---------------------------------------------------------------------------
step "namespace, Secret volsync-r2-secret, PVC $APP-data with files"
kubectl create namespace "$NAMESPACE" >/dev/null
secret volsync-r2-secret "$password" | apply
jq -n --arg name "$APP-data" '{apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: {name: $name},
  spec: {accessModes: ["ReadWriteOnce"], resources: {requests: {storage: "1Gi"}}}}' | apply
wait_until 60 "PVC $APP-data Bound" field_is pvc "$APP-data" .status.phase Bound
mkdir -p "$pvc_dir/nested"
printf 'hello from the e2e tier\n' >"$pvc_dir/hello.txt"
head -c 1048576 /dev/urandom >"$pvc_dir/nested/random.bin"
cp -a "$pvc_dir" "$WORK/expected"
pass "PVC $APP-data is Bound and its directory $pvc_dir holds the data"

# ---------------------------------------------------------------------------
step "ReplicationSource $APP-backup, manual trigger"
replication_source "$APP-backup" volsync-r2-secret | apply
trigger="selfcheck-$(date +%s)"
kubectl -n "$NAMESPACE" patch replicationsources.volsync.backube "$APP-backup" --type merge \
  -p "$(jq -n --arg t "$trigger" '{spec: {trigger: {manual: $t}}}')" >/dev/null
wait_until "$TIMEOUT" "lastManualSync == $trigger" \
  field_is replicationsources.volsync.backube "$APP-backup" .status.lastManualSync "$trigger"
result="$(field replicationsources.volsync.backube "$APP-backup" .status.latestMoverStatus.result)"
logs="$(field replicationsources.volsync.backube "$APP-backup" .status.latestMoverStatus.logs)"
[[ "$result" == Successful ]] || fail "latestMoverStatus.result is $result; logs: $logs"
snapshot="$(sed -n 's/^snapshot \([0-9a-f]\{8,\}\) saved$/\1/p' <<<"$logs")"
[[ -n "$snapshot" ]] || fail "no 'snapshot <id> saved' in latestMoverStatus.logs: $logs"
pass "backup made snapshot $snapshot (lastManualSync=$trigger, result=$result)"

step "the snapshot is in the S3 bucket"
snapshots="$(restic_local snapshots --json)"
jq -e --arg id "$snapshot" 'map(select(.short_id == $id or (.id | startswith($id)))) | length == 1' <<<"$snapshots" >/dev/null ||
  fail "restic snapshots does not list $snapshot: $snapshots"
jq -e --arg id "$snapshot" '.[] | select(.short_id == $id) | .hostname == "volsync" and .paths == ["/data"]' \
  <<<"$snapshots" >/dev/null || fail "snapshot $snapshot is not host volsync, path /data: $snapshots"
pass "restic snapshots lists $snapshot (host volsync, path /data) in $repository"

step "removing the manual trigger restores the schedule"
kubectl -n "$NAMESPACE" patch replicationsources.volsync.backube "$APP-backup" --type json \
  -p '[{"op": "remove", "path": "/spec/trigger/manual"}]' >/dev/null
wait_until 60 "status.nextSyncTime set" \
  field_set replicationsources.volsync.backube "$APP-backup" .status.nextSyncTime
next="$(field replicationsources.volsync.backube "$APP-backup" .status.nextSyncTime)"
pass "nextSyncTime is $next"

# ---------------------------------------------------------------------------
step "ReplicationDestination restores deleted files into $APP-data"
rm -rf "${pvc_dir:?}/hello.txt" "${pvc_dir:?}/nested"
printf 'not in the snapshot\n' >"$pvc_dir/extra.txt"
restore_trigger="restore-$(date +%s)"
jq -n --arg name "$APP-restore" --arg pvc "$APP-data" --arg t "$restore_trigger" '{
  apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationDestination", metadata: {name: $name},
  spec: {trigger: {manual: $t},
         restic: {repository: "volsync-r2-secret", destinationPVC: $pvc, copyMethod: "Direct",
                  previous: 0, enableFileDeletion: true}}}' | apply
wait_until "$TIMEOUT" "restore lastManualSync == $restore_trigger" \
  field_is replicationdestinations.volsync.backube "$APP-restore" .status.lastManualSync "$restore_trigger"
result="$(field replicationdestinations.volsync.backube "$APP-restore" .status.latestMoverStatus.result)"
logs="$(field replicationdestinations.volsync.backube "$APP-restore" .status.latestMoverStatus.logs)"
[[ "$result" == Successful ]] || fail "restore result is $result; logs: $logs"
# restic 0.18 logs "restoring snapshot <id> of [/data] ...", older ones "restoring <Snapshot <id> ...".
grep -Eq "restoring (<Snapshot |snapshot )$snapshot" <<<"$logs" || fail "restore logs do not name snapshot $snapshot: $logs"
diff -r "$WORK/expected" "$pvc_dir" >&2 || fail "the PVC directory differs from the backed-up data"
kubectl -n "$NAMESPACE" delete replicationdestinations.volsync.backube "$APP-restore" >/dev/null
pass "restore of $snapshot made $pvc_dir equal to the backup (extra file deleted)"

# ---------------------------------------------------------------------------
step "a restic pod's logs through kubectl logs"
jq -n '{apiVersion: "v1", kind: "Pod", metadata: {name: "list-snapshots"},
  spec: {restartPolicy: "Never",
         containers: [{name: "restic", image: "restic/restic:0.18.1",
                       command: ["restic", "snapshots", "--json", "--no-lock", "--no-cache"],
                       envFrom: [{secretRef: {name: "volsync-r2-secret"}}]}]}}' | apply
wait_until 60 "pod list-snapshots Succeeded" field_is pod list-snapshots .status.phase Succeeded
listed="$(kubectl -n "$NAMESPACE" logs list-snapshots)"
jq -e --arg id "$snapshot" 'map(.short_id) | index($id) != null' <<<"$listed" >/dev/null ||
  fail "kubectl logs list-snapshots is not the snapshot list: $listed"
kubectl -n "$NAMESPACE" delete pod list-snapshots --wait=true --timeout 30s >/dev/null
pass "kubectl logs shows the snapshots as JSON; the pod is gone"

# ---------------------------------------------------------------------------
step "a wrong password makes the mover fail"
secret volsync-r2-wrong "wrong-$password" | apply
replication_source "$APP-wrong" volsync-r2-wrong | apply
kubectl -n "$NAMESPACE" patch replicationsources.volsync.backube "$APP-wrong" --type merge \
  -p '{"spec": {"trigger": {"manual": "wrong-password"}}}' >/dev/null
wait_until "$TIMEOUT" "latestMoverStatus.result == Failed" \
  field_is replicationsources.volsync.backube "$APP-wrong" .status.latestMoverStatus.result Failed
logs="$(field replicationsources.volsync.backube "$APP-wrong" .status.latestMoverStatus.logs)"
grep -qi 'password' <<<"$logs" || fail "failed mover logs do not mention the password: $logs"
[[ "$(field replicationsources.volsync.backube "$APP-wrong" '.status.lastManualSync // ""')" != wrong-password ]] ||
  fail "lastManualSync was set although the sync failed"
pass "latestMoverStatus.result is Failed and the logs say why"

# ---------------------------------------------------------------------------
step "clean up"
kubectl delete namespace "$NAMESPACE" --timeout 120s >/dev/null
[[ ! -e "$E2E_PVC_ROOT/$NAMESPACE/$APP-data" ]] || fail "the PVC directory is left after the namespace is gone"
pass "namespace $NAMESPACE and its PVC directories are gone"

printf '\nselfcheck: %d passed, %d failed\n' "$passed" "$failed"
