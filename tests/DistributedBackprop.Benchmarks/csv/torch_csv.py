#!/usr/bin/env python3
"""The network `dbp train csv` trains, in PyTorch, on the same split: for the accuracy target.

usage: torch_csv.py TRAIN.csv TEST.csv TARGET HIDDEN(e.g. 256 or 64,64) EPOCHS BATCH LR [SEED]

Features standardised with the training file's mean and population std (a constant column unscaled), class
names sorted as dbp sorts them (numerically where all are numbers), an MLP of ReLU layers, cross-entropy,
Adam, shuffled minibatches, one thread (PyTorch's fastest here). Prints the test accuracy after each epoch."""
import csv, sys, time
import numpy as np
import pandas as pd
import torch
from torch import nn

train_path, test_path, target, hidden, epochs, batch, lr = sys.argv[1:8]
seed = int(sys.argv[8]) if len(sys.argv) > 8 else 0
torch.manual_seed(seed)
torch.set_num_threads(1)
train, test = pd.read_csv(train_path), pd.read_csv(test_path)
names = [c for c in train.columns if c != target]
labels = sorted(set(train[target].astype(str)))
try:
    labels = sorted(labels, key=float)
except ValueError:
    pass
index = {c: i for i, c in enumerate(labels)}
x = train[names].to_numpy(np.float64)
mean, std = x.mean(axis=0), x.std(axis=0)
std[std == 0] = 1
def tensors(df):
    xs = torch.tensor(((df[names].to_numpy(np.float64) - mean) / std).astype(np.float32))
    ys = torch.tensor([index[str(v)] for v in df[target]])
    return xs, ys
xtr, ytr = tensors(train)
xte, yte = tensors(test)
widths = [len(names)] + [int(w) for w in hidden.split(",")]
layers = []
for a, b in zip(widths, widths[1:]):
    layers += [nn.Linear(a, b), nn.ReLU()]
model = nn.Sequential(*layers, nn.Linear(widths[-1], len(labels)))
opt = torch.optim.Adam(model.parameters(), lr=float(lr))
loss_fn = nn.CrossEntropyLoss()
for epoch in range(1, int(epochs) + 1):
    model.train()
    start = time.perf_counter()
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), int(batch)):
        idx = perm[i:i + int(batch)]
        opt.zero_grad()
        loss_fn(model(xtr[idx]), ytr[idx]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(xte).argmax(dim=1) == yte).float().mean().item()
    print(f"epoch {epoch}: test accuracy {accuracy:.4f} ({time.perf_counter() - start:.2f} s)", flush=True)
