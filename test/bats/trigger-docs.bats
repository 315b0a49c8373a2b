#!/usr/bin/env bats
# The runbook and the Taskfile summaries of snapshot, snapshot-all and unlock stay true to the code.

setup() {
  load helpers/common
  common_setup
}

@test "every task the runbook names exists" {
  run -0 run_task --list
  local listed=$output name
  for name in $(grep -o 'task\( -x\)\? volsync:[a-z-]*' "$ROOT/docs/runbooks/volsync.md" | sed 's/.*volsync:/volsync:/' | sort -u); do
    [[ $listed == *"* $name:"* ]] || fail "the runbook names $name, which task --list does not show"
  done
}

@test "the TIMEOUT default in each task summary is the script's own" {
  local name default
  for name in snapshot snapshot-all unlock; do
    run -0 script "$name" --help
    default=$(grep -o 'e.g. 30m (default: [0-9a-z]*)' <<<"$output" | sed 's/.*default: //; s/)//')
    [[ -n $default ]] || fail "no TIMEOUT default in --help of $name"
    run -0 run_task --summary "volsync:$name"
    assert_line --regexp "^  TIMEOUT +.*\(default: $default\)$"
  done
  unstub kubectl
}

@test "the runbook sections for these tasks are there" {
  local heading
  for heading in 'Back up one app now' 'Back up everything before an upgrade' 'Clear a stale repository lock'; do
    grep -qx "## $heading" "$ROOT/docs/runbooks/volsync.md" || fail "no section: $heading"
  done
}

@test "the runbook quotes the mover-Job messages as the commands print them" {
  run -0 "$ROOT/node_modules/.bin/tsx" -e "
    import { attemptNote, jobsUnavailableNote } from '$ROOT/lib/sync/jobs.ts'
    const job = { uid: 'u', name: 'volsync-src-odoo-backup', namespace: 'business', owner: 'o', firstFailed: 0, failed: 3, limit: 8 }
    console.log(attemptNote('business/odoo-backup', job, 'ours', ''))
    console.log(jobsUnavailableNote('x').split(' (')[0] + ' (')"
  local runbook
  runbook=$(<"$ROOT/docs/runbooks/volsync.md")
  [[ $runbook == *"\`${lines[0]%% (*} ...\`"* ]] || fail "the runbook does not quote: ${lines[0]%% (*}"
  [[ $runbook == *"\`${lines[1]}...)\`"* ]] || fail "the runbook does not quote: ${lines[1]}"
}
