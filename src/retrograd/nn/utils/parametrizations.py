"""Parametrizations built on ``parametrize``: ``weight_norm`` (w = g v / ||v||),
``spectral_norm`` (w / sigma_max(w), sigma by power iteration in training mode) and
``orthogonal`` (an orthogonal matrix from the matrix exponential, the Cayley map or a product
of Householder reflections)."""

import numpy as np

from ... import _backend, linalg
from ...autograd.grad_mode import no_grad
from ...creation import eye, randn, zeros
from ...ops.join import cat as _cat
from ...random import _rng
from ...tensor import Tensor
from ..modules.module import Module
from . import parametrize
from .weight_norm import norm_except_dim

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]
EXPORTS = []


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim).detach(), weight.detach()


def weight_norm(module, name="weight", dim=0):
    """``module.<name>`` = g * v / ||v|| with originals ``parametrizations.<name>.original0``
    (g) and ``original1`` (v)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


def _normalize(a, eps):
    xp = _backend.array_module(a)
    return a / xp.maximum(xp.sqrt((a * a).sum()), eps)  # (on a device the norm stays there)


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            rng = _rng()
            xp = _backend.array_module(weight._data)
            dt = weight._data.dtype
            self.register_buffer("_u", Tensor._make(xp.asarray(_normalize(rng.normal(size=h), eps).astype(dt))))
            self.register_buffer("_v", Tensor._make(xp.asarray(_normalize(rng.normal(size=w), eps).astype(dt))))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, mat, n):
        with no_grad():
            w = mat._data
            u, v = self._u, self._v
            for _ in range(n):
                u._data[...] = _normalize(w @ v._data, self.eps)
                v._data[...] = _normalize(w.T @ u._data, self.eps)
            u._vc[0] += 1
            v._vc[0] += 1

    def forward(self, weight):
        if weight.ndim == 1:
            from .. import functional as F

            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u = Tensor._make(self._u._data.copy())
        v = Tensor._make(self._v._data.copy())
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """``module.<name>`` divided by its largest singular value (buffers
    ``parametrizations.<name>.0._u`` / ``_v``)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _orthonormalized(A):
    """The Q of A = QR with R's diagonal positive: Gram-Schmidt on A's columns."""
    q, r = linalg.qr(A)
    return q * r.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


def _is_orthogonal(Q):
    k = Q.shape[-1]
    return bool(((Q.mT @ Q) - eye(k, dtype=Q.dtype, device=Q.device)).abs().max() <= 1e-5)


class _Orthogonal(Module):
    """Maps the stored matrix X (n x k, read as its transpose when wide) to an orthogonal one:
    the first k columns of exp(S) or of the Cayley transform (I - S/2)^-1 (I + S/2) of the
    skew-symmetric S built from X's strictly lower triangle, or the Householder reflections whose
    vectors are X's columns below the diagonal, each column's sign the integer part of X's
    diagonal. With a ``base`` buffer (trivialization) the result is ``base`` times that: X then
    starts at -I, where every map gives I, and assigning Q sets ``base`` to Q."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        wide = X.shape[-2] < X.shape[-1]
        if wide:
            X = X.mT
        n, k = X.shape[-2:]
        if self.orthogonal_map == "householder":
            V = X.tril(-1)
            tau = 2.0 / (1.0 + (V * V).sum(dim=-2))
            Q = linalg.householder_product(V, tau) * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        else:
            S = X.tril(-1)
            if n > k:
                S = _cat([S, zeros(*S.shape[:-1], n - k, dtype=S.dtype, device=S.device)], dim=-1)
            S = S - S.mT
            if self.orthogonal_map == "matrix_exp":
                Q = linalg.matrix_exp(S)
            else:
                I = eye(n, dtype=S.dtype, device=S.device)
                Q = linalg.solve(I - S / 2, I + S / 2)
            Q = Q[..., :k]
        if hasattr(self, "base"):
            Q = self.base @ Q
        return Q.mT if wide else Q

    def right_inverse(self, Q):
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        given = Q
        wide = Q.shape[-2] < Q.shape[-1]
        if wide:
            Q = Q.mT
        n, k = Q.shape[-2:]
        if not hasattr(self, "base"):
            if self.orthogonal_map != "householder":
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential or the Cayley parametrizations "
                    "when use_trivialization=False.")
            X = _householder_vectors(Q)
            return X.mT if wide else X
        if n > k:  # complete Q's columns to an orthogonal n x n basis
            extra = randn(*Q.shape[:-1], n - k, dtype=Q.dtype, device=Q.device)
            Q = _orthonormalized(_cat([Q, extra], dim=-1))
        else:
            Q = Q.clone() if _is_orthogonal(Q) else _orthonormalized(Q)
        self.base = Q
        minus_identity = zeros(*given.shape, dtype=given.dtype, device=given.device)
        minus_identity.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return minus_identity


def _householder_vectors(Q):
    """X with Householder vectors below the diagonal (LAPACK's geqrf of Q) and on it the signs
    that make ``_Orthogonal.forward(X)`` give back Q's QR factor Q."""
    a = np.ascontiguousarray(Q.detach().cpu().numpy())
    raw, tau = np.linalg.qr(a, mode="raw")  # LAPACK geqrf, its result transposed
    x = np.swapaxes(raw, -1, -2).copy()
    k = x.shape[-1]
    diag = np.sign(np.diagonal(x, axis1=-2, axis2=-1))
    diag = np.where(tau == 0, -diag, diag)  # H = I there, where forward's tau = 2 reflects
    idx = np.arange(k)
    x[..., idx, idx] = diag
    return Tensor._make(_backend.to_device(x.astype(a.dtype, copy=False), Q.device))


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Make ``module.<name>`` (a matrix or a batch of them) orthogonal: Q^T Q = I when tall,
    Q Q^T = I when wide. ``orthogonal_map``: "matrix_exp" (the default for square matrices),
    "cayley" or "householder" (the default otherwise). With ``use_trivialization`` the
    parametrization also keeps an orthogonal ``base`` (``parametrizations.<name>.0.base``)
    it multiplies, which assignments to ``module.<name>`` set."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
