#!/usr/bin/env bats
# Recovering without overwriting (issue 9): browse a snapshot (files),
# download from it (download), restore it into a new PVC (restore TO_PVC),
# prove it restores (verify), preview a restore (restore DRY_RUN). One app
# with two snapshots of two states; its Deployment keeps running throughout.
# What the toolkit shows or writes is checked against restic itself, run here
# with the repository Secret's credentials, and against the PVC directories.

NS=rc-app
APP=wiki

setup_file() {
  load helpers/e2e
  RETAIN='{"last": "50"}'
  create_namespace "$NS"
  create_secret "$NS" volsync-r2-secret "pw-$NS-$E2E_RUN_ID" "$(repo_url "$NS" "$APP")"
  create_pvc "$NS" "$APP-data"
  local dir
  dir=$(pvc_dir "$NS" "$APP-data")
  seed_files "$dir"
  # what browsing gets wrong: a name with a newline, a non-UTF-8 name, a big binary file
  mkdir -p "$dir/odd"
  printf 'line\n' >"$dir/odd/new"$'\n'"line.txt"
  printf 'latin1\n' >"$dir/odd/caf"$'\xe9'".txt"
  { head -c 70000000 /dev/urandom; printf '\0\377\376\375 not utf-8 \300\300\n'; head -c 1000 /dev/zero; } >"$dir/media/big.bin"
  create_deployment "$NS" "$APP" "$APP-data" 1
  create_source "$NS" "$APP" "0 0 1 1 *"
  wait_until 180 "first sync" idle "$NS" "$APP-backup"
  cp -a "$dir" "$BATS_FILE_TMPDIR/state-A"
  change_files "$dir" B
  vtask volsync:snapshot APP="$APP" CLUSTER=e2e >/dev/null
  cp -a "$dir" "$BATS_FILE_TMPDIR/state-B"
  snapshots_json "$NS" | jq -c 'sort_by(.time)' >"$BATS_FILE_TMPDIR/snapshots.json"
  [[ $(jq length "$BATS_FILE_TMPDIR/snapshots.json") == 2 ]]
  wait_until 60 "the app running" deployment_ready "$NS" "$APP" 1
}

teardown_file() {
  load helpers/e2e
  e2e_teardown
}

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

snapshot() { jq -r ".[$1].$2" "$BATS_FILE_TMPDIR/snapshots.json"; }

toolkit_pods() { kc -n "${1:-$NS}" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq -c '[.items[].metadata.name]'; }

# polled by wait_until: the pods are read on every try
toolkit_pods_gone() { [[ $(toolkit_pods "$@") == '[]' ]]; }
no_toolkit_pods() {
  wait_until 30 "no toolkit pod left in ${1:-$NS}" toolkit_pods_gone "$@"
}

# ------------------------------------------------------------------ files

