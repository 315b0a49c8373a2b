# Loaded by every bats test: assertions, a stub bin dir first on PATH with a
bats_require_minimum_version 1.5.0
# kubectl stub that rejects every unplanned call, and a temp dir whose name
# has a space in it (to shake out quoting bugs).
# Every test pays for what this file runs: it starts no process (a fork costs
# about 10 ms of CPU here, and the suite runs ~230 tests); see CONTRIBUTING.md.
if [[ $BATS_TEST_DIRNAME == /*/test/bats ]]; then
  ROOT=${BATS_TEST_DIRNAME%/test/bats}
else
  ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
fi
HELPERS="$ROOT/test/bats/helpers"
FIXTURES="$ROOT/test/fixtures"
export ROOT FIXTURES
# bats-support and bats-assert, sourced as their load.bash does, without its
# dirname process per file (15 a test)
for _lib in support/src/output support/src/error support/src/lang \
  assert/src/assert assert/src/refute assert/src/assert_equal assert/src/assert_not_equal \
  assert/src/assert_success assert/src/assert_failure assert/src/assert_output assert/src/refute_output \
  assert/src/assert_line assert/src/refute_line assert/src/assert_regex assert/src/refute_regex; do
  source "$ROOT/node_modules/bats-$_lib.bash"
done
unset _lib
source "$HELPERS/stub.bash"
source "$HELPERS/json.bash"

common_setup() {
  TEST_DIR="$BATS_TEST_TMPDIR/with space"
  export STUB_DIR="$TEST_DIR/stubs" STUB_BIN="$TEST_DIR/bin"
  mkdir -p "$TEST_DIR/home" "$STUB_DIR" "$STUB_BIN"
  stub kubectl
  # node, task and the stub bin; the real kubectl in /usr/bin is shadowed
  # (hash: node's directory without a command substitution's fork)
  hash node
  local node=${BASH_CMDS[node]}
  export PATH="$STUB_BIN:$ROOT/.cache/bin:${node%/*}:/usr/local/bin:/usr/bin:/bin"
  export HOME="$TEST_DIR/home"
  # script(1) runs its command with $SHELL: a POSIX sh (dash, or SHELL unset
  # on CI) drops the exported bash functions the stub answers use
  export SHELL=/bin/bash
  unset KUBECONFIG NO_COLOR RESTIC_IMAGE
  # an operator's plain shell (no CI colours, no COLUMNS, TZ=UTC); a taskrc in
  # HOME is the test's own
  source "$HELPERS/plain-env.bash"
  # kubeconfig-<cluster> files are looked up here instead of the repository root
  export VOLSYNC_OPS_ROOT="$TEST_DIR"
  KC="$TEST_DIR/kube config"
  printf 'apiVersion: v1\nkind: Config\n' >"$KC"
  # every one-shot kubectl call of a run starts like this
  K="--kubeconfig $KC --request-timeout=60s"
  # and every watch like this
  KW="--kubeconfig $KC"
  # ReplicationSources are listed through the raw API, 1000 a page (lib/kubectl.ts pages)
  RS_ALL='get --raw /apis/volsync.backube/v1alpha1/replicationsources?limit=1000'
}

# rs_in NS: the raw list read of the ReplicationSources of one namespace
rs_in() { printf 'get --raw /apis/volsync.backube/v1alpha1/namespaces/%s/replicationsources?limit=1000' "$1"; }

# render FILE: a fixture with @NOW@, @NOW-2h@, @NOW+30m@ ... replaced by UTC
# times (text files only); @NOW-2h.us@ with microseconds (a MicroTime, as an
# Event's eventTime). In bash, without a process: the stub's answers render a
# fixture on most kubectl calls.
render() {
  local -a lines
  local -x TZ=UTC
  local i line match stamp t unit re='@NOW(([+-])([0-9]+)([smhd]))?(\.us)?@'
  mapfile lines <"$1" || return
  for i in "${!lines[@]}"; do
    [[ ${lines[i]} == *@NOW* ]] || continue
    line=${lines[i]}
    while [[ $line =~ $re ]]; do
      match=${BASH_REMATCH[0]} t=$EPOCHSECONDS
      if [[ -n ${BASH_REMATCH[1]} ]]; then
        case ${BASH_REMATCH[4]} in s) unit=1 ;; m) unit=60 ;; h) unit=3600 ;; d) unit=86400 ;; esac
        t=$((t ${BASH_REMATCH[2]} 10#${BASH_REMATCH[3]} * unit))
      fi
      printf -v stamp '%(%Y-%m-%dT%H:%M:%S)T' "$t"
      stamp+=${BASH_REMATCH[5]:+.000000}Z
      line=${line/"$match"/$stamp}
    done
    lines[i]=$line
  done
  printf '%s' "${lines[@]}"
}
export -f render

# Run a script directly the way the Taskfile starts it: `node
# --optimize-for-size bin/run.mjs scripts/<name>.ts`, one node process running the cached bundle of the script
# (built with esbuild, rebuilt when a source is newer). It starts in a fifth
# of the CPU time tsx needs. The other ways to run a script (tsx on Node 20,
# zx on Node 24) are proven for every script in run-modes.bats; the tsx CLI
# on a terminal in restore.bats.
script() {
  local name=$1
  shift
  node --optimize-for-size "$ROOT/bin/run.mjs" "$ROOT/scripts/$name.ts" "$@"
}

# Run a task as an operator would; -x passes the script's exit code through.
run_task() {
  (cd "$ROOT" && task -x "$@")
}

# --- running a command as a terminal job, to interrupt it like Ctrl-C does

# spawn_job CMD...: start CMD in the background in its own process group;
# its output goes to $TEST_DIR/job.out
spawn_job() {
  setsid "$@" >"$TEST_DIR/job.out" 2>&1 &
  JOB_PID=$!
}

# wait_for_call CMD GLOB: wait (up to 10 s) until the stub CMD was called with
# arguments matching GLOB
wait_for_call() {
  local cmd=$1 pattern=$2 i line
  for ((i = 0; i < 100; i++)); do
    while IFS= read -r line; do
      [[ $line == $pattern ]] && return 0
    done < <(stub_calls "$cmd")
    sleep 0.1
  done
  fail "no call of $cmd matching: $pattern"$'\n'"calls: $(stub_calls "$cmd")"
}

# spawn_script NAME FLAGS...: the script as a terminal job, started as script()
# starts it: one node process. (Not the tsx CLI: it relays a Ctrl-C to its
# child and SIGKILLs the child when it does not acknowledge within 30 ms, which
# on a busy machine cuts the clean-up short: tests of Ctrl-C through it failed
# at random under load.)
spawn_script() {
  local name=$1
  shift
  spawn_job node --optimize-for-size "$ROOT/bin/run.mjs" "$ROOT/scripts/$name.ts" "$@"
}

# interrupt_job [SIGNAL]: send SIGINT (default) to the job's whole process
# group, as a terminal does on Ctrl-C
interrupt_job() {
  kill "-${1:-INT}" -- "-$JOB_PID"
}

# interrupt_at GLOB: once the job has made the kubectl call GLOB (the wait it
# is to be interrupted in), let it settle for half a second, press Ctrl-C,
# and wait for the job to end ($status, $output)
interrupt_at() {
  wait_for_call kubectl "$1"
  sleep 0.5
  interrupt_job
  wait_job
}

# wait_job: wait (up to 20 s) for the job; sets $status and $output like `run`
wait_job() {
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$JOB_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$JOB_PID" 2>/dev/null; then
    kill -KILL -- "-$JOB_PID" 2>/dev/null
    fail "the job did not end within 20 s: $(cat "$TEST_DIR/job.out")"
  fi
  status=0
  wait "$JOB_PID" || status=$?
  output=$(cat "$TEST_DIR/job.out")
  mapfile -t lines <<<"$output"
}

# mark NAME / wait_mark NAME: in stubbed watch answers, one stream waits (up to 10 s) for a point another
# stream marked (both run in the stub's processes, hence exported)
mark() { : >"$STUB_DIR/mark.$1"; }
wait_mark() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -e $STUB_DIR/mark.$1 ]] && return 0
    sleep 0.1
  done
  echo "wait_mark: no mark $1" >&2
  return 1
}
export -f mark wait_mark

# pod_named FIXTURE ARGS...: a recorded pod answer, named as the call's `pod <name>` names it
pod_named() {
  local file=$1 name='' prev='' a
  shift
  for a in "$@"; do
    [[ $prev == pod ]] && name=$a
    prev=$a
  done
  render "$FIXTURES/$file" | sed "s/\"name\": \"POD\"/\"name\": \"$name\"/"
}
export -f pod_named
