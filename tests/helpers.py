"""Shared test helpers: one line checks an op against finite differences and against torch."""

import importlib
import pkgutil

import numpy as np
import pytest

import retrograd
from tests.reference.store import as_recorded, reference

try:
    import torch
except ImportError:  # the torch comparisons use the recorded values; tests needing torch skip
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def gpu_cupy():
    """CuPy, for a test that runs on a GPU; skips the test without CuPy or without a device."""
    cupy = pytest.importorskip("cupy")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CuPy installed, but no driver
        count = 0
    if count == 0:
        pytest.skip("needs a CUDA device (CuPy sees none)")
    return cupy

# retrograd modules that, as torch's, cannot be imported without an optional package
_NEEDS_OPTIONAL = {"tensorboard"}


def retrograd_modules():
    """Import and yield every module of retrograd (but ``__main__``), leaving out those whose
    optional package is not installed (retrograd.utils.tensorboard without tensorboard)."""
    for info in pkgutil.walk_packages(retrograd.__path__, "retrograd."):
        if info.name.endswith("__main__"):
            continue
        try:
            yield importlib.import_module(info.name)
        except ModuleNotFoundError as e:
            if e.name not in _NEEDS_OPTIONAL:
                raise


def rand(*shape, low=-1.0, high=1.0, seed=0, dtype=np.float64):
    """A seeded float64 NumPy array (shared by retrograd and torch inputs)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape).astype(dtype)


def to_rg(arr, requires_grad=True):
    t = retrograd.tensor(arr)
    return t.requires_grad_() if requires_grad and t.dtype.is_floating_point else t


def to_torch(arr, requires_grad=True):
    t = torch.tensor(arr)
    return t.requires_grad_() if requires_grad and t.dtype.is_floating_point else t


def _inputs(specs, seed, low, high):
    arrays = []
    for i, spec in enumerate(specs):
        if isinstance(spec, np.ndarray):
            arrays.append(spec)
        elif isinstance(spec, tuple):
            arrays.append(rand(*spec, low=low, high=high, seed=seed + i))
        else:
            arrays.append(spec)  # a Python number or other non-tensor argument
    return arrays


def _wrap(arrays, to):
    return [to(a) if isinstance(a, np.ndarray) else a for a in arrays]


def _tensors(out):
    return [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if hasattr(o, "shape")]


def check_op(fn, *specs, low=-1.0, high=1.0, seed=0, gradcheck=True, gradgradcheck=True,
             compare_torch=True, atol=1e-7, rtol=1e-6):
    """Check ``fn(module, *inputs)``, where module is retrograd (and torch when installed).

    specs: a shape tuple for a random float64 input (uniform in [low, high)), a NumPy
    array for a fixed input, or a non-tensor argument passed through.
    Checks: gradcheck and gradgradcheck in float64; values and gradients equal to torch's.
    """
    arrays = _inputs(specs, seed, low, high)
    rg_inputs = _wrap(arrays, to_rg)
    diff = [t for t in rg_inputs if isinstance(t, retrograd.Tensor) and t.requires_grad]

    def rg_fn(*xs):
        it = iter(xs)
        args = [next(it) if isinstance(a, retrograd.Tensor) and a.requires_grad else a
                for a in rg_inputs]
        return fn(retrograd, *args)

    if compare_torch:  # first, so that recording torch's values does not wait on retrograd passing
        compare_with_torch(fn, arrays, atol=atol, rtol=rtol)  # which runs check_create_graph_agrees
    else:
        check_create_graph_agrees(fn, arrays)
    if gradcheck and diff:
        assert retrograd.autograd.gradcheck(rg_fn, diff, eps=1e-6, atol=1e-5, rtol=1e-4)
    if gradgradcheck and diff:
        assert retrograd.autograd.gradgradcheck(rg_fn, diff, eps=1e-6, atol=1e-5, rtol=1e-4)


# relative and absolute tolerance (the latter times the gradient's largest magnitude) of
# check_create_graph_agrees, by dtype: the two backward paths may round in different orders
_PATH_TOL = {"float64": (1e-10, 1e-12), "float32": (1e-5, 1e-6), "float16": (1e-2, 1e-3),
             "bfloat16": (2e-2, 1e-2)}


def check_create_graph_agrees(fn, arrays, seed=321):
    """First derivatives of ``fn(retrograd, *inputs)`` with create_graph=True equal those without.

    Hot ops' backwards take a plain-array path when no graph is recorded and a tensor-op path
    under create_graph=True: two copies of one formula, which gradcheck (the plain path),
    gradgradcheck (consistent with whatever the tensor path computes) and torch comparisons
    (the plain path) do not compare. One forward, one random upstream gradient, both paths."""
    inputs = _wrap(arrays, to_rg)
    diff = [t for t in inputs if isinstance(t, retrograd.Tensor) and t.requires_grad]
    outs = [o for o in _tensors(fn(retrograd, *inputs)) if o.requires_grad]
    if not diff or not outs:
        return
    rng = np.random.default_rng(seed)
    gos = [retrograd.tensor(rng.standard_normal(tuple(o.shape))).to(o.dtype) for o in outs]
    plain = retrograd.autograd.grad(outs, diff, gos, retain_graph=True, allow_unused=True)
    graph = retrograd.autograd.grad(outs, diff, gos, retain_graph=True, create_graph=True,
                                    allow_unused=True)
    for i, (p, g) in enumerate(zip(plain, graph)):
        where = f"input {i} {tuple(diff[i].shape)} {diff[i].dtype}"
        assert (p is None) == (g is None), f"{where}: a gradient on one backward path only"
        if p is None:
            continue
        assert g.dtype == p.dtype and tuple(g.shape) == tuple(p.shape), (where, g.dtype, p.dtype)
        pa, ga = p.detach().numpy().astype(np.float64), g.detach().numpy().astype(np.float64)
        # the tolerance of the least precise dtype among this input and the outputs
        rtol, atol = max(_PATH_TOL.get(str(t.dtype).split(".")[-1], (0, 0)) for t in [p, *outs])
        scale = float(np.nanmax(np.abs(pa), initial=1.0))
        np.testing.assert_allclose(ga, pa, rtol=rtol, atol=atol * scale,
                                   err_msg=f"{where}: create_graph=True vs plain backward")


def compare_with_torch(fn, arrays, atol=1e-7, rtol=1e-6, seed=123):
    """Same inputs through retrograd and torch: outputs and input gradients must agree.

    Without torch, torch's outputs and gradients recorded by tests/reference/record.py stand in."""
    expected = reference(lambda: _torch_results(fn, arrays, seed), inputs=arrays)
    check_create_graph_agrees(fn, arrays)
    rg_inputs = _wrap(arrays, to_rg)
    rg_out = _tensors(fn(retrograd, *rg_inputs))
    assert len(rg_out) == len(expected["outputs"])
    for r, (value, dtype, _) in zip(rg_out, expected["outputs"]):
        assert tuple(r.shape) == value.shape, (r.shape, value.shape)
        assert str(r.dtype) == dtype, (r.dtype, dtype)
        np.testing.assert_allclose(r.detach().numpy(), value, atol=atol, rtol=rtol)
    rg_diff = [r for r, (_, _, requires_grad) in zip(rg_out, expected["outputs"]) if requires_grad]
    if not rg_diff:
        return
    rng = np.random.default_rng(seed)
    sum((r * retrograd.tensor(rng.standard_normal(tuple(r.shape)), dtype=r.dtype)).sum()
        for r in rg_diff).backward()
    leaves = [t for t in rg_inputs if isinstance(t, retrograd.Tensor) and t.requires_grad]
    assert len(leaves) == len(expected["grads"])
    for r, grad in zip(leaves, expected["grads"]):
        if grad is None:
            assert r.grad is None or not np.any(r.grad.numpy())
            continue
        assert r.grad is not None, "torch has a gradient where retrograd has none"
        np.testing.assert_allclose(r.grad.numpy(), grad, atol=atol * 10, rtol=rtol * 10)


