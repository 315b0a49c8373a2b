#!/usr/bin/env bats
# task volsync:doctor: every check, read through a stub kubectl; findings and exit codes.

setup() {
  load helpers/common
  common_setup
  NOT_FOUND="echo 'Error from server (NotFound): the server could not find the requested resource' >&2; exit 1"
  FORBIDDEN_SECRETS="echo 'Error from server (Forbidden): secrets is forbidden: User \"ops\" cannot list resource \"secrets\" in API group \"\" in the namespace \"business\"' >&2; exit 1"
  # the Secrets of business by name only, without volsync-r2-secret
  NO_SECRET='echo secret/wrong-password-secret; echo secret/new-repository-secret'
  PVCS='get --raw /api/v1/namespaces/business/persistentvolumeclaims?limit=1000'
  EVENTS='get --raw /api/v1/events?fieldSelector=type%3DWarning%2CinvolvedObject.kind%3D'
  MOVER_PODS='get --raw /api/v1/pods?labelSelector=app.kubernetes.io%2Fcreated-by%3Dvolsync&fieldSelector=status.phase%3DFailed&limit=1000'
}

# plan_cluster [PODS]: the reads of a healthy cluster but the Secrets, the
# RBAC and the events (VolSync 0.16.0 in volsync-system, no Flux, odoo-backup
# in business: rs-odoo.json); PODS: its failed mover pods (none). $FLUX: the
# answer to the reads of Flux's API groups (default NotFound: no Flux);
# $SOURCES: the answer to the list of ReplicationSources; $PVC_LIST: to the list of PVCs
plan_cluster() {
  stub kubectl \
    "$K get --raw /version : echo '{\"major\":\"1\",\"minor\":\"35\",\"gitVersion\":\"v1.35.4\"}'" \
    "$K version --client -o json : echo '{\"clientVersion\":{\"major\":\"1\",\"minor\":\"35\",\"gitVersion\":\"v1.35.4\"}}'" \
    "$K get --raw /apis/volsync.backube/v1alpha1 : cat \"\$FIXTURES/doctor/volsync-api.json\"" \
    "$K get --raw /apis/apps/v1/deployments?limit=1000 : cat \"\$FIXTURES/doctor/deployments.json\"" \
    "$K get --raw /apis/kustomize.toolkit.fluxcd.io : ${FLUX:-$NOT_FOUND}" \
    "$K get --raw /apis/helm.toolkit.fluxcd.io : ${FLUX:-$NOT_FOUND}" \
    "$K $RS_ALL : ${SOURCES:-render \"\$FIXTURES/rs-odoo.json\"}" \
    "$K get --raw /apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses?limit=1000 : cat \"\$FIXTURES/doctor/volumesnapshotclasses.json\"" \
    "$K $PVCS : ${PVC_LIST:-cat \"\$FIXTURES/doctor/pvcs.json\"}" \
    "$K $MOVER_PODS : render \"\$FIXTURES/${1:-empty-list.json}\""
}

# plan_healthy KPREFIX [SECRET-ANSWER]: every read of a healthy cluster (plan_cluster, the Secret names, the
# restic image probe, every grant, no Warning events), through that kubeconfig ($K for this cluster's)
plan_healthy() {
  local K=$1
  plan_cluster
  stub kubectl "$K get secrets -n business -o name : ${2:-echo secret/volsync-r2-secret}"
  [[ -n ${2:-} ]] || plan_probe "$K"
  plan_can_i $GRANTS
  plan_events
}

# pod_named: helpers/common.bash

# plan_probe [K] [ANSWER]: the restic image pulled and run (restic version) in a
# one-shot pod in business, then deleted; ANSWER: the watch's (default: it succeeds)
plan_probe() {
  local k=${1:-$K} pod='volsync-doctor-odoo-?????'
  local kw=${k% --request-timeout=60s}
  stub kubectl \
    "$k create -f - -o json : jq '. + {status: {phase: \"Pending\"}}'" \
    "$kw get pod $pod -n business --watch -o json : ${2:-pod_named pod-list-succeeded.json \"\$@\"}" \
    "$k delete pod $pod -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
  [[ -n ${2:-} ]] || stub kubectl "$k logs $pod -n business -c restic : echo 'restic 0.18.1 compiled with go1.24.4 on linux/amd64'"
}

# plan_can_i N: N more `kubectl auth can-i` questions, each answered yes
plan_can_i() {
  local i
  for ((i = 0; i < $1; i++)); do stub kubectl "$K auth can-i * : echo yes"; done
}

