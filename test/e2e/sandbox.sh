#!/usr/bin/env bash
# A local VolSync sandbox for learning and rehearsing the DR runbook: the e2e
# control plane (its own run directory and ports, apart from the tests') plus a
# sample app, with its kubeconfig at <repo>/kubeconfig-sandbox.
#
# Usage: test/e2e/sandbox.sh up|down|status|env
# Env:
#   SANDBOX_APP        app name (default demo): PVC <app>-data, Deployment <app>,
#                      ReplicationSource <app>-backup
#   SANDBOX_NAMESPACE  its namespace (default: the app name)
#   SANDBOX_BACKUP     take a first backup during up (default true)
#   E2E_PORT_BASE      first of 7 loopback ports (default 26540)
set -euo pipefail
# shellcheck source=test/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export E2E_RUN_DIR="$E2E_CACHE/sandbox"
export E2E_PORT_BASE="${E2E_PORT_BASE:-26540}"
export E2E_CLUSTER_NAME="sandbox"
export E2E_KUBECONFIG_COPY="$REPO_ROOT/kubeconfig-sandbox"

APP="${SANDBOX_APP:-demo}"
NAMESPACE="${SANDBOX_NAMESPACE:-$APP}"
TAKE_BACKUP="${SANDBOX_BACKUP:-true}"
SECRET="volsync-r2-secret"
CONTROLPLANE="$E2E_DIR/controlplane.sh"

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

kubectl() { "$E2E_BIN/kubectl" --kubeconfig "$E2E_KUBECONFIG_COPY" "$@"; }
apply() { kubectl -n "$NAMESPACE" apply -f - >/dev/null; }

# The sample app's objects, as this project's clusters name them (story 7.1).
manifests() {
  jq -n --arg app "$APP" --arg secret "$SECRET" \
    --arg repo "s3:$E2E_S3_ENDPOINT/$E2E_S3_BUCKET/$APP" --arg password "sandbox-$APP-password" '
  {apiVersion: "v1", kind: "Secret", metadata: {name: $secret},
   stringData: {RESTIC_REPOSITORY: $repo, RESTIC_PASSWORD: $password,
                AWS_ACCESS_KEY_ID: "sandbox", AWS_SECRET_ACCESS_KEY: "sandbox-secret"}},
  {apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: {name: ($app + "-data")},
   spec: {accessModes: ["ReadWriteOnce"], resources: {requests: {storage: "1Gi"}}}},
  {apiVersion: "apps/v1", kind: "Deployment", metadata: {name: $app, labels: {app: $app}},
   spec: {replicas: 1, selector: {matchLabels: {app: $app}},
          template: {metadata: {labels: {app: $app}},
                     spec: {containers: [{name: $app, image: "nginx:1.27",
                                          volumeMounts: [{name: "data", mountPath: "/usr/share/nginx/html"}]}],
                            volumes: [{name: "data", persistentVolumeClaim: {claimName: ($app + "-data")}}]}}}},
  {apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: {name: ($app + "-backup")},
   spec: {sourcePVC: ($app + "-data"), trigger: {schedule: "0 */8 * * *"},
          restic: {repository: $secret, copyMethod: "Direct", pruneIntervalDays: 7,
                   retain: {hourly: 24, daily: 7},
                   moverSecurityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}}}}'
}

seed_files() {
  local dir="$E2E_PVC_ROOT/$NAMESPACE/$APP-data"
  mkdir -p "$dir"
  [[ -z "$(ls -A "$dir")" ]] || return 0
  mkdir -p "$dir/pages"
  printf '<h1>%s</h1>\n<p>Sample data of the VolSync sandbox.</p>\n' "$APP" >"$dir/index.html"
  printf 'first page\n' >"$dir/pages/one.txt"
  printf 'second page\n' >"$dir/pages/two.txt"
  head -c 262144 /dev/urandom >"$dir/pages/blob.bin"
}

wait_for() {
  local timeout="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what: not within ${timeout}s (logs: $E2E_LOGS)"
    sleep 1
  done
}

pvc_bound() { [[ "$(kubectl -n "$NAMESPACE" get pvc "$APP-data" -o jsonpath='{.status.phase}')" == Bound ]]; }
app_ready() { [[ "$(kubectl -n "$NAMESPACE" get deployment "$APP" -o jsonpath='{.status.readyReplicas}')" == 1 ]]; }
synced() {
  [[ "$(kubectl -n "$NAMESPACE" get replicationsources.volsync.backube "$APP-backup" \
    -o jsonpath='{.status.lastManualSync}')" == "$1" ]]
}

first_backup() {
  local trigger="sandbox-first-backup" rs="replicationsources.volsync.backube/$APP-backup"
  [[ -z "$(kubectl -n "$NAMESPACE" get "$rs" -o jsonpath='{.status.lastSyncTime}')" ]] || return 0
  log "first backup of $APP-data"
  kubectl -n "$NAMESPACE" patch "$rs" --type merge -p "{\"spec\":{\"trigger\":{\"manual\":\"$trigger\"}}}" >/dev/null
  wait_for 180 "first backup" synced "$trigger"
  # Back to the schedule: a manual trigger left behind stops scheduled backups.
  kubectl -n "$NAMESPACE" patch "$rs" --type json -p '[{"op":"remove","path":"/spec/trigger/manual"}]' >/dev/null
  kubectl -n "$NAMESPACE" get "$rs" -o jsonpath='{.status.latestMoverStatus.logs}' | grep -E '^snapshot .* saved$' >&2 || true
}

cmd_up() {
  "$CONTROLPLANE" up
  eval "$("$CONTROLPLANE" env)"
  log "sample app $APP in namespace $NAMESPACE"
  kubectl create namespace "$NAMESPACE" --dry-run=client -o json | kubectl apply -f - >/dev/null
  manifests | apply
  wait_for 60 "PVC $APP-data Bound" pvc_bound
  seed_files
  wait_for 60 "Deployment $APP ready" app_ready
  [[ "$TAKE_BACKUP" != true ]] || first_backup
  cat >&2 <<EOF

Sandbox ready.
  kubeconfig:  $E2E_KUBECONFIG_COPY   (context sandbox)
  app:         namespace $NAMESPACE: Deployment $APP, PVC $APP-data, ReplicationSource $APP-backup
  PVC data:    $E2E_PVC_ROOT/$NAMESPACE/$APP-data
  S3:          $E2E_S3_ENDPOINT (bucket $E2E_S3_BUCKET), repository secret $SECRET
Try:           task volsync:status CLUSTER=sandbox
Stop with:     task sandbox:down
EOF
}

case "${1:-}" in
  up) cmd_up ;;
  down) "$CONTROLPLANE" down ;;
  status) "$CONTROLPLANE" status ;;
  env) "$CONTROLPLANE" env ;;
  -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
