#!/usr/bin/env bash
# Builds dbp and runs it with the given arguments; with none, the whole notebook (dbp demo).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
if ! log=$(dotnet build src/DistributedBackprop.Cli -c Release -nologo -v q 2>&1); then echo "$log" >&2; exit 1; fi
dbp=src/DistributedBackprop.Cli/bin/Release/net10.0/dbp.dll
[ $# -eq 0 ] && set -- demo
exec dotnet "$dbp" "$@"
