# shellcheck shell=bash
# Loaded by every e2e bats file (test/e2e/*.bats). The control plane must be
# up (test/e2e/run.sh starts it; by hand: sandbox/controlplane.sh up, with
# the same E2E_RUN_DIR). Tests drive the toolkit through `task`, exactly as an
# operator types it, and assert on real API objects, the real restic
# repository in S3 and the real PVC directories.
bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
load "$ROOT/node_modules/bats-support/load"
load "$ROOT/node_modules/bats-assert/load"
load "$ROOT/test/bats/helpers/json"
# Namespaces made by this test (or by setup_file); teardown deletes them.
NAMESPACES_FILE="${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}/namespaces"
source "$ROOT/test/e2e/helpers/apps.bash"

# ------------------------------------------------------------ Ctrl-C, faults

# spawn_task ARGS...: `task -x ARGS` in the background, in its own process
# group (a terminal job); output in $BATS_TEST_TMPDIR/job.out
spawn_task() {
  setsid bash -c 'cd "$ROOT" && exec env -u KUBECONFIG task -x "$@"' task "$@" >"$BATS_TEST_TMPDIR/job.out" 2>&1 3>&- &
  JOB_PID=$!
}

job_output() { cat "$BATS_TEST_TMPDIR/job.out"; }

# interrupt_job: SIGINT to the job's process group, as Ctrl-C at a terminal
interrupt_job() { kill -INT -- "-$JOB_PID"; }

# wait_job [SECONDS]: waits for the job; sets $status, $output and $lines like `run`
wait_job() {
  local timeout=${1:-90} deadline=$((SECONDS + ${1:-90}))
  while kill -0 "$JOB_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$JOB_PID" 2>/dev/null; then
    kill -KILL -- "-$JOB_PID" 2>/dev/null
    fail "the job did not end within ${timeout}s: $(job_output)"
  fi
  status=0
  wait "$JOB_PID" || status=$?
  output=$(job_output)
  mapfile -t lines <<<"$output"
}

# job_says TEXT: the job's output contains TEXT
job_says() { grep -qF -- "$1" "$BATS_TEST_TMPDIR/job.out"; }

# Components stopped by a test; teardown starts them again.
stop_component() {
  "$SANDBOX_DIR/controlplane.sh" stop "$1" >/dev/null 2>&1
  echo "$1" >>"$BATS_TEST_TMPDIR/stopped"
}

start_component() { "$SANDBOX_DIR/controlplane.sh" start "$1" >&2; }

# ------------------------------------------------------------ teardown

# ------------------------------------------------------------ watching what a run did

# watch_into NAME ARGS...: `kubectl get ARGS --watch -o json` in the
# background into $BATS_TEST_TMPDIR/watch-NAME.json, to see what a run did
# between its start and its end (a scale to 0, a suspension, an RD...)
watch_into() {
  local name=$1 file="$BATS_TEST_TMPDIR/watch-$1.json"
  shift
  : >"$file"
  # kubectl itself in the background (not through kc, a function: $! would be
  # a subshell, and killing it would leave kubectl holding bats' descriptors)
  kubectl --kubeconfig "$KUBECONFIG" get "$@" --watch -o json >"$file" 2>/dev/null 3>&- &
  echo $! >>"$BATS_TEST_TMPDIR/watchers"
}

# seen NAME JQ: JQ over every state the watch NAME saw (an array)
seen() { jq -s "$2" "$BATS_TEST_TMPDIR/watch-$1.json"; }

stop_watches() {
  [[ -f $BATS_TEST_TMPDIR/watchers ]] || return 0
  local pid
  while IFS= read -r pid; do kill "$pid" 2>/dev/null || true; done <"$BATS_TEST_TMPDIR/watchers"
  rm -f "$BATS_TEST_TMPDIR/watchers"
}

e2e_teardown() {
  local name ns
  stop_watches
  if [[ -f $BATS_TEST_TMPDIR/stopped ]]; then
    # in start order: the others need the API server
    for name in etcd kube-apiserver kube-controller-manager fakes3 harness volsync; do
      grep -qx "$name" "$BATS_TEST_TMPDIR/stopped" && { start_component "$name" || true; }
    done
    rm -f "$BATS_TEST_TMPDIR/stopped"
  fi
  [[ -z ${JOB_PID:-} ]] || kill -KILL -- "-$JOB_PID" 2>/dev/null || true
  [[ -f $NAMESPACES_FILE ]] || return 0
  # The VolSync objects go first, and are waited for (they have no finalizers):
  # the next test must not find this test's sources. The namespaces, with
  # their pods and volumes, are deleted in the background.
  while IFS= read -r ns; do
    kc -n "$ns" delete "$RS,$RD" --all --wait=true --timeout=60s >/dev/null 2>&1 || true
    kc delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  done <"$NAMESPACES_FILE"
}

# only_sources [NS...]: waits until no ReplicationSource exists outside these
# namespaces (a safety net for the tests that read the whole cluster)
only_sources() {
  wait_until 180 "only ReplicationSources in: ${*:-none}" no_sources_but "$@"
}
no_sources_but() {
  kc get "$RS" --all-namespaces -o json |
    jq -e '[.items[].metadata.namespace] - $ARGS.positional | length == 0' --args "$@" >/dev/null
}
