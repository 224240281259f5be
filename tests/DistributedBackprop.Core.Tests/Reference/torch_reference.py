"""Reference values from PyTorch (float64) for the engine's tests.

Run with Debian's interpreter and PyTorch (apt-get install python3-torch; mpmath comes with it):
    /usr/bin/python3 torch_reference.py > torch_reference.json
The tests build the same expressions and compare to 1e-9 relative. The special functions (erf, erfc, the
normal distribution, exact GELU) come from mpmath at 40 digits, rounded once to double.
"""
import json
import re
import struct

import mpmath as mp
import torch

torch.manual_seed(0)
F = dict(exp=torch.exp, log=torch.log, sqrt=torch.sqrt, sin=torch.sin, cos=torch.cos,
         tanh=torch.tanh, sigmoid=torch.sigmoid, relu=torch.relu)

PROGRAMS = [
    ("z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3", {"x": 2.0, "y": 4.0}),
    ("z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3", {"x": 0.9829, "y": 1.8251}),
    ("a = sin(x)*cos(y); b = tanh(a + x*y); c = sigmoid(b) / sqrt(1 + x^2); c + log(1 + y^2)", {"x": 0.3, "y": -1.2}),
    ("u = x^y; v = relu(u - 1) + exp(-x*y); w = u*v - y/x", {"x": 1.5, "y": 0.7}),
    ("-x^2 + 3*x*y - y^3/(x+2)", {"x": 1.1, "y": -0.4}),
]


def program_case(src, at):
    ns = dict(F)
    variables = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in at.items()}
    ns.update(variables)
    defs, last = [], None
    for stmt in [s.strip() for s in src.split(";") if s.strip()]:
        m = re.match(r"^([A-Za-z_]\w*)\s*=(.*)$", stmt)
        expr = (m.group(2) if m else stmt).replace("^", "**")
        last = eval(expr, ns)
        if m:
            ns[m.group(1)] = last
            defs.append(m.group(1))
    wrt = list(variables.values()) + [ns[d] for d in defs]
    names = list(variables) + defs
    grads = torch.autograd.grad(last, wrt, create_graph=True, allow_unused=True)
    gradients = {n: (0.0 if g is None else g.item()) for n, g in zip(names, grads)}
    hessian = {}
    for name, g in zip(list(variables), grads[:len(variables)]):
        row = torch.autograd.grad(g, list(variables.values()), retain_graph=True, allow_unused=True)
        hessian[name] = {n: (0.0 if h is None else h.item()) for n, h in zip(variables, row)}
    return {"program": src, "at": at, "value": last.item(), "gradients": gradients, "hessian": hessian}


def rand(*shape, positive=False):
    t = torch.rand(*shape, dtype=torch.float64) * 2 - 1
    return (t.abs() + 0.5 if positive else t).requires_grad_()


def tensor_case(name, inputs, f, data=None):
    """data: inputs without gradients (class indices), recorded as floats beside the others."""
    data = data or {}
    out = f(**inputs, **data)
    grads = torch.autograd.grad(out, list(inputs.values()))
    return {
        "name": name,
        "inputs": {k: {"shape": list(v.shape), "data": v.detach().double().flatten().tolist()} for k, v in {**inputs, **data}.items()},
        "value": out.item(),
        "gradients": {k: g.flatten().tolist() for k, g in zip(inputs, grads)},
    }


TENSORS = [
    tensor_case("linear_sigmoid", {"x": rand(4, 3), "w": rand(2, 3), "b": rand(2)},
                lambda x, w, b: torch.sigmoid(x @ w.T + b).sum()),
    tensor_case("cross_entropy", {"logits": rand(5, 4) * 3, "onehot": torch.eye(4, dtype=torch.float64)[[1, 0, 3, 2, 1]].requires_grad_()},
                lambda logits, onehot: -(onehot * torch.log_softmax(logits, 1)).sum(1).mean()),
    tensor_case("broadcast", {"a": rand(3, 1), "b": rand(4)},
                lambda a, b: ((a + b) * (a - b) / (b * b + 1)).sum()),
    tensor_case("reductions", {"x": rand(3, 4)},
                lambda x: (torch.exp(x.mean(0)) * torch.tanh(x.sum(1, keepdim=True))).sum()),
    tensor_case("elementwise", {"x": rand(5, positive=True), "y": rand(5)},
                lambda x, y: (torch.log(x) + torch.sqrt(x) + torch.sin(x) * torch.cos(y) + torch.relu(y) + x ** y - x ** 3).sum()),
    tensor_case("transpose_reshape", {"x": rand(2, 3), "w": rand(9)},
                lambda x, w: ((x.T @ x).reshape(9) * w).sum()),
    tensor_case("mlp_tanh", {"x": rand(6, 1), "w1": rand(4, 1), "b1": rand(4), "w2": rand(1, 4), "b2": rand(1), "y": rand(6, 1)},
                lambda x, w1, b1, w2, b2, y: ((torch.tanh(x @ w1.T + b1) @ w2.T + b2 - y) ** 2).mean()),
]

