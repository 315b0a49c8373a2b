#!/usr/bin/env bats
# task volsync:list: a one-shot pod runs restic snapshots; it never outlives the run.

setup() {
  load helpers/common
  load helpers/schedule
  common_setup
}

# the list pod's name is generated; the stub matches it with a glob
POD='volsync-list-odoo-?????'
FIND='get --raw /apis/volsync.backube/v1alpha1/replicationsources?limit=1000'
DELETE="delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"

# as_pod FIXTURE: a recorded pod answer, named like the pod this run created
as_pod() {
  render "$FIXTURES/$1" | sed "s/\"name\": \"POD\"/\"name\": \"$(jq -r .metadata.name "$STUB_DIR/pod.json")\"/"
}
export -f as_pod

plan_discovery() {
  stub kubectl \
    "$K $FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json"
}

# plan_success: the pod runs, succeeds, its log is the given file, it is deleted
plan_success() {
  stub kubectl \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-pending.json; as_pod pod-list-succeeded.json" \
    "$K logs $POD -n business -c restic : cat \"$1\"" \
    "$K $DELETE"
}

@test "list runs restic in a pod built from the ReplicationSource, prints the snapshots newest first, and deletes the pod" {
  plan_discovery
  plan_success "$FIXTURES/restic-snapshots.log"
  COLUMNS=160 run -0 script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line --regexp '^PREV +ID +TIME \(UTC\) +LOCAL +AGE +KEPT BY +UNTIL \(UTC\) +HOST +SIZE +FILES +TAGS$'
  # retain hourly 24, daily 7: each is kept by the hourly rule until 24 newer scheduled backups (every 8 h) exist
  assert_line --regexp '^ +0 +7c2d9e41 +2026-11-25 20:00 +.* hourly, daily +20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:00 +volsync +813M +1540 +-$'
  assert_line --regexp '^ +2 +9a8b7c6d +2026-11-25 04:00 .* hourly, oldest daily +20[0-9-]+ [0-9]{2}:00 '
  assert_line '3 snapshot(s) of business/odoo-backup on cluster apps; restore one with SNAPSHOT=<PREV or ID>.'
  assert_line 'Retention: after every backup VolSync runs  restic forget --host volsync --keep-hourly 24 --keep-daily 7  (schedule 0 */8 * * *).'
  assert_line --partial 'clean-up: delete the list pod business/volsync-list-odoo-'
  # the pod: credentials from the source's repository Secret, the mover's uid, restricted
  json_true '.spec.containers[0].envFrom == [{"secretRef": {"name": "volsync-r2-secret"}}]' "$STUB_DIR/pod.json"
  json_true '.spec.containers[0].image == "restic/restic:0.18.1"' "$STUB_DIR/pod.json"
  json_true '.spec.containers[0].command == ["restic","snapshots","--json","--no-lock","--no-cache"]' "$STUB_DIR/pod.json"
  json_true '.spec.securityContext | .runAsUser == 1000 and .runAsGroup == 1000 and .fsGroup == 1000 and .runAsNonRoot and .seccompProfile.type == "RuntimeDefault"' "$STUB_DIR/pod.json"
  json_true '.spec.restartPolicy == "Never" and (.spec.containers[0] | has("stdin") | not)' "$STUB_DIR/pod.json"
  json_true '.metadata.namespace == "business" and .metadata.labels["app.kubernetes.io/managed-by"] == "volsync-ops"' "$STUB_DIR/pod.json"
}

@test "Ctrl-C while the pod runs deletes the pod and exits 130" {
  plan_discovery
  stub kubectl \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-running.json; exec sleep 30" \
    "$K $DELETE"
  spawn_script list --kubeconfig "$KC" --cluster apps --app odoo
  interrupt_at "$KW get pod $POD -n business --watch -o json"
  unstub kubectl
  assert_equal "$status" 130
  assert_line --partial 'clean-up: delete the list pod business/volsync-list-odoo-'
}

