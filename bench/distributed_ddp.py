"""``python -m bench.distributed_ddp [--steps 30] [--ranks 2] [--rounds 3]``: the training step of
the ``mlp`` workload (bench/workloads.py: 784-512-512-10, batch 128 per rank, SGD) under
DistributedDataParallel on ``--ranks`` MPI ranks against one process with the same per-rank batch.

Each job runs in fresh processes (the ranks under ``mpiexec``, one BLAS thread each); the median
step time after ``--warmup`` steps, best of ``--rounds`` jobs, is printed:

- ``1 process``: the plain step, no DDP (the baseline);
- ``N ranks, DDP``: forward, backward with the bucketed allreduces started during it, SGD step;
- ``N ranks, no_sync``: the same step without communication (what N ranks computing side by
  side cost on this machine: they share its cores and memory bandwidth);
- ``N ranks, allreduce``: one blocking allreduce of all the gradients (2.7 MB), alone.

The three N-rank measurements take turns step by step in one job, each timed from a barrier to a
barrier. DDP's overhead is DDP / 1 process - 1 (and DDP / no_sync - 1 without the machine's
contention); the share of the allreduce hidden behind backward is (no_sync + allreduce - DDP) /
allreduce.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker(ranked, steps, warmup):
    """One rank: time the steps; rank 0 prints {measurement: [seconds per step]} as JSON. With
    ``ranked`` the DDP step, the step under no_sync and the bare allreduce take turns, step by
    step, so that the machine's load weighs on each alike; each is timed from a barrier to a
    barrier (until every rank is done)."""
    import retrograd as torch
    from bench.workloads import mlp

    w = mlp(torch)
    model, (x,), y, loss_fn = w.model, w.inputs, w.target, w.loss_fn
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    times = {}
    if not ranked:
        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

        for i in range(warmup + steps):
            start = time.perf_counter()
            step()
            times.setdefault("local", []).append(time.perf_counter() - start)
        print(json.dumps({k: v[warmup:] for k, v in times.items()}))
        return

    import retrograd.distributed as dist
    from retrograd.nn.parallel import DistributedDataParallel

    dist.init_process_group()
    ddp = DistributedDataParallel(model)
    flat = torch.zeros(sum(p.numel() for p in model.parameters()))

    def ddp_step():
        opt.zero_grad()
        loss_fn(ddp(x), y).backward()
        opt.step()

    def no_sync_step():
        with ddp.no_sync():
            ddp_step()

    measurements = {"ddp": ddp_step, "no_sync": no_sync_step, "allreduce": lambda: dist.all_reduce(flat)}
    for i in range(warmup + steps):
        for name, fn in measurements.items():
            dist.barrier()
            start = time.perf_counter()
            fn()
            dist.barrier()
            times.setdefault(name, []).append(time.perf_counter() - start)
    if dist.get_rank() == 0:
        print(json.dumps({k: v[warmup:] for k, v in times.items()}))
    dist.destroy_process_group()


def run(ranks, steps, warmup):
    """{measurement: median seconds} of a fresh job (1 process without MPI, else ``ranks`` ranks)."""
    from retrograd.distributed.run import find_mpiexec

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), ROOT, env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "bench.distributed_ddp", "--worker", "ranks" if ranks > 1 else "local",
           "--steps", str(steps), "--warmup", str(warmup)]
    if ranks > 1:
        cmd = [find_mpiexec(), "-n", str(ranks)] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return {k: statistics.median(v) for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker == "ranks", args.steps, args.warmup)
    n = args.ranks
    best = {}
    for _ in range(args.rounds):  # 1 process and N ranks in turn, each measurement's best round kept
        for ranks in (1, n):
            for name, t in run(ranks, args.steps, args.warmup).items():
                best[name] = min(best.get(name, t), t)
    rows = [("1 process", best["local"]), (f"{n} ranks, DDP", best["ddp"]),
            (f"{n} ranks, no_sync", best["no_sync"]), (f"{n} ranks, allreduce", best["allreduce"])]
    print(f"mlp step (batch 128 per rank), median of {args.steps} steps (best of {args.rounds} rounds), "
          "one BLAS thread per rank")
    for name, t in rows:
        print(f"  {name:22s} {t * 1e3:8.2f} ms")
    local, ddp, nosync, allreduce = (t for _, t in rows)
    print(f"DDP adds {100 * (ddp / local - 1):+.1f}% to the 1-process step "
          f"({100 * (ddp / nosync - 1):+.1f}% to the {n}-rank step without communication); "
          f"{100 * max(0.0, (nosync + allreduce - ddp) / allreduce):.0f}% of the allreduce time hidden behind backward")


if __name__ == "__main__":
    main()
