#!/usr/bin/env bats
# task volsync:status: one read of all ReplicationSources, health, exit codes.

setup() {
  load helpers/common
  common_setup
}

@test "status reads every ReplicationSource as the server's own JSON and flags those that need attention" {
  stub kubectl "$K $RS_ALL : render \"\$FIXTURES/rs-mixed.json\""
  COLUMNS=200 run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --regexp '^NAMESPACE +NAME +PVC +TRIGGER +LAST SYNC +TOOK +NEXT +RESULT +SNAPSHOT +STATE +VERIFIED$'
  assert_line --regexp '^business +odoo-backup +odoo-data +0 \*/8 \* \* \* +[0-9:]{5} 2h +1m3s +in (6h|5h59m) +ok +7c2d9e41 +scheduled +never$'
  assert_line --partial 'MANUAL!'
  assert_line '! media/plex-backup'
  assert_line '    last mover run failed: ERROR: failure connecting to repository, incorrect password'
  assert_line --regexp 'manual trigger left set \("snapshot-20261120T101500Z"\): the schedule 0 \*/8 \* \* \* is ignored'
  # the command to run next addresses this cluster, quoted for sh
  assert_line "    the repository is locked: run task volsync:unlock APP=wiki NAMESPACE=tools CLUSTER=apps KUBECONFIG='$KC'"
  assert_line --partial 'last mover run failed: unable to create lock in backend: repository is already locked exclusively by PID 27'
  assert_line --regexp 'error: unable to get volume snapshot class'
  assert_line --regexp 'overdue: the next sync was due at'
  assert_line '1 healthy, 4 need attention (cluster apps)'
  refute_line --partial '! business/odoo-backup'
}

@test "the status table fits 80 columns when not on a terminal, leaving out what does not fit" {
  stub kubectl "$K $RS_ALL : render \"\$FIXTURES/rs-mixed.json\""
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

@test "status flags a source whose last sync backed up nothing (an empty PVC), and exits 1" {
  stub kubectl "$K $RS_ALL : render \"\$FIXTURES/rs-empty-source.json\""
  COLUMNS=200 run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --regexp '^business +empty-backup +empty-data +0 \*/8 \* \* \* +[0-9:]{5} 10m[0-9]*s? +1s +in (7h|6h59m) +ok +- +scheduled +never$'
  assert_line '! business/empty-backup'
  assert_line '    last sync backed up nothing: the mover found PVC empty-data empty ("Directory is empty skipping backup") and made no snapshot'
  assert_line '0 healthy, 1 need attention (cluster apps)'

  stub kubectl "$K $RS_ALL : render \"\$FIXTURES/rs-empty-source.json\""
  run -1 --separate-stderr script status --kubeconfig "$KC" --cluster apps --output json
  unstub kubectl
  json_true '.healthy == 0 and .needAttention == 1 and (.sources[0] | .result == "Successful" and .latestSnapshot == null
    and (.attention | length) == 1 and (.attention[0] | startswith("last sync backed up nothing")))' <<<"$output"
}

@test "status exits 0 when every source is healthy" {
  stub kubectl "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\""
  run -0 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line '1 healthy, 0 need attention (cluster apps)'
}

@test "NAMESPACE narrows the read to that namespace" {
  stub kubectl "$K $(rs_in business) : render \"\$FIXTURES/rs-odoo.json\""
  run -0 script status --kubeconfig "$KC" --cluster apps --namespace business
  unstub kubectl
  assert_line '1 healthy, 0 need attention (namespace business of cluster apps)'
}

@test "no ReplicationSources is a clear message and exit 0" {
  stub kubectl "$K $RS_ALL : cat \"\$FIXTURES/empty-list.json\""
  run -0 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_output 'No ReplicationSources in cluster apps.'
}

@test "a cluster without VolSync says so" {
  # what kube-apiserver answers a raw GET of a resource it does not serve
  stub kubectl "$K $RS_ALL : echo 'Error from server (NotFound): the server could not find the requested resource' >&2; exit 1"
  run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line 'error: VolSync is not installed on cluster apps: the API server has no replicationsources.volsync.backube resource.'
}

