"""nn.utils.parametrize and parametrizations.weight_norm / spectral_norm: keys, values and
gradients equal to torch's with the same state loaded; custom parametrizations."""

import copy

import numpy as np
import pytest
from helpers import rand, requires_torch, torch

import retrograd
from retrograd import nn
from retrograd.nn.utils import parametrize


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2) if hasattr(X, "triu") else (X + X.t()) * 0.5


class Scale(nn.Module):
    def forward(self, X):
        return X * 2

    def right_inverse(self, A):
        return A / 2


def test_custom_parametrization_and_removal():
    m = nn.Linear(3, 3)
    w0 = m.weight.detach().numpy().copy()
    parametrize.register_parametrization(m, "weight", Scale())
    assert type(m).__name__ == "ParametrizedLinear" and parametrize.is_parametrized(m, "weight")
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    np.testing.assert_allclose(m.weight.detach().numpy(), w0, rtol=1e-6)  # right_inverse kept the value
    np.testing.assert_allclose(m.parametrizations.weight.original.detach().numpy(), w0 / 2, rtol=1e-6)
    m(retrograd.randn(2, 3)).sum().backward()
    assert m.parametrizations.weight.original.grad is not None
    m.weight = retrograd.ones(3, 3)  # the setter goes through right_inverse
    np.testing.assert_allclose(m.parametrizations.weight.original.detach().numpy(), np.full((3, 3), 0.5))
    parametrize.register_parametrization(m, "weight", Symmetric())
    w = m.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)
    with parametrize.cached():
        assert m.weight is m.weight
    c = copy.deepcopy(m)
    np.testing.assert_array_equal(c.weight.detach().numpy(), w)
    parametrize.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and list(m.state_dict()) == ["bias", "weight"]  # as torch: re-registered last
    np.testing.assert_allclose(m.weight.detach().numpy(), w)
    with pytest.raises(ValueError):
        parametrize.register_parametrization(m, "nope", Scale())


@requires_torch
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization_matches_torch(dim):
    t = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 2).double(), dim=dim)
    r = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2).double(), dim=dim)
    assert list(r.state_dict()) == list(t.state_dict())
    assert repr(r) == repr(t)
    r.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = rand(4, 3)
    yr, yt = r(retrograd.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(yr.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    yr.sum().backward()
    yt.sum().backward()
    for k in ("original0", "original1"):
        np.testing.assert_allclose(getattr(r.parametrizations.weight, k).grad.numpy(),
                                   getattr(t.parametrizations.weight, k).grad.numpy(), rtol=1e-10, atol=1e-14)


@requires_torch
def test_spectral_norm_parametrization_matches_torch():
    t = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(3, 4).double())
    r = nn.utils.parametrizations.spectral_norm(nn.Linear(3, 4).double())
    assert list(r.state_dict()) == list(t.state_dict())
    r.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = rand(5, 3)
    for _ in range(3):
        yr, yt = r(retrograd.tensor(x)), t(torch.tensor(x))
        np.testing.assert_allclose(yr.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
    yr.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(r.parametrizations.weight.original.grad.numpy(),
                               t.parametrizations.weight.original.grad.numpy(), rtol=1e-9, atol=1e-13)


def test_spectral_norm_parametrization_sigma_one():
    m = nn.utils.parametrizations.spectral_norm(nn.Linear(5, 5))
    s = np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)
    assert abs(s[0] - 1) < 1e-3


class NoInverse(nn.Module):
    def forward(self, X):
        return X * 2

    def right_inverse(self, X):
        raise NotImplementedError("no inverse")


def test_a_right_inverse_raising_not_implemented_keeps_the_original_as_torch():
    m = nn.Linear(2, 2)
    w = m.weight.detach().numpy().copy()
    parametrize.register_parametrization(m, "weight", NoInverse())
    np.testing.assert_array_equal(m.parametrizations.weight.original.detach().numpy(), w)
    with pytest.raises(NotImplementedError, match="no inverse"):  # assigning still needs it
        m.weight = retrograd.ones(2, 2)
