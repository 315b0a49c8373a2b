#!/usr/bin/env bats
# task volsync:stats and volsync:check: restic run in an idle restic pod
# through kubectl exec (restic's answers recorded from restic 0.18.1 on a
# local repository: test/fixtures/restic-stats-*.jsonl, restic-check-*.log).

setup() {
  load helpers/common
  common_setup
}

FIND="get --raw /apis/volsync.backube/v1alpha1/replicationsources?limit=1000"
FIND_TOOLS="get --raw /apis/volsync.backube/v1alpha1/namespaces/tools/replicationsources?limit=1000"

as_pod() {
  render "$FIXTURES/$1" | sed "s/\"name\": \"POD\"/\"name\": \"$(jq -r .metadata.name "$STUB_DIR/pod.json")\"/"
}
export -f as_pod

# plan_session COMPONENT APP NAMESPACE: the pod of one source, up to restic snapshots
plan_session() {
  local pod="volsync-$1-$2-?????"
  stub kubectl \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; as_pod pod-list-pending.json" \
    "$KW get pod $pod -n $3 --watch -o json : as_pod pod-list-running.json"
  EXEC="$KW exec $pod -n $3 -c restic -- restic"
  DELETE="$K delete pod $pod -n $3 --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
}

# plan_stats APP NAMESPACE: every restic command of stats answered with the recordings
plan_stats() {
  plan_session stats "$1" "$2"
  stub kubectl \
    "$EXEC snapshots --json --no-lock --no-cache : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$EXEC stats --mode restore-size --json --no-lock --no-cache latest : cat \"\$FIXTURES/restic-stats-restore-latest.jsonl\"" \
    "$EXEC stats --mode restore-size --json --no-lock --no-cache : cat \"\$FIXTURES/restic-stats-restore-all.jsonl\"" \
    "$EXEC stats --mode raw-data --json --no-lock --no-cache : cat \"\$FIXTURES/restic-stats-raw.jsonl\"" \
    "$DELETE"
}

@test "stats of one app: snapshots, oldest and newest, sizes, dedup ratio, last prune and retention, read with --no-lock" {
  stub kubectl "$K $FIND : render \"\$FIXTURES/rs-odoo.json\""
  plan_stats odoo business
  run -0 script stats --kubeconfig "$KC" --cluster apps --app odoo --output json
  unstub kubectl
  local n oldest newest
  n=$(grep -m1 '^\[' "$FIXTURES/restic-snapshots.log" | jq length)
  oldest=$(grep -m1 '^\[' "$FIXTURES/restic-snapshots.log" | jq -r 'min_by(.time).time')
  newest=$(grep -m1 '^\[' "$FIXTURES/restic-snapshots.log" | jq -r 'max_by(.time).time')
  json_true --argjson n "$n" --arg oldest "$oldest" --arg newest "$newest" '.sources | length == 1 and (.[0] |
    .source == "odoo-backup" and .ok and .snapshots == $n and .oldest == $oldest and .newest == $newest and
    .latestRestoreBytes == 400005 and .latestFiles == 4 and .allRestoreBytes == 1200010 and .rawBytes == 201271 and
    .dedupRatio == 5.96 and .retain == {"daily": 7, "hourly": 24} and (.lastPruned | type == "string"))' < <(sed -n '/^{/,/^}/p' <<<"$output")
  # the pod runs nothing by itself (restic runs through exec); it is deleted
  json_true '.metadata.labels["app.kubernetes.io/component"] == "stats"' "$STUB_DIR/pod.json"
}

@test "stats of every source in a namespace: one table with totals; an unreadable repository is a FAILED row, exit 1, the others shown" {
  stub kubectl "$K $FIND_TOOLS : render \"\$FIXTURES/rs-all.json\" | jq '.items |= map(select(.metadata.namespace == \"tools\"))'"
  plan_stats git tools
  plan_session stats wiki tools
  stub kubectl \
    "$EXEC snapshots --json --no-lock --no-cache : echo 'Fatal: wrong password or no key found' >&2; exit 12" \
    "$DELETE"
  COLUMNS=200 run -1 script stats --kubeconfig "$KC" --cluster apps --namespace tools --concurrency 1
  unstub kubectl
  assert_line --regexp '^SOURCE +SNAPSHOTS +OLDEST +NEWEST +LATEST +STORED +DEDUP +LAST PRUNE +RETAIN'
  assert_line --regexp '^tools/git-backup +[0-9]+ .* 391K +197K +5\.96x '
  assert_line --regexp '^tools/wiki-backup +- .*FAILED: restic could not list the repository'
  assert_line --regexp '^TOTAL \(2 sources\) +[0-9]+ +391K +197K +5\.96x'
  assert_line --partial '1 read, 1 failed; '
  assert_output --partial 'Fatal: wrong password or no key found'
}

