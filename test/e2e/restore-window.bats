#!/usr/bin/env bats
# task volsync:restore and the backups around it (issue 8 points 2 and 3):
# - a schedule that fires during the restore of a copyMethod Snapshot source
#   takes no backup, and freezes no copy, of the PVC while it is restored;
#   the first backup afterwards holds the restored data;
# - the plain restore with copyMethod Snapshot and Clone sources;
# - a backup that finishes while the restore waits at its y/N prompt does not
#   change what is restored (the planned snapshot, pinned), and when its
#   restic forget dropped the planned snapshot, the restore refuses.
# Each app: Deployment <app> (1 replica), PVC <app>-data, ReplicationSource
# <app>-backup.

setup() {
  load helpers/e2e
}

teardown() {
  release_pods
  [[ -z ${POLLER_PID:-} ]] || kill "$POLLER_PID" 2>/dev/null || true
  [[ -z ${PROMPT_FD:-} ]] || exec {PROMPT_FD}>&-
  e2e_teardown
}

HOLD=e2e.volsync-ops/hold
EVERY_MINUTE='*/1 * * * *'
NEVER='0 0 1 1 *'

# hold_pods NS APP: the app's pods cannot finish terminating (a finalizer), so
# the restore waits for the PVC to be released until release_pods
hold_pods() {
  local pod
  for pod in $(kc -n "$1" get pods -l "app=$2" -o name); do
    kc -n "$1" patch "$pod" --type merge -p "{\"metadata\":{\"finalizers\":[\"$HOLD\"]}}" >/dev/null
    echo "$1 $pod" >>"$BATS_TEST_TMPDIR/held"
  done
}

release_pods() {
  [[ -f $BATS_TEST_TMPDIR/held ]] || return 0
  local ns pod
  while read -r ns pod; do
    kc -n "$ns" patch "$pod" --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1 || true
  done <"$BATS_TEST_TMPDIR/held"
  rm -f "$BATS_TEST_TMPDIR/held"
}

# new_app NS APP SCHEDULE: create_source's options apply (COPY_METHOD, RETAIN);
# returns once the first sync (at creation) has made the first snapshot
new_app() {
  local ns=$1 app=$2
  # the namespace of an earlier run on a control plane left up may still be terminating
  wait_until 120 "namespace $ns of an earlier run deleted" no_namespace "$ns"
  create_namespace "$ns"
  create_secret "$ns" volsync-r2-secret "pw-$app-$E2E_RUN_ID" "$(repo_url "$ns" "$app")"
  create_pvc "$ns" "$app-data"
  seed_files "$(pvc_dir "$ns" "$app-data")"
  create_deployment "$ns" "$app" "$app-data" 1
  create_source "$ns" "$app" "$3"
  wait_until 120 "first sync of $ns/$app-backup" idle "$ns" "$app-backup"
  wait_until 60 "Deployment $ns/$app ready" deployment_ready "$ns" "$app" 1
}

epoch() { date -u -d "$1" +%s; }
no_namespace() { ! kc get namespace "$1" >/dev/null 2>&1; }
last_sync() { field "$1" "$RS" "$2" .status.lastSyncTime; }
synced_since() { [[ $(last_sync "$1" "$2") != "$3" ]] && idle "$1" "$2"; }
sync_started() { [[ -n $(field "$1" "$RS" "$2" .status.lastSyncStartTime) ]]; }
paused() { [[ $(field "$1" "$RS" "$2" .spec.paused) == true ]]; }
paused_or_ended() { paused "$1" "$2" || ! kill -0 "$JOB_PID" 2>/dev/null; }
newest() { snapshots_json "$1" | jq -r 'max_by(.time) | .'"$2"; }

# poll_snapshots NS: every snapshot the repository holds, every 2 s, into
# $BATS_TEST_TMPDIR/polled.jsonl (a backup's restic forget may drop one later)
poll_snapshots() {
  (
    while :; do
      snapshots_json "$1" 2>/dev/null | jq -c '.[] | {id, time}' >>"$BATS_TEST_TMPDIR/polled.jsonl" || true
      sleep 2
    done
  ) 3>&- &
  POLLER_PID=$!
}

# snapshots_between NS FROM TO: the snapshots (seen by the poller or now) whose time is in [FROM, TO] (epochs)
snapshots_between() {
  local id time
  { cat "$BATS_TEST_TMPDIR/polled.jsonl" 2>/dev/null; snapshots_json "$1" | jq -c '.[] | {id, time}'; } |
    jq -r '"\(.id) \(.time)"' | sort -u | while read -r id time; do
    t=$(epoch "$time")
    ((t >= $2 && t <= $3)) && echo "$id $time"
  done
  return 0
}

