"""A custom autograd Function: the Legendre polynomial P3(x) = (5x^3 - 3x) / 2 with its
derivative written by hand, checked with gradcheck, then used to fit y = sin(x) with
y ~ a + b P3(c + d x) by plain gradient descent.

    python examples/custom_function.py [--steps 2000]
    (runs unchanged with `import torch` in place of `import retrograd as torch`)
"""

import argparse
import math

import retrograd as torch


class LegendrePolynomial3(torch.autograd.Function):
    """P3(x) = (5x^3 - 3x) / 2;  dP3/dx = 3(5x^2 - 1) / 2."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)  # backward needs x: save it through the ctx
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--points", type=int, default=2000)
    args = parser.parse_args(argv)

    # 1. The hand-written derivative agrees with finite differences (in float64), and so
    #    does its own derivative (the backward is made of tensor ops, so it is differentiable).
    x64 = torch.randn(6, dtype=torch.float64, requires_grad=True)
    ok = torch.autograd.gradcheck(LegendrePolynomial3.apply, (x64,))
    ok2 = torch.autograd.gradgradcheck(LegendrePolynomial3.apply, (x64,))
    print(f"gradcheck: {ok}, gradgradcheck: {ok2}")

    # 2. Fit sin(x) on [-pi, pi].
    torch.manual_seed(0)
    x = torch.linspace(-math.pi, math.pi, args.points)
    y = torch.sin(x)
    a = torch.full((), 0.0, requires_grad=True)
    b = torch.full((), -1.0, requires_grad=True)
    c = torch.full((), 0.0, requires_grad=True)
    d = torch.full((), 0.3, requires_grad=True)
    lr = 5e-6 * 2000 / args.points
    first = None
    for t in range(args.steps):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if first is None:
            first = loss.item()
        if t % max(1, args.steps // 5) == 0:
            print(f"step {t:5d}  loss {loss.item():.4f}")
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    print(f"first loss {first:.4f}, last loss {loss.item():.4f}")
    print(f"Result: y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
