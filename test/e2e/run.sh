#!/usr/bin/env bash
# The e2e tier in one command: build the components (cached), start control
# planes of its own, print every component's version, run the scenarios
# (test/e2e/*.bats: the toolkit driven through `task`, asserted on real API
# objects, the restic repository in S3 and the PVC directories), and always
# stop the control planes again. Prints how long each phase took.
#
# The files are shared out among E2E_JOBS control planes that run side by
# side (longest first, each to the plane with the least work: the seconds a
# file took last time in .cache/e2e/seconds/, else a minute per scenario); each
# plane runs its files one after another, each file printed whole when it ends.
#
# Usage: test/e2e/run.sh [BATS_FILE...]      (default: every test/e2e/*.bats)
# Env:
#   E2E_JOBS           control planes side by side (default 2; 1 runs every file on one)
#   E2E_RUN_DIR        run directory of the first plane (default <repo>/.cache/e2e/tier; plane N: <dir>-N)
#   E2E_PORT_BASE      first of 7 loopback ports of the first plane (default 26640; plane N: 200 more
#                      each, and fleet.bats uses 100 above its plane's; the sandbox uses 26540)
#   E2E_KEEP_UP=1      leave the control planes running afterwards
#   E2E_TIMEOUT        seconds all scenarios together may take (default 2700)
# A plane whose files failed keeps its run directory (logs in <run>/logs) for whoever investigates.
# Needs: Go (builds the components), node_modules (npm ci), jq, curl, openssl.
set -euo pipefail
# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../sandbox/lib.sh"
# this tier's own files (the *.bats, helpers/, selfcheck.sh)
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

export E2E_RUN_DIR="${E2E_RUN_DIR:-$E2E_CACHE/tier}"
export E2E_PORT_BASE="${E2E_PORT_BASE:-26640}"
# the apps' schedule, one for every file (helpers/apps.bash): no scheduled sync during the tier
SCHEDULE="${SCHEDULE:-$(distant_schedule)}"
export SCHEDULE
E2E_TIMEOUT="${E2E_TIMEOUT:-2700}"
E2E_JOBS="${E2E_JOBS:-2}"
CONTROLPLANE="$SANDBOX_DIR/controlplane.sh"
BATS="$REPO_ROOT/node_modules/bats/bin/bats"
# each file's TAP (printed whole when the file ends) and the seconds it took
TAPS="$E2E_CACHE/taps"
SECONDS_DIR="$E2E_CACHE/seconds"

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

[[ -x $BATS ]] || die "bats is missing: run npm ci first"
for tool in go jq curl openssl node; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
[[ $E2E_JOBS =~ ^[1-9][0-9]*$ ]] || die "E2E_JOBS must be a whole number of control planes (1 or more), not '$E2E_JOBS'"

declare -A took=()
phase() {
  local name="$1" started=$SECONDS
  shift
  log "$name"
  "$@"
  took[$name]=$((SECONDS - started))
  log "$name: ${took[$name]}s"
}

