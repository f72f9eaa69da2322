"""``retrograd.linalg``: torch.linalg's functions, each with its gradient formula.

Note: created by the linear-algebra engineer (issue #3) with the matrix functions
(inv det slogdet solve cholesky qr svd ...); the norms (vector_norm, matrix_norm, norm)
are added by the reductions engineer. Batched inputs ([..., m, n]) work everywhere.
Backward rules are written with tensor ops, so they are differentiable again.
"""

from .amp.autocast_mode import autocast_op
from collections import namedtuple

import numpy as np

from ._backend import array_module
from .autograd.function import Function
from .ops import _batching
from .ops._broadcast import sum_to_shape
from .ops.linalg import diag_embed, diagonal, matmul, tril, triu
from .ops.linalg import chain_matmul as _chain_matmul
from .ops.reduction import linalg_norm as norm, matrix_norm, vector_norm  # the norms live with the reductions
from .tensor import Tensor
from .ops._kernel_dtypes import not_implemented_for, scalar_name
from .ops._out import SAME, takes_out

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


def _check_square(A, name):
    if A.ndim < 2:
        raise RuntimeError(
            f"linalg.{name}: The input tensor A must have at least 2 dimensions (got shape {list(A.shape)})."
        )
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
            f"{A.shape[-1]} matrices"
        )
    if not A.dtype.is_floating_point:
        raise RuntimeError(
            f"linalg.{name}: Expected a floating point or complex tensor as input. Got {A.dtype}"
        )


def _singular(name):
    return LinAlgError(
        f"linalg.{name}: The diagonal element is zero, the {name} could not be completed because "
        "the input matrix is singular."
    )


# ---------------------------------------------------------------------------- inverse, det


class Inv(Function):
    """Z = A^-1;  dA = -Z^T G Z^T."""
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
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim

    @staticmethod
    def forward(ctx, A):
        _check_lapack_dtype(A, "det")  # after autocast has cast A
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
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more stack dim

    @staticmethod
    def forward(ctx, A):
        _check_lapack_dtype(A, "slogdet")  # after autocast has cast A
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
    return Tensor._make(xp.asarray(xp.linalg.slogdet(A._data)[0], dtype=A._data.dtype))


# ---------------------------------------------------------------------------- solve


class Solve(Function):
    """X = A^-1 B;  dB = A^-T G,  dA = -dB X^T (each summed over broadcast batch dims)."""
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
    _check_square(A, "eigh")
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
    _check_square(A, "solve_triangular")
    T = triu(A) if upper else tril(A)
    if unitriangular:
        xp = array_module(A._data)
        eye = Tensor._make(xp.eye(A.shape[-1], dtype=A._data.dtype))
        T = T * (1 - eye) + eye
    return solve(T, B, left=left)


@takes_out(dtype=SAME)
def matrix_power(A, n):
    """A^n by repeated squaring (n < 0: the inverse's power)."""
    _check_square(A, "matrix_power")
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
    """sum(x * y) over ``dim`` (inputs broadcast)."""
    return (x * y).sum(dim)


_ = matmul
