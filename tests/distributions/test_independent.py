"""Independent (src/retrograd/distributions/independent.py): batch dimensions read as event
dimensions, values against torch, validation."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.checks import check_against_torch

LOC = np.array([[0.0, 1.0, -1.0], [0.5, 0.2, 0.3]])
SCALE = np.array([[1.0, 0.5, 2.0], [0.3, 1.5, 1.0]])


def build(m, loc, scale):
    return m.distributions.Independent(m.distributions.Normal(loc, scale), 1)


def test_values_and_gradients_match_torch():
    check_against_torch(build, [LOC, SCALE], ["log_prob", "entropy", "mean", "mode", "variance"],
                        {"log_prob": [[0.1, 0.2, 0.3]]})


def test_shapes_expand_and_rsample():
    d = build(retrograd, retrograd.tensor(LOC), retrograd.tensor(SCALE))
    assert d.batch_shape == (2,) and d.event_shape == (3,) and d.has_rsample
    assert d.rsample((4,)).shape == (4, 2, 3) and d.log_prob(d.sample()).shape == (2,)
    e = d.expand((5, 2))
    assert type(e) is D.Independent and e.batch_shape == (5, 2) and e.sample().shape == (5, 2, 3)
    assert D.Independent(D.Normal(retrograd.zeros(2, 3), 1.0), 2).event_shape == (2, 3)
    assert repr(d) == "Independent(Normal(loc: torch.Size([2, 3]), scale: torch.Size([2, 3])), 1)"
    assert D.Independent(D.Bernoulli(probs=retrograd.tensor([0.5, 0.5])), 1).has_enumerate_support is False


def test_too_many_reinterpreted_dims_raise():
    with pytest.raises(ValueError, match=r"Expected reinterpreted_batch_ndims <= len\(base_distribution.batch_shape\), actual 3 vs 2"):
        D.Independent(D.Normal(retrograd.zeros(2, 3), 1.0), 3)