@test "files lists a nested directory of a snapshot as restic has it, paths from the PVC root, and leaves no pod" {
  local first
  first=$(snapshot 0 id)
  # what restic itself has in that directory
  local expected
  expected=$(repo_restic "$NS" ls --json --no-lock "$first" /docs/deep | jq -sc '[.[] | select(.struct_type == "node" and .path != "/docs/deep")
    | {name, path: (.path | ltrimstr("/")), type, size: (if .type == "file" then .size else 0 end)}] | sort_by(.name)')
  [[ $expected != '[]' ]] || fail "restic lists nothing in /docs/deep"

  run -0 --separate-stderr vtask volsync:files APP="$APP" CLUSTER=e2e SNAPSHOT="${first:0:8}" DIR=docs/deep OUTPUT=json
  json_true --arg id "$first" '.snapshot.id == $id and .dir == "/docs/deep" and .source == "rc-app/wiki-backup"' <<<"$output"
  local shown
  shown=$(jq -c '[.entries[] | {name, path, type, size}]' <<<"$output")
  [[ $shown == "$expected" ]] || fail $'files shows:\n'"$shown"$'\nrestic has:\n'"$expected"

  # deeper, in the table: the file of the first state (SNAPSHOT=1: one before the latest)
  run -0 vtask volsync:files APP="$APP" CLUSTER=e2e SNAPSHOT=1 DIR=/docs/deep/er/
  assert_line --regexp '^file +-rw-r--r-- +7B +[0-9-]+ [0-9:]+ +nested\.txt$'
  assert_line --partial "/docs/deep/er in snapshot ${first:0:8} of"
  # the latest state has no nested.txt any more (change_files deleted it)
  run -0 vtask volsync:files APP="$APP" CLUSTER=e2e DIR=/docs/deep/er
  assert_line '(empty directory)'
  # a name with a newline is shown escaped, on one line; a directory with a / after it
  run -0 vtask volsync:files APP="$APP" CLUSTER=e2e DIR=/odd
  assert_line --regexp ' new\\nline\.txt$'
  run -0 vtask volsync:files APP="$APP" CLUSTER=e2e
  assert_line --regexp '^dir +drwxr-xr-x +- +[0-9-]+ [0-9:]+ +media/$'
  no_toolkit_pods
}

@test "files refuses hostile DIR values before any pod runs, and says what is wrong with a file or a missing directory" {
  watch_into pods -n "$NS" pods -l app.kubernetes.io/managed-by=volsync-ops
  sleep 1
  local bad
  for bad in '../etc' '/docs/../../etc' $'docs\n/etc' 'media/*.bin' 'docs/[a]'; do
    run -2 vtask volsync:files APP="$APP" CLUSTER=e2e DIR="$bad"
    assert_output --partial 'DIR (--dir)'
  done
  [[ $(seen pods 'length') == 0 ]] || fail "a pod was created for a refused DIR"
  run -1 vtask volsync:files APP="$APP" CLUSTER=e2e DIR=/app.conf
  assert_output --partial '/app.conf in snapshot'
  assert_output --partial 'is a file, not a directory. Download it with FILE=/app.conf.'
  run -1 vtask volsync:files APP="$APP" CLUSTER=e2e DIR=/no/such/dir
  assert_output --partial 'there is no /no/such/dir in snapshot'
  no_toolkit_pods
}

# ------------------------------------------------------------------ restore TO_PVC

