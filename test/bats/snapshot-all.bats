#!/usr/bin/env bats
# task volsync:snapshot-all: every source triggered, one watch, one summary, every trigger cleaned up.

setup() {
  load helpers/common
  load helpers/trigger
  common_setup
  use_source rs-all.json
  LIST="$K get $RSR --all-namespaces -o json"
  WATCH_ALL="$KW get $RSR --all-namespaces --output-watch-events --watch -o json"
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
  # git: no schedule (token kept); wiki: paused (skipped)
  local GIT_SNAPSHOT='.status.latestMoverStatus.logs |= sub("1a2b3c4d"; "77aa88bb")'
  stub kubectl \
    "$LIST : $(every_source)" \
    "$(trigger_of odoo-backup business)" \
    "$(trigger_of plex-backup media)" \
    "$(trigger_of git-backup tools)" \
    "$WATCH_ALL : $(watch_events \
      ADDED odoo-backup=TRIGGERED ADDED jellyfin-backup=RECORDED ADDED plex-backup=TRIGGERED \
      ADDED git-backup=TRIGGERED ADDED wiki-backup=RECORDED \
      plex-backup=SYNCING odoo-backup=DONE_OK jellyfin-backup=ENDED \
      after-patch:jellyfin-backup jellyfin-backup=TRIGGERED plex-backup=FAILED_BADPASSWORD \
      git-backup=DONE_OK+GIT_SNAPSHOT jellyfin-backup=DONE_EMPTY)" \
    "$(no_jobs --all-namespaces)" \
    "$(trigger_of jellyfin-backup media ENDED+TRIGGERED)" \
    "$(removal_of odoo-backup business)" \
    "$(removal_of jellyfin-backup media)" \
    "$(removal_of plex-backup media)"
  COLUMNS=200 run -1 --separate-stderr script snapshot-all --kubeconfig "$KC" --cluster apps
  unstub kubectl
  assert_line --index 0 --regexp '^SOURCE +RESULT +TOOK +SNAPSHOT +MESSAGE$'
  assert_line --regexp '^business/odoo-backup +ok +1m13s +1a2b3c4d +-$'
  assert_line --regexp '^media/jellyfin-backup +empty +1m13s +- +empty source: no snapshot taken$'
  assert_line --regexp '^media/plex-backup +FAILED +- +- +ERROR: failure connecting to repository, incorrect password$'
  assert_line '! media/plex-backup: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)'
  assert_line '    Fatal: wrong password or no key found'
  assert_line --regexp '^tools/git-backup +ok +1m13s +77aa88bb +no schedule: trigger kept$'
  assert_line --regexp '^tools/wiki-backup +skipped +- +- +paused: not backed up$'
  assert_line '2 backed up, 1 empty (no snapshot), 1 failed, 1 skipped (cluster apps)'
  [[ $stderr == *'a sync of media/jellyfin-backup is already running'* ]]
  [[ $stderr == *'triggered 3 of 5 ReplicationSources; waiting for them (TIMEOUT 1h)'* ]]
  [[ $stderr == *'tools/git-backup has no schedule: spec.trigger.manual stays'* ]]
  [[ $stderr == *'warning: not backed up (paused): tools/wiki-backup'* ]]
  [[ $stderr == *'warning: empty source directory, no snapshot taken: media/jellyfin-backup'* ]]
  # one read, one watch of the sources and one of their mover Jobs, whatever their number
  [[ $(stub_calls kubectl | grep -c -- ' get ') == 3 ]]
}

@test "task volsync:snapshot-all with NAMESPACE backs up that namespace and exits 0 when all succeed" {
  stub kubectl \
    "$K get $RSR -n business -o json : $(listed odoo-backup=RECORDED)" \
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
    "$K get $RSR -n media -o json : $(every_source media)" \
    "$(trigger_of plex-backup media)" \
    "$KW get $RSR -n media --output-watch-events --watch -o json : $(watch_events plex-backup=SYNCING)" \
    "$(no_jobs "-n media")" \
    "$(removal_of plex-backup media)"
  COLUMNS=200 run -1 script snapshot-all --kubeconfig "$KC" --cluster apps --namespace media --timeout 2s
  unstub kubectl
  assert_line --regexp '^media/jellyfin-backup +timed out +- +- +the sync that was running did not end: not triggered$'
  assert_line --regexp '^media/plex-backup +timed out +- +- +triggered, not finished: VolSync completes the sync on its own$'
  assert_line '0 backed up, 2 unfinished (namespace media of cluster apps)'
  assert_line 'error: timed out after 2s waiting for the snapshot of 2 ReplicationSources'
}

