#!/usr/bin/env bash
# The CSV parsing target: dbp's reader against pandas' read_csv (Debian's python3-pandas) on a 1,000,000-row,
# 20-column numeric CSV, in one sitting, alternating, ROUNDS rounds each (default 3); prints the medians.
# The file is made once (seeded NumPy normals with six decimals, 190 MB) in DIR (default /tmp/dbp-csv-bench).
# Run it on a quiet machine: check `uptime` and that no build or test is running.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
dir=${DIR:-/tmp/dbp-csv-bench}
rounds=${1:-3}
mkdir -p "$dir"
file="$dir/numeric-1000000x20.csv"
[ -f "$file" ] || /usr/bin/python3 "$here/make_numeric.py" "$file"
dotnet build "$root/tests/DistributedBackprop.Benchmarks" -c Release -nologo -v q >/dev/null
bench() { DOTNET_TieredCompilation=0 dotnet "$root/tests/DistributedBackprop.Benchmarks/bin/Release/net10.0/DistributedBackprop.Benchmarks.dll" --csv "$file" "$1"; }
echo "uptime: $(uptime)"
# Cold: one read a process, as `dbp train csv` reads its file (dbp runs without tiered compilation, as here).
for ((i = 0; i < rounds; i++)); do
  echo "cold $((i + 1)):"
  /usr/bin/python3 "$here/pandas_read.py" "$file" 1
  bench 1
done
# Warm: ROUNDS reads in one process each, the median.
echo "warm:"
/usr/bin/python3 "$here/pandas_read.py" "$file" "$rounds"
bench "$rounds"
echo "uptime: $(uptime)"