@test "stats: CONCURRENCY is checked before any kubectl call; SOURCE needs APP" {
  run -2 script stats --kubeconfig "$KC" --cluster apps --concurrency 0
  assert_output --partial 'CONCURRENCY (--concurrency) "0" must be a whole number from 1 to 32'
  run -2 script stats --kubeconfig "$KC" --cluster apps --source odoo-r2
  assert_output --partial 'SOURCE names the source of an APP'
  unstub kubectl
}

@test "check: restic check with the data share asked for; success is one line" {
  stub kubectl "$K $FIND : render \"\$FIXTURES/rs-odoo.json\""
  plan_session check odoo business
  stub kubectl \
    "$EXEC check --no-cache --read-data-subset=10% : echo 'no errors were found'" \
    "$DELETE"
  run -0 script check --kubeconfig "$KC" --cluster apps --app odoo --read-data 10%
  unstub kubectl
  assert_line 'Checked business/odoo-backup: restic check --read-data-subset=10% found no errors.'
}

@test "check: a damaged pack exits 1 with restic's words" {
  stub kubectl "$K $FIND : render \"\$FIXTURES/rs-odoo.json\""
  plan_session check odoo business
  stub kubectl \
    "$EXEC check --no-cache : echo 'check all packs'; cat \"\$FIXTURES/restic-check-damaged.log\" >&2; exit 1" \
    "$DELETE"
  run -1 script check --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_output --partial 'business/odoo-backup: restic check found errors (exit code 1); restic said:'
  assert_output --partial 'contains 1 errors: [unexpected pack id'
  assert_output --partial 'Fatal: repository contains errors'
}

@test "check: a repository locked by a running backup is busy, exit 1, and no lock is removed" {
  stub kubectl "$K $FIND : render \"\$FIXTURES/rs-odoo.json\""
  plan_session check odoo business
  stub kubectl \
    "$EXEC check --no-cache : cat \"\$FIXTURES/restic-check-locked.log\" >&2; exit 11" \
    "$DELETE"
  run -1 script check --kubeconfig "$KC" --cluster apps --app odoo --output json
  unstub kubectl
  assert_output --partial 'the repository is busy'
  assert_output --partial 'try later'
  assert_output --partial 'repository is already locked by PID 26424'
  # a stale lock is the operator's call: the command is shown, never run (unstub: no patch, no other call)
  assert_output --partial 'task volsync:unlock APP=odoo NAMESPACE=business CLUSTER=apps'
  json_true '.busy and (.ok | not)' < <(sed -n '/^{/,/^}/p' <<<"$output")
}

@test "check: READ_DATA is checked before any kubectl call; APP is required" {
  for bad in 0 101 5.5 abc 10%%; do
    run -2 script check --kubeconfig "$KC" --cluster apps --app odoo --read-data "$bad"
    assert_output --partial 'READ_DATA (--read-data)'
    assert_output --partial 'must be a whole percent from 1 to 100'
  done
  run -2 script check --kubeconfig "$KC" --cluster apps
  assert_output --partial 'APP (--app) is required'
  unstub kubectl
}

