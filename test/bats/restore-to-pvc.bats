#!/usr/bin/env bats
# task volsync:restore TO_PVC=<name>: a snapshot into a NEW PVC beside the app;
# the app is not touched, the ReplicationDestination goes, the PVC stays.

setup() {
  load helpers/common
  common_setup
  load helpers/restore
}

RDN_COPY="$RDN"

# the source, its PVC, no PVC of the new name, the snapshot listing
plan_copy_listing() {
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : cat \"\$RF/pvc-odoo-data.json\"" \
    "$K get persistentvolumeclaims ${1:-odoo-copy} -n ${2:-business} -o json : echo 'Error from server (NotFound): persistentvolumeclaims \"x\" not found' >&2; exit 1" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; render \"\$FIXTURES/pod-list-pending.json\"" \
    "$KW get pod $POD -n business --watch -o json : render \"\$FIXTURES/pod-list-pending.json\"; render \"\$FIXTURES/pod-list-succeeded.json\"" \
    "$K logs $POD -n business -c restic : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$K delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
}

# the new PVC and the ReplicationDestination into it, followed to STATUS; then
# the ReplicationDestination paused and deleted
plan_copy_restore() {
  stub kubectl \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pvc.json\"; jq '.status = {phase: \"Pending\"}' \"\$STUB_DIR/pvc.json\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/rd.json\"; rd_object none" \
    "$RD_WATCH : rd_event ADDED none; rd_event MODIFIED syncing; rd_event MODIFIED $1" \
    "$RESTORE_JOBS : exec sleep 30" \
    "$K patch $RD $RDN -n business --type merge -p {\"spec\":{\"paused\":true}} -o json : rd_object $1" \
    "$K delete $RD $RDN -n business --ignore-not-found --wait=false --cascade=background : echo deleted"
}

@test "TO_PVC makes a PVC like the source's, restores into it without asking or touching the app, deletes the ReplicationDestination and keeps the PVC" {
  plan_copy_listing
  plan_copy_restore restored
  # no terminal, no YES: nothing existing is overwritten, nothing is asked
  COLUMNS=120 run -0 restore --to-pvc odoo-copy </dev/null
  unstub kubectl
  assert_line 'Restore into a new PVC (nothing existing is changed; the app keeps running):'
  assert_line '  new PVC       business/odoo-copy: 10Gi, ReadWriteOnce, Filesystem, storage class ceph-block'
  assert_line --regexp '^Restored snapshot 7c2d9e41 of 2026-11-25 20:00:05 UTC into business/odoo-copy, took 42s\. business/odoo-backup, its PVC and its app were not touched\.$'
  assert_line --regexp "^  kubectl --kubeconfig '$KC' run odoo-copy-shell -n business --rm -it --restart=Never --image=restic/restic:0.18.1 '--overrides=.*'$"
  assert_line "  kubectl --kubeconfig '$KC' delete pvc odoo-copy -n business"
  refute_output --partial 'delete the new PVC'
  json_true '.spec == {accessModes: ["ReadWriteOnce"], volumeMode: "Filesystem", storageClassName: "ceph-block", resources: {requests: {storage: "10Gi"}}}' "$STUB_DIR/pvc.json"
  json_true '.spec.restic.destinationPVC == "odoo-copy" and .spec.restic.copyMethod == "Direct" and .spec.restic.repository == "volsync-r2-secret"' "$STUB_DIR/rd.json"
  # no scale, no suspension, no pause: nothing of the app was called
  ! stub_calls kubectl | grep -E ' scale | patch replicationsources| patch (kustom|helm)' || fail "the app was touched: $(stub_calls kubectl)"
}

@test "an existing PVC of that name is refused before anything is created" {
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : cat \"\$RF/pvc-odoo-data.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : cat \"\$RF/pvc-odoo-data.json\""
  run -1 restore --to-pvc odoo-data
  unstub kubectl
  assert_output --partial 'PVC business/odoo-data exists already: TO_PVC must name a new PVC'
  assert_output --partial 'Nothing was changed.'
}

@test "TO_NAMESPACE without the repository Secret stops before any change, naming it; the Secret is never read" {
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : cat \"\$RF/pvc-odoo-data.json\"" \
    "$K get namespace forensics -n forensics -o name : echo namespace/forensics" \
    "$K get secret volsync-r2-secret -n forensics -o name : echo 'Error from server (NotFound): secrets \"volsync-r2-secret\" not found' >&2; exit 1"
  run -1 restore --to-pvc odoo-copy --to-namespace forensics
  unstub kubectl
  assert_output --partial 'namespace forensics lacks what the restore mover needs: Secret volsync-r2-secret.'
}

@test "a restore into the new PVC that fails deletes the ReplicationDestination, then the new PVC" {
  plan_copy_listing
  plan_copy_restore failed
  stub kubectl \
    "$K delete persistentvolumeclaims odoo-copy -n business --ignore-not-found --wait=true --timeout=3m : echo deleted"
  run -1 restore --to-pvc odoo-copy
  unstub kubectl
  assert_output --partial 'clean-up: delete ReplicationDestination business/odoo-restore-'
  assert_output --partial 'clean-up: delete the new PVC business/odoo-copy (the restore into it did not finish): done'
  assert_call_order "$K delete $RD *" "$K delete persistentvolumeclaims odoo-copy *"
}

@test "TO_PVC with KEEP, or TO_NAMESPACE alone, is exit 2 before any kubectl call" {
  run -2 restore --to-pvc odoo-copy --keep
  assert_output --partial 'KEEP (--keep) applies to an in-place restore'
  run -2 restore --to-namespace forensics --yes
  assert_output --partial 'TO_NAMESPACE (--to-namespace) needs TO_PVC (--to-pvc)'
  run -2 restore --to-pvc Odoo_Copy
  assert_output --partial 'TO_PVC (--to-pvc) "Odoo_Copy" is not a valid Kubernetes name'
  unstub kubectl
}
