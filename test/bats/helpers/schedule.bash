# shellcheck shell=bash
# The fixtures' schedule, "0 */8 * * *" (00:00, 08:00 and 16:00 UTC), and what
# a script prints about its backups to come: the exact texts, whenever the
# test runs. A script reads the clock once, at a time the test only brackets:
# `run_bracketed` records the epoch seconds before and after the run, and the
# texts are those of every second in between (a run that crosses 16:00 may
# name either backup). In bash, without a process.

EVERY_8H=28800

# run_bracketed ARGS...: `run ARGS...`, with RUN_T0 and RUN_T1 the epoch
# seconds before and after it
run_bracketed() {
  RUN_T0=$EPOCHSECONDS
  run "$@"
  RUN_T1=$EPOCHSECONDS
}

# age_text SECONDS: lib/output.ts formatAge's text in REPLY (32m12s, 7d23h)
age_text() {
  local s=$1 m h
  m=$((s / 60)) h=$((s / 3600))
  if ((s < 60)); then
    REPLY="${s}s"
  elif ((m < 60)); then
    REPLY="${m}m"
    if ((s % 60)); then REPLY+="$((s % 60))s"; fi
  elif ((h < 48)); then
    REPLY="${h}h"
    if ((m % 60)); then REPLY+="$((m % 60))m"; fi
  else
    REPLY="$((h / 24))d"
    if ((h % 24)); then REPLY+="$((h % 24))h"; fi
  fi
}

# backup_texts N FORMAT: in BACKUP_TEXTS, the texts the last run_bracketed
# may print for the Nth scheduled backup after its clock read: FORMAT with
# %at (the backup's "YYYY-MM-DD HH:MM UTC"), %iso (its
# "YYYY-MM-DDTHH:MM:00.000Z") and %in (the time until it, as formatAge
# prints it) replaced. The clock read lies in [RUN_T0, RUN_T1 + 1): the time
# until the backup, rounded to the second, is at - sec or at - sec - 1 for
# the second sec that it read.
backup_texts() {
  local n=$1 format=$2 sec at text s
  local -x TZ=UTC
  BACKUP_TEXTS=()
  for ((sec = RUN_T0; sec <= RUN_T1; sec++)); do
    at=$(((sec / EVERY_8H + n) * EVERY_8H))
    for s in $((at - sec)) $((at - sec - 1)); do
      age_text "$s"
      text=${format//%in/$REPLY}
      printf -v REPLY '%(%Y-%m-%d %H:%M UTC)T' "$at"
      text=${text//%at/$REPLY}
      printf -v REPLY '%(%Y-%m-%dT%H:%M:00.000Z)T' "$at"
      text=${text//%iso/$REPLY}
      BACKUP_TEXTS+=("$text")
    done
  done
}

# assert_backup_line N FORMAT [TEXT]: TEXT (default: the output) has a line
# that is one of backup_texts N FORMAT
assert_backup_line() {
  local text=${3-$output} line candidate
  backup_texts "$1" "$2"
  while IFS= read -r line; do
    for candidate in "${BACKUP_TEXTS[@]}"; do
      [[ $line == "$candidate" ]] && return 0
    done
  done <<<"$text"
  {
    echo "no line is one of the texts expected for scheduled backup number $1 counted from a clock read in [$RUN_T0, $RUN_T1]:"
    printf '  %s\n' "${BACKUP_TEXTS[@]}"
    echo 'output:'
    printf '%s\n' "$text"
  } | fail
}
