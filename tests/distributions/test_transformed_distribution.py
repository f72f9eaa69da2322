"""TransformedDistribution and LogNormal built on it
(src/retrograd/distributions/transformed_distribution.py): log_prob, cdf, icdf against torch,
rsample through the transforms, shapes with event-changing transforms."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from retrograd.distributions import transforms as T
from tests.distributions.checks import check_against_torch, rsample_gradcheck

LOC = np.array([0.5, -1.0, 2.0])
SCALE = np.array([1.0, 0.5, 2.0])


def build(m, loc, scale):  # a logit-normal with an affine step: x = 2 sigmoid(N(loc, scale)) + 1
    t = m.distributions.transforms
    return m.distributions.TransformedDistribution(
        m.distributions.Normal(loc, scale), [t.SigmoidTransform(), t.AffineTransform(1.0, 2.0)])


def build_simplex(m, loc, scale):
    return m.distributions.TransformedDistribution(
        m.distributions.Independent(m.distributions.Normal(loc, scale), 1),
        m.distributions.transforms.StickBreakingTransform())


def test_values_and_gradients_match_torch():
    check_against_torch(build, [LOC, SCALE], ["log_prob", "cdf", "icdf"],
                        {"log_prob": [1.5, 2.2, 2.9], "cdf": [1.5, 2.2, 2.9], "icdf": [0.1, 0.5, 0.9]}, rtol=1e-6)
    check_against_torch(build_simplex, [LOC, SCALE], ["log_prob"], {"log_prob": [0.1, 0.2, 0.3, 0.4]}, rtol=1e-6)


def test_shapes_support_and_rsample():
    d = build(retrograd, retrograd.tensor(LOC), retrograd.tensor(SCALE))
    assert d.batch_shape == (3,) and d.event_shape == () and d.has_rsample
    x = d.rsample((200,))
    assert x.shape == (200, 3) and ((x > 1) & (x < 3)).all().item()
    assert isinstance(d.support, type(D.constraints.interval(0.0, 1.0))) or d.support.check(x).all().item()
    s = build_simplex(retrograd, retrograd.tensor(LOC), retrograd.tensor(SCALE))
    assert s.batch_shape == () and s.event_shape == (4,) and s.sample((2,)).shape == (2, 4)
    np.testing.assert_allclose(s.sample().sum().item(), 1.0, rtol=1e-6)
    e = d.expand((2, 3))
    assert type(e) is D.TransformedDistribution and e.sample().shape == (2, 3)
    assert rsample_gradcheck(build, [LOC, SCALE], (2,))


def test_log_normal_is_exp_of_normal():
    d = D.LogNormal(retrograd.tensor(0.5), retrograd.tensor(2.0))
    assert isinstance(d, D.TransformedDistribution) and isinstance(d.base_dist, D.Normal)
    assert isinstance(d.transforms[0], T.ExpTransform) and d.loc.item() == 0.5


def test_bad_transforms_raise():
    with pytest.raises(ValueError, match="transforms must be a Transform or a list of Transforms"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), [T.ExpTransform(), "exp"])
    with pytest.raises(ValueError, match="transforms must be a Transform or list, but was"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), 3)
    with pytest.raises(ValueError, match="base_distribution needs to have shape with size at least 1"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), T.StickBreakingTransform())


def build_logistic_normal(m, loc, scale):
    return m.distributions.LogisticNormal(loc, scale)


def test_logistic_normal_matches_torch():
    check_against_torch(build_logistic_normal, [LOC, SCALE], ["log_prob"], {"log_prob": [0.1, 0.2, 0.3, 0.4]},
                        rtol=1e-6)
    d = build_logistic_normal(retrograd, retrograd.tensor(LOC), retrograd.tensor(SCALE))
    assert d.event_shape == (4,) and d.batch_shape == () and d.support is D.constraints.simplex
    assert type(d.expand((2,))) is D.LogisticNormal and d.expand((2,)).sample().shape == (2, 4)
    assert rsample_gradcheck(build_logistic_normal, [LOC, SCALE], (2,))
