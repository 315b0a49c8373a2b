#!/usr/bin/env bats
# task volsync:snapshot: trigger, wait, report, and hand the source back to its schedule.

setup() {
  load helpers/common
  load helpers/trigger
  load helpers/schedule
  common_setup
  use_source rs-odoo-item.json odoo-backup
  FIND="$K $RS_ALL"
  TRIGGER="$K patch $RSR odoo-backup -n business --type merge -p * -o json"
  WATCH="$KW get $RSR -n business --output-watch-events --field-selector metadata.name=odoo-backup --watch -o json"
  NO_JOBS=$(no_jobs)
  REMOVE=$(removal odoo-backup business)
}

# the report of a successful backup: the result, the new snapshot, and how long it is expected to be kept
assert_backed_up() {
  assert_equal "${#lines[@]}" 3
  assert_equal "${lines[0]}" "Backup of business/odoo-backup finished: Successful, took 1m13s."
  assert_equal "${lines[1]}" "New restic snapshot: 1a2b3c4d"
  assert_line --index 2 --regexp '^Snapshot 1a2b3c4d (is expected to be kept|is not expected to be forgotten) '
}

# the removal patch this run sent, if any
removal_sent() {
  stub_calls kubectl | grep -F -- '--type json' || true
}

# the JSON of the Nth trigger patch
patch_json() {
  awk -F'\t' -v n="${1:-1}" 'NR == n { print $2 }' "$STUB_DIR/patches"
}

@test "snapshot triggers the source, waits for its backup, reports the new snapshot and removes the trigger" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events TRIGGERED SYNCING DONE_OK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run_bracketed -0 --separate-stderr script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_backed_up
  # retain hourly 24, daily 7 and a backup every 8 hours: the 24th newer hour ends it
  # (the time and the wait exactly, whenever the test runs: helpers/schedule.bash)
  assert_backup_line 24 'Snapshot 1a2b3c4d is expected to be kept until the backup of %at (in %in), the 24th from now (restic forget --keep-hourly 24 --keep-daily 7; kept now as the hourly, daily snapshot).' "${lines[2]}"
  [[ $stderr != *'expected to make VolSync forget'* ]]
  # the merge patch sets nothing but a fresh token
  patch_json 1 | json_true '.spec | keys == ["trigger"] and (.trigger | keys == ["manual"])'
  [[ $(token odoo-backup) =~ ^volsync-ops-snapshot-[0-9]{8}T[0-9]{6}Z-[a-z0-9]{5}$ ]]
  # the removal is guarded by our token and the schedule
  [[ $(removal_sent) == *"\"value\":\"$(token odoo-backup)\""* ]]
  [[ $stderr == *"triggered business/odoo-backup: spec.trigger.manual = $(token odoo-backup)"* ]]
  [[ $stderr == *"clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed; scheduled backups resume (0 */8 * * *)"* ]]
}

@test "a snapshot that the next scheduled backup will make VolSync forget is reported with a warning and how to keep it" {
  # retain last 1: the next backup's forget keeps only itself
  KEEP_LAST_ONE='.spec.restic.retain = {"last": "1"}'
  stub kubectl \
    "$FIND : $(listed KEEP_LAST_ONE)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events TRIGGERED SYNCING DONE_OK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run_bracketed -0 --separate-stderr script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_backed_up
  assert_backup_line 1 'Snapshot 1a2b3c4d is expected to be kept until the backup of %at (in %in), the next one from now (restic forget --keep-last 1; kept now as the last snapshot).' "${lines[2]}"
  [[ $(grep -c '^warning: the next backup of business/odoo-backup, at ' <<<"$stderr") == 1 ]]
  assert_backup_line 1 'warning: the next backup of business/odoo-backup, at %at (in %in), is expected to make VolSync forget snapshot 1a2b3c4d (restic forget --keep-last 1 keeps the newer one instead). To keep it, hold the schedule now (docs/runbooks/volsync.md, "Keep a snapshot").' "$stderr"
}

@test "--output json says how long the new snapshot is expected to be kept" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events TRIGGERED SYNCING DONE_OK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run_bracketed -0 --separate-stderr script snapshot --kubeconfig "$KC" --cluster apps --app odoo --output json
  unstub kubectl
  json_true '.snapshot == "1a2b3c4d" and .keptBy == ["hourly snapshot", "daily snapshot"] and .expectedUntilBackups == 24' <<<"$output"
  assert_backup_line 24 '%iso' "$(jq -r .expectedUntil <<<"$output")"
}

