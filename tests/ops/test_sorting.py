"""Sorting and searching: values differentiable through the indices (gradcheck + gradgradcheck +
torch), indices int64, torch's return types."""

import numpy as np
import pytest
from tests.properties import given, settings, st

import retrograd
from tests.helpers import check_op, reference, requires_torch, torch

# distinct values so that finite differences do not cross ties
DISTINCT = np.random.default_rng(1).permutation(12).reshape(3, 4).astype(np.float64) / 7


CASES = [
    ("sort", lambda t, x: t.sort(x), DISTINCT),
    ("sort_dim0_desc", lambda t, x: t.sort(x, 0, descending=True), DISTINCT),
    ("sort_stable_kw", lambda t, x: x.sort(dim=-1, stable=True), DISTINCT),
    ("sort_0dim", lambda t, x: t.sort(x), np.array(0.5)),
    ("sort_empty", lambda t, x: t.sort(x, 0), np.zeros((0, 3))),
    ("argsort", lambda t, x: x[0] * 0 + t.argsort(x, 1, descending=True), DISTINCT),
    ("msort", lambda t, x: t.msort(x), DISTINCT),
    ("topk", lambda t, x: t.topk(x, 2), DISTINCT),
    ("topk_smallest_dim0", lambda t, x: x.topk(2, 0, largest=False), DISTINCT),
    ("topk_k0", lambda t, x: x.topk(0), DISTINCT),
    ("kthvalue", lambda t, x: t.kthvalue(x, 3), DISTINCT),
    ("kthvalue_keepdim", lambda t, x: x.kthvalue(2, 0, keepdim=True), DISTINCT),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_sorting_op(case):
    _, fn, *specs = case
    check_op(fn, *specs)


def test_return_types_and_dtypes():
    x = retrograd.tensor([[3.0, 1.0, 2.0]])
    out = retrograd.sort(x)
    assert type(out).__name__ == "sort" and out.indices.dtype == retrograd.int64
    values, indices = out
    assert values.tolist() == [[1, 2, 3]] and indices.tolist() == [[1, 2, 0]]
    assert retrograd.topk(x, 1).values.tolist() == [[3.0]]
    assert type(retrograd.kthvalue(x, 1)).__name__ == "kthvalue"
    assert "torch.return_types.sort(" in repr(out)


def test_sort_ties_gradient_goes_to_each_position():
    x = retrograd.tensor([2.0, 1.0, 2.0], requires_grad=True)
    v, _ = x.sort()
    (v * retrograd.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [2.0, 1.0, 3.0]


def test_nan_sorts_largest_like_torch():
    a = np.array([[3.0, np.nan, 1.0, 1.0], [np.nan, 2.0, -np.inf, np.inf]])
    for desc in (False, True):
        ours = retrograd.sort(retrograd.tensor(a), descending=desc)
        values, indices = reference(
            lambda: [r.numpy() for r in torch.sort(torch.tensor(a), descending=desc, stable=True)], inputs=[a])
        np.testing.assert_array_equal(ours.values.numpy(), values)
        np.testing.assert_array_equal(ours.indices.numpy(), indices)
    np.testing.assert_array_equal(retrograd.topk(retrograd.tensor(a), 2).values.numpy(),
                                  reference(lambda: torch.topk(torch.tensor(a), 2).values.numpy(), inputs=[a]))


@pytest.mark.parametrize("kw", [{}, {"return_inverse": True}, {"return_counts": True},
                                {"return_inverse": True, "return_counts": True},
                                {"dim": 0, "return_inverse": True, "return_counts": True},
                                {"dim": 1, "return_counts": True}])
@pytest.mark.parametrize("fn", ["unique", "unique_consecutive"])
def test_unique_matches_torch(fn, kw):
    a = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [0, 3, 3, 0], [1, 1, 2, 2]])

    def run(mod):
        out = getattr(mod, fn)(mod.tensor(a), **kw)
        return [(str(o.dtype), o.numpy()) for o in (out if isinstance(out, tuple) else (out,))]

    ours, theirs = run(retrograd), reference(lambda: run(torch), inputs=[a])
    assert len(ours) == len(theirs)
    for (dtype, o), (expected_dtype, t) in zip(ours, theirs):
        assert dtype == expected_dtype
        np.testing.assert_array_equal(o, t)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_bucketize_match_torch(right):
    seq = np.array([1.0, 3.0, 3.0, 5.0, 7.0])
    vals = np.array([[0.0, 3.0], [5.0, 9.0]])
    seq2 = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])

    def run(mod):
        return ([mod.searchsorted(mod.tensor(s), mod.tensor(vals), right=right).numpy() for s in (seq, seq2)]
                + [mod.bucketize(mod.tensor(vals), mod.tensor(seq), right=right).numpy()])

    for ours, theirs in zip(run(retrograd), reference(lambda: run(torch), inputs=[seq, vals, seq2]), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert retrograd.searchsorted(retrograd.tensor(seq), 3.0, side="right").item() == 3
    assert retrograd.searchsorted(retrograd.tensor(seq), retrograd.tensor([3.0]), out_int32=True).dtype \
        == retrograd.int32


@pytest.mark.parametrize("fn", [
    lambda t: t.topk(t.zeros(3), 4),
    lambda t: t.kthvalue(t.zeros(3), 0),
    lambda t: t.sort(t.zeros(3), 1),
    lambda t: t.searchsorted(t.zeros(2, 3), t.zeros(3, 1)),
    lambda t: t.bucketize(t.zeros(2), t.zeros(2, 2)),
])
def test_sorting_errors(fn):
    with pytest.raises((RuntimeError, IndexError)):
        fn(retrograd)


@requires_torch
@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=8), st.booleans())
def test_sort_property_matches_torch(values, descending):
    a = np.array(values, dtype=np.float64)
    ours = retrograd.sort(retrograd.tensor(a), descending=descending)
    theirs = torch.sort(torch.tensor(a), descending=descending, stable=True)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(retrograd.unique(retrograd.tensor(a)).numpy(), torch.unique(torch.tensor(a)).numpy())


def test_sort_of_a_0d_tensor_checks_dim_as_torch():
    x = retrograd.tensor(1.0)
    for fn in (lambda: retrograd.sort(x, dim=1), lambda: retrograd.argsort(x, dim=-2)):
        with pytest.raises(IndexError, match="Dimension out of range"):
            fn()
    assert retrograd.sort(x, dim=-1)[0].item() == 1.0


@pytest.mark.parametrize("op", ["kthvalue", "topk", "sort", "median", "nanmedian", "mode", "msort"])
def test_bool_inputs_of_the_selection_ops_as_torch(op):
    """torch's CPU kthvalue (NotImplementedError) and topk (RuntimeError) refuse bool tensors;
    sort, mode and msort take them."""
    def run(t):
        x = t.tensor([True, False, True, True])
        fn = {"kthvalue": lambda: t.kthvalue(x, 2).values, "topk": lambda: x.topk(2).values,
              "sort": lambda: x.sort().values, "median": lambda: x.median(), "nanmedian": lambda: t.nanmedian(x),
              "mode": lambda: x.mode().values, "msort": lambda: t.msort(x)}[op]
        try:
            y = fn()
            return [str(y.dtype), y.tolist()]
        except Exception as e:  # noqa: BLE001 (the type is what is compared)
            return [type(e).__name__]

    assert run(retrograd) == reference(lambda: run(torch), inputs=[op])
