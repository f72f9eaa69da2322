"""The backward engine: ordering, accumulation, freeing, errors, autograd.grad and backward."""

import gc
import threading
import weakref

import numpy as np
import pytest

import retrograd as T
from tests.helpers import requires_torch, torch


def _leaf(values, dtype=None):
    return T.tensor(values, dtype=dtype, requires_grad=True)


def test_gradients_accumulate_across_backward_calls():
    x = _leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_shared_subexpression_gets_the_sum_of_its_paths():
    x = _leaf([1.0, 2.0])
    h = x * 2
    y = h * h + h.exp() + h
    y.sum().backward()
    hv = np.array([2.0, 4.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * hv + np.exp(hv) + 1), rtol=1e-6)


def test_first_grad_is_a_copy_not_shared():
    x = _leaf([1.0, 2.0])
    y = _leaf([1.0, 2.0])
    (x + y).sum().backward()
    x.grad.add_(1)
    assert y.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("loss", [
    lambda x, y: (x + y).sum(),
    lambda x, y: (x - y).sum(),
    lambda x, y: (x.expand(3, 4) + y).sum(),
    lambda x, y: (x.sum() + y.sum()),
    lambda x, y: (x.clone() + y.clone()).sum(),
    lambda x, y: (x + x + y).sum(),
    lambda x, y: (x * y + y * x).sum(),
    lambda x, y: ((x + y) ** 2).sum(),
], ids=["add", "sub", "expand", "sum", "clone", "add_twice", "mul_twice", "square_of_sum"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_leaves_never_share_a_grad_buffer(loss, create_graph):
    x, y = _leaf([1.0, 2.0, 3.0, 4.0]), _leaf([5.0, 6.0, 7.0, 8.0])
    loss(x, y).backward(create_graph=create_graph)
    assert x.grad is not y.grad
    y_grad = y.grad.tolist()
    with T.no_grad():
        x.grad.mul_(0.5)
    assert y.grad.tolist() == y_grad
    assert not np.shares_memory(x.grad.detach().numpy(), y.grad.detach().numpy())


@pytest.mark.parametrize("loss", [
    lambda x: x.sum(),
    lambda x: x.mean(),
    lambda x: x.expand(2, 3, 4).sum(),
    lambda x: x.t().sum(),
    lambda x: x.reshape(12).sum(),
    lambda x: x[1:].sum(),
], ids=["sum", "mean", "expand", "t", "reshape", "slice"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_broadcast_gradients_become_contiguous_writable_grads(loss, create_graph):
    x = _leaf(np.arange(12.0).reshape(3, 4))
    loss(x).backward(create_graph=create_graph)
    arr = x.grad._data
    assert arr.flags.writeable and arr.flags.c_contiguous and 0 not in arr.strides
    expected = x.grad.tolist()
    with T.no_grad():
        x.grad.add_(1)  # in place, as optimizers and clip_grad_value_ do
    np.testing.assert_array_equal(x.grad.detach().numpy(), np.array(expected) + 1)


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_does_not_alias_a_gradient_the_user_passed_or_a_hook_kept(create_graph):
    x = _leaf([1.0, 2.0])
    g = T.tensor([1.0, 1.0])
    x.backward(g, create_graph=create_graph)
    assert x.grad is not g
    x.grad.mul_(3)
    assert g.tolist() == [1.0, 1.0]
    kept = []
    w = _leaf([1.0, 2.0])
    w.register_hook(lambda grad: kept.append(grad))
    (w * 2).sum().backward(create_graph=create_graph)
    w.grad.mul_(5)
    assert kept[0].tolist() == [2.0, 2.0]


@pytest.mark.parametrize("create_graph", [False, True])
def test_grads_of_views_do_not_alias_the_graphs_tensors(create_graph):
    x = _leaf(np.ones((2, 3)))
    v = x.view(6)  # the view's backward reshapes the root gradient: a view of it
    v.retain_grad()
    g = T.arange(6.0, dtype=T.float64)  # x's dtype: no cast to hide an alias
    v.backward(g, create_graph=create_graph)
    arrays = [x.grad._data, v.grad._data, g._data, x._data]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)
    with T.no_grad():
        x.grad.mul_(2)
        v.grad.add_(1)
    assert g.tolist() == list(range(6)) and x.grad.view(6).tolist() == list(range(0, 12, 2))


def test_a_linear_layers_weight_gradient_is_taken_not_copied():
    # the weight's gradient arrives as t()'s backward of (G^T X)^T: a view of the whole of a
    # product only it holds, which becomes .grad as it is (a copy would double the peak)
    import tracemalloc

    w = _leaf(np.ones((300, 200)))
    loss = T.nn.functional.linear(T.ones(4, 200, dtype=T.float64), w).sum()
    tracemalloc.start()
    try:
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * w._data.nbytes
    assert w.grad.tolist() == np.full((300, 200), 4.0).tolist()
    arr = w.grad._data
    assert arr.flags.writeable and arr.flags.c_contiguous


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_grad_view_is_copied_while_its_base_is_held_elsewhere(create_graph):
    w = _leaf(np.arange(6.0).reshape(2, 3))
    v = w.view(6)
    kept = []
    v.register_hook(kept.append)  # keeps the array whose reshaped view (a whole one) reaches w
    (v * 2).sum().backward(create_graph=create_graph)
    assert not np.shares_memory(w.grad._data, kept[0]._data)
    with T.no_grad():
        w.grad.mul_(5)
    assert kept[0].tolist() == [2.0] * 6


def test_autograd_learns_the_tensor_class_one_way():
    from retrograd.autograd import engine, function

    # function.bind_tensor_class, called once by retrograd.tensor, is the only mechanism
    assert function._Tensor is engine._Tensor is T.Tensor
    assert not hasattr(engine, "_tensor_cls") and not hasattr(function, "_weakref")


def _backward_from_threads(n_threads, passes, leaf):
    def work():
        for _ in range(passes):
            (leaf * 2).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_backward_into_one_leaf_loses_no_update():
    # NumPy releases the GIL while it adds 2M floats, so unlocked `grad += g` from several
    # threads interleaves and loses updates (before the lock: min 186-190 instead of 200, in
    # 10 runs out of 10)
    x = T.zeros(2_000_000, requires_grad=True)
    _backward_from_threads(4, 25, x)
    assert x.grad.min().item() == 200.0 and x.grad.max().item() == 200.0


def test_broadcast_gradients_of_a_node_are_summed_once(monkeypatch):
    # a backward returning broadcast gradients for two inputs: both summed to their shapes by
    # one _validate of the node's gradients (not one per mismatched input)
    from retrograd.autograd import engine

    class Add3(T.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, c):
            return a + b + c

        @staticmethod
        def backward(ctx, g):
            return g, g, None  # (3, 2) each, for a (1, 2) and a (2,) input

    calls = []
    validate = engine._validate
    monkeypatch.setattr(engine, "_validate", lambda node, grads: calls.append(node) or validate(node, grads))
    a = T.ones(1, 2, requires_grad=True)
    b = T.ones(2, requires_grad=True)
    Add3.apply(a, b, T.zeros(3, 2)).sum().backward()
    assert a.grad.tolist() == [[3.0, 3.0]] and b.grad.tolist() == [3.0, 3.0]
    assert len(calls) == 1


def test_retain_graph_allows_a_second_backward():
    x = _leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first.numpy())


def test_second_backward_raises_naming_the_node():
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError) as info:
        y.backward()
    msg = str(info.value)
    assert "Trying to backward through the graph a second time" in msg
    assert "MulBackward0" in msg and "retain_graph=True" in msg


def test_saved_tensors_are_freed_after_backward():
    x = _leaf([1.0, 2.0])
    y = x.exp()
    node = y.grad_fn
    assert len(node.saved_tensors) == 1
    y.sum().backward()
    with pytest.raises(RuntimeError, match="after they have already been freed"):
        _ = node.saved_tensors


def test_backward_of_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does "
                                           "not have a grad_fn"):
        (T.tensor([1.0, 2.0]) * 2).sum().backward()
    x = _leaf([1.0])
    with pytest.raises(RuntimeError, match="element 1 of tensors does not require grad"):
        T.autograd.backward([x.sum(), T.tensor(1.0)])


