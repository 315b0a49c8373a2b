#!/usr/bin/env bash
# Keeps the bats suite's canned kubectl answers (test/fixtures/) true to the
# real API: records real objects from the e2e tier, refreshes the fixtures
# from them, and checks every fixture object against the API server.
#
#   record    drive the toolkit through `task` on a real control plane (app odoo
#             in namespace business, as the fixtures name it) and keep what the
#             cluster really holds: ReplicationSources after a backup, a failed
#             backup, a locked repository, an unlock; the list pod in each
#             phase; ReplicationDestinations after a restore, with no eligible
#             snapshot, on a new repository, with a wrong password, while
#             syncing; pods, ReplicaSets, Deployments, StatefulSets; restic
#             snapshots --json; what volsync:doctor reads (raw API lists as
#             it reads them: every Deployment, with VolSync's controller as
#             its Helm chart deploys it; VolSync's discovery document; the
#             VolumeSnapshotClasses; the PVCs of a namespace). Normalised (uids, resourceVersions, times, restic ids)
#             into test/fixtures/recorded/, the reference.
#   refresh   rewrite the fixtures whose whole shape comes from the cluster
#             (mover logs, list pods, ReplicationDestination statuses, restic
#             snapshots, rs-odoo*.json, empty-list.json) from the recordings,
#             keeping what the bats tests rely on (names, uids, ids, the
#             @NOW...@ times, durations) and taking everything else (which
#             fields exist, their types, log lines) from the real objects;
#             doctor/*.json (volsync:doctor's reads) likewise.
#   validate  create every object of every fixture on the API server with
#             strict field validation (a scratch namespace, VolSync stopped),
#             write the status of ReplicationSources/Destinations through
#             their status subresource, and read them back: a field the
#             schema does not know, or a wrong type, fails. Items of raw
#             lists (doctor/*.json) take the kind of their list; a discovery
#             document (doctor/volsync-api.json) must be the server's own.
#
# Usage: test/e2e/record-fixtures.sh [refresh|validate|doctor]
#   (default: record, refresh, validate; `refresh` reuses the last recordings,
#   kept in .cache/e2e/recordings; `validate` only validates; `doctor` records
#   and refreshes only what volsync:doctor reads, then validates)
# Uses the control plane of E2E_RUN_DIR when it is up, else starts one of its
# own (E2E_RUN_DIR default .cache/e2e/record, E2E_PORT_BASE default 26740)
# and stops it afterwards. Then run the bats suite (npm test): commit the
# refreshed fixtures only if it passes.
set -euo pipefail
# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../sandbox/lib.sh"
# this tier's own files (the *.bats, helpers/, selfcheck.sh)
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

export E2E_RUN_DIR="${E2E_RUN_DIR:-$E2E_CACHE/record}"
export E2E_PORT_BASE="${E2E_PORT_BASE:-26740}"
CONTROLPLANE="$SANDBOX_DIR/controlplane.sh"
# FIXTURES_DIR: another fixtures directory (the tier's own test of validate uses a doctored copy)
FIXTURES="${FIXTURES_DIR:-$REPO_ROOT/test/fixtures}"
RECORDED="$FIXTURES/recorded"
MODE="${1:-all}"
case "$MODE" in all | refresh | validate | doctor) ;; -h | --help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; *) die "usage: $0 [refresh|validate|doctor]" ;; esac

WORK="$(mktemp -d)"
started_here=false
volsync_stopped=false
finish() {
  local rc=$?
  if $started_here; then
    "$CONTROLPLANE" down >/dev/null 2>&1 || true
  elif $volsync_stopped; then
    # validate stopped it on a control plane it did not start: start it again
    "$CONTROLPLANE" start volsync >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap finish EXIT
# the control plane (record and validate need one; refresh does not)
connect() {
  if ! "$CONTROLPLANE" status >/dev/null 2>&1; then
    started_here=true
    "$CONTROLPLANE" up
  fi
  eval "$("$CONTROLPLANE" env)"
  NAMESPACES_FILE="$WORK/namespaces"
  # the stub tier's fixtures (and its tests) carry this schedule, not the tier's distant one
  SCHEDULE='0 */8 * * *'
  # shellcheck source=test/e2e/helpers/apps.bash
  source "$E2E_DIR/helpers/apps.bash"
  E2E_RUN_ID="record-$(date +%s)"
}
RS=replicationsources.volsync.backube
RD=replicationdestinations.volsync.backube
NS=business
APP=odoo
RAW="$E2E_CACHE/recordings"
mkdir -p "$RAW"

# raw NAME: save stdin (JSON) as a recording
raw() { cat >"$RAW/$1.json"; }
rs_json() { kc -n "$NS" get "$RS" "$1" -o json; }
mover_failed() { [[ $(field "$NS" "$RS" "$1" .status.latestMoverStatus.result) == Failed ]]; }
rd_done() { [[ -n $(field "$NS" "$RD" "$1" .status.lastManualSync) ]]; }
rd_failed() { [[ $(field "$NS" "$RD" "$1" .status.latestMoverStatus.result) == Failed ]]; }

# ------------------------------------------------------------------ record

# rd NAME SECRET EXTRA_JSON: a ReplicationDestination into odoo-data, by hand
make_rd() {
  jq -n --arg name "$1" --arg secret "$2" --argjson extra "$3" '{
    apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationDestination", metadata: {name: $name},
    spec: {trigger: {manual: ("record-" + $name)},
           restic: ({repository: $secret, destinationPVC: "odoo-data", copyMethod: "Direct", previous: 0,
                     enableFileDeletion: true, cleanupCachePVC: true,
                     moverSecurityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}} + $extra)}}' |
    kc -n "$NS" apply -f - >/dev/null
}

