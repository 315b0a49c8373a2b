#!/usr/bin/env bats
# task volsync:restore: list, plan, stop the app, restore, check the mover log,
# and always put everything back.

setup() {
  load helpers/common
  common_setup
  load helpers/restore
  load helpers/preview
}

@test "restore of the latest snapshot stops the app, pins the snapshot, and starts everything again as it was" {
  plan_until_restore
  plan_restore restored
  plan_cleanup
  COLUMNS=120 run -0 restore --yes
  unstub kubectl
  # the plan names the exact snapshot, what stops, what is suspended, and the deletion of extra files
  assert_line --regexp '^  snapshot +7c2d9e41 of 2026-11-25 20:00:05 UTC \(.* ago\)$'
  assert_line --regexp '^ +full id 7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1$'
  assert_line --regexp '^ +selected by restoreAsOf: 2026-11-25T20:00:05Z, previous: 0: exactly this snapshot, as the VolSync mover will$'
  assert_line --regexp '^  PVC +odoo-data \(10Gi\): its data is replaced$'
  assert_line --regexp '^  stop +deployment odoo: 2 -> 0 replicas, then back to 2$'
  assert_line --regexp '^ +statefulset odoo-cron: 1 -> 0 replicas, then back to 1$'
  assert_line --regexp '^ +deployment odoo-report: already at 0 replicas \(left at 0\)$'
  assert_line --regexp '^  suspend +helmrelease business/odoo-cron, resumed afterwards$'
  assert_line --regexp '^ +kustomization flux-system/odoo, resumed afterwards$'
  assert_line --partial 'Files in odoo-data that are not in snapshot 7c2d9e41 will be DELETED'
  assert_line "Restored snapshot 7c2d9e41 of 2026-11-25 20:00:05 UTC into business/odoo-data, took 42s."
  # the ReplicationDestination: Direct into the source's PVC, from its Secret, as its uid
  json_true '.metadata.name | test("^odoo-restore-[0-9]{14}$")' "$STUB_DIR/rd.json"
  json_true '.metadata.namespace == "business" and .metadata.labels["app.kubernetes.io/managed-by"] == "volsync-ops"' "$STUB_DIR/rd.json"
  json_true '.spec.trigger.manual | test("^volsync-ops-restore-[0-9]{8}T[0-9]{6}Z-[a-z0-9]{5}$")' "$STUB_DIR/rd.json"
  json_true '.spec.restic == {
    repository: "volsync-r2-secret", destinationPVC: "odoo-data", copyMethod: "Direct", previous: 0,
    restoreAsOf: "2026-11-25T20:00:05Z", enableFileDeletion: true, cleanupCachePVC: true,
    moverSecurityContext: {fsGroup: 1000, runAsGroup: 1000, runAsUser: 1000}}' "$STUB_DIR/rd.json"
  # the record comes first, the backups are held, Flux is suspended before anything is scaled, the pods
  # are gone before the restore starts, and the clean-up runs: stop and delete the restore (its mover
  # stops), scale back, resume Flux, release the backups, remove the record last
  assert_call_order \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type merge -p {\"metadata\":{\"resourceVersion\":*" \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type merge -p {\"spec\":{\"paused\":true}} -o json" \
    "$K patch persistentvolumeclaims odoo-data -n business --type merge *" \
    "$K patch $HR odoo-cron -n business --type merge *" \
    "$K patch $KS odoo -n flux-system --type merge *" \
    "$K scale deployments.apps odoo -n business --current-replicas=2 --replicas=0" \
    "$K scale statefulsets.apps odoo-cron -n business --current-replicas=1 --replicas=0" \
    "$KW get --raw /api/v1/namespaces/business/pods?watch=1*" \
    "$K get replicationsources.volsync.backube odoo-backup -n business -o json" \
    "$K create -f - -o json" \
    "$K patch $RD odoo-restore-* -n business --type merge -p {\"spec\":{\"paused\":true}} -o json" \
    "$K delete $RD * --cascade=background" \
    "$K get --raw /api/v1/namespaces/business/pods?labelSelector=job-name*" \
    "$K scale statefulsets.apps odoo-cron -n business --current-replicas=0 --replicas=1" \
    "$K scale deployments.apps odoo -n business --current-replicas=0 --replicas=2" \
    "$K patch $KS odoo -n flux-system --type json *" \
    "$K patch $HR odoo-cron -n business --type json *" \
    "$K patch persistentvolumeclaims odoo-data -n business --type json *" \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type json -p *\"path\":\"/spec/paused\"*" \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type json -p *\"op\":\"remove\",\"path\":\"$MARKER_PATH\"*"
  # the record in the cluster: how things were, so that resume can give the app back from any machine
  marker_value | json_true --slurpfile rd "$STUB_DIR/rd.json" '.v == 1 and .state == "running" and .token == $rd[0].spec.trigger.manual
    and .destination == $rd[0].metadata.name and .pvc == "odoo-data" and (.by | test("@"))
    and .snapshot.id == "7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1"
    and .hold == {paused: null,
      copyTrigger: ["volsync.backube/use-copy-trigger", "volsync.backube/latest-copy-status", "volsync.backube/latest-copy-trigger-waiting-since"],
      flux: [{kind: "HelmRelease", name: "odoo-cron", namespace: "business", suspendWasSet: true},
             {kind: "Kustomization", name: "odoo", namespace: "flux-system", suspendWasSet: false}],
      cronJobs: [], scaledObjects: [],
      workloads: [{kind: "Deployment", name: "odoo", replicas: 2}, {kind: "Deployment", name: "odoo-report", replicas: 0},
                  {kind: "StatefulSet", name: "odoo-cron", replicas: 1}]}'
  # copyMethod Snapshot: VolSync's copies are held by its copy trigger, released with what VolSync added meanwhile
  json_true '. == [
    {op: "test", path: "/metadata/annotations/volsync.backube~1use-copy-trigger", value: "held-by-volsync-ops-restore"},
    {op: "remove", path: "/metadata/annotations/volsync.backube~1use-copy-trigger"},
    {op: "remove", path: "/metadata/annotations/volsync.backube~1latest-copy-status"}]' "$STUB_DIR/copies-released.json"
  # suspend and resume patches: resume only while still suspended, putting back what was there
  stub_calls kubectl | grep -Fx -- "$K patch $KS odoo -n flux-system --type merge -p {\"spec\":{\"suspend\":true}} -o json"
  stub_calls kubectl | grep -Fx -- "$K patch $KS odoo -n flux-system --type json -p [{\"op\":\"test\",\"path\":\"/spec/suspend\",\"value\":true},{\"op\":\"remove\",\"path\":\"/spec/suspend\"}] -o json"
  stub_calls kubectl | grep -Fx -- "$K patch $HR odoo-cron -n business --type json -p [{\"op\":\"test\",\"path\":\"/spec/suspend\",\"value\":true},{\"op\":\"replace\",\"path\":\"/spec/suspend\",\"value\":false}] -o json"
}

