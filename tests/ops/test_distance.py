"""cdist, pdist, pairwise_distance, cosine_similarity: gradcheck + gradgradcheck + torch."""

import math

import numpy as np
import pytest

import retrograd
from retrograd.ops.distance import pdist as rg_pdist
from tests.helpers import check_op, requires_torch, torch


def _pdist(t, *a, **k):
    return (rg_pdist if t is retrograd else t.nn.functional.pdist)(*a, **k)


CASES = [
    ("cdist", lambda t, a, b: t.cdist(a, b), (3, 2), (2, 2)),
    ("cdist_p1", lambda t, a, b: t.cdist(a, b, p=1.0), (3, 2), (2, 2)),
    ("cdist_p3", lambda t, a, b: t.cdist(a, b, p=3.0), (3, 2), (2, 2)),
    ("cdist_pinf", lambda t, a, b: t.cdist(a, b, p=math.inf), (3, 2), (2, 2)),
    ("cdist_batched", lambda t, a, b: t.cdist(a, b), (2, 2, 3), (1, 3, 3)),
    ("cdist_mm", lambda t, a, b: t.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), (3, 2), (2, 2)),
    ("cdist_empty", lambda t, a, b: t.cdist(a, b), (0, 2), (2, 2)),
    ("pdist", lambda t, a: _pdist(t, a), (4, 2)),
    ("pdist_p1", lambda t, a: _pdist(t, a, p=1), (3, 2)),
    ("pairwise_distance", lambda t, a, b: t.pairwise_distance(a, b), (3, 4), (3, 4)),
    ("pairwise_distance_bcast_keepdim", lambda t, a, b: t.pairwise_distance(a, b, 1.5, keepdim=True),
     (3, 4), (4,)),
    ("pairwise_distance_1d", lambda t, a, b: t.pairwise_distance(a, b), (4,), (4,)),
    ("cosine_similarity", lambda t, a, b: t.cosine_similarity(a, b), (3, 4), (3, 4)),
    ("cosine_similarity_dim", lambda t, a, b: t.cosine_similarity(a, b, dim=-1), (2, 3), (1, 3)),
    ("cosine_similarity_1d", lambda t, a, b: t.cosine_similarity(a, b, dim=0), (4,), (4,)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_distance_op(case):
    _, fn, *shapes = case
    check_op(fn, *shapes)


@requires_torch
def test_zero_distance_has_zero_gradient_like_torch():
    a = np.array([[1.0, 2.0], [0.5, 0.5]])
    for p in (2.0, 3.0, math.inf):
        x = retrograd.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        retrograd.cdist(x, x, p=p).sum().backward()
        torch.cdist(tx, tx, p=p).sum().backward()
        assert not np.isnan(x.grad.numpy()).any()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-12)


@requires_torch
def test_large_cdist_uses_mm_and_matches_torch():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((30, 4)), rng.standard_normal((27, 4))
    np.testing.assert_allclose(retrograd.cdist(retrograd.tensor(a), retrograd.tensor(b)).numpy(),
                               torch.cdist(torch.tensor(a), torch.tensor(b)).numpy(), atol=1e-10)


def test_distance_errors():
    with pytest.raises(RuntimeError):
        retrograd.cdist(retrograd.zeros(3), retrograd.zeros(2, 3))
    with pytest.raises(RuntimeError):
        retrograd.cdist(retrograd.zeros(2, 3), retrograd.zeros(2, 2))
    with pytest.raises(RuntimeError):
        retrograd.cdist(retrograd.zeros(2, 3), retrograd.zeros(2, 3), p=-1)


