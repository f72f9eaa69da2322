"""Indexing: x[key] both ways, gather/scatter/index_*/masked_*/take/put; gradcheck + gradgradcheck +
torch comparison one line per op, and hypothesis property tests for basic and advanced keys."""

import numpy as np
import pytest
from tests.properties import given, settings, st

import retrograd
from tests.helpers import check_op, reference, requires_torch, torch

I = np.array  # fixed integer / bool inputs pass through check_op unchanged (no grad)

IDX = I([[0, 1, 2, 0], [2, 2, 1, 0]])
MASK = I([[True, False, True, False], [False, False, True, True], [True, True, False, False]])

CASES = [
    ("getitem_int", lambda t, x: x[1], (3, 4)),
    ("getitem_slice", lambda t, x: x[1:, ::2], (3, 4)),
    ("getitem_neg", lambda t, x: x[-1, -2:], (3, 4)),
    ("getitem_none_ellipsis", lambda t, x: x[None, ..., 1], (3, 4)),
    ("getitem_list_repeat", lambda t, x: x[[0, 2, 0, 0]], (3, 4)),
    ("getitem_tensor", lambda t, x, i: x[i], (3, 4), I([[2, 0], [0, 0]])),
    ("getitem_two_tensors", lambda t, x, i: x[i, i], (3, 3), I([1, 1, 0])),
    ("getitem_mixed", lambda t, x, i: x[:, i, None], (2, 3, 2), I([2, 2, 0])),
    ("getitem_split_adv", lambda t, x, i: x[i, :, i], (3, 2, 3), I([0, 2])),
    ("getitem_bool", lambda t, x, m: x[m], (3, 4), MASK),
    ("getitem_bool_row", lambda t, x, m: x[m], (3, 4), I([True, False, True])),
    ("getitem_empty", lambda t, x, i: x[i], (3, 4), np.zeros(0, dtype=np.int64)),
    ("getitem_0dim", lambda t, x: x[None], ()),
    ("setitem_slice", lambda t, x, v: _set(x, (slice(1, 3),), v), (3, 4), (4,)),
    ("setitem_adv", lambda t, x, v: _set(x, ([0, 2], [1, 3]), v), (3, 4), (2,)),
    ("setitem_mask", lambda t, x, m: _set(x, (m,), 0.5), (3, 4), MASK),
    ("gather", lambda t, x, i: t.gather(x, 0, i), (3, 4), IDX),
    ("gather_dim1", lambda t, x, i: x.gather(-1, i), (2, 5), IDX),
    ("gather_small", lambda t, x, i: x.gather(1, i), (3, 5), I([[0], [4]])),
    ("gather_0dim", lambda t, x, i: x.gather(0, i), (), I(0)),
    ("scatter", lambda t, x, i, s: t.scatter(x, 1, i, s), (2, 4), I([[3, 0], [1, 2]]), (2, 2)),
    ("scatter_value", lambda t, x, i: x.scatter(0, i, 2.5), (3, 4), I([[2, 0, 1, 1]])),
    ("scatter_add", lambda t, x, i, s: t.scatter_add(x, 0, i, s), (3, 4), IDX, (2, 4)),
    ("scatter_add_dim1", lambda t, x, i, s: x.scatter_add(1, i, s), (2, 3), IDX[:, :3], (2, 3)),
    ("scatter_reduce_sum", lambda t, x, i, s: x.scatter_reduce(0, i, s, "sum"), (3, 4), IDX, (2, 4)),
    ("scatter_reduce_mean", lambda t, x, i, s: x.scatter_reduce(0, i, s, "mean"), (3, 4), IDX, (2, 4)),
    ("scatter_reduce_mean_noself",
     lambda t, x, i, s: x.scatter_reduce(0, i, s, "mean", include_self=False), (3, 4), IDX, (2, 4)),
    ("scatter_reduce_prod", lambda t, x, i, s: x.scatter_reduce(0, i, s, "prod"), (3, 4), IDX, (2, 4)),
    ("scatter_reduce_prod_noself",
     lambda t, x, i, s: x.scatter_reduce(0, i, s, "prod", include_self=False), (3, 4), IDX, (2, 4)),
    ("scatter_reduce_amax", lambda t, x, i, s: x.scatter_reduce(0, i, s, "amax"), (3, 4), IDX, (2, 4)),
    ("scatter_reduce_amin_noself",
     lambda t, x, i, s: x.scatter_reduce(0, i, s, "amin", include_self=False), (3, 4), IDX, (2, 4)),
    ("index_select", lambda t, x, i: t.index_select(x, 0, i), (3, 2), I([2, 0, 2])),
    ("index_select_neg_dim", lambda t, x, i: x.index_select(-1, i), (2, 3), I([1])),
    ("index_select_empty", lambda t, x, i: x.index_select(0, i), (3, 2), np.zeros(0, dtype=np.int64)),
    ("index_add", lambda t, x, i, s: t.index_add(x, 0, i, s), (3, 2), I([2, 0, 2]), (3, 2)),
    ("index_add_alpha", lambda t, x, i, s: x.index_add(1, i, s, alpha=-2), (2, 3), I([1, 1]), (2, 2)),
    ("index_copy", lambda t, x, i, s: t.index_copy(x, 1, i, s), (2, 3), I([2, 0]), (2, 2)),
    ("index_fill", lambda t, x, i: t.index_fill(x, 1, i, -1.0), (2, 3), I([2, 0])),
    ("masked_fill", lambda t, x, m: t.masked_fill(x, m, 0.25), (3, 4), MASK),
    ("masked_fill_bcast", lambda t, x, m: x.masked_fill(m, 1.0), (3, 4), I([True, False, True, True])),
    ("masked_fill_tensor_value", lambda t, x, v, m: x.masked_fill(m, v), (3, 4), (), MASK),
    ("masked_select", lambda t, x, m: t.masked_select(x, m), (3, 4), MASK),
    ("masked_select_bcast", lambda t, x, m: x.masked_select(m), (3, 1), MASK),
    ("masked_scatter", lambda t, x, m, s: t.masked_scatter(x, m, s), (3, 4), MASK, (2, 5)),
    ("take", lambda t, x, i: t.take(x, i), (3, 4), I([[0, 11], [-1, 0]])),
    ("take_along_dim", lambda t, x, i: t.take_along_dim(x, i, 1), (3, 4), I([[0, 3], [1, 1], [2, 0]])),
    ("take_along_dim_bcast", lambda t, x, i: t.take_along_dim(x, i, 0), (3, 4), I([[0], [2]])),
    ("take_along_dim_flat", lambda t, x, i: t.take_along_dim(x, i), (3, 4), I([5, 0, 5])),
    ("put", lambda t, x, i, s: x.put(i, s), (3, 4), I([0, 11, -2]), (3,)),
    ("put_accumulate", lambda t, x, i, s: x.put(i, s, accumulate=True), (3, 4), I([0, 11, 0]), (3,)),
    ("select_scatter", lambda t, x, s: t.select_scatter(x, s, 0, 1), (3, 2), (2,)),
    ("slice_scatter", lambda t, x, s: t.slice_scatter(x, s, 1, 0, 4, 2), (3, 4), (3, 2)),
]


