"""histc, bincount, diff, one_hot: values, dtypes and errors as torch; diff gradchecked."""

import numpy as np
import pytest

import retrograd
from retrograd.ops.counting import one_hot as rg_one_hot
from tests.helpers import check_op, reference, torch

DIFF_CASES = [
    ("diff", lambda t, x: t.diff(x), (5,)),
    ("diff_n2_dim0", lambda t, x: t.diff(x, n=2, dim=0), (4, 3)),
    ("diff_neg_dim", lambda t, x: x.diff(dim=-2), (3, 2)),
    ("diff_prepend_append", lambda t, x, p, a: t.diff(x, prepend=p, append=a), (2, 3), (2, 1), (2, 2)),
    ("diff_n0", lambda t, x: t.diff(x, n=0), (3,)),
    ("diff_too_many", lambda t, x: t.diff(x, n=4), (3,)),
    ("diff_empty", lambda t, x: t.diff(x), (2, 0)),
]


@pytest.mark.parametrize("case", DIFF_CASES, ids=[c[0] for c in DIFF_CASES])
def test_diff(case):
    _, fn, *shapes = case
    check_op(fn, *shapes)


def _dtype_and_values(out):
    return str(out.dtype), out.numpy()


@pytest.mark.parametrize("fn", [
    lambda t: t.histc(t.tensor([1.0, 2.0, 1.0, 4.0, -3.0]), bins=4, min=0, max=3),
    lambda t: t.histc(t.tensor([1.0, 2.0, 1.0, 4.0, -3.0]), bins=5),
    lambda t: t.histc(t.tensor([1.0, 1.0]), bins=4),
    lambda t: t.histc(t.tensor([], dtype=t.float64), bins=3),
    lambda t: t.tensor([0.5, 0.25, 3.0]).histc(3, 0, 1),
    lambda t: t.bincount(t.tensor([0, 2, 2, 5])),
    lambda t: t.bincount(t.tensor([0, 2, 2]), minlength=5),
    lambda t: t.bincount(t.tensor([], dtype=t.int64)),
    lambda t: t.bincount(t.tensor([0, 2, 2]), weights=t.tensor([0.5, 1.0, 2.0])),
    lambda t: t.bincount(t.tensor([0, 2, 2]), weights=t.tensor([1, 1, 2])),
    lambda t: t.tensor([1, 1, 0]).bincount(),
    lambda t: t.diff(t.tensor([True, False, False, True])),
    lambda t: t.diff(t.tensor([1, 4, 9, 16]), n=2),
    lambda t: (rg_one_hot if t is retrograd else t.nn.functional.one_hot)(t.tensor([[0, 2], [1, 1]])),
    lambda t: (rg_one_hot if t is retrograd else t.nn.functional.one_hot)(t.tensor([0, 2]), 5),
    lambda t: (rg_one_hot if t is retrograd else t.nn.functional.one_hot)(t.tensor(1), 3),
])
def test_counting_matches_torch(fn):
    (dtype, ours), (expected_dtype, theirs) = _dtype_and_values(fn(retrograd)), reference(
        lambda: _dtype_and_values(fn(torch)))
    assert dtype == expected_dtype
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("fn,exc", [
    (lambda t: t.bincount(t.tensor([-1, 2])), RuntimeError),
    (lambda t: t.bincount(t.tensor([[1, 2]])), RuntimeError),
    (lambda t: t.bincount(t.tensor([1.0])), RuntimeError),
    (lambda t: t.histc(t.tensor([1, 2]), bins=3), NotImplementedError),
    (lambda t: t.diff(t.tensor(1.0)), RuntimeError),
    (lambda t: rg_one_hot(t.tensor([1, 5]), 3), RuntimeError),
    (lambda t: rg_one_hot(t.tensor([-1]), 3), RuntimeError),
    (lambda t: rg_one_hot(t.tensor([1, 2], dtype=t.int32)), RuntimeError),
    (lambda t: rg_one_hot(t.tensor([], dtype=t.int64)), RuntimeError),
])
def test_counting_errors(fn, exc):
    with pytest.raises(exc):
        fn(retrograd)


def test_histc_not_differentiable():
    x = retrograd.tensor([1.0, 2.0], requires_grad=True)
    assert not retrograd.histc(x, bins=3).requires_grad
