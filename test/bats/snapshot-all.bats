#!/usr/bin/env bats
# task volsync:snapshot-all: every source triggered, one watch, one summary, every trigger cleaned up.

setup() {
  load helpers/common
  load helpers/trigger
  load helpers/schedule
  common_setup
  use_source rs-all.json
  LIST="$K $RS_ALL"
  WATCH_ALL="$KW get $RSR --all-namespaces --output-watch-events --watch -o json"
  # git-backup has no schedule and is synced by hand: its manual trigger (a
  # token an older version of this tool left there) is put back as found
  GIT_HOLD=volsync-ops-snapshot-20261120T101500Z-q2w3e
  GIT_IDLE_PUT_BACK="$(put_back_idle git-backup tools "$GIT_HOLD" "$GIT_HOLD") : rs rs-all.json git-backup"
  export GIT_HELD=".spec.trigger.manual = \"$GIT_HOLD\""
  export GIT_RECORDED=".status.lastManualSync = \"$GIT_HOLD\""
  # the put-back's answer and the event after it are one object (resourceVersion 600005): the same
  # lastSyncTime, whenever each is rendered (@NOW-2h@ can fall on two seconds: a "new" lastSyncTime)
  export GIT_PUT='.metadata.resourceVersion = "600005" | .status.lastSyncTime = "2026-11-30T22:00:00Z"'
}