# --- several pods at once: each pod is known by its name; `alive` counts the
# pods created and not yet deleted, alive.log every count it reached
four_sources() {
  render "$FIXTURES/rs-odoo.json" |
    jq '.items[0] as $rs | .items = [("git", "wiki", "vault", "media") | . as $app | $rs |
      .metadata.namespace = "tools" | .metadata.name = "\($app)-backup"]'
}
count_pod() {
  (
    flock 8
    local n=$(($(cat "$STUB_DIR/alive" 2>/dev/null || echo 0) + $1))
    echo "$n" >"$STUB_DIR/alive"
    echo "$n" >>"$STUB_DIR/alive.log"
  ) 8>>"$STUB_DIR/alive.lock"
}
pod_created() {
  local manifest name
  manifest=$(cat)
  name=$(jq -r .metadata.name <<<"$manifest")
  echo "$name" >>"$STUB_DIR/created"
  count_pod 1
  render "$FIXTURES/pod-list-pending.json" | sed "s/\"name\": \"POD\"/\"name\": \"$name\"/"
}
pod_running() {
  local name
  name=$(for a in "$@"; do printf '%s\n' "$a"; done | grep -m1 '^volsync-stats-')
  render "$FIXTURES/pod-list-running.json" | sed "s/\"name\": \"POD\"/\"name\": \"$name\"/"
}
# restic snapshots in a pod: slow enough for the pods to overlap; vault's repository is unreadable
pod_snapshots() {
  sleep 0.4
  if [[ $* == *volsync-stats-vault-* ]]; then
    echo 'Fatal: wrong password or no key found' >&2
    exit 12
  fi
  cat "$FIXTURES/restic-snapshots.log"
}
pod_deleted() {
  for a in "$@"; do printf '%s\n' "$a"; done | grep -m1 '^volsync-stats-' >>"$STUB_DIR/deleted"
  count_pod -1
  echo 'pod deleted'
}
export -f four_sources count_pod pod_created pod_running pod_snapshots pod_deleted

@test "stats of many: at most CONCURRENCY pods at a time, every pod deleted, also the one whose repository fails" {
  # four sources of one namespace, shaped like the recorded one
  stub kubectl "$K $FIND_TOOLS : four_sources"
  local pod='volsync-stats-*' exec i
  exec="$KW exec $pod -n tools -c restic -- restic"
  for i in 1 2 3 4; do
    stub kubectl \
      "$K create -f - -o json : pod_created" \
      "$KW get pod $pod -n tools --watch -o json : pod_running \"\$@\"" \
      "$exec snapshots --json --no-lock --no-cache : pod_snapshots \"\$@\"" \
      "$K delete pod $pod -n tools --ignore-not-found --wait=false --grace-period=0 : pod_deleted \"\$@\""
  done
  for i in 1 2 3; do
    stub kubectl \
      "$exec stats --mode restore-size --json --no-lock --no-cache latest : cat \"\$FIXTURES/restic-stats-restore-latest.jsonl\"" \
      "$exec stats --mode restore-size --json --no-lock --no-cache : cat \"\$FIXTURES/restic-stats-restore-all.jsonl\"" \
      "$exec stats --mode raw-data --json --no-lock --no-cache : cat \"\$FIXTURES/restic-stats-raw.jsonl\""
  done
  COLUMNS=200 run -1 script stats --kubeconfig "$KC" --cluster apps --namespace tools --concurrency 2
  unstub kubectl
  assert_line --regexp '^tools/git-backup +[0-9]+ .* 5\.96x '
  assert_line --regexp '^tools/media-backup +[0-9]+ .* 5\.96x '
  assert_line --regexp '^tools/wiki-backup +[0-9]+ .* 5\.96x '
  assert_line --regexp '^tools/vault-backup +- .*FAILED: restic could not list the repository'
  assert_line --partial '3 read, 1 failed; '
  # two pods at once, never more; each of the four deleted, none left
  [[ $(sort -n "$STUB_DIR/alive.log" | tail -1) == 2 ]] || fail "pods alive at once: $(tr '\n' ' ' <"$STUB_DIR/alive.log")"
  assert_equal "$(wc -l <"$STUB_DIR/created")" 4
  assert_equal "$(sort "$STUB_DIR/deleted")" "$(sort "$STUB_DIR/created")"
  assert_equal "$(cat "$STUB_DIR/alive")" 0
}

# --- CLUSTER=all: every cluster of the repository (kubeconfig-apps and
# kubeconfig-lab in $VOLSYNC_OPS_ROOT), each read with its own kubeconfig only

fleet() {
  printf 'apiVersion: v1\nkind: Config\n' >"$TEST_DIR/kubeconfig-apps"
  printf 'apiVersion: v1\nkind: Config\n' >"$TEST_DIR/kubeconfig-lab"
  KA="--kubeconfig $TEST_DIR/kubeconfig-apps --request-timeout=60s"
  KL="--kubeconfig $TEST_DIR/kubeconfig-lab --request-timeout=60s"
}