def _set(x, key, v):
    y = x.clone()
    y[key] = v
    return y


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_indexing_op(case):
    _, fn, *specs = case
    check_op(fn, *specs)


INPLACE = [
    ("masked_fill_", lambda t, x, m: x.masked_fill_(m, 0.5), MASK),
    ("scatter_", lambda t, x, i: x.scatter_(0, i, 1.5), IDX),
    ("scatter_add_", lambda t, x, i: x.scatter_add_(0, i, t.ones(2, 4, dtype=t.float64)), IDX),
    ("index_add_", lambda t, x, i: x.index_add_(0, i, t.ones(2, 4, dtype=t.float64)), I([2, 2])),
    ("index_fill_", lambda t, x, i: x.index_fill_(1, i, 0.0), I([0, 3])),
    ("index_copy_", lambda t, x, i: x.index_copy_(0, i, t.zeros(1, 4, dtype=t.float64)), I([1])),
    ("put_", lambda t, x, i: x.put_(i, t.ones(2, dtype=t.float64)), I([0, 5])),
    ("masked_scatter_", lambda t, x, m: x.masked_scatter_(m, t.ones(8, dtype=t.float64)), MASK),
]


@pytest.mark.parametrize("case", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_variants(case):
    _, fn, arg = case
    check_op(lambda t, x, a: fn(t, x * 1, a) * 2, (3, 4), arg)
    y = retrograd.zeros(3, 4, dtype=retrograd.float64)
    v = y._version
    assert fn(retrograd, y, retrograd.tensor(arg)) is y and y._version > v


def test_scatter_reduce_prod_with_zeros():
    # first derivatives are exact with zeros (products of the other members); the second
    # derivative treats the zero pattern as fixed, so no gradgradcheck here
    check_op(lambda t, x, i, s: x.scatter_reduce(0, i, s, "prod"),
             np.array([[0.0, 1, 2, 0], [1, 0, 3, 2], [2, 2, 0, 1]]), IDX,
             np.array([[0.5, 0, 2, 0], [0, 1, 0, 1.5]]), gradgradcheck=False)


def test_scatter_src_larger_than_index():
    # torch's own backward rejects this case (it returns a gradient of index's shape), so no comparison
    check_op(lambda t, x, i, s: t.scatter(x, 1, i, s), (2, 4), I([[3, 0], [1, 2]]), (2, 3),
             compare_torch=False)


def test_empty_list_and_byte_mask_keys():
    x = retrograd.arange(6).reshape(2, 3)
    assert x[[]].shape == (0, 3)
    assert x[retrograd.tensor([1, 0], dtype=retrograd.uint8)].tolist() == [[0, 1, 2]]


def test_basic_index_is_a_view():
    x = retrograd.arange(12.0).reshape(3, 4)
    v = x[1:, ::2]
    assert np.shares_memory(v._data, x._data) and v._vc is x._vc
    assert not np.shares_memory(x[[0, 1]]._data, x._data)


def test_repeated_indices_accumulate():
    x = retrograd.zeros(4, 2, requires_grad=True)
    x[retrograd.tensor([1, 1, 3, 1])].sum().backward()
    assert x.grad[:, 0].tolist() == [0, 3, 0, 1]


def test_setitem_differentiable_inplace():
    a = retrograd.ones(3, requires_grad=True)
    v = retrograd.tensor(5.0, requires_grad=True)
    y = a * 2
    y[1] = v * 3
    y.sum().backward()
    assert a.grad.tolist() == [2, 0, 2] and v.grad.item() == 3


def test_nonzero_argwhere():
    x = retrograd.tensor([[0, 1], [2, 0]])
    assert x.nonzero().tolist() == [[0, 1], [1, 0]] and x.nonzero().dtype == retrograd.int64
    rows, cols = retrograd.nonzero(x, as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert retrograd.argwhere(x).tolist() == [[0, 1], [1, 0]]
    assert retrograd.nonzero(retrograd.tensor(3)).shape == (1, 0)
    assert retrograd.nonzero(retrograd.zeros(0, 3)).shape == (0, 2)


@pytest.mark.parametrize("fn,exc", [
    (lambda x, t: x.gather(0, t.tensor([[3]])), RuntimeError),
    (lambda x, t: x.gather(0, t.tensor([[0.0]])), RuntimeError),
    (lambda x, t: x.gather(0, t.tensor([0])), RuntimeError),
    (lambda x, t: x.index_select(0, t.tensor([3])), IndexError),
    (lambda x, t: x.index_select(0, t.tensor([[0]])), IndexError),
    (lambda x, t: x.masked_fill(t.ones(3, 2), 0), RuntimeError),
    (lambda x, t: x.masked_fill(t.ones(3, 2).bool(), t.ones(2)), RuntimeError),
    (lambda x, t: x[t.tensor([5])], IndexError),
    (lambda x, t: x[t.tensor([0.0])], IndexError),
    (lambda x, t: x.scatter_reduce(0, t.tensor([[0]]), t.ones(1, 1), "max"), RuntimeError),
    (lambda x, t: x.take(t.tensor([6])), IndexError),
    (lambda x, t: x[::-1], ValueError),
    (lambda x, t: x[0, ::0], ValueError),
])
def test_index_errors(fn, exc):
    with pytest.raises(exc):
        fn(retrograd.zeros(3, 2), retrograd)


@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 1, 1), (2, 2, 2, 2)])
def test_index_select_out_of_range_raises_torchs_type_per_dim(shape):
    """torch 2.13 raises RuntimeError for a bad index along dim 1 and IndexError along dim 0 and
    dims 2 onward (negative indices are out of range too)."""
    x = retrograd.zeros(shape)
    for d in range(len(shape)):
        for bad in (shape[d], -1):
            with pytest.raises(RuntimeError if d == 1 else IndexError, match="out of range"):
                x.index_select(d, retrograd.tensor([bad]))


