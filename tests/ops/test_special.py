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


# ---------------------------------------------------------------------------- the rest of torch.special

WIDE_GRID = np.concatenate([
    np.linspace(-30.3, 30.7, 123), np.linspace(-3.3, 3.3, 45), [-8.0, 8.0, 5.0, -5.0, -6.1, 26.6, -26.6, -26.8, 40.0],
    [0.0, -0.0, INF, -INF, NAN, 1e-300, 1e-8, -1e-8, 1e8, -1e8, 1e300, 700.0, 720.0],
])
PROB_GRID = np.concatenate([np.linspace(0.0, 1.0, 41), np.exp(-np.linspace(1, 700, 40)),
                            1 - np.exp(-np.linspace(1, 36, 20)), [-0.5, 1.5, NAN, 0.135, 0.8647]])

SPECIAL_UNARY = [  # name, fn, grid, float64 rtol
    ("i0", lambda t, x: t.i0(x), WIDE_GRID, 1e-14),
    ("special_i0", lambda t, x: t.special.i0(x), WIDE_GRID, 1e-14),
    ("i0e", lambda t, x: t.special.i0e(x), WIDE_GRID, 1e-14),
    ("i1", lambda t, x: t.special.i1(x), WIDE_GRID, 1e-14),
    ("i1e", lambda t, x: t.special.i1e(x), WIDE_GRID, 1e-14),
    ("erfcx", lambda t, x: t.special.erfcx(x), WIDE_GRID, 1e-14),
    ("ndtr", lambda t, x: t.special.ndtr(x), WIDE_GRID, 1e-12),  # (1 + erf) cancels in the left tail
    ("log_ndtr", lambda t, x: t.special.log_ndtr(x), WIDE_GRID, 1e-14),
    ("ndtri", lambda t, x: t.special.ndtri(x), PROB_GRID, 1e-14),
    ("entr", lambda t, x: t.special.entr(x), WIDE_GRID, 1e-14),
    ("sinc", lambda t, x: t.sinc(x), WIDE_GRID, 1e-14),
    ("special_sinc", lambda t, x: t.special.sinc(x), WIDE_GRID, 1e-14),
    ("expit", lambda t, x: t.special.expit(x), WIDE_GRID, 1e-14),
    ("exp2", lambda t, x: t.special.exp2(x), WIDE_GRID, 1e-14),
    ("expm1", lambda t, x: t.special.expm1(x), WIDE_GRID, 1e-14),
    ("log1p", lambda t, x: t.special.log1p(x), WIDE_GRID, 1e-14),
    ("round", lambda t, x: t.special.round(x, decimals=1), WIDE_GRID, 1e-14),
    ("logit", lambda t, x: t.special.logit(x, eps=1e-3), PROB_GRID, 1e-14),
    ("erf", lambda t, x: t.special.erf(x), WIDE_GRID, 1e-14),
    ("erfc", lambda t, x: t.special.erfc(x), WIDE_GRID, 1e-13),
    ("erfinv", lambda t, x: t.special.erfinv(x), PROB_GRID * 2 - 1, 1e-13),
]


@pytest.mark.parametrize("name,fn,grid,rtol", SPECIAL_UNARY, ids=[u[0] for u in SPECIAL_UNARY])
def test_special_values_float64(name, fn, grid, rtol):
    if name in ("erf", "erfc", "erfinv"):
        pytest.importorskip("scipy")  # without SciPy, ops/math.py's fallbacks are less accurate
    ours, theirs = _values(fn, grid)
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=rtol, atol=1e-300 if name != "ndtr" else 1e-16)
    _assert_close(ours, theirs, rtol=1)  # inf and nan in the same places


@pytest.mark.parametrize("name,fn,grid,rtol", SPECIAL_UNARY, ids=[u[0] for u in SPECIAL_UNARY])
def test_special_values_float32(name, fn, grid, rtol):
    grid = grid[np.abs(grid) < 80]  # float32 overflows beyond (and the inputs round)
    # erfcx(x < 0) is 2 exp(x^2): torch squares in float32, x^2 times the rounding of x^2
    _assert_close(*_values(fn, grid, "float32"), rtol=2e-5 if name == "erfcx" else 3e-6)


BINARY_GRID = np.meshgrid(np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 7.5, 30.0, INF, NAN]),
                          np.array([-3.5, -2.0, -1.0, 0.0, 1e-3, 0.5, 1.0, 2.5, 10.0, 100.0, INF, NAN]))
