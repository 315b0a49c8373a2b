# Plan, run, verify: the stub API used by every bats test.
#   stub <command> '<glob over args> : <bash answer>' ...   plan calls
#   unstub <command>                                        verify them
#   stub_calls <command>                                    print the calls made
#   plan_error <message>                                    a plan that cannot be made: unstub fails

stub() {
  local name=$1
  shift
  if [[ ! -e $STUB_BIN/$name ]]; then
    [[ -d $STUB_DIR && -d $STUB_BIN ]] || mkdir -p "$STUB_DIR" "$STUB_BIN"
    ln -sf "$HELPERS/stub-command" "$STUB_BIN/$name"
  fi
  : >>"$STUB_DIR/$name.plan"
  local line
  for line in "$@"; do printf '%s\n' "$line" >>"$STUB_DIR/$name.plan"; done
}

unstub() {
  local name=$1 plan="$STUB_DIR/$1.plan" n=0 missing=() line
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    [[ -f "$STUB_DIR/$name.used.$n" ]] || missing+=("$line")
  done <"$plan"
  local errors=''
  if ((${#missing[@]})); then
    errors+="planned calls of $name that did not happen:"$'\n'
    for line in "${missing[@]}"; do errors+="  ${line%% : *}"$'\n'; done
  fi
  if [[ -s "$STUB_DIR/plan.errors" ]]; then
    errors+="the test's plan is broken:"$'\n'
    while IFS= read -r line; do errors+="  $line"$'\n'; done <"$STUB_DIR/plan.errors"
  fi
  if [[ -s "$STUB_DIR/$name.unexpected" ]]; then
    errors+="unexpected calls of $name:"$'\n'
    while IFS= read -r line; do errors+="  $line"$'\n'; done <"$STUB_DIR/$name.unexpected"
  fi
  if [[ -n $errors ]]; then
    printf '%s' "$errors" | fail
    return 1
  fi
}

stub_calls() {
  local calls=''
  # read, not cat: wait_for_call polls this ten times a second
  if [[ -f $STUB_DIR/$1.calls ]]; then IFS= read -r -d '' calls <"$STUB_DIR/$1.calls" || true; fi
  printf '%s' "$calls"
}

# plan_error MESSAGE: a plan helper could not build an answer (an unknown state,
# say); it runs in a command substitution, so it cannot fail the test itself:
# unstub does
plan_error() {
  mkdir -p "$STUB_DIR"
  printf '%s\n' "$*" | tee -a "$STUB_DIR/plan.errors" >&2
}
