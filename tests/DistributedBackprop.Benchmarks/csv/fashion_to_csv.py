#!/usr/bin/env python3
"""Writes Fashion-MNIST (Debian's dataset-fashion-mnist IDX files) as two CSVs in Kaggle's layout:
label,pixel1,...,pixel784. usage: fashion_to_csv.py OUT_DIR [IDX_DIR]"""
import gzip, os, sys
import numpy as np

out = sys.argv[1]
src = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"

def idx(name):
    path = os.path.join(src, name + ".gz")
    data = gzip.open(path).read() if os.path.exists(path) else open(os.path.join(src, name), "rb").read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)

os.makedirs(out, exist_ok=True)
for prefix, name in [("train", "fashion-train.csv"), ("t10k", "fashion-test.csv")]:
    images = idx(f"{prefix}-images-idx3-ubyte").reshape(-1, 784)
    labels = idx(f"{prefix}-labels-idx1-ubyte")
    rows = np.column_stack([labels, images]).astype(np.int64)
    np.savetxt(os.path.join(out, name), rows, fmt="%d", delimiter=",", header=",".join(["label"] + [f"pixel{i}" for i in range(1, 785)]), comments="")
