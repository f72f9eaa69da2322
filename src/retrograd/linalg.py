"""``retrograd.linalg``: torch.linalg's functions, each with its gradient formula.

Note: created by the linear-algebra engineer (issue #3) with the matrix functions
(inv det slogdet solve cholesky qr svd ...); the norms (vector_norm, matrix_norm, norm)
are added by the reductions engineer. Batched inputs ([..., m, n]) work everywhere.
Backward rules are written with tensor ops, so they are differentiable again.
"""

from .amp.autocast_mode import autocast_op
from collections import namedtuple
import functools

import numpy as np

from . import _backend
from ._backend import array_module
from ._float_warnings import silent
from .autograd.function import Function
from .ops import _batching
from .ops._broadcast import sum_to_shape
from .ops.linalg import diag_embed, diagonal, matmul, tril, triu
from .ops.linalg import chain_matmul as _chain_matmul
from .ops.reduction import linalg_norm as norm, matrix_norm, vector_norm  # the norms live with the reductions
from .tensor import Tensor
from .ops._kernel_dtypes import not_implemented_for, scalar_name
from .ops._out import CAST, COPY, NONE, SAME, takes_out

__all__ = ["inv", "inv_ex", "det", "slogdet", "solve", "cholesky", "cholesky_ex", "qr", "svd",
           "svdvals", "multi_dot", "matmul", "diagonal", "LinAlgError", "vector_norm", "matrix_norm", "norm"]


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a matrix was singular or not positive-definite."""


def _named(name, fields):
    cls = namedtuple(name, fields)
    cls.__module__ = "torch.return_types"
    cls.__repr__ = lambda self: f"torch.return_types.{name}(" + ",".join(
        f"\n{f}={v!r}" for f, v in zip(fields, self)) + ")"
    return cls


_slogdet = _named("slogdet", ["sign", "logabsdet"])
_qr = _named("qr", ["Q", "R"])
_svd = _named("svd", ["U", "S", "Vh"])
_inv_ex = _named("inv_ex", ["inverse", "info"])
_cholesky_ex = _named("cholesky_ex", ["L", "info"])


# LAPACK has no half-precision routines: torch refuses float16/bfloat16 with these errors
_LOW_PRECISION_KERNEL = {"det": "lu_cpu", "solve": "lu_cpu", "cholesky": "cholesky_cpu", "qr": "geqrf_cpu",
                         "svd": "linalg_svd_cpu", "eigh": "linalg_eigh_cpu"}


def _check_lapack_dtype(A, name):
    if A.dtype.name not in ("float16", "bfloat16"):
        return
    if name in _LOW_PRECISION_KERNEL:
        raise not_implemented_for(_LOW_PRECISION_KERNEL[name], A.dtype, "LAPACK has no half-precision routines: "
                                  "convert with .float() first")
    raise RuntimeError(f"linalg.{name}: Low precision dtypes not supported. Got "
                       f"{scalar_name(A.dtype)} (convert with .float() first)")


def _check_square(A, name, floating=True):
    if A.ndim < 2:
        raise RuntimeError(
            f"linalg.{name}: The input tensor A must have at least 2 dimensions (got shape {list(A.shape)})."
        )
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
            f"{A.shape[-1]} matrices"
        )
    if floating and not A.dtype.is_floating_point:
        raise RuntimeError(
            f"linalg.{name}: Expected a floating point or complex tensor as input. Got {scalar_name(A.dtype)} "
            "(convert with .float() or .double() first)"
        )


def _singular(name):
    return LinAlgError(
        f"linalg.{name}: The diagonal element is zero, the {name} could not be completed because "
        "the input matrix is singular."
    )


# ---------------------------------------------------------------------------- inverse, det


class Inv(Function):
    """Z = A^-1;  dA = -Z^T G Z^T."""
    _backward_name = "LinalgInvExBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim
    _autocast = {"cpu": "fp32"}

    @staticmethod
    def forward(ctx, A):
        _check_lapack_dtype(A, "inv")  # after autocast has cast A
        x = A._data
        xp = array_module(x)
        try:
            z = xp.linalg.inv(x)
        except np.linalg.LinAlgError:
            raise _singular("inv") from None
        out = Tensor._make(z)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def jvp(ctx, tA):
        """dZ = -Z dA Z."""
        Z = ctx._fw_results[0]
        return -(Z @ tA @ Z)

    @staticmethod
    def backward(ctx, g):
        (Z,) = ctx.saved_tensors
        Zt = Z.mT
        return -(Zt @ g @ Zt)


@takes_out(dtype=SAME)
def inv(A):
    """The inverse of square matrices; LinAlgError when singular."""
    _check_square(A, "inv")
    return Inv.apply(A)


@takes_out(dtype=SAME)
def inv_ex(A, *, check_errors=False):
    """(inverse, info): info is 0 where A was invertible."""
    _check_square(A, "inv_ex")
    xp = array_module(A._data)
    try:
        return _inv_ex(Inv.apply(A), Tensor._make(xp.zeros(A.shape[:-2], dtype=np.int32)))
    except LinAlgError:
        if check_errors:
            raise
        nan = Tensor._make(xp.full(A.shape, np.nan, dtype=A._data.dtype))
        return _inv_ex(nan, Tensor._make(xp.ones(A.shape[:-2], dtype=np.int32)))


class Det(Function):
    """d = det A;  dA = g d A^-T = g cofactor(A) (from the SVD when A is singular)."""
    _backward_name = "LinalgDetBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim

    @staticmethod
    def forward(ctx, A):
        _check_lapack_dtype(A, "det")  # after autocast has cast A
        with silent():  # (a matrix of infs has a nan determinant silently, as in torch)
            out = Tensor._make(array_module(A._data).linalg.det(A._data))
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def jvp(ctx, tA):
        """dd = <cof(A), dA>, cof(A) = d A^-T: backward's gradient for g = 1 (from the SVD where
        A is singular)."""
        d = ctx._fw_results[0]
        return (Det.backward(ctx, d.new_ones(d.shape)) * tA).sum((-2, -1))

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        if (d._data == 0).any():  # singular: the cofactor matrix from the SVD (first order only)
            xp = array_module(A._data)
            u, s, vh = xp.linalg.svd(A._data)
            n = s.shape[-1]
            others = xp.stack([xp.prod(xp.delete(s, i, axis=-1), axis=-1) for i in range(n)], -1) \
                if n else s
            sign = xp.linalg.det(u) * xp.linalg.det(vh)
            cof = (u * others[..., None, :]) @ vh * sign[..., None, None]
            return g.unsqueeze(-1).unsqueeze(-1) * Tensor._make(cof.astype(A._data.dtype))
        return (g * d).unsqueeze(-1).unsqueeze(-1) * inv(A).mT


@takes_out(dtype=SAME)
def det(A):
    """Determinant of square matrices."""
    _check_square(A, "det")
    return Det.apply(A)


class LogAbsDet(Function):
    """l = log|det A|;  dA = g A^-T."""
    _backward_name = "LinalgSlogdetBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim

    @staticmethod
    def forward(ctx, A):
        _check_lapack_dtype(A, "slogdet")  # after autocast has cast A
        with silent():
            sign, logabs = array_module(A._data).linalg.slogdet(A._data)
        ctx.save_for_backward(A)
        ctx.sign = sign
        return logabs

    @staticmethod
    def jvp(ctx, tA):
        """dl = trace(A^-1 dA)."""
        A = ctx._fw_args[0]
        return diagonal(Solve.apply(A, tA), 0, -2, -1).sum(-1)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        return g.unsqueeze(-1).unsqueeze(-1) * inv(A).mT


@takes_out(dtype=SAME)
def slogdet(A):
    """(sign, log|det A|); the log is differentiable, the sign is not."""
    _check_square(A, "slogdet")
    logabs = LogAbsDet.apply(A)
    sign = _batching.on_batch(_det_sign, A) if _batching.batched(A) else _det_sign(A)  # (vmap: the batch's at once)
    return _slogdet(sign, logabs)


def _det_sign(A):
    xp = array_module(A._data)
    with silent():
        return Tensor._make(xp.asarray(xp.linalg.slogdet(A._data)[0], dtype=A._data.dtype))


# ---------------------------------------------------------------------------- solve


class Solve(Function):
    """X = A^-1 B;  dB = A^-T G,  dA = -dB X^T (each summed over broadcast batch dims)."""
    _backward_name = "LinalgSolveExBackward0"  # torch's node name
    # batching rule: the batch dim first in A and B alike (B a matrix here), padded to one rank
    vmap = classmethod(_batching.elementwise)

    @staticmethod
    def forward(ctx, A, B):
        _check_lapack_dtype(A, "solve")  # after autocast has cast A
        xp = array_module(A._data)
        try:
            x = xp.linalg.solve(A._data, B._data)
        except np.linalg.LinAlgError:
            raise _singular("solve") from None
        except ValueError as e:
            raise RuntimeError(
                f"linalg.solve: incompatible shapes A {list(A.shape)} and B {list(B.shape)} ({e})"
            ) from None
        out = Tensor._make(x)
        ctx.save_for_backward(A, out)
        ctx.shapes = (A.shape, B.shape)
        return out

    @staticmethod
    def jvp(ctx, tA, tB):
        """dX = A^-1 (dB - dA X)."""
        A, B = ctx._fw_args
        return Solve.apply(A, tB - tA @ ctx._fw_results[0])

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        gB = Solve.apply(A.mT, g)
        gA = -(gB @ X.mT) if ctx.needs_input_grad[0] else None
        return (sum_to_shape(gA, ctx.shapes[0]) if gA is not None else None,
                sum_to_shape(gB, ctx.shapes[1]) if ctx.needs_input_grad[1] else None)


@takes_out(dtype=SAME)
@autocast_op({"cpu": "fp32"})
def solve(A, B, *, left=True):
    """X with A X = B (left=True) or X A = B; B may be a (batch of) vector(s)."""
    _check_square(A, "solve")
    if A.dtype != B.dtype:
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type {A.dtype} "
            f"and B of type {B.dtype} instead"
        )
    if not left:
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if vector:
        return Solve.apply(A, B.unsqueeze(-1)).squeeze(-1)
    return Solve.apply(A, B)


# ---------------------------------------------------------------------------- cholesky


def _phi(M):
    """The lower triangle of M with its diagonal halved."""
    return tril(M) - 0.5 * diag_embed(diagonal(M, 0, -2, -1))


class Cholesky(Function):
    """L with A = L L^T;  dA = sym(L^-T Phi(L^T G) L^-1), Phi = lower triangle, diagonal halved."""
    _backward_name = "LinalgCholeskyExBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim
    _autocast = {"cpu": "fp32"}

    @staticmethod
    def forward(ctx, A):
        _check_lapack_dtype(A, "cholesky")  # after autocast has cast A
        xp = array_module(A._data)
        try:
            L = xp.linalg.cholesky(A._data)
        except np.linalg.LinAlgError:
            raise LinAlgError(
                "linalg.cholesky: The factorization could not be completed because the input is not "
                "positive-definite."
            ) from None
        out = Tensor._make(L)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def jvp(ctx, tA):
        """dL = L phi(L^-1 dA L^-T), phi: the lower triangle with its diagonal halved."""
        L = ctx._fw_results[0]
        Linv = Inv.apply(L)
        return L @ _phi(Linv @ tA @ Linv.mT)

    @staticmethod
    def backward(ctx, g):
        (L,) = ctx.saved_tensors
        Linv = inv(L)
        S = Linv.mT @ _phi(L.mT @ g) @ Linv
        return 0.5 * (S + S.mT)


@takes_out(dtype=SAME)
def cholesky(A, *, upper=False):
    """Lower-triangular L with A = L L^T (upper=True: L^T)."""
    _check_square(A, "cholesky")
    L = Cholesky.apply(A)
    return L.mT if upper else L


@takes_out(dtype=SAME)
def cholesky_ex(A, *, upper=False, check_errors=False):
    """(L, info): info is 0 where the factorization succeeded."""
    xp = array_module(A._data)
    try:
        return _cholesky_ex(cholesky(A, upper=upper), Tensor._make(xp.zeros(A.shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
        nan = Tensor._make(xp.full(A.shape, np.nan, dtype=A._data.dtype))
        return _cholesky_ex(nan, Tensor._make(xp.ones(A.shape[:-2], np.int32)))


# ---------------------------------------------------------------------------- qr


class QR(Function):
    """A = Q R;  with M = triu(gR) R^T - Q^T gQ and N = M's upper triangle copied to the lower,
    dA = (gQ + Q N) R^-T  (m >= n, reduced, or square)."""
    _backward_name = "LinalgQrBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim
    _autocast = {"cpu": "fp32"}

    @staticmethod
    def forward(ctx, A, mode):
        _check_lapack_dtype(A, "qr")  # after autocast has cast A
        xp = array_module(A._data)
        q, r = xp.linalg.qr(A._data, mode=mode)
        Q, R = Tensor._make(q), Tensor._make(r)
        ctx.mode = mode
        ctx.mn = A.shape[-2:]
        ctx.save_for_backward(Q, R)
        return Q, R

    def _check_differentiable(ctx):
        m, n = ctx.mn
        if m < n or (ctx.mode == "complete" and m != n):
            raise NotImplementedError(
                f"The derivative of linalg.qr is implemented here for matrices with m >= n and "
                f"mode='reduced' (got a {m}x{n} matrix, mode={ctx.mode!r})"
            )

    @staticmethod
    def jvp(ctx, tA, *_):
        """With B = Q^T dA R^-1 and L its strictly lower triangle: Q^T dQ = L - L^T (skew) and
        dR R^-1 = B - L + L^T (upper), so dR = (B - L + L^T) R,  dQ = dA R^-1 - Q (B - L + L^T)."""
        ctx._check_differentiable()
        Q, R = ctx._fw_results
        dAR = solve(R.mT, tA.mT).mT  # dA R^-1 = (R^-T dA^T)^T
        B = Q.mT @ dAR
        L = tril(B, -1)
        W = B - L + L.mT
        return dAR - Q @ W, W @ R

    @staticmethod
    def backward(ctx, gQ, gR):
        Q, R = ctx.saved_tensors
        ctx._check_differentiable()
        M = triu(gR) @ R.mT - Q.mT @ gQ  # R's lower triangle is constant zero
        N = triu(M) + triu(M, 1).mT
        X = gQ + Q @ N
        # X R^-T = (R^-1 X^T)^T
        return solve(R, X.mT).mT, None


@takes_out(dtype=SAME)
def qr(A, mode="reduced"):
    """(Q, R) with A = Q R, Q orthonormal columns, R upper triangular."""
    if A.ndim < 2:
        raise RuntimeError(f"linalg.qr: The input tensor A must have at least 2 dimensions (got {A.ndim}).")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.qr: Expected a floating point or complex tensor as input. Got "
                           f"{scalar_name(A.dtype)} (convert with .float() or .double() first)")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
                           "(default), 'r', or 'complete'")
    if mode == "r":
        _check_lapack_dtype(A, "qr")
        xp = array_module(A._data)
        r = xp.linalg.qr(A._data, mode="r")
        return _qr(Tensor._make(xp.zeros(0, dtype=A._data.dtype)), Tensor._make(r))
    return _qr(*QR.apply(A, mode))


# ---------------------------------------------------------------------------- svd


class SVD(Function):
    """A = U diag(S) Vh (reduced);  with E_jk = S_k^2 - S_j^2 and skew(X) = X - X^T,
    dA = U [skew(U^T gU)/E S + S skew(V^T gV)/E + diag(gS)] Vh
         + (I - U U^T) gU S^-1 Vh + U S^-1 gV^T (I - V V^T)."""
    _backward_name = "LinalgSvdBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim
    _autocast = {"cpu": "fp32"}

    @staticmethod
    def forward(ctx, A, full_matrices):
        _check_lapack_dtype(A, "svd")  # after autocast has cast A
        xp = array_module(A._data)
        u, s, vh = xp.linalg.svd(A._data, full_matrices=full_matrices)
        U, S, Vh = Tensor._make(u), Tensor._make(s), Tensor._make(vh)
        ctx.full = full_matrices
        ctx.mn = A.shape[-2:]
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def jvp(ctx, tA, *_):
        """With dP = U^T dA V, F_jk = 1/(S_k^2 - S_j^2) (0 on the diagonal):  dS = diag(dP),
        dU = U (F o (dP S + S dP^T)) + (I - U U^T) dA V S^-1,
        dV = V (F o (S dP + dP^T S)) + (I - V V^T) dA^T U S^-1;
        as torch, the extra singular vectors of full_matrices=True (m != n) get zero tangents."""
        U, S, Vh = ctx._fw_results
        m, n = ctx.mn
        k = min(m, n)
        U, V = U[..., :k], Vh[..., :k, :].mT
        dP = U.mT @ tA @ V
        Ssq = S * S
        eye = Tensor._make(array_module(S._data).eye(k, dtype=S._data.dtype))
        F = (1 - eye) / (Ssq.unsqueeze(-2) - Ssq.unsqueeze(-1) + eye)
        Sr, Sc = S.unsqueeze(-2), S.unsqueeze(-1)  # S as a row (scales columns), as a column
        dU = U @ (F * (dP * Sr + Sc * dP.mT))
        dV = V @ (F * (Sc * dP + dP.mT * Sr))
        if m > k:
            dU = dU + (tA @ V - U @ dP) / Sr
        if n > k:
            dV = dV + (tA.mT @ U - V @ dP.mT) / Sr
        if ctx.full and m != n:  # zero columns (rows of dVh) for the vectors beyond the k-th
            from .ops.join import cat

            dU = cat([dU, dU.new_zeros(tuple(dU.shape[:-1]) + (m - dU.shape[-1],))], -1)
            dV = cat([dV, dV.new_zeros(tuple(dV.shape[:-1]) + (n - dV.shape[-1],))], -1)
        return dU, diagonal(dP, 0, -2, -1), dV.mT

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        m, n = ctx.mn
        k = min(m, n)
        if ctx.full and m != n:  # as torch: the k singular vectors of S only (the others are arbitrary)
            U, gU, Vh, gVh = U[..., :k], gU[..., :k], Vh[..., :k, :], gVh[..., :k, :]
        V, gV = Vh.mT, gVh.mT
        Ssq = S * S
        xp = array_module(S._data)
        eye = Tensor._make(xp.eye(k, dtype=S._data.dtype))
        E = Ssq.unsqueeze(-2) - Ssq.unsqueeze(-1) + eye  # E_jk = S_k^2 - S_j^2, 1 on the diagonal
        UtgU = U.mT @ gU
        VtgV = V.mT @ gV
        J = (UtgU - UtgU.mT) / E
        K = (VtgV - VtgV.mT) / E
        inner = J * S.unsqueeze(-2) + S.unsqueeze(-1) * K + diag_embed(gS)
        gA = U @ inner @ Vh
        if m > k:
            gA = gA + ((gU - U @ UtgU) / S.unsqueeze(-2)) @ Vh
        if n > k:
            gA = gA + U @ ((gV - V @ VtgV) / S.unsqueeze(-2)).mT
        return gA, None


@takes_out(dtype=SAME)
def svd(A, full_matrices=True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending. Gradients need full_matrices=False (or
    square A) and distinct singular values, as in torch."""
    if A.ndim < 2:
        raise RuntimeError(f"linalg.svd: The input tensor A must have at least 2 dimensions (got {A.ndim}).")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.svd: Expected a floating point or complex tensor as input. Got "
                           f"{scalar_name(A.dtype)} (convert with .float() or .double() first)")
    if driver is not None:  # torch: cuSOLVER's algorithms, on CUDA inputs only
        if A.device.type == "cpu":
            raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs "
                               "with cuSOLVER backend.")
        raise NotImplementedError(f"linalg.svd(driver={driver!r}): retrograd does not choose cuSOLVER's "
                                  "algorithm; leave driver unset")
    return _svd(*SVD.apply(A, full_matrices))


