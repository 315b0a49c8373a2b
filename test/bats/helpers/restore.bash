# Planned kubectl calls and canned answers for restore.bats. The answers are
# the fixtures in test/fixtures/restore (shapes of real API objects), or built
# from what the script sent (the ReplicationDestination it created).

POD='volsync-list-odoo-?????'
RDN='odoo-restore-??????????????'
RD=replicationdestinations.volsync.backube
KS=kustomizations.kustomize.toolkit.fluxcd.io
HR=helmreleases.helm.toolkit.fluxcd.io
RF="$FIXTURES/restore"
export RF

# derived NAME FILE [JQ_OPTION...] FILTER: sets REPLY to a file holding FILE
# through the jq FILTER, made once per bats file (in $BATS_FILE_TMPDIR): the
# answers below that are the same in every test are cat of it (jq 1.6 takes
# ~30 ms of CPU to start, cat ~3). A fixture's @NOW...@ placeholders are
# strings to jq and come out as they went in: render the file, as the answer
# would have rendered the fixture before jq.
derived() {
  local name=$1 file=$2
  shift 2
  REPLY="$BATS_FILE_TMPDIR/derived-$name.json"
  [[ -e $REPLY ]] && return 0
  # written beside, then renamed: a reader never sees half a file
  local tmp="$REPLY.$BASHPID"
  jq "$@" "$file" >"$tmp" && mv "$tmp" "$REPLY"
}

# rd_object STATUS [SNAPSHOT]: the ReplicationDestination the script created
# (saved in $STUB_DIR/rd.json by the create answer) as the API server returns
# it, with the status in $RF/rd-status-STATUS.json ("none": no status yet);
# in it @TOKEN@ is the object's trigger token and @RESTORED@ the short id of
# the snapshot the mover restored (default: the latest, 7c2d9e41).
rd_object() {
  rd_as '' "$@"
}

# rd_event TYPE STATUS [SNAPSHOT]: a watch event (--output-watch-events) carrying rd_object STATUS [SNAPSHOT]
rd_event() {
  rd_as "$@"
}

# rd_paused: rd_object none, paused (the answer to the pause patch), in the same one jq
rd_paused() {
  RD_THEN='.spec.paused = true' rd_as '' none
}

# rd_as TYPE STATUS [SNAPSHOT]: rd_object (TYPE '') or rd_event in one jq (jq
# 1.6 takes 50 ms to start): the placeholders are literal text, replaced before parsing;
# then the jq filter RD_THEN, if set
rd_as() {
  local type=$1 status=$2 restored=${3:-7c2d9e41} st=''
  [[ $status == none ]] || st=$(render "$RF/rd-status-$status.json")
  jq ${type:+-c} --arg type "$type" --arg st "$st" --arg restored "$restored" --slurpfile snapshots "$FIXTURES/restic-snapshots.log" '
    .spec.trigger.manual as $token
    | [$snapshots[0][] | select(.short_id == $restored) | .time | sub("T"; " ") | sub("Z$"; " +0000 UTC")] as $times
    | .metadata += {uid: "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f60718", resourceVersion: "92001", generation: 1,
                    creationTimestamp: (now | todate)}
    | if $st == "" then . else
        .status = ($st | split("@TOKEN@") | join($token) | split("@RESTORED_TIME@") | join($times | join("\n"))
                   | split("@RESTORED@") | join($restored) | fromjson)
      end
    | if $type == "" then . else {type: $type, object: .} end'"${RD_THEN:+ | $RD_THEN}" "$STUB_DIR/rd.json"
}
export -f rd_object rd_event rd_as rd_paused

