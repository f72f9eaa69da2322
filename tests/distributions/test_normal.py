"""Normal (src/retrograd/distributions/normal.py): values and gradients against torch, sampling."""

import numpy as np
import pytest

import retrograd
from retrograd.distributions import Normal
from tests.distributions.checks import check_against_torch, check_moments, rsample_gradcheck

LOC = np.array([[-1.0, 0.5, 2.0]])
SCALE = np.array([[0.5], [2.0]])


def build(m, loc, scale):
    return m.distributions.Normal(loc, scale)


def test_values_and_gradients_match_torch():
    check_against_torch(build, [LOC, SCALE],
                        ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"],
                        {"log_prob": [0.3, -2.0, 1.5], "cdf": [0.3, -2.0, 1.5], "icdf": [0.1, 0.5, 0.95]})


def test_shapes_and_expand():
    d = Normal(retrograd.tensor(LOC), retrograd.tensor(SCALE))
    assert d.batch_shape == (2, 3) and d.event_shape == ()
    assert d.sample().shape == (2, 3) and d.rsample((4, 5)).shape == (4, 5, 2, 3)
    e = d.expand((7, 2, 3))
    assert type(e) is Normal and e.batch_shape == (7, 2, 3) and e.sample((2,)).shape == (2, 7, 2, 3)
    assert Normal(0.0, 1.0).batch_shape == ()


def test_rsample_gradients_by_finite_differences():
    assert rsample_gradcheck(build, [LOC, SCALE], (3,))


def test_rsample_reparameterizes():
    loc = retrograd.tensor([1.0, -2.0], requires_grad=True)
    scale = retrograd.tensor([0.5, 3.0], requires_grad=True)
    x = Normal(loc, scale).rsample((5,))
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [5.0, 5.0])
    eps = (x.detach().numpy() - loc.detach().numpy()) / scale.detach().numpy()
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-5)
    assert not Normal(loc, scale).sample().requires_grad


def test_sample_moments_with_a_fixed_seed():
    retrograd.manual_seed(0)
    d = Normal(retrograd.tensor([-1.0, 3.0], dtype=retrograd.float64), retrograd.tensor([0.5, 2.0], dtype=retrograd.float64))
    check_moments(d.sample((20000,)).numpy(), [-1.0, 3.0], [0.25, 4.0])


def test_seeded_samples_repeat():
    retrograd.manual_seed(3)
    a = Normal(0.0, 1.0).sample((4,))
    retrograd.manual_seed(3)
    assert retrograd.equal(a, Normal(0.0, 1.0).sample((4,)))


def test_validate_args_errors_as_torch():
    with pytest.raises(ValueError, match=r"Expected parameter scale .* to satisfy the constraint GreaterThan\(lower_bound=0.0\)"):
        Normal(0.0, retrograd.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="Expected value argument"):
        Normal(0.0, 1.0).log_prob(retrograd.tensor(float("nan")))
    assert Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0


def test_sample_is_torch_normal_dtype_and_errors():
    # sample draws with torch.normal, as torch: loc's dtype when scale is wider, and a negative
    # scale raises when validation is off (rsample computes loc + scale * eps, in the promoted dtype)
    d = Normal(retrograd.tensor([0.0]), retrograd.tensor([1.0], dtype=retrograd.float64))
    assert d.sample((2,)).dtype == retrograd.float32 and d.rsample((2,)).dtype == retrograd.float64
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        Normal(retrograd.tensor([0.0, 1.0]), -1.0, validate_args=False).sample()