def _torch_results(fn, arrays, seed):
    """torch's outputs as (value, dtype, requires_grad), and its input gradients (None where
    torch has none) from the seeded random upstream gradient that compare_with_torch uses."""
    inputs = _wrap(arrays, to_torch)
    out = _tensors(fn(torch, *inputs))
    diff = [t for t in out if t.requires_grad]
    if diff:
        rng = np.random.default_rng(seed)
        sum((t * torch.tensor(rng.standard_normal(tuple(t.shape)), dtype=t.dtype)).sum()
            for t in diff).backward()
    leaves = [t for t in inputs if isinstance(t, torch.Tensor) and t.requires_grad]
    return {"outputs": [(t.detach().numpy(), str(t.dtype), t.requires_grad) for t in out],
            "grads": [None if t.grad is None else t.grad.numpy(force=True)  # force: ZeroTensor grads
                      for t in leaves]}


def values_and_grads(module, fn, arrays, dtype="float64"):
    """``fn(module, *leaves)`` on the arrays as leaf tensors of ``dtype`` and the gradients of
    its output's sum: [value, grad of each leaf] as NumPy arrays (None for no gradient)."""
    leaves = [module.tensor(np.asarray(a), dtype=getattr(module, dtype), requires_grad=True) for a in arrays]
    out = fn(module, *leaves)
    out.sum().backward()
    return [out.detach().numpy()] + [None if x.grad is None else x.grad.numpy() for x in leaves]


def assert_values_and_grads(fn, arrays, expected, dtype="float64", rtol=1e-6, atol=1e-12):
    """values_and_grads of retrograd equal ``expected`` (torch's, recorded in the test: checked on
    the bare install, nan and inf included) and, where torch is installed, torch's own."""
    got = values_and_grads(retrograd, fn, arrays, dtype)
    refs = [expected] + ([values_and_grads(torch, fn, arrays, dtype)] if torch is not None else [])
    for ref in refs:
        assert len(got) == len(ref)
        for i, (g, e) in enumerate(zip(got, ref)):
            assert (g is None) == (e is None), f"output/gradient {i}: present in one only"
            if g is not None:
                e = np.asarray(e, dtype=g.dtype)
                assert g.shape == e.shape, (i, g.shape, e.shape)
                np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=f"output/gradient {i}")
