# shellcheck shell=bash
# Building apps on the e2e control plane and checking them with restic, in
# plain bash (no bats): sourced by helpers/e2e.bash (the scenarios) and by
# record-fixtures.sh. Needs the control plane's env (controlplane.sh env) or
# E2E_RUN_DIR pointing at it; callers may set NAMESPACES_FILE, and define
# `fail` (bats-support's, or the fallback below).
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$E2E_DIR/../.." && pwd)"
# the control plane the tier runs on: the sandbox's (sandbox/)
SANDBOX_DIR="$ROOT/sandbox"
export ROOT E2E_DIR SANDBOX_DIR
declare -F fail >/dev/null || fail() {
  echo "error: $*" >&2
  exit 1
}
NAMESPACES_FILE=${NAMESPACES_FILE:-/dev/null}

RS=replicationsources.volsync.backube
RD=replicationdestinations.volsync.backube
KS=kustomizations.kustomize.toolkit.fluxcd.io
HR=helmreleases.helm.toolkit.fluxcd.io
SO=scaledobjects.keda.sh
KEDA_PAUSE=autoscaling.keda.sh/paused
VS=volumesnapshots.snapshot.storage.k8s.io
VSC=volumesnapshotcontents.snapshot.storage.k8s.io
# The apps' schedule: one for the whole tier (run.sh exports it), daily, 12
# hours after the tier started (sandbox/lib.sh distant_schedule), so no
# scheduled sync fires while it runs (under an hour). With "0 */8 * * *", a
# tier crossing 00:00, 08:00 or 16:00 (about one run in twelve) got real
# scheduled syncs mid-scenario. record-fixtures.sh sets SCHEDULE='0 */8 * * *'
# first (the stub tier's fixtures carry it).
# SCHEDULE_RE: the same as a regular expression (for assert_line --regexp).
SCHEDULE=${SCHEDULE:-$(source "$SANDBOX_DIR/lib.sh" && distant_schedule)}
SCHEDULE_RE=${SCHEDULE//\*/\\*}
export RS RD KS HR VS VSC SCHEDULE SCHEDULE_RE

# The control plane's settings (KUBECONFIG, E2E_S3_ENDPOINT, E2E_PVC_ROOT...).
if [[ -z ${E2E_PVC_ROOT:-} ]]; then
  env_lines=$("$SANDBOX_DIR/controlplane.sh" env) || {
    echo "no e2e control plane is up: run test/e2e/run.sh, or sandbox/controlplane.sh up first" >&2
    exit 1
  }
  eval "$env_lines"
fi
# kubectl, restic and task of the tier first
export PATH="$E2E_BIN:$ROOT/node_modules/.bin:$PATH"
# The toolkit finds CLUSTER=e2e as an operator's does: <root>/kubeconfig-e2e,
# with the root moved into the run directory (VOLSYNC_OPS_ROOT).
export VOLSYNC_OPS_ROOT="$E2E_RUN_DIR/ops-root"
E2E_KUBECONFIG="$VOLSYNC_OPS_ROOT/kubeconfig-$E2E_CLUSTER_NAME"
if [[ ! -f $E2E_KUBECONFIG ]]; then
  mkdir -p "$VOLSYNC_OPS_ROOT"
  install -m 600 "$KUBECONFIG" "$E2E_KUBECONFIG"
fi
export E2E_KUBECONFIG
# One id per bats run: restic repositories are never shared between runs.
export E2E_RUN_ID=${E2E_RUN_ID:-$(date +%s)}
unset NO_COLOR RESTIC_IMAGE
# an operator's plain shell (no CI colours, no COLUMNS, TZ=UTC)
source "$ROOT/test/bats/helpers/plain-env.bash"

# kc ARGS...: the tests' own kubectl (never the toolkit's code path)
kc() { kubectl --kubeconfig "$KUBECONFIG" "$@"; }

# vtask ARGS...: `task -x ARGS` from the repository root, as an operator runs it
# (no KUBECONFIG in the environment: CLUSTER=e2e resolves to kubeconfig-e2e).
vtask() { (cd "$ROOT" && env -u KUBECONFIG task -x "$@"); }

# field NS RESOURCE NAME JQ: one value of a live object ('' when null)
field() { kc -n "$1" get "$2" "$3" -o json | jq -r "($4) | if . == null then empty else . end"; }

# wait_until SECONDS WHAT CMD...: polls CMD (the tests may poll; the toolkit must not)
wait_until() {
  local timeout=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      fail "not within ${timeout}s: $what"
      return 1
    fi
    sleep 0.3
  done
}

# ------------------------------------------------------------ the test's apps

# Namespaces made here are listed in $NAMESPACES_FILE (deleted afterwards).
create_namespace() {
  kc create namespace "$1" >/dev/null
  echo "$1" >>"$NAMESPACES_FILE"
}

# repo_url NS APP: where the app's restic repository lives in the S3 bucket
repo_url() { echo "s3:$E2E_S3_ENDPOINT/$E2E_S3_BUCKET/$E2E_RUN_ID-$1-$2"; }

# create_secret NS NAME PASSWORD REPOSITORY
create_secret() {
  jq -n --arg name "$2" --arg password "$3" --arg repo "$4" '{apiVersion: "v1", kind: "Secret",
    metadata: {name: $name},
    stringData: {RESTIC_REPOSITORY: $repo, RESTIC_PASSWORD: $password,
                 AWS_ACCESS_KEY_ID: "e2e", AWS_SECRET_ACCESS_KEY: "e2e-secret"}}' | kc -n "$1" apply -f - >/dev/null
}

