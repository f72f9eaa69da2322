"""``python -m bench.memory``: peak live memory and step time of one training step of an
activation-heavy network (24 blocks x = x + tanh(Linear(512,512)(x)), batch 8192) with
each memory technique, retrograd next to torch, each configuration in a fresh process.

Live memory is measured so that allocator caching cannot hide it: peak RSS of a fresh
process run with glibc's MALLOC_MMAP_THRESHOLD_=131072 (large buffers go back to the
system when freed), minus the RSS before the step; for retrograd also tracemalloc's
peak (NumPy reports its buffers to it).
"""

import argparse
import json
import os
import subprocess
import sys

CONFIGS = ["plain", "checkpoint_every_block", "checkpoint_every_4", "bf16_autocast", "disk_offload"]
TORCH_CONFIGS = ["plain", "checkpoint_every_block", "checkpoint_every_4", "bf16_autocast"]


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(framework, config, blocks, batch, width):
    import time
    import tracemalloc

    if framework == "torch":
        import torch as t
        from torch.utils.checkpoint import checkpoint
    else:
        import retrograd as t
        from retrograd.utils.checkpoint import checkpoint
    t.manual_seed(0)
    layers = [t.nn.Linear(width, width) for _ in range(blocks)]
    x = t.randn(batch, width)
    params = [p for layer in layers for p in layer.parameters()]

    def segment(start, end):
        def run(h):
            for layer in layers[start:end]:
                h = h + t.tanh(layer(h))
            return h
        return run

    def forward():
        h = x
        if config.startswith("checkpoint"):
            every = 1 if config == "checkpoint_every_block" else 4
            for s in range(0, blocks, every):
                h = checkpoint(segment(s, s + every), h, use_reentrant=False)
        elif config == "bf16_autocast":
            with t.autocast("cpu", dtype=t.bfloat16):
                h = segment(0, blocks)(h)
            h = h.float()
        elif config == "disk_offload":
            with t.autograd.graph.save_on_disk():
                h = segment(0, blocks)(h)
        else:
            h = segment(0, blocks)(h)
        return (h * h).mean()

    def step():
        for p in params:
            p.grad = None
        loss = forward()
        loss.backward()
        return loss

    saved_mb = None
    if framework == "retrograd":  # warm-up step, also asking what backward will keep
        from retrograd.inspect import saved_tensors

        warm = forward()
        saved_mb = saved_tensors(warm).activation_bytes / 2**20
        warm.backward()
        del warm
    else:
        step()  # warm up (allocations of .grad, BLAS buffers)
    for p in params:
        p.grad = None
    use_tm = framework == "retrograd"
    if use_tm:
        tracemalloc.start()
    rss0 = _rss_mb()
    _reset_peak_rss()
    t0 = time.perf_counter()
    loss = step()
    dt = time.perf_counter() - t0
    out = {"framework": framework, "config": config, "step_s": dt, "rss_peak_mb": _peak_rss_mb() - rss0,
           "loss": float(loss.item()), "saved_in_ram_mb": saved_mb}
    if use_tm:
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    grads = [p.grad.detach().double().numpy().ravel()[:64] for p in params[:2]]
    out["grad_head"] = [float(v) for g in grads for v in g[:8]]
    print(json.dumps(out))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    p.add_argument("--blocks", type=int, default=24)
    p.add_argument("--batch", type=int, default=8192)
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--json", default=None)
    p.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "CONFIG"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(*args.worker, args.blocks, args.batch, args.width)
        return 0
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    results = []
    for config in CONFIGS:
        for fw in ("retrograd", "torch"):
            if fw == "torch" and (args.no_torch or config not in TORCH_CONFIGS):
                continue
            cmd = [sys.executable, "-m", "bench.memory", "--worker", fw, config, "--blocks", str(args.blocks),
                   "--batch", str(args.batch), "--width", str(args.width)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root)
            lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
            if not lines:
                results.append({"framework": fw, "config": config,
                                "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]})
            else:
                results.append(json.loads(lines[-1]))
            print(f"  {fw} {config} done", file=sys.stderr)
    plain = {r["framework"]: r for r in results if r["config"] == "plain" and "error" not in r}
    print(f"\none training step, {args.blocks} blocks x = x + tanh(Linear({args.width},{args.width})(x)), "
          f"batch {args.batch}; peak live memory above the pre-step RSS (MALLOC_MMAP_THRESHOLD_=131072)\n")
    print(f"{'config':<24}{'framework':<11}{'peak MB':>9}{'vs plain':>9}{'tracemalloc MB':>15}"
          f"{'step s':>8}{'time vs plain':>14}{'grads = plain':>14}")
    for r in results:
        if "error" in r:
            print(f"{r['config']:<24}{r['framework']:<11}  failed: {r['error']}")
            continue
        base = plain.get(r["framework"])
        less = f"{base['rss_peak_mb'] / r['rss_peak_mb']:.2f}x" if base and r["rss_peak_mb"] > 0 else "-"
        slower = f"{r['step_s'] / base['step_s']:.2f}x" if base else "-"
        same = "-"
        if base:
            import numpy as np

            tol = 3e-2 if r["config"] == "bf16_autocast" else 1e-5
            same = "yes" if np.allclose(r["grad_head"], base["grad_head"], rtol=tol, atol=tol * 1e-2) else "NO"
        tm = f"{r['tracemalloc_peak_mb']:.0f}" if "tracemalloc_peak_mb" in r else "-"
        print(f"{r['config']:<24}{r['framework']:<11}{r['rss_peak_mb']:>9.0f}{less:>9}{tm:>15}"
              f"{r['step_s']:>8.2f}{slower:>14}{same:>14}")
    disk = next((r for r in results if r["config"] == "disk_offload" and "error" not in r), None)
    base = plain.get("retrograd")
    if disk and base and base.get("saved_in_ram_mb"):
        print(f"\ndisk offloading: the plain step keeps {base['saved_in_ram_mb']:.0f} MB of activations for "
              f"backward; with save_on_disk the step's peak live memory is {disk['rss_peak_mb']:.0f} MB "
              f"({disk['saved_in_ram_mb']:.0f} MB of saved tensors left in RAM), so the model trains under a "
              f"memory cap below its activation size.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
