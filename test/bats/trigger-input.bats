#!/usr/bin/env bats
# snapshot, snapshot-all, unlock: every bad value is refused with exit 2
# before the first kubectl call (the stub has no planned call: any call fails
# unstub).

setup() {
  load helpers/common
  common_setup
}

# rejects VARIABLE SCRIPT ARGS...: the script exits 2, names VARIABLE, never calls kubectl
rejects() {
  local variable=$1 name=$2
  shift 2
  run -2 script "$name" --kubeconfig "$KC" "$@"
  assert_output --partial "$variable"
  unstub kubectl
}

HOSTILE=(
  'odoo; rm -rf /'
  '$(id)'
  '`id`'
  "odoo' || true"
  'a b'
  $'odoo\nx'
  '../etc'
  'Odoo'
  '-odoo'
  '{{.APP}}'
  '{.items[*]}'
  'odoo: {x: 1}'
)

# the flags each command needs besides the one under test (values given as --flag=value, as the Taskfile does)
declare -gA BASE=([snapshot]='--app=odoo' [unlock]='--app=odoo' [snapshot-all]='--cluster=apps')

@test "snapshot and unlock refuse every hostile APP with exit 2 and no kubectl call" {
  local value
  for value in "${HOSTILE[@]}" "$(printf 'a%.0s' {1..41})"; do
    rejects 'APP (--app)' snapshot --cluster=apps --app="$value"
  done
  rejects 'APP (--app) is required' snapshot --cluster=apps --app=
  rejects 'APP (--app) is required' unlock --cluster=apps
  for value in 'odoo; id' '../etc' $'a\nb'; do
    rejects 'APP (--app)' unlock --cluster=apps --app="$value"
  done
}

@test "all three commands refuse hostile CLUSTER and NAMESPACE values with exit 2 and no kubectl call" {
  local name value
  for value in "${HOSTILE[@]:0:6}"; do
    rejects 'CLUSTER (--cluster)' snapshot --app=odoo --cluster="$value"
  done
  for value in "${HOSTILE[@]:6}"; do
    rejects 'NAMESPACE (--namespace)' snapshot-all --namespace="$value"
  done
  for name in unlock snapshot-all; do
    for value in '$(id)' $'x\ny'; do
      rejects 'CLUSTER (--cluster)' "$name" ${BASE[$name]} --cluster="$value"
    done
  done
  for name in snapshot unlock; do
    for value in 'Business' 'ns/x'; do
      rejects 'NAMESPACE (--namespace)' "$name" ${BASE[$name]} --namespace="$value"
    done
  done
}

@test "all three commands refuse a bad TIMEOUT, OUTPUT or KUBECONFIG with exit 2 and no kubectl call" {
  local name value
  for value in 10 forever 0s -5m 1d 200h '30m; id' ' 30m'; do
    rejects 'TIMEOUT (--timeout)' snapshot --app=odoo --timeout="$value"
  done
  for name in snapshot unlock snapshot-all; do
    rejects 'TIMEOUT (--timeout)' "$name" ${BASE[$name]} --timeout=forever
    rejects 'OUTPUT (--output)' "$name" ${BASE[$name]} --output=yaml
    run -2 script "$name" ${BASE[$name]} --kubeconfig=$'kube\nconfig'
    assert_output --partial 'KUBECONFIG (--kubeconfig)'
    unstub kubectl
  done
}

@test "flags a command does not take, and stray arguments, are refused with exit 2" {
  rejects 'unknown flag --yes' snapshot --app odoo --yes
  rejects 'unknown flag --app' snapshot-all --app odoo
  rejects 'unknown flag --snapshot' unlock --app odoo --snapshot 1
  rejects 'unexpected argument "now"' snapshot --app odoo now
  rejects 'APP (--app) was given more than once' snapshot --app odoo --app plex
}

@test "task refuses hostile variables with exit 2, and a missing APP through requires, before any kubectl call" {
  run -2 run_task volsync:snapshot APP='odoo; id' CLUSTER=apps KUBECONFIG="$KC"
  assert_output --partial 'APP (--app) "odoo; id" is not a valid Kubernetes name'
  run -2 run_task volsync:unlock APP=odoo CLUSTER='$(id)' KUBECONFIG="$KC"
  assert_output --partial 'CLUSTER (--cluster) "$(id)" is not a valid Kubernetes name'
  run -2 run_task volsync:snapshot-all CLUSTER=apps NAMESPACE='a b' KUBECONFIG="$KC"
  assert_output --partial 'NAMESPACE (--namespace) "a b" is not a valid Kubernetes name'
  run -2 run_task volsync:snapshot APP=odoo TIMEOUT=forever KUBECONFIG="$KC"
  assert_output --partial 'TIMEOUT (--timeout) "forever" is not a duration'
  # not given at all: the task's `requires` stops it (go-task's exit code)
  local name
  for name in snapshot unlock list restore; do
    run -206 run_task "volsync:$name" CLUSTER=apps KUBECONFIG="$KC"
    assert_output --partial "task: Task \"volsync:$name\" cancelled because it is missing required variables: APP"
  done
  # given empty: the script refuses it
  run -2 run_task volsync:snapshot APP= CLUSTER=apps KUBECONFIG="$KC"
  assert_output --partial 'APP (--app) is required'
  run -2 run_task volsync:unlock APP= CLUSTER=apps KUBECONFIG="$KC"
  assert_output --partial 'APP (--app) is required'
  unstub kubectl
}

@test "--help of each command prints its usage and changes nothing" {
  local name
  for name in snapshot snapshot-all unlock; do
    run -0 script "$name" --help
    assert_line --partial "Usage:"
    assert_line --partial "tsx scripts/$name.ts"
  done
  run -0 script snapshot --help
  assert_line --regexp '^  --timeout <duration> +TIMEOUT +give up waiting after this long: '
  assert_line --regexp '^ +\(default: 30m\)$'
  run -0 script snapshot-all --help
  assert_line --regexp '^ +\(default: 1h\)$'
  unstub kubectl
}
