#!/usr/bin/env bats
# Hostile input through the processes: variables of the commands, given shell
# metacharacters, quotes, newlines, ../, $(id), YAML breakers, or empty where
# required, exit 2 with a message that says what is allowed, and the kubectl
# stub proves kubectl was never called (no kubeconfig-<cluster> file exists,
# so a run that got past validation would at least call `kubectl config
# get-contexts`). Each script and each task is run, by a representative
# handful of values per variable: what every value of every variable of every
# command gets is test/unit/hostile.test.ts (the same validation, in-process).
#
# ADDING A COMMAND: one line in COMMANDS below: the script name, then the
# Taskfile variables it takes. The variables' hostile values and the message
# each must print are in VALUES / ALLOWED; a new variable needs an entry there.

bats_require_minimum_version 1.5.0

COMMANDS=(
  'status        CLUSTER NAMESPACE OUTPUT'
  'list          APP CLUSTER NAMESPACE OUTPUT TIMEOUT SOURCE'
  # 'snapshot      APP CLUSTER NAMESPACE OUTPUT TIMEOUT'
  # 'snapshot-all  CLUSTER NAMESPACE OUTPUT TIMEOUT'
  # 'unlock        APP CLUSTER NAMESPACE OUTPUT TIMEOUT'
  'restore       APP CLUSTER NAMESPACE OUTPUT TIMEOUT SNAPSHOT YES DRY_RUN KEEP SOURCE'
)

# values that no variable accepts (every one of the long list: test/unit/hostile.test.ts)
COMMON=('a;id' '$(id)' "a'b" $'a\nb' '../etc' 'a: b')
# per variable: more values it must refuse ('' = empty, where the variable is required).
# (printf -v, not $(printf): this file's top level runs again in every test's
# process, and a command substitution is a fork)
printf -v _a41 'a%.0s' {1..41}
printf -v _a64 'a%.0s' {1..64}
printf -v _a254 'a%.0s' {1..254}
declare -A VALUES=(
  [APP]="'' $_a41 a_b"
  [CLUSTER]="$_a64 a.b"
  [NAMESPACE]="$_a64 a.b"
  [OUTPUT]='yaml JSON'
  [TIMEOUT]='30 169h'
  [SNAPSHOT]='-1 2026-02-30T00:00:00Z'
  [YES]='yes 1'
  [DRY_RUN]='yes 1'
  [KEEP]='yes 1'
  [SOURCE]="$_a254 a..b"
)
unset _a41 _a64 _a254
NAME_RULE="is not a valid Kubernetes name: use at most %s lower-case letters, digits and '-', starting and ending with a letter or digit"
printf -v _rule40 "$NAME_RULE" 40
printf -v _rule63 "$NAME_RULE" 63
declare -A ALLOWED=(
  [APP]=$_rule40
  [CLUSTER]=$_rule63
  [NAMESPACE]=$_rule63
  [OUTPUT]='must be table or json'
  [TIMEOUT]='is not a duration: use a number with a unit, such as 90s, 30m or 1h30m (at most 168h)'
  [SNAPSHOT]='is not a snapshot selector: use an offset (0 = latest, 1 = the one before, ...), a restic snapshot id (8 to 64 hex digits, as shown by volsync:list) or an RFC 3339 time such as 2026-11-26T04:00:00Z'
  [YES]='must be true or false'
  [DRY_RUN]='must be true or false'
  [KEEP]='must be true or false'
  [SOURCE]="is not a valid ReplicationSource name: use at most 253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
)
unset _rule40 _rule63
# through task (slower): a representative subset, incl. task's own template syntax
TASK_VALUES=('$(id)' $'a\nb' "a'b" '{{.ROOT_DIR}}')

setup() {
  load helpers/common
  common_setup
}

# values VAR: the hostile values of VAR, one per line in $TEST_DIR/values.N
values() {
  local var=$1 i=0 v
  local -a extra
  eval "extra=(${VALUES[$var]})"
  for v in "${COMMON[@]}" "${extra[@]}"; do
    printf '%s' "$v" >"$TEST_DIR/value.$i"
    i=$((i + 1))
  done
  echo "$i"
}

# valid_args COMMAND VAR MODE: good values for the required variables other than VAR
valid_args() {
  [[ " ${1} " == *' APP '* && $2 != APP ]] || return 0
  if [[ $3 == task ]]; then echo 'APP=odoo'; else echo '--app=odoo'; fi
}