SPECIAL_BINARY = [
    ("zeta", lambda t, x, y: t.special.zeta(x, y), 1e-13),
    ("xlog1py", lambda t, x, y: t.special.xlog1py(x, y), 1e-14),
    ("xlogy", lambda t, x, y: t.special.xlogy(x, y), 1e-14),
    ("gammainc", lambda t, x, y: t.special.gammainc(x, y), 1e-12),
    ("gammaincc", lambda t, x, y: t.special.gammaincc(x, y), 1e-12),
    ("igamma", lambda t, x, y: t.igamma(x, y), 1e-12),
    ("igammac_method", lambda t, x, y: x.igammac(y), 1e-12),
]


@pytest.mark.parametrize("name,fn,rtol", SPECIAL_BINARY, ids=[b[0] for b in SPECIAL_BINARY])
def test_special_binary_values(name, fn, rtol):
    x, y = (a.ravel() for a in BINARY_GRID)

    def run(mod):
        return fn(mod, mod.tensor(x), mod.tensor(y)).numpy()

    _assert_close(run(retrograd), reference(lambda: run(torch), inputs=[x, y]), rtol=rtol)


def test_incomplete_gamma_against_scipy():
    """P and Q to ~1e-11 relative over 8 decades of a and where x ~ a (the slowest convergence),
    tiny tails included; torch's own values differ from SciPy's by ~2e-9 for 20 < a < 200."""
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(-12, 8.5, 3000))
    x = np.abs(np.where(np.arange(3000) < 1000, a * (1 + rng.normal(0, 1, 3000) / np.sqrt(a + 1)),
                        a * np.exp(rng.uniform(-3, 3, 3000))))
    for upper, expected in [(False, special.gammainc(a, x)), (True, special.gammaincc(a, x))]:
        fn = retrograd.special.gammaincc if upper else retrograd.special.gammainc
        ours = fn(retrograd.tensor(a), retrograd.tensor(x)).numpy()
        shown = expected > 1e-300
        np.testing.assert_allclose(ours[shown], expected[shown], rtol=3e-11)


BESSEL = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1",
          "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai"]
BESSEL_X = np.concatenate([np.linspace(-30, 30, 121), [0.0, -0.0, INF, -INF, NAN, 1e-9, 0.4999, 2.09, -2.09, 5.0,
                                                        103.0, 104.0, 700.0, 800.0]])


@pytest.mark.parametrize("name", BESSEL + ["modified_bessel_i0", "modified_bessel_i1", "spherical_bessel_j0"])
def test_not_differentiable_functions(name):
    def run(mod):
        xt = mod.tensor(BESSEL_X, requires_grad=True)
        out = getattr(mod.special, name)(xt)
        return out.detach().numpy(), out.requires_grad

    (ours, ours_rg), (theirs, theirs_rg) = run(retrograd), reference(lambda: run(torch), inputs=[BESSEL_X, name])
    assert ours_rg is False and theirs_rg is False
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
    finite = np.isfinite(theirs)
    # ours are Cephes' (SciPy's) to ~1e-15; torch's own bessel_j0/j1/y0/y1 and airy_ai kernels are
    # off by up to ~4e-7 (checked against mpmath), hence the absolute tolerance for those
    atol = 5e-7 if name in BESSEL[:4] + ["airy_ai"] else 0
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-13, atol=atol)


@pytest.mark.parametrize("name", BESSEL)
def test_bessel_against_scipy(name):
    special = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(-60, 60, 2401), [1e-9, 1e-6, 2.09, -2.09, 5.0, -5.0, 2.0, 8.32, 103.0, 700.0]])
    scipy_name = {"modified_bessel_k0": "k0", "modified_bessel_k1": "k1", "scaled_modified_bessel_k0": "k0e",
                  "scaled_modified_bessel_k1": "k1e"}.get(name, name.replace("bessel_", ""))
    expected = special.airy(x)[0] if name == "airy_ai" else getattr(special, scipy_name)(x)
    ours = getattr(retrograd.special, name)(retrograd.tensor(x)).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    finite = np.isfinite(expected)
    # (Ai oscillates for x << 0 with a phase of ~|x|^1.5: its rounding gives ~2e-14 absolute)
    np.testing.assert_allclose(ours[finite], expected[finite], rtol=1e-12, atol=5e-14)


POLY_X = np.concatenate([np.linspace(-2.5, 2.5, 51), [0.0, 1.0, -1.0, 0.5, 1e-9, 0.999999, INF, -INF]])
POLY_N = np.array([-2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 40.0, 3.7, NAN, INF])


