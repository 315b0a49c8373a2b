# Canned ReplicationSource states for the trigger commands (snapshot,
# snapshot-all, unlock), loaded after helpers/common.
#
# A trigger patch's answer records the patch (record_patch "$@"); later
# answers (the patch response, watch events) read the token it set. States
# are fixture objects transformed with jq; the transformations below follow
# what VolSync v0.16.0 writes (statemachine/machine.go, conditions.go).
# Tests write their answers with the plan words at the end of this file:
#
#   stub kubectl \
#     "$TRIGGER : $(patched TRIGGERED)" \
#     "$WATCH : $(watch_events SYNCING DONE_OK)"

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
  local REPLY
  token_of "$@"
  [[ -z $REPLY ]] || printf '%s\n' "$REPLY"
}

# token_of NAME [N]: the same in REPLY, in bash alone (answers and waits call it often)
token_of() {
  local name=$1 n=${2:-0} patch_name patch count=0 re='"manual": *"([^"]*)"'
  REPLY=''
  [[ -f $STUB_DIR/patches ]] || return 0
  while IFS=$'\t' read -r patch_name patch; do
    if [[ $patch_name == "$name" && $patch =~ $re ]]; then
      count=$((count + 1))
      if ((n == 0 || count == n)); then REPLY=${BASH_REMATCH[1]}; fi
    fi
  done <"$STUB_DIR/patches"
  return 0
}

# utc_now: the time now in REPLY, as the API server writes it
utc_now() {
  local -x TZ=UTC
  printf -v REPLY '%(%Y-%m-%dT%H:%M:%SZ)T' -1
}

# rs FIXTURE NAME [FILTER]: source NAME of a fixture (an item or a List),
# rendered, then transformed by the jq FILTER. The filter sees $token (the
# last trigger of NAME), $t1 (its first), $now, and the mover logs $ok,
# $empty, $unlock_ok, $locked, $badpassword, $livelock.
rs() {
  rs_as . "$@"
}

# rs_as WRAP FIXTURE NAME [FILTER]: the same, then passed through the jq WRAP
# (one jq for the whole answer: jq 1.6 takes 50 ms to start)
rs_as() {
  local wrap=$1 file=$2 name=$3 filter=${4:-.} token t1 now REPLY
  token_of "$name" && token=$REPLY
  token_of "$name" 1 && t1=$REPLY
  utc_now && now=$REPLY
  render "$FIXTURES/$file" | jq -c \
    --arg name "$name" --arg token "$token" --arg t1 "$t1" \
    --arg now "$now" \
    --rawfile ok "$FIXTURES/mover-backup-ok.log" \
    --rawfile empty "$FIXTURES/mover-backup-empty.log" \
    --rawfile unlock_ok "$FIXTURES/mover-unlock-ok.log" \
    --rawfile locked "$FIXTURES/mover-backup-locked.log" \
    --rawfile badpassword "$FIXTURES/mover-backup-badpassword.log" \
    --rawfile livelock "$FIXTURES/mover-unlock-live-lock.log" \
    "(if .items then .items[] else . end) | select(.metadata.name == \$name) | ($filter) | $wrap"
}

