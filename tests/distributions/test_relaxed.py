"""RelaxedBernoulli and RelaxedOneHotCategorical (src/retrograd/distributions/relaxed_bernoulli.py,
relaxed_categorical.py): log_prob against torch, reparameterized samples in the support with
gradients to the parameters, the temperature's limit."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.checks import check_against_torch, rsample_gradcheck

PROBS = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])


CASES = {
    "RelaxedBernoulli-probs": (lambda m, p: m.distributions.RelaxedBernoulli(m.tensor(0.7, dtype=m.float64), probs=p),
                               [np.array([0.2, 0.7, 0.5])], [0.1, 0.5, 0.9]),
    "RelaxedBernoulli-logits": (lambda m, lg: m.distributions.RelaxedBernoulli(m.tensor(1.5, dtype=m.float64), logits=lg),
                                [np.array([1.0, -0.5, 2.0])], [0.3, 0.6, 0.99]),
    "RelaxedOneHotCategorical": (lambda m, p: m.distributions.RelaxedOneHotCategorical(
        m.tensor(0.5, dtype=m.float64), probs=p), [PROBS], [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]),
}


@pytest.mark.parametrize("case", CASES)
def test_log_prob_and_gradients_match_torch(case):
    build, params, x = CASES[case]
    check_against_torch(build, params, ["log_prob"], {"log_prob": x}, rtol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_rsample_in_support_with_gradients(case):
    build, params, _ = CASES[case]
    d = build(retrograd, *(retrograd.tensor(p) for p in params))
    assert d.has_rsample
    x = d.rsample((500,))
    assert x.shape == (500, *d.batch_shape, *d.event_shape)
    assert d.support.check(x).all().item()
    assert rsample_gradcheck(build, params, (3,))
    assert type(d.expand((4, *d.batch_shape))) is type(d)


def test_low_temperature_approaches_the_discrete_distribution():
    retrograd.manual_seed(0)
    x = D.RelaxedBernoulli(retrograd.tensor(0.05), probs=retrograd.tensor(0.3)).sample((4000,)).numpy()
    assert np.mean((x > 0.01) & (x < 0.99)) < 0.1  # nearly all draws are near 0 or 1
    assert abs(np.mean(x > 0.5) - 0.3) < 0.03  # 4 standard errors
    y = D.RelaxedOneHotCategorical(retrograd.tensor(0.05), probs=retrograd.tensor([0.5, 0.3, 0.2])).sample((4000,))
    np.testing.assert_allclose(np.bincount(y.argmax(-1).numpy(), minlength=3) / 4000, [0.5, 0.3, 0.2], atol=0.03)
