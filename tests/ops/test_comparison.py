"""Comparisons, logic, bits, closeness and where (ops/comparison.py), against torch and NumPy."""

import numpy as np
import pytest
from tests.properties import given, hnp, settings, st

import retrograd
from tests.helpers import check_op, reference, torch

INF, NAN = float("inf"), float("nan")
A = np.array([[1.0, NAN, INF, -INF], [2.0, 0.0, -1.0, 1e-9]])
B = np.array([1.0 + 1e-9, NAN, INF, INF])
I = np.array([[3, 0, -2, 7], [1, 1, 0, -5]])
J = np.array([1, 2, 0, 3])

CASES = [
    ("eq", lambda t, a, b: t.eq(a, b), A, B), ("ne", lambda t, a, b: a != b, A, B),
    ("lt", lambda t, a, b: t.lt(a, b), A, B), ("le", lambda t, a, b: a <= b, A, B),
    ("gt", lambda t, a, b: t.greater(a, b), A, B), ("ge", lambda t, a, b: t.greater_equal(a, b), A, B),
    ("eq_scalar", lambda t, a, b: a == 1.0, A, B), ("lt_int_float", lambda t, a, b: a < 0.5, I, J),
    ("isclose", lambda t, a, b: t.isclose(a, b), A, B),
    ("isclose_nan", lambda t, a, b: a.isclose(b, equal_nan=True), A, B),
    ("isclose_tol", lambda t, a, b: t.isclose(a, b, rtol=0.5, atol=0.1), A, B),
    ("isclose_int", lambda t, a, b: t.isclose(a, b), I, J),
    ("isnan", lambda t, a, b: t.isnan(a), A, B), ("isinf", lambda t, a, b: a.isinf(), A, B),
    ("isfinite", lambda t, a, b: t.isfinite(a), A, B), ("isposinf", lambda t, a, b: t.isposinf(a), A, B),
    ("isneginf", lambda t, a, b: a.isneginf(), A, B), ("isreal", lambda t, a, b: t.isreal(a), A, B),
    ("isnan_int", lambda t, a, b: t.isnan(a), I, J), ("isfinite_int", lambda t, a, b: t.isfinite(a), I, J),
    ("isinf_int", lambda t, a, b: t.isinf(a), I, J),
    ("logical_and", lambda t, a, b: t.logical_and(a, b), A, B),
    ("logical_or", lambda t, a, b: a.logical_or(b), I, J),
    ("logical_xor", lambda t, a, b: t.logical_xor(a, b), I, J),
    ("logical_not", lambda t, a, b: t.logical_not(a), A, B),
    ("bitwise_and", lambda t, a, b: a & b, I, J), ("bitwise_or", lambda t, a, b: t.bitwise_or(a, b), I, J),
    ("bitwise_xor", lambda t, a, b: a ^ b, I, J), ("bitwise_not", lambda t, a, b: ~a, I, J),
    ("bool_ops", lambda t, a, b: (a > 0) & (b > 1) | ~(a < 0) ^ (b == 0), I, J),
    ("left_shift", lambda t, a, b: t.bitwise_left_shift(a, b), I, J),
    ("right_shift", lambda t, a, b: a >> b, I, J), ("lshift_scalar", lambda t, a, b: a << 2, I, J),
    ("sign_int", lambda t, a, b: t.sign(a), I, J), ("sign_float", lambda t, a, b: t.sign(a), A, B),
    ("where_scalar", lambda t, a, b: t.where(a > 0, a, 0.0), A, B),
    ("where_method", lambda t, a, b: a.where(a > 0, b), A, B),
]


@pytest.mark.parametrize("name,fn,a,b", CASES, ids=[c[0] for c in CASES])
def test_like_torch(name, fn, a, b):
    def run(mod):
        with np.errstate(all="ignore"):
            out = fn(mod, mod.tensor(a), mod.tensor(b))
        return str(out.dtype), out.numpy()

    (dtype, r), (expected_dtype, t) = run(retrograd), reference(lambda: run(torch), inputs=[a, b])
    assert dtype == expected_dtype and r.shape == t.shape
    np.testing.assert_array_equal(r, t)


def test_python_bool_results():
    a = retrograd.tensor([1.0, 2.0, NAN])
    assert retrograd.allclose(a[:2], retrograd.tensor([1.0, 2.0 + 1e-7])) is True
    assert retrograd.allclose(a, a) is False
    assert a.allclose(a, equal_nan=True) is True
    assert retrograd.equal(a[:2], a[:2].clone()) is True
    assert retrograd.equal(a, a) is False  # nan != nan
    assert retrograd.equal(a, a[:2]) is False  # shapes differ