@takes_out(dtype=SAME)
def svdvals(A, *, driver=None):
    """The singular values, descending;  dA = U diag(g) Vh."""
    return svd(A, full_matrices=False, driver=driver).S


@takes_out(dtype=SAME)
@autocast_op({"cuda": "lower"})
def multi_dot(tensors):
    """tensors[0] @ tensors[1] @ ... (1-D ends are a row / a column vector)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first, last = tensors[0], tensors[-1]
    if first.ndim == 1:
        tensors[0] = first.unsqueeze(0)
    if last.ndim == 1:
        tensors[-1] = last.unsqueeze(-1)
    out = _chain_matmul(*tensors)
    if first.ndim == 1:
        out = out.squeeze(0)
    if last.ndim == 1:
        out = out.squeeze(-1)
    return out


@takes_out(dtype=SAME)
def cross(input, other, *, dim=-1):
    """linalg.cross: the cross product along ``dim`` (default -1)."""
    from .ops.linalg import cross as _cross

    return _cross(input, other, dim)


class Eigh(Function):
    """A = V diag(L) V^T (symmetric A, from its lower triangle);  with F_ij = 1/(L_j - L_i),
    dA = V (diag(gL) + F o (V^T gV)) V^T, symmetrized."""
    _backward_name = "LinalgEighBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim
    _autocast = {"cpu": "fp32"}

    @staticmethod
    def forward(ctx, A, uplo):
        _check_lapack_dtype(A, "eigh")  # after autocast has cast A
        xp = array_module(A._data)
        w, v = xp.linalg.eigh(A._data, UPLO=uplo)
        L, V = Tensor._make(w), Tensor._make(v)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def jvp(ctx, tA, *_):
        """With P = V^T dA V and F_ij = 1/(L_j - L_i) (0 on the diagonal):  dL = diag(P),
        dV = V (F o P) (as torch's, dA taken as given: symmetric tangents keep A symmetric)."""
        L, V = ctx._fw_results
        n = L.shape[-1]
        eye = Tensor._make(array_module(L._data).eye(n, dtype=L._data.dtype))
        F = (1 - eye) / (L.unsqueeze(-2) - L.unsqueeze(-1) + eye)
        P = V.mT @ tA @ V
        return diagonal(P, 0, -2, -1), V @ (F * P)

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        xp = array_module(L._data)
        n = L.shape[-1]
        eye = Tensor._make(xp.eye(n, dtype=L._data.dtype))
        diff = L.unsqueeze(-2) - L.unsqueeze(-1) + eye  # L_j - L_i, 1 on the diagonal
        F = (1 - eye) / diff
        inner = diag_embed(gL) + F * (V.mT @ gV)
        gA = V @ inner @ V.mT
        return 0.5 * (gA + gA.mT), None


_eigh = _named("eigh", ["eigenvalues", "eigenvectors"])


@takes_out(dtype=SAME)
def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors) of symmetric matrices (only the UPLO triangle is read).
    Gradients need distinct eigenvalues, as in torch."""
    _check_square(A, "eigh", floating=False)
    if not A.dtype.is_floating_point:  # (torch's kernel refuses it, not its input check)
        raise not_implemented_for("linalg_eigh_cpu", A.dtype, "eigh takes float tensors: convert with .float() or "
                                  ".double() first")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _eigh(*Eigh.apply(A, UPLO))


@takes_out(dtype=SAME)
def eigvalsh(A, UPLO="L"):
    """The eigenvalues (ascending) of symmetric matrices;  dA = V diag(g) V^T."""
    return eigh(A, UPLO).eigenvalues


@takes_out(dtype=SAME)
def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (left) or X A = B, reading only A's upper or lower triangle
    (its diagonal taken as 1 when unitriangular)."""
    _check_square(A, "solve_triangular", floating=False)
    if not A.dtype.is_floating_point:
        raise not_implemented_for("triangular_solve_cpu", A.dtype, "convert with .float() or .double() first")
    T = triu(A) if upper else tril(A)
    if unitriangular:
        xp = array_module(A._data)
        eye = Tensor._make(xp.eye(A.shape[-1], dtype=A._data.dtype))
        T = T * (1 - eye) + eye
    return solve(T, B, left=left)


