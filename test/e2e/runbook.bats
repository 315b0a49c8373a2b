#!/usr/bin/env bats
# docs/runbooks/volsync.md runs as written. Each procedure (a "## " section)
# is one test: its ```sh blocks are pasted, in order, into one operator's
# shell. That shell starts from a clean environment, without KUBECONFIG, with
# the HOME of someone whose ~/.kube/config names another, unreachable cluster
# (as context "infra", the default CLUSTER too): a procedure reaches the tier
# only by pointing the shell at the cluster itself, as the runbook says. Every
# command that fails (bash's ERR trap, with pipefail) or prints the runbook's
# own "!! ..." failure line fails the test.
#
# The runbook's examples are real here: app odoo in namespace business (PVC
# odoo-data, Deployment odoo with 2 replicas, ReplicationSource odoo-backup),
# managed by the Flux Kustomization flux-system/odoo. Placeholders filled:
# CLUSTER=apps -> e2e; the repository root's kubeconfig-<cluster> -> the
# tier's ($VOLSYNC_OPS_ROOT, where task finds it too); the snapshot id
# 7c2d9e41 -> the oldest snapshot of odoo; the time 2026-11-25T12:00:00Z -> now.
#
# before_block makes the state a block is written for (a manual trigger left
# set; a restore killed hard); after_block checks that the block did what the
# runbook says. A restore without YES or DRY_RUN runs on a terminal (script(1))
# and is answered "y". Blocks that cannot run here are parsed instead (see
# block_mode): bash -n, task lines as `task --dry`, kubectl lines against an
# unreachable server, where a wrong flag still fails.

RUNBOOK="$BATS_TEST_DIRNAME/../../docs/runbooks/volsync.md"
NS=business
APP=odoo

# runbook_sections: the "## " headings that hold ```sh blocks, in order
runbook_sections() { awk '/^## /{s=substr($0,4)} /^ *```sh$/{print s}' "$RUNBOOK" | uniq; }

