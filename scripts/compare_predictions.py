#!/usr/bin/env python3
"""Compares two prediction CSVs (dbp predict's and torch_predict.py's): the same classes, and every number
within the tolerance (default 1e-5, absolute). Prints the largest difference; exits 1 when they differ.

usage: compare_predictions.py A.csv B.csv [TOLERANCE]"""
import csv, sys

a_path, b_path = sys.argv[1], sys.argv[2]
tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
with open(a_path, newline="") as f: a = list(csv.reader(f))
with open(b_path, newline="") as f: b = list(csv.reader(f))
if a[0] != b[0] or len(a) != len(b):
    sys.exit(f"different columns or rows: {a[0]} ({len(a) - 1} rows) and {b[0]} ({len(b) - 1} rows)")
worst = 0.0
for i, (ra, rb) in enumerate(zip(a[1:], b[1:]), start=1):
    for x, y in zip(ra, rb):
        try:
            worst = max(worst, abs(float(x) - float(y)))
        except ValueError:
            if x != y:
                sys.exit(f"row {i}: '{x}' and '{y}' differ")
print(f"{len(a) - 1} rows, largest difference {worst:.3g}")
sys.exit(0 if worst <= tolerance else 1)