# ---------------------------------------------------------------------------- property tests


@st.composite
def _key(draw, shape):
    """A key of basic and advanced parts: ints, slices, None, Ellipsis, integer lists, a bool mask."""
    parts, dim = [], 0
    adv_len = draw(st.integers(1, 3))
    used_ellipsis = False
    while dim < len(shape) and len(parts) < 4:
        kind = draw(st.sampled_from(["int", "slice", "none", "list", "mask", "ellipsis"]))
        n = shape[dim]
        if kind == "int" and n:
            parts.append(draw(st.integers(-n, n - 1)))
            dim += 1
        elif kind == "slice":
            parts.append(slice(draw(st.none() | st.integers(-n - 1, n + 1)),
                               draw(st.none() | st.integers(-n - 1, n + 1)),
                               draw(st.none() | st.integers(1, 3))))
            dim += 1
        elif kind == "none":
            parts.append(None)
        elif kind == "list" and n:
            parts.append(draw(st.lists(st.integers(-n, n - 1), min_size=adv_len, max_size=adv_len)))
            dim += 1
        elif kind == "mask":
            parts.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool))
            dim += 1
        elif kind == "ellipsis" and not used_ellipsis:
            used_ellipsis = True
            parts.append(Ellipsis)
            break
    return tuple(parts)