@test "one Ctrl-C that arrives twice (terminal and launcher relay) still cleans up" {
  plan_discovery
  stub kubectl \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-running.json; exec sleep 30" \
    "$K $DELETE; sleep 0.5"
  spawn_script list --kubeconfig "$KC" --cluster apps --app odoo
  wait_for_call kubectl "$KW get pod $POD -n business --watch -o json"
  sleep 0.5
  # three signals 10 ms apart: one key press seen by the script, the
  # terminal's group signal and the launcher's relay, not three presses.
  # The pauses wait on a pipe nobody writes to (bash's read -t): an external
  # sleep's fork and exec can take over 100 ms on a loaded machine, and
  # signals that far apart are two presses; 10 ms leaves 90 ms for the
  # script to be scheduled late (at load 15, 40 ms was not enough), and is
  # still time for it to see each signal on its own (with lib/run.ts's
  # window cut to 1 ms this fails)
  local tick
  exec {tick}<> <(:)
  interrupt_job
  read -rt 0.01 -u "$tick" || true
  interrupt_job || true # the run may be over already
  read -rt 0.01 -u "$tick" || true
  interrupt_job || true
  exec {tick}>&-
  wait_job
  unstub kubectl
  assert_equal "$status" 130
  refute_line --partial 'still cleaning up'
  assert_line --partial 'clean-up: delete the list pod business/volsync-list-odoo-'
}

@test "Ctrl-C through task deletes the pod and task -x exits 130" {
  plan_discovery
  stub kubectl \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-running.json; exec sleep 30" \
    "$K $DELETE"
  spawn_job bash -c 'cd "$ROOT" && exec task -x volsync:list APP=odoo CLUSTER=apps KUBECONFIG="$1"' task "$KC"
  interrupt_at "$KW get pod $POD -n business --watch -o json"
  unstub kubectl
  assert_equal "$status" 130
  assert_line --partial 'clean-up: delete the list pod business/volsync-list-odoo-'
  assert_line --partial 'interrupted while waiting for the list pod business/volsync-list-odoo-'
}

# --- discovery: which ReplicationSource APP (or SOURCE) means

@test "a source found in two namespaces is exit 2: both are listed and NAMESPACE is asked for" {
  stub kubectl "$K $FIND : render \"\$FIXTURES/rs-odoo-twice.json\""
  run -2 script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output 'error: ReplicationSource odoo-backup exists in 2 namespaces on cluster apps: business, business-staging. Say which with NAMESPACE=<ns> (--namespace).'
}

@test "an app without a source is exit 1, naming every rule tried and listing the sources that exist" {
  stub kubectl "$K $FIND : render \"\$FIXTURES/rs-mixed.json\""
  run -1 script list --kubeconfig "$KC" --cluster apps --app nextcloud
  unstub kubectl
  assert_output - <<'OUT'
error: No ReplicationSource for APP=nextcloud in cluster apps: none is named nextcloud-backup or nextcloud, labelled app.kubernetes.io/name=nextcloud, or has sourcePVC nextcloud or nextcloud-data.
ReplicationSources that exist:
  business/odoo-backup
  media/jellyfin-backup
  media/plex-backup
  tools/git-backup
  tools/wiki-backup
Name one with SOURCE=<name> (--source).
OUT
}

@test "NAMESPACE narrows the read to that namespace" {
  stub kubectl \
    "$K $(rs_in business-staging) : jq '.items |= map(select(.metadata.namespace == \"business-staging\"))' \"\$FIXTURES/rs-odoo-twice.json\" | render /dev/stdin" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json" \
    "$KW get pod $POD -n business-staging --watch -o json : as_pod pod-list-succeeded.json" \
    "$K logs $POD -n business-staging -c restic : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$K delete pod $POD -n business-staging --ignore-not-found --wait=false --grace-period=0"
  run -0 script list --kubeconfig "$KC" --cluster apps --app odoo --namespace business-staging
  unstub kubectl
  json_true '.metadata.namespace == "business-staging"' "$STUB_DIR/pod.json"
  assert_line --partial 'snapshot(s) of business-staging/odoo-backup on cluster apps'
}

