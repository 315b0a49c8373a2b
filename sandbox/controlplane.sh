#!/usr/bin/env bash
# Starts and stops the e2e tier's control plane, all on 127.0.0.1:
# etcd, kube-apiserver, kube-controller-manager, the VolSync controller (run
# outside the cluster, with its CRDs and the VolumeSnapshot CRDs from the Go
# module cache), an S3 server standing in for R2, and the kubelet stand-in.
#
# Usage: sandbox/controlplane.sh up|down|env|status|stop NAME|start NAME
#   up          build what is missing, start everything, wait until it is ready
#   down        stop everything and remove the run directory (E2E_KEEP_RUN=1 keeps it)
#   env         print `export` lines: KUBECONFIG, the S3 endpoint, the PVC root...
#   status      show each component's process (exit 3 unless all run)
#   stop NAME   stop one component (fault tests: the API server gone mid-wait)
#   start NAME  start a stopped component again, with the settings of `up`
#   NAME: etcd kube-apiserver kube-controller-manager fakes3 harness volsync
# Env (read by `up`; later commands use what `up` recorded in the run directory):
#   E2E_RUN_DIR         run directory (default <repo>/.cache/e2e/run)
#   E2E_PORT_BASE       first of 7 consecutive loopback ports (default 26440)
#   E2E_CLUSTER_NAME    cluster/context/user name in the kubeconfig (default e2e)
#   E2E_KUBECONFIG_COPY also write the admin kubeconfig there (the sandbox's kubeconfig-sandbox)
#   E2E_S3_BUCKET       bucket created at start (default volsync)
#   E2E_USER_NAMESPACE  harness runs containers in a user namespace too: auto (when not root)|true|false
set -euo pipefail
# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN_DIR="${E2E_RUN_DIR:-$E2E_CACHE/run}"
PORT_BASE="${E2E_PORT_BASE:-26440}"
CLUSTER_NAME="${E2E_CLUSTER_NAME:-e2e}"
S3_BUCKET="${E2E_S3_BUCKET:-volsync}"
USER_NAMESPACE="${E2E_USER_NAMESPACE:-auto}"
VOLSYNC_SRC=""
NODE_NAME="sandbox-node"

PKI="$RUN_DIR/pki"
LOGS="$RUN_DIR/logs"
PIDS="$RUN_DIR/pids"
KUBECONFIG_FILE="$RUN_DIR/kubeconfig"
HARNESS_DATA="$RUN_DIR/harness"
MARKER="$RUN_DIR/.e2e-run-dir"
# Start order; `down` stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager fakes3 harness volsync)

set_ports() {
  APISERVER_PORT=$((PORT_BASE + 0))
  ETCD_PORT=$((PORT_BASE + 1))
  ETCD_PEER_PORT=$((PORT_BASE + 2))
  KCM_PORT=$((PORT_BASE + 3))
  VOLSYNC_PROBE_PORT=$((PORT_BASE + 4))
  S3_PORT=$((PORT_BASE + 5))
  KUBELET_PORT=$((PORT_BASE + 6))
}
set_ports

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