def _to_torch_key(key):
    return tuple(torch.tensor(k) if isinstance(k, np.ndarray) else k for k in key)


def _to_rg_key(key):
    return tuple(retrograd.tensor(k) if isinstance(k, np.ndarray) else k for k in key)


def _mask_count(key):
    return sum(1 for k in key if isinstance(k, np.ndarray) or isinstance(k, list))


def _numpy_agrees(key):
    """NumPy counts ints as advanced indices; torch selects them first. They agree unless ints
    and index arrays are mixed."""
    has_int = any(isinstance(k, int) and not isinstance(k, bool) for k in key)
    return not (has_int and any(isinstance(k, (list, np.ndarray)) for k in key))


def _np_key(key):
    return tuple(np.array(k) if isinstance(k, list) else k for k in key)


def _reference(a, key):
    """torch's result (and its gradient function) when torch is installed, else NumPy's."""
    if torch is not None:
        t = torch.tensor(a, requires_grad=True)
        try:
            out = t[_to_torch_key(key)]
        except IndexError:
            return None
        return out
    if not _numpy_agrees(key):
        return None
    try:
        return a[_np_key(key)]
    except IndexError:
        return None


_cases = st.lists(st.integers(1, 4), min_size=1, max_size=3).flatmap(
    lambda s: st.tuples(st.just(tuple(s)), _key(tuple(s))))


@settings(max_examples=25, deadline=None)
@given(_cases)
def test_getitem_matches_torch_and_backward(case):
    shape, key = case
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    ref = _reference(a, key)
    if ref is None:
        return
    x = retrograd.tensor(a, requires_grad=True)
    y = x[_to_rg_key(key)]
    expect = ref.detach().numpy() if torch is not None else ref
    np.testing.assert_array_equal(y.detach().numpy(), expect)
    g = np.random.default_rng(0).standard_normal(expect.shape)
    y.backward(retrograd.tensor(g))
    if torch is not None:
        np.testing.assert_allclose(x.grad.numpy(), _torch_leaf_grad(a, key, g))
    else:
        want = np.zeros_like(a)
        np.add.at(want, _np_key(key), g)
        np.testing.assert_allclose(x.grad.numpy(), want)


def _torch_leaf_grad(a, key, g):
    t = torch.tensor(a, requires_grad=True)
    t[_to_torch_key(key)].backward(torch.tensor(g))
    return t.grad.numpy()


@settings(max_examples=25, deadline=None)
@given(_cases)
def test_setitem_matches_torch(case):
    shape, key = case
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    ref = _reference(a, key)
    if ref is None:
        return
    vals = np.random.default_rng(1).standard_normal(tuple(ref.shape))
    x = retrograd.tensor(a)
    x[_to_rg_key(key)] = retrograd.tensor(vals)
    if torch is not None:
        t = torch.tensor(a)
        t[_to_torch_key(key)] = torch.tensor(vals)
        expect = t.numpy()
    else:
        expect = a.copy()
        expect[_np_key(key)] = vals
    np.testing.assert_array_equal(x.numpy(), expect)


@requires_torch
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 1), st.data())
def test_gather_scatter_add_match_torch(n, m, dim, data):
    a = np.arange(n * m, dtype=np.float64).reshape(n, m)
    size = (n, m)
    ishape = tuple(data.draw(st.integers(1, s)) for s in size)
    idx = np.array(data.draw(st.lists(st.integers(0, size[dim] - 1), min_size=int(np.prod(ishape)),
                                      max_size=int(np.prod(ishape))))).reshape(ishape)
    src = np.ones(ishape)
    np.testing.assert_array_equal(
        retrograd.tensor(a).gather(dim, retrograd.tensor(idx)).numpy(),
        torch.tensor(a).gather(dim, torch.tensor(idx)).numpy())
    np.testing.assert_array_equal(
        retrograd.tensor(a).scatter_add(dim, retrograd.tensor(idx), retrograd.tensor(src)).numpy(),
        torch.tensor(a).scatter_add(dim, torch.tensor(idx), torch.tensor(src)).numpy())


@pytest.mark.parametrize("xshape,dim,ishape", [((3, 4), 1, (3, 0)), ((3, 4), 0, (0, 4)), ((3, 4), 1, (5, 0)),
                                               ((3, 4), 0, (0, 7)), ((2, 3, 4), 1, (2, 0, 9)), ((3, 4), 1, (2, 0, 3)),
                                               ((3, 0), 1, (3, 0)), ((4,), 0, (0,))])
