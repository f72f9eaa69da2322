"""Special functions (ops/special.py, retrograd.special): values against torch on a grid with the
poles and infinities, gradients by gradcheck/gradgradcheck, dtype promotion, out= and in-place."""

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, reference, torch

INF, NAN = float("inf"), float("nan")

# points where the gamma family has poles, zeros, its minimum, and both asymptotic regimes
GAMMA_GRID = np.concatenate([
    np.linspace(-40.3, 40.7, 163), np.linspace(-3.3, 3.3, 67), np.linspace(0.75, 1.25, 21),
    np.linspace(1.75, 2.25, 21), np.arange(-5.0, 6.0), np.arange(-5.5, 6.0),
    [0.0, -0.0, INF, -INF, NAN, 1e-300, 1e-8, -1e-8, 1e8, 1e17, 1e300, -1e300, 1.4616321449683622, 12.999, 13.0],
])

UNARY_VALUES = [
    ("lgamma", lambda t, x: t.lgamma(x)),
    ("gammaln", lambda t, x: t.special.gammaln(x)),
    ("digamma", lambda t, x: t.digamma(x)),
    ("psi", lambda t, x: t.special.psi(x)),
    ("special_digamma", lambda t, x: t.special.digamma(x)),
    ("trigamma", lambda t, x: t.polygamma(1, x)),
    ("polygamma2", lambda t, x: t.polygamma(2, x)),
    ("polygamma3", lambda t, x: t.special.polygamma(3, x)),
    ("polygamma7", lambda t, x: x.polygamma(7)),
    ("mvlgamma3", lambda t, x: t.mvlgamma(x, 3)),
    ("multigammaln2", lambda t, x: t.special.multigammaln(x, 2)),
]


def _values(fn, x, dtype="float64"):
    def run(mod):
        return fn(mod, mod.tensor(x, dtype=getattr(mod, dtype))).numpy()

    return run(retrograd), reference(lambda: run(torch), inputs=[x, dtype])


def _assert_close(ours, theirs, rtol):
    """Equal inf and nan positions, finite values within rtol (at the zeros of the function,
    within rtol of the values' scale)."""
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(np.where(np.isinf(theirs), ours, 0), np.where(np.isinf(theirs), theirs, 0))
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("name,fn", UNARY_VALUES, ids=[u[0] for u in UNARY_VALUES])
def test_values_on_grid_float64(name, fn):
    # lgamma: torch's is glibc's, ours Cephes': they differ by ~1e-12 next to its negative zeros
    _assert_close(*_values(fn, GAMMA_GRID), rtol=1e-10 if "gamma" in name and "poly" not in name else 1e-12)


@pytest.mark.parametrize("name,fn", UNARY_VALUES, ids=[u[0] for u in UNARY_VALUES])
def test_values_on_grid_float32(name, fn):
    # away from the poles (where rounding the input to float32 moves the value arbitrarily)
    x = np.concatenate([np.linspace(0.05, 30.0, 97), np.linspace(-3.45, -0.55, 30), [1.0, 2.0, INF, NAN]])
    _assert_close(*_values(fn, x, "float32"), rtol=2e-5)


def test_lgamma_exact_at_one_and_two():
    """ln Gamma(1) = ln Gamma(2) = 0 exactly, and relative accuracy right beside them."""
    x = retrograd.tensor([1.0, 2.0, 1 + 1e-9, 2 - 1e-9], dtype=retrograd.float64)
    out = retrograd.lgamma(x).numpy()
    assert out[0] == 0 and out[1] == 0
    # ln Gamma(1 + e) = -gamma e + O(e^2),  ln Gamma(2 + e) = (1 - gamma) e + O(e^2)
    e1, e2 = x.numpy()[2] - 1, x.numpy()[3] - 2  # exact differences
    np.testing.assert_allclose(out[2:], [-0.5772156649015329 * e1, (1 - 0.5772156649015329) * e2], rtol=1e-8)


def test_digamma_signed_zero_and_poles():
    out = retrograd.digamma(retrograd.tensor([0.0, -0.0, -1.0, -INF, INF])).numpy()
    assert out[0] == -INF and out[1] == INF and np.isnan(out[2]) and np.isnan(out[3]) and out[4] == INF


# ---------------------------------------------------------------------------- gradients

