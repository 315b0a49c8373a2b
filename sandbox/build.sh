#!/usr/bin/env bash
# Builds every component of the e2e tier into .cache/e2e/bin from the Go module
# proxy, at pinned versions. Idempotent: a component is rebuilt only when its
# stamp (version, Go version, and the hash of its wrapper module or sources)
# changed, so a warm machine reuses its binaries.
#
# Usage: sandbox/build.sh [--force] [COMPONENT...]
#   COMPONENT: etcd kubernetes volsync restic task harness (default: all)
# Env: E2E_CACHE (default <repo>/.cache/e2e), GOFLAGS/GOCACHE as usual.
set -euo pipefail
# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL_COMPONENTS=(etcd kubernetes volsync restic task harness)
LDFLAGS_STRIP="-s -w"
# Our wrapper modules live inside this git repository: no VCS stamping, which
# would only tie the binaries to the work tree's state.

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

force=false
components=()
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    -h | --help) usage; exit 0 ;;
    etcd | kubernetes | volsync | restic | task | harness) components+=("$arg") ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done
((${#components[@]})) || components=("${ALL_COMPONENTS[@]}")

command -v go >/dev/null || die "go is not on PATH (the e2e tier builds its components with Go)"
GO_VERSION="$(go env GOVERSION)"
STAMPS="$E2E_BIN/.stamps"
mkdir -p "$E2E_BIN" "$STAMPS"

hash_files() { cat "$@" | sha256sum | cut -c1-16; }

# stamp_of COMPONENT: what its binaries were built from.
stamp_of() {
  case "$1" in
    etcd) echo "etcd $ETCD_VERSION $GO_VERSION $(hash_files "$SANDBOX_DIR"/tools/etcd/{go.mod,go.sum,main.go})" ;;
    kubernetes) echo "kubernetes $KUBERNETES_VERSION $GO_VERSION $(hash_files "$SANDBOX_DIR"/tools/kubernetes/{go.mod,go.sum})" ;;
    volsync) echo "volsync $VOLSYNC_VERSION $GO_VERSION" ;;
    restic) echo "restic $RESTIC_VERSION $GO_VERSION" ;;
    task) echo "task $TASK_VERSION $GO_VERSION" ;;
    harness)
      # shellcheck disable=SC2046
      echo "harness $GOFAKES3_VERSION $CLIENT_GO_VERSION $GO_VERSION $(hash_files "$SANDBOX_DIR"/go.mod "$SANDBOX_DIR"/go.sum $(find "$SANDBOX_DIR/harness" "$SANDBOX_DIR/fakes3" -name '*.go' | sort))"
      ;;
  esac
}

binaries_of() {
  case "$1" in
    kubernetes) echo kube-apiserver kube-controller-manager kubectl ;;
    harness) echo harness fakes3 ;;
    *) echo "$1" ;;
  esac
}

up_to_date() {
  local component="$1" binary
  [[ -f "$STAMPS/$component" && "$(cat "$STAMPS/$component")" == "$(stamp_of "$component")" ]] || return 1
  for binary in $(binaries_of "$component"); do
    [[ -x "$E2E_BIN/$binary" ]] || return 1
  done
}

build_etcd() {
  (cd "$SANDBOX_DIR/tools/etcd" && go build -buildvcs=false -ldflags="$LDFLAGS_STRIP" -o "$E2E_BIN/etcd" .)
}

build_kubernetes() {
  local minor="${KUBERNETES_VERSION#v1.}" flags="$LDFLAGS_STRIP" pkg
  minor="${minor%%.*}"
  # Version stamps the Kubernetes build scripts would set, so that
  # `--version`, `kubectl version` and the API server's /version are right.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  (cd "$SANDBOX_DIR/tools/kubernetes" && go build -buildvcs=false -ldflags="$flags" -o "$E2E_BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
}

build_volsync() {
  # Built inside its own module (its go.mod and go.sum pin its dependencies);
  # `go install ...@version` needs a version list the proxy does not serve.
  local dir
  dir="$(volsync_dir)"
  (cd "$dir" && go build -ldflags="$LDFLAGS_STRIP -X main.volsyncVersion=$VOLSYNC_VERSION" -o "$E2E_BIN/volsync" ./cmd)
}

build_restic() {
  GOBIN="$E2E_BIN" go install -ldflags="$LDFLAGS_STRIP" "github.com/restic/restic/cmd/restic@$RESTIC_VERSION"
}

build_task() {
  GOBIN="$E2E_BIN" go install -ldflags="$LDFLAGS_STRIP" "github.com/go-task/task/v3/cmd/task@$TASK_VERSION"
}

build_harness() {
  (cd "$SANDBOX_DIR" && go build -buildvcs=false -ldflags="$LDFLAGS_STRIP" -o "$E2E_BIN/" ./harness ./fakes3)
}

print_versions() {
  local component="$1"
  case "$component" in
    etcd) "$E2E_BIN/etcd" --version | sed -n 1p ;;
    kubernetes)
      echo "kube-apiserver $("$E2E_BIN/kube-apiserver" --version | awk '{print $2}')"
      echo "kube-controller-manager $("$E2E_BIN/kube-controller-manager" --version | awk '{print $2}')"
      echo "kubectl $("$E2E_BIN/kubectl" version --client -o json | jq -r .clientVersion.gitVersion)"
      ;;
    volsync) echo "volsync $VOLSYNC_VERSION (controller built from the module cache)" ;;
    restic) "$E2E_BIN/restic" version ;;
    task) echo "task $("$E2E_BIN/task" --version)" ;;
    harness)
      "$E2E_BIN/harness" --version
      "$E2E_BIN/fakes3" --version
      ;;
  esac
}

total_start=$SECONDS
for component in "${components[@]}"; do
  if ! $force && up_to_date "$component"; then
    log "$component: up to date"
  else
    log "$component: building"
    start=$SECONDS
    rm -f "$STAMPS/$component"
    "build_$component"
    stamp_of "$component" >"$STAMPS/$component"
    elapsed=$((SECONDS - start))
    printf '%s %s %ss\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$component" "$elapsed" >>"$E2E_BIN/.build-times"
    log "$component: built in ${elapsed}s"
  fi
  print_versions "$component" | sed 's/^/    /' >&2
done
log "e2e components ready in $E2E_BIN ($((SECONDS - total_start))s)"
