"""retrograd.linalg's pinv, lstsq, matrix_rank, matrix_exp, lu_factor(_ex), lu, lu_solve, solve_ex,
cond, tensorinv, tensorsolve, vander, householder_product (and torch.pinverse, torch.matrix_exp,
torch.vander): values and gradients against torch (recorded for the bare install), gradcheck +
gradgradcheck, torch's exceptions."""

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, torch


def _well(t, a):
    return a + 3 * t.eye(a.shape[-1], dtype=a.dtype)


def _cond(t, a, p):
    """cond(A, p) of a well-conditioned A; torch 2.13's own backward of cond for p other than 2 and
    'nuc' fails (it modifies inv_ex's output in place), so its values alone are compared."""
    c = t.linalg.cond(_well(t, a), p)
    return c if t is retrograd else c.detach()


def _lu_solve(t, a, b, **kw):
    LU, piv = t.linalg.lu_factor(a)
    return t.linalg.lu_solve(LU, piv, b, **kw)


CASES = [
    ("pinv_tall", lambda t, a: t.linalg.pinv(a), (4, 3)),
    ("pinv_wide_batched", lambda t, a: t.linalg.pinv(a), (2, 2, 3)),
    ("pinv_rtol", lambda t, a: t.linalg.pinv(a, rtol=0.05), (3, 3)),
    ("pinv_hermitian", lambda t, a: t.linalg.pinv(a @ a.mT + t.eye(3, dtype=a.dtype), hermitian=True), (3, 3)),
    ("pinverse", lambda t, a: t.pinverse(a), (3, 2)),
    ("pinverse_method", lambda t, a: a.pinverse(rcond=1e-10), (2, 3)),
    ("lstsq_gelsy", lambda t, a, b: t.linalg.lstsq(a, b), (4, 3), (4, 2)),
    ("lstsq_gelsd", lambda t, a, b: t.linalg.lstsq(a, b, driver="gelsd"), (4, 3), (4, 2)),
    ("lstsq_gelss_batched", lambda t, a, b: t.linalg.lstsq(a, b, driver="gelss"), (2, 4, 2), (2, 4, 1)),
    ("lstsq_gels", lambda t, a, b: t.linalg.lstsq(a, b, driver="gels"), (4, 3), (4, 2)),
    ("lstsq_gels_wide", lambda t, a, b: t.linalg.lstsq(a, b, driver="gels").solution, (2, 3), (2, 2)),
    ("lstsq_gelsd_wide", lambda t, a, b: t.linalg.lstsq(a, b, driver="gelsd"), (2, 3), (2, 2)),
    ("lstsq_vector", lambda t, a, b: t.linalg.lstsq(a, b, driver="gelsd"), (4, 3), (4,)),
    ("matrix_exp", lambda t, a: t.linalg.matrix_exp(a), (3, 3)),
    ("matrix_exp_scaled_batched", lambda t, a: t.linalg.matrix_exp(4 * a), (2, 3, 3)),
    ("matrix_exp_top", lambda t, a: t.matrix_exp(a), (2, 2)),
    ("matrix_exp_method", lambda t, a: a.matrix_exp(), (2, 2)),
    ("lu_factor", lambda t, a: t.linalg.lu_factor(a), (3, 3)),
    ("lu_factor_batched", lambda t, a: t.linalg.lu_factor_ex(a), (2, 4, 4)),
    ("lu", lambda t, a: t.linalg.lu(a), (3, 3)),
    ("lu_batched", lambda t, a: t.linalg.lu(a), (2, 3, 3)),
    ("lu_factor_tall", lambda t, a: t.linalg.lu_factor(a), (5, 3)),
    ("lu_factor_wide_batched", lambda t, a: t.linalg.lu_factor(a), (2, 2, 4)),
    ("lu_tall_batched", lambda t, a: t.linalg.lu(a), (2, 4, 2)),
    ("lu_wide", lambda t, a: t.linalg.lu(a), (3, 5)),
    ("lu_solve", lambda t, a, b: _lu_solve(t, _well(t, a), b), (3, 3), (3, 2)),
    ("lu_solve_adjoint", lambda t, a, b: _lu_solve(t, _well(t, a), b, adjoint=True), (2, 3, 3), (2, 3, 1)),
    ("lu_solve_right", lambda t, a, b: _lu_solve(t, _well(t, a), b, left=False), (3, 3), (2, 3)),
    ("lu_solve_right_adjoint", lambda t, a, b: _lu_solve(t, _well(t, a), b, left=False, adjoint=True),
     (3, 3), (2, 3)),
    ("solve_ex", lambda t, a, b: t.linalg.solve_ex(_well(t, a), b), (3, 3), (3, 2)),
    ("cond", lambda t, a: t.linalg.cond(a), (3, 3)),
    ("cond_m2_wide", lambda t, a: t.linalg.cond(a, -2), (2, 3)),
    ("cond_fro_batched", lambda t, a: _cond(t, a, "fro"), (2, 3, 3)),
    ("cond_nuc", lambda t, a: t.linalg.cond(_well(t, a), "nuc"), (3, 3)),
    ("cond_1", lambda t, a: _cond(t, a, 1), (3, 3)),
    ("cond_minf", lambda t, a: _cond(t, a, float("-inf")), (3, 3)),
    ("tensorinv", lambda t, a: t.linalg.tensorinv(_well(t, a).reshape(2, 3, 6), ind=2), (6, 6)),
    ("tensorinv_ind1", lambda t, a: t.linalg.tensorinv(_well(t, a).reshape(4, 2, 2), ind=1), (4, 4)),
    ("tensorsolve", lambda t, a, b: t.linalg.tensorsolve(_well(t, a).reshape(2, 3, 6), b), (6, 6), (2, 3)),
    ("tensorsolve_dims", lambda t, a, b: t.linalg.tensorsolve(_well(t, a).reshape(6, 2, 3), b, dims=(0,)),
     (6, 6), (2, 3)),
    ("vander", lambda t, x: t.linalg.vander(x), (3,)),
    ("vander_N_batched", lambda t, x: t.linalg.vander(x, N=4), (2, 3)),
    ("householder_product", lambda t, a, tau: t.linalg.householder_product(a, tau), (4, 3), (2,)),
    ("householder_product_batched", lambda t, a, tau: t.linalg.householder_product(a, tau), (2, 3, 3), (2, 3)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_linalg_extra_op(case):
    _, fn, *shapes = case
    check_op(fn, *shapes)


_f64 = "float64"
# (call, torch 2.13's exception type, a part of its message)
ERRORS = [
    (lambda t: t.linalg.pinv(t.ones(3)), RuntimeError, "expected a tensor with 2 or more dimensions"),
    (lambda t: t.linalg.pinv(t.ones(3, 3, dtype=t.int64)), RuntimeError, "linalg.pinv(Long{[3, 3]})"),
    (lambda t: t.linalg.pinv(t.ones(3, 3, dtype=t.float16)), RuntimeError, "linalg.pinv(Half{[3, 3]})"),
    (lambda t: t.linalg.matrix_rank(t.ones(3)), RuntimeError, "must have at least 2 dimensions"),
    (lambda t: t.linalg.matrix_rank(t.ones(3, 3), 0.1, atol=0.2), TypeError, "linalg_matrix_rank() received an "
     "invalid combination of arguments"),
    (lambda t: t.linalg.pinv(t.ones(3, 3), 0.1, rtol=0.2), TypeError, "linalg_pinv() received an invalid "
     "combination of arguments"),
    (lambda t: t.linalg.matrix_rank(t.ones(3, 3, dtype=t.int64)), RuntimeError, "types other than float and double"),
    (lambda t: t.linalg.lstsq(t.ones(4, 3), t.ones(4, 2), driver="foo"), RuntimeError,
     "parameter `driver` should be one of (gels, gelsy, gelsd, gelss)"),
    (lambda t: t.linalg.lstsq(t.ones(4, 3), t.ones(3, 2)), RuntimeError, "input.size(-2) should match other.size(-2)"),
    (lambda t: t.linalg.lstsq(t.ones(4, 3), t.ones(4, 2, dtype=t.float64)), RuntimeError,
     "Expected input and other to have the same dtype, but got input's dtype Float and other's dtype Double"),
    (lambda t: t.linalg.lstsq(t.ones(3), t.ones(3)), RuntimeError, "input must have at least 2 dimensions"),
    (lambda t: t.linalg.matrix_exp(t.ones(2, 3)), RuntimeError, "A must be batches of square matrices, but they are "
     "2 by 3 matrices"),
    (lambda t: t.linalg.matrix_exp(t.ones(3, 3, dtype=t.int64)), RuntimeError,
     "Expected a floating point or complex tensor as input. Got Long"),
    (lambda t: t.linalg.matrix_exp(t.ones(3)), RuntimeError, "The input tensor A must have at least 2 dimensions"),
    (lambda t: t.linalg.lu_factor(t.zeros(3, 3)), RuntimeError, "U[1,1] is zero and using it on lu_solve would "
     "result in a division by zero"),
    (lambda t: t.linalg.lu_factor(t.eye(3), pivot=False), RuntimeError, "LU without pivoting is not implemented on "
     "the CPU"),
    (lambda t: t.linalg.lu(t.eye(3), pivot=False), RuntimeError, "LU without pivoting is not implemented on the CPU"),
    (lambda t: t.linalg.lu_factor(t.ones(3)), RuntimeError, "Expected tensor with 2 or more dimensions. Got size: [3]"),
    (lambda t: t.linalg.lu_factor(t.eye(3, dtype=t.float16)), NotImplementedError, "\"lu_cpu\" not implemented for "
     "'Half'"),
    (lambda t: t.linalg.lu_factor_ex(t.zeros(2, 3, 3), check_errors=True), RuntimeError,
     "torch.linalg.lu_factor_ex: (Batch element 0): U[1,1] is zero"),
    (lambda t: t.linalg.lu_solve(t.eye(3), t.zeros(3, dtype=t.int32), t.ones(3, 1)), RuntimeError,
     "Pivots given to lu_solve must all be greater or equal to 1"),
    (lambda t: t.linalg.lu_solve(t.eye(3), t.ones(3, dtype=t.int64), t.ones(3, 1)), RuntimeError,
     "pivots should be a Tensor of scalar type torch.int32"),
    (lambda t: t.linalg.lu_solve(t.eye(3), t.ones(3, dtype=t.int32), t.ones(2, 1)), RuntimeError,
     "Incompatible shapes of A and B for the equation AX = B (3x3 and 2x1)"),
    (lambda t: t.linalg.lu_solve(t.eye(3), t.ones(3, dtype=t.int32), t.ones(3)), RuntimeError,
     "The input tensor B must have at least 2 dimensions"),
    (lambda t: t.linalg.solve_ex(t.zeros(3, 3), t.ones(3, 1), check_errors=True), "LinAlgError",
     "torch.linalg.solve_ex: The solver failed because the input matrix is singular."),
    (lambda t: t.linalg.cond(t.ones(2, 3), 1), RuntimeError, "linalg.cond(ord=1): A must be batches of square "
     "matrices, but they are 2 by 3 matrices"),
    (lambda t: t.linalg.cond(t.ones(2, 3), "foo"), RuntimeError, "linalg.cond(ord=foo): A must be batches of "
     "square matrices"),
    (lambda t: t.linalg.cond(t.ones(3, 3), 3), RuntimeError, "linalg.cond got an invalid norm type: 3"),
    (lambda t: t.linalg.tensorinv(t.ones(4, 6, 8, 3), ind=0), RuntimeError,
     "Expected a strictly positive integer for 'ind', but got 0"),
    (lambda t: t.linalg.tensorsolve(t.ones(2, 3, 6), t.ones(5)), RuntimeError,
     "Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]), "
     "but got 18 != 5"),
    (lambda t: t.linalg.vander(t.ones(3), N=1), RuntimeError, "N must be greater than 1."),
    (lambda t: t.linalg.vander(t.ones(3, dtype=t.bool)), RuntimeError, "linalg.vander supports floating point, "
     "complex, and integer tensors, but got Bool"),
    (lambda t: t.vander(t.ones(2, 2)), RuntimeError, "x must be a one-dimensional tensor."),
    (lambda t: t.vander(t.ones(2), N=-1), RuntimeError, "N must be non-negative."),
    (lambda t: t.linalg.householder_product(t.ones(2, 3), t.ones(2)), RuntimeError,
     "torch.linalg.householder_product: input.shape[-2] must be greater than or equal to input.shape[-1]"),
    (lambda t: t.linalg.householder_product(t.ones(3, 2), t.ones(3)), RuntimeError,
     "torch.linalg.householder_product: input.shape[-1] must be greater than or equal to tau.shape[-1]"),
    (lambda t: t.linalg.householder_product(t.ones(3, 2), t.ones(2, 2)), RuntimeError,
     "Expected tau to have one dimension less than input, but got tau.ndim equal to 2 and input.ndim is equal to 2"),
    (lambda t: t.linalg.householder_product(t.ones(3, 2), t.ones(2, dtype=t.float64)), RuntimeError,
     "torch.linalg.householder_product: tau dtype Double does not match input dtype Float"),
    (lambda t: t.linalg.householder_product(t.ones(3), t.ones(2)), RuntimeError,
     "torch.linalg.householder_product: input must have at least 2 dimensions."),
    (lambda t: t.cholesky_solve(t.ones(3), t.eye(3)), RuntimeError,
     "b should have at least 2 dimensions, but has 1 dimensions instead"),
    (lambda t: t.cholesky_inverse(t.ones(3)), RuntimeError,
     "cholesky_inverse: The input tensor A must have at least 2 dimensions."),
    (lambda t: t.triangular_solve(t.ones(3), t.eye(3)), RuntimeError,
     "torch.triangular_solve: Expected b to have at least 2 dimensions, but it has 1 dimensions instead"),
    (lambda t: t.linalg.ldl_factor(t.ones(2, 3)), RuntimeError, "torch.linalg.ldl_factor_ex: A must be batches of "
     "square matrices, but they are 2 by 3 matrices"),
    (lambda t: t.linalg.ldl_factor(t.ones(3, 3, dtype=t.int64)), RuntimeError,
     "torch.linalg.ldl_factor_ex: Expected a floating point or complex tensor as input. Got Long"),
    (lambda t: t.linalg.ldl_factor(t.ones(3)), RuntimeError,
     "torch.linalg.ldl_factor_ex: The input tensor A must have at least 2 dimensions."),
    (lambda t: t.linalg.ldl_factor(t.eye(3, dtype=t.float16)), NotImplementedError,
     "\"ldl_factor_kernel_cpu\" not implemented for 'Half'"),
    (lambda t: t.linalg.ldl_solve(t.eye(3), t.ones(3, dtype=t.int32), t.ones(2, 1)), RuntimeError,
     "Incompatible matrix sizes for torch.linalg.ldl_solve: each A matrix is 3 by 3 but each b matrix is 2 by 1"),
    (lambda t: t.linalg.ldl_solve(t.eye(3), t.ones(3, dtype=t.int32), t.ones(3)), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got -2)"),
    (lambda t: t.lu_unpack(t.eye(3), t.ones(3, dtype=t.int64)), RuntimeError,
     "torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype"),
]


@pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated")
@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_as_torch(i):
    call, expected, part = ERRORS[i]
    for lib in [retrograd] + ([torch] if torch is not None else []):
        kind = lib.linalg.LinAlgError if expected == "LinAlgError" else expected
        with pytest.raises(kind) as info:
            call(lib)
        assert part in str(info.value), (lib.__name__, str(info.value))


_RANK2 = np.array([[1.0, 2.0, 0.5], [2.0, 4.0, 1.0], [0.0, 1.0, 1.0], [1.0, 3.0, 1.5]])  # rank 2
_SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 1.0, 1.0]])  # U[3, 3] exactly 0 (info 3)
_ONES = np.ones((3, 3))