@test "restore TO_PVC restores a snapshot into a new PVC, byte-equal, while the app keeps running and its PVC stays as it was" {
  local first copy=wiki-copy app_dir pod_before
  first=$(snapshot 0 id)
  app_dir=$(pvc_dir "$NS" "$APP-data")
  cp -a "$app_dir" "$BATS_TEST_TMPDIR/app-before"
  pod_before=$(kc -n "$NS" get pods -l app="$APP" -o json | jq -r '.items[0].metadata.uid')
  watch_into deployment -n "$NS" deployment "$APP"
  watch_into rd -n "$NS" "$RD"
  sleep 1

  # no terminal, no YES: nothing existing is overwritten, so nothing is asked
  run -0 vtask volsync:restore APP="$APP" CLUSTER=e2e SNAPSHOT="${first:0:8}" TO_PVC="$copy"
  assert_line --partial 'Restore into a new PVC (nothing existing is changed; the app keeps running):'
  assert_line --regexp "^Restored snapshot ${first:0:8} of [0-9-]+ [0-9:]+ UTC into $NS/$copy"
  assert_line --regexp "^  kubectl --kubeconfig [^ ]+ run $copy-shell -n $NS --rm -it --restart=Never --image=restic/restic:0.18.1 '--overrides=.*\"claimName\":\"$copy\".*'$"
  assert_line --regexp "^  kubectl --kubeconfig [^ ]+ delete pvc $copy -n $NS$"

  # the new PVC holds exactly the snapshot (restic's own restore of it here)
  restore_into "$NS" "$first" "$BATS_TEST_TMPDIR/expected"
  same_tree "$BATS_TEST_TMPDIR/expected" "$(pvc_dir "$NS" "$copy")" || fail "the new PVC differs from snapshot $first"
  same_tree "$BATS_FILE_TMPDIR/state-A" "$(pvc_dir "$NS" "$copy")" || fail "the new PVC differs from the data the snapshot was taken of"
  # made like the source PVC, and kept; the ReplicationDestination is gone
  json_true '.spec.accessModes == ["ReadWriteOnce"] and .spec.resources.requests.storage == "1Gi" and .status.phase == "Bound"
    and .metadata.labels["app.kubernetes.io/managed-by"] == "volsync-ops"' < <(kc -n "$NS" get pvc "$copy" -o json)
  [[ $(kc -n "$NS" get "$RD" -o json | jq '.items | length') == 0 ]] || fail "a ReplicationDestination is left"
  json_true --arg pvc "$copy" 'map(select(.spec?)) | length > 0 and all(.spec.restic.destinationPVC == $pvc)' < <(seen rd '.')
  # the app: never scaled, its pod never replaced, its PVC unchanged
  [[ $(seen deployment '[.[].spec.replicas] | unique == [1]') == true ]] || fail "the Deployment was scaled: $(seen deployment '[.[].spec.replicas] | tostring')"
  [[ $(kc -n "$NS" get pods -l app="$APP" -o json | jq -r '.items[0].metadata.uid') == "$pod_before" ]] || fail "the app's pod was replaced"
  same_tree "$BATS_TEST_TMPDIR/app-before" "$app_dir" || fail "the app's PVC changed"

  # an existing PVC is refused before any change
  run -1 vtask volsync:restore APP="$APP" CLUSTER=e2e TO_PVC="$copy"
  assert_output --partial "PVC $NS/$copy exists already: TO_PVC must name a new PVC"
  [[ $(seen rd '[.[] | select(.spec?) | .metadata.name] | unique | length') == 1 ]] || fail "a second ReplicationDestination was made"

  # OUTPUT=json; the printed delete command deletes the PVC
  local delete
  run -0 --separate-stderr vtask volsync:restore APP="$APP" CLUSTER=e2e TO_PVC=wiki-copy-2 OUTPUT=json
  delete=$(jq -r .delete <<<"$output")
  json_true '.ok and .restored and .pvc == "wiki-copy-2" and .size == "1Gi"' <<<"$output"
  bash -c "$delete" >/dev/null
  wait_until 60 "wiki-copy-2 deleted" bash -c "! kubectl --kubeconfig '$KUBECONFIG' -n $NS get pvc wiki-copy-2"
  kc -n "$NS" delete pvc "$copy" --wait=false >/dev/null
  no_toolkit_pods
}

@test "restore TO_NAMESPACE without the repository Secret there stops before any change and names it; with it, the PVC holds the snapshot" {
  local other=rc-other latest
  create_namespace "$other"
  latest=$(snapshot 1 id)
  watch_into other -n "$other" pvc,"$RD",pods
  sleep 1
  run -1 vtask volsync:restore APP="$APP" CLUSTER=e2e TO_PVC=wiki-elsewhere TO_NAMESPACE="$other"
  assert_output --partial "namespace $other lacks what the restore mover needs: Secret volsync-r2-secret."
  assert_output --partial 'this tool never reads nor copies credentials'
  assert_output --partial 'Nothing was changed.'
  [[ $(seen other 'length') == 0 ]] || fail "something was created in $other: $(seen other '[.[].kind]')"
  # the operator creates the Secret there (the test copies it; the tool never does)
  kc -n "$NS" get secret volsync-r2-secret -o json | jq 'del(.metadata.namespace, .metadata.uid, .metadata.resourceVersion, .metadata.creationTimestamp, .metadata.managedFields)' | kc -n "$other" apply -f - >/dev/null
  run -0 vtask volsync:restore APP="$APP" CLUSTER=e2e TO_PVC=wiki-elsewhere TO_NAMESPACE="$other"
  assert_line --regexp "^Restored snapshot ${latest:0:8} of .* into $other/wiki-elsewhere"
  restore_into "$NS" "$latest" "$BATS_TEST_TMPDIR/expected"
  same_tree "$BATS_TEST_TMPDIR/expected" "$(pvc_dir "$other" wiki-elsewhere)" || fail "the PVC in $other differs from snapshot $latest"
  [[ $(kc -n "$other" get "$RD" -o json | jq '.items | length') == 0 ]] || fail "a ReplicationDestination is left in $other"
  no_toolkit_pods "$other"
}