# expect_rejected COMMAND VAR MODE VALUE_FILE...: each value exits 2 with the
# message for VAR, kubectl untouched; runs two at a time
expect_rejected() {
  local cmd=$1 var=$2 mode=$3
  shift 3
  local flag=${var,,}
  flag=${flag//_/-}
  local vars_line='' extra file value line
  for line in "${COMMANDS[@]}"; do [[ ${line%% *} == "$cmd" ]] && vars_line=$line; done
  extra=$(valid_args "$vars_line" "$var" "$mode")
  local -a pids=()
  for file in "$@"; do
    (
      # read, not $(cat): no process, and every byte kept (a trailing newline too)
      IFS= read -r -d '' value <"$file" || true
      rc=0
      if [[ $mode == task ]]; then
        (cd "$ROOT" && exec task -x "volsync:$cmd" ${extra:+"$extra"} "$var=$value") >"$file.out" 2>&1 || rc=$?
      else
        script "$cmd" ${extra:+"$extra"} "--$flag=$value" >"$file.out" 2>&1 || rc=$?
      fi
      echo "$rc" >"$file.rc"
    ) &
    pids+=($!)
    if ((${#pids[@]} >= 2)); then
      wait "${pids[0]}" || true
      pids=("${pids[@]:1}")
    fi
  done
  # only our jobs: a bare `wait` would also wait for bats' BATS_TEST_TIMEOUT watchdog
  wait "${pids[@]}" || true
  local failures=''
  for file in "$@"; do
    local rc out
    IFS= read -r -d '' value <"$file" || true
    read -r rc <"$file.rc"
    IFS= read -r -d '' out <"$file.out" || true
    out=${out%$'\n'}
    if [[ $rc != 2 ]]; then
      failures+="$var=$(printf '%q' "$value"): exit $rc, not 2: $out"$'\n'
    elif [[ -z $value && $out != *"$var (--$flag) is required"* ]]; then
      failures+="$var='' (required): no 'is required' message: $out"$'\n'
    elif [[ -n $value && $out != *"$var (--$flag) "*"${ALLOWED[$var]}"* && ! ($mode == task && $value == '{{'*) ]]; then
      failures+="$var=$(printf '%q' "$value"): message does not say what is allowed: $out"$'\n'
    fi
  done
  [[ -z $failures ]] || fail "$failures"
  unstub kubectl
}

hostile_script() {
  local cmd=$1 var=$2 n i files=()
  n=$(values "$var")
  for ((i = 0; i < n; i++)); do files+=("$TEST_DIR/value.$i"); done
  expect_rejected "$cmd" "$var" script "${files[@]}"
}

hostile_task() {
  local cmd=$1 var=$2 i files=()
  for ((i = 0; i < ${#TASK_VALUES[@]}; i++)); do
    printf '%s' "${TASK_VALUES[$i]}" >"$TEST_DIR/value.$i"
    files+=("$TEST_DIR/value.$i")
  done
  expect_rejected "$cmd" "$var" task "${files[@]}"
}

for _command_line in "${COMMANDS[@]}"; do
  read -r _command _vars <<<"$_command_line"
  for _var in $_vars; do
    bats_test_function --description "$_command refuses every hostile $_var with exit 2 before any kubectl call" -- hostile_script "$_command" "$_var"
    bats_test_function --description "task volsync:$_command refuses hostile $_var values with exit 2 before any kubectl call" -- hostile_task "$_command" "$_var"
  done
done

@test "the hostile values reach the script intact (the test itself is sound)" {
  run -2 script status "--cluster=$(printf 'a\nb')"
  assert_output --partial '"a\nb"'
  run -2 script status '--cluster=$(id)'
  assert_output --partial '"$(id)"'
  unstub kubectl
}

@test "task evaluates {{...}} in values itself: an unknown template function stops task before the script runs" {
  run run_task volsync:status 'CLUSTER={{exec "id"}}'
  assert_failure
  assert_output --partial 'function "exec" not defined'
  unstub kubectl
}

@test "CLUSTER=all (every cluster at once) is refused, before any kubectl call, by a command that acts on one cluster" {
  run -2 script list --app=odoo --cluster=all
  assert_output 'error: CLUSTER (--cluster) all (every cluster at once) is not available for list: name one cluster'
  run -2 run_task volsync:restore APP=odoo CLUSTER=all DRY_RUN=true
  assert_line 'error: CLUSTER (--cluster) all (every cluster at once) is not available for restore: name one cluster'
  unstub kubectl
}