VALUE_CASES = [  # values (and dtypes) only: ranks, infos, rank-deficient solutions, integer results
    ("matrix_rank", lambda t, a: t.linalg.matrix_rank(a), _RANK2),
    ("matrix_rank_batched", lambda t, a: t.linalg.matrix_rank(t.stack([a, a.flip(0), 0 * a])), _RANK2),
    ("matrix_rank_atol", lambda t, a: t.linalg.matrix_rank(a, atol=1.0), _RANK2),
    ("matrix_rank_atol_rtol", lambda t, a: t.linalg.matrix_rank(a, atol=0.1, rtol=0.5), _RANK2),
    ("matrix_rank_hermitian", lambda t, a: t.linalg.matrix_rank(a @ a.mT, hermitian=True), _RANK2),
    ("matrix_rank_tol_positional", lambda t, a: t.stack([t.linalg.matrix_rank(a, tol) for tol in (0.1, 2.0, 9.0)]),
     _RANK2),
    ("matrix_rank_tol_hermitian", lambda t, a: t.linalg.matrix_rank(a @ a.mT, 2.0, True), _RANK2),
    ("pinv_rcond_positional", lambda t, a: t.linalg.pinv(a, 0.3), (4, 3)),
    ("pinv_rcond_hermitian", lambda t, a: t.linalg.pinv(a @ a.mT, 0.01, True), (3, 3)),
    ("lstsq_rank_deficient_gelsy", lambda t, a, b: t.linalg.lstsq(a, b), _RANK2, (4, 2)),
    ("lstsq_rank_deficient_gelsd", lambda t, a, b: t.linalg.lstsq(a, b, driver="gelsd"), _RANK2, (4, 2)),
    ("lstsq_rcond", lambda t, a, b: t.linalg.lstsq(a, b, rcond=0.3, driver="gelss"), (4, 3), (4, 2)),
    ("pinv_rank_deficient", lambda t, a: t.linalg.pinv(a), _RANK2),
    ("lu_factor_ex_singular", lambda t, a: t.linalg.lu_factor_ex(t.stack([a, 0 * a])), _SINGULAR),
    ("lu_singular", lambda t, a: t.linalg.lu(a), _ONES),
    ("solve_ex_singular", lambda t, a, b: t.linalg.solve_ex(t.stack([a + 3 * t.eye(3, dtype=a.dtype), 0 * a]), b),
     (3, 3), (3, 1)),
    ("solve_ex_singular_right", lambda t, a, b: t.linalg.solve_ex(0 * a, b, left=False).info, (3, 3), (2, 3)),
    ("cond_singular", lambda t, a: t.stack([t.linalg.cond(a, p) for p in (None, 1, "fro", float("inf"))]),
     _ONES),
    ("matrix_exp_large_norm", lambda t, a: t.linalg.matrix_exp(40 * a), (3, 3)),
    ("matrix_exp_float32", lambda t, a: t.linalg.matrix_exp(a.float()), (2, 4, 4)),
    ("matrix_exp_empty", lambda t, a: t.linalg.matrix_exp(a[..., :0, :0]), (2, 3, 3)),
    ("vander_int", lambda t, x: t.linalg.vander(x, N=4), np.array([1, 2, -3], dtype=np.int32)),
    ("torch_vander", lambda t, x: t.vander(x), (3,)),
    ("torch_vander_increasing", lambda t, x: t.vander(x, N=4, increasing=True), (3,)),
    ("torch_vander_int", lambda t, x: t.vander(x, 3), np.array([2, 3], dtype=np.int32)),
    ("torch_vander_bool", lambda t, x: t.vander(x), np.array([True, False])),
    ("torch_vander_N0", lambda t, x: t.vander(x, 0), (3,)),
    ("torch_vander_N1", lambda t, x: t.vander(x, 1), (3,)),
]


