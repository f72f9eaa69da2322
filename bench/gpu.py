"""``python -m bench.gpu``: issue 17's GPU check in one call on a GPU machine.

1. the GPU and its driver (nvidia-smi); CuPy imported, or installed from wheels carried in
   ``.whl/`` (cupy-cuda12x or cupy-cuda13x, by the driver's CUDA major version), since the
   device machine has no network;
2. the test suite with CUDA available (CuPy sees the GPU, so the tests that need one run:
   first tests/ops/test_cuda_kernels.py, the fused kernels against the CPU, then the whole suite,
   each under a time limit); torch comparisons use the recorded torch 2.13 values
   (RETROGRAD_TEST_WITHOUT_TORCH=1), because the machine's torch is another version;
3. the issue's workloads, one training step each (forward, backward, optimizer step), timed for
   retrograd on CuPy and for torch CUDA in the same run on the same GPU:
     mlp_fp32   784-2048-2048-10 MLP, batch 8192, float32, SGD with momentum (target 1.2x torch)
     mlp_bf16   the same under autocast('cuda', bfloat16)                        (target 1.3x)
     gpt_bf16   GPT width 768, 6 layers, 12 heads, context 512, batch 16, vocabulary 50257,
                AdamW, autocast bfloat16 (bench/workloads.py's gpt2)             (target 1.3x)
     lstm_fp32  nn.LSTM(1024, 1024) over 128 steps, batch 64, MSE of a Linear read-out of the
                last step, SGD with momentum                                     (target 1.5x)
   and prints the table (median ms per step, ratio retrograd/torch, target) with the GPU's name.

Results go to $OUT (or --out): gpu_check.json, gpu_check.md and the suite's logs. ``--tiny``
runs the benchmark part at toy sizes on any device (the CPU here), for tests/bench/test_gpu.py.

Usage on the device machine:  python3 -m bench.gpu
  (at most about 8 minutes: kernels' tests 90 s, suite 240 s, no benchmark case started after
  150 s of benchmarking; --suite-seconds, --bench-seconds, --seconds and --cases change that)
"""

import argparse
import glob
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = {"mlp_fp32": 1.2, "mlp_bf16": 1.3, "gpt_bf16": 1.3, "lstm_fp32": 1.5}
# torch 2.11 on an H200, measured earlier (issue 17), for orientation only
EARLIER_TORCH_MS = {"mlp_fp32": 5.86, "mlp_bf16": 1.56, "gpt_bf16": 20.2, "lstm_fp32": 7.5}
SIZES = {
    "full": {"mlp": (784, 2048, 10, 8192), "gpt": dict(layers=6, d=768, heads=12, ctx=512, batch=16, vocab=50257),
             "lstm": dict(input=1024, hidden=1024, steps=128, batch=64)},
    "tiny": {"mlp": (12, 16, 10, 8), "gpt": dict(layers=1, d=16, heads=2, ctx=8, batch=2, vocab=11),
             "lstm": dict(input=6, hidden=8, steps=5, batch=3)},
}


# ------------------------------------------------------------------------ the machine


def _command(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def gpu_info():
    """{'name', 'driver', 'memory', 'cuda'} from nvidia-smi ({} without it)."""
    line = _command(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"])
    if not line.strip():
        return {}
    name, driver, memory = [s.strip() for s in line.splitlines()[0].split(",")]
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", _command(["nvidia-smi"]))
    return {"name": name, "driver": driver, "memory": memory, "cuda": cuda.group(1) if cuda else None}


def ensure_cupy(info, site="/tmp/rg_site"):
    """Import CuPy, or install it from the wheels carried in .whl/ (cupy-cuda<major>x for the
    driver's CUDA major version) into ``site`` and import it from there. Returns a line to print."""
    try:
        import cupy
        return f"cupy {cupy.__version__} (already installed)"
    except ImportError:
        pass
    major = (info.get("cuda") or "12").split(".")[0]
    wheels = glob.glob(os.path.join(ROOT, ".whl", f"cupy_cuda{major}x-*.whl")) or glob.glob(
        os.path.join(ROOT, ".whl", "cupy_cuda*.whl"))
    if not wheels:
        return f"no CuPy and no wheel in .whl/ (pip download cupy-cuda{major}x into .whl/ and carry it)"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--target", site,
                    *glob.glob(os.path.join(ROOT, ".whl", "*.whl"))], check=False)
    sys.path.insert(0, site)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [site, os.environ.get("PYTHONPATH")]))
    try:
        import cupy
        return f"cupy {cupy.__version__} (installed from {os.path.basename(wheels[0])})"
    except ImportError as e:
        return f"CuPy failed to install: {e}"


