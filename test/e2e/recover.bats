#!/usr/bin/env bats
# Recovering without overwriting (issue 9): browse a snapshot (files),
# download from it (download), restore it into a new PVC (restore TO_PVC),
# prove it restores (verify), preview a restore (restore DRY_RUN). One app
# with two snapshots of two states; its Deployment keeps running throughout.
# What the toolkit shows or writes is checked against restic itself, run here
# with the repository Secret's credentials, and against the PVC directories.

NS=rc-app
APP=wiki

setup_file() {
  load helpers/e2e
  RETAIN='{"last": "50"}'
  create_namespace "$NS"
  create_secret "$NS" volsync-r2-secret "pw-$NS-$E2E_RUN_ID" "$(repo_url "$NS" "$APP")"
  create_pvc "$NS" "$APP-data"
  local dir
  dir=$(pvc_dir "$NS" "$APP-data")
  seed_files "$dir"
  # what browsing gets wrong: a name with a newline, a non-UTF-8 name, a big binary file
  mkdir -p "$dir/odd"
  printf 'line\n' >"$dir/odd/new"$'\n'"line.txt"
  printf 'latin1\n' >"$dir/odd/caf"$'\xe9'".txt"
  { head -c 70000000 /dev/urandom; printf '\0\377\376\375 not utf-8 \300\300\n'; head -c 1000 /dev/zero; } >"$dir/media/big.bin"
  create_deployment "$NS" "$APP" "$APP-data" 1
  create_source "$NS" "$APP" "0 0 1 1 *"
  wait_until 180 "first sync" idle "$NS" "$APP-backup"
  cp -a "$dir" "$BATS_FILE_TMPDIR/state-A"
  change_files "$dir" B
  vtask volsync:snapshot APP="$APP" CLUSTER=e2e >/dev/null
  cp -a "$dir" "$BATS_FILE_TMPDIR/state-B"
  snapshots_json "$NS" | jq -c 'sort_by(.time)' >"$BATS_FILE_TMPDIR/snapshots.json"
  [[ $(jq length "$BATS_FILE_TMPDIR/snapshots.json") == 2 ]]
  wait_until 60 "the app running" deployment_ready "$NS" "$APP" 1
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

toolkit_pods() { kc -n "${1:-$NS}" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq -c '[.items[].metadata.name]'; }

no_toolkit_pods() {
  wait_until 30 "no toolkit pod left in ${1:-$NS}" test "$(toolkit_pods "${1:-}")" == '[]'
}

# ------------------------------------------------------------------ files

@test "files lists a nested directory of a snapshot as restic has it, paths from the PVC root, and leaves no pod" {
  local first
  first=$(snapshot 0 id)
  # what restic itself has in that directory
  local expected
  expected=$(repo_restic "$NS" ls --json --no-lock "$first" /docs/deep | jq -sc '[.[] | select(.struct_type == "node" and .path != "/docs/deep")
    | {name, path: (.path | ltrimstr("/")), type, size: (if .type == "file" then .size else 0 end)}] | sort_by(.name)')
  [[ $expected != '[]' ]] || fail "restic lists nothing in /docs/deep"

  run -0 --separate-stderr vtask volsync:files APP="$APP" CLUSTER=e2e SNAPSHOT="${first:0:8}" DIR=docs/deep OUTPUT=json
  json_true --arg id "$first" '.snapshot.id == $id and .dir == "/docs/deep" and .source == "rc-app/wiki-backup"' <<<"$output"
  local shown
  shown=$(jq -c '[.entries[] | {name, path, type, size}]' <<<"$output")
  [[ $shown == "$expected" ]] || fail $'files shows:\n'"$shown"$'\nrestic has:\n'"$expected"

  # deeper, in the table: the file of the first state (SNAPSHOT=1: one before the latest)
  run -0 vtask volsync:files APP="$APP" CLUSTER=e2e SNAPSHOT=1 DIR=/docs/deep/er/
  assert_line --regexp '^file +-rw-r--r-- +7B +[0-9-]+ [0-9:]+ +nested\.txt$'
  assert_line --partial "/docs/deep/er in snapshot ${first:0:8} of"
  # the latest state has no nested.txt any more (change_files deleted it)
  run -0 vtask volsync:files APP="$APP" CLUSTER=e2e DIR=/docs/deep/er
  assert_line '(empty directory)'
  # a name with a newline is shown escaped, on one line; a directory with a / after it
  run -0 vtask volsync:files APP="$APP" CLUSTER=e2e DIR=/odd
  assert_line --regexp ' new\\nline\.txt$'
  run -0 vtask volsync:files APP="$APP" CLUSTER=e2e
  assert_line --regexp '^dir +drwxr-xr-x +- +[0-9-]+ [0-9:]+ +media/$'
  no_toolkit_pods
}

@test "files refuses hostile DIR values before any pod runs, and says what is wrong with a file or a missing directory" {
  watch_into pods -n "$NS" pods -l app.kubernetes.io/managed-by=volsync-ops
  sleep 1
  local bad
  for bad in '../etc' '/docs/../../etc' $'docs\n/etc' 'media/*.bin' 'docs/[a]'; do
    run -2 vtask volsync:files APP="$APP" CLUSTER=e2e DIR="$bad"
    assert_output --partial 'DIR (--dir)'
  done
  [[ $(seen pods 'length') == 0 ]] || fail "a pod was created for a refused DIR"
  run -1 vtask volsync:files APP="$APP" CLUSTER=e2e DIR=/app.conf
  assert_output --partial '/app.conf in snapshot'
  assert_output --partial 'is a file, not a directory. Download it with FILE=/app.conf.'
  run -1 vtask volsync:files APP="$APP" CLUSTER=e2e DIR=/no/such/dir
  assert_output --partial 'there is no /no/such/dir in snapshot'
  no_toolkit_pods
}
