#!/usr/bin/env bats
# task volsync:restore when things go wrong: nothing to restore, snapshots
# that vanish before the mover runs, Ctrl-C during each wait, and the API
# server going away. Each app: Deployment <app> (2 replicas, managed by the
# Flux Kustomization "apps"), PVC <app>-data, ReplicationSource <app>-backup.

setup() {
  load helpers/e2e
}

teardown() {
  release_pods
  e2e_teardown
}

HOLD=e2e.volsync-ops/hold

# hold_pods NS APP: the app's pods cannot finish terminating (a finalizer),
# as a pod stuck in Terminating on a real node
hold_pods() {
  local pod
  for pod in $(kc -n "$1" get pods -l "app=$2" -o name); do
    kc -n "$1" patch "$pod" --type merge -p "{\"metadata\":{\"finalizers\":[\"$HOLD\"]}}" >/dev/null
    echo "$1 $pod" >>"$BATS_TEST_TMPDIR/held"
  done
}

release_pods() {
  [[ -f $BATS_TEST_TMPDIR/held ]] || return 0
  local ns pod
  while read -r ns pod; do
    kc -n "$ns" patch "$pod" --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1 || true
  done <"$BATS_TEST_TMPDIR/held"
  rm -f "$BATS_TEST_TMPDIR/held"
}

rd_count() { kc -n "$1" get "$RD" -o json | jq '.items | length'; }
rd_exists() { [[ $(rd_count "$1") -gt 0 ]]; }
list_pod_exists() { [[ $(kc -n "$1" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq '.items | length') -gt 0 ]]; }
scaled_to_zero() { [[ $(field "$1" deployment "$2" .spec.replicas) == 0 ]]; }
terminating() { [[ $(kc -n "$1" get pods -l "app=$2" -o json | jq '[.items[] | select(.metadata.deletionTimestamp)] | length') -gt 0 ]]; }

# tree_state DIR: names, sizes, modes and modification times (a restore changes them)
tree_state() { find "$1" -printf '%P %y %s %m %T@\n' | sort; }

watch_app() {
  watch_into deployments -n "$1" deployments
  watch_into flux -n "$1" "$KS" apps
  watch_into rd -n "$1" "$RD"
  sleep 1
}

# assert_untouched NS APP STATE: no RD was ever made, the app was never
# stopped nor Flux suspended, and the PVC is as it was
assert_untouched() {
  local ns=$1 app=$2 state=$3
  stop_watches
  [[ $(seen rd length) == 0 ]] || fail "a ReplicationDestination was created"
  seen deployments "[.[] | select(.metadata.name == \"$app\") | .spec.replicas] | index(0) == null" | grep -qx true ||
    fail "$app was scaled down"
  seen flux 'map(.spec.suspend == true) | any' | grep -qx false || fail "the Kustomization was suspended"
  [[ $(tree_state "$(pvc_dir "$ns" "$app-data")") == "$state" ]] || fail "the PVC changed"
}

# assert_cleaned NS APP: the app is back at 2 replicas, Flux resumed, the
# source unpaused, no ReplicationDestination and no toolkit pod left
assert_cleaned() {
  local ns=$1 app=$2
  [[ $(field "$ns" deployment "$app" .spec.replicas) == 2 ]] || fail "$app is at $(field "$ns" deployment "$app" .spec.replicas) replicas"
  [[ $(field "$ns" "$KS" apps .spec.suspend) != true ]] || fail "the Kustomization is left suspended"
  [[ $(field "$ns" "$RS" "$app-backup" .spec.paused) != true ]] || fail "the ReplicationSource is left paused"
  [[ $(rd_count "$ns") == 0 ]] || fail "a ReplicationDestination is left"
  [[ $(kc -n "$ns" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq '.items | length') == 0 ]] ||
    fail "a toolkit pod is left"
}

# hint_commands: the command lines of the "finish it by hand" text in $output
hint_commands() {
  sed -n '/^\(error: \)\{0,1\}The clean-up is incomplete. Finish it by hand, in this order:$/,$p' <<<"$output" |
    sed -n 's/^  \(kubectl .*\)$/\1/p'
}

@test "restore from an empty repository is refused before anything changes" {
  make_flux_app rf-empty notes false
  repo_restic rf-empty init >/dev/null
  [[ $(snapshots_json rf-empty) == '[]' ]]
  local state
  state=$(tree_state "$(pvc_dir rf-empty notes-data)")
  watch_app rf-empty
  run -1 vtask volsync:restore APP=notes CLUSTER=e2e YES=true
  assert_line --partial 'the repository has no snapshots the mover can restore'
  assert_line --partial 'nothing was changed'
  assert_untouched rf-empty notes "$state"
}

@test "restore from a repository that does not exist fails on the listing and changes nothing" {
  make_flux_app rf-none notes false
  local state
  state=$(tree_state "$(pvc_dir rf-none notes-data)")
  watch_app rf-none
  run -1 vtask volsync:restore APP=notes CLUSTER=e2e YES=true
  assert_line --partial 'restic could not list the repository of rf-none/notes-backup'
  assert_line --regexp 'Fatal: repository does not exist'
  assert_untouched rf-none notes "$state"
}

