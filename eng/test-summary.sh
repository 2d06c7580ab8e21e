#!/usr/bin/env bash
# Turns dotnet test's per-assembly result lines ("Passed!  - Failed: 0, Passed: 52, Skipped: 1, ...")
# into one plain closing line "tests: N passed, N failed, N skipped" that CI and people can read at a glance.
set -euo pipefail
log=${1:?usage: test-summary.sh LOGFILE}
awk '
  /(Passed|Failed)!  *- *Failed:/ {
    for (i = 1; i <= NF; i++) {
      v = $(i+1); gsub(/,/, "", v)
      if ($i == "Failed:")  f += v
      if ($i == "Passed:")  p += v
      if ($i == "Skipped:") s += v
    }
    seen = 1
  }
  END {
    if (!seen) { print "tests: no test results found in the log"; exit 1 }
    printf "tests: %d passed, %d failed, %d skipped\n", p, f, s
  }' "$log"
