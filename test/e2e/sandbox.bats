#!/usr/bin/env bats
# task sandbox:up as a new user runs it, on this tier's control plane (its run
# directory and a kubeconfig-sandbox beside kubeconfig-e2e): the first backup
# is taken and has a snapshot, each app has its own Secret and repository,
# and the next steps it prints work as printed.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

# sandbox_up APP NAMESPACE: `task sandbox:up APP=... NAMESPACE=...`, pointed at this tier
sandbox_up() {
  SANDBOX_RUN_DIR=$E2E_RUN_DIR SANDBOX_KUBECONFIG=$VOLSYNC_OPS_ROOT/kubeconfig-sandbox \
    vtask sandbox:up APP="$1" NAMESPACE="$2"
}

# secret_value NS SECRET KEY
secret_value() { kc -n "$1" get secret "$2" -o json | jq -r --arg k "$3" '.data[$k] | @base64d'; }

# printed_snapshot: the snapshot `sandbox:up` reports in $output
printed_snapshot() { sed -n 's/^  backup: *snapshot \([0-9a-f]\{8\}\)$/\1/p' <<<"$output"; }

# list_ids APP NS: the short ids volsync:list shows for the app, as a JSON array
list_ids() {
  vtask volsync:list CLUSTER=sandbox APP="$1" NAMESPACE="$2" OUTPUT=json 2>/dev/null | jq -c '[.snapshots[].short_id]'
}

@test "sandbox:up for two apps in one namespace: each its own Secret and repository, a first backup each, next steps that work" {
  local ns="sb-$E2E_RUN_ID" blog web step
  echo "$ns" >>"$NAMESPACES_FILE"

  run -0 sandbox_up blog "$ns"
  # the first backup holds the sample files (4), and sandbox:up names it
  run -0 --separate-stderr vtask volsync:list CLUSTER=sandbox APP=blog NAMESPACE="$ns" OUTPUT=json
  json_true '(.snapshots | length) == 1 and .snapshots[0].summary.total_files_processed == 4' <<<"$output"
  blog=$(list_ids blog "$ns")

  run -0 sandbox_up web "$ns"
  [[ $(printed_snapshot) == $(jq -r '.[0]' <<<"$(list_ids web "$ns")") ]] || fail "sandbox:up did not name the first backup: $output"
  web=$(list_ids web "$ns")
  json_true --argjson blog "$blog" 'length == 1 and (. - $blog) == .' <<<"$web"
  # blog still lists only its own snapshot
  [[ $(list_ids blog "$ns") == "$blog" ]] || fail "blog lists $(list_ids blog "$ns"), not its own $blog"

  # two Secrets naming two repositories
  local blog_secret web_secret
  blog_secret=$(field "$ns" "$RS" blog-backup .spec.restic.repository)
  web_secret=$(field "$ns" "$RS" web-backup .spec.restic.repository)
  [[ $blog_secret != "$web_secret" ]] || fail "both sources use Secret $blog_secret"
  [[ $(secret_value "$ns" "$blog_secret" RESTIC_REPOSITORY) != $(secret_value "$ns" "$web_secret" RESTIC_REPOSITORY) ]]

  # both healthy: the last sync of each saved a snapshot
  run -0 vtask volsync:status CLUSTER=sandbox NAMESPACE="$ns"
  assert_line "2 healthy, 0 need attention (namespace $ns of cluster sandbox)"

  # sandbox:up of the first app again: no new backup, nothing of the second's touched
  run -0 sandbox_up blog "$ns"
  [[ $(jq -c '[.[0]]' <<<"$blog") == "[\"$(printed_snapshot)\"]" ]] || fail "a rerun took another backup or lost the first: $output"
  local -a steps=()
  mapfile -t steps < <(sed -n 's/^\(Try:\)\{0,1\} *task \(volsync:.*\)$/\2/p' <<<"$output")
  [[ $(list_ids web "$ns") == "$web" ]] || fail "web lists $(list_ids web "$ns") after blog's rerun, not $web"

  # the next steps it printed, run as printed
  ((${#steps[@]} == 2)) || fail "expected 2 volsync steps in: $output"
  for step in "${steps[@]}"; do
    # shellcheck disable=SC2086 # the printed words, as a shell splits them
    run -0 vtask $step
  done
}
