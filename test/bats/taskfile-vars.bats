#!/usr/bin/env bats
# The variables of one included Taskfile never reach another's tasks.
# go-task merges the global vars of every included Taskfile into one set, and
# which file wins a name depends on the order the includes are read in (at
# random). A global NAMESPACE in the sandbox Taskfile once made half of all
# `task volsync:status` runs read namespace "demo" only.

setup() {
  load helpers/common
  common_setup
}

# the command line task would run (dry run: nothing is executed)
planned() {
  (cd "$ROOT" && task --dry --verbose "$@" 2>&1) | sed -n 's/^task: \[[^]]*\] //p'
}

@test "the volsync tasks get no NAMESPACE, APP or other value from the sandbox Taskfile, run after run" {
  local task i line
  for task in status list snapshot snapshot-all unlock; do
    for ((i = 0; i < 12; i++)); do
      line=$(planned "volsync:$task" APP=odoo CLUSTER=apps)
      [[ $line == *"/scripts/$task.ts "* ]] || fail "volsync:$task ran no script: $line"
      [[ $line == *" --namespace='' "* ]] || fail "volsync:$task got a namespace it was not given: $line"
      [[ $line != *demo* ]] || fail "volsync:$task got the sandbox's app: $line"
    done
  done
  unstub kubectl
}

@test "sandbox:up takes APP and NAMESPACE from its own command line only" {
  local i
  for ((i = 0; i < 12; i++)); do
    run -0 planned sandbox:up
    assert_output --partial 'SANDBOX_APP=demo SANDBOX_NAMESPACE=demo '
    run -0 planned sandbox:up APP=blog
    assert_output --partial 'SANDBOX_APP=blog SANDBOX_NAMESPACE=blog '
    run -0 planned sandbox:up APP=blog NAMESPACE=web
    assert_output --partial 'SANDBOX_APP=blog SANDBOX_NAMESPACE=web '
  done
  unstub kubectl
}
