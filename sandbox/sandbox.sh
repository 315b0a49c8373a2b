#!/usr/bin/env bash
# A local VolSync sandbox for learning and rehearsing the DR runbook: the e2e
# control plane (its own run directory and ports, apart from the tests') plus a
# sample app, with its kubeconfig at <repo>/kubeconfig-sandbox.
#
# Usage: sandbox/sandbox.sh up|down|status|env
# Env:
#   SANDBOX_APP        app name (default demo): PVC <app>-data, Deployment <app>,
#                      Secret <app>-volsync-r2-secret, ReplicationSource <app>-backup
#   SANDBOX_NAMESPACE  its namespace (default: the app name)
#   E2E_PORT_BASE      first of 7 loopback ports (default 26540)
#   SANDBOX_RUN_DIR    run directory (default <repo>/.cache/e2e/sandbox)
#   SANDBOX_KUBECONFIG its kubeconfig (default <repo>/kubeconfig-sandbox); the
#                      e2e tier points both at its own control plane
set -euo pipefail
# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export E2E_RUN_DIR="${SANDBOX_RUN_DIR:-$E2E_CACHE/sandbox}"
export E2E_PORT_BASE="${E2E_PORT_BASE:-26540}"
export E2E_CLUSTER_NAME="sandbox"
export E2E_KUBECONFIG_COPY="${SANDBOX_KUBECONFIG:-$REPO_ROOT/kubeconfig-sandbox}"

APP="${SANDBOX_APP:-demo}"
NAMESPACE="${SANDBOX_NAMESPACE:-$APP}"
# One Secret and one repository per app: a second app in the same namespace
# never touches the first one's.
SECRET="$APP-volsync-r2-secret"
PASSWORD="sandbox-$NAMESPACE-$APP-password"
RS="replicationsources.volsync.backube"
CONTROLPLANE="$SANDBOX_DIR/controlplane.sh"
FIRST_SNAPSHOT=""

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

kubectl() { "$E2E_BIN/kubectl" --kubeconfig "$E2E_KUBECONFIG_COPY" "$@"; }
apply() { kubectl -n "$NAMESPACE" apply -f - >/dev/null; }

# repository: the app's restic repository in the control plane's S3 server
repository() { printf 's3:%s/%s/%s/%s\n' "$E2E_S3_ENDPOINT" "$E2E_S3_BUCKET" "$NAMESPACE" "$APP"; }

# The sample app's objects, named as this project's clusters name them
# (story 7.1), except for the Secret: one per app.
secret_manifest() {
  jq -n --arg secret "$SECRET" --arg repo "$(repository)" --arg password "$PASSWORD" '
  {apiVersion: "v1", kind: "Secret", metadata: {name: $secret},
   stringData: {RESTIC_REPOSITORY: $repo, RESTIC_PASSWORD: $password,
                AWS_ACCESS_KEY_ID: "sandbox", AWS_SECRET_ACCESS_KEY: "sandbox-secret"}}'
}
pvc_manifest() {
  jq -n --arg app "$APP" '{apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: {name: ($app + "-data")},
   spec: {accessModes: ["ReadWriteOnce"], resources: {requests: {storage: "1Gi"}}}}'
}
deployment_manifest() {
  jq -n --arg app "$APP" '
  {apiVersion: "apps/v1", kind: "Deployment", metadata: {name: $app, labels: {app: $app}},
   spec: {replicas: 1, selector: {matchLabels: {app: $app}},
          template: {metadata: {labels: {app: $app}},
                     spec: {containers: [{name: $app, image: "nginx:1.27",
                                          volumeMounts: [{name: "data", mountPath: "/usr/share/nginx/html"}]}],
                            volumes: [{name: "data", persistentVolumeClaim: {claimName: ($app + "-data")}}]}}}}'
}
source_manifest() {
  jq -n --arg app "$APP" --arg secret "$SECRET" '
  {apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: {name: ($app + "-backup")},
   spec: {sourcePVC: ($app + "-data"), trigger: {schedule: "0 */8 * * *"},
          restic: {repository: $secret, copyMethod: "Direct", pruneIntervalDays: 7,
                   retain: {hourly: 24, daily: 7},
                   moverSecurityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}}}}'
}

pvc_dir() { printf '%s/%s/%s-data\n' "$E2E_PVC_ROOT" "$NAMESPACE" "$APP"; }

