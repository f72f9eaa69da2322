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


class LOBPCGWorker:
    """The iteration's state, which lobpcg hands its ``tracker`` at each step, as torch documents its
    LOBPCG instance: the input parameters ``iparams``, ``fparams``, ``bparams`` (integer, float and
    boolean valued: m, n, k, niter; tol; largest; with method='ortho' also ortho_i_max, ortho_j_max,
    ortho_tol, ortho_tol_drop, ortho_tol_replace, ortho_use_drop and any other key the ortho_*params
    dicts gave), the iteration variables ``ivars`` (istep, iterations_left, converged_count, ortho_i,
    ortho_j: the last orthogonalization's passes), ``fvars`` (A_norm, B_norm, X_norm), ``bvars``
    (force_stop: a tracker that sets it True stops the iteration) and ``tvars`` (rerr: the relative
    residual norms), the inputs ``A``, ``B``, ``iK`` and the iterates ``E``, ``X``, ``S`` (the block of
    the last Rayleigh-Ritz step), ``R`` (the residuals), as tensors (copy them to keep them)."""

    def __init__(self, A, B, iK, iparams, fparams, bparams):
        self.A, self.B, self.iK = A, B, iK
        self.iparams, self.fparams, self.bparams = iparams, fparams, bparams
        self.ivars = {"istep": 0, "iterations_left": iparams["niter"], "converged_count": 0, "ortho_i": 0,
                      "ortho_j": 0}
        self.fvars, self.bvars, self.tvars = {}, {"force_stop": False}, {}
        self.E = self.X = self.S = self.R = None


def _svqb(xp, B, Z, p, state):
    """B-orthonormal columns spanning Z's, by SVQB (Stathopoulos and Wu 2002), repeated up to
    ortho_j_max times until |Z^T B Z - I| < ortho_tol: Z D V diag(s)^-1/2 from the eigendecomposition
    V diag(s) V^T of D Z^T B Z D, D the columns' inverse norms. A direction whose s is below
    ortho_tol_drop * max(s) is dropped if ortho_use_drop, else its s is raised to ortho_tol_replace *
    max(s) (Duersch et al. 2018)."""
    fp, bp = p
    for j in range(1, state.iparams["ortho_j_max"] + 1):
        norms = xp.sqrt(xp.abs(xp.einsum("ij,ij->j", Z, _b(B, Z))))
        Z = Z[:, norms > 0] / norms[norms > 0]
        s, V = xp.linalg.eigh(Z.T @ _b(B, Z))
        top = max(float(s.max()), 0.0) if s.size else 0.0
        if bp["ortho_use_drop"]:
            keep = s > fp["ortho_tol_drop"] * top
            Z = Z @ (V[:, keep] / xp.sqrt(s[keep]))
        else:
            Z = Z @ (V / xp.sqrt(xp.maximum(s, fp["ortho_tol_replace"] * top)))
        state.ivars["ortho_j"] = j
        if float(xp.linalg.norm(Z.T @ _b(B, Z) - xp.eye(Z.shape[1], dtype=Z.dtype))) < fp["ortho_tol"]:
            break
    return Z


def _ortho_block(xp, B, X, U, p, state):
    """U's directions B-orthogonal to X's, B-orthonormal ('ortho' method): X projected out, then
    SVQB, repeated up to ortho_i_max times until |X^T B U| / (|B X| |U|) < ortho_tol."""
    fp, _ = p
    for i in range(1, state.iparams["ortho_i_max"] + 1):
        U = _svqb(xp, B, U - X @ (X.T @ _b(B, U)), p, state)
        state.ivars["ortho_i"] = i
        rerr = float(xp.linalg.norm(X.T @ _b(B, U))) / (float(xp.linalg.norm(_b(B, X))) * float(xp.linalg.norm(U)))
        if rerr < fp["ortho_tol"]:
            break
    return U


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


def _track(state, tracker, E, X, S, R, rerr, tol, k, step):
    """Update the worker's iterates and call the tracker; True if it asked to stop."""
    converged = (rerr[:k] < tol).tolist()  # the leading pairs whose residual is below tol
    state.ivars.update(istep=step, iterations_left=state.iparams["niter"] - step,
                       converged_count=converged.index(False) if False in converged else len(converged))
    state.tvars["rerr"] = Tensor._make(rerr)
    state.E, state.X, state.S, state.R = (Tensor._make(v) for v in (E, X, S, R))
    if tracker is not None:
        tracker(state)
    return state.bvars["force_stop"]


