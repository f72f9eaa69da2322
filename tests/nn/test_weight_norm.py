"""weight_norm / spectral_norm (hook forms): names, values and gradients equal to torch's
with the same parameters and buffers loaded, and removal."""

import warnings

import numpy as np
import pytest
from helpers import rand, requires_torch, torch

import retrograd
from retrograd import nn


def test_weight_norm_names_and_value():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = nn.utils.weight_norm(nn.Linear(3, 2))
    assert list(m.state_dict()) == ["bias", "weight_g", "weight_v"] and m.weight_g.shape == (2, 1)
    v, g = m.weight_v.detach().numpy(), m.weight_g.detach().numpy()
    np.testing.assert_allclose(m.weight.detach().numpy(), v * g / np.linalg.norm(v, axis=1, keepdims=True), rtol=1e-6)
    nn.utils.remove_weight_norm(m)
    assert list(m.state_dict()) == ["bias", "weight"] and isinstance(m.weight, nn.Parameter)
    with pytest.raises(ValueError):
        nn.utils.remove_weight_norm(m)


@requires_torch
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.nn.utils.weight_norm(torch.nn.Linear(3, 2).double(), dim=dim)
        r = nn.utils.weight_norm(nn.Linear(3, 2).double(), dim=dim)
    r.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = rand(4, 3)
    yr, yt = r(retrograd.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(yr.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    yr.sum().backward()
    yt.sum().backward()
    for n in ("weight_g", "weight_v"):
        np.testing.assert_allclose(getattr(r, n).grad.numpy(), getattr(t, n).grad.numpy(), rtol=1e-10, atol=1e-14)


@requires_torch
def test_spectral_norm_matches_torch():
    t = torch.nn.utils.spectral_norm(torch.nn.Linear(3, 4).double(), n_power_iterations=2)
    r = nn.utils.spectral_norm(nn.Linear(3, 4).double(), n_power_iterations=2)
    assert list(r.state_dict()) == list(t.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    r.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = rand(5, 3)
    for _ in range(3):  # power iterations update u, v in training mode
        yr, yt = r(retrograd.tensor(x)), t(torch.tensor(x))
        np.testing.assert_allclose(yr.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
    yr.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(r.weight_orig.grad.numpy(), t.weight_orig.grad.numpy(), rtol=1e-9, atol=1e-13)
    r.eval()
    t.eval()
    np.testing.assert_allclose(r(retrograd.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10)
    nn.utils.remove_spectral_norm(r)
    assert list(r.state_dict()) == ["bias", "weight"]


def test_spectral_norm_bounds_sigma():
    m = nn.utils.spectral_norm(nn.Linear(6, 6), n_power_iterations=30)
    m(retrograd.randn(1, 6))
    s = np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)
    assert abs(s[0] - 1) < 1e-3
