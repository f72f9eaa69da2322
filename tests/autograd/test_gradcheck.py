"""gradcheck / gradgradcheck: torch's arguments, and they catch wrong derivatives."""

import warnings

import numpy as np

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


# ---------------------------------------------------------------------------- torch's other arguments
# Each used to be accepted and ignored; each now changes what gradcheck checks (or raises).


def _gradcheck_both(make_fn, **kwargs):
    """gradcheck's verdict for ``make_fn(module)`` at [1, 2] in retrograd, and in torch when installed."""
    verdicts = []
    for m in (T, torch) if torch is not None else (T,):
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            verdicts.append(m.autograd.gradcheck(make_fn(m), (x,), raise_exception=False, **kwargs))
    return verdicts


def _noisy_square(m):
    """A right gradient with relative noise 1e-12 from one call of backward to the next."""
    noise = iter(np.random.default_rng(0).random(10000))
    return _square_with_backward(lambda g, x: g * 2 * x * (1 + 1e-12 * float(next(noise))), m).apply


def test_nondet_tol_is_the_tolerance_between_two_backward_runs():
    assert set(_gradcheck_both(_noisy_square)) == {False}
    assert set(_gradcheck_both(_noisy_square, nondet_tol=1e-6)) == {True}
    with pytest.raises(GradcheckError, match="Backward is not reentrant.*tolerance for nondeterminism was 0.0"):
        gradcheck(_noisy_square(T), (_x(1.0, 2.0),))


