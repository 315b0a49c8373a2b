#!/usr/bin/env bats
# task volsync:list: a one-shot pod runs restic snapshots; it never outlives the run.

setup() {
  load helpers/common
  common_setup
}

# the list pod's name is generated; the stub matches it with a glob
POD='volsync-list-odoo-?????'

plan_discovery() {
  stub kubectl \
    "$K get replicationsources.volsync.backube --all-namespaces --field-selector metadata.name=odoo-backup -o json : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; render \"\$FIXTURES/pod-list-pending.json\""
}

@test "list runs restic in a pod built from the ReplicationSource, prints the snapshots newest first, and deletes the pod" {
  plan_discovery
  stub kubectl \
    "$KW get pod $POD -n business --watch -o json : render \"\$FIXTURES/pod-list-pending.json\"; render \"\$FIXTURES/pod-list-succeeded.json\"" \
    "$K logs $POD -n business -c restic : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$K delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
  COLUMNS=120 run -0 script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line --regexp '^PREV +ID +TIME \(UTC\) +LOCAL +AGE +HOST +SIZE +FILES +TAGS$'
  assert_line --regexp '^ +0 +7c2d9e41 +2026-11-25 20:00 +.* volsync +813M +1540 +-$'
  assert_line --regexp '^ +2 +9a8b7c6d +2026-11-25 04:00 '
  # the pod: credentials from the source's repository Secret, the mover's uid, restricted
  jq -e '.spec.containers[0].envFrom == [{"secretRef": {"name": "volsync-r2-secret"}}]' "$STUB_DIR/pod.json"
  jq -e '.spec.containers[0].image == "restic/restic:0.18.1"' "$STUB_DIR/pod.json"
  jq -e '.spec.containers[0].command == ["restic","snapshots","--json","--no-lock","--no-cache"]' "$STUB_DIR/pod.json"
  jq -e '.spec.securityContext | .runAsUser == 1000 and .runAsGroup == 1000 and .fsGroup == 1000 and .runAsNonRoot and .seccompProfile.type == "RuntimeDefault"' "$STUB_DIR/pod.json"
  jq -e '.spec.restartPolicy == "Never" and (.spec.containers[0] | has("stdin") | not)' "$STUB_DIR/pod.json"
}

@test "Ctrl-C while the pod runs deletes the pod and exits 130" {
  plan_discovery
  stub kubectl \
    "$KW get pod $POD -n business --watch -o json : render \"\$FIXTURES/pod-list-running.json\"; exec sleep 30" \
    "$K delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
  spawn_job "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/list.ts" --kubeconfig "$KC" --cluster apps --app odoo
  wait_for_call kubectl "$KW get pod $POD -n business --watch -o json"
  sleep 0.5
  interrupt_job
  wait_job
  unstub kubectl
  assert_equal "$status" 130
  assert_line --partial 'clean-up: delete the list pod business/volsync-list-odoo-'
}