# snapshot_after NS EPOCH: the id of the oldest snapshot taken after EPOCH ('' if none)
snapshot_after() {
  local id time
  snapshots_json "$1" | jq -r 'sort_by(.time)[] | "\(.id) \(.time)"' | while read -r id time; do
    (($(epoch "$time") > $2)) && { echo "$id"; break; }
  done
  return 0
}
has_snapshot_after() { [[ -n $(snapshot_after "$1" "$2") ]]; }

# assert_app_back NS APP: running again, source unpaused without the restore's copy trigger, nothing left
assert_app_back() {
  local ns=$1 app=$2
  [[ $(field "$ns" deployment "$app" .spec.replicas) == 1 ]] || fail "$app is not back at 1 replica"
  wait_until 60 "$app ready" deployment_ready "$ns" "$app" 1
  [[ $(field "$ns" "$RS" "$app-backup" .spec.paused) != true ]] || fail "the ReplicationSource is left paused"
  [[ -z $(field "$ns" "$RS" "$app-backup" '.metadata.annotations["volsync-ops/restore"]') ]] || fail "the restore's record is left"
  field "$ns" pvc "$app-data" '.metadata.annotations // {} | keys[]' | grep -q '^volsync.backube/' &&
    fail "VolSync's copy-trigger annotations are left on the PVC: $(field "$ns" pvc "$app-data" .metadata.annotations | jq -c .)"
  [[ $(kc -n "$ns" get "$RD" -o json | jq '.items | length') == 0 ]] || fail "a ReplicationDestination is left"
}

# spawn_prompted ARGS...: `task -x ARGS` in the background on a terminal (script), its
# answers written to fd $PROMPT_FD; output in $BATS_TEST_TMPDIR/job.out
spawn_prompted() {
  local fifo="$BATS_TEST_TMPDIR/answers"
  mkfifo "$fifo"
  exec {PROMPT_FD}<>"$fifo"
  setsid bash -c 'cd "$ROOT" && exec env -u KUBECONFIG script -qefc "$(printf "%q " task -x "$@")" /dev/null' task "$@" \
    <"$fifo" >"$BATS_TEST_TMPDIR/job.out" 2>&1 3>&- &
  JOB_PID=$!
}

