#!/usr/bin/env bats
# task volsync:unlock against a repository really locked by restic.
#
# The stale lock: `restic key passwd` takes an EXCLUSIVE lock, then waits to
# read the new password from a FIFO nobody writes; it is killed there with
# SIGKILL, so its lock stays behind with a dead PID. Backups then fail on it
# (restic's backup is refused by any exclusive lock, stale or not). Plain
# `restic unlock`, which the mover runs, removes it: same host (the harness's
# movers share this machine's hostname), PID gone. A lock held by a LIVE
# process is not tested here: restic probes a same-host holder with SIGHUP,
# which would kill our restic (see test/e2e/README.md, "Differences from a
# real cluster worth knowing").

setup() {
  load helpers/e2e
}

teardown() {
  [[ -z ${LOCKER_PID:-} ]] || kill -KILL "$LOCKER_PID" 2>/dev/null || true
  e2e_teardown
}

locks() { repo_restic "$1" list locks --no-lock; }
has_lock() { [[ -n $(locks "$1") ]]; }
mover_failed() { [[ $(field "$1" "$RS" "$2" .status.latestMoverStatus.result) == Failed ]]; }

# leave_stale_lock NS: an exclusive lock of a restic process killed mid-operation
leave_stale_lock() {
  local ns=$1 fifo="$BATS_TEST_TMPDIR/new-password" lock pid
  mkfifo "$fifo"
  repo_restic "$ns" key passwd --new-password-file "$fifo" >"$BATS_TEST_TMPDIR/locker.log" 2>&1 &
  LOCKER_PID=$!
  wait_until 30 "restic holding a lock" has_lock "$ns"
  lock=$(locks "$ns")
  # the lock's own record: exclusive, this host, the restic process's PID
  repo_restic "$ns" cat lock "$lock" --no-lock >"$BATS_TEST_TMPDIR/lock.json"
  json_true --arg host "$(hostname)" '.exclusive == true and .hostname == $host' "$BATS_TEST_TMPDIR/lock.json" >/dev/null ||
    fail "unexpected lock: $(cat "$BATS_TEST_TMPDIR/lock.json")"
  pid=$(jq -r .pid "$BATS_TEST_TMPDIR/lock.json")
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  wait "$LOCKER_PID" 2>/dev/null || true
  LOCKER_PID=
  rm -f "$fifo"
  echo "$lock"
}

@test "unlock removes a stale lock left by a killed restic, the next backup works, and lastUnlocked holds the token" {
  make_app ul-stale crm
  local lock token id
  lock=$(leave_stale_lock ul-stale)
  [[ $(locks ul-stale) == "$lock" ]] || fail "not exactly the one stale lock: $(locks ul-stale)"

  # the stale lock really blocks backups, and status says what to do
  run -1 vtask volsync:snapshot APP=crm CLUSTER=e2e
  assert_line --regexp 'repository is already locked exclusively'
  run -1 vtask volsync:status CLUSTER=e2e NAMESPACE=ul-stale
  assert_line --regexp '^    the repository is locked: run task volsync:unlock APP=crm NAMESPACE=ul-stale CLUSTER=e2e( KUBECONFIG=.*)?$'

  run -0 vtask volsync:unlock APP=crm CLUSTER=e2e
  token=$(sed -n 's/.*(status.restic.lastUnlocked = \(volsync-ops-unlock-[^)]*\))\.$/\1/p' <<<"$output")
  [[ -n $token ]] || fail "no token reported"
  assert_line 'restic removed 1 stale lock(s).'
  id=$(sed -n 's/^The backup that followed saved snapshot \([0-9a-f]*\)\.$/\1/p' <<<"$output")
  [[ -n $id ]] || fail "no snapshot reported"

  [[ -z $(locks ul-stale) ]] || fail "locks left: $(locks ul-stale)"
  local rs
  rs=$(kc -n ul-stale get "$RS" crm-backup -o json)
  json_true --arg t "$token" '.status.restic.lastUnlocked == $t and .spec.restic.unlock == $t
    and .status.lastManualSync == $t and (.spec.trigger | has("manual") | not)
    and .status.latestMoverStatus.result == "Successful"' <<<"$rs" >/dev/null ||
    fail "unexpected source after unlock: $(jq -c '{spec: .spec.trigger, unlock: .spec.restic.unlock, status}' <<<"$rs")"
  snapshots_json ul-stale | json_true --arg id "$id" 'map(.short_id) | index($id) != null' >/dev/null ||
    fail "snapshot $id is not in the repository"
  run -0 vtask volsync:status CLUSTER=e2e NAMESPACE=ul-stale
  assert_line '1 healthy, 0 need attention (namespace ul-stale of cluster e2e)'
}