@test "task volsync:snapshot passes APP, CLUSTER, NAMESPACE, KUBECONFIG and TIMEOUT to the script" {
  stub kubectl \
    "$K $(rs_in business) : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events DONE_OK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 run_task volsync:snapshot APP=odoo CLUSTER=apps NAMESPACE=business KUBECONFIG="$KC" TIMEOUT=5m
  unstub kubectl
  assert_line 'New restic snapshot: 1a2b3c4d'
}

@test "a sync that is already running is waited for first, so that its completion is not taken for ours" {
  # the scheduled sync ends; an event queued before our patch (older state)
  # arrives after it and must not be read as "someone removed our trigger"
  local QUEUED='.metadata.resourceVersion = "600000b"'
  stub kubectl \
    "$FIND : $(listed BUSY)" \
    "$WATCH : $(watch_events BUSY ENDED after-patch ENDED+QUEUED TRIGGERED DONE_OK)" \
    "$NO_JOBS" \
    "$TRIGGER : $(patched ENDED+TRIGGERED)" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line --regexp '^a sync of business/odoo-backup is already running \(started [0-9]+s ago\): waiting for it to end before triggering, so that its completion is not taken for ours$'
  assert_line 'the sync that was running on business/odoo-backup ended; triggering ours now'
  assert_line 'New restic snapshot: 1a2b3c4d'
}

@test "when the patch shows a sync that started just before it, that sync is waited for and the source is triggered again" {
  # the second patch's response, and the second sync's own snapshot
  local AGAIN='.metadata.resourceVersion = "600011"'
  local SECOND_SNAPSHOT='.status.latestMoverStatus.logs |= sub("1a2b3c4d"; "9e8d7c6b")'
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched RACED)" \
    "$WATCH : $(watch_events RACED DONE_FIRST after-patch:2 TRIGGERED+AGAIN SYNCING DONE_OK+SECOND_SNAPSHOT)" \
    "$NO_JOBS" \
    "$TRIGGER : $(patched TRIGGERED+AGAIN)" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line --partial 'a sync of business/odoo-backup started just before our trigger'
  assert_line 'the sync of business/odoo-backup that started before our trigger ended; triggering again for a backup of now'
  # the snapshot reported is the one of the second sync, not of the one that raced us
  assert_line 'New restic snapshot: 9e8d7c6b'
  refute_line --partial '1a2b3c4d'
  [[ $(token odoo-backup 1) != "$(token odoo-backup 2)" ]]
  # only the second token is removed
  [[ $(removal_sent) == *"\"value\":\"$(token odoo-backup 2)\""* ]]
}

@test "a mover that fails stops the wait: exit 1 with the mover log, and the trigger is removed" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events SYNCING FAILED_LOCKED)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'error: backup of business/odoo-backup: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)'
  assert_line 'The mover log:'
  assert_line '  unable to create lock in backend: repository is already locked exclusively by PID 27 on volsync-src-odoo-backup-x2k8p by  (UID 1000, GID 1000)'
  assert_line "The repository is locked: clear a stale lock with  task volsync:unlock APP=odoo CLUSTER=apps KUBECONFIG='$KC'"
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'
}

@test "a Failed left by the running sync is not news; a new failure of it ends the wait before anything is changed" {
  # the running sync had already failed (locked); the same Failed comes by
  # again (no news), then a retry fails differently: stop, no trigger set
  local AGAIN='.metadata.resourceVersion = "600005"'
  stub kubectl \
    "$FIND : $(listed FAILED_LOCKED)" \
    "$WATCH : $(watch_events FAILED_LOCKED FAILED_LOCKED+AGAIN FAILED_BADPASSWORD)" \
    "$NO_JOBS"
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line --regexp 'already running .*its mover failed before and VolSync is retrying \(unable to create lock in backend'
  assert_line 'error: backup of business/odoo-backup: the sync that was already running failed (VolSync keeps retrying it); no snapshot was triggered'
  assert_line '  ERROR: failure connecting to repository, incorrect password'
  refute_line --partial 'clean-up:'
}

@test "a Failed left by the running sync does not stop a snapshot that follows once that sync succeeds" {
  stub kubectl \
    "$FIND : $(listed FAILED_LOCKED)" \
    "$WATCH : $(watch_events FAILED_LOCKED ENDED after-patch TRIGGERED DONE_OK)" \
    "$NO_JOBS" \
    "$TRIGGER : $(patched ENDED+TRIGGERED)" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'New restic snapshot: 1a2b3c4d'
}

@test "an empty source directory is a success without a new snapshot, and says so" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events DONE_EMPTY)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'Backup of business/odoo-backup finished: Successful, took 1m13s.'
  assert_line 'warning: the source directory of business/odoo-backup was empty: VolSync skipped the backup, so NO new snapshot was taken'
  refute_line --partial 'New restic snapshot'
}