@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
                                  "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
                                  "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
                                  "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
                                  "laguerre_polynomial_l", "legendre_polynomial_p"])
def test_polynomials(name):
    # (torch returns uninitialized memory for a nan input with n >= 2, so no nan inputs here)
    x, n = (a.ravel() for a in np.meshgrid(POLY_X, POLY_N))

    def run(mod):
        fn = getattr(mod.special, name)
        xt = mod.tensor(x, requires_grad=True)
        out = fn(xt, mod.tensor(n))
        return [out.detach().numpy(), out.requires_grad, fn(0.5, mod.tensor([2, 3])).numpy(),
                fn(mod.tensor([[0.25], [2.0]], dtype=mod.float32), 4).numpy(), str(fn(mod.tensor([1, 2]), 3).dtype)]

    ours, theirs = run(retrograd), reference(lambda: run(torch), inputs=[x, n, name])
    values, theirs_values = ours[0], theirs[0]
    np.testing.assert_array_equal(np.isnan(values), np.isnan(theirs_values))
    finite = np.isfinite(theirs_values)
    np.testing.assert_array_equal(values[~finite], theirs_values[~finite])
    # the closed trigonometric forms cancel near the polynomials' zeros: relative to the degree's scale
    np.testing.assert_allclose(values[finite], theirs_values[finite], rtol=1e-12, atol=1e-12)
    assert ours[1] is False and theirs[1] is False
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)
    assert ours[3].dtype == theirs[3].dtype == np.float32
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-6)
    assert ours[4] == theirs[4]
    with pytest.raises(TypeError, match="invalid combination"):
        getattr(retrograd.special, name)(0.5, 3)


SHAPES_A = np.linspace(0.3, 4.0, 12).reshape(3, 4)  # gammainc's first argument (no derivative)
SPECIAL_GRADS = [
    ("i0", lambda t, x: t.i0(x), {}),
    ("i0e", lambda t, x: t.special.i0e(x), dict(low=-3.0, high=3.0)),
    ("i1", lambda t, x: t.special.i1(x), dict(low=-3.0, high=3.0)),
    ("i1e", lambda t, x: t.special.i1e(x), dict(low=-3.0, high=3.0)),
    ("erfcx", lambda t, x: t.special.erfcx(x), dict(low=-2.0, high=6.0)),
    ("ndtr", lambda t, x: t.special.ndtr(x), dict(low=-3.0, high=3.0)),
    ("ndtri", lambda t, x: t.special.ndtri(x), dict(low=0.05, high=0.95)),
    ("log_ndtr", lambda t, x: t.special.log_ndtr(x), dict(low=-4.0, high=3.0)),
    ("entr", lambda t, x: t.special.entr(x), dict(low=0.1, high=3.0)),
    ("sinc", lambda t, x: t.sinc(x), dict(low=-2.0, high=2.0)),
    ("xlog1py", lambda t, x, y: t.special.xlog1py(x, y), dict(low=0.1, high=2.0)),
    ("zeta_q", lambda t, y: t.special.zeta(2.5, y), dict(low=0.5, high=3.0)),
    ("gammainc_x", lambda t, y: t.special.gammainc(t.tensor(SHAPES_A, dtype=t.float64), y), dict(low=0.2, high=3.0)),
    ("gammaincc_x", lambda t, y: t.igammac(t.tensor(SHAPES_A, dtype=t.float64), y), dict(low=0.2, high=3.0)),
]


@pytest.mark.parametrize("name,fn,kw", SPECIAL_GRADS, ids=[g[0] for g in SPECIAL_GRADS])
def test_special_gradients(name, fn, kw):
    n_args = fn.__code__.co_argcount - 1
    check_op(fn, *[(3, 4)] * n_args, rtol=1e-10, atol=1e-12, **kw)


@pytest.mark.parametrize("name,fn,x", [
    ("i0e_at_0", lambda t, x: t.special.i0e(x), [0.0, -1.0]), ("i1_at_0", lambda t, x: t.special.i1(x), [0.0, 2.0]),
    ("i1e_at_0", lambda t, x: t.special.i1e(x), [0.0, -2.0]), ("sinc_at_0", lambda t, x: t.sinc(x), [0.0, 1.0]),
    ("entr_at_0", lambda t, x: t.special.entr(x), [0.0, -1.0, 2.0])])
def test_special_gradient_edges(name, fn, x):
    def run(mod):
        xt = mod.tensor(x, dtype=mod.float64, requires_grad=True)
        fn(mod, xt).sum().backward()
        return xt.grad.numpy()

    _assert_close(run(retrograd), reference(lambda: run(torch), inputs=[x, name]), rtol=1e-14)


