#!/usr/bin/env python3
"""Predicts with a `dbp export --format safetensors` file in PyTorch, as `dbp predict` does with the checkpoint.

usage: torch_predict.py MODEL.safetensors DATA.csv OUT.csv

The model is rebuilt from the file's metadata ("model": PyTorch's constructors written out), its weights
loaded with load_state_dict (strict), the features standardised with the metadata's "features", and the
predictions written as dbp writes them: the target's column (the class, or the value) and p_CLASS per class.
Needs torch only: safetensors is read here with the standard library (the safetensors package reads the
same file: safetensors.torch.load_file(MODEL))."""
import csv, json, struct, sys

import torch
from torch import nn


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16}
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[t["dtype"]]).reshape(t["shape"])
    return tensors, meta


def build(spec):
    return nn.Sequential(*[getattr(nn, layer.pop("type"))(**layer) for layer in spec["layers"]])


def main(model_path, data_path, out_path):
    weights, meta = load_safetensors(model_path)
    model = build(json.loads(meta["model"]))
    model.load_state_dict(weights)
    model.eval()
    features = json.loads(meta["features"])
    with open(data_path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = torch.tensor([[float(r[name]) for name in features["names"]] for r in rows], dtype=torch.float64)
    x = ((x - torch.tensor(features["mean"], dtype=torch.float64)) / torch.tensor(features["std"], dtype=torch.float64)).float()
    with torch.no_grad():
        y = model(x)
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        if meta.get("task") == "classification":
            classes = json.loads(meta["classes"])
            p = torch.sigmoid(y) if meta.get("loss") == "bce-with-logits" else torch.softmax(y.double(), dim=1)
            w.writerow([meta["target"]] + ["p_" + c for c in classes])
            for row, probs in zip(y.argmax(dim=1).tolist(), p.tolist()):
                w.writerow([classes[row]] + [repr(float(v)) for v in probs])
        else:
            w.writerow([meta["target"]])
            w.writerows([repr(float(v))] for v in y[:, 0].tolist())


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