@takes_out(dtype=SAME)
def matrix_power(A, n):
    """A^n by repeated squaring (n < 0: the inverse's power, for floating A only); a new tensor
    for every n (n = 1: a clone), of A's dtype, integers included."""
    _check_square(A, "matrix_power", floating=False)
    if n == 1:
        return A.clone()
    if n == 0:
        xp = array_module(A._data)
        return Tensor._make(xp.broadcast_to(xp.eye(A.shape[-1], dtype=A._data.dtype), A.shape).copy())
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


@takes_out(dtype=SAME)
@autocast_op("lower")
def vecdot(x, y, *, dim=-1):
    """sum(x * y) over ``dim`` (inputs broadcast); floating tensors only, as torch's."""
    for t in (x, y):
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"linalg.vecdot: Expected a floating point or complex tensor as input. Got "
                               f"{scalar_name(t.dtype)} (convert with .float() first)")
    return (x * y).sum(dim)


_ = matmul


def _whole_batch(fn):
    """Under vmap, run ``fn`` once on the batch (its tensors' batch dim one more leading dim of
    matrices) rather than per sample: for the functions that read their arrays' values (pivots,
    ranks, infos) between their ops."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        at = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not _batching.batched(*[args[i] for i in at]):
            return fn(*args, **kwargs)

        def call(*tensors):
            full = list(args)
            for i, t in zip(at, tensors):
                full[i] = t
            return fn(*full, **kwargs)

        return _batching.on_batch(call, *[args[i] for i in at])

    return run


# ---------------------------------------------------------------------------- pinv, matrix_rank, lstsq

__all__ += ["eigh", "eigvalsh", "solve_triangular", "matrix_power", "vecdot", "cross", "pinv", "matrix_rank",
            "lstsq", "matrix_exp", "lu_factor", "lu_factor_ex", "lu", "lu_solve", "solve_ex", "cond",
            "tensorinv", "tensorsolve", "vander", "householder_product"]


def _check_float_matrix(A, name, what="A"):
    """torch's checks of a linalg function taking (batches of) float matrices of any shape."""
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{scalar_name(A.dtype)} (convert with .float() or .double() first)")


