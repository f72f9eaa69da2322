"""The Distribution base class: the batch and event shapes, argument validation against
``arg_constraints`` and ``support``, and the interface every distribution implements
(sample/rsample, log_prob, cdf/icdf, entropy, moments, expand)."""

from __future__ import annotations

import warnings

import retrograd
from retrograd import Tensor
from retrograd.ops import _batching
from retrograd.tensor import Size

from . import constraints
from .utils import lazy_property

__all__ = ["Distribution"]


def _show(value):
    """A tensor as the messages print it: a 0-dim one as its number."""
    return value.item() if isinstance(value, Tensor) and value.dim() == 0 else value


class Distribution:
    """A batch of probability distributions of shape ``batch_shape``, each over values of shape
    ``event_shape``. Subclasses set ``arg_constraints`` (parameter name -> constraint),
    ``support``, and implement the methods they have."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__  # validation is on unless Python runs with -O

    @staticmethod
    def set_default_validate_args(value):
        """Turn argument validation on (True) or off (False) for distributions made without
        an explicit ``validate_args``."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args expects True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()
        super().__init__()

    def _check_parameters(self):
        """Raise ValueError for a parameter outside its constraint in ``arg_constraints``."""
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:
            arg_constraints = {}
            warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set "
                          "`arg_constraints = {}` or initialize the distribution with "
                          "`validate_args=False` to turn off validation.")
        for param, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue  # checked by whoever knows what it depends on
            if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                continue  # a parameter derived from another (probs from logits): not computed yet
            value = getattr(self, param)
            if not _batching.all_true(constraint.check(value)):
                raise ValueError(
                    f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                    f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                    f"but found invalid values:\n{_show(value)}")

    # ---- shapes

    @property
    def batch_shape(self):
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self):
        """The shape of a single sample (without batching)."""
        return self._event_shape

    def _extended_shape(self, sample_shape=Size()):
        """The shape of ``sample(sample_shape)``: sample_shape + batch_shape + event_shape."""
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def expand(self, batch_shape, _instance=None):
        """A new distribution of the same family with its parameters expanded to ``batch_shape``
        (a view: no copy of the parameters)."""
        raise NotImplementedError

    def _get_checked_instance(self, cls, _instance=None):
        """The object ``cls.expand`` fills: ``_instance`` when a subclass passes its own, else
        a new uninitialized object of this type. A subclass with its own __init__ must have
        its own expand (``cls.expand`` could not know how to fill its attributes)."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    # ---- what subclasses describe

    @property
    def arg_constraints(self):
        """Parameter name -> the constraint it must satisfy."""
        raise NotImplementedError

    @property
    def support(self):
        """The constraint describing where the distribution has mass."""
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        """The standard deviation: sqrt(variance)."""
        return self.variance.sqrt()

    # ---- sampling

    def sample(self, sample_shape=Size()):
        """Draws of shape ``sample_shape + batch_shape + event_shape``, without gradient (by
        default: rsample under no_grad)."""
        with retrograd.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        """Reparameterized draws: differentiable functions of the parameters."""
        raise NotImplementedError

    def sample_n(self, n):
        """``sample((n,))`` (deprecated by torch)."""
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.", FutureWarning)
        return self.sample(Size((n,)))

    # ---- densities and functionals

    def log_prob(self, value):
        """The log of the density (or mass) at ``value``."""
        raise NotImplementedError

    def cdf(self, value):
        """The cumulative distribution function at ``value``."""
        raise NotImplementedError

    def icdf(self, value):
        """The inverse of the cumulative distribution function at ``value``."""
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        """All values of a discrete support, along a new leading dimension (batch dimensions
        expanded, or left of size 1 when ``expand`` is False)."""
        raise NotImplementedError

    def entropy(self):
        """The entropy, per batch element."""
        raise NotImplementedError

    def perplexity(self):
        """exp(entropy)."""
        return retrograd.exp(self.entropy())

    # ---- validation of values

    def _validate_sample(self, value):
        """Raise ValueError unless ``value`` is a tensor whose shape ends in event_shape,
        broadcasts with batch_shape + event_shape, and lies in the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_start = value.dim() - len(self._event_shape)
        if tuple(value.shape[event_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{value.size()} vs {self._event_shape}.")
        expected = self._batch_shape + self._event_shape
        for have, want in zip(reversed(tuple(value.shape)), reversed(tuple(expected))):
            if have != 1 and want != 1 and have != want:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{value.size()} vs {expected}.")
        support = self.support
        if not _batching.all_true(support.check(value)):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support ({support!r}) of the distribution {self!r}, "
                f"but found invalid values:\n{_show(value)}")

    def __repr__(self):
        shown = []
        for name in self.arg_constraints:
            if name in self.__dict__:  # given or already computed (not a lazy one still pending)
                value = self.__dict__[name]
                shown.append(f"{name}: {_show(value) if value.numel() == 1 else value.size()}")
        return f"{self.__class__.__name__}({', '.join(shown)})"