# plan_events [FILE]: the two reads of Warning events (of sources, of destinations)
plan_events() {
  stub kubectl \
    "$K ${EVENTS}ReplicationSource&limit=1000 : render \"\$FIXTURES/${1:-empty-list.json}\"" \
    "$K ${EVENTS}ReplicationDestination&limit=1000 : cat \"\$FIXTURES/empty-list.json\""
}

# without Flux: 14 grants in business, and list replicationsources in all namespaces
GRANTS=15

@test "doctor on a healthy cluster: every check ok, the controller's version, exit 0" {
  plan_healthy "$K"
  run -0 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line 'ok       api-server: reachable, Kubernetes v1.35.4'
  assert_line 'ok       kubectl-version: kubectl v1.35.4, server v1.35.4: within one minor version'
  assert_line 'ok       controller volsync-system/volsync: VolSync 0.16.0 (quay.io/backube/volsync:0.16.0) is running'
  assert_line 'ok       flux: Flux is not installed'
  # ages: the stub renders its times after the run's now was taken
  assert_line --regexp '^ok       source business/odoo-backup: PVC odoo-data, Secret volsync-r2-secret, VolumeSnapshotClass csi-ceph-blockpool exists, last sync (2h|1h59m) ago$'
  assert_line 'ok       rbac: all 15 permissions the commands use are granted (namespace business)'
  assert_line 'ok       events: no Warning events of ReplicationSources or ReplicationDestinations in the last 24h'
  assert_line 'ok       restic-image restic/restic:0.18.1: pulled and ran in namespace business, placed as the mover of business/odoo-backup: restic 0.18.1 compiled with go1.24.4 on linux/amd64'
  assert_line '0 errors, 0 warnings, 9 ok (cluster apps): ready'
  refute_line --regexp '^(ERROR|WARNING)'
  # the Secrets are read by name only
  run stub_calls kubectl
  assert_line --partial 'get secrets -n business -o name'
  refute_line --regexp 'secret.* -o json'
  refute_line --regexp 'get secrets? [^-]'
  refute_line --partial '/secrets'
}

@test "three sources in one namespace cost one PVC list and one Secret name list; each source is judged against them" {
  # odoo-backup and odoo-r2 back up odoo-data (recorded in doctor/pvcs.json); wiki-backup's wiki-data is not there
  SOURCES="render \"\$FIXTURES/rs-odoo.json\" | jq '.items |= [.[0], (.[0] | .metadata.name = \"odoo-r2\"), (.[0] | .metadata.name = \"wiki-backup\" | .spec.sourcePVC = \"wiki-data\")]'" plan_healthy "$K"
  run -1 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --regexp '^ok       source business/odoo-backup: PVC odoo-data, Secret volsync-r2-secret, '
  assert_line --regexp '^ok       source business/odoo-r2: PVC odoo-data, Secret volsync-r2-secret, '
  assert_line 'ERROR    source-pvc business/wiki-backup: its PVC wiki-data does not exist in namespace business: no backup can run'
  assert_line --partial "check: kubectl --kubeconfig '$KC' get pvc wiki-data -n business -o name"
  # one list of each, whatever the number of sources
  run stub_calls kubectl
  assert_equal "$(grep -c persistentvolumeclaims <<<"$output")" 1
  assert_equal "$(grep -c secrets <<<"$output")" 1
}

@test "a copy trigger a restore left on the source's PVC without its record is an error, with the command that removes it; exit 1" {
  PVC_LIST="jq '.items[0].metadata.annotations[\"volsync.backube/use-copy-trigger\"] = \"held-by-volsync-ops-restore\"' \"\$FIXTURES/doctor/pvcs.json\""
  plan_healthy "$K"
  run -1 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line 'ERROR    copy-trigger business/odoo-backup: PVC odoo-data still carries volsync.backube/use-copy-trigger of a restore of volsync-ops, but no restore holds the source (no record): VolSync makes the VolumeSnapshot of each backup only after volsync.backube/copy-trigger changes, and fails the backup after waiting 10 minutes'
  assert_line "         fix: remove it: kubectl --kubeconfig '$KC' annotate pvc odoo-data -n business volsync.backube/use-copy-trigger-"
  assert_line --regexp '^1 errors?, 0 warnings, [0-9]+ ok \(cluster apps\)'
}