def _tolerances(A, atol, rtol):
    """torch's rule: rtol defaults to eps * max(m, n) when atol is unset (or zero), else to 0;
    the threshold is max(atol, rtol * largest singular value). As arrays over the batch."""
    xp = array_module(A._data)
    eps = np.finfo(A._data.dtype).eps
    as_array = (lambda v: v._data if isinstance(v, Tensor) else xp.asarray(0.0 if v is None else v))
    atol_given = atol is not None and not (not isinstance(atol, Tensor) and atol == 0)
    if rtol is None:
        rtol = 0.0 if atol_given else eps * max(A.shape[-2:])
    return as_array(atol), as_array(rtol)


def _spectrum(A, hermitian):
    """The singular values (descending) of A's arrays, or the eigenvalues' absolute values when
    ``hermitian`` (from the lower triangle)."""
    xp = array_module(A._data)
    if hermitian:
        return xp.abs(xp.linalg.eigvalsh(A._data))
    return xp.linalg.svd(A._data, compute_uv=False)


def _cutoff(A, s, atol, rtol):
    """The threshold below which (or at which) singular values count as zero, per matrix."""
    xp = array_module(A._data)
    a, r = _tolerances(A, atol, rtol)
    smax = s.max(-1) if s.shape[-1] else xp.zeros(s.shape[:-1], s.dtype)
    return xp.maximum(a, r * smax)


class Pinv(Function):
    """P = A^+;  with the rank held fixed (Golub & Pereyra),
    dA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)."""
    _backward_name = "LinalgPinvBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        xp = array_module(A._data)
        a = A._data
        if hermitian:
            w, v = xp.linalg.eigh(a)
            cut = _cutoff(A, xp.abs(w), atol, rtol)[..., None]
            winv = xp.where(xp.abs(w) > cut, 1 / xp.where(w == 0, 1, w), 0)
            p = (v * winv[..., None, :]) @ xp.swapaxes(v, -1, -2)
        else:
            u, s, vh = xp.linalg.svd(a, full_matrices=False)
            cut = _cutoff(A, s, atol, rtol)[..., None]
            sinv = xp.where(s > cut, 1 / xp.where(s == 0, 1, s), 0)
            p = (xp.swapaxes(vh, -1, -2) * sinv[..., None, :]) @ xp.swapaxes(u, -1, -2)
        out = Tensor._make(p.astype(a.dtype))
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def jvp(ctx, tA, *_):
        """dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P."""
        A, P = ctx._fw_args[0], ctx._fw_results[0]
        return (-(P @ tA @ P) + P @ (P.mT @ tA.mT) @ (_eye_like(A, -2) - A @ P)
                + (_eye_like(A, -1) - P @ A) @ tA.mT @ (P.mT @ P))

    @staticmethod
    def backward(ctx, g):
        A, P = ctx.saved_tensors
        return (-(P.mT @ g @ P.mT) + (_eye_like(A, -2) - A @ P) @ g.mT @ (P @ P.mT)
                + (P.mT @ P) @ g.mT @ (_eye_like(A, -1) - P @ A)), None, None, None


def _eye_like(A, dim):
    """The identity of size A.shape[dim] in A's dtype."""
    n = A.shape[dim]
    return Tensor._make(array_module(A._data).eye(n, dtype=A._data.dtype))


@takes_out(dtype=CAST)
def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    """The Moore-Penrose pseudoinverse, from the SVD (the eigendecomposition of A's lower triangle
    when ``hermitian``): singular values <= max(atol, rtol * largest) count as zero. ``rcond``
    (positional, deprecated in torch): rtol, without atol."""
    if rcond is not None:
        _deprecated_tolerance("pinv", "rcond", atol, rtol)
        rtol = rcond
    if A.ndim < 2 or A.dtype.name not in ("float32", "float64"):
        raise RuntimeError(f"linalg.pinv({_TORCH_TYPE_NAME.get(A.dtype.name, A.dtype.name)}{{{list(A.shape)}}}): "
                           "expected a tensor with 2 or more dimensions of float, double, cfloat or cdouble types")
    if hermitian:
        _check_square(A, "pinv")
        A = tril(A) + tril(A, -1).mT  # only the lower triangle is read, as LAPACK's syevd
    return Pinv.apply(A, atol, rtol, bool(hermitian))


def _deprecated_tolerance(name, old, atol, rtol):
    """torch's TypeError when the deprecated positional tolerance comes with atol/rtol."""
    if atol is not None or rtol is not None:
        raise TypeError(f"linalg_{name}() received an invalid combination of arguments: the deprecated {old} "
                        f"cannot be given with atol or rtol (pass atol=/rtol= alone)")


_TORCH_TYPE_NAME = {"float16": "Half", "bfloat16": "BFloat16", "int64": "Long", "int32": "Int", "int16": "Short",
                    "int8": "Char", "uint8": "Byte", "bool": "Bool", "float32": "Float", "float64": "Double"}


@takes_out(dtype=CAST, grad=NONE)
@_whole_batch
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None):
    """The number of singular values (absolute eigenvalues when ``hermitian``) above
    max(atol, rtol * largest), as int64; rtol defaults to eps * max(m, n) without atol.
    ``tol`` (positional, deprecated in torch): atol, with rtol 0."""
    if tol is not None:
        _deprecated_tolerance("matrix_rank", "tol", atol, rtol)
        atol, rtol = tol, 0.0
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    if A.dtype.name not in ("float32", "float64"):
        raise RuntimeError(f"This function doesn't handle types other than float and double (got "
                           f"{scalar_name(A.dtype)}: convert with .float() or .double() first)")
    if hermitian:
        _check_square(A, "matrix_rank")
    s = _spectrum(A.detach(), hermitian)
    cut = _cutoff(A, s, atol, rtol)
    return Tensor._make((s > cut[..., None]).sum(-1).astype(np.int64))