@test "a source with neither schedule nor manual trigger (it syncs continuously) is triggered at once and left without a manual trigger again" {
  # VolSync syncs it one sync after the other: a sync always runs. Ours is set
  # at once; the running sync completes with it (not a backup of now), so the
  # source is triggered again; afterwards our trigger goes, continuous syncing resumes
  local free='del(.spec.trigger.schedule)'
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup \"$free | \$BUSY\"" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"$free | \$RACED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"$free | \$RACED\"; event MODIFIED rs-odoo-item.json odoo-backup \"$free | \$DONE_FIRST\"; wait_patch odoo-backup 2; event MODIFIED rs-odoo-item.json odoo-backup \"$free | \$TRIGGERED | .metadata.resourceVersion = \\\"600011\\\"\"; event MODIFIED rs-odoo-item.json odoo-backup \"$free | \$SYNCING\"; event MODIFIED rs-odoo-item.json odoo-backup \"$free | \$DONE_OK\"; exec sleep 30" \
    "$NO_JOBS" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"$free | \$TRIGGERED | .metadata.resourceVersion = \\\"600011\\\"\"" \
    "$(removal_continuous odoo-backup business) : rs rs-odoo-item.json odoo-backup '$free | del(.spec.trigger.manual)'"
  run -0 --separate-stderr script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_backed_up
  [[ $stderr == *'business/odoo-backup has neither a schedule nor a manual trigger: VolSync syncs it continuously.'* ]]
  [[ $stderr != *'already running'* ]]
  [[ $stderr == *"clean-up: remove the manual trigger of business/odoo-backup (it syncs continuously again): removed; the source has no schedule: VolSync syncs it continuously again, as before"* ]]
  # the removal is guarded by our second token only (no schedule to test)
  [[ $(removal_sent) == *"\"value\":\"$(token odoo-backup 2)\"},{\"op\":\"remove\""* ]]
}

@test "a parked source (a manual trigger set on purpose) gets its value back while our sync runs: no further sync starts" {
  # VolSync syncs when manual != lastManualSync: putting "hold" back after our
  # sync would start another one, so it is put back while ours runs (guarded by
  # that sync's start time), and the sync's completion records it
  export HOLD='.spec.trigger.manual = "hold" | .status.lastManualSync = "hold"'
  # the put-back's answer and the event after it are one object (resourceVersion 600005): the same
  # lastSyncTime, whenever each is rendered (@NOW-2h@ can fall on two seconds: a "new" lastSyncTime)
  export PUT='.spec.trigger.manual = "hold" | .metadata.resourceVersion = "600005" | .status.lastSyncTime = "2026-11-30T22:00:00Z"'
  export DONE_HELD='.spec.trigger.manual = "hold" | .status.lastManualSync = "hold" | .metadata.resourceVersion = "600006"
    | .status.lastSyncTime = "2999-01-01T00:00:00Z" | .status.lastSyncDuration = "1m12.5s" | del(.status.lastSyncStartTime)
    | .status.latestMoverStatus = {logs: ($ok | rtrimstr("\n")), result: "Successful"}'
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup \"\$HOLD\"" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$HOLD | \$TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$HOLD | \$TRIGGERED\"; event MODIFIED rs-odoo-item.json odoo-backup \"\$HOLD | \$SYNCING\"; wait_mark put; event MODIFIED rs-odoo-item.json odoo-backup \"\$HOLD | \$SYNCING | \$PUT\"; event MODIFIED rs-odoo-item.json odoo-backup \"\$DONE_HELD\"; exec sleep 30" \
    "$NO_JOBS" \
    "$(put_back odoo-backup business hold) : mark put; rs rs-odoo-item.json odoo-backup \"\$HOLD | \$SYNCING | \$PUT\""
  run -0 --separate-stderr script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_backed_up
  [[ $stderr == *'business/odoo-backup has a manual trigger set ("hold"), so its schedule is ignored: this run puts it back while its own sync runs'* ]]
  [[ $stderr == *'business/odoo-backup: spec.trigger.manual is "hold" again (put back while our sync runs: its completion records it)'* ]]
  [[ $stderr == *'clean-up: put back spec.trigger.manual "hold" of business/odoo-backup: put back while our sync ran: its completion records "hold", so no further sync starts'* ]]
  # the put-back was guarded by our token and by the start of the sync it rode on
  stub_calls kubectl | grep -F -- "--type json" | grep -qE '\{"op":"test","path":"/status/lastSyncStartTime","value":"20[0-9-]{8}T[0-9:]{8}Z"\}' ||
    fail "the put-back was not guarded by the running sync's start: $(stub_calls kubectl | grep -F -- '--type json')"
}