# ------------------------------------------------------------------ download

@test "download brings a random binary file over 64 MiB (NUL bytes, invalid UTF-8) byte for byte, checked by SHA-256; never overwrites without FORCE" {
  local first expected to="$BATS_TEST_TMPDIR/got/big.bin"
  first=$(snapshot 0 id)
  expected="$BATS_FILE_TMPDIR/state-A/media/big.bin"
  [[ $(stat -c %s "$expected") -gt $((64 * 1024 * 1024)) ]] || fail "setup: the file is not over 64 MiB"
  grep -qaP '\x00' "$expected" || fail "setup: no NUL byte"
  mkdir -p "$BATS_TEST_TMPDIR/got"
  run -0 vtask volsync:download APP="$APP" CLUSTER=e2e SNAPSHOT="${first:0:8}" FILE=/media/big.bin TO="$to"
  cmp "$expected" "$to" || fail "the downloaded file differs"
  local sum
  sum=$(sha256sum "$expected" | cut -d' ' -f1)
  assert_line "SHA-256 $sum: computed in the cluster as restic sent it and of the local file; they match."
  assert_line --regexp "^Downloaded /media/big.bin from snapshot ${first:0:8} of .* of $NS/$APP-backup, $(stat -c %s "$expected") bytes, to $to\.$"
  # an existing file: exit 2 before anything runs, untouched; FORCE overwrites it
  printf 'mine\n' >"$to"
  run -2 vtask volsync:download APP="$APP" CLUSTER=e2e FILE=/media/big.bin TO="$to"
  assert_output --partial 'exists already: add FORCE=true (--force) to overwrite it. Nothing was downloaded.'
  [[ $(cat "$to") == mine ]] || fail "the existing file was changed"
  run -0 --separate-stderr vtask volsync:download APP="$APP" CLUSTER=e2e SNAPSHOT="${first:0:8}" FILE=media/big.bin TO="$BATS_TEST_TMPDIR/got/" FORCE=true OUTPUT=json
  json_true --arg sum "$sum" --arg to "$to" '.verified and .sha256 == $sum and .to == $to and .type == "file" and (.unpacked | not)' <<<"$output"
  cmp "$expected" "$to" || fail "the file downloaded over the old one differs"
  [[ -z $(find "$BATS_TEST_TMPDIR/got" -name '*.part') ]] || fail "a partial file is left"
  no_toolkit_pods
}

