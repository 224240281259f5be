#!/usr/bin/env python3
"""Writes the example CSVs (standard library only, seeded): three classes of stones by six measurements.
Their class depends on the angle of (width, depth) around a centre, so a straight line cannot split them."""
import csv, math, random

def rows(n, rng):
    out = []
    for _ in range(n):
        angle = rng.uniform(0, 2 * math.pi)
        radius = rng.uniform(0.5, 3.0)
        width, depth = 10 + radius * math.cos(angle), 20 + 2 * radius * math.sin(angle)
        kind = ["amber", "jade", "onyx"][int(((angle + 0.4 * math.sin(3 * radius)) % (2 * math.pi)) / (2 * math.pi / 3)) % 3]
        weight = width * depth * rng.uniform(0.9, 1.1)
        hardness = {"amber": 2.5, "jade": 6.5, "onyx": 7.0}[kind] + rng.gauss(0, 1.2)
        gloss = rng.gauss(0, 1)
        age = rng.uniform(0, 5000)
        out.append([round(width, 4), round(depth, 4), round(weight, 3), round(hardness, 3), round(gloss, 4), round(age, 1), kind])
    return out

rng = random.Random(14)
header = ["width", "depth", "weight", "hardness", "gloss", "age", "kind"]
for name, n in [("stones-train.csv", 1200), ("stones-test.csv", 300)]:
    with open(name, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows(n, rng))
with open("stones-new.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(header[:-1])
    w.writerows(r[:-1] for r in rows(20, rng))
