#!/usr/bin/env bats
# task volsync:restore, the four ways to choose a snapshot, against one app
# with three snapshots of three different states of its data. After each
# restore the PVC directory must equal the chosen snapshot byte for byte (as
# restic itself restores it here), the app's workloads run again at their
# replica counts, Flux and the ReplicationSource are resumed, and nothing of
# the restore is left. What happened in between (scale to 0, suspension,
# pause, the ReplicationDestination's spec) is read from watches.
#
# Flux: a minimal Kustomization CRD of our own (nothing reconciles it); the
# workloads carry Flux's kustomize labels pointing at a Kustomization.

NS=rs-ways
APP=odoo

setup_file() {
  load helpers/e2e
  install_flux_crd
  RETAIN='{"last": "50"}'
  create_namespace "$NS"
  create_secret "$NS" volsync-r2-secret "pw-$NS-$E2E_RUN_ID" "$(repo_url "$NS" "$APP")"
  create_pvc "$NS" "$APP-data"
  local dir flux=(kustomize.toolkit.fluxcd.io/name=apps kustomize.toolkit.fluxcd.io/namespace="$NS")
  dir=$(pvc_dir "$NS" "$APP-data")
  seed_files "$dir"
  create_kustomization "$NS" apps
  create_deployment "$NS" "$APP" "$APP-data" 2 "${flux[@]}"
  create_deployment "$NS" "$APP-worker" "$APP-data" 1 "${flux[@]}"
  create_statefulset "$NS" "$APP-db" "$APP-data" 1 "${flux[@]}"
  # a schedule that does not fire during the tests (Jan 1st): only our snapshots
  create_source "$NS" "$APP" "0 0 1 1 *"
  wait_until 120 "first sync" idle "$NS" "$APP-backup"
  cp -a "$dir" "$BATS_FILE_TMPDIR/state-A"
  change_files "$dir" B
  vtask volsync:snapshot APP="$APP" CLUSTER=e2e >/dev/null
  cp -a "$dir" "$BATS_FILE_TMPDIR/state-B"
  change_files "$dir" C
  vtask volsync:snapshot APP="$APP" CLUSTER=e2e >/dev/null
  cp -a "$dir" "$BATS_FILE_TMPDIR/state-C"
  # S0 (state A) .. S2 (state C), oldest first
  snapshots_json "$NS" | jq -c 'sort_by(.time)' >"$BATS_FILE_TMPDIR/snapshots.json"
  [[ $(jq length "$BATS_FILE_TMPDIR/snapshots.json") == 3 ]]
  wait_until 60 "the app running" deployment_ready "$NS" "$APP" 2
}

teardown_file() {
  load helpers/e2e
  e2e_teardown
}

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

snapshot() { jq -r ".[$1].$2" "$BATS_FILE_TMPDIR/snapshots.json"; }

# the data changes after the last backup, as if the app wrote (or broke) it
mutate() { change_files "$(pvc_dir "$NS" "$APP-data")" "$1"; }

watch_restore() {
  watch_into deployments -n "$NS" deployments
  watch_into statefulsets -n "$NS" statefulsets
  watch_into flux -n "$NS" "$KS" apps
  watch_into source -n "$NS" "$RS" "$APP-backup"
  watch_into rd -n "$NS" "$RD"
  sleep 1 # each watch has printed the current state
}

# assert_restored SNAPSHOT_INDEX STATE: the PVC equals that snapshot (restic's
# own restore of it here) and the data it was taken of; everything resumed
assert_restored() {
  local index=$1 state=$2 id dir
  id=$(snapshot "$index" id)
  dir=$(pvc_dir "$NS" "$APP-data")
  restore_into "$NS" "$id" "$BATS_TEST_TMPDIR/expected"
  same_tree "$BATS_TEST_TMPDIR/expected" "$dir" || fail "the PVC differs from snapshot $id"
  same_tree "$BATS_FILE_TMPDIR/state-$state" "$dir" || fail "the PVC differs from state $state"
  assert_line --regexp "^Restored snapshot $(snapshot "$index" short_id) of .* into $NS/$APP-data, took [0-9]+s\.$"
  assert_resumed
}

