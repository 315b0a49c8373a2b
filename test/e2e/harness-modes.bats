#!/usr/bin/env bats
# What the kubelet stand-in must do as a cluster does, or no pause or
# copyMethod scenario proves anything: a paused source runs no mover (VolSync
# sets its Job's parallelism to 0), and copyMethod Snapshot and Clone back up
# the PVC as it was when VolSync took its VolumeSnapshot or clone.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

exists() { kc -n "$1" get "$2" "$3" >/dev/null 2>&1; }
gone() { ! exists "$@"; }

# job_pods NS JOB: the pods of VolSync's mover Job, as JSON
job_pods() { kc -n "$1" get pods -l "job-name=$2" -o json | jq -c '.items'; }
mover_running() { [[ $(job_pods "$1" "$2" | jq '[.[] | select(.status.phase == "Running")] | length') -gt 0 ]]; }
snapshot_ready() { [[ $(field "$1" "$VS" "$2" .status.readyToUse) == true ]]; }
parallelism_is() { [[ $(field "$1" job "$2" .spec.parallelism) == "$3" ]]; }

# claim_provisioned NS CLAIM: the harness has made the claim's volume (its data is in place)
claim_provisioned() {
  kc get pv -o json | json_true --arg ns "$1" --arg claim "$2" \
    'any(.items[]; .spec.claimRef.namespace == $ns and .spec.claimRef.name == $claim)'
}

# new_snapshot_id: the id `task volsync:snapshot` reported, from its output
new_snapshot_id() { sed -n 's/^New restic snapshot: //p' <<<"$output"; }

# assert_backup_is EXPECTED_DIR ID: restic's snapshot ID restores to exactly EXPECTED_DIR
assert_backup_is() {
  local ns=$1 expected=$2 id=$3
  [[ -n $id ]] || fail "no restic snapshot id in the output"
  restore_into "$ns" "$id" "$BATS_TEST_TMPDIR/restored"
  same_tree "$expected" "$BATS_TEST_TMPDIR/restored" || fail "snapshot $id is not the PVC as VolSync copied it"
}

# assert_cleaned_up NS RS: VolSync removed its temporary VolumeSnapshot and
# PVC, and the harness their content and directories
assert_cleaned_up() {
  local ns=$1 temp=volsync-$2-src
  wait_until 60 "VolumeSnapshot $ns/$temp deleted" gone "$ns" "$VS" "$temp"
  wait_until 60 "PVC $ns/$temp deleted" gone "$ns" pvc "$temp"
  [[ $(kc get "$VSC" -o json | jq --arg ns "$ns" '[.items[] | select(.spec.volumeSnapshotRef.namespace == $ns)] | length') == 0 ]] ||
    fail "a VolumeSnapshotContent of $ns is left"
  wait_until 30 "the temporary PVC's directory removed" test ! -e "$(pvc_dir "$ns" "$temp")"
  [[ ! -e $(snapshot_dir "$ns" "$temp") ]] || fail "the VolumeSnapshot's copy is left: $(snapshot_dir "$ns" "$temp")"
}

assert_healthy() {
  run -0 vtask volsync:status CLUSTER=e2e NAMESPACE="$1"
  assert_line --regexp "^$1 +$2-backup +$SCHEDULE_RE +[0-9:]{5} [0-9]+s +in [0-9hms]+ +ok +scheduled$"
  assert_line "1 healthy, 0 need attention (namespace $1 of cluster e2e)"
}

