#!/usr/bin/env bats
# task volsync:download: restic dump streamed through kubectl exec into a
# partial file, kept only when its SHA-256 equals the one computed in the pod.

setup() {
  load helpers/common
  common_setup
  OUT="$TEST_DIR/out"
  mkdir -p "$OUT"
}

POD='volsync-download-odoo-?????'
FIND="get --raw /apis/volsync.backube/v1alpha1/replicationsources?limit=1000"
DELETE="delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
EXEC="exec $POD -n business -c restic --"

as_pod() {
  render "$FIXTURES/$1" | sed "s/\"name\": \"POD\"/\"name\": \"$(jq -r .metadata.name "$STUB_DIR/pod.json")\"/"
}
# node PATH TYPE SIZE: a `restic ls --json` answer for one path
ls_answer() {
  printf '{"message_type":"snapshot","struct_type":"snapshot","id":"7c2d9e41"}\n'
  jq -nc --arg p "$1" --arg t "$2" --argjson s "$3" '{name: ($p | split("/") | last), type: $t, path: $p, size: $s, message_type: "node", struct_type: "node"}'
}
# dump_answer DATA [DIGEST_OF]: the bytes on stdout, the digest line on stderr
dump_answer() {
  printf '%b' "$1"
  printf 'volsync-ops-sha256 %s\n' "$(printf '%b' "${2-$1}" | sha256sum | cut -d' ' -f1)" >&2
}
export -f as_pod ls_answer dump_answer

plan_session() {
  stub kubectl \
    "$K $FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json" \
    "$KW get pod $POD -n business --watch -o json : as_pod pod-list-running.json" \
    "$KW $EXEC restic snapshots --json --no-lock --no-cache : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$KW $EXEC restic ls --json --no-lock --no-cache 7c2d9e41* /db/app.sqlite : ls_answer /db/app.sqlite file 7"
}

@test "download writes the file byte for byte and says that the SHA-256 of the cluster matches the local file" {
  plan_session
  stub kubectl \
    "$KW $EXEC sh -c * volsync-ops-dump 7c2d9e41* /db/app.sqlite : dump_answer 'SQL\\0\\377\\376\\n'" \
    "$K $DELETE"
  run -0 script download --kubeconfig "$KC" --cluster apps --app odoo --file db/app.sqlite --to "$OUT/"
  unstub kubectl
  cmp <(printf 'SQL\0\377\376\n') "$OUT/app.sqlite"
  assert_line "SHA-256 $(printf 'SQL\0\377\376\n' | sha256sum | cut -d' ' -f1): computed in the cluster as restic sent it and of the local file; they match."
  assert_line --regexp "^Downloaded /db/app.sqlite from snapshot 7c2d9e41 of .* of business/odoo-backup, 7 bytes, to $OUT/app.sqlite\.$"
  [[ -z $(find "$OUT" -name '*.part') ]] || fail "a partial file is left"
  json_true '.metadata.labels["app.kubernetes.io/component"] == "download" and .spec.containers[0].command[0] == "sleep"' "$STUB_DIR/pod.json"
}

@test "through task, a relative TO is where the operator is, not the repository root; a TO ending in / is made" {
  plan_session
  stub kubectl \
    "$KW $EXEC sh -c * volsync-ops-dump 7c2d9e41* /db/app.sqlite : dump_answer 'SQL\\0\\377\\376\\n'" \
    "$K $DELETE"
  mkdir -p "$TEST_DIR/work"
  cd "$TEST_DIR/work"
  run -0 task -x -d "$ROOT" volsync:download KUBECONFIG="$KC" CLUSTER=apps APP=odoo FILE=/db/app.sqlite TO=got/
  unstub kubectl
  cmp <(printf 'SQL\0\377\376\n') "$TEST_DIR/work/got/app.sqlite"
  [[ ! -e $ROOT/got ]] || fail 'it wrote into the repository root'
}

@test "a stream cut before the pod's checksum is exit 1; nothing is written to TO" {
  plan_session
  stub kubectl \
    "$KW $EXEC sh -c * : printf 'SQL'" \
    "$K $DELETE"
  run -1 script download --kubeconfig "$KC" --cluster apps --app odoo --file /db/app.sqlite --to "$OUT/app.sqlite"
  unstub kubectl
  assert_output --partial 'the pod reported no checksum: the stream was cut'
  [[ ! -e $OUT/app.sqlite && -z $(find "$OUT" -name '*.part') ]] || fail "something was written: $(ls -la "$OUT")"
}

@test "bytes that differ from what the pod hashed are exit 1, with both checksums; nothing is written" {
  plan_session
  stub kubectl \
    "$KW $EXEC sh -c * : dump_answer 'SQL-broken' 'SQL\\0\\377\\376\\n'" \
    "$K $DELETE"
  run -1 script download --kubeconfig "$KC" --cluster apps --app odoo --file /db/app.sqlite --to "$OUT/app.sqlite"
  unstub kubectl
  assert_output --partial "the downloaded bytes differ from what restic sent in the cluster: SHA-256 $(printf 'SQL-broken' | sha256sum | cut -d' ' -f1) here"
  [[ ! -e $OUT/app.sqlite && -z $(find "$OUT" -name '*.part') ]] || fail "something was written"
}

@test "restic failing in the pod is exit 1 with its words" {
  plan_session
  stub kubectl \
    "$KW $EXEC sh -c * : echo 'Fatal: cannot dump file: unable to load pack' >&2; exit 1" \
    "$K $DELETE"
  run -1 script download --kubeconfig "$KC" --cluster apps --app odoo --file /db/app.sqlite --to "$OUT/app.sqlite"
  unstub kubectl
  assert_output --partial 'the download of /db/app.sqlite from snapshot 7c2d9e41 failed (exit code 1); nothing was written to TO. It said:'
  assert_output --partial 'Fatal: cannot dump file: unable to load pack'
}

@test "an existing TO without FORCE, a hostile FILE, a missing directory: exit 2 before any kubectl call" {
  printf 'mine' >"$OUT/app.sqlite"
  run -2 script download --kubeconfig "$KC" --cluster apps --app odoo --file /db/app.sqlite --to "$OUT/app.sqlite"
  assert_output --partial 'exists already: add FORCE=true (--force) to overwrite it. Nothing was downloaded.'
  run -2 script download --kubeconfig "$KC" --cluster apps --app odoo --file '/db/../../etc/passwd' --to "$OUT/x"
  assert_output --partial 'FILE (--file)'
  run -2 script download --kubeconfig "$KC" --cluster apps --app odoo --file /db/app.sqlite --to "$OUT/no/such/dir/x"
  assert_output --partial 'the directory it goes into does not exist'
  [[ $(cat "$OUT/app.sqlite") == mine ]]
  unstub kubectl
}

@test "Ctrl-C during the transfer deletes the pod and the partial file, and exits 130" {
  plan_session
  stub kubectl \
    "$KW $EXEC sh -c * : printf 'SQL'; exec sleep 30" \
    "$K $DELETE"
  spawn_job "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/download.ts" --kubeconfig "$KC" --cluster apps --app odoo --file /db/app.sqlite --to "$OUT/app.sqlite"
  interrupt_at "$KW $EXEC sh -c *"
  unstub kubectl
  [[ $status == 130 ]] || fail "exit $status: $output"
  [[ ! -e $OUT/app.sqlite && -z $(find "$OUT" -name '*.part') ]] || fail "something was left: $(ls -la "$OUT")"
  assert_output --partial 'clean-up: delete the download pod business/volsync-download-odoo-'
}