def test_inplace_comparisons_and_bits():
    x = retrograd.tensor([1.0, 2.0, 3.0])
    x.gt_(1.5)
    assert x.tolist() == [0.0, 1.0, 1.0] and x.dtype == retrograd.float32
    m = retrograd.tensor([True, False])
    m.logical_or_(retrograd.tensor([False, False]))
    assert m.tolist() == [True, False]
    i = retrograd.tensor([5, 6])
    i |= 1
    i ^= 2
    i <<= 1
    assert i.tolist() == [((5 | 1) ^ 2) << 1, ((6 | 1) ^ 2) << 1]
    s = retrograd.tensor([-2.0, 0.0, 3.0])
    s.sign_()
    assert s.tolist() == [-1.0, 0.0, 1.0]


INPLACE_COMPARISONS = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "not_equal_", "greater_", "greater_equal_",
                       "less_", "less_equal_"]


@pytest.mark.parametrize("name", INPLACE_COMPARISONS)
@pytest.mark.parametrize("other_kind", ["number", "tensor", "tensor_requiring_grad"])
def test_inplace_comparison_records_a_node_with_zero_gradients_as_torch(name, other_kind):
    """torch records EqBackward0 (a number other) or EqBackward1 (a tensor) and the like: the
    tensor keeps requiring grad and its gradient (and other's) is zeros (the graph was dropped)."""
    def run(t):
        a = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        other = 2.0 if other_kind == "number" else t.tensor([2.0, 2.0, 4.0],
                                                             requires_grad=other_kind == "tensor_requiring_grad")
        y = (a * 1) if other_kind != "tensor_requiring_grad" else t.tensor([1.0, 2.0, 3.0])
        assert getattr(y, name)(other) is y
        leaves = [v for v in (a, other) if isinstance(v, t.Tensor) and v.requires_grad
                  and (other_kind != "tensor_requiring_grad" or v is other)]
        grads = t.autograd.grad((y * t.tensor([1.0, -2.0, 3.0])).sum(), leaves)
        return [y.grad_fn.name(), y.requires_grad, str(y.dtype), y.tolist()] + [g.tolist() for g in grads]

    ours = run(retrograd)
    assert ours == reference(lambda: run(torch), inputs=[name, other_kind])
    assert all(v == 0.0 for g in ours[4:] for v in g)


@pytest.mark.parametrize("dtype", ["int64", "bool"])
@pytest.mark.parametrize("name", ["eq_", "lt_", "ge_"])
def test_inplace_comparison_of_an_integer_tensor_with_one_requiring_grad_as_torch(name, dtype):
    """torch records the node for an integer or bool self too: it then requires grad (the one way an
    integer tensor does), and backward cannot pass a gradient through it (a RuntimeError)."""
    def run(t):
        a = t.tensor([1, 2, 3], dtype=getattr(t, dtype))
        other = t.tensor([1.0, 0.0, 3.0], requires_grad=True)
        assert getattr(a, name)(other) is a
        out = [a.requires_grad, a.is_leaf, a.grad_fn.name(), str(a.dtype), a.tolist()]
        with pytest.raises(RuntimeError):
            a.float().sum().backward()
        return out

    values = {"int64": {"eq_": [1, 0, 1], "lt_": [0, 0, 0], "ge_": [1, 1, 1]},  # (bool: True, True, True)
              "bool": {"eq_": [True, False, False], "lt_": [False, False, True], "ge_": [True, True, False]}}
    expected = [True, False, name[:2].capitalize() + "Backward1", f"torch.{dtype}", values[dtype][name]]
    assert run(retrograd) == expected
    if torch is not None:
        assert run(torch) == expected


@pytest.mark.parametrize("name", ["logical_and_", "logical_or_", "logical_xor_", "logical_not_"])
def test_inplace_logical_ops_keep_the_grad_fn_and_accept_a_leaf_as_torch(name):
    """torch's logical_and_ and the like record no node: self keeps its grad_fn and requires_grad
    (the gradient passes as before the op), and a leaf that requires grad is not refused."""
    def run(t):
        args = () if name == "logical_not_" else (t.tensor([1.0, 0.0, 1.0]),)
        a = t.tensor([1.0, 2.0, 0.0], requires_grad=True)
        y = a * 3
        getattr(y, name)(*args)
        (g,) = t.autograd.grad(y.sum(), a)
        leaf = t.tensor([0.0, 1.0, 2.0], requires_grad=True)
        getattr(leaf, name)(*args)
        return [y.grad_fn.name(), y.tolist(), g.tolist(), leaf.requires_grad, leaf.grad_fn is None, leaf.tolist()]

    assert run(retrograd) == reference(lambda: run(torch), inputs=[name])


