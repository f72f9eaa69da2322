"""torch.lobpcg: the k largest (or smallest) eigenpairs of A x = lambda B x for symmetric A and
symmetric positive definite B, by LOBPCG (Knyazev 2001), written here from the algorithm.

Each step takes a Rayleigh-Ritz projection on the block [X, W, P]: X the current eigenvector
estimates, W = iK R the (preconditioned) residuals R = A X - B X diag(E), P the previous update
directions. ``method='ortho'`` first makes the block B-orthonormal (W and P B-orthogonalized
against X twice, then against each other by an eigendecomposition of their Gram matrix that drops
near-dependent directions; Stathopoulos and Wu 2002), a robust method; ``method='basic'`` solves
the projected generalized problem through a Cholesky factor of the block's Gram matrix, which
fails when the block is singular, as torch's basic method may. The iteration stops when the
relative residual norms of the first k pairs are below tol, or after niter steps (the first step
B-orthonormalizes the start and leaves E zero, as torch's count; niter <= 0: until convergence).

The random start comes from retrograd's generator, so before convergence the values are not
torch's; converged pairs agree with torch's up to the eigenvectors' signs.

Gradients (B = I only, as torch's): with x_i, lambda_i a requested pair of the symmetrized A and
M_i = (A - lambda_i I)^+ its resolvent on x_i's complement = (A - lambda_i I + x_i x_i^T)^-1 - x_i x_i^T,
d lambda_i = x_i^T dA x_i and d x_i = -M_i dA x_i, so gA = X diag(gE) X^T - sum_i M_i gX_i x_i^T.
Forward AD uses the same formula (torch 2.13's forward AD differentiates the iteration instead,
which disagrees with finite differences).
"""

import numpy as np

from .._backend import array_module
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["lobpcg"]

_METHODS = ("ortho", "basic")


def _b(B, Z):
    return Z if B is None else B @ Z


def _orthonormalize(xp, B, Z, drop):
    """B-orthonormal columns spanning Z's (those of a Gram eigenvalue below drop * the largest
    are dropped): Z D V diag(s)^-1/2 from the eigendecomposition V diag(s) V^T of D Z^T B Z D,
    D the columns' inverse norms; done twice, as one pass loses orthogonality."""
    for _ in range(2):
        norms = xp.sqrt(xp.abs(xp.einsum("ij,ij->j", Z, _b(B, Z))))
        Z = Z[:, norms > 0] / norms[norms > 0]
        s, V = xp.linalg.eigh(Z.T @ _b(B, Z))
        keep = s > drop * max(float(s.max()), 0.0) if s.size else s > 0
        Z = Z @ (V[:, keep] / xp.sqrt(s[keep]))
    return Z


def _project_out(B, X, Z):
    for _ in range(2):
        Z = Z - X @ (X.T @ _b(B, Z))
    return Z


def _ritz(xp, S, AS, B, n, largest, method):
    """The n Ritz pairs of the block S (largest or smallest): (values, coefficients)."""
    T = S.T @ AS
    if method == "basic":
        Linv = xp.linalg.inv(xp.linalg.cholesky(S.T @ _b(B, S)))
        theta, V = xp.linalg.eigh(Linv @ T @ Linv.T)
        C = Linv.T @ V
    else:
        theta, C = xp.linalg.eigh((T + T.T) / 2)
    order = xp.arange(theta.shape[0])[::-1][:n] if largest else xp.arange(n)
    return theta[order], C[:, order]


def _solve_one(xp, A, B, X, iK, k, largest, method, niter, tol):
    """(E, X) for one matrix A (arrays)."""
    m, n = X.shape
    eps = xp.finfo(A.dtype).eps
    X = _orthonormalize(xp, B, X, eps) if method == "ortho" else X @ xp.linalg.inv(
        xp.linalg.cholesky(X.T @ _b(B, X))).T
    E = xp.zeros(X.shape[1], dtype=A.dtype)
    a_norm = float(xp.linalg.norm(A))
    b_norm = 1.0 if B is None else float(xp.linalg.norm(B))
    W = P = None
    step = 1
    while step != niter:
        step += 1
        blocks = [X] if W is None else [X, W] + ([] if P is None else [P])
        if method == "ortho" and W is not None:
            Z = _orthonormalize(xp, B, _project_out(B, X, xp.concatenate(blocks[1:], axis=1)), eps)
            blocks = [X, Z]
        S = xp.concatenate(blocks, axis=1)
        E, C = _ritz(xp, S, A @ S, B, n, largest, method)
        X_new = S @ C
        P = S[:, X.shape[1]:] @ C[X.shape[1]:] if W is not None else None
        X = X_new
        R = A @ X - _b(B, X) * E
        rerr = xp.linalg.norm(R, axis=0) / ((a_norm + xp.abs(E) * b_norm) * xp.linalg.norm(X, axis=0))
        if bool((rerr[:k] < tol).all()):
            break
        W = R if iK is None else iK @ R
    return E[:k], X[:, :k]