@test "a source created paused gets its mover Job with parallelism 0 and no mover pod; unpaused, the sync completes" {
  local ns=hm-paused app=notes job=volsync-src-notes-backup dir
  create_namespace "$ns"
  create_secret "$ns" volsync-r2-secret "pw-$app-$E2E_RUN_ID" "$(repo_url "$ns" "$app")"
  create_pvc "$ns" "$app-data"
  dir=$(pvc_dir "$ns" "$app-data")
  seed_files "$dir"
  watch_into pods -n "$ns" pods
  # a new source syncs at once: its first sync is the trigger
  PAUSED=true create_source "$ns" "$app"
  wait_until 60 "VolSync's mover Job $ns/$job" exists "$ns" job "$job"
  parallelism_is "$ns" "$job" 0 || fail "the Job's parallelism is not 0: VolSync did not pause it"

  sleep 20
  [[ $(seen pods length) == 0 ]] || fail "a mover pod ran while the source was paused: $(seen pods 'map(.metadata.name)')"
  [[ $(field "$ns" job "$job" '.status.active // 0') == 0 ]] || fail "the paused Job reports active pods"
  [[ -z $(field "$ns" "$RS" "$app-backup" .status.lastSyncTime) ]] || fail "a sync finished while paused"

  kc -n "$ns" patch "$RS" "$app-backup" --type merge -p '{"spec":{"paused":false}}' >/dev/null
  wait_until 120 "the sync of $ns/$app-backup once unpaused" idle "$ns" "$app-backup"
  [[ $(seen pods length) -gt 0 ]] || fail "no mover pod was seen"
  local id
  id=$(snapshots_json "$ns" | jq -r 'max_by(.time) | .short_id')
  assert_backup_is "$ns" "$dir" "$id"
}

@test "pausing a source while its mover runs deletes the mover pod; unpausing starts a new one" {
  local ns=hm-pause-running app=wiki job=volsync-src-wiki-backup first second
  create_namespace "$ns"
  create_secret "$ns" volsync-r2-secret "pw-$app-$E2E_RUN_ID" "$(repo_url "$ns" "$app")"
  create_pvc "$ns" "$app-data"
  seed_files "$(pvc_dir "$ns" "$app-data")"
  # VolSync's debug mover sleeps until a file is removed: a mover that keeps running
  SOURCE_ANNOTATIONS='{"volsync.backube/enable-debug-mover": ""}' create_source "$ns" "$app"
  wait_until 60 "the mover of $ns/$app-backup running" mover_running "$ns" "$job"
  first=$(job_pods "$ns" "$job" | jq -r '.[0].metadata.name')

  kc -n "$ns" patch "$RS" "$app-backup" --type merge -p '{"spec":{"paused":true}}' >/dev/null
  wait_until 60 "the Job's parallelism 0" parallelism_is "$ns" "$job" 0
  wait_until 30 "the running mover pod $first deleted" gone "$ns" pod "$first"
  watch_into pods -n "$ns" pods
  sleep 10
  [[ $(seen pods length) == 0 ]] || fail "a mover pod ran while paused: $(seen pods 'map(.metadata.name)')"
  exists "$ns" job "$job" || fail "the Job was deleted: VolSync only pauses it"

  kc -n "$ns" patch "$RS" "$app-backup" --type merge -p '{"spec":{"paused":false}}' >/dev/null
  wait_until 60 "a mover running again once unpaused" mover_running "$ns" "$job"
  second=$(job_pods "$ns" "$job" | jq -r '.[] | select(.status.phase == "Running") | .metadata.name')
  [[ $second != "$first" ]] || fail "the deleted pod $first runs again"
}