def _solve_one(xp, A, B, X, iK, k, largest, method, niter, tol, state, tracker):
    """(E, X) for one matrix A (arrays); ``state`` is the tracker's LOBPCGWorker."""
    p = (state.fparams, state.bparams)
    X = _svqb(xp, B, X, p, state) if method == "ortho" else X @ xp.linalg.inv(
        xp.linalg.cholesky(X.T @ _b(B, X))).T
    E = xp.zeros(X.shape[1], dtype=A.dtype)
    a_norm = float(xp.linalg.norm(A))
    b_norm = 1.0 if B is None else float(xp.linalg.norm(B))
    state.fvars.update(A_norm=a_norm, B_norm=b_norm, X_norm=float(xp.linalg.norm(X)))
    W = P = None
    S = X
    step = 1
    while True:
        R = A @ X - _b(B, X) * E
        rerr = xp.linalg.norm(R, axis=0) / ((a_norm + xp.abs(E) * b_norm) * xp.linalg.norm(X, axis=0))
        if _track(state, tracker, E, X, S, R, rerr, tol, k, step) or step == niter or (
                step > 1 and bool((rerr[:k] < tol).all())):
            break
        step += 1
        W = R if iK is None else iK @ R
        blocks = [X] if step == 2 else [X, W] + ([] if P is None else [P])
        if method == "ortho" and len(blocks) > 1:
            blocks = [X, _ortho_block(xp, B, X, xp.concatenate(blocks[1:], axis=1), p, state)]
        S = xp.concatenate(blocks, axis=1)
        E, C = _ritz(xp, S, A @ S, B, X.shape[1], largest, method)
        P = S[:, X.shape[1]:] @ C[X.shape[1]:] if len(blocks) > 1 else None
        X = S @ C
    return E[:k], X[:, :k]


class LOBPCG(Function):
    """The k extreme eigenpairs of (A, B) by LOBPCG; gradients for B = I (see the module)."""

    _backward_name = "LOBPCGAutogradFunctionBackward"  # torch's name

    @staticmethod
    def forward(ctx, A, B, X, iK, k, largest, method, niter, tol, tracker, params):
        a = A._data
        xp = array_module(a)
        parts = [(None if t is None else t._data) for t in (B, X, iK)]
        batch = a.shape[:-2]
        Es, Xs = [], []
        for idx in np.ndindex(*batch):  # (each matrix its own iteration, and worker for the tracker)
            one = [(None if p is None else (p[idx] if p.ndim > 2 else p)) for p in parts]
            state = LOBPCGWorker(A, B, iK, *(dict(d) for d in params))
            e, x = _solve_one(xp, a[idx], one[0], one[1], one[2], k, largest, method, niter, tol, state, tracker)
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
        return gA, None, None, None, None, None, None, None, None, None, None


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
    descending (ascending), and their B-orthonormal eigenvectors (see the module). ``tracker(worker)``
    is called at each step with the iteration's state (LOBPCGWorker; worker.bvars['force_stop'] = True
    stops it); ``ortho_iparams``, ``ortho_fparams``, ``ortho_bparams`` update method 'ortho''s
    orthogonalization parameters (ortho_i_max, ortho_j_max: 3; ortho_tol, ortho_tol_drop,
    ortho_tol_replace: tol; ortho_use_drop: False; see _svqb and _ortho_block)."""
    from ..creation import randn

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
    if tol is None:  # torch's: the square root of its rounded machine epsilons
        tol = {"float32": 1.2e-07, "float64": 2.23e-16}.get(A.dtype.name, float(np.finfo(A._data.dtype).eps)) ** 0.5
    niter = 1000 if niter is None else niter
    largest = True if largest is None else largest
    params = ({"m": m, "n": n, "k": min(k, n), "niter": niter}, {"tol": tol}, {"largest": largest})
    if method == "ortho":  # torch's defaults, then the caller's (keys of its own included, as torch's)
        for defaults, given in zip(params, (ortho_iparams, ortho_fparams, ortho_bparams)):
            defaults.update({"ortho_i_max": 3, "ortho_j_max": 3} if "m" in defaults else
                            {"ortho_tol": tol, "ortho_tol_drop": tol, "ortho_tol_replace": tol} if "tol" in defaults
                            else {"ortho_use_drop": False})
            defaults.update(given or {})
    if A.requires_grad:
        A = (A + A.mT) / 2  # as torch: A's gradient is symmetric
    return LOBPCG.apply(A, B, X, iK, min(k, n), largest, method, niter, tol, tracker, params)