@test "SNAPSHOT=1 restores the snapshot before the latest, pinned at its second (an offset would shift with a new backup)" {
  plan_until_restore
  plan_restore restored 4b1e6f2a
  plan_cleanup
  run -0 restore --yes --snapshot 1
  unstub kubectl
  assert_line --regexp '^  snapshot +4b1e6f2a of 2026-11-25 12:00:07 UTC '
  assert_line --regexp '^ +selected by restoreAsOf: 2026-11-25T12:00:07Z, previous: 0: exactly this snapshot, as the VolSync mover will$'
  json_true '.spec.restic.previous == 0 and .spec.restic.restoreAsOf == "2026-11-25T12:00:07Z"' "$STUB_DIR/rd.json"
  assert_line 'Restored snapshot 4b1e6f2a of 2026-11-25 12:00:07 UTC into business/odoo-data, took 42s.'
}

@test "SNAPSHOT=<short id> restores that snapshot through restoreAsOf at its second, with previous 0" {
  plan_until_restore
  plan_restore restored 9a8b7c6d
  plan_cleanup
  run -0 restore --yes --snapshot 9a8b7c6d
  unstub kubectl
  assert_line --regexp '^  snapshot +9a8b7c6d of 2026-11-25 04:00:09 UTC '
  assert_line --regexp '^ +selected by restoreAsOf: 2026-11-25T04:00:09Z, previous: 0: exactly this snapshot, as the VolSync mover will$'
  json_true '.spec.restic.restoreAsOf == "2026-11-25T04:00:09Z" and .spec.restic.previous == 0' "$STUB_DIR/rd.json"
  assert_line 'Restored snapshot 9a8b7c6d of 2026-11-25 04:00:09 UTC into business/odoo-data, took 42s.'
}

@test "SNAPSHOT=<full id> is looked up like a short one" {
  plan_until_restore
  plan_restore restored 4b1e6f2a
  plan_cleanup
  run -0 restore --yes --snapshot 4b1e6f2a9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f
  unstub kubectl
  json_true '.spec.restic.restoreAsOf == "2026-11-25T12:00:07Z" and .spec.restic.previous == 0' "$STUB_DIR/rd.json"
}

@test "SNAPSHOT=<RFC 3339 time> restores the newest snapshot at or before it, whatever its time zone, pinned at that snapshot's second" {
  plan_until_restore
  plan_restore restored 9a8b7c6d
  plan_cleanup
  # 13:00+01:00 is 12:00:00Z, seven seconds before the 12:00:07 snapshot: the 04:00:09 one is chosen
  run -0 restore --yes --snapshot 2026-11-25T13:00:00+01:00
  unstub kubectl
  assert_line --regexp '^  snapshot +9a8b7c6d of 2026-11-25 04:00:09 UTC '
  json_true '.spec.restic.restoreAsOf == "2026-11-25T04:00:09Z" and .spec.restic.previous == 0' "$STUB_DIR/rd.json"
}

@test "an unknown snapshot id is an error that shows the newest snapshots, and nothing is changed" {
  plan_listing
  run -1 restore --yes --snapshot deadbeef
  unstub kubectl
  assert_line 'error: no snapshot with id deadbeef in the repository. Nothing was changed.'
  assert_line 'Newest snapshots:'
  assert_line '  7c2d9e41  2026-11-25T20:00:05.998877665Z'
  assert_line '  9a8b7c6d  2026-11-25T04:00:09.481736155Z'
}

@test "an offset beyond the oldest snapshot is an error, and nothing is changed" {
  plan_listing
  run -1 restore --yes --snapshot 3
  unstub kubectl
  assert_line --regexp '^error: SNAPSHOT=3 is out of range: .*offsets 0 to 2.* Nothing was changed\.$'
}

@test "without a terminal and without YES, restore refuses with exit 2 before any kubectl call" {
  run -2 restore </dev/null
  unstub kubectl
  assert_output --partial 'error: restore replaces the data in the PVC and needs a confirmation, but there is no terminal to ask on. Nothing was changed.'
  assert_output --partial 'DRY_RUN=true'
  run -2 run_task volsync:restore APP=odoo CLUSTER=apps KUBECONFIG="$KC" </dev/null
  run -2 run_task volsync:restore APP=odoo CLUSTER=apps KUBECONFIG="$KC" YES= </dev/null
  run -2 run_task volsync:restore APP=odoo CLUSTER=apps KUBECONFIG="$KC" YES=false </dev/null
  unstub kubectl
}

@test "DRY_RUN prints the plan and the manifest, has the server validate it, and changes nothing" {
  plan_preview
  plan_listing
  plan_users
  stub kubectl "$K create --dry-run=server -f - -o json : cat >\"\$STUB_DIR/rd.json\"; rd_object none"
  run -0 restore --dry-run </dev/null
  unstub kubectl
  assert_line 'Dry run: the restore would do this (nothing has changed yet):'
  assert_line --regexp '^  stop +deployment odoo: 2 -> 0 replicas, then back to 2$'
  assert_line 'kind: ReplicationDestination'
  assert_line '    copyMethod: Direct'
  assert_line '    enableFileDeletion: true'
  assert_line 'The API server accepted it (kubectl create --dry-run=server). Dry run: nothing was changed.'
  json_true '.spec.restic.destinationPVC == "odoo-data" and .spec.restic.previous == 0' "$STUB_DIR/rd.json"
  # unstub proved it: the listing pod was the only thing created (and deleted); no patch, no scale
}