@pytest.mark.parametrize("case", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_linalg_extra_values(case):
    _, fn, *specs = case
    check_op(lambda t, *xs: [o.detach() if hasattr(o, "detach") else o for o in _outputs(fn(t, *xs))], *specs,
             gradcheck=False, gradgradcheck=False)


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


def test_vander_gradient_at_zero():
    """A running product: finite gradients where x is 0 (x^0 and x^1 included); torch.vander's own
    backward fails in torch 2.13 (an in-place write), so gradcheck stands in."""
    x = retrograd.tensor([0.0, 2.0, -0.5], dtype=retrograd.float64, requires_grad=True)
    assert retrograd.autograd.gradcheck(lambda v: retrograd.vander(v, 4), [x])
    assert retrograd.autograd.gradgradcheck(lambda v: retrograd.linalg.vander(v, N=4), [x])
    retrograd.linalg.vander(x, N=4).sum().backward()
    assert x.grad.tolist() == [1.0, 1 + 2 * 2 + 3 * 4, 1 - 2 * 0.5 + 3 * 0.25]


def test_lu_reconstructs_and_pivots_are_lapack_style():
    a = retrograd.tensor(np.random.default_rng(0).standard_normal((2, 4, 4)))
    P, L, U = retrograd.linalg.lu(a)
    np.testing.assert_allclose((P @ L @ U).numpy(), a.numpy(), atol=1e-12)
    LU, piv = retrograd.linalg.lu_factor(a)
    assert piv.dtype == retrograd.int32 and piv.shape == (2, 4) and int(piv.min()) >= 1
    assert retrograd.linalg.lu_factor_ex(a).info.tolist() == [0, 0]


def test_lstsq_returns_torch_type():
    out = retrograd.linalg.lstsq(retrograd.ones(3, 2), retrograd.ones(3, 1))
    assert type(out).__name__ == "linalg_lstsq" and out._fields == ("solution", "residuals", "rank",
                                                                     "singular_values")
    assert out.rank.dtype == retrograd.int64 and out.rank.shape == ()


def test_lstsq_gradient_is_pinv_b():
    """gelsd's solution is differentiable as pinv(A) B (torch's rule), residuals as ||A X - B||^2."""
    rng = np.random.default_rng(3)
    a = retrograd.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    b = retrograd.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    assert retrograd.autograd.gradcheck(lambda x, y: tuple(retrograd.linalg.lstsq(x, y, driver="gelsd")[:2]), [a, b])


_B = np.random.default_rng(5).standard_normal((3, 2))
VMAP_CASES = {
    "pinv": lambda t, a: t.linalg.pinv(a),
    "matrix_exp": lambda t, a: t.linalg.matrix_exp(a),
    "lu_factor": lambda t, a: t.linalg.lu_factor(a),
    "lu_factor_ex": lambda t, a: t.linalg.lu_factor_ex(a),
    "lu": lambda t, a: t.linalg.lu(a),
    "lu_solve": lambda t, a: t.linalg.lu_solve(*t.linalg.lu_factor(a), t.tensor(_B)),
    "matrix_rank": lambda t, a: t.linalg.matrix_rank(a),
    # (its empty residuals keep shape [0] under vmap, where per-sample results stack to [4, 0])
    "lstsq": lambda t, a: tuple(t.linalg.lstsq(a, t.tensor(_B), driver="gelsd"))[::2],
    "solve_ex": lambda t, a: t.linalg.solve_ex(a, t.tensor(_B)),
    "cond": lambda t, a: t.linalg.cond(a, 1),
    "householder_product": lambda t, a: t.linalg.householder_product(a, a[0]),
    "vander": lambda t, a: t.linalg.vander(a[0]),
}


@pytest.mark.parametrize("name", sorted(VMAP_CASES))
def test_vmap_runs_once_on_the_batch(name):
    """Under vmap: the per-sample results, with no per-sample fallback (the factorizations' rule:
    the batch is one more stack dim; pivots, ranks and infos read on the whole batch)."""
    fn = VMAP_CASES[name]
    a = retrograd.tensor(np.random.default_rng(1).standard_normal((4, 3, 3)))
    retrograd.func.reset_vmap_fallbacks()
    got = retrograd.func.vmap(lambda x: fn(retrograd, x))(a)
    assert retrograd.func.vmap_fallbacks() == {}
    want = [fn(retrograd, x) for x in a]
    for i, g in enumerate(got if isinstance(got, tuple) else (got,)):
        w = np.stack([(s[i] if isinstance(s, tuple) else s).numpy() for s in want])
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_matrix_exp_half_precision_in_float32(dtype):
    """float16/bfloat16 are exponentiated in float32 and rounded (torch 2.13 overflows there)."""
    a = np.array([[0.1, 0.2], [0.3, -0.4]])
    got = retrograd.linalg.matrix_exp(retrograd.tensor(a).to(getattr(retrograd, dtype)))
    assert got.dtype == getattr(retrograd, dtype)
    want = retrograd.linalg.matrix_exp(retrograd.tensor(a)).numpy()
    np.testing.assert_allclose(got.float().numpy(), want, rtol=1e-2)


def _chol(t, a):
    return t.linalg.cholesky(a @ a.mT + 3 * t.eye(a.shape[-1], dtype=a.dtype))


TOP_LEVEL_CASES = [  # torch.* spellings (ops/linalg.py)
    ("cholesky_solve", lambda t, a, b: t.cholesky_solve(b, _chol(t, a)), (3, 3), (3, 2)),
    ("cholesky_solve_upper_batched", lambda t, a, b: b.cholesky_solve(_chol(t, a).mT, upper=True), (2, 3, 3), (3, 2)),
    ("cholesky_inverse", lambda t, a: t.cholesky_inverse(_chol(t, a)), (3, 3)),
    ("cholesky_inverse_upper", lambda t, a: _chol(t, a).mT.cholesky_inverse(upper=True), (2, 3, 3)),
    ("triangular_solve", lambda t, a, b: t.triangular_solve(b, _well(t, a)), (3, 3), (3, 2)),
    ("triangular_solve_lower_t_unit", lambda t, a, b: b.triangular_solve(_well(t, a), upper=False, transpose=True,
                                                                          unitriangular=True), (2, 3, 3), (3, 2)),
    ("lu_unpack", lambda t, a: t.lu_unpack(*t.linalg.lu_factor(a)), (3, 3)),
    ("lu_unpack_wide_batched", lambda t, a: t.lu_unpack(*t.linalg.lu_factor(a)), (2, 2, 4)),
    ("lu_solve_top", lambda t, a, b: t.lu_solve(b, *t.linalg.lu_factor(_well(t, a))), (3, 3), (3, 2)),
    ("torch_lu", lambda t, a: t.lu(a, get_infos=True), (3, 3)),
    ("torch_lu_method", lambda t, a: a.lu(), (2, 3, 3)),
    ("orgqr", lambda t, a, tau: t.orgqr(a, tau), (4, 3), (2,)),
]

TOP_LEVEL_VALUES = [
    # a factor that is not triangular: only its lower (upper) triangle is read, as LAPACK's potrs
    # (torch's gradient is the whole matrix's: see docs/differences.md)
    ("cholesky_solve_reads_the_triangle", lambda t, a, b: t.cholesky_solve(b, _well(t, a)), (3, 3), (3, 2)),
    ("cholesky_inverse_reads_the_triangle", lambda t, a: t.cholesky_inverse(_well(t, a), upper=True), (3, 3)),
    ("lu_unpack_parts", lambda t, a: (*t.lu_unpack(*t.linalg.lu_factor(a), unpack_data=False),
                                      *t.lu_unpack(*t.linalg.lu_factor(a), unpack_pivots=False)), (3, 3)),
    ("torch_lu_singular", lambda t, a: t.lu(0 * a, get_infos=True), (3, 3)),
]


@pytest.mark.filterwarnings("ignore:torch.(lu|lu_solve|triangular_solve) is deprecated")
@pytest.mark.parametrize("case", TOP_LEVEL_CASES, ids=[c[0] for c in TOP_LEVEL_CASES])
def test_top_level_op(case):
    _, fn, *shapes = case
    check_op(fn, *shapes)


@pytest.mark.filterwarnings("ignore:torch.(lu|lu_solve|triangular_solve) is deprecated")
@pytest.mark.parametrize("case", TOP_LEVEL_VALUES, ids=[c[0] for c in TOP_LEVEL_VALUES])
def test_top_level_values(case):
    _, fn, *specs = case
    check_op(lambda t, *xs: [o.detach() for o in _outputs(fn(t, *xs))], *specs, gradcheck=False,
             gradgradcheck=False)


@pytest.mark.parametrize("name", ["lu", "lu_solve", "triangular_solve"])
def test_deprecated_spellings_warn_as_torch(name, monkeypatch):
    monkeypatch.setattr("retrograd._warn_once._seen", set())
    call = {"lu": lambda: retrograd.lu(retrograd.eye(2)),
            "triangular_solve": lambda: retrograd.triangular_solve(retrograd.eye(2), retrograd.eye(2)),
            "lu_solve": lambda: retrograd.lu_solve(retrograd.eye(2), *retrograd.linalg.lu_factor(retrograd.eye(2)))}[name]
    with pytest.warns(UserWarning, match=f"torch.{name} is deprecated in favor of torch.linalg"):
        call()


def _sym(t, a):
    return a + a.mT


def _zero_diagonal(t, a):
    """Symmetric with a zero diagonal: 2x2 pivot blocks."""
    s = a + a.mT
    return s - t.diag_embed(t.diagonal(s, 0, -2, -1))


LDL_CASES = [  # no derivative (none in torch): LD, pivots, info and solutions against torch's
    ("ldl_factor", lambda t, a: t.linalg.ldl_factor(_sym(t, a)), (4, 4)),
    ("ldl_factor_2x2_blocks_batched", lambda t, a: t.linalg.ldl_factor(_zero_diagonal(t, a)), (3, 5, 5)),
    ("ldl_factor_hermitian", lambda t, a: t.linalg.ldl_factor(_sym(t, a), hermitian=True), (3, 3)),
    ("ldl_factor_ex_singular", lambda t, a: t.linalg.ldl_factor_ex(t.stack([_sym(t, a), 0 * a])), (3, 3)),
    ("ldl_factor_reads_lower", lambda t, a: t.linalg.ldl_factor(t.tril(_sym(t, a)) + 5 * t.triu(a, 1)), (4, 4)),
    ("ldl_solve", lambda t, a, b: t.linalg.ldl_solve(*t.linalg.ldl_factor(_zero_diagonal(t, a)), b), (5, 5), (5, 2)),
    ("ldl_solve_batched_bcast", lambda t, a, b: t.linalg.ldl_solve(*t.linalg.ldl_factor(_sym(t, a)), b),
     (2, 4, 4), (4, 3)),
]


@pytest.mark.parametrize("case", LDL_CASES, ids=[c[0] for c in LDL_CASES])
def test_ldl(case):
    _, fn, *specs = case
    check_op(lambda t, *xs: [o.detach() for o in _outputs(fn(t, *xs))], *specs, gradcheck=False,
             gradgradcheck=False)


def test_ldl_has_no_derivative_as_torch():
    a = retrograd.tensor(np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]]), requires_grad=True)
    LD, pivots = retrograd.linalg.ldl_factor(a)
    assert pivots.tolist() == [-3, -3, 3]  # torch 2.13's, as LAPACK's
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
        LD.sum().backward()
    with pytest.raises(retrograd.linalg.LinAlgError, match="singular"):
        retrograd.linalg.ldl_factor(retrograd.zeros(3, 3))
