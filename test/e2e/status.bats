#!/usr/bin/env bats
# task volsync:status against real ReplicationSources written by VolSync.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

mover_failed() { [[ $(field "$1" "$RS" "$2" .status.latestMoverStatus.result) == Failed ]]; }
manual_synced() { [[ $(field "$1" "$RS" "$2" .status.lastManualSync) == "$3" ]]; }

@test "status on a cluster without ReplicationSources says so and exits 0" {
  only_sources # none
  run -0 vtask volsync:status CLUSTER=e2e
  assert_output 'No ReplicationSources in cluster e2e.'
}

@test "status shows a healthy source with the snapshot restic really has, and exits 0" {
  only_sources
  make_app st-ok web
  local short next
  short=$(snapshots_json st-ok | jq -r 'max_by(.time) | .short_id')
  next=$(field st-ok "$RS" web-backup .status.nextSyncTime)
  [[ -n $short && -n $next ]]

  run -0 vtask volsync:status CLUSTER=e2e
  assert_line --regexp '^NAMESPACE +NAME +TRIGGER +LAST SYNC +NEXT +RESULT +STATE$'
  assert_line --regexp "^st-ok +web-backup +$SCHEDULE_RE +[0-9:]{5} [0-9]+s +in [0-9hms]+ +ok +scheduled\$"
  assert_line '1 healthy, 0 need attention (cluster e2e)'

  run -0 --separate-stderr vtask volsync:status CLUSTER=e2e NAMESPACE=st-ok OUTPUT=json
  json_true --arg short "$short" --arg next "$next" --arg schedule "$SCHEDULE" '.healthy == 1 and .needAttention == 0 and (.sources | length) == 1
    and (.sources[0] | .namespace == "st-ok" and .name == "web-backup" and .sourcePVC == "web-data"
         and .schedule == $schedule and .manual == null and .result == "Successful"
         and .latestSnapshot == $short and .nextSyncTime == $next and .state == "WaitingForSchedule"
         and .syncing == false and .attention == [])' <<<"$output"
}

@test "status flags a mover that fails on a wrong password and a manual trigger left set, with reasons, and exits 1" {
  only_sources
  make_app st-good good
  # the same repository with a wrong password: VolSync's first sync fails
  create_namespace st-broken
  create_secret st-broken volsync-r2-secret "not-the-password" "$(repo_url st-good good)"
  create_pvc st-broken broken-data
  seed_files "$(pvc_dir st-broken broken-data)"
  create_source st-broken broken
  # a healthy source whose manual trigger was left behind
  make_app st-left left
  kc -n st-left patch "$RS" left-backup --type merge -p '{"spec":{"trigger":{"manual":"left-behind"}}}' >/dev/null
  wait_until 120 "the manual sync of st-left/left-backup" manual_synced st-left left-backup left-behind
  wait_until 120 "the mover of st-broken/broken-backup failing" mover_failed st-broken broken-backup

  run -1 vtask volsync:status CLUSTER=e2e
  assert_line '! st-broken/broken-backup'
  assert_line --regexp '^    last mover run failed: .*(wrong password|incorrect password)'
  assert_line '! st-left/left-backup'
  assert_line "    manual trigger left set (\"left-behind\"): the schedule $SCHEDULE is ignored"
  assert_line '1 healthy, 2 need attention (cluster e2e)'
  refute_line '! st-good/good-backup'

  run -0 vtask volsync:status CLUSTER=e2e NAMESPACE=st-good
  assert_line '1 healthy, 0 need attention (namespace st-good of cluster e2e)'
}

@test "status flags a source whose last sync backed up nothing (an empty PVC), with the reason, and exits 1" {
  only_sources
  create_namespace st-empty
  create_secret st-empty volsync-r2-secret "pw-empty-$E2E_RUN_ID" "$(repo_url st-empty blank)"
  create_pvc st-empty blank-data
  create_source st-empty blank
  wait_until 120 "the first sync of st-empty/blank-backup" idle st-empty blank-backup
  [[ $(field st-empty "$RS" blank-backup .status.latestMoverStatus.result) == Successful ]]

  run -1 vtask volsync:status CLUSTER=e2e NAMESPACE=st-empty
  assert_line '! st-empty/blank-backup'
  assert_line '    last sync backed up nothing: the mover found PVC blank-data empty ("Directory is empty skipping backup") and made no snapshot'
  assert_line '0 healthy, 1 need attention (namespace st-empty of cluster e2e)'
}
