#!/usr/bin/env bats
# task volsync:restore: list, plan, stop the app, restore, check the mover log,
# and always put everything back.

setup() {
  load helpers/common
  common_setup
  load helpers/restore
}

@test "restore of the latest snapshot stops the app, restores with previous 0, and starts everything again as it was" {
  plan_until_restore
  plan_restore restored
  plan_cleanup
  COLUMNS=120 run -0 restore --yes
  unstub kubectl
  # the plan names the exact snapshot, what stops, what is suspended, and the deletion of extra files
  assert_line --regexp '^  snapshot +7c2d9e41 of 2026-11-25 20:00:05 UTC \(.* ago\)$'
  assert_line --regexp '^ +full id 7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1$'
  assert_line --regexp '^ +selected by previous: 0, as the VolSync mover will$'
  assert_line --regexp '^  PVC +odoo-data \(10Gi\): its data is replaced$'
  assert_line --regexp '^  stop +deployment odoo: 2 -> 0 replicas, then back to 2$'
  assert_line --regexp '^ +statefulset odoo-cron: 1 -> 0 replicas, then back to 1$'
  assert_line --regexp '^ +deployment odoo-report: already at 0 replicas \(left at 0\)$'
  assert_line --regexp '^  suspend +helmrelease business/odoo-cron, resumed afterwards$'
  assert_line --regexp '^ +kustomization flux-system/odoo, resumed afterwards$'
  assert_line --partial 'Files in odoo-data that are not in snapshot 7c2d9e41 will be DELETED'
  assert_line "Restored snapshot 7c2d9e41 of 2026-11-25 20:00:05 UTC into business/odoo-data, took 42s."
  # the ReplicationDestination: Direct into the source's PVC, from its Secret, as its uid
  jq -e '.metadata.name | test("^odoo-restore-[0-9]{14}$")' "$STUB_DIR/rd.json"
  jq -e '.metadata.namespace == "business" and .metadata.labels["app.kubernetes.io/managed-by"] == "volsync-ops"' "$STUB_DIR/rd.json"
  jq -e '.spec.trigger.manual | test("^volsync-ops-restore-[0-9]{8}T[0-9]{6}Z-[a-z0-9]{5}$")' "$STUB_DIR/rd.json"
  jq -e '.spec.restic == {
    repository: "volsync-r2-secret", destinationPVC: "odoo-data", copyMethod: "Direct", previous: 0,
    enableFileDeletion: true, cleanupCachePVC: true,
    moverSecurityContext: {fsGroup: 1000, runAsGroup: 1000, runAsUser: 1000}}' "$STUB_DIR/rd.json"
  # Flux is suspended before anything is scaled, the pods are gone before the restore starts,
  # and the clean-up runs: delete the restore (its mover stops), scale back, resume Flux last
  assert_call_order \
    "$K patch $HR odoo-cron -n business --type merge *" \
    "$K patch $KS odoo -n flux-system --type merge *" \
    "$K scale deployments.apps odoo -n business --current-replicas=2 --replicas=0" \
    "$K scale statefulsets.apps odoo-cron -n business --current-replicas=1 --replicas=0" \
    "$KW get --raw /api/v1/namespaces/business/pods?watch=1*" \
    "$K create -f - -o json" \
    "$K delete $RD *" \
    "$K scale statefulsets.apps odoo-cron -n business --current-replicas=0 --replicas=1" \
    "$K scale deployments.apps odoo -n business --current-replicas=0 --replicas=2" \
    "$K patch $KS odoo -n flux-system --type json *" \
    "$K patch $HR odoo-cron -n business --type json *"
  # suspend and resume patches: resume only while still suspended, putting back what was there
  stub_calls kubectl | grep -Fx -- "$K patch $KS odoo -n flux-system --type merge -p {\"spec\":{\"suspend\":true}} -o json"
  stub_calls kubectl | grep -Fx -- "$K patch $KS odoo -n flux-system --type json -p [{\"op\":\"test\",\"path\":\"/spec/suspend\",\"value\":true},{\"op\":\"remove\",\"path\":\"/spec/suspend\"}] -o json"
  stub_calls kubectl | grep -Fx -- "$K patch $HR odoo-cron -n business --type json -p [{\"op\":\"test\",\"path\":\"/spec/suspend\",\"value\":true},{\"op\":\"replace\",\"path\":\"/spec/suspend\",\"value\":false}] -o json"
}