@test "download brings a directory byte-equal: unpacked when TO ends in /, else as restic's tar archive" {
  local latest
  latest=$(snapshot 1 id)
  mkdir -p "$BATS_TEST_TMPDIR/out"
  run -0 vtask volsync:download APP="$APP" CLUSTER=e2e FILE=/docs TO="$BATS_TEST_TMPDIR/out/"
  assert_line --regexp "^Downloaded directory /docs from snapshot ${latest:0:8} .* unpacked under $BATS_TEST_TMPDIR/out/ \([0-9]+ files, [0-9]+ directories, 1 links\)\.$"
  assert_line --regexp '^SHA-256 [0-9a-f]{64}: computed in the cluster as restic sent it and of the local file; they match\.$'
  same_tree "$BATS_FILE_TMPDIR/state-B/docs" "$BATS_TEST_TMPDIR/out/docs" || fail "the unpacked directory differs from the PVC's"
  # again into the same place: every file exists, refused before writing; FORCE rewrites them
  run -2 vtask volsync:download APP="$APP" CLUSTER=e2e FILE=/docs TO="$BATS_TEST_TMPDIR/out/"
  assert_output --partial 'exist already under'
  run -0 vtask volsync:download APP="$APP" CLUSTER=e2e FILE=/docs TO="$BATS_TEST_TMPDIR/out/" FORCE=true
  same_tree "$BATS_FILE_TMPDIR/state-B/docs" "$BATS_TEST_TMPDIR/out/docs" || fail "the directory unpacked again differs"
  # the whole media directory (the big file too) as a tar archive
  run -0 vtask volsync:download APP="$APP" CLUSTER=e2e FILE=/media TO="$BATS_TEST_TMPDIR/media.tar"
  assert_line --partial "to $BATS_TEST_TMPDIR/media.tar (a tar archive)."
  mkdir -p "$BATS_TEST_TMPDIR/untar"
  tar -xf "$BATS_TEST_TMPDIR/media.tar" -C "$BATS_TEST_TMPDIR/untar"
  diff -r "$BATS_FILE_TMPDIR/state-B/media" "$BATS_TEST_TMPDIR/untar/media" || fail "the archive differs from the PVC's media"
  [[ -z $(find "$BATS_TEST_TMPDIR" -name '*.part') ]] || fail "a partial file is left"
  no_toolkit_pods
}

# ------------------------------------------------------------------ verify

@test "verify of a good snapshot: restored and checked by restic, the numbers match its summary, the CHECK decides; recorded; status shows it, and flags a failed CHECK" {
  local latest
  latest=$(snapshot 1 id)
  run -0 vtask volsync:verify APP="$APP" CLUSTER=e2e 'CHECK=test -s app.conf && test -L docs/link-to-conf && cmp -s media/big.bin media/big.bin'
  assert_line --regexp "^Verified $NS/$APP-backup, snapshot ${latest:0:8} \(deep\), [0-9]+s: [0-9]+ files and directories, .* restored; the snapshot's summary: [0-9]+ files, .*, verified by restic; the CHECK exited 0\.$"
  local record
  record=$(field "$NS" "$RS" "$APP-backup" '.metadata.annotations["volsync-ops/verification"]')
  json_true --arg id "$latest" '.ok and .snapshot == $id and .depth == "deep" and .files > 0 and .bytes > 70000000 and .lastSuccess == .time' <<<"$record"
  # status: healthy, verified just now; Prometheus has the time of it
  run -0 vtask volsync:status CLUSTER=e2e NAMESPACE="$NS" OUTPUT=json
  json_true '.sources[0] | .healthy and .lastVerified != null and .verification.ok' <<<"$output"
  run -0 --separate-stderr vtask volsync:status CLUSTER=e2e NAMESPACE="$NS" OUTPUT=prometheus
  local at
  at=$(jq -r '.time | fromdateiso8601' <<<"$record")
  assert_line "volsync_ops_last_verified_timestamp_seconds{cluster=\"e2e\",namespace=\"$NS\",source=\"$APP-backup\"} $at"
  assert_line "volsync_ops_last_verification_success{cluster=\"e2e\",namespace=\"$NS\",source=\"$APP-backup\"} 1"
  assert_line --regexp "^volsync_ops_last_sync_timestamp_seconds\{cluster=\"e2e\",namespace=\"$NS\",source=\"$APP-backup\"\} [0-9]+$"
  assert_line '# TYPE volsync_ops_last_verified_timestamp_seconds gauge'

  # the CHECK sees the restored data read-only, and its exit code decides
  run -1 vtask volsync:verify APP="$APP" CLUSTER=e2e 'CHECK=touch written-by-check'
  assert_output --partial 'VERIFICATION FAILED'
  assert_output --partial 'the CHECK exited 1'
  assert_output --partial 'Read-only file system'
  COLUMNS=200 run -1 vtask volsync:status CLUSTER=e2e NAMESPACE="$NS"
  assert_output --partial 'last verification failed (deep'
  assert_line --regexp "^$NS +$APP-backup .* FAILED$"
  record=$(field "$NS" "$RS" "$APP-backup" '.metadata.annotations["volsync-ops/verification"]')
  json_true '(.ok | not) and .lastSuccess != null and .lastSuccess < .time' <<<"$record"
  # a good one again puts it back to healthy
  run -0 vtask volsync:verify APP="$APP" CLUSTER=e2e DEPTH=quick
  assert_line --regexp "^Verified $NS/$APP-backup, snapshot ${latest:0:8} \(quick\), [0-9]+s: restic check --read-data-subset=5% found no errors\.$"
  run -0 vtask volsync:status CLUSTER=e2e NAMESPACE="$NS"
  no_toolkit_pods
}

