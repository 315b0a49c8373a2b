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

# assert_held NS APP: the restore stopped once its ReplicationDestination existed: that is gone with
# every mover pod of it, but the app stays stopped, Flux suspended and the source paused, and the
# record on the source says held (issue 8 point 1)
assert_held() {
  local ns=$1 app=$2
  [[ $(field "$ns" deployment "$app" .spec.replicas) == 0 ]] || fail "$app was started on a partial PVC"
  [[ $(field "$ns" "$KS" apps .spec.suspend) == true ]] || fail "the Kustomization was resumed"
  [[ $(field "$ns" "$RS" "$app-backup" .spec.paused) == true ]] || fail "the ReplicationSource was unpaused"
  [[ $(rd_count "$ns") == 0 ]] || fail "a ReplicationDestination is left"
  movers_gone "$ns" || fail "a mover pod of the restore is left: $(kc -n "$ns" get pods -o name)"
  field "$ns" "$RS" "$app-backup" '.metadata.annotations["volsync-ops/restore"]' | jq -r .state | grep -qx held ||
    fail "the record does not say held: $(field "$ns" "$RS" "$app-backup" '.metadata.annotations["volsync-ops/restore"]')"
}

# movers_gone NS: no pod of a restore's mover Job is left
movers_gone() {
  [[ $(kc -n "$1" get pods,jobs -o json | jq '[.items[] | select((.metadata.name | startswith("volsync-dst-"))
    or ((.metadata.labels["job-name"] // "") | startswith("volsync-dst-")))] | length') == 0 ]]
}
mover_pod_exists() {
  [[ $(kc -n "$1" get pods -o json | jq '[.items[] | select(.metadata.labels["job-name"] // "" | startswith("volsync-dst-"))] | length') -gt 0 ]]
}

# give_back NS APP: volsync:resume hands the held app back as it is, and nothing is left
give_back() {
  run -0 vtask volsync:resume APP="$2" CLUSTER=e2e YES=true
  assert_line --partial "$2 is given back"
  assert_cleaned "$1" "$2"
  [[ -z $(field "$1" "$RS" "$2-backup" '.metadata.annotations["volsync-ops/restore"]') ]] || fail "the record is left"
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
  assert_line 'clean-up: unpause ReplicationSource rf-int-pods/notes-backup (backups run again): done'
  [[ $(tree_state "$(pvc_dir rf-int-pods notes-data)") == "$state" ]] || fail "the PVC changed"
  assert_cleaned rf-int-pods notes
}

@test "Ctrl-C while restore waits for the mover deletes the ReplicationDestination and HOLDS the app; volsync:resume gives it back" {
  make_flux_app rf-int-rd notes
  stop_component volsync # the restore never completes
  spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
  wait_until 90 "the ReplicationDestination" rd_exists rf-int-rd
  sleep 1
  # a second restore of the same app meanwhile is refused, naming the first, and changes nothing (issue 8.4)
  local rd
  rd=$(kc -n rf-int-rd get "$RD" -o json | jq -r '.items[0].metadata.name')
  run -1 vtask volsync:restore APP=notes CLUSTER=e2e YES=true
  assert_output --partial 'another restore of this app is running'
  assert_output --partial "$rd"
  [[ $(rd_count rf-int-rd) == 1 ]] || fail "the second restore made a ReplicationDestination"
  interrupt_job
  wait_job
  assert_equal "$status" 130
  assert_line --partial 'may be PARTIALLY restored'
  assert_line --regexp '^clean-up: stop and delete ReplicationDestination rf-int-rd/notes-restore-[0-9]{14}: done$'
  refute_line --partial 'clean-up: scale deployment notes back'
  assert_line --partial "task volsync:resume APP=notes NAMESPACE=rf-int-rd CLUSTER=e2e"
  start_component volsync
  assert_held rf-int-rd notes
  # status flags it
  run -1 vtask volsync:status CLUSTER=e2e NAMESPACE=rf-int-rd
  assert_output --partial 'HELD'
  # and doctor: an error (no backup runs), whose fix is the resume command
  run -1 vtask volsync:doctor CLUSTER=e2e NAMESPACE=rf-int-rd
  assert_line --regexp '^ERROR +restore rf-int-rd/notes-backup: HELD by an unfinished restore: the restore of snapshot [0-9a-f]{8} started [0-9-]+ [0-9:]+ UTC by .* stopped( \(.*\))?; notes-data may be partially restored, the app is stopped and no backup runs$'
  assert_line --regexp '^ +fix: restore again, or give the app back as it is: task volsync:resume APP=notes NAMESPACE=rf-int-rd CLUSTER=e2e$'
  # snapshot and snapshot-all name the hold and the resume command, never the unpause one, and change nothing
  local before
  before=$(kc -n rf-int-rd get "$RS" notes-backup -o json | jq -c '{spec, annotations: .metadata.annotations}')
  run -1 vtask volsync:snapshot APP=notes CLUSTER=e2e
  assert_line 'error: rf-int-rd/notes-backup is HELD by an unfinished restore (spec.paused is true): no backup runs until the app is given back. Nothing was changed.'
  assert_line '  task volsync:resume APP=notes NAMESPACE=rf-int-rd CLUSTER=e2e'
  refute_line --partial '"paused":false'
  COLUMNS=200 run -0 --separate-stderr vtask volsync:snapshot-all CLUSTER=e2e NAMESPACE=rf-int-rd
  assert_line --regexp '^rf-int-rd/notes-backup +skipped +- +- +HELD by an unfinished restore: not backed up$'
  [[ $stderr == *'warning: rf-int-rd/notes-backup is HELD by an unfinished restore (notes-data may be partially restored): give the app back with  task volsync:resume APP=notes NAMESPACE=rf-int-rd CLUSTER=e2e'* ]] ||
    fail "no hold warning: $stderr"
  [[ $(kc -n rf-int-rd get "$RS" notes-backup -o json | jq -c '{spec, annotations: .metadata.annotations}') == "$before" ]] ||
    fail "snapshot changed the held source: $(kc -n rf-int-rd get "$RS" notes-backup -o json | jq -c '{spec, annotations: .metadata.annotations}')"
  give_back rf-int-rd notes
}

@test "Ctrl-C with VolSync running, right after the ReplicationDestination exists and once its mover pod exists, 4 rounds: no mover is left, at once" {
  make_flux_app rf-int-live notes
  local round started
  for round in 1 2 3 4; do
    spawn_task volsync:restore APP=notes CLUSTER=e2e YES=true
    if ((round % 2)); then
      wait_until 90 "the ReplicationDestination" rd_exists rf-int-live
    else
      wait_until 90 "the mover pod" mover_pod_exists rf-int-live
    fi
    started=$SECONDS
    interrupt_job
    wait_job 120
    assert_equal "$status" 130
    ((SECONDS - started < 60)) || fail "round $round: the clean-up took $((SECONDS - started))s"
    assert_line --regexp '^clean-up: stop and delete ReplicationDestination rf-int-live/notes-restore-[0-9]{14}: done$'
    # and it stays so: VolSync does not bring the mover back
    sleep 5
    assert_held rf-int-live notes
    give_back rf-int-live notes
    wait_until 90 "the app" deployment_ready rf-int-live notes 2
  done
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
  # only the mover is stopped by hand (the app stays held: its PVC may be partial)
  [[ $(sed -n 1p <<<"$commands") == "kubectl --kubeconfig $E2E_KUBECONFIG patch $RD notes-restore-"*" -n rf-api --type merge -p '{\"spec\":{\"paused\":true}}'" ]] ||
    fail "unexpected first hint: $commands"
  [[ $(sed -n 2p <<<"$commands") == "kubectl --kubeconfig $E2E_KUBECONFIG delete $RD notes-restore-"*" -n rf-api --ignore-not-found --cascade=background" ]] ||
    fail "unexpected second hint: $commands"
  ! grep -q " scale " <<<"$commands" || fail "a scale-back hint: $commands"
  ! grep -q "volsync-ops/restore-" <<<"$commands" || fail "a hint removes the record resume needs: $commands"

  start_component kube-apiserver
  start_component volsync
  [[ $(field rf-api deployment notes .spec.replicas) == 0 ]] || fail "the app is not stopped: the hint was not needed"
  run -0 bash -c "set -e; $commands"
  wait_until 60 "no mover" movers_gone rf-api
  [[ $(field rf-api deployment notes .spec.replicas) == 0 ]] || fail "the app was started"
  give_back rf-api notes
}

@test "a CronJob that mounts the PVC is suspended while the restore runs and put back as found afterwards (issue 8.4)" {
  make_flux_app rf-cron notes
  jq -n '{apiVersion: "batch/v1", kind: "CronJob", metadata: {name: "nightly"},
    spec: {schedule: "0 0 1 1 *", jobTemplate: {spec: {template: {spec: {restartPolicy: "Never",
      containers: [{name: "job", image: "busybox:1.36", volumeMounts: [{name: "data", mountPath: "/data"}]}],
      volumes: [{name: "data", persistentVolumeClaim: {claimName: "notes-data"}}]}}}}}}' | kc -n rf-cron apply -f - >/dev/null
  local before
  before=$(field rf-cron cronjobs.batch nightly .spec.suspend)
  watch_into cron -n rf-cron cronjobs.batch nightly
  sleep 1
  run -0 vtask volsync:restore APP=notes CLUSTER=e2e YES=true
  stop_watches
  assert_line --partial 'cronjob rf-cron/nightly (its pods mount notes-data), resumed afterwards'
  assert_line 'clean-up: resume cronjob rf-cron/nightly: done'
  seen cron 'map(.spec.suspend == true) | any' | grep -qx true || fail "the CronJob was never suspended"
  [[ $(field rf-cron cronjobs.batch nightly .spec.suspend) == "$before" ]] ||
    fail "the CronJob's suspend is $(field rf-cron cronjobs.batch nightly .spec.suspend), not $before as found"
  assert_cleaned rf-cron notes
}