@test "--output json prints only JSON on stdout" {
  stub kubectl "$K $RS_ALL : render \"\$FIXTURES/rs-mixed.json\""
  run -1 --separate-stderr script status --kubeconfig "$KC" --cluster apps --output json
  unstub kubectl
  echo "$output" | json_true '.healthy == 1 and .needAttention == 4 and (.sources | length) == 5' >/dev/null
  echo "$output" | json_true '.sources[] | select(.name == "odoo-backup") | .latestSnapshot == "7c2d9e41" and .healthy' >/dev/null
}

@test "task volsync:status passes CLUSTER, NAMESPACE and KUBECONFIG to the script" {
  stub kubectl "$K $(rs_in business) : render \"\$FIXTURES/rs-odoo.json\""
  run -0 run_task volsync:status CLUSTER=apps NAMESPACE=business KUBECONFIG="$KC"
  unstub kubectl
  assert_line '1 healthy, 0 need attention (namespace business of cluster apps)'
}

@test "status reads a list that arrives in small pieces, with multi-byte characters cut across them" {
  # 7-byte pieces: the é (2 bytes in UTF-8) of the message is split somewhere
  stub kubectl "$K $RS_ALL : render \"\$FIXTURES/rs-mixed.json\" | sed 's/unable to get volume snapshot class/unable to get volume snapshot clàss é/' | perl -e '\$| = 1; while (read(STDIN, \$b, 7)) { print \$b; select(undef, undef, undef, 0.0005) }'"
  COLUMNS=200 run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line '    error: unable to get volume snapshot clàss é "csi-ceph-blockpool": not found'
  assert_line '1 healthy, 4 need attention (cluster apps)'
}

@test "output that is not a JSON list is exit 1 with kubectl's command named" {
  stub kubectl "$K $RS_ALL : render \"\$FIXTURES/rs-mixed.json\" | head -c 3000"
  run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_output --regexp '^error: kubectl get --raw /apis/volsync\.backube/v1alpha1/replicationsources\?limit=1000 failed: unreadable output: .*JSON'
}

@test "status reads a large list page by page, following the server's continue token" {
  # the API server's own pages: 2 + 2 + 1 sources, each naming the next (a token is URL-encoded)
  page() {
    render "$FIXTURES/rs-mixed.json" | jq -c --argjson from "$1" --argjson to "$2" --arg next "$3" \
      '{apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSourceList",
        metadata: {resourceVersion: "4711", continue: $next}, items: .items[$from:$to]}'
  }
  export -f page
  stub kubectl \
    "$K $RS_ALL : page 0 2 eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDcxMX0" \
    "$K $RS_ALL&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDcxMX0 : page 2 4 next+page/2=" \
    "$K $RS_ALL&continue=next%2Bpage%2F2%3D : page 4 5 ''"
  COLUMNS=200 run -1 script status --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line '1 healthy, 4 need attention (cluster apps)'
  assert_line --regexp '^business +odoo-backup '
}

# --- CLUSTER=all: every cluster of the repository (kubeconfig-<name> files in
# $VOLSYNC_OPS_ROOT, and the contexts of its volsync-ops.yaml), read in parallel

# fleet: kubeconfig files for apps and lab, and edge named as a context in the config file
fleet() {
  printf 'apiVersion: v1\nkind: Config\n' >"$TEST_DIR/kubeconfig-apps"
  printf 'apiVersion: v1\nkind: Config\n' >"$TEST_DIR/kubeconfig-lab"
  printf '# the clusters CLUSTER=all reads besides kubeconfig-*\nclusters:\n  - edge\n' >"$TEST_DIR/volsync-ops.yaml"
  KA="--kubeconfig $TEST_DIR/kubeconfig-apps --request-timeout=60s"
  KL="--kubeconfig $TEST_DIR/kubeconfig-lab --request-timeout=60s"
  KE="--context edge --request-timeout=60s"
  REFUSED="echo 'The connection to the server 127.0.0.1:32740 was refused - did you specify the right host or port?' >&2; exit 1"
}