@test "verify of a repository with a corrupted pack file fails with exit 1 and restic's words, is recorded, and status flags it; verify of all sources reports it in the table" {
  local ns=rc-bad app=ledger prefix
  make_app "$ns" "$app"
  # damage the biggest data pack of the repository in S3 (same size, bytes flipped in the middle)
  prefix="$E2E_RUN_ID-$ns-$app"
  local key
  key=$(curl -s "$E2E_S3_ENDPOINT/$E2E_S3_BUCKET?prefix=$prefix/data/" | grep -o '<Key>[^<]*</Key>' | sed 's#</*Key>##g' |
    while read -r k; do echo "$(curl -sI "$E2E_S3_ENDPOINT/$E2E_S3_BUCKET/$k" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p') $k"; done |
    sort -n | tail -1 | cut -d' ' -f2)
  [[ -n $key ]] || fail "setup: no data pack found under $prefix/data/"
  curl -s "$E2E_S3_ENDPOINT/$E2E_S3_BUCKET/$key" -o "$BATS_TEST_TMPDIR/pack"
  local size
  size=$(stat -c %s "$BATS_TEST_TMPDIR/pack")
  printf 'CORRUPTED-CORRUPTED-CORRUPTED' | dd of="$BATS_TEST_TMPDIR/pack" bs=1 seek=$((size / 2)) conv=notrunc status=none
  curl -s -X PUT --data-binary @"$BATS_TEST_TMPDIR/pack" "$E2E_S3_ENDPOINT/$E2E_S3_BUCKET/$key" -o /dev/null
  # the damage is real: restic itself cannot restore
  ! repo_restic "$ns" restore latest --target "$BATS_TEST_TMPDIR/probe" >/dev/null 2>&1 || fail "setup: restic restores the damaged repository"

  run -1 vtask volsync:verify APP="$app" CLUSTER=e2e
  assert_output --partial "VERIFICATION FAILED: $ns/$app-backup, snapshot"
  assert_output --regexp 'restic restore --verify failed \(exit code [0-9]+\)|restored with [0-9]+ error'
  local record
  record=$(field "$ns" "$RS" "$app-backup" '.metadata.annotations["volsync-ops/verification"]')
  json_true '(.ok | not) and .depth == "deep" and .lastSuccess == null' <<<"$record"
  run -1 vtask volsync:status CLUSTER=e2e NAMESPACE="$ns"
  assert_output --partial "! $ns/$app-backup"
  assert_output --partial 'last verification failed (deep'
  run -1 --separate-stderr vtask volsync:status CLUSTER=e2e NAMESPACE="$ns" OUTPUT=prometheus
  assert_line "volsync_ops_last_verification_success{cluster=\"e2e\",namespace=\"$ns\",source=\"$app-backup\"} 0"
  assert_line "volsync_ops_healthy{cluster=\"e2e\",namespace=\"$ns\",source=\"$app-backup\"} 0"

  # every source of the namespace: a table, exit 1
  run -1 vtask volsync:verify CLUSTER=e2e NAMESPACE="$ns"
  assert_line --regexp '^SOURCE +DEPTH +SNAPSHOT +FILES +BYTES +TOOK +RESULT$'
  assert_line --regexp "^$ns/$app-backup +deep +[0-9a-f]{8} .* FAILED: "
  assert_line '0 verified, 1 failed (cluster e2e)'
  no_toolkit_pods "$ns"
}

