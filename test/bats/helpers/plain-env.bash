# shellcheck shell=bash
# Sourced by both bats suites (bats: common_setup; e2e: helpers/apps.bash):
# the tests run in an operator's plain shell whatever the caller's. On a CI
# runner (CI=true), with FORCE_COLOR or a TASK_* setting, or a taskrc under
# XDG_CONFIG_HOME, go-task colours or changes its own output (--list,
# --summary, command echo) even without a terminal; COLUMNS would change the
# width of our tables (80 unless a test sets COLUMNS); times are UTC.
unset CI FORCE_COLOR CLICOLOR_FORCE XDG_CONFIG_HOME $(compgen -e -X '!TASK_*')
unset COLUMNS LINES
export TZ=UTC