@test "a parked source whose sync never started (VolSync stopped): TIMEOUT puts the value back at once, and says no sync ran" {
  export HOLD='.spec.trigger.manual = "hold" | .status.lastManualSync = "hold"'
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup \"\$HOLD\"" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$HOLD | \$TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$HOLD | \$TRIGGERED\"; exec sleep 30" \
    "$NO_JOBS" \
    "$K patch $RSR odoo-backup -n business --type json -p \\[{\"op\":\"test\",\"path\":\"/spec/trigger/manual\",\"value\":\"volsync-ops-*\"},{\"op\":\"test\",\"path\":\"/status/lastSyncStartTime\",\"value\":null},{\"op\":\"test\",\"path\":\"/status/lastManualSync\",\"value\":\"hold\"},{\"op\":\"replace\",\"path\":\"/spec/trigger/manual\",\"value\":\"hold\"}\\] -o json : rs rs-odoo-item.json odoo-backup \"\$HOLD\""
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo --timeout 2s
  unstub kubectl
  assert_line 'clean-up: put back spec.trigger.manual "hold" of business/odoo-backup: put back; no sync of ours had started, so the source is as it was'
  assert_line 'error: timed out after 2s waiting for the snapshot of business/odoo-backup'
  assert_line "VolSync had not started the sync for our trigger (token $(token odoo-backup)) when waiting stopped (is its controller running?). No sync ran for it, and none will: the trigger is gone again. spec.trigger.manual is \"hold\" again, as found."
  refute_line --partial 'completes it on its own'
}

@test "a trigger changed by someone else while waiting is left alone, and the run says so" {
  local THEIRS='.spec.trigger.manual = "theirs"' AGAIN='.metadata.resourceVersion = "600007"'
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events SYNCING SYNCING+THEIRS+AGAIN)" \
    "$NO_JOBS" \
    "$REMOVE : $REFUSED" \
    "$K get $RSR odoo-backup -n business -o json : rs rs-odoo-item.json odoo-backup '.spec.trigger.manual = \"theirs\"'"
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'error: backup of business/odoo-backup: someone else changed spec.trigger.manual to "theirs" while waiting'
  assert_line 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): left alone: spec.trigger.manual now holds "theirs", set by someone else: left as it is'
  refute_line --partial 'The clean-up is incomplete'
}

@test "a removal the API server refuses while the source still holds our token is reported as incomplete, with the command" {
  # the same 422 "The request is invalid" with nothing changed on the source:
  # not a refused guard (read again, the plan is the same patch), so not "left alone"
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$DONE_OK\"; exec sleep 30" \
    "$NO_JOBS" \
    "$REMOVE : $REFUSED" \
    "$K get $RSR odoo-backup -n business -o json : rs rs-odoo-item.json odoo-backup \"\$DONE_OK\"" \
    "$REMOVE : $REFUSED" \
    "$K get $RSR odoo-backup -n business -o json : rs rs-odoo-item.json odoo-backup \"\$DONE_OK\""
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  refute_line --partial 'left alone'
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): FAILED: kubectl patch'
  assert_line 'error: The clean-up is incomplete. Finish it by hand, in this order:'
}

@test "a manual trigger an earlier run of this tool left beside the schedule is replaced, then removed so the schedule applies again" {
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup '.spec.trigger.manual = \"volsync-ops-snapshot-20261120T101500Z-q2w3e\"'" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$DONE_OK\"; exec sleep 30" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'business/odoo-backup had a manual trigger of an earlier run of this tool left set ("volsync-ops-snapshot-20261120T101500Z-q2w3e"), so its schedule was being ignored; this run replaces it and removes it afterwards'
  assert_line --partial 'removed; scheduled backups resume'
}

@test "TIMEOUT ends the wait with exit 1 and removes the trigger" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events SYNCING)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo --timeout 2s
  unstub kubectl
  assert_line 'error: timed out after 2s waiting for the snapshot of business/odoo-backup'
  assert_line "Our sync (token $(token odoo-backup)) was running when waiting stopped; VolSync completes it on its own. Its trigger was removed: the schedule applies again."
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'
}