@test "a deleted repository Secret is an error naming it, with the command that checks it; exit 1" {
  plan_cluster
  stub kubectl "$K get secrets -n business -o name : $NO_SECRET"
  plan_can_i $GRANTS
  plan_events
  run -1 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line 'ERROR    repository-secret business/odoo-backup: its repository Secret volsync-r2-secret does not exist in namespace business: no backup or restore can run'
  assert_line --partial "fix: recreate Secret business/volsync-r2-secret (RESTIC_REPOSITORY, RESTIC_PASSWORD and the storage credentials) from where your secrets are kept; check: kubectl --kubeconfig '$KC' get secret volsync-r2-secret -n business -o name"
  assert_line 'WARNING  restic-image restic/restic:0.18.1: whether the restic image can be pulled was not checked: no source has both its PVC and its repository Secret found (its pod needs them)'
  assert_line '1 error, 1 warning, 7 ok (cluster apps): a backup or restore would fail'
  # the errors come first
  [[ ${lines[0]} == ERROR* ]]

  plan_cluster
  stub kubectl "$K get secrets -n business -o name : $NO_SECRET"
  plan_can_i $GRANTS
  plan_events
  run -1 --separate-stderr script doctor --kubeconfig "$KC" --cluster apps --output json
  unstub kubectl
  json_true '.errors == 1 and .warnings == 1 and .ok == 7 and (.findings[0] | .severity == "error" and .check == "repository-secret"
    and .subject == "business/odoo-backup" and (.fix | contains("get secret volsync-r2-secret -n business -o name")))' <<<"$output"
}

@test "what RBAC forbids to read is a warning naming the grant, never ok; a missing grant a restore needs is an error" {
  plan_cluster
  stub kubectl \
    "$K get secrets -n business -o name : $FORBIDDEN_SECRETS" \
    "$K auth can-i create replicationdestinations.volsync.backube -n business : echo no; exit 1" \
    "$K auth can-i watch jobs.batch -n business : echo no; exit 1"
  plan_can_i $((GRANTS - 2))
  stub kubectl \
    "$K ${EVENTS}ReplicationSource&limit=1000 : echo 'Error from server (Forbidden): events is forbidden: User \"ops\" cannot list resource \"events\"' >&2; exit 1" \
    "$K ${EVENTS}ReplicationDestination&limit=1000 : cat \"\$FIXTURES/empty-list.json\""
  run -1 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line 'WARNING  repository-secret business/odoo-backup: Secret volsync-r2-secret not checked: your RBAC does not grant list secrets in namespace business'
  assert_line 'ERROR    rbac create replicationdestinations.volsync.backube: your RBAC does not grant create replicationdestinations.volsync.backube in namespace business: needed by restore'
  assert_line --partial "fix: a cluster admin grants it (a Role or ClusterRole bound to you); check: kubectl --kubeconfig '$KC' auth can-i create replicationdestinations.volsync.backube -n business"
  assert_line --regexp '^WARNING  rbac watch jobs.batch: .*in namespace business'
  assert_line 'WARNING  events: Warning events were not checked: your RBAC does not grant list events'
  refute_line --regexp '^ok +source '
  refute_line --regexp '^ok +rbac'
  refute_line --regexp '^ok +events'
}

@test "recent Warning events of a source are warnings; older than LOOKBACK they are left out" {
  plan_cluster
  stub kubectl "$K get secrets -n business -o name : echo secret/volsync-r2-secret"
  plan_probe
  plan_can_i $GRANTS
  plan_events doctor/events-warning.json
  run -0 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  # as VolSync records them (recorded: test/e2e/record-fixtures.sh): one Event each time, eventTime only
  assert_line --regexp '^WARNING  events ReplicationSource business/odoo-backup: SrcPVCTimeoutWaitingForCopyTrigger \(2 times\), (1h|59m[0-9]+s) ago: waiting on copy trigger on src PVC PersistentVolumeClaim/odoo-data before creating snapshot or clone; check PVC annotations$'
  refute_line --partial 'OldTrouble'

  plan_cluster
  stub kubectl "$K get secrets -n business -o name : echo secret/volsync-r2-secret"
  plan_probe
  plan_can_i $GRANTS
  plan_events doctor/events-warning.json
  run -0 script doctor --kubeconfig "$KC" --cluster apps --lookback 4d
  unstub kubectl
  assert_line --regexp '^WARNING  events ReplicationSource business/odoo-backup: OldTrouble, (3d|2d23h) ago: long ago$'
}

@test "an unreachable API server is one error, and nothing else is claimed" {
  stub kubectl "$K get --raw /version : echo 'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?' >&2; exit 1"
  run -1 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --regexp '^ERROR    api-server: the API server of cluster apps did not answer: .*was refused.*Nothing else could be checked$'
  assert_line '1 error, 0 warnings, 0 ok (cluster apps): a backup or restore would fail'
}

