"""retrograd.linalg: inv det slogdet solve cholesky qr svd ... gradcheck + gradgradcheck + torch."""

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, requires_torch, torch


def _well(t, a):
    """A well-conditioned matrix (batch) from a random one."""
    n = a.shape[-1]
    return a + 3 * t.eye(n, dtype=a.dtype)


def _spd(t, a):
    n = a.shape[-1]
    return a @ a.mT + n * t.eye(n, dtype=a.dtype)


def _svd_invariant(t, a):
    U, S, Vh = t.linalg.svd(a, full_matrices=False)
    # gauge-invariant functions of the factors: the polar factor, the rank-1 part, the values
    return U @ Vh, S, U[..., :, :1] @ Vh[..., :1, :]


def _eigh_invariant(t, a):
    L, V = t.linalg.eigh(a)
    return L, (V * V[..., :1, :].sign()), V @ t.diag_embed(L.exp()) @ V.mT


CASES = [
    ("inv", lambda t, a: t.linalg.inv(_well(t, a)), (3, 3)),
    ("inv_batched", lambda t, a: t.linalg.inv(_well(t, a)), (2, 2, 2)),
    ("inverse", lambda t, a: t.inverse(_well(t, a)), (2, 2)),
    ("inverse_method", lambda t, a: _well(t, a).inverse(), (2, 2)),
    ("det", lambda t, a: t.linalg.det(_well(t, a)), (3, 3)),
    ("det_batched", lambda t, a: t.det(a), (2, 2, 2)),
    ("slogdet", lambda t, a: t.linalg.slogdet(a), (3, 3)),
    ("logdet", lambda t, a: t.logdet(_well(t, a)), (2, 2)),
    ("solve", lambda t, a, b: t.linalg.solve(_well(t, a), b), (3, 3), (3, 2)),
    ("solve_vector", lambda t, a, b: t.linalg.solve(_well(t, a), b), (3, 3), (3,)),
    ("solve_batched_bcast", lambda t, a, b: t.linalg.solve(_well(t, a), b), (3, 3), (2, 3, 1)),
    ("solve_right", lambda t, a, b: t.linalg.solve(_well(t, a), b, left=False), (2, 2), (3, 2)),
    ("cholesky", lambda t, a: t.linalg.cholesky(_spd(t, a)), (3, 3)),
    ("cholesky_upper_batched", lambda t, a: t.linalg.cholesky(_spd(t, a), upper=True), (2, 2, 2)),
    ("qr", lambda t, a: t.linalg.qr(a), (3, 2)),
    ("qr_square_batched", lambda t, a: t.linalg.qr(a), (2, 3, 3)),
    ("svd_tall", lambda t, a: _svd_invariant(t, a), (3, 2)),
    ("svd_wide", lambda t, a: _svd_invariant(t, a), (2, 3)),
    ("svd_square_batched", lambda t, a: _svd_invariant(t, a), (2, 2, 2)),
    ("svdvals", lambda t, a: t.linalg.svdvals(a), (3, 2)),
    ("det_singular", lambda t, a: t.linalg.det(a[..., :1].expand(3, 3) * t.tensor([1.0, 2.0, 3.0],
                                                                                dtype=a.dtype)), (3, 3)),
    ("eigh", lambda t, a: _eigh_invariant(t, a + a.mT), (3, 3)),
    ("eigh_upper_batched", lambda t, a: t.linalg.eigh(a + a.mT, UPLO="U").eigenvalues, (2, 3, 3)),
    ("eigvalsh", lambda t, a: t.linalg.eigvalsh(a + a.mT), (3, 3)),
    ("solve_triangular", lambda t, a, b: t.linalg.solve_triangular(_well(t, a), b, upper=True),
     (3, 3), (3, 2)),
    ("solve_triangular_unit_right", lambda t, a, b: t.linalg.solve_triangular(
        a, b, upper=False, left=False, unitriangular=True), (2, 2), (3, 2)),
    ("matrix_power", lambda t, a: t.linalg.matrix_power(a, 3), (2, 2)),
    ("matrix_power_neg", lambda t, a: t.linalg.matrix_power(_well(t, a), -2), (2, 2)),
    ("vecdot", lambda t, a, b: t.linalg.vecdot(a, b), (2, 3), (3,)),
    ("multi_dot", lambda t, a, b, c: t.linalg.multi_dot([a, b, c]), (3,), (3, 2), (2,)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_linalg_namespace_op(case):
    _, fn, *shapes = case
    check_op(fn, *shapes, atol=1e-6)


def test_return_types():
    a = retrograd.tensor(np.random.default_rng(0).standard_normal((3, 3)))
    sign, logabs = retrograd.linalg.slogdet(a)
    assert retrograd.linalg.slogdet(a).logabsdet is not None
    np.testing.assert_allclose(sign.item() * np.exp(logabs.item()), np.linalg.det(a.numpy()))
    Q, R = retrograd.linalg.qr(a)
    np.testing.assert_allclose((Q @ R).numpy(), a.numpy(), atol=1e-12)
    U, S, Vh = retrograd.linalg.svd(a)
    np.testing.assert_allclose((U * S.unsqueeze(0) @ Vh).numpy(), a.numpy(), atol=1e-12)
    assert retrograd.linalg.svd(a).Vh.shape == (3, 3)


def test_errors():
    with pytest.raises(retrograd.linalg.LinAlgError):
        retrograd.linalg.inv(retrograd.zeros(2, 2))
    with pytest.raises(RuntimeError):  # LinAlgError is a RuntimeError, as in torch
        retrograd.linalg.cholesky(-retrograd.eye(2))
    with pytest.raises(RuntimeError):
        retrograd.linalg.inv(retrograd.zeros(2, 3))
    with pytest.raises(RuntimeError):
        retrograd.linalg.det(retrograd.zeros(3))
    with pytest.raises(RuntimeError):
        retrograd.linalg.solve(retrograd.eye(2), retrograd.ones(2, dtype=retrograd.float64))
    assert retrograd.linalg.matrix_power(retrograd.ones(2, 2, 2), 0).tolist() == [np.eye(2).tolist()] * 2
    out = retrograd.linalg.inv_ex(retrograd.zeros(2, 2))
    assert out.info.item() == 1


def test_vecdot_takes_floating_tensors_only():
    with pytest.raises(RuntimeError, match="linalg.vecdot: Expected a floating point or complex tensor as input. Got Long"):
        retrograd.linalg.vecdot(retrograd.ones(2, dtype=retrograd.int64), retrograd.ones(2, dtype=retrograd.int64))
    assert retrograd.linalg.vecdot(retrograd.ones(2, dtype=retrograd.float16),
                                   retrograd.ones(2, dtype=retrograd.float16)).item() == 2.0


def test_matrix_power_of_one_is_a_new_tensor_and_integers_are_powered():
    a = retrograd.ones(2, 2, requires_grad=True)
    b = retrograd.linalg.matrix_power(a, 1)
    assert b is not a and b.grad_fn.name() == "CloneBackward0"
    c = retrograd.ones(2, 2)
    retrograd.linalg.matrix_power(c, 1).add_(1)
    assert c.tolist() == [[1, 1], [1, 1]]  # the input is not written through the result
    ints = retrograd.linalg.matrix_power(retrograd.tensor([[1, 1], [0, 1]]), 3)
    assert ints.dtype == retrograd.int64 and ints.tolist() == [[1, 3], [0, 1]]
    with pytest.raises(RuntimeError, match="linalg.inv: Expected a floating point"):
        retrograd.linalg.matrix_power(retrograd.tensor([[1, 1], [0, 1]]), -1)


LOW_PRECISION = {  # torch 2.13's exception for each LAPACK-backed op on float16/bfloat16
    "inv": RuntimeError, "inv_ex": RuntimeError, "slogdet": RuntimeError, "det": NotImplementedError,
    "solve": NotImplementedError, "cholesky": NotImplementedError, "cholesky_ex": NotImplementedError,
    "qr": NotImplementedError, "svd": NotImplementedError, "svdvals": NotImplementedError,
    "eigh": NotImplementedError, "eigvalsh": NotImplementedError, "solve_triangular": NotImplementedError,
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(LOW_PRECISION))
def test_lapack_ops_refuse_half_precision_as_torch(name, dtype):
    """There are no half-precision LAPACK routines: torch refuses, and so does retrograd (it
    returned float64 for bfloat16 and raised NumPy's TypeError for float16)."""
    def call(lib):
        A = lib.eye(3, dtype=getattr(lib, dtype)) * 2
        f = getattr(lib.linalg, name)
        if name == "solve":
            return f(A, A)
        if name == "solve_triangular":
            return f(A, A, upper=True)
        return f(A)

    expected = LOW_PRECISION[name]
    if torch is not None:
        with pytest.raises(expected):
            call(torch)
    with pytest.raises(Exception) as info:
        call(retrograd)
    assert type(info.value) is expected, f"{type(info.value).__name__}: {info.value}"
    assert "Half" in str(info.value) or "BFloat16" in str(info.value)


def test_solve_triangular_of_integers_raises_torchs_not_implemented_error():
    A = retrograd.ones(2, 2, dtype=retrograd.int64).triu()
    with pytest.raises(NotImplementedError, match="triangular_solve_cpu\" not implemented for 'Long'"):
        retrograd.linalg.solve_triangular(A, retrograd.ones(2, 1, dtype=retrograd.int64), upper=True)


# Decompositions of bool and integer matrices: torch's exception type and first words (eigh of a bool
# matrix is NotImplementedError from its kernel; retrograd raised RuntimeError, and qr computed)
INTEGER_DECOMPOSITIONS = [
    ("linalg.eigh", "NotImplementedError: \"linalg_eigh_cpu\" not implemented for '{}'"),
    ("linalg.eigvalsh", "NotImplementedError: \"linalg_eigh_cpu\" not implemented for '{}'"),
    ("linalg.qr", "RuntimeError: linalg.qr: Expected a floating point or complex tensor as input. Got {}"),
    ("linalg.lu", "NotImplementedError: \"lu_cpu\" not implemented for '{}'"),
    ("linalg.lu_factor", "NotImplementedError: \"lu_cpu\" not implemented for '{}'"),
    ("linalg.lu_factor_ex", "NotImplementedError: \"lu_cpu\" not implemented for '{}'"),
    ("cholesky", "NotImplementedError: \"cholesky_cpu\" not implemented for '{}'"),
    ("linalg.cholesky", "RuntimeError: linalg.cholesky: Expected a floating point or complex tensor as input. Got {}"),
    ("linalg.svd", "RuntimeError: linalg.svd: Expected a floating point or complex tensor as input. Got {}"),
    ("linalg.inv", "RuntimeError: linalg.inv: Expected a floating point or complex tensor as input. Got {}"),
    ("linalg.det", "RuntimeError: linalg.det: Expected a floating point or complex tensor as input. Got {}"),
    ("linalg.solve", "RuntimeError: linalg.solve: Expected a floating point or complex tensor as input. Got {}"),
]
_SCALAR_NAMES = {"bool": "Bool", "int64": "Long", "uint8": "Byte"}


def _decomposition_outcome(lib, name, dtype, expected):
    fn = lib
    for part in name.split("."):
        fn = getattr(fn, part)
    A = lib.eye(2).to(getattr(lib, dtype))
    try:
        fn(A, A) if name == "linalg.solve" else fn(A)
    except (RuntimeError, NotImplementedError) as e:
        return f"{type(e).__name__}: {e}"[:len(expected)]
    return "computed"


@pytest.mark.parametrize("dtype", sorted(_SCALAR_NAMES))
@pytest.mark.parametrize("name, expected", INTEGER_DECOMPOSITIONS)
def test_decompositions_of_integer_matrices_raise_as_torch(name, expected, dtype):
    expected = expected.format(_SCALAR_NAMES[dtype])
    assert _decomposition_outcome(retrograd, name, dtype, expected) == expected


@requires_torch
@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
def test_integer_decomposition_outcomes_are_torchs():
    for name, expected in INTEGER_DECOMPOSITIONS:
        for dtype, scalar in _SCALAR_NAMES.items():
            assert _decomposition_outcome(torch, name, dtype, expected.format(scalar)) == expected.format(scalar)
