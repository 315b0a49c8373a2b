#!/usr/bin/env bash
# The e2e tier's own checks, for CI: build the components (cold: once per
# machine; warm: reused), unit-test the harness, then prove the control plane
# end to end with selfcheck.sh (which starts and stops its own control plane
# unless one is up). Prints how long each phase took.
#
# Usage: test/e2e/ci.sh
set -euo pipefail
# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../sandbox/lib.sh"
# this tier's own files (the *.bats, helpers/, selfcheck.sh)
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

phase() {
  local name="$1" started=$SECONDS
  shift
  log "$name"
  "$@"
  log "$name: $((SECONDS - started))s"
}

run_unit_tests() { (cd "$SANDBOX_DIR" && go test ./...); }

total=$SECONDS
phase "build" "$SANDBOX_DIR/build.sh"
phase "harness unit tests" run_unit_tests
phase "selfcheck" "$E2E_DIR/selfcheck.sh"
log "e2e tier: $((SECONDS - total))s"
