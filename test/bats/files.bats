#!/usr/bin/env bats
# task volsync:files: one idle restic pod, restic run in it with kubectl exec
# (snapshots, then ls); the pod never outlives the run; DIR is checked first.

setup() {
  load helpers/common
  common_setup
}

POD='volsync-files-odoo-?????'
FIND="get --raw /apis/volsync.backube/v1alpha1/replicationsources?limit=1000"
DELETE="delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
EXEC="exec $POD -n business -c restic --"

as_pod() {
  render "$FIXTURES/$1" | sed "s/\"name\": \"POD\"/\"name\": \"$(jq -r .metadata.name "$STUB_DIR/pod.json")\"/"
}
export -f as_pod

# the pod is made, runs, and restic lists the snapshots in it
plan_session() {
  stub kubectl \
    "$K $FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json" \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-pending.json; as_pod pod-list-running.json" \
    "$KW $EXEC restic snapshots --json --no-lock --no-cache : cat \"\$FIXTURES/restic-snapshots.log\""
}

@test "files runs restic ls in an idle pod built like the mover, prints the directory, and deletes the pod" {
  plan_session
  stub kubectl \
    "$KW $EXEC restic ls --json --no-lock --no-cache 7c2d9e41* /docs : cat \"\$FIXTURES/restic-ls-docs.jsonl\"" \
    "$K $DELETE"
  COLUMNS=120 run -0 script files --kubeconfig "$KC" --cluster apps --app odoo --dir docs/
  unstub kubectl
  assert_line --regexp '^/docs in snapshot 7c2d9e41 of 2026-11-25 20:00:0[0-9] UTC \(.* ago\) of business/odoo-backup:$'
  assert_line --regexp '^TYPE +PERMISSIONS +SIZE +MODIFIED \(UTC\) +NAME$'
  assert_line --regexp '^dir +drwxr-xr-x +- +2026-11-30 23:19:51 +deep/$'
  assert_line --regexp '^file +-rw-r--r-- +19B +2026-11-30 23:19:51 +name with spaces.txt$'
  assert_line --regexp '^link +Lrwxrwxrwx +- .* link-to-conf$'
  assert_line '  task volsync:download APP=odoo NAMESPACE=business SNAPSHOT=7c2d9e41 FILE=/docs/empty TO=./ CLUSTER=apps KUBECONFIG='"'$KC'"
  assert_line --partial 'clean-up: delete the files pod business/volsync-files-odoo-'
  # an idle pod, built like the mover: credentials from the Secret, the mover's uid
  json_true '.spec.containers[0].command == ["sleep", "660"] and .spec.terminationGracePeriodSeconds == 0' "$STUB_DIR/pod.json"
  json_true '.spec.containers[0].envFrom == [{"secretRef": {"name": "volsync-r2-secret"}}]' "$STUB_DIR/pod.json"
  json_true '.spec.securityContext.runAsUser == 1000 and .metadata.labels["app.kubernetes.io/component"] == "files"' "$STUB_DIR/pod.json"
}

@test "OUTPUT=json prints the entries with paths from the PVC root" {
  plan_session
  stub kubectl \
    "$KW $EXEC restic ls --json --no-lock --no-cache 9a8b7c6d* / : cat \"\$FIXTURES/restic-ls-docs.jsonl\" | sed 's#/docs#/other#; s#\"path\":\"/other/#\"path\":\"/#'" \
    "$K $DELETE"
  run -0 --separate-stderr script files --kubeconfig "$KC" --cluster apps --app odoo --snapshot 2 --output json
  unstub kubectl
  json_true '.snapshot.shortId == "9a8b7c6d" and .dir == "/" and (.entries | map(.path) | index("name with spaces.txt")) != null' <<<"$output"
}

@test "a hostile DIR is exit 2 before any kubectl call" {
  local bad
  for bad in '..' '/docs/../..' $'docs\n/etc' 'docs/*' '[x]'; do
    run -2 script files --kubeconfig "$KC" --cluster apps --app odoo --dir "$bad"
    assert_output --partial 'DIR (--dir)'
  done
  unstub kubectl
}

@test "restic failing in the pod is exit 1 with its words, and the pod is deleted" {
  plan_session
  stub kubectl \
    "$KW $EXEC restic ls * : echo 'Fatal: unable to open pack: connection reset' >&2; exit 1" \
    "$K $DELETE"
  run -1 script files --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output --partial 'restic could not list / of snapshot 7c2d9e41 (exit code 1); restic said:'
  assert_output --partial 'Fatal: unable to open pack: connection reset'
}

@test "Ctrl-C while the pod starts deletes it and exits 130" {
  stub kubectl \
    "$K $FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json" \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-pending.json; exec sleep 30" \
    "$K $DELETE"
  spawn_job "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/files.ts" --kubeconfig "$KC" --cluster apps --app odoo
  interrupt_at "$KW get pod $POD -n business --watch -o json"
  unstub kubectl
  [[ $status == 130 ]] || fail "exit $status: $output"
  assert_output --partial 'clean-up: delete the files pod business/volsync-files-odoo-'
}