@test "Ctrl-C during snapshot-all removes every trigger it set, prints the summary and exits 130" {
  stub kubectl \
    "$LIST : $(every_source)" \
    "$(trigger_of odoo-backup business)" \
    "$(trigger_of plex-backup media)" \
    "$(trigger_of git-backup tools)" \
    "$WATCH_ALL : $(watch_events odoo-backup=SYNCING plex-backup=SYNCING)" \
    "$(no_jobs --all-namespaces)" \
    "$(removal_of odoo-backup business)" \
    "$(removal_of plex-backup media)"
  COLUMNS=200 spawn_job bash -c 'cd "$ROOT" && exec task -x volsync:snapshot-all CLUSTER=apps KUBECONFIG="$1"' _ "$KC"
  interrupt_at "$WATCH_ALL"
  unstub kubectl
  assert_equal "$status" 130
  assert_line --partial 'clean-up: remove the manual trigger of business/odoo-backup (its schedule applies again): removed'
  assert_line --partial 'clean-up: remove the manual trigger of media/plex-backup (its schedule applies again): removed'
  assert_line --regexp '^business/odoo-backup +interrupted +- +- +triggered, not finished: VolSync completes the sync on its own$'
  assert_line --regexp '^media/jellyfin-backup +interrupted +- +- +the sync that was running did not end: not triggered$'
  assert_line --regexp '^tools/git-backup +interrupted +- +- +triggered, not finished: VolSync completes the sync on its own; no schedule: trigger kept$'
}

@test "--output json prints one record per source alone on stdout" {
  stub kubectl \
    "$K get $RSR -n business -o json : $(listed odoo-backup=RECORDED)" \
    "$(trigger_of odoo-backup business)" \
    "$KW get $RSR -n business --output-watch-events --field-selector metadata.name=odoo-backup --watch -o json : $(watch_events odoo-backup=DONE_OK)" \
    "$(no_jobs)" \
    "$(removal_of odoo-backup business)"
  run -0 --separate-stderr script snapshot-all --kubeconfig "$KC" --cluster apps --namespace business --output json
  unstub kubectl
  echo "$output" | json_true '.cluster == "apps" and .stopped == null and (.sources | length) == 1
    and .sources[0].result == "ok" and .sources[0].snapshot == "1a2b3c4d" and .sources[0].trigger == "removed"'
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
    "$(removal_of plex-backup media)"
  COLUMNS=200 spawn_script snapshot-all --kubeconfig "$KC" --cluster apps
  wait_for_call kubectl "$K patch $RSR plex-backup *"
  wait_for_call kubectl "$K patch $RSR git-backup *"
  interrupt_job
  wait_job
  unstub kubectl
  assert_equal "$status" 130
  assert_line --regexp '^business/odoo-backup +interrupted +- +- +triggered, not finished: VolSync completes the sync on its own$'
  assert_line --regexp '^media/jellyfin-backup +interrupted +- +- +the sync that was running did not end: not triggered$'
  assert_line --regexp '^tools/git-backup +interrupted +- +- +triggered, not finished: VolSync completes the sync on its own; no schedule: trigger kept$'
  refute_line --partial 'waiting for them'
}

@test "the mover Jobs of every source are followed with one more watch: a Job at its backoffLimit fails only its own source" {
  # plex: our sync's mover fails all 8 attempts (a wrong password), and VolSync's
  # Failed record is not seen before that; jellyfin: its running sync's Job
  # runs, that sync ends, ours succeeds
  stub kubectl \
    "$K get $RSR -n media -o json : $(every_source media)" \
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