@test "a cluster without VolSync: the CRDs are an error, and no source is claimed" {
  stub kubectl \
    "$K get --raw /version : echo '{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.1\"}'" \
    "$K version --client -o json : echo '{\"clientVersion\":{\"major\":\"1\",\"minor\":\"35\",\"gitVersion\":\"v1.35.4\"}}'" \
    "$K get --raw /apis/volsync.backube/v1alpha1 : $NOT_FOUND" \
    "$K get --raw /apis/apps/v1/deployments?limit=1000 : cat \"\$FIXTURES/empty-list.json\"" \
    "$K get --raw /apis/kustomize.toolkit.fluxcd.io : $NOT_FOUND" \
    "$K get --raw /apis/helm.toolkit.fluxcd.io : $NOT_FOUND" \
    "$K auth can-i list replicationsources.volsync.backube --all-namespaces : echo yes"
  plan_events
  run -1 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --regexp '^ERROR    crds: the API server does not serve replicationsources.volsync.backube or replicationdestinations.volsync.backube: VolSync is not installed$'
  assert_line 'WARNING  kubectl-version: kubectl v1.35.4, server v1.32.1: 3 minor versions apart (kubectl supports one either way)'
  assert_line --regexp '^WARNING  controller: no Deployment runs a volsync image'
  refute_line --regexp '^ok +sources'
}

@test "mover pods that failed within LOOKBACK are a warning with the command that shows the latest log" {
  plan_cluster job-mover-src-pods.json
  stub kubectl "$K get secrets -n business -o name : echo secret/volsync-r2-secret"
  plan_probe
  plan_can_i $GRANTS
  plan_events
  run -0 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --regexp '^WARNING  mover ReplicationSource business/odoo-backup: its mover failed 2 times in the last 24h \(the latest [0-9]+s ago, exit code 1\)$'
  assert_line --regexp "^         fix: kubectl --kubeconfig '$KC' logs volsync-src-odoo-backup-[a-z0-9]{5} -n business$"
}

@test "with Flux installed, patching Kustomizations is asked where the sources' labels put them, and a missing grant is an error" {
  FLUX="echo '{\"kind\":\"APIGroup\"}'" plan_cluster
  stub kubectl \
    "$K get secrets -n business -o name : echo secret/volsync-r2-secret" \
    "$K auth can-i patch kustomizations.kustomize.toolkit.fluxcd.io -n flux-system : echo no; exit 1" \
    "$K auth can-i patch helmreleases.helm.toolkit.fluxcd.io -n business : echo yes"
  plan_probe
  plan_can_i $GRANTS
  plan_events
  run -1 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line 'ok       flux: Flux is installed (restore suspends its Kustomizations and HelmReleases)'
  assert_line 'ERROR    rbac patch kustomizations.kustomize.toolkit.fluxcd.io: your RBAC does not grant patch kustomizations.kustomize.toolkit.fluxcd.io in namespace flux-system: needed by restore (suspending Flux)'
}

# --- CLUSTER=all: every cluster of the repository (kubeconfig-apps and
# kubeconfig-lab in $VOLSYNC_OPS_ROOT), each read with its own kubeconfig only

fleet() {
  printf 'apiVersion: v1\nkind: Config\n' >"$TEST_DIR/kubeconfig-apps"
  printf 'apiVersion: v1\nkind: Config\n' >"$TEST_DIR/kubeconfig-lab"
  KA="--kubeconfig $TEST_DIR/kubeconfig-apps --request-timeout=60s"
  KL="--kubeconfig $TEST_DIR/kubeconfig-lab --request-timeout=60s"
}

@test "doctor CLUSTER=all: one list with a CLUSTER column, one summary line per cluster; each cluster read with its own kubeconfig" {
  fleet
  plan_healthy "$KA"
  plan_healthy "$KL" "$NO_SECRET"
  COLUMNS=200 run -1 script doctor --cluster all
  unstub kubectl
  assert_line --regexp '^SEVERITY +CLUSTER +FINDING$'
  assert_line 'ERROR     lab      repository-secret business/odoo-backup: its repository Secret volsync-r2-secret does not exist in namespace business: no backup or restore can run'
  assert_line --partial "fix: recreate Secret business/volsync-r2-secret (RESTIC_REPOSITORY, RESTIC_PASSWORD and the storage credentials) from where your secrets are kept; check: kubectl --kubeconfig '$TEST_DIR/kubeconfig-lab' get secret volsync-r2-secret -n business -o name"
  assert_line 'ok        apps     api-server: reachable, Kubernetes v1.35.4'
  assert_line 'ok        lab      api-server: reachable, Kubernetes v1.35.4'
  # the error first, then the clusters in order
  [[ $(grep -m1 -E '^(ERROR|WARNING|ok) ' <<<"$output") == 'ERROR     lab '* ]]
  assert_line 'apps: 0 errors, 0 warnings, 9 ok: ready'
  assert_line 'lab:  1 error, 1 warning, 7 ok: a backup or restore would fail'
  assert_line '2 clusters: 1 error, 1 warning, 16 ok'
  # no call of one cluster's step went to the other's kubeconfig
  run stub_calls kubectl
  refute_line --regexp '^--kubeconfig .*/kube config'
  # the restic image is probed where a source has its PVC and Secret: on apps only
  assert_line --regexp "kubeconfig-apps --request-timeout=60s create -f - -o json$"
  refute_line --regexp "kubeconfig-lab --request-timeout=60s create "
}