@pytest.mark.parametrize("fn,message", [
    (lambda t, x, y: t.special.zeta(x, y), "'zeta' is not implemented"),
    (lambda t, x, y: t.special.gammainc(x, y), "'igamma: input' is not implemented"),
    (lambda t, x, y: t.special.gammaincc(x, y), "'igammac: input' is not implemented"),
])
def test_no_derivative_in_the_first_argument(fn, message):
    x = retrograd.tensor([2.0, 3.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match=message):
        fn(retrograd, x, retrograd.tensor([1.0, 2.0])).sum().backward()


def test_special_namespace_matches_torch():
    """Every function retrograd.special names is torch.special's, and the aliases are the ops."""
    for name in retrograd.special.__all__:
        assert callable(getattr(retrograd.special, name)), name
    assert retrograd.special.psi is retrograd.special.digamma is retrograd.digamma
    assert retrograd.special.gammaln is retrograd.lgamma and retrograd.special.i0 is retrograd.i0
    assert retrograd.special.expit is retrograd.sigmoid and retrograd.special.erfinv is retrograd.erfinv
    if torch is not None:
        assert set(retrograd.special.__all__) <= set(dir(torch.special))
        # everything torch.special has but its module plumbing
        assert set(retrograd.special.__all__) == {n for n in dir(torch.special) if not n.startswith("_")} - {
            "Tensor", "torch", "common_args", "multi_dim_common"}


def test_special_dtype_promotion_and_inplace():
    x = retrograd.tensor([1, 2, 3])
    for fn in (retrograd.special.i0e, retrograd.special.ndtr, retrograd.special.entr, retrograd.sinc,
               lambda v: retrograd.special.zeta(v, 2), lambda v: retrograd.special.xlog1py(v, v)):
        assert fn(x).dtype == retrograd.float32
    y = retrograd.tensor([0.5, 1.5], dtype=retrograd.float64)
    for method, fn in [("i0_", retrograd.i0), ("sinc_", retrograd.sinc)]:
        z = y.clone()
        getattr(z, method)()
        np.testing.assert_array_equal(z.numpy(), fn(y).numpy())
    out = retrograd.empty(2, dtype=retrograd.float64)
    assert retrograd.special.ndtri(y / 2, out=out) is out


# ---------------------------------------------------------------------------- torch's refusals (issue 12: no silent deviations)

# the kernels torch 2.13 has no float16/bfloat16 version of (NotImplementedError "<name>_cpu" ...)
NO_HALF_UNARY = ["erfcx", "ndtri", "log_ndtr", "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1",
                 "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
                 "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0"]
NO_HALF_BINARY = ["zeta", "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
                  "chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
                  "legendre_polynomial_p", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
                  "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w"]


@pytest.mark.parametrize("name", NO_HALF_UNARY + NO_HALF_BINARY)
def test_kernels_without_half_precision_raise_as_torch(name):
    fn = getattr(retrograd.special, name)
    call = (lambda x: fn(x)) if name in NO_HALF_UNARY else (lambda x: fn(x, 2.0))
    for dtype, scalar in ((retrograd.float16, "Half"), (retrograd.bfloat16, "BFloat16")):
        with pytest.raises(NotImplementedError, match=f'"{name}_cpu" not implemented for \'{scalar}\''):
            call(retrograd.tensor([0.5, 1.5], dtype=dtype))
    if name in NO_HALF_BINARY:  # a float16 second operand makes the computation float16 too
        with pytest.raises(NotImplementedError, match="'Half'"):
            fn(2.0, retrograd.tensor([0.5], dtype=retrograd.float16))
    assert call(retrograd.tensor([1, 2])).dtype == retrograd.float32  # integers still compute in float32


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_of_integer_tensors_raises_as_torch(name):
    fn = getattr(retrograd.special, name)
    kernel = "igamma_cpu" if name == "gammainc" else "igammac_cpu"
    with pytest.raises(NotImplementedError, match=f"\"{kernel}\" not implemented for 'Long'"):
        fn(retrograd.tensor([1, 2]), retrograd.tensor([2, 3]))
    with pytest.raises(NotImplementedError, match="'Bool'"):
        fn(retrograd.tensor([True]), retrograd.tensor([False]))
    assert fn(retrograd.tensor([1, 2]), retrograd.tensor([2.0, 3.0])).dtype == retrograd.float32


@pytest.mark.parametrize("call", [
    lambda s: s.i0e(0.5), lambda s: s.i1(0.5), lambda s: s.erfcx(0.5), lambda s: s.ndtri(0.5), lambda s: s.entr(0.5),
    lambda s: s.bessel_j0(0.5), lambda s: s.airy_ai(0.5), lambda s: s.zeta(2.0, 1.0), lambda s: s.xlog1py(2.0, 1.0),
    lambda s: s.multigammaln(0.5, 2), lambda s: s.softmax(0.5, 0), lambda s: s.log_softmax(0.5, 0),
    lambda s: s.round(0.5)])
def test_numbers_where_torch_special_takes_tensors_raise_type_error(call):
    with pytest.raises(TypeError, match="must be Tensor|must be Tensors"):
        call(retrograd.special)


def test_special_round_refuses_integers_and_softmax_dim_must_be_an_int():
    # torch.special.round's kernel is float-only (torch.round returns integers unchanged)
    with pytest.raises(NotImplementedError, match="\"round_vml_cpu\" not implemented for 'Long'"):
        retrograd.special.round(retrograd.tensor([1, 2]))
    assert retrograd.round(retrograd.tensor([1, 2])).tolist() == [1, 2]
    assert retrograd.special.round(retrograd.tensor([1.26]), decimals=1).item() == pytest.approx(1.3)
    x = retrograd.tensor([1.0, 2.0])
    for fn in (retrograd.special.softmax, retrograd.special.log_softmax):
        for dim in (None, True, 0.0):
            with pytest.raises(TypeError, match="argument 'dim' \\(position 2\\) must be int"):
                fn(x, dim)
        np.testing.assert_allclose(fn(x, retrograd.tensor(0)).numpy(), fn(x, 0).numpy())


def test_lgamma_of_subnormal_and_tiny_values_is_finite_as_torch():
    # ln Gamma(x) = -ln|x| - gamma x + O(x^2); 1/x overflowed to inf for |x| < 2^-1022 / ...
    x = np.array([5e-324, 1e-310, -1e-310, 2e-308, 1e-300, -1e-11, 1e-11])
    out = retrograd.lgamma(retrograd.tensor(x, dtype=retrograd.float64)).numpy()
    np.testing.assert_allclose(out, -np.log(np.abs(x)) - 0.5772156649015329 * x, rtol=1e-15)
    assert out[0] == pytest.approx(744.4400719213812, rel=1e-15)  # torch 2.13's value


@pytest.mark.parametrize("fn", [retrograd.special.i1, retrograd.special.i1e])
def test_i1_gradient_is_one_half_within_eps_of_zero_and_at_nan_as_torch(fn):
    for dtype in (retrograd.float32, retrograd.float64):
        eps = retrograd.finfo(dtype).eps
        x = retrograd.tensor([0.0, 5e-324 if dtype == retrograd.float64 else 1e-45, eps, -eps, NAN],
                             dtype=dtype, requires_grad=True)
        fn(x).sum().backward()
        assert x.grad.tolist() == [0.5] * 5  # z/x overflowed (-inf) or lost every digit (0) here


def test_multigammaln_gradient_at_negative_zero_is_torchs():
    # the offsets 0, -1/2, ... began with -0.: x = -0. took digamma(-0.) = +inf, torch's -inf
    x = retrograd.tensor([-0.0, 3.0], dtype=retrograd.float64, requires_grad=True)
    retrograd.special.multigammaln(x, 2).sum().backward()
    assert x.grad[0].item() == -np.inf
    assert x.grad[1].item() == pytest.approx(float(retrograd.digamma(retrograd.tensor(3.0, dtype=retrograd.float64))
                                                   + retrograd.digamma(retrograd.tensor(2.5, dtype=retrograd.float64))))


def test_logsumexp_dim_is_required_and_multigammaln_takes_a_0_dim_integer_p_as_torch():
    x = retrograd.tensor([3.0, 1.0])
    for call in (lambda: retrograd.logsumexp(x, None), lambda: x.logsumexp(None),
                 lambda: retrograd.special.logsumexp(x, None)):
        with pytest.raises(TypeError, match="argument 'dim' .*must be tuple of ints, not NoneType"):
            call()  # None reduced every dim (torch: dim is required)
    assert retrograd.special.multigammaln(x, retrograd.tensor(2)).tolist() == retrograd.special.multigammaln(x, 2).tolist()
    for p in (retrograd.tensor(2.0), retrograd.tensor([2]), retrograd.tensor(True)):
        with pytest.raises(TypeError, match="must be int"):
            retrograd.mvlgamma(x, p)
