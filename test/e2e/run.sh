#!/usr/bin/env bash
# The e2e tier in one command: build the components (cached), start a control
# plane of its own, print every component's version, run the scenarios
# (test/e2e/*.bats: the toolkit driven through `task`, asserted on real API
# objects, the restic repository in S3 and the PVC directories), and always
# stop the control plane again. Prints how long each phase took.
#
# Usage: test/e2e/run.sh [BATS_FILE...]      (default: every test/e2e/*.bats)
# Env:
#   E2E_RUN_DIR        run directory (default <repo>/.cache/e2e/tier)
#   E2E_PORT_BASE      first of 7 loopback ports (default 26640; the sandbox uses 26540)
#   E2E_KEEP_UP=1      leave the control plane running afterwards
#   E2E_TIMEOUT        seconds all scenarios together may take (default 2700)
# A failed run keeps the run directory (logs in <run>/logs) for whoever investigates.
# Needs: Go (builds the components), node_modules (npm ci), jq, curl, openssl.
set -euo pipefail
# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../sandbox/lib.sh"
# this tier's own files (the *.bats, helpers/, selfcheck.sh)
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

export E2E_RUN_DIR="${E2E_RUN_DIR:-$E2E_CACHE/tier}"
export E2E_PORT_BASE="${E2E_PORT_BASE:-26640}"
E2E_TIMEOUT="${E2E_TIMEOUT:-2700}"
CONTROLPLANE="$SANDBOX_DIR/controlplane.sh"
BATS="$REPO_ROOT/node_modules/bats/bin/bats"

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

[[ -x $BATS ]] || die "bats is missing: run npm ci first"
for tool in go jq curl openssl node; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH"
done

declare -A took=()
phase() {
  local name="$1" started=$SECONDS
  shift
  log "$name"
  "$@"
  took[$name]=$((SECONDS - started))
  log "$name: ${took[$name]}s"
}

started_here=false
passed=false
SCENARIOS_PID=''
stop_control_plane() {
  [[ -z $SCENARIOS_PID ]] || kill -TERM -- "-$SCENARIOS_PID" 2>/dev/null || true
  if $started_here && [[ "${E2E_KEEP_UP:-}" != 1 ]]; then
    if $passed; then
      "$CONTROLPLANE" down || true
    else
      E2E_KEEP_RUN=1 "$CONTROLPLANE" down || true
      log "the run directory stays for reading: $E2E_RUN_DIR (logs in $E2E_RUN_DIR/logs)"
    fi
  fi
}
trap stop_control_plane EXIT
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
if "$CONTROLPLANE" status >/dev/null 2>&1; then
  log "reusing the control plane already up in $E2E_RUN_DIR (left running afterwards)"
  # versions of the running one
  sed 's/^/    /' "$E2E_RUN_DIR/versions" >&2
else
  started_here=true
  phase "control plane up" "$CONTROLPLANE" up
fi
eval "$("$CONTROLPLANE" env)"
echo "    task $("$E2E_BIN/task" --version) (runs the toolkit)" >&2

files=("$@")
((${#files[@]})) || files=("$E2E_DIR"/*.bats)
# One deadline for the whole run (bats' own per-test timeout leaves its
# watchdog behind after a failed test, holding bats' output open for its
# duration). `timeout` runs in a process group of its own, which a Ctrl-C
# at the terminal does not reach: the EXIT trap stops it.
scenarios() {
  timeout --kill-after=30 "$E2E_TIMEOUT" "$BATS" --timing --print-output-on-failure "$@" &
  SCENARIOS_PID=$!
  wait "$SCENARIOS_PID"
}
phase scenarios scenarios "${files[@]}"
passed=true

log "e2e tier passed in $((SECONDS - total))s (build ${took[build]}s$(
  [[ -n ${took["control plane up"]:-} ]] && printf ', control plane up %ss' "${took["control plane up"]}"
), scenarios ${took[scenarios]}s)"
