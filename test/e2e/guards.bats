#!/usr/bin/env bats
# The restore's guarded put-backs against the real API server (issue 11.1):
# while `task volsync:restore` runs, someone else changes what it will put
# back (the source's pause, a workload's replica count, a Flux object's or a
# CronJob's suspension, the PVC's copy trigger). The restore must leave their
# value alone and say so, with no "clean-up incomplete" false alarm, its usual
# exit code, and nothing else of it left (no ReplicationDestination, no mover,
# no record on the source unless the app is really held).
#
# kube-apiserver 1.35 refuses a JSON patch whose `test` op fails with HTTP 422
# "Invalid" and no detail; `kubectl scale --current-replicas` refuses a count
# that is not the expected one. Either way the object is read again
# (lib/restore/quiesce.io.ts). Each app: Deployment <app> (2 replicas,
# managed by the Flux Kustomization "apps"), PVC <app>-data, ReplicationSource
# <app>-backup (schedule every 8 hours: no backup of its own during a test).

setup_file() {
  load helpers/e2e
  install_flux_crd
  # the CRDs this file installs, it removes afterwards
  crd_present "$HR" || { install_flux_helmrelease_crd && touch "$BATS_FILE_TMPDIR/helmrelease-crd"; }
  crd_present "$SO" || { install_keda_crd && touch "$BATS_FILE_TMPDIR/keda-crd"; }
}

teardown_file() {
  load helpers/e2e
  [[ ! -f $BATS_FILE_TMPDIR/helmrelease-crd ]] || kc delete crd "$HR" --wait=true --timeout=60s >/dev/null 2>&1 || true
  [[ ! -f $BATS_FILE_TMPDIR/keda-crd ]] || kc delete crd "$SO" --wait=true --timeout=60s >/dev/null 2>&1 || true
}

setup() {
  load helpers/e2e
}

teardown() {
  release_finalizers
  e2e_teardown
}

HOLD=e2e.volsync-ops/hold
MARKER=volsync-ops/restore

# hold_object NS RESOURCE NAME: a finalizer keeps it from going once deleted
hold_object() {
  kc -n "$1" patch "$2" "$3" --type merge -p "{\"metadata\":{\"finalizers\":[\"$HOLD\"]}}" >/dev/null
  echo "$1 $2 $3" >>"$BATS_TEST_TMPDIR/held"
}

release_finalizers() {
  [[ -f $BATS_TEST_TMPDIR/held ]] || return 0
  local ns resource name
  while read -r ns resource name; do
    kc -n "$ns" patch "$resource" "$name" --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1 || true
  done <"$BATS_TEST_TMPDIR/held"
  rm -f "$BATS_TEST_TMPDIR/held"
}

rd_count() { kc -n "$1" get "$RD" -o json | jq '.items | length'; }
rd_exists() { [[ $(rd_count "$1") -gt 0 ]]; }
rd_gone() { [[ $(rd_count "$1") == 0 ]]; }
exists() { kc -n "$1" get "$2" "$3" -o name; }
record_of() { field "$1" "$RS" "$2-backup" ".metadata.annotations[\"$MARKER\"]"; }