record() {
  log "recording in namespace $NS of $E2E_APISERVER"
  kc get "$RS" -n "$NS" -o json | raw empty-list
  RETAIN='{"last": "50"}'
  create_namespace "$NS"
  create_secret "$NS" volsync-r2-secret "pw-$E2E_RUN_ID" "$(repo_url "$NS" "$APP")"
  create_secret "$NS" wrong-password-secret "not-the-password" "$(repo_url "$NS" "$APP")"
  create_secret "$NS" new-repository-secret "pw-$E2E_RUN_ID" "$(repo_url "$NS" typo)"
  create_pvc "$NS" "$APP-data"
  seed_files "$(pvc_dir "$NS" "$APP-data")"
  local flux=(kustomize.toolkit.fluxcd.io/name=odoo kustomize.toolkit.fluxcd.io/namespace=flux-system)
  create_deployment "$NS" "$APP" "$APP-data" 2 "${flux[@]}"
  create_statefulset "$NS" "$APP-cron" "$APP-data" 1 "${flux[@]}"
  create_source "$NS" "$APP"
  wait_until 120 "first sync" idle "$NS" "$APP-backup"
  rs_json "$APP-backup" | raw rs-first-backup

  log "a backup (task volsync:snapshot)"
  change_files "$(pvc_dir "$NS" "$APP-data")" two
  vtask volsync:snapshot APP="$APP" CLUSTER=e2e >/dev/null
  rs_json "$APP-backup" | raw rs-after-backup
  change_files "$(pvc_dir "$NS" "$APP-data")" three
  vtask volsync:snapshot APP="$APP" CLUSTER=e2e >/dev/null
  snapshots_json "$NS" | raw restic-snapshots

  log "a guarded JSON patch whose test op fails: what the API server answers, what kubectl prints"
  local refused='[{"op":"test","path":"/spec/trigger/manual","value":"volsync-ops-snapshot-20261126T040000Z-abcde"},{"op":"remove","path":"/spec/trigger/manual"}]'
  ! kc -n "$NS" patch "$RS" "$APP-backup" --type json -p "$refused" -o json 2>"$RAW/patch-test-failed.stderr" >/dev/null ||
    die "the API server applied a patch whose test op fails"
  # (kubectl fails here, as it should: pipefail must not end the recording)
  { kc -n "$NS" patch "$RS" "$APP-backup" --type json -p "$refused" -v=8 2>&1 >/dev/null || true; } |
    sed -n 's/^[[:space:]]*\({"kind":"Status".*\)$/\1/p' | tail -n 1 | raw patch-test-failed

