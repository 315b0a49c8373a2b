#!/usr/bin/env bats
# task volsync:doctor against the real control plane: a healthy app, then the
# same app with its repository Secret deleted; the restic image pulled (and,
# named "unpullable", refused by the harness as a registry would).

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
  # cluster-scoped, made by the stuck-sync test
  [[ $BATS_TEST_DESCRIPTION != *"never binds"* ]] || kc delete volumesnapshotclass doc-long-other-driver --ignore-not-found >/dev/null 2>&1 || true
}

@test "doctor on a healthy app: its source ok, nothing stops a backup or restore, exit 0" {
  make_app doc-ok web

  run -0 vtask volsync:doctor CLUSTER=e2e NAMESPACE=doc-ok
  assert_line --regexp '^ok +api-server: reachable, Kubernetes v1\.35\.'
  assert_line 'ok       crds: replicationsources.volsync.backube and replicationdestinations.volsync.backube are served'
  assert_line --regexp '^ok +source doc-ok/web-backup: PVC web-data, Secret volsync-r2-secret, last sync [0-9ms]+ ago$'
  # (and flux-system's, when a file run earlier on this control plane installed Flux's CRDs)
  assert_line --regexp '^ok +rbac: all [0-9]+ permissions the commands use are granted \(namespaces? doc-ok(, flux-system)?\)$'
  assert_line --regexp '^ok +restic-image restic/restic:0\.18\.1: pulled and ran in namespace doc-ok, placed as the mover of doc-ok/web-backup: restic 0\.18\.1 '
  # VolSync runs outside the cluster here: no Deployment of it, which is a warning, not an error
  assert_line --regexp '^WARNING  controller: no Deployment runs a volsync image'
  assert_line --regexp '^0 errors, [0-9]+ warnings?, [0-9]+ ok \(namespace doc-ok of cluster e2e\)'
  refute_line --regexp '^ERROR'
}

@test "doctor names a deleted repository Secret and the fix, and exits 1; nothing of any Secret is read" {
  make_app doc-bad web
  kc -n doc-bad delete secret volsync-r2-secret >/dev/null

  run -1 vtask volsync:doctor CLUSTER=e2e NAMESPACE=doc-bad
  assert_line 'ERROR    repository-secret doc-bad/web-backup: its repository Secret volsync-r2-secret does not exist in namespace doc-bad: no backup or restore can run'
  assert_line --regexp '^         fix: recreate Secret doc-bad/volsync-r2-secret .*; check: kubectl .*get secret volsync-r2-secret -n doc-bad -o name$'
  assert_line --regexp '^1 error, [0-9]+ warnings?, [0-9]+ ok \(namespace doc-bad of cluster e2e\): a backup or restore would fail$'
  refute_line --regexp '^ok +source doc-bad/web-backup'

  run -1 --separate-stderr vtask volsync:doctor CLUSTER=e2e NAMESPACE=doc-bad OUTPUT=json
  json_true '.errors == 1 and ([.findings[] | select(.severity == "error")][0]
    | .check == "repository-secret" and .subject == "doc-bad/web-backup")' <<<"$output"
}

@test "doctor: a restic image the nodes cannot pull is an error with the reason and the fix (exit 1), and its pod is deleted" {
  make_app doc-img web

  RESTIC_IMAGE=registry.example/unpullable/restic:0.18.1 run -1 vtask volsync:doctor CLUSTER=e2e NAMESPACE=doc-img
  assert_line --regexp '^ERROR +restic-image registry\.example/unpullable/restic:0\.18\.1: the restic image cannot be pulled in namespace doc-img \(ErrImagePull: .*unpullable.*\): '
  assert_line --regexp '^ +fix: set RESTIC_IMAGE to an image your nodes can pull .* --image=registry\.example/unpullable/restic:0\.18\.1 -- version$'
  assert_line --regexp '^1 error, [0-9]+ warnings?, [0-9]+ ok \(namespace doc-img of cluster e2e\): a backup or restore would fail$'
  # its pod was deleted (asked for before the run ended; gone moments later)
  wait_until 30 "the doctor pod of doc-img deleted" no_doctor_pod doc-img
}

no_doctor_pod() { [[ -z $(kc -n "$1" get pods -l app.kubernetes.io/component=doctor -o name) ]]; }

