"""cov and corrcoef (ops/statistics.py): values, dtypes, gradients (gradcheck, gradgradcheck) and
errors as torch's."""

import inspect
import warnings

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, reference, torch

FREQ = np.array([1, 3, 0, 2, 1], dtype=np.int64)

DIFFERENTIABLE = [
    ("cov", lambda t, x: t.cov(x), (3, 5)),
    ("cov_1d", lambda t, x: t.cov(x), (6,)),
    ("cov_method_correction0", lambda t, x: x.cov(correction=0), (2, 4)),
    ("cov_correction2", lambda t, x: t.cov(x, correction=2), (3, 5)),
    ("cov_fweights", lambda t, x, f: t.cov(x, fweights=f), (3, 5), FREQ),
    ("cov_aweights", lambda t, x, a: t.cov(x, aweights=a), (3, 5), (5,)),
    ("cov_both_weights", lambda t, x, f, a: t.cov(x, fweights=f, aweights=a), (2, 5), FREQ, (5,)),
    ("cov_both_weights_correction0", lambda t, x, f, a: t.cov(x, correction=0, fweights=f, aweights=a),
     (2, 5), FREQ, (5,)),
    ("cov_one_variable_row", lambda t, x: t.cov(x), (1, 4)),
    ("corrcoef", lambda t, x: t.corrcoef(x), (3, 6)),
    ("corrcoef_method", lambda t, x: x.corrcoef(), (2, 4)),
    ("corrcoef_1d", lambda t, x: t.corrcoef(x), (5,)),
]


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE])
def test_statistics_differentiable(case):
    """Values and gradients as torch; gradcheck and gradgradcheck (aweights low > 0: weights)."""
    _, fn, *specs = case
    check_op(fn, *specs, low=0.1, high=2.0)


def _result(out):
    return str(out.dtype), list(out.shape), out.numpy()


X = [[0, 1, 2], [2, 1, 0]]

VALUES = [
    lambda t: t.cov(t.tensor(X)),  # integers: the default float dtype
    lambda t: t.cov(t.tensor(X), fweights=t.tensor([1, 2, 3])),
    lambda t: t.cov(t.tensor(X, dtype=t.float16)),
    lambda t: t.cov(t.tensor(X, dtype=t.float32), aweights=t.tensor([1.0, 2, 3], dtype=t.float64)),
    lambda t: t.cov(t.tensor(X, dtype=t.float32), fweights=t.tensor([1, 2, 3], dtype=t.int32)),
    lambda t: t.cov(t.tensor(X, dtype=t.float32), fweights=t.tensor([1, 0, 2]), aweights=t.tensor([1.0, 2, 3])),
    lambda t: t.cov(t.tensor([[1.5], [2.0]]), fweights=t.tensor(2)),  # a 0-d weight for one observation
    lambda t: t.cov(t.tensor(3.0)),  # one observation: nan (with the warning below)
    lambda t: t.cov(t.ones(2, 3), correction=3),  # no degrees of freedom: nan
    lambda t: t.cov(t.ones(2, 3), correction=-1),
    lambda t: t.cov(t.tensor(X, dtype=t.float64), correction=t.tensor(0)),  # a 0-d integer tensor is an int
    lambda t: t.cov(t.zeros(0, 3)),
    lambda t: t.cov(t.zeros(2, 0)),
    lambda t: t.corrcoef(t.tensor(X)),
    lambda t: t.corrcoef(t.tensor([[1.0, 2, 3], [1, 1, 1], [3, 1, 0.5]])),  # a constant row: nan
    lambda t: t.corrcoef(t.tensor([1.0, 1, 1])),
    lambda t: t.corrcoef(t.tensor([[1.0, 2], [2, 4], [2, 1]], dtype=t.float64)),
]


@pytest.mark.parametrize("i", range(len(VALUES)))
def test_statistics_values_like_torch(i):
    fn = VALUES[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (dtype, shape, ours), want = _result(fn(retrograd)), reference(lambda: _result(fn(torch)),
                                                                       inputs=[inspect.getsource(fn)])
    assert (dtype, shape) == (want[0], want[1])
    np.testing.assert_allclose(ours.astype(np.float64), want[2].astype(np.float64), rtol=1e-6, atol=1e-7)


def test_cov_warns_without_degrees_of_freedom():
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        assert retrograd.cov(retrograd.ones(2, 1)).isnan().all()


@pytest.mark.parametrize("fn,exc,match", [
    (lambda t: t.cov(t.zeros(2, 2, 2)), RuntimeError, "two or fewer dimensions"),
    (lambda t: t.cov(t.tensor([[True, False]])), RuntimeError, "bool dtype is not supported"),
    (lambda t: t.cov(t.ones(2, 3), correction=1.5), TypeError, "correction"),
    (lambda t: t.cov(t.ones(2, 3), correction=True), TypeError, "correction"),
    (lambda t: t.cov(t.ones(2, 3), fweights=t.tensor([1.0, 2, 3])), RuntimeError, "integral dtype"),
    (lambda t: t.cov(t.ones(2, 3), fweights=t.tensor([True, False, True])), RuntimeError, "integral dtype"),
    (lambda t: t.cov(t.ones(2, 3), fweights=t.tensor([1, -2, 3])), RuntimeError, "fweights cannot be negative"),
    (lambda t: t.cov(t.ones(2, 3), fweights=t.tensor([1, 2])), RuntimeError, "same numel"),
    (lambda t: t.cov(t.ones(2, 3), fweights=t.tensor([[1, 2, 3]])), RuntimeError, "one or fewer dimensions"),
    (lambda t: t.cov(t.ones(2, 3), aweights=t.tensor([1, 2, 3])), RuntimeError, "floating point dtype"),
    (lambda t: t.cov(t.ones(2, 3), aweights=t.tensor([1.0, -2, 3])), RuntimeError, "aweights cannot be negative"),
    (lambda t: t.cov(t.ones(2, 3), aweights=t.zeros(3)), RuntimeError, "weights sum to zero"),
    (lambda t: t.cov(t.ones(2, 3), fweights=t.tensor([0, 0, 0])), RuntimeError, "weights sum to zero"),
    (lambda t: t.corrcoef(t.zeros(2, 2, 2)), RuntimeError, "two or fewer dimensions"),
])
def test_statistics_errors_as_torch(fn, exc, match):
    for lib in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(exc, match=match):
            fn(lib)
