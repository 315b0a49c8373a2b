#!/usr/bin/env bats
# The bats suite's canned kubectl answers (test/fixtures/) against this tier's
# API server: record-fixtures.sh validate creates every fixture object with
# strict field validation (VolSync stopped meanwhile), so a fixture field the
# real schema does not know, or a wrong type, fails here.

setup() {
  load helpers/e2e
}

teardown() {
  # validate stops VolSync while it runs; whatever happened, it runs again after
  start_component volsync
}

@test "every object in the bats fixtures passes the API server's strict validation" {
  run -0 "$E2E_DIR/record-fixtures.sh" validate
  assert_line --partial 'every fixture object passes the API server'"'"'s strict validation'
}

@test "a fixture with a field the real schema does not know fails the validation, doctor's raw lists and discovery document included" {
  # a copy of the fixtures with one unknown field in a ReplicationSource's spec
  local copy="$BATS_TEST_TMPDIR/repo"
  mkdir -p "$copy/test"
  cp -r "$E2E_DIR/../fixtures" "$copy/test/fixtures"
  jq '.items[0].spec.restic.pruneEveryDays = 7' "$E2E_DIR/../fixtures/rs-odoo.json" >"$copy/test/fixtures/rs-odoo.json"
  # and in doctor's raw lists: an unknown field in the controller's Deployment, a resource VolSync does not serve
  jq '.items |= map(if .metadata.name == "volsync" then .spec.template.spec.containers[0].pullPolicy = "Always" else . end)' \
    "$E2E_DIR/../fixtures/doctor/deployments.json" >"$copy/test/fixtures/doctor/deployments.json"
  jq '.resources += [{name: "replicationjobs", singularName: "replicationjob", namespaced: true, kind: "ReplicationJob", verbs: ["get"]}]' \
    "$E2E_DIR/../fixtures/doctor/volsync-api.json" >"$copy/test/fixtures/doctor/volsync-api.json"
  run -1 env FIXTURES_DIR="$copy/test/fixtures" "$E2E_DIR/record-fixtures.sh" validate
  assert_output --partial 'FIXTURE rs-odoo.json ReplicationSource odoo-backup'
  assert_output --partial 'unknown field "spec.restic.pruneEveryDays"'
  assert_output --partial 'FIXTURE doctor/deployments.json Deployment volsync'
  assert_output --partial 'unknown field "spec.template.spec.containers[0].pullPolicy"'
  assert_output --partial 'FIXTURE doctor/volsync-api.json APIResourceList volsync.backube/v1alpha1: the API server serves another document'
  assert_output --partial '3 fixture object(s) do not match'
}
