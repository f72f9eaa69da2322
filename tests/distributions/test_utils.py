"""The distributions' helpers (src/retrograd/distributions/utils.py): broadcasting parameters,
probabilities <-> logits, lazy_property, packing lower triangles."""

import numpy as np
import pytest

import retrograd
from retrograd.distributions.utils import (_sum_rightmost, broadcast_all, clamp_probs, lazy_property,
                                           logits_to_probs, probs_to_logits, tril_matrix_to_vec,
                                           vec_to_tril_matrix)


def test_broadcast_all_shapes_and_dtypes():
    a, b = broadcast_all(1.0, retrograd.tensor([1.0, 2.0], dtype=retrograd.float64))
    assert a.shape == b.shape == (2,) and a.dtype == retrograd.float64  # the number takes the tensor's dtype
    c, d = broadcast_all(1, 2.5)
    assert c.dtype == d.dtype == retrograd.get_default_dtype() and c.shape == ()
    x, y = broadcast_all(retrograd.zeros(3, 1), retrograd.zeros(4))
    assert x.shape == y.shape == (3, 4)
    with pytest.raises(ValueError, match="Input arguments must all be instances of Number"):
        broadcast_all(retrograd.zeros(2), "1")


def test_probs_and_logits():
    p = retrograd.tensor([0.0, 0.25, 1.0], dtype=retrograd.float64)
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(clamp_probs(p).numpy(), [eps, 0.25, 1 - eps])
    binary = probs_to_logits(p, is_binary=True)
    assert np.isfinite(binary.numpy()).all()  # clamped: no infinite logits at 0 and 1
    np.testing.assert_allclose(binary.numpy()[1], np.log(0.25 / 0.75))
    np.testing.assert_allclose(logits_to_probs(binary, is_binary=True).numpy(), clamp_probs(p).numpy())
    q = retrograd.tensor([[0.2, 0.3, 0.5]], dtype=retrograd.float64)
    np.testing.assert_allclose(probs_to_logits(q).numpy(), np.log(q.numpy()))
    np.testing.assert_allclose(logits_to_probs(probs_to_logits(q) + 3.0).numpy(), q.numpy())  # softmax


def test_lazy_property_computes_once_and_caches_on_the_instance():
    calls = []

    class Thing:
        @lazy_property
        def value(self):
            calls.append(1)
            return retrograd.tensor(2.0)

    t = Thing()
    assert t.value.item() == 2.0 and t.value.item() == 2.0 and len(calls) == 1
    assert "value" in t.__dict__ and isinstance(Thing.value, lazy_property)


def test_sum_rightmost():
    x = retrograd.ones(2, 3, 4)
    assert _sum_rightmost(x, 0) is x
    assert _sum_rightmost(x, 2).tolist() == [12.0, 12.0]


@pytest.mark.parametrize("diag", [0, -1, 1])
def test_tril_packing_round_trip_and_gradient(diag):
    n = 4
    m = retrograd.tensor(np.arange(2 * n * n, dtype=np.float64).reshape(2, n, n))
    rows, cols = np.tril_indices(n, diag)
    vec = tril_matrix_to_vec(m, diag)
    np.testing.assert_array_equal(vec.numpy(), m.numpy()[:, rows, cols])  # row by row
    leaf = vec.detach().requires_grad_()
    back = vec_to_tril_matrix(leaf, diag)
    np.testing.assert_array_equal(back.detach().numpy(), np.tril(m.numpy(), diag))
    (back * 3.0).sum().backward()  # each entry of the vector lands in exactly one place
    np.testing.assert_array_equal(leaf.grad.numpy(), np.full(vec.shape, 3.0))
    with pytest.raises(ValueError, match="not the size of a lower triangle"):
        vec_to_tril_matrix(retrograd.zeros(vec.shape[-1] + 1), diag)


def test_tril_matrix_to_vec_of_a_non_square_matrix_raises_index_error_as_torch():
    from retrograd.distributions.utils import tril_matrix_to_vec

    for bad in (retrograd.zeros(2, 3), retrograd.zeros(2)):
        with pytest.raises(IndexError, match="expects square matrices"):  # ValueError before
            tril_matrix_to_vec(bad)
