"""retrograd.autograd.forward_ad: dual levels, dual tensors, custom Function jvp, and
forward-over-reverse, as torch 2.13's. The per-op JVP rules are checked in
test_forward_ad_ops.py."""

import numpy as np
import pytest

import retrograd
import retrograd.autograd.forward_ad as fwAD
from retrograd.autograd import function as _function
from tests.helpers import rand, requires_torch, torch
from tests.reference.store import reference


def _t(arr):
    return retrograd.tensor(arr)


# ------------------------------------------------------------------ levels and dual tensors


def test_make_dual_unpack_dual_roundtrip():
    x, v = _t(rand(3, seed=1)), _t(rand(3, seed=2))
    with fwAD.dual_level() as level:
        assert level == 0
        d = fwAD.make_dual(x, v)
        primal, tangent = fwAD.unpack_dual(d)
        assert isinstance(fwAD.unpack_dual(d), fwAD.UnpackedDualTensor)
        assert fwAD.UnpackedDualTensor._fields == ("primal", "tangent")
        assert tangent is v
        np.testing.assert_array_equal(primal.numpy(), x.numpy())
        assert fwAD.unpack_dual(primal).tangent is None  # the primal is a view without tangent
        assert fwAD.unpack_dual(x).tangent is None  # make_dual does not touch its input
    assert fwAD.unpack_dual(d).tangent is None  # tangents vanish with their level


def test_tangents_of_an_exited_level_do_not_come_back():
    x = _t(rand(3))
    with fwAD.dual_level():
        d = fwAD.make_dual(x, _t(rand(3, seed=3)))
    with fwAD.dual_level():
        assert fwAD.unpack_dual(d).tangent is None
        assert fwAD.unpack_dual(d * 2).tangent is None


def test_a_long_dual_level_keeps_references_to_live_tensors_only():
    with fwAD.dual_level():
        d = fwAD.make_dual(_t(rand(2)), _t(rand(2, seed=1)))
        for _ in range(3000):
            d = d * 1.0
        assert len(fwAD._levels.duals) < 2100
        np.testing.assert_allclose(fwAD.unpack_dual(d).tangent.numpy(), rand(2, seed=1))


def test_enter_exit_dual_level_functions():
    assert fwAD.enter_dual_level() == 0
    try:
        assert _function.forward_hook is not None
    finally:
        assert fwAD.exit_dual_level() is None
    assert _function.forward_hook is None  # no level: ops pay one global check only


def test_dual_level_is_a_decorator():
    @fwAD.dual_level()
    def f(x, v):
        return fwAD.unpack_dual(fwAD.make_dual(x, v) * 3).tangent

    np.testing.assert_allclose(f(_t(rand(2)), _t(np.ones(2))).numpy(), [3.0, 3.0])


def _errors(mod):
    """The (type, message) of each misuse, run on retrograd or torch."""
    fw = mod.autograd.forward_ad
    x = mod.ones(2, dtype=mod.float64)
    out = []

    def attempt(fn):
        try:
            fn()
            out.append(None)
        except Exception as e:  # noqa: BLE001 (comparing exception types is the point)
            out.append((type(e).__name__, str(e)))

    attempt(lambda: fw.make_dual(x, x))  # no level
    attempt(lambda: fw.exit_dual_level())
    with fw.dual_level():
        attempt(lambda: fw.enter_dual_level())  # nested
        attempt(lambda: fw.make_dual(x, mod.ones(3, dtype=mod.float64)))
        attempt(lambda: fw.make_dual(mod.ones(2, dtype=mod.int64), mod.ones(2, dtype=mod.int64)))
        attempt(lambda: fw.make_dual(x, x, level=3))
        attempt(lambda: fw.make_dual(fw.make_dual(x, x), x))
        attempt(lambda: fw.exit_dual_level(level=2))
        attempt(lambda: fw.unpack_dual(3))
    return out