# assert_resumed: workloads back at their counts (and were at 0 during the
# run), Flux and the source resumed (and were suspended/paused), no RD left
assert_resumed() {
  stop_watches
  [[ $(field "$NS" deployment "$APP" .spec.replicas) == 2 ]] || fail "$APP is not back at 2 replicas"
  [[ $(field "$NS" deployment "$APP-worker" .spec.replicas) == 1 ]] || fail "$APP-worker is not back at 1 replica"
  [[ $(field "$NS" statefulset "$APP-db" .spec.replicas) == 1 ]] || fail "$APP-db is not back at 1 replica"
  wait_until 60 "$APP ready" deployment_ready "$NS" "$APP" 2
  wait_until 60 "$APP-worker ready" deployment_ready "$NS" "$APP-worker" 1
  wait_until 60 "$APP-db ready" statefulset_ready "$NS" "$APP-db" 1
  seen deployments "[.[] | select(.metadata.name == \"$APP\") | .spec.replicas] | index(0) != null" | grep -qx true ||
    fail "$APP was never scaled to 0 during the restore"
  seen statefulsets '[.[] | .spec.replicas] | index(0) != null' | grep -qx true || fail "$APP-db was never scaled to 0"
  [[ $(field "$NS" "$KS" apps '.spec | has("suspend")') == false ]] || fail "Kustomization apps: $(field "$NS" "$KS" apps .spec)"
  seen flux 'map(.spec.suspend == true) | any' | grep -qx true || fail "the Kustomization was never suspended"
  [[ $(field "$NS" "$RS" "$APP-backup" '.spec | has("paused")') == false ]] || fail "the ReplicationSource is left paused"
  seen source 'map(.spec.paused == true) | any' | grep -qx true || fail "the ReplicationSource was never paused"
  [[ $(kc -n "$NS" get "$RD" -o json | jq '.items | length') == 0 ]] || fail "a ReplicationDestination is left"
  [[ $(kc -n "$NS" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq '.items | length') == 0 ]] ||
    fail "a toolkit pod is left"
}

# the ReplicationDestination the run created, as the API server stored it
rd_spec() { seen rd '[.[] | .spec.restic] | first'; }

@test "DRY_RUN=true shows the plan, has the API server validate the ReplicationDestination, and changes nothing" {
  local before
  before=$(kc -n "$NS" get deployments,statefulsets -o json | jq -c '[.items[] | {name: .metadata.name, replicas: .spec.replicas}]')
  watch_into rd -n "$NS" "$RD"
  run -0 vtask volsync:restore APP="$APP" CLUSTER=e2e DRY_RUN=true
  assert_line 'Dry run: the restore would do this (nothing has changed yet):'
  assert_line 'The API server accepted it (kubectl create --dry-run=server). Dry run: nothing was changed.'
  stop_watches
  [[ $(seen rd length) == 0 ]] || fail "a ReplicationDestination was created"
  [[ $(kc -n "$NS" get deployments,statefulsets -o json | jq -c '[.items[] | {name: .metadata.name, replicas: .spec.replicas}]') == "$before" ]]
}

@test "restore of the latest snapshot makes the PVC equal to it, files deleted since included, and restarts the app" {
  mutate D1
  watch_restore
  run -0 vtask volsync:restore APP="$APP" CLUSTER=e2e YES=true
  assert_restored 2 C
  # pinned at the planned snapshot's second (issue 8.2), not "the latest when the mover runs"
  rd_spec | json_true --arg asof "$(date -u -d "$(snapshot 2 time)" +%Y-%m-%dT%H:%M:%SZ)" \
    '.previous == 0 and .restoreAsOf == $asof and .copyMethod == "Direct" and .enableFileDeletion == true' ||
    fail "unexpected ReplicationDestination: $(rd_spec)"
}