def test_errors():
    with pytest.raises(RuntimeError, match="not implemented for 'Float'"):
        retrograd.tensor([1.0]) << 1
    with pytest.raises(RuntimeError, match="did not match"):
        retrograd.isclose(retrograd.tensor([1.0]), retrograd.tensor([1]))
    with pytest.raises(RuntimeError, match="size of tensor"):
        retrograd.eq(retrograd.ones(2), retrograd.ones(3))


@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((), ()), ((0, 2), (2,)), ((2, 1), (1, 3))])
def test_where_gradients(shapes):
    check_op(lambda t, c, a, b: t.where(c > 0, a, b), shapes[0], shapes[0], shapes[1])


def _bits(a):
    return np.asarray(a).view({2: np.uint16, 4: np.uint32, 8: np.uint64}[np.asarray(a).dtype.itemsize])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cshape", [(3, 8), (8,)])
def test_where_with_a_zero_and_its_gradients_bitwise_as_numpy_where(dtype, cshape):
    """where(c, x, 0), where(c, 0, x) and where's backward pass g through bit masks (ops/_select):
    the very bits of np.where, with nan, inf and -0 in x and g."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 8)).astype(dtype)
    x.flat[::3], x.flat[1::5], x.flat[2::7] = -0.0, np.nan, -np.inf
    c = rng.random(cshape) > 0.5
    g = x[::-1].copy()
    for keep in (True, False):
        a = retrograd.tensor(x, requires_grad=True)
        cond = retrograd.tensor(c)
        out = retrograd.where(cond, a, 0.0) if keep else retrograd.where(cond, 0, a)
        zero = np.zeros((), dtype)
        np.testing.assert_array_equal(_bits(out.detach().numpy()),
                                      _bits(np.where(c, x, zero) if keep else np.where(c, zero, x)))
        out.backward(retrograd.tensor(g))
        np.testing.assert_array_equal(_bits(a.grad.numpy()), _bits(np.where(c, g, zero) if keep else np.where(c, zero, g)))
    # -0.0 is not +0: the general select keeps it
    out = retrograd.where(retrograd.tensor(c), retrograd.tensor(x), -0.0).numpy()
    np.testing.assert_array_equal(_bits(out), _bits(np.where(c, x, dtype(-0.0))))


def test_where_backward_both_branches_as_arrays_and_double_backward():
    c = retrograd.tensor([[True, False, True]])
    a = retrograd.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = retrograd.tensor([-1.0, -2.0, -3.0], requires_grad=True)
    g = retrograd.tensor([[1.0, -2.0, np.inf], [-0.0, 5.0, np.nan]])
    ga, gb = retrograd.autograd.grad(retrograd.where(c, a, b), (a, b), g)
    assert np.array_equal(_bits(ga.numpy()), _bits(np.where(c.numpy(), g.numpy(), np.float32(0))))
    np.testing.assert_array_equal(gb.numpy(), [0.0, -2.0 + 5.0, 0.0])
    ga2, = retrograd.autograd.grad(retrograd.where(c, a, b), a, g, create_graph=True)  # the recorded path
    np.testing.assert_array_equal(_bits(ga2.detach().numpy()), _bits(ga.numpy()))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_sign_bitwise_as_sign_with_nan_zeroed(dtype):
    """Float sign as [x > 0] - [x < 0]: the bits of np.sign with nan -> +0 (torch's), for +-0,
    +-inf, nan, 0-dim; abs's gradient, g * sign(x), likewise."""
    x = np.array([[-0.0, 0.0, np.nan, -2.5, 3.0], [np.inf, -np.inf, 1e-30, -1e-30, 7.0]], dtype=dtype)
    want = np.where(np.isnan(x), dtype(0), np.sign(x))
    np.testing.assert_array_equal(_bits(retrograd.sign(retrograd.tensor(x)).numpy()), _bits(want))
    assert retrograd.sign(retrograd.tensor(x[0, 3])).item() == -1.0
    a = retrograd.tensor(x, requires_grad=True)
    g = np.arange(-5, 5, dtype=dtype).reshape(2, 5)
    a.abs().backward(retrograd.tensor(g))
    np.testing.assert_array_equal(_bits(a.grad.numpy()), _bits(g * want))


def test_sign_gradient_is_zero():
    check_op(lambda t, x: t.sign(x), (3,))


def test_zero_dim_and_empty_results():
    assert retrograd.isnan(retrograd.tensor(1.0)).shape == ()
    assert retrograd.isclose(retrograd.zeros(0, 3), retrograd.zeros(3)).shape == (0, 3)
    assert retrograd.logical_and(retrograd.zeros(0), retrograd.ones(1)).shape == (0,)


_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@settings(max_examples=25, deadline=None)
@given(shapes=_shapes, seed=st.integers(0, 2**16))
def test_comparison_broadcasting_matches_numpy(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-2, 3, size=s) for s in shapes.input_shapes)
    ta, tb = retrograd.tensor(a), retrograd.tensor(b)
    for got, want in [(ta < tb, a < b), (retrograd.logical_xor(ta, tb), np.logical_xor(a, b)),
                      (ta & tb, a & b), (retrograd.isclose(ta, tb), np.isclose(a, b)),
                      (retrograd.where(ta > tb, ta, tb), np.where(a > b, a, b))]:
        assert got.shape == shapes.result_shape
        np.testing.assert_array_equal(got.numpy(), want)