  log "the list pod in its phases (task volsync:list)"
  kubectl --kubeconfig "$KUBECONFIG" -n "$NS" get pods -l app.kubernetes.io/component=snapshot-list --watch -o json >"$RAW/list-pods.stream" 2>/dev/null &
  local watcher=$!
  sleep 1
  vtask volsync:list APP="$APP" CLUSTER=e2e >/dev/null
  # a source whose Secret has the wrong password: restic fails in the pod
  create_pvc "$NS" bad-data
  seed_files "$(pvc_dir "$NS" bad-data)"
  jq -n '{apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: {name: "bad-backup"},
    spec: {sourcePVC: "bad-data", trigger: {schedule: "0 */8 * * *"},
           restic: {repository: "wrong-password-secret", copyMethod: "Direct", pruneIntervalDays: 7,
                    retain: {hourly: 24, daily: 7}, moverSecurityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}}}}' |
    kc -n "$NS" apply -f - >/dev/null
  vtask volsync:list APP=bad CLUSTER=e2e >/dev/null 2>&1 || true
  # a source whose Secret does not exist: the pod cannot start
  jq -n '{apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: {name: "gone-backup"},
    spec: {sourcePVC: "bad-data", trigger: {schedule: "0 */8 * * *"}, paused: true,
           restic: {repository: "volsync-r2-secret-gone", copyMethod: "Direct"}}}' | kc -n "$NS" apply -f - >/dev/null
  vtask volsync:list APP=gone CLUSTER=e2e >/dev/null 2>&1 || true
  sleep 1
  kill "$watcher"
  # each pod once per state it went through
  jq -s 'unique_by([.metadata.name, .status.phase, (.status.containerStatuses // [] | map(.state | keys[0]))])' \
    "$RAW/list-pods.stream" | raw list-pods

  log "a source with an empty directory"
  create_pvc "$NS" empty-data
  jq -n '{apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: {name: "empty-backup"},
    spec: {sourcePVC: "empty-data", trigger: {schedule: "0 */8 * * *"},
           restic: {repository: "volsync-r2-secret", copyMethod: "Direct"}}}' | kc -n "$NS" apply -f - >/dev/null
  wait_until 120 "the sync of empty-backup" idle "$NS" empty-backup
  rs_json empty-backup | raw rs-empty

  log "a failing mover (wrong password)"
  wait_until 180 "the mover of bad-backup failing" mover_failed bad-backup
  rs_json bad-backup | raw rs-bad-password

  log "a locked repository (stale exclusive lock), then task volsync:unlock"
  local fifo="$WORK/new-password" locker pid lock
  mkfifo "$fifo"
  repo_restic "$NS" key passwd --new-password-file "$fifo" >/dev/null 2>&1 &
  locker=$!
  until lock=$(repo_restic "$NS" list locks --no-lock) && [[ -n $lock ]]; do sleep 0.3; done
  pid=$(repo_restic "$NS" cat lock "$lock" --no-lock | jq -r .pid)
  kill -KILL "$pid"
  wait "$locker" 2>/dev/null || true
  vtask volsync:snapshot APP="$APP" CLUSTER=e2e >/dev/null 2>&1 || true
  rs_json "$APP-backup" | raw rs-locked
  vtask volsync:unlock APP="$APP" CLUSTER=e2e >/dev/null
  rs_json "$APP-backup" | raw rs-after-unlock

  log "workloads as the API server and its controllers keep them"
  kc -n "$NS" get pods -l 'app in (odoo, odoo-cron)' -o json | raw pods
  kc -n "$NS" get deployments,statefulsets,replicasets -o json | raw apps
  kc -n "$NS" get pvc "$APP-data" -o json | raw pvc

  log "a restore (task volsync:restore KEEP=true), watched"
  kubectl --kubeconfig "$KUBECONFIG" -n "$NS" get "$RD" --watch -o json >"$RAW/rd.stream" 2>/dev/null &
  watcher=$!
  sleep 1
  vtask volsync:restore APP="$APP" CLUSTER=e2e YES=true KEEP=true >/dev/null
  kill "$watcher"
  jq -s '.' "$RAW/rd.stream" | raw rd-restore-stream
  kc -n "$NS" get "$RD" -o json | jq '.items[0]' | raw rd-restored
  kc -n "$NS" delete "$RD" --all >/dev/null

  log "ReplicationDestinations that restore nothing or fail"
  make_rd no-eligible volsync-r2-secret '{"restoreAsOf": "2000-01-01T00:00:00Z"}'
  make_rd new-repository new-repository-secret '{}'
  make_rd wrong-password wrong-password-secret '{}'
  wait_until 180 "RD no-eligible" rd_done no-eligible
  wait_until 180 "RD new-repository" rd_done new-repository
  wait_until 180 "RD wrong-password failing" rd_failed wrong-password
  local name
  for name in no-eligible new-repository wrong-password; do kc -n "$NS" get "$RD" "$name" -o json | raw "rd-$name"; done

  record_doctor
}

warning_event_of() { [[ -n $(kc -n "$1" get events --field-selector "type=Warning,involvedObject.kind=ReplicationSource,involvedObject.name=$2" -o name) ]]; }
controller_ready() { [[ $(field "$1" deployments.apps "$2" '.status.readyReplicas // 0') -ge 1 ]]; }

