"""Backpropagation by hand for the founding document's (docs/backpropagation.md) one-hidden-layer network, checked
against autograd.

    h = x W1^T + b1,   a = sigmoid(h),   o = a W2^T + b2,   L = mean((o - y)^2)

The backward pass uses the document's matrix formulas for Y = X W^T + b
(dX = dY W, dW = dY^T X, db = sum of dY's rows) and the activation rule
dh = da * sigmoid(h) * (1 - sigmoid(h)), and is written with plain tensor ops under
``no_grad`` (nothing recorded). Then ``L.backward()`` computes the same gradients
automatically, and the two are compared.

    python examples/manual_backward.py [--batch 64 --inputs 5 --hidden 16 --outputs 3]
    (runs unchanged with `import torch` in place of `import retrograd as torch`)
"""

import argparse

import retrograd as torch
from retrograd import nn


def manual_backward(x, y, layer1, layer2):
    """The forward pass, then every gradient by hand; returns ``(L, grads)``."""
    with torch.no_grad():
        W1, b1, W2, b2 = layer1.weight, layer1.bias, layer2.weight, layer2.bias
        # forward, keeping the intermediate values that backward needs
        h = x @ W1.T + b1
        a = torch.sigmoid(h)
        o = a @ W2.T + b2
        L = ((o - y) ** 2).mean()

        # backward, from dL/dL = 1 down to the inputs
        do = 2 * (o - y) / o.numel()    # L = mean((o - y)^2)
        dW2 = do.T @ a                  # dW = dY^T X
        db2 = do.sum(0)                 # db = sum_i dY_i
        da = do @ W2                    # dX = dY W: the upstream gradient of the hidden layer
        dh = da * a * (1 - a)           # sigmoid'(h) = sigmoid(h) (1 - sigmoid(h))
        dW1 = dh.T @ x
        db1 = dh.sum(0)
        dx = dh @ W1
    return L, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "x": dx}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--inputs", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--outputs", type=int, default=3)
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)  # so that the comparison is tight
    try:
        layer1 = nn.Linear(args.inputs, args.hidden)
        layer2 = nn.Linear(args.hidden, args.outputs)
        x = torch.randn(args.batch, args.inputs, requires_grad=True)
        y = torch.randn(args.batch, args.outputs)

        L_manual, manual = manual_backward(x, y, layer1, layer2)

        L = ((layer2(torch.sigmoid(layer1(x))) - y) ** 2).mean()
        L.backward()
        auto = {"W1": layer1.weight.grad, "b1": layer1.bias.grad, "W2": layer2.weight.grad,
                "b2": layer2.bias.grad, "x": x.grad}
    finally:
        torch.set_default_dtype(torch.float32)

    print(f"loss: manual {L_manual.item():.10f}, autograd {L.item():.10f}")
    ok = torch.allclose(L_manual, L.detach())
    for name, g in manual.items():
        diff = (g - auto[name]).abs().max().item()
        same = torch.allclose(g, auto[name], rtol=1e-10, atol=1e-12)
        ok = ok and same
        print(f"d{name:<3} shape {str(list(g.shape)):<10} max |manual - autograd| = {diff:.1e}  "
              f"{'match' if same else 'MISMATCH'}")
    print("all gradients match autograd" if ok else "MISMATCH: the hand-written backward is wrong")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
