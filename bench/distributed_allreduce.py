"""``python -m bench.distributed_allreduce [--ranks 2] [--rounds 5] [--seconds 0.1] [--largest 64M]``: allreduce
bandwidth of ``retrograd.distributed.all_reduce`` against raw mpi4py ``Comm.Allreduce`` on the
same buffers (float32, in place, SUM), for 4 KB to 64 MB messages.

One job of fresh processes under ``mpiexec``. For each size the two calls alternate, one
mpi4py allreduce, two retrograd allreduces, two mpi4py ones, and so on (so that a burst of load
on this shared machine weighs on both alike, and neither always runs first), each call timed
on rank 0; ``--rounds`` rounds of about
``--seconds`` each, with a barrier between rounds. The table gives each one's median seconds per
call as algorithm bandwidth (message bytes / seconds) and the ratio retrograd / mpi4py (target:
at least 0.9 at every size). The tensor wraps the very array that mpi4py reduces
(``from_numpy``), so the difference is retrograd's per-call overhead alone.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20]


def _size(text):
    """Bytes from "4096", "16K" or "64M"."""
    scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


def _label(nbytes):
    return f"{nbytes >> 20} MB" if nbytes >= 1 << 20 else f"{nbytes >> 10} KB"


def worker(rounds, seconds, largest):
    """One rank: for each size, the median seconds per call of each; rank 0 prints them as JSON."""
    import statistics

    import numpy as np
    from mpi4py import MPI

    import retrograd as torch
    import retrograd.distributed as dist

    dist.init_process_group()
    comm = MPI.COMM_WORLD
    results = {}
    for nbytes in (n for n in SIZES if n <= largest):
        arr = np.zeros(nbytes // 4, np.float32)  # zeros: the sums stay zero, no overflow or denormals
        tensor = torch.from_numpy(arr)
        calls = {"mpi4py": lambda: comm.Allreduce(MPI.IN_PLACE, arr, MPI.SUM),
                 "retrograd": lambda: dist.all_reduce(tensor)}
        for fn in calls.values():  # warm up both (MPI's buffers, retrograd's caches)
            fn()
        comm.Barrier()
        start = time.perf_counter()
        for _ in range(3):
            calls["mpi4py"]()
        once = comm.allreduce((time.perf_counter() - start) / 3, op=MPI.MAX)
        pairs = max(3, min(20000, int(seconds / 2 / max(once, 1e-7))))
        times = {name: [] for name in calls}
        clock = time.perf_counter
        orders = (list(calls.items()), list(calls.items())[::-1])  # A B, then B A: neither always goes first
        for _ in range(rounds):
            comm.Barrier()
            for i in range(pairs):
                for name, fn in orders[i % 2]:
                    start = clock()
                    fn()
                    times[name].append(clock() - start)
        results[nbytes] = {name: statistics.median(t) for name, t in times.items()}
    if dist.get_rank() == 0:
        print(json.dumps({"ranks": dist.get_world_size(), "results": results}))
    dist.destroy_process_group()


def run(ranks, rounds, seconds, largest):
    from retrograd.distributed.run import find_mpiexec

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), ROOT, env.get("PYTHONPATH", "")])
    cmd = [find_mpiexec(), "-n", str(ranks), sys.executable, "-m", "bench.distributed_allreduce", "--worker",
           "--rounds", str(rounds), "--seconds", str(seconds), "--largest", str(largest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1200)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(report):
    lines = [f"allreduce (float32 SUM, in place) on {report['ranks']} ranks: median per call, calls alternating, "
             "algorithm bandwidth = bytes / time",
             f"{'size':>8} {'mpi4py':>14} {'retrograd':>14} {'ratio':>7}"]
    worst = None
    for nbytes, best in report["results"].items():
        nbytes = int(nbytes)
        raw, ours = nbytes / best["mpi4py"] / 1e9, nbytes / best["retrograd"] / 1e9
        ratio = ours / raw
        worst = ratio if worst is None else min(worst, ratio)
        lines.append(f"{_label(nbytes):>8} {raw:9.3f} GB/s {ours:9.3f} GB/s {ratio:7.3f}"
                     f"   ({best['mpi4py'] * 1e6:.1f} us vs {best['retrograd'] * 1e6:.1f} us)")
    lines.append(f"lowest ratio {worst:.3f} (target >= 0.9)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.1, help="time per turn (about)")
    parser.add_argument("--largest", type=_size, default=SIZES[-1], help="largest message, e.g. 1M (default 64M)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.rounds, args.seconds, args.largest)
    print(table(run(args.ranks, args.rounds, args.seconds, args.largest)))


if __name__ == "__main__":
    main()
