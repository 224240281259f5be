#!/usr/bin/env python3
"""Writes the benchmark's CSV: a header f0..f19, then 1,000,000 rows of seeded standard normals, six decimals."""
import sys
import numpy as np

a = np.random.default_rng(0).standard_normal((1_000_000, 20))
np.savetxt(sys.argv[1], a, fmt="%.6f", delimiter=",", header=",".join(f"f{i}" for i in range(20)), comments="")
