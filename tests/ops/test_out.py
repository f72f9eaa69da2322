"""``out=`` against torch: every function whose torch signature has ``out=`` writes its result
into ``out`` (values, dtype, shape), returns it, resizes it with torch's warning, applies
torch's dtype rule for that op, and refuses to run under autograd (src/retrograd/ops/_out.py).

CASES names every function of retrograd that takes ``out=``;
tests/test_no_ignored_arguments.py checks that none is missing from it.
"""

import warnings

import numpy as np
import pytest

import retrograd
from helpers import requires_torch, torch

def _r(*shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(np.float32)

X = _r(3, 4)
Y = _r(3, 4, seed=1)
POS = _r(3, 4, seed=2, low=0.1, high=0.9)
SQ = (_r(3, 3, seed=3) + 3 * np.eye(3, dtype=np.float32))
SPD = (SQ @ SQ.T).astype(np.float32)
V3 = _r(3, seed=4)
B = _r(2, 3, 3, seed=5)
IDX = np.array([[0, 2, 1, 0], [1, 1, 0, 2], [2, 0, 2, 1]])

def T(m, a):
    return m.tensor(a)

# name -> args(m) returning (args, kwargs). Inputs float32 unless the op needs others.
CASES = {
    # unary elementwise
    **{n: (lambda m: ((T(m, POS),), {})) for n in [
        "abs", "absolute", "acos", "arccos", "asin", "arcsin", "atan", "arctan", "atanh", "arctanh",
        "ceil", "cos", "cosh", "deg2rad", "erf", "erfc", "erfinv", "exp", "exp2", "expm1", "fix", "floor",
        "frac", "log", "log10", "log1p", "log2", "logit", "neg", "negative", "rad2deg", "reciprocal",
        "round", "rsqrt", "sgn", "sign", "sigmoid", "signbit", "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
        "asinh", "arcsinh", "nan_to_num"]},
    "acosh": lambda m: ((T(m, POS + 1),), {}), "arccosh": lambda m: ((T(m, POS + 1),), {}),
    # special functions (ops/special.py)
    **{n: (lambda m: ((T(m, POS),), {})) for n in ["lgamma", "digamma", "i0", "sinc"]},
    **{n: (lambda m: ((T(m, POS), T(m, POS)), {})) for n in ["igamma", "igammac"]},
    "polygamma": lambda m: ((2, T(m, POS)), {}), "mvlgamma": lambda m: ((T(m, POS + 1), 2), {}),
    # binary elementwise
    **{n: (lambda m: ((T(m, X), T(m, POS)), {})) for n in [
        "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "floor_divide",
        "remainder", "fmod", "atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "maximum",
        "minimum", "fmax", "fmin", "eq", "ne", "not_equal", "lt", "less", "le", "less_equal", "gt",
        "greater", "ge", "greater_equal", "logical_and", "logical_or", "logical_xor"]},
    **{n: (lambda m: ((T(m, X), T(m, POS)), {})) for n in ["copysign", "nextafter", "heaviside"]},
    "ldexp": lambda m: ((T(m, X), T(m, IDX)), {}), "frexp": lambda m: ((T(m, X),), {}),
    **{n: (lambda m: ((T(m, IDX * 6), T(m, IDX + 4)), {})) for n in ["gcd", "lcm"]},
    "isin": lambda m: ((T(m, IDX), T(m, IDX[0, :2])), {"invert": True}),
    "renorm": lambda m: ((T(m, X), 2, 0, 0.5), {}), "narrow_copy": lambda m: ((T(m, X), 1, 1, 2), {}),
    "conj_physical": lambda m: ((T(m, X),), {}), "angle": lambda m: ((T(m, X),), {}),
    "nonzero_static": lambda m: ((T(m, IDX),), {"size": 10, "fill_value": 7}),
    "bitwise_left_shift": lambda m: ((T(m, IDX), T(m, IDX)), {}),
    "bitwise_right_shift": lambda m: ((T(m, IDX * 8), T(m, IDX)), {}),
    "clamp": lambda m: ((T(m, X), -0.5, 0.5), {}), "clip": lambda m: ((T(m, X), -0.5, 0.5), {}),
    "lerp": lambda m: ((T(m, X), T(m, Y), 0.3), {}),
    "addcmul": lambda m: ((T(m, X), T(m, Y), T(m, POS)), {"value": 0.5}),
    "addcdiv": lambda m: ((T(m, X), T(m, Y), T(m, POS)), {"value": 0.5}),
    "where": lambda m: ((T(m, X > 0), T(m, X), T(m, Y)), {}),
    # reductions
    "quantile": lambda m: ((T(m, X), 0.3), {"dim": 1}),
    "nanquantile": lambda m: ((T(m, X), 0.3), {"dim": 1}),
    "max": lambda m: ((T(m, X), 1), {}), "min": lambda m: ((T(m, X), 1), {}),
    "amax": lambda m: ((T(m, X), 1), {}), "amin": lambda m: ((T(m, X), 1), {}),
    "logsumexp": lambda m: ((T(m, X), 1), {}),
    "cumsum": lambda m: ((T(m, X), 1), {}), "cumprod": lambda m: ((T(m, X), 1), {}),
    "logcumsumexp": lambda m: ((T(m, X), 1), {}),
    "sum": lambda m: ((T(m, X), 1), {}), "prod": lambda m: ((T(m, X), 0), {"keepdim": True}),
    "mean": lambda m: ((T(m, X), 1), {}),
    "argmax": lambda m: ((T(m, X), 1), {}), "argmin": lambda m: ((T(m, X),), {}),
    "bitwise_and": lambda m: ((T(m, IDX), T(m, IDX + 1)), {}), "bitwise_or": lambda m: ((T(m, IDX), T(m, IDX + 1)), {}),
    "bitwise_xor": lambda m: ((T(m, IDX), T(m, IDX + 1)), {}), "bitwise_not": lambda m: ((T(m, IDX),), {}),
    "logical_not": lambda m: ((T(m, X),), {}),
    "all": lambda m: ((T(m, X > 0), 1), {}), "any": lambda m: ((T(m, X > 0), 1), {}),
    "norm": lambda m: ((T(m, X),), {"dim": 1}),
    "linalg.vector_norm": lambda m: ((T(m, X),), {"dim": 1}),
    "linalg.matrix_norm": lambda m: ((T(m, B),), {}),
    "linalg.norm": lambda m: ((T(m, X),), {}),
    "histc": lambda m: ((T(m, X),), {"bins": 4}),
    # indexing
    "gather": lambda m: ((T(m, X), 1, T(m, IDX)), {}),
    "scatter": lambda m: ((T(m, X), 1, T(m, IDX[:, :2]), T(m, Y)), {}),
    "scatter_reduce": lambda m: ((T(m, X), 1, T(m, IDX), T(m, Y), "sum"), {}),
    "index_select": lambda m: ((T(m, X), 1, T(m, IDX[0])), {}),
    "index_add": lambda m: ((T(m, X), 0, T(m, IDX[:2, 0]), T(m, Y[:2])), {}),
    "index_reduce": lambda m: ((T(m, X), 0, T(m, IDX[:2, 0]), T(m, Y[:2]), "amax"), {}),
    # the copying view ops (and split_copy, split_with_sizes_copy, unbind_copy: LIST_OUT)
    "alias_copy": lambda m: ((T(m, X),), {}), "detach_copy": lambda m: ((T(m, X),), {}),
    "diagonal_copy": lambda m: ((T(m, X), 1), {}), "expand_copy": lambda m: ((T(m, V3[:, None]), (3, 4)), {}),
    "permute_copy": lambda m: ((T(m, X), (1, 0)), {}), "select_copy": lambda m: ((T(m, X), 1, 2), {}),
    "slice_copy": lambda m: ((T(m, X), 1, 1, 4, 2), {}), "squeeze_copy": lambda m: ((T(m, X[:1]),), {}),
    "t_copy": lambda m: ((T(m, X),), {}), "transpose_copy": lambda m: ((T(m, B), 0, 2), {}),
    "unfold_copy": lambda m: ((T(m, X), 1, 2, 1), {}), "unsqueeze_copy": lambda m: ((T(m, X), 1), {}),
    "view_copy": lambda m: ((T(m, X), (2, 6)), {}),
    "masked_select": lambda m: ((T(m, X), T(m, X > 0)), {}),
    "take_along_dim": lambda m: ((T(m, X), T(m, IDX)), {"dim": 1}),
    "nonzero": lambda m: ((T(m, X > 0),), {}),
    # linear algebra
    "matmul": lambda m: ((T(m, X), T(m, Y.T)), {}), "linalg.matmul": lambda m: ((T(m, X), T(m, Y.T)), {}),
    "mm": lambda m: ((T(m, X), T(m, Y.T)), {}), "bmm": lambda m: ((T(m, B), T(m, B)), {}),
    "mv": lambda m: ((T(m, X.T), T(m, V3)), {}),
    "addmm": lambda m: ((T(m, SQ), T(m, X), T(m, Y.T)), {"beta": 0.5}),
    "addmv": lambda m: ((T(m, V3), T(m, SQ), T(m, V3)), {"alpha": 2}),
    "addr": lambda m: ((T(m, SQ), T(m, V3), T(m, V3)), {}),
    "baddbmm": lambda m: ((T(m, B), T(m, B), T(m, B)), {}),
    "addbmm": lambda m: ((T(m, SQ), T(m, B), T(m, B)), {}),
    "dot": lambda m: ((T(m, V3), T(m, V3)), {}), "vdot": lambda m: ((T(m, V3), T(m, V3)), {}),
    "outer": lambda m: ((T(m, V3), T(m, V3)), {}), "ger": lambda m: ((T(m, V3), T(m, V3)), {}),
    "inner": lambda m: ((T(m, X), T(m, Y)), {}),
    "tensordot": lambda m: ((T(m, X), T(m, Y.T)), {"dims": 1}),
    "kron": lambda m: ((T(m, SQ), T(m, SQ)), {}),
    "chain_matmul": lambda m: ((T(m, X), T(m, Y.T), T(m, SQ)), {}),
    "diag": lambda m: ((T(m, X),), {}),
    "tril": lambda m: ((T(m, X),), {}), "triu": lambda m: ((T(m, X),), {}),
    "inverse": lambda m: ((T(m, SQ),), {}),
    "cholesky": lambda m: ((T(m, SPD),), {}),
    "cross": lambda m: ((T(m, SQ), T(m, SQ.T)), {"dim": 1}),
    "linalg.inv": lambda m: ((T(m, SQ),), {}),
    "linalg.inv_ex": lambda m: ((T(m, SQ),), {}),
    "linalg.det": lambda m: ((T(m, SQ),), {}),
    "linalg.slogdet": lambda m: ((T(m, SQ),), {}),
    "linalg.solve": lambda m: ((T(m, SQ), T(m, X)), {}),
    "linalg.cholesky": lambda m: ((T(m, SPD),), {}),
    "linalg.cholesky_ex": lambda m: ((T(m, SPD),), {}),
    "linalg.qr": lambda m: ((T(m, SQ),), {}),
    "linalg.svd": lambda m: ((T(m, SQ),), {}),
    "linalg.svdvals": lambda m: ((T(m, SQ),), {}),
    "svd": lambda m: ((T(m, SQ),), {}),
    "qr": lambda m: ((T(m, X),), {"some": False}),
    "histogram": lambda m: ((T(m, X), 4), {}),
    "float_power": lambda m: ((T(m, POS), 2.5), {}),
    "linalg.multi_dot": lambda m: (([T(m, X), T(m, Y.T), T(m, SQ)],), {}),
    "linalg.cross": lambda m: ((T(m, SQ), T(m, SQ.T)), {}),
    "linalg.eigh": lambda m: ((T(m, SPD),), {}),
    "linalg.eigvalsh": lambda m: ((T(m, SPD),), {}),
    "linalg.solve_triangular": lambda m: ((T(m, np.triu(SQ)), T(m, X)), {"upper": True}),
    "linalg.matrix_power": lambda m: ((T(m, SQ), 3), {}),
    "linalg.pinv": lambda m: ((T(m, X),), {}),
    "linalg.matrix_rank": lambda m: ((T(m, X),), {}),
    "linalg.lu_factor": lambda m: ((T(m, SQ),), {}),
    "linalg.lu_factor_ex": lambda m: ((T(m, SQ),), {}),
    "linalg.lu": lambda m: ((T(m, SQ),), {}),
    "linalg.lu_solve": lambda m: ((T(m, SQ), m.linalg.lu_factor(T(m, SQ)).pivots, T(m, X)), {}),
    "linalg.solve_ex": lambda m: ((T(m, SQ), T(m, X)), {}),
    "linalg.cond": lambda m: ((T(m, SQ),), {}),
    "linalg.tensorinv": lambda m: ((T(m, SQ),), {"ind": 1}),
    "linalg.tensorsolve": lambda m: ((T(m, SQ), T(m, V3)), {}),
    "linalg.householder_product": lambda m: ((T(m, X.T), T(m, V3[:2])), {}),
    "lu_unpack": lambda m: (tuple(m.linalg.lu_factor(T(m, SQ))), {}),
    "linalg.ldl_factor": lambda m: ((T(m, SPD),), {}),
    "linalg.ldl_factor_ex": lambda m: ((T(m, SPD),), {}),
    "linalg.ldl_solve": lambda m: ((*m.linalg.ldl_factor(T(m, SPD)), T(m, X)), {}),
    "lu_solve": lambda m: ((T(m, X), *m.linalg.lu_factor(T(m, SQ))), {}),
    "cholesky_solve": lambda m: ((T(m, X), m.linalg.cholesky(T(m, SPD))), {}),
    "cholesky_inverse": lambda m: ((m.linalg.cholesky(T(m, SPD)),), {}),
    "triangular_solve": lambda m: ((T(m, X), T(m, SQ)), {}),
    "linalg.vecdot": lambda m: ((T(m, X), T(m, Y)), {}),
    # joining
    **{n: (lambda m: (([T(m, X), T(m, Y)],), {})) for n in [
        "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack", "column_stack"]},
    # sorting
    "sort": lambda m: ((T(m, X),), {}), "msort": lambda m: ((T(m, X),), {}),
    "topk": lambda m: ((T(m, X), 2), {}), "kthvalue": lambda m: ((T(m, X), 2), {}),
    "searchsorted": lambda m: ((T(m, np.sort(V3)), T(m, X)), {}),
    "bucketize": lambda m: ((T(m, X), T(m, np.sort(V3))), {}),
    # nn.functional
    "nn.functional.normalize": lambda m: ((T(m, X),), {}),
    # factories (deterministic values)
    "zeros": lambda m: ((3, 4), {}), "ones": lambda m: ((3, 4), {}), "empty": lambda m: ((3, 4), {}),
    "full": lambda m: (((3, 4), 2.5), {}),
    "arange": lambda m: ((1, 7, 2), {}), "range": lambda m: ((1, 7, 2), {}), "linspace": lambda m: ((0, 1, 5), {}),
    "eye": lambda m: ((3, 4), {}),
    # random factories: only dtype/shape compare
    "rand": lambda m: ((3, 4), {}), "randn": lambda m: ((3, 4), {}),
    "randint": lambda m: ((0, 5, (3, 4)), {}), "randperm": lambda m: ((6,), {}),
    "normal": lambda m: ((0.0, 1.0, (3, 4)), {}),
    "bernoulli": lambda m: ((T(m, POS),), {}), "multinomial": lambda m: ((T(m, POS), 2), {}),
}
# out= a list of tensors, one a result, each written as by copy_ and None returned (torch's): checked in
# tests/ops/test_view_copies.py
LIST_OUT = {"split_copy", "split_with_sizes_copy", "unbind_copy"}
RANDOM = {"rand", "randn", "randint", "randperm", "normal", "empty", "bernoulli", "multinomial"}  # values not compared
DECOMPOSITIONS = {"linalg.qr", "linalg.svd", "linalg.eigh", "svd", "qr"}  # compared up to sign
# torch resizes these outs without a warning (its factories, and addbmm)
SILENT_RESIZE = {"zeros", "ones", "empty", "full", "linspace", "range", "eye", "rand", "randn", "randint", "randperm",
                 "normal", "addbmm", "bernoulli", "multinomial", "narrow_copy"}
# torch names kthvalue's out shape with the reduced dim put back ([7, 1])
RESIZE_WORDING = {"kthvalue"}
NOT_DIFFERENTIABLE = {"histc"}  # torch writes an out that requires grad
# composite in torch: out receives the result through copy_, which autograd records
COMPOSITE = {"inner", "tensordot", "quantile", "nanquantile", "linalg.matrix_norm", "linalg.norm", "linalg.cond",
             "linalg.tensorinv", "linalg.tensorsolve"}
# torch reads requires_grad of the differentiable outs only (not linalg.lu's P); takes_out refuses any
FIRST_OUT_NOT_DIFFERENTIABLE = {"linalg.lu", "lu_unpack"}
# torch records a node that raises only in backward; retrograd raises at the call
GRAD_RAISES_EARLY = {"diag", "floor_divide", "heaviside", "histogram", "conj_physical", "alias_copy", "detach_copy",
                     "diagonal_copy", "expand_copy", "permute_copy", "select_copy", "slice_copy", "squeeze_copy",
                     "t_copy", "transpose_copy", "unfold_copy", "unsqueeze_copy", "view_copy"}


def _fn(m, name):
    for part in name.split("."):
        m = getattr(m, part)
    return m


def _call(m, name, **kwargs):
    """``name`` of module m on the case's inputs; the UserWarnings about resizing it raised."""
    args, kw = CASES[name](m)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _fn(m, name)(*args, **kw, **kwargs)
    return result, [str(w.message) for w in caught if "resized" in str(w.message)]


def _outcome(m, name, **kwargs):
    """(result, resize warnings) or the exception type."""
    try:
        return _call(m, name, **kwargs)
    except Exception as e:  # noqa: BLE001  the type is what the tests compare
        return type(e)


def _tensors(result):
    return tuple(result) if isinstance(result, tuple) else (result,)


def _empty_like(m, results, shapes=None, dtypes=None, requires_grad=False):
    """out tensors for ``results``: their shapes and dtypes unless given (per tensor)."""
    outs = []
    for i, r in enumerate(results):
        dtype = dtypes[i] if dtypes else r.dtype
        shape = shapes[i] if shapes else tuple(r.shape)
        outs.append(m.zeros(shape, dtype=dtype, requires_grad=requires_grad and i == 0))
    return outs


def _pack(outs, result):
    return tuple(outs) if isinstance(result, tuple) else outs[0]


def _values(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _assert_same(name, got, want, torch_vs_rg=False):
    got, want = _tensors(got), _tensors(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape), (name, g.shape, w.shape)
        assert str(g.dtype) == str(w.dtype), (name, g.dtype, w.dtype)
        if name in RANDOM:
            continue
        gv, wv = _values(g).astype(np.float64), _values(w).astype(np.float64)
        if torch_vs_rg and name in DECOMPOSITIONS:
            gv, wv = np.abs(gv), np.abs(wv)
        np.testing.assert_allclose(gv, wv, rtol=1e-5, atol=1e-5, err_msg=name)


def _other_dtypes(m, dtype):
    """out dtypes that differ from a result of ``dtype`` (as torch's dtype strings)."""
    name = str(dtype).split(".")[-1]
    if name == "bool":
        return [m.float32, m.int64]
    if name.startswith("int"):
        return [m.float32, m.int32 if name == "int64" else m.int64, m.bool]
    return [m.float64 if name != "float64" else m.float32, m.int64]


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_holds_the_result(name):
    """The value written into out is the value without out; out is returned; its version goes up."""
    retrograd.manual_seed(0)
    plain, _ = _call(retrograd, name)
    outs = _empty_like(retrograd, _tensors(plain))
    versions = [o._version for o in outs]
    retrograd.manual_seed(0)
    got, warned = _call(retrograd, name, out=_pack(outs, plain))
    assert not warned
    if isinstance(plain, tuple):
        assert isinstance(got, tuple) and all(g is o for g, o in zip(got, outs))
        assert type(got) is type(plain)  # the same (named) tuple type as without out
    else:
        assert got is outs[0]
    assert [o._version for o in outs] == [v + 1 for v in versions]
    _assert_same(name, got, plain)


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_of_another_shape_is_resized_with_a_warning(name):
    plain, _ = _call(retrograd, name)
    outs = _empty_like(retrograd, _tensors(plain), shapes=[(7,)] * len(_tensors(plain)))
    got, warned = _call(retrograd, name, out=_pack(outs, plain))
    if name in SILENT_RESIZE:
        assert not warned
    else:
        assert len(warned) == len(outs) and ("had shape [7]" in warned[0] or "of shape [7]" in warned[0])
    _assert_same(name, got, plain)
    empty = _empty_like(retrograd, _tensors(plain), shapes=[(0,)] * len(_tensors(plain)))
    got, warned = _call(retrograd, name, out=_pack(empty, plain))
    assert not warned  # an out with no elements is resized silently
    _assert_same(name, got, plain)


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_is_not_differentiable(name):
    plain, _ = _call(retrograd, name)
    if not plain.dtype.is_floating_point if not isinstance(plain, tuple) else not plain[0].dtype.is_floating_point:
        pytest.skip("an integer or bool out cannot require grad")
    outs = _empty_like(retrograd, _tensors(plain), requires_grad=True)
    if name in NOT_DIFFERENTIABLE:
        _assert_same(name, _call(retrograd, name, out=_pack(outs, plain))[0], plain)
        return
    message = "a leaf Variable that requires grad" if name in COMPOSITE else (
        "functions with out=... arguments don't support automatic")
    with pytest.raises(RuntimeError, match=message):
        _call(retrograd, name, out=_pack(outs, plain))
    with retrograd.no_grad():
        got, _ = _call(retrograd, name, out=_pack(outs, plain))
    _assert_same(name, got, plain)


@pytest.mark.parametrize("name", sorted(COMPOSITE))
def test_composite_out_is_differentiable_through_copy(name):
    """As in torch: the gradient reaches the inputs through out, as without out."""
    args, kw = _requiring_grad(retrograd, name)
    leaves = [a for a in args if getattr(a, "requires_grad", False)]
    plain = _fn(retrograd, name)(*args, **kw)
    want = retrograd.autograd.grad(plain.sum(), leaves)
    out = retrograd.zeros(tuple(plain.shape))
    got = _fn(retrograd, name)(*args, **kw, out=out)
    assert got is out and out.grad_fn is not None
    for g, w in zip(retrograd.autograd.grad(out.sum(), leaves), want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)


def test_out_rejects_what_is_not_a_tensor_or_the_wrong_count():
    x = retrograd.ones(2, 3)
    with pytest.raises(TypeError, match="argument 'out' must be"):
        retrograd.add(x, x, out=[1, 2])
    with pytest.raises(TypeError, match="out must be a tuple of 2 Tensors"):
        retrograd.sort(x, out=retrograd.empty(2, 3))
    with pytest.raises(TypeError, match="out must be a Tensor"):
        retrograd.add(x, x, out=(retrograd.empty(2, 3),))


def test_sum_and_prod_take_out_only_with_dim_as_torch():
    x, out = retrograd.ones(2, 3), retrograd.empty(0)
    with pytest.raises(TypeError, match="out= without a dim"):
        retrograd.sum(x, out=out)
    with pytest.raises(TypeError, match="out= without an int dim"):
        retrograd.prod(x, None, out=out)
    assert retrograd.sum(x, None, out=out) is out and out.tolist() == 6.0
    assert retrograd.prod(x, dim=1, out=out).tolist() == [1.0, 1.0]


def test_out_may_be_an_input():
    x = retrograd.tensor([1.0, 2.0])
    assert retrograd.add(x, x, out=x) is x
    assert x.tolist() == [2.0, 4.0] and x._version == 1


def test_out_writes_through_a_view():
    base = retrograd.zeros(2, 4)
    retrograd.exp(retrograd.zeros(2, 2), out=base[:, ::2])
    assert base.tolist() == [[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]]


@pytest.mark.parametrize("name", ["add", "sort", "matmul", "cat", "sum", "exp", "max", "cumsum"])
def test_tensor_methods_take_no_out(name):
    """torch's Tensor methods have no out=; neither have retrograd's."""
    x = retrograd.ones(2, 2)
    args = {"add": (x,), "matmul": (x,), "cat": None, "max": (0,), "cumsum": (0,)}.get(name, ())
    if args is None:
        pytest.skip("not a Tensor method")
    with pytest.raises(TypeError):
        getattr(x, name)(*args, out=retrograd.empty(2, 2))


# ---------------------------------------------------------------------------- against torch


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_out_matches_torch(name):
    torch.manual_seed(0)
    t_plain, _ = _call(torch, name)
    r_plain, _ = _call(retrograd, name)
    t_outs = _empty_like(torch, _tensors(t_plain))
    r_outs = _empty_like(retrograd, _tensors(r_plain))
    t_got, _ = _call(torch, name, out=_pack(t_outs, t_plain))
    r_got, _ = _call(retrograd, name, out=_pack(r_outs, r_plain))
    assert (t_got is t_outs[0]) == (r_got is r_outs[0])
    assert type(t_got).__name__.removesuffix("_out").removeprefix("linalg_") == type(r_got).__name__  # the same (named) tuple
    _assert_same(name, r_got, t_got, torch_vs_rg=True)


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_out_dtype_rule_matches_torch(name):
    """An out of another dtype: the same exception type as torch, or the same values and dtype."""
    t_plain, _ = _call(torch, name)
    r_plain, _ = _call(retrograd, name)
    for t_dtype, r_dtype in zip(_other_dtypes(torch, _tensors(t_plain)[0].dtype),
                                _other_dtypes(retrograd, _tensors(r_plain)[0].dtype)):
        t_dtypes = [t_dtype] + [t.dtype for t in _tensors(t_plain)[1:]]
        r_dtypes = [r_dtype] + [r.dtype for r in _tensors(r_plain)[1:]]
        torch.manual_seed(0)
        want = _outcome(torch, name, out=_pack(_empty_like(torch, _tensors(t_plain), dtypes=t_dtypes), t_plain))
        got = _outcome(retrograd, name, out=_pack(_empty_like(retrograd, _tensors(r_plain), dtypes=r_dtypes), r_plain))
        where = f"{name} with out of dtype {t_dtype}"
        if isinstance(want, type):
            assert got is want, (where, got, want)
        else:
            assert not isinstance(got, type), (where, got)
            _assert_same(name, got[0], want[0], torch_vs_rg=True)


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_out_shape_warnings_match_torch(name):
    t_plain, _ = _call(torch, name)
    r_plain, _ = _call(retrograd, name)
    for shape in [(7,), (0,)]:
        t_shapes = [shape] * len(_tensors(t_plain))
        _, t_warned = _call(torch, name, out=_pack(_empty_like(torch, _tensors(t_plain), shapes=t_shapes), t_plain))
        _, r_warned = _call(retrograd, name, out=_pack(_empty_like(retrograd, _tensors(r_plain), shapes=t_shapes), r_plain))
        if name in RESIZE_WORDING:
            assert len(r_warned) == len(t_warned)
            continue
        # order aside: torch resizes a decomposition's outputs in its own order
        assert sorted(w.split(" This behavior")[0] for w in r_warned) == sorted(
            w.split(" This behavior")[0].split(" (Triggered internally")[0] for w in t_warned)


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_requires_grad_matches_torch(name):
    """An out that requires grad, then inputs that require grad: raises as torch does."""
    t_plain, _ = _call(torch, name)
    r_plain, _ = _call(retrograd, name)
    if not _tensors(t_plain)[0].dtype.is_floating_point:
        pytest.skip("an integer or bool out cannot require grad")
    if name in FIRST_OUT_NOT_DIFFERENTIABLE:
        pytest.skip("torch ignores requires_grad on a non-differentiable out; retrograd raises (stricter)")
    want = _outcome(torch, name, out=_pack(_empty_like(torch, _tensors(t_plain), requires_grad=True), t_plain))
    got = _outcome(retrograd, name, out=_pack(_empty_like(retrograd, _tensors(r_plain), requires_grad=True), r_plain))
    assert (got if isinstance(got, type) else None) is (want if isinstance(want, type) else None)


def _requiring_grad(m, name):
    """The case's inputs, its float tensors requiring grad."""
    args, kw = CASES[name](m)

    def mark(v):
        if isinstance(v, (list, tuple)):
            return type(v)(mark(x) for x in v)
        if hasattr(v, "requires_grad_") and v.dtype.is_floating_point:
            return v.detach().requires_grad_()
        return v

    return mark(args), {k: mark(v) for k, v in kw.items()}


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_inputs_requiring_grad_match_torch(name):
    outcomes = []
    for m in (torch, retrograd):
        plain, _ = _call(m, name)
        args, kw = _requiring_grad(m, name)
        out = _pack(_empty_like(m, _tensors(plain)), plain)
        try:
            _fn(m, name)(*args, **kw, out=out)
            outcomes.append(None)
        except Exception as e:  # noqa: BLE001
            outcomes.append(type(e))
    if name in GRAD_RAISES_EARLY:
        assert outcomes == [None, RuntimeError]
    else:
        assert outcomes[1] is outcomes[0]
