#!/usr/bin/env bats
# Knowing a repository (issue 10): stats (sizes, counts, dedup ratio) checked
# against restic run directly on the same repository with the Secret's
# credentials; check passes on a good repository and fails with restic's own
# words once a data pack is damaged, and says "busy" (never unlocking) while a
# real restic backup holds the repository's lock.

setup_file() {
  load helpers/e2e
  RETAIN='{"last": "50"}' make_app st-app notes
  change_files "$(pvc_dir st-app notes-data)" B
  vtask volsync:snapshot APP=notes CLUSTER=e2e >/dev/null
}

teardown_file() {
  load helpers/e2e
  e2e_teardown
}

setup() {
  load helpers/e2e
}

teardown() {
  # the lock-holding backup of the busy test, if that test stopped before it ended it
  if [[ -f $BATS_TEST_TMPDIR/holder.pid ]]; then
    # its input ends (a writer that opens and closes the pipe, should it not be open yet): it finishes
    exec 7>&- 2>/dev/null || true
    timeout 5 bash -c ': >"$1"' _ "$BATS_TEST_TMPDIR/stdin" || true
    wait "$(cat "$BATS_TEST_TMPDIR/holder.pid")" 2>/dev/null || true
  fi
  e2e_teardown
}

toolkit_pods() { kc -n "$1" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq -c '[.items[].metadata.name]'; }
# polled by wait_until: evaluated on every try
no_toolkit_pod() { [[ $(toolkit_pods "$1") == '[]' ]]; }
has_lock() { [[ -n $(repo_restic "$1" list locks --no-lock) ]]; }

@test "stats shows the numbers restic itself gives for the repository, one app and every source of the namespace, and leaves no pod" {
  local snaps latest all raw
  snaps=$(snapshots_json st-app)
  latest=$(repo_restic st-app stats --mode restore-size --json --no-lock latest)
  all=$(repo_restic st-app stats --mode restore-size --json --no-lock)
  raw=$(repo_restic st-app stats --mode raw-data --json --no-lock)
  [[ $(jq length <<<"$snaps") == 2 ]] || fail "setup: expected 2 snapshots, restic has: $snaps"

  run -0 --separate-stderr vtask volsync:stats APP=notes CLUSTER=e2e OUTPUT=json
  json_true --argjson snaps "$snaps" --argjson latest "$latest" --argjson all "$all" --argjson raw "$raw" '.sources | length == 1 and (.[0] |
    .source == "notes-backup" and .namespace == "st-app" and .ok and
    .snapshots == ($snaps | length) and .oldest == ($snaps | min_by(.time).time) and .newest == ($snaps | max_by(.time).time) and
    .latestRestoreBytes == $latest.total_size and .latestFiles == $latest.total_file_count and
    .allRestoreBytes == $all.total_size and .rawBytes == $raw.total_size and
    .dedupRatio == (($all.total_size / $raw.total_size * 100 | round) / 100) and .retain == {"last": "50"})' <<<"$output"

  COLUMNS=200 run -0 vtask volsync:stats CLUSTER=e2e NAMESPACE=st-app CONCURRENCY=2
  assert_line --regexp '^SOURCE +SNAPSHOTS +OLDEST +NEWEST +LATEST +STORED +DEDUP +LAST PRUNE +RETAIN'
  assert_line --regexp '^st-app/notes-backup +2 '
  assert_line --partial '1 read, 0 failed; 2 snapshots, '
  wait_until 30 "no toolkit pod left in st-app" no_toolkit_pod st-app
}

