#!/usr/bin/env python3
"""Times pandas.read_csv on a file (float64, pandas' default C parser): the median of ROUNDS reads."""
import sys, time
import pandas as pd

path, rounds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
times = []
for _ in range(rounds):
    t = time.perf_counter()
    df = pd.read_csv(path)
    times.append(time.perf_counter() - t)
print(f"pandas {pd.__version__} read_csv: median {sorted(times)[len(times) // 2]:.3f} s of {', '.join(f'{t:.3f}' for t in times)} ({df.size} values)")
