"""A mixture of K components of one family, weighted by a Categorical."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.categorical import Categorical
from retrograd.distributions.distribution import Distribution

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    r"""p(x) = sum_k pi_k p_k(x): `mixture_distribution` is a Categorical over the K components
    (the pi_k), `component_distribution` a distribution whose rightmost batch dimension indexes
    the K components. The mixture's batch shape is the components' without that dimension."""

    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of retrograd.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of retrograd.distributions.Distribution")
        mixture_batch = mixture_distribution.batch_shape
        batch = component_distribution.batch_shape[:-1]
        # The two batch shapes must broadcast (right-aligned, 1s stretch).
        for m, c in zip(reversed(mixture_batch), reversed(batch)):
            if m != 1 and c != 1 and m != c:
                raise ValueError(
                    f"`mixture_distribution.batch_shape` ({mixture_batch}) is not compatible with "
                    f"`component_distribution.batch_shape`({batch})")
        k_mixture = mixture_distribution.logits.shape[-1]
        k_components = component_distribution.batch_shape[-1]
        if k_mixture != k_components:
            raise ValueError(
                f"`mixture_distribution component` ({k_mixture}) does not equal "
                f"`component_distribution.batch_shape[-1]` ({k_components})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = k_mixture
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(batch, component_distribution.event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = retrograd.Size(batch_shape)
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        super(MixtureSameFamily, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    def _weights(self):
        """pi shaped to broadcast against the components' batch + event: (..., K, 1, ..., 1)."""
        w = self._mixture_distribution.probs
        return w.reshape(w.shape + (1,) * self._event_ndims)

    def _pad(self, x):
        """A value of the mixture's shape, with a dimension to broadcast over the K components."""
        return x.unsqueeze(-1 - self._event_ndims)

    @property
    def mean(self):
        # E x = sum_k pi_k mu_k
        return (self._weights() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        # Law of total variance: Var x = sum_k pi_k sigma_k^2 + sum_k pi_k (mu_k - mu)^2
        k_dim = -1 - self._event_ndims
        pi = self._weights()
        comp = self._component_distribution
        within = (pi * comp.variance).sum(k_dim)
        between = (pi * (comp.mean - self._pad(self.mean)).pow(2)).sum(k_dim)
        return within + between

    def cdf(self, x):
        # F(x) = sum_k pi_k F_k(x)
        return (self._component_distribution.cdf(self._pad(x)) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        # log p(x) = logsumexp_k (log pi_k + log p_k(x))
        if self._validate_args:
            self._validate_sample(x)
        log_p_k = self._component_distribution.log_prob(self._pad(x))
        log_pi = self._mixture_distribution.logits.log_softmax(-1)
        return (log_p_k + log_pi).logsumexp(-1)

    def sample(self, sample_shape=retrograd.Size()):
        # Draw one sample from every component and a component index per batch element (the
        # Categorical over the full batch, so that batch elements choose independently), and
        # keep the chosen component's sample.
        sample_shape = retrograd.Size(sample_shape)
        with retrograd.no_grad():
            k_dim = len(sample_shape) + len(self.batch_shape)
            every = self._component_distribution.sample(sample_shape)  # S + B + (K,) + E
            chosen = self._mixture_distribution.expand(self.batch_shape).sample(sample_shape)  # S + B
            index = chosen.reshape(chosen.shape + (1,) * (1 + self._event_ndims))
            index = index.expand(chosen.shape + (1,) + self.event_shape)
            return every.gather(k_dim, index).squeeze(k_dim)

    def __repr__(self):
        return f"{type(self).__name__}(\n  {self._mixture_distribution},\n  {self._component_distribution})"