def test_gather_and_scatter_with_an_empty_index_as_torch(xshape, dim, ishape):
    # torch checks no sizes (nor ranks, for gather) for an empty index: an empty result of the
    # index's shape whose gradient is zeros; scatter leaves the input as it is
    for t in (retrograd,) if torch is None else (retrograd, torch):
        x = t.ones(*xshape, requires_grad=True)
        index = t.zeros(*ishape, dtype=t.int64)
        y = t.gather(x, dim, index)
        assert tuple(y.shape) == ishape and y.dtype == x.dtype
        y.sum().backward()
        assert tuple(x.grad.shape) == xshape and not x.grad.numpy().any()
        if len(ishape) == len(xshape):
            src = t.ones(*ishape, requires_grad=True)
            for out in (x.scatter(dim, index, src), x.scatter_add(dim, index, src), x.scatter(dim, index, 2.0)):
                assert tuple(out.shape) == xshape and out.detach().numpy().tolist() == np.ones(xshape).tolist()


@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_scatter_reduce_extremes_without_self_in_bfloat16_and_bool(reduce):
    """include_self=False starts amax/amin from -+inf: bfloat16 has them (it raised 'Invalid
    integer data type'), bool stands them for by False/True (as torch)."""
    idx = retrograd.tensor([0, 1, 0])
    got = retrograd.zeros(4, dtype=retrograd.bfloat16).scatter_reduce(
        0, idx, retrograd.tensor([1.0, -2.0, 3.0], dtype=retrograd.bfloat16), reduce, include_self=False)
    assert got.tolist() == ([3.0, -2.0, 0.0, 0.0] if reduce == "amax" else [1.0, -2.0, 0.0, 0.0])
    flags = retrograd.zeros(3, dtype=retrograd.bool).scatter_reduce(
        0, retrograd.tensor([0, 0]), retrograd.tensor([True, False]), reduce, include_self=False)
    assert flags.tolist() == [reduce == "amax", False, False]


# ---------------------------------------------------------------------------- diagonal_scatter, combinations, unravel_index

@pytest.mark.parametrize("shape, src, args", [
    ((3, 4), (3,), ()), ((3, 4), (3,), (1,)), ((3, 4), (2,), (-1,)), ((2, 3, 3), (2, 3), (0, 1, 2)),
    ((2, 3, 4), (3, 2), (0, 0, 2)), ((3, 4), (1,), (3,))])
def test_diagonal_scatter(shape, src, args):
    check_op(lambda t, x, s: t.diagonal_scatter(x, s, *args), shape, src)
    check_op(lambda t, x, s: x.diagonal_scatter(s, *args), shape, src, gradgradcheck=False)


def test_diagonal_scatter_errors_and_dtype():
    t = retrograd
    with pytest.raises(RuntimeError, match=r"src size = \[2\], slice size = \[3\]"):
        t.diagonal_scatter(t.zeros(3, 4), t.ones(2))
    assert t.diagonal_scatter(t.zeros(2, 2), t.ones(2, dtype=t.long)).dtype == t.float32
    assert t.diagonal_scatter(t.zeros(2, 2, dtype=t.long), t.ones(2)).tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize("r, with_replacement", [(2, False), (3, False), (2, True), (1, False), (3, True)])
def test_combinations(r, with_replacement):
    check_op(lambda t, x: t.combinations(x, r, with_replacement), (4,))


def test_combinations_edges_and_errors():
    t = retrograd
    assert tuple(t.combinations(t.arange(4.0), 0).shape) == (0,)
    assert tuple(t.combinations(t.arange(4.0), 5).shape) == (0, 5)
    assert tuple(t.combinations(t.zeros(0), 2).shape) == (0, 2)
    assert t.combinations(t.tensor([1, 2, 3])).tolist() == [[1, 2], [1, 3], [2, 3]]
    with pytest.raises(RuntimeError, match="Expect a 1D vector, but got shape \\[2, 2\\]"):
        t.combinations(t.zeros(2, 2))
    with pytest.raises(RuntimeError, match="Expect a non-negative number, but got -1"):
        t.combinations(t.zeros(3), -1)


def test_unravel_index():
    t = retrograd
    rows, cols = t.unravel_index(t.tensor([4, 1, 5]), (2, 3))
    assert rows.tolist() == [1, 0, 1] and cols.tolist() == [1, 1, 2] and rows.dtype == t.int64
    assert [c.tolist() for c in t.unravel_index(t.tensor(4, dtype=t.int32), t.Size([2, 3]))] == [1, 1]
    assert [c.tolist() for c in t.unravel_index(t.tensor([[1, 5]]), (2, 3))] == [[[0, 1]], [[1, 2]]]
    assert [c.tolist() for c in t.unravel_index(t.tensor([6, -1, -7]), (2, 3))] == [[0, 1, 1], [0, 2, 2]]  # wraps
    assert [c.tolist() for c in t.unravel_index(t.tensor([3]), 6)] == [[3]]
    assert t.unravel_index(t.tensor([1]), ()) == ()
    assert isinstance(t.unravel_index(t.tensor([1]), (2, 3)), tuple)


