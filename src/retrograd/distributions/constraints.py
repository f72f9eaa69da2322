"""Constraints: the set a distribution's parameter or sample lives in. ``check(value)`` says,
per event, whether ``value`` is inside (a bool tensor of the batch shape: the rightmost
``event_dim`` dimensions of ``value`` form one event); ``is_discrete`` and ``event_dim`` describe
the set. ``biject_to``/``transform_to`` (constraint_registry.py) map the real numbers onto each."""

from __future__ import annotations

import retrograd

__all__ = [
    "Constraint", "boolean", "cat", "corr_cholesky", "dependent", "dependent_property",
    "greater_than", "greater_than_eq", "independent", "integer_interval", "interval",
    "half_open_interval", "is_dependent", "less_than", "lower_cholesky", "lower_triangular",
    "MixtureSameFamilyConstraint", "multinomial", "nonnegative", "nonnegative_integer", "one_hot",
    "positive", "positive_semidefinite", "positive_definite", "positive_integer", "real",
    "real_vector", "simplex", "square", "stack", "symmetric", "unit_interval",
]


class Constraint:
    """A set of values. Subclasses define ``check``; ``is_discrete`` and ``event_dim`` (the
    number of rightmost dimensions that make one event) default to a continuous scalar set."""

    is_discrete = False
    event_dim = 0

    def check(self, value):
        """A bool tensor: whether each event of ``value`` lies in the set."""
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__[1:] + "()"  # the class name without its leading underscore


def _all_rightmost(result, n):
    """``result`` reduced by ``all`` over its ``n`` rightmost dimensions."""
    for _ in range(n):
        result = result.all(-1)
    return result


# ---- dependent constraints: the set depends on the distribution's parameters

class _Dependent(Constraint):
    """Placeholder for a support that depends on other values (Uniform's [low, high]); it
    cannot check a value. Calling it gives one with known ``is_discrete``/``event_dim``."""

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._is_discrete = is_discrete
        self._event_dim = event_dim
        super().__init__()

    @property
    def is_discrete(self):
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self):
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        if is_discrete is NotImplemented:
            is_discrete = self._is_discrete
        if event_dim is NotImplemented:
            event_dim = self._event_dim
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint):
    """Whether ``constraint`` is a dependent one (its check needs the distribution)."""
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property that is a dependent constraint when read on the class (so ``is_dependent
    (Uniform.support)`` is true) and the instance's actual constraint when read on an instance.
    Used bare (``@dependent_property``) or with ``is_discrete``/``event_dim`` keywords."""

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


# ---- reshaping constraints

class _IndependentConstraint(Constraint):
    """``base_constraint`` with its ``reinterpreted_batch_ndims`` rightmost batch dimensions
    made part of the event: an event is inside when every element of it is."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        assert isinstance(base_constraint, Constraint), f"base_constraint must be a Constraint, got {type(base_constraint).__name__}"
        assert isinstance(reinterpreted_batch_ndims, int), f"reinterpreted_batch_ndims must be an int, got {type(reinterpreted_batch_ndims).__name__}"
        assert reinterpreted_batch_ndims >= 0, f"reinterpreted_batch_ndims must be >= 0, got {reinterpreted_batch_ndims}"
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__()

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        result = self.base_constraint.check(value)
        if result.dim() < self.reinterpreted_batch_ndims:
            expected = self.base_constraint.event_dim + self.reinterpreted_batch_ndims
            raise ValueError(f"Expected value.dim() >= {expected} but got {value.dim()}")
        return _all_rightmost(result, self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"{type(self).__name__[1:]}({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class MixtureSameFamilyConstraint(Constraint):
    """The support of a MixtureSameFamily: a value is inside when it is inside the support of
    every component (the components' batch dimension sits left of the event)."""

    def __init__(self, base_constraint):
        assert isinstance(base_constraint, Constraint), f"base_constraint must be a Constraint, got {type(base_constraint).__name__}"
        self.base_constraint = base_constraint
        super().__init__()

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim

    def check(self, value):
        # broadcast the value against the component dimension, then require all components
        return self.base_constraint.check(value.unsqueeze(-1 - self.event_dim)).all(-1)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_constraint!r})"


# ---- scalar sets

class _Bounded(Constraint):
    """A set given by bounds: the attributes named in `_bound_names`, shown by its repr."""

    _bound_names = ()

    def __repr__(self):
        bounds = ", ".join(f"{name}={getattr(self, name)}" for name in self._bound_names)
        return f"{type(self).__name__[1:]}({bounds})"


class _LowerBound(_Bounded):
    _bound_names = ("lower_bound",)

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound
        super().__init__()


class _UpperBound(_Bounded):
    _bound_names = ("upper_bound",)

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound
        super().__init__()


class _BothBounds(_Bounded):
    _bound_names = ("lower_bound", "upper_bound")

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        super().__init__()


class _Boolean(Constraint):
    """{0, 1}."""

    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _OneHot(Constraint):
    """Vectors of zeros with a single one."""

    is_discrete = True
    event_dim = 1

    def check(self, value):
        return ((value == 0) | (value == 1)).all(-1) & (value.sum(-1) == 1)


class _IntegerInterval(_BothBounds):
    """Integers in [lower_bound, upper_bound]."""

    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & (self.lower_bound <= value) & (value <= self.upper_bound)