def test_misuse_raises_torch_errors():
    got = _errors(retrograd)
    assert got == [
        ("RuntimeError", "Trying to create a dual Tensor for forward AD but no level exists, make sure "
                         "to enter_dual_level() first."),
        ("RuntimeError", "Dual level must be a positive number."),
        ("RuntimeError", "Nested forward mode AD is not supported at the moment"),
        ("RuntimeError", "Trying to set a forward gradient that has a different size than that of the "
                         "original Tensor, this is not supported. Tensor is of size [2] while the given "
                         "forward gradient is of size [3]."),
        ("ValueError", "Expected primal to be floating point or complex, but got: torch.int64"),
        ("RuntimeError", "Invalid level given to _make_dual"),
        ("RuntimeError", "Making a dual Tensor based on a Tensor that already has a forward gradient at "
                         "the same level 0 is not supported."),
        ("RuntimeError", "Trying to exit a forward AD level that was not the last one that was created. "
                         "This is not supported."),
        ("TypeError", "_unpack_dual(): argument 'dual' (position 1) must be Tensor, not int"),
    ]
    if torch is not None:
        assert got == _errors(torch)
    assert fwAD._levels.level is None  # every error left no level behind


def test_public_names_as_torch():
    assert set(fwAD.__all__) == {"UnpackedDualTensor", "enter_dual_level", "exit_dual_level",
                                 "make_dual", "unpack_dual", "dual_level"}
    assert retrograd.autograd.forward_ad is fwAD


# ------------------------------------------------------------------ propagation


def test_jvp_of_a_composite_function():
    x, v = rand(4, seed=5), rand(4, seed=6)
    with fwAD.dual_level():
        d = fwAD.make_dual(_t(x), _t(v))
        y = (d.sin() * d.exp()).sum() / (1 + d.square()).sqrt().sum()
        got = fwAD.unpack_dual(y).tangent.item()
    f = lambda a: (np.sin(a) * np.exp(a)).sum() / np.sqrt(1 + a * a).sum()  # noqa: E731
    eps = 1e-6
    assert got == pytest.approx((f(x + eps * v) - f(x - eps * v)) / (2 * eps), rel=1e-7)


def test_an_input_without_tangent_is_a_constant():
    x, w = _t(rand(3, 4, seed=7)), _t(rand(4, 2, seed=8))
    v = _t(rand(3, 4, seed=9))
    with fwAD.dual_level():
        out = fwAD.make_dual(x, v) @ w
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), (v @ w).numpy())
        assert fwAD.unpack_dual(x @ w).tangent is None


def test_integer_outputs_carry_no_tangent():
    with fwAD.dual_level():
        d = fwAD.make_dual(_t(rand(5)), _t(rand(5, seed=1)))
        values, indices = d.max(0)
        assert fwAD.unpack_dual(indices).tangent is None
        assert fwAD.unpack_dual(values).tangent is not None
        assert fwAD.unpack_dual(d > 0).tangent is None


def test_in_place_op_on_a_dual_tensor_updates_its_tangent():
    x, v = rand(3, seed=1), rand(3, seed=2)
    with fwAD.dual_level():
        d = fwAD.make_dual(_t(x).clone(), _t(v))
        d.mul_(3)
        np.testing.assert_allclose(fwAD.unpack_dual(d).tangent.numpy(), 3 * v)
        d[0] = 5.0
        np.testing.assert_allclose(fwAD.unpack_dual(d).tangent.numpy(), [0.0, 3 * v[1], 3 * v[2]])


@requires_torch
def test_tangents_equal_torch_on_a_small_network():
    def run(mod):
        fw = mod.autograd.forward_ad
        x = mod.tensor(rand(5, 3, seed=11))
        w1, w2 = mod.tensor(rand(4, 3, seed=12)), mod.tensor(rand(2, 4, seed=13))
        v = mod.tensor(rand(5, 3, seed=14))
        with fw.dual_level():
            h = mod.nn.functional.linear(fw.make_dual(x, v), w1).tanh()
            y = mod.nn.functional.log_softmax(h @ w2.T, dim=1)
            return fw.unpack_dual(y).tangent.detach().numpy()

    np.testing.assert_allclose(run(retrograd), run(torch), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ custom Function jvp


class _Scale(retrograd.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, k):
        ctx.save_for_forward(x, y)
        ctx.k = k
        return x * y * k

    @staticmethod
    def jvp(ctx, tx, ty, tk):
        x, y = ctx.saved_tensors
        assert tk is None  # a non-tensor input's tangent is None, as torch's
        return (tx * y + x * ty) * ctx.k

    @staticmethod
    def backward(ctx, g):
        return g, g, None


class _NoJvp(retrograd.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_custom_function_jvp():
    x, y, v = _t(rand(3, seed=1)), _t(rand(3, seed=2)), _t(rand(3, seed=3))
    with fwAD.dual_level():
        out = _Scale.apply(fwAD.make_dual(x, v), y, 3.0)  # y has no tangent: zeros reach jvp
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), (v * y * 3).numpy())