# movers_gone NS: no Job or pod of a restore's mover is left
movers_gone() {
  [[ $(kc -n "$1" get pods,jobs -o json | jq '[.items[] | select((.metadata.name | startswith("volsync-dst-"))
    or ((.metadata.labels["job-name"] // "") | startswith("volsync-dst-")))] | length') == 0 ]]
}

# restore_waiting NS APP: starts the restore with VolSync stopped; returns
# once its ReplicationDestination exists (the restore then waits for the mover)
restore_waiting() {
  stop_component volsync
  spawn_task volsync:restore APP="$2" CLUSTER=e2e YES=true
  wait_until 90 "the ReplicationDestination" rd_exists "$1"
  sleep 1
}

# restore_finishes: VolSync runs the mover; waits for the restore to end
restore_finishes() {
  start_component volsync
  wait_job 240
}

# assert_restored_quietly NS APP: exit 0, the snapshot restored, no false
# alarm, no ReplicationDestination nor mover nor toolkit pod, no record
assert_restored_quietly() {
  local ns=$1 app=$2
  ((status == 0)) || fail "the restore exited $status: $output"
  assert_line --regexp "^Restored snapshot [0-9a-f]{8} of .* into $ns/$app-data, took [0-9]+s\.$"
  refute_output --partial 'The clean-up is incomplete'
  refute_output --partial 'FAILED'
  refute_line --partial 'but the app is HELD'
  refute_line --partial 'mark the app HELD'
  assert_line --regexp "^clean-up: remove the restore's record from ReplicationSource $ns/$app-backup: done$"
  assert_nothing_left "$ns" "$app"
}

# assert_nothing_left NS APP: no ReplicationDestination, mover, toolkit pod or record
assert_nothing_left() {
  local ns=$1 app=$2
  [[ $(rd_count "$ns") == 0 ]] || fail "a ReplicationDestination is left"
  movers_gone "$ns" || fail "a mover of the restore is left: $(kc -n "$ns" get pods,jobs -o name)"
  [[ $(kc -n "$ns" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq '.items | length') == 0 ]] ||
    fail "a toolkit pod is left"
  [[ -z $(record_of "$ns" "$app") ]] || fail "the record is left: $(record_of "$ns" "$app")"
}

@test "someone unpauses the ReplicationSource while restore waits for the mover: the restore's unpause leaves it alone and says so" {
  make_flux_app gd-pause notes
  restore_waiting gd-pause notes
  [[ $(field gd-pause "$RS" notes-backup .spec.paused) == true ]] || fail "the source is not paused"
  kc -n gd-pause patch "$RS" notes-backup --type merge -p '{"spec":{"paused":false}}' >/dev/null
  restore_finishes
  assert_restored_quietly gd-pause notes
  assert_line 'clean-up: unpause ReplicationSource gd-pause/notes-backup (backups run again): left alone: it is not paused any more (someone unpaused it)'
  assert_line 'clean-up: scale deployment notes back to 2: done'
  assert_line 'clean-up: resume kustomization gd-pause/apps: done'
  # their value, not the restore's (the restore would have removed the field: it had none)
  [[ $(field gd-pause "$RS" notes-backup '.spec | has("paused")') == true ]] || fail "spec.paused was removed"
  [[ $(field gd-pause "$RS" notes-backup .spec.paused) == false ]] || fail "spec.paused: $(field gd-pause "$RS" notes-backup .spec.paused)"
  [[ $(field gd-pause deployment notes .spec.replicas) == 2 ]] || fail "notes is not back at 2 replicas"
}

@test "someone scales the Deployment and the StatefulSet to other counts once the mover is done, while restore stops its ReplicationDestination: their counts stay" {
  make_flux_app gd-scale notes
  create_statefulset gd-scale notes-db notes-data 1 kustomize.toolkit.fluxcd.io/name=apps kustomize.toolkit.fluxcd.io/namespace=gd-scale
  wait_until 60 "StatefulSet notes-db ready" statefulset_ready gd-scale notes-db 1
  # the mover's Job cannot go until we let it: the restore's clean-up then
  # waits for it (after the restore), with the app still at 0. The harness
  # (the Job controller) is stopped once the app's pods are gone, so that the
  # finalizer is there before the mover runs.
  restore_waiting gd-scale notes
  stop_component harness
  start_component volsync
  local job
  wait_until 90 "the mover Job" bash -c "kubectl --kubeconfig '$KUBECONFIG' -n gd-scale get jobs -o name | grep -q volsync-dst-"
  job=$(kc -n gd-scale get jobs -o json | jq -r '.items[] | select(.metadata.name | startswith("volsync-dst-")) | .metadata.name')
  hold_object gd-scale jobs.batch "$job"
  start_component harness
  wait_until 180 "the restore done, its ReplicationDestination deleted" bash -c \
    "grep -q '^Restored snapshot' '$BATS_TEST_TMPDIR/job.out' && [[ \$(kubectl --kubeconfig '$KUBECONFIG' -n gd-scale get $RD -o name) == '' ]]"
  [[ $(field gd-scale deployment notes .spec.replicas) == 0 ]] || fail "notes is not at 0 yet"
  kc -n gd-scale scale deployment notes --replicas=3 >/dev/null
  kc -n gd-scale scale statefulset notes-db --replicas=2 >/dev/null
  release_finalizers
  wait_job 180
  assert_restored_quietly gd-scale notes
  assert_line 'clean-up: scale deployment notes back to 2: left alone: it has 3 replicas now, not 0 (someone changed it during the restore; it had 2)'
  assert_line 'clean-up: scale statefulset notes-db back to 1: left alone: it has 2 replicas now, not 0 (someone changed it during the restore; it had 1)'
  assert_line 'clean-up: resume kustomization gd-scale/apps: done'
  assert_line 'clean-up: unpause ReplicationSource gd-scale/notes-backup (backups run again): done'
  [[ $(field gd-scale deployment notes .spec.replicas) == 3 ]] || fail "notes has $(field gd-scale deployment notes .spec.replicas) replicas"
  [[ $(field gd-scale statefulset notes-db .spec.replicas) == 2 ]] || fail "notes-db has $(field gd-scale statefulset notes-db .spec.replicas) replicas"
}

@test "someone scales the app up while the mover restores: the restore HOLDS it (its pods saw the PVC half written); volsync:resume leaves their count alone" {
  make_flux_app gd-scale-held notes
  restore_waiting gd-scale-held notes
  kc -n gd-scale-held scale deployment notes --replicas=3 >/dev/null
  wait_until 60 "the intruding pods" job_says 'started using notes-data while the mover restores it'
  restore_finishes
  assert_equal "$status" 1
  assert_line --partial 'but the app is HELD: other pods mounted notes-data during the restore'
  refute_output --partial 'The clean-up is incomplete'
  refute_line --partial 'clean-up: scale deployment notes back'
  [[ $(field gd-scale-held deployment notes .spec.replicas) == 3 ]] || fail "the restore changed their count"
  record_of gd-scale-held notes | jq -r .state | grep -qx held || fail "the record does not say held: $(record_of gd-scale-held notes)"

  run -0 vtask volsync:resume APP=notes CLUSTER=e2e YES=true
  assert_line 'scale deployment notes back to 2: left alone: it has 3 replicas now, not 0 (someone changed it during the restore; it had 2)'
  assert_line 'resume kustomization gd-scale-held/apps: done'
  assert_line 'unpause ReplicationSource gd-scale-held/notes-backup (backups run again): done'
  assert_line --partial 'notes is given back'
  refute_output --partial 'FAILED'
  [[ $(field gd-scale-held deployment notes .spec.replicas) == 3 ]] || fail "resume changed their count"
  assert_nothing_left gd-scale-held notes
}

@test "someone resumes the Flux Kustomization and HelmRelease while restore waits for the mover: the restore's resume leaves both alone" {
  make_flux_app gd-flux notes
  create_helmrelease gd-flux notes
  kc -n gd-flux label deployment notes helm.toolkit.fluxcd.io/name=notes helm.toolkit.fluxcd.io/namespace=gd-flux >/dev/null
  restore_waiting gd-flux notes
  [[ $(field gd-flux "$KS" apps .spec.suspend) == true ]] || fail "the Kustomization is not suspended"
  [[ $(field gd-flux "$HR" notes .spec.suspend) == true ]] || fail "the HelmRelease is not suspended"
  # as `flux resume` does (suspend: false), and by removing the field
  kc -n gd-flux patch "$KS" apps --type merge -p '{"spec":{"suspend":false}}' >/dev/null
  kc -n gd-flux patch "$HR" notes --type json -p '[{"op":"remove","path":"/spec/suspend"}]' >/dev/null
  restore_finishes
  assert_restored_quietly gd-flux notes
  assert_line 'clean-up: resume kustomization gd-flux/apps: left alone: it is not suspended any more (someone resumed it)'
  assert_line 'clean-up: resume helmrelease gd-flux/notes: left alone: it is not suspended any more (someone resumed it)'
  assert_line 'clean-up: scale deployment notes back to 2: done'
  assert_line 'clean-up: unpause ReplicationSource gd-flux/notes-backup (backups run again): done'
  # their values: false stays false (the restore would have removed the field: it had none)
  [[ $(field gd-flux "$KS" apps '.spec | has("suspend")') == true && $(field gd-flux "$KS" apps .spec.suspend) == false ]] ||
    fail "Kustomization: $(field gd-flux "$KS" apps .spec)"
  [[ $(field gd-flux "$HR" notes '.spec | has("suspend")') == false ]] || fail "HelmRelease: $(field gd-flux "$HR" notes .spec)"
}

@test "someone resumes the CronJob while restore waits for the mover: the restore's resume leaves it alone" {
  make_flux_app gd-cron notes
  jq -n '{apiVersion: "batch/v1", kind: "CronJob", metadata: {name: "nightly"},
    spec: {schedule: "0 0 1 1 *", jobTemplate: {spec: {template: {spec: {restartPolicy: "Never",
      containers: [{name: "job", image: "busybox:1.36", volumeMounts: [{name: "data", mountPath: "/data"}]}],
      volumes: [{name: "data", persistentVolumeClaim: {claimName: "notes-data"}}]}}}}}}' | kc -n gd-cron apply -f - >/dev/null
  restore_waiting gd-cron notes
  [[ $(field gd-cron cronjobs.batch nightly .spec.suspend) == true ]] || fail "the CronJob is not suspended"
  kc -n gd-cron patch cronjobs.batch nightly --type merge -p '{"spec":{"suspend":false}}' >/dev/null
  restore_finishes
  assert_restored_quietly gd-cron notes
  assert_line 'clean-up: resume cronjob gd-cron/nightly: left alone: it is not suspended any more (someone resumed it)'
  assert_line 'clean-up: scale deployment notes back to 2: done'
  [[ $(field gd-cron cronjobs.batch nightly .spec.suspend) == false ]] || fail "suspend: $(field gd-cron cronjobs.batch nightly .spec.suspend)"
}

@test "copyMethod Snapshot: someone replaces the restore's copy trigger on the PVC while restore waits: it is left alone" {
  COPY_METHOD=Snapshot make_flux_app gd-copy notes
  restore_waiting gd-copy notes
  [[ $(field gd-copy pvc notes-data '.metadata.annotations["volsync.backube/use-copy-trigger"]') == held-by-volsync-ops-restore ]] ||
    fail "the PVC's copies are not held: $(field gd-copy pvc notes-data .metadata.annotations)"
  kc -n gd-copy annotate pvc notes-data volsync.backube/use-copy-trigger=theirs --overwrite >/dev/null
  restore_finishes
  assert_restored_quietly gd-copy notes
  assert_line 'clean-up: let VolSync copy PVC gd-copy/notes-data again (remove the copy trigger the restore set): left alone: its volsync.backube/use-copy-trigger annotation is not the restore'"'"'s any more (someone changed it)'
  assert_line 'clean-up: unpause ReplicationSource gd-copy/notes-backup (backups run again): done'
  [[ $(field gd-copy pvc notes-data '.metadata.annotations["volsync.backube/use-copy-trigger"]') == theirs ]] ||
    fail "the PVC's annotations: $(field gd-copy pvc notes-data .metadata.annotations)"
}

@test "someone unpauses the KEDA ScaledObject while restore waits for the mover: the restore's unpause leaves it alone" {
  make_flux_app gd-keda notes
  jq -n '{apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", metadata: {name: "notes"},
    spec: {scaleTargetRef: {name: "notes"}, minReplicaCount: 1, maxReplicaCount: 4,
           triggers: [{type: "cron", metadata: {timezone: "UTC", start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "2"}}]}}' |
    kc -n gd-keda apply -f - >/dev/null
  restore_waiting gd-keda notes
  [[ $(field gd-keda "$SO" notes ".metadata.annotations[\"$KEDA_PAUSE\"]") == true ]] || fail "the ScaledObject is not paused"
  kc -n gd-keda annotate "$SO" notes "$KEDA_PAUSE=false" --overwrite >/dev/null
  restore_finishes
  assert_restored_quietly gd-keda notes
  assert_line 'clean-up: unpause scaledobject gd-keda/notes (KEDA): left alone: it is not paused any more (someone unpaused it)'
  assert_line 'clean-up: scale deployment notes back to 2: done'
  [[ $(field gd-keda "$SO" notes ".metadata.annotations[\"$KEDA_PAUSE\"]") == false ]] ||
    fail "the ScaledObject's annotations: $(field gd-keda "$SO" notes .metadata.annotations)"
}