@test "doctor CLUSTER=all: an unreachable cluster is NOT READ with kubectl's reason (exit 1), the other still shown; JSON keyed by cluster" {
  fleet
  plan_healthy "$KA"
  stub kubectl "$KL get --raw /version : echo 'The connection to the server 127.0.0.1:32740 was refused - did you specify the right host or port?' >&2; exit 1"
  COLUMNS=200 run -1 script doctor --cluster all
  unstub kubectl
  assert_line 'ok        apps     api-server: reachable, Kubernetes v1.35.4'
  refute_line --regexp '^[a-zA-Z]+ +lab '
  assert_line 'apps: 0 errors, 0 warnings, 9 ok: ready'
  assert_line 'lab:  NOT READ: The connection to the server 127.0.0.1:32740 was refused - did you specify the right host or port?'
  assert_line '2 clusters: 0 errors, 0 warnings, 9 ok, 1 not read'

  plan_healthy "$KA"
  stub kubectl "$KL get --raw /version : echo 'The connection to the server 127.0.0.1:32740 was refused - did you specify the right host or port?' >&2; exit 1"
  run -1 --separate-stderr script doctor --cluster all --output json
  unstub kubectl
  json_true --arg dir "$TEST_DIR" '.cluster == "all" and .errors == 0 and .ok == 9 and .notRead == 1
    and (.clusters | keys_unsorted) == ["apps", "lab"]
    and (.clusters.apps | .how == "kubeconfig \($dir)/kubeconfig-apps" and .read and .error == null and .ok == 9 and (.findings | length) == 9)
    and .clusters.lab == {how: "kubeconfig \($dir)/kubeconfig-lab", read: false, error: "The connection to the server 127.0.0.1:32740 was refused - did you specify the right host or port?"}' <<<"$output" >/dev/null
}

@test "a restic image that cannot be pulled is an error with the reason and the fix; the pod is deleted; a forbidden pod create is a warning" {
  plan_cluster
  stub kubectl "$K get secrets -n business -o name : echo secret/volsync-r2-secret"
  plan_probe "$K" "pod_named pod-list-configerror.json \"\$@\" | jq '.status.containerStatuses[0].state.waiting = {reason: \"ErrImagePull\", message: \"failed to pull and unpack image \\\"mirror.example/restic:0.18.1\\\": not found\"}'"
  plan_can_i $GRANTS
  plan_events
  RESTIC_IMAGE=mirror.example/restic:0.18.1 run -1 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --regexp '^ERROR    restic-image mirror\.example/restic:0\.18\.1: the restic image cannot be pulled in namespace business \(ErrImagePull: failed to pull and unpack image "mirror\.example/restic:0\.18\.1": not found\): '
  assert_line --partial "fix: set RESTIC_IMAGE to an image your nodes can pull (a mirror of restic/restic), or let them reach its registry (imagePullSecrets); try it: kubectl --kubeconfig '$KC' run restic-pull-test -n business --rm -i --restart=Never --image=mirror.example/restic:0.18.1 -- version"
  assert_line '1 error, 0 warnings, 8 ok (cluster apps): a backup or restore would fail'

  plan_cluster
  stub kubectl \
    "$K get secrets -n business -o name : echo secret/volsync-r2-secret" \
    "$K create -f - -o json : cat >/dev/null; echo 'Error from server (Forbidden): pods is forbidden: User \"ops\" cannot create resource \"pods\" in API group \"\" in the namespace \"business\"' >&2; exit 1" \
    "$K delete pod volsync-doctor-odoo-????? -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
  plan_can_i $GRANTS
  plan_events
  run -0 script doctor --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line 'WARNING  restic-image restic/restic:0.18.1: whether the restic image can be pulled was not checked: your RBAC does not grant create pods in namespace business'
  refute_line --regexp '^ok +restic-image'
}
