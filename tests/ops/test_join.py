"""cat/stack/split family: gradcheck + gradgradcheck + torch comparison, one line per op."""

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, requires_torch, torch

CASES = [
    ("cat", lambda t, x, y: t.cat([x, y]), (2, 3), (1, 3)),
    ("cat_neg", lambda t, x, y: t.cat((x, y), dim=-1), (2, 3), (2, 1)),
    ("cat_empty_piece", lambda t, x, y: t.cat([x, y], 0), (2, 3), (0, 3)),
    ("cat_legacy_empty", lambda t, x, y: t.cat([x, y], 1), (2, 3), (0,)),
    ("concat", lambda t, x, y: t.concat([x, y], 1), (2, 3), (2, 2)),
    ("concatenate", lambda t, x, y: t.concatenate([x, y], 0), (2,), (3,)),
    ("stack", lambda t, x, y: t.stack([x, y]), (2, 3), (2, 3)),
    ("stack_neg", lambda t, x, y: t.stack([x, y], -1), (2, 3), (2, 3)),
    ("stack_0dim", lambda t, x, y: t.stack([x, y]), (), ()),
    ("stack_middle", lambda t, x, y, z: t.stack([x, y, z], 1), (2, 3), (2, 3), (2, 3)),
    ("stack_last", lambda t, x, y: t.stack([x, y], 2), (2, 3), (2, 3)),
    ("stack_fixed_piece", lambda t, x, y: t.stack([x, y], 1), (2, 3), np.ones((2, 3))),
    ("cat_fixed_piece", lambda t, x, y: t.cat([y, x], 1), (2, 3), np.ones((2, 2))),
    ("hstack", lambda t, x, y: t.hstack([x, y]), (2, 3), (2, 1)),
    ("hstack_1d", lambda t, x, y: t.hstack([x, y]), (2,), ()),
    ("vstack", lambda t, x, y: t.vstack([x, y]), (3,), (2, 3)),
    ("dstack", lambda t, x, y: t.dstack([x, y]), (3,), (1, 3)),
    ("column_stack", lambda t, x, y: t.column_stack([x, y]), (3,), (3, 2)),
    ("split", lambda t, x: t.split(x, 2), (5, 2)),
    ("split_sizes", lambda t, x: t.split(x, [1, 3], dim=-1), (2, 4)),
    ("split_method", lambda t, x: x.split(1, 1), (2, 3)),
    ("chunk", lambda t, x: t.chunk(x, 3), (5, 2)),
    ("chunk_dim", lambda t, x: x.chunk(2, -1), (2, 4)),
    ("unbind", lambda t, x: t.unbind(x, 1), (2, 3)),
    ("unbind_method", lambda t, x: x.unbind(), (3, 2)),
    ("tensor_split", lambda t, x: t.tensor_split(x, 3), (7,)),
    ("tensor_split_idx", lambda t, x: t.tensor_split(x, [1, 5, -1], dim=1), (2, 6)),
    ("tensor_split_unsorted", lambda t, x: t.tensor_split(x, [3, 1]), (5, 2)),
    ("hsplit", lambda t, x: t.hsplit(x, 2), (2, 4)),
    ("vsplit", lambda t, x: t.vsplit(x, [1]), (3, 2)),
    ("dsplit", lambda t, x: t.dsplit(x, 2), (1, 2, 4)),
    ("meshgrid_ij", lambda t, x, y: t.meshgrid(x, y, indexing="ij"), (3,), (2,)),
    ("meshgrid_xy", lambda t, x, y: t.meshgrid(x, y, indexing="xy"), (3,), (2,)),
    ("split_sum", lambda t, x: sum(p.sum() * i for i, p in enumerate(x.split(2))), (5, 2)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_join_op(case):
    _, fn, *shapes = case
    check_op(fn, *shapes)


def test_split_returns_tuple_of_views():
    x = retrograd.arange(6.0).reshape(3, 2)
    parts = x.split(2)
    assert isinstance(parts, tuple) and [p.shape for p in parts] == [(2, 2), (1, 2)]
    assert all(np.shares_memory(p._data, x._data) for p in parts)
    assert retrograd.unbind(retrograd.zeros(0, 2)) == ()


def test_inplace_on_split_piece_updates_base_graph():
    a = retrograd.ones(4, 2, requires_grad=True)
    y = a * 1
    first, second = y.split(2)
    first.mul_(5)
    (y * retrograd.arange(1.0, 5.0).reshape(4, 1)).sum().backward()
    assert a.grad[:, 0].tolist() == [5, 10, 3, 4]


def test_stack_promotes_dtype_and_gives_each_piece_its_slice():
    a = retrograd.tensor([[1.0, 2.0]], requires_grad=True)
    b = retrograd.tensor([[3, 4]])
    c = retrograd.tensor([[5.0, 6.0]], dtype=retrograd.float64, requires_grad=True)
    out = retrograd.stack([a, b, c], 1)
    assert out.dtype == retrograd.float64 and out.tolist() == [[[1, 2], [3, 4], [5, 6]]]
    out.backward(retrograd.arange(6.0, dtype=retrograd.float64).reshape(1, 3, 2))
    assert a.grad.tolist() == [[0, 1]] and a.grad.dtype == retrograd.float32
    assert b.grad is None and c.grad.tolist() == [[4, 5]]


def test_cat_promotes_dtype():
    out = retrograd.cat([retrograd.tensor([1, 2]), retrograd.tensor([0.5])])
    assert out.dtype == retrograd.float32 and out.tolist() == [1, 2, 0.5]


@pytest.mark.parametrize("fn,exc", [
    (lambda t: t.cat([]), ValueError),  # torch 2.13's type
    (lambda t: t.cat([t.zeros(2, 3), t.zeros(2, 4)]), RuntimeError),
    (lambda t: t.cat([t.zeros(2, 3), t.zeros(2)]), RuntimeError),
    (lambda t: t.cat([t.zeros(2, 3), t.zeros(2, 3)], 2), IndexError),
    (lambda t: t.stack([t.zeros(2), t.zeros(3)]), RuntimeError),
    (lambda t: t.split(t.zeros(4), [1, 2]), RuntimeError),
    (lambda t: t.chunk(t.zeros(4), 0), RuntimeError),
    (lambda t: t.cat(t.zeros(2)), TypeError),
])
def test_join_errors(fn, exc):
    with pytest.raises(exc):
        fn(retrograd)


@requires_torch
@pytest.mark.parametrize("n,chunks", [(5, 3), (6, 4), (1, 3), (0, 2), (7, 7)])
def test_chunk_counts_match_torch(n, chunks):
    ours = [p.shape[0] for p in retrograd.zeros(n).chunk(chunks)]
    theirs = [p.shape[0] for p in torch.zeros(n).chunk(chunks)]
    assert ours == theirs
    assert ([p.shape[0] for p in retrograd.zeros(n).tensor_split(chunks)]
            == [p.shape[0] for p in torch.zeros(n).tensor_split(chunks)])


def test_split_with_sizes_and_the_unsafe_splits():
    check_op(lambda t, x: t.split_with_sizes(x, [1, 3], dim=1), (2, 4))
    check_op(lambda t, x: x.split_with_sizes([2, 1]), (3, 2))
    check_op(lambda t, x: t.unsafe_split(x, 2, 1), (2, 5))
    check_op(lambda t, x: t.unsafe_chunk(x, 2), (5, 2))
    check_op(lambda t, x: t.unsafe_split_with_sizes(x, [3, 2]), (5,))
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 5"):
        retrograd.split_with_sizes(retrograd.arange(5), [2, 2])
    with pytest.raises(TypeError, match="must be a sequence of ints"):
        retrograd.split_with_sizes(retrograd.arange(5), 2)


def test_cat_of_only_empty_1d_tensors_checks_no_dim_as_torch():
    """torch skips 1-D empty tensors in cat, so a list of only those takes any dim and gives an
    empty (0,) tensor of the promoted dtype (it raised IndexError for dim=1)."""
    for dim in (1, -2, 5):
        got = retrograd.cat([retrograd.zeros(0), retrograd.zeros(0, dtype=retrograd.int64)], dim=dim)
        assert got.shape == (0,) and got.dtype == retrograd.float32
    with pytest.raises(IndexError):  # a tensor that is not skipped has its dims checked
        retrograd.cat([retrograd.zeros(1, 0), retrograd.zeros(0)], dim=2)


def test_cat_checks_0d_tensors_before_dim_as_torch():
    with pytest.raises(RuntimeError, match="zero-dimensional tensor \\(at position 1\\)"):
        retrograd.cat([retrograd.tensor([1.0]), retrograd.tensor(2.0)], dim=3)


def test_stack_checks_dim_before_sizes_as_torch():
    with pytest.raises(IndexError, match="Dimension out of range"):
        retrograd.stack([retrograd.tensor([1.0]), retrograd.tensor([1.0, 2.0])], dim=-3)


def test_meshgrid_without_indexing_warns_once_as_torch(monkeypatch):
    """torch will require indexing=; until then it warns (once per process) and takes 'ij'."""
    import warnings

    monkeypatch.setattr("retrograd._warn_once._seen", set())
    with pytest.warns(UserWarning, match="torch.meshgrid: in an upcoming release, it will be required to pass the "
                                         "indexing argument."):
        a, b = retrograd.meshgrid(retrograd.arange(2), retrograd.arange(3))
    assert a.shape == (2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        retrograd.meshgrid(retrograd.arange(2), retrograd.arange(3))  # (once)
        retrograd.meshgrid(retrograd.arange(2), retrograd.arange(3), indexing="xy")
