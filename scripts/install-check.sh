#!/usr/bin/env bash
# Packs dbp as a .NET tool for this machine's platform only (the main package and this platform's), installs
# it from those files into a temporary tool path, as `dotnet tool install` would from a feed, and runs
# `dbp demo basics` from there. Prints the packages' and the installation's sizes. The libraries' Release
# builds are reused; only dbp itself is compiled again, for the platform. DBP_TOOL_RID=... picks another
# platform's package to pack (it installs only where it runs).
set -euo pipefail
cd "$(dirname "$0")/.."
rid=${DBP_TOOL_RID:-$(dotnet --info | awk '$1 == "RID:" { print $2; exit }')}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "install-check: $1" >&2; [ -f "$work/log" ] && tail -n 30 "$work/log" >&2; exit 1; }

dotnet pack src/DistributedBackprop.Cli -c Release -nologo -v q -o "$work/packages" -p:ToolPlatforms="$rid" >"$work/log" 2>&1 \
  || fail "dotnet pack failed"
main=$(ls "$work/packages"/DistributedBackprop.Cli.[0-9]*.nupkg 2>/dev/null) || fail "no main package was packed"
version=$(basename "$main" .nupkg)
version=${version#DistributedBackprop.Cli.}
dotnet tool install --tool-path "$work/tool" --add-source "$work/packages" DistributedBackprop.Cli --version "$version" >"$work/log" 2>&1 \
  || fail "dotnet tool install failed"
out=$("$work/tool/dbp" demo basics --out "$work/out" 2>"$work/log") || fail "the installed dbp demo basics failed"
grep -qF "x.grad = tensor([7.])" <<<"$out" || fail "the installed dbp demo basics printed something else: $out"

size() { du -sh "$1" | cut -f1; }
echo "install-check: DistributedBackprop.Cli $version for $rid: main package $(size "$main"), $rid package" \
  "$(size "$work/packages/DistributedBackprop.Cli.$rid.$version.nupkg"), installed $(size "$work/tool"); dbp demo basics ran from it"