@test "a source not in NAMESPACE is exit 1, naming the namespace and listing what exists" {
  stub kubectl \
    "$K $(rs_in lab) : cat \"\$FIXTURES/empty-list.json\"" \
    "$K $FIND : render \"\$FIXTURES/rs-odoo.json\""
  run -1 script list --kubeconfig "$KC" --cluster apps --app odoo --namespace lab
  unstub kubectl
  assert_line --regexp '^error: No ReplicationSource for APP=odoo in namespace lab of cluster apps: '
  assert_line '  business/odoo-backup'
}

# jq programs over a recorded List: the source odoo-backup renamed and re-pointed
# (src NAME; SECRET; PVC; LABELS): named odoo; or two sources of app odoo,
# neither named odoo-backup: odoo-r2 (labelled), odoo-local (its PVC odoo-data)
export SRC='def src($name; $secret; $pvc; $labels): .metadata.name = $name | .metadata.uid = ($name + "-uid")
  | .metadata.labels += $labels | .spec.restic.repository = $secret | .spec.sourcePVC = $pvc;'
export ONE_NAMED_APP="$SRC"' .items |= map(if .metadata.name == "odoo-backup" then src("odoo"; "odoo-restic"; "odoo-files"; {}) else . end)'
export TWO_OF_APP="$SRC"' .items |= (map(select(.metadata.name != "odoo-backup"))
  + [(.[] | select(.metadata.name == "odoo-backup")) as $o
     | ($o | src("odoo-r2"; "odoo-r2-restic"; "odoo-data"; {"app.kubernetes.io/name": "odoo"})),
       ($o | src("odoo-local"; "odoo-local-restic"; "odoo-data"; {}))])'
TWO_SOURCES="render \"\$FIXTURES/rs-mixed.json\" | jq \"\$TWO_OF_APP\""

@test "APP finds a source named <app>, says so, and the pod uses the Secret that source names" {
  stub kubectl \
    "$K $FIND : render \"\$FIXTURES/rs-mixed.json\" | jq \"\$ONE_NAMED_APP\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json"
  plan_success "$FIXTURES/restic-snapshots.log"
  run -0 --separate-stderr script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line '3 snapshot(s) of business/odoo on cluster apps; restore one with SNAPSHOT=<PREV or ID>.'
  [[ $stderr == *'APP=odoo: ReplicationSource business/odoo, named odoo, like the app (there is no odoo-backup)'* ]] ||
    fail "no note of the rule on stderr: $stderr"
  json_true '.spec.containers[0].envFrom == [{"secretRef": {"name": "odoo-restic"}}]' "$STUB_DIR/pod.json"
}

@test "two sources of one app (<app>-r2 and <app>-local) are exit 2: both are listed with their rule, and SOURCE is asked for" {
  stub kubectl "$K $FIND : $TWO_SOURCES"
  run -2 script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output - <<'OUT'
error: APP=odoo matches 2 ReplicationSources in cluster apps:
  business/odoo-local  its sourcePVC is odoo-data
  business/odoo-r2     labelled app.kubernetes.io/name=odoo
Say which with SOURCE=<name> (--source).
OUT
}

@test "SOURCE names one of them; the pod uses the Secret of that source" {
  stub kubectl \
    "$K $FIND : $TWO_SOURCES" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json"
  plan_success "$FIXTURES/restic-snapshots.log"
  run -0 --separate-stderr run_task volsync:list APP=odoo SOURCE=odoo-local CLUSTER=apps KUBECONFIG="$KC"
  unstub kubectl
  assert_line '3 snapshot(s) of business/odoo-local on cluster apps; restore one with SNAPSHOT=<PREV or ID>.'
  [[ -z $stderr || $stderr != *'APP=odoo:'* ]] || fail "a note for a source named by SOURCE: $stderr"
  json_true '.spec.containers[0].envFrom == [{"secretRef": {"name": "odoo-local-restic"}}]' "$STUB_DIR/pod.json"
}

