#!/usr/bin/env bats
# Every cluster at once (README.md, "Every cluster at once"): status
# CLUSTER=all over two real control planes, this tier's and a second one
# started here (controlplane.sh up, on the ports above this tier's, its own
# run directory); then the second one's API server is stopped and the first
# must still be shown.

setup_file() {
  load helpers/e2e
  # the second control plane: 100 ports above this tier's API server
  local port=${E2E_APISERVER##*:}
  export SECOND_RUN_DIR="$E2E_RUN_DIR-second" SECOND_PORT_BASE=$((port + 100))
  E2E_RUN_DIR=$SECOND_RUN_DIR E2E_PORT_BASE=$SECOND_PORT_BASE E2E_CLUSTER_NAME=second \
    "$SANDBOX_DIR/controlplane.sh" up >&2
  # a repository root of its own that knows both clusters: kubeconfig-e2e and kubeconfig-second
  export FLEET_ROOT="$BATS_FILE_TMPDIR/fleet root"
  mkdir -p "$FLEET_ROOT"
  install -m 600 "$KUBECONFIG" "$FLEET_ROOT/kubeconfig-e2e"
  install -m 600 "$SECOND_RUN_DIR/kubeconfig" "$FLEET_ROOT/kubeconfig-second"
}

teardown_file() {
  load helpers/e2e
  E2E_RUN_DIR=$SECOND_RUN_DIR "$SANDBOX_DIR/controlplane.sh" down >&2 || true
}

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

# k2 ARGS...: kubectl on the second control plane
k2() { kubectl --kubeconfig "$SECOND_RUN_DIR/kubeconfig" "$@"; }

# fleet_status VAR=VALUE...: task volsync:status CLUSTER=all in the fleet's repository root
fleet_status() { (cd "$ROOT" && env -u KUBECONFIG VOLSYNC_OPS_ROOT="$FLEET_ROOT" task -x volsync:status CLUSTER=all "$@"); }
# fleet TASK VAR=VALUE...: task volsync:<TASK> CLUSTER=all in the fleet's repository root
fleet() { (cd "$ROOT" && env -u KUBECONFIG VOLSYNC_OPS_ROOT="$FLEET_ROOT" task -x "volsync:$1" CLUSTER=all "${@:2}"); }

source_error() { [[ $(k2 -n fl-two get "$RS" ghost-backup -o json | jq -r '.status.conditions[0].reason // ""') == Error ]]; }

@test "status CLUSTER=all shows both control planes in one table; with one stopped it is NOT READ (exit 1) and the other is still shown" {
  only_sources
  make_app fl-one web
  # on the second: a source whose PVC does not exist (VolSync reports an Error)
  k2 create namespace fl-two >/dev/null
  jq -n --arg schedule "$SCHEDULE" '{apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: {name: "ghost-backup"},
    spec: {sourcePVC: "ghost-data", trigger: {schedule: $schedule}, restic: {repository: "volsync-r2-secret", copyMethod: "Direct"}}}' |
    k2 -n fl-two apply -f - >/dev/null
  wait_until 60 "VolSync's Error on the second control plane" source_error

  COLUMNS=200 run -1 fleet_status
  assert_line --regexp '^CLUSTER +NAMESPACE +NAME +PVC +TRIGGER +LAST SYNC +TOOK +NEXT +RESULT +SNAPSHOT +STATE +VERIFIED$'
  assert_line --regexp "^e2e +fl-one +web-backup +web-data +$SCHEDULE_RE .* ok +[0-9a-f]{8} +scheduled +never\$"
  assert_line --regexp '^second +fl-two +ghost-backup +ghost-data +.* ERROR +never$'
  assert_line '! fl-two/ghost-backup (cluster second)'
  assert_line '    error: PersistentVolumeClaim "ghost-data" not found'
  assert_line 'e2e:    1 healthy, 0 need attention'
  assert_line 'second: 0 healthy, 1 need attention'
  assert_line '2 clusters: 1 healthy, 1 need attention'

  # the second control plane's API server goes away
  E2E_RUN_DIR=$SECOND_RUN_DIR "$SANDBOX_DIR/controlplane.sh" stop kube-apiserver >&2
  COLUMNS=200 run -1 fleet_status
  assert_line --regexp '^e2e +fl-one +web-backup '
  refute_line --regexp '^second '
  assert_line 'e2e:    1 healthy, 0 need attention'
  assert_line --regexp "^second: NOT READ: The connection to the server 127\.0\.0\.1:$SECOND_PORT_BASE was refused"
  assert_line '2 clusters: 1 healthy, 0 need attention, 1 not read'
  refute_output --partial 'memcache.go'

  run -1 --separate-stderr fleet_status OUTPUT=json
  json_true '[.sources[] | "\(.cluster)/\(.namespace)/\(.name)"] == ["e2e/fl-one/web-backup"]
    and ([.clusters[] | {cluster, ok}] == [{cluster: "e2e", ok: true}, {cluster: "second", ok: false}])
    and (.clusters[1].error | test("refused"))' <<<"$output" >/dev/null
  E2E_RUN_DIR=$SECOND_RUN_DIR "$SANDBOX_DIR/controlplane.sh" start kube-apiserver >&2
}