# inputs with equal coordinates (a zero component of x1_i - x2_j) and a zero distance
TIES = np.array([[0.0, 1.0], [1.0, 1.0], [0.3, -0.2]])
TIES2 = np.array([[0.0, 1.0], [2.0, 1.0]])


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf])
def test_cdist_gradient_at_equal_coordinates_like_torch(p):
    """torch's gradient is 0 (not nan) where a coordinate difference or the distance is 0, for
    every p (p < 1: |d|^(p-1) is infinite there)."""
    check_op(lambda t, a, b: t.cdist(a, b, p=p), TIES, TIES2, gradcheck=False, gradgradcheck=False)


@pytest.mark.parametrize("p", [0.5, 1.5, 2.0])
def test_cdist_gradgradcheck_away_from_ties(p):
    check_op(lambda t, a, b: t.cdist(a, b, p=p), (3, 2), (4, 2), compare_torch=False)


@pytest.mark.parametrize("fn,exc,match", [
    (lambda t: t.cdist(t.zeros(3), t.zeros(2, 3)), RuntimeError, "X1 got: 1D"),
    (lambda t: t.cdist(t.zeros(2, 3), t.zeros(3)), RuntimeError, "X2 got: 1D"),
    (lambda t: t.cdist(t.zeros(2, 3), t.zeros(2, 2)), RuntimeError, "same number of columns"),
    (lambda t: t.cdist(t.zeros(2, 3), t.zeros(2, 3), p=-1), RuntimeError, "non-negative p"),
    (lambda t: t.cdist(t.zeros(2, 3, dtype=t.int64), t.zeros(2, 3, dtype=t.int64)), RuntimeError,
     "floating-point dtypes, X1 got: Long"),
    (lambda t: t.cdist(t.zeros(2, 3), t.zeros(2, 3, dtype=t.float64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda t: t.cdist(t.zeros(2, 3, dtype=t.float16), t.zeros(2, 3, dtype=t.float16)), NotImplementedError,
     "Half"),
    (lambda t: t.cdist(t.zeros(2, 3), t.zeros(2, 3), compute_mode="foo"), ValueError, "compute_mode"),
])
def test_cdist_errors_as_torch(fn, exc, match):
    for lib in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(exc, match=match):
            fn(lib)


@pytest.mark.parametrize("p", [2, 1, 3.5, float("inf"), -float("inf"), -1, 0.5])
def test_dist(p):
    check_op(lambda t, a, b: t.dist(a, b, p), (3, 4), (4,))
    check_op(lambda t, a, b: a.dist(b, p=p), (2, 3), (2, 3), gradgradcheck=False)


def test_dist_values_and_errors():
    t = retrograd
    a, b = t.tensor([[1.0, 2.0], [3.0, 5.0]]), t.tensor([0.0, 1.0])
    assert t.dist(a, b, 0).item() == 4.0
    assert abs(t.dist(a, b, t.tensor(2.0)).item() - math.sqrt(27)) < 1e-6
    x = t.tensor([1.0, 1.0], requires_grad=True)
    t.dist(x, t.tensor([1.0, 1.0])).backward()
    assert x.grad.tolist() == [0.0, 0.0]  # 0, not nan, at distance 0
    with pytest.raises(RuntimeError, match="input dtype should be either floating point or complex"):
        t.dist(t.tensor([1, 2]), t.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="must match the size"):
        t.dist(a, t.zeros(3))


def test_cosine_similarity_computes_in_the_common_float_dtype_as_torch():
    F = retrograd.nn.functional
    got = F.cosine_similarity(retrograd.tensor([[1, 2]]), retrograd.tensor([[1.0, 2.0]]))  # it gave 1.118
    np.testing.assert_allclose(got.numpy(), [1.0], rtol=1e-6)
    with pytest.raises(RuntimeError, match="floating point"):
        F.cosine_similarity(retrograd.tensor([[1, 2]]), retrograd.tensor([[1, 2]]))


def test_pairwise_distance_of_0d_tensors_is_0d_with_keepdim_as_torch():
    got = retrograd.nn.functional.pairwise_distance(retrograd.tensor(1.0), retrograd.tensor(2.0), keepdim=True)
    assert got.shape == ()
