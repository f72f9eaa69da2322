"""``python -m bench.per_sample_grads``: per-sample gradients of the mlp workload's model
(784-512-512-10, batch 128, cross-entropy), in alternating rounds:

- ``vmap``: ``vmap(grad(loss), in_dims=(None, None, 0, 0))`` over ``functional_call``
  (torch's per-sample-gradient recipe), giving one (batch, *param.shape) tensor per parameter;
- ``loop``: one ``autograd.grad`` per sample in a Python loop, then ``stack`` per parameter:
  torch's tutorial's loop, which returns the same tensors as ``vmap``;
- ``loop unstacked``: the loop alone (a list of each sample's gradients, not one tensor);
- ``backward``: one ordinary backward of the whole batch (the batch's summed gradient only:
  it writes the parameters' size once, the per-sample gradients write it ``batch`` times);
- ``floor fresh``: the per-sample gradients' bytes written once into fresh arrays (NumPy
  broadcast products of the same shapes): what any method that returns them in new memory
  pays (page faults and the kernel's zeroing included);
- ``floor reused``: the same products into arrays allocated once (no page faults).

Each round runs every method twice back to back and times the second call: the steady state
of a training loop, where the memory a step frees is reused by the next. (On a VM that hands
memory freed for ~2 s back to its host, such as this project's Firecracker machines, a call
after a pause pays the host's page faults: the first call in the process is printed apart.)
The measured memory bandwidth (a NumPy copy of the per-sample gradients' size) gives the
lowest time any method can take to write them. Medians in milliseconds of wall time and of
the process's CPU time (user + system, page faults included: on a machine shared with other
processes it leaves out the time spent waiting for a core), with torch's vmap, loop and
backward beside when torch is installed (``--torch``). One BLAS thread each.
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

    def loop_unstacked_run():
        ps = list(model.parameters())
        return [t.autograd.grad(loss_fn(model(x[i:i + 1]), y[i:i + 1]), ps) for i in range(x.shape[0])]

    def loop_run():
        return [t.stack(shards) for shards in zip(*loop_unstacked_run())]

    def backward_run():
        return t.autograd.grad(loss_fn(model(x), y), list(model.parameters()))

    return {"vmap": vmap_run, "loop": loop_run, "loop unstacked": loop_unstacked_run, "backward": backward_run}


def _floors(shapes, batch):
    """The per-sample gradients' bytes written by NumPy alone: (into fresh arrays, into arrays
    allocated once)."""
    rng = np.random.default_rng(0)
    a = [rng.standard_normal((batch, s[0]), dtype=np.float32) for s in shapes]
    b = [rng.standard_normal((batch, s[1]), dtype=np.float32) if len(s) == 2 else None for s in shapes]
    out = [np.zeros((batch,) + s, np.float32) for s in shapes]

    def fresh():
        return [ai[:, :, None] * bi[:, None, :] if bi is not None else ai.copy() for ai, bi in zip(a, b)]

    def reused():
        for ai, bi, o in zip(a, b, out):
            np.multiply(ai[:, :, None], bi[:, None, :], out=o) if bi is not None else np.copyto(o, ai)
        return out

    return {"floor fresh": fresh, "floor reused": reused}


def _bandwidth(nbytes, rounds=5):
    """GB/s moved by a NumPy copy of ``nbytes`` between arrays allocated once (the bytes read
    and the bytes written both counted; CPU time, the fastest of ``rounds``)."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.zeros_like(src)
    best = min(_timed(lambda: np.copyto(dst, src), time.process_time) for _ in range(rounds))
    return 2 * nbytes / best / 1e6


def _timed(fn, clock=time.perf_counter):
    start = clock()
    fn()
    return (clock() - start) * 1e3


def _both(fn):
    """(wall ms, CPU ms) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128, help="samples (the workload's batch is 128)")
    parser.add_argument("--torch", action="store_true", help="also time torch.func's vmap, the loop and backward in torch")
    args = parser.parse_args(argv)
    import retrograd

    mine = _setup(retrograd, args.batch)
    first = _timed(mine["vmap"])  # the first call in the process: its memory is new to it
    grads = list(mine["vmap"]().values())
    shapes = [tuple(g.shape[1:]) for g in grads]
    nbytes = sum(g.numel() * g.element_size() for g in grads)
    del grads
    runs = {"retrograd " + k: v for k, v in mine.items()}
    runs.update(_floors(shapes, args.batch))
    if args.torch:
        import torch

        torch.set_num_threads(1)
        runs.update({"torch " + k: v for k, v in _setup(torch, args.batch).items() if k != "loop unstacked"})
    times, cpu = {k: [] for k in runs}, {k: [] for k in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            fn()  # the step before: the memory it frees is what the timed call reuses
            wall, used = _both(fn)
            times[name].append(wall)
            cpu[name].append(used)
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"{'':26s} {'wall':>9s}     {'CPU':>7s}")
    for k, v in med.items():
        print(f"{k:26s} {v:9.1f} ms  {cpu_med[k]:7.1f} ms  (wall rounds: {', '.join(f'{x:.0f}' for x in times[k])})")
    gbs = _bandwidth(nbytes)
    b = cpu_med["retrograd backward"]
    print(f"retrograd first vmap call in the process: {first:.1f} ms")
    for clock, m in (("wall", med), ("CPU", cpu_med)):
        r = m["retrograd vmap"]
        print(f"retrograd ({clock}): loop / vmap = {m['retrograd loop'] / r:.1f}x (unstacked "
              f"{m['retrograd loop unstacked'] / r:.1f}x), vmap / backward = {r / m['retrograd backward']:.1f}x, "
              f"vmap / floor fresh = {r / m['floor fresh']:.2f}x")
    print(f"per-sample gradients: {nbytes / 1e6:.0f} MB; a copy moves {gbs:.1f} GB/s (read + write), so "
          f"writing them takes >= {nbytes / gbs / 1e6:.1f} ms; 3x one backward is {3 * b:.1f} ms (CPU), which "
          f"needs {nbytes / (3 * b) / 1e6:.1f} GB/s of writes")
    return med


if __name__ == "__main__":
    main()
