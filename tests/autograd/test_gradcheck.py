"""gradcheck / gradgradcheck: torch's arguments, and they catch wrong derivatives."""

import warnings

import pytest

import retrograd as T
from retrograd.autograd import GradcheckError, gradcheck, gradgradcheck
from tests.helpers import requires_torch, torch


def _x(*values):
    return T.tensor(list(values), dtype=T.float64, requires_grad=True)


def _square_with_backward(grad_rule, module=T):
    class Square(module.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return grad_rule(g, x)

    return Square


def test_correct_functions_pass():
    x, y = _x(0.3, -1.2, 2.0), _x(1.5, 0.7, -0.4)
    assert gradcheck(lambda a, b: (a * b).exp() / (1 + b * b), (x, y))
    assert gradgradcheck(lambda a, b: (a * b).exp() / (1 + b * b), (x, y))
    assert gradcheck(lambda a: (a.tanh(), a.sigmoid() * 2), (x,))  # several outputs
    assert gradcheck(lambda a: a.sum(), x)  # a lone tensor is accepted as inputs


def test_wrong_custom_function_is_caught():
    Bad = _square_with_backward(lambda g, x: g * 3 * x)  # should be 2x
    x = _x(1.0, 2.0)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(Bad.apply, (x,))
    assert issubclass(GradcheckError, RuntimeError)
    assert gradcheck(Bad.apply, (x,), raise_exception=False) is False


def test_wrong_second_derivative_is_caught_by_gradgradcheck():
    # right first derivative, but detach() makes the backward non-differentiable in x
    Bad = _square_with_backward(lambda g, x: g * 2 * x.detach())
    x = _x(1.0, 2.0)
    assert gradcheck(Bad.apply, (x,))
    assert gradgradcheck(Bad.apply, (x,), raise_exception=False) is False
    with pytest.raises(GradcheckError):
        gradgradcheck(Bad.apply, (x,))


@pytest.mark.parametrize("kwargs,expected", [
    ({}, True),
    (dict(atol=1e-2), True),
    (dict(atol=0, rtol=1e-2), True),
    (dict(atol=0, rtol=1e-4), False),
    (dict(eps=1e-3, atol=1e-2), True),
    (dict(atol=1e-5, rtol=1e-5), False),
])
def test_tolerances(kwargs, expected):
    # the analytical gradient is off by a relative 5e-4
    Off = _square_with_backward(lambda g, x: g * 2 * x * (1 + 5e-4))
    assert gradcheck(Off.apply, (_x(1.0, 2.0),), raise_exception=False, **kwargs) is expected


@requires_torch
@pytest.mark.parametrize("kwargs", [{}, dict(atol=1e-2), dict(atol=0, rtol=1e-2),
                                    dict(atol=0, rtol=1e-4), dict(eps=1e-3, atol=1e-2)])
def test_tolerances_agree_with_torch(kwargs):
    rule = lambda g, x: g * (2 * x + 1e-3)  # noqa: E731
    ours = gradcheck(_square_with_backward(rule).apply, (_x(1.0, 2.0),), raise_exception=False,
                     **kwargs)
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    theirs = torch.autograd.gradcheck(_square_with_backward(rule, torch).apply, (x,),
                                      raise_exception=False, **kwargs)
    assert ours == theirs


def test_eps_controls_the_finite_difference():
    cubic = lambda a: a ** 3  # noqa: E731  (central differences err by eps^2)
    x = _x(1.0, 2.0)
    assert gradcheck(cubic, (x,), eps=1e-6)
    assert not gradcheck(cubic, (x,), eps=0.5, atol=1e-3, rtol=0, raise_exception=False)


def test_non_differentiable_inputs_are_skipped():
    x = _x(1.0, 2.0)
    c = T.tensor([3.0, 4.0], dtype=T.float64)  # requires_grad=False: not checked
    assert gradcheck(lambda a, b, k: a * b * k, (x, c, 2.0))


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda a: a * 2, (T.tensor([1.0], dtype=T.float64),))


def test_float32_inputs_warn():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradcheck(lambda a: a * 2, (x,), eps=1e-3, atol=1e-2, raise_exception=False)
    assert any("double precision" in str(w.message) for w in caught)


def test_gradgradcheck_with_given_grad_outputs():
    x = _x(0.5, -0.25)
    go = T.tensor([1.0, -2.0], dtype=T.float64, requires_grad=True)
    assert gradgradcheck(lambda a: a.exp() * a, (x,), (go,))