@test "doctor as a ServiceAccount whose Role lacks grants: each missing grant is named (a warning, or an error where it stops a restore), never ok" {
  make_app doc-rbac web
  # a user who may read sources, PVCs and pods in doc-rbac, and nothing else
  kc -n doc-rbac create serviceaccount ops >/dev/null
  kc -n doc-rbac create role ops --verb=get,list,watch --resource=replicationsources.volsync.backube,persistentvolumeclaims,pods >/dev/null
  kc -n doc-rbac create rolebinding ops --role=ops --serviceaccount=doc-rbac:ops >/dev/null
  local token kcfg="$BATS_TEST_TMPDIR/kubeconfig-ops"
  token=$(kc -n doc-rbac create token ops)
  kc config view --raw --minify -o json | jq --arg t "$token" '.users[0].user = {token: $t}' >"$kcfg"

  run -1 vtask volsync:doctor CLUSTER=e2e KUBECONFIG="$kcfg" NAMESPACE=doc-rbac
  assert_line 'WARNING  repository-secret doc-rbac/web-backup: Secret volsync-r2-secret not checked: your RBAC does not grant list secrets in namespace doc-rbac'
  assert_line --regexp '^ERROR +rbac create replicationdestinations\.volsync\.backube: your RBAC does not grant create replicationdestinations\.volsync\.backube in namespace doc-rbac: needed by restore$'
  assert_line --regexp '^ERROR +rbac patch replicationsources\.volsync\.backube: your RBAC does not grant '
  assert_line --regexp '^ERROR +rbac create pods: your RBAC does not grant create pods in namespace doc-rbac'
  assert_line 'WARNING  events: Warning events were not checked: your RBAC does not grant list events'
  assert_line --regexp '^WARNING +controller: .*(RBAC|not checked|could not)'
  # nothing it could not read is claimed
  refute_line --regexp '^ok +source '
  refute_line --regexp '^ok +rbac'
  refute_line --regexp '^ok +events'
  refute_line --regexp '^ok +controller'
  refute_line --regexp '^ok +restic-image'
}

@test "doctor shows VolSync's own Warning event of a source: a copy trigger held past VolSync's 10-minute wait" {
  COPY_METHOD=Snapshot make_app doc-warn web
  # before any backup waits: a copy trigger set by something else is a warning, one a restore of this
  # tool left without its record an error, both with the command that removes it
  kc -n doc-warn annotate pvc web-data volsync.backube/use-copy-trigger=db-hook >/dev/null
  run vtask volsync:doctor CLUSTER=e2e NAMESPACE=doc-warn
  assert_line 'WARNING  copy-trigger doc-warn/web-backup: PVC web-data carries volsync.backube/use-copy-trigger ("db-hook"): VolSync makes the VolumeSnapshot of each backup only after volsync.backube/copy-trigger changes, and fails the backup after waiting 10 minutes'
  assert_line --regexp '^ +fix: if nothing sets a new copy-trigger before each backup \(a database hook, for example\), remove it: kubectl .*annotate pvc web-data -n doc-warn volsync.backube/use-copy-trigger-$'
  kc -n doc-warn annotate --overwrite pvc web-data volsync.backube/use-copy-trigger=held-by-volsync-ops-restore >/dev/null
  run -1 vtask volsync:doctor CLUSTER=e2e NAMESPACE=doc-warn
  assert_line 'ERROR    copy-trigger doc-warn/web-backup: PVC web-data still carries volsync.backube/use-copy-trigger of a restore of volsync-ops, but no restore holds the source (no record): VolSync makes the VolumeSnapshot of each backup only after volsync.backube/copy-trigger changes, and fails the backup after waiting 10 minutes'
  # the PVC as a restore killed 11 minutes ago leaves it: VolSync's copies held by the copy trigger
  # (VolSync set the status and the time it began to wait); VolSync warns on its next sync
  kc -n doc-warn annotate --overwrite pvc web-data volsync.backube/use-copy-trigger=held-by-volsync-ops-restore \
    volsync.backube/latest-copy-status=WaitingForTrigger \
    "volsync.backube/latest-copy-trigger-waiting-since=$(date -u -d '11 minutes ago' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
  kc -n doc-warn patch "$RS" web-backup --type merge -p '{"spec":{"trigger":{"manual":"doc-warn-1"}}}' >/dev/null
  wait_until 120 "VolSync's Warning event on doc-warn/web-backup" copy_trigger_event doc-warn web-backup

  run -1 vtask volsync:doctor CLUSTER=e2e NAMESPACE=doc-warn
  # VolSync wrote its own message as the mover status: no backup runs, an error, and who can release it
  assert_line 'ERROR    mover doc-warn/web-backup: its last mover run failed: Timed out waiting for copy-trigger to be modified for pvc web-data'
  assert_line --regexp '^ +fix: VolSync makes no copy of PVC web-data while volsync.backube/use-copy-trigger is set .* or remove it: kubectl .*annotate pvc web-data -n doc-warn volsync.backube/use-copy-trigger-$'
  assert_line --regexp '^WARNING  events ReplicationSource doc-warn/web-backup: SrcPVCTimeoutWaitingForCopyTrigger( \([0-9]+ times\))?, [0-9ms]+ ago: waiting on copy trigger on src PVC PersistentVolumeClaim/web-data before creating snapshot or clone; check PVC annotations$'
  refute_line --regexp '^ok +events'
  # VolSync gave up waiting: the failed mover is the finding, not the annotation a second time
  refute_line --partial 'copy-trigger doc-warn/web-backup'
}

