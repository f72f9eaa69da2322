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
        with pytest.raises(ValueError, match=r"q\(=6\) must be non-negative integer and not greater than "
                                             r"min\(m, n\)=5"):
            m.pca_lowrank(a, q=6)
        with pytest.raises(ValueError, match=r"q\(=-1\) must be non-negative integer"):
            m.pca_lowrank(a, q=-1)
        with pytest.raises(ValueError, match=r"niter\(=-1\) must be non-negative integer"):
            m.pca_lowrank(a, q=2, niter=-1)
        with pytest.raises(ValueError, match="not enough values to unpack"):
            m.pca_lowrank(m.ones(5))
        with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
            m.svd_lowrank(m.ones(4, 3, dtype=m.int64), q=2)


# ---------------------------------------------------------------------------- lobpcg (ops/lobpcg.py)

M = 12
_Q = np.linalg.qr(RNG.standard_normal((M, M)))[0]
SPECTRUM = np.arange(1.0, M + 1) ** 1.3
SYM = _Q @ np.diag(SPECTRUM) @ _Q.T
SPD_B = np.eye(M) * 2 + 0.1 * np.ones((M, M))


LOBPCG_CASES = {  # name: (kwargs(m), expected eigenvalues)
    "default": (lambda m: {}, SPECTRUM[::-1][:1]),
    "k2": (lambda m: {"k": 2}, SPECTRUM[::-1][:2]),
    "smallest": (lambda m: {"k": 3, "largest": False}, SPECTRUM[:3]),
    "n": (lambda m: {"k": 2, "n": 3}, SPECTRUM[::-1][:2]),
    "X": (lambda m: {"X": m.tensor(RNG.standard_normal((M, 3)))}, SPECTRUM[::-1][:3]),
    "k_and_X": (lambda m: {"k": 2, "X": m.tensor(RNG.standard_normal((M, 3)))}, SPECTRUM[::-1][:2]),
    "iK": (lambda m: {"k": 2, "iK": m.tensor(np.linalg.inv(SYM))}, SPECTRUM[::-1][:2]),
    "basic": (lambda m: {"k": 2, "method": "basic", "largest": False}, SPECTRUM[:2]),
    "B": (lambda m: {"k": 2, "B": m.tensor(SPD_B)}, None),
    "tol": (lambda m: {"k": 2, "tol": 1e-4, "niter": -1}, SPECTRUM[::-1][:2]),
}


@pytest.mark.parametrize("name", sorted(LOBPCG_CASES))
def test_lobpcg_finds_the_extreme_eigenpairs_as_torch(name):
    kwargs, want = LOBPCG_CASES[name]
    E, X = (t.numpy() for t in retrograd.lobpcg(retrograd.tensor(SYM), **kwargs(retrograd)))
    B = SPD_B if name == "B" else np.eye(M)
    if want is None:  # the generalized problem: the largest of B^-1/2 A B^-1/2
        w, v = np.linalg.eigh(B)
        half = v @ np.diag(w ** -0.5) @ v.T
        want = np.linalg.eigvalsh(half @ SYM @ half)[::-1][:2]
    rtol = 1e-4 if name == "tol" else 1e-7
    assert np.allclose(E, want, rtol=rtol)
    assert np.allclose(X.T @ B @ X, np.eye(len(E)), atol=1e-7)  # B-orthonormal
    assert np.allclose(SYM @ X, B @ X * E, atol=0.05 if name == "tol" else 1e-5)
    if torch is not None:
        tE, tX = torch.lobpcg(torch.tensor(SYM), **kwargs(torch))
        assert np.allclose(tE.numpy(), E, rtol=rtol)
        assert np.allclose(tX.numpy() @ tX.numpy().T @ B, X @ X.T @ B, atol=0.05 if name == "tol" else 1e-5)