@test "a SOURCE that does not exist is exit 1 and lists the sources that do" {
  stub kubectl "$K $FIND : $TWO_SOURCES"
  run -1 script list --kubeconfig "$KC" --cluster apps --app odoo --source odoo-nas
  unstub kubectl
  assert_line 'error: ReplicationSource odoo-nas not found in cluster apps.'
  assert_line '  business/odoo-local'
  assert_line '  business/odoo-r2'
}

# --- the pod fails

@test "a pod that fails (wrong password) is exit 1 with the tail of its log, and the pod is deleted" {
  plan_discovery
  stub kubectl \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-running.json; as_pod pod-list-failed.json" \
    "$K logs $POD -n business -c restic : printf 'repository 9f3a2b1c opened\nFatal: wrong password or no key found\n'" \
    "$K $DELETE"
  run -1 script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'error: restic could not list the repository of business/odoo-backup (Secret business/volsync-r2-secret); its log ends:'
  assert_line 'Fatal: wrong password or no key found'
  assert_line --partial 'clean-up: delete the list pod business/volsync-list-odoo-'
}

@test "a missing Secret (CreateContainerConfigError) fails fast with the reason, and the pod is deleted" {
  plan_discovery
  stub kubectl \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-configerror.json; exec sleep 30" \
    "$K $DELETE"
  SECONDS=0
  run -1 script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  ((SECONDS < 10)) || fail "took ${SECONDS}s: it waited instead of failing fast"
  assert_line --regexp '^error: pod business/volsync-list-odoo-[a-z0-9]{5} cannot start: CreateContainerConfigError: secret "volsync-r2-secret" not found$'
  assert_line --partial 'clean-up: delete the list pod business/volsync-list-odoo-'
}

@test "TIMEOUT ends the wait with exit 1, and the pod is deleted" {
  plan_discovery
  stub kubectl \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-running.json; exec sleep 30" \
    "$K $DELETE"
  run -1 script list --kubeconfig "$KC" --cluster apps --app odoo --timeout 2s
  unstub kubectl
  assert_line --regexp '^error: timed out after [23]s waiting for the list pod business/volsync-list-odoo-[a-z0-9]{5}$'
  assert_line --partial 'clean-up: delete the list pod business/volsync-list-odoo-'
  # the pod stops itself a minute after the timeout even if this tool died
  json_true '.spec.activeDeadlineSeconds == 62' "$STUB_DIR/pod.json"
}

# --- image, output

@test "RESTIC_IMAGE overrides the image of the pod" {
  plan_discovery
  plan_success "$FIXTURES/restic-snapshots.log"
  RESTIC_IMAGE=registry.example.com:5000/mirror/restic:0.18.1 run -0 script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  json_true '.spec.containers[0].image == "registry.example.com:5000/mirror/restic:0.18.1"' "$STUB_DIR/pod.json"
}

@test "a bad RESTIC_IMAGE is exit 2 before any kubectl call" {
  RESTIC_IMAGE='restic/restic:0.18.1 $(id)' run -2 script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output 'error: RESTIC_IMAGE "restic/restic:0.18.1 $(id)" is not an image reference such as restic/restic:0.18.1'
}