@test "snapshots that vanish before the mover runs: NOTHING WAS RESTORED (No eligible snapshots), PVC unchanged, app back" {
  make_flux_app rf-race notes
  change_files "$(pvc_dir rf-race notes-data)" later
  local state
  state=$(tree_state "$(pvc_dir rf-race notes-data)")
  stop_component volsync # the ReplicationDestination waits for us
  spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
  wait_until 90 "the ReplicationDestination" rd_exists rf-race
  # the repository loses every snapshot (a prune elsewhere, an operator...)
  repo_restic rf-race forget $(snapshots_json rf-race | jq -r '.[].id') >/dev/null
  start_component volsync
  wait_job 180
  assert_equal "$status" 1
  assert_line --partial 'NOTHING WAS RESTORED: the mover found no eligible snapshot ("No eligible snapshots found")'
  assert_line --regexp 'No eligible snapshots found'
  [[ $(tree_state "$(pvc_dir rf-race notes-data)") == "$state" ]] || fail "the PVC changed"
  assert_cleaned rf-race notes
}

@test "Ctrl-C while restore lists the snapshots deletes the list pod and changes nothing" {
  make_flux_app rf-int-list notes
  local state
  state=$(tree_state "$(pvc_dir rf-int-list notes-data)")
  watch_app rf-int-list
  stop_component harness # the list pod is never run
  spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
  wait_until 60 "the list pod" list_pod_exists rf-int-list
  interrupt_job
  wait_job
  assert_equal "$status" 130
  assert_line --regexp '^clean-up: delete the list pod rf-int-list/volsync-list-notes-[a-z0-9]{5}: done$'
  assert_untouched rf-int-list notes "$state"
  assert_cleaned rf-int-list notes
}

@test "Ctrl-C while restore waits for the pods to stop scales the app back, resumes Flux and unpauses the source" {
  make_flux_app rf-int-pods notes
  hold_pods rf-int-pods notes
  local state
  state=$(tree_state "$(pvc_dir rf-int-pods notes-data)")
  spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
  wait_until 90 "the pods terminating" terminating rf-int-pods notes
  scaled_to_zero rf-int-pods notes
  [[ $(field rf-int-pods "$KS" apps .spec.suspend) == true ]]
  sleep 1
  job_says 'waiting for notes-data to be released' || fail "not waiting for the pods: $(job_output)"
  interrupt_job
  wait_job
  assert_equal "$status" 130
  assert_line 'clean-up: scale deployment notes back to 2: done'
  assert_line 'clean-up: resume kustomization rf-int-pods/apps: done'
  assert_line 'clean-up: unpause ReplicationSource rf-int-pods/notes-backup: done'
  [[ $(tree_state "$(pvc_dir rf-int-pods notes-data)") == "$state" ]] || fail "the PVC changed"
  assert_cleaned rf-int-pods notes
}

@test "Ctrl-C while restore waits for the mover deletes the ReplicationDestination and restarts the app" {
  make_flux_app rf-int-rd notes
  stop_component volsync # the restore never completes
  spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
  wait_until 90 "the ReplicationDestination" rd_exists rf-int-rd
  sleep 1
  interrupt_job
  wait_job
  assert_equal "$status" 130
  assert_line --partial 'may be PARTIALLY restored'
  assert_line --regexp '^clean-up: delete ReplicationDestination rf-int-rd/notes-restore-[0-9]{14}: done$'
  assert_line 'clean-up: scale deployment notes back to 2: done'
  assert_cleaned rf-int-rd notes
}

@test "the API server stopping while restore waits: a clear error, the exact clean-up commands, and they work" {
  make_flux_app rf-api notes
  stop_component volsync
  spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
  wait_until 90 "the ReplicationDestination" rd_exists rf-api
  sleep 1
  stop_component kube-apiserver
  wait_job 240
  assert_equal "$status" 1
  assert_line --regexp '^error: lost contact with the cluster while waiting for the restore of rf-api/notes-restore-[0-9]{14} \([0-9]+ watches failed in a row\)$'
  assert_line 'error: The clean-up is incomplete. Finish it by hand, in this order:'
  refute_output --partial 'memcache.go'
  local commands
  commands=$(hint_commands)
  # delete the RD first (its mover must stop before the app starts), then the app, Flux, the source
  [[ $(sed -n 1p <<<"$commands") == "kubectl --kubeconfig $E2E_KUBECONFIG delete $RD notes-restore-"*" -n rf-api --ignore-not-found --cascade=foreground" ]] ||
    fail "unexpected first hint: $commands"
  grep -qx "kubectl --kubeconfig $E2E_KUBECONFIG scale deployments.apps notes -n rf-api --replicas=2" <<<"$commands" ||
    fail "no scale-back hint: $commands"
  grep -q "patch $KS apps -n rf-api" <<<"$commands" || fail "no Flux hint: $commands"
  grep -q "patch $RS notes-backup -n rf-api" <<<"$commands" || fail "no unpause hint: $commands"

  start_component kube-apiserver
  [[ $(field rf-api deployment notes .spec.replicas) == 0 ]] || fail "the app is not stopped: the hint was not needed"
  run -0 bash -c "set -e; $commands"
  assert_cleaned rf-api notes
}