PLANE_PIDS=()
stop_planes() {
  local pid
  # each plane stops its scenarios and its control plane on TERM (plane() below)
  for pid in "${PLANE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PLANE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_planes EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

total=$SECONDS
log "tools"
{
  echo "node $(node --version)"
  go version | cut -d" " -f3-4
  echo "bats $("$BATS" --version | awk '{print $2}')"
  jq --version
} | sed 's/^/    /' >&2

phase build "$SANDBOX_DIR/build.sh"
# the harness's and fakes3's own unit tests (output on stderr: no TAP lines)
harness_unit_tests() { (cd "$SANDBOX_DIR" && go test ./... >&2); }
phase "harness unit tests" harness_unit_tests
echo "    task $("$E2E_BIN/task" --version) (runs the toolkit)" >&2

files=("$@")
((${#files[@]})) || files=("$E2E_DIR"/*.bats)
jobs=$E2E_JOBS
((jobs <= ${#files[@]})) || jobs=${#files[@]}

# expected_seconds FILE: what FILE took last time here, else a minute a scenario
expected_seconds() {
  cat "$SECONDS_DIR/$(basename "$1" .bats)" 2>/dev/null || echo $((60 * $(grep -c '^@test ' "$1")))
}

# Share the files out: longest first, each to the plane with the least work.
declare -a load=() share=()
for ((n = 1; n <= jobs; n++)); do load[n]=0 share[n]=''; done
while read -r seconds file; do
  least=1
  for ((n = 2; n <= jobs; n++)); do ((load[n] < load[least])) && least=$n; done
  load[least]=$((load[least] + seconds))
  share[least]+="$file"$'\n'
done < <(for file in "${files[@]}"; do echo "$(expected_seconds "$file") $file"; done | sort -k1,1nr -k2)

rm -rf "$TAPS" && mkdir -p "$TAPS" "$SECONDS_DIR"
deadline=$((SECONDS + E2E_TIMEOUT))

# print_tap FILE TEXT: FILE's result, whole, under a lock (planes end files at the same time)
print_tap() {
  {
    flock 9
    printf '%s\n' "$2"
    cat "$TAPS/$(basename "$1" .bats).tap"
  } 9>"$TAPS/.print"
}

# plane N FILE...: start control plane N (its own run directory and ports),
# run its files one after another, stop it (TERM: stop now, control plane too)
plane() {
  local n=$1 file name started rc planned reported failed=false up_here=false bats_pid=''
  shift
  if ((n > 1)); then
    export E2E_RUN_DIR="$E2E_RUN_DIR-$n" E2E_PORT_BASE=$((E2E_PORT_BASE + 200 * (n - 1)))
  fi
  local tag="plane $n ($E2E_RUN_DIR, ports $E2E_PORT_BASE+)"
  down() {
    [[ -z $bats_pid ]] || kill -TERM -- "-$bats_pid" 2>/dev/null || true
    if $up_here && [[ "${E2E_KEEP_UP:-}" != 1 ]]; then
      if $failed; then
        E2E_KEEP_RUN=1 "$CONTROLPLANE" down 2>&1 | sed "s/^/    [plane $n] /" >&2 || true
        log "plane $n: the run directory stays for reading: $E2E_RUN_DIR (logs in $E2E_RUN_DIR/logs)"
      else
        "$CONTROLPLANE" down 2>&1 | sed "s/^/    [plane $n] /" >&2 || true
      fi
    fi
  }
  trap 'failed=true; down; exit 143' TERM
  if "$CONTROLPLANE" status >/dev/null 2>&1; then
    log "$tag: reusing the control plane already up (left running afterwards)"
    sed "s/^/    [plane $n] /" "$E2E_RUN_DIR/versions" >&2
  else
    started=$SECONDS
    up_here=true
    log "$tag: control plane up"
    if ! "$CONTROLPLANE" up 2>&1 | sed "s/^/    [plane $n] /" >&2; then
      failed=true
      for file; do
        echo "not ok - $file: control plane $n did not start (see above)" >"$TAPS/$(basename "$file" .bats).tap"
        print_tap "$file" "# $file: not run"
      done
      down
      return 1
    fi
    log "$tag: control plane up: $((SECONDS - started))s"
  fi
  eval "$("$CONTROLPLANE" env)"
  for file; do
    name=$(basename "$file" .bats)
    started=$SECONDS
    rc=0
    if ((deadline - SECONDS <= 0)); then
      echo "not ok - $file: not run: the scenarios' E2E_TIMEOUT of $E2E_TIMEOUT s had passed" >"$TAPS/$name.tap"
    else
      # `timeout` runs in a process group of its own, which a Ctrl-C at the
      # terminal does not reach: down() stops it. (bats' own per-test timeout
      # leaves its watchdog behind after a failed test.)
      timeout --kill-after=30 $((deadline - SECONDS)) "$BATS" --timing --print-output-on-failure "$file" >"$TAPS/$name.tap" 2>&1 &
      bats_pid=$!
      wait "$bats_pid" || rc=$?
      bats_pid=''
      echo "$((SECONDS - started))" >"$SECONDS_DIR/$name"
      # every test the file planned has an ok or not ok line, or it did not run to the end
      planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$TAPS/$name.tap" | head -n 1)
      reported=$(grep -cE '^(not )?ok ' "$TAPS/$name.tap" || true)
      if [[ -z $planned || $reported -lt $planned ]]; then
        echo "not ok - $file did not run to the end (${reported:-0} of ${planned:-?} tests reported; exit $rc; 124: the E2E_TIMEOUT deadline)" >>"$TAPS/$name.tap"
      fi
    fi
    grep -q '^not ok ' "$TAPS/$name.tap" && failed=true
    print_tap "$file" "# $file: $((SECONDS - started)) s on plane $n"
  done
  down
  ! $failed
}

log "scenarios: ${#files[@]} files on $jobs control plane(s), side by side"
for ((n = 1; n <= jobs; n++)); do
  mapfile -t mine < <(printf '%s' "${share[n]}")
  log "plane $n: ${mine[*]##*/} (about ${load[n]}s)"
done
scenarios() {
  local n mine=() result=0
  for ((n = 1; n <= jobs; n++)); do
    mapfile -t mine < <(printf '%s' "${share[n]}")
    plane "$n" "${mine[@]}" &
    PLANE_PIDS+=($!)
  done
  for pid in "${PLANE_PIDS[@]}"; do wait "$pid" || result=1; done
  PLANE_PIDS=()
  return "$result"
}
started=$SECONDS
result=0
scenarios || result=$?
summary="$((SECONDS - total))s (build ${took[build]}s, ${#files[@]} files on $jobs control plane(s): scenarios $((SECONDS - started))s)"
if ((result != 0)); then
  log "e2e tier FAILED in $summary: see the not ok lines above"
  exit 1
fi
log "e2e tier passed in $summary"
