#!/usr/bin/env bats
# Choosing the cluster (lib/cluster.ts): an explicit kubeconfig, then
# $VOLSYNC_OPS_ROOT/kubeconfig-<cluster> (the repository root by default), then
# a context named <cluster> of the default kubeconfig; one target for a whole run.

setup() {
  load helpers/common
  common_setup
  LIST='get --raw /apis/volsync.backube/v1alpha1/replicationsources?limit=1000 : render "$FIXTURES/rs-odoo.json"'
  CONTEXTS='config get-contexts -o name'
}

# assert_all_calls_start_with PREFIX: every kubectl call but the context lookup began so
assert_all_calls_start_with() {
  local call others=()
  while IFS= read -r call; do
    [[ $call == "$1"* || $call == 'config get-contexts -o name' ]] || others+=("$call")
  done < <(stub_calls kubectl)
  ((${#others[@]} == 0)) || fail "calls without '$1': ${others[*]}"
  [[ -n $(stub_calls kubectl) ]] || fail 'no kubectl calls at all'
}

kubeconfig_for() {
  printf 'apiVersion: v1\nkind: Config\n' >"$TEST_DIR/kubeconfig-$1"
}

@test "an explicit KUBECONFIG wins over kubeconfig-<cluster> and a context" {
  kubeconfig_for apps
  stub kubectl "$K $LIST"
  run -0 script status --cluster apps --kubeconfig "$KC"
  unstub kubectl
}

@test "without one, \$VOLSYNC_OPS_ROOT/kubeconfig-<cluster> is used, and contexts are not read" {
  kubeconfig_for apps
  stub kubectl "--kubeconfig $TEST_DIR/kubeconfig-apps --request-timeout=60s $LIST"
  run -0 script status --cluster apps
  unstub kubectl
}

@test "without either, a context named <cluster> of the default kubeconfig is used" {
  stub kubectl \
    "$CONTEXTS : printf 'infra\napps\nlab\n'" \
    "--context apps --request-timeout=60s $LIST"
  run -0 script status --cluster apps
  unstub kubectl
}

@test "CLUSTER defaults to infra" {
  kubeconfig_for infra
  stub kubectl "--kubeconfig $TEST_DIR/kubeconfig-infra --request-timeout=60s $LIST"
  run -0 script status
  unstub kubectl
  assert_line '1 healthy, 0 need attention (cluster infra)'
}

@test "none of the three is exit 2, naming everything that was tried" {
  stub kubectl "$CONTEXTS : printf 'infra\nlab\n'"
  run -2 script status --cluster apps
  unstub kubectl
  assert_output - <<EOF
error: cannot find cluster apps. Tried, in order:
  1. KUBECONFIG=<file> / --kubeconfig <file>: not given
  2. $TEST_DIR/kubeconfig-apps: no such file
  3. a context named apps in the default kubeconfig: not there (contexts: infra, lab)
Give KUBECONFIG=<file>, create $TEST_DIR/kubeconfig-apps, or pick another CLUSTER.
EOF
}

@test "no default kubeconfig at all counts as no contexts" {
  stub kubectl "$CONTEXTS : echo 'error: no configuration has been provided' >&2; exit 1"
  run -2 script status --cluster apps
  unstub kubectl
  assert_line '  3. a context named apps in the default kubeconfig: not there (contexts: none)'
}

@test "an explicit KUBECONFIG that does not exist is exit 2, even when kubeconfig-<cluster> exists" {
  kubeconfig_for apps
  run -2 script status --cluster apps --kubeconfig "$TEST_DIR/nope"
  unstub kubectl
  assert_output "error: KUBECONFIG (--kubeconfig) $TEST_DIR/nope: no such file"
}

@test "every kubectl call of one run carries the same --context" {
  stub kubectl \
    "$CONTEXTS : printf 'apps\n'" \
    "--context apps --request-timeout=60s $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "--context apps --request-timeout=60s create -f - -o json : render \"\$FIXTURES/pod-list-pending.json\"" \
    "--context apps get pod volsync-list-odoo-????? -n business --watch -o json : render \"\$FIXTURES/pod-list-succeeded.json\"" \
    "--context apps --request-timeout=60s logs volsync-list-odoo-????? -n business -c restic : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "--context apps --request-timeout=60s delete pod volsync-list-odoo-????? -n business --ignore-not-found --wait=false --grace-period=0"
  run -0 script list --cluster apps --app odoo
  unstub kubectl
  # belt and braces: no call without the target, none with another one
  assert_all_calls_start_with '--context apps '
}

@test "every kubectl call of one run carries the same --kubeconfig" {
  kubeconfig_for apps
  KA="--kubeconfig $TEST_DIR/kubeconfig-apps"
  stub kubectl \
    "$KA --request-timeout=60s $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KA --request-timeout=60s create -f - -o json : render \"\$FIXTURES/pod-list-pending.json\"" \
    "$KA get pod volsync-list-odoo-????? -n business --watch -o json : render \"\$FIXTURES/pod-list-failed.json\"" \
    "$KA --request-timeout=60s logs volsync-list-odoo-????? -n business -c restic : echo 'Fatal: wrong password or no key found'" \
    "$KA --request-timeout=60s delete pod volsync-list-odoo-????? -n business --ignore-not-found --wait=false --grace-period=0"
  run -1 script list --cluster apps --app odoo
  unstub kubectl
  assert_all_calls_start_with "$KA "
}

# --- through task: only a KUBECONFIG given to task is explicit

@test "task: KUBECONFIG=<file> given to task is explicit" {
  kubeconfig_for apps
  stub kubectl "$K $LIST"
  run -0 run_task volsync:status CLUSTER=apps KUBECONFIG="$KC"
  unstub kubectl
}

@test "task: a KUBECONFIG exported in the shell is the default kubeconfig, not explicit" {
  # kubectl reads the exported KUBECONFIG itself; the tool looks for the context there
  stub kubectl \
    "$CONTEXTS : printf 'apps\n'" \
    "--context apps --request-timeout=60s $LIST"
  KUBECONFIG="$KC" run -0 run_task volsync:status CLUSTER=apps
  unstub kubectl
}

@test "task: an exported KUBECONFIG does not hide kubeconfig-<cluster>" {
  kubeconfig_for apps
  stub kubectl "--kubeconfig $TEST_DIR/kubeconfig-apps --request-timeout=60s $LIST"
  KUBECONFIG="$KC" run -0 run_task volsync:status CLUSTER=apps
  unstub kubectl
}

@test "task: with nothing that matches, task -x passes exit 2 through" {
  stub kubectl "$CONTEXTS : printf 'infra\n'"
  run -2 run_task volsync:status CLUSTER=apps
  unstub kubectl
  assert_line 'error: cannot find cluster apps. Tried, in order:'
}
