"""A base distribution pushed through a chain of invertible transforms."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.independent import Independent
from retrograd.distributions.transforms import ComposeTransform, Transform
from retrograd.distributions.utils import _sum_rightmost

__all__ = ["TransformedDistribution"]


class TransformedDistribution(Distribution):
    r"""The distribution of y = f_n(... f_1(x)) for x ~ base_distribution and the transforms
    f_1..f_n (a Transform or a list of them, applied in order). By the change of variables,
    log p(y) = log p_base(x) - sum_i log |det J_{f_i}(x_{i-1})|."""

    arg_constraints = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif isinstance(transforms, list):
            if not all(isinstance(t, Transform) for t in transforms):
                raise ValueError("transforms must be a Transform or a list of Transforms")
        else:
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
        self.transforms = transforms
        chain = ComposeTransform(transforms)

        base_shape = base_distribution.batch_shape + base_distribution.event_shape
        base_event_dims = len(base_distribution.event_shape)
        if len(base_shape) < chain.domain.event_dim:
            raise ValueError(
                f"base_distribution needs to have shape with size at least {chain.domain.event_dim}, "
                f"but got {base_shape}.")
        # The chain may broadcast its input (an AffineTransform with a batched scale, say): the
        # base is expanded to the shape whose image the chain produces.
        shape = chain.forward_shape(base_shape)
        needed_base_shape = chain.inverse_shape(shape)
        if needed_base_shape != base_shape:
            base_distribution = base_distribution.expand(needed_base_shape[:len(needed_base_shape) - base_event_dims])
        # Dimensions the chain treats as one event that the base calls batch become event dims.
        if chain.domain.event_dim > base_event_dims:
            base_distribution = Independent(base_distribution, chain.domain.event_dim - base_event_dims)
        self.base_dist = base_distribution

        # The result's event dims: the base's, changed by what the chain adds or removes, and at
        # least the chain's codomain's own.
        added = chain.codomain.event_dim - chain.domain.event_dim
        event_dims = max(chain.codomain.event_dim, base_event_dims + added)
        split = len(shape) - event_dims
        super().__init__(shape[:split], shape[split:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(TransformedDistribution, _instance)
        batch_shape = retrograd.Size(batch_shape)
        # Pull the new full shape back through the chain to find the base's batch shape.
        shape = batch_shape + self.event_shape
        for t in reversed(self.transforms):
            shape = t.inverse_shape(shape)
        new.base_dist = self.base_dist.expand(shape[:len(shape) - len(self.base_dist.event_shape)])
        new.transforms = self.transforms
        super(TransformedDistribution, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        # The last transform's codomain, over as many event dims as the distribution has.
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        extra = len(self.event_shape) - support.event_dim
        return constraints.independent(support, extra) if extra > 0 else support

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    def _push_forward(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def sample(self, sample_shape=retrograd.Size()):
        with retrograd.no_grad():
            return self._push_forward(self.base_dist.sample(sample_shape))

    def rsample(self, sample_shape=retrograd.Size()):
        # Reparameterized when the base is: the transforms are differentiable.
        return self._push_forward(self.base_dist.rsample(sample_shape))

    def log_prob(self, value):
        # Walk the chain backwards from y: log p(y) = log p_base(x_0) - sum_i log|det J_i(x_{i-1})|,
        # each term summed over the event dims beyond its transform's own.
        if self._validate_args:
            self._validate_sample(value)
        event_dims = len(self.event_shape)
        result = 0.0
        y = value
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dims += t.domain.event_dim - t.codomain.event_dim
            result = result - _sum_rightmost(t.log_abs_det_jacobian(x, y), event_dims - t.domain.event_dim)
            y = x
        return result + _sum_rightmost(self.base_dist.log_prob(y), event_dims - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        # Through a decreasing chain (product of the transforms' signs is -1) the cdf is 1 - F.
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value):
        # F(y) = F_base(f^-1(y)) for an increasing chain (monotonized otherwise).
        for t in reversed(self.transforms):
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value):
        # F^-1(q) = f(F_base^-1(q)), q first flipped for a decreasing chain.
        return self._push_forward(self.base_dist.icdf(self._monotonize_cdf(value)))