def test_implicit_gradient_only_for_scalars():
    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(T.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(T.tensor([1.0, 2.0, 3.0]))
    # a one-element non-0-dim output is fine
    y = _leaf([3.0])
    (y * y).backward()
    assert y.grad.tolist() == [6.0]


def test_backward_of_a_leaf_itself():
    x = _leaf([1.0, 2.0])
    x.backward(T.tensor([3.0, 4.0]))
    assert x.grad.tolist() == [3.0, 4.0]


@pytest.mark.parametrize("fn,d1,d2,d3", [
    (lambda x: x ** 3, lambda x: 3 * x ** 2, lambda x: 6 * x, lambda x: 6 + 0 * x),
    (lambda x: x.exp(), np.exp, np.exp, np.exp),
    (lambda x: x * x * x.exp(), lambda x: (2 * x + x * x) * np.exp(x),
     lambda x: (2 + 4 * x + x * x) * np.exp(x), lambda x: (6 + 6 * x + x * x) * np.exp(x)),
    (lambda x: x.log(), lambda x: 1 / x, lambda x: -1 / x ** 2, lambda x: 2 / x ** 3),
    (lambda x: x.tanh(), lambda x: 1 - np.tanh(x) ** 2,
     lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
     lambda x: -2 * (1 - np.tanh(x) ** 2) ** 2 + 4 * np.tanh(x) ** 2 * (1 - np.tanh(x) ** 2)),
])
def test_higher_order_derivatives_with_create_graph(fn, d1, d2, d3):
    x0 = 0.7
    x = _leaf(x0, dtype=T.float64)
    (g1,) = T.autograd.grad(fn(x), x, create_graph=True)
    (g2,) = T.autograd.grad(g1, x, create_graph=True)
    (g3,) = T.autograd.grad(g2, x)
    assert g1.requires_grad and g2.requires_grad and not g3.requires_grad
    np.testing.assert_allclose([g1.item(), g2.item(), g3.item()], [d1(x0), d2(x0), d3(x0)],
                               rtol=1e-10)


def test_backward_create_graph_leaves_a_differentiable_grad():
    x = _leaf([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    x.grad = None
    g.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_grad_returns_without_accumulating():
    x = _leaf([1.0, 2.0])
    (g,) = T.autograd.grad((x * x).sum(), x)
    assert g.tolist() == [2.0, 4.0] and x.grad is None and not g.requires_grad
    a, b = T.autograd.grad([(x * 2).sum(), (x ** 2).sum()], [x, x])
    assert a.tolist() == b.tolist() == [4.0, 6.0]
    (g,) = T.autograd.grad(x * 2, x, grad_outputs=T.tensor([1.0, 10.0]))
    assert g.tolist() == [2.0, 20.0]
    assert isinstance(T.autograd.grad(x.sum(), [x]), tuple)


def test_grad_allow_unused_and_materialize():
    x, z = _leaf(2.0), _leaf(3.0)
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        T.autograd.grad(x * 2, [x, z])
    gx, gz = T.autograd.grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None
    gx, gz = T.autograd.grad(x * 2, [x, z], materialize_grads=True)
    assert gz.item() == 0.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        T.autograd.grad(x * 2, [T.tensor(1.0)])


def test_grad_with_respect_to_an_intermediate():
    x = _leaf([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = T.autograd.grad(y, h)
    assert gh.tolist() == [6.0, 12.0] and x.grad is None
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert h.grad is None


def test_backward_inputs_restricts_accumulation():
    x, z = _leaf(2.0), _leaf(3.0)
    h = x * z
    (h * x).backward(inputs=[z])
    assert x.grad is None and z.grad.item() == 4.0
    x2, z2 = _leaf(2.0), _leaf(3.0)
    h2 = x2 * z2
    (h2 * x2).backward(inputs=[h2, x2])  # a non-leaf input gets .grad too, as in torch
    assert h2.grad.item() == 2.0 and x2.grad.item() == 12.0 and z2.grad is None
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (x * 2).backward(inputs=[])


def test_non_leaf_grad_is_none_unless_retained():
    x = _leaf([1.0, 2.0])
    h = x * 2
    k = x * 3
    k.retain_grad()
    assert k.retains_grad and not h.retains_grad
    (h * k).sum().backward()
    with pytest.warns(UserWarning, match="retain_grad"):
        assert h.grad is None
    assert k.grad.tolist() == [2.0, 4.0]
    x.retain_grad()  # no-op on a leaf
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        T.tensor([1.0]).retain_grad()


def test_retained_grad_accumulates_like_torch():
    x = _leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    y = (h * h).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert h.grad.tolist() == [8.0, 16.0]  # torch accumulates retained grads too
    assert x.grad.tolist() == [16.0, 32.0]


@requires_torch
def test_retained_grad_matches_torch_across_calls():
    out = []
    for M in (T, torch):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        h.retain_grad()
        y = (h * h * x).sum()
        y.backward(retain_graph=True)
        g1 = h.grad.tolist()
        h.grad = None
        y.backward()
        out.append((g1, h.grad.tolist(), x.grad.tolist()))
    assert out[0] == out[1]


def test_deep_graph_has_no_recursion_limit():
    x = _leaf([1.0, 2.0], dtype=T.float64)
    h = x
    for _ in range(10000):
        h = h * 1.0001 + 0.0
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 10000] * 2, rtol=1e-9)


def test_dropped_loss_frees_its_graph_without_gc():
    gc.disable()
    try:
        x = _leaf([1.0, 2.0])
        loss = ((x * 2).exp() * x).sum()
        refs, stack = [], [loss.grad_fn]
        while stack:
            node = stack.pop()
            refs.append(weakref.ref(node))
            stack.extend(f for f, _ in node.next_functions if f is not None)
        del stack, node
        assert len(refs) >= 5 and all(r() is not None for r in refs)
        del loss
        assert all(r() is None for r in refs)
        # and after a backward, the intermediate results are released as well
        y = x * 2
        loss = (y.exp() * x).sum()
        ref = weakref.ref(loss.grad_fn)
        loss.backward()
        del loss
        assert ref() is None
    finally:
        gc.enable()


def test_graph_structure():
    x = _leaf([1.0, 2.0])
    y = x * 2 + x
    fns = y.grad_fn.next_functions
    assert fns[0][0].name() == "MulBackward0" and fns[1][0].name() == "torch::autograd::AccumulateGrad"
    assert fns[1][0].variable is x
    # one AccumulateGrad per leaf while a graph uses it
    assert fns[0][0].next_functions[0][0] is fns[1][0]
    assert repr(y.grad_fn).startswith("<AddBackward0 object at 0x")


def test_unused_output_branches_do_not_break_backward():
    x = _leaf([1.0, 2.0])
    a = x * 2
    _ = a.exp()  # a branch that the loss does not use
    (a * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_integer_outputs_are_not_differentiable():
    x = _leaf([1.0, 2.0])
    assert not (x > 1).requires_grad and not x.long().requires_grad
    assert x.long().grad_fn is None


def test_backward_in_no_grad_still_computes_grads():
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    with T.no_grad():
        y.backward()
    assert x.grad.tolist() == [2.0, 4.0]


@requires_torch
def test_hessian_vector_product_matches_torch():
    rng = np.random.default_rng(0)
    xv, wv, v = rng.standard_normal(4), rng.standard_normal((4, 4)), rng.standard_normal(4)
    out = []
    for M in (T, torch):
        x = M.tensor(xv, requires_grad=True)
        w = M.tensor(wv, requires_grad=True)
        y = ((w @ x).tanh() * x).sum() + (x.sigmoid() ** 2).mean()
        (g,) = M.autograd.grad(y, x, create_graph=True)
        (hv, hw) = M.autograd.grad((g * M.tensor(v)).sum(), [x, w])
        out.append((hv.detach().numpy(), hw.detach().numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-10, atol=1e-12)


def test_detect_anomaly_reports_nan_and_the_forward_line():
    x = _leaf([1.0, -1.0])
    with T.autograd.detect_anomaly():
        y = x.sqrt()
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values"):
            y.sum().backward()

    class Boom(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    with T.autograd.detect_anomaly():
        z = Boom.apply(x)
        with pytest.raises(ValueError) as info:
            z.sum().backward()
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "BoomBackward" in notes and "test_engine.py" in notes
    assert not T.autograd.anomaly.is_anomaly_enabled()


# Random graphs of the core ops over three leaves: first-order gradients (backward twice,
# with retain_graph) and second-order ones (grad of |grad|^2) must equal torch's.
_UNARY = ["t.exp()", "t.tanh()", "t.sigmoid()", "(t * t)", "t.relu()", "-t", "t * 0.5", "t.abs()",
          "(t + 1.5).log()", "(t * t + 1).sqrt()", "t ** 3", "2 ** t", "t.t()",
          "t.reshape(-1).reshape(3, 3)", "t[1:].sum(0, keepdim=True).expand(3, 3)",
          "t.mean(1, keepdim=True) * t", "t.transpose(0, 1)"]
_BINARY = ["a + b", "a * b", "a - b", "a / (b * b + 1)", "a @ b", "a ** 2 * b", "(a * b).sum(0) + a"]


def _random_graph(seed):
    import random

    r = random.Random(seed)
    steps, n = [], 3
    for _ in range(r.randint(3, 8)):
        if r.random() < 0.5:
            steps.append(("u", r.randrange(n), r.choice(_UNARY)))
        else:
            steps.append(("b", r.randrange(n), r.randrange(n), r.choice(_BINARY)))
        n += 1
    return steps


def _run_graph(M, steps, seed, second_order):
    g = np.random.default_rng(seed)
    leaves = [M.tensor(g.uniform(-1, 1, (3, 3)), requires_grad=True) for _ in range(3)]
    vals = list(leaves)
    for s in steps:
        if s[0] == "u":
            vals.append(eval(s[2], {"t": vals[s[1]]}))
        else:
            vals.append(eval(s[3], {"a": vals[s[1]], "b": vals[s[2]]}))
    loss = sum((v * (i + 1) * 0.1).sum() for i, v in enumerate(vals[3:]))
    if second_order:
        gs = M.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        penalty = sum((x * x).sum() for x in gs if x is not None)
        out = M.autograd.grad(penalty, leaves, allow_unused=True) if penalty.requires_grad else gs
    else:
        loss.backward(retain_graph=True)
        loss.backward()
        out = [leaf.grad for leaf in leaves]
    return [np.zeros((3, 3)) if o is None else np.array((o.detach() + 0).tolist()) for o in out]


@requires_torch
@pytest.mark.parametrize("chunk", range(4))
def test_random_graphs_match_torch_to_second_order(chunk):
    for seed in range(chunk * 25, chunk * 25 + 25):
        steps = _random_graph(seed)
        for second_order in (False, True):
            ours = _run_graph(T, steps, seed, second_order)
            theirs = _run_graph(torch, steps, seed, second_order)
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=str((seed, steps)))


def test_gradients_given_as_numbers_raise_type_error_as_torch():
    x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for call in (lambda: T.autograd.grad((x * 2).sum(), x, grad_outputs=2.0),
                 lambda: T.autograd.grad((x * 2).sum(), x, grad_outputs=[2.0]),
                 lambda: (x * 2).sum().backward(2.0),
                 lambda: (x * 2).backward([1.0, 1.0, 1.0])):
        with pytest.raises(TypeError, match="gradients can be either Tensors or None, but got float"):
            call()
    assert x.grad is None
    with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
        T.autograd.grad([x * 2, x * 3], x, grad_outputs=[T.ones(3)])


def test_materialize_grads_with_allow_unused_false_raises_value_error_as_torch():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="Expected allow_unused to be True or not passed when materialize_grads=True"):
        T.autograd.grad((x * 2).sum(), x, allow_unused=False, materialize_grads=True)


def test_backward_with_create_graph_warns_once_about_the_reference_cycle_as_torch(monkeypatch):
    monkeypatch.setattr("retrograd._warn_once._seen", set())
    x = T.ones(2, requires_grad=True)
    T.autograd.grad((x * x).sum(), x, create_graph=True)  # autograd.grad: no warning
    with pytest.warns(UserWarning, match="create_graph=True will create a reference cycle"):
        (x * x).sum().backward(create_graph=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x * x).sum().backward(create_graph=True)  # once per process, as torch's


def test_grad_with_no_inputs_raises_as_torch():
    x = T.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty."):
        T.autograd.grad((x * 2).sum(), [])


def test_a_gradient_that_requires_grad_is_accumulated_into_in_place_as_torch():
    """torch's AccumulateGrad adds into an existing .grad in place when grad mode is off (no
    create_graph), even one that requires grad: the same object, still requiring grad. retrograd
    replaced it with a new tensor that did not."""
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x.grad = lib.zeros(3).requires_grad_()
        g = x.grad
        (x * 2).sum().backward()
        return x.grad is g, x.grad.requires_grad, x.grad.grad_fn is None, x.grad.tolist()

    assert run(T) == (True, True, True, [2.0, 2.0, 2.0])
    if torch is not None:
        assert run(torch) == (True, True, True, [2.0, 2.0, 2.0])


def test_backward_from_a_view_made_under_no_grad_raises_as_torch():
    """Such a view requires grad (as its base) but has no graph: backward from it is torch's
    RuntimeError (retrograd hit an AttributeError on the missing node)."""
    for lib in (T, torch) if torch is not None else (T,):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with lib.no_grad():
            v = x[:2]
        assert v.requires_grad
        with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad and does not have a"):
            v.backward(lib.ones(2))