trigger_of() { # trigger_of NAME NAMESPACE [STATE]: the trigger patch of that source, answered in STATE (default TRIGGERED)
  printf '%s' "$K patch $RSR $1 -n $2 --type merge -p * -o json : $(patched "$1=${3:-TRIGGERED}")"
}
every_source() { # every_source [NAMESPACE]: the read of all sources of rs-all.json (of NAMESPACE)
  if (($#)); then
    printf 'render "$FIXTURES/rs-all.json" | jq %q' ".items |= map(select(.metadata.namespace == \"$1\"))"
  else
    printf 'render "$FIXTURES/rs-all.json"'
  fi
}
removal_of() { # removal_of NAME NAMESPACE
  printf '%s' "$(removal "$1" "$2") : $(source_in "$1=UNTRIGGERED")"
}

@test "snapshot-all triggers every source, follows them with one watch, summarises mixed outcomes and exits 1" {
  # odoo: ok; plex: mover fails; jellyfin: already syncing, then empty;
  # git: no schedule, synced by hand (its value put back); wiki: paused (skipped)
  stub kubectl \
    "$LIST : $(every_source)" \
    "$(trigger_of odoo-backup business)" \
    "$(trigger_of plex-backup media)" \
    "$(trigger_of git-backup tools)" \
    "$WATCH_ALL : event ADDED rs-all.json odoo-backup \"\$TRIGGERED\"; event ADDED rs-all.json jellyfin-backup; event ADDED rs-all.json plex-backup \"\$TRIGGERED\"; event ADDED rs-all.json git-backup \"\$TRIGGERED\"; event ADDED rs-all.json wiki-backup; event MODIFIED rs-all.json plex-backup \"\$SYNCING\"; event MODIFIED rs-all.json odoo-backup \"\$DONE_OK\"; event MODIFIED rs-all.json jellyfin-backup \"\$ENDED\"; wait_patch jellyfin-backup; event MODIFIED rs-all.json jellyfin-backup \"\$TRIGGERED\"; event MODIFIED rs-all.json plex-backup \"\$FAILED_BADPASSWORD\"; event MODIFIED rs-all.json git-backup \"\$SYNCING\"; wait_mark git; event MODIFIED rs-all.json git-backup \"\$SYNCING | \$GIT_HELD | \$GIT_PUT\"; event MODIFIED rs-all.json git-backup \"\$DONE_OK | \$GIT_HELD | \$GIT_RECORDED | .status.latestMoverStatus.logs |= sub(\\\"1a2b3c4d\\\"; \\\"77aa88bb\\\")\"; event MODIFIED rs-all.json jellyfin-backup \"\$DONE_EMPTY\"; exec sleep 30" \
    "$(no_jobs --all-namespaces)" \
    "$(put_back git-backup tools "$GIT_HOLD") : mark git; rs rs-all.json git-backup \"\$SYNCING | \$GIT_HELD | \$GIT_PUT\"" \
    "$(trigger_of jellyfin-backup media ENDED+TRIGGERED)" \
    "$(removal_of odoo-backup business)" \
    "$(removal_of jellyfin-backup media)" \
    "$(removal_of plex-backup media)"
  COLUMNS=200 run_bracketed -1 --separate-stderr script snapshot-all --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --index 0 --regexp '^SOURCE +RESULT +TOOK +SNAPSHOT +MESSAGE$'
  assert_line --regexp '^business/odoo-backup +ok +1m13s +1a2b3c4d +-$'
  assert_line --regexp '^media/jellyfin-backup +empty +1m13s +- +empty source: no snapshot taken$'
  assert_line --regexp '^media/plex-backup +FAILED +- +- +ERROR: failure connecting to repository, incorrect password$'
  assert_line '! media/plex-backup: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)'
  assert_line '    Fatal: wrong password or no key found'
  assert_line --regexp '^tools/git-backup +ok +1m13s +77aa88bb +trigger put back \("volsync-ops-snapshot-20261120T101500Z-q2w3e"\)$'
  assert_line --regexp '^tools/wiki-backup +skipped +- +- +paused: not backed up$'
  assert_line '2 backed up, 1 empty (no snapshot), 1 failed, 1 skipped (cluster apps)'
  # retain hourly 24, daily 7 and a backup every 8 hours keep odoo's new snapshot for 24 backups; git-backup has no schedule
  # (the time and the wait exactly, whenever the test runs: helpers/schedule.bash)
  assert_backup_line 24 'The new snapshots are expected to be kept until %at (in %in) at least: the earliest is 1a2b3c4d of business/odoo-backup (see volsync:list, UNTIL).'
  [[ $stderr != *'expected to make VolSync forget'* ]]
  [[ $stderr == *'a sync of media/jellyfin-backup is already running'* ]]
  [[ $stderr == *'triggered 3 of 5 ReplicationSources; waiting for them (TIMEOUT 1h)'* ]]
  [[ $stderr == *'tools/git-backup has a manual trigger set ("volsync-ops-snapshot-20261120T101500Z-q2w3e"): this run puts it back while its own sync runs'* ]]
  [[ $stderr == *'clean-up: put back spec.trigger.manual "volsync-ops-snapshot-20261120T101500Z-q2w3e" of tools/git-backup: put back while our sync ran'* ]]
  [[ $stderr == *'warning: not backed up (paused): tools/wiki-backup'* ]]
  [[ $stderr == *'warning: empty source directory, no snapshot taken: media/jellyfin-backup'* ]]
  # one read, one watch of the sources and one of their mover Jobs, whatever their number
  [[ $(stub_calls kubectl | grep -c -- ' get ') == 3 ]]
}

@test "task volsync:snapshot-all with NAMESPACE backs up that namespace and exits 0 when all succeed" {
  stub kubectl \
    "$K $(rs_in business) : $(listed odoo-backup=RECORDED)" \
    "$(trigger_of odoo-backup business)" \
    "$KW get $RSR -n business --output-watch-events --field-selector metadata.name=odoo-backup --watch -o json : $(watch_events odoo-backup=DONE_OK)" \
    "$(no_jobs)" \
    "$(removal_of odoo-backup business)"
  COLUMNS=200 run -0 run_task volsync:snapshot-all CLUSTER=apps NAMESPACE=business KUBECONFIG="$KC"
  unstub kubectl
  assert_line --regexp '^business/odoo-backup +ok +1m13s +1a2b3c4d +-$'
  assert_line '1 backed up (namespace business of cluster apps)'
}

@test "TIMEOUT covers the whole run: unfinished sources are reported, their triggers removed, exit 1" {
  stub kubectl \
    "$K $(rs_in media) : $(every_source media)" \
    "$(trigger_of plex-backup media)" \
    "$KW get $RSR -n media --output-watch-events --watch -o json : $(watch_events plex-backup=SYNCING)" \
    "$(no_jobs "-n media")" \
    "$(removal_of plex-backup media)"
  COLUMNS=200 run -1 script snapshot-all --kubeconfig "$KC" --cluster apps --namespace media --timeout 2s
  unstub kubectl
  assert_line --regexp '^media/jellyfin-backup +timed out +- +- +the sync that was running did not end: not triggered$'
  assert_line --regexp '^media/plex-backup +timed out +- +- +triggered, still syncing: VolSync completes the sync on its own$'
  assert_line '0 backed up, 2 unfinished (namespace media of cluster apps)'
  assert_line 'error: timed out after 2s waiting for the snapshot of 2 ReplicationSources'
}

@test "Ctrl-C during snapshot-all removes every trigger it set, prints the summary and exits 130" {
  stub kubectl \
    "$LIST : $(every_source)" \
    "$(trigger_of odoo-backup business)" \
    "$(trigger_of plex-backup media)" \
    "$(trigger_of git-backup tools)" \
    "$WATCH_ALL : event MODIFIED rs-all.json odoo-backup \"\$TRIGGERED\"; event MODIFIED rs-all.json plex-backup \"\$TRIGGERED\"; event MODIFIED rs-all.json odoo-backup \"\$SYNCING\"; event MODIFIED rs-all.json plex-backup \"\$SYNCING\"; mark synced; exec sleep 30" \
    "$(no_jobs --all-namespaces)" \
    "$(removal_of odoo-backup business)" \
    "$(removal_of plex-backup media)" \
    "$GIT_IDLE_PUT_BACK"
  COLUMNS=200 spawn_job bash -c 'cd "$ROOT" && exec task -x volsync:snapshot-all CLUSTER=apps KUBECONFIG="$1"' _ "$KC"
  wait_mark synced
  interrupt_at "$WATCH_ALL"
  unstub kubectl
  assert_equal "$status" 130
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'
  assert_line --partial 'clean-up: remove the manual trigger of media/plex-backup (its schedule applies again): removed'
  assert_line --regexp '^business/odoo-backup +interrupted +- +- +triggered, still syncing: VolSync completes the sync on its own$'
  assert_line --regexp '^media/jellyfin-backup +interrupted +- +- +the sync that was running did not end: not triggered$'
  # git: VolSync had not started its sync; its value is back, nothing ran
  assert_line --regexp '^tools/git-backup +interrupted +- +- +triggered, but VolSync never started the sync; trigger put back'
  assert_line --partial 'clean-up: put back spec.trigger.manual "volsync-ops-snapshot-20261120T101500Z-q2w3e" of tools/git-backup: put back; no sync of ours had started, so the source is as it was'
}

@test "--output json prints one record per source alone on stdout" {
  stub kubectl \
    "$K $(rs_in business) : $(listed odoo-backup=RECORDED)" \
    "$(trigger_of odoo-backup business)" \
    "$KW get $RSR -n business --output-watch-events --field-selector metadata.name=odoo-backup --watch -o json : $(watch_events odoo-backup=DONE_OK)" \
    "$(no_jobs)" \
    "$(removal_of odoo-backup business)"
  run_bracketed -0 --separate-stderr script snapshot-all --kubeconfig "$KC" --cluster apps --namespace business --output json
  unstub kubectl
  echo "$output" | json_true '.cluster == "apps" and .stopped == null and (.sources | length) == 1
    and .sources[0].result == "ok" and .sources[0].snapshot == "1a2b3c4d" and .sources[0].trigger == "removed"'
  echo "$output" | json_true '.sources[0] | .keptBy == ["hourly snapshot", "daily snapshot"] and .expectedUntilBackups == 24'
  assert_backup_line 24 '%iso' "$(jq -r '.sources[0].expectedUntil' <<<"$output")"
}

@test "a source whose next scheduled backup will forget the new snapshot is named in a warning" {
  KEEP_LAST_ONE='.spec.restic.retain = {"last": "1"}'
  stub kubectl \
    "$K $(rs_in business) : $(listed odoo-backup=KEEP_LAST_ONE)" \
    "$(trigger_of odoo-backup business)" \
    "$KW get $RSR -n business --output-watch-events --field-selector metadata.name=odoo-backup --watch -o json : $(watch_events odoo-backup=DONE_OK)" \
    "$(no_jobs)" \
    "$(removal_of odoo-backup business)"
  run_bracketed -0 --separate-stderr script snapshot-all --kubeconfig "$KC" --cluster apps --namespace business
  unstub kubectl
  [[ $(grep -c '^warning: the next scheduled backup of ' <<<"$stderr") == 1 ]]
  assert_backup_line 1 'warning: the next scheduled backup of 1 source(s) is expected to make VolSync forget the snapshot just taken: business/odoo-backup (1a2b3c4d, at %at). To keep them, hold their schedules now (docs/runbooks/volsync.md, "Keep a snapshot").' "$stderr"
}

@test "no ReplicationSources is a clear message and exit 0" {
  stub kubectl "$LIST : cat \"\$FIXTURES/empty-list.json\""
  run -0 script snapshot-all --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_output 'No ReplicationSources in cluster apps: nothing to back up.'
}

@test "Ctrl-C while the triggers are being set lets them land, removes them, and exits 130 without waiting" {
  stub kubectl \
    "$LIST : $(every_source)" \
    "$K patch $RSR odoo-backup -n business --type merge -p * -o json : $(patched sleep:1.5 odoo-backup=TRIGGERED)" \
    "$K patch $RSR plex-backup -n media --type merge -p * -o json : $(patched sleep:1.5 plex-backup=TRIGGERED)" \
    "$K patch $RSR git-backup -n tools --type merge -p * -o json : $(patched sleep:1.5 git-backup=TRIGGERED)" \
    "$(removal_of odoo-backup business)" \
    "$(removal_of plex-backup media)" \
    "$GIT_IDLE_PUT_BACK"
  COLUMNS=200 spawn_script snapshot-all --kubeconfig "$KC" --cluster apps
  wait_for_call kubectl "$K patch $RSR plex-backup *"
  wait_for_call kubectl "$K patch $RSR git-backup *"
  interrupt_job
  wait_job
  unstub kubectl
  assert_equal "$status" 130
  assert_line --regexp '^business/odoo-backup +interrupted +- +- +triggered, but VolSync never started the sync; trigger removed, so none will run$'
  assert_line --regexp '^media/jellyfin-backup +interrupted +- +- +the sync that was running did not end: not triggered$'
  assert_line --regexp '^tools/git-backup +interrupted +- +- +triggered, but VolSync never started the sync; trigger put back'
  refute_line --partial 'waiting for them'
}

@test "the mover Jobs of every source are followed with one more watch: a Job at its backoffLimit fails only its own source" {
  # plex: our sync's mover fails all 8 attempts (a wrong password), and VolSync's
  # Failed record is not seen before that; jellyfin: its running sync's Job
  # runs, that sync ends, ours succeeds
  stub kubectl \
    "$K $(rs_in media) : $(every_source media)" \
    "$(trigger_of plex-backup media)" \
    "$KW get $RSR -n media --output-watch-events --watch -o json : $(watch_events plex-backup=SYNCING jellyfin-backup=ENDED \
      after-patch:jellyfin-backup jellyfin-backup=TRIGGERED jellyfin-backup=DONE_OK)" \
    "$(jobs_watch "-n media") : $(job_events ADDED jellyfin-backup=running ADDED plex-backup=running plex-backup=retried:7 plex-backup=failed:8)" \
    "$(trigger_of jellyfin-backup media ENDED+TRIGGERED)" \
    "$(removal_of plex-backup media)" \
    "$(removal_of jellyfin-backup media)"
  attempt_reads plex-backup mover-backup-badpassword.log 7
  gone_reads plex-backup
  COLUMNS=200 run -1 --separate-stderr script snapshot-all --kubeconfig "$KC" --cluster apps --namespace media --timeout 30s
  unstub kubectl
  assert_line --regexp '^media/jellyfin-backup +ok +1m13s +1a2b3c4d +-$'
  assert_line --regexp '^media/plex-backup +FAILED +- +- +ERROR: failure connecting to repository, incorrect password$'
  assert_line '! media/plex-backup: the mover failed (Job volsync-src-plex-backup failed 8 of 8 attempts; VolSync keeps retrying this sync with a new Job; stopped waiting)'
  assert_line '1 backed up, 1 failed (namespace media of cluster apps)'
  [[ $stderr == *'media/plex-backup: mover attempt 1 of 8 failed; VolSync retries it (it reports Failed after 8). Its log ends:'* ]]
  [[ $stderr == *'media/plex-backup: FAILED: the mover failed (Job volsync-src-plex-backup failed 8 of 8 attempts;'* ]]
  [[ $stderr != *'jellyfin-backup: mover attempt'* ]]
}

@test "a source VolSync reports an error for fails alone after ERROR_GRACE; the others finish" {
  stub kubectl \
    "$K $(rs_in media) : render \"\$FIXTURES/rs-all.json\" | jq '.items |= map(select(.metadata.name == \"plex-backup\" or .metadata.name == \"jellyfin-backup\") | del(.status.lastSyncStartTime))'" \
    "$(trigger_of plex-backup media)" \
    "$(trigger_of jellyfin-backup media ENDED+TRIGGERED)" \
    "$KW get $RSR -n media --output-watch-events --watch -o json : event MODIFIED rs-all.json plex-backup \"\$TRIGGERED | \$NO_PVC\"; event MODIFIED rs-all.json jellyfin-backup \"\$ENDED | \$TRIGGERED\"; sleep 1; event MODIFIED rs-all.json jellyfin-backup \"\$DONE_OK\"; exec sleep 30" \
    "$(no_jobs "-n media")" \
    "$(removal_of plex-backup media)" \
    "$(removal_of jellyfin-backup media)"
  COLUMNS=200 run -1 --separate-stderr script snapshot-all --kubeconfig "$KC" --cluster apps --namespace media --error-grace 3s --timeout 30s
  unstub kubectl
  assert_line --regexp '^media/jellyfin-backup +ok +1m13s +1a2b3c4d +-$'
  assert_line --regexp '^media/plex-backup +FAILED +- +- +VolSync reports an error for [3-9]s: PersistentVolumeClaim "odoo-data" not found \(VolSync keeps retrying this sync; stopped waiting\)$'
  assert_line '1 backed up, 1 failed (namespace media of cluster apps)'
  [[ $stderr == *'media/plex-backup: VolSync reports an error: PersistentVolumeClaim "odoo-data" not found (it retries; waiting stops if the error lasts 3s)'* ]]
}