pvc_bound() { [[ $(field "$1" pvc "$2" .status.phase) == Bound ]]; }

# create_pvc NS CLAIM: waits until it is Bound (its directory then exists)
create_pvc() {
  jq -n --arg name "$2" '{apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: {name: $name},
    spec: {accessModes: ["ReadWriteOnce"], resources: {requests: {storage: "1Gi"}}}}' | kc -n "$1" apply -f - >/dev/null
  wait_until 60 "PVC $1/$2 Bound" pvc_bound "$1" "$2"
}

pvc_dir() { echo "$E2E_PVC_ROOT/$1/$2"; }

# snapshot_dir NS NAME: the harness's copy of the PVC a VolumeSnapshot took
snapshot_dir() { echo "${E2E_SNAPSHOT_ROOT:-$E2E_RUN_DIR/harness/snapshots}/$1/$2"; }

# seed_files DIR: a tree with what restores get wrong: nesting, a name with
# spaces, an empty file, binary data, a symlink, modes
seed_files() {
  local dir=$1
  mkdir -p "$dir/docs/deep/er" "$dir/media"
  printf 'version one of the app data\n' >"$dir/app.conf"
  printf 'a name with spaces\n' >"$dir/docs/name with spaces.txt"
  : >"$dir/docs/empty"
  printf 'nested\n' >"$dir/docs/deep/er/nested.txt"
  head -c 300000 /dev/urandom >"$dir/media/blob.bin"
  ln -sfn ../app.conf "$dir/docs/link-to-conf"
  chmod 600 "$dir/app.conf"
  chmod 755 "$dir/media"
}

# change_files DIR TAG: a new version of the data: one file changed, one
# deleted, one added (so a restore must bring back, roll back and delete)
change_files() {
  local dir=$1 tag=$2
  printf 'version %s of the app data\n' "$tag" >"$dir/app.conf"
  rm -f "$dir/docs/deep/er/nested.txt"
  printf 'added in %s\n' "$tag" >"$dir/added-$tag.txt"
  head -c 50000 /dev/urandom >>"$dir/media/blob.bin"
}

# labels_json KEY=VALUE...: a JSON object of labels
labels_json() {
  local kv out='{}'
  for kv in "$@"; do out=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$out"); done
  echo "$out"
}

# create_deployment NS NAME CLAIM REPLICAS [LABEL=VALUE...]: pods that mount the claim
create_deployment() {
  local ns=$1 name=$2 claim=$3 replicas=$4
  shift 4
  jq -n --arg name "$name" --arg claim "$claim" --argjson replicas "$replicas" --argjson labels "$(labels_json "$@")" '{
    apiVersion: "apps/v1", kind: "Deployment", metadata: {name: $name, labels: ({app: $name} + $labels)},
    spec: {replicas: $replicas, selector: {matchLabels: {app: $name}},
           template: {metadata: {labels: {app: $name}},
                      spec: {containers: [{name: "app", image: "nginx:1.27",
                                           volumeMounts: [{name: "data", mountPath: "/srv/data"}]}],
                             volumes: [{name: "data", persistentVolumeClaim: {claimName: $claim}}]}}}}' |
    kc -n "$ns" apply -f - >/dev/null
}

