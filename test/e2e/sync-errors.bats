#!/usr/bin/env bats
# Waits see VolSync's errors (issue 8.5). A sync VolSync cannot go on with
# (source PVC missing, repository Secret missing) shows in the Synchronizing
# condition with reason Error and is retried for ever: every wait shows the
# message and ends with exit 1 once it has lasted ERROR_GRACE, instead of
# running out the clock. And a wait that does time out says what really
# happened.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

trigger_of() { kc -n "$1" get "$RS" "$2" -o json | jq -cS '.spec.trigger // {}'; }
no_pods() { [[ $(kc -n "$1" get pods -l "app=$2" -o json | jq '.items | length') == 0 ]]; }
rd_exists() { [[ $(kc -n "$1" get "$RD" -o json | jq '.items | length') -gt 0 ]]; }
deployment_scaled_down() { [[ $(field "$1" deployment "$2" .spec.replicas) == 0 ]] && no_pods "$1" "$2"; }

# drop_pvc NS APP: the app's Deployment and PVC are deleted (the PVC is gone for good)
drop_pvc() {
  kc -n "$1" delete deployment "$2" --wait=true >/dev/null
  wait_until 60 "the pods of $1/$2 gone" no_pods "$1" "$2"
  kc -n "$1" delete pvc "$2-data" --wait=true --timeout=60s >/dev/null
}

@test "snapshot of a source whose PVC is gone: VolSync's error is shown and ends the wait after ERROR_GRACE (exit 1), the trigger is removed" {
  make_app se-pvc erp
  drop_pvc se-pvc erp
  SECONDS=0
  run -1 vtask volsync:snapshot APP=erp CLUSTER=e2e ERROR_GRACE=10s TIMEOUT=5m
  ((SECONDS < 120)) || fail "the wait took ${SECONDS}s: it ran out the clock"
  assert_line 'se-pvc/erp-backup: VolSync reports an error: PersistentVolumeClaim "erp-data" not found (it retries; waiting stops if the error lasts 10s)'
  assert_line --regexp '^error: backup of se-pvc/erp-backup: VolSync reports an error for 1[0-9]s: PersistentVolumeClaim "erp-data" not found \(VolSync keeps retrying this sync; stopped waiting\)$'
  assert_line --partial 'clean-up: remove the manual trigger of se-pvc/erp-backup (its schedule applies again): removed'
  [[ $(trigger_of se-pvc erp-backup) == "{\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger: $(trigger_of se-pvc erp-backup)"
}

@test "unlock of a source whose repository Secret is gone: VolSync's error ends the wait after ERROR_GRACE (exit 1)" {
  make_app se-secret crm
  kc -n se-secret delete secret volsync-r2-secret >/dev/null
  SECONDS=0
  run -1 vtask volsync:unlock APP=crm CLUSTER=e2e ERROR_GRACE=10s TIMEOUT=5m
  ((SECONDS < 120)) || fail "the wait took ${SECONDS}s: it ran out the clock"
  assert_line 'se-secret/crm-backup: VolSync reports an error: Secret "volsync-r2-secret" not found (it retries; waiting stops if the error lasts 10s)'
  assert_line --regexp '^error: unlock of se-secret/crm-backup: VolSync reports an error for 1[0-9]s: Secret "volsync-r2-secret" not found \(VolSync keeps retrying this sync; stopped waiting\)$'
  [[ $(trigger_of se-secret crm-backup) == "{\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger: $(trigger_of se-secret crm-backup)"
}

@test "snapshot-all: the source VolSync reports an error for fails alone after ERROR_GRACE, with the message; the other is backed up" {
  only_sources
  make_app se-all-ok alpha
  make_app se-all-bad beta
  drop_pvc se-all-bad beta
  SECONDS=0
  COLUMNS=250 run -1 vtask volsync:snapshot-all CLUSTER=e2e ERROR_GRACE=10s TIMEOUT=5m
  ((SECONDS < 240)) || fail "the wait took ${SECONDS}s: it ran out the clock"
  assert_line --regexp '^se-all-ok/alpha-backup +ok +'
  assert_line --regexp '^se-all-bad/beta-backup +FAILED +- +- +VolSync reports an error for 1[0-9]s: PersistentVolumeClaim "beta-data" not found'
  assert_line '1 backed up, 1 failed (cluster e2e)'
}

@test "TIMEOUT with the VolSync controller stopped says that no sync ran (and none will: the trigger is removed)" {
  make_app se-stopped erp
  stop_component volsync
  run -1 vtask volsync:snapshot APP=erp CLUSTER=e2e TIMEOUT=10s
  assert_line 'error: timed out after 10s waiting for the snapshot of se-stopped/erp-backup'
  assert_line --regexp '^VolSync had not started the sync for our trigger \(token volsync-ops-snapshot-[0-9TZ]+-[a-z0-9]{5}\) when waiting stopped \(is its controller running\?\)\. No sync ran for it, and none will: the trigger is gone again\. Its trigger was removed: the schedule applies again\.$'
  refute_output --partial 'completes it on its own'
  refute_output --partial 'had not finished'
  [[ $(trigger_of se-stopped erp-backup) == "{\"schedule\":\"$SCHEDULE\"}" ]] || fail "trigger: $(trigger_of se-stopped erp-backup)"
}

@test "restore: the repository Secret deleted while its ReplicationDestination waits: VolSync's error ends the restore (exit 1) long before TIMEOUT" {
  make_app se-restore odoo
  # the mover must not run before the Secret is gone: once the app is scaled
  # down (the harness deletes its pods), the harness is stopped
  spawn_task volsync:restore APP=odoo CLUSTER=e2e YES=true ERROR_GRACE=20s TIMEOUT=8m
  wait_until 120 "the app scaled down" deployment_scaled_down se-restore odoo
  stop_component harness
  wait_until 60 "the ReplicationDestination created" rd_exists se-restore
  kc -n se-restore delete secret volsync-r2-secret >/dev/null
  SECONDS=0
  # VolSync looks again within a minute (InProgress requeues after 1m), then ERROR_GRACE (20s)
  wait_until 300 "the restore ending on VolSync's error" job_says 'VolSync reports an error for 2'
  ((SECONDS < 240)) || fail "the restore saw VolSync's error only ${SECONDS}s after the Secret was deleted"
  # the mover pods may be deleted again now (the clean-up waits for them)
  start_component harness
  wait_job 420
  assert_equal "$status" 1
  assert_line --regexp '^se-restore/odoo-restore-[0-9]+: VolSync reports an error: Secret "volsync-r2-secret" not found \(it retries; waiting stops if the error lasts 20s\)$'
  assert_output --regexp 'the restore of se-restore/odoo-restore-[0-9]+: VolSync reports an error for 2[0-9]s: Secret "volsync-r2-secret" not found'
  refute_output --partial 'timed out'
}
