"""Constraints (src/retrograd/distributions/constraints.py): check() on values inside and
outside each, event_dim, is_discrete, reprs, dependent constraints."""

import numpy as np
import pytest

import retrograd
from retrograd.distributions import Normal, Uniform, constraints as C

t = retrograd.tensor

CASES = [  # (constraint, values inside, values outside); the check is per event
    (C.real, [0.0, -1e30], [float("nan")]),
    (C.positive, [1e-30, 3.0], [0.0, -1.0]),
    (C.nonnegative, [0.0, 3.0], [-1e-30]),
    (C.greater_than(2.0), [2.5], [2.0, 1.0]),
    (C.greater_than_eq(2.0), [2.0], [1.9]),
    (C.less_than(2.0), [1.9], [2.0]),
    (C.interval(0.0, 2.0), [0.0, 2.0], [-0.1, 2.1]),
    (C.half_open_interval(0.0, 2.0), [0.0, 1.9], [2.0]),
    (C.unit_interval, [0.0, 1.0], [1.1]),
    (C.boolean, [0.0, 1.0], [0.5, 2.0]),
    (C.integer_interval(0, 3), [0.0, 3.0], [1.5, 4.0]),
    (C.nonnegative_integer, [0.0, 7.0], [-1.0, 1.5]),
    (C.positive_integer, [1.0], [0.0]),
]


@pytest.mark.parametrize("constraint, inside, outside", CASES, ids=[repr(c[0]) for c in CASES])
def test_scalar_constraints(constraint, inside, outside):
    assert constraint.check(t(inside)).all().item()
    assert not constraint.check(t(outside)).any().item()
    assert constraint.event_dim == 0


def test_event_constraints():
    assert C.simplex.check(t([[0.2, 0.8], [0.5, 0.5]])).tolist() == [True, True]
    assert C.simplex.check(t([[0.2, 0.7], [-0.5, 1.5]])).tolist() == [False, False]
    assert C.simplex.event_dim == 1 and C.real_vector.event_dim == 1
    assert C.real_vector.check(t([[0.0, float("nan")], [1.0, 2.0]])).tolist() == [False, True]
    assert C.lower_cholesky.check(t([[1.0, 0.0], [2.0, 3.0]])).item()
    assert not C.lower_cholesky.check(t([[1.0, 1.0], [2.0, 3.0]])).item()
    assert not C.lower_cholesky.check(t([[-1.0, 0.0], [2.0, 3.0]])).item()
    assert C.positive_definite.check(t([[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]])).tolist() == [True, False]
    assert C.positive_semidefinite.check(t([[1.0, 1.0], [1.0, 1.0]])).item()
    assert C.corr_cholesky.check(t([[1.0, 0.0], [0.6, 0.8]])).item()
    assert C.one_hot.check(t([[0.0, 1.0], [1.0, 1.0]])).tolist() == [True, False]
    assert C.square.check(t(np.zeros((2, 3)))).item() is False
    assert C.symmetric.check(t([[1.0, 2.0], [2.0, 1.0]])).item()
    assert C.multinomial(3).check(t([[1.0, 2.0], [2.0, 2.0]])).tolist() == [True, False]


def test_independent_cat_and_stack():
    ind = C.independent(C.positive, 1)
    assert ind.event_dim == 1 and repr(ind) == "IndependentConstraint(GreaterThan(lower_bound=0.0), 1)"
    assert ind.check(t([[1.0, 2.0], [1.0, -2.0]])).tolist() == [True, False]
    cat = C.cat([C.positive, C.real], dim=0, lengths=[1, 2])
    assert cat.check(t([1.0, -3.0, -2.0])).tolist() == [True, True, True]
    assert cat.check(t([-1.0, -3.0, -2.0])).tolist() == [False, True, True]
    stack = C.stack([C.positive, C.real], dim=0)
    assert stack.check(t([[1.0, -1.0], [-1.0, -1.0]])).tolist() == [[True, False], [True, True]]
    assert stack.check(t([[1.0, 1.0], [-1.0, -1.0]])).tolist() == [[True, True], [True, True]]


def test_discreteness_and_dependent():
    assert C.boolean.is_discrete and C.nonnegative_integer.is_discrete and not C.real.is_discrete
    assert C.is_dependent(Uniform.support) and not C.is_dependent(C.real)
    assert Uniform(0.0, 2.0).support.upper_bound == 2.0
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        C.dependent.check(t(1.0))
    assert C.is_dependent(C.dependent_property(lambda self: C.real))
    assert Normal.support is C.real and repr(C.positive) == "GreaterThan(lower_bound=0.0)"
    assert repr(C.simplex) == "Simplex()" and repr(C.interval(0.0, 1.0)) == "Interval(lower_bound=0.0, upper_bound=1.0)"