def test_custom_function_without_jvp_raises_torch_error():
    with fwAD.dual_level():
        d = fwAD.make_dual(_t(rand(2)), _t(rand(2)))
        with pytest.raises(NotImplementedError, match="You must implement the jvp function for custom "
                                                      "autograd.Function to use it with forward mode AD."):
            _NoJvp.apply(d)
        assert fwAD.unpack_dual(_NoJvp.apply(_t(rand(2)))).tangent is None  # no tangent in: fine


# ------------------------------------------------------------------ forward-over-reverse


@pytest.mark.parametrize("create_graph", [True, False])
def test_forward_over_reverse_gives_hessian_vector_products(create_graph):
    """autograd.grad inside a dual level returns gradients with tangents, with or without
    create_graph (without it, the backward still takes its tensor-op paths, as torch's)."""
    x, v = rand(4, seed=21), rand(4, seed=22)
    with fwAD.dual_level():
        xr = _t(x).requires_grad_()
        d = fwAD.make_dual(xr, _t(v))
        y = (d.exp() * d).sum() + (d[:3] * d[1:]).sum() + (d.tanh() * 2).softmax(0)[1]
        (g,) = retrograd.autograd.grad(y, xr, create_graph=create_graph)
        assert g.requires_grad == create_graph
        hv = fwAD.unpack_dual(g).tangent.detach().numpy()
    eps = 1e-6

    def grad_at(a):
        t = _t(a).requires_grad_()
        y = (t.exp() * t).sum() + (t[:3] * t[1:]).sum() + (t.tanh() * 2).softmax(0)[1]
        return retrograd.autograd.grad(y, t)[0].numpy()

    np.testing.assert_allclose(hv, (grad_at(x + eps * v) - grad_at(x - eps * v)) / (2 * eps), rtol=1e-6)


def test_reverse_over_forward_differentiates_a_tangent():
    x, v = rand(3, seed=31), rand(3, seed=32)
    xr = _t(x).requires_grad_()
    with fwAD.dual_level():
        t = fwAD.unpack_dual(fwAD.make_dual(xr, _t(v)).sin().sum()).tangent  # sum cos(x) v
        (g,) = retrograd.autograd.grad(t, xr)
    np.testing.assert_allclose(g.numpy(), -np.sin(x) * v, rtol=1e-12)


# ------------------------------------------------------------------ autograd.functional by forward AD


def _functional_cases(T):
    """jacobian/hessian by forward mode, hvp (forward-over-reverse) and vhp, on retrograd or torch."""
    AF = T.autograd.functional
    x, y, v = (T.tensor(rand(3, seed=s)) for s in (41, 42, 43))
    f = lambda a, b: (a.sin() * b, a.sum() * b.exp())  # noqa: E731
    g = lambda a: (a.exp() * a).sum() + (a[:2] * a[1:]).sum()  # noqa: E731
    g2 = lambda a, b: (a * b.exp()).sum() * a.sum()  # noqa: E731
    out = [t for row in AF.jacobian(f, (x, y), strategy="forward-mode", vectorize=True) for t in row]
    out.append(AF.jacobian(lambda a: a.exp(), x, strategy="forward-mode", vectorize=True))
    out.append(AF.hessian(g, x, outer_jacobian_strategy="forward-mode", vectorize=True))
    out += [t for row in AF.hessian(g2, (x, y), outer_jacobian_strategy="forward-mode", vectorize=True)
            for t in row]
    out += list(AF.hvp(g, x, v)) + list(AF.hvp(g2, (x, y), (v, v * 2))[1]) + [AF.vhp(g, x, v)[1]]
    return [t.detach().numpy() for t in out]