@pytest.mark.parametrize("args, error, match", [
    ((4, (2, 3)), AttributeError, "'indices' must be a Tensor"),
    (("float", (2, 3)), TypeError, "expected 'indices' to be integer dtype, but got torch.float32"),
    (("bool", (2, 3)), TypeError, "expected 'indices' to be integer dtype, but got torch.bool"),
    (("int", (2, -3)), ValueError, "'shape' cannot have negative values, but got \\(2, -3\\)"),
    (("int", (2.0, 3)), TypeError, "expected 'shape' sequence to only contain ints"),
    (("int", (0, 3)), RuntimeError, "zero size"),
])
def test_unravel_index_errors(args, error, match):
    indices = {"float": retrograd.tensor([1.0]), "bool": retrograd.tensor([True]),
               "int": retrograd.tensor([1])}.get(args[0], args[0])
    with pytest.raises(error, match=match):
        retrograd.unravel_index(indices, args[1])
    if torch is not None:  # torch raises the same type
        with pytest.raises(error):
            torch.unravel_index(torch.tensor(indices.tolist()) if isinstance(indices, retrograd.Tensor)
                                else indices, args[1])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("value", [float("-inf"), 0.0, -0.0, 2.5])
def test_masked_fill_bitwise_as_copy_then_copyto(dtype, value):
    """Float masked_fill fills by bit masks (ops/_select.fill_where) and its backward is a fill
    of 0: the bits of x.copy(); copyto(out, value, where=mask), nan and -0 included, with a
    broadcast causal mask as attention uses it."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4, 4)).astype(dtype)
    x.flat[::5], x.flat[1::7] = -0.0, np.nan
    m = np.triu(np.ones((4, 4), bool), 1)[None, None]
    u = {2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize]
    want = x.copy()
    np.copyto(want, np.asarray(value, dtype), where=m)
    a = retrograd.tensor(x, requires_grad=True)
    out = a.masked_fill(retrograd.tensor(m), value)
    np.testing.assert_array_equal(out.detach().numpy().view(u), want.view(u))
    g = -np.abs(rng.standard_normal(x.shape)).astype(dtype)
    out.backward(retrograd.tensor(g))
    gwant = g.copy()
    np.copyto(gwant, dtype(0), where=m)
    np.testing.assert_array_equal(a.grad.numpy().view(u), gwant.view(u))


@pytest.mark.parametrize("shape, wrap", [((3, 3), False), ((5, 3), False), ((5, 3), True), ((7, 3), True),
                                         ((3, 5), True), ((2, 2, 2), False)])
def test_fill_diagonal_matches_torch(shape, wrap):
    check_op(lambda t, x: (x * 2).fill_diagonal_(0.5, wrap=wrap), shape)


def test_fill_diagonal_wraps_a_tall_matrix_and_casts_the_value():
    got = retrograd.zeros(5, 3).fill_diagonal_(1, wrap=True)
    expected = np.zeros((5, 3))
    expected[[0, 1, 2, 4], [0, 1, 2, 0]] = 1  # row 3 is the gap before the diagonal starts again
    np.testing.assert_array_equal(got.numpy(), expected)
    ints = retrograd.zeros(2, 2, dtype=retrograd.int64).fill_diagonal_(1.5)
    assert ints.dtype == retrograd.int64 and ints.tolist() == [[1, 0], [0, 1]]
    view = retrograd.zeros(4, 4)
    view[1:, 1:].fill_diagonal_(retrograd.tensor(3.0))  # through a view, into its base
    assert view.diagonal().tolist() == [0.0, 3.0, 3.0, 3.0] and view.sum().item() == 9.0


def test_fill_diagonal_refuses_a_vector_unequal_dimensions_and_a_leaf():
    with pytest.raises(RuntimeError, match="dimensions must larger than 1"):
        retrograd.zeros(3).fill_diagonal_(1)
    with pytest.raises(RuntimeError, match="all dimensions of input must be of equal length"):
        retrograd.zeros(2, 3, 2).fill_diagonal_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        retrograd.zeros(2, 2, requires_grad=True).fill_diagonal_(1)


@pytest.mark.parametrize("fn", [
    lambda r: r.zeros(2).scatter(0, r.tensor([0]), r.tensor([1])),
    lambda r: r.zeros(2, dtype=r.int8).scatter_add(0, r.tensor([0]), r.tensor([1.0], dtype=r.float16)),
    lambda r: r.zeros(2).index_add(0, r.tensor([0]), r.tensor([1])),
    lambda r: r.zeros(2).index_copy(0, r.tensor([0]), r.tensor([1])),
], ids=["scatter", "scatter_add", "index_add", "index_copy"])
def test_writes_of_another_dtype_raise_as_torch(fn):
    """torch refuses a source of another dtype than self's (retrograd cast it silently)."""
    with pytest.raises(RuntimeError, match="dtype|scalar type"):
        fn(retrograd)


