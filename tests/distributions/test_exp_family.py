"""ExponentialFamily (src/retrograd/distributions/exp_family.py): the entropy from the
log-normalizer, and the Bregman KL fallback of kl.py, on a Normal written in natural parameters."""

import math

import numpy as np
import pytest

import retrograd
from retrograd.distributions import ExponentialFamily, kl_divergence


class NaturalNormal(ExponentialFamily):
    """N(mu, sigma^2) with eta = (mu / sigma^2, -1 / (2 sigma^2)),
    A(eta) = -eta1^2 / (4 eta2) + 0.5 log(-pi / eta2), h(x) = 1."""

    arg_constraints = {}

    def __init__(self, loc, scale):
        self.loc, self.scale = loc, scale
        super().__init__(batch_shape=loc.shape)

    @property
    def _natural_params(self):
        return self.loc / self.scale ** 2, -0.5 / self.scale ** 2

    def _log_normalizer(self, eta1, eta2):
        return -eta1 ** 2 / (4 * eta2) + 0.5 * retrograd.log(-math.pi / eta2)

    @property
    def _mean_carrier_measure(self):
        return 0.0


def _pair():
    t = lambda v: retrograd.tensor(v, dtype=retrograd.float64)  # noqa: E731
    return NaturalNormal(t([0.5, -1.0]), t([1.0, 2.0])), NaturalNormal(t([0.0, 1.0]), t([1.5, 0.5]))


def test_entropy_is_the_normal_entropy():
    p, _ = _pair()
    expected = 0.5 * np.log(2 * np.pi * np.e * p.scale.numpy() ** 2)
    np.testing.assert_allclose(p.entropy().detach().numpy(), expected, rtol=1e-12)


def test_kl_falls_back_to_the_bregman_divergence():
    p, q = _pair()  # no pair registered for NaturalNormal: the ExponentialFamily pair applies
    s1, s2, m1, m2 = p.scale.numpy(), q.scale.numpy(), p.loc.numpy(), q.loc.numpy()
    expected = np.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5
    np.testing.assert_allclose(kl_divergence(p, q).detach().numpy(), expected, rtol=1e-12)


def test_the_family_interface_is_abstract():
    class Bare(ExponentialFamily):
        arg_constraints = {}

    d = Bare()
    for call in (lambda: d._natural_params, lambda: d._log_normalizer(), lambda: d._mean_carrier_measure, d.entropy):
        with pytest.raises(NotImplementedError):
            call()