# ---------------------------------------------------------------------------- isin

ELEMS = np.array([[1, 2, 5], [3, 4, -1]])
TESTS = np.array([2, 3, 7])


@pytest.mark.parametrize("case", [
    lambda t, a, b: t.isin(a, b), lambda t, a, b: t.isin(a, b, invert=True),
    lambda t, a, b: t.isin(a, b, assume_unique=True), lambda t, a, b: t.isin(a, 2),
    lambda t, a, b: t.isin(4, b), lambda t, a, b: t.isin(3, b, invert=True), lambda t, a, b: t.isin(a, 2.5),
    lambda t, a, b: t.isin(a.double() / 2, b.float() / 2), lambda t, a, b: t.isin(a.float(), b),
    lambda t, a, b: t.isin(a.float() / 0, b.float() / 0),  # nan is in nothing, inf is
], ids=["plain", "invert", "assume_unique", "scalar_test", "scalar_element", "scalar_invert", "int_vs_float",
        "promoted", "float_vs_int", "nan_inf"])
def test_isin_against_torch(case):
    check_op(case, ELEMS, TESTS)


def test_isin_errors_and_out():
    t = retrograd
    with pytest.raises(TypeError, match="isin\\(\\) received an invalid combination"):
        t.isin(2, 3)
    with pytest.raises(RuntimeError, match="Unsupported input type encountered for isin\\(\\): Bool"):
        t.isin(t.tensor([True, False]), t.tensor([True]))
    out = t.empty(2, 3, dtype=t.bool)
    assert t.isin(t.tensor(ELEMS), t.tensor(TESTS), out=out) is out
    assert out.tolist() == [[False, True, False], [True, False, False]]
    assert not t.isin(t.tensor([1.0, 2.0], requires_grad=True), t.tensor([2.0])).requires_grad


def test_where_of_shapes_that_do_not_broadcast_raises_runtime_error_as_torch():
    cond = retrograd.zeros(3, 2) > 0
    for fn in (lambda: retrograd.where(cond, retrograd.zeros(4, 2), retrograd.zeros(2)),
               lambda: retrograd.where(cond, retrograd.zeros(3, 1), retrograd.zeros(3))):
        with pytest.raises(RuntimeError, match="must match the size"):
            fn()


def test_where_of_two_numbers_and_of_a_0d_condition_as_torch():
    cond = retrograd.tensor([1.0, -1.0]) > 0
    got = retrograd.where(cond, 2, -2.5)  # Python numbers: the default dtype (it gave float64)
    assert got.dtype == retrograd.float32 and got.tolist() == [2.0, -2.5]
    assert retrograd.where(cond, 2, 3).dtype == retrograd.int64
    (i,) = retrograd.where(retrograd.tensor(1.0) > 0)  # a 0-dim condition (it raised ValueError)
    assert i.tolist() == [0]
    assert retrograd.where(retrograd.tensor(-1.0) > 0)[0].shape == (0,)