# ------------------------------------------------------------------ restore DRY_RUN preview

@test "the dry run's preview counts what a real restore then adds, replaces and deletes, and changes nothing itself" {
  local ns=rc-dry app=notes first
  RETAIN='{"last": "50"}' make_app "$ns" "$app"
  local dir
  dir=$(pvc_dir "$ns" "$app-data")
  change_files "$dir" B
  vtask volsync:snapshot APP="$app" CLUSTER=e2e >/dev/null
  first=$(snapshots_json "$ns" | jq -r 'sort_by(.time) | .[0].id')
  # the app writes on: another version, and a directory the snapshots never had
  change_files "$dir" C
  mkdir -p "$dir/extra/dir"
  printf 'x\n' >"$dir/extra/dir/f"
  cp -a "$dir" "$BATS_TEST_TMPDIR/before"

  run -0 --separate-stderr vtask volsync:restore APP="$app" CLUSTER=e2e SNAPSHOT="${first:0:8}" DRY_RUN=true OUTPUT=json
  local preview
  preview=$(jq -c .preview <<<"$output")
  json_true --arg id "$first" '.compared and .snapshot == $id and .pvc == "rc-dry/notes-data"' <<<"$preview"
  same_tree "$BATS_TEST_TMPDIR/before" "$dir" || fail "the dry run changed the PVC"
  run -0 vtask volsync:restore APP="$app" CLUSTER=e2e SNAPSHOT="${first:0:8}" DRY_RUN=true
  assert_line --regexp '^  add +1 file\(s\) not in the PVC: docs/deep/er/nested\.txt$'
  assert_line --regexp '^  delete +[0-9]+ path\(s\) not in the snapshot: '
  [[ $(toolkit_pods "$ns") == '[]' ]] || fail "pods left: $(toolkit_pods "$ns")"

  # the real restore, then what it really did, counted from the trees
  run -0 vtask volsync:restore APP="$app" CLUSTER=e2e SNAPSHOT="${first:0:8}" YES=true
  local after=$dir added replaced deleted
  added=$(comm -13 <(cd "$BATS_TEST_TMPDIR/before" && find . -type f | sort) <(cd "$after" && find . -type f | sort) | wc -l)
  deleted=$(comm -23 <(cd "$BATS_TEST_TMPDIR/before" && find . -mindepth 1 | sort) <(cd "$after" && find . -mindepth 1 | sort) | wc -l)
  replaced=0
  local f
  while IFS= read -r f; do
    cmp -s "$BATS_TEST_TMPDIR/before/$f" "$after/$f" || replaced=$((replaced + 1))
  done < <(comm -12 <(cd "$BATS_TEST_TMPDIR/before" && find . -type f | sort) <(cd "$after" && find . -type f | sort))
  [[ $added -gt 0 && $replaced -gt 0 && $deleted -gt 0 ]] || fail "setup: the restore changed too little (added $added, replaced $replaced, deleted $deleted)"
  json_true --argjson a "$added" --argjson r "$replaced" --argjson d "$deleted" \
    '.add.count == $a and .replace.count == $r and .delete.count == $d' <<<"$preview" ||
    fail "preview $preview; the restore added $added, replaced $replaced, deleted $deleted"
}
