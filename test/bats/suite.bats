#!/usr/bin/env bats
# The test suites themselves: habits that keep an assertion able to fail.

setup() {
  load helpers/common
}

@test "no bats test asserts with jq's bare exit status (it passes on empty input): json_true does" {
  run -1 grep -n 'jq -[e]' "$ROOT"/test/bats/*.bats "$ROOT"/test/e2e/*.bats
  assert_output ''
}

@test "json_true fails on empty input, on false and on what is not JSON, and passes on true" {
  run ! json_true '.ok' <<<''
  assert_output --partial 'no JSON to test'
  run ! json_true '.ok' <<<'{"ok": false}'
  run ! json_true '.ok' <<<'not json'
  run -0 json_true '.ok' <<<'{"ok": true}'
}
