#!/usr/bin/env bats
# task volsync:restore and everything else that could write to the PVC or
# start the app while the mover restores it (issue 8.4), and a mover that
# takes its time (issue 8.1): KEDA ScaledObjects paused and put back as found,
# a StatefulSet that would delete its PVCs refused before any change, a pod
# that starts mounting the PVC during the restore reported (and the app held),
# a slow mover that makes progress waited for, a stalled one stopped.
# Each app: Deployment <app> (2 replicas, managed by the Flux Kustomization
# "apps"), PVC <app>-data, ReplicationSource <app>-backup.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
  restore_fakes3
}

# scaled_object NS NAME TARGET [ANNOTATIONS-JSON]: a ScaledObject scaling Deployment TARGET
scaled_object() {
  jq -n --arg name "$2" --arg target "$3" --argjson annotations "${4:-"{}"}" '{apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject",
    metadata: ({name: $name} + if $annotations == {} then {} else {annotations: $annotations} end),
    spec: {scaleTargetRef: {name: $target}, minReplicaCount: 1, maxReplicaCount: 4,
           triggers: [{type: "cron", metadata: {timezone: "UTC", start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "3"}}]}}' |
    kc -n "$1" apply -f - >/dev/null
}

# annotations NS RESOURCE NAME: the object's annotations (JSON, {} when none)
annotations() { kc -n "$1" get "$2" "$3" -o json | jq -c '.metadata.annotations // {}'; }

