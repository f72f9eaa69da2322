"""VonMises (src/retrograd/distributions/von_mises.py): log_prob, circular mean and variance
and their parameter gradients against torch, seeded samples' circular moments (the mean
resultant length I1(k)/I0(k)), shapes and expand, validation errors."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.checks import check_against_torch

LOC = np.array([[0.0, 1.0, -2.0]])
KAPPA = np.array([[0.5], [3.0], [30.0]])


def test_values_and_gradients_match_torch():
    check_against_torch(lambda m, loc, k: m.distributions.VonMises(loc, k), [LOC, KAPPA],
                        ["log_prob", "mean", "mode", "variance"], {"log_prob": [0.3, 1.7, -3.0]})


def test_log_prob_integrates_to_one_over_the_circle():
    d = D.VonMises(retrograd.tensor([0.5, -1.0], dtype=retrograd.float64),
                   retrograd.tensor([0.2, 8.0], dtype=retrograd.float64))
    theta = np.linspace(-np.pi, np.pi, 4001)[:, None]
    density = np.exp(d.log_prob(retrograd.tensor(theta)).numpy())
    # the polynomial Bessel approximations (torch's) are good to about 1e-7 relative
    np.testing.assert_allclose(np.trapezoid(density, theta[:, 0], axis=0), [1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("kappa", [1e-3, 0.7, 4.0, 100.0])
def test_seeded_samples_have_the_circular_moments(kappa):
    retrograd.manual_seed(0)
    loc = 2.5
    d = D.VonMises(retrograd.tensor(loc), retrograd.tensor(kappa))
    x = d.sample((20000,))
    assert x.dtype == retrograd.float32 and x.shape == (20000,)
    x = x.numpy().astype(np.float64)
    assert (x >= -np.pi).all() and (x < np.pi).all()
    resultant = 1 - d.variance.item()  # I1(k) / I0(k)
    c, s = np.cos(x - loc).mean(), np.sin(x - loc).mean()
    # E cos(x - loc) = I1/I0, E sin(x - loc) = 0; each within 5 standard errors (at most 1/sqrt(n))
    assert abs(c - resultant) < 5 / np.sqrt(20000) and abs(s) < 5 / np.sqrt(20000)


def test_shapes_expand_and_no_rsample():
    d = D.VonMises(retrograd.tensor(LOC), retrograd.tensor(KAPPA))
    assert d.batch_shape == (3, 3) and d.event_shape == () and not d.has_rsample
    assert d.sample((2,)).shape == (2, 3, 3)
    e = d.expand((4, 3, 3))
    assert type(e) is D.VonMises and e.batch_shape == (4, 3, 3) and e.sample().shape == (4, 3, 3)
    with pytest.raises(NotImplementedError):
        d.rsample()
    with pytest.raises(NotImplementedError):
        d.entropy()


def test_bad_parameters_raise_value_error():
    with pytest.raises(ValueError, match="Expected parameter concentration"):
        D.VonMises(retrograd.tensor(0.0), retrograd.tensor(-1.0))
    with pytest.raises(ValueError, match="Expected parameter loc"):
        D.VonMises(retrograd.tensor(float("nan")), retrograd.tensor(1.0))
    with pytest.raises(ValueError, match="to be within the support"):
        D.VonMises(retrograd.tensor(0.0), retrograd.tensor(1.0)).log_prob(retrograd.tensor(float("nan")))
