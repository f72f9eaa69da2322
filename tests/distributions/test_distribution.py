"""The Distribution base class (src/retrograd/distributions/distribution.py): validation switch,
shapes of samples, the methods a subclass must provide, sample_n, perplexity."""

import warnings

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from retrograd.distributions import Bernoulli, Distribution, Normal, OneHotCategorical, constraints


@pytest.fixture
def restore_validation():
    before = Distribution._validate_args
    yield
    Distribution.set_default_validate_args(before)


def test_validation_is_on_by_default_and_switchable(restore_validation):
    assert Distribution._validate_args is __debug__
    Distribution.set_default_validate_args(False)
    assert Normal(0.0, -1.0).scale.item() == -1.0  # no check
    Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="Expected parameter scale"):
        Normal(0.0, -1.0)
    with pytest.raises(ValueError):
        Distribution.set_default_validate_args("yes")


def test_validate_args_overrides_the_default(restore_validation):
    Distribution.set_default_validate_args(False)
    with pytest.raises(ValueError, match="Expected parameter scale"):
        Normal(0.0, -1.0, validate_args=True)


def test_log_prob_value_checks():
    d = Normal(retrograd.zeros(3), retrograd.ones(3))
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        d.log_prob(0.5)
    with pytest.raises(ValueError, match=r"The right-most size of value must match event_shape"):
        OneHotCategorical(retrograd.tensor([0.5, 0.5])).log_prob(retrograd.ones(2, 3))
    with pytest.raises(ValueError, match=r"Value is not broadcastable with batch_shape\+event_shape"):
        d.log_prob(retrograd.ones(2))
    with pytest.raises(ValueError, match="Expected value argument .* to be within the support"):
        Bernoulli(retrograd.tensor([0.5, 0.5])).log_prob(retrograd.tensor([0.0, 2.0]))


def test_base_class_methods_are_abstract():
    class Bare(Distribution):
        arg_constraints = {}

    d = Bare()
    assert d.batch_shape == () and d.event_shape == () and not d.has_rsample
    for call in (d.sample, d.rsample, d.entropy, lambda: d.log_prob(retrograd.zeros(())),
                 lambda: d.cdf(retrograd.zeros(())), lambda: d.icdf(retrograd.zeros(())),
                 d.enumerate_support, lambda: d.mean, lambda: d.variance, lambda: d.support,
                 lambda: d.expand((2,))):
        with pytest.raises(NotImplementedError):
            call()


def test_a_subclass_without_arg_constraints_warns():
    class NoConstraints(Distribution):
        pass

    with pytest.warns(UserWarning, match="does not define `arg_constraints`"):
        NoConstraints()


def test_extended_shape_and_sample_n():
    d = Normal(retrograd.zeros(2, 3), retrograd.ones(2, 3))
    assert d._extended_shape((4,)) == (4, 2, 3)
    with pytest.warns(FutureWarning, match=r"sample_n\(n\)"):
        assert d.sample_n(5).shape == (5, 2, 3)


def test_perplexity_is_exp_entropy():
    d = Normal(retrograd.tensor([0.0, 1.0]), retrograd.tensor([1.0, 3.0]))
    np.testing.assert_allclose(d.perplexity().numpy(), np.exp(d.entropy().numpy()), rtol=1e-6)


def test_repr_and_stddev():
    d = Normal(retrograd.tensor([0.0]), retrograd.tensor([2.0]))
    assert repr(d) == "Normal(loc: tensor([0.]), scale: tensor([2.]))"
    assert repr(Normal(retrograd.zeros(2), 1.0)) == "Normal(loc: torch.Size([2]), scale: torch.Size([2]))"
    assert repr(Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    assert d.stddev.item() == 2.0
    assert Normal.arg_constraints["scale"] is constraints.positive


def test_non_tensor_parameters_are_refused():
    with pytest.raises(ValueError, match="Input arguments must all be instances of Number"):
        Normal("0", 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Normal(retrograd.tensor(0.0), 1.0)  # a number beside a tensor takes the tensor's dtype


SAMPLERS = {  # a distribution of every family here, float32 parameters
    "Normal": lambda t: D.Normal(t([0.0, 1.0]), t([1.0, 2.0])),
    "Uniform": lambda t: D.Uniform(t([0.0, 1.0]), t([1.0, 2.0])),
    "Exponential": lambda t: D.Exponential(t([0.5, 2.0])),
    "Laplace": lambda t: D.Laplace(t([0.0, 1.0]), t([1.0, 2.0])),
    "Cauchy": lambda t: D.Cauchy(t([0.0, 1.0]), t([1.0, 2.0])),
    "Gumbel": lambda t: D.Gumbel(t([0.0, 1.0]), t([1.0, 2.0])),
    "LogNormal": lambda t: D.LogNormal(t([0.0, 1.0]), t([1.0, 2.0])),
    "Bernoulli": lambda t: D.Bernoulli(probs=t([0.3, 0.6])),
    "Categorical": lambda t: D.Categorical(probs=t([0.3, 0.6, 0.1])),
    "OneHotCategorical": lambda t: D.OneHotCategorical(logits=t([0.3, 0.6, 0.1])),
    "MultivariateNormal": lambda t: D.MultivariateNormal(t([0.0, 1.0]), t([[2.0, 0.5], [0.5, 1.0]])),
    "RelaxedBernoulli": lambda t: D.RelaxedBernoulli(t(0.5), probs=t([0.3, 0.6])),
    "RelaxedOneHotCategorical": lambda t: D.RelaxedOneHotCategorical(t(0.5), probs=t([0.3, 0.6, 0.1])),
    "MixtureSameFamily": lambda t: D.MixtureSameFamily(D.Categorical(probs=t([0.3, 0.7])), D.Normal(t([0.0, 5.0]), t([1.0, 1.0]))),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_samples_come_from_retrograds_generator(name):
    d = SAMPLERS[name](retrograd.tensor)
    retrograd.manual_seed(5)
    a = d.sample((3,))
    retrograd.manual_seed(5)
    b = d.sample((3,))
    c = d.sample((3,))
    assert retrograd.equal(a, b) and not retrograd.equal(b, c)
    expected = retrograd.int64 if name == "Categorical" else retrograd.float32  # as torch's
    assert a.dtype == expected and not a.requires_grad


def test_the_public_names_are_torchs():
    from tests.reference.store import reference

    def names(m):
        d = m.distributions
        return [sorted(d.__all__), sorted(d.constraints.__all__), sorted(d.transforms.__all__)]

    assert names(retrograd) == reference(lambda: names(__import__("torch")))
