#!/usr/bin/env bats
# Issue 8 point 7: the toolkit's restic pods get what the VolSync mover gets
# from the ReplicationSource (customCA, GOOGLE_APPLICATION_CREDENTIALS as a
# file, moverPodLabels, moverAffinity, and with copyMethod Direct the app
# pod's node and tolerations), read from the pod the toolkit really made.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

# tolerating_pod_runs NS APP: the app's one pod (not being deleted) has the toleration and runs
tolerating_pod_runs() {
  kc -n "$1" get pods -l app="$2" -o json | json_true '[.items[] | select(.metadata.deletionTimestamp == null)]
    | length == 1 and (.[0].spec.tolerations // [] | any(.key == "dedicated")) and .[0].status.phase == "Running"'
}

@test "the list pod runs as the mover runs: custom CA handed to restic, credentials file, mover labels and affinity, the app pod's node and tolerations" {
  local ns=mp-list app=vault
  make_app "$ns" "$app"
  # the app's pods tolerate a taint; the mover (copyMethod Direct) gets their tolerations
  kc -n "$ns" patch deployment "$app" --type merge -p \
    '{"spec":{"template":{"spec":{"tolerations":[{"key":"dedicated","operator":"Equal","value":"vault","effect":"NoSchedule"}]}}}}' >/dev/null
  wait_until 60 "the app rolled out with its toleration" tolerating_pod_runs "$ns" "$app"
  # a CA the repository's TLS would be checked with; the Secret also holds a GCS key file
  kc -n "$ns" create configmap corp-ca --from-file=ca.pem="$E2E_RUN_DIR/pki/ca.crt" >/dev/null
  kc -n "$ns" patch secret volsync-r2-secret --type merge -p '{"stringData":{"GOOGLE_APPLICATION_CREDENTIALS":"{\"type\":\"service_account\"}"}}' >/dev/null
  kc -n "$ns" patch "$RS" "$app-backup" --type merge -p '{"spec":{"restic":{
    "customCA":{"configMapName":"corp-ca","key":"ca.pem"},
    "moverPodLabels":{"egress.example.com/restic":"allowed"},
    "moverAffinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"NotIn","values":["windows"]}]}]}}}}}}' >/dev/null
  watch_into pods -n "$ns" pods -l app.kubernetes.io/managed-by=volsync-ops
  sleep 1

  run -0 vtask volsync:list APP="$app" CLUSTER=e2e
  assert_line --regexp '^ +0 +[0-9a-f]{8} '

  local pod
  pod=$(seen pods '[.[] | select(.metadata.labels["app.kubernetes.io/component"] == "snapshot-list")] | last')
  [[ $pod != null ]] || fail "no list pod seen"
  # moverPodLabels, beside the toolkit's own
  json_true '.metadata.labels["egress.example.com/restic"] == "allowed" and .metadata.labels["app.kubernetes.io/managed-by"] == "volsync-ops"' <<<"$pod"
  # customCA: the ConfigMap key mounted as /customCA/ca.crt and handed to restic (RESTIC_CACERT = --cacert)
  json_true '.spec.volumes | any(.name == "custom-ca" and .configMap.name == "corp-ca" and .configMap.items == [{"key":"ca.pem","path":"ca.crt"}])' <<<"$pod"
  json_true '.spec.containers[0] | (.env | any(.name == "RESTIC_CACERT" and .value == "/customCA/ca.crt")) and (.volumeMounts | any(.name == "custom-ca" and .mountPath == "/customCA"))' <<<"$pod"
  # GOOGLE_APPLICATION_CREDENTIALS: the Secret key as a file, the variable pointing at it
  json_true '.spec.volumes | any(.name == "gcs-credentials" and .secret.secretName == "volsync-r2-secret" and .secret.items == [{"key":"GOOGLE_APPLICATION_CREDENTIALS","path":"gcs.json"}])' <<<"$pod"
  json_true '.spec.containers[0].env | any(.name == "GOOGLE_APPLICATION_CREDENTIALS" and .value == "/credentials/gcs.json")' <<<"$pod"
  # moverAffinity, with the node of the app's pod (copyMethod Direct) in each term; the app pod's tolerations
  local node
  node=$(kc -n "$ns" get pods -l app="$app" -o json | jq -r '.items[0].spec.nodeName')
  json_true --arg node "$node" '.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms ==
    [{"matchExpressions":[{"key":"kubernetes.io/os","operator":"NotIn","values":["windows"]}],
      "matchFields":[{"key":"metadata.name","operator":"In","values":[$node]}]}]' <<<"$pod"
  json_true '.spec.tolerations | any(.key == "dedicated" and .value == "vault" and .effect == "NoSchedule")' <<<"$pod"

  # the CA really reaches restic: an unreadable one makes restic refuse
  kc -n "$ns" create configmap corp-ca --from-literal=ca.pem='not a certificate' --dry-run=client -o json | kc -n "$ns" apply -f - >/dev/null
  run -1 vtask volsync:list APP="$app" CLUSTER=e2e
  assert_output --partial 'cannot parse root certificate'
  [[ $(kc -n "$ns" get pods -l app.kubernetes.io/managed-by=volsync-ops -o json | jq '.items | length') == 0 ]] || fail "pods left behind"
}

@test "a restore's ReplicationDestination carries the source's mover settings, and VolSync's mover pod has them: labels, affinity, custom CA" {
  local ns=mp-restore app=vault
  make_app "$ns" "$app"
  kc -n "$ns" create configmap corp-ca --from-file=ca.pem="$E2E_RUN_DIR/pki/ca.crt" >/dev/null
  kc -n "$ns" patch "$RS" "$app-backup" --type merge -p '{"spec":{"restic":{
    "customCA":{"configMapName":"corp-ca","key":"ca.pem"},
    "moverPodLabels":{"egress.example.com/restic":"allowed"},
    "moverAffinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"NotIn","values":["windows"]}]}]}}}}}}' >/dev/null
  watch_into rds -n "$ns" replicationdestinations.volsync.backube
  watch_into movers -n "$ns" pods -l egress.example.com/restic=allowed
  sleep 1

  # into a new PVC: the app is not touched, and the RD is the one a restore makes
  run -0 vtask volsync:restore APP="$app" CLUSTER=e2e TO_PVC="$app-copy"

  local rd
  rd=$(seen rds '[.[] | select(.spec.restic != null)] | last')
  [[ $rd != null ]] || fail "no ReplicationDestination seen"
  json_true '.spec.restic.moverPodLabels == {"egress.example.com/restic":"allowed"}' <<<"$rd"
  json_true '.spec.restic.moverAffinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms
    == [{"matchExpressions":[{"key":"kubernetes.io/os","operator":"NotIn","values":["windows"]}]}]' <<<"$rd"
  json_true '.spec.restic.customCA == {"configMapName":"corp-ca","key":"ca.pem"}' <<<"$rd"
  # VolSync made its restore mover with them
  local mover
  mover=$(seen movers '[.[] | select(.metadata.labels["app.kubernetes.io/managed-by"] != "volsync-ops")] | last')
  [[ $mover != null ]] || fail "no mover pod with the moverPodLabels seen: $(seen movers '[.[].metadata.name] | unique')"
  json_true '.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions
    == [{"key":"kubernetes.io/os","operator":"NotIn","values":["windows"]}]' <<<"$mover"
  [[ -z $(kc -n "$ns" get replicationdestinations.volsync.backube -o name) ]] || fail "ReplicationDestination left"
}