@test "check passes on a good repository, and fails with restic's words once a data pack is damaged; no lock is left" {
  local ns=st-bad app=ledger prefix key size
  make_app "$ns" "$app"
  run -0 vtask volsync:check APP="$app" CLUSTER=e2e READ_DATA=100
  assert_line "Checked $ns/$app-backup: restic check --read-data-subset=100% found no errors."

  # damage the biggest data pack in S3 (same size, bytes overwritten in the middle), as recover.bats does
  prefix="$E2E_RUN_ID-$ns-$app"
  key=$(curl -s "$E2E_S3_ENDPOINT/$E2E_S3_BUCKET?prefix=$prefix/data/" | grep -o '<Key>[^<]*</Key>' | sed 's#</*Key>##g' |
    while read -r k; do echo "$(curl -sI "$E2E_S3_ENDPOINT/$E2E_S3_BUCKET/$k" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p') $k"; done |
    sort -n | tail -1 | cut -d' ' -f2)
  [[ -n $key ]] || fail "setup: no data pack found under $prefix/data/"
  curl -s "$E2E_S3_ENDPOINT/$E2E_S3_BUCKET/$key" -o "$BATS_TEST_TMPDIR/pack"
  size=$(stat -c %s "$BATS_TEST_TMPDIR/pack")
  printf 'CORRUPTED-CORRUPTED-CORRUPTED' | dd of="$BATS_TEST_TMPDIR/pack" bs=1 seek=$((size / 2)) conv=notrunc status=none
  curl -s -X PUT --data-binary @"$BATS_TEST_TMPDIR/pack" "$E2E_S3_ENDPOINT/$E2E_S3_BUCKET/$key" -o /dev/null
  # restic itself finds it
  ! repo_restic "$ns" check --read-data >/dev/null 2>&1 || fail "setup: restic check passes on the damaged repository"

  run -1 vtask volsync:check APP="$app" CLUSTER=e2e READ_DATA=100
  assert_output --partial "$ns/$app-backup: restic check --read-data-subset=100% found errors (exit code 1); restic said:"
  assert_output --partial "Fatal: repository contains errors"
  assert_output --partial "pack ${key##*/}"
  # check took restic's exclusive lock and released it: no lock left in the repository
  [[ -z $(repo_restic "$ns" list locks --no-lock) ]] || fail "a lock was left in the repository"
  wait_until 30 "no toolkit pod left in $ns" no_toolkit_pod "$ns"
}

@test "check while a backup holds the repository's lock: busy, try later, exit 1, the holder named, the unlock command shown, the lock kept" {
  local ns=st-busy app=ledger fifo lock holder
  make_app "$ns" "$app"
  # a real restic backup that reads its stdin from a pipe kept open: it holds its lock until the pipe closes.
  # It ignores SIGHUP: the check's restic runs on this machine's hostname too, and restic probes a
  # same-host holder with SIGHUP (a holder on another host, as in a cluster, is never signalled)
  fifo="$BATS_TEST_TMPDIR/stdin"
  mkfifo "$fifo"
  (trap '' HUP && repo_restic "$ns" backup --stdin --stdin-filename held.txt) <"$fifo" >"$BATS_TEST_TMPDIR/holder.log" 2>&1 &
  echo $! >"$BATS_TEST_TMPDIR/holder.pid"
  exec 7>"$fifo"
  wait_until 60 "the backup holds a lock" has_lock "$ns" || fail "the backup said: $(cat "$BATS_TEST_TMPDIR/holder.log")"
  lock=$(repo_restic "$ns" list locks --no-lock)
  holder=$(repo_restic "$ns" cat lock "$lock" --no-lock)

  run -1 vtask volsync:check APP="$app" CLUSTER=e2e
  assert_output --partial 'the repository is busy'
  assert_output --partial 'try later'
  # restic's own line naming the holder: the backup's PID and host, as its lock file records them
  assert_output --partial "repository is already locked by PID $(jq -r .pid <<<"$holder") on $(jq -r .hostname <<<"$holder")"
  assert_output --partial "task volsync:unlock APP=$app NAMESPACE=$ns CLUSTER=e2e"
  # never removed: the backup's lock is still there, and the backup still runs
  assert_equal "$(repo_restic "$ns" list locks --no-lock)" "$lock"
  kill -0 "$(cat "$BATS_TEST_TMPDIR/holder.pid")" || fail "the backup holding the lock ended: $(cat "$BATS_TEST_TMPDIR/holder.log")"

  # the backup ends normally once its input ends (restic exits 3 on an empty one), and takes its lock with it
  echo 'held' >&7
  exec 7>&-
  wait "$(cat "$BATS_TEST_TMPDIR/holder.pid")" || fail "the held backup failed: $(cat "$BATS_TEST_TMPDIR/holder.log")"
  rm "$BATS_TEST_TMPDIR/holder.pid"
  [[ -z $(repo_restic "$ns" list locks --no-lock) ]] || fail "a lock was left in the repository"
  wait_until 30 "no toolkit pod left in $ns" no_toolkit_pod "$ns"
}
