"""svd_lowrank, pca_lowrank and lobpcg (src/retrograd/ops/lowrank.py, ops/lobpcg.py): their random
starts differ from torch's, so the tests compare what is determined: singular values and
reconstructions of low-rank matrices, eigenvalues, spanned subspaces, gradients of
sign-invariant losses."""

import numpy as np
import pytest

import retrograd
from tests.helpers import torch

RNG = np.random.default_rng(0)
LOW_RANK = RNG.standard_normal((7, 3)) @ RNG.standard_normal((3, 5))  # rank 3
TALL = RNG.standard_normal((6, 4))


def _decompose(m, x, call):
    return [t.detach().numpy() for t in call(m, m.tensor(x))]


CALLS = {
    "svd_q4": (lambda m, a: m.svd_lowrank(a, q=4), LOW_RANK),
    "svd_default_q": (lambda m, a: m.svd_lowrank(a), LOW_RANK),
    "svd_wide": (lambda m, a: m.svd_lowrank(a, q=3, niter=0), LOW_RANK.T),
    "svd_wide_q6": (lambda m, a: m.svd_lowrank(a), LOW_RANK.T[:4]),
    "svd_mean": (lambda m, a: m.svd_lowrank(a, q=4, M=a.mean(0, keepdim=True)), LOW_RANK),
    "svd_batch": (lambda m, a: m.svd_lowrank(a, q=3), np.stack([LOW_RANK, 2 * LOW_RANK])),
    "pca": (lambda m, a: m.pca_lowrank(a), LOW_RANK),
    "pca_uncentered": (lambda m, a: m.pca_lowrank(a, q=3, center=False, niter=1), LOW_RANK),
}
# the shapes and leading singular values torch 2.13 gives (rank 3: three nonzero values)
SHAPES = {"svd_q4": [(7, 4), (4,), (5, 4)], "svd_default_q": [(7, 5), (5,), (5, 5)],
          "svd_wide": [(5, 3), (3,), (7, 3)], "svd_wide_q6": [(4, 4), (4,), (7, 4)],
          "svd_mean": [(7, 4), (4,), (5, 4)], "svd_batch": [(2, 7, 3), (2, 3), (2, 5, 3)],
          "pca": [(7, 5), (5,), (5, 5)], "pca_uncentered": [(7, 3), (3,), (5, 3)]}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_low_rank_decompositions_are_exact_for_low_rank_matrices_as_torchs(name):
    call, x = CALLS[name]
    U, S, V = _decompose(retrograd, x, call)
    assert [u.shape for u in (U, S, V)] == SHAPES[name]
    centered = x - x.mean(-2, keepdims=True) if name in ("pca", "svd_mean") else x
    k = min(3, S.shape[-1])  # the rank
    top = (U[..., :k] * S[..., None, :k]) @ np.swapaxes(V[..., :k], -1, -2)
    assert np.allclose(top, centered, atol=1e-10)
    assert np.allclose(S[..., :k], np.linalg.svd(centered, compute_uv=False)[..., :k])
    assert np.allclose(np.swapaxes(U, -1, -2) @ U, np.eye(U.shape[-1]), atol=1e-10)
    if torch is not None:
        want = _decompose(torch, x, call)
        assert [w.shape for w in want] == SHAPES[name]
        assert np.allclose(want[1][..., :k], S[..., :k])


def test_svd_lowrank_of_a_full_rank_matrix_approximates_its_leading_singular_values():
    retrograd.manual_seed(0)
    x = RNG.standard_normal((40, 30)) @ np.diag(0.5 ** np.arange(30)) @ RNG.standard_normal((30, 30))
    _, S, _ = retrograd.svd_lowrank(retrograd.tensor(x), q=8, niter=3)
    assert np.allclose(S.numpy()[:4], np.linalg.svd(x, compute_uv=False)[:4], rtol=1e-6)


def test_svd_lowrank_is_differentiable_through_its_ops():
    def top_values(a):
        retrograd.manual_seed(0)  # the same test matrix on each call
        return retrograd.svd_lowrank(a, q=4)[1]

    a = retrograd.tensor(TALL, requires_grad=True)
    assert retrograd.autograd.gradcheck(top_values, (a,))
    top_values(a).sum().backward()
    U, _, Vh = np.linalg.svd(TALL, full_matrices=False)
    assert np.allclose(a.grad.numpy(), U @ Vh)  # d(sum of singular values)/dA
    if torch is not None:
        t = torch.tensor(TALL, requires_grad=True)
        torch.svd_lowrank(t, q=4)[1].sum().backward()
        assert np.allclose(t.grad.numpy(), a.grad.numpy())


def test_pca_lowrank_argument_errors_as_torch():
    for m in [retrograd] + ([torch] if torch is not None else []):
        a = m.tensor(LOW_RANK)
        with pytest.raises(ValueError, match=r"q\(=6\) must be non-negative integer and not greater than min\(m, n\)=5"):
            m.pca_lowrank(a, q=6)
        with pytest.raises(ValueError, match=r"q\(=-1\) must be non-negative integer"):
            m.pca_lowrank(a, q=-1)
        with pytest.raises(ValueError, match=r"niter\(=-1\) must be non-negative integer"):
            m.pca_lowrank(a, q=2, niter=-1)
        with pytest.raises(ValueError, match="not enough values to unpack"):
            m.pca_lowrank(m.ones(5))
        with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
            m.svd_lowrank(m.ones(4, 3, dtype=m.int64), q=2)