# plan_listing [READ]: the source (read by the kubectl call READ, default all namespaces),
# its PVC, and the snapshot listing (a one-shot pod, deleted)
plan_listing() {
  stub kubectl \
    "$K ${1:-$RS_ALL} : render \"\$FIXTURES/rs-odoo.json\" | tee \"\$STUB_DIR/rs.json\"" \
    "$K get persistentvolumeclaims odoo-data -n business -o json : cat \"\$RF/pvc-odoo-data.json\"" \
    "$K create -f - -o json : cat >\"\$STUB_DIR/pod.json\"; render \"\$FIXTURES/pod-list-pending.json\"" \
    "$KW get pod $POD -n business --watch -o json : render \"\$FIXTURES/pod-list-pending.json\"; render \"\$FIXTURES/pod-list-succeeded.json\"" \
    "$K logs $POD -n business -c restic : cat \"\$FIXTURES/restic-snapshots.log\"" \
    "$K delete pod $POD -n business --ignore-not-found --wait=false --grace-period=0 : echo pod deleted"
}

# who uses odoo-data: deployment odoo (2 replicas, Kustomization flux-system/odoo),
# statefulset odoo-cron (1 replica, HelmRelease business/odoo-cron),
# deployment odoo-report (0 replicas, its template references the claim)
plan_users() {
  stub kubectl \
    "$K get pods -n business -o json : cat \"\$RF/pods.json\"" \
    "$K get deployments.apps,statefulsets.apps,replicasets.apps -n business -o json : cat \"\$RF/apps.json\"" \
    "$K get $HR odoo-cron -n business -o json : cat \"\$RF/helmrelease-odoo-cron.json\"" \
    "$K get $KS odoo -n flux-system -o json : cat \"\$RF/kustomization-odoo.json\""
  plan_writers
}

# nothing else writes to odoo-data: no CronJob mounts it, and KEDA is not installed
plan_writers() {
  stub kubectl \
    "$K get cronjobs.batch -n business -o json : cat \"\$FIXTURES/empty-list.json\"" \
    "$K get scaledobjects.keda.sh -n business -o json : echo 'error: the server doesn'\''t have a resource type \"scaledobjects\"' >&2; exit 1"
}

# --- the restore's record on the ReplicationSource (annotation volsync-ops/restore)

MARKER_PATH='/metadata/annotations/volsync-ops~1restore'

