"""Per-sample gradients and differentially private SGD (DP-SGD) on the 8x8 digits, written
as a torch.func user writes them: vmap(grad(loss_fn)) over functional_call gives each
sample's gradient in one batched pass; each is clipped to norm --clip, they are summed,
Gaussian noise of std --noise * --clip is added, and the average is the step.

    python examples/per_sample_grads.py [--epochs 10 --clip 1.0 --noise 1.0 --compare]
    (runs with `import torch` in place of `import retrograd as torch`; the data loader
    is retrograd's)

--compare checks the per-sample gradients of the first batch against a loop of
torch.autograd.grad, one sample at a time (equal to 1e-6), and times both.
"""

import argparse
import time

import retrograd as torch
from retrograd import nn
from retrograd.demo.data import load_split
from retrograd.func import functional_call, grad, vmap
from retrograd.nn import functional as F
from retrograd.utils.data import DataLoader, TensorDataset


def make_loss_fn(model):
    def loss_fn(params, buffers, x, y):
        # x, y are one sample: make a batch of one for the model and the loss
        logits = functional_call(model, (params, buffers), (x.unsqueeze(0),))
        return F.cross_entropy(logits, y.unsqueeze(0))
    return loss_fn


def per_sample_grads(model, loss_fn, x, y):
    """{name: tensor of shape (batch, *param.shape)}: each sample's gradient."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    return vmap(grad(loss_fn), in_dims=(None, None, 0, 0))(params, buffers, x, y)


def per_sample_grads_by_loop(model, x, y):
    """The same, one autograd.grad call per sample."""
    params = list(model.parameters())
    rows = [torch.autograd.grad(F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]), params) for i in range(len(x))]
    return {name: torch.stack([row[j] for row in rows]) for j, (name, _) in enumerate(model.named_parameters())}


def dp_gradients(grads, clip, noise):
    """Clip each sample's gradient (all parameters together) to norm ``clip``, sum, add
    N(0, (noise * clip)^2) noise, divide by the batch size."""
    batch = next(iter(grads.values())).shape[0]
    norms = torch.stack([g.reshape(batch, -1).pow(2).sum(1) for g in grads.values()]).sum(0).sqrt()
    scale = (clip / (norms + 1e-6)).clamp(max=1.0)
    out = {}
    for name, g in grads.items():
        clipped = (g * scale.reshape(batch, *[1] * (g.dim() - 1))).sum(0)
        out[name] = (clipped + torch.normal(0.0, noise * clip, size=clipped.shape)) / batch
    return out, norms


def compare(model, loss_fn, x, y):
    per_sample_grads(model, loss_fn, x[:2], y[:2])  # warm up both before timing
    per_sample_grads_by_loop(model, x[:2], y[:2])
    start = time.perf_counter()
    batched = per_sample_grads(model, loss_fn, x, y)
    t_vmap = time.perf_counter() - start
    start = time.perf_counter()
    looped = per_sample_grads_by_loop(model, x, y)
    t_loop = time.perf_counter() - start
    diff = max((batched[k] - looped[k]).abs().max().item() for k in looped)
    verdict = "equal" if diff <= 1e-6 else "DIFFERENT"
    print(f"per-sample gradients of {len(x)} samples: vmap(grad) {1e3 * t_vmap:.1f} ms, "
          f"autograd.grad loop {1e3 * t_loop:.1f} ms; max difference {diff:.2e} ({verdict})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--clip", type=float, default=1.0, help="per-sample gradient norm bound C")
    parser.add_argument("--noise", type=float, default=1.0, help="noise multiplier: noise std is this times C")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subset", type=int, default=None, help="use only this many images")
    parser.add_argument("--max-steps", type=int, default=None, help="stop each epoch after this many steps")
    parser.add_argument("--compare", action="store_true", help="check against an autograd.grad loop")
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load_split(seed=args.seed, subset=args.subset)
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
    x_test, y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
    train = TensorDataset(x_train, y_train)
    torch.manual_seed(args.seed)
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
    loss_fn = make_loss_fn(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)

    if args.compare:
        x, y = next(iter(loader))
        compare(model, loss_fn, x, y)

    first = None
    start = time.perf_counter()
    for epoch in range(args.epochs):
        total, seen, clipped = 0.0, 0, 0
        for step, (x, y) in enumerate(loader):
            if args.max_steps is not None and step >= args.max_steps:
                break
            with torch.no_grad():
                loss = F.cross_entropy(model(x), y).item()
            first = loss if first is None else first
            grads, norms = dp_gradients(per_sample_grads(model, loss_fn, x, y), args.clip, args.noise)
            for name, p in model.named_parameters():
                p.grad = grads[name]
            optimizer.step()
            total += loss * len(y)
            seen += len(y)
            clipped += int((norms > args.clip).sum().item())
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
            last = F.cross_entropy(model(x_train), y_train).item()
        print(f"epoch {epoch + 1:2d}  train loss {total / seen:.4f}  clipped {100 * clipped / seen:.0f}% "
              f"of samples  test accuracy {100 * accuracy:.1f}%")
    print(f"first loss {first:.4f}, last loss {last:.4f}")
    print(f"test accuracy {100 * accuracy:.2f}% in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