# What volsync:doctor reads, as raw API lists (lib/doctor/doctor.io.ts): the
# tier runs VolSync's controller as a process, so its Deployment is made here
# as the Helm chart (backube/volsync 0.16.0) makes it, to read it as the API
# server and the Deployment controller keep it; a VolumeSnapshotClass (of
# another CSI driver: the harness's stays the default); the Warning events of
# a source in a namespace of its own (VolSync's copy-trigger timeout).
record_doctor() {
  log "what volsync:doctor reads: Deployments, VolSync's API, VolumeSnapshotClasses, PVCs"
  create_namespace volsync-system
  jq -n '{apiVersion: "apps/v1", kind: "Deployment", metadata: {name: "volsync", labels: {"app.kubernetes.io/name": "volsync"}},
    spec: {replicas: 1, selector: {matchLabels: {"app.kubernetes.io/name": "volsync"}},
           template: {metadata: {labels: {"app.kubernetes.io/name": "volsync"}},
                      spec: {containers: [
                        {name: "kube-rbac-proxy", image: "gcr.io/kubebuilder/kube-rbac-proxy:v0.16.0", args: ["--secure-listen-address=0.0.0.0:8443", "--upstream=http://127.0.0.1:8080/"]},
                        {name: "manager", image: "quay.io/backube/volsync:0.16.0", command: ["/manager"], args: ["--leader-elect"]}]}}}}' |
    kc -n volsync-system apply -f - >/dev/null
  wait_until 60 "Deployment volsync-system/volsync ready" controller_ready volsync-system volsync
  jq -n '{apiVersion: "snapshot.storage.k8s.io/v1", kind: "VolumeSnapshotClass", metadata: {name: "csi-ceph-blockpool"},
    driver: "rook-ceph.rbd.csi.ceph.com", deletionPolicy: "Delete"}' | kc apply -f - >/dev/null
  kc get --raw '/apis/apps/v1/deployments?limit=1000' | raw doctor-deployments
  kc get --raw /apis/volsync.backube/v1alpha1 | raw doctor-volsync-api
  kc get --raw '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses?limit=1000' | raw doctor-volumesnapshotclasses
  kc get --raw "/api/v1/namespaces/$NS/persistentvolumeclaims?limit=1000" | raw doctor-pvcs

  # a Warning event VolSync records on a source: its copy trigger held past VolSync's 10-minute
  # wait, as a restore killed 11 minutes ago leaves the PVC (VolSync 0.16.0's warnings without an
  # action, VolumeSnapshotNotBound and PersistentVolumeClaimNotBound, are refused by the API server's
  # events.k8s.io/v1 validation: they are never recorded)
  local warn_ns=doctor-warn
  COPY_METHOD=Snapshot make_app "$warn_ns" "$APP"
  kc -n "$warn_ns" annotate pvc "$APP-data" volsync.backube/use-copy-trigger=held-by-volsync-ops-restore \
    volsync.backube/latest-copy-status=WaitingForTrigger \
    "volsync.backube/latest-copy-trigger-waiting-since=$(date -u -d '11 minutes ago' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
  kc -n "$warn_ns" patch "$RS" "$APP-backup" --type merge -p '{"spec":{"trigger":{"manual":"record-warn"}}}' >/dev/null
  wait_until 120 "VolSync's Warning event on $warn_ns/$APP-backup" warning_event_of "$warn_ns" "$APP-backup"
  kc get --raw "/api/v1/namespaces/$warn_ns/events?fieldSelector=type%3DWarning%2CinvolvedObject.kind%3DReplicationSource&limit=1000" |
    raw doctor-events-warning
  kc delete namespace "$warn_ns" --wait=false >/dev/null

  kc delete namespace volsync-system --wait=false >/dev/null
  kc delete volumesnapshotclass csi-ceph-blockpool --wait=false >/dev/null
}

# ------------------------------------------------------------------ normalise

# The reference copies: identities and times made stable, nothing else changed.
# shellcheck disable=SC2016
NORMALISE='
  def time_like: type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)$");
  walk(
    if type == "object" then
      (if has("uid") and (.uid | type) == "string" then .uid = "00000000-0000-4000-8000-000000000000" else . end)
      | (if has("resourceVersion") and .resourceVersion != "" then .resourceVersion = "1" else . end)
      | del(.managedFields)
    elif time_like then "@TIME@"
    else . end)
  | walk(if type == "string" then gsub("pvc-[0-9a-f]{8}-[0-9a-f-]{27}"; "pvc-UID")
         | gsub("volsync-ops-(?<p>[a-z]+)-[0-9]{8}T[0-9]{6}Z-[a-z0-9]{5}"; "volsync-ops-\(.p)-TOKEN") else . end)'

# normalise [PREFIX]: every recording (the reference copies replaced), or only those named PREFIX*
normalise() {
  local name prefix=${1:-}
  mkdir -p "$RECORDED"
  rm -f "$RECORDED/$prefix"*.json
  for name in "$RAW/$prefix"*.json; do
    jq "$NORMALISE"' | walk(if type == "string" then gsub("record-[0-9]+"; "RUN") else . end)' "$name" \
      >"$RECORDED/$(basename "$name")"
  done
  log "recordings in ${RECORDED#"$REPO_ROOT"/}"
}

# ------------------------------------------------------------------ refresh

# A fixture file: its old version ($old in jq) and the recordings ($rec).
refresh_json() {
  local fixture=$1 program=$2
  jq -n --slurpfile old "$FIXTURES/$fixture" --slurpfile recs "$WORK/recordings.json" \
    "$JQ_LIB (\$old[0]) as \$old | (\$recs[0]) as \$rec | $program" >"$WORK/fixture.json"
  # the fixtures are indented with the width they had
  local indent
  indent=$(sed -n '2s/^\( *\).*/\1/p' "$FIXTURES/$fixture" | awk '{print length}')
  jq --indent "${indent:-2}" . "$WORK/fixture.json" >"$FIXTURES/$fixture"
}

