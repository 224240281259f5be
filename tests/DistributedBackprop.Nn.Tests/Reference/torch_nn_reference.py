"""Reference values from PyTorch (float64) for the Nn tests: the notebook's 3-3-1 sigmoid network's
named-parameter gradients, the optimizers' steps, and the losses.
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

print(json.dumps({"torch": torch.__version__, "mlp": mlp, "optimizer_start": flat(p0),
                  "optimizer_grads": [flat(g) for g in grads], "optimizer_steps": steps, "losses": losses}, indent=1))
