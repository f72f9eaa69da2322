"""``python -m bench.per_sample_grads``: per-sample gradients of the mlp workload's model
(784-512-512-10, batch 128, cross-entropy) three ways, in alternating rounds:

- ``vmap``: ``vmap(grad(loss), in_dims=(None, None, 0, 0))`` over ``functional_call``
  (torch's per-sample-gradient recipe);
- ``loop``: one ``autograd.grad`` per sample, in a Python loop;
- ``backward``: one ordinary backward of the whole batch (the batch's summed gradient only);
- ``floor``: writing the per-sample gradients' bytes once (NumPy broadcast products of the
  same shapes into fresh arrays): what any method that returns them must pay.

Medians of ``--rounds`` rounds are printed in milliseconds, with torch's vmap and loop
beside when torch is installed (``--torch``). One BLAS thread each.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread: two spin against other processes

import numpy as np  # noqa: E402


def _setup(t, batch=128):
    from bench.workloads import mlp

    w = mlp(t)
    model, (x,), y, loss_fn = w.model, w.inputs, w.target, w.loss_fn
    x, y = x[:batch], y[:batch]
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(p, b, xb, yb):
        return loss_fn(t.func.functional_call(model, (p, b), (xb.unsqueeze(0),)), yb.unsqueeze(0))

    per_sample = t.func.vmap(t.func.grad(compute_loss), in_dims=(None, None, 0, 0))

    def vmap_run():
        return per_sample(params, buffers, x, y)

    def loop_run():
        ps = list(model.parameters())
        return [t.autograd.grad(loss_fn(model(x[i:i + 1]), y[i:i + 1]), ps) for i in range(x.shape[0])]

    def backward_run():
        return t.autograd.grad(loss_fn(model(x), y), list(model.parameters()))

    shapes = [tuple(v.shape) for v in params.values()]

    def floor_run():
        rng = np.random.default_rng(0)
        out = []
        for s in shapes:
            a = rng.standard_normal((x.shape[0],) + s[:1], dtype=np.float32)
            if len(s) == 2:
                b = rng.standard_normal((x.shape[0], s[1]), dtype=np.float32)
                out.append(a[:, :, None] * b[:, None, :])
            else:
                out.append(a.copy())
        return out

    return {"vmap": vmap_run, "loop": loop_run, "backward": backward_run, "floor": floor_run}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128, help="samples (the workload's batch is 128)")
    parser.add_argument("--torch", action="store_true", help="also time torch.func's vmap and a loop in torch")
    args = parser.parse_args(argv)
    import retrograd

    runs = {"retrograd " + k: v for k, v in _setup(retrograd, args.batch).items()}
    if args.torch:
        import torch

        torch.set_num_threads(1)
        runs.update({"torch " + k: v for k, v in _setup(torch, args.batch).items() if k in ("vmap", "loop", "backward")})
    times = {k: [] for k in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:22s} {v:9.1f} ms  (rounds: {', '.join(f'{x:.0f}' for x in times[k])})")
    r = med["retrograd vmap"]
    print(f"retrograd: loop / vmap = {med['retrograd loop'] / r:.1f}x, vmap / backward = "
          f"{r / med['retrograd backward']:.1f}x, vmap / floor = {r / med['retrograd floor']:.1f}x")
    return med


if __name__ == "__main__":
    main()
