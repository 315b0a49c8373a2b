#!/usr/bin/env bats
# task volsync:snapshot and volsync:snapshot-all: a real backup into the S3
# bucket, checked with restic itself, and the source given back to its schedule.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

next_sync_set() { [[ -n $(field "$1" "$RS" "$2" .status.nextSyncTime) ]]; }

# assert_back_on_schedule NS RS TOKEN: our sync completed, the trigger is
# gone, the schedule is untouched and VolSync has planned the next sync again
assert_back_on_schedule() {
  local ns=$1 name=$2 token=$3 rs next
  wait_until 30 "nextSyncTime of $ns/$name set again" next_sync_set "$ns" "$name"
  rs=$(kc -n "$ns" get "$RS" "$name" -o json)
  json_true --arg token "$token" '.status.lastManualSync == $token' <<<"$rs" >/dev/null ||
    fail "lastManualSync is not our token $token: $(jq -c .status <<<"$rs")"
  json_true --arg schedule "$SCHEDULE" '.spec.trigger == {schedule: $schedule}' <<<"$rs" >/dev/null ||
    fail "the trigger is not the schedule alone: $(jq -c .spec.trigger <<<"$rs")"
  next=$(jq -r .status.nextSyncTime <<<"$rs")
  (($(date -d "$next" +%s) > $(date +%s))) || fail "nextSyncTime $next is not in the future"
}

@test "snapshot makes a new restic snapshot of the PVC in S3, reports its id and token, and puts the schedule back" {
  make_app sn-one odoo
  local dir before after token id new
  dir=$(pvc_dir sn-one odoo-data)
  change_files "$dir" two
  before=$(snapshots_json sn-one | jq -c 'map(.id)')

  run -0 vtask volsync:snapshot APP=odoo CLUSTER=e2e
  assert_line --regexp '^Backup of sn-one/odoo-backup finished: Successful, took [0-9]+s\.$'
  token=$(sed -n 's/^triggered sn-one\/odoo-backup: spec.trigger.manual = //p' <<<"$output")
  id=$(sed -n 's/^New restic snapshot: //p' <<<"$output")
  [[ $token == volsync-ops-snapshot-* && -n $id ]] || fail "no token or snapshot id in the output"
  assert_line --partial 'clean-up: remove the manual trigger of sn-one/odoo-backup (its schedule applies again): removed'

  # exactly one new snapshot, the one reported, holding the PVC's data as it is now
  after=$(snapshots_json sn-one)
  new=$(jq -c --argjson before "$before" 'map(select(.id as $i | $before | index($i) | not))' <<<"$after")
  json_true --arg id "$id" 'length == 1 and .[0].short_id == $id and .[0].hostname == "volsync" and .[0].paths == ["/data"]' \
    <<<"$new" >/dev/null || fail "restic's new snapshots are not just $id: $new"
  restore_into sn-one "$id" "$BATS_TEST_TMPDIR/restored"
  same_tree "$dir" "$BATS_TEST_TMPDIR/restored"
  assert_back_on_schedule sn-one odoo-backup "$token"
}

@test "snapshot with NAMESPACE and OUTPUT=json prints the result as JSON only" {
  make_app sn-json blog
  run -0 --separate-stderr vtask volsync:snapshot APP=blog CLUSTER=e2e NAMESPACE=sn-json OUTPUT=json
  local id
  id=$(snapshots_json sn-json | jq -r 'max_by(.time) | .short_id')
  json_true --arg id "$id" '.cluster == "e2e" and .namespace == "sn-json" and .name == "blog-backup" and .ok == true
    and .snapshot == $id' <<<"$output" || fail "unexpected JSON: $output"
  [[ $(snapshots_json sn-json | jq length) == 2 ]]
}

@test "snapshot-all backs up every source of the cluster with one command and removes every trigger" {
  only_sources
  make_app sa-one alpha
  make_app sa-two beta
  run -0 vtask volsync:snapshot-all CLUSTER=e2e
  assert_line --partial 'sa-one/alpha-backup'
  assert_line --partial 'sa-two/beta-backup'
  [[ $(snapshots_json sa-one | jq length) == 2 ]] || fail "sa-one has no second snapshot"
  [[ $(snapshots_json sa-two | jq length) == 2 ]] || fail "sa-two has no second snapshot"
  local ns app token
  for ns in sa-one:alpha sa-two:beta; do
    app=${ns#*:} ns=${ns%%:*}
    token=$(field "$ns" "$RS" "$app-backup" .status.lastManualSync)
    [[ $token == volsync-ops-snapshot-* ]] || fail "$ns/$app-backup: lastManualSync is $token"
    assert_back_on_schedule "$ns" "$app-backup" "$token"
  done
}
