"""nn.init: in place, outside autograd, with torch's bounds, gains and fans."""

import math

import numpy as np
import pytest
from helpers import requires_torch, torch

import retrograd
from retrograd import nn
from retrograd.nn import init


def param(*shape):
    return nn.Parameter(retrograd.empty(*shape))


def test_in_place_no_grad_and_returns_tensor():
    w = param(50, 40)
    for fn in (lambda t: init.uniform_(t, -2, 2), lambda t: init.normal_(t, 1, 2), init.xavier_uniform_,
               init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_,
               init.trunc_normal_, init.zeros_, init.ones_, lambda t: init.constant_(t, 3.5), init.eye_):
        v = w._version
        assert fn(w) is w
        assert w.grad_fn is None and w.requires_grad and w._version > v


def test_distributions():
    retrograd.manual_seed(0)
    w = param(200, 100)
    init.uniform_(w, -2, 3)
    a = w.detach().numpy()
    assert a.min() >= -2 and a.max() < 3 and abs(a.mean() - 0.5) < 0.05
    init.normal_(w, 1.0, 2.0)
    a = w.detach().numpy()
    assert abs(a.mean() - 1) < 0.05 and abs(a.std() - 2) < 0.05
    init.trunc_normal_(w, 0.0, 1.0, -0.5, 1.0)
    a = w.detach().numpy()
    assert a.min() >= -0.5 and a.max() <= 1.0
    init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 300)
    assert np.abs(w.detach().numpy()).max() <= bound
    init.kaiming_uniform_(w, a=math.sqrt(5))
    assert np.abs(w.detach().numpy()).max() <= 1 / math.sqrt(100)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.detach().numpy().std() - math.sqrt(2 / 200)) < 0.01
    init.xavier_normal_(w)
    assert abs(w.detach().numpy().std() - math.sqrt(2 / 300)) < 0.005


def test_constant_eye_dirac_orthogonal():
    w = param(3, 4)
    init.constant_(w, 0.5)
    assert np.all(w.detach().numpy() == 0.5)
    init.eye_(w)
    np.testing.assert_array_equal(w.detach().numpy(), np.eye(3, 4))
    c = param(4, 2, 3, 3)
    init.dirac_(c, groups=2)
    a = c.detach().numpy()
    assert a.sum() == 4 and a[0, 0, 1, 1] == 1 and a[1, 1, 1, 1] == 1 and a[2, 0, 1, 1] == 1
    q = param(5, 3)
    init.orthogonal_(q, gain=2.0)
    a = q.detach().numpy()
    np.testing.assert_allclose(a.T @ a, 4 * np.eye(3), atol=1e-5)
    q = param(3, 2, 4)
    init.orthogonal_(q)
    a = q.detach().numpy().reshape(3, 8)
    np.testing.assert_allclose(a @ a.T, np.eye(3), atol=1e-5)
    s = param(10, 4)
    init.sparse_(s, 0.3)
    assert all((s.detach().numpy()[:, j] == 0).sum() >= 3 for j in range(4))


@pytest.mark.parametrize("nl, param_", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                        ("selu", None)])
def test_calculate_gain(nl, param_):
    expect = {"linear": 1, "conv2d": 1, "sigmoid": 1, "tanh": 5 / 3, "relu": math.sqrt(2), "selu": 0.75}
    got = init.calculate_gain(nl, param_)
    if nl == "leaky_relu":
        slope = 0.01 if param_ is None else param_
        assert got == pytest.approx(math.sqrt(2 / (1 + slope ** 2)))
    else:
        assert got == pytest.approx(expect[nl])
    if torch is not None:
        assert got == pytest.approx(torch.nn.init.calculate_gain(nl, param_))


def test_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(param(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(param(2, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(param(2, 2, 2))
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(param(2, 2))
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(param(0, 3))


@requires_torch
def test_fans_equal_torch():
    for shape in [(3, 4), (8, 3, 3, 3), (5, 2, 7)]:
        rg = init._calculate_fan_in_and_fan_out(param(*shape))
        th = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
        assert rg == th


def test_generator_reproducible():
    g1 = retrograd.Generator().manual_seed(5)
    g2 = retrograd.Generator().manual_seed(5)
    a, b = param(3, 3), param(3, 3)
    init.normal_(a, generator=g1)
    init.normal_(b, generator=g2)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("fill", [init.uniform_, init.normal_, init.trunc_normal_, init.orthogonal_,
                                  init.kaiming_uniform_, init.xavier_normal_,
                                  lambda t: init.sparse_(t, 0.5)])
def test_random_fills_of_integer_tensors_raise_not_implemented_as_torch(fill):
    # torch: '"check_uniform_bounds" / "normal_kernel_cpu" not implemented for 'Long''; the draws
    # used to be cast to 0s and 1s silently
    with pytest.raises(NotImplementedError, match="floating-point"):
        fill(retrograd.zeros(3, 4, dtype=retrograd.int64))
    assert init.normal_(retrograd.zeros(0, dtype=retrograd.int64)).shape == (0,)  # torch returns


def test_fill_bounds_are_checked_with_torchs_runtime_error():
    with pytest.raises(RuntimeError, match="from=2 > to=1"):
        init.uniform_(retrograd.empty(3), 2, 1)  # NumPy's ValueError escaped
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        init.normal_(retrograd.empty(3), 0, -1)
    with pytest.raises(RuntimeError, match="from=2 > to=1"):
        init.trunc_normal_(retrograd.empty(3), a=2, b=1)


DEPRECATED = {"uniform": (), "normal": (), "constant": (0.5,), "xavier_uniform": (), "xavier_normal": (),
              "kaiming_uniform": (), "kaiming_normal": (), "orthogonal": (), "sparse": (0.5,), "eye": (),
              "dirac": ()}


@pytest.mark.parametrize("name", sorted(DEPRECATED))
def test_deprecated_spellings_warn_as_torch_and_initialize_as_the_underscored_ones(name):
    shape = (3, 3, 3) if name == "dirac" else (4, 3)
    got = retrograd.empty(shape)
    with pytest.warns(FutureWarning, match=f"^`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`.$"):
        out = getattr(init, name)(got, *DEPRECATED[name])
    assert out is got
    want = retrograd.empty(shape)
    retrograd.manual_seed(1)
    with pytest.warns(FutureWarning):
        getattr(init, name)(got, *DEPRECATED[name])
    retrograd.manual_seed(1)
    getattr(init, name + "_")(want, *DEPRECATED[name])
    assert retrograd.equal(got, want)
    if torch is not None:
        with pytest.warns(FutureWarning, match=f"^`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`.$"):
            getattr(torch.nn.init, name)(torch.empty(shape), *DEPRECATED[name])
