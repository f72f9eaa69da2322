"""histc, bincount, diff, one_hot: values, dtypes and errors as torch; diff gradchecked."""

import inspect

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
    lambda t: t.bincount(t.tensor([0, 2, 2]), weights=t.tensor([0.5, 1.0, 2.0], dtype=t.float16)),  # float64
    lambda t: t.bincount(t.tensor([0, 2, 2]), weights=t.tensor([True, False, True])),
    lambda t: t.bincount(t.tensor([], dtype=t.int64), weights=t.tensor([]), minlength=3),  # int64, as torch
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
    (lambda t: t.bincount(t.tensor([1.0])), NotImplementedError),  # torch's kernel has no float version
    (lambda t: t.bincount(t.tensor([True, False])), NotImplementedError),
    (lambda t: t.histc(t.tensor([1, 2]), bins=3), NotImplementedError),
    (lambda t: t.diff(t.tensor(1.0)), RuntimeError),
    (lambda t: rg_one_hot(t.tensor([1, 5]), 3), RuntimeError),
    (lambda t: rg_one_hot(t.tensor([-1]), 3), RuntimeError),
    (lambda t: rg_one_hot(t.tensor([1, 2], dtype=t.int32)), RuntimeError),
    (lambda t: rg_one_hot(t.tensor([], dtype=t.int64)), RuntimeError),
])
def test_counting_errors(fn, exc):
    for lib in [retrograd] + ([torch] if torch is not None and "one_hot" not in str(fn.__code__.co_names) else []):
        with pytest.raises(exc):
            fn(lib)


def test_histc_not_differentiable():
    x = retrograd.tensor([1.0, 2.0], requires_grad=True)
    assert not retrograd.histc(x, bins=3).requires_grad


def test_bincount_with_weights_recorded_without_derivative_as_torch():
    """torch records bincount of weights that require grad without a derivative: the result requires
    grad and backward raises."""
    w = retrograd.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = retrograd.bincount(retrograd.tensor([0, 1, 1]), weights=w)
    assert out.requires_grad and out.tolist() == [1.0, 5.0]
    with pytest.raises(RuntimeError, match="derivative for aten::bincount is not implemented"):
        out.sum().backward()


def _histogram(out):
    return [[str(o.dtype), o.detach().numpy()] for o in out]


def _rand(n, dtype="float32", seed=0):
    return np.random.default_rng(seed).normal(size=n).astype(dtype)


HISTOGRAMS = [
    lambda t: t.histogram(t.tensor([1.0, 2, 1]), bins=4, range=(0.0, 3.0), weight=t.tensor([1.0, 2.0, 4.0])),
    lambda t: t.histogram(t.tensor([1.0, 2, 1]), bins=4, range=(0.0, 3.0), weight=t.tensor([1.0, 2.0, 4.0]),
                          density=True),
    lambda t: t.histogram(t.tensor(_rand(500))),  # bins=100 over the data's range: torch's linspace edges
    lambda t: t.histogram(t.tensor(_rand(300, "float64")), 37, density=True),
    lambda t: t.histogram(t.tensor(np.round(_rand(200, seed=1) * 4) / 4), 16, range=(-2, 2)),  # values on edges
    lambda t: t.histogram(t.tensor(_rand((4, 5), seed=2)), 6, weight=t.tensor(_rand((4, 5), seed=3))),
    lambda t: t.histogram(t.tensor([0.0, 0.1, 0.2, 0.3, 0.7, 1.0]), 10, range=(0, 1.0)),
    lambda t: t.histogram(t.tensor([1.0, 1, 1]), 3),  # an empty range widens to [x - 0.5, x + 0.5]
    lambda t: t.histogram(t.tensor([]), 3),  # [0, 1]
    lambda t: t.histogram(t.tensor(1.5), 3),
    lambda t: t.histogram(t.tensor([1.0, float("inf"), float("nan"), 1]), 3, range=(0.0, 2.0)),  # left out
    lambda t: t.histogram(t.tensor([1.0, 2, 1]), t.tensor([0.0, 1.5, 2.5])),  # the edges given
    lambda t: t.histogram(t.tensor(_rand(100)), t.tensor([-3.0, -1, -0.5, 0, 2]), density=True),
    lambda t: t.histogram(t.tensor([1.0, 2, 1]), t.tensor([0.0, 1.5, 1.0])),  # not increasing: torch's search
    lambda t: t.histogram(t.tensor(_rand(50)), t.tensor(_rand(9, seed=4))),
    lambda t: t.tensor([1.0, 2, 1]).histogram(bins=t.tensor([0.0, 1, 2])),
    lambda t: t.tensor(_rand(30, "float64")).histogram(5, range=[-1, 1]),
]


