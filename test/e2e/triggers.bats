#!/usr/bin/env bats
# spec.trigger.manual is left as it was found (issue 8.6), and a guarded
# clean-up that the real API server refuses is recognised (issue 11.1).
#
# VolSync v0.16.0 (statemachine/machine.go): with neither schedule nor manual
# trigger a source syncs continuously; with a manual trigger it syncs when
# spec.trigger.manual differs from status.lastManualSync, and a sync's
# completion copies spec.trigger.manual as it is then into lastManualSync.
# kube-apiserver 1.35 refuses a JSON patch whose `test` op fails with HTTP 422
# "Invalid" and no detail at all.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

trigger_of() { kc -n "$1" get "$RS" "$2" -o json | jq -cS '.spec.trigger // {}'; }
status_of() { kc -n "$1" get "$RS" "$2" -o json | jq -c '.status | {lastSyncTime, lastSyncStartTime, lastManualSync}'; }
synced_after() { [[ -n $(field "$1" "$RS" "$2" .status.lastSyncTime) && $(field "$1" "$RS" "$2" .status.lastSyncTime) > "$3" ]]; }
manual_recorded() { [[ $(field "$1" "$RS" "$2" .status.lastManualSync) == "$3" ]] && idle "$1" "$2"; }
ours_running() {
  [[ $(field "$1" "$RS" "$2" .spec.trigger.manual) == volsync-ops-* && -n $(field "$1" "$RS" "$2" .status.lastSyncStartTime) ]]
}

# make_source_app NS APP SCHEDULE: like make_app without the Deployment, with that schedule ("" for none)
make_source_app() {
  local ns=$1 app=$2
  create_namespace "$ns"
  create_secret "$ns" volsync-r2-secret "pw-$app-$E2E_RUN_ID" "$(repo_url "$ns" "$app")"
  create_pvc "$ns" "$app-data"
  seed_files "$(pvc_dir "$ns" "$app-data")"
  create_source "$ns" "$app" "$3"
  wait_until 120 "first sync of $ns/$app-backup" field_set "$ns" "$app-backup" .status.lastSyncTime
}
field_set() { [[ -n $(field "$1" "$RS" "$2" "$3") ]]; }

@test "snapshot of a source with neither schedule nor manual trigger leaves it without one: VolSync syncs it continuously again" {
  RETAIN='{"last": "500"}' make_source_app tr-cont wiki ""
  run -0 vtask volsync:snapshot APP=wiki CLUSTER=e2e
  [[ $(trigger_of tr-cont wiki-backup) == '{}' ]] || fail "a manual trigger stays: $(trigger_of tr-cont wiki-backup)"
  assert_line --partial 'tr-cont/wiki-backup has neither a schedule nor a manual trigger: VolSync syncs it continuously.'
  local id after
  id=$(sed -n 's/^New restic snapshot: //p' <<<"$output")
  [[ -n $id ]] || fail "no snapshot reported"
  snapshots_json tr-cont | json_true --arg id "$id" 'map(.short_id) | index($id) != null' >/dev/null ||
    fail "snapshot $id is not in the repository"
  assert_line --partial 'clean-up: remove the manual trigger of tr-cont/wiki-backup (it syncs continuously again): removed'
  [[ $(trigger_of tr-cont wiki-backup) == '{}' ]] || fail "a manual trigger stays: $(trigger_of tr-cont wiki-backup)"
  # and VolSync goes on syncing, one sync after the other, as before the run
  after=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  wait_until 90 "a sync after the run" synced_after tr-cont wiki-backup "$after"
}