@test "a schedule that fires during the restore of a copyMethod Snapshot source: no backup and no VolumeSnapshot of the PVC in the window; the next backup holds the restored data" {
  local ns=rw-window app=wiki last planned t0 t1 after dir
  # retention as this project's clusters have it (hourly 24, daily 7): restic forget keeps
  # the oldest and the newest snapshot of the hour, so the first backup after the
  # planned one drops it (an extra backup before the restore would drop it unrestored)
  COPY_METHOD=Snapshot new_app "$ns" "$app" "$EVERY_MINUTE"
  dir=$(pvc_dir "$ns" "$app-data")
  # start right after a scheduled sync: the next firing is almost a minute away
  last=$(last_sync "$ns" "$app-backup")
  wait_until 100 "a scheduled sync of $ns/$app-backup" synced_since "$ns" "$app-backup" "$last"
  # (a slow sync leaves too little of the minute for the listing and the pause: the next one)
  if (($(date -u +%-S) > 30)); then
    last=$(last_sync "$ns" "$app-backup")
    wait_until 100 "a scheduled sync of $ns/$app-backup" synced_since "$ns" "$app-backup" "$last"
  fi
  planned=$(newest "$ns" id)
  restore_into "$ns" "$planned" "$BATS_TEST_TMPDIR/expected"
  # the data breaks after that backup (what the restore is for)
  change_files "$dir" broken
  watch_into vs -n "$ns" "$VS"
  watch_into rd -n "$ns" "$RD"
  poll_snapshots "$ns"
  # the restore waits for the app's pod to go until the schedule has fired
  hold_pods "$ns" "$app"
  t0=$(date -u +%s)
  spawn_task volsync:restore APP="$app" CLUSTER=e2e YES=true
  wait_until 60 "the source paused by the restore" paused_or_ended "$ns" "$app-backup"
  kill -0 "$JOB_PID" 2>/dev/null || fail "the restore ended before the schedule fired: $(job_output)"
  wait_until 90 "the schedule firing during the restore" sync_started "$ns" "$app-backup" ||
    fail "$(job_output)"
  # what VolSync does with a sync it started: time to freeze a copy, were it allowed to
  sleep 10
  release_pods
  wait_job 300
  # the schedule stops here, once the restore has ended: the sync it started during the
  # window still runs, and no later backup's forget drops that one before it is checked
  kc -n "$ns" patch "$RS" "$app-backup" --type merge -p "{\"spec\":{\"trigger\":{\"schedule\":\"$NEVER\"}}}" >/dev/null
  ((status == 0)) || fail "restore failed: $output"
  assert_line --regexp "^Restored snapshot ${planned:0:8} of .* into $ns/$app-data, took [0-9]+s\.$"
  same_tree "$BATS_TEST_TMPDIR/expected" "$dir" || fail "the PVC differs from the planned snapshot"
  stop_watches
  # the window ends when the mover has written the PVC
  t1=$(seen rd '[.[] | .status.lastSyncTime // empty] | first // empty' | jq -r '. // empty')
  [[ -n $t1 ]] || fail "the ReplicationDestination never finished: $(seen rd 'map(.status)')"
  t1=$(epoch "$t1")
  echo "window: $(date -u -d "@$t0" +%T) .. $(date -u -d "@$t1" +%T)" >&3
  assert_app_back "$ns" "$app"

  # the first backup afterwards: VolSync runs the sync the schedule started, on the restored data
  wait_until 150 "a backup after the restore" has_snapshot_after "$ns" "$t1"
  after=$(snapshot_after "$ns" "$t1")
  restore_into "$ns" "$after" "$BATS_TEST_TMPDIR/after"
  same_tree "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/after" || fail "the backup after the restore ($after) is not the restored data"
  # no VolumeSnapshot of the PVC was taken while it was restored (VolSync's copy of it is volsync-<source>-src)
  local frozen
  frozen=$(seen vs "[.[] | select(.spec.source.persistentVolumeClaimName == \"$app-data\")
    | {name: .metadata.name, created: (.metadata.creationTimestamp | fromdateiso8601)}
    | select(.created >= $t0 and .created < $t1)] | unique" | jq -c .)
  [[ $frozen == '[]' ]] || fail "VolumeSnapshots of $app-data were taken during the restore: $frozen"

  # no restic snapshot from the window, by restic itself (and by the poller: a later forget may drop one)
  local inside
  inside=$(snapshots_between "$ns" "$t0" "$t1")
  [[ -z $inside ]] || fail "restic snapshots taken during the restore: $inside"
}

# restore_latest_with COPY_METHOD NS APP: the PVC equals the latest snapshot, the app runs again,
# and the next `task volsync:snapshot` (VolSync's VolumeSnapshot/clone) backs up the restored data
restore_latest_with() {
  local copy=$1 ns=$2 app=$3 dir latest id
  RETAIN='{"last": "50"}' COPY_METHOD=$copy new_app "$ns" "$app" "$NEVER"
  dir=$(pvc_dir "$ns" "$app-data")
  change_files "$dir" B
  run -0 vtask volsync:snapshot APP="$app" CLUSTER=e2e
  latest=$(newest "$ns" id)
  restore_into "$ns" "$latest" "$BATS_TEST_TMPDIR/expected"
  same_tree "$BATS_TEST_TMPDIR/expected" "$dir"
  change_files "$dir" D
  watch_into deployments -n "$ns" deployments
  watch_into rd -n "$ns" "$RD"
  watch_into pvc -n "$ns" pvc "$app-data"
  sleep 1
  run -0 vtask volsync:restore APP="$app" CLUSTER=e2e YES=true
  assert_line --regexp "^Restored snapshot ${latest:0:8} of .* into $ns/$app-data, took [0-9]+s\.$"
  same_tree "$BATS_TEST_TMPDIR/expected" "$dir" || fail "the PVC differs from the latest snapshot"
  stop_watches
  seen deployments "[.[] | select(.metadata.name == \"$app\") | .spec.replicas] | index(0) != null" | grep -qx true ||
    fail "$app was never scaled to 0 during the restore"
  seen rd '[.[] | .spec.restic] | first | .copyMethod == "Direct" and .previous == 0 and (.restoreAsOf | length > 0)' | grep -qx true ||
    fail "unexpected ReplicationDestination: $(seen rd '[.[] | .spec.restic] | first')"
  # VolSync's copies were held during the restore
  seen pvc 'any(.[]; .metadata.annotations["volsync.backube/use-copy-trigger"] != null)' | grep -qx true ||
    fail "the PVC never carried volsync.backube/use-copy-trigger"
  assert_app_back "$ns" "$app"
  # backups work again, and back up what was restored
  run -0 vtask volsync:snapshot APP="$app" CLUSTER=e2e TIMEOUT=3m
  id=$(sed -n 's/^New restic snapshot: //p' <<<"$output")
  [[ -n $id ]] || fail "no new snapshot: $output"
  restore_into "$ns" "$id" "$BATS_TEST_TMPDIR/after"
  same_tree "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/after" || fail "the backup after the restore is not the restored data"
}