# section_blocks HEADING DIR: each ```sh block of the section into DIR/NN.sh,
# without the fence's indentation
section_blocks() {
  awk -v want="$1" -v dir="$2" '
    /^## / { in_section = (substr($0, 4) == want); next }
    !in_section { next }
    !inblock && match($0, /^ *```sh$/) { inblock = 1; indent = RLENGTH - 5; file = sprintf("%s/%02d.sh", dir, ++n); printf "" >file; next }
    inblock && /^ *```$/ { inblock = 0; close(file); next }
    inblock { line = $0; if (substr(line, 1, indent) ~ /^ *$/) line = substr(line, indent + 1); print line >file }
  ' "$RUNBOOK"
}

setup_file() {
  load helpers/e2e
  only_sources # snapshot-all and status read the whole cluster: only this file's source
  wait_until 180 "the namespaces of an earlier run gone" namespaces_gone "$NS" flux-system
  install_flux_crd
  install_helmrelease_crd
  create_namespace flux-system
  create_kustomization flux-system "$APP"
  create_namespace "$NS"
  create_secret "$NS" volsync-r2-secret "pw-$NS-$E2E_RUN_ID" "$(repo_url "$NS" "$APP")"
  create_pvc "$NS" "$APP-data"
  local dir
  dir=$(pvc_dir "$NS" "$APP-data")
  seed_files "$dir"
  create_deployment "$NS" "$APP" "$APP-data" 2 kustomize.toolkit.fluxcd.io/name="$APP" kustomize.toolkit.fluxcd.io/namespace=flux-system
  # a schedule that does not fire during the tests (Jan 1st), never overdue
  create_source "$NS" "$APP" "0 0 1 1 *"
  wait_until 120 "first sync" idle "$NS" "$APP-backup"
  change_files "$dir" two
  vtask volsync:snapshot APP="$APP" CLUSTER=e2e >/dev/null
  wait_until 60 "the app running" deployment_ready "$NS" "$APP" 2
  operator_home "$BATS_FILE_TMPDIR/home"
}

teardown_file() {
  load helpers/e2e
  e2e_teardown
  [[ ! -f $BATS_FILE_TMPDIR/helmrelease-crd ]] || kc delete crd helmreleases.helm.toolkit.fluxcd.io --wait=false >/dev/null 2>&1 || true
}

setup() {
  load helpers/e2e
}

teardown() {
  e2e_teardown
}

# A minimal HelmRelease CRD (group, kind and spec.suspend as Flux's), so that
# the runbook's `kubectl get kustomizations...,helmreleases... -A` has both.
install_helmrelease_crd() {
  kc get crd helmreleases.helm.toolkit.fluxcd.io >/dev/null 2>&1 && return 0
  jq -n '{apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition",
    metadata: {name: "helmreleases.helm.toolkit.fluxcd.io"},
    spec: {group: "helm.toolkit.fluxcd.io", scope: "Namespaced",
           names: {kind: "HelmRelease", listKind: "HelmReleaseList", plural: "helmreleases", singular: "helmrelease", shortNames: ["hr"]},
           versions: [{name: "v2", served: true, storage: true,
                       schema: {openAPIV3Schema: {type: "object", properties: {
                         spec: {type: "object", "x-kubernetes-preserve-unknown-fields": true},
                         status: {type: "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}}' |
    kc apply -f - >/dev/null
  touch "$BATS_FILE_TMPDIR/helmrelease-crd"
  wait_until 30 "the HelmRelease CRD established" kc get helmreleases.helm.toolkit.fluxcd.io --all-namespaces
}

# operator_home DIR: a HOME whose ~/.kube/config points at another cluster, unreachable
operator_home() {
  mkdir -p "$1/.kube"
  cat >"$1/.kube/config" <<'EOF'
apiVersion: v1
kind: Config
clusters:
- name: elsewhere
  cluster: {server: "https://127.0.0.1:9"}
users:
- name: someone
  user: {token: not-this-cluster}
contexts:
- name: infra
  context: {cluster: elsewhere, user: someone}
current-context: infra
EOF
}

# ------------------------------------------------------------ placeholders, modes, states

# fill: the runbook's example values -> this tier's
fill() {
  local text
  text=$(cat)
  if [[ $text == *7c2d9e41* ]]; then
    text=${text//7c2d9e41/$(snapshots_json "$NS" | jq -r 'sort_by(.time) | .[0].short_id')}
  fi
  text=${text//2026-11-25T12:00:00Z/$(date -u +%Y-%m-%dT%H:%M:%SZ)}
  text=${text//CLUSTER=apps/CLUSTER=e2e}
  text=${text//'$PWD/kubeconfig-'/'$VOLSYNC_OPS_ROOT/kubeconfig-'}
  printf '%s\n' "$text"
}

# block_mode TEXT: run | terminal | parse
block_mode() {
  case "$1" in
    # the sandbox is a control plane of its own (other ports, its own data)
    *'task sandbox:try'*) echo parse ;;
    # the tier runs the VolSync controller outside the cluster: no Deployment to read
    *'deployments.apps/volsync'*) echo parse ;;
    # a restore or resume that asks y/N on the terminal
    *volsync:restore* | *volsync:resume*) if [[ $1 == *YES=true* || $1 == *DRY_RUN=true* ]]; then echo run; else echo terminal; fi ;;
    *) echo run ;;
  esac
}

before_block() {
  case "$1" in
    *'"path": "/spec/trigger/manual"'*)
      # someone triggered a backup by hand and left the trigger; the sync is over
      kc -n "$NS" patch "$RS" "$APP-backup" --type merge -p '{"spec":{"trigger":{"manual":"by-hand"}}}' >/dev/null
      wait_until 120 "the manual sync done" manual_synced by-hand
      ;;
    *'kubectl delete replicationdestinations.volsync.backube -n business -l'*)
      # a restore killed hard (kill -9) once its ReplicationDestination exists
      spawn_task volsync:restore APP="$APP" CLUSTER=e2e YES=true
      wait_until 120 "the restore's ReplicationDestination" destination_exists
      kill -KILL -- "-$JOB_PID"
      # found later: its mover has finished meanwhile (while a mover runs, VolSync
      # re-creates its Job during a foreground deletion: minutes, not seconds)
      wait_until 120 "the restore's mover done" destination_synced
      [[ $(field "$NS" deployment "$APP" .spec.replicas) == 0 ]] || fail "setup: the app was not stopped"
      [[ $(field flux-system "$KS" "$APP" .spec.suspend) == true ]] || fail "setup: Flux was not suspended"
      [[ $(field "$NS" "$RS" "$APP-backup" .spec.paused) == true ]] || fail "setup: the source was not paused"
      ;;
  esac
}

after_block() {
  case "$1" in
    *'"path": "/spec/trigger/manual"'*)
      [[ -z $(field "$NS" "$RS" "$APP-backup" .spec.trigger.manual) ]] || fail "the manual trigger is still set"
      ;;
    *'kubectl delete replicationdestinations.volsync.backube -n business -l'*)
      [[ $(kc -n "$NS" get "$RD" -o json | jq '.items | length') == 0 ]] || fail "a ReplicationDestination is left"
      [[ $(field "$NS" deployment "$APP" .spec.replicas) == 2 ]] || fail "the app is not back at 2 replicas"
      [[ $(field flux-system "$KS" "$APP" .spec.suspend) == false ]] || fail "Flux is still suspended"
      [[ $(field "$NS" "$RS" "$APP-backup" '.spec.paused // false') == false ]] || fail "the source is still paused"
      [[ -z $(field "$NS" "$RS" "$APP-backup" '.metadata.annotations["volsync-ops/restore"]') ]] || fail "the restore's record is left"
      wait_until 60 "the app running" deployment_ready "$NS" "$APP" 2
      ;;
    *'volsync:snapshot-all CLUSTER=$CLUSTER TIMEOUT=2h'*)
      # the table the runbook shows has the columns the command prints
      local header
      header=$(awk '/^ *```text$/{getline; print; exit}' <(sed -n '/^## Back up everything/,/^## /p' "$RUNBOOK"))
      assert_line --regexp "^$(sed 's/^ *//; s/  */ +/g' <<<"$header")$"
      ;;
    *'SNAPSHOT=7c2d9e41'*'echo "exit: $?"'*)
      assert_line --regexp "^Restored snapshot [0-9a-f]{8} of [0-9-]+ [0-9:]+ UTC into $NS/$APP-data, took [0-9ms]+\.$"
      assert_line 'exit: 0'
      ;;
  esac
}

namespaces_gone() { ! kc get namespace "$@" -o name 2>/dev/null | grep -q .; }
manual_synced() { [[ $(field "$NS" "$RS" "$APP-backup" .status.lastManualSync) == "$1" ]] && idle "$NS" "$APP-backup"; }
destination_exists() { [[ $(kc -n "$NS" get "$RD" -o json | jq '.items | length') -gt 0 ]]; }
destination_synced() { kc -n "$NS" get "$RD" -o json | json_true '.items[0] | .status.lastManualSync == .spec.trigger.manual' >/dev/null; }

# ------------------------------------------------------------ the operator's shell

# The shell one block runs in: the variables and directory of the blocks
# before it (as one terminal keeps them), ERR and pipefail to see a failed
# command, and in parse mode task and kubectl that only check the line.
write_shell() {
  cat >"$1" <<'EOF'
__state=$1 __block=$2 __mode=$3
__baseline=$(compgen -v)
[[ ! -s $__state ]] || source "$__state"
if [[ $__mode == parse ]]; then
  task() { command task --dry "$@" >/dev/null; }
  kubectl() {
    local err
    err=$(command kubectl --kubeconfig "$HOME/.kube/config" --request-timeout=2s "$@" 2>&1 >/dev/null) && return 0
    [[ $err == *'connection refused'* || $err == *'was refused'* ]] && return 0
    printf '%s\n' "$err" >&2
    return 1
  }
fi
__failed=0
set -E -o pipefail
trap '__rc=$?; echo "runbook: exit $__rc: $BASH_COMMAND" >&2; __failed=1' ERR
source "$__block"
trap - ERR
set +E +o pipefail
__names=$(compgen -v | grep -vxF "$__baseline" | grep -v '^__')
{
  [[ -z $__names ]] || declare -p $__names
  printf 'cd %q\n' "$PWD"
} >"$__state"
exit "$__failed"
EOF
}

# run_section HEADING: every ```sh block of that section, in order, in one operator's shell
run_section() {
  local heading=$1 dir="$BATS_TEST_TMPDIR/blocks" shell="$BATS_TEST_TMPDIR/shell.bash" state="$BATS_TEST_TMPDIR/state"
  local block text mode started prepared n=0
  mkdir -p "$dir"
  section_blocks "$heading" "$dir"
  write_shell "$shell"
  printf 'cd %q\n' "$ROOT" >"$state"
  local env=(env -i HOME="$BATS_FILE_TMPDIR/home" PATH="$PATH" TZ=UTC LANG=C.UTF-8 TERM=dumb
    VOLSYNC_OPS_ROOT="$VOLSYNC_OPS_ROOT" bash --noprofile --norc)
  for block in "$dir"/*.sh; do
    n=$((n + 1))
    text=$(cat "$block")
    fill <"$block" >"$block.filled"
    run -0 bash -n "$block.filled"
    mode=$(block_mode "$text")
    started=$SECONDS
    before_block "$text"
    prepared=$SECONDS
    case $mode in
      run | parse) run "${env[@]}" "$shell" "$state" "$block.filled" "$mode" </dev/null ;;
      terminal)
        # script(1) gives the block a terminal; the restore asks y/N and reads this "y"
        SHELL=/bin/bash run script -qec "$(printf '%q ' "${env[@]}" "$shell" "$state" "$block.filled" run)" /dev/null <<<y
        output=${output//$'\r'/}
        mapfile -t lines <<<"$output"
        ;;
    esac
    # RUNBOOK_LOG=<file>: every block, its output and how long its state and its run took
    [[ -z ${RUNBOOK_LOG:-} ]] || printf '=== %s, block %d (%s), exit %s, %ss + %ss\n%s\n--- output:\n%s\n' "$heading" "$n" "$mode" "$status" $((prepared - started)) $((SECONDS - prepared)) "$(cat "$block.filled")" "$output" >>"$RUNBOOK_LOG"
    if ((status != 0)) || [[ $output == *$'\n!! '* || $output == '!! '* ]]; then
      fail "$(printf 'runbook section "%s", block %d (%s) failed (exit %s):\n%s\n--- output:\n%s' \
        "$heading" "$n" "$mode" "$status" "$text" "$output")"
    fi
    after_block "$text"
  done
  ((n > 0)) || fail "no \`\`\`sh block in section \"$heading\""
}

@test "the runbook's fenced blocks are commands (sh) or sample output (text), and it has its procedures" {
  run -0 grep -nE '^ *```' "$RUNBOOK"
  local line opening=true
  for line in "${lines[@]}"; do
    if $opening; then
      [[ $line =~ \`\`\`(sh|text)$ ]] || fail "a fenced block that is neither sh nor text: line $line"
    fi
    if $opening; then opening=false; else opening=true; fi
  done
  $opening || fail 'a fenced block is not closed'
  run -0 runbook_sections
  assert_line 'Check backup health'
  assert_line 'Restore one app'
  ((${#lines[@]} >= 8)) || fail "only ${#lines[@]} procedures: $output"
}

while IFS= read -r _section; do
  # bats evaluates the description inside double quotes (and --filter reads it before): escape it
  _description=${_section//\\/\\\\}
  _description=${_description//\"/\\\"}
  _description=${_description//\$/\\\$}
  _description=${_description//\`/\\\`}
  bats_test_function --description "runbook: $_description runs as written" -- run_section "$_section"
done < <(runbook_sections)