@test "snapshot of a parked source (a manual trigger set on purpose) puts the value back while its sync runs: no further sync starts" {
  RETAIN='{"last": "500"}' make_source_app tr-park crm "$SCHEDULE"
  wait_until 60 "the first sync finished" idle tr-park crm-backup
  kc -n tr-park patch "$RS" crm-backup --type merge -p '{"spec":{"trigger":{"manual":"hold"}}}' >/dev/null
  wait_until 90 "the source parked (lastManualSync = hold, idle)" manual_recorded tr-park crm-backup hold
  local id last

  run -0 vtask volsync:snapshot APP=crm CLUSTER=e2e
  [[ $(trigger_of tr-park crm-backup) == "{\"manual\":\"hold\",\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger: $(trigger_of tr-park crm-backup)"
  assert_line --partial 'tr-park/crm-backup has a manual trigger set ("hold"), so its schedule is ignored: this run puts it back while its own sync runs'
  assert_line --partial 'clean-up: put back spec.trigger.manual "hold" of tr-park/crm-backup: put back while our sync ran: its completion records "hold", so no further sync starts'
  id=$(sed -n 's/^New restic snapshot: //p' <<<"$output")
  [[ -n $id ]] || fail "no snapshot reported"
  snapshots_json tr-park | json_true --arg id "$id" 'map(.short_id) | index($id) != null' >/dev/null ||
    fail "snapshot $id is not in the repository"

  # as found: the value and its record, and no sync starts for it
  [[ $(trigger_of tr-park crm-backup) == "{\"manual\":\"hold\",\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger: $(trigger_of tr-park crm-backup)"
  wait_until 30 "the source idle with lastManualSync = hold" manual_recorded tr-park crm-backup hold
  last=$(status_of tr-park crm-backup)
  sleep 15
  [[ $(status_of tr-park crm-backup) == "$last" ]] || fail "a sync ran after the run: $last -> $(status_of tr-park crm-backup)"
}

# someone_else_sets_manual NS RS TASK ARGS...: runs the task with the mover
# held (harness stopped), sets spec.trigger.manual to "theirs" while it waits
someone_else_sets_manual() {
  local ns=$1 name=$2
  shift 2
  stop_component harness # the mover Job is created but never runs: the sync stays open
  spawn_task "$@"
  wait_until 60 "our trigger set and the sync started" ours_running "$ns" "$name"
  kc -n "$ns" patch "$RS" "$name" --type merge -p '{"spec":{"trigger":{"manual":"theirs"}}}' >/dev/null
  wait_job 120
}

@test "someone else sets spec.trigger.manual while snapshot waits: the API server refuses our guarded removal (422), which is recognised and left alone" {
  make_app tr-race erp
  someone_else_sets_manual tr-race erp-backup volsync:snapshot APP=erp CLUSTER=e2e
  assert_equal "$status" 1
  assert_line 'error: backup of tr-race/erp-backup: someone else changed spec.trigger.manual to "theirs" while waiting'
  assert_line 'clean-up: remove the manual trigger of tr-race/erp-backup (its schedule applies again): left alone: spec.trigger.manual now holds "theirs", set by someone else: left as it is'
  refute_output --partial 'The clean-up is incomplete'
  refute_output --partial 'FAILED'
  [[ $(trigger_of tr-race erp-backup) == "{\"manual\":\"theirs\",\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger: $(trigger_of tr-race erp-backup)"
}

@test "someone else sets spec.trigger.manual while unlock waits: recognised and left alone too" {
  make_app tr-race-ul erp
  someone_else_sets_manual tr-race-ul erp-backup volsync:unlock APP=erp CLUSTER=e2e
  assert_equal "$status" 1
  assert_line 'error: unlock of tr-race-ul/erp-backup: someone else changed spec.trigger.manual to "theirs" while waiting'
  assert_line 'clean-up: remove the manual trigger of tr-race-ul/erp-backup (its schedule applies again): left alone: spec.trigger.manual now holds "theirs", set by someone else: left as it is'
  refute_output --partial 'The clean-up is incomplete'
  [[ $(trigger_of tr-race-ul erp-backup) == "{\"manual\":\"theirs\",\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger: $(trigger_of tr-race-ul erp-backup)"
}