def test_lobpcg_batches_and_float32():
    E, X = retrograd.lobpcg(retrograd.tensor(np.stack([SYM, 2 * SYM])), k=2)
    assert E.shape == (2, 2) and X.shape == (2, M, 2)
    assert np.allclose(E.numpy(), [SPECTRUM[::-1][:2], 2 * SPECTRUM[::-1][:2]])
    E32, _ = retrograd.lobpcg(retrograd.tensor(SYM, dtype=retrograd.float32), k=2)
    assert E32.dtype == retrograd.float32 and np.allclose(E32.numpy(), SPECTRUM[::-1][:2], rtol=1e-4)


def test_lobpcg_niter_1_only_orthonormalizes_the_start_as_torch():
    for m in [retrograd] + ([torch] if torch is not None else []):
        E, X = m.lobpcg(m.tensor(SYM), k=2, niter=1)
        assert E.tolist() == [0.0, 0.0]
        assert np.allclose(X.numpy().T @ X.numpy(), np.eye(2))


@pytest.mark.parametrize("largest", [True, False])
def test_lobpcg_gradient_is_the_eigendecompositions_as_torchs(largest):
    weights = RNG.standard_normal((M, M))

    def loss(m, E, X):  # invariant under the eigenvectors' signs
        return (E * m.tensor([1.0, 2.0], dtype=m.float64)).sum() + ((X @ X.mT) * m.tensor(weights)).sum()

    a = retrograd.tensor(SYM, requires_grad=True)
    E, X = retrograd.lobpcg(a, k=2, largest=largest, tol=1e-12)
    assert E.grad_fn.name() == "LOBPCGAutogradFunctionBackward"
    loss(retrograd, E, X).backward()
    b = retrograd.tensor(SYM, requires_grad=True)
    L, V = retrograd.linalg.eigh(b)
    pick = [M - 1, M - 2] if largest else [0, 1]
    loss(retrograd, L[pick], V[:, pick]).backward()
    assert np.allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-9)
    assert np.allclose(a.grad.numpy(), a.grad.numpy().T)  # A was symmetrized, as torch's
    if torch is not None:
        t = torch.tensor(SYM, requires_grad=True)
        loss(torch, *torch.lobpcg(t, k=2, largest=largest, tol=1e-12)).backward()
        assert np.allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-9)


def test_lobpcg_errors_as_torch():
    for m in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(ValueError, match=r"not applicable when the number of A rows \(=12\) is smaller than "
                                             r"3 x the number of requested eigenpairs \(=5\)"):
            m.lobpcg(m.tensor(SYM), k=5)
        with pytest.raises(AssertionError, match="A must be square"):
            m.lobpcg(m.ones(7, 6, dtype=m.float64))
        with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
            m.lobpcg(m.ones(6, 6, dtype=m.int64))
        a = m.tensor(SYM, requires_grad=True)
        E, _ = m.lobpcg(a, k=2, B=m.tensor(SPD_B))
        with pytest.raises(ValueError, match=r"lobpcg.backward does not support backward with B != I yet."):
            E.sum().backward()
    with pytest.raises(TypeError, match="'int' object is not callable"):
        retrograd.lobpcg(retrograd.tensor(SYM), tracker=5)