class LOBPCG(Function):
    """The k extreme eigenpairs of (A, B) by LOBPCG; gradients for B = I (see the module)."""

    _backward_name = "LOBPCGAutogradFunctionBackward"  # torch's name

    @staticmethod
    def forward(ctx, A, B, X, iK, k, largest, method, niter, tol):
        a = A._data
        xp = array_module(a)
        parts = [(None if t is None else t._data) for t in (B, X, iK)]
        batch = a.shape[:-2]
        Es, Xs = [], []
        for idx in np.ndindex(*batch):
            one = [(None if p is None else (p[idx] if p.ndim > 2 else p)) for p in parts]
            e, x = _solve_one(xp, a[idx], one[0], one[1], one[2], k, largest, method, niter, tol)
            Es.append(e)
            Xs.append(x)
        E = Tensor._make(xp.stack(Es).reshape(batch + Es[0].shape))
        V = Tensor._make(xp.stack(Xs).reshape(batch + Xs[0].shape))
        ctx.save_for_backward(A, E, V)
        ctx.has_B = B is not None
        return E, V

    @staticmethod
    def jvp(ctx, tA, *_):
        """dE_i = x_i^T dA x_i, dx_i = -M_i dA x_i (B = I)."""
        if ctx.has_B:
            raise ValueError("lobpcg: forward AD does not support B != I.")
        A, E, X = ctx.saved_tensors
        AX = tA @ X
        return (X * AX).sum(-2), -_resolvent(A, E, X, AX)

    @staticmethod
    def backward(ctx, gE, gX):
        if ctx.has_B:
            raise ValueError("lobpcg.backward does not support backward with B != I yet.")
        A, E, X = ctx.saved_tensors
        gA = (X * gE.unsqueeze(-2)) @ X.mT - _resolvent(A, E, X, gX) @ X.mT
        return gA, None, None, None, None, None, None, None, None


def _resolvent(A, E, X, V):
    """The columns M_i v_i, M_i = (A - E_i I + x_i x_i^T)^-1 - x_i x_i^T: A's pseudo-inverse shifted
    by the eigenvalue E_i, on the complement of its eigenvector x_i."""
    from .. import linalg

    m = A.shape[-1]
    eye = Tensor._make(array_module(A._data).eye(m, dtype=A._data.dtype))
    x = X.mT.unsqueeze(-1)  # (*, k, m, 1): x_i
    v = V.mT.unsqueeze(-1)
    Y = linalg.solve(A.unsqueeze(-3) - E[..., None, None] * eye + x @ x.mT, v)
    return (Y - x @ (x.mT @ v)).squeeze(-1).mT


def _check_square(name, t):
    if t.shape[-2] != t.shape[-1]:
        raise AssertionError(f"{name} must be square, got shape {t.shape}")


def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None, method=None,
           tracker=None, ortho_iparams=None, ortho_fparams=None, ortho_bparams=None):
    """(E, X): the k largest (largest=False: smallest) eigenvalues of A x = E B x (B = I when None),
    descending (ascending), and their B-orthonormal eigenvectors (see the module)."""
    from ..creation import randn

    for name, value in (("tracker", tracker), ("ortho_iparams", ortho_iparams),
                        ("ortho_fparams", ortho_fparams), ("ortho_bparams", ortho_bparams)):
        if value is not None:
            raise NotImplementedError(f"lobpcg({name}=...): retrograd's LOBPCG takes no {name}; leave it None")
    method = "ortho" if method is None else method
    if method not in _METHODS:
        raise ValueError(f"lobpcg: method must be 'ortho' or 'basic', got {method!r}")
    _check_square("A", A)
    if B is not None:
        _check_square("B", B)
        if B.shape != A.shape:
            raise AssertionError(f"A and B must have the same shapes, got {A.shape} and {B.shape}")
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m}) is smaller than "
                         f"3 x the number of requested eigenpairs (={n})")
    if X is None:
        dtype = A.dtype if A.dtype.is_floating_point else None
        X = randn(*A.shape[:-1], n, dtype=dtype, device=A.device)
    A[..., :1, :] @ X  # torch's dtype error for an integer A (matrix products do not promote)
    tol = float(np.finfo(A._data.dtype).eps) ** 0.5 if tol is None else tol
    niter = 1000 if niter is None else niter
    if A.requires_grad:
        A = (A + A.mT) / 2  # as torch: A's gradient is symmetric
    return LOBPCG.apply(A, B, X, iK, min(k, n), True if largest is None else largest, method, niter, tol)