# every recording in one object, by name, for the jq programs
collect_recordings() {
  local name
  for name in "$RAW"/*.json; do jq -c --arg k "$(basename "$name" .json)" '{($k): .}' "$name"; done | jq -cs 'add' >"$WORK/recordings.json"
}

# logs REC JQ_MAP: a recording's latestMoverStatus.logs with restic ids replaced by the fixture's
# shellcheck disable=SC2016
JQ_LIB='
  def ids($map): reduce ($map | to_entries[]) as $e (.; gsub($e.key; $e.value));
  def short: .[0:8];
  # hostnames, PIDs, users and times in restic lock messages
  def lock_facts($pid; $host; $user; $uid; $created; $storage):
    gsub("locked (?<x>(exclusively )?)by PID [0-9]+ on [^ ]+ by [^ ]* \\(UID [0-9]+, GID [0-9]+\\)";
         "locked \(.x)by PID \($pid) on \($host) by \($user) (UID \($uid), GID \($uid))")
    | gsub("lock was created at [0-9-]+ [0-9:]+ \\([^)]*\\)"; "lock was created at \($created)")
    | gsub("storage ID [0-9a-f]+"; "storage ID \($storage)");
  # the e2e tier runs the mover script outside its image: its version lines
  # say what the quay.io/backube/volsync:0.16.0 image prints instead
  def as_image: gsub("VolSync restic container version: unknown"; "VolSync restic container version: v0.16.0")
    | gsub("restic 0.18.1 compiled with go[0-9.]+ "; "restic 0.18.1 compiled with go1.24.9 ");
  # the times normalise() made @TIME@, as one fixed time
  def fixed_times: walk(if . == "@TIME@" then "2026-11-26T01:00:00Z" else . end);
  def saved: [.status.latestMoverStatus.logs | scan("snapshot ([0-9a-f]{8}) saved")[0]] | last;
  def parent: [.status.latestMoverStatus.logs | scan("using parent snapshot ([0-9a-f]{8})")[0]] | last;
'

write_log() { # write_log FIXTURE JQ (over $rec, producing the log text)
  jq -rn --slurpfile recs "$WORK/recordings.json" "$JQ_LIB (\$recs[0]) as \$rec | $2" >"$FIXTURES/$1"
}

refresh() {
  log "refreshing the fixtures from the recordings"
  collect_recordings
  # mover logs: the real lines; the ids the tests name
  write_log mover-backup-ok.log '$rec["rs-after-backup"] | (saved) as $s | (parent) as $p
    | .status.latestMoverStatus.logs | ids({($p): "7c2d9e41", ($s): "1a2b3c4d"})'
  write_log mover-backup-empty.log '$rec["rs-empty"].status.latestMoverStatus.logs'
  write_log mover-backup-badpassword.log '$rec["rs-bad-password"].status.latestMoverStatus.logs | as_image'
  write_log mover-backup-locked.log '$rec["rs-locked"].status.latestMoverStatus.logs | as_image
    | lock_facts("27"; "volsync-src-odoo-backup-x2k8p"; ""; "1000"; "2026-11-26 01:58:11 (2h1m3.412s ago)"; "5f1c2b3a")'
  write_log mover-unlock-ok.log '$rec["rs-after-unlock"] | (saved) as $s | (parent) as $p
    | .status.latestMoverStatus.logs | ids({($p): "7c2d9e41", ($s): "5e6f7a8b"})'
  # what kubectl prints when the API server refuses a guarded JSON patch (its answer: recorded/patch-test-failed.json)
  cp "$RAW/patch-test-failed.stderr" "$FIXTURES/kubectl-patch-test-failed.stderr"

  # the ReplicationSource after a backup: identity and spec as the tests wrote
  # them (the spec is validated below), status as VolSync writes it, with the
  # times and duration the tests rely on, and their snapshot ids
  refresh_json rs-odoo-item.json '
    ($rec["rs-after-backup"]) as $real | ($real | saved) as $s | ($real | parent) as $p
    | $old | .status = ($real.status
        | .lastSyncTime = $old.status.lastSyncTime | .nextSyncTime = $old.status.nextSyncTime
        | .lastSyncDuration = $old.status.lastSyncDuration
        | .conditions = [.conditions[] | .lastTransitionTime = $old.status.conditions[0].lastTransitionTime]
        | .latestMoverStatus.logs |= ids({($p): "4b1e6f2a", ($s): "7c2d9e41"})
        | .restic = ((.restic // {}) + ($old.status.restic // {}))
        # a state, not a shape: only when the canned source had a manual sync
        | if $old.status | has("lastManualSync") then . else del(.lastManualSync) end)'
  # a List as kubectl prints it, holding that object
  jq --indent 2 --slurpfile item "$FIXTURES/rs-odoo-item.json" '.items = $item' "$RAW/empty-list.json" >"$FIXTURES/rs-odoo.json"
  jq --indent 2 . "$RAW/empty-list.json" >"$FIXTURES/empty-list.json"
  # a source whose last sync backed up nothing (an empty PVC), as kubectl lists it, times relative to now
  jq --indent 2 --slurpfile item <(jq '.metadata.creationTimestamp = "@NOW-10m@"
      | .status.lastSyncTime = "@NOW-10m@" | .status.nextSyncTime = "@NOW+7h@"
      | .status.conditions |= map(.lastTransitionTime = "@NOW-10m@")' "$RECORDED/rs-empty.json") \
    '.items = $item' "$RAW/empty-list.json" >"$FIXTURES/rs-empty-source.json"

  # the list pod: the real object in each phase, under the fixtures' name and identity
  local phase
  for phase in pending running succeeded failed configerror; do
    refresh_json "pod-list-$phase.json" '
      ($rec["list-pods"]) as $pods
      | ({pending: [$pods[] | select(.status.phase == "Pending" and (.status.containerStatuses // [] | all(.state.waiting.reason != "CreateContainerConfigError")) and .metadata.labels["volsync-ops/app"] == "odoo")] | first,
          running: [$pods[] | select(.status.phase == "Running" and .metadata.labels["volsync-ops/app"] == "odoo")] | first,
          succeeded: [$pods[] | select(.status.phase == "Succeeded")] | first,
          failed: [$pods[] | select(.status.phase == "Failed")] | first,
          configerror: [$pods[] | select(any(.status.containerStatuses[]?; .state.waiting.reason == "CreateContainerConfigError"))] | first}
         | .["'"$phase"'"]) as $real
      | if $real == null then error("no '"$phase"' list pod was recorded") else . end
      # the spec as the API server defaults it, over the canned one (which also
      # has what the tier leaves out: the ServiceAccount admission, a node);
      # identity and status stay canned: pod status here is written by the
      # harness, a kubelet stand-in, not by a kubelet
      | $old | .spec = ($old.spec * ($real.spec | del(.nodeName)))
      | .spec.containers[0].envFrom = $old.spec.containers[0].envFrom'
  done

  # ReplicationDestination statuses, with the placeholders tests/bats/helpers/restore.bash fills in
  # shellcheck disable=SC2016
  local rd_status='
    .status | walk(if type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$") then "@NOW@" else . end)
    | if has("lastManualSync") then .lastManualSync = "@TOKEN@" else . end
    | if $old | has("lastSyncDuration") then .lastSyncDuration = $old.lastSyncDuration else . end'
  refresh_json restore/rd-status-restored.json '$rec["rd-restored"] | '"$rd_status"'
    | .latestMoverStatus.logs |= (gsub("restoring snapshot [0-9a-f]{8} of \\[/data\\] at [0-9-]+ [0-9:.]+ [+-][0-9]{4} [A-Z]+"; "restoring snapshot @RESTORED@ of [/data] at @RESTORED_TIME@"))'
  refresh_json restore/rd-status-no-eligible.json '$rec["rd-no-eligible"] | '"$rd_status"
  refresh_json restore/rd-status-initialized.json '$rec["rd-new-repository"] | '"$rd_status"'
    | .latestMoverStatus.logs |= (gsub("created restic repository [0-9a-f]+ at [^\n]+"; "created restic repository 54a431813a at s3:https://eca0833f608b5745af030307a99bdbb4.r2.cloudflarestorage.com/volsync/odoo-typo"))'
  refresh_json restore/rd-status-failed.json '$rec["rd-wrong-password"] | '"$rd_status"'
    | .latestMoverStatus.logs |= as_image'
  refresh_json restore/rd-status-syncing.json '[$rec["rd-restore-stream"][] | select(.status.lastSyncStartTime)] | first
    | if . == null then error("no syncing ReplicationDestination was recorded") else . end | '"$rd_status"

  # restic snapshots --json: the canned snapshots (ids, times, sizes the tests
  # use) in the real shape: the keys restic 0.18.1 prints, in its order
  jq -c -n --slurpfile old "$FIXTURES/restic-snapshots.log" --slurpfile real "$RAW/restic-snapshots.json" '
    ($real[0][-1]) as $t
    | [$old[0][] as $s
       | reduce ($t | keys_unsorted[]) as $k ({}; .[$k] = (if $s | has($k) then $s[$k] else $t[$k] end))
       | .summary = (reduce ($t.summary | keys_unsorted[]) as $k ({}; .[$k] = ($s.summary[$k] // $t.summary[$k])))]' \
    >"$WORK/restic-snapshots.log"
  mv "$WORK/restic-snapshots.log" "$FIXTURES/restic-snapshots.log"

  refresh_doctor
}

# doctor_fixture FIXTURE RECORDING JQ: a fixture of volsync:doctor's reads from
# a normalised recording ($real, its times fixed) and its old version ($old)
doctor_fixture() {
  [[ -f $RECORDED/$2.json ]] || die "no recording $2: run $0 without arguments first"
  jq -n --slurpfile old "$FIXTURES/$1" --slurpfile real "$RECORDED/$2.json" \
    "$JQ_LIB (\$old[0]) as \$old | (\$real[0] | fixed_times) as \$real | $3" >"$WORK/fixture.json"
  jq --indent 2 . "$WORK/fixture.json" >"$FIXTURES/$1"
}

# volsync:doctor's reads: the raw lists as the API server sends them, holding
# what the tests name (VolSync's controller volsync-system/volsync, the class
# csi-ceph-blockpool, the PVC odoo-data of business, the Warning events of
# business/odoo-backup)
refresh_doctor() {
  doctor_fixture doctor/volsync-api.json doctor-volsync-api '$real'
  doctor_fixture doctor/deployments.json doctor-deployments \
    '$real | .items |= map(select(.metadata.namespace == "volsync-system" or (.metadata.namespace == "business" and .metadata.name == "odoo")))'
  doctor_fixture doctor/volumesnapshotclasses.json doctor-volumesnapshotclasses '$real | .items |= map(select(.metadata.name == "csi-ceph-blockpool"))'
  doctor_fixture doctor/pvcs.json doctor-pvcs '$real'
  # VolSync records its events through events.k8s.io/v1: eventTime (a MicroTime), no count, no
  # lastTimestamp, one Event per occurrence. Its warning, twice within LOOKBACK (3 h and 1 h ago),
  # and once 3 days ago under the reason the test gives an old one
  doctor_fixture doctor/events-warning.json doctor-events-warning '
    def moved: .metadata.namespace = "business" | .involvedObject.namespace = "business" | .related.namespace = "business";
    def at($name; $t): .metadata.name = $name | .metadata.creationTimestamp = ($t | sub("\\.us"; "")) | .eventTime = $t;
    ($real.items[0] | moved) as $e
    | $real | .metadata.resourceVersion = $old.metadata.resourceVersion
    | .items = [($e | at("odoo-backup.1877a6f0c1e2d3b4"; "@NOW-3h.us@")), ($e | at("odoo-backup.1877a6f0c1e2d3b5"; "@NOW-1h.us@")),
                ($e | at("odoo-backup.1877a6f0c1e2d3b6"; "@NOW-3d.us@") | .reason = "OldTrouble" | .message = "long ago")]'
}

# ------------------------------------------------------------------ validate

# every Kubernetes object in a fixture file (rendered), one per line
objects_of() {
  local file=$1
  perl -MPOSIX=strftime -pe '
    s/\@NOW(?:([+-])(\d+)([smhd]))?(\.us)?\@/strftime($4 ? "%Y-%m-%dT%H:%M:%S.000000Z" : "%Y-%m-%dT%H:%M:%SZ", gmtime(time + ($1 ? ($1 eq "-" ? -1 : 1) * $2 * {s=>1,m=>60,h=>3600,d=>86400}->{$3} : 0)))/ge;
    s/\@TOKEN\@/volsync-ops-restore-20261126T000000Z-abcde/g; s/\@RESTORED\@/7c2d9e41/g; s/\@RESTORED_TIME\@/2026-11-25 20:00:05/g;
    s/"POD"/"volsync-list-odoo-abcde"/g' "$file" |
    jq -c 'if type == "array" then empty
      elif .kind == "List" or (.items? | type) == "array" then
        # a raw list (kubectl get --raw) leaves out its items kind and apiVersion
        ((.kind // "") | sub("List$"; "")) as $kind | .apiVersion as $version
        | .items[] | (if has("kind") then . else .kind = $kind end) | (if has("apiVersion") then . else .apiVersion = $version end)
      elif has("kind") then .
      else {apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationDestination",
            metadata: {name: "status-check"}, spec: {trigger: {manual: "x"}, restic: {repository: "r", destinationPVC: "p", copyMethod: "Direct"}},
            status: .} end'
}

validate() {
  local ns="fixture-check-$(date +%s)-$$" failures=0 file obj kind name resource status stored
  log "validating every fixture object on the API server (VolSync stopped meanwhile)"
  volsync_stopped=true
  "$CONTROLPLANE" stop volsync >/dev/null
  kc create namespace "$ns" >/dev/null
  for file in "$FIXTURES"/*.json "$FIXTURES"/restore/*.json "$FIXTURES"/doctor/*.json; do
    while IFS= read -r obj; do
      kind=$(jq -r .kind <<<"$obj")
      name=$(jq -r .metadata.name <<<"$obj")
      # server-owned metadata and links to objects that do not exist here go;
      # a Job's selector and controller-uid labels are generated at creation,
      # so a recorded Job is checked with them as given (manualSelector)
      obj=$(jq -c --arg ns "$ns" 'if .kind == "APIResourceList" then . else
        .metadata |= (del(.uid, .resourceVersion, .creationTimestamp, .generation, .ownerReferences, .finalizers, .deletionTimestamp, .deletionGracePeriodSeconds) | .namespace = $ns)
        | del(.spec.nodeName)
        | if .kind == "Job" then .spec.manualSelector = true else . end
        # an Event lives in the namespace of the object it is about
        | if .kind == "Event" then .involvedObject.namespace = $ns | if .related then .related.namespace = $ns else . end else . end
        | if .kind == "VolumeSnapshotClass" then del(.metadata.namespace) else . end end' <<<"$obj")
      case "$kind" in
        ReplicationSource | ReplicationDestination)
          resource=$([[ $kind == ReplicationSource ]] && echo "$RS" || echo "$RD")
          if ! kc create --validate=strict -f - <<<"$(jq -c 'del(.status)' <<<"$obj")" >/dev/null 2>"$WORK/err"; then
            echo "FIXTURE ${file#"$FIXTURES"/} $kind $name: $(cat "$WORK/err")" >&2
            failures=$((failures + 1))
            continue
          fi
          status=$(jq -c '.status // empty' <<<"$obj")
          if [[ -n $status ]]; then
            if ! kc -n "$ns" patch "$resource" "$name" --subresource=status --type merge \
              -p "{\"status\":$status}" >/dev/null 2>"$WORK/err"; then
              echo "FIXTURE ${file#"$FIXTURES"/} $kind $name status: $(cat "$WORK/err")" >&2
              failures=$((failures + 1))
            else
              stored=$(kc -n "$ns" get "$resource" "$name" -o json | jq -cS .status)
              if [[ $stored != "$(jq -cS . <<<"$status")" ]]; then
                echo "FIXTURE ${file#"$FIXTURES"/} $kind $name: the API server stores a different status (fields it does not know?):" >&2
                diff <(jq -S . <<<"$status") <(jq -S . <<<"$stored") >&2 || true
                failures=$((failures + 1))
              fi
            fi
          fi
          kc -n "$ns" delete "$resource" "$name" --wait=false >/dev/null
          ;;
        Kustomization | HelmRelease) ;; # Flux's own CRDs are not installed here
        APIResourceList)
          # a discovery document: the server's own (its resources in any order: it lists them in the order the CRDs were registered)
          if ! diff <(jq -S '.resources |= sort_by(.name)' <<<"$obj") \
            <(kc get --raw "/apis/$(jq -r .groupVersion <<<"$obj")" | jq -S '.resources |= sort_by(.name)') >"$WORK/err" 2>&1; then
            echo "FIXTURE ${file#"$FIXTURES"/} $kind $(jq -r .groupVersion <<<"$obj"): the API server serves another document:" >&2
            cat "$WORK/err" >&2
            failures=$((failures + 1))
          fi
          ;;
        *)
          if ! kc create --dry-run=server --validate=strict -f - <<<"$obj" >/dev/null 2>"$WORK/err"; then
            echo "FIXTURE ${file#"$FIXTURES"/} $kind $name: $(cat "$WORK/err")" >&2
            failures=$((failures + 1))
          fi
          ;;
      esac
    done < <(objects_of "$file")
  done
  kc delete namespace "$ns" --wait=false >/dev/null
  "$CONTROLPLANE" start volsync >/dev/null
  volsync_stopped=false
  ((failures == 0)) || die "$failures fixture object(s) do not match the API server's schemas"
  log "every fixture object passes the API server's strict validation"
}

if [[ $MODE == all ]]; then
  rm -f "$RAW"/*.json
  connect
  record
fi
if [[ $MODE == doctor ]]; then
  rm -f "$RAW"/doctor-*.json
  connect
  # the PVC the fixtures name, in their namespace (record makes it too)
  kc get namespace "$NS" >/dev/null 2>&1 || create_namespace "$NS"
  kc -n "$NS" get pvc "$APP-data" >/dev/null 2>&1 || create_pvc "$NS" "$APP-data"
  record_doctor
  normalise doctor-
  refresh_doctor
fi
if [[ $MODE != validate && $MODE != doctor ]]; then
  [[ -f $RAW/rs-after-backup.json ]] || die "no recordings in $RAW: run $0 without arguments first"
  normalise
  refresh
fi
[[ $MODE == all || $MODE == doctor ]] || connect
validate
log "done: review git diff test/fixtures, then run the bats suite (npm test) before committing"