@test "OUTPUT=json with YES prints the plan and the outcome as one JSON document alone on stdout" {
  plan_until_restore
  plan_restore restored
  plan_cleanup
  run -0 --separate-stderr restore --yes --output json
  unstub kubectl
  json_true '.cluster == "apps" and .namespace == "business" and .source == "business/odoo-backup" and .pvc == "odoo-data"' <<<"$output"
  json_true '.snapshot.shortId == "7c2d9e41" and .previous == 0 and .restoreAsOf == "2026-11-25T20:00:05Z"' <<<"$output"
  json_true '.restored == true and .restoredSnapshot == "7c2d9e41" and .durationSeconds == 42 and .ok == true and .dryRun == false and .held == false' <<<"$output"
  json_true '[.workloads[] | "\(.kind)/\(.name)=\(.replicas)"] == ["Deployment/odoo=2", "Deployment/odoo-report=0", "StatefulSet/odoo-cron=1"]' <<<"$output"
  json_true --arg rd "$(jq -r .metadata.name "$STUB_DIR/rd.json")" '.destination == $rd' <<<"$output"
  # the plan and the clean-up went to stderr
  [[ $stderr == *'Files in odoo-data that are not in snapshot 7c2d9e41 will be DELETED'* ]]
  [[ $stderr == *'clean-up: scale deployment odoo back to 2: done'* ]]
}

@test "OUTPUT=json with DRY_RUN prints the plan and the manifest as JSON, and changes nothing" {
  plan_preview
  plan_listing
  plan_users
  stub kubectl "$K create --dry-run=server -f - -o json : cat >\"\$STUB_DIR/rd.json\"; rd_object none"
  run -0 --separate-stderr restore --dry-run --output json </dev/null
  unstub kubectl
  json_true '.dryRun == true and .restored == false and .ok == true and .message == "dry run: nothing was changed"' <<<"$output"
  json_true '.manifest.kind == "ReplicationDestination" and .manifest.spec.restic.enableFileDeletion == true' <<<"$output"
  json_true --slurpfile rd "$STUB_DIR/rd.json" '.manifest == $rd[0]' <<<"$output"
}

@test "OUTPUT=json without YES or DRY_RUN is refused with exit 2 before any kubectl call" {
  run -2 run_task volsync:restore APP=odoo CLUSTER=apps KUBECONFIG="$KC" OUTPUT=json
  unstub kubectl
  assert_output --partial 'OUTPUT=json (--output json) prints no plan to confirm: add YES=true (--yes) to restore'
}

# assert_held: the app was left held: only the ReplicationDestination went, nothing else was put back,
# the record says held, and the two ways on are printed for this cluster
assert_held() {
  assert_line --partial 'odoo-data may be PARTIALLY restored'
  assert_line --partial 'The app is HELD, so that nothing starts on that data and no backup captures it'
  assert_line "  task volsync:restore APP=odoo NAMESPACE=business SNAPSHOT=7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1 CLUSTER=apps KUBECONFIG='$KC'"
  assert_line "  task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps KUBECONFIG='$KC'"
  assert_line --regexp '^clean-up: stop and delete ReplicationDestination business/odoo-restore-[0-9]{14}: done$'
  assert_line --regexp '^clean-up: mark the app HELD on ReplicationSource business/odoo-backup: done \(it stopped before its mover finished: .*\)$'
  refute_line --partial 'clean-up: scale'
  refute_line --partial 'clean-up: resume'
  refute_line --partial 'clean-up: unpause'
  refute_line --partial 'clean-up: let VolSync copy'
  held_record | json_true '.state == "held" and (.reason | startswith("it stopped before its mover finished: "))'
}

@test "a failed mover stops the wait, shows its log, and HOLDS the app: nothing starts on the partial PVC" {
  plan_until_restore
  plan_restore failed
  plan_held
  run -1 restore --yes
  unstub kubectl
  assert_line --regexp '^error: the mover of business/odoo-restore-[0-9]{14} failed \(VolSync keeps retrying it; stopped waiting\)\. Its log:$'
  assert_line 'ERROR: failure connecting to repository, incorrect password'
  assert_held
}

@test "a restore whose mover fails all 8 attempts exits 1 with its log, and the app is held" {
  # each failed attempt is said as it happens; the Job at its backoffLimit ends
  # the wait, whether or not VolSync's Failed record has come by yet
  local attempts=''
  for n in 1 2 3 4 5 6 7; do attempts+="dst_job_event MODIFIED $n; "; done
  plan_until_restore
  stub kubectl \
    "$K create -f - -o json : cat >\"\$STUB_DIR/rd.json\"; rd_object none" \
    "$RD_WATCH : rd_event ADDED none; rd_event MODIFIED syncing; exec sleep 30" \
    "$RESTORE_JOBS : dst_job_event ADDED 0; $attempts dst_job_event MODIFIED 8; exec sleep 30"
  plan_movers
  dst_reads 7
  dst_gone
  plan_held
  run -1 restore --yes --timeout 30s
  unstub kubectl
  assert_line --regexp '^business/odoo-restore-[0-9]{14}: mover attempt 1 of 8 failed; VolSync retries it \(it reports Failed after 8\)\. Its log ends:$'
  assert_line '    Fatal: wrong password or no key found'
  assert_line --regexp '^business/odoo-restore-[0-9]{14}: mover attempt 7 of 8 failed; VolSync retries it \(it reports Failed after 8\); same log as the attempt before$'
  assert_line --regexp '^error: the mover of business/odoo-restore-[0-9]{14} failed \(Job volsync-dst-odoo-restore-[0-9]{14} failed 8 of 8 attempts; VolSync keeps retrying it with a new Job; stopped waiting\)\. Its log:$'
  assert_line 'ERROR: failure connecting to repository, incorrect password'
  assert_held
}

@test "No eligible snapshots in the mover log is a failure, although VolSync reports success" {
  plan_until_restore
  plan_restore no-eligible
  plan_cleanup
  run -1 restore --yes
  unstub kubectl
  assert_line --partial 'error: NOTHING WAS RESTORED: the mover found no eligible snapshot ("No eligible snapshots found"), although VolSync reports success.'
  assert_line '=== No data will be restored ==='
  refute_line --partial 'PARTIALLY'
  assert_line --regexp '^clean-up: resume kustomization flux-system/odoo: done$'
}

@test "with OUTPUT=json, a restore that restored nothing prints ok false and restored false, and exits 1" {
  plan_until_restore
  plan_restore no-eligible
  plan_cleanup
  run -1 --separate-stderr restore --yes --output json
  unstub kubectl
  json_true '.ok == false and .restored == false and .restoredSnapshot == null' <<<"$output"
  json_true '.message | startswith("NOTHING WAS RESTORED: the mover found no eligible snapshot")' <<<"$output"
  [[ $stderr == *'error: NOTHING WAS RESTORED'* ]]
}