kubectl() { "$E2E_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

pid_of() { [[ -f "$PIDS/$1.pid" ]] && cat "$PIDS/$1.pid"; }
alive() {
  local pid
  pid="$(pid_of "$1")" || return 1
  kill -0 "$pid" 2>/dev/null
}

# start NAME BINARY ARGS...: runs it in its own session (pid = process group),
# appending its output to logs/NAME.log. Only stdin, stdout and stderr reach
# it: a caller's other descriptors (bats keeps pipes open on 3 and above, and
# waits for them to close) would otherwise stay open as long as it runs.
start() {
  local name="$1"
  shift
  (
    local fd
    for fd in "/proc/$BASHPID/fd/"*; do
      fd="${fd##*/}"
      ((fd > 2 && fd != 255)) && eval "exec $fd>&-"
    done
    exec setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$PIDS/$name.pid"
}

# wait_for NAME SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local name="$1" timeout="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name exited during start-up (log: $LOGS/$name.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name not ready after ${timeout}s (log: $LOGS/$name.log)"
    fi
    sleep 0.3
  done
}

# (`kubectl wait --for condition` fails at once while an object has no conditions yet.)
crds_established() {
  kubectl get crd "$@" -o json |
    jq -e '[.items[] | .status.conditions // [] | any(.type == "Established" and .status == "True")] | all' >/dev/null
}

node_ready() {
  kubectl get node "$NODE_NAME" -o json |
    jq -e '.status.conditions // [] | any(.type == "Ready" and .status == "True")' >/dev/null
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# issue NAME SUBJECT EXTENSIONS: a key and a certificate signed by the run's CA.
issue() {
  local name="$1" subject="$2" extensions="$3"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI/$name.key" -out "$PKI/$name.csr" -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 365 -out "$PKI/$name.crt" -extfile <(printf '%s\n' "$extensions") 2>/dev/null
  rm -f "$PKI/$name.csr"
}

make_pki() {
  mkdir -p "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=volsync-ops-e2e-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  local server="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth"
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  issue apiserver "/CN=kube-apiserver" "$server
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1"
  issue admin "/O=system:masters/CN=e2e-admin" "$client"
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  issue kubelet "/CN=$NODE_NAME" "$server
subjectAltName=IP:127.0.0.1,DNS:$NODE_NAME"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
}

write_kubeconfig() {
  local file="$1"
  KUBECONFIG="$file" "$E2E_BIN/kubectl" config set-cluster "$CLUSTER_NAME" \
    --server "https://127.0.0.1:$APISERVER_PORT" --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  KUBECONFIG="$file" "$E2E_BIN/kubectl" config set-credentials "$CLUSTER_NAME" \
    --client-certificate "$PKI/admin.crt" --client-key "$PKI/admin.key" --embed-certs >/dev/null
  KUBECONFIG="$file" "$E2E_BIN/kubectl" config set-context "$CLUSTER_NAME" \
    --cluster "$CLUSTER_NAME" --user "$CLUSTER_NAME" >/dev/null
  KUBECONFIG="$file" "$E2E_BIN/kubectl" config use-context "$CLUSTER_NAME" >/dev/null
  chmod 600 "$file"
}

# The settings `up` chose stay in the run directory, so that `start`, `stop`
# and `env` agree with it whatever the environment says later.
write_settings() {
  cat >"$RUN_DIR/settings" <<SETTINGS
PORT_BASE=$PORT_BASE
CLUSTER_NAME=$CLUSTER_NAME
S3_BUCKET=$S3_BUCKET
USER_NAMESPACE=$USER_NAMESPACE
VOLSYNC_SRC=$VOLSYNC_SRC
SETTINGS
}

load_settings() {
  [[ -f "$RUN_DIR/settings" ]] || die "no control plane in $RUN_DIR; run: $0 up"
  # shellcheck disable=SC1091
  source "$RUN_DIR/settings"
  set_ports
}

write_env() {
  cat >"$RUN_DIR/env" <<ENV
export KUBECONFIG='$KUBECONFIG_FILE'
export E2E_RUN_DIR='$RUN_DIR'
export E2E_BIN='$E2E_BIN'
export E2E_CLUSTER_NAME='$CLUSTER_NAME'
export E2E_APISERVER='https://127.0.0.1:$APISERVER_PORT'
export E2E_S3_ENDPOINT='http://127.0.0.1:$S3_PORT'
export E2E_S3_BUCKET='$S3_BUCKET'
export E2E_PVC_ROOT='$HARNESS_DATA/pvcs'
export E2E_SNAPSHOT_ROOT='$HARNESS_DATA/snapshots'
export E2E_NODE_NAME='$NODE_NAME'
export E2E_MOVER_IMAGE='$MOVER_IMAGE'
export E2E_LOGS='$LOGS'
ENV
}

print_versions() {
  log "component versions"
  {
    "$E2E_BIN/etcd" --version | sed -n 1p
    echo "kube-apiserver $("$E2E_BIN/kube-apiserver" --version | awk '{print $2}')"
    echo "kube-controller-manager $("$E2E_BIN/kube-controller-manager" --version | awk '{print $2}')"
    echo "kubectl $("$E2E_BIN/kubectl" version --client -o json | jq -r .clientVersion.gitVersion)"
    echo "volsync $VOLSYNC_VERSION ($VOLSYNC_SRC)"
    "$E2E_BIN/restic" version
    "$E2E_BIN/fakes3" --version
    "$E2E_BIN/harness" --version
  } | tee "$RUN_DIR/versions" | sed 's/^/    /' >&2
}

# One start_NAME per component: starts it and waits until it is ready.
start_etcd() {
  log "etcd on 127.0.0.1:$ETCD_PORT"
  start etcd "$E2E_BIN/etcd" --name e2e --data-dir "$RUN_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
  wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
}

start_kube-apiserver() {
  log "kube-apiserver on https://127.0.0.1:$APISERVER_PORT"
  # As controller-runtime's envtest starts it: RBAC, generated certificates,
  # service-account keys, and no ServiceAccount admission (pods need no tokens).
  # The kubelet client certificate lets pods/log reach the harness.
  start kube-apiserver "$E2E_BIN/kube-apiserver" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --authorization-mode RBAC \
    --disable-admission-plugins ServiceAccount \
    --service-account-issuer "https://127.0.0.1:$APISERVER_PORT" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --allow-privileged=true \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
    --endpoint-reconciler-type none \
    --profiling=false
  wait_for kube-apiserver 90 curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz"
}

start_kube-controller-manager() {
  log "kube-controller-manager (no job controller: the harness plays it for VolSync's movers)"
  start kube-controller-manager "$E2E_BIN/kube-controller-manager" \
    --kubeconfig "$KUBECONFIG_FILE" --authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
    --use-service-account-credentials=false \
    --controllers deployment-controller,replicaset-controller,statefulset-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller,persistentvolume-binder-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller,clusterrole-aggregation-controller \
    --pvclaimbinder-sync-period 5s
  wait_for kube-controller-manager 60 curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
}

install_crds() {
  log "CRDs of VolSync $VOLSYNC_VERSION and VolumeSnapshots, from $VOLSYNC_SRC"
  kubectl apply --server-side -f "$VOLSYNC_SRC/config/crd/bases" -f "$VOLSYNC_SRC/hack/crds" >/dev/null
  wait_for kube-apiserver 60 crds_established \
    replicationsources.volsync.backube replicationdestinations.volsync.backube \
    volumesnapshots.snapshot.storage.k8s.io volumesnapshotcontents.snapshot.storage.k8s.io \
    volumesnapshotclasses.snapshot.storage.k8s.io
}

start_fakes3() {
  log "S3 (gofakes3) on http://127.0.0.1:$S3_PORT, bucket $S3_BUCKET"
  # Objects live in a bbolt file of the run directory: a restarted S3 server
  # keeps the repositories.
  start fakes3 "$E2E_BIN/fakes3" --listen "127.0.0.1:$S3_PORT" --buckets "$S3_BUCKET" --db "$RUN_DIR/s3.db"
  wait_for fakes3 30 curl -fsS "http://127.0.0.1:$S3_PORT/"
}

start_harness() {
  log "kubelet stand-in: node $NODE_NAME, endpoint https://127.0.0.1:$KUBELET_PORT"
  start harness "$E2E_BIN/harness" --kubeconfig "$KUBECONFIG_FILE" --node-name "$NODE_NAME" \
    --listen "127.0.0.1:$KUBELET_PORT" --tls-cert-file "$PKI/kubelet.crt" --tls-private-key-file "$PKI/kubelet.key" \
    --client-ca-file "$PKI/ca.crt" --data-dir "$HARNESS_DATA" --bin-dir "$E2E_BIN" \
    --mover-dir "$VOLSYNC_SRC/mover-restic" --mover-image "$MOVER_IMAGE" --user-namespace "$USER_NAMESPACE"
  wait_for harness 60 curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$KUBELET_PORT/healthz"
  wait_for harness 60 node_ready
}

start_volsync() {
  log "VolSync controller (outside the cluster), mover image $MOVER_IMAGE"
  start volsync "$E2E_BIN/volsync" --kubeconfig "$KUBECONFIG_FILE" \
    --leader-elect=false --metrics-bind-address 0 \
    --health-probe-bind-address "127.0.0.1:$VOLSYNC_PROBE_PORT" \
    --restic-container-image "$MOVER_IMAGE"
  wait_for volsync 60 curl -fsS "http://127.0.0.1:$VOLSYNC_PROBE_PORT/readyz"
}

cmd_up() {
  if [[ -f "$MARKER" ]]; then
    local name running=0
    for name in "${COMPONENTS[@]}"; do alive "$name" && running=$((running + 1)); done
    if ((running == ${#COMPONENTS[@]})); then
      log "control plane already up ($RUN_DIR)"
      [[ -z "${E2E_KUBECONFIG_COPY:-}" ]] || install -m 600 "$KUBECONFIG_FILE" "$E2E_KUBECONFIG_COPY"
      return 0
    fi
    ((running == 0)) || die "control plane in $RUN_DIR is partly running; see $0 status, then $0 start NAME or $0 down"
    log "removing the stale run directory $RUN_DIR"
    rm -rf "$RUN_DIR"
  fi
  [[ ! -e "$RUN_DIR" ]] || die "$RUN_DIR exists and is not an e2e run directory; remove it or set E2E_RUN_DIR"
  case "$USER_NAMESPACE" in auto | true | false) ;; *) die "E2E_USER_NAMESPACE=$USER_NAMESPACE: want auto, true or false" ;; esac
  local port
  for port in "$APISERVER_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT" "$KCM_PORT" "$VOLSYNC_PROBE_PORT" "$S3_PORT" "$KUBELET_PORT"; do
    port_free "$port" || die "port 127.0.0.1:$port is in use; stop what uses it or set E2E_PORT_BASE"
  done

  "$SANDBOX_DIR/build.sh"
  VOLSYNC_SRC="$(volsync_dir)"
  mkdir -p "$RUN_DIR" "$LOGS" "$PIDS" "$HARNESS_DATA"
  touch "$MARKER"
  # A failed start stops what it started; the logs stay for reading and the
  # next `up` clears them.
  trap 'stop_all; log "start-up failed; logs in $LOGS"' EXIT
  write_settings
  print_versions
  local started=$SECONDS

  log "certificates"
  make_pki
  write_kubeconfig "$KUBECONFIG_FILE"
  start_etcd
  start_kube-apiserver
  start_kube-controller-manager
  install_crds
  start_fakes3
  start_harness
  start_volsync

  write_env
  trap - EXIT
  [[ -z "${E2E_KUBECONFIG_COPY:-}" ]] || install -m 600 "$KUBECONFIG_FILE" "$E2E_KUBECONFIG_COPY"
  log "control plane up in $((SECONDS - started))s; run dir $RUN_DIR"
  log "use it with: eval \"\$(E2E_RUN_DIR='$RUN_DIR' $0 env)\""
}

stop_component() {
  local name="$1" pid deadline
  pid="$(pid_of "$name")" || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in 5s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PIDS/$name.pid"
}

stop_all() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    stop_component "${COMPONENTS[i]}"
  done
}

cmd_down() {
  if [[ ! -e "$RUN_DIR" ]]; then
    log "nothing to stop: $RUN_DIR does not exist"
  else
    [[ -f "$MARKER" ]] || die "$RUN_DIR is not an e2e run directory; not touching it"
    stop_all
    if [[ "${E2E_KEEP_RUN:-}" == 1 ]]; then
      log "stopped; kept $RUN_DIR (E2E_KEEP_RUN=1)"
    else
      rm -rf "$RUN_DIR"
      log "stopped and removed $RUN_DIR"
    fi
  fi
  [[ -z "${E2E_KUBECONFIG_COPY:-}" ]] || rm -f "$E2E_KUBECONFIG_COPY"
}

is_component() {
  local name
  for name in "${COMPONENTS[@]}"; do [[ "$name" == "$1" ]] && return 0; done
  return 1
}

cmd_start() {
  local name="$1"
  is_component "$name" || die "start NAME: NAME is one of ${COMPONENTS[*]}"
  load_settings
  if alive "$name"; then
    log "$name is already running"
  else
    "start_$name"
  fi
}

cmd_stop() {
  local name="$1"
  is_component "$name" || die "stop NAME: NAME is one of ${COMPONENTS[*]}"
  load_settings
  stop_component "$name"
  log "stopped $name; start it again with: $0 start $name"
}

cmd_env() {
  [[ -f "$RUN_DIR/env" ]] || die "no control plane in $RUN_DIR; run: $0 up"
  cat "$RUN_DIR/env"
}

cmd_status() {
  local name state rc=0
  if [[ ! -f "$MARKER" ]]; then
    echo "down ($RUN_DIR does not exist)"
    return 3
  fi
  for name in "${COMPONENTS[@]}"; do
    if alive "$name"; then state="running (pid $(pid_of "$name"))"; else state="not running"; rc=3; fi
    printf '%-24s %s\n' "$name" "$state"
  done
  return "$rc"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
