#!/usr/bin/env bash
# Runs every test in the solution and ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
scripts/setup.sh || exit 1
log=$(mktemp)
dotnet test DistributedBackprop.sln -c Release 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summaries=$(grep -E '^(Passed|Failed)! ' "$log")
passed=$(grep -Eo 'Passed: +[0-9]+' <<<"$summaries" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' <<<"$summaries" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
# A build error or a crashed test host fails the run even where no test reported failing.
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$rc"
