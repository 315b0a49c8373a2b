#!/usr/bin/env bats
# Faults: a failing mover, Ctrl-C during each wait, and the API server going
# away mid-wait. Whatever happens, the cluster is left as it was found, or the
# run prints the exact commands that finish the clean-up (and they work).
#
# A wait is made to last by stopping the component that would end it: the
# harness (kubelet stand-in and mover Job runner) or the VolSync controller.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

manual_set() { [[ -n $(field "$1" "$RS" "$2" .spec.trigger.manual) ]]; }
sync_running() { [[ -n $(field "$1" "$RS" "$2" .status.lastSyncStartTime) ]]; }
mover_job_exists() { kc -n "$1" get job "volsync-src-$2" >/dev/null 2>&1; }
list_pod_exists() { [[ $(kc -n "$1" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq '.items | length') -gt 0 ]]; }
toolkit_pods() { kc -n "$1" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq -c '[.items[].metadata.name]'; }
trigger_of() { kc -n "$1" get "$RS" "$2" -o json | jq -c .spec.trigger; }

# hint_commands: the command lines of the "finish it by hand" text in $output
hint_commands() {
  sed -n '/^\(error: \)\{0,1\}The clean-up is incomplete. Finish it by hand, in this order:$/,$p' <<<"$output" |
    sed -n 's/^  \(kubectl .*\)$/\1/p'
}

@test "a mover that fails on a wrong password: snapshot exits 1 with the mover's log and removes its trigger" {
  make_app ft-pw erp
  create_secret ft-pw volsync-r2-secret "not-the-password" "$(repo_url ft-pw erp)"
  run -1 vtask volsync:snapshot APP=erp CLUSTER=e2e
  assert_line --partial 'the mover failed'
  assert_line --regexp '^ *Fatal: wrong password or no key found$'
  assert_line --partial 'clean-up: remove the manual trigger of ft-pw/erp-backup (its schedule applies again): removed'
  [[ $(trigger_of ft-pw erp-backup) == "{\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger left: $(trigger_of ft-pw erp-backup)"
  [[ $(field ft-pw "$RS" erp-backup .status.lastManualSync) != volsync-ops-* ]] || fail "lastManualSync was set by a failed sync"
}

@test "Ctrl-C while snapshot waits for the sync removes the trigger and exits 130" {
  make_app ft-int-snap erp
  stop_component harness # the mover Job is created but never runs
  spawn_task volsync:snapshot APP=erp CLUSTER=e2e
  wait_until 60 "the sync started" sync_running ft-int-snap erp-backup
  wait_until 30 "the mover Job exists" mover_job_exists ft-int-snap erp-backup
  manual_set ft-int-snap erp-backup
  interrupt_job
  wait_job
  assert_equal "$status" 130
  assert_line --partial 'clean-up: remove the manual trigger of ft-int-snap/erp-backup (its schedule applies again): removed'
  [[ $(trigger_of ft-int-snap erp-backup) == "{\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger left: $(trigger_of ft-int-snap erp-backup)"
}

@test "Ctrl-C while list waits for its pod deletes the pod and exits 130" {
  make_app ft-int-list erp
  stop_component harness # the pod is never scheduled nor run
  spawn_task volsync:list APP=erp CLUSTER=e2e
  wait_until 60 "the list pod exists" list_pod_exists ft-int-list
  interrupt_job
  wait_job
  assert_equal "$status" 130
  assert_line --regexp '^clean-up: delete the list pod ft-int-list/volsync-list-erp-[a-z0-9]{5}: done$'
  [[ $(toolkit_pods ft-int-list) == '[]' ]] || fail "list pod left: $(toolkit_pods ft-int-list)"
}

@test "the API server stopping while snapshot waits: a clear error, the exact clean-up commands, and they work" {
  make_app ft-api erp
  stop_component harness
  spawn_task volsync:snapshot APP=erp CLUSTER=e2e
  wait_until 60 "the sync started" sync_running ft-api erp-backup
  stop_component kube-apiserver
  wait_job 180
  assert_equal "$status" 1
  assert_line --regexp '^error: lost contact with the cluster while waiting for the snapshot of ft-api/erp-backup \([0-9]+ watches failed in a row\)$'
  assert_line --regexp 'clean-up: remove the manual trigger of ft-api/erp-backup \(its schedule applies again\): FAILED: .*The connection to the server 127.0.0.1:[0-9]+ was refused'
  assert_line 'error: The clean-up is incomplete. Finish it by hand, in this order:'
  refute_output --partial 'memcache.go' # kubectl's klog noise is not the message
  assert_line '  # remove the manual trigger of ft-api/erp-backup (its schedule applies again)'
  local commands
  commands=$(hint_commands)
  [[ $(wc -l <<<"$commands") == 1 && $commands == "kubectl --kubeconfig $E2E_KUBECONFIG patch $RS erp-backup -n ft-api --type json -p "* ]] ||
    fail "unexpected hint: $commands"

  # the API server is back: the printed command finishes the clean-up
  start_component kube-apiserver
  manual_set ft-api erp-backup || fail "the trigger is already gone: the hint was not needed"
  run -0 bash -c "$commands"
  [[ $(trigger_of ft-api erp-backup) == "{\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger left: $(trigger_of ft-api erp-backup)"
}