# create_statefulset NS NAME CLAIM REPLICAS [LABEL=VALUE...]: pods that mount the claim (a volume, not a template)
create_statefulset() {
  local ns=$1 name=$2 claim=$3 replicas=$4
  shift 4
  jq -n --arg name "$name" --arg claim "$claim" --argjson replicas "$replicas" --argjson labels "$(labels_json "$@")" '{
    apiVersion: "apps/v1", kind: "StatefulSet", metadata: {name: $name, labels: ({app: $name} + $labels)},
    spec: {replicas: $replicas, serviceName: $name, selector: {matchLabels: {app: $name}},
           template: {metadata: {labels: {app: $name}},
                      spec: {containers: [{name: "app", image: "postgres:16",
                                           volumeMounts: [{name: "data", mountPath: "/var/lib/postgresql"}]}],
                             volumes: [{name: "data", persistentVolumeClaim: {claimName: $claim}}]}}}}' |
    kc -n "$ns" apply -f - >/dev/null
}

statefulset_ready() {
  [[ $(field "$1" statefulset "$2" '.status.readyReplicas // 0') == "$3" ]]
}

deployment_ready() {
  local want=$3
  [[ $(field "$1" deployment "$2" '.status.readyReplicas // 0') == "$want" &&
    $(kc -n "$1" get pods -l "app=$2" -o json | jq '.items | length') == "$want" ]]
}

# create_source NS APP [SCHEDULE]: ReplicationSource <app>-backup as this
# project's clusters have it (story 7.1); "" for no schedule. $RETAIN (JSON)
# replaces the retention: with hourly 24 / daily 7, restic's forget after each
# backup keeps only the oldest and the newest snapshot of the current hour, so
# tests that need several snapshots set RETAIN='{"last": "50"}'. Options in
# the environment too: COPY_METHOD (Direct, the default; Snapshot or Clone:
# the harness's stand-in CSI takes the VolumeSnapshot or makes the clone),
# PAUSED=true (created with spec.paused), SOURCE_ANNOTATIONS (a JSON object).
create_source() {
  local schedule=${3-$SCHEDULE} retain='{"hourly": 24, "daily": 7}'
  jq -n --arg app "$2" --arg schedule "$schedule" --argjson retain "${RETAIN:-$retain}" \
    --arg copy "${COPY_METHOD:-Direct}" --argjson paused "${PAUSED:-false}" \
    --argjson annotations "${SOURCE_ANNOTATIONS:-"{}"}" '{
    apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource",
    metadata: ({name: ($app + "-backup")} + if $annotations == {} then {} else {annotations: $annotations} end),
    spec: ({sourcePVC: ($app + "-data"),
           trigger: (if $schedule == "" then {} else {schedule: $schedule} end),
           restic: {repository: "volsync-r2-secret", copyMethod: $copy, pruneIntervalDays: 7,
                    retain: $retain,
                    moverSecurityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}}}
           + if $paused then {paused: true} else {} end)}' |
    kc -n "$1" apply -f - >/dev/null
}

# idle NS RS: synced at least once and no sync running
idle() {
  local status
  status=$(kc -n "$1" get "$RS" "$2" -o json | jq -c '.status // {}')
  jq -e '.lastSyncTime != null and .lastSyncStartTime == null' <<<"$status" >/dev/null
}

# make_app NS APP [REPLICAS] [PASSWORD]: namespace, repository Secret, PVC <app>-data
# with files, Deployment <app> mounting it, ReplicationSource <app>-backup
# (create_source's options apply: COPY_METHOD=Snapshot make_app ...);
# returns once VolSync's first sync (at creation) has made the first snapshot.
make_app() {
  local ns=$1 app=$2 replicas=${3:-1} password=${4:-"pw-$2-$E2E_RUN_ID"}
  create_namespace "$ns"
  create_secret "$ns" volsync-r2-secret "$password" "$(repo_url "$ns" "$app")"
  create_pvc "$ns" "$app-data"
  seed_files "$(pvc_dir "$ns" "$app-data")"
  create_deployment "$ns" "$app" "$app-data" "$replicas"
  create_source "$ns" "$app"
  wait_until 120 "first sync of $ns/$app-backup" idle "$ns" "$app-backup"
  wait_until 60 "Deployment $ns/$app ready" deployment_ready "$ns" "$app" "$replicas"
}

