# Canned ReplicationSource states for the trigger commands (snapshot,
# snapshot-all, unlock), loaded after helpers/common.
#
# A trigger patch's answer records the patch (record_patch "$@"); later
# answers (the patch response, watch events) read the token it set. States
# are fixture objects transformed with jq; the transformations below follow
# what VolSync v0.16.0 writes (statemachine/machine.go, conditions.go):
#
#   stub kubectl "$K patch $RSR odoo-backup -n business --type merge -p * -o json : record_patch \"\$@\"; rs rs-odoo-item.json odoo-backup \"\$TRIGGERED\""
#   stub kubectl "$KW get $RSR -n business --field-selector metadata.name=odoo-backup --output-watch-events --watch -o json : event MODIFIED rs-odoo-item.json odoo-backup \"\$DONE_OK\"; exec sleep 30"

RSR=replicationsources.volsync.backube

# record_patch ARGS...: remember the -p value of a patch call, with the source's name
record_patch() {
  local name='' prev=''
  while (($#)); do
    [[ $prev == "$RSR" ]] && name=$1
    if [[ $1 == -p ]]; then
      printf '%s\t%s\n' "$name" "$2" >>"$STUB_DIR/patches"
      return
    fi
    prev=$1
    shift
  done
}

# token NAME [N]: the manual trigger set on source NAME by its Nth trigger patch (default: the last)
token() {
  local name=$1 n=${2:-0}
  [[ -f $STUB_DIR/patches ]] || return 0
  awk -F'\t' -v name="$name" '$1 == name && $2 ~ /"manual"/ { print $2 }' "$STUB_DIR/patches" |
    if ((n > 0)); then sed -n "${n}p"; else tail -n 1; fi |
    jq -r '.spec.trigger.manual // empty'
}

# rs FIXTURE NAME [FILTER]: source NAME of a fixture (an item or a List),
# rendered, then transformed by the jq FILTER. The filter sees $token (the
# last trigger of NAME), $t1 (its first), $now, and the mover logs $ok,
# $empty, $unlock_ok, $locked, $badpassword, $livelock.
rs() {
  local file=$1 name=$2 filter=${3:-.}
  render "$FIXTURES/$file" | jq -c \
    --arg name "$name" --arg token "$(token "$name")" --arg t1 "$(token "$name" 1)" \
    --arg now "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --rawfile ok "$FIXTURES/mover-backup-ok.log" \
    --rawfile empty "$FIXTURES/mover-backup-empty.log" \
    --rawfile unlock_ok "$FIXTURES/mover-unlock-ok.log" \
    --rawfile locked "$FIXTURES/mover-backup-locked.log" \
    --rawfile badpassword "$FIXTURES/mover-backup-badpassword.log" \
    --rawfile livelock "$FIXTURES/mover-unlock-live-lock.log" \
    "(if .items then .items[] else . end) | select(.metadata.name == \$name) | $filter"
}

# event TYPE FIXTURE NAME [FILTER]: a watch event (--output-watch-events) carrying that state
event() {
  local type=$1
  shift
  rs "$@" | jq -c --arg type "$type" '{type: $type, object: .}'
}
export -f record_patch token rs event

# --- states (jq filters); each bumps resourceVersion as every write does

# the response to our trigger patch: the token is set, nothing else changed yet
TRIGGERED='.spec.trigger.manual = $token | .metadata.resourceVersion = "600001"'
# the same, for unlock (one patch sets both)
UNLOCK_TRIGGERED='.spec.trigger.manual = $token | .spec.restic.unlock = $token | .metadata.resourceVersion = "600001"'
# VolSync picked it up: a sync runs
SYNCING='.spec.trigger.manual = $token | .metadata.resourceVersion = "600002"
  | .status.lastSyncStartTime = $now | del(.status.nextSyncTime)
  | .status.conditions = [{lastTransitionTime: $now, message: "Synchronization in-progress", reason: "SyncInProgress", status: "True", type: "Synchronizing"}]'
# a sync someone else started (the schedule) runs; our token is not set
BUSY='.metadata.resourceVersion = "599999" | .status.lastSyncStartTime = $now
  | .status.conditions = [{lastTransitionTime: $now, message: "Synchronization in-progress", reason: "SyncInProgress", status: "True", type: "Synchronizing"}]'
# the sync finished: lastManualSync carries spec.trigger.manual, lastSyncStartTime is cleared
finished() { # finished LOGVAR RESULT
  printf '%s' "| .metadata.resourceVersion = \"600003\" | .status.lastManualSync = .spec.trigger.manual
  | .status.lastSyncTime = \$now | .status.lastSyncDuration = \"1m12.5s\" | del(.status.lastSyncStartTime, .status.nextSyncTime)
  | .status.latestMoverStatus = {logs: (\$$1 | rtrimstr(\"\\n\")), result: \"$2\"}
  | .status.conditions = [{lastTransitionTime: \$now, message: \"Waiting for manual trigger\", reason: \"WaitingForManual\", status: \"False\", type: \"Synchronizing\"}]"
}
DONE_OK=".spec.trigger.manual = \$token $(finished ok Successful)"
DONE_EMPTY=".spec.trigger.manual = \$token $(finished empty Successful)"
# the sync that raced our first trigger finished: it carries that first token
DONE_FIRST=".spec.trigger.manual = \$t1 $(finished ok Successful)"
DONE_UNLOCK=".spec.trigger.manual = \$token | .spec.restic.unlock = \$token | .status.restic.lastUnlocked = \$token $(finished unlock_ok Successful)"
# the mover Job reached its backoff limit: Failed with the full pod log; the sync goes on
failed_mover() { # failed_mover LOGVAR
  printf '%s' ".spec.trigger.manual = \$token | .metadata.resourceVersion = \"600004\" | .status.lastSyncStartTime = \$now
  | .status.latestMoverStatus = {logs: (\$$1 | rtrimstr(\"\\n\")), result: \"Failed\"}
  | .status.conditions = [{lastTransitionTime: \$now, message: \"Synchronization in-progress\", reason: \"SyncInProgress\", status: \"True\", type: \"Synchronizing\"}]"
}
FAILED_LOCKED=$(failed_mover locked)
FAILED_BADPASSWORD=$(failed_mover badpassword)
FAILED_LIVELOCK=$(failed_mover livelock)
export RSR TRIGGERED UNLOCK_TRIGGERED SYNCING BUSY DONE_OK DONE_FIRST DONE_EMPTY DONE_UNLOCK FAILED_LOCKED FAILED_BADPASSWORD FAILED_LIVELOCK

# the guarded removal of a source's trigger (glob: the token is generated)
removal() { # removal NAME NAMESPACE
  printf '%s' "$K patch $RSR $1 -n $2 --type json -p \\[{\"op\":\"test\",\"path\":\"/spec/trigger/manual\",\"value\":\"volsync-ops-*\"},{\"op\":\"test\",\"path\":\"/spec/trigger/schedule\",\"value\":\"0 \*/8 \* \* \*\"},{\"op\":\"remove\",\"path\":\"/spec/trigger/manual\"}\\] -o json"
}

# rs_list FIXTURE NAME [FILTER]: the answer to the discovery read (a List of that one source)
rs_list() {
  rs "$@" | jq -c '{apiVersion: "v1", kind: "List", metadata: {resourceVersion: ""}, items: [.]}'
}

# wait_patch NAME [N]: in a watch answer, wait (up to 10 s) until source NAME got its Nth trigger patch
wait_patch() {
  local name=$1 n=${2:-1} i
  for ((i = 0; i < 100; i++)); do
    [[ -n $(token "$name" "$n") ]] && return 0
    sleep 0.1
  done
  echo "wait_patch: no trigger patch $n of $name" >&2
  return 1
}
export -f rs_list wait_patch

# a sync someone else started ended (scheduled: lastManualSync untouched); the source is idle
ENDED='.metadata.resourceVersion = "600000" | del(.status.lastSyncStartTime) | .status.lastSyncTime = $now
  | .status.conditions = [{lastTransitionTime: $now, message: "Waiting for next scheduled synchronization", reason: "WaitingForSchedule", status: "False", type: "Synchronizing"}]'
# the patch response when a sync started just before our patch landed
RACED='.spec.trigger.manual = $token | .metadata.resourceVersion = "600001" | .status.lastSyncStartTime = $now | del(.status.nextSyncTime)
  | .status.conditions = [{lastTransitionTime: $now, message: "Synchronization in-progress", reason: "SyncInProgress", status: "True", type: "Synchronizing"}]'
export ENDED RACED