_lstsq = _named("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


@_whole_batch
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def lstsq(A, B, rcond=None, *, driver=None):
    """min ||A X - B|| (the minimum-norm X where A is rank-deficient), torch's CPU drivers:
    gels (QR, full rank assumed; residuals whenever m > n, no rank), gelsy (rank from rcond, no
    residuals or singular values), gelsd and gelss (the SVD; residuals when m > n and A has full
    rank). gelsy, gelsd and gelss compute here alike, from the SVD: X = pinv(A) B, singular values
    <= rcond * largest (default eps * max(m, n)) count as zero. B may be a (batch of) vector(s)."""
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if B.ndim < 1:
        raise RuntimeError("torch.linalg.lstsq: other must have at least 1 dimension.")
    if A.dtype != B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
                           f"dtype {_TORCH_TYPE_NAME[A.dtype.name]} and other's dtype {_TORCH_TYPE_NAME[B.dtype.name]}")
    if A.dtype.name not in ("float32", "float64"):
        raise RuntimeError(f"torch.linalg.lstsq: Expected a floating point or complex tensor as input. Got "
                           f"{_TORCH_TYPE_NAME.get(A.dtype.name)} (convert with .float() or .double() first)")
    if driver is None:
        driver = "gelsy" if A.device.type == "cpu" else "gels"
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    if A.device.type != "cpu" and driver != "gels":
        raise RuntimeError("torch.linalg.lstsq: `driver` other than `gels` is not supported on CUDA")
    vector = B.ndim == A.ndim - 1
    if vector:
        B = B.unsqueeze(-1)
    if A.shape[-2] != B.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2) (got A "
                           f"{list(A.shape)} and B {list(B.shape if not vector else B.shape[:-1])})")
    m, n = A.shape[-2:]
    xp = array_module(A._data)
    empty = Tensor._make(xp.zeros(0, dtype=A._data.dtype))
    if driver == "gels":
        if m >= n:
            Q, R = qr(A)
            X = solve_triangular(R, Q.mT @ B, upper=True)
        else:
            Q, R = qr(A.mT)
            X = Q @ solve_triangular(R.mT, B, upper=False)
        rank, svals = Tensor._make(xp.zeros(0, dtype=np.int64)), empty
        full = True
    else:
        if rcond is None or rcond < 0:  # LAPACK: a negative rcond means machine precision
            rcond = None
        X = pinv(A, rtol=rcond) @ B
        s = _spectrum(A.detach(), False)
        rank_arr = (s > _cutoff(A, s, None, rcond)[..., None]).sum(-1).astype(np.int64)
        rank = Tensor._make(rank_arr)
        svals = Tensor._make(s) if driver in ("gelsd", "gelss") else empty
        full = bool((rank_arr == n).all())
    if m > n and driver != "gelsy" and full:
        residuals = ((A @ X - B) ** 2).sum(-2)
    else:
        residuals = empty
    if vector:
        X = X.squeeze(-1)
    return _lstsq(X, residuals, rank, svals)


# ---------------------------------------------------------------------------- matrix_exp

# the [13/13] Padé approximant of exp and the largest 1-norm it takes unscaled (Higham 2005)
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0,
           1.0)
_THETA13 = 5.371920351148152


def _expm(a):
    """exp of each matrix of the array a [..., n, n]: scaling by 2^-s, the [13/13] Padé
    approximant, s squarings (s per matrix, from its 1-norm)."""
    xp = array_module(a)
    if a.dtype.itemsize < 4:  # float16/bfloat16: in float32 (the Padé coefficients overflow half precision)
        return _expm(a.astype(np.float32)).astype(a.dtype)
    b = _PADE13
    norm1 = xp.abs(a).sum(-2).max(-1) if a.shape[-1] else xp.zeros(a.shape[:-2])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = xp.maximum(0, xp.ceil(xp.log2(norm1 / _THETA13)))
    s = xp.where(xp.isfinite(s), s, 0).astype(np.int64)
    a = a / (2.0 ** s)[..., None, None].astype(a.dtype)
    eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = xp.linalg.solve(v - u, v + u)
    for i in range(int(s.max()) if s.size else 0):
        r = xp.where((s > i)[..., None, None], r @ r, r)
    return r.astype(a.dtype)


def _block_exp_corner(A, E):
    """The upper-right block of exp([[A, E], [0, A]]): the derivative of exp at A along E."""
    from .ops.join import cat

    n = A.shape[-1]
    top = cat([A, E], -1)
    bottom = cat([A.new_zeros(tuple(A.shape)), A], -1)
    return MatrixExp.apply(cat([top, bottom], -2))[..., :n, n:]


class MatrixExp(Function):
    """Y = exp(A);  dA = the upper-right block of exp([[A^T, G], [0, A^T]])."""
    _backward_name = "LinalgMatrixExpBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return Tensor._make(_expm(A._data))

    @staticmethod
    def jvp(ctx, tA):
        """dY = the upper-right block of exp([[A, dA], [0, A]])."""
        A = ctx._fw_args[0]
        return _block_exp_corner(A, tA)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        return _block_exp_corner(A.mT, g)


def matrix_exp(A):
    """exp(A) = sum A^k / k! of square matrices (scaling and squaring, Padé [13/13])."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_exp: The input tensor A must have at least 2 dimensions.")
    _check_square(A, "matrix_exp")
    return MatrixExp.apply(A)


# ---------------------------------------------------------------------------- LU


def _lu_kernel(a):
    """LU with partial pivoting of each matrix of a [..., m, n] (all at once, column by column):
    (LU packed, pivots 1-based int32 as LAPACK's getrf, info: 1 + the first zero pivot's index, else 0)."""
    xp = array_module(a)
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    lu = a.reshape((-1, m, n)).copy()
    rows = xp.arange(lu.shape[0])
    piv = xp.empty((lu.shape[0], k), dtype=np.int32)
    info = xp.zeros(lu.shape[0], dtype=np.int32)
    for j in range(k):
        p = j + xp.argmax(xp.abs(lu[:, j:, j]), axis=1)
        piv[:, j] = p + 1
        row_j = lu[rows, j].copy()
        lu[rows, j] = lu[rows, p]
        lu[rows, p] = row_j
        pivot = lu[:, j, j]
        zero = pivot == 0
        info = xp.where(zero & (info == 0), j + 1, info).astype(np.int32)
        lu[:, j + 1:, j] /= xp.where(zero, 1, pivot)[:, None]  # a zero pivot's column is zero below it
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return lu.reshape(a.shape), piv.reshape(batch + (k,)), info.reshape(batch)


def _permutation(pivots, m, dtype, xp):
    """P [..., m, m] with A = P L U, from LAPACK's 1-based row interchanges."""
    batch = pivots.shape[:-1]
    flat = pivots.reshape((-1, pivots.shape[-1])) - 1
    perm = xp.tile(xp.arange(m), (flat.shape[0], 1))
    rows = xp.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        pj = perm[:, j].copy()
        perm[:, j] = perm[rows, p]
        perm[rows, p] = pj
    P = xp.zeros((flat.shape[0], m, m), dtype=dtype)
    P[rows[:, None], perm, xp.arange(m)[None, :]] = 1  # row perm[i] of A is row i of L U
    return P.reshape(batch + (m, m))