@test "an API server that goes away mid-wait is a clear error, and the clean-up it blocks is printed to finish by hand" {
  local gone="echo 'Unable to connect to the server: dial tcp 10.0.0.1:6443: connect: connection refused' >&2; exit 1"
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events SYNCING end); $gone" \
    "$WATCH : sleep 0.3; $gone" \
    "$WATCH : sleep 0.3; $gone" \
    "$(jobs_watch) : $gone" \
    "$(jobs_watch) : $gone" \
    "$(jobs_watch) : $gone" \
    "$REMOVE : $gone" \
    "$REMOVE : $gone"
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'error: lost contact with the cluster while waiting for the snapshot of business/odoo-backup (3 watches failed in a row)'
  # the jobs watch lost contact too: reopened with each watch of the source, and no "cannot watch" note
  refute_line --partial 'cannot watch'
  assert_line --partial 'Unable to connect to the server: dial tcp 10.0.0.1:6443'
  assert_line 'error: The clean-up is incomplete. Finish it by hand, in this order:'
  assert_line '  # remove the manual trigger of business/odoo-backup (its schedule applies again)'
  # the printed command removes exactly our token, guarded, on the same cluster
  local t
  t=$(token odoo-backup)
  assert_line "  kubectl --kubeconfig '$KC' patch replicationsources.volsync.backube odoo-backup -n business --type json -p '[{\"op\":\"test\",\"path\":\"/spec/trigger/manual\",\"value\":\"$t\"},{\"op\":\"test\",\"path\":\"/spec/trigger/schedule\",\"value\":\"0 */8 * * *\"},{\"op\":\"remove\",\"path\":\"/spec/trigger/manual\"}]'"
}

@test "every kubectl and task line a failed snapshot prints carries the run's kubeconfig (a path with a space) and reads the same in sh" {
  # the mover Job fails all its attempts and its log cannot be read (VolSync
  # deleted it): the error says where VolSync keeps the log; the trigger
  # removal fails: the clean-up says how to finish it by hand
  local broken="echo 'Error from server (InternalError): an error on the server has prevented the request from succeeding' >&2; exit 1"
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events SYNCING)" \
    "$(jobs_watch) : $(job_events ADDED running failed:8)" \
    "$REMOVE : $broken" \
    "$K get $RSR odoo-backup -n business -o json : $broken" \
    "$REMOVE : $broken" \
    "$K get $RSR odoo-backup -n business -o json : $broken"
  gone_reads odoo-backup
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo --timeout 20s
  unstub kubectl
  assert_line --partial 'failed 8 of 8 attempts; VolSync keeps retrying this sync with a new Job; stopped waiting); its log could not be read here'
  assert_line '  # remove the manual trigger of business/odoo-backup (its schedule applies again)'
  # the commands: where the log is, the clean-up by hand, the follow-ups
  local commands line words
  commands=$({
    sed -n 's/.*VolSync records it in status.latestMoverStatus.logs: //p' <<<"$output"
    grep -E '^ *kubectl ' <<<"$output" | sed 's/^ *//'
    grep -o 'task volsync:.*' <<<"$output"
  })
  [[ $(grep -c '^kubectl ' <<<"$commands") == 2 ]] || fail "expected two kubectl lines: $commands"
  [[ $(grep -c '^task ' <<<"$commands") == 1 ]] || fail "expected one task line: $commands"
  while IFS= read -r line; do
    sh -n -c "$line" || fail "sh cannot read: $line"
    # the words sh makes of it: kubectl --kubeconfig <the path>, or task ... KUBECONFIG=<the path> last
    words=$(sh -c "set -- $line; printf '%s\n' \"\$@\"")
    case $line in
      kubectl*) [[ $(sed -n 2p <<<"$words") == --kubeconfig && $(sed -n 3p <<<"$words") == "$KC" ]] || fail "not this run's kubeconfig: $line" ;;
      task*) [[ $(tail -n 1 <<<"$words") == "KUBECONFIG=$KC" ]] || fail "not this run's kubeconfig: $line" ;;
    esac
  done <<<"$commands"
}

@test "a paused source is refused before anything is changed" {
  stub kubectl "$FIND : $(listed PAUSED)"
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'error: business/odoo-backup is paused (spec.paused is true): no sync can run until it is unpaused. Nothing was changed.'
  assert_line "  kubectl --kubeconfig '$KC' patch replicationsources.volsync.backube odoo-backup -n business --type merge -p '{\"spec\":{\"paused\":false}}'"
}