SMOOTH = dict(low=0.3, high=4.0)
GRADS = [
    ("lgamma", lambda t, x: t.lgamma(x), SMOOTH),
    ("lgamma_negative", lambda t, x: t.lgamma(x), dict(low=-2.9, high=-2.1)),
    ("digamma", lambda t, x: t.digamma(x), SMOOTH),
    ("polygamma1", lambda t, x: t.polygamma(1, x), SMOOTH),
    ("polygamma3", lambda t, x: t.polygamma(3, x), dict(low=0.5, high=4.0)),
    ("polygamma_method", lambda t, x: x.polygamma(2), SMOOTH),
    ("mvlgamma", lambda t, x: t.mvlgamma(x, 3), dict(low=1.2, high=4.0)),
    ("special_gammaln", lambda t, x: t.special.gammaln(x), SMOOTH),
    ("special_multigammaln", lambda t, x: t.special.multigammaln(x, 2), dict(low=0.7, high=3.0)),
]


@pytest.mark.parametrize("shape", [(3, 4), ()])
@pytest.mark.parametrize("name,fn,kw", GRADS, ids=[g[0] for g in GRADS])
def test_gradients(name, fn, kw, shape):
    check_op(fn, shape, rtol=1e-10, atol=1e-12, **kw)


# ---------------------------------------------------------------------------- dtypes, out=, in-place

@pytest.mark.parametrize("fn", [lambda t, x: t.lgamma(x), lambda t, x: t.digamma(x),
                                lambda t, x: t.polygamma(2, x), lambda t, x: t.mvlgamma(x, 2)])
@pytest.mark.parametrize("values,dtype", [([1, 2, 5], "int64"), ([True, False], "bool"), ([3, 4], "uint8"),
                                          ([1.5, 3.0], "float16"), ([1.5, 3.0], "bfloat16")])
def test_dtype_promotion(fn, values, dtype):
    def run(mod):
        try:
            out = fn(mod, mod.tensor(values, dtype=getattr(mod, dtype)))
        except RuntimeError as e:  # mvlgamma refuses bool tensors
            return "RuntimeError", str(e).split(" (")[0]
        return str(out.dtype).split(".")[-1], out.float().numpy()

    (ours_dtype, ours), (theirs_dtype, theirs) = run(retrograd), reference(lambda: run(torch), inputs=[values, dtype])
    assert ours_dtype == theirs_dtype
    if ours_dtype == "RuntimeError":
        assert ours == theirs
        return
    np.testing.assert_allclose(ours, theirs, rtol=1e-2 if dtype in ("float16", "bfloat16") else 1e-6)


def test_out_and_inplace():
    x = retrograd.tensor([0.5, 1.5, 3.0])
    out = retrograd.empty(3)
    assert retrograd.lgamma(x, out=out) is out
    np.testing.assert_array_equal(out.numpy(), retrograd.lgamma(x).numpy())
    retrograd.polygamma(1, x, out=out)
    np.testing.assert_array_equal(out.numpy(), x.polygamma(1).numpy())
    for method, expected in [("lgamma_", x.lgamma()), ("digamma_", x.digamma()), ("mvlgamma_", x.mvlgamma(1))]:
        y = x.clone()
        assert getattr(y, method)(*(() if method != "mvlgamma_" else (1,))) is y
        np.testing.assert_array_equal(y.numpy(), expected.numpy())
    y = x.clone()
    y.polygamma_(2)
    np.testing.assert_array_equal(y.numpy(), x.polygamma(2).numpy())
    with pytest.raises(RuntimeError, match="can't be cast"):
        retrograd.digamma(x, out=retrograd.empty(3, dtype=retrograd.int64))


def test_argument_errors_like_torch():
    x = retrograd.tensor([1.5])
    with pytest.raises(RuntimeError, match="negative n"):
        retrograd.polygamma(-1, x)
    with pytest.raises(TypeError, match="must be int"):
        retrograd.polygamma(1.0, x)
    with pytest.raises(TypeError, match="must be int"):
        retrograd.mvlgamma(x, 2.0)
    with pytest.raises(RuntimeError, match="greater than or equal to 1"):
        retrograd.mvlgamma(x, 0)
    assert retrograd.polygamma(retrograd.tensor(1), x).item() == pytest.approx(0.9348022005446793)