# make_flux_app NS APP [SEED]: like make_app with 2 replicas, and the
# Deployment managed by Flux (Kustomization apps in the namespace). SEED=false:
# the first sync finds the PVC empty and makes no snapshot (nor repository);
# the files are written after it.
make_flux_app() {
  local ns=$1 app=$2 seed=${3:-true} dir
  install_flux_crd
  create_namespace "$ns"
  create_secret "$ns" volsync-r2-secret "pw-$app-$E2E_RUN_ID" "$(repo_url "$ns" "$app")"
  create_pvc "$ns" "$app-data"
  dir=$(pvc_dir "$ns" "$app-data")
  [[ $seed == false ]] || seed_files "$dir"
  create_kustomization "$ns" apps
  create_deployment "$ns" "$app" "$app-data" 2 kustomize.toolkit.fluxcd.io/name=apps kustomize.toolkit.fluxcd.io/namespace="$ns"
  create_source "$ns" "$app"
  wait_until 120 "first sync of $ns/$app-backup" idle "$ns" "$app-backup"
  [[ $seed != false ]] || seed_files "$dir"
  wait_until 60 "Deployment $ns/$app ready" deployment_ready "$ns" "$app" 2
}

# ------------------------------------------------------------ restic, by hand

# repo_restic NS ARGS...: restic run here against the repository the
# namespace's volsync-r2-secret names, with the Secret's own credentials
repo_restic() {
  local ns=$1 env
  shift
  env=$(kc -n "$ns" get secret volsync-r2-secret -o json |
    jq -r '.data | to_entries[] | "\(.key)=\(.value | @base64d)"')
  (
    while IFS= read -r kv; do export "${kv?}"; done <<<"$env"
    restic --no-cache "$@"
  )
}

# snapshots_json NS: `restic snapshots --json` of the namespace's repository
snapshots_json() { repo_restic "$1" snapshots --json --no-lock; }

# restore_into NS SNAPSHOT DIR: the snapshot (the mover backs up /data as "."), restored here by restic itself
restore_into() {
  local dir=$3
  mkdir -p "$dir"
  repo_restic "$1" restore "$2" --target "$dir" >/dev/null
}

# same_tree A B: byte for byte, symlinks as links, file types and modes
same_tree() {
  diff -r --no-dereference "$1" "$2" || return 1
  diff <(cd "$1" && find . -printf '%p %y %m\n' | sort) <(cd "$2" && find . -printf '%p %y %m\n' | sort)
}

# ------------------------------------------------------------ Flux

# install_crd PLURAL.GROUP KIND VERSION SHORT [SPEC-PROPERTIES-JSON]: a minimal
# namespaced CRD of our own (group and names as the real project's; nothing
# reconciles it), unless one of that name is there already
install_crd() {
  local name=$1 kind=$2 version=$3 short=$4 props=${5:-'{}'}
  crd_present "$name" && return 0
  jq -n --arg name "$name" --arg kind "$kind" --arg version "$version" --arg short "$short" --argjson props "$props" '
    {apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition",
     metadata: {name: $name},
     spec: {group: ($name | split(".")[1:] | join(".")), scope: "Namespaced",
            names: {kind: $kind, listKind: ($kind + "List"), plural: ($name | split(".")[0]),
                    singular: ($kind | ascii_downcase), shortNames: [$short]},
            versions: [{name: $version, served: true, storage: true,
                        schema: {openAPIV3Schema: {type: "object", properties: {
                          spec: ({type: "object", "x-kubernetes-preserve-unknown-fields": true}
                                 + (if $props == {} then {} else {properties: $props} end)),
                          status: {type: "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}}' |
    kc apply -f - >/dev/null
  wait_until 30 "the $kind CRD established" kc get "$name" --all-namespaces
}

# crd_present NAME: the API server has the CRD NAME
crd_present() { kc get crd "$1" >/dev/null 2>&1; }

# Flux's Kustomization and HelmRelease (spec.suspend as Flux's): enough for
# restore to suspend and resume them; KEDA's ScaledObject: enough to see what
# the restore does to the annotations KEDA reads.
install_flux_crd() {
  install_crd "$KS" Kustomization v1 ks '{"suspend": {"type": "boolean"}, "interval": {"type": "string"}, "path": {"type": "string"}}'
}
install_flux_helmrelease_crd() {
  install_crd "$HR" HelmRelease v2 hr '{"suspend": {"type": "boolean"}, "interval": {"type": "string"}}'
}
install_keda_crd() { install_crd "$SO" ScaledObject v1alpha1 so; }

# create_helmrelease NS NAME
create_helmrelease() {
  jq -n --arg name "$2" '{apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease",
    metadata: {name: $name}, spec: {interval: "30m", chart: {spec: {chart: $name, sourceRef: {kind: "HelmRepository", name: "charts"}}}}}' |
    kc -n "$1" apply -f - >/dev/null
}

# create_kustomization NS NAME
create_kustomization() {
  jq -n --arg name "$2" '{apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization",
    metadata: {name: $name}, spec: {interval: "10m", path: ("./apps/" + $name), prune: true}}' |
    kc -n "$1" apply -f - >/dev/null
}

