"""Reference values from PyTorch (float64) for the Nn tests: the notebook's 3-3-1 sigmoid network's
named-parameter gradients, the optimizers' steps, and the losses; then the layers, losses, optimizers,
gradient clipping and schedules beyond one MLP (drawn after the first ones, so that those stay as they were).
    /usr/bin/python3 torch_nn_reference.py > torch_nn_reference.json
"""
import json
from collections import OrderedDict

import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def flat(t):
    return {"shape": list(t.shape), "data": t.detach().flatten().tolist()}


model = nn.Sequential(OrderedDict([
    ("linear1", nn.Linear(3, 3)), ("sig1", nn.Sigmoid()), ("linear2", nn.Linear(3, 1)), ("sig2", nn.Sigmoid())]))
x = torch.randn(3)
y = model(x)
y.backward()
mlp = {"x": flat(x), "value": y.item(),
       "parameters": {n: flat(p) for n, p in model.named_parameters()},
       "gradients": {n: flat(p.grad) for n, p in model.named_parameters()},
       "repr": repr(model)}

p0 = torch.randn(4, 3)
grads = [torch.randn(4, 3) for _ in range(3)]
optimizers = {
    "sgd": lambda p: torch.optim.SGD([p], lr=0.1),
    "sgd_weight_decay": lambda p: torch.optim.SGD([p], lr=0.1, weight_decay=0.01),
    "momentum": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9),
    "momentum_weight_decay": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda p: torch.optim.Adam([p], lr=0.01),
    "adam_weight_decay": lambda p: torch.optim.Adam([p], lr=0.01, weight_decay=0.01),
    "adamw": lambda p: torch.optim.AdamW([p]),
    "adamw_custom": lambda p: torch.optim.AdamW([p], lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
    "rmsprop": lambda p: torch.optim.RMSprop([p]),
    "rmsprop_momentum": lambda p: torch.optim.RMSprop([p], lr=0.01, momentum=0.9),
    "rmsprop_weight_decay": lambda p: torch.optim.RMSprop([p], lr=0.02, alpha=0.9, weight_decay=0.01, momentum=0.5),
}
steps = {}
for name, make in optimizers.items():
    p = p0.clone().requires_grad_()
    opt = make(p)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    steps[name] = flat(p)

logits = torch.randn(6, 4) * 3
classes = torch.tensor([0, 3, 1, 1, 2, 0])
pred, target = torch.randn(5, 2), torch.randn(5, 2)
losses = {"logits": flat(logits), "classes": classes.tolist(),
          "cross_entropy": nn.CrossEntropyLoss()(logits, classes).item(),
          "pred": flat(pred), "target": flat(target), "mse": nn.MSELoss()(pred, target).item()}


# Layers: printed as PyTorch prints them, and a model's value and gradients with non-trivial layer-norm
# parameters (its initial ones and zeros would hide a mix-up of weight and bias).
reprs = {"leaky_relu": str(nn.LeakyReLU()), "leaky_relu_0.2": str(nn.LeakyReLU(0.2)), "gelu": str(nn.GELU()),
         "dropout": str(nn.Dropout()), "dropout_0.1": str(nn.Dropout(0.1)), "layer_norm_4": str(nn.LayerNorm(4)),
         "layer_norm_2_3": str(nn.LayerNorm((2, 3), eps=1e-6)), "layer_norm_8": str(nn.LayerNorm(8, eps=0.001))}
floats = [0.01, 0.2, 0.5, 1e-5, 1e-6, 0.001, 1.0, 0.0, -0.0, 1e-12, 123.5, 1e16, 1e15, 0.1 + 0.2, 1.5e-7, 0.0001,
          2.5e-4, 12345678901234567890.0, -3.25, 5e-324, 1.7976931348623157e308]


def model_case(model, x):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(torch.randn_like(p))
    x = x.clone().requires_grad_()
    y = model(x)
    w = torch.randn_like(y)
    (y * w).sum().backward()
    return {"repr": repr(model), "x": flat(x), "w": flat(w), "value": flat(y),
            "parameters": {n: flat(p) for n, p in model.named_parameters()},
            "gradients": {n: flat(p.grad) for n, p in model.named_parameters()}, "x_grad": flat(x.grad)}


