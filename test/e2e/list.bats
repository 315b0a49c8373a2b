#!/usr/bin/env bats
# task volsync:list: restic runs in a one-shot pod; what it shows is checked
# against `restic snapshots --json` run here, and the pod never outlives the run.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

# toolkit_pods NS: pods this toolkit created in the namespace
toolkit_pods() { kc -n "$1" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq -c '[.items[].metadata.name]'; }

@test "list shows every snapshot restic has, newest first, with the previous offsets the mover uses, and deletes its pod" {
  RETAIN='{"last": "50"}'
  make_app li-all shop
  local dir=$(pvc_dir li-all shop-data)
  change_files "$dir" two
  vtask volsync:snapshot APP=shop CLUSTER=e2e >/dev/null
  change_files "$dir" three
  vtask volsync:snapshot APP=shop CLUSTER=e2e >/dev/null
  # a snapshot the mover cannot select: taken elsewhere, of a path without /data
  mkdir -p "$BATS_TEST_TMPDIR/laptop/notes"
  printf 'not app data\n' >"$BATS_TEST_TMPDIR/laptop/notes/todo.txt"
  (cd "$BATS_TEST_TMPDIR/laptop/notes" && repo_restic li-all backup --host laptop . >/dev/null)

  # what the list must show, computed here from restic's own JSON: newest
  # first; `previous` counts only snapshots whose paths name /data
  local expected
  expected=$(snapshots_json li-all | jq -c 'sort_by(.time) | reverse
    | [foreach .[] as $s (-1; if ($s.paths | any(contains("/data"))) then . + 1 else . end;
        {id: $s.id, short_id: $s.short_id, time: $s.time, hostname: $s.hostname,
         previous: (if ($s.paths | any(contains("/data"))) then . else null end)})]')
  [[ $(jq length <<<"$expected") == 4 ]] || fail "restic does not have 4 snapshots: $expected"
  [[ $(jq -c 'map(.previous)' <<<"$expected") == '[null,0,1,2]' ]] || fail "setup: unexpected order $expected"

  run -0 --separate-stderr vtask volsync:list APP=shop CLUSTER=e2e OUTPUT=json
  local shown
  shown=$(jq -c '[.snapshots[] | {id, short_id, time, hostname, previous}]' <<<"$output")
  [[ $shown == "$expected" ]] || fail $'list shows:\n'"$shown"$'\nrestic has:\n'"$expected"
  json_true '.source == "li-all/shop-backup" and .cluster == "e2e"' <<<"$output" >/dev/null
  [[ $(toolkit_pods li-all) == '[]' ]] || fail "list pods left behind: $(toolkit_pods li-all)"

  # the table an operator reads: PREV and ID of each row, "-" for the laptop's
  run -0 vtask volsync:list APP=shop CLUSTER=e2e
  local row
  for row in $(jq -r '.[] | "\(.previous // "-"):\(.short_id)"' <<<"$expected"); do
    assert_line --regexp "^ *${row%%:*} +${row#*:} "
  done
  assert_line '4 snapshot(s) of li-all/shop-backup on cluster e2e; restore one with SNAPSHOT=<PREV or ID>.'
  [[ $(toolkit_pods li-all) == '[]' ]] || fail "list pods left behind: $(toolkit_pods li-all)"
}

@test "list with a wrong repository password fails with restic's own error and leaves no pod" {
  make_app li-bad wiki
  create_secret li-bad volsync-r2-secret "not-the-password" "$(repo_url li-bad wiki)"
  run -1 vtask volsync:list APP=wiki CLUSTER=e2e
  assert_line --partial 'restic could not list the repository of li-bad/wiki-backup (Secret li-bad/volsync-r2-secret)'
  assert_line --regexp 'wrong password'
  [[ $(toolkit_pods li-bad) == '[]' ]] || fail "list pods left behind: $(toolkit_pods li-bad)"
}