seed_files() {
  local dir
  dir="$(pvc_dir)"
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
source_status() { kubectl -n "$NAMESPACE" get "$RS" "$APP-backup" -o json | jq -c '.status // {}'; }
# a sync has ended (VolSync starts the first one when the source is created), or its mover failed
sync_settled() {
  source_status | jq -e '(.lastSyncTime != null and .lastSyncStartTime == null)
    or .latestMoverStatus.result == "Failed"' >/dev/null
}
manual_synced() { source_status | jq -e --arg t "$1" '.lastManualSync == $t' >/dev/null; }
mover_result() { source_status | jq -r '.latestMoverStatus.result // "none"'; }
mover_logs() { source_status | jq -r '.latestMoverStatus.logs // "(none)"' | sed 's/^/    /'; }

# snapshots: `restic snapshots --json` of the app's repository with the
# Secret's settings ([] while the repository does not exist)
snapshots() {
  local out
  out="$(RESTIC_REPOSITORY="$(repository)" RESTIC_PASSWORD="$PASSWORD" \
    AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox-secret \
    "$E2E_BIN/restic" snapshots --json --no-lock --no-cache 2>/dev/null)" || out='[]'
  jq -c '. // []' <<<"$out"
}

remove_manual() {
  kubectl -n "$NAMESPACE" patch "$RS" "$APP-backup" --type json \
    -p '[{"op":"remove","path":"/spec/trigger/manual"}]' >/dev/null 2>&1 || true
}

# backup_now: one manual sync; the trigger is removed afterwards, also when
# the wait fails (a manual trigger left behind stops scheduled backups)
backup_now() {
  local token
  token="sandbox-backup-$(date +%s)"
  log "backing up $APP-data now (manual trigger $token)"
  trap remove_manual EXIT
  kubectl -n "$NAMESPACE" patch "$RS" "$APP-backup" --type merge \
    -p "$(jq -cn --arg t "$token" '{spec: {trigger: {manual: $t}}}')" >/dev/null
  wait_for 180 "the backup of $NAMESPACE/$APP-backup (task volsync:status CLUSTER=sandbox NAMESPACE=$NAMESPACE says why)" \
    manual_synced "$token"
  remove_manual
  trap - EXIT
}

# first_backup: returns once the app's repository holds a snapshot; dies
# saying why otherwise. The files exist before the source, so VolSync's first
# sync (at creation) backs them up; a rerun over a sandbox whose first sync
# found the PVC empty takes a backup now.
first_backup() {
  local found
  log "first backup of $APP-data"
  wait_for 180 "the first sync of $NAMESPACE/$APP-backup" sync_settled
  if [[ "$(mover_result)" == Failed ]]; then
    die "the first backup of $NAMESPACE/$APP-backup failed; the mover's log:
$(mover_logs)
(its repository Secret: $NAMESPACE/$SECRET; task volsync:status CLUSTER=sandbox NAMESPACE=$NAMESPACE shows it again)"
  fi
  [[ "$(snapshots | jq length)" -gt 0 ]] || backup_now
  found="$(snapshots)"
  if [[ "$(jq length <<<"$found")" -eq 0 ]]; then
    die "the backup of $NAMESPACE/$APP-backup made no snapshot (checked with restic snapshots in $(repository)); mover result $(mover_result), its log:
$(mover_logs)
files in $(pvc_dir): $(find "$(pvc_dir)" -mindepth 1 | wc -l)"
  fi
  FIRST_SNAPSHOT="$(jq -r 'max_by(.time) | .short_id' <<<"$found")"
  log "first backup: snapshot $FIRST_SNAPSHOT"
}

cmd_up() {
  "$CONTROLPLANE" up
  eval "$("$CONTROLPLANE" env)"
  log "sample app $APP in namespace $NAMESPACE"
  kubectl create namespace "$NAMESPACE" --dry-run=client -o json | kubectl apply -f - >/dev/null
  secret_manifest | apply
  pvc_manifest | apply
  wait_for 60 "PVC $APP-data Bound" pvc_bound
  # the files before the source: VolSync's first sync skips an empty directory
  seed_files
  deployment_manifest | apply
  wait_for 60 "Deployment $APP ready" app_ready
  source_manifest | apply
  first_backup
  cat >&2 <<EOF

Sandbox ready.
  kubeconfig:  $E2E_KUBECONFIG_COPY   (context sandbox)
  app:         namespace $NAMESPACE: Deployment $APP, PVC $APP-data, ReplicationSource $APP-backup
  PVC data:    $(pvc_dir)
  S3:          $E2E_S3_ENDPOINT (bucket $E2E_S3_BUCKET): repository $NAMESPACE/$APP, Secret $SECRET
  backup:      snapshot $FIRST_SNAPSHOT
Try:           task volsync:status CLUSTER=sandbox NAMESPACE=$NAMESPACE
               task volsync:list CLUSTER=sandbox APP=$APP NAMESPACE=$NAMESPACE
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