rd_count() { kc -n "$1" get "$RD" -o json | jq '.items | length'; }
rd_exists() { [[ $(rd_count "$1") -gt 0 ]]; }
mover_pod_running() {
  [[ $(kc -n "$1" get pods -o json | jq '[.items[] | select((.metadata.labels["job-name"] // "" | startswith("volsync-dst-"))
    and .status.phase == "Running")] | length') -gt 0 ]]
}
movers_gone() {
  [[ $(kc -n "$1" get pods,jobs -o json | jq '[.items[] | select((.metadata.name | startswith("volsync-dst-"))
    or ((.metadata.labels["job-name"] // "") | startswith("volsync-dst-")))] | length') == 0 ]]
}

# assert_cleaned NS APP: back at 2 replicas, Flux resumed, the source unpaused, no RD, no record
assert_cleaned() {
  local ns=$1 app=$2
  [[ $(field "$ns" deployment "$app" .spec.replicas) == 2 ]] || fail "$app is at $(field "$ns" deployment "$app" .spec.replicas) replicas"
  [[ $(field "$ns" "$KS" apps .spec.suspend) != true ]] || fail "the Kustomization is left suspended"
  [[ $(field "$ns" "$RS" "$app-backup" .spec.paused) != true ]] || fail "the ReplicationSource is left paused"
  [[ $(rd_count "$ns") == 0 ]] || fail "a ReplicationDestination is left"
  [[ -z $(field "$ns" "$RS" "$app-backup" '.metadata.annotations["volsync-ops/restore"]') ]] || fail "the record is left"
}

# assert_held NS APP: the app stays stopped, Flux suspended, the source paused, no RD nor mover, record held
assert_held() {
  local ns=$1 app=$2
  [[ $(field "$ns" deployment "$app" .spec.replicas) == 0 ]] || fail "$app was started"
  [[ $(field "$ns" "$KS" apps .spec.suspend) == true ]] || fail "the Kustomization was resumed"
  [[ $(field "$ns" "$RS" "$app-backup" .spec.paused) == true ]] || fail "the ReplicationSource was unpaused"
  [[ $(rd_count "$ns") == 0 ]] || fail "a ReplicationDestination is left"
  movers_gone "$ns" || fail "a mover of the restore is left: $(kc -n "$ns" get pods,jobs -o name)"
  field "$ns" "$RS" "$app-backup" '.metadata.annotations["volsync-ops/restore"]' | jq -r .state | grep -qx held ||
    fail "the record does not say held: $(field "$ns" "$RS" "$app-backup" '.metadata.annotations["volsync-ops/restore"]')"
}

give_back() {
  run -0 vtask volsync:resume APP="$2" CLUSTER=e2e YES=true
  assert_line --partial "$2 is given back"
  assert_cleaned "$1" "$2"
}

# ------------------------------------------------------------ fakes3 throttled

# throttle_fakes3 BYTES_PER_SECOND: restarts S3 sending bodies no faster than that (FAKES3_READ_RATE)
throttle_fakes3() {
  "$SANDBOX_DIR/controlplane.sh" stop fakes3 >/dev/null 2>&1
  echo throttled >"$BATS_TEST_TMPDIR/fakes3"
  FAKES3_READ_RATE=$1 "$SANDBOX_DIR/controlplane.sh" start fakes3 >&2
}

# restore_fakes3: S3 at full speed again, running (after a throttle or a stop)
restore_fakes3() {
  [[ -f $BATS_TEST_TMPDIR/fakes3 ]] || return 0
  "$SANDBOX_DIR/controlplane.sh" stop fakes3 >/dev/null 2>&1 || true
  env -u FAKES3_READ_RATE "$SANDBOX_DIR/controlplane.sh" start fakes3 >&2 || true
  rm -f "$BATS_TEST_TMPDIR/fakes3"
}

# ------------------------------------------------------------ the scenarios

@test "KEDA ScaledObjects of the app are paused while the restore runs and put back as found (issue 8.4)" {
  install_keda_crd
  make_flux_app rw-keda notes
  scaled_object rw-keda notes-scaler notes
  scaled_object rw-keda notes-paused notes "{\"$KEDA_PAUSE\": \"true\"}"
  scaled_object rw-keda notes-unpaused notes "{\"$KEDA_PAUSE\": \"false\", \"team\": \"a\"}"
  scaled_object rw-keda other-scaler other
  local before=() so
  for so in notes-scaler notes-paused notes-unpaused other-scaler; do before+=("$(annotations rw-keda "$SO" "$so")"); done
  watch_into keda -n rw-keda "$SO"
  watch_into deployments -n rw-keda deployments notes
  sleep 1
  run -0 vtask volsync:restore APP=notes CLUSTER=e2e YES=true
  stop_watches
  assert_line --partial 'scaledobject rw-keda/notes-scaler (KEDA, scales deployment notes), unpaused afterwards'
  assert_line --partial 'scaledobject rw-keda/notes-paused (scales deployment notes): paused already: left paused'
  assert_line 'clean-up: unpause scaledobject rw-keda/notes-scaler (KEDA): done'
  refute_output --partial 'other-scaler'
  # paused while the app was at 0: in every state the watch saw with the Deployment at 0, the
  # app's ScaledObjects said paused (the pause came first, the unpause after the scale-back)
  local paused_at unpaused_at zero_at back_at
  for so in notes-scaler notes-unpaused; do
    seen keda "map(select(.metadata.name == \"$so\") | .metadata.annotations[\"$KEDA_PAUSE\"]) | index(\"true\") != null" | grep -qx true ||
      fail "$so was never paused"
  done
  paused_at=$(seen keda "[.[] | select(.metadata.name == \"notes-scaler\" and .metadata.annotations[\"$KEDA_PAUSE\"] == \"true\") | .metadata.resourceVersion | tonumber] | min")
  zero_at=$(seen deployments '[.[] | select(.spec.replicas == 0) | .metadata.resourceVersion | tonumber] | min')
  back_at=$(seen deployments '[.[] | select(.spec.replicas == 2) | .metadata.resourceVersion | tonumber] | max')
  unpaused_at=$(seen keda "[.[] | select(.metadata.name == \"notes-scaler\" and .metadata.annotations[\"$KEDA_PAUSE\"] == null) | .metadata.resourceVersion | tonumber] | max")
  ((paused_at < zero_at)) || fail "paused (rv $paused_at) after the scale-down (rv $zero_at)"
  ((unpaused_at > back_at)) || fail "unpaused (rv $unpaused_at) before the scale-back (rv $back_at)"
  # put back exactly as found: absent, "true" (left), "false" (with another annotation), untouched
  local i=0
  for so in notes-scaler notes-paused notes-unpaused other-scaler; do
    [[ $(annotations rw-keda "$SO" "$so") == "${before[i]}" ]] ||
      fail "$so: annotations $(annotations rw-keda "$SO" "$so"), found ${before[i]}"
    i=$((i + 1))
  done
  assert_cleaned rw-keda notes
}

@test "a StatefulSet with whenScaled: Delete on the PVC: refused before any change (issue 8.4)" {
  make_flux_app rw-sts notes
  create_statefulset rw-sts db notes-data 1 kustomize.toolkit.fluxcd.io/name=apps kustomize.toolkit.fluxcd.io/namespace=rw-sts
  kc -n rw-sts patch statefulset db --type merge -p '{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete","whenDeleted":"Retain"}}}' >/dev/null
  wait_until 60 "StatefulSet db ready" statefulset_ready rw-sts db 1
  local rs_before pvc_uid
  rs_before=$(kc -n rw-sts get "$RS" notes-backup -o json | jq -c '{spec, annotations: (.metadata.annotations // {})}')
  pvc_uid=$(field rw-sts pvc notes-data .metadata.uid)
  watch_into deployments -n rw-sts deployments,statefulsets
  watch_into flux -n rw-sts "$KS" apps
  watch_into rs -n rw-sts "$RS" notes-backup
  watch_into rd -n rw-sts "$RD"
  sleep 1
  run -1 vtask volsync:restore APP=notes CLUSTER=e2e YES=true
  sleep 1
  stop_watches
  assert_output --partial 'statefulset db has persistentVolumeClaimRetentionPolicy.whenScaled: Delete'
  assert_output --partial 'Nothing was changed.'
  assert_output --partial 'Set whenScaled to Retain'
  # nothing changed, at any moment: replicas, Flux, the source (pause, record), no RD
  seen deployments 'map(.spec.replicas) | index(0) == null' | grep -qx true || fail "a workload was scaled down"
  seen flux 'map(.spec.suspend == true) | any' | grep -qx false || fail "the Kustomization was suspended"
  seen rs 'map(.spec.paused == true or (.metadata.annotations // {} | has("volsync-ops/restore"))) | any' | grep -qx false ||
    fail "the ReplicationSource was paused or marked"
  [[ $(seen rd length) == 0 ]] || fail "a ReplicationDestination was created"
  [[ $(kc -n rw-sts get "$RS" notes-backup -o json | jq -c '{spec, annotations: (.metadata.annotations // {})}') == "$rs_before" ]] ||
    fail "the ReplicationSource changed"
  [[ $(field rw-sts pvc notes-data .metadata.uid) == "$pvc_uid" ]] || fail "the PVC was replaced"
  [[ $(field rw-sts statefulset db .spec.replicas) == 1 && $(field rw-sts deployment notes .spec.replicas) == 2 ]]
}

@test "a pod that starts mounting the PVC while the mover restores it is reported, and the app is held (issue 8.4)" {
  make_flux_app rw-pod notes
  change_files "$(pvc_dir rw-pod notes-data)" later
  stop_component volsync # the mover waits until the pod is there
  spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
  wait_until 90 "the ReplicationDestination" rd_exists rw-pod
  sleep 1
  # someone starts a pod on the PVC (a person, another controller)
  jq -n '{apiVersion: "v1", kind: "Pod", metadata: {name: "debug-shell"},
    spec: {restartPolicy: "Never", containers: [{name: "sh", image: "busybox:1.36", command: ["sleep", "3600"],
      volumeMounts: [{name: "data", mountPath: "/data"}]}],
      volumes: [{name: "data", persistentVolumeClaim: {claimName: "notes-data"}}]}}' | kc -n rw-pod apply -f - >/dev/null
  wait_until 30 "the report" job_says 'pod debug-shell (no controller) started using notes-data while the mover restores it'
  start_component volsync
  wait_job 180
  assert_equal "$status" 1
  assert_line --partial 'pod debug-shell (no controller) started using notes-data while the mover restores it: it may change the restored data.'
  assert_line --partial 'Other pods mounted notes-data while the mover restored it (pod debug-shell (no controller)): its data may differ from the snapshot.'
  assert_line --partial 'The app is HELD'
  assert_line --partial "task volsync:resume APP=notes NAMESPACE=rw-pod CLUSTER=e2e"
  assert_held rw-pod notes
  field rw-pod "$RS" notes-backup '.metadata.annotations["volsync-ops/restore"]' | jq -r .reason |
    grep -qF 'other pods mounted notes-data during the restore: pod debug-shell (no controller)' || fail "the record's reason"
  kc -n rw-pod delete pod debug-shell --wait=true >/dev/null
  give_back rw-pod notes
}

# big_backup NS APP N: N backups, each adding 500 kB of new (incompressible) data to the PVC: the
# last snapshot's data is in N packs, and restic's restore shows progress as each pack arrives
big_backup() {
  local dir b i
  dir=$(pvc_dir "$1" "$2-data")
  mkdir -p "$dir/bulk"
  for b in $(seq 1 "$3"); do
    for i in 1 2 3 4 5; do head -c 100000 /dev/urandom >"$dir/bulk/part-$b-$i.bin"; done
    run -0 vtask volsync:snapshot APP="$2" CLUSTER=e2e
  done
  rm -rf "$dir/bulk" # the restore must bring it back
}

@test "a slow mover that makes progress is not cut off: the restore outlasts the stall window and completes (issue 8.1)" {
  make_flux_app rw-slow notes
  big_backup rw-slow notes 8
  # S3 answers one GET at a time at 80 kB/s: a pack every 6 s, about 50 s for the 4 MB, 2.5 stall windows;
  # restic's status line (every 10 s) shows each pack as it lands
  throttle_fakes3 80000
  VOLSYNC_OPS_STALL_AFTER=20s spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
  wait_until 120 "the mover pod running" mover_pod_running rw-slow
  local started=$SECONDS
  wait_job 400
  local took=$((SECONDS - started))
  assert_equal "$status" 0
  ((took >= 45)) || fail "the mover took only ${took}s: not longer than the stall window, nothing proven"
  assert_line --regexp '^Restored snapshot [0-9a-f]{8} of .* into rw-slow/notes-data, took '
  refute_output --partial 'made no progress'
  [[ $(find "$(pvc_dir rw-slow notes-data)/bulk" -type f | wc -l) == 40 ]] || fail "the restore did not bring the data back"
  assert_cleaned rw-slow notes
}

@test "a stalled mover (S3 gone) ends the wait after the stall window; the app is held (issue 8.1)" {
  make_flux_app rw-stall notes
  big_backup rw-stall notes 3
  throttle_fakes3 80000
  VOLSYNC_OPS_STALL_AFTER=20s spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
  wait_until 120 "the mover pod running" mover_pod_running rw-stall
  sleep 10
  # S3 goes away mid-restore: restic cannot read anything more, and retries
  "$SANDBOX_DIR/controlplane.sh" stop fakes3 >/dev/null 2>&1
  local stopped=$SECONDS
  wait_job 400
  local took=$((SECONDS - stopped))
  assert_equal "$status" 1
  assert_line --regexp '^error: the restore mover made no progress for 20s \(its pods: volsync-dst-notes-restore-[0-9]{14}-[a-z0-9]{5} \(Running, '
  assert_output --partial 'A stalled mover ends the wait; TIMEOUT=<duration> sets an upper bound of your own.'
  assert_line --partial 'may be PARTIALLY restored'
  assert_line --partial "task volsync:resume APP=notes NAMESPACE=rw-stall CLUSTER=e2e"
  # restic retries for 15 minutes, a new warning each time: that is not progress
  ((took < 60)) || fail "the wait ended ${took}s after S3 stopped, with a stall window of 20s"
  echo "# the wait ended ${took}s after S3 stopped: $(grep -m1 '^error: the restore mover made no progress' <<<"$output")" >&3
  restore_fakes3
  wait_until 60 "no mover" movers_gone rw-stall
  assert_held rw-stall notes
  give_back rw-stall notes
}
