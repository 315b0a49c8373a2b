#!/usr/bin/env bats
# Any naming (README.md, "Which ReplicationSource"): APP finds a source that
# is not called <app>-backup, and every command then uses what that source
# says (its PVC, its repository Secret), never volsync-r2-secret or
# <app>-data; two sources of one app are refused until SOURCE names one.

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

# named_source NS NAME PVC SECRET [LABELS_JSON]: a ReplicationSource of any
# name, backing up PVC with the repository Secret SECRET; VolSync's first
# sync (at creation) runs, and is waited for
named_source() {
  local ns=$1 name=$2 pvc=$3 secret=$4 labels=${5:-'{}'}
  jq -n --arg name "$name" --arg pvc "$pvc" --arg secret "$secret" --arg schedule "$SCHEDULE" --argjson labels "$labels" '{
    apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource",
    metadata: ({name: $name} + if $labels == {} then {} else {labels: $labels} end),
    spec: {sourcePVC: $pvc, trigger: {schedule: $schedule},
           restic: {repository: $secret, copyMethod: "Direct", retain: {last: "50"},
                    moverSecurityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}}}}' |
    kc -n "$ns" apply -f - >/dev/null
  wait_until 120 "first sync of $ns/$name" idle "$ns" "$name"
}

# secret_restic NS SECRET ARGS...: restic here, with the credentials of that Secret
secret_restic() {
  local ns=$1 secret=$2 env
  shift 2
  env=$(kc -n "$ns" get secret "$secret" -o json | jq -r '.data | to_entries[] | "\(.key)=\(.value | @base64d)"')
  (
    while IFS= read -r kv; do export "${kv?}"; done <<<"$env"
    restic --no-cache "$@"
  )
}

# ids NS SECRET: the snapshot ids of that repository, sorted
ids() { secret_restic "$1" "$2" snapshots --json --no-lock | jq -c '[.[].id] | sort'; }

@test "a source named <app>, with a Secret and a PVC of other names: snapshot, list and restore use what it says" {
  local ns=nm-plain
  create_namespace "$ns"
  create_secret "$ns" wiki-restic "pw-wiki-$E2E_RUN_ID" "$(repo_url "$ns" wiki)"
  create_pvc "$ns" wiki-files
  local dir
  dir=$(pvc_dir "$ns" wiki-files)
  seed_files "$dir"
  create_deployment "$ns" wiki wiki-files 1
  named_source "$ns" wiki wiki-files wiki-restic
  [[ -z $(kc -n "$ns" get secret volsync-r2-secret --ignore-not-found -o name) ]]
  local before
  before=$(ids "$ns" wiki-restic)

  run -0 --separate-stderr vtask volsync:snapshot APP=wiki CLUSTER=e2e
  assert_line --regexp '^Backup of nm-plain/wiki finished: Successful'
  [[ $stderr == *'APP=wiki: ReplicationSource nm-plain/wiki, named wiki, like the app (there is no wiki-backup)'* ]] ||
    fail "snapshot does not say which rule found the source: $stderr"
  local after new
  after=$(ids "$ns" wiki-restic)
  new=$(jq -nr --argjson a "$after" --argjson b "$before" '$a - $b | .[]')
  [[ $(wc -l <<<"$new") == 1 && -n $new ]] || fail "not one new snapshot in wiki-restic's repository: $before -> $after"
  assert_line "New restic snapshot: ${new:0:8}"

  run -0 --separate-stderr vtask volsync:list APP=wiki CLUSTER=e2e OUTPUT=json
  json_true --argjson ids "$after" '.source == "nm-plain/wiki" and ([.snapshots[].id] | sort) == $ids' <<<"$output" >/dev/null

  # the PVC changes; the restore brings back the snapshot, into wiki-files
  cp -a "$dir" "$BATS_TEST_TMPDIR/backed-up"
  change_files "$dir" later
  run -0 vtask volsync:restore APP=wiki CLUSTER=e2e YES=true
  assert_line '  source        ReplicationSource nm-plain/wiki, named wiki, like the app'
  assert_line '  repository    Secret nm-plain/wiki-restic (from nm-plain/wiki)'
  assert_line --regexp "^Restored snapshot ${new:0:8} .* into nm-plain/wiki-files"
  same_tree "$BATS_TEST_TMPDIR/backed-up" "$dir" || fail 'wiki-files differs from the snapshot'
}

@test "two sources for one app: APP alone is refused, listing both; SOURCE picks one, and only its repository changes" {
  local ns=nm-two
  create_namespace "$ns"
  create_secret "$ns" shop-r2 "pw-r2-$E2E_RUN_ID" "$(repo_url "$ns" shop-r2)"
  create_secret "$ns" shop-local "pw-local-$E2E_RUN_ID" "$(repo_url "$ns" shop-local)"
  create_pvc "$ns" shop-data
  seed_files "$(pvc_dir "$ns" shop-data)"
  # both back up shop-data: one found by its label, the other by its PVC
  named_source "$ns" shop-r2 shop-data shop-r2 '{"app.kubernetes.io/name": "shop"}'
  named_source "$ns" shop-local shop-data shop-local

  run -2 vtask volsync:list APP=shop CLUSTER=e2e
  assert_output --partial - <<'EOF'
error: APP=shop matches 2 ReplicationSources in cluster e2e:
  nm-two/shop-local  its sourcePVC is shop-data
  nm-two/shop-r2     labelled app.kubernetes.io/name=shop
Say which with SOURCE=<name> (--source).
EOF
  run -2 vtask volsync:snapshot APP=shop CLUSTER=e2e
  assert_line 'Say which with SOURCE=<name> (--source).'

  local r2 local_before
  r2=$(ids "$ns" shop-r2)
  local_before=$(ids "$ns" shop-local)
  run -0 vtask volsync:snapshot APP=shop SOURCE=shop-local CLUSTER=e2e
  assert_line --regexp '^Backup of nm-two/shop-local finished: Successful'
  [[ $(ids "$ns" shop-r2) == "$r2" ]] || fail "shop-r2's repository changed"
  [[ $(jq length <<<"$(ids "$ns" shop-local)") == $(($(jq length <<<"$local_before") + 1)) ]] ||
    fail "no new snapshot in shop-local's repository"

  run -0 --separate-stderr vtask volsync:list APP=shop SOURCE=shop-r2 CLUSTER=e2e OUTPUT=json
  json_true --argjson ids "$r2" '.source == "nm-two/shop-r2" and ([.snapshots[].id] | sort) == $ids' <<<"$output" >/dev/null
}
