"""Reductions (ops/reduction.py) and retrograd.linalg's norms: one line per op."""

import warnings

import numpy as np
import pytest
from tests.properties import given, hnp, settings, st

import retrograd
from tests.helpers import check_op, reference, torch

# name, fn, input shape, extra check_op keywords
REDUCTIONS = [
    ("sum", lambda t, x: x.sum(), (3, 4), {}),
    ("sum_dims", lambda t, x: t.sum(x, (0, -1), keepdim=True), (2, 3, 2), {}),
    ("mean_neg_dim", lambda t, x: x.mean(-1), (3, 4), {}),
    ("prod", lambda t, x: t.prod(x), (3, 4), dict(low=0.5, high=1.5)),
    ("prod_dim", lambda t, x: x.prod(-1, keepdim=True), (3, 4), {}),
    ("prod_dim0", lambda t, x: t.prod(x, 0), (3, 4), {}),
    ("var", lambda t, x: x.var(), (3, 4), {}),
    ("var_dim", lambda t, x: t.var(x, -1, keepdim=True), (3, 4), {}),
    ("var_unbiased_false", lambda t, x: x.var(0, unbiased=False), (3, 4), {}),
    ("var_correction", lambda t, x: t.var(x, dim=(0, 1), correction=2), (3, 4), {}),
    ("std", lambda t, x: x.std(), (3, 4), {}),
    ("std_dim", lambda t, x: t.std(x, 1, correction=0), (3, 4), {}),
    ("var_mean", lambda t, x: t.var_mean(x, 1), (3, 4), {}),
    ("std_mean", lambda t, x: t.std_mean(x, dim=0, keepdim=True), (3, 4), {}),
    ("max", lambda t, x: x.max(), (3, 4), {}),
    ("max_dim", lambda t, x: t.max(x, -1), (3, 4), {}),
    ("max_dim_keep", lambda t, x: x.max(0, keepdim=True), (3, 4), {}),
    ("min", lambda t, x: t.min(x), (3, 4), {}),
    ("min_dim", lambda t, x: x.min(dim=1), (3, 4), {}),
    ("amax", lambda t, x: t.amax(x), (3, 4), {}),
    ("amax_dims", lambda t, x: x.amax((0, -1)), (2, 3, 2), {}),
    ("amin", lambda t, x: t.amin(x, -1, keepdim=True), (3, 4), {}),
    ("aminmax", lambda t, x: t.aminmax(x, dim=0), (3, 4), {}),
    ("argmax", lambda t, x: t.argmax(x), (3, 4), {}),
    ("argmax_dim", lambda t, x: x.argmax(-1, keepdim=True), (3, 4), {}),
    ("argmin_dim", lambda t, x: t.argmin(x, 0), (3, 4), {}),
    ("norm", lambda t, x: x.norm(), (3, 4), {}),
    ("norm_p1", lambda t, x: t.norm(x, p=1, dim=-1), (3, 4), {}),
    ("norm_p3", lambda t, x: x.norm(3, dim=(0, 1)), (3, 4), {}),
    ("norm_inf", lambda t, x: t.norm(x, float("inf"), dim=1), (3, 4), {}),
    ("norm_fro_dim", lambda t, x: t.norm(x, "fro", dim=(0, 1), keepdim=True), (3, 4), {}),
    ("logsumexp", lambda t, x: t.logsumexp(x, -1), (3, 4), {}),
    ("logsumexp_dims", lambda t, x: x.logsumexp((0, 1), keepdim=True), (3, 4), {}),
    ("cumsum", lambda t, x: t.cumsum(x, -1), (3, 4), {}),
    ("cumsum_dim0", lambda t, x: x.cumsum(0), (3, 4), {}),
    ("cumprod", lambda t, x: t.cumprod(x, 1), (3, 4), {}),
    ("cummax", lambda t, x: t.cummax(x, 1), (3, 4), {}),
    ("logcumsumexp", lambda t, x: t.logcumsumexp(x, 1), (3, 4), {}),
    ("logcumsumexp_dim0", lambda t, x: x.logcumsumexp(-2), (3, 4), {}),
    ("cummin", lambda t, x: x.cummin(-2), (3, 4), {}),
    ("median", lambda t, x: x.median(), (3, 4), {}),
    ("median_dim", lambda t, x: t.median(x, -1), (3, 4), {}),
    ("nanmedian_dim", lambda t, x: t.nanmedian(x, 0), (3, 4), {}),
    ("mode", lambda t, x: t.mode(x, 0), (3, 4), {}),
    ("quantile", lambda t, x: t.quantile(x, 0.3), (3, 4), {}),
    ("quantile_dim", lambda t, x: x.quantile(t.tensor([0.2, 0.75], dtype=x.dtype), dim=-1, keepdim=True), (3, 4), {}),
    ("quantile_midpoint", lambda t, x: t.quantile(x, 0.5, 0, interpolation="midpoint"), (3, 4), {}),
    ("quantile_nearest", lambda t, x: t.quantile(x, 0.4, 1, interpolation="nearest"), (3, 4), {}),
    ("quantile_lower", lambda t, x: t.quantile(x, 0.4, 1, interpolation="lower"), (3, 4), {}),
    ("quantile_higher", lambda t, x: t.quantile(x, 0.4, None, True, interpolation="higher"), (3, 4), {}),
    ("nanquantile", lambda t, x: t.nanquantile(x, 0.6, dim=0), (3, 4), {}),
    ("nansum", lambda t, x: t.nansum(x, 1), (3, 4), {}),
    ("nanmean", lambda t, x: x.nanmean(), (3, 4), {}),
]