@test "CLUSTER=all reads every cluster in parallel: one table with a CLUSTER column, one summary line per cluster" {
  fleet
  stub kubectl \
    "config get-contexts -o name : printf 'edge\nother\n'" \
    "$KA $RS_ALL : render \"\$FIXTURES/rs-mixed.json\"" \
    "$KL $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KE $RS_ALL : cat \"\$FIXTURES/empty-list.json\""
  COLUMNS=200 run -1 script status --cluster all
  unstub kubectl
  assert_line --regexp '^CLUSTER +NAMESPACE +NAME +PVC +TRIGGER +LAST SYNC +TOOK +NEXT +RESULT +SNAPSHOT +STATE +VERIFIED$'
  assert_line --regexp '^apps +business +odoo-backup +odoo-data +'
  assert_line --regexp '^apps +media +plex-backup +'
  assert_line --regexp '^lab +business +odoo-backup +odoo-data +'
  assert_line '! media/plex-backup (cluster apps)'
  assert_line 'apps: 1 healthy, 4 need attention'
  assert_line 'edge: no ReplicationSources'
  assert_line 'lab:  1 healthy, 0 need attention'
  assert_line '3 clusters: 2 healthy, 4 need attention'
}

@test "CLUSTER=all: an unreachable cluster is reported with kubectl's reason and exit 1, the others are still shown" {
  fleet
  stub kubectl \
    "config get-contexts -o name : printf 'edge\n'" \
    "$KA $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KL $RS_ALL : $REFUSED" \
    "$KE $RS_ALL : render \"\$FIXTURES/rs-odoo.json\""
  COLUMNS=200 run -1 script status --cluster all
  unstub kubectl
  assert_line --regexp '^apps +business +odoo-backup '
  assert_line --regexp '^edge +business +odoo-backup '
  refute_line --regexp '^lab '
  assert_line 'apps: 1 healthy, 0 need attention'
  assert_line 'lab:  NOT READ: The connection to the server 127.0.0.1:32740 was refused - did you specify the right host or port?'
  assert_line '3 clusters: 2 healthy, 0 need attention, 1 not read'
}

@test "CLUSTER=all: a configured context that does not exist, or a cluster without VolSync, is NOT READ too" {
  fleet
  stub kubectl \
    "config get-contexts -o name : printf 'other\n'" \
    "$KA $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KL $RS_ALL : echo 'Error from server (NotFound): the server could not find the requested resource' >&2; exit 1"
  run -1 --separate-stderr script status --cluster all --output json
  unstub kubectl
  json_true '.cluster == "all" and .healthy == 1 and .needAttention == 0 and ([.sources[].cluster] == ["apps"])' <<<"$output" >/dev/null
  json_true --arg dir "$TEST_DIR" '.clusters == [
    {cluster: "apps", how: "kubeconfig \($dir)/kubeconfig-apps", ok: true, error: null, healthy: 1, needAttention: 0},
    {cluster: "edge", how: null, ok: false, error: "no \($dir)/kubeconfig-edge, and no context edge in the default kubeconfig (named in \($dir)/volsync-ops.yaml)", healthy: null, needAttention: null},
    {cluster: "lab", how: "kubeconfig \($dir)/kubeconfig-lab", ok: false, error: "VolSync is not installed on cluster lab: the API server has no replicationsources.volsync.backube resource.", healthy: null, needAttention: null}]' <<<"$output" >/dev/null
}

@test "task volsync:status CLUSTER=all NAMESPACE=... narrows every cluster's read to that namespace" {
  fleet
  rm "$TEST_DIR/volsync-ops.yaml"
  stub kubectl \
    "$KA $(rs_in business) : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KL $(rs_in business) : cat \"\$FIXTURES/empty-list.json\""
  run -0 run_task volsync:status CLUSTER=all NAMESPACE=business
  unstub kubectl
  assert_line 'apps: 1 healthy, 0 need attention'
  assert_line 'lab:  no ReplicationSources'
  assert_line '2 clusters: 1 healthy, 0 need attention (namespace business)'
}

@test "CLUSTER=all with no cluster known, or with an explicit KUBECONFIG, is exit 2" {
  run -2 script status --cluster all
  assert_output "error: CLUSTER=all: this repository knows no cluster. Looked for kubeconfig-<name> files in $TEST_DIR and a clusters list in $TEST_DIR/volsync-ops.yaml (README.md, \"Every cluster at once\")."
  run -2 run_task volsync:status CLUSTER=all KUBECONFIG="$KC"
  assert_line 'error: KUBECONFIG (--kubeconfig) names one cluster: it cannot be combined with CLUSTER (--cluster) all'
  printf 'clusters: apps\n' >"$TEST_DIR/volsync-ops.yaml"
  run -2 script status --cluster all
  assert_output "error: $TEST_DIR/volsync-ops.yaml: clusters must be a list of context names, such as \"clusters: [apps, lab]\""
  unstub kubectl
}