def run_suite(out, seconds):
    """The kernels' tests, then the whole suite, each under a time limit; a summary line each."""
    env = dict(os.environ, RETROGRAD_TEST_WITHOUT_TORCH="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(ROOT, "src"), ROOT, env.get("PYTHONPATH")]))
    lines = []
    for label, args, limit in (("kernels", ["tests/ops/test_cuda_kernels.py", "-rs"], min(90, seconds)),
                               ("suite", [], seconds)):
        log = os.path.join(out, f"suite_{label}.log")
        start = time.perf_counter()
        with open(log, "w") as f:
            try:
                subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                               cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=limit)
            except subprocess.TimeoutExpired:
                f.write(f"\n(stopped after {limit} s)\n")
        tail = open(log).read().strip().splitlines()[-1:] or ["no output"]
        lines.append(f"{label}: {tail[0]} ({time.perf_counter() - start:.0f} s, log {os.path.basename(log)})")
        print(lines[-1], flush=True)
    return lines


# ----------------------------------------------------------------------- the workloads


class Case:
    """A model, its batch, a loss, an optimizer and the autocast dtype (None: none)."""

    def __init__(self, model, inputs, target, loss_fn, opt, autocast):
        self.model, self.inputs, self.target, self.loss_fn, self.opt, self.autocast = (
            model, inputs, target, loss_fn, opt, autocast)


def _mlp(t, sizes, device, low):
    i, h, o, batch = sizes["mlp"]
    t.manual_seed(0)
    nn = t.nn
    model = nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, o)).to(device)
    x = t.randn(batch, i).to(device)
    y = t.randint(0, o, (batch,)).to(device)
    opt = t.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return Case(model, (x,), y, nn.CrossEntropyLoss(), opt, t.bfloat16 if low else None)


def _gpt(t, sizes, device):
    from bench.workloads import gpt2

    w = gpt2(t, **sizes["gpt"])
    model = w.model.to(device)
    opt = t.optim.AdamW(model.parameters(), lr=3e-4)
    return Case(model, tuple(a.to(device) for a in w.inputs), w.target.to(device), w.loss_fn, opt, t.bfloat16)