@test "a source HELD by an unfinished restore is refused with the resume command, not the unpause one; nothing is changed" {
  # the record a restore leaves on the source when it stops half way (lib/restore/marker.ts)
  local record='{"v":1,"token":"volsync-ops-restore-20261126T040000Z-abcde","state":"held","started":"2026-11-26T04:00:00Z","by":"ops@laptop","snapshot":{"id":"7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1","time":"2026-11-25T20:00:05Z"},"destination":"odoo-restore-20261126040000","pvc":"odoo-data","reason":"it stopped before its mover finished: interrupted","hold":{"paused":null,"copyTrigger":[],"flux":[],"cronJobs":[],"scaledObjects":[],"workloads":[]}}'
  local HELD
  printf -v HELD '.spec.paused = true | .metadata.annotations["volsync-ops/restore"] = %s' "$(jq -Rn --arg r "$record" '$r')"
  stub kubectl "$FIND : $(listed HELD)"
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'error: business/odoo-backup is HELD by an unfinished restore (spec.paused is true): no backup runs until the app is given back. Nothing was changed.'
  assert_line --regexp '^the restore of snapshot 7c2d9e41 started 2026-11-26 04:00:00 UTC by ops@laptop \(ReplicationDestination odoo-restore-20261126040000\) stopped \(it stopped before its mover finished: interrupted\)\.$'
  assert_line "  task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps KUBECONFIG='$KC'"
  refute_line --partial '"paused":false'
}

@test "--output json prints the outcome alone on stdout" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events DONE_OK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 --separate-stderr script snapshot --kubeconfig "$KC" --cluster apps --app odoo --output json
  unstub kubectl
  echo "$output" | json_true '.cluster == "apps" and .namespace == "business" and .name == "odoo-backup"
    and .result == "ok" and .snapshot == "1a2b3c4d" and .durationSeconds == 73 and .trigger == "removed"'
}

# --- VolSync's errors: the Synchronizing condition with reason Error

@test "an error VolSync keeps reporting (the PVC is gone) is shown as it appears and ends the wait after ERROR_GRACE: exit 1, trigger removed" {
  # no event comes after the error: the wait must wake by itself once the grace is over
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$TRIGGERED\"; event MODIFIED rs-odoo-item.json odoo-backup \"\$TRIGGERED | \$NO_PVC\"; exec sleep 30" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  SECONDS=0
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo --error-grace 3s --timeout 25s
  unstub kubectl
  ((SECONDS < 20)) || fail "the wait ran out the clock (${SECONDS}s)"
  assert_line 'business/odoo-backup: VolSync reports an error: PersistentVolumeClaim "odoo-data" not found (it retries; waiting stops if the error lasts 3s)'
  assert_line --regexp '^error: backup of business/odoo-backup: VolSync reports an error for [3-9]s: PersistentVolumeClaim "odoo-data" not found \(VolSync keeps retrying this sync; stopped waiting\)$'
  assert_line 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed; scheduled backups resume (0 */8 * * *)'
  refute_line --partial 'timed out'
}

@test "task volsync:snapshot passes ERROR_GRACE; an error that clears within it does not end the wait" {
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$TRIGGERED | \$NO_PVC\"; sleep 1; event MODIFIED rs-odoo-item.json odoo-backup \"\$SYNCING | .metadata.resourceVersion = \\\"600009\\\"\"; sleep 5; event MODIFIED rs-odoo-item.json odoo-backup \"\$DONE_OK\"; exec sleep 30" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 run_task volsync:snapshot APP=odoo CLUSTER=apps KUBECONFIG="$KC" ERROR_GRACE=4s
  unstub kubectl
  assert_line 'business/odoo-backup: VolSync reports an error: PersistentVolumeClaim "odoo-data" not found (it retries; waiting stops if the error lasts 4s)'
  assert_line 'business/odoo-backup: VolSync no longer reports an error'
  assert_line 'New restic snapshot: 1a2b3c4d'
}

@test "a running sync that VolSync cannot go on with ends the wait after ERROR_GRACE, before anything is changed" {
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup \"\$NO_PVC\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$NO_PVC\"; exec sleep 30" \
    "$NO_JOBS"
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo --error-grace 2s --timeout 25s
  unstub kubectl
  assert_line --regexp '^error: backup of business/odoo-backup: the sync that was already running cannot go on: VolSync reports an error for [2-9]s: PersistentVolumeClaim "odoo-data" not found \(VolSync keeps retrying it\); no snapshot was triggered$'
  refute_line --partial 'clean-up:'
  [[ ! -f $STUB_DIR/patches ]]
}

@test "TIMEOUT when VolSync never starts the sync (its controller is down) says so: no sync ran, the trigger is removed" {
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$TRIGGERED\"; exec sleep 30" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo --timeout 2s
  unstub kubectl
  assert_line 'error: timed out after 2s waiting for the snapshot of business/odoo-backup'
  assert_line "VolSync had not started the sync for our trigger (token $(token odoo-backup)) when waiting stopped (is its controller running?). No sync ran for it, and none will: the trigger is gone again. Its trigger was removed: the schedule applies again."
  refute_line --partial 'completes it on its own'
  refute_line --partial 'had not finished'
}

