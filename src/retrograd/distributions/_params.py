"""Helpers shared by the families whose whole state is their parameter tensors."""
from numbers import Number

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits


def batch_shape_of(given, broadcast):
    """A family built from plain Python numbers (`given`) has no batch dimensions; otherwise the
    batch shape is the shape of its parameters after broadcasting (`broadcast`, one of them)."""
    if all(isinstance(p, Number) for p in given):
        return retrograd.Size()
    return broadcast.size()


def expand_params(dist, cls, batch_shape, _instance, names):
    """`expand` for a family whose state is the parameters `names`, each of shape batch_shape:
    the new instance holds the parameters broadcast (as views) to the new batch shape.

    Names not set on `dist` are skipped, so a family given by probs or by logits carries
    whichever of the two exist (computed lazily or given)."""
    new = dist._get_checked_instance(cls, _instance)
    batch_shape = retrograd.Size(batch_shape)
    for name in names:
        if name in dist.__dict__:
            value = dist.__dict__[name]
            setattr(new, name, value.expand(batch_shape + value.shape[len(dist.batch_shape):]))
    if "_given" in dist.__dict__:
        new._given = dist._given
    # Distribution's own initializer: the family's (or a mixin's, as LocScale's) takes parameters
    Distribution.__init__(new, batch_shape, dist.event_shape, validate_args=False)
    new._validate_args = dist._validate_args
    return new


def given_param(dist):
    """The parameter a probs-or-logits family was given (`probs` or `logits`: the name its
    initializer recorded as `_given`; the other may have been computed since)."""
    return dist.__dict__[dist._given]


# `param_shape` of a probs-or-logits family: the shape of the parameter it was given.
given_param_shape = property(lambda self: given_param(self).size(), doc="The shape of the given probs or logits.")
# `_param` of those families: the given probs or logits tensor itself (torch's attribute)
given_param_tensor = property(given_param, doc="The given probs or logits tensor (torch's `_param`).")


class BinaryProbsOrLogits:
    """Mixin for the families of a binary event given by `probs` (P(success)) or by `logits`
    (log-odds), not both: whichever was not given is computed from the other on first use."""

    def _set_probs_or_logits(self, probs, logits, *counts):
        """Check that exactly one of probs / logits is given, broadcast it with `counts` (say a
        total_count) and store it; returns the broadcast counts, in the parameter's dtype."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, given = ("probs", probs) if probs is not None else ("logits", logits)
        *counts, given = broadcast_all(*counts, given)
        setattr(self, name, given)
        self._given = name
        return tuple(count.type_as(given) for count in counts)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)


class LocScale:
    """Mixin for the location-scale families on the real line given by `loc` and `scale`
    (Normal, Laplace, Cauchy): both are broadcast to the batch shape."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(batch_shape_of((loc, scale), self.loc), validate_args=validate_args)


class RelaxedOfBase:
    """Mixin for a relaxed family built as a transform of its base distribution (RelaxedBernoulli,
    RelaxedOneHotCategorical): its temperature, logits and probs are the base's."""

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs
