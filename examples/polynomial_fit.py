"""Fit y = sin(x) with a cubic a + b x + c x^2 + d x^3: autograd computes the gradients,
and the parameters are updated by hand inside ``torch.no_grad()`` (no optimizer).

    python examples/polynomial_fit.py [--steps 2000]
    (runs unchanged with `import torch` in place of `import retrograd as torch`)
"""

import argparse
import math

import retrograd as torch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    x = torch.linspace(-math.pi, math.pi, args.points)
    y = torch.sin(x)

    # Four scalar parameters that require grad: autograd records every op that uses them.
    a = torch.randn((), requires_grad=True)
    b = torch.randn((), requires_grad=True)
    c = torch.randn((), requires_grad=True)
    d = torch.randn((), requires_grad=True)

    lr = 1e-6 * 2000 / args.points  # the loss is a sum over the points
    first = None
    for t in range(args.steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        if first is None:
            first = loss.item()
        if t % max(1, args.steps // 5) == 0:
            print(f"step {t:5d}  loss {loss.item():.4f}")

        loss.backward()  # a.grad, b.grad, c.grad, d.grad

        # The update itself must not be recorded (and in-place changes to a leaf that
        # requires grad are only allowed when nothing is recorded).
        with torch.no_grad():
            a -= lr * a.grad
            b -= lr * b.grad
            c -= lr * c.grad
            d -= lr * d.grad
            a.grad = None  # or the next backward would add to these gradients
            b.grad = None
            c.grad = None
            d.grad = None

    print(f"first loss {first:.4f}, last loss {loss.item():.4f}")
    print(f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
