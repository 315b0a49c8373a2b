#!/usr/bin/env bats
# task volsync:verify: restic restore --verify (or restic check) in an idle
# restic pod through kubectl exec, the CHECK in a second container that sees
# the data read-only, the result recorded on the ReplicationSource; and
# status reading it (table, attention, Prometheus).

setup() {
  load helpers/common
  common_setup
}

POD='volsync-verify-odoo-?????'
FIND="get --raw /apis/volsync.backube/v1alpha1/replicationsources?limit=1000"
DELETE="delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
EXEC="exec $POD -n business -c"
SUMMARY='{"message_type":"summary","total_files":1600,"files_restored":1600,"total_bytes":852000000,"bytes_restored":852000000}'
export SUMMARY

as_pod() {
  render "$FIXTURES/$1" | sed "s/\"name\": \"POD\"/\"name\": \"$(jq -r .metadata.name "$STUB_DIR/pod.json")\"/" |
    jq '.status.containerStatuses |= [.[0], (.[0] | .name = "check")]'
}
export -f as_pod

plan_session() {
  stub kubectl \
    "$K $FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json" \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-running.json" \
    "$KW $EXEC restic -- restic snapshots --json --no-lock --no-cache : cat \"\$FIXTURES/restic-snapshots.log\""
}

# the record the script wrote on the ReplicationSource
recorded() { jq -r '.metadata.annotations["volsync-ops/verification"]' "$STUB_DIR/patch.json"; }
plan_record() {
  stub kubectl \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type merge -p * -o json : printf %s \"\${12}\" >\"\$STUB_DIR/patch.json\"; render \"\$FIXTURES/rs-odoo-item.json\""
}

@test "deep: restores the snapshot with restic's verification, compares with its summary, runs the CHECK read-only, and records the result" {
  plan_session
  stub kubectl \
    "$KW $EXEC restic -- restic restore --no-lock --no-cache --json --verify --target /restore 7c2d9e41* : echo '{\"message_type\":\"status\",\"percent_done\":0.5}'; echo \"\$SUMMARY\"" \
    "$KW $EXEC check -- sh -c test -s odoo.conf : echo checked" \
    "$K $DELETE"
  plan_record
  run -0 script verify --kubeconfig "$KC" --cluster apps --app odoo --check 'test -s odoo.conf'
  unstub kubectl
  assert_line --regexp "^Verified business/odoo-backup, snapshot 7c2d9e41 \(deep\), [0-9]+s: 1600 files and directories, 813M \(852000000 bytes\) restored; the snapshot's summary: 1540 files, 813M \(851790999 bytes\), verified by restic; the CHECK exited 0\.$"
  assert_line 'checked'
  json_true '.ok and .depth == "deep" and .files == 1600 and .bytes == 852000000 and (.snapshot | startswith("7c2d9e41")) and .lastSuccess == .time' < <(recorded)
  # the pod: scratch at /restore for restic, the same volume read-only at /data for the check
  json_true '.spec.volumes | any(.name == "scratch" and .emptyDir == {})' "$STUB_DIR/pod.json"
  json_true '.spec.containers[0].volumeMounts | any(.name == "scratch" and .mountPath == "/restore")' "$STUB_DIR/pod.json"
  json_true '.spec.containers[1] | .name == "check" and .image == "restic/restic:0.18.1" and .workingDir == "/data" and (.volumeMounts == [{"name":"scratch","mountPath":"/data","readOnly":true}])' "$STUB_DIR/pod.json"
}

@test "deep: fewer files than the snapshot says were backed up is a failure with the numbers, recorded, exit 1" {
  plan_session
  stub kubectl \
    "$KW $EXEC restic -- restic restore * : echo '{\"message_type\":\"summary\",\"total_files\":3,\"files_restored\":3,\"total_bytes\":812,\"bytes_restored\":812}'" \
    "$K $DELETE"
  plan_record
  run -1 script verify --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output --partial "VERIFICATION FAILED: business/odoo-backup, snapshot 7c2d9e41 (deep), "
  assert_output --partial "the restore brought back fewer files than were backed up: 3 files and directories, 812B (812 bytes) restored; the snapshot's summary: 1540 files, 813M (851790999 bytes)"
  json_true '(.ok | not) and .lastSuccess == null' < <(recorded)
}

@test "deep: restic reporting damage fails with its words" {
  plan_session
  stub kubectl \
    "$KW $EXEC restic -- restic restore * : echo '{\"message_type\":\"error\",\"error\":{\"message\":\"decrypting blob <data/1a2b> from 9f8e failed: ciphertext verification failed\"},\"during\":\"restore\",\"item\":\"/db/app.sqlite\"}'; echo 'Fatal: There were 1 errors' >&2; exit 1" \
    "$K $DELETE"
  plan_record
  run -1 script verify --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output --partial 'restic restore --verify failed (exit code 1)'
  assert_output --partial '/db/app.sqlite: decrypting blob <data/1a2b> from 9f8e failed: ciphertext verification failed'
}

