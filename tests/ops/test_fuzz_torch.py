"""Differential fuzzing of the op set against torch.

Hypothesis draws an op, its input shapes (0-size and 0-dim included, size-1 dims that
broadcast), dtypes (every one the op accepts, and some it does not), layouts (contiguous,
strided, transposed) and keyword arguments. The op runs in retrograd and in torch on the
same values; they must agree on the exception type when torch raises, and otherwise on
shape, dtype, values and the gradients of every floating input under a random upstream
gradient.

Bounded and seeded for CI (derandomized, ``RETROGRAD_FUZZ_EXAMPLES`` examples per family,
100 by default); ``RETROGRAD_FUZZ_EXAMPLES=5000 python -m pytest tests/ops/test_fuzz_torch.py``
runs it longer.
"""

import os
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import retrograd  # noqa: E402
from helpers import torch  # noqa: E402

pytestmark = pytest.mark.skipif(torch is None, reason="the fuzz test compares against torch")

EXAMPLES = int(os.environ.get("RETROGRAD_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FLOATS = ("float32", "float64")
ALL_DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "uint8", "int16", "int32",
              "int64", "bool")
# tolerance (rtol, atol) of values per result dtype; gradients get 10x
TOL = {"float16": (2e-3, 2e-3), "bfloat16": (2e-2, 2e-2), "float32": (2e-5, 2e-5),
       "float64": (1e-10, 1e-12)}


# ----------------------------------------------------------------- inputs


def _array(rng, shape, dtype, low=-3.0, high=3.0):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith(("int", "uint")):
        lo = 0 if dtype == "uint8" else -5
        return rng.integers(lo, 6, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape)  # float64 values, cast by each library


def _make(lib, arr, dtype, layout, requires_grad):
    """A tensor of ``dtype`` holding arr, laid out as asked; returns (leaf, op input)."""
    dt = getattr(lib, dtype)
    if layout == "strided" and arr.ndim >= 1:  # every other element of a twice-as-long last dim
        wide = np.repeat(arr, 2, axis=-1)
        leaf = lib.tensor(wide, dtype=dt)
        if requires_grad:
            leaf.requires_grad_()
        return leaf, leaf[..., ::2]
    if layout == "transposed" and arr.ndim >= 2:  # a transposed view of the transposed values
        leaf = lib.tensor(np.ascontiguousarray(np.swapaxes(arr, -1, -2)), dtype=dt)
        if requires_grad:
            leaf.requires_grad_()
        return leaf, leaf.transpose(-1, -2)
    leaf = lib.tensor(arr, dtype=dt)
    if requires_grad:
        leaf.requires_grad_()
    return leaf, leaf


def _shape(draw, max_dims=4, max_side=4):
    return tuple(draw(st.lists(st.integers(0, max_side), min_size=0, max_size=max_dims)))


def _broadcast_partner(draw, shape):
    """A shape that broadcasts with ``shape`` (dims dropped from the front or set to 1),
    or now and then one that does not."""
    if draw(st.integers(0, 9)) == 0:
        return _shape(draw)
    drop = draw(st.integers(0, len(shape)))
    out = [1 if draw(st.booleans()) else s for s in shape[drop:]]
    return tuple(out)


# ----------------------------------------------------------------- comparing


def _np(t):
    t = t.detach()
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return t.numpy(force=True) if isinstance(t, torch.Tensor) else t.numpy()  # force: torch's ZeroTensors


def _same_values(r, t, what, grad_dtypes=()):
    assert tuple(r.shape) == tuple(t.shape), f"{what}: shape {tuple(r.shape)} vs torch {tuple(t.shape)}"
    assert str(r.dtype) == str(t.dtype), f"{what}: dtype {r.dtype} vs torch {t.dtype}"
    a, b = _np(r), _np(t)
    name = str(t.dtype).replace("torch.", "")
    if name in TOL:  # a gradient is as precise as the least precise dtype it passed through
        rtol, atol = max((TOL[n] for n in (name, *grad_dtypes) if n in TOL), key=lambda tol: tol[0])
        scale = 10 if what.startswith("grad") else 1
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol * scale,
                                   atol=atol * scale * max(1.0, float(np.nanmax(np.abs(b), initial=0.0))
                                                           if np.isfinite(b).all() else 1.0),
                                   equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


def _outputs(out):
    if isinstance(out, (tuple, list)):
        return [o for o in out if hasattr(o, "shape")]
    return [out] if hasattr(out, "shape") else []


def run_both(fn, arrays, dtypes, layouts, grad=True, seed=0):
    """fn(lib, *inputs) in retrograd and torch: same exception type, or same results and
    gradients."""
    results = {}
    for lib in (retrograd, torch):
        leaves, inputs = [], []
        for arr, dt, lay in zip(arrays, dtypes, layouts):
            leaf, x = _make(lib, arr, dt, lay, requires_grad=grad and dt in FLOATS)
            leaves.append(leaf)
            inputs.append(x)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = fn(lib, *inputs)
        except Exception as e:  # noqa: BLE001 - the exception type is what is compared
            results[lib.__name__] = e
            continue
        results[lib.__name__] = (leaves, _outputs(out))
    rg, th = results["retrograd"], results["torch"]
    if isinstance(th, Exception):
        assert isinstance(rg, Exception), f"torch raised {type(th).__name__}: {th}; retrograd returned"
        assert type(rg).__name__ == type(th).__name__ or isinstance(rg, type(th)), (
            f"retrograd raised {type(rg).__name__} ({rg}), torch {type(th).__name__} ({th})")
        return
    if isinstance(rg, Exception):
        raise AssertionError(f"retrograd raised {type(rg).__name__} ({rg}); torch returned") from rg
    (rg_leaves, rg_out), (th_leaves, th_out) = rg, th
    assert len(rg_out) == len(th_out)
    for i, (r, t) in enumerate(zip(rg_out, th_out)):
        _same_values(r, t, f"output {i}")
    diff = [(r, t) for r, t in zip(rg_out, th_out) if t.requires_grad and t.numel() > 0]
    if not diff:
        return
    rng = np.random.default_rng(seed)
    ups = [rng.standard_normal(tuple(t.shape)) for _, t in diff]
    rg_loss = sum((r * retrograd.tensor(g, dtype=r.dtype)).sum() for (r, _), g in zip(diff, ups))
    th_loss = sum((t * torch.tensor(g, dtype=t.dtype)).sum() for (_, t), g in zip(diff, ups))
    try:
        th_loss.backward()
    except RuntimeError as e:
        if "not implemented" in str(e):  # an op without a derivative: retrograd must refuse too
            try:
                rg_loss.backward()
            except RuntimeError:
                return
            raise AssertionError(f"torch's backward raised ({e}); retrograd's returned") from None
        return  # torch's own backward formula fails (pow with a bool exponent): nothing to compare
    rg_loss.backward()
    for i, (r, t) in enumerate(zip(rg_leaves, th_leaves)):
        if not t.requires_grad:
            continue
        if t.grad is None:
            assert r.grad is None or not np.any(_np(r.grad)), f"grad {i}: retrograd nonzero, torch None"
            continue
        assert r.grad is not None, f"grad {i}: torch has a gradient, retrograd None"
        _same_values(r.grad, t.grad, f"grad {i}", grad_dtypes=[str(o.dtype).replace("torch.", "") for o in th_out])


def _dtype(draw, choices=ALL_DTYPES):
    return draw(st.sampled_from(choices))


def _layout(draw, shape):
    return draw(st.sampled_from(("contiguous", "strided", "transposed"))) if len(shape) else "contiguous"


def _one_input(draw, dtypes=ALL_DTYPES, max_dims=4):
    """(values, dtype, layout) of one drawn input, and a seeded generator for further arrays."""
    shape = _shape(draw, max_dims=max_dims)
    dt = _dtype(draw, dtypes)
    lay = _layout(draw, shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return _array(rng, shape, dt), dt, lay, rng


def _two_inputs(draw, same_dtype_often=True):
    """Two drawn inputs whose shapes mostly broadcast: ([a, b], [dtypes], [layouts])."""
    shape_a = _shape(draw)
    shape_b = _broadcast_partner(draw, shape_a)
    if draw(st.booleans()):
        shape_a, shape_b = shape_b, shape_a
    dt_a = _dtype(draw)
    dt_b = dt_a if same_dtype_often and draw(st.booleans()) else _dtype(draw)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    arrays = [_array(rng, shape_a, dt_a), _array(rng, shape_b, dt_b)]
    return arrays, [dt_a, dt_b], [_layout(draw, shape_a), _layout(draw, shape_b)]


# ----------------------------------------------------------------- families

UNARY = ["abs", "neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "erf",
         "expm1", "log1p", "reciprocal", "rsqrt", "floor", "ceil", "round", "trunc", "sign",
         "square", "atan", "asin", "sinh", "cosh", "frac", "exp2", "log2", "erfc", "sgn",
         "logical_not", "isnan", "isfinite", "signbit", "deg2rad", "nan_to_num"]


@FUZZ
@given(st.data())
def test_unary(data):
    op = data.draw(st.sampled_from(UNARY), label="op")
    arr, dt, lay, _ = _one_input(data.draw)
    as_method = data.draw(st.booleans(), label="method")

    def fn(lib, x):
        return getattr(x, op)() if as_method else getattr(lib, op)(x)

    run_both(fn, [arr], [dt], [lay])


BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "fmod", "remainder",
          "eq", "ne", "lt", "ge", "logical_and", "logical_xor", "hypot", "floor_divide", "xlogy",
          "fmax", "fmin", "bitwise_and"]


@FUZZ
@given(st.data())
def test_binary_broadcasting(data):
    op = data.draw(st.sampled_from(BINARY), label="op")
    arrays, dtypes, layouts = _two_inputs(data.draw)
    scalar = data.draw(st.sampled_from([None, None, 2, -1.5, True]), label="scalar")

    def fn(lib, x, y):
        return getattr(lib, op)(x, y if scalar is None else scalar)

    run_both(fn, arrays, dtypes, layouts)


REDUCTIONS = ["sum", "mean", "prod", "amax", "amin", "max", "min", "std", "var", "logsumexp",
              "argmax", "argmin", "all", "any", "cumsum", "cumprod", "norm", "nansum", "median",
              "count_nonzero", "softmax", "log_softmax"]


@FUZZ
@given(st.data())
def test_reductions(data):
    op = data.draw(st.sampled_from(REDUCTIONS), label="op")
    arr, dt, lay, _ = _one_input(data.draw)
    nd = max(arr.ndim, 1)
    dim = data.draw(st.one_of(st.none(), st.integers(-nd - 1, nd),
                              st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=2).map(tuple)),
                    label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")

    def fn(lib, x):
        f = getattr(lib, op)
        if op in ("cumsum", "cumprod", "softmax", "log_softmax"):  # one required dim, no keepdim
            return f(x, dim if isinstance(dim, int) else 0)
        if op in ("median", "argmax", "argmin", "max", "min") and not isinstance(dim, int):
            return f(x) if dim is None else f(x, dim[0], keepdim=keepdim)
        if op in ("count_nonzero", "norm"):
            return f(x, dim=dim)
        if op == "logsumexp" and dim is None:
            return f(x, dim=tuple(range(x.ndim)), keepdim=keepdim)
        if dim is None:
            return f(x)
        return f(x, dim, keepdim=keepdim)

    run_both(fn, [arr], [dt], [lay])


SHAPE_OPS = ["transpose", "permute", "reshape", "flatten", "squeeze", "unsqueeze", "flip", "roll",
             "cat", "stack", "expand", "repeat", "tril", "triu", "narrow", "chunk", "movedim",
             "t", "split", "diagonal", "tile", "where", "clamp", "gather", "index_select",
             "masked_fill", "getitem"]


def _dims(draw, n, k=1):
    hi = max(n, 1)
    return tuple(draw(st.integers(-hi - 1, hi)) for _ in range(k))


@FUZZ
@given(st.data())
def test_shape_and_indexing(data):
    op = data.draw(st.sampled_from(SHAPE_OPS), label="op")
    arr, dt, lay, rng = _one_input(data.draw)
    shape, n = arr.shape, arr.ndim
    d0, d1 = _dims(data.draw, n, 2)
    k = data.draw(st.integers(-2, 3), label="k")
    perm = tuple(data.draw(st.permutations(range(n)))) if data.draw(st.booleans()) else tuple(range(n))[::-1]
    new_shape = tuple(data.draw(st.lists(st.integers(-1, 4), max_size=3)))
    index = rng.integers(-1, max(shape[d0] if n and -n <= d0 < n else 1, 1) + 1, size=(3,))
    gather_index = rng.integers(0, 2, size=shape)

    def fn(lib, x):
        if op == "transpose":
            return x.transpose(d0, d1)
        if op == "permute":
            return x.permute(*perm)
        if op == "reshape":
            return x.reshape(new_shape)
        if op == "flatten":
            return lib.flatten(x, d0 if d0 <= d1 else d1, d1 if d0 <= d1 else d0)
        if op == "squeeze":
            return x.squeeze(d0)
        if op == "unsqueeze":
            return x.unsqueeze(d0)
        if op == "flip":
            return lib.flip(x, dims=(d0,))
        if op == "roll":
            return lib.roll(x, k, dims=d0)
        if op == "cat":
            return lib.cat([x, x * 2], dim=d0)
        if op == "stack":
            return lib.stack([x, x], dim=d0)
        if op == "expand":
            return x.expand(2, *x.shape)
        if op == "repeat":
            return x.repeat(*([2] + [1] * x.ndim))
        if op in ("tril", "triu"):
            return getattr(lib, op)(x, k)
        if op == "narrow":
            return lib.narrow(x, d0, 0, abs(k))
        if op == "chunk":
            return lib.chunk(x, abs(k) + 1, dim=d0)
        if op == "split":
            return lib.split(x, abs(k) + 1, dim=d0)
        if op == "movedim":
            return lib.movedim(x, d0, d1)
        if op == "t":
            return x.t()
        if op == "diagonal":
            return lib.diagonal(x, k, d0, d1)
        if op == "tile":
            return lib.tile(x, (2, 1))
        if op == "where":
            return lib.where(x > 0, x, x * 3)
        if op == "clamp":
            return lib.clamp(x, min=-1, max=2)
        if op == "gather":
            return lib.gather(x, d0, lib.tensor(gather_index, dtype=lib.int64))
        if op == "index_select":
            return lib.index_select(x, d0, lib.tensor(index, dtype=lib.int64))
        if op == "masked_fill":
            return x.masked_fill(x > 0.5, -7)
        return x[..., 1:] if data_slice else x[0]

    data_slice = data.draw(st.booleans(), label="slice")
    run_both(fn, [arr], [dt], [lay])


@FUZZ
@given(st.data())
def test_matmul_family(data):
    op = data.draw(st.sampled_from(["matmul", "mm", "bmm", "mv", "dot", "linear", "outer", "addmm"]))
    n, m, p = (data.draw(st.integers(0, 4)) for _ in range(3))
    rank_a, rank_b = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    batch = data.draw(st.sampled_from([(), (2,), (1,), (3, 1)]))
    shape_a = {1: (m,), 2: (n, m), 3: batch + (n, m)}[rank_a]
    shape_b = (m, p) if rank_b == 2 else ((m,) if rank_b == 1 else (2, m, p))
    if data.draw(st.integers(0, 9)) == 0:  # a mismatched inner dimension
        shape_b = tuple(s + 1 for s in shape_b)
    dt_a = _dtype(data.draw, ("float32", "float64", "float16", "int64"))
    dt_b = dt_a if data.draw(st.integers(0, 3)) else _dtype(data.draw, ("float32", "float64", "int64"))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a, b = _array(rng, shape_a, dt_a), _array(rng, shape_b, dt_b)
    lay_a, lay_b = _layout(data.draw, shape_a), _layout(data.draw, shape_b)

    def fn(lib, x, y):
        if op == "linear":
            return lib.nn.functional.linear(x, y)
        if op == "addmm":
            return lib.addmm(lib.zeros(1, dtype=x.dtype), x, y)
        return getattr(lib, op)(x, y)

    run_both(fn, [a, b], [dt_a, dt_b], [lay_a, lay_b])


NN_OPS = ["gelu", "silu", "softplus", "elu", "leaky_relu", "hardtanh", "layer_norm", "normalize",
          "mse_loss", "l1_loss", "smooth_l1_loss", "cross_entropy", "dropout_eval", "pad",
          "logsigmoid", "mish", "hardswish", "softsign", "tanhshrink", "glu"]


@FUZZ
@given(st.data())
def test_nn_functional(data):
    op = data.draw(st.sampled_from(NN_OPS), label="op")
    arr, dt, lay, rng = _one_input(data.draw, ("float32", "float64", "float16", "bfloat16", "int64"), max_dims=3)
    shape = arr.shape
    other = _array(rng, shape, dt)
    classes = max(shape[1] if len(shape) > 1 else (shape[0] if shape else 1), 1)
    target = rng.integers(0, classes, size=(shape[0],) if len(shape) > 1 else ())
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")

    def fn(lib, x, y):
        F = lib.nn.functional
        if op == "layer_norm":
            return F.layer_norm(x, x.shape[-1:])
        if op == "normalize":
            return F.normalize(x, dim=-1)
        if op in ("mse_loss", "l1_loss", "smooth_l1_loss"):
            return getattr(F, op)(x, y, reduction=reduction)
        if op == "cross_entropy":
            return F.cross_entropy(x, lib.tensor(target, dtype=lib.int64), reduction=reduction)
        if op == "dropout_eval":
            return F.dropout(x, 0.3, training=False)
        if op == "pad":
            return F.pad(x, (1, 2))
        if op == "glu":
            return F.glu(x, dim=-1)
        return getattr(F, op)(x)

    run_both(fn, [arr, other], [dt, dt], [lay, "contiguous"])


INPLACE = ["add_", "sub_", "mul_", "div_", "pow_", "clamp_", "copy_", "fill_", "masked_fill_", "zero_",
           "abs_", "neg_", "exp_", "relu_", "sigmoid_", "tanh_", "floor_", "sqrt_"]


@FUZZ
@given(st.data())
def test_inplace(data):
    """In-place ops on a clone of the input: torch's cast rules (a float result cannot be written
    into an integer tensor), broadcasting of the other operand into self's shape, and the
    gradient through the mutated tensor."""
    op = data.draw(st.sampled_from(INPLACE), label="op")
    arrays, dtypes, layouts = _two_inputs(data.draw, same_dtype_often=False)

    def fn(lib, x, y):
        z = x.clone()  # a non-leaf, so in-place ops are allowed under autograd
        if op in ("add_", "sub_", "mul_", "div_", "pow_", "copy_"):
            getattr(z, op)(y)
        elif op == "clamp_":
            z.clamp_(min=-1, max=1)
        elif op == "fill_":
            z.fill_(2.5)
        elif op == "masked_fill_":
            z.masked_fill_(y > 0, -1)
        else:
            getattr(z, op)()
        return z

    run_both(fn, arrays, dtypes, layouts)