@pytest.mark.parametrize("dtype,value,want", [
    ("uint8", -1, 255), ("uint8", 127.9, 127), ("int8", -0.5, 0), ("uint8", -1.5, RuntimeError),
    ("uint8", 256, RuntimeError), ("int8", 127.9, RuntimeError), ("int8", 300, RuntimeError),
    ("int16", float("nan"), RuntimeError)])
def test_numbers_written_into_integer_tensors_convert_as_torch(dtype, value, want):
    """x[k] = number: an int wraps for unsigned types only within +-max, a float must lie in the
    type's range (it raised NumPy's OverflowError or wrote a wrapped value)."""
    x = retrograd.zeros(2, dtype=getattr(retrograd, dtype))
    if want is RuntimeError:
        with pytest.raises(RuntimeError, match="without overflow"):
            x[0] = value
        return
    x[0] = value
    x[retrograd.tensor([1])] = value
    assert x.tolist() == [want, want]


def test_a_mask_of_another_shape_raises_as_torch():
    """NumPy lets a size-0 mask index a size-1 dim (selecting nothing); torch raises."""
    for fn in (lambda: retrograd.zeros(1)[retrograd.zeros(0, dtype=retrograd.bool)],
               lambda: retrograd.zeros(2, 1)[..., retrograd.zeros(0, dtype=retrograd.bool)]):
        with pytest.raises(IndexError, match="The shape of the mask \\[0\\] at index 0"):
            fn()
    x = retrograd.zeros(1)
    with pytest.raises(IndexError, match="shape of the mask"):
        x[retrograd.zeros(0, dtype=retrograd.bool)] = 1.0
    assert retrograd.zeros(2, 3)[1, retrograd.ones(3, dtype=retrograd.bool)].shape == (3,)


def test_masked_fill_converts_a_number_as_torch():
    x = retrograd.tensor([1], dtype=retrograd.uint8)
    for v in (-0.5, 300):
        with pytest.raises(RuntimeError, match="without overflow"):  # it wrote 0 and 44
            x.masked_fill(retrograd.tensor(True), v)
    assert x.masked_fill(retrograd.tensor(True), -1).tolist() == [255]


def _assigned(x, key, value):
    x[key] = value
    return x


EMPTY_BOUNDS = {  # name -> fn(t, bad): out-of-range indices where a tensor or the result is empty
    "getitem_dim1_of_empty": lambda t, bad: t.zeros(0, 3)[:, bad],
    "getitem_list_dim1_of_empty": lambda t, bad: t.zeros(0, 3)[:, [5, -9]],
    "getitem_two_arrays": lambda t, bad: t.zeros(0, 3, 2)[:, bad, bad],
    "getitem_of_3x0": lambda t, bad: t.zeros(3, 0)[bad],
    "getitem_of_2x3x0": lambda t, bad: t.zeros(2, 3, 0)[:, bad],
    "getitem_empty_slice": lambda t, bad: t.zeros(2, 3)[bad, 0:0],
    "getitem_ellipsis": lambda t, bad: t.zeros(0, 3)[..., bad],
    "getitem_into_size_0_dim": lambda t, bad: t.zeros(0, 3)[bad],
    "getitem_into_0x0": lambda t, bad: t.zeros(0, 0)[bad],
    "getitem_int_of_empty": lambda t, bad: t.zeros(0, 3)[:, 5],
    "setitem_dim1_of_empty": lambda t, bad: _assigned(t.zeros(0, 3), (slice(None), bad), 1.0),
    "setitem_of_3x0": lambda t, bad: _assigned(t.zeros(3, 0), bad, 1.0),
    "setitem_into_size_0_dim": lambda t, bad: _assigned(t.zeros(0, 3), bad, 1.0),
    "index_add_empty": lambda t, bad: t.zeros(0, 3).index_add(0, bad, t.zeros(1, 3)),
    "index_add_2x0": lambda t, bad: t.zeros(2, 0).index_add(1, bad, t.zeros(2, 1)),
    "index_add_empty_source": lambda t, bad: t.zeros(0, 3).index_add(1, bad, t.zeros(0, 1)),
    "index_add_1d_empty": lambda t, bad: t.zeros(0).index_add(0, bad, t.zeros(1)),
    "index_add_2d": lambda t, bad: t.zeros(2, 3).index_add(0, bad, t.zeros(1, 3)),
    "index_add_1d": lambda t, bad: t.zeros(3).index_add(0, bad, t.zeros(1)),
    "index_copy_empty": lambda t, bad: t.zeros(0, 3).index_copy(1, bad, t.zeros(0, 1)),
    "index_copy_size_0_dim": lambda t, bad: t.zeros(2, 0).index_copy(1, bad, t.zeros(2, 1)),
    "index_fill_empty": lambda t, bad: t.zeros(0, 3).index_fill(1, bad, 1.0),
    "index_fill_2x0": lambda t, bad: t.zeros(2, 0).index_fill(0, bad, 1.0),
    "index_fill_size_0_dim": lambda t, bad: t.zeros(0).index_fill(0, bad, 1.0),
    "index_fill_negative": lambda t, bad: t.zeros(2, 3).index_fill(1, -bad + 4, 1.0),
    "index_select_of_empty": lambda t, bad: t.zeros(0, 3).index_select(1, bad),
    "gather_of_empty": lambda t, bad: t.zeros(0, 3).gather(0, bad.reshape(1, 1)),
    "take_of_empty": lambda t, bad: t.zeros(0, 3).take(bad),
    "embedding_of_empty_weight": lambda t, bad: t.nn.functional.embedding(bad, t.zeros(0, 3)),
    "embedding_of_3x0_weight": lambda t, bad: t.nn.functional.embedding(bad, t.zeros(3, 0)),
    "embedding": lambda t, bad: t.nn.functional.embedding(bad, t.zeros(3, 2)),
    "embedding_bag": lambda t, bad: t.nn.functional.embedding_bag(bad.reshape(1, 1), t.zeros(3, 2)),
}


