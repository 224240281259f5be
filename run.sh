#!/usr/bin/env bash
# Builds dbp and runs it with the given arguments; with none, the notebook's example.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
if ! log=$(dotnet build src/DistributedBackprop.Cli -c Release -nologo -v q 2>&1); then echo "$log" >&2; exit 1; fi
dbp=src/DistributedBackprop.Cli/bin/Release/net10.0/dbp.dll
if [ $# -eq 0 ]; then
  set -- grad "z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3" --at x=2,y=4
fi
exec dotnet "$dbp" "$@"
