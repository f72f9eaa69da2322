"""Tensor hooks (register_hook, retain_grad) and node hooks, with torch's semantics."""

import pytest

import retrograd as T
from tests.helpers import requires_torch, torch


def test_hook_sees_and_may_replace_the_gradient():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    assert seen == [[6.0, 12.0]]
    assert x.grad.tolist() == [180.0, 360.0]


def test_handle_remove():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    handle = h.register_hook(lambda g: g * 10)
    y = h.sum()
    y.backward(retain_graph=True)
    assert x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    handle.remove()  # removing twice is harmless
    x.grad = None
    y.backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with h.register_hook(lambda g: g * 0):  # handles are context managers too
        pass


def test_leaf_hook_runs_before_accumulation():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(g.clone()))
    x.register_hook(lambda g: g * 0 + 7)
    (x * 2).sum().backward()
    assert calls[0].tolist() == [2.0, 2.0]
    assert x.grad.tolist() == [7.0, 7.0]


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require"):
        T.tensor([1.0]).register_hook(lambda g: g)


def test_hooks_and_retain_grad_order():
    # torch: retain_grad stores the gradient after all tensor hooks, whatever the order
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    h.register_hook(lambda g: g * 10)
    h.sum().backward()
    assert h.grad.tolist() == [10.0, 10.0] and x.grad.tolist() == [30.0, 30.0]
    x2 = T.tensor([1.0, 2.0], requires_grad=True)
    h2 = x2 * 3
    h2.register_hook(lambda g: g * 10)
    h2.retain_grad()
    h2.sum().backward()
    assert h2.grad.tolist() == [10.0, 10.0]


@requires_torch
@pytest.mark.parametrize("order", ["retain_first", "hook_first"])
def test_retain_grad_and_hooks_match_torch(order):
    out = []
    for M in (T, torch):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        h = x * 3
        if order == "retain_first":
            h.retain_grad()
            h.register_hook(lambda g: g * 10)
        else:
            h.register_hook(lambda g: g * 10)
            h.retain_grad()
        y = (h * h).sum()
        y.backward(retain_graph=True)
        y.backward()
        out.append((h.grad.tolist(), x.grad.tolist()))
    assert out[0] == out[1]


def test_hook_on_intermediate_with_several_consumers_sees_the_sum():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    (h * 2 + h * 3).sum().backward()
    assert seen == [[5.0, 5.0]]


def test_hook_with_autograd_grad():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g * 100)
    (g,) = T.autograd.grad(h.sum(), x)
    assert g.tolist() == [200.0, 200.0]


def test_node_hooks():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    seen = []
    h1 = y.grad_fn.register_prehook(lambda grad_outputs: seen.append(("pre", grad_outputs[0].tolist())))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append(("post", grad_inputs[0].tolist())))
    y.sum().backward(retain_graph=True)
    assert seen == [("pre", [1.0, 1.0]), ("post", [2.0, 2.0])]
    h1.remove()
    y.sum().backward()
    assert seen[-1] == ("post", [2.0, 2.0]) and len(seen) == 3


def test_accumulate_grad_node_hooks_run_after_accumulation():
    # torch: a leaf's AccumulateGrad runs its hooks once .grad is set, with grad_inputs () and the
    # gradient as grad_outputs; autograd.grad does not run the node, backward(inputs=...) does
    x = T.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def hook(grad_inputs, grad_outputs):
        seen.append((grad_inputs, grad_outputs[0].tolist(), x.grad.tolist()))

    h = x * 2  # (h's graph keeps the node, which x holds weakly)
    h.grad_fn.next_functions[0][0].register_hook(hook)
    h.sum().backward()
    assert seen == [((), [2.0, 2.0], [2.0, 2.0])]
    T.autograd.grad((x * 3).sum(), x)
    assert len(seen) == 1
    (x * 3).sum().backward(inputs=[x])
    assert seen[-1] == ((), [3.0, 3.0], [5.0, 5.0])

    def returns_one(grad_inputs, grad_outputs):
        return (T.zeros(2),)

    y = T.tensor([1.0, 2.0], requires_grad=True)
    h = y * 2
    h.grad_fn.next_functions[0][0].register_hook(returns_one)
    with pytest.raises(RuntimeError, match=r"hook 'returns_one' has returned an incorrect number of "
                                           r"values \(got 1, but expected 0\)"):
        h.sum().backward()


def test_hooks_survive_in_place_on_the_hooked_tensor():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.mul_(2)  # the hook belongs to the old version of h, as in torch
    (h * 1).sum().backward()
    assert seen == [[2.0, 2.0]]


def test_post_accumulate_grad_hook():
    w = T.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * 3).sum().backward()
    (w * 2).sum().backward()
    handle.remove()
    (w * 2).sum().backward()
    assert seen == [[3.0, 3.0], [5.0, 5.0]] and w.grad.tolist() == [7.0, 7.0]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)

    # an optimizer step inside backward, as torch's tutorial does
    p = T.tensor([1.0, 2.0], requires_grad=True)

    def sgd_step(param):
        with T.no_grad():
            param -= 0.1 * param.grad
        param.grad = None

    p.register_post_accumulate_grad_hook(sgd_step)
    (p * p).sum().backward()
    assert p.grad is None and [round(v, 6) for v in p.tolist()] == [0.8, 1.6]


@pytest.mark.parametrize("leaf", [True, False])
def test_a_hook_changing_the_gradients_shape_or_dtype_raises_as_torch(leaf):
    for bad, match in [(lambda g: g[:2], r"hook '<lambda>' has changed the size of value \(was \[3\], got \[2\]\)"),
                       (lambda g: g.double(), r"hook '<lambda>' has changed the type of value \(was torch.float32 "
                                              r"got torch.float64\)")]:
        x = T.ones(3, requires_grad=True)
        t = x if leaf else x * 2
        t.register_hook(bad)
        with pytest.raises(RuntimeError, match=match):
            (t * 3).sum().backward()
        assert x.grad is None
    x = T.ones(3, requires_grad=True)
    x.register_hook(lambda g: [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="must return a Tensor"):
        (x * 3).sum().backward()


def test_a_post_accumulate_grad_hook_returning_a_value_raises_as_torch():
    x = T.ones(3, requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda p: p.grad * 2)
    with pytest.raises(RuntimeError, match="Tensor post accumulate grad hooks should return None."):
        (x * 3).sum().backward()