# plan_marker: the record is taken (a merge patch carrying the resourceVersion read); the
# patch sent is kept in $STUB_DIR/marker-patch.json
plan_marker() {
  stub kubectl \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type merge -p {\"metadata\":{\"resourceVersion\":\"482131\",\"annotations\":{\"volsync-ops/restore\":* -o json : printf '%s' \"\${@: -3:1}\" >\"\$STUB_DIR/marker-patch.json\"; render \"\$FIXTURES/rs-odoo-item.json\""
}

# marker_value: the record this run wrote (a JSON document)
marker_value() { jq -r '.metadata.annotations["volsync-ops/restore"]' "$STUB_DIR/marker-patch.json"; }

# plan_marker_removed: the record is removed, only while it is ours
plan_marker_removed() {
  stub kubectl \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type json -p *\"op\":\"remove\",\"path\":\"$MARKER_PATH\"* -o json : render \"\$FIXTURES/rs-odoo-item.json\""
}

# plan_marker_held: the record is set to held (kept in $STUB_DIR/marker-held.json)
plan_marker_held() {
  stub kubectl \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type json -p *\"op\":\"replace\",\"path\":\"$MARKER_PATH\"* -o json : printf '%s' \"\${@: -3:1}\" >\"\$STUB_DIR/marker-held.json\"; render \"\$FIXTURES/rs-odoo-item.json\""
}

# held_record: the record the held run left (the value of its replace op)
held_record() { jq -r '.[1].value' "$STUB_DIR/marker-held.json"; }

# plan_window: right before the ReplicationDestination, the source is read again (no backup since the listing)
plan_window() {
  stub kubectl \
    "$K get replicationsources.volsync.backube odoo-backup -n business -o json : jq '.items[0] | .spec.paused = true' \"\$STUB_DIR/rs.json\""
}

# the ReplicationSource is paused for the restore, and unpaused (guarded) after
plan_pause() {
  derived rs-odoo-item-paused "$FIXTURES/rs-odoo-item.json" '.spec.paused = true'
  stub kubectl \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type merge -p {\"spec\":{\"paused\":true}} -o json : render \"$REPLY\""
}

# the source copies with copyMethod Snapshot: VolSync's copy trigger holds its copies of the
# PVC during the restore, and is removed afterwards (with the status VolSync wrote meanwhile)
COPY_TRIGGER=volsync.backube/use-copy-trigger
plan_copies_held() {
  derived pvc-odoo-data-held "$RF/pvc-odoo-data.json" ".metadata.annotations[\"$COPY_TRIGGER\"] = \"held-by-volsync-ops-restore\""
  stub kubectl \
    "$K patch persistentvolumeclaims odoo-data -n business --type merge -p {\"metadata\":{\"annotations\":{\"$COPY_TRIGGER\":\"held-by-volsync-ops-restore\"}}} -o json : cat \"$REPLY\""
}
plan_copies_released() {
  derived pvc-odoo-data-held-status "$RF/pvc-odoo-data.json" ".metadata.annotations += {\"$COPY_TRIGGER\": \"held-by-volsync-ops-restore\", \"volsync.backube/latest-copy-status\": \"WaitingForTrigger\"}"
  stub kubectl \
    "$K get persistentvolumeclaims odoo-data -n business -o json : cat \"$REPLY\"" \
    "$K patch persistentvolumeclaims odoo-data -n business --type json -p * -o json : printf '%s' \"\${@: -3:1}\" >\"\$STUB_DIR/copies-released.json\"; cat \"\$RF/pvc-odoo-data.json\""
}

plan_unpause() {
  # (a JSON patch holds [ ], which a glob reads as a bracket expression: match its ops instead)
  stub kubectl \
    "$K patch replicationsources.volsync.backube odoo-backup -n business --type json -p *\"op\":\"test\",\"path\":\"/spec/paused\",\"value\":true*\"op\":\"remove\",\"path\":\"/spec/paused\"* -o json : render \"\$FIXTURES/rs-odoo-item.json\""
}

plan_suspend() {
  derived helmrelease-odoo-cron-suspended "$RF/helmrelease-odoo-cron.json" '.spec.suspend = true'
  local hr=$REPLY
  derived kustomization-odoo-suspended "$RF/kustomization-odoo.json" '.spec.suspend = true'
  stub kubectl \
    "$K patch $HR odoo-cron -n business --type merge -p * -o json : cat \"$hr\"" \
    "$K patch $KS odoo -n flux-system --type merge -p * -o json : cat \"$REPLY\""
}

plan_scale_down() {
  stub kubectl \
    "$K scale deployments.apps odoo -n business --current-replicas=2 --replicas=0 : echo deployment.apps/odoo scaled" \
    "$K scale statefulsets.apps odoo-cron -n business --current-replicas=1 --replicas=0 : echo statefulset.apps/odoo-cron scaled"
}

# the pods list as terminating, then the watch from that list sees them go
plan_pods_stop() {
  derived pods-stopping-deleted "$RF/pods-raw-stopping.json" -c '.items[:3][] | {type: "DELETED", object: .}'
  stub kubectl \
    "$K get --raw /api/v1/namespaces/business/pods : render \"\$RF/pods-raw-stopping.json\"" \
    "$KW get --raw /api/v1/namespaces/business/pods?watch=1&resourceVersion=91001 : render \"$REPLY\""
}

# plan_stuck_at_pods: a restore that gets as far as waiting for the pods to
# stop, whose pods never go (the watch hangs: interrupt it), and the clean-up
# of what it changed (no ReplicationDestination was made)
plan_stuck_at_pods() {
  plan_listing
  plan_users
  plan_marker
  plan_pause
  plan_copies_held
  plan_suspend
  plan_scale_down
  stub kubectl \
    "$K get --raw /api/v1/namespaces/business/pods : render \"\$RF/pods-raw-stopping.json\"" \
    "$KW get --raw /api/v1/namespaces/business/pods?watch=1&resourceVersion=91001 : exec sleep 30"
  plan_scale_back
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_removed
}

# the watch of the ReplicationDestination the script created
RD_WATCH="$KW get $RD -n business --output-watch-events --field-selector metadata.name=$RDN --watch -o json"

# plan_restore STATUS [SNAPSHOT]: create the ReplicationDestination, watch it to STATUS
# (and its mover Jobs, which change nothing here; and the namespace's pods, for the
# mover's progress and other pods on the PVC: the sync ends only once that watch runs)
plan_restore() {
  stub kubectl \
    "$K create -f - -o json : cat >\"\$STUB_DIR/rd.json\"; rd_object none" \
    "$RD_WATCH : rd_event ADDED none; rd_event MODIFIED syncing; wait_mark movers; rd_event MODIFIED $1 ${2:-}" \
    "$RESTORE_JOBS : exec sleep 30"
  plan_movers
}

# plan_movers [ANSWER]: the pods of the namespace while the mover restores (none; then ANSWER, default: nothing more)
plan_movers() {
  stub kubectl \
    "$K get --raw /api/v1/namespaces/business/pods : echo '{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"92500\"},\"items\":[]}'" \
    "$KW get --raw /api/v1/namespaces/business/pods?watch=1&resourceVersion=92500 : mark movers; ${1:-exec sleep 30}"
}

# mark / wait_mark: helpers/common.bash

# --- the mover Job of the restore: job-mover-dst.json is the Job VolSync
# v0.16.0 created for a ReplicationDestination on the e2e tier (API server 1.35;
# managedFields dropped), owned by the object rd_object returns, with the status
# the 1.35 Job controller writes; job-mover-dst-pods.json: two failed pods of it.
# Their recorded ReplicationDestination name is replaced by the one the script made.

RESTORE_JOBS="$KW get jobs.batch -n business --output-watch-events --selector app.kubernetes.io/created-by=volsync --watch -o json"
DST_JOB_UID=d9e8f7a6-b5c4-4d3e-9f2a-1b0c9d8e7f61

# dst_named FILE: the fixture with the ReplicationDestination's name the script created
dst_named() {
  render "$1" | sed "s/odoo-restore-20261126075500/$(jq -r .metadata.name "$STUB_DIR/rd.json")/g"
}

# dst_job_event TYPE FAILED: a watch event of the restore's mover Job after FAILED failed attempts
dst_job_event() {
  dst_named "$RF/job-mover-dst.json" | jq -c --arg type "$1" --argjson failed "$2" '{type: $type, object: (
    if $failed == 0 then . else
      .status = {failed: $failed, ready: 0, startTime: .status.startTime, terminating: 0, uncountedTerminatedPods: {}}
      | .metadata.resourceVersion = "921\($failed)0" end)}'
}
export -f dst_named dst_job_event
export DST_JOB_UID

