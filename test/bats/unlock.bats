#!/usr/bin/env bats
# task volsync:unlock: restic unlock runs inside a sync, so set the unlock and a trigger in one patch.

setup() {
  load helpers/common
  load helpers/trigger
  common_setup
  use_source rs-odoo-item.json odoo-backup
  FIND="$K $RS_ALL"
  TRIGGER="$K patch $RSR odoo-backup -n business --type merge -p * -o json"
  WATCH="$KW get $RSR -n business --output-watch-events --field-selector metadata.name=odoo-backup --watch -o json"
  NO_JOBS=$(no_jobs)
  REMOVE=$(removal odoo-backup business)
}

@test "unlock sets spec.restic.unlock and a manual trigger in one patch, waits for both, reports and removes the trigger" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched UNLOCK_TRIGGERED)" \
    "$WATCH : $(watch_events UNLOCK_TRIGGERED UNLOCK_TRIGGERED+SYNCING DONE_UNLOCK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 --separate-stderr script unlock --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  local t
  t=$(token odoo-backup)
  [[ $t =~ ^volsync-ops-unlock-[0-9]{8}T[0-9]{6}Z-[a-z0-9]{5}$ ]]
  awk -F'\t' '{ print $2 }' "$STUB_DIR/patches" | json_true --arg t "$t" '. == {spec: {trigger: {manual: $t}, restic: {unlock: $t}}}'
  assert_line "Unlocked business/odoo-backup: the sync that ran \`restic unlock\` finished in 1m13s (status.restic.lastUnlocked = $t)."
  assert_line 'restic removed 1 stale lock(s).'
  assert_line 'The backup that followed saved snapshot 5e6f7a8b.'
  [[ $stderr == *"triggered business/odoo-backup: spec.restic.unlock and spec.trigger.manual = $t"* ]]
  [[ $stderr == *'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'* ]]
}

@test "task volsync:unlock runs the unlock" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched UNLOCK_TRIGGERED)" \
    "$WATCH : $(watch_events DONE_UNLOCK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 run_task volsync:unlock APP=odoo CLUSTER=apps KUBECONFIG="$KC"
  unstub kubectl
  assert_line 'restic removed 1 stale lock(s).'
}

@test "a sync stuck on a failed mover gets the unlock at once; its old Failed is not taken for a new failure" {
  # the running sync has failed on the lock (Failed, VolSync retrying): the
  # unlock joins it; the same Failed comes by again while VolSync restarts
  # the mover with `restic unlock`, then the sync finishes
  local AGAIN='.metadata.resourceVersion = "600005"'
  stub kubectl \
    "$FIND : $(listed FAILED_LOCKED)" \
    "$TRIGGER : $(patched FAILED_LOCKED+UNLOCK_TRIGGERED)" \
    "$WATCH : $(watch_events FAILED_LOCKED+UNLOCK_TRIGGERED FAILED_LOCKED+UNLOCK_TRIGGERED+AGAIN DONE_UNLOCK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 script unlock --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'a sync of business/odoo-backup is running and its mover has failed: the unlock joins it (VolSync restarts its mover with `restic unlock` first)'
  assert_line 'restic removed 1 stale lock(s).'
}

@test "a lock held by a live process survives the unlock: exit 1 with the mover log and why, trigger removed" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched UNLOCK_TRIGGERED)" \
    "$WATCH : $(watch_events UNLOCK_TRIGGERED+SYNCING UNLOCK_TRIGGERED+FAILED_LIVELOCK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -1 script unlock --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'error: unlock of business/odoo-backup: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)'
  assert_line '  unable to create lock in backend: repository is already locked exclusively by PID 4121 on nas-01 by backup (UID 1000, GID 1000)'
  assert_line --partial 'The repository is still locked: `restic unlock` removes stale locks only; a lock held by a live process'
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'
}

@test "a sync that finishes without recording the unlock is a failure" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched UNLOCK_TRIGGERED)" \
    "$WATCH : $(watch_events DONE_OK)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -1 script unlock --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'error: unlock of business/odoo-backup: the sync finished without recording the unlock (status.restic.lastUnlocked is "")'
}

@test "Ctrl-C during the unlock removes the trigger and exits 130" {
  stub kubectl \
    "$FIND : $(listed)" \
    "$TRIGGER : $(patched UNLOCK_TRIGGERED)" \
    "$WATCH : $(watch_events UNLOCK_TRIGGERED+SYNCING)" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  spawn_job bash -c 'cd "$ROOT" && exec task -x volsync:unlock APP=odoo CLUSTER=apps KUBECONFIG="$1"' _ "$KC"
  interrupt_at "$WATCH"
  unstub kubectl
  assert_equal "$status" 130
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'
}

@test "the unlock's --help explains that only stale locks are removed" {
  run -0 script unlock --help
  assert_line --partial 'Plain `restic unlock` removes STALE locks only'
  assert_line --partial 'never uses --remove-all'
  unstub kubectl
}

# --- the mover Job