@test "with OUTPUT=json, a failed mover prints ok false, restored false, pvcMayBePartial true and held true, and exits 1" {
  plan_until_restore
  plan_restore failed
  plan_held
  run -1 --separate-stderr restore --yes --output json
  unstub kubectl
  json_true '.ok == false and .restored == false and .restoredSnapshot == null and .pvcMayBePartial == true and .held == true' <<<"$output"
  json_true '.message | test("^the mover of business/odoo-restore-[0-9]{14} failed")' <<<"$output"
  json_true '.snapshot.shortId == "7c2d9e41" and .pvc == "odoo-data"' <<<"$output"
  [[ $stderr == *'odoo-data may be PARTIALLY restored'* ]]
  [[ $stderr != *'clean-up: scale deployment'* ]]
}

@test "a ReplicationDestination the API server refuses: exit 1, no partial-restore warning, pvcMayBePartial false, and everything is put back" {
  plan_until_restore
  stub kubectl "$K create -f - -o json : echo 'Error from server (Forbidden): replicationdestinations.volsync.backube is forbidden: exceeded quota' >&2; exit 1"
  plan_cleanup_no_rd
  run -1 --separate-stderr restore --yes --output json
  unstub kubectl
  json_true '.ok == false and .restored == false and .pvcMayBePartial == false and .held == false' <<<"$output"
  json_true '.message | test("exceeded quota")' <<<"$output"
  [[ $stderr != *'PARTIALLY'* ]] || fail "a restore that never started is not partial: $stderr"
  [[ $stderr == *'clean-up: scale deployment odoo back to 2: done'* ]]
  [[ $stderr == *'clean-up: resume helmrelease business/odoo-cron: done'* ]]
}

@test "a ReplicationDestination create without an answer (a timeout after the request was sent) is treated as created: the app is held" {
  plan_until_restore
  stub kubectl "$K create -f - -o json : cat >\"\$STUB_DIR/rd.json\"; echo 'Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)' >&2; exit 1"
  plan_held
  run -1 restore --yes
  unstub kubectl
  assert_line --partial 'error: kubectl create -f - -o json failed: Unable to connect to the server'
  assert_held
}

@test "Initialize Dir in the mover log means the repository was wrong, and is a failure" {
  plan_until_restore
  plan_restore initialized
  plan_cleanup
  run -1 restore --yes
  unstub kubectl
  assert_line --partial 'error: NOTHING WAS RESTORED: the mover found no repository and created a new, empty one ("Initialize Dir").'
  assert_line --partial 'Check RESTIC_REPOSITORY'
}

@test "a mover that restored another snapshot than planned is reported loudly with exit 1, and the app is held" {
  plan_until_restore
  plan_restore restored 4b1e6f2a
  plan_held
  run -1 restore --yes
  unstub kubectl
  assert_line --partial 'error: THE MOVER RESTORED A DIFFERENT SNAPSHOT: planned 7c2d9e41 (2026-11-25T20:00:05.998877665Z), restored 4b1e6f2a.'
  assert_line 'warning: odoo-data holds snapshot 4b1e6f2a, not the one planned.'
  held_record | json_true '.state == "held" and .reason == "the mover restored snapshot 4b1e6f2a instead of the planned one"'
  refute_line --partial 'clean-up: scale'
}

@test "KEEP=true keeps the ReplicationDestination of a finished restore and says how to delete it" {
  plan_until_restore
  plan_restore restored
  plan_scale_back
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_removed
  run -0 restore --yes --keep
  unstub kubectl
  assert_line --regexp '^KEEP=true: kept ReplicationDestination business/odoo-restore-[0-9]{14} \(its sync is done; it will not run again\)\. Delete it with:$'
  assert_line --regexp "^  kubectl --kubeconfig .*kube config.* delete $RD odoo-restore-[0-9]{14} -n business$"
  assert_line --partial '(kept afterwards: KEEP=true)'
  refute_line --partial 'clean-up: stop and delete ReplicationDestination'
}

@test "KEEP=true still deletes a ReplicationDestination whose restore did not finish" {
  plan_until_restore
  plan_restore failed
  plan_held
  run -1 restore --yes --keep
  unstub kubectl
  assert_line --partial 'KEEP=true: the ReplicationDestination is deleted anyway'
  assert_line --regexp '^clean-up: stop and delete ReplicationDestination business/odoo-restore-[0-9]{14}: done$'
}

@test "when the ReplicationDestination of an unfinished restore cannot be deleted, the app stays held and the commands that stop it are printed, and work" {
  plan_until_restore
  plan_restore failed
  stub kubectl \
    "$K patch $RD $RDN -n business --type merge -p {\"spec\":{\"paused\":true}} -o json : rd_object none | jq '.spec.paused = true'" \
    "$K get --raw /apis/batch/v1/namespaces/business/jobs?fieldSelector=metadata.name%3Dvolsync-dst-$RDN : echo \"\$EMPTY_LIST\"" \
    "$K delete $RD $RDN -n business --ignore-not-found --wait=false --cascade=background : echo 'Error from server (Forbidden): replicationdestinations.volsync.backube is forbidden: User cannot delete' >&2; exit 1"
  plan_marker_held
  run -1 restore --yes
  unstub kubectl
  assert_line --regexp '^clean-up: stop and delete ReplicationDestination business/odoo-restore-[0-9]{14}: FAILED: .*forbidden'
  assert_line --regexp '^clean-up: mark the app HELD on ReplicationSource business/odoo-backup: done'
  refute_line --partial 'clean-up: scale'
  assert_line 'error: The clean-up is incomplete. Finish it by hand, in this order:'
  local manual
  manual=$(sed -n '/Finish it by hand/,$p' <<<"$output" | grep -E '^  kubectl')
  [[ $(wc -l <<<"$manual") == 3 ]] || fail "expected 3 commands: $manual"
  assert_ends_with "$(sed -n 1p <<<"$manual")" " patch $RD $(jq -r .metadata.name "$STUB_DIR/rd.json") -n business --type merge -p '{\"spec\":{\"paused\":true}}'"
  assert_regex "$(sed -n 2p <<<"$manual")" " delete $RD odoo-restore-[0-9]{14} -n business --ignore-not-found --cascade=background$"
  assert_regex "$(sed -n 3p <<<"$manual")" " get jobs.batch,pods -n business -l job-name=volsync-dst-odoo-restore-[0-9]{14}   # wait until none is left$"
  # and they work as printed, in a POSIX shell too (the kubeconfig path has a space in it)
  stub kubectl \
    "--kubeconfig $KC patch $RD $RDN -n business --type merge -p {\"spec\":{\"paused\":true}} : true" \
    "--kubeconfig $KC delete $RD $RDN -n business --ignore-not-found --cascade=background : true" \
    "--kubeconfig $KC get jobs.batch,pods -n business -l job-name=volsync-dst-$RDN : true"
  sh -ec "$manual"
  unstub kubectl
}

