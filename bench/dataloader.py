"""``python -m bench.dataloader [--workers 0,1,2,4] [--compare torch|none]``: seconds per epoch of
a DataLoader over a slow dataset (each item sleeps ``--sleep-ms``, as one read from a slow disk or
network would) with each number of worker processes, retrograd next to torch.

Each framework runs in a fresh process (with the checkout's ``src`` first on the path, as
``python -m bench`` does). An epoch is one full pass, starting its workers as torch's default
(``persistent_workers=False``) does, so the time includes the workers' start-up; the median over
``--epochs`` is printed with the speed-up over ``num_workers=0`` and the floor of a perfect split
(items x sleep / max(1, workers)).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _lib(framework):
    if framework == "torch":
        import torch

        return torch
    import retrograd

    return retrograd


class SlowDataset:
    """``n`` items; each ``__getitem__`` sleeps ``sleep_s`` and returns a small float32 row
    (picklable, so that workers started by spawn or forkserver get it too)."""

    def __init__(self, framework, n, sleep_s):
        self.framework, self.n, self.sleep_s = framework, n, sleep_s

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.sleep_s)
        return _lib(self.framework).full((16,), float(i)), i


def run(framework, workers, items, sleep_s, batch_size, epochs):
    """Median and all epoch times for each worker count, in this process."""
    lib = _lib(framework)
    ds = SlowDataset(framework, items, sleep_s)
    out = {"framework": framework, "epochs": {}}
    for w in workers:
        loader = lib.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=w)
        times = []
        for _ in range(epochs):
            t0 = time.perf_counter()
            n = sum(len(batch[1]) for batch in loader)
            times.append(time.perf_counter() - t0)
            assert n == items, (n, items)
        out["epochs"][str(w)] = times
    return out


def run_in_fresh_process(framework, args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(ROOT, "src"), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "bench.dataloader", "--run", framework, "--workers", args.workers,
           "--items", str(args.items), "--sleep-ms", str(args.sleep_ms), "--batch-size", str(args.batch_size),
           "--epochs", str(args.epochs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"framework": framework, "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.dataloader", description=__doc__.splitlines()[0])
    p.add_argument("--workers", default="0,1,2,4", help="comma-separated num_workers values (default 0,1,2,4)")
    p.add_argument("--items", type=int, default=128, help="dataset length (default 128)")
    p.add_argument("--sleep-ms", type=float, default=10.0, help="sleep per item in ms (default 10)")
    p.add_argument("--batch-size", type=int, default=8, help="batch size (default 8)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per worker count; the median is shown (default 3)")
    p.add_argument("--compare", choices=["torch", "none"], default="torch",
                   help="also run torch's DataLoader (default; skipped if not importable)")
    p.add_argument("--json", default=None, help="write results to this JSON file")
    p.add_argument("--run", choices=["retrograd", "torch"], help=argparse.SUPPRESS)  # one framework, in-process
    args = p.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    sleep_s = args.sleep_ms / 1e3
    if args.run:
        print(json.dumps(run(args.run, workers, args.items, sleep_s, args.batch_size, args.epochs)))
        return 0

    results = [run_in_fresh_process("retrograd", args)]
    if args.compare == "torch":
        results.append(run_in_fresh_process("torch", args))
    print(f"DataLoader over {args.items} items sleeping {args.sleep_ms:g} ms each, batch {args.batch_size}, "
          f"shuffle; seconds per epoch (median of {args.epochs}, worker start-up included), speed-up over "
          f"num_workers={workers[0]}")
    head = f"{'workers':>8}{'floor s':>9}" + "".join(f"{r['framework'] + ' s':>14}{'speed-up':>10}" for r in results)
    print(head)
    print("-" * len(head))
    for w in workers:
        floor = args.items * sleep_s / max(1, w)
        row = f"{w:>8}{floor:>9.3f}"
        for r in results:
            if "error" in r:
                row += f"{'failed':>14}{'':>10}"
                continue
            med = statistics.median(r["epochs"][str(w)])
            base = statistics.median(r["epochs"][str(workers[0])])
            row += f"{med:>14.3f}{base / med:>9.2f}x"
        print(row)
    for r in results:
        if "error" in r:
            print(f"{r['framework']} failed: {r['error']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
