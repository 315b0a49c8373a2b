# shellcheck shell=bash
# Sourced by both bats suites (bats: common_setup; e2e: helpers/apps.bash):
# the tests run in an operator's plain shell whatever the caller's. On a CI
# runner (CI=true), with FORCE_COLOR or a TASK_* setting, or a taskrc under
# XDG_CONFIG_HOME, go-task colours or changes its own output (--list,
# --summary, command echo) even without a terminal; COLUMNS would change the
# width of our tables (80 unless a test sets COLUMNS); times are UTC.
unset CI FORCE_COLOR CLICOLOR_FORCE XDG_CONFIG_HOME
# every exported TASK_* (${!TASK_@} also names the test's own shell variables); no process
for _var in "${!TASK_@}"; do
  if [[ ${!_var@a} == *x* ]]; then unset "$_var"; fi
done
unset _var
unset COLUMNS LINES
export TZ=UTC
# Node 20 reads and parses the whole CA bundle NODE_EXTRA_CA_CERTS names at
# every start (0.12 s of CPU on the development machine, half of a script's
# run; the suites start Node about 700 times). Nothing the tests run makes a
# TLS connection from Node: kubectl (Go) uses its kubeconfig's CA.
unset NODE_EXTRA_CA_CERTS
