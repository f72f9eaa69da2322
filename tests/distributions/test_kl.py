"""kl_divergence and register_kl (src/retrograd/distributions/kl.py): dispatch on the most
specific registered pair, NotImplementedError for unregistered pairs, and each pair's value and
gradients against torch's."""

import numpy as np
import pytest

import retrograd
from retrograd.distributions import Distribution, Normal, kl_divergence, register_kl
from tests.distributions.checks import check_against_torch


class _KL:
    """kl_divergence(p, q) as a method, so check_against_torch can evaluate it."""

    def __init__(self, m, p, q):
        self.value = m.distributions.kl_divergence(p, q)

    def kl(self):
        return self.value


def check_kl(build_p, build_q, p_params, q_params, rtol=1e-7, atol=1e-10):
    n = len(p_params)
    check_against_torch(lambda m, *ps: _KL(m, build_p(m, *ps[:n]), build_q(m, *ps[n:])),
                        [*p_params, *q_params], ["kl"], rtol=rtol, atol=atol)


def test_normal_normal():
    check_kl(lambda m, a, b: m.distributions.Normal(a, b), lambda m, a, b: m.distributions.Normal(a, b),
             [[0.0, 1.0, -2.0], [1.0, 0.5, 2.0]], [[0.5], [2.0, 1.0, 0.3]])


def test_unregistered_pair_raises_not_implemented():
    class Other(Distribution):
        arg_constraints = {}

    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Normal and q type Other"):
        kl_divergence(Normal(0.0, 1.0), Other())


def test_register_kl_dispatches_on_the_most_specific_pair():
    class Base(Distribution):
        arg_constraints = {}

    class Derived(Base):
        pass

    register_kl(Base, Base)(lambda p, q: retrograd.tensor(1.0))
    assert kl_divergence(Derived(), Derived()).item() == 1.0
    register_kl(Derived, Base)(lambda p, q: retrograd.tensor(2.0))  # more specific: wins, memo reset
    assert kl_divergence(Derived(), Derived()).item() == 2.0
    assert kl_divergence(Base(), Derived()).item() == 1.0
    register_kl(Base, Derived)(lambda p, q: retrograd.tensor(3.0))
    with pytest.warns(RuntimeWarning, match=r"Ambiguous kl_divergence\(Derived, Derived\)"):
        kl_divergence(Derived(), Derived())


def test_register_kl_refuses_non_distribution_types():
    with pytest.raises(TypeError, match="Expected type_p to be a Distribution subclass"):
        register_kl(int, Normal)


def test_normal_kl_to_itself_is_zero():
    p = Normal(retrograd.tensor([0.0, 3.0]), retrograd.tensor([1.0, 0.1]))
    np.testing.assert_allclose(kl_divergence(p, p).numpy(), 0.0, atol=1e-7)