@test "--output json prints only the parsed list, with the previous offsets, on stdout" {
  plan_discovery
  plan_success "$FIXTURES/restic-snapshots.log"
  run_bracketed -0 --separate-stderr script list --kubeconfig "$KC" --cluster apps --app odoo --output json
  unstub kubectl
  json_true '.cluster == "apps" and .source == "business/odoo-backup"' <<<"$output"
  json_true '[.snapshots[] | [.short_id, .previous]] == [["7c2d9e41", 0], ["4b1e6f2a", 1], ["9a8b7c6d", 2]]' <<<"$output"
  json_true '.snapshots[0].summary.total_files_processed == 1540 and .snapshots[0].epoch == 1795636805' <<<"$output"
  json_true '.retention == {"forget": "--keep-hourly 24 --keep-daily 7", "schedule": "0 */8 * * *", "notes": []}' <<<"$output"
  json_true '[.snapshots[].keptBy] == [["hourly snapshot", "daily snapshot"], ["hourly snapshot"], ["hourly snapshot", "oldest daily snapshot"]]' <<<"$output"
  # the 24th scheduled backup from now forgets the newest; the older ones go earlier
  json_true '[.snapshots[].expectedUntilBackups] == [24, 23, 22]' <<<"$output"
  # at those backups, whenever the test runs (helpers/schedule.bash)
  assert_backup_line 24 '%iso' "$(jq -r '.snapshots[0].expectedUntil' <<<"$output")"
  assert_backup_line 23 '%iso' "$(jq -r '.snapshots[1].expectedUntil' <<<"$output")"
  assert_backup_line 22 '%iso' "$(jq -r '.snapshots[2].expectedUntil' <<<"$output")"
  # notes and clean-up lines went to stderr
  [[ $stderr == *'clean-up: delete the list pod'* ]]
}

@test "a snapshot the next scheduled backup will forget is marked (next) and warned about" {
  stub kubectl \
    "$K $FIND : render \"\$FIXTURES/rs-odoo.json\" | jq '.items[0].spec.restic.retain = {\"last\": \"1\"}'" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json"
  # a snapshot taken by hand 10 minutes ago, and one before it that the last forget should have removed
  render /dev/stdin >"$TEST_DIR/snapshots.log" <<'JSON'
[{"time":"@NOW-1h@","paths":["/data"],"hostname":"volsync","id":"1111111111111111111111111111111111111111111111111111111111111111","short_id":"11111111"},{"time":"@NOW-10m@","paths":["/data"],"hostname":"volsync","id":"2222222222222222222222222222222222222222222222222222222222222222","short_id":"22222222"}]
JSON
  plan_success "$TEST_DIR/snapshots.log"
  COLUMNS=160 run -0 script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line --regexp '^ +0 +22222222 .* last +20[0-9-]+ [0-9:]+ \(next\) +volsync '
  assert_line --regexp '^ +1 +11111111 .* none +20[0-9-]+ [0-9:]+ \(next\) +volsync '
  assert_line --regexp '^warning: the next scheduled backup \(20[0-9-]+ [0-9:]+ UTC\) is expected to forget 2 snapshot\(s\): 22222222, 11111111\. To keep them, hold the schedule first \(docs/runbooks/volsync.md, "Keep a snapshot"\)\.$'
}

@test "an empty repository is a clear message and exit 0" {
  plan_discovery
  printf '[]\n' >"$TEST_DIR/empty.log"
  plan_success "$TEST_DIR/empty.log"
  run -0 --separate-stderr script list --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output 'The repository of business/odoo-backup has no snapshots yet.'
}

@test "task volsync:list passes APP, CLUSTER, NAMESPACE, KUBECONFIG, OUTPUT and TIMEOUT to the script" {
  stub kubectl \
    "$K $(rs_in business) : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json"
  plan_success "$FIXTURES/restic-snapshots.log"
  run -0 --separate-stderr run_task volsync:list APP=odoo CLUSTER=apps NAMESPACE=business KUBECONFIG="$KC" OUTPUT=json TIMEOUT=90s
  unstub kubectl
  json_true '(.snapshots | length) == 3' <<<"$output"
  json_true '.spec.activeDeadlineSeconds == 150' "$STUB_DIR/pod.json"
}

@test "on a CI runner (CI=true, where go-task colours its own output), task volsync:list OUTPUT=json still prints plain JSON alone on stdout" {
  stub kubectl \
    "$K $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K create -f - -o json : as_pod pod-list-pending.json"
  plan_success "$FIXTURES/restic-snapshots.log"
  CI=true run -0 --separate-stderr run_task volsync:list APP=odoo CLUSTER=apps KUBECONFIG="$KC" OUTPUT=json
  unstub kubectl
  refute_output --partial $'\e'
  json_true '(.snapshots | length) == 3' <<<"$output"
}