@pytest.mark.parametrize("name,fn,shape,kw", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reduction(name, fn, shape, kw):
    check_op(fn, shape, **kw)


ZERO_DIM = [r for r in REDUCTIONS if "dims" not in r[0] and "correction" not in r[0] and
            r[0] not in ("quantile_dim", "norm_p3", "norm_fro_dim", "logsumexp_dims", "var", "std",
                                   "var_dim", "var_unbiased_false", "var_mean", "std_dim", "std_mean")]


@pytest.mark.parametrize("name,fn,shape,kw", ZERO_DIM, ids=[r[0] for r in ZERO_DIM])
def test_reduction_0dim(name, fn, shape, kw):
    x = retrograd.tensor(0.7, requires_grad=True)
    try:
        out = fn(retrograd, x)
    except IndexError:  # dim 1 of a 0-dim tensor: torch raises too
        if torch is not None:
            with pytest.raises(IndexError):
                fn(torch, torch.tensor(0.7))
        return
    first = out[0] if isinstance(out, tuple) else out
    assert first.ndim == 0 or first.shape == (1,) * first.ndim
    check_op(fn, (), **kw)


EMPTY_OK = [
    ("sum", lambda t, x: x.sum(0)),
    ("sum_all", lambda t, x: x.sum()),
    ("mean", lambda t, x: x.mean(0)),
    ("prod", lambda t, x: x.prod(0)),
    ("prod_all", lambda t, x: x.prod()),
    ("var", lambda t, x: x.var(0)),
    ("std", lambda t, x: x.std(0)),
    ("max_other_dim", lambda t, x: x.max(1)),
    ("amax_other_dim", lambda t, x: x.amax(1)),
    ("logsumexp", lambda t, x: x.logsumexp(0)),
    ("cumsum", lambda t, x: x.cumsum(0)),
    ("cumprod", lambda t, x: x.cumprod(1)),
    ("norm", lambda t, x: x.norm()),
    ("nansum", lambda t, x: t.nansum(x, 0)),
    ("median_all", lambda t, x: x.median()),
]


@pytest.mark.parametrize("name,fn", EMPTY_OK, ids=[e[0] for e in EMPTY_OK])
def test_empty_like_torch(name, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(fn, (0, 3), gradcheck=False, gradgradcheck=False)


EMPTY_RAISES = [
    ("max", lambda t, x: x.max(), RuntimeError), ("min", lambda t, x: t.min(x), RuntimeError),
    ("max_dim", lambda t, x: x.max(0), IndexError), ("min_dim", lambda t, x: x.min(-2), IndexError),
    ("amax", lambda t, x: x.amax(0), IndexError), ("amax_all", lambda t, x: x.amax(), RuntimeError),
    ("argmax", lambda t, x: x.argmax(), IndexError), ("argmax_dim", lambda t, x: x.argmax(0), IndexError),
    ("median_dim", lambda t, x: x.median(0), IndexError), ("mode", lambda t, x: x.mode(0), IndexError),
    ("norm_inf", lambda t, x: t.linalg.vector_norm(x, float("inf")), RuntimeError),
]


@pytest.mark.parametrize("name,fn,exc", EMPTY_RAISES, ids=[e[0] for e in EMPTY_RAISES])
def test_empty_raises_like_torch(name, fn, exc):
    with pytest.raises(exc, match="non-zero size|reduction dim|identity"):
        fn(retrograd, retrograd.zeros(0, 3))
    if torch is not None:
        with pytest.raises(exc):
            fn(torch, torch.zeros(0, 3))


# ---------------------------------------------------------------------------- ties, zeros, nan vs torch


def _like_torch(fn, *arrays, upstream_seed=None):
    def run(mod):
        xs = [mod.tensor(a, requires_grad=True) for a in arrays]
        out = fn(mod, *xs)
        vals = out if isinstance(out, tuple) else (out,)
        loss = sum(v.sum() for v in vals if v.dtype.is_floating_point)
        loss.backward()
        grads = [x.grad.numpy() if x.grad is not None else np.zeros(x.shape) for x in xs]
        return [v.detach().numpy() for v in vals], grads

    (rv, rg), (tv, tg) = run(retrograd), reference(lambda: run(torch), inputs=arrays)
    for r, t in zip(rv + rg, tv + tg):
        assert r.dtype == t.dtype and r.shape == t.shape
        np.testing.assert_allclose(r, t, rtol=1e-6, atol=1e-12)


NAN = float("nan")
TIES = [
    ("max_ties", lambda t, x: x.max(), [[1.0, 3.0, 3.0], [2.0, 3.0, 0.0]]),
    ("min_ties", lambda t, x: x.min(), [[1.0, 3.0, 1.0], [2.0, 3.0, 1.0]]),
    ("max_dim_ties", lambda t, x: x.max(1), [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]),
    ("min_dim_ties", lambda t, x: x.min(0), [[1.0, 3.0, 0.0], [1.0, 2.0, 0.0]]),
    ("amax_ties", lambda t, x: x.amax(1), [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]),
    ("amin_ties_all", lambda t, x: x.amin(), [[1.0, 3.0, 1.0], [1.0, 2.0, 2.0]]),
    ("median_ties", lambda t, x: x.median(), [[3.0, 3.0, 3.0], [1.0, 3.0, 5.0]]),
    ("median_dim_ties", lambda t, x: x.median(1), [[1.0, 3.0, 1.0, 2.0], [3.0, 1.0, 3.0, 2.0]]),
    ("median_even", lambda t, x: x.median(0), [[4.0, 1.0], [2.0, 3.0]]),
    ("mode_ties", lambda t, x: x.mode(), [[3.0, 1.0, 3.0, 2.0, 1.0], [1.0, 2.0, 2.0, 1.0, 2.0]]),
    ("prod_one_zero", lambda t, x: x.prod(1), [[0.0, 2.0, 3.0], [1.0, 2.0, 3.0]]),
    ("prod_two_zeros", lambda t, x: x.prod(), [[0.0, 0.0, 3.0]]),
    ("prod_zero_all", lambda t, x: x.prod(), [[0.0, 2.0, 3.0]]),
    ("prod_zeros_rows", lambda t, x: x.prod(1), [[0.0, -0.0, 3.0, 2.0], [0.0, 1.0, 4.0, 2.0]]),
    ("cumprod_zero", lambda t, x: x.cumprod(1), [[2.0, 0.0, 3.0, 4.0], [0.0, 1.0, 0.0, 2.0]]),
    ("cummax_ties_nan", lambda t, x: x.cummax(1), [[1.0, 3.0, 3.0, 2.0, 5.0], [1.0, NAN, 3.0, NAN, 0.0]]),
    ("cummin_ties", lambda t, x: x.cummin(0), [[1.0, 3.0], [1.0, 2.0], [0.0, 2.0]]),
    ("norm_zero", lambda t, x: t.linalg.vector_norm(x), [[0.0, 0.0]]),
    ("norm_inf_ties", lambda t, x: t.linalg.vector_norm(x, float("inf")), [[-2.0, 2.0, 1.0]]),
    ("norm_neg_inf", lambda t, x: t.linalg.vector_norm(x, -float("inf"), dim=1), [[-2.0, 2.0, 1.0]]),
    ("norm_p0", lambda t, x: t.linalg.vector_norm(x, 0), [[-2.0, 0.0, 1.0]]),
    ("norm_p_half", lambda t, x: t.linalg.vector_norm(x, 0.5), [[-2.0, 0.5, 1.0]]),
    ("std_zero", lambda t, x: x.std(1), [[1.0, 1.0], [1.0, 2.0]]),
    ("max_nan", lambda t, x: x.max(1), [[1.0, NAN, 3.0], [1.0, 2.0, 0.0]]),
    ("amax_nan", lambda t, x: x.amax(), [[1.0, NAN, 3.0]]),
    ("max_all_nan", lambda t, x: x.max(), [[1.0, NAN, 3.0, NAN]]),
    ("median_all_nan", lambda t, x: x.median(), [[1.0, NAN, 3.0]]),
    ("median_nan", lambda t, x: x.median(1), [[1.0, NAN, 3.0], [1.0, 2.0, 0.0]]),
    ("nanmedian", lambda t, x: x.nanmedian(1), [[1.0, NAN, 3.0], [NAN, NAN, NAN]]),
    ("nansum", lambda t, x: x.nansum(), [[1.0, NAN, 3.0]]),
    ("nanmean", lambda t, x: x.nanmean(1), [[1.0, NAN, 3.0], [1.0, 2.0, 4.0]]),
    ("logsumexp_big", lambda t, x: x.logsumexp(1), [[1e4, 1e4 + 1, -1e4], [-1e4, -1e4, -1e4]]),
    ("logsumexp_inf", lambda t, x: x.logsumexp(1), [[float("inf"), 1.0], [-float("inf"), 1.0]]),
    ("var_one", lambda t, x: x.var(1, correction=0), [[2.0], [3.0]]),
    ("logcumsumexp_big", lambda t, x: x.logcumsumexp(1), [[1e4, 1.0, -1e4], [-1e4, 0.0, 2.0]]),
    ("quantile_ties", lambda t, x: t.quantile(x, 0.5), [[3.0, 1.0, 2.0, 2.0]]),
    ("quantile_nan", lambda t, x: t.quantile(x, 0.5, dim=1), [[1.0, NAN, 3.0], [1.0, 2.0, 3.0]]),
    ("nanquantile_nan", lambda t, x: t.nanquantile(x, t.tensor([0.5, 1.0], dtype=x.dtype), dim=1),
     [[1.0, NAN, 3.0], [NAN, NAN, NAN]]),
]


@pytest.mark.parametrize("name,fn,arr", TIES, ids=[t[0] for t in TIES])
def test_edges_like_torch(name, fn, arr):
    _like_torch(fn, np.array(arr, dtype=np.float64))


DTYPES = [
    ("sum_int", lambda t, x: x.sum()), ("sum_bool", lambda t, x: (x > 0).sum(0)),
    ("sum_int32", lambda t, x: x.int().sum(1)), ("sum_dtype", lambda t, x: x.sum(dtype=t.float64)),
    ("prod_int", lambda t, x: x.prod()), ("prod_bool", lambda t, x: (x > 0).prod(1)),
    ("cumsum_int", lambda t, x: x.cumsum(0)), ("cumsum_bool", lambda t, x: (x > 0).cumsum(1)),
    ("cumprod_int", lambda t, x: x.cumprod(1)), ("cumsum_dtype", lambda t, x: x.cumsum(1, dtype=t.float32)),
    ("max_int", lambda t, x: x.max()), ("max_dim_int", lambda t, x: x.max(1)),
    ("amin_int", lambda t, x: x.amin(0)), ("argmax_int", lambda t, x: x.argmax()),
    ("median_int", lambda t, x: x.median()), ("mode_int", lambda t, x: x.mode(1)),
    ("all_int", lambda t, x: x.all()), ("any_dim", lambda t, x: x.any(1, keepdim=True)),
    ("all_uint8", lambda t, x: x.to(t.uint8).all()), ("count_nonzero", lambda t, x: t.count_nonzero(x, 0)),
    ("count_nonzero_all", lambda t, x: x.count_nonzero()), ("logsumexp_int", lambda t, x: x.logsumexp(1)),
    ("nansum_int", lambda t, x: t.nansum(x)),
    ("norm_dtype", lambda t, x: t.linalg.vector_norm(x.float(), dtype=t.float64)),
    ("all_dims", lambda t, x: t.all(x, dim=(0, 1))),
]


@pytest.mark.parametrize("name,fn", DTYPES, ids=[d[0] for d in DTYPES])
def test_integer_and_bool_like_torch(name, fn):
    arr = np.array([[1, 0, 3], [-2, 5, 2]])

    def run(mod):
        out = fn(mod, mod.tensor(arr))
        return [(str(v.dtype), v.numpy()) for v in (out if isinstance(out, tuple) else (out,))]

    ours, theirs = run(retrograd), reference(lambda: run(torch), inputs=[arr])
    assert len(ours) == len(theirs)
    for (dtype, a), (expected_dtype, b) in zip(ours, theirs):
        assert dtype == expected_dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_quantile_errors():
    x = retrograd.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="range"):
        retrograd.quantile(x, 1.5)
    with pytest.raises(RuntimeError, match="float or double"):
        retrograd.quantile(retrograd.tensor([1, 2]), 0.5)
    with pytest.raises(RuntimeError, match="interpolation"):
        retrograd.quantile(x, 0.5, interpolation="cubic")


def test_int_var_and_mean_raise():
    with pytest.raises(RuntimeError, match="floating point"):
        retrograd.tensor([1, 2]).var()
    with pytest.raises(RuntimeError, match="floating point"):
        retrograd.tensor([1, 2]).std()


def test_return_types_and_overloads():
    x = retrograd.tensor([[1.0, 5.0], [3.0, 4.0]])
    out = x.max(1)
    assert type(out).__name__ == "max" and out._fields == ("values", "indices")
    assert repr(out).startswith("torch.return_types.max(\nvalues=tensor([5., 4.]),\nindices=")
    values, indices = out
    assert values.tolist() == [5.0, 4.0] and indices.tolist() == [1, 1]
    assert x.min(dim=0).indices.tolist() == [0, 1]
    assert retrograd.max(x, retrograd.tensor([2.0, 2.0])).tolist() == [[2.0, 5.0], [3.0, 4.0]]
    assert x.median(0)._fields == ("values", "indices")
    assert retrograd.aminmax(x).max.item() == 5.0
    assert x.var(True).item() == pytest.approx(np.var([1, 5, 3, 4], ddof=1))
    assert x.var(0, False).tolist() == [1.0, 0.25]
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.max(2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sum(-3)


def test_inplace_cumulative():
    x = retrograd.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y.cumsum_(0)
    y.cumprod_(0)
    y.sum().backward()

    def run_torch():
        tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        ty = tx * 1
        ty.cumsum_(0)
        ty.cumprod_(0)
        ty.sum().backward()
        return ty.detach().numpy(), tx.grad.numpy()

    ty, tx_grad = reference(run_torch)
    np.testing.assert_allclose(y.detach().numpy(), ty)
    np.testing.assert_allclose(x.grad.numpy(), tx_grad)


# ---------------------------------------------------------------------------- linalg norms

LINALG = [
    ("vector_norm", lambda t, x: t.linalg.vector_norm(x), (3, 4)),
    ("vector_norm_ord3_dim", lambda t, x: t.linalg.vector_norm(x, 3, dim=-1, keepdim=True), (3, 4)),
    ("vector_norm_inf", lambda t, x: t.linalg.vector_norm(x, float("inf"), dim=(0, 1)), (3, 4)),
    ("vector_norm_ninf", lambda t, x: t.linalg.vector_norm(x, -float("inf"), dim=0), (3, 4)),
    ("vector_norm_1", lambda t, x: t.linalg.vector_norm(x, 1), (3, 4)),
    ("matrix_norm_fro", lambda t, x: t.linalg.matrix_norm(x), (2, 3, 4)),
    ("matrix_norm_1", lambda t, x: t.linalg.matrix_norm(x, 1), (2, 3, 4)),
    ("matrix_norm_ninf", lambda t, x: t.linalg.matrix_norm(x, -float("inf"), keepdim=True), (3, 4)),
    ("matrix_norm_inf_dims", lambda t, x: t.linalg.matrix_norm(x, float("inf"), dim=(0, 2)), (3, 2, 4)),
    ("matrix_norm_nuc", lambda t, x: t.linalg.matrix_norm(x, "nuc"), (2, 3, 4)),
    ("matrix_norm_2", lambda t, x: t.linalg.matrix_norm(x, 2), (3, 4)),
    ("matrix_norm_m2", lambda t, x: t.linalg.matrix_norm(x, -2), (4, 3)),
    ("norm_nuc", lambda t, x: t.norm(x, "nuc"), (3, 4)),
]


@pytest.mark.parametrize("name,fn,shape", LINALG, ids=[n[0] for n in LINALG])
def test_linalg_norms(name, fn, shape):
    svd = name.endswith(("nuc", "_2", "m2"))  # singular-value norms: first derivatives only
    check_op(fn, shape, gradgradcheck=not svd)


def test_matrix_norm_errors():
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        retrograd.linalg.matrix_norm(retrograd.ones(3))
    with pytest.raises(RuntimeError, match="Order 3 not supported"):
        retrograd.linalg.matrix_norm(retrograd.ones(3, 3), 3)


@pytest.mark.parametrize("name", ["sum", "prod", "nansum", "cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "uint8", "bool"])
def test_sums_and_products_give_the_requested_dtype(name, dtype):
    """dtype= is the result's dtype, wrapping around as torch's accumulation in it does (NumPy
    gives int64/uint64 for small integer sums, which was returned); dtype=bool is any/all."""
    x = retrograd.tensor([[100.5, 100.0, -1.0], [2.0, 3.0, 0.0]])
    dt = getattr(retrograd, dtype)
    if name.startswith("cum") and dtype == "bool":  # no bool kernel in torch
        with pytest.raises(NotImplementedError, match=f"{name}_out_cpu"):
            getattr(retrograd, name)(x, 0, dtype=dt)
        return
    out = getattr(retrograd, name)(x, 0, dtype=dt)
    cast = x.numpy().astype(dt.np)
    numpy_op = {"sum": np.sum, "nansum": np.sum, "prod": np.prod, "cumsum": np.cumsum, "cumprod": np.cumprod}[name]
    with np.errstate(over="ignore"):
        want = numpy_op(cast, axis=0).astype(dt.np)
    assert out.dtype == dt
    np.testing.assert_array_equal(out.numpy(), want)


def test_mean_takes_only_floating_dtypes_as_torch():
    x = retrograd.tensor([[1.0, 2.0]])
    for fn in (lambda: x.mean(dtype=retrograd.int32), lambda: retrograd.mean(x, 0, dtype=retrograd.bool),
               lambda: retrograd.nanmean(x, dtype=retrograd.int64),
               lambda: retrograd.nanmean(retrograd.tensor([1, 2]), dtype=retrograd.float32)):
        with pytest.raises(RuntimeError, match="floating point"):
            fn()
    assert retrograd.nanmean(x, 1, dtype=retrograd.float16).dtype == retrograd.float16


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_nansum_accumulates_in_float32_as_torch(dtype):
    v = np.random.default_rng(0).uniform(0, 1, 3000)
    v[7] = np.nan
    x = retrograd.tensor(v, dtype=getattr(retrograd, dtype))
    want = np.nansum(x.float().numpy()).astype(x.numpy().dtype)  # torch 2.13: 1496 for bfloat16
    assert retrograd.nansum(x).item() == float(want)  # accumulating in bfloat16 stalls at 256


# ---------------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(arr=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                      elements=st.floats(-10, 10)), data=st.data())
def test_reductions_match_numpy(arr, data):
    dim = data.draw(st.integers(-arr.ndim, arr.ndim - 1))
    keep = data.draw(st.booleans())
    x = retrograd.tensor(arr)
    np.testing.assert_allclose(x.sum(dim, keepdim=keep).numpy(), arr.sum(dim, keepdims=keep))
    np.testing.assert_allclose(x.amax(dim, keepdim=keep).numpy(), arr.max(dim, keepdims=keep))
    np.testing.assert_allclose(x.cumsum(dim).numpy(), arr.cumsum(dim))
    np.testing.assert_array_equal(x.argmin(dim).numpy(), arr.argmin(dim))
    np.testing.assert_allclose(x.logsumexp(dim).numpy(), np.logaddexp.reduce(arr, axis=dim), rtol=1e-10)
    if arr.shape[dim] > 1:
        np.testing.assert_allclose(x.var(dim).numpy(), arr.var(dim, ddof=1), rtol=1e-9, atol=1e-12)


def test_integer_dtype_of_an_input_requiring_grad_raises_as_torch():
    x = retrograd.ones(2, 3, requires_grad=True)
    for fn in (lambda: x.sum(1, dtype=retrograd.int64), lambda: retrograd.prod(x, dtype=retrograd.int32),
               lambda: retrograd.cumsum(x, 1, dtype=retrograd.int64), lambda: retrograd.nansum(x, dtype=retrograd.int64)):
        with pytest.raises(RuntimeError, match="Autograd not support dtype"):
            fn()
    with retrograd.no_grad():
        assert x.sum(dtype=retrograd.int64).item() == 6
    assert x.sum(dtype=retrograd.float64).requires_grad


def test_kernel_checks_of_logcumsumexp_and_mean_as_torch():
    with pytest.raises(NotImplementedError, match="logcumsumexp_out_cpu"):
        retrograd.logcumsumexp(retrograd.tensor([1, 2]), 0)
    with pytest.raises(RuntimeError, match="could not infer output dtype"):  # dtype checked before dim
        retrograd.mean(retrograd.tensor([[1]]), 2, dtype=retrograd.int64)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "int64"])
@pytest.mark.parametrize("call", ["quantile", "quantile_dim", "quantile_q_tensor", "nanquantile"])
def test_cpu_quantile_of_half_precision_raises_as_torch(dtype, call):
    """torch's CPU quantile and nanquantile take float32 and float64 only (RuntimeError for
    float16 and bfloat16); under CPU autocast they are cast to float32 first and run."""
    def run(t):
        x = t.tensor([3.0, 1.0, 4.0, 1.0, 5.0, 9.0]).to(getattr(t, dtype))
        fn = {"quantile": lambda: t.quantile(x, 0.3), "quantile_dim": lambda: x.quantile(0.3, dim=0, keepdim=True),
              "quantile_q_tensor": lambda: t.quantile(x, t.tensor([0.25, 0.5]).to(x.dtype)),
              "nanquantile": lambda: t.nanquantile(x, 0.3)}[call]
        try:
            y = fn()
            return [str(y.dtype), y.float().tolist()]
        except Exception as e:  # noqa: BLE001 (the type is what is compared)
            return [type(e).__name__]

    assert run(retrograd) == reference(lambda: run(torch), inputs=[dtype, call])
    if dtype in ("float16", "bfloat16"):
        with retrograd.autocast("cpu", dtype=getattr(retrograd, dtype)):
            x = retrograd.tensor([3.0, 1.0, 4.0], dtype=getattr(retrograd, dtype))
            assert retrograd.quantile(x, 0.5).dtype == retrograd.float32


_HALF_NORM_INPUT = [((i * 37) % 23 - 11) * 0.173 + 0.01 * i for i in range(48)]
# torch 2.13's vector_norm(x.reshape(3, 16), ord, dim=1) of that input, as float: half precision is
# computed in float32 and rounded once (the bfloat16 sums of squares lost up to 2 ulp)
_HALF_NORMS = {
    ("bfloat16", 2): [4.71875, 4.78125, 4.8125], ("bfloat16", 1): [16.375, 16.5, 16.375],
    ("bfloat16", 3): [3.21875, 3.28125, 3.375], ("bfloat16", 0.5): [234.0, 236.0, 230.0],
    ("bfloat16", -1): [0.0289306640625, 0.0296630859375, 0.028564453125],
    ("float16", 3): [3.224609375, 3.2890625, 3.380859375], ("float16", 0.5): [233.75, 236.25, 229.875],
    ("float16", -1): [0.028961181640625, 0.0295867919921875, 0.028533935546875],
}


@pytest.mark.parametrize("dtype, ord", list(_HALF_NORMS))
def test_half_precision_vector_norm_is_torchs_bit_for_bit(dtype, ord):
    def run(t):
        x = t.tensor(_HALF_NORM_INPUT).reshape(3, 16).to(getattr(t, dtype))
        out = t.linalg.vector_norm(x, ord=ord, dim=1)
        assert out.dtype == getattr(t, dtype)
        return out.float().tolist()

    assert run(retrograd) == _HALF_NORMS[dtype, ord]
    if torch is not None:
        assert run(torch) == _HALF_NORMS[dtype, ord]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_reductions_accumulate_in_float32_as_torch(dtype):
    """mean, var, std, cumsum and logsumexp of float16/bfloat16 accumulate in float32, as torch's
    CPU kernels (mean, var, std, cumsum rounding once; logsumexp's sum inside its rounded steps):
    accumulated in bfloat16 they were off by up to 27% (mean of 1000 values near 1)."""
    arr = np.random.default_rng(0).normal(1.0, 1.0, (6, 400)).astype(np.float32)
    calls = ["x.mean(-1)", "x.mean(0)", "x.var(-1)", "x.std(-1)", "x.std(0, correction=0)", "x.cumsum(-1)",
             "x.logsumexp(-1)", "x.sum(-1)"]

    def run(mod):
        x = mod.tensor(arr).to(getattr(mod, dtype))
        outs = [eval(call, {"x": x}) for call in calls]
        return [(str(o.dtype), o.float().numpy()) for o in outs]

    wide = retrograd.tensor(arr).to(getattr(retrograd, dtype)).float()
    for call, (ours_dtype, ours), (theirs_dtype, theirs) in zip(calls, run(retrograd),
                                                                reference(lambda: run(torch), inputs=[arr, dtype, calls])):
        assert ours_dtype == theirs_dtype == f"torch.{dtype}", call
        np.testing.assert_allclose(ours, theirs, rtol=2 ** -8, atol=2 ** -8, err_msg=call)  # an ulp at most
        if call != "x.logsumexp(-1)":  # the float32 result rounded once
            once = eval(call, {"x": wide}).to(getattr(retrograd, dtype)).float().numpy()
            np.testing.assert_array_equal(ours, once, err_msg=call)