@test "status CLUSTER=all while one control plane stops in the middle of the run: that one is NOT READ, the other shown" {
  only_sources
  make_app fl-mid web
  # many sources on the second, read 1000 a page: the read takes several requests
  # (its VolSync stopped: 3000 sources without PVCs would keep it busy)
  E2E_RUN_DIR=$SECOND_RUN_DIR "$SANDBOX_DIR/controlplane.sh" stop volsync >&2
  k2 create namespace fl-many >/dev/null
  jq -n '{apiVersion: "v1", kind: "List", items: [range(0; 3000) | {apiVersion: "volsync.backube/v1alpha1",
    kind: "ReplicationSource", metadata: {name: "app-\(.)-backup"},
    spec: {sourcePVC: "app-\(.)-data", paused: true, trigger: {schedule: "0 0 1 1 *"}, restic: {repository: "x", copyMethod: "Direct"}}}]}' |
    k2 -n fl-many create -f - >/dev/null
  # stop its API server as soon as the run has read the first page
  (
    for _ in $(seq 1 400); do
      # the request for the second page: kubectl with the token of the first
      pgrep -f "kubeconfig-second.*continue=" >/dev/null && break
      sleep 0.02
    done
    E2E_RUN_DIR=$SECOND_RUN_DIR "$SANDBOX_DIR/controlplane.sh" stop kube-apiserver >/dev/null 2>&1
  ) 3>&- &
  local stopper=$!
  COLUMNS=200 run -1 fleet_status
  wait "$stopper" || true
  assert_line --regexp '^e2e +fl-mid +web-backup '
  assert_line --regexp "^second: NOT READ: "
  assert_line --regexp '^2 clusters: 1 healthy, 0 need attention, 1 not read$'
  E2E_RUN_DIR=$SECOND_RUN_DIR "$SANDBOX_DIR/controlplane.sh" start kube-apiserver >&2
  k2 delete namespace fl-many --wait=false >/dev/null
}

@test "doctor and stats CLUSTER=all over both control planes; with one stopped it is NOT READ (exit 1) and the other is still shown" {
  make_app fl-ds web
  k2 create namespace fl-ds >/dev/null

  # stats: the e2e repository read by a pod on the e2e control plane; the second has no source there
  COLUMNS=200 run -0 fleet stats NAMESPACE=fl-ds
  assert_line --regexp '^CLUSTER +SOURCE +SNAPSHOTS +OLDEST +NEWEST +LATEST +STORED +DEDUP +LAST PRUNE +RETAIN'
  assert_line --regexp '^e2e +fl-ds/web-backup +1 +.* hourly 24, daily 7$'
  refute_line --regexp '^second +'
  assert_line --regexp '^e2e: +1 read, 0 failed; 1 snapshots, '
  assert_line 'second: no restic ReplicationSources'
  assert_line --regexp '^2 clusters: 1 read, 0 failed; 1 snapshots, .*\(namespace fl-ds\)$'

  # doctor: on the second, a source whose PVC does not exist (an error there only)
  jq -n --arg schedule "$SCHEDULE" '{apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: {name: "ghost-backup"},
    spec: {sourcePVC: "ghost-data", trigger: {schedule: $schedule}, restic: {repository: "volsync-r2-secret", copyMethod: "Direct"}}}' |
    k2 -n fl-ds apply -f - >/dev/null
  COLUMNS=200 run -1 fleet doctor NAMESPACE=fl-ds
  assert_line --regexp '^SEVERITY +CLUSTER +FINDING$'
  assert_line --regexp '^ERROR +second +source-pvc fl-ds/ghost-backup: '
  assert_line --regexp '^ok +e2e +source fl-ds/web-backup: PVC web-data, Secret volsync-r2-secret, last sync '
  refute_line --regexp '^ERROR +e2e '
  assert_line --regexp '^e2e: +0 errors, [0-9]+ warnings?, [0-9]+ ok: '
  assert_line --regexp '^second: [1-9][0-9]* errors?, [0-9]+ warnings?, [0-9]+ ok: a backup or restore would fail$'

  # the second control plane's API server goes away
  E2E_RUN_DIR=$SECOND_RUN_DIR "$SANDBOX_DIR/controlplane.sh" stop kube-apiserver >&2
  COLUMNS=200 run -1 fleet doctor NAMESPACE=fl-ds
  assert_line --regexp '^ok +e2e +source fl-ds/web-backup: '
  refute_line --regexp '^[A-Za-z]+ +second '
  assert_line --regexp '^e2e: +0 errors, '
  assert_line --regexp "^second: NOT READ: The connection to the server 127\.0\.0\.1:$SECOND_PORT_BASE was refused"
  assert_line --regexp '^2 clusters: 0 errors, [0-9]+ warnings?, [0-9]+ ok, 1 not read \(namespace fl-ds\)$'

  run -1 --separate-stderr fleet doctor NAMESPACE=fl-ds OUTPUT=json
  json_true '(.clusters | keys_unsorted) == ["e2e", "second"] and .clusters.e2e.read and .clusters.e2e.errors == 0
    and (.clusters.second | (.read | not) and (.error | test("refused")))' <<<"$output" >/dev/null

  COLUMNS=200 run -1 fleet stats NAMESPACE=fl-ds
  assert_line --regexp '^e2e +fl-ds/web-backup +1 '
  assert_line --regexp "^second: NOT READ: The connection to the server 127\.0\.0\.1:$SECOND_PORT_BASE was refused"
  assert_line --regexp '^2 clusters: 1 read, 0 failed; .*, 1 not read \(namespace fl-ds\)$'
  E2E_RUN_DIR=$SECOND_RUN_DIR "$SANDBOX_DIR/controlplane.sh" start kube-apiserver >&2
  k2 delete namespace fl-ds --wait=false >/dev/null
}