@test "when the record cannot be marked held, the hand commands keep it (resume reads it), and never remove it" {
  plan_until_restore
  plan_restore failed
  plan_delete_rd
  stub kubectl \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type json -p *\"op\":\"replace\",\"path\":\"$MARKER_PATH\"* -o json : echo 'Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout' >&2; exit 1"
  run -1 restore --yes
  unstub kubectl
  assert_line --regexp '^clean-up: mark the app HELD on ReplicationSource business/odoo-backup: FAILED: .*i/o timeout'
  assert_line 'error: The clean-up is incomplete. Finish it by hand, in this order:'
  assert_line "  # nothing to run here: the record stays; once the steps above are done, give the app back with: task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps KUBECONFIG='$KC'"
  refute_output --partial 'volsync-ops/restore-'
  refute_line --partial 'clean-up: scale'
}

@test "a clean-up after a finished restore starts the app even when the ReplicationDestination cannot be deleted (its mover is done); the record stays for resume to finish" {
  plan_until_restore
  plan_restore restored
  stub kubectl \
    "$K patch $RD $RDN -n business --type merge -p {\"spec\":{\"paused\":true}} -o json : echo 'Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout' >&2; exit 1"
  plan_scale_back
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_held
  run -1 restore --yes
  unstub kubectl
  assert_line 'clean-up: scale deployment odoo back to 2: done'
  assert_line 'clean-up: mark the app HELD on ReplicationSource business/odoo-backup: done (its clean-up did not finish: resume finishes it)'
  assert_line 'error: The clean-up is incomplete. Finish it by hand, in this order:'
  assert_line --regexp "^  kubectl --kubeconfig .* delete $RD odoo-restore-[0-9]{14} -n business --ignore-not-found --cascade=background$"
}

@test "a workload scaled by someone else during the restore is left as they set it, and that is said (no failure)" {
  plan_until_restore
  plan_restore restored
  plan_delete_rd
  stub kubectl \
    "$K scale statefulsets.apps odoo-cron -n business --current-replicas=0 --replicas=1 : echo statefulset.apps/odoo-cron scaled" \
    "$K scale deployments.apps odoo -n business --current-replicas=0 --replicas=2 : echo 'error: Expected replicas to be 0, was 3' >&2; exit 1" \
    "$K get deployments.apps odoo -n business -o json : jq '.items[0] | .spec.replicas = 3' \"\$RF/apps.json\""
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_removed
  run -0 restore --yes
  unstub kubectl
  assert_line 'clean-up: scale deployment odoo back to 2: left alone: it has 3 replicas now, not 0 (someone changed it during the restore; it had 2)'
  refute_line --partial 'clean-up is incomplete'
}

@test "a workload whose replica count changed after the plan is not scaled, and the rest is put back" {
  plan_listing
  plan_users
  plan_marker
  plan_pause
  plan_copies_held
  plan_suspend
  stub kubectl \
    "$K scale deployments.apps odoo -n business --current-replicas=2 --replicas=0 : echo deployment.apps/odoo scaled" \
    "$K scale statefulsets.apps odoo-cron -n business --current-replicas=1 --replicas=0 : echo 'error: Expected replicas to be 1, was 3' >&2; exit 1" \
    "$K get statefulsets.apps odoo-cron -n business -o json : jq '.items[3] | .spec.replicas = 3' \"\$RF/apps.json\"" \
    "$K scale deployments.apps odoo -n business --current-replicas=0 --replicas=2 : echo deployment.apps/odoo scaled"
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_removed
  run -1 restore --yes
  unstub kubectl
  assert_line 'error: statefulset odoo-cron has 3 replicas now, not 1 as in the plan (an autoscaler, or someone else, changed it): it was not scaled. Run the restore again.'
  assert_line 'clean-up: scale deployment odoo back to 2: done'
  refute_line --partial 'clean-up: scale statefulset odoo-cron'
}

@test "a kubectl scale that fails for another reason than the count reports kubectl's own error" {
  plan_listing
  plan_users
  plan_marker
  plan_pause
  plan_copies_held
  plan_suspend
  stub kubectl \
    "$K scale deployments.apps odoo -n business --current-replicas=2 --replicas=0 : echo 'Error from server (Forbidden): deployments.apps \"odoo\" is forbidden: User \"ops\" cannot patch resource \"deployments/scale\"' >&2; exit 1" \
    "$K get deployments.apps odoo -n business -o json : jq '.items[0]' \"\$RF/apps.json\"" \
    "$K scale deployments.apps odoo -n business --current-replicas=0 --replicas=2 : echo 'error: Expected replicas to be 0, was 2' >&2; exit 1" \
    "$K get deployments.apps odoo -n business -o json : jq '.items[0]' \"\$RF/apps.json\""
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_removed
  run -1 restore --yes
  unstub kubectl
  assert_line --regexp '^error: kubectl scale deployments.apps odoo .* failed: Error from server \(Forbidden\): .*cannot patch resource "deployments/scale"$'
  refute_line --partial 'replicas now'
  assert_line 'clean-up: scale deployment odoo back to 2: already at 2'
}

@test "a Flux object that someone resumed during the restore is left alone (the API server's bare 422 for a refused guard is read back), and that is no error" {
  plan_until_restore
  plan_restore restored
  plan_delete_rd
  plan_scale_back
  # the answer kube-apiserver 1.35 gives a JSON patch whose test op fails (recorded on the e2e tier)
  stub kubectl \
    "$K patch $KS odoo -n flux-system --type json -p * -o json : cat \"\$RF/guard-refused.stderr\" >&2; exit 1" \
    "$K get $KS odoo -n flux-system -o json : cat \"\$RF/kustomization-odoo.json\"" \
    "$K patch $HR odoo-cron -n business --type json -p * -o json : cat \"\$RF/guard-refused.stderr\" >&2; exit 1" \
    "$K get $HR odoo-cron -n business -o json : jq '.spec.suspend = true' \"\$RF/helmrelease-odoo-cron.json\""
  plan_copies_released
  plan_unpause
  plan_marker_held
  run -1 restore --yes
  unstub kubectl
  # the Kustomization is not suspended any more: left alone; the HelmRelease still is: a real failure
  assert_line 'clean-up: resume kustomization flux-system/odoo: left alone: it is not suspended any more (someone resumed it)'
  assert_line --regexp '^clean-up: resume helmrelease business/odoo-cron: FAILED: .*the server rejected our request'
  assert_line --regexp "^  kubectl --kubeconfig .* patch $HR odoo-cron -n business --type merge -p .*suspend.*false"
}

