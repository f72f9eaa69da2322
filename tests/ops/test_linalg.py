"""Products, einsum, diagonals and triangles: gradcheck + gradgradcheck + torch, one line per op."""

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op

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
