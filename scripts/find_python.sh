#!/bin/sh
# Print the newest Python 3.11 or newer on PATH: the highest python3.X that runs and is new enough, else python3
# when it is. Each candidate is run, not only found, because a pyenv shim exists for every installed version but
# fails for those not selected. Exits 1, printing nothing, when there is none. The Makefile's default PY.
set -u

candidates=$(
  IFS=:
  for dir in $PATH; do
    for path in "$dir"/python3.*; do
      name=${path##*/}
      case $name in python3.*[!0-9]* | python3.) continue ;; esac
      [ -x "$path" ] && echo "$name"
    done
  done | sort -u -t. -k2,2nr
)

for name in $candidates python3; do
  if "$name" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; then
    echo "$name"
    exit 0
  fi
done
exit 1
