#!/usr/bin/env bats
# task volsync:restore DRY_RUN=true: the preview of what the restore would
# change in the live PVC (restic restore --dry-run --delete, read-only), and
# the dry run going on without it when it cannot be made.

setup() {
  load helpers/common
  common_setup
  load helpers/restore
  load helpers/preview
}

plan_dry_run() {
  plan_listing
  plan_users
  stub kubectl "$K create --dry-run=server -f - -o json : cat >\"\$STUB_DIR/rd.json\"; rd_object none"
}

@test "DRY_RUN shows how many files the restore would add, replace and delete, with the first paths, from restic's dry run against the PVC mounted read-only" {
  plan_preview
  plan_dry_run
  run -0 restore --dry-run </dev/null
  unstub kubectl
  assert_line 'The API server accepted it (kubectl create --dry-run=server). Dry run: nothing was changed.'
  assert_line 'What the restore would change in business/odoo-data (restic restore --dry-run --delete of 7c2d9e41 against the live PVC, mounted read-only):'
  assert_line '  add        1 file(s) not in the PVC: sub/b.bin'
  assert_line '  replace    1 file(s) that differ: a.txt'
  assert_line '  delete     3 path(s) not in the snapshot: extra, xdir/q, xdir'
  assert_line '  unchanged  2 file(s)'
  # the pod: the PVC read-only at /data, on the node of the app's running pod
  json_true '.spec.volumes | any(.name == "live" and .persistentVolumeClaim == {"claimName": "odoo-data", "readOnly": true})' "$STUB_DIR/preview-pod.json"
  json_true '.spec.containers[0].volumeMounts | any(.name == "live" and .mountPath == "/data" and .readOnly)' "$STUB_DIR/preview-pod.json"
  json_true '.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values == ["worker-1"]' "$STUB_DIR/preview-pod.json"
}

@test "OUTPUT=json: the preview is a field of the dry run's one JSON document" {
  plan_preview
  plan_dry_run
  run -0 --separate-stderr restore --dry-run --output json </dev/null
  unstub kubectl
  json_true '.dryRun and .preview.compared and .preview.add == {"count": 1, "first": ["sub/b.bin"]} and .preview.delete.count == 3 and .preview.unchanged == 2' <<<"$output"
}

@test "a ReadWriteOncePod PVC in use cannot be mounted beside the app: the preview says so and is skipped, the dry run succeeds" {
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : jq '.status.accessModes = [\"ReadWriteOncePod\"]' \"\$RF/pvc-odoo-data.json\"" \
    "$K get pods -n business -o json : cat \"\$RF/pods.json\""
  plan_dry_run
  run -0 restore --dry-run </dev/null
  unstub kubectl
  assert_line --regexp '^Preview of the changes skipped: odoo-data is ReadWriteOncePod and pod odoo-[a-z0-9-]+ has it: no second pod may mount it\. The dry run goes on without it\.$'
  assert_line 'The API server accepted it (kubectl create --dry-run=server). Dry run: nothing was changed.'
}

@test "restic failing in the preview pod skips the preview; the dry run succeeds and the pod is deleted" {
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : cat \"\$RF/pvc-odoo-data.json\"" \
    "$K get pods -n business -o json : cat \"\$RF/pods.json\"" \
    "$K create -f - -o json : render \"\$FIXTURES/pod-list-pending.json\"" \
    "$KW get pod $PREVIEW_POD -n business --watch -o json : render \"\$FIXTURES/pod-list-running.json\"" \
    "$KW exec $PREVIEW_POD -n business -c restic -- restic snapshots --json --no-lock --no-cache : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$KW exec $PREVIEW_POD -n business -c restic -- restic ls * : cat \"\$FIXTURES/restic-ls-all.jsonl\"" \
    "$KW exec $PREVIEW_POD -n business -c restic -- restic restore * : echo 'Fatal: cannot restore into /data: read-only file system' >&2; exit 1" \
    "$K delete pod $PREVIEW_POD -n business --ignore-not-found --wait=false --grace-period=0 : echo deleted"
  plan_dry_run
  run -0 restore --dry-run </dev/null
  unstub kubectl
  assert_line --partial 'Preview of the changes skipped: it stopped: restic restore --dry-run failed (exit code 1): Fatal: cannot restore into /data: read-only file system.'
}