class LUFactor(Function):
    """A = P L U packed as LU = L - I + U (L [m, k], U [k, n], k = min(m, n)). With L1, U1 the
    square k x k blocks, gL, gU the strictly lower and the upper parts of G and
    M = tril(L1^T gL1, -1) + triu(gU1 U1^T):  dA = P L1^-T M U1^-T  (square A);
    tall A adds the rows below, G2 U1^-T, and -L2^T G2 to M's upper part;
    wide A adds the columns right, L1^-T G2, and -G2 U2^T to M's lower part."""
    _backward_name = "LinalgLuFactorExBackward0"  # torch's node name
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim

    @staticmethod
    def forward(ctx, A):
        lu, piv, info = _lu_kernel(A._data)
        LU, pivots, infos = Tensor._make(lu), Tensor._make(piv), Tensor._make(info)
        ctx.mark_non_differentiable(pivots, infos)
        ctx.save_for_backward(LU, pivots)
        return LU, pivots, infos

    def _factors(ctx, LU, pivots):
        """P [m, m], L [m, k], U [k, n] as tensors (L and U differentiable functions of LU)."""
        m, n = LU.shape[-2:]
        k = min(m, n)
        xp = array_module(LU._data)
        P = Tensor._make(_permutation(pivots._data, m, LU._data.dtype, xp))
        L = tril(LU[..., :, :k], -1) + Tensor._make(xp.eye(m, k, dtype=LU._data.dtype))
        return P, L, triu(LU[..., :k, :])

    @staticmethod
    def jvp(ctx, tA):
        """With C = P^T dA and X = L1^-1 C1 U1^-1: dL1 = L1 tril(X, -1), dU1 = triu(X) U1; tall A:
        dL2 = (C2 - L2 dU1) U1^-1; wide A: dU2 = L1^-1 (C2 - dL1 U2)."""
        from .ops.join import cat

        LU, pivots = ctx._fw_results[:2]
        P, L, U = ctx._factors(LU, pivots)
        m, n = LU.shape[-2:]
        k = min(m, n)
        C = P.mT @ tA
        L1, U1 = L[..., :k, :], U[..., :, :k]
        X = solve_triangular(U1, solve_triangular(L1, C[..., :k, :k], upper=False, unitriangular=True),
                             upper=True, left=False)
        dL1, dU1 = L1 @ tril(X, -1), triu(X) @ U1
        top = dL1 + dU1
        if m > n:
            dL2 = solve_triangular(U1, C[..., k:, :] - L[..., k:, :] @ dU1, upper=True, left=False)
            return cat([top, dL2], -2), None, None
        if n > m:
            dU2 = solve_triangular(L1, C[..., :, k:] - dL1 @ U[..., :, k:], upper=False, unitriangular=True)
            return cat([top, dU2], -1), None, None
        return top, None, None

    @staticmethod
    def backward(ctx, g, *_):
        from .ops.join import cat

        LU, pivots = ctx.saved_tensors
        P, L, U = ctx._factors(LU, pivots)
        m, n = LU.shape[-2:]
        k = min(m, n)
        L1, U1 = L[..., :k, :], U[..., :, :k]
        lower = L1.mT @ tril(g[..., :k, :k], -1)
        upper = triu(g[..., :k, :k]) @ U1.mT
        if m > n:
            G2 = g[..., k:, :]
            upper = upper - L[..., k:, :].mT @ G2
            rest = solve_triangular(U1.mT, G2, upper=False, left=False)  # G2 U1^-T
        if n > m:
            G2 = g[..., :, k:]
            lower = lower - G2 @ U[..., :, k:].mT
            rest = solve_triangular(L1.mT, G2, upper=True, unitriangular=True)  # L1^-T G2
        M = tril(lower, -1) + triu(upper)
        # L1^-T M U1^-T
        gC = solve_triangular(U1.mT, solve_triangular(L1.mT, M, upper=True, unitriangular=True),
                              upper=False, left=False)
        if m != n:
            gC = cat([gC, rest], -2 if m > n else -1)
        return P @ gC


_lu_factor = _named("lu_factor", ["LU", "pivots"])
_lu_factor_ex = _named("lu_factor_ex", ["LU", "pivots", "info"])
_lu = _named("lu", ["P", "L", "U"])


def _check_lu_input(A, name, pivot):
    if A.ndim < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} "
                           "instead")
    _check_lapack_dtype(A, "solve")  # torch names its kernel lu_cpu
    if not A.dtype.is_floating_point:  # (torch's kernel refuses it, not its input check)
        raise not_implemented_for("lu_cpu", A.dtype, f"{name} takes float tensors: convert with .float() or "
                                  ".double() first")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


@takes_out(dtype=SAME)
@_whole_batch
def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """(LU, pivots, info): partial pivoting, L (unit lower, below the diagonal) and U packed in
    LU, pivots 1-based int32 as LAPACK's; info > 0 where a U[i, i] is exactly zero."""
    _check_lu_input(A, "linalg.lu_factor_ex", pivot)
    LU, pivots, info = LUFactor.apply(A)
    if check_errors:
        _check_pivots("lu_factor_ex", info)
    return _lu_factor_ex(LU, pivots, info)


@takes_out(dtype=SAME)
@_whole_batch
def lu_factor(A, *, pivot=True):
    """(LU, pivots) of lu_factor_ex; a singular matrix raises, as torch's."""
    _check_lu_input(A, "linalg.lu_factor", pivot)
    LU, pivots, info = LUFactor.apply(A)
    _check_pivots("lu_factor", info)
    return _lu_factor(LU, pivots)


def _check_pivots(name, info):
    """torch's RuntimeError (not a LinAlgError) for the first matrix with a zero pivot."""
    bad = info._data.reshape(-1)
    if (bad > 0).any():
        i = int(bad[bad > 0][0])
        where = "" if info.ndim == 0 else f"(Batch element {int(np.argmax(bad > 0))}): "
        raise RuntimeError(f"torch.linalg.{name}: {where}U[{i},{i}] is zero and using it on lu_solve would result "
                           "in a division by zero. If you still want to perform the factorization, consider "
                           "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


@takes_out(dtype=SAME)
@_whole_batch
def lu(A, *, pivot=True):
    """(P, L, U) with A = P L U: L [..., m, k] unit lower, U [..., k, n] upper, k = min(m, n)."""
    _check_lu_input(A, "linalg.lu", pivot)
    LU, pivots, _ = LUFactor.apply(A)
    m, n = A.shape[-2:]
    k = min(m, n)
    xp = array_module(A._data)
    P = Tensor._make(_permutation(pivots._data, m, A._data.dtype, xp))
    eye = Tensor._make(xp.eye(m, k, dtype=A._data.dtype))
    return _lu(P, tril(LU[..., :, :k], -1) + eye, triu(LU[..., :k, :]))


@takes_out(dtype=SAME)
@_whole_batch
@autocast_op("keep")  # one kernel in torch, without a policy: its matmul is not cast
def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """X with A X = B from lu_factor's (LU, pivots) (left=False: X A = B; adjoint: A^T for A)."""
    if B.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    if LU.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor LU must have at least 2 dimensions.")
    if LU.shape[-1] != LU.shape[-2]:
        raise RuntimeError(f"linalg.lu_solve: A must be batches of square matrices, but they are {LU.shape[-2]} by "
                           f"{LU.shape[-1]} matrices")
    if pivots.dtype.name != "int32":
        raise RuntimeError(f"linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32 (got {pivots.dtype})")
    if LU.dtype != B.dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
                           f"{LU.dtype} and B of type {B.dtype} instead")
    n = LU.shape[-1]
    if (left and B.shape[-2] != n) or (not left and B.shape[-1] != n):
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError(f"linalg.lu_solve: Expected LU.shape[:-1] and pivots.shape to be the same, but got "
                           f"pivots with shape {list(pivots.shape)} instead")
    piv = pivots._data
    if piv.size and (piv.min() < 1 or piv.max() > n):
        raise RuntimeError("Pivots given to lu_solve must all be greater or equal to 1. Did you properly pass the "
                           "result of lu_factor?" if piv.min() < 1 else
                           f"Pivots given to lu_solve must all be smaller or equal to LU.size(-2) = {n}. Did you "
                           "properly pass the result of lu_factor?")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    P = Tensor._make(_permutation(piv, n, LU._data.dtype, array_module(LU._data)))
    if adjoint:  # A^T X = B with A^T = U^T L^T P^T
        Y = solve_triangular(LU.mT, B, upper=False)
        return P @ solve_triangular(LU.mT, Y, upper=True, unitriangular=True)
    Y = solve_triangular(LU, P.mT @ B, upper=False, unitriangular=True)
    return solve_triangular(LU, Y, upper=True)


_solve_ex = _named("solve_ex", ["result", "info"])


@takes_out(dtype=SAME)
@_whole_batch
def solve_ex(A, B, *, left=True, check_errors=False):
    """(result, info) of solve: info is 0 where A was invertible, else the index (from 1) of U's
    first zero pivot and result is what the factorization gives (inf/nan), as torch's."""
    _check_square(A, "solve_ex")
    info = _lu_kernel(A._data)[2]
    if not (info > 0).any():
        result = solve(A, B, left=left)
        return _solve_ex(result, Tensor._make(info))
    if check_errors:
        raise LinAlgError("torch.linalg.solve_ex: The solver failed because the input matrix is singular.")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    a, b = (A._data, B._data[..., None] if vector else B._data) if left else (A._data.swapaxes(-1, -2),
                                                                              B._data.swapaxes(-1, -2))
    lu, piv, _ = _lu_kernel(a)
    x = _lu_substitute(lu, piv, b)
    x = x[..., 0] if vector else (x if left else x.swapaxes(-1, -2))
    return _solve_ex(Tensor._make(x), Tensor._make(info))