# copy_trigger_event NS RS: VolSync's Warning event SrcPVCTimeoutWaitingForCopyTrigger of the source exists
copy_trigger_event() {
  [[ -n $(kc -n "$1" get events --field-selector "type=Warning,reason=SrcPVCTimeoutWaitingForCopyTrigger,involvedObject.kind=ReplicationSource,involvedObject.name=$2" -o name) ]]
}

@test "doctor: a sync stuck for over an hour on a VolumeSnapshot that never binds (VolSync records no event) is a warning whose command lists it" {
  COPY_METHOD=Snapshot make_app doc-long web
  # a class whose driver no node has: VolSync's VolumeSnapshot of the PVC is never ready
  jq -n '{apiVersion: "snapshot.storage.k8s.io/v1", kind: "VolumeSnapshotClass", metadata: {name: "doc-long-other-driver"},
    driver: "other.csi.example.com", deletionPolicy: "Delete"}' | kc apply -f - >/dev/null
  kc -n doc-long patch "$RS" web-backup --type merge \
    -p '{"spec":{"trigger":{"manual":"doc-long-1"},"restic":{"volumeSnapshotClassName":"doc-long-other-driver"}}}' >/dev/null
  wait_until 60 "VolSync's VolumeSnapshot volsync-web-backup-src" snapshot_exists doc-long volsync-web-backup-src
  # the sync began 2 hours ago (VolSync sets lastSyncStartTime only when a sync begins)
  kc -n doc-long patch "$RS" web-backup --subresource=status --type merge \
    -p "{\"status\":{\"lastSyncStartTime\":\"$(date -u -d '2 hours ago' +%Y-%m-%dT%H:%M:%SZ)\"}}" >/dev/null

  run -0 vtask volsync:doctor CLUSTER=e2e NAMESPACE=doc-long
  assert_line --regexp '^WARNING  sync-running doc-long/web-backup: a sync has been running for (2h|1h59m): a large backup can take this long; else VolSync is waiting for its VolumeSnapshot volsync-web-backup-src to be ready, its cache PVC volsync-src-web-backup-cache to bind or its mover to run \(it records no event when a VolumeSnapshot or PVC does not bind\)$'
  # the command it gives lists the VolumeSnapshot that is not ready
  local fix
  fix=$(sed -n '/sync-running doc-long/{n;s/^ *fix: //p;}' <<<"$output")
  [[ $fix == kubectl\ * ]] || fail "no fix line: $output"
  run -0 bash -c "$fix"
  assert_line --regexp '^volumesnapshot\.snapshot\.storage\.k8s\.io/volsync-web-backup-src +false '

  kc -n doc-long delete "$RS" web-backup --wait=true >/dev/null
  kc delete volumesnapshotclass doc-long-other-driver >/dev/null
}

snapshot_exists() { kc -n "$1" get volumesnapshots.snapshot.storage.k8s.io "$2" >/dev/null 2>&1; }