# event TYPE FIXTURE NAME [FILTER]: a watch event (--output-watch-events) carrying that state
event() {
  local type=$1
  shift
  rs_as "{type: \"$type\", object: .}" "$@"
}
export -f record_patch token token_of utc_now rs rs_as event

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
finished() { # finished LOGVAR RESULT: the filter in REPLY (no command substitution: trigger tests load this file once each)
  printf -v REPLY '%s' "| .metadata.resourceVersion = \"600003\" | .status.lastManualSync = .spec.trigger.manual
  | .status.lastSyncTime = \$now | .status.lastSyncDuration = \"1m12.5s\" | del(.status.lastSyncStartTime, .status.nextSyncTime)
  | .status.latestMoverStatus = {logs: (\$$1 | rtrimstr(\"\\n\")), result: \"$2\"}
  | .status.conditions = [{lastTransitionTime: \$now, message: \"Waiting for manual trigger\", reason: \"WaitingForManual\", status: \"False\", type: \"Synchronizing\"}]"
}
finished ok Successful
DONE_OK=".spec.trigger.manual = \$token $REPLY"
finished empty Successful
DONE_EMPTY=".spec.trigger.manual = \$token $REPLY"
# the sync that raced our first trigger finished: it carries that first token
finished ok Successful
DONE_FIRST=".spec.trigger.manual = \$t1 $REPLY"
finished unlock_ok Successful
DONE_UNLOCK=".spec.trigger.manual = \$token | .spec.restic.unlock = \$token | .status.restic.lastUnlocked = \$token $REPLY"
# the mover Job reached its backoff limit: Failed with the full pod log; the sync goes on
failed_mover() { # failed_mover LOGVAR: the filter in REPLY
  printf -v REPLY '%s' ".spec.trigger.manual = \$token | .metadata.resourceVersion = \"600004\" | .status.lastSyncStartTime = \$now
  | .status.latestMoverStatus = {logs: (\$$1 | rtrimstr(\"\\n\")), result: \"Failed\"}
  | .status.conditions = [{lastTransitionTime: \$now, message: \"Synchronization in-progress\", reason: \"SyncInProgress\", status: \"True\", type: \"Synchronizing\"}]"
}
failed_mover locked
FAILED_LOCKED=$REPLY
failed_mover badpassword
FAILED_BADPASSWORD=$REPLY
failed_mover livelock
FAILED_LIVELOCK=$REPLY
export RSR TRIGGERED UNLOCK_TRIGGERED SYNCING BUSY DONE_OK DONE_FIRST DONE_EMPTY DONE_UNLOCK FAILED_LOCKED FAILED_BADPASSWORD FAILED_LIVELOCK

# the guarded removal of a source's trigger (glob: the token is generated)
removal() { # removal NAME NAMESPACE
  printf '%s' "$K patch $RSR $1 -n $2 --type json -p \\[{\"op\":\"test\",\"path\":\"/spec/trigger/manual\",\"value\":\"volsync-ops-*\"},{\"op\":\"test\",\"path\":\"/spec/trigger/schedule\",\"value\":\"0 \*/8 \* \* \*\"},{\"op\":\"remove\",\"path\":\"/spec/trigger/manual\"}\\] -o json"
}

# the guarded removal of the trigger of a source without a schedule (it syncs continuously again)
removal_continuous() { # removal_continuous NAME NAMESPACE
  printf '%s' "$K patch $RSR $1 -n $2 --type json -p \\[{\"op\":\"test\",\"path\":\"/spec/trigger/manual\",\"value\":\"volsync-ops-*\"},{\"op\":\"remove\",\"path\":\"/spec/trigger/manual\"}\\] -o json"
}

# putting VALUE back into spec.trigger.manual of a parked source while our sync runs (guarded by that sync's start)
put_back() { # put_back NAME NAMESPACE VALUE
  printf '%s' "$K patch $RSR $1 -n $2 --type json -p \\[{\"op\":\"test\",\"path\":\"/spec/trigger/manual\",\"value\":\"volsync-ops-*\"},{\"op\":\"test\",\"path\":\"/status/lastSyncStartTime\",\"value\":\"*\"},{\"op\":\"replace\",\"path\":\"/spec/trigger/manual\",\"value\":\"$3\"}\\] -o json"
}

# putting VALUE back when no sync of ours started (guarded: nothing runs, lastManualSync still LAST)
put_back_idle() { # put_back_idle NAME NAMESPACE VALUE LAST
  printf '%s' "$K patch $RSR $1 -n $2 --type json -p \\[{\"op\":\"test\",\"path\":\"/spec/trigger/manual\",\"value\":\"volsync-ops-*\"},{\"op\":\"test\",\"path\":\"/status/lastSyncStartTime\",\"value\":null},{\"op\":\"test\",\"path\":\"/status/lastManualSync\",\"value\":\"$4\"},{\"op\":\"replace\",\"path\":\"/spec/trigger/manual\",\"value\":\"$3\"}\\] -o json"
}

# VolSync cannot go on with the sync (machine.go setConditionError): the
# Synchronizing condition False, reason Error, the error as its message (the
# message seen on the e2e tier for a source whose PVC does not exist); the sync
# stays "running" (lastSyncStartTime set) and is retried
NO_PVC='.metadata.resourceVersion = "600008" | .status.lastSyncStartTime = $now | del(.status.nextSyncTime)
  | .status.conditions = [{lastTransitionTime: $now, message: "PersistentVolumeClaim \"odoo-data\" not found", reason: "Error", status: "False", type: "Synchronizing"}]'
export NO_PVC

# REFUSED: the answer of kube-apiserver 1.35 to a JSON patch whose test op fails
# (HTTP 422, reason Invalid, no detail), as kubectl prints it; recorded on the
# e2e tier by test/e2e/record-fixtures.sh (the Status: recorded/patch-test-failed.json)
REFUSED='cat "$FIXTURES/kubectl-patch-test-failed.stderr" >&2; exit 1'
export REFUSED

# rs_list FIXTURE NAME [FILTER]: the answer to the discovery read (a List of that one source)
rs_list() {
  rs_as '{apiVersion: "v1", kind: "List", metadata: {resourceVersion: ""}, items: [.]}' "$@"
}

# wait_patch NAME [N]: in a watch answer, wait (up to 10 s) until source NAME got its Nth trigger patch
wait_patch() {
  local name=$1 n=${2:-1} i REPLY
  for ((i = 0; i < 100; i++)); do
    token_of "$name" "$n"
    [[ -z $REPLY ]] || return 0
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

# --- VolSync's mover Jobs: the one extra watch while waiting
#
# job-mover-src.json is the Job VolSync v0.16.0 created for business/odoo-backup
# on the e2e tier (API server 1.35; managedFields dropped, as `kubectl get`
# prints it), with the status the 1.35 Job controller writes (terminating,
# uncountedTerminatedPods). job-mover-src-pods.json: two failed pods of it.
# For another source, names, namespace and uids are rewritten.

# jobs_watch [SCOPE]: the planned jobs watch (SCOPE: "-n NS", default -n business, or --all-namespaces)
jobs_watch() {
  printf '%s' "$KW get jobs.batch ${1:--n business} --output-watch-events --selector app.kubernetes.io/created-by=volsync --watch -o json"
}
# no_jobs [SCOPE]: the jobs watch when no mover Job changes while waiting
no_jobs() {
  printf '%s : exec sleep 30' "$(jobs_watch "$@")"
}

# job_uid NAME: the uid of the mover Job of source NAME in these tests
job_uid() {
  if [[ $1 == odoo-backup ]]; then echo b7e1c9a2-3f4d-4e5a-8b6c-7d8e9f0a1b2c; return; fi
  printf 'b7e1c9a2-3f4d-4e5a-8b6c-%s\n' "$(printf '%s' "$1" | md5sum | cut -c1-12)"
}

# for_source FIXTURE NAME [JOB_UID]: a jq program rewriting the odoo-backup Job
# (or its pods) for source NAME of an RS fixture: names, namespace, owner uid, Job uid
for_source() {
  local owner ns
  read -r owner ns < <(rs "$1" "$2" '"\(.metadata.uid) \(.metadata.namespace)"' | jq -r .)
  printf '%s' "walk(if type == \"string\" then
      gsub(\"odoo-backup\"; \"$2\") | gsub(\"7f0c2d4e-5b1a-4c3e-9d8f-0a1b2c3d4e51\"; \"$owner\")
      | gsub(\"b7e1c9a2-3f4d-4e5a-8b6c-7d8e9f0a1b2c\"; \"${3:-$(job_uid "$2")}\") | if . == \"business\" then \"$ns\" else . end
    else . end)"
}

# job_event TYPE FIXTURE NAME STATE [JOB_UID]: a watch event of the mover Job
# of source NAME. STATE: running (the first attempt runs), running:N (the
# attempt after N failed ones runs), failed:N (N attempts failed, the next not
# started yet), exhausted (past its backoffLimit: the conditions the Job
# controller sets when VolSync has not deleted the Job yet)
job_event() {
  local type=$1 fixture=$2 name=$3 state=$4 uid=${5:-} filter=. REPLY
  utc_now
  case $state in
    running) ;;
    running:*) filter=".status = {active: 1, failed: ${state#running:}, ready: 0, startTime: .status.startTime, terminating: 0, uncountedTerminatedPods: {}}
      | .metadata.resourceVersion = \"6002${state#running:}5\"" ;;
    failed:*) filter=".status = {failed: ${state#failed:}, ready: 0, startTime: .status.startTime, terminating: 0, uncountedTerminatedPods: {}}
      | .metadata.resourceVersion = \"6002${state#failed:}0\"" ;;
    exhausted) filter='.status = {conditions: [
        {lastProbeTime: $now, lastTransitionTime: $now, message: "Job has reached the specified backoff limit", reason: "BackoffLimitExceeded", status: "True", type: "FailureTarget"},
        {lastProbeTime: $now, lastTransitionTime: $now, message: "Job has reached the specified backoff limit", reason: "BackoffLimitExceeded", status: "True", type: "Failed"}],
        failed: 9, ready: 0, startTime: .status.startTime, terminating: 0, uncountedTerminatedPods: {}}
      | .metadata.resourceVersion = "600299"' ;;
  esac
  render "$(job_fixture job-mover-src.json "$fixture" "$name" "$uid")" |
    jq -c --arg type "$type" --arg now "$REPLY" "{type: \$type, object: ($filter)}"
}

# job_pods FIXTURE NAME [JOB_UID]: the failed pods of that Job (a List)
job_pods() {
  render "$(job_fixture job-mover-src-pods.json "$@")" | jq -c .
}

# job_fixture FILE FIXTURE NAME [JOB_UID]: the path of the Job fixture FILE
# rewritten (for_source) for source NAME of the RS FIXTURE, made once per test
# (the rewrite walks every string of the Job: most of an event's cost); the
# @NOW@ times are still to be rendered
job_fixture() {
  local file=$1 fixture=$2 name=$3 uid=${4:-}
  local out="$STUB_DIR/${file%.json}.${fixture%.json}.$name.${uid:-job}.json"
  if [[ ! -f $out ]]; then
    # made beside, then renamed: an answer running at the same time never reads half a file
    local tmp="$out.$BASHPID.tmp"
    jq "$(for_source "$fixture" "$name" "$uid")" "$FIXTURES/$file" >"$tmp" && mv "$tmp" "$out"
  fi
  printf '%s' "$out"
}
export -f jobs_watch job_uid for_source job_event job_pods job_fixture

# attempt_reads NAME LOG [N]: the calls that read the log of N (default 1)
# failed attempts of the Job of source NAME (of the use_source fixture): its
# pods, then the newest failed one's log
attempt_reads() {
  local fixture=$SOURCE_FIXTURE name=$1 log=$2 n=${3:-1} ns uid i
  ns=$(rs "$fixture" "$name" '.metadata.namespace' | jq -r .)
  uid=$(job_uid "$name")
  for ((i = 0; i < n; i++)); do
    stub kubectl \
      "$K get pods -n $ns --selector batch.kubernetes.io/controller-uid=$uid -o json : job_pods $fixture $name" \
      "$K logs volsync-src-$name-f2j87 -n $ns -c restic --tail=20 : cat \"\$FIXTURES/$log\""
  done
}

# gone_reads NAME: the pods read when VolSync has deleted the Job of source NAME (its pods are gone)
gone_reads() {
  local ns
  ns=$(rs "$SOURCE_FIXTURE" "$1" '.metadata.namespace' | jq -r .)
  stub kubectl "$K get pods -n $ns --selector batch.kubernetes.io/controller-uid=$(job_uid "$1") -o json : cat \"\$FIXTURES/empty-list.json\""
}

# mark / wait_mark: helpers/common.bash
# wait_reads N: wait (up to 10 s) until N pod logs were read
wait_reads() {
  local i count line
  for ((i = 0; i < 100; i++)); do
    count=0
    if [[ -f $STUB_DIR/kubectl.calls ]]; then
      while IFS= read -r line; do
        if [[ $line == *' logs '* ]]; then count=$((count + 1)); fi
      done <"$STUB_DIR/kubectl.calls"
    fi
    ((count >= $1)) && return 0
    sleep 0.1
  done
  echo "wait_reads: fewer than $1 log reads" >&2
  return 1
}
export -f wait_reads

# --- plans in words: answers built from named states
#
# A plan line is "GLOB : ANSWER" (helpers/stub.bash). These functions print
# the ANSWER for the usual calls of a trigger command, so that a test reads
# plan, run, assert:
#
#   use_source rs-odoo-item.json odoo-backup        # in setup: the fixture, the source
#   stub kubectl \
#     "$FIND : $(listed BUSY)" \
#     "$WATCH : $(watch_events BUSY ENDED after-patch TRIGGERED DONE_OK)" \
#     "$NO_JOBS" \
#     "$TRIGGER : $(patched ENDED+TRIGGERED)" \
#     "$REMOVE : $(source_in UNTRIGGERED)"
#
# STATE: the name of a shell variable that holds a jq filter (the states above,
# the ones below, or a test's own `local STALE='.metadata.resourceVersion = "600000b"'`);
# STATE+STATE applies them in order. [NAME=]STATE: the source NAME of the
# fixture in that state (default: the source of use_source). Names are looked up
# when the plan is made; an unknown one fails the test at unstub.

# the source as recorded in the fixture; without its manual trigger; without a schedule; paused
RECORDED='.'
UNTRIGGERED='del(.spec.trigger.manual)'
NO_SCHEDULE='del(.spec.trigger.schedule)'
PAUSED='.spec.paused = true'

# use_source FIXTURE [NAME]: the RS fixture of this file's plans, and the source a STATE without NAME= means
use_source() {
  SOURCE_FIXTURE=$1
  SOURCE=${2:-}
}

# source_state [NAME=]STATE[+STATE...]: prints "NAME<TAB>jq filter"
source_state() {
  local spec=$1 name=$SOURCE states=$1 state filter=''
  if [[ $spec == *=* ]]; then
    name=${spec%%=*}
    states=${spec#*=}
  fi
  [[ -n $name ]] || { plan_error "no source for '$spec': name it (NAME=STATE) or call use_source FIXTURE NAME"; return 1; }
  local -a parts
  IFS=+ read -ra parts <<<"$states"
  ((${#parts[@]})) || parts=(RECORDED)
  for state in "${parts[@]}"; do
    if [[ ! $state =~ ^[A-Z][A-Z0-9_]*$ || ! -v $state ]]; then
      plan_error "no state named '$state' (in '$spec')"
      return 1
    fi
    filter+="${filter:+ | }(${!state})"
  done
  printf '%s\t%s' "$name" "$filter"
}

# the answer that stands for a plan that could not be made (the test fails at unstub)
broken_answer() {
  printf 'echo %q >&2; exit 1' "the test's plan is broken: see unstub"
}

# listed [[NAME=]STATE]: the discovery read: a List of that one source
listed() {
  local s
  s=$(source_state "${1:-RECORDED}") || { broken_answer; return; }
  printf 'rs_list %q %q %q' "$SOURCE_FIXTURE" "${s%%$'\t'*}" "${s#*$'\t'}"
}

# source_in [NAME=]STATE: the source as one object (a read, or a patch's response)
source_in() {
  local s
  s=$(source_state "$1") || { broken_answer; return; }
  printf 'rs %q %q %q' "$SOURCE_FIXTURE" "${s%%$'\t'*}" "${s#*$'\t'}"
}

# patched [sleep:S] [[NAME=]STATE]: the trigger patch: recorded (the token for
# later answers), then (after S seconds) the response: the source in STATE (default TRIGGERED)
patched() {
  local delay=''
  if [[ ${1:-} == sleep:* ]]; then
    delay="sleep ${1#sleep:}; "
    shift
  fi
  printf 'record_patch "$@"; %s%s' "$delay" "$(source_in "${1:-TRIGGERED}")"
}

# watch_events STEP...: what a watch prints, step by step; then it stays open
# (until the run ends it), or, with the last step `end`, the server ends it.
#   [TYPE] [NAME=]STATE       an event (TYPE: MODIFIED unless ADDED or DELETED
#                             stands before it) with the source in STATE
#   after-patch[:NAME][:N]    wait until the Nth (default 1st) trigger patch
#                             of the source has landed
#   mark:M                    mark the point M, which another watch waits for
#   after-mark:M              wait until another watch marked M
#   after-reads:N             wait until N pod logs were read
#   sleep:S                   give the run S seconds to take in what came before
watch_events() {
  steps rs_event "$@"
}

# job_events STEP...: the same for the mover Jobs watch. A state is one of
# job_event's (running, running:N, failed:N, exhausted), optionally @JOB_UID;
# retried:N stands for attempts 1..N failing, each followed by the next running.
job_events() {
  steps job_step "$@"
}

# rs_event TYPE [NAME=]STATE: one event of the sources watch
rs_event() {
  local s
  s=$(source_state "$2") || return 1
  printf 'event %s %q %q %q' "$1" "$SOURCE_FIXTURE" "${s%%$'\t'*}" "${s#*$'\t'}"
}

# job_step TYPE [NAME=]STATE[@UID]: one event (or, for retried:N, several) of the jobs watch
job_step() {
  local type=$1 spec=$2 name=$SOURCE state uid='' n
  if [[ $spec == *=* ]]; then
    name=${spec%%=*}
    spec=${spec#*=}
  fi
  if [[ $spec == *@* ]]; then
    uid=${spec#*@}
    spec=${spec%%@*}
  fi
  [[ -n $name ]] || { plan_error "no source for job state '$2'"; return 1; }
  case $spec in
    retried:*)
      local out=''
      for ((n = 1; n <= ${spec#retried:}; n++)); do
        out+="job_event MODIFIED $SOURCE_FIXTURE $name failed:$n${uid:+ $uid}; job_event MODIFIED $SOURCE_FIXTURE $name running:$n${uid:+ $uid}; "
      done
      printf '%s' "${out%; }"
      ;;
    running | running:[0-9]* | failed:[0-9]* | exhausted)
      printf 'job_event %s %q %q %s%s' "$type" "$SOURCE_FIXTURE" "$name" "$spec" "${uid:+ $uid}"
      ;;
    *)
      plan_error "no job state '$spec' (running, running:N, failed:N, exhausted, retried:N)"
      return 1
      ;;
  esac
}

# steps EVENT_FUNCTION STEP...: the answer text of a watch (see watch_events)
steps() {
  local event=$1 type=MODIFIED step out='' open=true e name n rest
  shift
  for step in "$@"; do
    case $step in
      ADDED | MODIFIED | DELETED)
        type=$step
        continue
        ;;
      end) open=false ;;
      after-patch | after-patch:*)
        rest=${step#after-patch}
        rest=${rest#:}
        name=$SOURCE
        n=1
        if [[ $rest =~ ^[0-9]+$ ]]; then
          n=$rest
        elif [[ -n $rest ]]; then
          name=${rest%%:*}
          [[ $rest == *:* ]] && n=${rest#*:}
        fi
        out+="wait_patch $name $n; "
        ;;
      mark:*) out+="mark ${step#mark:}; " ;;
      after-mark:*) out+="wait_mark ${step#after-mark:}; " ;;
      after-reads:*) out+="wait_reads ${step#after-reads:}; " ;;
      sleep:*) out+="sleep ${step#sleep:}; " ;;
      *)
        e=$("$event" "$type" "$step") || { broken_answer; return; }
        out+="$e; "
        type=MODIFIED
        ;;
    esac
  done
  if $open; then out+='exec sleep 30'; else out=${out%; }; fi
  printf '%s' "${out:-:}"
}