# --- Ctrl-C: SIGINT to the whole process group, as a terminal sends it

@test "Ctrl-C while waiting for a running sync changes nothing and exits 130" {
  stub kubectl \
    "$FIND : $(listed BUSY)" \
    "$WATCH : $(watch_events BUSY)" \
    "$NO_JOBS"
  spawn_script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  interrupt_at "$WATCH"
  unstub kubectl
  assert_equal "$status" 130
  assert_line 'interrupted while waiting for the snapshot of business/odoo-backup'
  [[ -z $(removal_sent) ]]
}

@test "Ctrl-C while waiting for our sync removes the trigger, says the running sync completes on its own, and exits 130" {
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$TRIGGERED\"; event MODIFIED rs-odoo-item.json odoo-backup \"\$SYNCING\"; mark syncing; exec sleep 30" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  spawn_script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  wait_mark syncing
  interrupt_at "$WATCH"
  unstub kubectl
  assert_equal "$status" 130
  assert_line 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed; scheduled backups resume (0 */8 * * *)'
  assert_line "Our sync (token $(token odoo-backup)) was running when waiting stopped; VolSync completes it on its own. Its trigger was removed: the schedule applies again."
  assert_line 'interrupted while waiting for the snapshot of business/odoo-backup'
  [[ $(removal_sent) == *"\"value\":\"$(token odoo-backup)\""* ]]
}

@test "Ctrl-C through task while waiting for our sync removes the trigger and exits 130" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events SYNCING)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  spawn_job bash -c 'cd "$ROOT" && exec task -x volsync:snapshot APP=odoo CLUSTER=apps KUBECONFIG="$1"' _ "$KC"
  interrupt_at "$WATCH"
  unstub kubectl
  assert_equal "$status" 130
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'
}

@test "Ctrl-C through task while waiting for a running sync changes nothing and exits 130" {
  stub kubectl \
    "$FIND : $(listed BUSY)" \
    "$WATCH : $(watch_events BUSY)" \
    "$NO_JOBS"
  spawn_job bash -c 'cd "$ROOT" && exec task -x volsync:snapshot APP=odoo CLUSTER=apps KUBECONFIG="$1"' _ "$KC"
  interrupt_at "$WATCH"
  unstub kubectl
  assert_equal "$status" 130
  [[ -z $(removal_sent) ]]
}

@test "Ctrl-C while the trigger patch is in flight lets it finish, then removes the trigger and exits 130" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched sleep:2 TRIGGERED)" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  spawn_script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  wait_for_call kubectl "$TRIGGER"
  interrupt_job
  wait_job
  unstub kubectl
  assert_equal "$status" 130
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'
}

@test "three Ctrl-C during the trigger patch abandon the clean-up but print the command that finishes it" {
  # the undo is registered BEFORE the patch: even abandoned, it is known
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched sleep:3 TRIGGERED)"
  # as the Taskfile runs it (one node process): the tsx CLI would relay (and may repeat) each signal
  spawn_script snapshot --kubeconfig "$KC" --cluster apps --app odoo
  wait_for_call kubectl "$TRIGGER"
  interrupt_job
  sleep 0.3
  interrupt_job
  sleep 0.3
  interrupt_job
  wait_job
  unstub kubectl
  assert_equal "$status" 130
  assert_line 'The clean-up is incomplete. Finish it by hand, in this order:'
  assert_line --partial "patch replicationsources.volsync.backube odoo-backup -n business --type json -p '[{\"op\":\"test\",\"path\":\"/spec/trigger/manual\",\"value\":\"$(token odoo-backup)\"}"
}

# --- the mover Job: failed attempts as they happen, and its backoffLimit