class _IntegerLessThan(_UpperBound):
    """Integers <= upper_bound."""

    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & (value <= self.upper_bound)


class _IntegerGreaterThan(_LowerBound):
    """Integers >= lower_bound."""

    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound)


class _Real(Constraint):
    """The extended real line, without NaN."""

    def check(self, value):
        return value == value  # false exactly at NaN


class _GreaterThan(_LowerBound):
    """(lower_bound, inf]."""

    def check(self, value):
        return self.lower_bound < value


class _GreaterThanEq(_LowerBound):
    """[lower_bound, inf]."""

    def check(self, value):
        return self.lower_bound <= value


class _LessThan(_UpperBound):
    """[-inf, upper_bound)."""

    def check(self, value):
        return value < self.upper_bound


class _Interval(_BothBounds):
    """[lower_bound, upper_bound]."""

    def check(self, value):
        return (self.lower_bound <= value) & (value <= self.upper_bound)


class _HalfOpenInterval(_Interval):
    """[lower_bound, upper_bound)."""

    def check(self, value):
        return (self.lower_bound <= value) & (value < self.upper_bound)


# ---- vector and matrix sets

class _Simplex(Constraint):
    """Nonnegative vectors summing to 1 (within 1e-6)."""

    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


class _Multinomial(Constraint):
    """Nonnegative integer vectors of total at most upper_bound (the counts of a Multinomial)."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound
        super().__init__()

    def check(self, value):
        return (value >= 0).all(-1) & (value.sum(-1) <= self.upper_bound)


class _LowerTriangular(Constraint):
    """Matrices with zeros above the diagonal."""

    event_dim = 2

    def check(self, value):
        return _all_rightmost(value.tril() == value, 2)


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal (Cholesky factors)."""

    event_dim = 2

    def check(self, value):
        triangular = _all_rightmost(value.tril() == value, 2)
        return triangular & (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1)


class _CorrCholesky(Constraint):
    """Cholesky factors of correlation matrices: lower Cholesky with rows of unit norm (to
    10 ulps per row element)."""

    event_dim = 2

    def check(self, value):
        tol = retrograd.finfo(value.dtype).eps * value.shape[-1] * 10
        unit_rows = ((retrograd.linalg.vector_norm(value, dim=-1) - 1).abs() <= tol).all(-1)
        return _LowerCholesky().check(value) & unit_rows


class _Square(Constraint):
    """Square matrices (a property of the shape: every batch element gives the same answer)."""

    event_dim = 2

    def check(self, value):
        square = value.shape[-2] == value.shape[-1]
        return retrograd.full(value.shape[:-2], square, dtype=retrograd.bool, device=value.device)


class _Symmetric(_Square):
    """Symmetric matrices (to an absolute 1e-6)."""

    def check(self, value):
        square = super().check(value)
        if not square.all():
            return square
        return _all_rightmost(retrograd.isclose(value, value.mT, atol=1e-6), 2)


class _PositiveSemidefinite(_Symmetric):
    """Symmetric matrices with nonnegative eigenvalues."""

    def check(self, value):
        symmetric = super().check(value)
        if not symmetric.all():
            return symmetric
        return (retrograd.linalg.eigvalsh(value) >= 0).all(-1)


class _PositiveDefinite(_Symmetric):
    """Symmetric matrices with positive eigenvalues."""

    def check(self, value):
        symmetric = super().check(value)
        if not symmetric.all():
            return symmetric
        return (retrograd.linalg.eigvalsh(value) > 0).all(-1)


# ---- sets built from others along a dimension

class _Cat(Constraint):
    """Slices of ``dim`` of sizes ``lengths`` (1 each by default), the i-th in ``cseq[i]``."""

    def __init__(self, cseq, dim=0, lengths=None):
        assert all(isinstance(c, Constraint) for c in cseq), "cat: every element of cseq must be a Constraint"
        self.cseq = list(cseq)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        assert len(self.lengths) == len(self.cseq), f"cat: {len(self.lengths)} lengths for {len(self.cseq)} constraints"
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        assert -value.dim() <= self.dim < value.dim(), f"cat: dim {self.dim} is out of range for a value of {value.dim()} dimensions"
        pieces, start = [], 0
        for constraint, length in zip(self.cseq, self.lengths):
            pieces.append(constraint.check(value.narrow(self.dim, start, length)))
            start += length
        return retrograd.cat(pieces, self.dim)


class _Stack(Constraint):
    """Values whose i-th slice along ``dim`` lies in ``cseq[i]``."""

    def __init__(self, cseq, dim=0):
        assert all(isinstance(c, Constraint) for c in cseq), "stack: every element of cseq must be a Constraint"
        self.cseq = list(cseq)
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        dim = max(c.event_dim for c in self.cseq)
        return dim + 1 if self.dim + dim < 0 else dim  # a stacking dim inside the event adds one

    def check(self, value):
        assert -value.dim() <= self.dim < value.dim(), f"stack: dim {self.dim} is out of range for a value of {value.dim()} dimensions"
        slices = [value.select(self.dim, i) for i in range(value.size(self.dim))]
        return retrograd.stack([c.check(v) for c, v in zip(self.cseq, slices)], self.dim)


# the public names: instances for fixed sets, classes for sets with parameters
dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
multinomial = _Multinomial
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
stack = _Stack
