# Planned kubectl calls of a restore dry run's preview (lib/recover/preview.io.ts),
# for every test that runs a restore with DRY_RUN.
# plan_preview [KUBECTL_PREFIX]: the dry run's preview (lib/recover/preview.io.ts):
# the source, its PVC, who uses it, an idle pod that mounts it read-only,
# restic snapshots, ls and restore --dry-run in it, the pod deleted
PREVIEW_POD='volsync-restore-preview-odoo-?????'
plan_preview() {
  local k=${1:-$K} kw=${2:-$KW}
  stub kubectl \
    "$k $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$k get persistentvolumeclaims odoo-data -n business -o json : cat \"\$FIXTURES/restore/pvc-odoo-data.json\"" \
    "$k get pods -n business -o json : cat \"\$FIXTURES/restore/pods.json\"" \
    "$k create -f - -o json : cat >\"\$STUB_DIR/preview-pod.json\"; render \"\$FIXTURES/pod-list-pending.json\"" \
    "$kw get pod $PREVIEW_POD -n business --watch -o json : render \"\$FIXTURES/pod-list-running.json\"" \
    "$kw exec $PREVIEW_POD -n business -c restic -- restic snapshots --json --no-lock --no-cache : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$kw exec $PREVIEW_POD -n business -c restic -- restic ls --json --no-lock --no-cache 7c2d9e41* : cat \"\$FIXTURES/restic-ls-all.jsonl\"" \
    "$kw exec $PREVIEW_POD -n business -c restic -- restic restore 7c2d9e41* --target /data --dry-run --delete -vv --json --no-lock --no-cache : cat \"\$FIXTURES/restic-restore-dry-run.jsonl\"" \
    "$k delete pod $PREVIEW_POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
}
