"""One measurement in a fresh process: ``python -m bench.worker FRAMEWORK WORKLOAD SECONDS``.

Prints one JSON line: median step time (zero_grad, forward, loss, backward, SGD step),
forward time with and without graph recording, backward time, and peak RSS.
FRAMEWORK is retrograd, torch, numpy (the hand-written floor for mlp and deep), or compiled
(retrograd with the whole training step compiled: bench.compile's "step" mode; its step time
and the time of its first call, which captures and compiles).
"""

import json
import resource
import statistics
import sys
import time


def _blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    keep = ("internal_api", "version", "num_threads", "architecture", "filepath")
    return [{k: d.get(k) for k in keep} for d in threadpool_info()]


def _timed(fn, seconds, min_reps=5, max_reps=200):
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < seconds and len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def measure_training(t, name, seconds):
    from bench.workloads import WORKLOADS

    w = WORKLOADS[name](t)
    opt = t.optim.SGD(w.model.parameters(), lr=0.01)

    def forward():
        return w.loss_fn(w.model(*w.inputs), w.target)

    def step():
        opt.zero_grad()
        loss = forward()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    steps = _timed(step, seconds)
    fwd, bwd = [], []
    for _ in range(max(3, min(len(steps), 20))):
        opt.zero_grad()
        t0 = time.perf_counter()
        loss = forward()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
    with t.no_grad():
        fwd_nograd = _timed(forward, seconds / 4, min_reps=3, max_reps=50)
    med = statistics.median
    return {"step_s": med(steps), "steps": len(steps), "forward_s": med(fwd),
            "forward_nograd_s": med(fwd_nograd), "backward_s": med(bwd),
            "step_flops": w.step_flops}


def measure_compiled(name, seconds):
    """The whole training step compiled by retrograd.compile (bench.compile's "step" mode, the same
    step function): its first call captures and compiles (compile_s); the replays are timed as
    measure_training times the eager step."""
    import retrograd
    from bench.compile import _step_fn

    run, compile_s, compiled = _step_fn(retrograd, name, "step")
    for _ in range(3):
        run()
    steps = _timed(run, seconds)
    return {"step_s": statistics.median(steps), "steps": len(steps), "compile_s": compile_s,
            "graph_breaks": [b.reason for b in compiled._compiled.last_breaks]}


def measure_opoverhead(t, seconds):
    """Forward + backward of ((x*w + b).relu()*x).sum() on 4-element tensors, per op."""
    x, w, b = (t.randn(4, requires_grad=True) for _ in range(3))

    def step():
        ((x * w + b).relu() * x).sum().backward()

    for _ in range(200):
        step()
    times = _timed(lambda: [step() for _ in range(100)], seconds, min_reps=5, max_reps=500)
    per_step = statistics.median(times) / 100
    return {"step_s": per_step, "us_per_op": per_step / 5 * 1e6, "steps": len(times) * 100}


def measure_numpy(name, seconds):
    """The floor: a hand-written NumPy forward/backward/SGD step of mlp or deep, and the
    matmul rate of this BLAS."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024), dtype=np.float32)
    a @ a
    mm = _timed(lambda: a @ a, 1.0, min_reps=5, max_reps=50)
    gflops = 2 * 1024**3 / statistics.median(mm) / 1e9
    out = {"matmul_gflops": gflops}
    if name == "mlp":
        out.update(_numpy_mlp(seconds))
    elif name == "deep":
        out.update(_numpy_deep(seconds))
    flops = {"mlp": sum(3 * 2 * 128 * a_ * b_ for a_, b_ in zip([784, 512, 512], [512, 512, 10])),
             "deep": 32 * 3 * 2 * 256 * 1024 * 1024}.get(name)
    if flops:
        out["floor_s"] = flops / (gflops * 1e9)
    return out


def _numpy_mlp(seconds):
    import numpy as np

    rng = np.random.default_rng(0)
    sizes = [784, 512, 512, 10]
    Ws = [rng.uniform(-0.05, 0.05, (o, i)).astype(np.float32) for i, o in zip(sizes, sizes[1:])]
    bs = [np.zeros(o, np.float32) for o in sizes[1:]]
    x = rng.standard_normal((128, 784), dtype=np.float32)
    y = rng.integers(0, 10, 128)

    def step():
        acts = [x]
        h = x
        for i, (W, b) in enumerate(zip(Ws, bs)):
            h = h @ W.T + b
            if i < len(Ws) - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        z = h - h.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = p
        g[np.arange(128), y] -= 1
        g /= 128
        for i in range(len(Ws) - 1, -1, -1):
            gW = g.T @ acts[i]
            gb = g.sum(0)
            if i:
                g = (g @ Ws[i]) * (acts[i] > 0)
            Ws[i] -= 0.01 * gW
            bs[i] -= 0.01 * gb

    for _ in range(3):
        step()
    return {"step_s": statistics.median(_timed(step, seconds))}


def _numpy_deep(seconds):
    import numpy as np

    rng = np.random.default_rng(0)
    Ws = [rng.uniform(-0.03, 0.03, (1024, 1024)).astype(np.float32) for _ in range(32)]
    bs = [np.zeros(1024, np.float32) for _ in range(32)]
    x0 = rng.standard_normal((256, 1024), dtype=np.float32)

    def step():
        x = x0
        ts = []
        xs = []
        for W, b in zip(Ws, bs):
            xs.append(x)
            th = np.tanh(x @ W.T + b)
            ts.append(th)
            x = x + th
        g = 2 * x / x.size
        for i in range(31, -1, -1):
            gh = g * (1 - ts[i] * ts[i])
            gW = gh.T @ xs[i]
            gb = gh.sum(0)
            g = g + gh @ Ws[i]
            Ws[i] -= 0.01 * gW
            bs[i] -= 0.01 * gb

    for _ in range(2):
        step()
    return {"step_s": statistics.median(_timed(step, seconds))}


def measure(framework, name, seconds):
    """The JSON line's fields of one worker process (see the module docstring)."""
    result = {"framework": framework, "workload": name}
    try:
        if framework == "numpy":
            result.update(measure_numpy(name, seconds))
        elif framework == "compiled":
            result.update(measure_compiled(name, seconds))
        else:
            if framework == "torch":
                import torch as t
            else:
                import retrograd as t
            if name == "opoverhead":
                result.update(measure_opoverhead(t, seconds))
            else:
                result.update(measure_training(t, name, seconds))
            if framework == "torch":
                result["torch_threads"] = t.get_num_threads()
    except Exception as exc:  # reported in the table, not hidden
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["blas"] = _blas_info()
    return result


def main():
    framework, name, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    print(json.dumps(measure(framework, name, seconds)))


if __name__ == "__main__":
    main()