EMPTY_LIST='{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"93000"},"items":[]}'
export EMPTY_LIST

# plan_delete_rd: the ReplicationDestination is stopped (paused: VolSync gives its Job
# parallelism 0), deleted in the background, and waited for until its Job and pods are gone
plan_delete_rd() {
  stub kubectl \
    "$K patch $RD $RDN -n business --type merge -p {\"spec\":{\"paused\":true}} -o json : rd_paused" \
    "$K get --raw /apis/batch/v1/namespaces/business/jobs?fieldSelector=metadata.name%3Dvolsync-dst-$RDN : echo \"\$EMPTY_LIST\"" \
    "$K delete $RD $RDN -n business --ignore-not-found --wait=false --cascade=background : echo replicationdestination.volsync.backube deleted" \
    "$K get --raw /apis/batch/v1/namespaces/business/jobs?fieldSelector=metadata.name%3Dvolsync-dst-$RDN : echo \"\$EMPTY_LIST\"" \
    "$K get --raw /api/v1/namespaces/business/pods?labelSelector=job-name%3Dvolsync-dst-$RDN : echo \"\$EMPTY_LIST\""
}

plan_scale_back() {
  stub kubectl \
    "$K scale statefulsets.apps odoo-cron -n business --current-replicas=0 --replicas=1 : echo statefulset.apps/odoo-cron scaled" \
    "$K scale deployments.apps odoo -n business --current-replicas=0 --replicas=2 : echo deployment.apps/odoo scaled"
}

