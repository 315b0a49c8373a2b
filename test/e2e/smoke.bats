#!/usr/bin/env bats
# tests/smoke/dr-volsync-restore.sh (the DR runbook's smoke test) against this
# tier's cluster, given as an explicit KUBECONFIG, as for any cluster.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

SMOKE="$BATS_TEST_DIRNAME/../../tests/smoke/dr-volsync-restore.sh"

@test "the DR smoke test backs up, changes, restores and verifies an app, and prints each phase's time" {
  make_app sm-ok drill
  run -0 env -u KUBECONFIG "$SMOKE" CLUSTER=e2e APP=drill KUBECONFIG="$E2E_KUBECONFIG"
  assert_line --regexp '^backup \(task volsync:snapshot\) +[0-9]+s$'
  assert_line --regexp '^restore \(task volsync:restore\) +[0-9]+s$'
  assert_line --regexp '^verify the data +[0-9]+s$'
  assert_line 'DR smoke test PASSED on cluster e2e (app drill)'
  # the data it checked is the app's: the added file is gone
  [[ -z $(find "$(pvc_dir sm-ok drill-data)" -name 'volsync-smoke-*') ]]
  [[ $(kc -n sm-ok get pods -l app.kubernetes.io/managed-by=volsync-smoke -o json | jq '.items | length') == 0 ]]
}

@test "the DR smoke test fails when the restore does not bring the data back" {
  make_app sm-bad drill2
  # a task that pretends to restore
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  printf '#!/usr/bin/env bash\nfor a in "$@"; do [[ $a == volsync:restore ]] && exit 0; done\nexec %q "$@"\n' "$(command -v task)" \
    >"$BATS_TEST_TMPDIR/bin/task"
  chmod +x "$BATS_TEST_TMPDIR/bin/task"
  PATH="$BATS_TEST_TMPDIR/bin:$PATH" run -1 env -u KUBECONFIG "$SMOKE" CLUSTER=e2e APP=drill2 KUBECONFIG="$E2E_KUBECONFIG"
  assert_line --regexp '^FAILED: volsync-smoke-.*\.txt is still in drill2-data'
  refute_line --partial 'PASSED'
}
