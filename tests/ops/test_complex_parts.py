"""conj, conj_physical, resolve_conj, resolve_neg, is_conj, is_neg, real, imag, adjoint, angle on
real tensors (ops/complex_parts.py): what torch returns for them (the same object, a view, an
error) and angle's values and zero gradient against torch."""

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, requires_torch, torch

IDENTITIES = ["conj", "conj_physical", "resolve_conj", "resolve_neg", "real"]


def _libs():
    return [retrograd] + ([torch] if torch is not None else [])


@pytest.mark.parametrize("name", IDENTITIES)
def test_real_tensors_are_their_own_conjugate(name):
    for t in _libs():
        x = t.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
        assert getattr(t, name)(x) is x, (t.__name__, name)
        if name != "real":
            assert getattr(x, name)() is x
        i = t.tensor([1, 2])
        assert getattr(t, name)(i) is i
    x = retrograd.tensor([1.0])
    assert x.real is x and retrograd.conj_physical_(x) is x and x.conj_physical_() is x


def test_no_conjugate_or_negative_bits():
    for t in _libs():
        x = t.tensor([1.0, 2.0])
        assert t.is_conj(x) is False and t.is_neg(x) is False and x.is_conj() is False and x.is_neg() is False


def test_imag_is_an_error_for_real_dtypes():
    for t in _libs():
        x = t.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
            t.imag(x)
        with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
            x.imag


def test_adjoint_is_the_transpose_view():
    check_op(lambda t, x: t.adjoint(x), (2, 3, 4))
    check_op(lambda t, x: x.adjoint(), (3, 2))
    x = retrograd.zeros(2, 3)
    y = x.adjoint()
    y[0, 1] = 5.0
    assert x[1, 0].item() == 5.0  # a view
    for t in _libs():
        with pytest.raises(RuntimeError, match="only supported on matrices or batches of matrices. Got 1-D"):
            t.adjoint(t.zeros(3))


def test_conj_physical_out_copies():
    x = retrograd.tensor([1.0, -2.0])
    out = retrograd.empty(0)
    assert retrograd.conj_physical(x, out=out) is out and out.tolist() == [1.0, -2.0]
    assert out.data_ptr() != x.data_ptr()


def test_angle_values_and_zero_gradient():
    x = np.array([-1.0, -0.0, 0.0, 2.0, np.nan, np.inf, -np.inf, -3.5])
    check_op(lambda t, a: t.angle(a), x, gradcheck=False, gradgradcheck=False)
    check_op(lambda t, a: a.angle(), (3, 4))
    assert retrograd.angle(retrograd.tensor([-1, 2])).dtype == retrograd.float32
    assert retrograd.angle(retrograd.tensor([-1.0], dtype=retrograd.float64)).dtype == retrograd.float64


@requires_torch
def test_angle_grad_fn_name_is_torchs():
    x = retrograd.tensor([1.0], requires_grad=True)
    assert retrograd.angle(x).grad_fn.name() == torch.angle(torch.tensor([1.0], requires_grad=True)).grad_fn.name()