@pytest.mark.parametrize("i", range(len(HISTOGRAMS)))
def test_histogram_like_torch(i):
    """hist and bin_edges bit for bit (edges as torch's linspace), dtypes."""
    fn = HISTOGRAMS[i]
    out = fn(retrograd)
    assert type(out).__name__ == "histogram" and out._fields == ("hist", "bin_edges")
    want = reference(lambda: _histogram(fn(torch)), inputs=[inspect.getsource(fn)])
    for (dtype, ours), (want_dtype, theirs) in zip(_histogram(out), want):
        assert dtype == want_dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=0)


@pytest.mark.parametrize("fn,exc,match", [
    (lambda t: t.histogram(t.tensor([1.0]), 0), RuntimeError, "bins must be > 0"),
    (lambda t: t.histogram(t.tensor([1.0]), t.tensor([0.0])), RuntimeError, "bins must be > 0"),
    (lambda t: t.histogram(t.tensor([1.0]), t.tensor([])), RuntimeError, "at least 1 element"),
    (lambda t: t.histogram(t.tensor([1.0]), t.tensor([[0.0, 1.0]])), RuntimeError, "one dimension"),
    (lambda t: t.histogram(t.tensor([1.0]), t.tensor([0, 1])), RuntimeError, "same dtype"),
    (lambda t: t.histogram(t.tensor([1.0]), t.tensor([0.0, 1.0]), range=(0.0, 1.0)), TypeError, "histogram"),
    (lambda t: t.histogram(t.tensor([1.0]), bins=3.5), TypeError, "histogram"),
    (lambda t: t.histogram(t.tensor([1.0, 2.0]), 3, range=(2.0, 1.0)), RuntimeError, "min should not exceed max"),
    (lambda t: t.histogram(t.tensor([1.0, 2.0]), 3, range=(0, 3, 4)), RuntimeError, "should have 2 elements"),
    (lambda t: t.histogram(t.tensor([1.0, float("nan")]), 3), RuntimeError, "is not finite"),
    (lambda t: t.histogram(t.tensor([1.0, 2.0]), 3, range=(0.0, float("inf"))), RuntimeError, "is not finite"),
    (lambda t: t.histogram(t.tensor([1, 2]), 3), NotImplementedError, "histogramdd"),
    (lambda t: t.histogram(t.tensor([1.0, 2.0], dtype=t.float16), 3), NotImplementedError, "histogramdd"),
    (lambda t: t.histogram(t.tensor([1.0, 2.0]), 3, weight=t.tensor([1.0])), RuntimeError, "same shape"),
    (lambda t: t.histogram(t.tensor([1.0, 2.0]), 3, weight=t.tensor([1.0, 2.0], dtype=t.float64)),
     RuntimeError, "same dtype"),
])
def test_histogram_errors_as_torch(fn, exc, match):
    for lib in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(exc, match=match):
            fn(lib)


def test_histogram_recorded_without_derivative_as_torch():
    x = retrograd.tensor([1.0, 2.0, 1.0], requires_grad=True)
    hist, edges = retrograd.histogram(x, 3)
    assert hist.requires_grad and edges.requires_grad and hist.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::histogram is not implemented"):
        hist.sum().backward()
    assert not retrograd.histogram(x.detach(), 3).hist.requires_grad


def test_histogram_out():
    hist, edges = retrograd.empty(3), retrograd.empty(4)
    got = retrograd.histogram(retrograd.tensor([1.0, 2.0, 1.0]), 3, out=(hist, edges))
    assert got.hist is hist and got.bin_edges is edges and hist.tolist() == [2.0, 0.0, 1.0]


def _histogramdd(out):
    return [[str(out.hist.dtype), out.hist.detach().numpy()]] + [[str(e.dtype), e.detach().numpy()]
                                                                  for e in out.bin_edges]


POINTS = [[0.0, 0.0], [1, 1], [1, 2], [2, 3], [0.5, 0.2]]
HISTOGRAMDDS = [
    lambda t: t.histogramdd(t.tensor(POINTS), bins=2),
    lambda t: t.histogramdd(t.tensor(POINTS), bins=[2, 3]),
    lambda t: t.histogramdd(t.tensor(POINTS), bins=(2, 3), range=[0.0, 2.0, 0.0, 3.0], density=True),
    lambda t: t.histogramdd(t.tensor(POINTS), [t.tensor([0.0, 1, 2]), t.tensor([0.0, 1, 2, 3])]),
    lambda t: t.histogramdd(t.tensor(POINTS), [t.tensor([0.0, 1, 2]), t.tensor([0.0, 1, 2, 3])],
                            range=[0.0, 1.0, 0.0, 1.0]),  # range is not read with edges given, as torch
    lambda t: t.histogramdd(t.tensor(POINTS), [t.tensor([2.0, 1, 0]), t.tensor([0.0, 1, 2, 3])]),  # decreasing
    lambda t: t.histogramdd(t.tensor(POINTS), bins=[2, 3], weight=t.arange(5.0), density=True),
    lambda t: t.histogramdd(t.tensor(_rand((100, 3), "float64", seed=5)), bins=[3, 4, 5], density=True),
    lambda t: t.histogramdd(t.tensor(_rand((4, 5, 2), seed=6)), bins=4, weight=t.tensor(_rand((4, 5), seed=7))),
    lambda t: t.histogramdd(t.tensor(np.round(_rand((60, 2), seed=8) * 2) / 2), 8, range=(-2, 2, -1, 1)),
    lambda t: t.histogramdd(t.tensor([[1.0, 1.0], [1.0, 1.0]]), bins=2),  # an empty range widens by 0.5
    lambda t: t.histogramdd(t.zeros(0, 2), bins=2),  # [0, 1]
    lambda t: t.histogramdd(t.tensor([[1.0, float("nan")], [float("inf"), 0.5], [0.5, 0.5]]), 2,
                            range=[0.0, 1.0, 0.0, 1.0]),  # left out
]


