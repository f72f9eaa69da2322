"""``python -m bench.compile``: retrograd.compile against eager torch, short alternating runs.

For each workload (``tiny``, ``mlp``, ``gpt2`` and ``grucell`` by default): a training step
(zero_grad, forward and loss, backward, SGD step) four ways, timed in this one process in
alternating rounds (A B C D A B C D ...): eager torch, eager retrograd, retrograd with the forward
and loss compiled by ``retrograd.compile`` ("compiled"), and retrograd with the whole step
function compiled ("step": backward and the optimizer step captured too). Prints the medians,
the ratios to eager torch, the compile times (the first compiled call: capture = one eager run
recording the ops, then writing and compiling the generated code) and the graph breaks; the
rows as JSON with ``--json``.
"""

import argparse
import functools
import json
import statistics
import sys
import time

from bench.workloads import WORKLOADS


def _step_fn(t, name, mode):
    """(step function, compile seconds or None, the compiled callable or None) for ``mode``:
    "eager", "compiled" (forward and loss compiled) or "step" (the whole step compiled)."""
    w = WORKLOADS[name](t)
    opt = t.optim.SGD(w.model.parameters(), lr=0.01)

    def forward(x, y):
        return w.loss_fn(w.model(x), y)

    fwd = t.compile(forward) if mode == "compiled" else forward

    def step(*batch):  # (the batch as arguments, as a training loop passes each batch)
        opt.zero_grad()
        loss = fwd(*batch)
        loss.backward()
        opt.step()
        return loss

    compiled = {"compiled": fwd, "step": t.compile(step) if mode == "step" else None}.get(mode)
    batch = (*w.inputs, w.target)
    run = functools.partial(compiled if mode == "step" else step, *batch)
    compile_s = None
    if compiled is not None:
        t0 = time.perf_counter()
        run()
        compile_s = time.perf_counter() - t0
    return run, compile_s, compiled


def _timed(fn, seconds, clock=time.perf_counter):
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < seconds:
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return times


def measure(name, rounds, seconds, clock=time.perf_counter):
    import retrograd
    import torch

    runs = {"torch": _step_fn(torch, name, "eager"), "retrograd": _step_fn(retrograd, name, "eager"),
            "compiled": _step_fn(retrograd, name, "compiled"), "step": _step_fn(retrograd, name, "step")}
    for step, _, _ in runs.values():
        for _ in range(3):
            step()
    times = {k: [] for k in runs}
    for _ in range(rounds):
        for k, (step, _, _) in runs.items():
            times[k].append(statistics.median(_timed(step, seconds, clock)))
    med = {k: statistics.median(v) for k, v in times.items()}
    row = {"workload": name, "torch_threads": torch.get_num_threads()}
    for k in runs:
        row[f"{k}_step_s"] = med[k]
        row[f"{k}_vs_torch"] = med[k] / med["torch"]
        row[f"{k}_spread"] = (min(times[k]) / med["torch"], max(times[k]) / med["torch"])
    for k in ("compiled", "step"):
        row[f"{k}_compile_s"] = runs[k][1]
        row[f"{k}_breaks"] = [b.reason for b in runs[k][2]._compiled.last_breaks]
    return row


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.compile", description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="tiny,mlp,gpt2,grucell")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=0.5, help="timing budget per run and round (default 0.5)")
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS/intra-op threads for both frameworks (default: leave each framework's own)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="time each step by wall clock (default) or by this process's CPU time (steadier "
                        "on a machine other jobs load)")
    args = p.parse_args(argv)
    if args.threads is not None:
        import retrograd
        import torch

        retrograd.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    rows = [measure(n, args.rounds, args.seconds, clock) for n in args.workloads.split(",")]
    print(f"{'workload':9} {'torch':>9} {'eager rg':>9} {'compiled':>9} {'step':>9}  {'rg/t':>5} {'comp/t':>6} "
          f"{'step/t':>6}  {'compile':>7} {'step c.':>7}  breaks")
    for r in rows:
        breaks = r["compiled_breaks"] + r["step_breaks"]
        print(f"{r['workload']:9} {r['torch_step_s'] * 1e3:7.3f}ms {r['retrograd_step_s'] * 1e3:7.3f}ms "
              f"{r['compiled_step_s'] * 1e3:7.3f}ms {r['step_step_s'] * 1e3:7.3f}ms  {r['retrograd_vs_torch']:5.2f} "
              f"{r['compiled_vs_torch']:6.2f} {r['step_vs_torch']:6.2f}  {r['compiled_compile_s'] * 1e3:5.0f}ms "
              f"{r['step_compile_s'] * 1e3:5.0f}ms  {len(breaks)} {breaks[:2]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