@test "a source someone unpaused during the restore is left alone" {
  plan_until_restore
  plan_restore restored
  plan_delete_rd
  plan_scale_back
  plan_resume
  plan_copies_released
  stub kubectl \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type json -p *\"path\":\"/spec/paused\"* -o json : cat \"\$RF/guard-refused.stderr\" >&2; exit 1" \
    "$K get replicationsources.volsync.backube odoo-backup -n business -o json : jq '.items[0]' \"\$STUB_DIR/rs.json\""
  plan_marker_removed
  run -0 restore --yes
  unstub kubectl
  assert_line 'clean-up: unpause ReplicationSource business/odoo-backup (backups run again): left alone: it is not paused any more (someone unpaused it)'
}

@test "the ReplicationSource is paused during the restore and unpaused afterwards, after the app and Flux" {
  plan_until_restore
  plan_restore restored
  plan_cleanup
  run -0 restore --yes
  unstub kubectl
  assert_line 'pausing ReplicationSource business/odoo-backup (no backup during the restore)'
  assert_line 'clean-up: unpause ReplicationSource business/odoo-backup (backups run again): done'
  assert_call_order "$K patch replicationsources.volsync.backube odoo-backup * --type merge -p {\"spec\"*" "$K patch $HR * --type merge *" \
    "$K create -f - -o json" "$K patch $HR * --type json *" "$K patch replicationsources.volsync.backube odoo-backup * --type json -p *\"/spec/paused\"*"
}

@test "a ReplicationSource that is paused already is left paused" {
  plan_until_restore
  # drop the pause planned by plan_until_restore: this source is paused already
  sed -i '/"paused":true}} -o json/d' "$STUB_DIR/kubectl.plan"
  sed -i 's|render "$FIXTURES/rs-odoo.json" \| tee|render "$FIXTURES/rs-odoo.json" \| jq ".items[0].spec.paused = true" \| tee|' "$STUB_DIR/kubectl.plan"
  plan_restore restored
  plan_delete_rd
  plan_scale_back
  plan_resume
  plan_copies_released
  plan_marker_removed
  run -0 restore --yes
  unstub kubectl
  assert_line --regexp '^  backups +ReplicationSource business/odoo-backup: paused already, left paused'
  assert_line 'ReplicationSource business/odoo-backup is paused already: left paused'
  refute_line --partial 'unpause'
  marker_value | json_true '.hold.paused == true'
}

@test "a Flux object that was already suspended is left suspended" {
  plan_listing
  plan_marker
  plan_pause
  plan_copies_held
  plan_unpause
  plan_writers
  stub kubectl \
    "$K get pods -n business -o json : cat \"\$RF/pods.json\"" \
    "$K get deployments.apps,statefulsets.apps,replicasets.apps -n business -o json : cat \"\$RF/apps.json\"" \
    "$K get $HR odoo-cron -n business -o json : jq '.spec.suspend = true' \"\$RF/helmrelease-odoo-cron.json\"" \
    "$K get $KS odoo -n flux-system -o json : cat \"\$RF/kustomization-odoo.json\"" \
    "$K patch $KS odoo -n flux-system --type merge -p * -o json : jq '.spec.suspend = true' \"\$RF/kustomization-odoo.json\""
  plan_scale_down
  plan_pods_stop
  plan_window
  plan_restore restored
  plan_delete_rd
  plan_scale_back
  plan_copies_released
  plan_marker_removed
  stub kubectl "$K patch $KS odoo -n flux-system --type json -p * -o json : cat \"\$RF/kustomization-odoo.json\""
  run -0 restore --yes
  unstub kubectl
  assert_line --regexp '^  left as is +helmrelease business/odoo-cron: already suspended: left as it is$'
  refute_line --partial 'resume helmrelease'
}

@test "a workload managed by a Flux object that does not exist is restored without suspending anything" {
  plan_listing
  plan_marker
  plan_pause
  plan_copies_held
  plan_unpause
  plan_writers
  stub kubectl \
    "$K get pods -n business -o json : cat \"\$RF/pods.json\"" \
    "$K get deployments.apps,statefulsets.apps,replicasets.apps -n business -o json : cat \"\$RF/apps.json\"" \
    "$K get $HR odoo-cron -n business -o json : echo 'Error from server (NotFound): helmreleases.helm.toolkit.fluxcd.io \"odoo-cron\" not found' >&2; exit 1" \
    "$K get $KS odoo -n flux-system -o json : echo 'error: the server doesn'\''t have a resource type \"kustomizations\"' >&2; exit 1"
  plan_scale_down
  plan_pods_stop
  plan_window
  plan_restore restored
  plan_delete_rd
  plan_scale_back
  plan_copies_released
  plan_marker_removed
  run -0 restore --yes
  unstub kubectl
  assert_line --regexp '^  left as is +helmrelease business/odoo-cron: it does not exist: nothing to suspend$'
  assert_line --regexp '^ +kustomization flux-system/odoo: Flux Kustomization is not installed on this cluster: nothing to suspend$'
}

@test "pods that no Deployment or StatefulSet runs block the restore before anything changes" {
  plan_listing
  stub kubectl \
    "$K get pods -n business -o json : jq '.items += [.items[0] | .metadata.name = \"odoo-migrate-x8k2p\" | .metadata.ownerReferences = [{apiVersion: \"batch/v1\", kind: \"Job\", name: \"odoo-migrate\", uid: \"3c4d5e6f-0000-4a1b-8c2d-3e4f5a6b7c8d\", controller: true, blockOwnerDeletion: true}]]' \"\$RF/pods.json\"" \
    "$K get deployments.apps,statefulsets.apps,replicasets.apps -n business -o json : cat \"\$RF/apps.json\""
  run -1 restore --yes
  unstub kubectl
  assert_line 'error: odoo-data is in use by pods that no Deployment or StatefulSet runs, so this tool cannot stop them:'
  assert_line '  pod odoo-migrate-x8k2p (Job odoo-migrate)'
  assert_line 'Nothing was changed.'
}

@test "a missing PVC is an error before anything is listed or changed" {
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : echo 'Error from server (NotFound): persistentvolumeclaims \"odoo-data\" not found' >&2; exit 1"
  run -1 restore --yes
  unstub kubectl
  assert_line --partial 'error: PVC business/odoo-data (spec.sourcePVC of business/odoo-backup) does not exist'
}