@pytest.mark.parametrize("i", range(len(HISTOGRAMDDS)))
def test_histogramdd_like_torch(i):
    fn = HISTOGRAMDDS[i]
    out = fn(retrograd)
    assert type(out).__name__ == "histogramdd" and out._fields == ("hist", "bin_edges")
    assert type(out.bin_edges) is tuple
    want = reference(lambda: _histogramdd(fn(torch)), inputs=[inspect.getsource(fn)])
    got = _histogramdd(out)
    assert len(got) == len(want)
    for (dtype, ours), (want_dtype, theirs) in zip(got, want):
        assert dtype == want_dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=0)


@pytest.mark.parametrize("fn,exc,match", [
    (lambda t: t.histogramdd(t.tensor([1.0, 2.0]), 2), RuntimeError, "at least 2 dimensions"),
    (lambda t: t.histogramdd(t.tensor(POINTS), [2, 3, 4]), RuntimeError, "size of bins"),
    (lambda t: t.histogramdd(t.tensor(POINTS), [t.tensor([0.0, 1.0])]), RuntimeError, "expected 2 sequences"),
    (lambda t: t.histogramdd(t.tensor(POINTS), [t.tensor([0.0, 1.0]), 3]), TypeError, "element 1"),
    (lambda t: t.histogramdd(t.tensor(POINTS), t.tensor([0.0, 1.0])), TypeError, "histogramdd"),
    (lambda t: t.histogramdd(t.tensor(POINTS), 2.5), TypeError, "histogramdd"),
    (lambda t: t.histogramdd(t.tensor(POINTS), [2, 0]), RuntimeError, "bins must be > 0, but got 0 for dimension 1"),
    (lambda t: t.histogramdd(t.tensor(POINTS), [t.tensor([0.0, 1.0]), t.tensor([0.0])]), RuntimeError,
     "bins must be > 0"),
    (lambda t: t.histogramdd(t.tensor(POINTS), [t.tensor([0.0, 1.0]), t.tensor([[0.0, 1.0]])]), RuntimeError,
     "one dimension, but got 2 dimensions in the bins tensor for dimension 1"),
    (lambda t: t.histogramdd(t.tensor(POINTS), [t.tensor([0.0, 1.0]), t.tensor([0.0, 1.0], dtype=t.float64)]),
     RuntimeError, "same dtype"),
    (lambda t: t.histogramdd(t.tensor(POINTS), 2, range=[0.0, 2.0]), RuntimeError, "should have 4 elements"),
    (lambda t: t.histogramdd(t.tensor(POINTS), 2, range=[1.0, 0.0, 0.0, 3.0]), RuntimeError, "min should not"),
    (lambda t: t.histogramdd(t.tensor(POINTS), 2, range=[0.0, 1.0, 0.0, float("inf")]), RuntimeError,
     "dimension 1's range"),
    (lambda t: t.histogramdd(t.tensor([[float("nan"), 1.0], [0.0, 1.0]]), 2), RuntimeError, "is not finite"),
    (lambda t: t.histogramdd(t.tensor(POINTS).long(), 2), NotImplementedError, "histogramdd"),
    (lambda t: t.histogramdd(t.tensor(POINTS), 2, weight=t.ones(5, 1)), RuntimeError, "same shape"),
    (lambda t: t.histogramdd(t.tensor(POINTS), 2, weight=t.ones(5, dtype=t.float64)), RuntimeError, "same dtype"),
])
def test_histogramdd_errors_as_torch(fn, exc, match):
    for lib in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(exc, match=match):
            fn(lib)


def test_histogramdd_recorded_without_derivative_as_torch():
    x = retrograd.tensor(POINTS, requires_grad=True)
    out = retrograd.histogramdd(x, 2)
    assert out.hist.requires_grad and all(e.requires_grad for e in out.bin_edges)
    with pytest.raises(RuntimeError, match="derivative for aten::_histogramdd_from_bin_cts is not implemented"):
        out.hist.sum().backward()
    assert not retrograd.histogramdd(x.detach(), 2).hist.requires_grad
