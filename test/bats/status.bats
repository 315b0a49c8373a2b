#!/usr/bin/env bats
# task volsync:status: one read of all ReplicationSources, health, exit codes.

setup() {
  load helpers/common
  common_setup
}

@test "status reads every ReplicationSource in one kubectl call and flags those that need attention" {
  stub kubectl "$K get replicationsources.volsync.backube --all-namespaces -o json : render \"\$FIXTURES/rs-mixed.json\""
  COLUMNS=200 run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --regexp '^NAMESPACE +NAME +PVC +TRIGGER +LAST SYNC +TOOK +NEXT +RESULT +SNAPSHOT +STATE +VERIFIED$'
  assert_line --regexp '^business +odoo-backup +odoo-data +0 \*/8 \* \* \* +[0-9:]{5} 2h +1m3s +in (6h|5h59m) +ok +7c2d9e41 +scheduled +never$'
  assert_line --partial 'MANUAL!'
  assert_line '! media/plex-backup'
  assert_line '    last mover run failed: ERROR: failure connecting to repository, incorrect password'
  assert_line --regexp 'manual trigger left set \("snapshot-20261120T101500Z"\): the schedule 0 \*/8 \* \* \* is ignored'
  assert_line '    the repository is locked: run task volsync:unlock'
  assert_line --partial 'last mover run failed: unable to create lock in backend: repository is already locked exclusively by PID 27'
  assert_line --regexp 'error: unable to get volume snapshot class'
  assert_line --regexp 'overdue: the next sync was due at'
  assert_line '1 healthy, 4 need attention (cluster apps)'
  refute_line --partial '! business/odoo-backup'
}

@test "the status table fits 80 columns when not on a terminal, leaving out what does not fit" {
  stub kubectl "$K get replicationsources.volsync.backube --all-namespaces -o json : render \"\$FIXTURES/rs-mixed.json\""
  run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --regexp '^NAMESPACE +NAME +TRIGGER +LAST SYNC +NEXT +RESULT +STATE$'
  assert_line '(PVC, TOOK, SNAPSHOT, VERIFIED left out to fit:'
  assert_line ' widen the terminal or use OUTPUT=json)'
  # the table is everything before the first blank line
  while IFS= read -r line && [[ -n $line ]]; do
    if (( ${#line} > 80 )); then fail "table line longer than 80 columns: $line"; fi
  done <<<"$output"
}

@test "status exits 0 when every source is healthy" {
  stub kubectl "$K get replicationsources.volsync.backube --all-namespaces -o json : render \"\$FIXTURES/rs-odoo.json\""
  run -0 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line '1 healthy, 0 need attention (cluster apps)'
}

@test "NAMESPACE narrows the read to that namespace" {
  stub kubectl "$K get replicationsources.volsync.backube -n business -o json : render \"\$FIXTURES/rs-odoo.json\""
  run -0 script status --kubeconfig "$KC" --cluster apps --namespace business
  unstub kubectl
  assert_line '1 healthy, 0 need attention (namespace business of cluster apps)'
}

@test "no ReplicationSources is a clear message and exit 0" {
  stub kubectl "$K get replicationsources.volsync.backube --all-namespaces -o json : cat \"\$FIXTURES/empty-list.json\""
  run -0 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_output 'No ReplicationSources in cluster apps.'
}

@test "a cluster without VolSync says so" {
  stub kubectl "$K get replicationsources.volsync.backube --all-namespaces -o json : echo 'error: the server doesn'\''t have a resource type \"replicationsources\"' >&2; exit 1"
  run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line 'error: VolSync is not installed on cluster apps: the API server has no replicationsources.volsync.backube resource.'
}

@test "--output json prints only JSON on stdout" {
  stub kubectl "$K get replicationsources.volsync.backube --all-namespaces -o json : render \"\$FIXTURES/rs-mixed.json\""
  run -1 --separate-stderr script status --kubeconfig "$KC" --cluster apps --output json
  unstub kubectl
  echo "$output" | json_true '.healthy == 1 and .needAttention == 4 and (.sources | length) == 5' >/dev/null
  echo "$output" | json_true '.sources[] | select(.name == "odoo-backup") | .latestSnapshot == "7c2d9e41" and .healthy' >/dev/null
}

@test "task volsync:status passes CLUSTER, NAMESPACE and KUBECONFIG to the script" {
  stub kubectl "$K get replicationsources.volsync.backube -n business -o json : render \"\$FIXTURES/rs-odoo.json\""
  run -0 run_task volsync:status CLUSTER=apps NAMESPACE=business KUBECONFIG="$KC"
  unstub kubectl
  assert_line '1 healthy, 0 need attention (namespace business of cluster apps)'
}

@test "status reads a list that arrives in small pieces, with multi-byte characters cut across them" {
  # 7-byte pieces: the é (2 bytes in UTF-8) of the message is split somewhere
  stub kubectl "$K get replicationsources.volsync.backube --all-namespaces -o json : render \"\$FIXTURES/rs-mixed.json\" | sed 's/unable to get volume snapshot class/unable to get volume snapshot clàss é/' | perl -e '\$| = 1; while (read(STDIN, \$b, 7)) { print \$b; select(undef, undef, undef, 0.0005) }'"
  COLUMNS=200 run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line '    error: unable to get volume snapshot clàss é "csi-ceph-blockpool": not found'
  assert_line '1 healthy, 4 need attention (cluster apps)'
}

@test "output that is not a JSON list is exit 1 with kubectl's command named" {
  stub kubectl "$K get replicationsources.volsync.backube --all-namespaces -o json : render \"\$FIXTURES/rs-mixed.json\" | head -c 3000"
  run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_output 'error: kubectl get replicationsources.volsync.backube --all-namespaces -o json failed: unreadable output: the JSON list ended early'
}
