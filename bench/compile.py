"""``python -m bench.compile``: retrograd.compile against eager torch, short alternating runs.

For each workload (``tiny`` and ``mlp`` by default): a training step (zero_grad, forward and
loss, backward, SGD step) with the forward and loss compiled by ``retrograd.compile``, against
the same step in eager torch and eager retrograd, timed in this one process in alternating
rounds (A B C A B C ...). Prints the medians, the ratios compiled/torch and compiled/eager
retrograd, the compile time (the first compiled call: capture = one eager run recording the
ops) and the graph breaks, one JSON line per workload with ``--json``.
"""

import argparse
import json
import statistics
import sys
import time

from bench.workloads import WORKLOADS


def _step_fn(t, name, compiled):
    w = WORKLOADS[name](t)
    opt = t.optim.SGD(w.model.parameters(), lr=0.01)

    def forward(x, y):
        return w.loss_fn(w.model(x), y)

    fwd = t.compile(forward) if compiled else forward
    compile_s = None
    if compiled:
        t0 = time.perf_counter()
        fwd(*w.inputs, w.target)
        compile_s = time.perf_counter() - t0

    def step():
        opt.zero_grad()
        loss = fwd(*w.inputs, w.target)
        loss.backward()
        opt.step()

    return step, compile_s, fwd


def _timed(fn, seconds):
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def measure(name, rounds, seconds):
    import retrograd
    import torch

    runs = {"compiled": _step_fn(retrograd, name, True), "retrograd": _step_fn(retrograd, name, False),
            "torch": _step_fn(torch, name, False)}
    for step, _, _ in runs.values():
        for _ in range(3):
            step()
    times = {k: [] for k in runs}
    for _ in range(rounds):
        for k, (step, _, _) in runs.items():
            times[k].append(statistics.median(_timed(step, seconds)))
    med = {k: statistics.median(v) for k, v in times.items()}
    breaks = [b.reason for b in runs["compiled"][2]._compiled.last_breaks]
    return {"workload": name, "compiled_step_s": med["compiled"], "retrograd_step_s": med["retrograd"],
            "torch_step_s": med["torch"], "compiled_vs_torch": med["compiled"] / med["torch"],
            "compiled_vs_eager": med["compiled"] / med["retrograd"], "compile_s": runs["compiled"][1],
            "graph_breaks": breaks, "torch_threads": torch.get_num_threads()}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.compile", description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="tiny,mlp")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=0.5, help="timing budget per run and round (default 0.5)")
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS/intra-op threads for both frameworks (default: leave each framework's own)")
    args = p.parse_args(argv)
    if args.threads is not None:
        import retrograd
        import torch

        retrograd.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    rows = [measure(n, args.rounds, args.seconds) for n in args.workloads.split(",")]
    print(f"{'workload':10} {'compiled':>10} {'eager rg':>10} {'torch':>10} {'c/torch':>8} {'c/eager':>8} "
          f"{'compile':>8}  breaks")
    for r in rows:
        print(f"{r['workload']:10} {r['compiled_step_s'] * 1e3:9.3f}ms {r['retrograd_step_s'] * 1e3:9.3f}ms "
              f"{r['torch_step_s'] * 1e3:9.3f}ms {r['compiled_vs_torch']:8.2f} {r['compiled_vs_eager']:8.2f} "
              f"{r['compile_s'] * 1e3:7.1f}ms  {len(r['graph_breaks'])} {r['graph_breaks'][:2]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