@test "stats CLUSTER=all: one table with a CLUSTER column and one summary line per cluster; an unreachable cluster is NOT READ, exit 1" {
  fleet
  stub kubectl \
    "$KA $FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KL $FIND : echo 'The connection to the server 127.0.0.1:32740 was refused - did you specify the right host or port?' >&2; exit 1"
  K=$KA KW="--kubeconfig $TEST_DIR/kubeconfig-apps" plan_stats odoo business
  COLUMNS=200 run -1 script stats --cluster all
  unstub kubectl
  assert_line --regexp '^CLUSTER +SOURCE +SNAPSHOTS +OLDEST +NEWEST +LATEST +STORED +DEDUP +LAST PRUNE +RETAIN'
  assert_line --regexp '^apps +business/odoo-backup +[0-9]+ .* 391K +197K +5\.96x '
  assert_line --regexp '^ +TOTAL \(1 sources\) +[0-9]+ +391K +197K +5\.96x'
  refute_line --regexp '^lab '
  assert_line --regexp '^apps: 1 read, 0 failed; [0-9]+ snapshots, 197K stored for 391K of latest snapshots \(deduplication 5\.96x\)$'
  assert_line 'lab:  NOT READ: The connection to the server 127.0.0.1:32740 was refused - did you specify the right host or port?'
  assert_line --regexp '^2 clusters: 1 read, 0 failed; .*, 1 not read$'
  # the pod was created through apps' kubeconfig only
  run stub_calls kubectl
  refute_line --regexp "kubeconfig-lab.* create "
}

@test "stats CLUSTER=all OUTPUT=json is keyed by cluster; a cluster without restic sources says so; APP is refused" {
  fleet
  stub kubectl \
    "$KA $FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KL $FIND : cat \"\$FIXTURES/empty-list.json\""
  K=$KA KW="--kubeconfig $TEST_DIR/kubeconfig-apps" plan_stats odoo business
  run -0 --separate-stderr script stats --cluster all --output json
  unstub kubectl
  json_true --arg dir "$TEST_DIR" '.cluster == "all" and .notRead == 0 and .totals.sources == 1 and .totals.rawBytes == 201271
    and (.clusters | keys_unsorted) == ["apps", "lab"]
    and (.clusters.apps | .how == "kubeconfig \($dir)/kubeconfig-apps" and .read and .error == null and ([.sources[].source] == ["odoo-backup"]) and .totals.rawBytes == 201271)
    and .clusters.lab == {how: "kubeconfig \($dir)/kubeconfig-lab", read: true, error: null, sources: [], totals: {sources: 0, failed: 0, snapshots: 0, latestRestoreBytes: 0, allRestoreBytes: 0, rawBytes: 0, dedupRatio: null}}' <<<"$output" >/dev/null

  stub kubectl \
    "$KA $FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KL $FIND : cat \"\$FIXTURES/empty-list.json\""
  K=$KA KW="--kubeconfig $TEST_DIR/kubeconfig-apps" plan_stats odoo business
  COLUMNS=200 run -0 script stats --cluster all
  unstub kubectl
  assert_line 'lab:  no restic ReplicationSources'

  run -2 script stats --cluster all --app odoo
  assert_output --partial 'CLUSTER (--cluster) all reads every source of every cluster: drop APP (--app), or name one cluster'
  unstub kubectl
}

@test "stats CLUSTER=all: a FAILED row's notes name its cluster" {
  fleet
  stub kubectl \
    "$KA $FIND : render \"\$FIXTURES/rs-odoo.json\"" \
    "$KL $FIND : render \"\$FIXTURES/rs-odoo.json\""
  K=$KA KW="--kubeconfig $TEST_DIR/kubeconfig-apps" plan_stats odoo business
  K=$KL KW="--kubeconfig $TEST_DIR/kubeconfig-lab" plan_session stats odoo business
  stub kubectl \
    "$EXEC snapshots --json --no-lock --no-cache : echo 'Fatal: wrong password or no key found' >&2; exit 12" \
    "$DELETE"
  COLUMNS=200 run -1 script stats --cluster all
  unstub kubectl
  assert_line --regexp '^apps +business/odoo-backup +[0-9]+ .* 5\.96x '
  assert_line --regexp '^lab +business/odoo-backup +- .*FAILED: restic could not list the repository'
  # the same source on both clusters: each note says which one failed, as it fails and under the table
  assert_line --regexp '^lab: business/odoo-backup: FAILED: restic could not list the repository'
  assert_line --regexp '^lab: business/odoo-backup: restic could not list the repository'
  assert_line 'Fatal: wrong password or no key found'
  refute_line --regexp '^business/odoo-backup: '
}