@test "copyMethod Snapshot: restore of the latest snapshot makes the PVC equal to it and restarts the app; the next backup holds it" {
  restore_latest_with Snapshot rw-snap notes
}

@test "copyMethod Clone: restore of the latest snapshot makes the PVC equal to it and restarts the app; the next backup holds it" {
  restore_latest_with Clone rw-clone blog
}

# prompt_then_backup NS APP: starts the restore of the latest snapshot, and while it waits at
# its y/N prompt, changes the data and takes a backup (task volsync:snapshot); sets PLANNED
prompt_then_backup() {
  local ns=$1 app=$2 dir
  dir=$(pvc_dir "$ns" "$app-data")
  PLANNED=$(newest "$ns" id)
  restore_into "$ns" "$PLANNED" "$BATS_TEST_TMPDIR/expected"
  change_files "$dir" D
  watch_into rd -n "$ns" "$RD"
  spawn_prompted volsync:restore APP="$app" CLUSTER=e2e
  wait_until 90 "the restore's y/N prompt" job_says "[y/N]"
  job_says "from snapshot ${PLANNED:0:8}?" || fail "the prompt is not for the latest snapshot: $(job_output)"
  change_files "$dir" N
  cp -a "$dir" "$BATS_TEST_TMPDIR/state-N"
  run -0 vtask volsync:snapshot APP="$app" CLUSTER=e2e
  [[ $(newest "$ns" id) != "$PLANNED" ]] || fail "the backup made no new snapshot"
  echo y >&"$PROMPT_FD"
}

@test "a backup that finishes while the restore waits at its y/N prompt: the PVC gets the planned snapshot, not the new one" {
  local ns=rw-prompt app=crm
  RETAIN='{"last": "50"}' new_app "$ns" "$app" "$NEVER"
  prompt_then_backup "$ns" "$app"
  wait_job 300
  ((status == 0)) || fail "restore failed: $output"
  job_says 'a backup ran since the snapshots were listed: listing them again' || fail "the restore did not list again: $output"
  assert_line --regexp "^Restored snapshot ${PLANNED:0:8} of .* into $ns/$app-data, took [0-9]+s\."
  same_tree "$BATS_TEST_TMPDIR/expected" "$(pvc_dir "$ns" "$app-data")" || fail "the PVC is not the planned snapshot"
  stop_watches
  local planned_time
  planned_time=$(snapshots_json "$ns" | jq -r --arg id "$PLANNED" '.[] | select(.id == $id) | .time')
  seen rd '[.[] | .spec.restic] | first' | json_true --arg asof "$(date -u -d "$planned_time" +%Y-%m-%dT%H:%M:%SZ)" \
    '.previous == 0 and .restoreAsOf == $asof' || fail "unexpected ReplicationDestination: $(seen rd '[.[] | .spec.restic] | first')"
  assert_app_back "$ns" "$app"
}

@test "a backup at the y/N prompt whose restic forget drops the planned snapshot: the restore refuses and puts everything back" {
  local ns=rw-forget app=erp
  # daily 1: the new backup's forget keeps only it (restic keeps the oldest of a
  # policy's buckets too, as long as fewer buckets than asked for are filled: hourly 24 would keep it)
  RETAIN='{"daily": 1}' new_app "$ns" "$app" "$NEVER"
  prompt_then_backup "$ns" "$app"
  snapshots_json "$ns" >"$BATS_TEST_TMPDIR/after-forget.json"
  json_true --arg id "$PLANNED" 'all(.[]; .id != $id)' "$BATS_TEST_TMPDIR/after-forget.json" ||
    fail "the backup's forget kept the planned snapshot: $(cat "$BATS_TEST_TMPDIR/after-forget.json")"
  wait_job 300
  ((status == 1)) || fail "restore did not refuse (exit $status): $output"
  job_says "snapshot ${PLANNED:0:8} is no longer in the repository" || fail "no refusal naming the snapshot: $output"
  job_says 'Everything is put back; nothing was restored.' || fail "$output"
  same_tree "$BATS_TEST_TMPDIR/state-N" "$(pvc_dir "$ns" "$app-data")" || fail "the PVC changed"
  stop_watches
  [[ $(seen rd length) == 0 ]] || fail "a ReplicationDestination was created"
  assert_app_back "$ns" "$app"
}