@test "quick: restic check --read-data-subset, one container, no scratch" {
  plan_session
  stub kubectl \
    "$KW $EXEC restic -- restic check --read-data-subset=5% : echo 'no errors were found'" \
    "$K $DELETE"
  plan_record
  run -0 script verify --kubeconfig "$KC" --cluster apps --app odoo --depth quick
  unstub kubectl
  assert_line --regexp '^Verified business/odoo-backup, snapshot 7c2d9e41 \(quick\), [0-9]+s: restic check --read-data-subset=5% found no errors\.$'
  json_true '(.spec.containers | length) == 1 and (.spec.volumes | any(.name == "scratch") | not)' "$STUB_DIR/pod.json"
}

@test "what needs APP, or DEPTH=deep, is exit 2 before any kubectl call" {
  run -2 script verify --kubeconfig "$KC" --cluster apps --check true
  assert_output --partial 'CHECK (--check) needs APP (--app)'
  run -2 script verify --kubeconfig "$KC" --cluster apps --snapshot 7c2d9e41
  assert_output --partial 'SNAPSHOT=<id> (--snapshot) needs APP (--app)'
  run -2 script verify --kubeconfig "$KC" --cluster apps --app odoo --depth quick --scratch-size 1Gi
  assert_output --partial 'CHECK and SCRATCH_SIZE need DEPTH=deep'
  run -2 script verify --kubeconfig "$KC" --cluster apps --app odoo --scratch-class fast
  assert_output --partial 'SCRATCH_CLASS (--scratch-class) needs SCRATCH_SIZE'
  CHECK_IMAGE='alpine;id' run -2 script verify --kubeconfig "$KC" --cluster apps --app odoo
  assert_output --partial 'CHECK_IMAGE "alpine;id" is not an image reference'
  unstub kubectl
}

@test "Ctrl-C while restic restores deletes the pod and exits 130; nothing is recorded" {
  plan_session
  stub kubectl \
    "$KW $EXEC restic -- restic restore * : exec sleep 30" \
    "$K $DELETE"
  spawn_job "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/verify.ts" --kubeconfig "$KC" --cluster apps --app odoo
  interrupt_at "$KW $EXEC restic -- restic restore *"
  unstub kubectl
  [[ $status == 130 ]] || fail "exit $status: $output"
  assert_output --partial 'clean-up: delete the verify pod business/volsync-verify-odoo-'
}

@test "status shows the verification, flags a failed or stale one, and prints Prometheus metrics" {
  local failed stale
  failed=$(jq -c -n '{time: (now - 3600 | todate), snapshot: "7c2d9e41", depth: "deep", ok: false, files: 3, bytes: 812, message: "the CHECK exited 1", lastSuccess: (now - 86400 * 2 | todate)}')
  stale=$(jq -c -n '{time: (now - 86400 * 40 | todate), snapshot: "7c2d9e41", depth: "quick", ok: true, files: null, bytes: null, message: "ok", lastSuccess: (now - 86400 * 40 | todate)}')
  export failed stale
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\" | jq --arg v \"\$failed\" '.items[0].metadata.annotations[\"volsync-ops/verification\"] = \$v'" \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\" | jq --arg v \"\$stale\" '.items[0].metadata.annotations[\"volsync-ops/verification\"] = \$v'" \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\" | jq --arg v \"\$stale\" '.items[0].metadata.annotations[\"volsync-ops/verification\"] = \$v'" \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\" | jq --arg v \"\$failed\" '.items[0].metadata.annotations[\"volsync-ops/verification\"] = \$v'"
  COLUMNS=200 run -1 script status --kubeconfig "$KC" --cluster apps
  assert_line --regexp '^business +odoo-backup .* scheduled +FAILED$'
  assert_line '    last verification failed (deep, 1h ago): the CHECK exited 1'
  run -1 script status --kubeconfig "$KC" --cluster apps
  assert_line '    verification stale: last verified 40d ago, more than 30d (STALE_AFTER): run task volsync:verify'
  run -0 script status --kubeconfig "$KC" --cluster apps --stale-after 60d
  run -1 --separate-stderr script status --kubeconfig "$KC" --cluster apps --output prometheus
  assert_line 'volsync_ops_last_verification_success{cluster="apps",namespace="business",source="odoo-backup"} 0'
  assert_line --regexp '^volsync_ops_last_verified_timestamp_seconds\{cluster="apps",namespace="business",source="odoo-backup"\} [0-9]{10}$'
  assert_line 'volsync_ops_healthy{cluster="apps",namespace="business",source="odoo-backup"} 0'
  refute_output --partial 'NAMESPACE'
  unstub kubectl
}