@test "TIMEOUT ends the wait for the restore with exit 1, and the app is held" {
  plan_until_restore
  stub kubectl \
    "$K create -f - -o json : cat >\"\$STUB_DIR/rd.json\"; rd_object none" \
    "$RD_WATCH : rd_event ADDED none; rd_event MODIFIED syncing; exec sleep 30" \
    "$RESTORE_JOBS : exec sleep 30"
  plan_movers
  plan_held
  run -1 restore --yes --timeout 3s
  unstub kubectl
  assert_line --regexp '^error: timed out after [0-9]+s waiting for the restore of business/odoo-restore-[0-9]{14}$'
  assert_held
}

# --- confirmation on a terminal

# on_terminal ANSWER CMD...: run CMD on a pseudo-terminal (util-linux script) and type ANSWER
on_terminal() {
  local answer=$1
  shift
  # the terminal holds the typed line until the script reads it
  printf '%s\n' "$answer" | /usr/bin/script -qefc "$(printf '%q ' "$@")" /dev/null
}

@test "on a terminal, restore asks, and anything but yes changes nothing" {
  plan_listing
  plan_users
  run -1 on_terminal n "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/restore.ts" --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output --partial 'Restore business/odoo-data from snapshot 7c2d9e41? [y/N]'
  assert_output --partial 'Not confirmed: nothing was changed.'
}

@test "on a terminal, answering y restores" {
  plan_until_restore
  plan_restore restored
  plan_cleanup
  run -0 on_terminal y "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/restore.ts" --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output --partial 'Restored snapshot 7c2d9e41 of 2026-11-25 20:00:05 UTC into business/odoo-data, took 42s.'
}

@test "on a terminal, Ctrl-C at the question changes nothing and exits 130" {
  plan_listing
  stub kubectl \
    "$K get pods -n business -o json : cat \"\$RF/pods.json\"" \
    "$K get deployments.apps,statefulsets.apps,replicasets.apps -n business -o json : cat \"\$RF/apps.json\"" \
    "$K get $HR odoo-cron -n business -o json : cat \"\$RF/helmrelease-odoo-cron.json\"" \
    "$K get $KS odoo -n flux-system -o json : cat \"\$RF/kustomization-odoo.json\"; touch \"\$STUB_DIR/read\""
  plan_writers
  # type Ctrl-C (the terminal turns it into SIGINT) once the plan is being printed
  # (started as the Taskfile starts it: see spawn_script)
  run -130 bash -c '
    { for _ in {1..200}; do [[ -e $STUB_DIR/read ]] && break; sleep 0.1; done; sleep 1; printf "\003"; sleep 1; } |
      /usr/bin/script -qefc "$(printf "%q " "$@")" /dev/null' _ \
    node "$ROOT/bin/run.mjs" "$ROOT/scripts/restore.ts" --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output --partial '[y/N]'
  assert_output --partial 'interrupted at the confirmation question'
}

# --- Ctrl-C: nothing is left behind

@test "Ctrl-C while listing deletes the listing pod, changes nothing else, and exits 130" {
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : cat \"\$RF/pvc-odoo-data.json\"" \
    "$K create -f - -o json : render \"\$FIXTURES/pod-list-pending.json\"" \
    "$KW get pod $POD -n business --watch -o json : render \"\$FIXTURES/pod-list-running.json\"; exec sleep 30" \
    "$K delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
  spawn_restore --yes
  interrupt_at "$KW get pod $POD -n business --watch -o json"
  unstub kubectl
  assert_equal "$status" 130
  assert_line --partial 'clean-up: delete the list pod business/volsync-list-odoo-'
}

@test "Ctrl-C while waiting for the pods to stop scales the app back and resumes Flux, creates no ReplicationDestination, and exits 130" {
  plan_stuck_at_pods
  spawn_restore --yes
  interrupt_at "$KW get --raw /api/v1/namespaces/business/pods?watch=1*"
  unstub kubectl
  assert_equal "$status" 130
  assert_line 'interrupted while waiting for the pods using business/odoo-data to stop'
  assert_line 'clean-up: scale deployment odoo back to 2: done'
  assert_line 'clean-up: resume helmrelease business/odoo-cron: done'
  refute_line --partial 'creating ReplicationDestination'
  refute_line --partial 'clean-up: delete ReplicationDestination'
}

@test "with OUTPUT=json, Ctrl-C while waiting for the pods to stop prints ok false with pvcMayBePartial false, and exits 130" {
  plan_stuck_at_pods
  # job.out gets stdout alone
  spawn_job bash -c 'exec node "$ROOT/bin/run.mjs" "$ROOT/scripts/restore.ts" "${@:2}" 2>"$1"' _ "$TEST_DIR/job.err" \
    --kubeconfig "$KC" --cluster apps --app odoo --yes --output json
  interrupt_at "$KW get --raw /api/v1/namespaces/business/pods?watch=1*"
  unstub kubectl
  assert_equal "$status" 130
  json_true '.ok == false and .restored == false and .pvcMayBePartial == false' <<<"$output"
  json_true '.message == "interrupted while waiting for the pods using business/odoo-data to stop"' <<<"$output"
  grep -qx 'clean-up: resume helmrelease business/odoo-cron: done' "$TEST_DIR/job.err"
}

@test "Ctrl-C while the mover restores stops and deletes the ReplicationDestination, HOLDS the app, says the PVC may be partial, and exits 130" {
  plan_until_restore
  stub kubectl \
    "$K create -f - -o json : cat >\"\$STUB_DIR/rd.json\"; rd_object none" \
    "$RD_WATCH : rd_event ADDED none; rd_event MODIFIED syncing; exec sleep 30" \
    "$RESTORE_JOBS : exec sleep 30"
  plan_movers
  plan_held
  spawn_restore --yes
  interrupt_at "$RD_WATCH"
  unstub kubectl
  assert_equal "$status" 130
  assert_held
  # the mover is stopped first (paused), then its ReplicationDestination goes, then the record says held
  assert_call_order "$K patch $RD * --type merge *" "$K delete $RD * --cascade=background" \
    "$K get --raw /api/v1/namespaces/business/pods?labelSelector=job-name*" \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type json -p *\"op\":\"replace\",\"path\":\"$MARKER_PATH\"*"
  held_record | json_true '.reason == "it stopped before its mover finished: interrupted (Ctrl-C)"'
}

@test "Ctrl-C through task while the mover restores leaves no mover behind, holds the app, and exits 130" {
  plan_until_restore
  stub kubectl \
    "$K create -f - -o json : cat >\"\$STUB_DIR/rd.json\"; rd_object none" \
    "$RD_WATCH : rd_event ADDED none; rd_event MODIFIED syncing; exec sleep 30" \
    "$RESTORE_JOBS : exec sleep 30"
  plan_movers
  plan_held
  spawn_restore_task YES=true
  interrupt_at "$RD_WATCH"
  unstub kubectl
  assert_equal "$status" 130
  assert_held
}

