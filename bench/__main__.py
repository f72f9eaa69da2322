"""``python -m bench --compare torch``: each workload for retrograd and torch in fresh
processes, alternating A B A B over rounds, then a table of medians and ratios.

``--compile`` adds a third process per round, alternating with the other two (A B C, B C A, ...):
retrograd with the whole training step compiled by ``retrograd.compile`` (bench.compile's "step"
mode), and a second table of its step time against eager torch's of the same rounds.

By default the worker processes run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset
(this machine sets them for old OpenBLAS builds; they halve NumPy's matmul speed); the
BLAS library, its core type and its thread count are recorded in the output.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from bench.workloads import WORKLOADS

FLOOR_WORKLOADS = ("mlp", "deep")


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_worker(framework, workload, seconds, env):
    cmd = [sys.executable, "-m", "bench.worker", framework, workload, str(seconds)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"framework": framework, "workload": workload,
                "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def _median(results, key):
    vals = [r[key] for r in results if key in r]
    return statistics.median(vals) if vals else None


def _spread(ratios):
    if len(ratios) < 2:
        return 0.0
    return (max(ratios) - min(ratios)) / 2


def summarize(name, rounds):
    """Medians per framework and the ratio retrograd/torch with its spread over rounds."""
    rg = [r["retrograd"] for r in rounds if "error" not in r["retrograd"]]
    th = [r["torch"] for r in rounds if "torch" in r and "error" not in r["torch"]]
    row = {"workload": name}
    if not rg:
        row["error"] = rounds[0]["retrograd"].get("error")
        return row
    for key in ("step_s", "forward_s", "forward_nograd_s", "backward_s", "peak_rss_mb", "us_per_op"):
        row[f"rg_{key}"] = _median(rg, key)
        row[f"torch_{key}"] = _median(th, key) if th else None
    pairs = [(r["retrograd"]["step_s"], r["torch"]["step_s"]) for r in rounds
             if "torch" in r and "error" not in r["retrograd"] and "error" not in r["torch"]]
    if pairs:
        ratios = [a / b for a, b in pairs]
        row["ratio"] = statistics.median(ratios)
        row["ratio_spread"] = _spread(ratios)
    if row.get("rg_forward_s") and row.get("rg_backward_s"):
        row["rg_bwd_fwd"] = row["rg_backward_s"] / row["rg_forward_s"]
    if row.get("torch_forward_s") and row.get("torch_backward_s"):
        row["torch_bwd_fwd"] = row["torch_backward_s"] / row["torch_forward_s"]
    if any("compiled" in r for r in rounds):
        row.update(_summarize_compiled(rounds))
    floors = [r["numpy"] for r in rounds if "numpy" in r and "error" not in r["numpy"]]
    if floors:
        row["numpy_step_s"] = _median(floors, "step_s")
        row["blas_floor_s"] = _median(floors, "floor_s")
        row["matmul_gflops"] = _median(floors, "matmul_gflops")
        row["vs_numpy"] = row["rg_step_s"] / row["numpy_step_s"]
    return row


def _summarize_compiled(rounds):
    """The compiled step's median time, its ratio to eager torch's step over the rounds that ran
    both, its compile time and graph breaks."""
    ok = [r["compiled"] for r in rounds if "compiled" in r and "error" not in r["compiled"]]
    if not ok:
        return {"compiled_error": next(r["compiled"]["error"] for r in rounds if "compiled" in r)}
    out = {"compiled_step_s": _median(ok, "step_s"), "compile_s": _median(ok, "compile_s"),
           "compiled_breaks": max(len(r["graph_breaks"]) for r in ok)}
    pairs = [(r["compiled"]["step_s"], r["torch"]["step_s"]) for r in rounds
             if "compiled" in r and "error" not in r["compiled"] and "torch" in r and "error" not in r["torch"]]
    if pairs:
        ratios = [a / b for a, b in pairs]
        out["compiled_ratio"] = statistics.median(ratios)
        out["compiled_ratio_spread"] = _spread(ratios)
    return out


def _ms(v):
    return "-" if v is None else f"{v * 1e3:.2f}"


def print_table(rows, out=None):
    out = out or sys.stdout  # (at the call: a redirected stdout)
    head = (f"{'workload':<12}{'rg step ms':>11}{'torch ms':>10}{'ratio':>13}{'rg fwd':>9}"
            f"{'fwd nograd':>11}{'bwd/fwd':>9}{'rg RSS MB':>10}{'torch RSS':>10}")
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in rows:
        if "error" in r:
            print(f"{r['workload']:<12}  retrograd failed: {r['error']}", file=out)
            continue
        ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.2f}±{r['ratio_spread']:.2f}"
        if r["workload"] == "opoverhead":
            print(f"{'opoverhead':<12}{r['rg_us_per_op']:>9.1f}us{(r['torch_us_per_op'] or 0):>8.1f}us"
                  f"{ratio:>13}   (microseconds per op, forward + backward)", file=out)
            continue
        bwd = "-" if r.get("rg_bwd_fwd") is None else f"{r['rg_bwd_fwd']:.2f}"
        trss = "-" if r.get("torch_peak_rss_mb") is None else f"{r['torch_peak_rss_mb']:.0f}"
        print(f"{r['workload']:<12}{_ms(r['rg_step_s']):>11}{_ms(r.get('torch_step_s')):>10}{ratio:>13}"
              f"{_ms(r['rg_forward_s']):>9}{_ms(r['rg_forward_nograd_s']):>11}{bwd:>9}"
              f"{r['rg_peak_rss_mb']:>10.0f}{trss:>10}", file=out)
    compiled = [r for r in rows if "compiled_step_s" in r or "compiled_error" in r]
    if compiled:
        print("\ncompiled whole step (retrograd.compile of zero_grad, forward, loss, backward, SGD step) "
              "vs eager torch, same rounds", file=out)
        head = f"{'workload':<12}{'compiled ms':>12}{'torch ms':>10}{'ratio':>13}{'compile ms':>12}{'breaks':>8}"
        print(head, file=out)
        print("-" * len(head), file=out)
        for r in compiled:
            if "compiled_error" in r:
                print(f"{r['workload']:<12}  compiled step failed: {r['compiled_error']}", file=out)
                continue
            ratio = "-" if r.get("compiled_ratio") is None else \
                f"{r['compiled_ratio']:.2f}±{r['compiled_ratio_spread']:.2f}"
            print(f"{r['workload']:<12}{_ms(r['compiled_step_s']):>12}{_ms(r.get('torch_step_s')):>10}{ratio:>13}"
                  f"{_ms(r['compile_s']):>12}{r['compiled_breaks']:>8}", file=out)
    floors = [r for r in rows if r.get("numpy_step_s")]
    if floors:
        print("\nfloor (same run): hand-written NumPy step, and matmul FLOPs / measured matmul rate", file=out)
        for r in floors:
            print(f"  {r['workload']:<10} numpy step {_ms(r['numpy_step_s'])} ms, BLAS floor "
                  f"{_ms(r['blas_floor_s'])} ms at {r['matmul_gflops']:.0f} GFLOP/s; "
                  f"retrograd/numpy = {r['vs_numpy']:.2f}", file=out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--compare", choices=["torch", "none"], default="torch",
                   help="framework to run side by side (default torch, skipped if not importable)")
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help=f"comma-separated subset of {','.join(WORKLOADS)}")
    p.add_argument("--rounds", type=int, default=3, help="A B rounds per workload (default 3)")
    p.add_argument("--seconds", type=float, default=2.0, help="timing budget per process (default 2)")
    p.add_argument("--compile", action="store_true",
                   help="also time retrograd with the whole training step compiled (retrograd.compile), "
                        "in its own fresh processes alternating with the others")
    p.add_argument("--json", default=None, help="write results to this JSON file")
    p.add_argument("--keep-blas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as set (default: unset for the workers)")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload(s): {', '.join(unknown)}")

    env = dict(os.environ)
    # the checkout's own retrograd, installed or not
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(ROOT, "src"), env.get("PYTHONPATH")) if p)
    removed = {}
    if not args.keep_blas_env:
        for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if var in env:
                removed[var] = env.pop(var)
    compare = args.compare == "torch"
    if compare:
        probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
        if probe.returncode != 0:
            print("torch is not importable: running retrograd alone", file=sys.stderr)
            compare = False

    rows, raw = [], {}
    for name in names:
        rounds = []
        frameworks = ["retrograd"] + (["torch"] if compare else []) + \
            (["compiled"] if args.compile and name != "opoverhead" else [])
        for i in range(args.rounds):
            rnd = {}
            k = i % len(frameworks)
            for fw in frameworks[k:] + frameworks[:k]:  # (each framework first in turn)
                rnd[fw] = run_worker(fw, name, args.seconds, env)
            if name in FLOOR_WORKLOADS:
                rnd["numpy"] = run_worker("numpy", name, args.seconds, env)
            rounds.append(rnd)
            print(f"  {name} round {i + 1}/{args.rounds} done", file=sys.stderr)
        raw[name] = rounds
        rows.append(summarize(name, rounds))

    blas = next((r[fw].get("blas") for rs in raw.values() for r in rs for fw in r if r[fw].get("blas")), None)
    machine = {"python": platform.python_version(), "machine": platform.machine(),
               "processor": platform.processor(), "cpus": os.cpu_count(),
               "blas_env_unset_for_workers": removed, "blas": blas,
               "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"\nretrograd vs torch, median step time over {args.rounds} alternating rounds "
          f"(ratio = retrograd/torch, lower is better)")
    print(f"machine: {machine['machine']}, {machine['cpus']} CPUs, Python {machine['python']}; "
          f"worker env unset: {removed or 'none'}")
    for lib in blas or []:
        print(f"BLAS: {lib.get('internal_api')} {lib.get('version')} core={lib.get('architecture')} "
              f"threads={lib.get('num_threads')} ({os.path.basename(lib.get('filepath') or '')})")
    print()
    print_table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "rows": rows, "raw": raw}, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