@test "an unlock whose mover fails all 8 attempts exactly as the last Failed did exits 1 with the log, and the trigger is removed" {
  # a lock held by a live process: the first unlock failed on it, and so does
  # this one; VolSync's Failed record is byte-identical, so the source never
  # changes while waiting: only the mover Job shows the 8 attempts failing
  stub kubectl \
    "$FIND : $(listed FAILED_LIVELOCK)" \
    "$TRIGGER : $(patched FAILED_LIVELOCK+UNLOCK_TRIGGERED)" \
    "$WATCH : $(watch_events FAILED_LIVELOCK+UNLOCK_TRIGGERED)" \
    "$(jobs_watch) : $(job_events ADDED running retried:7 failed:8 DELETED failed:8)" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  attempt_reads odoo-backup mover-unlock-live-lock.log 7
  gone_reads odoo-backup
  run -1 script unlock --kubeconfig "$KC" --cluster apps --app odoo --timeout 30s
  unstub kubectl
  assert_line 'business/odoo-backup: mover attempt 1 of 8 failed; VolSync retries it (it reports Failed after 8). Its log ends:'
  assert_line '    unable to create lock in backend: repository is already locked exclusively by PID 4121 on nas-01 by backup (UID 1000, GID 1000)'
  assert_line 'business/odoo-backup: mover attempt 7 of 8 failed; VolSync retries it (it reports Failed after 8); same log as the attempt before'
  assert_line 'error: unlock of business/odoo-backup: the mover failed (Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying this sync with a new Job; stopped waiting)'
  assert_line 'The mover log:'
  assert_line '  unlock backup'
  assert_line '  unable to create lock in backend: repository is already locked exclusively by PID 4121 on nas-01 by backup (UID 1000, GID 1000)'
  assert_line --partial 'The repository is still locked: `restic unlock` removes stale locks only'
  assert_line 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed; scheduled backups resume (0 */8 * * *)'
}

@test "the mover Job of the stuck sync an unlock joins is not counted: its failures belong to the sync before" {
  # the stuck sync's Job had failed 3 attempts when the wait began; one more
  # fails before VolSync replaces it with the unlock's Job, which succeeds
  local old=0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f
  stub kubectl \
    "$FIND : $(listed FAILED_LOCKED)" \
    "$TRIGGER : $(patched FAILED_LOCKED+UNLOCK_TRIGGERED)" \
    "$WATCH : $(watch_events FAILED_LOCKED+UNLOCK_TRIGGERED after-mark:jobs sleep:0.5 DONE_UNLOCK)" \
    "$(jobs_watch) : $(job_events ADDED running:3@$old failed:4@$old DELETED failed:4@$old ADDED running mark:jobs)" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -0 script unlock --kubeconfig "$KC" --cluster apps --app odoo --timeout 20s
  unstub kubectl
  refute_line --partial 'attempt'
  assert_line 'restic removed 1 stale lock(s).'
}

# --- the trigger as found, and VolSync's errors

@test "someone else changes spec.trigger.manual during the unlock: the API server refuses our guarded removal (422), which is recognised and left alone" {
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$UNLOCK_TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$UNLOCK_TRIGGERED | \$SYNCING\"; event MODIFIED rs-odoo-item.json odoo-backup \"\$UNLOCK_TRIGGERED | \$SYNCING | .spec.trigger.manual = \\\"theirs\\\" | .metadata.resourceVersion = \\\"600007\\\"\"; exec sleep 30" \
    "$NO_JOBS" \
    "$REMOVE : $REFUSED" \
    "$K get $RSR odoo-backup -n business -o json : rs rs-odoo-item.json odoo-backup '.spec.trigger.manual = \"theirs\"'"
  run -1 script unlock --kubeconfig "$KC" --cluster apps --app odoo
  unstub kubectl
  assert_line 'error: unlock of business/odoo-backup: someone else changed spec.trigger.manual to "theirs" while waiting'
  assert_line 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): left alone: spec.trigger.manual now holds "theirs", set by someone else: left as it is'
  refute_line --partial 'The clean-up is incomplete'
}

@test "an unlock whose sync VolSync cannot go on with (the repository Secret is gone) ends after ERROR_GRACE with VolSync's message" {
  export NO_SECRET='.metadata.resourceVersion = "600008" | .status.lastSyncStartTime = $now
    | .status.conditions = [{lastTransitionTime: $now, message: "Secret \"volsync-r2-secret\" not found", reason: "Error", status: "False", type: "Synchronizing"}]'
  stub kubectl \
    "$FIND : rs_list rs-odoo-item.json odoo-backup" \
    "$TRIGGER : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$UNLOCK_TRIGGERED\"" \
    "$WATCH : event MODIFIED rs-odoo-item.json odoo-backup \"\$UNLOCK_TRIGGERED\"; event MODIFIED rs-odoo-item.json odoo-backup \"\$UNLOCK_TRIGGERED | \$NO_SECRET\"; exec sleep 30" \
    "$NO_JOBS" \
    "$REMOVE : $(source_in UNTRIGGERED)"
  run -1 script unlock --kubeconfig "$KC" --cluster apps --app odoo --error-grace 2s --timeout 25s
  unstub kubectl
  assert_line 'business/odoo-backup: VolSync reports an error: Secret "volsync-r2-secret" not found (it retries; waiting stops if the error lasts 2s)'
  assert_line --regexp '^error: unlock of business/odoo-backup: VolSync reports an error for [2-9]s: Secret "volsync-r2-secret" not found \(VolSync keeps retrying this sync; stopped waiting\)$'
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'
}