plan_resume() {
  stub kubectl \
    "$K patch $KS odoo -n flux-system --type json -p * -o json : cat \"\$RF/kustomization-odoo.json\"" \
    "$K patch $HR odoo-cron -n business --type json -p * -o json : cat \"\$RF/helmrelease-odoo-cron.json\""
}

# everything up to the restore, and the whole clean-up after it
plan_until_restore() {
  plan_listing "$@"
  plan_users
  plan_marker
  plan_pause
  plan_copies_held
  plan_suspend
  plan_scale_down
  plan_pods_stop
  plan_window
}
plan_cleanup() {
  plan_delete_rd
  plan_scale_back
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_removed
}
# plan_cleanup_no_rd: the clean-up when no ReplicationDestination was made
plan_cleanup_no_rd() {
  plan_scale_back
  plan_resume
  plan_copies_released
  plan_unpause
  plan_marker_removed
}
# plan_held: the clean-up of a restore that stopped once its ReplicationDestination
# existed: only that is deleted; the app stays held, and the record says so
plan_held() {
  plan_delete_rd
  plan_marker_held
}

# call_number AFTER GLOB: the position (1-based) of the first kubectl call after
# call AFTER that matches GLOB
call_number() {
  local n=0 line
  while IFS= read -r line; do
    n=$((n + 1))
    ((n > $1)) && [[ $line == $2 ]] && { echo "$n"; return 0; }
  done < <(stub_calls kubectl)
  return 1
}

# assert_call_order GLOB...: kubectl calls matching each GLOB happened, in this order
assert_call_order() {
  local prev=0 n pattern
  for pattern in "$@"; do
    n=$(call_number "$prev" "$pattern") ||
      fail "no kubectl call matching this one after call $prev: $pattern"$'\n'"calls:"$'\n'"$(stub_calls kubectl)"
    prev=$n
  done
}

# the script run directly with the flags every test shares
restore() {
  script restore --kubeconfig "$KC" --cluster apps --app odoo "$@"
}

# assert_ends_with VALUE SUFFIX
assert_ends_with() {
  [[ $1 == *"$2" ]] || fail "expected the end of: $1"$'\n'"to be: $2"
}

# spawn_restore FLAGS...: the script as a terminal job (spawn_script), run the
# way the Taskfile runs it: one node process. (The tsx CLI is two processes: it
# relays a Ctrl-C to its child and SIGKILLs the child when the child does not
# acknowledge within 30 ms, which on a busy machine cuts the clean-up short.)
spawn_restore() {
  spawn_script restore --kubeconfig "$KC" --cluster apps --app odoo "$@"
}

# spawn_restore_task VAR=VALUE...: task volsync:restore as a terminal job
spawn_restore_task() {
  spawn_job bash -c 'cd "$ROOT" && exec task -x volsync:restore APP=odoo CLUSTER=apps KUBECONFIG="$1" "${@:2}"' _ "$KC" "$@"
}

# dst_reads [N]: the calls that read the log of N (default 1) failed attempts of
# the restore's mover Job: its pods, then the newest failed one's log
dst_reads() {
  local i
  for ((i = 0; i < ${1:-1}; i++)); do
    stub kubectl \
      "$K get pods -n business --selector batch.kubernetes.io/controller-uid=$DST_JOB_UID -o json : dst_named \"\$RF/job-mover-dst-pods.json\"" \
      "$K logs volsync-dst-$RDN-9wq4t -n business -c restic --tail=20 : cat \"\$FIXTURES/mover-restore-badpassword.log\""
  done
}

# dst_gone: the pods read once VolSync has deleted the Job (its pods are gone)
dst_gone() {
  stub kubectl "$K get pods -n business --selector batch.kubernetes.io/controller-uid=$DST_JOB_UID -o json : cat \"\$FIXTURES/empty-list.json\""
}
