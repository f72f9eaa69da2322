"""The demo's gradient check: each layer type a model uses, in float64, on a few digits,
against central finite differences (``retrograd.autograd.gradcheck``)."""

import time

import numpy as np

import retrograd as torch
from retrograd import nn
from retrograd.autograd import gradcheck
from retrograd.nn import functional as F


def _first(model, cls):
    return next((m for m in model.modules() if isinstance(m, cls)), None)


def _f64(array, requires_grad=True):
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64)).requires_grad_(requires_grad)


def layer_checks(model, images, labels, n_samples=2, seed=0):
    """``[(name, fn, inputs)]``: one small float64 problem per layer type in ``model``.

    The inputs are ``n_samples`` real digits with a little noise (so that no two pixels
    tie for a max-pool window and none sits exactly at ReLU's kink), small random
    weights with the model's own kernel sizes, strides and paddings, and the digits'
    labels for the loss.
    """
    rng = np.random.default_rng(seed)
    x = images[:n_samples].reshape(n_samples, 1, 8, 8).astype(np.float64)
    x = x + 0.01 * rng.standard_normal(x.shape)
    checks = []
    conv = _first(model, nn.Conv2d)
    if conv is not None:
        k = conv.kernel_size
        w = rng.standard_normal((2, 1) + tuple(k)) / 3
        b = rng.standard_normal(2) / 3
        stride, padding = conv.stride, conv.padding
        checks.append(("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding),
                       (_f64(x), _f64(w), _f64(b))))
    if _first(model, nn.ReLU) is not None:
        checks.append(("relu", F.relu, (_f64(x - 0.5),)))
    pool = _first(model, nn.MaxPool2d)
    if pool is not None:
        ks, st, pd = pool.kernel_size, pool.stride, pool.padding
        checks.append(("max_pool2d", lambda x: F.max_pool2d(x, ks, st, pd), (_f64(x),)))
    if _first(model, nn.Flatten) is not None:
        checks.append(("flatten", lambda x: torch.flatten(x, 1), (_f64(x),)))
    if _first(model, nn.Linear) is not None:
        w = rng.standard_normal((3, 64)) / 8
        b = rng.standard_normal(3) / 8
        checks.append(("linear", F.linear, (_f64(x.reshape(n_samples, 64)), _f64(w), _f64(b))))
    logits = rng.standard_normal((n_samples, 10))
    target = torch.from_numpy(np.asarray(labels[:n_samples], dtype=np.int64))
    checks.append(("cross_entropy", lambda z: F.cross_entropy(z, target), (_f64(logits),)))
    return checks


def check_model(model, images, labels, n_samples=2):
    """Run every check of ``layer_checks``; returns ``(all_ok, [(name, ok, seconds)])``."""
    results = []
    for name, fn, inputs in layer_checks(model, images, labels, n_samples):
        start = time.perf_counter()
        try:
            ok = bool(gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=False))
        except Exception as exc:  # report a crashing backward as a failed check
            ok = False
            name = f"{name} ({type(exc).__name__}: {exc})"
        results.append((name, ok, time.perf_counter() - start))
    return all(ok for _, ok, _ in results), results


def verdict(all_ok, results, n_samples=2):
    """One line that reports the check."""
    parts = ", ".join(f"{name} {'ok' if ok else 'FAILED'}" for name, ok, _ in results)
    seconds = sum(t for _, _, t in results)
    head = "gradient check passed" if all_ok else "gradient check FAILED"
    return (f"{head} (float64 finite differences on {n_samples} digits, {seconds:.1f}s): {parts}")
