"""retrograd.autograd.Function: PyTorch's custom-Function API, tutorial included."""

import math
import re

import numpy as np
import pytest

import retrograd as torch  # the tutorial below is PyTorch's, unchanged
from tests.helpers import requires_torch
from tests.helpers import torch as real_torch


def test_pytorch_tutorial_legendre_polynomial3_runs_unchanged_and_trains():
    # https://pytorch.org/tutorials/beginner/examples_autograd/polynomial_custom_function.html
    # (2000 steps, as in the tutorial; only the print is replaced by assertions)
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    dtype = torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    first_loss = None
    for t in range(2000):  # noqa: B007
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if first_loss is None:
            first_loss = loss.item()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    # torch prints: 99 209.95..., and ends near y = -6.7e-10 - 2.2 P3(-1.2e-10 + 0.255 x), loss ~ 8.8
    assert loss.item() < 10 < first_loss
    assert abs(b.item() + 2.2) < 0.05 and abs(d.item() - 0.255) < 0.01
    assert P3(c + d * x).grad_fn.name() == "LegendrePolynomial3Backward"
    assert a.is_leaf and a.requires_grad


def test_save_for_backward_and_ctx_attributes():
    class Pow(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, p):
            ctx.p = p
            ctx.save_for_backward(x)
            return x ** p

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.p * x ** (ctx.p - 1), None

    x = torch.tensor([1.0, 2.0], requires_grad=True, dtype=torch.float64)
    Pow.apply(x, 3).sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]
    assert torch.autograd.gradcheck(lambda x: Pow.apply(x, 3), (x,))
    assert torch.autograd.gradgradcheck(lambda x: Pow.apply(x, 3), (x,))


def test_setup_context_style():
    class Pow(torch.autograd.Function):
        @staticmethod
        def forward(x, p):
            return x ** p

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, p = inputs
            ctx.p = p
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.p * x ** (ctx.p - 1), None

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    Pow.apply(x, 3).sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]


def test_needs_input_grad():
    seen = []

    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen.append(ctx.needs_input_grad)
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return g, None, None

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    F.apply(x, torch.tensor([1.0, 2.0]), 3).sum().backward()
    assert seen == [(True, False, False), (True, False, False)]


def test_mark_dirty():
    class AddOne(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = AddOne.apply(h)
    assert y is h and h._version == 2 and h.grad_fn.name() == "AddOneBackward"
    (y * y).sum().backward()
    assert x.grad.tolist() == [12.0, 20.0]
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in an "
                                           "in-place operation"):
        AddOne.apply(x)