@pytest.mark.parametrize("name", sorted(EMPTY_BOUNDS))
def test_out_of_range_indices_where_a_tensor_is_empty_as_torch(name):
    """torch checks index tensors only where there is something to read or write: an empty
    result (zeros(0, 3)[:, [5]]), an empty index_add/index_copy/index_fill input, return
    without a check; an index into a dim of size 0 raises; index_fill counts negative indices
    from the end; the exception types follow torch's kernels (RuntimeError for 2-D index_add
    and embedding_bag, IndexError for 1-D)."""
    def run(t):
        try:
            y = EMPTY_BOUNDS[name](t, t.tensor([5]))
            return ["shape", list(y.shape), y.sum().item()]
        except Exception as e:  # noqa: BLE001 (the type is what is compared)
            return ["raises", type(e).__name__]

    assert run(retrograd) == reference(lambda: run(torch), inputs=[name])


def test_an_empty_result_of_out_of_range_indices_keeps_its_gradient():
    x = retrograd.zeros(2, 3, requires_grad=True)
    y = x[retrograd.tensor([5]), 0:0]
    assert tuple(y.shape) == (1, 0) and y.grad_fn.name() == "IndexBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2


def _index_dtype_answers(lib):
    """For each index op and index dtype: 'ok' or the exception type's name."""
    x = lib.ones(3)
    ops = {"index_select": lambda i: x.index_select(0, i),
           "index_add": lambda i: lib.index_add(x, 0, i, lib.ones(1)),
           "index_copy": lambda i: x.clone().index_copy_(0, i, lib.ones(1)),
           "index_fill": lambda i: x.clone().index_fill_(0, i, 1.0),
           "take": lambda i: x.take(i), "put": lambda i: x.clone().put_(i, lib.ones(1))}
    found = {}
    for name, op in ops.items():
        for dt in ("int64", "int32", "int16", "uint8", "float32", "bool"):
            try:
                op(lib.tensor([0], dtype=getattr(lib, dt)))
                found[f"{name} {dt}"] = "ok"
            except Exception as e:  # noqa: BLE001 - the type is the answer
                found[f"{name} {dt}"] = type(e).__name__
    return found


_INT32_OR_64 = {"int64": "ok", "int32": "ok", "int16": "RuntimeError", "uint8": "RuntimeError",
                "float32": "RuntimeError", "bool": "RuntimeError"}
_INT64 = dict(_INT32_OR_64, int32="RuntimeError")
INDEX_DTYPE_ANSWERS = {f"{op} {dt}": answer for op, table in [
    ("index_select", _INT32_OR_64), ("index_add", _INT32_OR_64), ("index_copy", _INT64),
    ("index_fill", {dt: "ok" if a == "ok" else "IndexError" for dt, a in _INT64.items()}),
    ("take", _INT64), ("put", _INT64)] for dt, answer in table.items()}  # torch 2.13's


def test_index_ops_take_torchs_index_dtypes_and_raise_its_errors():
    """A float index raised IndexError everywhere (torch: RuntimeError but for index_fill), and int16,
    uint8 (and int32 where torch wants int64) indices were taken."""
    assert _index_dtype_answers(retrograd) == INDEX_DTYPE_ANSWERS


@requires_torch
def test_the_recorded_index_dtype_answers_are_torchs():
    assert _index_dtype_answers(torch) == INDEX_DTYPE_ANSWERS