def test_functional_forward_mode_matches_torch():
    ours = _functional_cases(retrograd)
    theirs = reference(lambda: _functional_cases(torch))
    assert [a.shape for a in ours] == [np.shape(b) for b in theirs]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_forward_mode_jacobian_equals_reverse_mode():
    AF = retrograd.autograd.functional
    x = _t(rand(2, 3, seed=44))
    f = lambda a: (a @ a.T).tanh().cumsum(0)  # noqa: E731
    fwd = AF.jacobian(f, x, strategy="forward-mode", vectorize=True)
    np.testing.assert_allclose(fwd.numpy(), AF.jacobian(f, x).numpy(), rtol=1e-12)
    assert fwd.shape == (2, 2, 2, 3)


def test_hvp_is_forward_over_reverse():
    """hvp's product is the tangent of the gradient; through a custom Function without jvp
    (torch's hvp works there, by double backward) it takes the double-backward path."""
    x, v = _t(rand(3, seed=45)), _t(rand(3, seed=46))
    _, hv = retrograd.autograd.functional.hvp(lambda a: (a.sin() * a).sum(), x, v)
    xa, va = x.numpy(), v.numpy()
    np.testing.assert_allclose(hv.numpy(), (2 * np.cos(xa) - xa * np.sin(xa)) * va, rtol=1e-12)

    class Square(retrograd.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    calls = []
    fwAD_propagate = fwAD._propagate

    def spy(*args):
        calls.append(args[1].__name__)
        return fwAD_propagate(*args)

    fwAD._propagate = spy
    try:
        _, hv = retrograd.autograd.functional.hvp(lambda a: (a.sin() * a).sum(), x, v)
        assert "Sin" in calls  # the tangent went through the forward ops and the backward's
        _, hv2 = retrograd.autograd.functional.hvp(lambda a: Square.apply(a).sum(), x, v)
    finally:
        fwAD._propagate = fwAD_propagate
    np.testing.assert_allclose(hv2.numpy(), 2 * va, rtol=1e-12)


def _functional_errors(T):
    AF = T.autograd.functional
    x = T.ones(2, dtype=T.float64)
    out = []
    for kw in (dict(strategy="forward-mode"), dict(strategy="forward-mode", vectorize=True, create_graph=True),
               dict(strategy="forward-mode", vectorize=True, strict=True)):
        try:
            AF.jacobian(lambda a: a * 2, x, **kw)
            out.append(None)
        except Exception as e:  # noqa: BLE001
            out.append((type(e).__name__, str(e)))
    return out


def test_functional_forward_mode_errors_as_torch():
    got = _functional_errors(retrograd)
    assert [e[0] for e in got] == ["NotImplementedError", "NotImplementedError", "RuntimeError"]
    if torch is not None:
        assert got == _functional_errors(torch)


def test_make_dual_of_a_number_raises_attribute_error_and_repr_shows_the_tangent_as_torch():
    # torch's make_dual(3., t) raises AttributeError (retrograd raised TypeError), and a dual
    # tensor's repr ends in its tangent (a 0-dim one as the number)
    with fwAD.dual_level():
        with pytest.raises(AttributeError, match="'float' object has no attribute 'is_floating_point'"):
            fwAD.make_dual(3.0, retrograd.tensor([1.0]))
        d = fwAD.make_dual(retrograd.tensor([1.0, 2.0]), retrograd.tensor([1.0, 1.0]))
        assert repr(d * 2) == "tensor([2., 4.], tangent=tensor([2., 2.]))"
        assert repr(fwAD.make_dual(retrograd.tensor(1.0), retrograd.tensor(0.1))) == "tensor(1., tangent=0.10000000149011612)"
        x64 = retrograd.tensor([1.0], dtype=retrograd.float64)
        assert repr(fwAD.make_dual(x64, x64)) == \
            "tensor([1.], dtype=torch.float64, tangent=tensor([1.], dtype=torch.float64))"
    assert repr(d) == "tensor([1., 2.])"  # outside the level: no tangent