def _two_outputs_bad_on_undefined(m):
    """Two outputs (2x, 3x); the backward, not materializing grads, returns x where one output
    gradient is undefined and the other zero (instead of zeros): right everywhere else."""
    class Two(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            ctx.save_for_backward(x)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            zero = [g is None or not g.any() for g in (g1, g2)]
            if (g1 is None or g2 is None) and all(zero):
                return x * 1
            return (0 if g1 is None else g1 * 2) + (0 if g2 is None else g2 * 3)

    return Two.apply


def test_check_undefined_grad_runs_backward_with_undefined_output_grads():
    assert set(_gradcheck_both(_two_outputs_bad_on_undefined)) == {False}
    assert set(_gradcheck_both(_two_outputs_bad_on_undefined, check_undefined_grad=False)) == {True}
    with pytest.raises(GradcheckError, match="undefined or zero when all output grads are undefined"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gradcheck(_two_outputs_bad_on_undefined(T), (_x(1.0, 2.0),))


def _almost_zero_on_zero_grad(m):
    """Right to 1e-12, but a zero output gradient gives 1e-12 * x, not exact zeros."""
    return _square_with_backward(lambda g, x: g * 2 * x + 1e-12 * x, m).apply


def test_masked_makes_the_zero_grad_output_check_approximate():
    # torch: with masked=True "backward multiplied by grad_output" is checked with allclose
    assert set(_gradcheck_both(_almost_zero_on_zero_grad, check_undefined_grad=False)) == {False}
    assert set(_gradcheck_both(_almost_zero_on_zero_grad, check_undefined_grad=False, masked=True)) == {True}
    with pytest.raises(GradcheckError, match="backward not multiplied by grad_output"):
        gradcheck(_almost_zero_on_zero_grad(T), (_x(1.0, 2.0),), check_undefined_grad=False)


def _counting_square(calls):
    return _square_with_backward(lambda g, x: (calls.append(1), g * 2 * x)[1]).apply


def test_fast_mode_checks_a_random_projection():
    x = T.tensor(np.linspace(0.5, 2.0, 12), dtype=T.float64, requires_grad=True)
    slow, fast = [], []
    assert gradcheck(_counting_square(slow), (x,), check_undefined_grad=False)
    assert gradcheck(_counting_square(fast), (x,), check_undefined_grad=False, fast_mode=True)
    # slow: one backward per output element (twice, for nondet_tol); fast: one vector-Jacobian product
    assert len(slow) == 2 * 12 + 1 and len(fast) == 2 + 1
    wrong = lambda m: _square_with_backward(lambda g, x: g * 3 * x, m).apply  # noqa: E731
    assert set(_gradcheck_both(wrong, fast_mode=True)) == {False}
    assert set(_gradcheck_both(lambda m: _square_with_backward(lambda g, x: g * 2 * x, m).apply,
                               fast_mode=True)) == {True}
    with pytest.raises(GradcheckError, match="(?s)Jacobian mismatch.*fast_mode"):
        gradcheck(wrong(T), (_x(1.0, 2.0),), fast_mode=True)


def test_gen_non_contig_grad_outputs_gives_backward_strided_gradients():
    for m in (T, torch) if torch is not None else (T,):
        seen = []
        square = _square_with_backward(lambda g, x: (seen.append(g.is_contiguous()), g * 2 * x)[1], m)
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        assert m.autograd.gradgradcheck(square.apply, (x,))
        assert all(seen), m
        seen.clear()
        assert m.autograd.gradgradcheck(square.apply, (x,), gen_non_contig_grad_outputs=True)
        assert not all(seen), m


# ---------------------------------------------------------------------------- forward mode and vmap


def _square_with_jvp(jvp_rule, module=T, backward_rule=None):
    """x**2 as a custom Function with a right backward and the given jvp rule (x, t) -> tangent;
    ``backward_rule`` (x, g) -> gradient replaces the backward when given."""
    class Square(module.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return backward_rule(x, g) if backward_rule else 2 * x * g

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return jvp_rule(x, t)

    return Square


def test_check_forward_ad_passes_right_jvps():
    x, y = _x(0.3, -1.2, 2.0), _x(1.5, 0.7, -0.4)
    f = lambda a, b: ((a * b).exp() / (1 + b * b), a.cumprod(0), T.linalg.det(T.outer(a, b) + T.eye(3, dtype=T.float64)))  # noqa: E731
    for kw in (dict(), dict(fast_mode=True), dict(check_backward_ad=False), dict(check_batched_grad=True),
               dict(check_batched_forward_grad=True)):
        assert gradcheck(f, (x, y), check_forward_ad=True, **kw), kw
    assert gradcheck(_square_with_jvp(lambda x, t: 2 * x * t).apply, (x,), check_forward_ad=True)


def test_a_wrong_jvp_fails_with_torch_message():
    bad = lambda m: _square_with_jvp(lambda x, t: 3 * x * t, m).apply  # noqa: E731 - should be 2x
    x = _x(1.0, 2.0)
    expected = ("Jacobian computed with forward mode mismatch for output 0 with respect to input 0,\n"
                "numerical:tensor([[2.0000, 0.0000],\n        [0.0000, 4.0000]], dtype=torch.float64)\n"
                "analytical:tensor([[3., 0.],\n        [0., 6.]], dtype=torch.float64)\n")
    messages = []
    for m in (T, torch) if torch is not None else (T,):
        xm = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        for kw in (dict(), dict(check_backward_ad=False)):
            with pytest.raises(RuntimeError) as e:  # GradcheckError, in both
                m.autograd.gradcheck(bad(m), (xm,), check_forward_ad=True, **kw)
            messages.append((type(e.value).__name__, str(e.value)))
    assert set(messages) == {("GradcheckError", expected)}
    assert gradcheck(bad(T), (x,), check_forward_ad=True, raise_exception=False) is False
    assert gradcheck(bad(T), (x,)) is True  # forward mode is not checked by default
    with pytest.raises(GradcheckError, match="(?s)^Jacobian computed with forward mode mismatch.*fast_mode compares J u"):
        gradcheck(bad(T), (x,), check_forward_ad=True, fast_mode=True)
    assert set(_gradcheck_both(bad, check_forward_ad=True, fast_mode=True)) == {False}


def test_a_jvp_wrong_for_one_input_names_it():
    class Mul(T.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x

        @staticmethod
        def jvp(ctx, tx, ty):
            x, y = ctx._fw_args
            return tx * y + ty * y  # ty should multiply x

    with pytest.raises(GradcheckError, match="^Jacobian computed with forward mode mismatch for output 0 with "
                                             "respect to input 1,"):
        gradcheck(Mul.apply, (_x(1.0, 2.0), _x(3.0, 4.0)), check_forward_ad=True)


def test_an_undefined_tangent_must_act_as_zeros():
    """A function whose tangent changes when an input carries no tangent at all (rather than
    zeros): the Jacobians pass (every input carries one there), the undefined-tangent check fails."""
    fw = T.autograd.forward_ad

    def f(a, b):
        out = a * b
        if fw.unpack_dual(b).tangent is None and fw.unpack_dual(out).tangent is not None:
            primal, tangent = fw.unpack_dual(out)
            out = fw.make_dual(primal.clone(), tangent * 2)
        return out

    x, y = _x(1.0, 2.0), _x(3.0, 4.0)
    with pytest.raises(GradcheckError, match="^Mismatch in tangent values for output with index: 0 when input: 1 "
                                             "has an undefined tangent value"):
        gradcheck(f, (x, y), check_forward_ad=True, check_backward_ad=False)
    assert gradcheck(f, (x, y), check_forward_ad=True, check_backward_ad=False, check_undefined_grad=False)


def _batch_dependent_square():
    """Right derivatives, except under vmap: backward and jvp triple a batched gradient."""
    from retrograd.func import BatchedTensor

    def triple_if_batched(v, r):
        return r * (3 if isinstance(v, BatchedTensor) else 1)

    return _square_with_jvp(lambda x, t: triple_if_batched(t, 2 * x * t),
                            backward_rule=lambda x, g: triple_if_batched(g, 2 * x * g)).apply


@pytest.mark.parametrize("kwargs,what", [
    (dict(check_batched_grad=True), "gradients"),
    (dict(check_forward_ad=True, check_batched_forward_grad=True), "forward-mode gradients"),
])
def test_batched_checks_compare_vmap_with_a_loop(kwargs, what):
    f = _batch_dependent_square()
    x = _x(1.0, 2.0)
    assert gradcheck(f, (x,), check_forward_ad=True)  # right one at a time
    with pytest.raises(GradcheckError, match=f"^For output 0 and input 0:\n\nThe {what} computed by vmap"):
        gradcheck(f, (x,), **kwargs)
    assert gradcheck(f, (x,), raise_exception=False, **kwargs) is False


@pytest.mark.parametrize("kwargs", [dict(check_batched_grad=True),
                                    dict(check_forward_ad=True, check_batched_forward_grad=True)])
def test_a_rule_that_cannot_run_under_vmap_fails_as_torch(kwargs):
    """.item() in backward and jvp: right one at a time, an error under vmap."""
    messages = []
    for m in (T, torch) if torch is not None else (T,):
        item = lambda x, v: v * (v.sum().item() * 0 + 1) * 2 * x  # noqa: E731
        f = _square_with_jvp(item, m, backward_rule=item).apply
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        assert m.autograd.gradcheck(f, (x,), check_forward_ad=True)
        with pytest.raises(RuntimeError) as e:
            m.autograd.gradcheck(f, (x,), **kwargs)
        messages.append(str(e.value).split(":")[0])
    assert set(messages) == {"While computing batched gradients, got"}


def test_gradgradcheck_forward_over_reverse_and_batched():
    x, y = _x(0.3, -1.2, 2.0), _x(1.5, 0.7, -0.4)
    f = lambda a, b: (a * b).exp() / (1 + b * b) + a.logcumsumexp(0)  # noqa: E731
    assert gradgradcheck(f, (x, y), check_fwd_over_rev=True)
    assert gradgradcheck(f, (x, y), check_fwd_over_rev=True, check_rev_over_rev=False, check_undefined_grad=False)
    assert gradgradcheck(f, (x, y), check_batched_grad=True)
    # a backward right to first order whose own tangent is wrong: detach() hides x from it
    Bad = _square_with_jvp(lambda x, t: 2 * x * t, backward_rule=lambda x, g: g * 2 * x.detach())
    assert gradcheck(Bad.apply, (x,), check_forward_ad=True)
    with pytest.raises(GradcheckError, match="^Jacobian computed with forward mode mismatch"):
        gradgradcheck(Bad.apply, (x,), check_fwd_over_rev=True, check_rev_over_rev=False, check_undefined_grad=False)


@pytest.mark.parametrize("check,kwargs", [
    ("gradcheck", dict(check_backward_ad=False)),
    ("gradcheck", dict(check_batched_grad=True, check_backward_ad=False, check_forward_ad=True)),
    ("gradcheck", dict(check_batched_forward_grad=True)),
    ("gradgradcheck", dict(check_rev_over_rev=False)),
    ("gradgradcheck", dict(check_rev_over_rev=False, check_fwd_over_rev=True)),
])
def test_inconsistent_arguments_raise_as_torch(check, kwargs):
    for m in (T, torch) if torch is not None else (T,):
        with pytest.raises(AssertionError, match="Expected at least one|requires check_"):
            getattr(m.autograd, check)(lambda a: a * a, (m.tensor([1.0], dtype=m.float64, requires_grad=True),),
                                       **kwargs)


def test_gradgradcheck_passes_its_arguments_on():
    noisy = _noisy_square(T)
    x = _x(1.0, 2.0)
    assert gradgradcheck(lambda a: noisy(a) * a, (x,), raise_exception=False) is False
    assert gradgradcheck(lambda a: noisy(a) * a, (x,), nondet_tol=1e-6)


def test_check_grad_dtypes_agrees_with_torch():
    # both engines cast a float32 gradient to the float64 input's dtype, so the check passes
    f32 = lambda m: _square_with_backward(lambda g, x: (g * 2 * x).to(m.float32), m).apply  # noqa: E731
    assert set(_gradcheck_both(f32, check_grad_dtypes=True)) == {True}


def test_jacobian_mismatch_names_the_output():
    def two(a):
        return a * 2, Bad.apply(a)

    Bad = _square_with_backward(lambda g, x: g * 3 * x)
    with pytest.raises(GradcheckError, match="mismatch for output 1 with respect to input 0"):
        gradcheck(two, (_x(1.0, 2.0),))
