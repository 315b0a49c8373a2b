#!/usr/bin/env bash
# Installs what volsync-ops needs into this checkout: the npm packages
# (package-lock.json) and go-task into .cache/bin. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"

TASK_VERSION=v3.54.0

need() { command -v "$1" >/dev/null || { echo "setup: $1 is required: $2" >&2; exit 1; }; }
need node "install Node.js 20 or newer"
need npm "install npm (it comes with Node.js)"
need go "install Go 1.26 or newer (go-task is installed with go install)"
need bash "install bash (zx runs commands through it)"

echo "setup: npm ci"
npm ci --no-audit --no-fund

mkdir -p .cache/bin
if [[ "$(.cache/bin/task --version 2>/dev/null)" != *"${TASK_VERSION#v}"* ]]; then
  echo "setup: go install github.com/go-task/task/v3/cmd/task@$TASK_VERSION"
  GOBIN="$PWD/.cache/bin" go install "github.com/go-task/task/v3/cmd/task@$TASK_VERSION"
fi
echo "setup: done. task is at .cache/bin/task: add $PWD/.cache/bin to PATH, or use your own task v3."