@test "restore SNAPSHOT=1 restores the snapshot list shows at PREV 1" {
  run -0 --separate-stderr vtask volsync:list APP="$APP" CLUSTER=e2e OUTPUT=json
  [[ $(jq -r '.snapshots[] | select(.previous == 1) | .id' <<<"$output") == "$(snapshot 1 id)" ]] ||
    fail "list does not show S1 at PREV 1: $output"
  mutate D2
  watch_restore
  run -0 vtask volsync:restore APP="$APP" CLUSTER=e2e SNAPSHOT=1 YES=true
  assert_restored 1 B
  # pinned at that snapshot's second, not the offset (a backup meanwhile would shift it; issue 8.2)
  rd_spec | json_true --arg asof "$(date -u -d "$(snapshot 1 time)" +%Y-%m-%dT%H:%M:%SZ)" '.previous == 0 and .restoreAsOf == $asof' ||
    fail "unexpected ReplicationDestination: $(rd_spec)"
}

@test "restore by restic snapshot id restores exactly that snapshot (through its time)" {
  mutate D3
  watch_restore
  run -0 vtask volsync:restore APP="$APP" CLUSTER=e2e SNAPSHOT="$(snapshot 0 short_id)" YES=true
  assert_restored 0 A
  local asof
  asof=$(date -u -d "$(snapshot 0 time)" +%Y-%m-%dT%H:%M:%SZ)
  rd_spec | json_true --arg asof "$asof" '.previous == 0 and .restoreAsOf == $asof' || fail "unexpected ReplicationDestination: $(rd_spec)"
}

@test "restore by time restores the newest snapshot at or before it" {
  local t
  # one second after S1, before S2
  t=$(date -u -d "@$(($(date -d "$(snapshot 1 time)" +%s) + 1))" +%Y-%m-%dT%H:%M:%SZ)
  (($(date -d "$t" +%s) < $(date -d "$(snapshot 2 time)" +%s))) || skip "S1 and S2 share a second"
  mutate D4
  watch_restore
  run -0 vtask volsync:restore APP="$APP" CLUSTER=e2e SNAPSHOT="$t" YES=true
  assert_restored 1 B
  # pinned at S1's own second, not the time asked for (issue 8.2)
  rd_spec | json_true --arg asof "$(date -u -d "$(snapshot 1 time)" +%Y-%m-%dT%H:%M:%SZ)" '.previous == 0 and .restoreAsOf == $asof' ||
    fail "unexpected ReplicationDestination: $(rd_spec)"
}

@test "restore with OUTPUT=json reports, as JSON alone on stdout, the snapshot the mover really restored" {
  mutate D5
  watch_restore
  run -0 --separate-stderr vtask volsync:restore APP="$APP" CLUSTER=e2e YES=true OUTPUT=json
  json_true --arg id "$(snapshot 2 id)" --arg short "$(snapshot 2 short_id)" \
    '.ok and .restored and .restoredSnapshot == $short and .snapshot.id == $id and .previous == 0 and .dryRun == false' <<<"$output" ||
    fail "unexpected report: $output"
  json_true '.durationSeconds >= 0 and ([.workloads[].name] | sort) == ["odoo", "odoo-db", "odoo-worker"]' <<<"$output" ||
    fail "unexpected report: $output"
  same_tree "$BATS_FILE_TMPDIR/state-C" "$(pvc_dir "$NS" "$APP-data")" || fail "the PVC differs from state C"
  assert_resumed
}

@test "an unknown snapshot id is refused with the nearest snapshots, and nothing changes" {
  local before
  before=$(find "$(pvc_dir "$NS" "$APP-data")" -printf '%P %s %T@\n' | sort)
  watch_into rd -n "$NS" "$RD"
  watch_into deployments -n "$NS" deployments
  sleep 1
  run -1 vtask volsync:restore APP="$APP" CLUSTER=e2e SNAPSHOT=deadbeef YES=true
  assert_line --partial 'no snapshot with id deadbeef in the repository. Nothing was changed.'
  assert_line --partial "$(snapshot 2 short_id)"
  stop_watches
  [[ $(seen rd length) == 0 ]] || fail "a ReplicationDestination was created"
  seen deployments 'map(.spec.replicas) | index(0) == null' | grep -qx true || fail "a workload was scaled down"
  [[ $(find "$(pvc_dir "$NS" "$APP-data")" -printf '%P %s %T@\n' | sort) == "$before" ]] || fail "the PVC changed"
}