def _lstm(t, sizes, device):
    s = sizes["lstm"]
    t.manual_seed(0)
    nn = t.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(s["input"], s["hidden"], batch_first=True)
            self.head = nn.Linear(s["hidden"], 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    model = Net().to(device)
    x = t.randn(s["batch"], s["steps"], s["input"]).to(device)
    y = t.randn(s["batch"], 1).to(device)
    opt = t.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return Case(model, (x,), y, nn.MSELoss(), opt, None)


CASES = {
    "mlp_fp32": lambda t, sizes, device: _mlp(t, sizes, device, False),
    "mlp_bf16": lambda t, sizes, device: _mlp(t, sizes, device, True),
    "gpt_bf16": _gpt,
    "lstm_fp32": _lstm,
}


def train_step(t, case, device_type):
    """zero_grad, forward and loss (under autocast when the case asks), backward, step."""
    case.opt.zero_grad(set_to_none=True)
    if case.autocast is None:
        loss = case.loss_fn(case.model(*case.inputs), case.target)
    else:
        with t.autocast(device_type=device_type, dtype=case.autocast):
            loss = case.loss_fn(case.model(*case.inputs), case.target)
    loss.backward()
    case.opt.step()
    return loss


def time_case(t, name, sizes, device, seconds, rounds=3):
    """Median ms per training step over ``rounds`` timed runs (each synchronized at both ends)
    after warm-up steps; the first step's loss."""
    device_type = "cuda" if str(device).startswith("cuda") else "cpu"
    sync = t.cuda.synchronize if device_type == "cuda" else (lambda: None)
    case = CASES[name](t, sizes, device)
    start = time.perf_counter()
    loss0 = float(train_step(t, case, device_type).item())  # (kernels compiled, memory pools filled)
    train_step(t, case, device_type)
    sync()
    warm = (time.perf_counter() - start) / 2
    per_round = max(1, min(50, int(seconds / rounds / max(warm, 1e-4))))
    times = []
    for _ in range(rounds):
        sync()
        start = time.perf_counter()
        for _ in range(per_round):
            loss = train_step(t, case, device_type)
        sync()
        times.append((time.perf_counter() - start) / per_round * 1e3)
    return {"ms": statistics.median(times), "steps": per_round * rounds, "loss0": loss0,
            "loss": float(loss.item())}


def benchmark(frameworks, sizes, device, seconds, names=tuple(CASES), budget=float("inf")):
    """{case: {framework: result or {'error': ...}}}, frameworks alternating per case; no case is
    started after ``budget`` seconds."""
    results = {}
    start = time.perf_counter()
    for name in names:
        results[name] = {}
        for fw in frameworks:
            t = __import__(fw)
            if time.perf_counter() - start > budget:
                results[name][fw] = {"error": f"not run: the benchmark's {budget:.0f} s were spent"}
                continue
            try:
                results[name][fw] = time_case(t, name, sizes, device, seconds)
            except Exception as e:  # noqa: BLE001 - one failing case must not lose the others
                results[name][fw] = {"error": f"{type(e).__name__}: {e}"[:300]}
            if device != "cpu" and hasattr(t, "cuda") and hasattr(t.cuda, "empty_cache"):
                t.cuda.empty_cache()
            print(f"{name} {fw}: {results[name][fw]}", flush=True)
    return results


def table(results, title):
    """The markdown table: ms per step for each framework, ratio retrograd/torch, target."""
    rows = [f"### {title}", "",
            "| workload | torch ms | retrograd ms | ratio | target | first loss torch / retrograd |",
            "| --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        th, rg = r.get("torch", {}), r.get("retrograd", {})
        ratio = rg["ms"] / th["ms"] if "ms" in th and "ms" in rg else None
        cell = lambda x: f"{x['ms']:.2f}" if "ms" in x else x.get("error", "-")  # noqa: E731
        loss = " / ".join(f"{x['loss0']:.4f}" if "loss0" in x else "-" for x in (th, rg))
        rows.append(f"| {name} | {cell(th)} | {cell(rg)} | {'-' if ratio is None else f'{ratio:.2f}x'} "
                    f"| {TARGETS[name]}x | {loss} |")
    return "\n".join(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="toy sizes (a smoke test on any device)")
    p.add_argument("--device", default=None, help="default: cuda, or cpu with --tiny")
    p.add_argument("--frameworks", default="torch,retrograd")
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--seconds", type=float, default=6.0, help="timed seconds per case and framework")
    p.add_argument("--suite", action=argparse.BooleanOptionalAction, default=None,
                   help="run the test suite first (default: yes, except with --tiny)")
    p.add_argument("--suite-seconds", type=int, default=240, help="time limit of the whole suite")
    p.add_argument("--bench-seconds", type=float, default=150, help="no case starts after this")
    p.add_argument("--out", default=os.environ.get("OUT") or None, help="default: $OUT, else a temporary folder")
    args = p.parse_args(argv)
    out = args.out or os.path.join(tempfile.gettempdir(), "retrograd_gpu_check")
    os.makedirs(out, exist_ok=True)
    device = args.device or ("cpu" if args.tiny else "cuda")
    info = gpu_info()
    header = [f"GPU: {info.get('name', 'none')} (driver {info.get('driver')}, CUDA {info.get('cuda')}, "
              f"{info.get('memory')})"]
    if device != "cpu":
        header.append(ensure_cupy(info))
    sys.path.insert(0, os.path.join(ROOT, "src"))
    print("\n".join(header), flush=True)
    suite = run_suite(out, args.suite_seconds) if (args.suite if args.suite is not None else not args.tiny) else []
    frameworks = []
    for fw in args.frameworks.split(","):
        try:
            mod = __import__(fw)
            header.append(f"{fw} {getattr(mod, '__version__', '?')}")
            frameworks.append(fw)
        except ImportError:
            header.append(f"{fw}: not installed (skipped)")
    results = benchmark(frameworks, SIZES["tiny" if args.tiny else "full"], device, args.seconds,
                        [c for c in args.cases.split(",") if c], args.bench_seconds)
    title = f"{'tiny sizes, ' if args.tiny else ''}{device} on {info.get('name', 'this machine')}"
    md = "\n".join(header + suite + ["", table(results, title), ""])
    print(md, flush=True)
    with open(os.path.join(out, "gpu_check.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "gpu_check.json"), "w") as f:
        json.dump({"gpu": info, "header": header, "suite": suite, "device": device, "tiny": args.tiny,
                   "results": results, "targets": TARGETS, "earlier_torch_ms": EARLIER_TORCH_MS}, f, indent=1,
                  default=lambda x: None if isinstance(x, float) and not math.isfinite(x) else str(x))
    return 0


if __name__ == "__main__":
    sys.exit(main())
