"""Randomized low-rank decompositions: torch.svd_lowrank, torch.pca_lowrank (Halko, Martinsson and
Tropp 2009: a randomized range finder with subspace iteration, their Algorithms 4.4 and 5.1).

Built from differentiable ops (randn, matmul, linalg.qr, linalg.svd), so gradients flow through
them as in torch. The Gaussian test matrix comes from retrograd's generator: for the same seed the
numbers are not torch's, but for a matrix of rank <= q the decomposition is exact and equals torch's
up to the signs of the singular vectors.
"""

from .. import _dtype
from ..tensor import Tensor

__all__ = ["svd_lowrank", "pca_lowrank"]


def _orthonormal_basis(Y):
    from .. import linalg

    return linalg.qr(Y).Q


def _range_basis(A, q, niter):
    """Q with orthonormal columns approximately spanning A's range: Q = orth(A G), G an n x q
    Gaussian, refined by niter subspace iterations Q = orth(A orth(A^T Q))."""
    from ..creation import randn

    dtype = A.dtype if A.dtype.is_floating_point else _dtype.get_default_dtype()
    G = randn(*A.shape[:-2], A.shape[-1], q, dtype=dtype, device=A.device)
    Q = _orthonormal_basis(A @ G)
    for _ in range(niter):
        Q = _orthonormal_basis(A @ _orthonormal_basis(A.mT @ Q))
    return Q


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) with A - M ~ U diag(S) V^T of rank at most q (M: A's mean, broadcast; None: 0):
    B = Q^T A for Q an orthonormal basis of A's approximate range, then the SVD of the small B."""
    from .. import linalg

    if not isinstance(A, Tensor):
        raise TypeError(f"svd_lowrank(): argument 'A' must be Tensor, not {type(A).__name__}")
    q = 6 if q is None else q
    if M is not None:
        A = A - M
    Q = _range_basis(A, q, niter)
    Ub, S, Vh = linalg.svd(Q.mT @ A, full_matrices=False)
    return Q @ Ub, S, Vh.mT


def pca_lowrank(A, q=None, center=True, niter=2):
    """Principal components of the rows of A: svd_lowrank of A less its column means (when
    ``center``), with q = min(6, m, n) by default."""
    if not isinstance(A, Tensor):
        raise TypeError(f"pca_lowrank(): argument 'A' must be Tensor, not {type(A).__name__}")
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    return svd_lowrank(A, q, niter, A.mean(dim=-2, keepdim=True) if center else None)