@pytest.mark.parametrize("m", [retrograd] + ([torch] if torch is not None else []))
def test_lobpcg_tracker_sees_each_step_and_can_stop_it_as_torchs(m):
    """torch documents the tracker's worker: called at each step, with iparams/fparams/bparams, ivars
    (istep, converged_count), bvars (force_stop: True stops), tvars (rerr), A, B, iK, E, X, S, R."""
    a = m.tensor(SYM)
    steps = []

    def tracker(w):
        assert w.A is a and w.B is None and w.iK is None
        steps.append((w.ivars["istep"], w.ivars["converged_count"], w.E.clone(), tuple(w.X.shape),
                      tuple(w.R.shape), tuple(w.tvars["rerr"].shape), dict(w.iparams), dict(w.fparams),
                      dict(w.bparams)))

    m.lobpcg(a, k=2, niter=5, tracker=tracker)
    assert [s[0] for s in steps] == [1, 2, 3, 4, 5]
    assert steps[0][2].tolist() == [0.0, 0.0] and steps[-1][2].min() > 0  # E: zero before the first step
    assert all(s[3] == (M, 2) and s[4] == (M, 2) and s[5] == (2,) for s in steps)
    iparams, fparams, bparams = steps[0][6:]
    tol = 2.23e-16 ** 0.5  # torch's default (float32's: 1.2e-07 ** 0.5)
    assert iparams == {"m": M, "n": 2, "k": 2, "niter": 5, "ortho_i_max": 3, "ortho_j_max": 3}
    assert fparams == {"tol": tol, "ortho_tol": tol, "ortho_tol_drop": tol, "ortho_tol_replace": tol}
    assert bparams == {"largest": True, "ortho_use_drop": False}
    converged = []
    m.lobpcg(a, k=2, tol=1e-10, niter=-1, tracker=lambda w: converged.append(w.ivars["converged_count"]))
    assert converged[0] == 0 and converged[-1] == 2  # the leading pairs whose residual is below tol
    stopped = []

    def stopper(w):
        stopped.append(w.ivars["istep"])
        if w.ivars["istep"] >= 3:
            w.bvars["force_stop"] = True

    m.lobpcg(a, k=2, tracker=stopper)
    assert stopped == [1, 2, 3]
    basic = []
    m.lobpcg(a, k=2, niter=2, method="basic", tracker=lambda w: basic.append(dict(w.iparams)))
    assert basic[0] == {"m": M, "n": 2, "k": 2, "niter": 2}  # the ortho parameters are method 'ortho''s


@pytest.mark.parametrize("m", [retrograd] + ([torch] if torch is not None else []))
def test_lobpcg_ortho_params_update_the_ortho_methods_as_torchs(m):
    seen = {}

    def tracker(w):
        seen.update(i=dict(w.iparams), f=dict(w.fparams), b=dict(w.bparams))

    E, X = m.lobpcg(m.tensor(SYM), k=2, tracker=tracker, ortho_iparams={"ortho_i_max": 5, "extra": 1},
                    ortho_fparams={"ortho_tol": 1e-3}, ortho_bparams={"ortho_use_drop": True})
    assert seen["i"]["ortho_i_max"] == 5 and seen["i"]["extra"] == 1 and seen["i"]["ortho_j_max"] == 3
    assert seen["f"]["ortho_tol"] == 1e-3 and seen["b"]["ortho_use_drop"] is True
    assert np.allclose(E.numpy(), SPECTRUM[::-1][:2], rtol=1e-7)


def test_lobpcg_ortho_params_bound_the_orthogonalization():
    """ortho_i_max and ortho_j_max bound the passes (ivars ortho_i, ortho_j count them); ortho_tol is
    the orthogonality they stop at; ortho_use_drop drops near-dependent directions (the block
    shrinks), else they are kept, their Gram eigenvalues raised to ortho_tol_replace * the largest."""
    passes, blocks = [], []

    def tracker(w):
        passes.append((w.ivars["ortho_i"], w.ivars["ortho_j"]))
        blocks.append(w.S.shape[1])

    a = retrograd.tensor(SYM)
    retrograd.lobpcg(a, k=2, niter=8, tracker=tracker, ortho_iparams={"ortho_i_max": 1, "ortho_j_max": 1})
    assert max(passes) == (1, 1)
    passes.clear()
    retrograd.lobpcg(a, k=2, niter=8, tracker=tracker, ortho_fparams={"ortho_tol": 0.0})  # never reached
    assert set(passes[2:]) == {(3, 3)}
    start = np.repeat(RNG.standard_normal((M, 1)), 2, axis=1) + 1e-14 * RNG.standard_normal((M, 2))
    E, X = retrograd.lobpcg(a, X=retrograd.tensor(start), niter=1, ortho_bparams={"ortho_use_drop": True})
    assert X.shape == (M, 1)  # the dependent copy dropped
    E, X = retrograd.lobpcg(a, X=retrograd.tensor(start), niter=1)
    assert X.shape == (M, 2)  # kept (replaced)
