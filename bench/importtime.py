"""``python -m bench.importtime [--runs N] [--compare torch|none]``: how long ``import retrograd``
takes, as the median over N fresh processes (``import numpy``, which it needs, and ``import torch``
for scale), and which heavy optional modules the import loaded (none should be).

Each process times its own import with ``time.perf_counter`` (the interpreter's start-up is not
counted; on a busy machine the import's CPU time, also printed, is the steadier number), with the
checkout's ``src`` first on the path, as ``python -m bench`` does. Bytecode is cached as in any
installed package: PYTHONDONTWRITEBYTECODE is unset for the processes, and one import of each
module runs first, uncounted (a checkout without ``__pycache__`` would otherwise time Python
compiling retrograd's sources, ~60 ms). For the modules behind the time, run
``python -X importtime -c "import retrograd"``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# modules that `import retrograd` must leave to first use (each costs from 0.1 s to over 1 s)
HEAVY = ("ml_dtypes", "scipy", "matplotlib", "tqdm", "cupy", "torch", "safetensors", "threadpoolctl")

_PROBE = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import {module}
c1, t1 = time.process_time(), time.perf_counter()
print(json.dumps({{"seconds": t1 - t0, "cpu_seconds": c1 - c0,
                  "heavy": [m for m in {heavy!r} if m in sys.modules and m != {module!r}]}}))
"""


def import_once(module, env=None):
    """One fresh process importing ``module``: ``{"seconds": wall, "cpu_seconds": ..., "heavy": [modules loaded]}``."""
    code = _PROBE.format(module=module, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(module, runs, env=None):
    """``runs`` fresh-process imports of ``module``: median/min/max wall seconds, median CPU seconds
    and the heavy modules seen."""
    import_once(module, env)  # writes the bytecode cache; not counted
    results = [import_once(module, env) for _ in range(runs)]
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        return {"module": module, "error": errors[0]}
    seconds = [r["seconds"] for r in results]
    return {"module": module, "runs": runs, "median_s": statistics.median(seconds), "min_s": min(seconds),
            "max_s": max(seconds), "cpu_median_s": statistics.median(r["cpu_seconds"] for r in results),
            "heavy": sorted({m for r in results for m in r["heavy"]})}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.importtime", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15, help="fresh processes per module (default 15)")
    p.add_argument("--compare", choices=["torch", "none"], default="torch",
                   help="also time `import torch` (default; skipped if not importable)")
    p.add_argument("--json", default=None, help="write results to this JSON file")
    args = p.parse_args(argv)

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(ROOT, "src"), env.get("PYTHONPATH")) if p)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    modules = ["numpy", "retrograd"] + (["torch"] if args.compare == "torch" else [])
    rows = [measure(m, args.runs, env) for m in modules]

    print(f"import time, median of {args.runs} fresh processes (interpreter start-up not counted, bytecode cached)")
    print(f"{'module':<11}{'median ms':>10}{'min ms':>8}{'max ms':>8}{'CPU ms':>8}  heavy modules loaded")
    for r in rows:
        if "error" in r:
            print(f"{r['module']:<11}  not importable: {r['error']}")
            continue
        print(f"{r['module']:<11}{r['median_s'] * 1e3:>10.0f}{r['min_s'] * 1e3:>8.0f}{r['max_s'] * 1e3:>8.0f}"
              f"{r['cpu_median_s'] * 1e3:>8.0f}  {', '.join(r['heavy']) or '-'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