@test "Ctrl-C through task while listing leaves nothing behind and exits 130" {
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : cat \"\$RF/pvc-odoo-data.json\"" \
    "$K create -f - -o json : render \"\$FIXTURES/pod-list-pending.json\"" \
    "$KW get pod $POD -n business --watch -o json : render \"\$FIXTURES/pod-list-running.json\"; exec sleep 30" \
    "$K delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
  spawn_restore_task YES=true
  interrupt_at "$KW get pod $POD -n business --watch -o json"
  unstub kubectl
  assert_equal "$status" 130
}

@test "Ctrl-C through task while waiting for the pods to stop leaves nothing behind and exits 130" {
  plan_stuck_at_pods
  spawn_restore_task YES=true
  interrupt_at "$KW get --raw /api/v1/namespaces/business/pods?watch=1*"
  unstub kubectl
  assert_equal "$status" 130
  assert_line 'clean-up: resume kustomization flux-system/odoo: done'
}

# --- variables

@test "task volsync:restore passes every variable to the script" {
  plan_until_restore "$(rs_in business)"
  plan_restore restored 4b1e6f2a
  plan_scale_back
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_removed
  run -0 run_task volsync:restore APP=odoo CLUSTER=apps NAMESPACE=business KUBECONFIG="$KC" SNAPSHOT=1 YES=true KEEP=true TIMEOUT=10m
  unstub kubectl
  json_true '.spec.restic.restoreAsOf == "2026-11-25T12:00:07Z" and .spec.restic.previous == 0' "$STUB_DIR/rd.json"
  assert_line --partial 'KEEP=true: kept ReplicationDestination'
}

@test "a bad value of any variable is rejected with exit 2 before any kubectl call" {
  local bad=(
    'APP=Odoo' 'APP=odoo;id' 'APP=../odoo' 'APP=odoo app' "APP=\$(id)" "APP=$(printf 'a%.0s' {1..41})"
    'CLUSTER=apps/x' 'CLUSTER=-apps' 'NAMESPACE=Business' "NAMESPACE=biz'ness" 'NAMESPACE=a{b}'
    'SNAPSHOT=-1' 'SNAPSHOT=1.5' 'SNAPSHOT=7c2d9e4' 'SNAPSHOT=7C2D9E41' 'SNAPSHOT=latest' 'SNAPSHOT=2026-13-01T00:00:00Z'
    'SNAPSHOT=2026-11-25 12:00:00' 'SNAPSHOT={{.APP}}' $'SNAPSHOT=1\n2'
    'YES=yes' 'YES=1' 'YES=TRUE' 'DRY_RUN=y' 'DRY_RUN=on' 'KEEP=no' 'KEEP= true'
    'TIMEOUT=10' 'TIMEOUT=-1s' 'TIMEOUT=1d' 'TIMEOUT=0s' 'TIMEOUT=200h'
  )
  local var
  for var in "${bad[@]}"; do
    run run_task volsync:restore APP=odoo CLUSTER=apps KUBECONFIG="$KC" YES=true "$var"
    [[ $status == 2 ]] || fail "task volsync:restore $var: exit $status, not 2: $output"
    assert_output --partial "${var%%=*}"
  done
  for var in --yes=1 --keep=yes --dry-run=no; do
    run script restore --kubeconfig "$KC" --cluster apps --app odoo "$var"
    [[ $status == 2 ]] || fail "restore $var: exit $status, not 2: $output"
  done
  unstub kubectl
}

@test "a KEDA ScaledObject of the app is paused during the restore and its pause annotation put back as found (\"false\")" {
  jq -n '{kind: "List", apiVersion: "v1", metadata: {resourceVersion: "93100"}, items: [{apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject",
    metadata: {name: "odoo-scaler", namespace: "business", resourceVersion: "93101", annotations: {"autoscaling.keda.sh/paused": "false"}},
    spec: {scaleTargetRef: {name: "odoo"}}}]}' >"$STUB_DIR/so-list.json"
  plan_listing
  stub kubectl \
    "$K get pods -n business -o json : cat \"\$RF/pods.json\"" \
    "$K get deployments.apps,statefulsets.apps,replicasets.apps -n business -o json : cat \"\$RF/apps.json\"" \
    "$K get $HR odoo-cron -n business -o json : cat \"\$RF/helmrelease-odoo-cron.json\"" \
    "$K get $KS odoo -n flux-system -o json : cat \"\$RF/kustomization-odoo.json\"" \
    "$K get cronjobs.batch -n business -o json : cat \"\$FIXTURES/empty-list.json\"" \
    "$K get scaledobjects.keda.sh -n business -o json : cat \"\$STUB_DIR/so-list.json\""
  plan_marker
  plan_pause
  plan_copies_held
  plan_suspend
  stub kubectl \
    "$K patch scaledobjects.keda.sh odoo-scaler -n business --type merge -p {\"metadata\":{\"annotations\":{\"autoscaling.keda.sh/paused\":\"true\"}}} -o json : jq '.items[0] | .metadata.annotations[\"autoscaling.keda.sh/paused\"] = \"true\"' \"\$STUB_DIR/so-list.json\""
  plan_scale_down
  plan_pods_stop
  plan_window
  plan_restore restored
  plan_delete_rd
  plan_scale_back
  stub kubectl \
    "$K patch scaledobjects.keda.sh odoo-scaler -n business --type json -p * -o json : printf '%s' \"\${@: -3:1}\" >\"\$STUB_DIR/so-unpause.json\"; jq '.items[0]' \"\$STUB_DIR/so-list.json\""
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_removed
  COLUMNS=120 run -0 restore --yes
  unstub kubectl
  assert_line --regexp '^  pause +scaledobject business/odoo-scaler \(KEDA, scales deployment odoo\), unpaused afterwards$'
  assert_line 'clean-up: unpause scaledobject business/odoo-scaler (KEDA): done'
  # only while the pause is still ours, back to the value found
  json_true '. == [{op: "test", path: "/metadata/annotations/autoscaling.keda.sh~1paused", value: "true"},
    {op: "replace", path: "/metadata/annotations/autoscaling.keda.sh~1paused", value: "false"}]' "$STUB_DIR/so-unpause.json"
  marker_value | json_true '.hold.scaledObjects == [{name: "odoo-scaler", pausedWas: "false"}]'
}