@test "copyMethod Snapshot: snapshot backs up the PVC as the VolumeSnapshot took it; VolSync's temporary objects are gone; status is healthy" {
  local ns=hm-snap app=wiki dir temp=volsync-wiki-backup-src
  COPY_METHOD=Snapshot make_app "$ns" "$app"
  dir=$(pvc_dir "$ns" "$app-data")
  change_files "$dir" two
  cp -a "$dir" "$BATS_TEST_TMPDIR/expected"
  watch_into vs -n "$ns" "$VS"
  watch_into pvcs -n "$ns" pvc

  # Stage "written after the VolumeSnapshot, before the mover": with the
  # harness (the stand-in CSI) stopped, VolSync's VolumeSnapshot waits; with
  # VolSync stopped, the harness takes it and nothing runs on it yet.
  stop_component harness
  spawn_task volsync:snapshot APP=wiki CLUSTER=e2e
  wait_until 60 "VolSync's VolumeSnapshot $ns/$temp" exists "$ns" "$VS" "$temp"
  stop_component volsync
  start_component harness
  wait_until 60 "VolumeSnapshot $ns/$temp ready to use" snapshot_ready "$ns" "$temp"
  printf 'written after the VolumeSnapshot\n' >"$dir/after-snapshot.txt"
  start_component volsync

  wait_job 240
  ((status == 0)) || fail "snapshot failed: $output"
  assert_line --regexp '^Backup of hm-snap/wiki-backup finished: Successful, took [0-9]+s\.$'
  assert_backup_is "$ns" "$BATS_TEST_TMPDIR/expected" "$(new_snapshot_id)"
  [[ ! -e $BATS_TEST_TMPDIR/restored/after-snapshot.txt ]] || fail "the backup holds a file written after the VolumeSnapshot"

  seen vs "any(.[]; .metadata.name == \"$temp\" and .spec.source.persistentVolumeClaimName == \"wiki-data\"
      and .status.readyToUse == true and .status.restoreSize == \"1Gi\"
      and any(.metadata.ownerReferences[]; .kind == \"ReplicationSource\"))" | grep -qx true ||
    fail "no ready VolumeSnapshot of wiki-data owned by the source was seen: $(seen vs 'map(.status)')"
  seen pvcs "any(.[]; .metadata.name == \"$temp\" and .spec.dataSource.kind == \"VolumeSnapshot\"
      and .spec.dataSource.name == \"$temp\" and .status.phase == \"Bound\")" | grep -qx true ||
    fail "no temporary PVC restored from the VolumeSnapshot was seen"
  assert_cleaned_up "$ns" wiki-backup
  assert_healthy "$ns" wiki
}

@test "copyMethod Clone: snapshot backs up the PVC as the clone copied it; VolSync's temporary PVC is gone; status is healthy" {
  local ns=hm-clone app=blog dir temp=volsync-blog-backup-src
  COPY_METHOD=Clone make_app "$ns" "$app"
  dir=$(pvc_dir "$ns" "$app-data")
  change_files "$dir" two
  cp -a "$dir" "$BATS_TEST_TMPDIR/expected"
  watch_into pvcs -n "$ns" pvc

  # Stage "written after the clone, before the mover": with the PV binder
  # stopped, the harness makes the clone's volume (the copy) but the clone
  # stays Pending, and no pod that mounts it is scheduled.
  stop_component kube-controller-manager
  spawn_task volsync:snapshot APP=blog CLUSTER=e2e
  wait_until 60 "the clone's volume made by the harness" claim_provisioned "$ns" "$temp"
  [[ $(field "$ns" pvc "$temp" .status.phase) == Pending ]] || fail "the clone is Bound with the binder stopped"
  printf 'written after the clone\n' >"$dir/after-clone.txt"
  sleep 2
  [[ $(job_pods "$ns" volsync-src-blog-backup | jq '[.[] | select(.spec.nodeName)] | length') == 0 ]] ||
    fail "a mover pod was scheduled before its clone was Bound"
  start_component kube-controller-manager

  wait_job 240
  ((status == 0)) || fail "snapshot failed: $output"
  assert_line --regexp '^Backup of hm-clone/blog-backup finished: Successful, took [0-9]+s\.$'
  assert_backup_is "$ns" "$BATS_TEST_TMPDIR/expected" "$(new_snapshot_id)"
  [[ ! -e $BATS_TEST_TMPDIR/restored/after-clone.txt ]] || fail "the backup holds a file written after the clone"

  seen pvcs "any(.[]; .metadata.name == \"$temp\" and .spec.dataSource.kind == \"PersistentVolumeClaim\"
      and .spec.dataSource.name == \"blog-data\" and .status.phase == \"Bound\"
      and any(.metadata.ownerReferences[]; .kind == \"ReplicationSource\"))" | grep -qx true ||
    fail "no clone of blog-data owned by the source was seen"
  wait_until 60 "clone $ns/$temp deleted" gone "$ns" pvc "$temp"
  wait_until 30 "the clone's directory removed" test ! -e "$(pvc_dir "$ns" "$temp")"
  assert_healthy "$ns" blog
}