def _lu_substitute(lu, piv, b):
    """X = U^-1 L^-1 P^T B on arrays, column by column as LAPACK's getrs: a zero U[i, i] gives
    inf and nan (what solve_ex returns for a singular A) instead of an error."""
    xp = array_module(lu)
    shape = xp.broadcast_shapes(lu.shape[:-2], b.shape[:-2])
    n = lu.shape[-1]
    lu = xp.broadcast_to(lu, shape + (n, n))
    x = xp.broadcast_to(b, shape + tuple(b.shape[-2:])).copy()
    piv = xp.broadcast_to(piv, shape + (n,))
    index = xp.indices(shape)
    for j in range(n):  # the row interchanges, in order
        p = piv[..., j] - 1
        xj = x[..., j, :].copy()
        x[..., j, :] = x[(*index, p)]
        x[(*index, p)] = xj
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(n):  # L y = P^T b (unit diagonal)
            x[..., j + 1:, :] -= lu[..., j + 1:, j, None] * x[..., j, None, :]
        for j in reversed(range(n)):  # U x = y
            x[..., j, :] /= lu[..., j, j, None]
            x[..., :j, :] -= lu[..., :j, j, None] * x[..., j, None, :]
    return x


# ---------------------------------------------------------------------------- cond, tensorinv, tensorsolve


_COND_P = (None, 2, -2, 1, -1, float("inf"), float("-inf"), "fro", "nuc")


@takes_out(dtype=CAST, grad=COPY)  # composite in torch
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def cond(A, p=None):
    """The condition number: s_max / s_min for p in (None, 2), s_min / s_max for -2 (any shape);
    else (square A) matrix_norm(A, p) * matrix_norm(A^-1, p), inf where A is singular."""
    if p not in _COND_P:
        if isinstance(p, str):
            _check_square(A, f"cond(ord={p})")
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    _check_float_matrix(A, "linalg.cond")
    if p in (None, 2, -2):
        s = svdvals(A)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    _check_square(A, f"cond(ord={p})")
    inverse, info = inv_ex(A)
    value = matrix_norm(A, p) * matrix_norm(inverse, p)
    if (info._data > 0).any():
        value = value.masked_fill(Tensor._make(info._data > 0), float("inf"))
    return value


def _prod(shape):
    out = 1
    for s in shape:
        out *= s
    return out


@takes_out(dtype=CAST, grad=COPY)  # composite in torch
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def tensorinv(A, ind=2):
    """The inverse with respect to tensordot(., ., ind): reshaped to (prod(shape[:ind]),
    prod(shape[ind:])), inverted, reshaped to shape[ind:] + shape[:ind]."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if _prod(rows) != _prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {_prod(cols)} != {_prod(rows)}")
    return inv(A.reshape(_prod(rows), _prod(cols))).reshape(cols + rows)


@takes_out(dtype=CAST, grad=COPY)  # composite in torch
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def tensorsolve(A, B, dims=None):
    """X with tensordot(A, X, X.ndim) = B, X of shape A.shape[B.ndim:]; ``dims``: A's dims moved
    to the end first."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        keep = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(*(keep + dims))
    rest = tuple(A.shape[B.ndim:])
    if _prod(rest) != B.numel():
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {_prod(rest)} != {B.numel()} (A "
                           f"{list(A.shape)}, B {list(B.shape)})")
    return solve(A.reshape(_prod(A.shape[:B.ndim]), _prod(rest)), B.reshape(-1)).reshape(rest)


# ---------------------------------------------------------------------------- vander, householder_product


def vander(x, *, N=None):
    """[..., n, N] with columns x^0, x^1, ... x^(N-1) (N defaults to x.shape[-1]), as a running
    product (differentiable at 0); integers give int64, as torch's."""
    from .ops.join import cat

    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least 1 dimension (got a 0-d tensor)")
    if x.dtype.name == "bool":
        raise RuntimeError("linalg.vander supports floating point, complex, and integer tensors, but got Bool")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError(f"N must be greater than 1. (got N={n})")
    cols = x.unsqueeze(-1).expand(tuple(x.shape) + (n - 1,))
    return cat([x.new_ones(tuple(x.shape) + (1,)).to(cols.dtype), cols], -1).cumprod(-1)


@takes_out(dtype=CAST)
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def householder_product(A, tau):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i A's i-th column below the
    diagonal with 1 on it (LAPACK's orgqr): products of tensor ops, differentiable in both."""
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.householder_product: input must have at least 2 dimensions.")
    m, n = A.shape[-2:]
    k = tau.shape[-1] if tau.ndim else 0
    if m < n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-2] must be greater than or equal to "
                           f"input.shape[-1] (got {m} < {n})")
    if tau.ndim != A.ndim - 1:
        raise RuntimeError("torch.linalg.householder_product: Expected tau to have one dimension less than input, "
                           f"but got tau.ndim equal to {tau.ndim} and input.ndim is equal to {A.ndim}")
    if k > n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-1] must be greater than or equal to "
                           f"tau.shape[-1] (got {n} < {k})")
    if A.dtype != tau.dtype:
        raise RuntimeError(f"torch.linalg.householder_product: tau dtype {scalar_name(tau.dtype)} does not match "
                           f"input dtype {scalar_name(A.dtype)}")
    V = tril(A, -1) + _eye_like(A, -2)[:, :n]
    Q = _eye_like(A, -2)[:, :n].expand(tuple(A.shape[:-2]) + (m, n))
    for i in reversed(range(k)):  # Q = H_1 (H_2 (... H_k I))
        v = V[..., :, i:i + 1]
        Q = Q - tau[..., i, None, None] * (v @ (v.mT @ Q))
    return Q


# ---------------------------------------------------------------------------- LDL^T (Bunch-Kaufman)

__all__ += ["ldl_factor", "ldl_factor_ex", "ldl_solve"]

_BK_ALPHA = (1 + 17 ** 0.5) / 8  # Bunch-Kaufman's pivot threshold


def _bunch_kaufman(a):
    """A = P L D L^T P^T of one symmetric matrix from its lower triangle, by the Bunch-Kaufman
    diagonal pivoting of LAPACK's sytf2 (lower): (LD, pivots 1-based, info). D has 1x1 and 2x2
    blocks; a 2x2 block at k, k+1 gives pivots[k] = pivots[k+1] = -(row swapped with k+1) - 1."""
    n = a.shape[-1]
    A = np.tril(a).astype(a.dtype, copy=True)
    piv = np.zeros(n, dtype=np.int32)
    info = 0
    k = 0
    while k < n:
        step, absakk = 1, abs(A[k, k])
        imax = k + 1 + int(np.argmax(np.abs(A[k + 1:, k]))) if k < n - 1 else k
        colmax = abs(A[imax, k]) if k < n - 1 else 0.0
        if max(absakk, colmax) == 0:  # a zero column: D[k, k] = 0, nothing to eliminate
            info = info or k + 1
            piv[k] = k + 1
            k += 1
            continue
        kp = k
        if absakk < _BK_ALPHA * colmax:
            rowmax = np.abs(A[imax, k:imax]).max()  # row imax left of the diagonal
            if imax < n - 1:
                rowmax = max(rowmax, np.abs(A[imax + 1:, imax]).max())
            if absakk >= _BK_ALPHA * colmax * (colmax / rowmax):
                kp = k
            elif abs(A[imax, imax]) >= _BK_ALPHA * rowmax:
                kp = imax
            else:
                kp, step = imax, 2
        kk = k + step - 1
        if kp != kk:  # symmetric interchange of rows/columns kk and kp in the trailing lower triangle
            A[kp + 1:, [kk, kp]] = A[kp + 1:, [kp, kk]]
            between = np.arange(kk + 1, kp)
            A[between, kk], A[kp, between] = A[kp, between].copy(), A[between, kk].copy()
            A[kk, kk], A[kp, kp] = A[kp, kp], A[kk, kk]
            if step == 2:
                A[k + 1, k], A[kp, k] = A[kp, k], A[k + 1, k]
        if step == 1:
            x = A[k + 1:, k].copy()
            A[k + 1:, k + 1:] -= np.tril(np.outer(x, x) / A[k, k])
            A[k + 1:, k] = x / A[k, k]
            piv[k] = kp + 1
        else:
            D = np.array([[A[k, k], A[k + 1, k]], [A[k + 1, k], A[k + 1, k + 1]]])
            W = A[k + 2:, k:k + 2].copy()
            Lw = np.linalg.solve(D, W.T).T  # W D^-1 (D symmetric)
            A[k + 2:, k + 2:] -= np.tril(Lw @ W.T)
            A[k + 2:, k:k + 2] = Lw
            piv[k] = piv[k + 1] = -(kp + 1)
        k += step
    return A, piv, info