def test_mark_dirty_input_view_of_the_written_tensor_keeps_its_edge():
    # torch: the view's edge is its grad_fn before forward; read after the write, its grad_fn
    # would replay the view from the written tensor's old node, and a later use of the view
    # would skip AddInto (a.grad [1, 1, 0, 0] instead of torch's [3, 3, 0, 0])
    class AddInto(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            x.add_(2 * torch.cat([y, y]))
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g, 2 * (g[:2] + g[2:])

    a = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    x = a * 1
    v = x[:2]
    AddInto.apply(x, v)
    (v * 1).sum().backward()
    assert a.grad.tolist() == [3.0, 3.0, 0.0, 0.0]


def test_forward_returning_another_ops_second_output():
    # the tensor becomes output 0 of the Function (torch: y is q, FBackward; only b gets a gradient)
    a = torch.ones(4, requires_grad=True)
    _, q = a.split(2)  # q is output 1 of split's node

    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return q

        @staticmethod
        def backward(ctx, g):
            return g * 3

    b = torch.ones(2, requires_grad=True)
    y = F.apply(b)
    assert y is q and y.grad_fn.name() == "FBackward" and y.output_nr == 0
    y.sum().backward()
    assert b.grad.tolist() == [3.0, 3.0] and a.grad is None


def test_mark_non_differentiable_and_materialize_grads():
    got = []

    class Two(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            a, b = x * 2, x * 3
            ctx.mark_non_differentiable(b)
            return a, b

        @staticmethod
        def backward(ctx, ga, gb):
            got.append((ga.tolist(), gb.tolist()))
            return ga * 2

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    a, b = Two.apply(x)
    assert a.requires_grad and not b.requires_grad and b.grad_fn is None
    a.sum().backward()
    assert got == [([1.0, 1.0], [0.0, 0.0])]  # the missing gradient is materialized as zeros
    assert x.grad.tolist() == [2.0, 2.0]

    class Lazy(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            got.append(gb)
            return ga * 2 if gb is None else ga * 2 + gb * 3

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    a, b = Lazy.apply(x)
    a.sum().backward()
    assert got[-1] is None and x.grad.tolist() == [2.0, 2.0]


def test_integer_outputs_are_not_differentiable():
    class ArgSort(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = torch.tensor(np.argsort(x.detach().numpy()))
            ctx.mark_non_differentiable(idx)
            return x * 1, idx

        @staticmethod
        def backward(ctx, g, gi):
            return g

    x = torch.tensor([2.0, 1.0], requires_grad=True)
    y, idx = ArgSort.apply(x)
    assert not idx.requires_grad and y.requires_grad and idx.tolist() == [1, 0]


def test_once_differentiable():
    from retrograd.autograd.function import once_differentiable

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [2.0, 4.0] and not g.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        g.sum().backward()


def test_returning_an_input_unchanged_makes_a_new_node():
    class Identity(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and y.grad_fn.name() == "IdentityBackward"
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_wrong_backward_results_are_reported():
    class TooFew(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
        TooFew.apply(x, x).sum().backward()

    class BadShape(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[:1].reshape(1, 1, 1)

    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        BadShape.apply(x).sum().backward()


def test_no_input_requires_grad_records_nothing():
    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g

    y = F.apply(torch.tensor([1.0, 2.0]))
    assert not y.requires_grad and y.grad_fn is None
    x = torch.tensor([1.0], requires_grad=True)
    with torch.no_grad():
        assert F.apply(x).grad_fn is None


def test_non_tensor_save_is_rejected():
    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(3)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="save_for_backward can only save tensors"):
        F.apply(torch.tensor([1.0], requires_grad=True))


def test_the_builtin_ops_are_functions():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    node = (x * 2).grad_fn
    assert isinstance(node, torch.autograd.Function)
    assert node.name() == "MulBackward0" and node.next_functions[0][0].name() == "torch::autograd::AccumulateGrad"


@requires_torch
def test_custom_function_multiple_outputs_matches_torch():
    def run(M):
        class SinCos(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.exp(), x * x

            @staticmethod
            def backward(ctx, ga, gb):
                (x,) = ctx.saved_tensors
                return ga * x.exp() + gb * 2 * x

        x = M.tensor([0.5, -1.0], requires_grad=True, dtype=M.float64)
        a, b = SinCos.apply(x)
        (a * 3 + b * b).sum().backward()
        return x.grad.tolist()

    np.testing.assert_allclose(run(torch), run(real_torch), rtol=1e-12)


def test_array_forward_ops_keep_grad_mode_and_subclasses_that_define_forward_do_not(monkeypatch):
    """An op flagged _array_forward (Mul) runs its forward without apply switching grad mode
    off; a subclass defining its own forward is not flagged, so that forward runs with grad
    mode off as every Function's does (ops it applies are not recorded)."""
    from retrograd.ops.elementwise import Mul

    class MyMul(Mul):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(torch.is_grad_enabled())
            assert (a * b).grad_fn is None  # an op inside forward: not recorded
            return Mul.forward(ctx, a, b)

    seen = []
    plain = Mul._forward_ctx
    monkeypatch.setattr(Mul, "_forward_ctx", staticmethod(lambda ctx, *a: (seen.append(torch.is_grad_enabled()),
                                                                             plain(ctx, *a))[1]))
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0, 4.0], requires_grad=True)
    y = Mul.apply(a, b)
    assert seen == [True] and type(y.grad_fn) is Mul and torch.is_grad_enabled()
    assert not MyMul._array_forward and Mul._array_forward
    seen.clear()
    z = MyMul.apply(a, b)
    assert seen == [False, False] and type(z.grad_fn) is MyMul  # (and MyMul's a * b ran Mul's, unrecorded)
    z.sum().backward()
    assert a.grad.tolist() == [3.0, 4.0]


def test_backward_returning_a_non_tensor_raises_runtime_error_as_torch():
    class ReturnsFloat(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return 1.0

    x = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="ReturnsFloatBackward returned a float as gradient 0"):
        ReturnsFloat.apply(x).sum().backward()


def test_a_function_may_define_vjp_instead_of_backward_as_torch():
    class Seven(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def vjp(ctx, g):
            return g * 7

    x = torch.ones(2, requires_grad=True)
    Seven.apply(x).sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]

    class Both(Seven):
        @staticmethod
        def vjp(ctx, g):
            return g * 7

        @staticmethod
        def backward(ctx, g):
            return g * 5

    out = Both.apply(x)  # torch refuses at backward, not before
    with pytest.raises(RuntimeError, match="Implementing both 'backward' and 'vjp' for a custom Function is not "
                                           "allowed"):
        out.sum().backward()


def test_a_function_subclass_own_new_is_not_called_for_its_ctx_as_torch():
    """apply makes the ctx with object.__new__ (torch makes it as an instance of the generated
    backward class, so a subclass's __new__ never runs there either)."""
    calls = []

    class Twice(torch.autograd.Function):
        def __new__(cls, *args, **kwargs):
            calls.append(1)
            return super().__new__(cls)

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = torch.ones(2, requires_grad=True)
    Twice.apply(x).sum().backward()
    assert calls == [] and x.grad.tolist() == [2.0, 2.0]


def test_mark_dirty_checks_its_tensors_as_torch():
    class DirtyNotInput(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            b = a * 2
            ctx.mark_dirty(b)
            return b

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class DirtyNotReturned(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.mul_(2)
            ctx.mark_dirty(a)
            return a * 1

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.warns(UserWarning, match=r"ctx.mark_dirty\(\) received a tensor that was not an input"):
        DirtyNotInput.apply(torch.ones(2, requires_grad=True))
    for x in (torch.ones(2, requires_grad=True) * 1, torch.ones(2)):
        with pytest.raises(RuntimeError, match="Some elements marked as dirty during the forward method were not "
                                               "returned as output"):
            DirtyNotReturned.apply(x)


def test_forward_returning_a_list_gives_the_list_as_torch():
    class ReturnsList(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return [a * 2, a * 3]

        @staticmethod
        def backward(ctx, g):
            return g

    out = ReturnsList.apply(torch.ones(2, requires_grad=True))
    assert type(out) is list and [o.tolist() for o in out] == [[2.0, 2.0], [3.0, 3.0]]  # (was made one tensor)


def test_a_non_tensor_output_gets_none_as_its_gradient_as_torch():
    """forward returning (tensor, 5): backward gets (g, None); materialized zeros only stand in for tensor outputs."""
    seen = []

    class Pair(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, 5

        @staticmethod
        def backward(ctx, g, g_count):
            seen.append(g_count)
            return g * 2

    x = torch.ones(3, requires_grad=True)
    y, count = Pair.apply(x)
    assert count == 5 and type(count) is int
    y.sum().backward()
    assert seen == [None]
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


# the same program on retrograd and on torch (skipped where torch is not installed): torch's
# behaviour is the expectation, and the retrograd run checks the recorded messages on a bare install
_BOTH = [pytest.param(torch, id="retrograd"), pytest.param(real_torch, id="torch", marks=requires_torch)]


@pytest.mark.parametrize("lib", _BOTH)
def test_a_gradient_for_an_input_that_is_not_a_tensor_raises_as_torch(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k, note):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, ctx.grad_for_k, None

    x = lib.ones(3, requires_grad=True)
    for grad_for_k in (3.0, lib.ones(1)):
        def run():
            out = Scale.apply(x, 2.0, None)
            out.grad_fn.grad_for_k = grad_for_k
            return out

        error = ("ScaleBackward returned a gradient different than None at position 2, but the corresponding "
                 "forward input was not a Variable")
        with pytest.raises(RuntimeError, match=error):
            run().sum().backward()
        with pytest.raises(RuntimeError, match=error):
            lib.autograd.grad(run().sum(), x)
        out = run()
        out.grad_fn.register_hook(lambda grad_inputs, grad_outputs: None)  # (the engine's hooked path)
        with pytest.raises(RuntimeError, match=error):
            out.sum().backward()
    out = Scale.apply(x, 2.0, None)
    out.grad_fn.grad_for_k = None
    out.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("lib", _BOTH)
def test_saved_tensors_is_empty_until_the_op_is_recorded_and_raises_once_freed_as_torch(lib):
    seen, ctxs = [], []

    class Save(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(ctx.saved_tensors)
            ctx.save_for_backward(x)
            seen.append(ctx.saved_tensors)  # (torch: still empty inside forward)
            ctxs.append(ctx)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x

    class Setup(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            seen.append(ctx.saved_tensors)

        @staticmethod
        def backward(ctx, g):
            return g

    x = lib.full((2,), 3.0, requires_grad=True)
    y = Save.apply(x)
    Setup.apply(x)
    assert seen == [(), (), ()]
    assert [t.tolist() for t in y.grad_fn.saved_tensors] == [[3.0, 3.0]]
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match=r"Trying to backward through the graph a second time \(or directly "
                                           "access saved tensors after they have already been freed\\)"):
        y.grad_fn.saved_tensors
    Save.apply(lib.ones(2))  # no input needs a gradient: not recorded, nothing kept
    assert ctxs[-1].saved_tensors == ()
    y = Save.apply(x)
    with pytest.warns(DeprecationWarning, match="'saved_variables' is deprecated; use 'saved_tensors'"):
        assert [t.tolist() for t in y.grad_fn.saved_variables] == [[3.0, 3.0]]


def _view_functions(lib):
    def function(name, forward):
        return type(name, (lib.autograd.Function,), {
            "forward": staticmethod(forward),
            "backward": staticmethod(lambda ctx, *grads: grads[0].reshape(2, 2) if grads[0].dim() == 1 else grads[0])})

    return {"Flatten": function("Flatten", lambda ctx, x: x.view(-1)),
            "Same": function("Same", lambda ctx, x: x),  # an input returned as-is is a view of it
            "Both": function("Both", lambda ctx, x: (x.view(-1), x.view(4)))}


_CUSTOM_VIEW = re.escape("is a view and is being modified inplace. This view was created inside a custom Function (or "
                         "because an input was returned as-is) and the autograd logic to handle view+inplace would "
                         "override the custom backward associated with the custom Function")
_CUSTOM_VIEW_BASE = "is a view and its base or another view of its base has been modified inplace. This view was"


@pytest.mark.parametrize("lib", _BOTH)
def test_a_view_returned_by_a_custom_function_may_not_be_modified_in_place_as_torch(lib):
    fns = _view_functions(lib)
    x = lib.ones(2, 2, requires_grad=True)
    for name in ("Flatten", "Same"):
        with pytest.raises(RuntimeError, match=f"Output 0 of {name} {_CUSTOM_VIEW}"):
            fns[name].apply(x * 1).add_(1)
        with pytest.raises(RuntimeError, match=f"Output 0 of {name} {_CUSTOM_VIEW}"):
            fns[name].apply(x).mul_(2)  # (of a leaf: this error, not the leaf's)
        with pytest.raises(RuntimeError, match=f"Output 0 of View {_CUSTOM_VIEW}"):
            fns[name].apply(x * 1).view(-1).mul_(2)  # a view of it inherits the rule
        with pytest.raises(RuntimeError, match=f"Output 0 of {name} {_CUSTOM_VIEW}"):
            fns[name].apply(x * 1).unsqueeze_(0)
    with pytest.raises(RuntimeError, match="Output 1 of Both is a view and is being modified inplace. This view is "
                                           "the output of a function that returns multiple views"):
        fns["Both"].apply(x * 1)[1].add_(1)
    base = x * 1
    out = fns["Flatten"].apply(base)
    base.add_(1)  # allowed; using the view afterwards is not
    with pytest.raises(RuntimeError, match=f"Output 0 of Flatten {_CUSTOM_VIEW_BASE}"):
        out * 2
    out = fns["Flatten"].apply(x * 1)
    with lib.no_grad():
        out.add_(1)  # allowed under no_grad, then the view can no longer be used
    with pytest.raises(RuntimeError, match=f"Output 0 of Flatten {_CUSTOM_VIEW_BASE}"):
        out * 2

    class Mask(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.view(-1)
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, g):
            return None

    with pytest.raises(RuntimeError, match=re.escape("A view was created in no_grad mode and is being modified inplace "
                                                     "with grad mode enabled. This view was created inside a custom")):
        Mask.apply(x * 1).add_(1)  # (not tracked: the output needs no gradient)
    # what stays allowed: a clone, an op that was not recorded, an ordinary view
    out = fns["Flatten"].apply(x * 1).clone()
    out.add_(1)
    (out * out).sum().backward()
    assert x.grad.tolist() == [[4.0, 4.0], [4.0, 4.0]]
    plain = fns["Flatten"].apply(lib.ones(2, 2))
    plain.add_(1)
    assert plain.tolist() == [2.0, 2.0, 2.0, 2.0]


def _non_differentiable_view(lib):
    class Mask(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x[0]
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, g):
            return None

    return Mask


_NON_DIFF_VIEW_BASE = re.escape("A view was created in no_grad mode and its base or another view of its base has been "
                                "modified inplace with grad mode enabled. This view was created inside a custom Function")


@pytest.mark.parametrize("lib", _BOTH)
@pytest.mark.parametrize("base_is_leaf", [True, False])
def test_a_non_differentiable_view_from_a_custom_function_requires_grad_as_torchs(lib, base_is_leaf):
    """torch: a view output marked non-differentiable is a view made in no_grad mode: it requires grad
    when its base does (retrograd said False), is a leaf without grad_fn, ops on it are recorded and its
    gradient goes nowhere; after its base changes in place, requires_grad is still True, repr shows
    grad_fn=<Invalid> (retrograd raised) and using it raises the custom Function's error."""
    x = lib.ones(2, 2, requires_grad=True)
    base = x if base_is_leaf else x * 1
    v = _non_differentiable_view(lib).apply(base)
    assert v.requires_grad and v.grad_fn is None and v.is_leaf and v._base is base
    assert repr(v) == "tensor([1., 1.], requires_grad=True)"
    y = v * 2
    assert y.requires_grad and y.grad_fn is not None
    y.sum().backward()  # the gradient goes nowhere
    assert v.grad is None and x.grad is None
    assert _non_differentiable_view(lib).apply(lib.ones(2, 2)).requires_grad is False  # (an op not recorded)
    with pytest.raises(RuntimeError, match=re.escape("A view was created in no_grad mode and is being modified inplace "
                                                     "with grad mode enabled. This view was created inside a custom")):
        v.mul_(2)
    if base_is_leaf:
        return
    base.mul_(2)
    assert v.requires_grad
    assert repr(v) == "tensor([2., 2.], grad_fn=<Invalid>)"
    with pytest.raises(RuntimeError, match=_NON_DIFF_VIEW_BASE):
        v.is_leaf
    with pytest.raises(RuntimeError, match=_NON_DIFF_VIEW_BASE):
        v * 2


@pytest.mark.parametrize("lib", _BOTH)
def test_the_repr_of_a_view_unusable_after_its_base_changed_shows_an_invalid_grad_fn(lib):
    """torch prints grad_fn=<Invalid> for a view autograd refuses to use after its base was modified in
    place: a custom Function's output view, a view made under no_grad (retrograd printed the old node
    and requires_grad=True)."""
    x = lib.ones(2, 2, requires_grad=True)
    base = x * 1
    out = _view_functions(lib)["Flatten"].apply(base)
    base.add_(1)
    assert repr(out) == "tensor([2., 2., 2., 2.], grad_fn=<Invalid>)"
    with pytest.raises(RuntimeError, match=f"Output 0 of Flatten {_CUSTOM_VIEW_BASE}"):
        out.is_leaf
    base = x * 1
    with lib.no_grad():
        w = base[0]
    base.mul_(2)
    assert repr(w) == "tensor([2., 2.], grad_fn=<Invalid>)"
    assert w.requires_grad
