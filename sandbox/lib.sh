# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this file
# Shared settings of the sandbox's control plane (etcd, kube-apiserver,
# kube-controller-manager, VolSync, the kubelet stand-in, an S3 server): where
# things live, which versions are pinned. Sourced by sandbox.sh, build.sh,
# controlplane.sh and by the e2e tier's scripts, which use this control plane
# (nothing here uses the tests); defines, runs nothing.

SANDBOX_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SANDBOX_DIR/.." && pwd)"
E2E_CACHE="${E2E_CACHE:-$REPO_ROOT/.cache/e2e}"
E2E_BIN="$E2E_CACHE/bin"

# Pinned versions. etcd, Kubernetes and gofakes3 are pinned by the go.mod of
# their wrapper modules; these are read from there so there is one truth.
VOLSYNC_VERSION="v0.16.0"
RESTIC_VERSION="v0.18.1"
TASK_VERSION="v3.54.0"

# module_version GO_MOD MODULE: the version GO_MOD requires of MODULE.
module_version() {
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

ETCD_VERSION="$(module_version "$SANDBOX_DIR/tools/etcd/go.mod" go.etcd.io/etcd/server/v3)"
KUBERNETES_VERSION="$(module_version "$SANDBOX_DIR/tools/kubernetes/go.mod" k8s.io/kubernetes)"
GOFAKES3_VERSION="$(module_version "$SANDBOX_DIR/go.mod" github.com/johannesboyne/gofakes3)"
CLIENT_GO_VERSION="$(module_version "$SANDBOX_DIR/go.mod" k8s.io/client-go)"

# The mover image VolSync is told to use; the harness runs pods of this image
# with VolSync's own mover-restic/entry.sh.
MOVER_IMAGE="restic-mover:e2e"

log() { printf '==> %s\n' "$*" >&2; }

# distant_schedule: a daily cron schedule at the minute 12 hours from now, for
# sources that must not sync on their own for hours (the e2e tier's apps: no
# scheduled sync fires mid-scenario). VolSync reads it in the controller's time
# zone: UTC on these machines; 12 hours away is at least an hour away in any other.
distant_schedule() { echo "$(date -u +%-M) $((($(date -u +%-H) + 12) % 24)) * * *"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# volsync_dir: VolSync's source in the Go module cache (downloaded if missing).
# Its CRDs, VolumeSnapshot CRDs and mover script are used from there, never
# copied into this repository (VolSync is AGPL-3.0).
volsync_dir() {
  local dir
  dir="$(go mod download -json "github.com/backube/volsync@$VOLSYNC_VERSION" | jq -r '.Dir // empty')"
  [[ -n "$dir" && -d "$dir" ]] || die "go mod download github.com/backube/volsync@$VOLSYNC_VERSION gave no source directory"
  printf '%s\n' "$dir"
}
