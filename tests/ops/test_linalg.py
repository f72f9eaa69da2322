"""Products, einsum, diagonals and triangles: gradcheck + gradgradcheck + torch, one line per op."""

import inspect

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, reference, requires_torch, torch

CASES = [
    ("matmul", lambda t, a, b: t.matmul(a, b), (2, 3), (3, 2)),
    ("matmul_batched_bcast", lambda t, a, b: a @ b, (2, 1, 2, 3), (3, 3, 2)),
    ("matmul_vec_mat", lambda t, a, b: a @ b, (3,), (2, 3, 2)),
    ("matmul_empty", lambda t, a, b: a @ b, (2, 0), (0, 3)),
    ("mm", lambda t, a, b: t.mm(a, b), (2, 3), (3, 4)),
    ("bmm", lambda t, a, b: t.bmm(a, b), (2, 2, 3), (2, 3, 2)),
    ("mv", lambda t, a, b: t.mv(a, b), (2, 3), (3,)),
    ("addmm", lambda t, c, a, b: t.addmm(c, a, b, beta=0.5, alpha=2.0), (3,), (2, 3), (3, 3)),
    ("addmm_beta0", lambda t, c, a, b: t.addmm(c, a, b, beta=0), (2, 3), (2, 2), (2, 3)),
    ("addmv", lambda t, c, a, b: t.addmv(c, a, b, alpha=-1), (2,), (2, 3), (3,)),
    ("addr", lambda t, c, a, b: t.addr(c, a, b), (2, 3), (2,), (3,)),
    ("baddbmm", lambda t, c, a, b: t.baddbmm(c, a, b, beta=2), (1, 2, 2), (2, 2, 3), (2, 3, 2)),
    ("addbmm", lambda t, c, a, b: t.addbmm(c, a, b), (2, 2), (2, 2, 3), (2, 3, 2)),
    ("dot", lambda t, a, b: t.dot(a, b), (4,), (4,)),
    ("vdot", lambda t, a, b: t.vdot(a, b), (4,), (4,)),
    ("dot_empty", lambda t, a, b: a.dot(b), (0,), (0,)),
    ("outer", lambda t, a, b: t.outer(a, b), (3,), (2,)),
    ("ger", lambda t, a, b: a.ger(b), (3,), (2,)),
    ("inner", lambda t, a, b: t.inner(a, b), (2, 3), (4, 3)),
    ("inner_0dim", lambda t, a, b: t.inner(a, b), (), (2, 2)),
    ("tensordot_int", lambda t, a, b: t.tensordot(a, b, 2), (2, 3, 2), (3, 2, 2)),
    ("tensordot_lists", lambda t, a, b: t.tensordot(a, b, ([0, -1], [2, 0])), (2, 3, 2), (2, 2, 2)),
    ("tensordot_0", lambda t, a, b: t.tensordot(a, b, 0), (2,), (3,)),
    ("kron", lambda t, a, b: t.kron(a, b), (2, 2), (2, 3)),
    ("kron_mixed_ndim", lambda t, a, b: t.kron(a, b), (3,), (2, 2)),
    ("einsum_matmul", lambda t, a, b: t.einsum("ij,jk->ik", a, b), (2, 3), (3, 2)),
    ("einsum_implicit", lambda t, a, b: t.einsum("ij,jk", a, b), (2, 3), (3, 2)),
    ("einsum_batch_ellipsis", lambda t, a, b: t.einsum("...ij,...jk->...ik", a, b), (2, 2, 3), (3, 2)),
    ("einsum_trace", lambda t, a: t.einsum("ii->", a), (3, 3)),
    ("einsum_diag", lambda t, a: t.einsum("bii->bi", a), (2, 3, 3)),
    ("einsum_sum_only", lambda t, a, b: t.einsum("ij,k->k", a, b), (2, 3), (2,)),
    ("einsum_outer3", lambda t, a, b, c: t.einsum("i,j,k->kji", a, b, c), (2,), (3,), (2,)),
    ("einsum_three", lambda t, a, b, c: t.einsum("ab,bc,cd->ad", a, b, c), (2, 3), (3, 2), (2, 2)),
    ("einsum_bcast1", lambda t, a, b: t.einsum("ij,ij->i", a, b), (2, 1), (2, 3)),
    ("einsum_sublist", lambda t, a, b: t.einsum(a, [0, 1], b, [1, 2], [2, 0]), (2, 3), (3, 2)),
    ("einsum_sublist_implicit", lambda t, a, b: t.einsum(a, [Ellipsis, 1], b, [1]), (2, 3), (3,)),
    ("einsum_list", lambda t, a, b: t.einsum("i,i", [a, b]), (3,), (3,)),
    ("trace", lambda t, a: t.trace(a), (3, 4)),
    ("diag_vec", lambda t, a: t.diag(a), (3,)),
    ("diag_vec_offset", lambda t, a: t.diag(a, -1), (3,)),
    ("diag_mat", lambda t, a: t.diag(a, 1), (3, 4)),
    ("diagonal", lambda t, a: t.diagonal(a), (3, 4)),
    ("diagonal_dims", lambda t, a: a.diagonal(-1, 2, 0), (3, 2, 4)),
    ("diagonal_empty", lambda t, a: a.diagonal(5), (3, 4)),
    ("diag_embed", lambda t, a: t.diag_embed(a), (2, 3)),
    ("diag_embed_dims", lambda t, a: t.diag_embed(a, 1, 0, 2), (2, 3)),
    ("diagflat", lambda t, a: t.diagflat(a), (2, 2)),
    ("tril", lambda t, a: t.tril(a), (3, 4)),
    ("tril_k", lambda t, a: a.tril(-1), (2, 3, 3)),
    ("triu", lambda t, a: t.triu(a, 1), (3, 4)),
    ("triu_", lambda t, a: (a * 1).triu_(), (3, 3)),
    ("block_diag", lambda t, a, b, c: t.block_diag(a, b, c), (2, 2), (3,), ()),
    ("cartesian_prod", lambda t, a, b: t.cartesian_prod(a, b), (2,), (3,)),
    ("cross", lambda t, a, b: t.cross(a, b, dim=1), (2, 3), (2, 3)),
    ("linalg_cross_bcast", lambda t, a, b: t.linalg.cross(a, b), (2, 3), (1, 3)),
    ("chain_matmul", lambda t, a, b, c: t.linalg.multi_dot([a, b, c]) if t is not retrograd
     else t.chain_matmul(a, b, c), (2, 3), (3, 3), (3, 2)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_linalg_op(case):
    _, fn, *shapes = case
    check_op(fn, *shapes)


def test_diagonal_is_writable_view():
    x = retrograd.zeros(3, 3)
    d = x.diagonal()
    assert np.shares_memory(d._data, x._data)
    d.add_(1)
    assert x.tolist() == np.eye(3).tolist()


def test_tri_indices():
    assert retrograd.tril_indices(3, 3).tolist() == [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    assert retrograd.triu_indices(2, 3, 1).tolist() == [[0, 0, 1], [1, 2, 2]]
    assert retrograd.triu_indices(2, 3).dtype == retrograd.int64


def test_trace_int_is_int64():
    assert retrograd.trace(retrograd.ones(2, 2, dtype=retrograd.int32)).dtype == retrograd.int64


@pytest.mark.parametrize("fn", [
    lambda t: t.mm(t.zeros(2, 3), t.zeros(2, 3)),
    lambda t: t.mm(t.zeros(2), t.zeros(2, 3)),
    lambda t: t.mm(t.zeros(2, 3), t.zeros(3, 2, dtype=t.float64)),
    lambda t: t.bmm(t.zeros(2, 2, 3), t.zeros(3, 3, 2)),
    lambda t: t.dot(t.zeros(2), t.zeros(3)),
    lambda t: t.dot(t.zeros(2, 1), t.zeros(2, 1)),
    lambda t: t.matmul(t.zeros(()), t.zeros(2)),
    lambda t: t.einsum("ij,jk->ik", t.zeros(2, 3), t.zeros(2, 3)),
    lambda t: t.einsum("ij->ik", t.zeros(2, 3)),
    lambda t: t.einsum("ijk", t.zeros(2, 3)),
    lambda t: t.tensordot(t.zeros(2, 3), t.zeros(2, 3), 1),
    lambda t: t.trace(t.zeros(2)),
    lambda t: t.diagonal(t.zeros(2, 2), 0, 1, 1),
    lambda t: t.tril(t.zeros(3)),
])
def test_linalg_errors(fn):
    with pytest.raises(RuntimeError):
        fn(retrograd)


# torch 2.13's message for each product of operands of different dtypes (recorded; checked
# against torch itself below when it is installed): products never promote, unlike +/*.
_f, _d, _h, _i = "float32", "float64", "float16", "int64"
DTYPE_CASES = [
    ("mm", lambda t, a, b: t.mm(a, b), ((3, 3), _f), ((3, 3), _d),
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("matmul_2d", lambda t, a, b: a @ b, ((3, 3), _f), ((3, 3), _d),
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("matmul_int_float", lambda t, a, b: a @ b, ((3, 3), _i), ((3, 3), _f),
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    ("matmul_half_float", lambda t, a, b: t.matmul(a, b), ((3, 3), _h), ((3, 3), _f),
     "expected m1 and m2 to have the same dtype, but got: c10::Half != float"),
    ("matmul_1d_1d", lambda t, a, b: a @ b, ((3,), _f), ((3,), _d),
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    ("matmul_2d_1d", lambda t, a, b: a @ b, ((2, 3), _f), ((3,), _d),
     "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    ("matmul_1d_2d", lambda t, a, b: a @ b, ((3,), _h), ((3, 2), _f),
     "expected m1 and m2 to have the same dtype, but got: c10::Half != float"),
    ("matmul_3d", lambda t, a, b: a @ b, ((2, 3, 3), _f), ((2, 3, 3), _d),
     "expected scalar type Float but found Double"),
    ("matmul_3d_2d", lambda t, a, b: a @ b, ((2, 3, 3), _i), ((3, 3), _f),
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    ("matmul_2d_4d", lambda t, a, b: a @ b, ((3, 3), _d), ((2, 2, 3, 3), _f),
     "expected scalar type Double but found Float"),
    ("rmatmul", lambda t, a, b: b.__rmatmul__(a), ((3, 3), _d), ((3, 3), _f),
     "expected m1 and m2 to have the same dtype, but got: double != float"),
    ("bmm", lambda t, a, b: t.bmm(a, b), ((2, 3, 3), _h), ((2, 3, 3), _f),
     "expected scalar type Half but found Float"),
    ("mv", lambda t, a, b: t.mv(a, b), ((2, 3), _f), ((3,), _i),
     "addmv input tensors must have the same dtype, but got Long, Float, and Long"),
    ("dot", lambda t, a, b: t.dot(a, b), ((3,), _i), ((3,), _f),
     "dot : expected both vectors to have same dtype, but found Long and Float"),
    ("vdot", lambda t, a, b: a.vdot(b), ((3,), _f), ((3,), _d),
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    ("addmm_input", lambda t, c, a, b: t.addmm(c, a, b), ((3, 3), _d), ((3, 3), _f), ((3, 3), _f),
     "self and mat2 must have the same dtype, but got Double and Float"),
    ("addmm_mat1", lambda t, c, a, b: t.addmm(c, a, b), ((3, 3), _f), ((3, 3), _d), ((3, 3), _f),
     "mat1 and mat2 must have the same dtype, but got Double and Float"),
    ("addmv", lambda t, c, a, b: t.addmv(c, a, b), ((3,), _d), ((3, 3), _f), ((3,), _f),
     "addmv input tensors must have the same dtype, but got Double, Float, and Float"),
    ("baddbmm_input", lambda t, c, a, b: t.baddbmm(c, a, b), ((2, 3, 3), _d), ((2, 3, 3), _f),
     ((2, 3, 3), _f), "Input dtypes must be the same, got: input double, batch1: float, batch2: float"),
    ("baddbmm_batch2", lambda t, c, a, b: c.baddbmm(a, b), ((2, 3, 3), _f), ((2, 3, 3), _f),
     ((2, 3, 3), _d), "expected scalar type Float but found Double"),
    ("addbmm", lambda t, c, a, b: t.addbmm(c, a, b), ((3, 3), _f), ((2, 3, 3), _f), ((2, 3, 3), _h),
     "self and mat2 must have the same dtype, but got Float and Half"),
    ("inner", lambda t, a, b: t.inner(a, b), ((2, 3), _f), ((2, 3), _d),
     "both inputs should have same dtype"),
    ("tensordot", lambda t, a, b: t.tensordot(a, b, 1), ((2, 3), _f), ((3, 2), _d),
     "both inputs should have same dtype"),
    ("multi_dot", lambda t, a, b, c: t.linalg.multi_dot([a, b, c]), ((2, 3), _f), ((3, 3), _f),
     ((3, 2), _d), "multi_dot(): all tensors must have be the same dtype but tensor 0 is float and "
     "tensor 2 double"),
    ("chain_matmul", lambda t, a, b: t.chain_matmul(a, b), ((3, 3), _f), ((3, 3), _d),
     "multi_dot(): all tensors must have be the same dtype but tensor 0 is float and tensor 1 double"),
    # einsum contracts left to right; a pair with a letter summed away goes through bmm
    ("einsum", lambda t, a, b: t.einsum("ij,jk->ik", a, b), ((2, 3), _f), ((3, 2), _d),
     "expected scalar type Float but found Double"),
    ("einsum_batch", lambda t, a, b: t.einsum("ij,ij->i", a, b), ((2, 3), _h), ((2, 3), _f),
     "expected scalar type Half but found Float"),
    ("einsum_after_a_product", lambda t, a, b, c: t.einsum("i,i,i->", a, b, c), ((2,), _f), ((2,), _d),
     ((2,), _f), "expected scalar type Double but found Float"),
]


def _dtype_case_inputs(t, specs):
    return [t.ones(*shape, dtype=getattr(t, dt)) for shape, dt in specs]


@pytest.mark.parametrize("case", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_products_of_mixed_dtypes_raise_as_torch(case):
    _, fn, *specs, message = case
    args = _dtype_case_inputs(retrograd, specs)
    with pytest.raises(RuntimeError) as err:
        fn(retrograd, *args)
    text = str(err.value)
    assert text.startswith(message + " (")  # torch's words, then what we add:
    for a in args:  # each operand's shape and dtype, and the fix
        assert f"{list(a.shape)} {a.dtype}" in text
    assert "cast the operands to one dtype first, e.g. with .to(torch." in text


@requires_torch
@pytest.mark.parametrize("case", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_mixed_dtype_messages_are_torchs(case):
    import warnings

    _, fn, *specs, message = case
    with pytest.raises(RuntimeError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # chain_matmul is deprecated in torch
        fn(torch, *_dtype_case_inputs(torch, specs))
    assert str(err.value).split("\n")[0] == message


def test_products_of_one_dtype_still_work_for_every_form():
    # int @ int stays int, half @ half stays half (no cast, no error)
    a = retrograd.ones(2, 3, dtype=retrograd.int64)
    assert (a @ a.t()).dtype == retrograd.int64 and (a @ a.t()).tolist() == [[3, 3], [3, 3]]
    h = retrograd.ones(2, 3, 3, dtype=retrograd.float16)
    assert (h @ h).dtype == retrograd.float16 and retrograd.bmm(h, h).dtype == retrograd.float16


def test_matmul_with_a_non_tensor_is_a_type_error():
    x = retrograd.ones(2)
    with pytest.raises(TypeError, match="must be Tensor, not int"):
        retrograd.matmul(x, 2)
    with pytest.raises(TypeError, match="must be Tensor, not int"):
        x @ 2


def test_einsum_without_a_contraction_promotes_as_torch():
    # pairs that share no summed letter are multiplied, which promotes (torch's dtypes, not NumPy's)
    f, d, i = retrograd.float32, retrograd.float64, retrograd.int64
    cases = [("i,j->ij", f, d, d), ("i,i->i", f, d, d), ("ij,k->", f, d, d), ("i,j->ij", i, f, f), ("i,i->", i, i, i)]
    for eq, a, b, out in cases:
        x, y = retrograd.ones(3, dtype=a), retrograd.ones(3 if eq != "ij,k->" else 2, dtype=b)
        if eq == "ij,k->":
            x = retrograd.ones(2, 3, dtype=a)
        assert retrograd.einsum(eq, x, y).dtype == out, eq
    x, y = retrograd.ones(3, requires_grad=True), retrograd.ones(2, dtype=d, requires_grad=True)
    retrograd.einsum("i,j->ij", x, y).sum().backward()
    assert x.grad.dtype == f and y.grad.dtype == d and x.grad.tolist() == [2.0] * 3


# ---------------------------------------------------------------------------- torch.svd


def _svd_fixed_signs(t, a, **kw):
    """torch.svd's (U, S, V) with each singular pair's sign fixed (V's first row >= 0), so that
    values and gradients compare between libraries; the first k = min(m, n) columns."""
    U, S, V = t.svd(a, **kw)
    k = S.shape[-1]
    sign = t.sign(V[..., :1, :k])
    return U[..., :k] * sign, S, V[..., :k] * sign


SVD_CASES = [
    ("tall", lambda t, a: _svd_fixed_signs(t, a), (4, 3)),
    ("wide", lambda t, a: _svd_fixed_signs(t, a), (2, 4)),
    ("batched", lambda t, a: _svd_fixed_signs(t, a), (2, 3, 3)),
    ("some_false_tall", lambda t, a: _svd_fixed_signs(t, a, some=False), (4, 3)),  # full U: backward narrows it
    ("some_false_wide", lambda t, a: _svd_fixed_signs(t, a, some=False), (2, 3)),
    ("method", lambda t, a: _svd_fixed_signs(t, a) if t is not retrograd else _svd_method(a), (3, 2)),
    ("singular_values_only", lambda t, a: t.svd(a, compute_uv=False).S, (3, 4)),
]


def _svd_method(a):
    U, S, V = a.svd()
    sign = retrograd.sign(V[..., :1, :])
    return U * sign, S, V * sign


@pytest.mark.parametrize("case", SVD_CASES, ids=[c[0] for c in SVD_CASES])
def test_torch_svd(case):
    """Values and gradients as torch; gradcheck and gradgradcheck."""
    _, fn, *specs = case
    check_op(fn, *specs)


def test_torch_svd_shapes_and_return_type_as_torch():
    a = retrograd.randn(2, 5, 3, dtype=retrograd.float64)
    out = retrograd.svd(a)
    assert type(out).__name__ == "svd" and out._fields == ("U", "S", "V")
    assert [tuple(x.shape) for x in out] == [(2, 5, 3), (2, 3), (2, 3, 3)]
    np.testing.assert_allclose((out.U * out.S.unsqueeze(-2) @ out.V.mT).numpy(), a.numpy(), atol=1e-12)
    full = retrograd.svd(a, some=False)
    assert [tuple(x.shape) for x in full] == [(2, 5, 5), (2, 3), (2, 3, 3)]
    # compute_uv=False: S only; U and V zeros of the full shapes, whatever some says
    none = retrograd.svd(a.requires_grad_(), some=True, compute_uv=False)
    assert [tuple(x.shape) for x in none] == [(2, 5, 5), (2, 3), (2, 3, 3)]
    assert not none.U.any() and not none.V.any() and none.S.requires_grad and not none.U.requires_grad
    np.testing.assert_allclose(none.S.detach().numpy(), out.S.numpy(), atol=1e-12)


@pytest.mark.parametrize("fn,exc", [
    (lambda t: t.svd(t.ones(3)), RuntimeError),
    (lambda t: t.svd(t.ones(2, 2, dtype=t.int64)), RuntimeError),  # Expected a floating point ... Got Long
    (lambda t: t.linalg.svd(t.ones(2, 2, dtype=t.int32)), RuntimeError),
])
def test_torch_svd_errors_as_torch(fn, exc):
    for lib in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(exc):
            fn(lib)


def test_linalg_svd_full_matrices_gradient_as_torch():
    """full_matrices=True on a non-square input: torch differentiates through the first k singular
    vectors (the others are arbitrary) instead of refusing."""
    check_op(lambda t, a: (lambda r: (r.U[..., :2] * t.sign(r.Vh[..., :2, :1]).mT, r.S))(t.linalg.svd(a)),
             (3, 2), gradgradcheck=False)


# ---------------------------------------------------------------------------- block_diag, cartesian_prod


def _result(out):
    return str(out.dtype), out.numpy()


@pytest.mark.parametrize("fn", [
    lambda t: t.block_diag(t.tensor(5, dtype=t.int32), t.tensor([[1, 2], [3, 4]], dtype=t.uint8)),  # 0-d ranks low
    lambda t: t.block_diag(t.tensor(True), t.tensor([[1, 2], [3, 4]], dtype=t.uint8)),
    lambda t: t.block_diag(t.tensor([1, 2]), t.tensor([[1.0, 2], [3, 4]])),
    lambda t: t.block_diag(t.tensor([1.0], dtype=t.float16), t.tensor([2.0], dtype=t.bfloat16)),
    lambda t: t.block_diag(t.zeros(0, 2), t.ones(2, 0), t.ones(1, 1)),
    lambda t: t.block_diag(),
    lambda t: t.cartesian_prod(t.tensor([1, 2]), t.tensor([3, 4, 5]), t.tensor([6])),
    lambda t: t.cartesian_prod(t.tensor([1, 2]), t.tensor([], dtype=t.int64)),
    lambda t: t.cartesian_prod(t.tensor([1.5, 2])),
])
def test_block_diag_cartesian_prod_like_torch(fn):
    (dtype, ours), (want_dtype, theirs) = _result(fn(retrograd)), reference(lambda: _result(fn(torch)),
                                                                           inputs=[inspect.getsource(fn)])
    assert dtype == want_dtype
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("case", [
    ("block_diag", lambda t, a, b, c: t.block_diag(a, b, c), (2, 3), (3,), (1, 1)),
    ("cartesian_prod", lambda t, a, b: t.cartesian_prod(a, b), (3,), (2,)),
], ids=lambda c: c[0])
def test_block_diag_cartesian_prod_gradients(case):
    _, fn, *specs = case
    check_op(fn, *specs)


@pytest.mark.parametrize("fn,match", [
    (lambda t: t.block_diag(t.zeros(2), t.zeros(2, 2, 2)), "Input 1 has 3 dimensions"),
    (lambda t: t.cartesian_prod(t.tensor([[1, 2]])), r"Expect a 1D vector, but got shape \[1, 2\]"),
    (lambda t: t.cartesian_prod(t.tensor(1), t.tensor([1])), "Expect a 1D vector"),
    (lambda t: t.cartesian_prod(t.tensor([1, 2]), t.tensor([1.0, 2])), "same dtype"),
    (lambda t: t.cartesian_prod(), "non-empty TensorList"),
])
def test_block_diag_cartesian_prod_errors_as_torch(fn, match):
    for lib in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(RuntimeError, match=match):
            fn(lib)


def test_matrix_products_of_bool_tensors_are_refused_as_torch():
    b, v, b3 = (retrograd.ones(*s, dtype=retrograd.bool) for s in ((2, 2), (2,), (2, 2, 2)))
    for call, kernel in [(lambda: b @ b, "addmm_impl_cpu_"), (lambda: v @ b, "addmm_impl_cpu_"),
                         (lambda: b @ v, "addmv_impl_cpu"), (lambda: v @ v, "dot"), (lambda: b3 @ b3, "bmm"),
                         (lambda: retrograd.mm(b, b), "addmm_impl_cpu_"), (lambda: retrograd.dot(v, v), "dot"),
                         (lambda: retrograd.einsum("ij,jk->ik", b, b), "bmm"),
                         (lambda: retrograd.einsum("ij,ij->i", b, b), "bmm")]:
        with pytest.raises(NotImplementedError, match=f'"{kernel}" not implemented for \'Bool\''):
            call()
    assert retrograd.outer(v, v).dtype == retrograd.bool  # no matrix product: allowed, as torch
    assert retrograd.einsum("i,j->ij", v, v).dtype == retrograd.bool
    assert (b.int() @ b.int()).tolist() == [[2, 2], [2, 2]]


def test_einsum_summing_one_integer_operand_gives_int64_as_torch():
    x = retrograd.full((20, 20), 100, dtype=retrograd.int8)
    assert retrograd.einsum("ij->", x).item() == 40000  # summed in int64, not wrapped in int8
    assert retrograd.einsum("ij->i", x).dtype == retrograd.int64
    assert retrograd.einsum("ii->", retrograd.ones(2, 2, dtype=retrograd.bool)).dtype == retrograd.int64
    assert retrograd.einsum("ij->ji", x).dtype == retrograd.int8  # no letter summed: the dtype kept
    assert retrograd.einsum("ij,jk->ik", x[:2, :2], x[:2, :2]).dtype == retrograd.int8


_SAVE_ONLY_NEEDED = [
    ("matmul", lambda t, a, b: a @ b, (3, 4), (4, 5)),
    ("matmul_vec_vec", lambda t, a, b: a @ b, (4,), (4,)),
    ("matmul_mat_vec", lambda t, a, b: a @ b, (3, 4), (4,)),
    ("matmul_vec_mat", lambda t, a, b: a @ b, (4,), (4, 5)),
    ("matmul_batched_bcast", lambda t, a, b: a @ b, (2, 3, 4), (1, 4, 5)),
    ("mm", lambda t, a, b: t.mm(a, b), (3, 4), (4, 5)),
    ("bmm", lambda t, a, b: t.bmm(a, b), (2, 3, 4), (2, 4, 5)),
    ("mv", lambda t, a, b: t.mv(a, b), (3, 4), (4,)),
    ("dot", lambda t, a, b: t.dot(a, b), (4,), (4,)),
    ("addmm", lambda t, a, b: t.addmm(t.zeros(3, 5), a, b), (3, 4), (4, 5)),
    ("inner", lambda t, a, b: t.inner(a, b), (3, 4), (5, 4)),
    ("einsum", lambda t, a, b: t.einsum("ij,jk->ik", a, b), (3, 4), (4, 5)),
    ("einsum_three", lambda t, a, b: t.einsum("bij,bjk,k->bi", a, b, t.ones(5)), (2, 3, 4), (2, 4, 5)),
]


@pytest.mark.parametrize("name, fn, sa, sb", _SAVE_ONLY_NEEDED, ids=[c[0] for c in _SAVE_ONLY_NEEDED])
@pytest.mark.parametrize("which", [0, 1])
def test_products_save_only_what_the_needed_gradient_reads(name, fn, sa, sb, which):
    """As torch: with one operand requiring grad, the product saves only the other, so modifying
    the one requiring grad in place after the forward leaves backward (and its gradient) intact;
    modifying the saved one still raises torch's RuntimeError."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)]

    def run(t, modify):
        ops = [t.tensor(x) for x in arrays]
        ops[which].requires_grad_()
        y = fn(t, *ops)
        with t.no_grad():
            ops[modify].add_(1)
        y.sum().backward()
        return ops[which].grad

    grad = run(retrograd, modify=which)
    ops = [retrograd.tensor(x) for x in arrays]
    ops[which].requires_grad_()
    fn(retrograd, *ops).sum().backward()
    np.testing.assert_array_equal(grad.numpy(), ops[which].grad.numpy())
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(retrograd, modify=1 - which)
    if torch is not None:
        np.testing.assert_allclose(grad.numpy(), run(torch, modify=which).numpy(), rtol=1e-5, atol=1e-5)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            run(torch, modify=1 - which)


# ---------------------------------------------------------------------------- deprecated and removed spellings

def test_chain_matmul_warns_once_that_it_is_deprecated_as_torch(monkeypatch):
    monkeypatch.setattr("retrograd._warn_once._seen", set())
    a = retrograd.eye(2)
    with pytest.warns(UserWarning, match="torch.chain_matmul is deprecated .* Use torch.linalg.multi_dot instead"):
        assert retrograd.chain_matmul(a, a * 2).tolist() == [[2.0, 0.0], [0.0, 2.0]]


def test_qr_is_linalg_qr_with_some_and_warns_as_torch(monkeypatch):
    monkeypatch.setattr("retrograd._warn_once._seen", set())
    x = np.random.default_rng(0).standard_normal((4, 3))
    a = retrograd.tensor(x, requires_grad=True)
    with pytest.warns(UserWarning, match=r"(?s)torch.qr is deprecated in favor of torch.linalg.qr.*'reduced' if some"):
        q, r = retrograd.qr(a)
    assert type(retrograd.qr(a)).__name__ == "qr"
    assert q.shape == (4, 3) and r.shape == (3, 3)
    Q, R = a.qr(some=False)
    assert Q.shape == (4, 4) and R.shape == (4, 3)
    assert np.allclose((Q @ R).detach().numpy(), x)
    r.sum().backward()
    b = retrograd.tensor(x, requires_grad=True)
    retrograd.linalg.qr(b).R.sum().backward()
    assert np.array_equal(a.grad.numpy(), b.grad.numpy())
    if torch is not None:
        want = torch.qr(torch.tensor(x), some=False)
        assert np.allclose(np.abs(R.detach().numpy()), np.abs(want.R.numpy()))


REMOVED = {  # name: (call on module m, call as a Tensor method or None, words of the replacement)
    "solve": (lambda m, a: m.solve(a, a), lambda a: a.solve(a), "X = torch.linalg.solve(A, B)"),
    "lstsq": (lambda m, a: m.lstsq(a, a), lambda a: a.lstsq(a), "X = torch.linalg.lstsq(A, B).solution"),
    "symeig": (lambda m, a: m.symeig(a, eigenvectors=True), lambda a: a.symeig(True), "torch.linalg.eigh(A"),
    "eig": (lambda m, a: m.eig(a), lambda a: a.eig(eigenvectors=True), "torch.linalg.eigvals(A)"),
    "matrix_rank": (lambda m, a: m.matrix_rank(a, symmetric=True), None, "`torch.linalg.matrix_rank` function"),
}


@pytest.mark.parametrize("name", sorted(REMOVED))
def test_removed_linalg_functions_raise_naming_the_replacement_as_torch(name):
    call, method, words = REMOVED[name]
    a = retrograd.eye(2)
    with pytest.raises(RuntimeError, match="deprecated since version 1.9 and is now removed") as got:
        call(retrograd, a)
    assert words in str(got.value)
    if method is None:
        assert not hasattr(retrograd.Tensor, name)
    else:
        with pytest.raises(RuntimeError) as got_method:
            method(a)
        assert str(got_method.value) == str(got.value)
    if torch is not None:
        with pytest.raises(RuntimeError) as want:
            call(torch, torch.eye(2))
        assert str(got.value) == str(want.value)
        assert inspect.signature(getattr(retrograd, name)).parameters.keys() == \
            inspect.signature(getattr(torch, name)).parameters.keys()
        if method is not None:
            assert inspect.signature(getattr(retrograd.Tensor, name)).parameters.keys() == \
                inspect.signature(getattr(torch.Tensor, name)).parameters.keys()


_SCALED_PRODUCTS = {"addmm": ((9, 7), (9, 40), (40, 7)), "addmv": ((9,), (9, 40), (40,)),
                    "baddbmm": ((3, 9, 7), (3, 9, 40), (3, 40, 7)), "addbmm": ((9, 7), (3, 9, 40), (3, 40, 7)),
                    "addr": ((9, 7), (9,), (7,)), "addmm_": ((9, 7), (9, 40), (40, 7)),
                    "baddbmm_": ((3, 9, 7), (3, 9, 40), (3, 40, 7))}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", list(_SCALED_PRODUCTS))
def test_half_precision_scaled_products_round_as_torchs(dtype, name):
    """beta*input + alpha*(product) in float16/bfloat16, as torch's CPU kernels: addmm, addmv and
    baddbmm (and their in-place methods) computed in float32 and rounded once, addbmm one such addmm
    per batch, addr op by op in the half type with alpha and beta rounded to it. Before, the product
    was rounded and then the sum: 20-55% of the elements differed (addr's with alpha or beta != 1). The
    gradients as torch's: g*beta for input, the product's gradient rounded, then times alpha (computed
    in float32 and rounded once, 25-35% of them differed where alpha != 1; addr's 15-80%).
    torch's gemm and OpenBLAS add the products in different orders: where they cancel (a result
    1e-5 of its terms) the float32 sums may round to neighbouring half values, so up to 2 elements
    may differ by that one ulp."""
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in _SCALED_PRODUCTS[name]]
    scales = [(1, 1), (0.3, 0.7), (0, 1.5)]

    def run(lib):
        results = []
        for beta, alpha in scales:
            input, a, b = (lib.tensor(x).to(getattr(lib, dtype)).requires_grad_() for x in arrays)
            if name.endswith("_"):
                out = (input * 1)
                getattr(out, name)(a, b, beta=beta, alpha=alpha)
            else:
                out = getattr(lib, name)(input, a, b, beta=beta, alpha=alpha)
            g = lib.tensor(np.linspace(-2, 2, out.numel(), dtype=np.float32).reshape(out.shape)).to(out.dtype)
            out.backward(g)
            results.append([t.detach().float().numpy() for t in (out, input.grad, a.grad, b.grad)])
        return results

    want = reference(lambda: run(torch), inputs=arrays + [name, dtype])
    ulp = 2.0 ** (-10 if dtype == "float16" else -7)
    for (beta, alpha), got, expected in zip(scales, run(retrograd), want):
        for what, x, y in zip(("out", "input.grad", "a.grad", "b.grad"), got, expected):
            message = f"{what}, beta={beta}, alpha={alpha}"
            assert (x != y).sum() <= 2, f"{message}: {(x != y).sum()} differ"
            np.testing.assert_allclose(x, y, rtol=ulp, atol=0, err_msg=message)


@pytest.mark.parametrize("name", ["addmm", "addmv", "baddbmm", "addr"])
def test_half_precision_scaled_product_tangents_are_torchs(name):
    """Forward AD through the float16 scaled products: beta*d input + alpha*(product(d a, b) +
    product(a, d b)), each op rounded to the half type, as torch's (bitwise)."""
    rng = np.random.default_rng(12)
    shapes = _SCALED_PRODUCTS[name]
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    tangents = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]

    def run(lib):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            duals = [fw.make_dual(lib.tensor(x).half(), lib.tensor(t).half()) for x, t in zip(arrays, tangents)]
            return fw.unpack_dual(getattr(lib, name)(*duals, beta=0.3, alpha=0.7)).tangent.float().numpy()

    want = reference(lambda: run(torch), inputs=arrays + tangents + [name])
    np.testing.assert_array_equal(run(retrograd), want)
