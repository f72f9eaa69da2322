"""MixtureSameFamily (src/retrograd/distributions/mixture_same_family.py): log_prob, cdf,
mean and variance against torch, sampling from the right components, validation."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.checks import check_against_torch, check_moments

W = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
LOC = np.array([[-2.0, 0.0, 3.0], [1.0, 1.5, -1.0]])
SCALE = np.array([[0.5, 1.0, 2.0], [0.3, 0.7, 1.2]])


def build(m, w, loc, scale):
    return m.distributions.MixtureSameFamily(m.distributions.Categorical(probs=w), m.distributions.Normal(loc, scale))


def build_mvn(m, w, loc, scale):
    comp = m.distributions.Independent(m.distributions.Normal(loc.unsqueeze(-1).expand(2, 3, 2), scale.unsqueeze(-1).expand(2, 3, 2)), 1)
    return m.distributions.MixtureSameFamily(m.distributions.Categorical(probs=w), comp)


def test_values_and_gradients_match_torch():
    check_against_torch(build, [W, LOC, SCALE], ["log_prob", "cdf", "mean", "variance"],
                        {"log_prob": [0.1, -1.0], "cdf": [0.1, -1.0]})
    check_against_torch(build_mvn, [W, LOC, SCALE], ["log_prob", "mean", "variance"], {"log_prob": [[0.1, -1.0]]})


def test_shapes_and_sample_moments():
    t = lambda a: retrograd.tensor(a, dtype=retrograd.float64)  # noqa: E731
    d = build(retrograd, t(W), t(LOC), t(SCALE))
    assert d.batch_shape == (2,) and d.event_shape == () and not d.has_rsample
    assert build_mvn(retrograd, t(W), t(LOC), t(SCALE)).event_shape == (2,)
    e = d.expand((4, 2))
    assert e.batch_shape == (4, 2) and e.sample((3,)).shape == (3, 4, 2)
    retrograd.manual_seed(0)
    x = d.sample((20000,)).numpy()
    assert x.shape == (20000, 2)
    check_moments(x, d.mean.numpy(), d.variance.numpy())


def test_validation_errors_as_torch():
    comp = D.Normal(retrograd.zeros(2, 3), 1.0)
    with pytest.raises(ValueError, match="The Mixture distribution needs to be an  instance of retrograd.distributions.Categorical"):
        D.MixtureSameFamily(D.Normal(0.0, 1.0), comp)
    with pytest.raises(ValueError, match="The Component distribution needs to be an instance of retrograd.distributions.Distribution"):
        D.MixtureSameFamily(D.Categorical(probs=retrograd.ones(2, 3)), "normal")
    with pytest.raises(ValueError, match=r"`mixture_distribution.batch_shape` \(torch.Size\(\[3\]\)\) is not compatible"):
        D.MixtureSameFamily(D.Categorical(probs=retrograd.ones(3, 3)), comp)
    with pytest.raises(ValueError, match=r"`mixture_distribution component` \(4\) does not equal `component_distribution.batch_shape\[-1\]` \(3\)"):
        D.MixtureSameFamily(D.Categorical(probs=retrograd.ones(2, 4)), comp)


def test_a_mixture_shared_across_the_batch_chooses_independently_per_batch_element():
    # (torch 2.13 raises in gather here: its mixture sample keeps the Categorical's smaller batch.)
    retrograd.manual_seed(0)
    d = D.MixtureSameFamily(D.Categorical(retrograd.tensor([1.0, 1.0])),
                            D.Normal(retrograd.tensor([[0.0, 100.0]] * 3), 1.0))
    high = (d.sample((4000,)) > 50).numpy()
    assert high.shape == (4000, 3)
    np.testing.assert_allclose(high.mean(0), 0.5, atol=0.04)
    np.testing.assert_allclose((high[:, 0] == high[:, 1]).mean(), 0.5, atol=0.04)
