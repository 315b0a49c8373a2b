# json_true [JQ_OPTION...] FILTER [FILE]: jq -e as an assertion, which also
# fails when there is no JSON at all. (jq -e exits 0 on empty input, so a
# command that printed nothing would pass every `jq -e ... <<<"$output"`.)
json_true() {
  local result rc=0
  result=$(jq -e "$@") || rc=$?
  if ((rc != 0)); then
    fail "jq -e $*: ${result:-no result} (exit $rc)"
    return 1
  fi
  if [[ -z $result ]]; then
    fail "jq -e $*: no JSON to test (empty input)"
    return 1
  fi
}