def _ldl_arrays(a):
    flat = a.reshape((-1,) + a.shape[-2:])
    parts = [_bunch_kaufman(m) for m in flat]
    batch = a.shape[:-2]
    return (np.stack([p[0] for p in parts]).reshape(a.shape) if parts else a.copy(),
            np.stack([p[1] for p in parts]).reshape(batch + a.shape[-1:]) if parts else
            np.zeros(batch + a.shape[-1:], np.int32),
            np.array([p[2] for p in parts], dtype=np.int32).reshape(batch))


_ldl_factor_ex = _named("ldl_factor_ex", ["LD", "pivots", "info"])
_ldl_factor = _named("ldl_factor", ["LD", "pivots"])


def _no_derivative_out(fn):
    """For ops without a derivative that take out=: inputs that require grad are read as plain
    values when out is given (torch writes out then, and refuses only an out that requires grad)."""
    @functools.wraps(fn)
    def run(*args, out=None, **kwargs):
        if out is not None:
            args = [a.detach() if isinstance(a, Tensor) else a for a in args]
        return fn(*args, out=out, **kwargs)

    return run


class LDLFactor(Function):
    """Bunch-Kaufman LDL^T: not differentiable, as in torch (backward raises its error)."""

    @staticmethod
    def forward(ctx, A):
        dev = _backend.device_of(A._data)  # (on a GPU: factored on the host, the results sent back)
        LD, piv, info = (Tensor._make(_backend.to_device(x, dev))
                         for x in _ldl_arrays(_backend.to_device(A._data, _backend.CPU)))
        ctx.mark_non_differentiable(piv, info)
        return LD, piv, info

    @staticmethod
    def jvp(ctx, *_):
        raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")

    @staticmethod
    def backward(ctx, *_):
        raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")


@_no_derivative_out
@takes_out(dtype=SAME)
def ldl_factor_ex(A, *, hermitian=False, check_errors=False):
    """(LD, pivots, info): A = P L D L^T P^T of symmetric matrices read from the lower triangle
    (LAPACK's sytrf; ``hermitian`` is the same factorization for real matrices), D block-diagonal
    with 1x1 and 2x2 blocks; info > 0 where a D block is exactly singular. In NumPy on the host,
    a loop over the batch's matrices; no derivative (none in torch either)."""
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.ldl_factor_ex: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.ldl_factor_ex: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if A.dtype.name in ("float16", "bfloat16"):
        raise not_implemented_for("ldl_factor_kernel_cpu", A.dtype, "LAPACK has no half-precision routines: "
                                  "convert with .float() first")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"torch.linalg.ldl_factor_ex: Expected a floating point or complex tensor as input. Got "
                           f"{scalar_name(A.dtype)} (convert with .float() or .double() first)")
    _ = bool(hermitian)  # real matrices: the symmetric and Hermitian factorizations are one
    LD, pivots, info = LDLFactor.apply(A)
    if check_errors and (info._data > 0).any():
        raise LinAlgError(f"torch.linalg.ldl_factor_ex: the block D[{int(info._data.max())}] of the factorization "
                          "is exactly singular (the matrix is singular)")
    return _ldl_factor_ex(LD, pivots, info)


@_no_derivative_out
@takes_out(dtype=SAME)
def ldl_factor(A, *, hermitian=False):
    """(LD, pivots) of ldl_factor_ex; an exactly singular D raises LinAlgError."""
    LD, pivots, _ = ldl_factor_ex(A, hermitian=hermitian, check_errors=True)
    return _ldl_factor(LD, pivots)


def _ldl_substitute(ld, piv, b):
    """X with A X = B from one matrix's (LD, pivots) (LAPACK's sytrs, lower)."""
    n = ld.shape[-1]
    x = b.copy()
    k = 0
    while k < n:  # P L D: interchanges, then L's columns, then D's blocks
        if piv[k] > 0:
            p = piv[k] - 1
            x[[k, p]] = x[[p, k]]
            x[k + 1:] -= np.outer(ld[k + 1:, k], x[k])
            x[k] /= ld[k, k]
            k += 1
        else:
            p = -piv[k] - 1
            x[[k + 1, p]] = x[[p, k + 1]]
            x[k + 2:] -= ld[k + 2:, k:k + 2] @ x[k:k + 2]
            D = np.array([[ld[k, k], ld[k + 1, k]], [ld[k + 1, k], ld[k + 1, k + 1]]])
            x[k:k + 2] = np.linalg.solve(D, x[k:k + 2])
            k += 2
    k = n - 1
    while k >= 0:  # L^T P^T, backwards
        if piv[k] > 0:
            x[k] -= ld[k + 1:, k] @ x[k + 1:]
            p = piv[k] - 1
            x[[k, p]] = x[[p, k]]
            k -= 1
        else:
            x[k - 1:k + 1] -= ld[k + 1:, k - 1:k + 1].T @ x[k + 1:]
            p = -piv[k] - 1
            x[[k, p]] = x[[p, k]]
            k -= 2
    return x


class LDLSolve(Function):
    """X from ldl_factor's (LD, pivots): not differentiable, as in torch."""

    @staticmethod
    def forward(ctx, LD, pivots, B):
        shape = np.broadcast_shapes(LD.shape[:-2], pivots.shape[:-1], B.shape[:-2])
        n = LD.shape[-1]
        dev = _backend.device_of(B._data)  # (on a GPU: solved on the host, the result sent back)
        host = [_backend.to_device(t._data, _backend.CPU) for t in (LD, pivots, B)]
        ld = np.broadcast_to(host[0], shape + (n, n)).reshape(-1, n, n)
        piv = np.broadcast_to(host[1], shape + (n,)).reshape(-1, n)
        b = np.broadcast_to(host[2], shape + tuple(B.shape[-2:])).reshape((-1,) + tuple(B.shape[-2:]))
        x = [_ldl_substitute(ld[i], piv[i].astype(np.int64), b[i]) for i in range(b.shape[0])]
        x = np.stack(x).reshape(shape + tuple(B.shape[-2:])) if x else np.zeros(shape + tuple(B.shape[-2:]), b.dtype)
        return Tensor._make(_backend.to_device(x, dev))

    @staticmethod
    def jvp(ctx, *_):
        raise RuntimeError("derivative for aten::linalg_ldl_solve is not implemented")

    @staticmethod
    def backward(ctx, *_):
        raise RuntimeError("derivative for aten::linalg_ldl_solve is not implemented")


@_no_derivative_out
@takes_out(dtype=SAME)
def ldl_solve(LD, pivots, B, *, hermitian=False):
    """X with A X = B from ldl_factor's (LD, pivots) (``hermitian``: the same for real matrices);
    no derivative (none in torch either)."""
    if B.ndim < 2:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -2) (ldl_solve: B "
                         f"must have at least 2 dimensions, got shape {list(B.shape)})")
    if LD.shape[-1] != B.shape[-2]:
        raise RuntimeError(f"Incompatible matrix sizes for torch.linalg.ldl_solve: each A matrix is {LD.shape[-2]} by "
                           f"{LD.shape[-1]} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    if LD.dtype != B.dtype:
        raise RuntimeError(f"torch.linalg.ldl_solve: Expected LD and B to have the same dtype, but got LD with dtype "
                           f"{scalar_name(LD.dtype)} and B with dtype {scalar_name(B.dtype)} instead")
    _ = bool(hermitian)  # real matrices: the symmetric and Hermitian solves are one
    return LDLSolve.apply(LD, pivots, B)