# Drawn after the cases above, so that their inputs stay what they were.
# a and b equal at every other element: ties, where PyTorch splits max's and min's gradient in halves.
_a = torch.rand(8, dtype=torch.float64) * 2 - 1
TIES = (_a, torch.where(torch.arange(8) % 2 == 0, _a, torch.rand(8, dtype=torch.float64) * 2 - 1))

TENSORS += [
    tensor_case("maximum_minimum_ties", {"a": TIES[0].clone().requires_grad_(), "b": TIES[1].clone().requires_grad_(), "w": rand(8)},
                lambda a, b, w: ((torch.maximum(a, b) * w).sum() + (torch.minimum(a, b) ** 2).sum() + (torch.abs(a) * w).sum())),
    tensor_case("maximum_broadcast", {"a": rand(3, 1), "b": rand(4)},
                lambda a, b: (torch.maximum(a, b) * torch.minimum(b, a * 2)).sum()),
    tensor_case("abs_at_zero", {"x": torch.tensor([0.0, -0.5, 0.25, 0.0], dtype=torch.float64, requires_grad=True)},
                lambda x: (torch.abs(x) * torch.arange(1.0, 5.0, dtype=torch.float64)).sum()),
    tensor_case("leaky_relu", {"x": torch.tensor([-1.5, -0.2, 0.0, 0.3, 2.0], dtype=torch.float64, requires_grad=True), "w": rand(5)},
                lambda x, w: (torch.nn.functional.leaky_relu(x, 0.1) * w).sum() + torch.nn.functional.leaky_relu(x * w).sum()),
    tensor_case("gelu", {"x": torch.linspace(-5, 5, 21, dtype=torch.float64).requires_grad_(), "w": rand(21)},
                lambda x, w: (torch.nn.functional.gelu(x) * w).sum()),
    tensor_case("softplus", {"x": torch.linspace(-30, 30, 13, dtype=torch.float64).requires_grad_(), "w": rand(13)},
                lambda x, w: (torch.nn.functional.softplus(x) * w).sum()),
    tensor_case("one_hot", {"logits": rand(4, 3)}, lambda logits, classes: (torch.nn.functional.one_hot(classes.long(), 3) * torch.log_softmax(logits, 1)).sum(),
                data={"classes": torch.tensor([2.0, 0.0, 1.0, 2.0], dtype=torch.float64)}),
]


def special():
    """erf, erfc, Φ and GELU at points across their range, and GELU at float32 points (exactly as floats)."""
    mp.mp.dps = 40
    xs = sorted({i / 8 for i in range(-240, 241)} | {i / 64 for i in range(-64, 65)} | {1e-300, 1e-12, 3e-5, -2e-7, 0.4999, 0.5, 0.84375, 26.5, -38.0})
    floats = [struct.unpack("f", struct.pack("f", x))[0] for x in [i / 37 for i in range(-600, 601)] + [-14.0, -12.5, 9.5, 1e-30, -1e-30]]

    def gelu(x):
        return mp.mpf(x) * mp.erfc(-mp.mpf(x) / mp.sqrt(2)) / 2

    def grad(x):
        x = mp.mpf(x)
        return mp.erfc(-x / mp.sqrt(2)) / 2 + x * mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)

    return {
        "x": xs,
        "erf": [float(mp.erf(x)) for x in xs],
        "erfc": [float(mp.erfc(x)) for x in xs],
        "normal_cdf": [float(mp.ncdf(x)) for x in xs],
        "gelu": [float(gelu(x)) for x in xs],
        "gelu_grad": [float(grad(x)) for x in xs],
        "float_x": floats,
        "float_gelu": [float(gelu(x)) for x in floats],
        "float_gelu_grad": [float(grad(x)) for x in floats],
    }


print(json.dumps({"torch": torch.__version__, "programs": [program_case(p, a) for p, a in PROGRAMS], "tensors": TENSORS, "special": special()}, indent=1))
