"""biject_to and transform_to (src/retrograd/distributions/constraint_registry.py): each
constraint's transform maps unconstrained values into it and back, as torch's."""

import numpy as np
import pytest

import retrograd
from retrograd.distributions import biject_to, constraints as C, transform_to
from retrograd.distributions import transforms as T

X = retrograd.tensor([[0.3, -1.2, 0.7], [1.5, 0.1, -0.4]], dtype=retrograd.float64)

CONSTRAINTS = [C.real, C.positive, C.nonnegative, C.greater_than(2.0), C.greater_than_eq(-1.0),
               C.less_than(1.0), C.interval(-1.0, 3.0), C.half_open_interval(0.0, 1.0), C.unit_interval,
               C.simplex, C.real_vector, C.independent(C.positive, 1)]


@pytest.mark.parametrize("registry", [biject_to, transform_to])
@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=repr)
def test_maps_into_the_constraint_and_back(registry, constraint):
    t = registry(constraint)
    y = t(X)
    assert constraint.check(y).all().item()
    if registry is biject_to or t.bijective:
        np.testing.assert_allclose(t.inv(y).numpy(), X.numpy(), rtol=1e-6, atol=1e-9)


def test_the_transforms_are_torch_s():
    assert isinstance(biject_to(C.positive), T.ComposeTransform)  # greater_than(0): exp, then + 0
    assert isinstance(biject_to(C.real), type(T.identity_transform))
    assert isinstance(biject_to(C.simplex), T.StickBreakingTransform)
    assert isinstance(transform_to(C.simplex), T.SoftmaxTransform)
    assert isinstance(biject_to(C.unit_interval), T.SigmoidTransform)
    assert isinstance(biject_to(C.interval(0.0, 2.0)), T.ComposeTransform)
    assert isinstance(transform_to(C.lower_cholesky), T.LowerCholeskyTransform)
    assert transform_to(C.positive_definite)(retrograd.eye(2)).shape == (2, 2)


def test_unregistered_constraint_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        biject_to(C.boolean)
    with pytest.raises(NotImplementedError, match="Cannot transform _LowerCholesky constraints"):
        biject_to(C.lower_cholesky)  # transform_to has it, biject_to does not


def test_register_a_new_constraint():
    class Odd(C.Constraint):
        def check(self, value):
            return value > 0

    biject_to.register(Odd, lambda c: T.ExpTransform())
    assert isinstance(biject_to(Odd()), T.ExpTransform)
