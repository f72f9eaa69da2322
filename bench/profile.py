"""``python -m bench.profile WORKLOAD [--steps N] [--top K]``: where retrograd's training
step of a bench workload spends its time, as a cProfile table (functions by own time)."""

import argparse
import cProfile
import pstats
import sys

from bench.workloads import WORKLOADS


def main(argv=None):
    training = [name for name, make in WORKLOADS.items() if make is not None]
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=training)
    p.add_argument("--steps", type=int, default=10, help="profiled steps, after 3 warm-up steps (default 10)")
    p.add_argument("--top", type=int, default=25, help="rows of the table (default 25)")
    args = p.parse_args(argv)

    import retrograd as t

    w = WORKLOADS[args.workload](t)
    opt = t.optim.SGD(w.model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        w.loss_fn(w.model(*w.inputs), w.target).backward()
        opt.step()

    for _ in range(3):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.steps):
        step()
    profiler.disable()
    print(f"{args.workload}: {args.steps} training steps (divide the times by {args.steps} for one step)")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