layers = {
    "mlp": model_case(nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(3, 6)), ("norm", nn.LayerNorm(6)), ("gelu", nn.GELU()), ("drop", nn.Dropout(0.25)),
        ("fc2", nn.Linear(6, 4)), ("leaky", nn.LeakyReLU(0.1))])).eval(), torch.randn(5, 3)),
    "norm_2_3": model_case(nn.Sequential(OrderedDict([("norm", nn.LayerNorm((2, 3), eps=1e-6))])), torch.randn(4, 2, 3) * 3 + 1),
}


def loss_case(f, pred, target):
    pred = pred.clone().requires_grad_()
    value = f(pred, target)
    value.backward()
    return {"pred": flat(pred), "target": flat(target), "value": value.item(), "grad": flat(pred.grad)}


d = torch.randn(6, 3) * 1.5
soft = torch.rand(6, 3)
bce_logits = torch.cat([torch.randn(6, 3) * 4, torch.tensor([[0.0, 30.0, -30.0]])])
new_losses = {
    "l1": loss_case(nn.L1Loss(), d, torch.randn(6, 3)),
    "huber": loss_case(nn.HuberLoss(), d, torch.randn(6, 3)),
    "huber_0.5": loss_case(nn.HuberLoss(delta=0.5), d, torch.randn(6, 3)),
    "bce_with_logits": loss_case(nn.BCEWithLogitsLoss(), bce_logits, torch.cat([soft, torch.tensor([[0.3, 1.0, 0.0]])])),
    "cross_entropy_classes": loss_case(nn.CrossEntropyLoss(), logits, classes),
}


# Clipping by global norm over two parameters, before each step; the second step's gradient is under max_norm.
clip_start = {"a": torch.randn(4, 3), "b": torch.randn(3)}
clip_grads = [{k: torch.randn_like(v) * scale for k, v in clip_start.items()} for scale in (1.0, 0.1, 2.0)]
clip_optimizers = {
    "momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01),
}
clipped = {}
for name, make in clip_optimizers.items():
    ps = {k: v.clone().requires_grad_() for k, v in clip_start.items()}
    opt = make(list(ps.values()))
    norms = []
    for g in clip_grads:
        for k, p in ps.items():
            p.grad = g[k].clone()
        norms.append(torch.nn.utils.clip_grad_norm_(list(ps.values()), max_norm=1.5).item())
        opt.step()
    clipped[name] = {"parameters": {k: flat(p) for k, p in ps.items()}, "norms": norms}


# Schedules: the learning rate each of 12 steps runs at, read before its optimizer.step().
def rates(make, base=0.5, count=12):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    scheduler = make(opt)
    out = []
    for _ in range(count):
        out.append(opt.param_groups[0]["lr"])
        p.grad = torch.ones(1)
        opt.step()
        scheduler.step()
    return out


def warmup_cosine(warmup, steps):
    return lambda opt: torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1),
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps - warmup)], milestones=[warmup])


schedules = {
    "step_3_0.5": rates(lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)),
    "cosine_8": rates(lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8)),
    "warmup_3_cosine_10": rates(warmup_cosine(3, 10)),
}
# AdamW under warm-up then cosine, the gradients of the optimizer test in turn: the scheduled rate reaches
# both the step and the decoupled decay.
p = p0.clone().requires_grad_()
opt = torch.optim.AdamW([p], lr=0.01, weight_decay=0.1)
scheduler = warmup_cosine(2, 5)(opt)
for i in range(5):
    p.grad = grads[i % 3].clone()
    opt.step()
    scheduler.step()
scheduled = {"adamw_warmup_2_cosine_5": flat(p)}

print(json.dumps({"torch": torch.__version__, "mlp": mlp, "optimizer_start": flat(p0),
                  "optimizer_grads": [flat(g) for g in grads], "optimizer_steps": steps, "losses": losses,
                  "reprs": reprs, "floats": [{"value": v, "repr": repr(v)} for v in floats], "layers": layers,
                  "new_losses": new_losses, "clip_start": {k: flat(v) for k, v in clip_start.items()},
                  "clip_grads": [{k: flat(v) for k, v in g.items()} for g in clip_grads], "clipped": clipped,
                  "schedules": schedules, "scheduled": scheduled}, indent=1))