@test "each failed attempt of the mover is reported as it happens, with the end of its log" {
  # the first two attempts find the repository locked by a live prune; the third backs up
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events SYNCING after-reads:2 sleep:0.3 DONE_OK)" \
    "$(jobs_watch) : $(job_events ADDED running failed:1 running:1 failed:2 running:2)" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  attempt_reads odoo-backup mover-backup-live-lock.log 2
  run -0 --separate-stderr script snapshot --kubeconfig "$KC" --cluster apps --app odoo --timeout 20s
  unstub kubectl
  [[ $stderr == *"business/odoo-backup: mover attempt 1 of 8 failed; VolSync retries it (it reports Failed after 8). Its log ends:
    unable to create lock in backend: repository is already locked exclusively by PID 4121 on nas-01 by backup (UID 1000, GID 1000)
"* ]]
  [[ $stderr == *'business/odoo-backup: mover attempt 2 of 8 failed; VolSync retries it (it reports Failed after 8); same log as the attempt before'* ]]
  assert_backed_up
  # the log read is the newest failed pod's (by its finish time, not its name)
  stub_calls kubectl | grep -Fx -- "$K logs volsync-src-odoo-backup-f2j87 -n business -c restic --tail=20"
}

@test "a running sync whose mover keeps failing exactly as before ends the wait at its next backoff, before anything is changed" {
  # the scheduled sync fails on a wrong password, round after round: VolSync's
  # Failed record is the same each time, so the source never changes; only its
  # mover Job shows the round ending (attempts before the wait began are not news)
  stub kubectl \
    "$FIND : $(listed FAILED_BADPASSWORD+UNTRIGGERED)" \
    "$WATCH : $(watch_events FAILED_BADPASSWORD+UNTRIGGERED)" \
    "$(jobs_watch) : $(job_events ADDED failed:6 running:6 failed:7 running:7 failed:8)"
  attempt_reads odoo-backup mover-backup-badpassword.log
  gone_reads odoo-backup
  run -1 script snapshot --kubeconfig "$KC" --cluster apps --app odoo --timeout 20s
  unstub kubectl
  assert_line "business/odoo-backup: the running sync's mover attempt 7 of 8 failed; VolSync retries it (it reports Failed after 8). Its log ends:"
  refute_line --partial 'attempt 6'
  assert_line 'error: backup of business/odoo-backup: the sync that was already running failed again (its mover Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying it); no snapshot was triggered'
  # the Job and its pods are gone by then: the log shown is the last one read
  assert_line 'The mover log:'
  assert_line '  ERROR: failure connecting to repository, incorrect password'
  refute_line --partial 'clean-up:'
  [[ ! -f $STUB_DIR/patches ]]
}

@test "a mover Job that had used up its attempts before the wait began is not news" {
  # VolSync was restarting: the running sync's Job went past its backoffLimit
  # (the Job controller marked it Failed) before the wait; VolSync then deletes
  # it, the new Job backs up (the Secret was fixed), that sync ends, ours runs
  local RECOVERED='.status.latestMoverStatus = {logs: ($ok | rtrimstr("\n")), result: "Successful"}'
  stub kubectl \
    "$FIND : $(listed FAILED_BADPASSWORD+UNTRIGGERED)" \
    "$WATCH : $(watch_events FAILED_BADPASSWORD+UNTRIGGERED after-mark:jobs sleep:0.3 ENDED+RECOVERED after-patch TRIGGERED DONE_OK)" \
    "$(jobs_watch) : $(job_events ADDED exhausted DELETED exhausted ADDED running@5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f mark:jobs)" \
    "$TRIGGER : $(patched ENDED+RECOVERED+TRIGGERED)" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 script snapshot --kubeconfig "$KC" --cluster apps --app odoo --timeout 20s
  unstub kubectl
  refute_line --partial 'failed again'
  refute_line --partial 'attempt'
  assert_line 'the sync that was running on business/odoo-backup ended; triggering ours now'
  assert_line 'New restic snapshot: 1a2b3c4d'
}

@test "a jobs watch the cluster forbids is a one-line note: the wait goes on, on the source alone" {
  local forbidden="mark forbidden; echo 'Error from server (Forbidden): jobs.batch is forbidden: User \"oncall@example.com\" cannot list resource \"jobs\" in API group \"batch\" in the namespace \"business\"' >&2; exit 1"
  # the first watch of the source ends (as servers end watches): the second one
  # comes without another try at the jobs watch
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched TRIGGERED)" \
    "$WATCH : $(watch_events SYNCING after-mark:forbidden sleep:0.3 end)" \
    "$WATCH : $(watch_events DONE_OK)" \
    "$(jobs_watch) : $forbidden" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 --separate-stderr script snapshot --kubeconfig "$KC" --cluster apps --app odoo --timeout 20s
  unstub kubectl
  assert_backed_up
  [[ $stderr == *$'\n''note: cannot watch VolSync'\''s mover Jobs (Error from server (Forbidden): jobs.batch is forbidden: User "oncall@example.com" cannot list resource "jobs" in API group "batch" in the namespace "business"); waiting on the status alone, which shows a failing mover only once VolSync records a Failed that differs from the last one'$'\n'* ]]
  [[ $(grep -c 'cannot watch' <<<"$stderr") == 1 ]]
}
