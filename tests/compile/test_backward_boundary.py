"""A captured backward() that reaches tensors made outside the compiled graph (capture.py's
_record_backward, codegen.py's run_outside, replay.py's outside_overlap): the generated backward
gives the boundary tensors their gradients and the engine goes on from them, as eager's one
engine run; a leaf reached on both sides breaks the graph (guarded at each call)."""

import contextlib

import numpy as np
import pytest

import retrograd
from retrograd._compile.replay import CompiledFunction
from retrograd.tensor import Tensor
from tests.compile.compare import fresh_compiler  # noqa: F401
from tests.compile.test_resume import _quiet, count_ops
from tests.helpers import rand

nn = retrograd.nn


@contextlib.contextmanager
def count_backward_calls():
    """Counts Tensor.backward calls: an eager backward() statement makes one; a replayed graph runs the
    engine from its generated code and makes none."""
    calls = []
    original = Tensor.backward

    def backward(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    Tensor.backward = backward
    try:
        yield calls
    finally:
        Tensor.backward = original


def _leaf(seed, shape, scale=1.0):
    return retrograd.tensor((rand(*shape, seed=seed) * scale).astype(np.float32), requires_grad=True)


# ---------------------------------------------------------------------- a loss logged before backward()
def _logging_training(compiled, optimizer):
    """20 steps of a training step that prints the loss between forward and backward(): the printed
    lines, the parameters, their gradients, and (compiled) the op and backward() counts of the last call."""
    retrograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    if optimizer == "adam":
        opt = retrograd.optim.Adam(model.parameters(), lr=1e-2)
    else:
        opt = retrograd.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = crit(model(x), y)
        print(f"loss {loss.item():.9g}")  # graph break: the first segment ends with loss
        loss.backward()  # the second segment: loss.grad_fn is the first segment's node
        opt.step()
        return loss

    run = retrograd.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    texts, counts = [], None
    for i in range(20):
        x = retrograd.tensor(rng.standard_normal((8, 6)).astype(np.float32))
        y = retrograd.tensor(rng.integers(0, 3, 8))
        if i == 19 and compiled:
            with count_ops() as ops, count_backward_calls() as backwards:
                _, text = _quiet(run, x, y)
            counts = ops, len(backwards)
        else:
            _, text = _quiet(run, x, y)
        texts.append(text)
    params = [p.detach().numpy().copy() for p in model.parameters()]
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    return texts, params, grads, counts


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_loss_logged_before_backward_replays_both_segments(optimizer):
    texts, params, grads, _ = _logging_training(False, optimizer)
    c_texts, c_params, c_grads, (ops, backwards) = _logging_training(True, optimizer)
    assert c_texts == texts  # the 20 losses, bitwise (9 significant digits of float32)
    for a, b in zip(params + grads, c_params + c_grads):
        np.testing.assert_array_equal(a, b)
    # the last call: the first segment is one CompiledFunction; the second runs its generated code, which
    # hands the loss's gradient to the engine (no backward() statement ran eagerly) and steps Adam/SGD
    assert ops == {"CompiledFunction": 1}
    assert backwards == 0


# ---------------------------------------------------------------------- an input with a graph
def _make_head():
    retrograd.manual_seed(3)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 1))


def _head_loss(head):
    def loss_of(h):
        loss = head(h).pow(2).mean()
        loss.backward()
        return loss

    return loss_of


def _stem(x, w):
    return (x @ w).sigmoid() * 2.0


@pytest.mark.parametrize("source", ["eager", "compiled"])
def test_an_input_made_by_eager_ops_or_another_compiled_graph(source):
    head, c_head = _make_head(), _make_head()
    w, c_w = _leaf(1, (4, 5)), _leaf(1, (4, 5))
    eager_fn, compiled_fn = _head_loss(head), retrograd.compile(_head_loss(c_head))
    stem = retrograd.compile(_stem) if source == "compiled" else _stem
    for call in range(4):
        x = retrograd.tensor(rand(3, 4, seed=10 + call).astype(np.float32))
        ref = eager_fn(_stem(x, w))
        h = stem(x, c_w)
        if call:
            assert isinstance(h.grad_fn, CompiledFunction) == (source == "compiled")
            with count_ops() as ops, count_backward_calls() as backwards:
                out = compiled_fn(h)
            assert ops == {} and backwards == []  # replayed: one generated run, the engine for h's graph
        else:
            out = compiled_fn(h)
        assert out.item() == ref.item()
        np.testing.assert_array_equal(w.grad.numpy(), c_w.grad.numpy())  # through the graph outside
        for p, q in zip(head.parameters(), c_head.parameters()):
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())  # written by the generated code


def _two_inputs(head):
    def loss_of(h, k):  # each input read by several ops: its gradient is a sum, in eager's order
        a = head(h)
        loss = (a * h).sum() + (h * h).mean() + (k * a).sum() + (k.exp() * h).sum()
        loss.backward()
        return loss

    return loss_of


def _pair(x, w):
    y = x @ w
    return y.tanh(), y.sigmoid() * 3.0


def test_two_inputs_outputs_of_one_compiled_node_or_of_separate_eager_graphs():
    head, c_head = _make_head(), _make_head()
    w, c_w = _leaf(1, (4, 5)), _leaf(1, (4, 5))
    v, c_v = _leaf(7, (4, 5)), _leaf(7, (4, 5))
    pair = retrograd.compile(_pair)
    compiled_fn = retrograd.compile(_two_inputs(c_head))
    for call in range(6):
        x = retrograd.tensor(rand(3, 4, seed=call).astype(np.float32))
        if call < 3:  # both outputs of one CompiledFunction node
            h, k = _pair(x, w)
            c_h, c_k = pair(x, c_w)
            # (the first call captures pair: its outputs' eager graphs meet at x @ w; recorded, and guarded)
            assert call == 0 or isinstance(c_h.grad_fn, CompiledFunction) and c_h.grad_fn is c_k.grad_fn
        else:  # two eager graphs that do not meet
            h, k = (x @ w).tanh(), (x @ v).sigmoid()
            c_h, c_k = (x @ c_w).tanh(), (x @ c_v).sigmoid()
        ref = _two_inputs(head)(h, k)
        with count_backward_calls() as backwards:
            out = compiled_fn(c_h, c_k)
        assert backwards == ([1] if call == 0 else [])
        assert out.item() == ref.item()
        for a, b in zip([w, v, *head.parameters()], [c_w, c_v, *c_head.parameters()]):
            assert (a.grad is None) == (b.grad is None) == (a is v and call < 3)
            if a.grad is not None:
                np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_two_inputs_whose_eager_graphs_meet_break():
    head, c_head = _make_head(), _make_head()
    w, c_w = _leaf(1, (4, 5)), _leaf(1, (4, 5))
    compiled_fn = retrograd.compile(_two_inputs(c_head))
    for call in range(3):
        x = retrograd.tensor(rand(3, 4, seed=call).astype(np.float32))
        ref = _two_inputs(head)(*_pair(x, w))  # h and k both reach y = x @ w's node
        with count_backward_calls() as backwards:
            out = compiled_fn(*_pair(x, c_w))
        assert backwards == [1] and out.item() == ref.item()
        np.testing.assert_array_equal(w.grad.numpy(), c_w.grad.numpy())
    strict = retrograd.compile(_two_inputs(c_head), fullgraph=True)
    strict(*_pair(x, c_w))
    with pytest.raises(retrograd.compiler.Unsupported, match="the graphs of two inputs both reach node MmBackward0"):
        strict(*_pair(x, c_w))


def test_hooks_on_a_tensor_outside_run_once_with_eagers_gradient():
    head, c_head = _make_head(), _make_head()
    compiled_fn = retrograd.compile(_head_loss(c_head))
    x = retrograd.tensor(rand(3, 4, seed=2).astype(np.float32))
    w, c_w = _leaf(1, (4, 5)), _leaf(1, (4, 5))
    for call in range(3):
        seen, c_seen = [], []
        h, c_h = _stem(x, w), _stem(x, c_w)
        h.register_hook(lambda g: seen.append(g.numpy().copy()))
        c_h.register_hook(lambda g: c_seen.append(g.numpy().copy()))
        c_w.register_post_accumulate_grad_hook(lambda t: c_seen.append("w"))  # a hooked leaf outside
        w.register_post_accumulate_grad_hook(lambda t: seen.append("w"))
        _head_loss(head)(h)
        with count_backward_calls() as backwards:
            compiled_fn(c_h)
        assert backwards == ([1] if call == 0 else [])  # (the first call captures, running eagerly)
        assert len(c_seen) == len(seen) == 2 + call  # h's hook once, and each w hook once, per backward
        np.testing.assert_array_equal(seen[0], c_seen[0])
        np.testing.assert_array_equal(w.grad.numpy(), c_w.grad.numpy())


def test_a_hooked_leaf_input_goes_through_the_engine():
    head, c_head = _make_head(), _make_head()
    compiled_fn = retrograd.compile(_head_loss(c_head))
    for call in range(3):
        x, c_x = _leaf(5, (3, 5)), _leaf(5, (3, 5))
        order, c_order = [], []
        x.register_hook(lambda g: order.append("hook"))
        x.register_post_accumulate_grad_hook(lambda t: order.append(("post", t.grad.sum().item())))
        c_x.register_hook(lambda g: c_order.append("hook"))
        c_x.register_post_accumulate_grad_hook(lambda t: c_order.append(("post", t.grad.sum().item())))
        _head_loss(head)(x)
        with count_backward_calls() as backwards:
            compiled_fn(c_x)
        assert c_order == order and backwards == ([1] if call == 0 else [])
        np.testing.assert_array_equal(x.grad.numpy(), c_x.grad.numpy())


# ---------------------------------------------------------------------- a leaf on both sides
def _tied(w):
    def loss_of(h):
        loss = (h @ w).tanh().sum()  # w is also reached through h's graph when h = x @ w
        loss.backward()
        return loss

    return loss_of


def test_a_leaf_reached_inside_and_through_the_graph_outside_breaks_and_is_guarded():
    w, c_w = _leaf(1, (4, 4), 0.5), _leaf(1, (4, 4), 0.5)
    v = _leaf(2, (4, 4), 0.5)
    for t in (w, c_w):  # a gradient already there: a second accumulation would add in another order
        t.grad = retrograd.tensor(rand(4, 4, seed=3).astype(np.float32) * 1e3)
    compiled_fn = retrograd.compile(_tied(c_w))
    x = retrograd.tensor(rand(3, 4, seed=4).astype(np.float32))
    for call, tied in enumerate((False, False, True, True, False)):
        h, c_h = (x @ w, x @ c_w) if tied else (x @ v, x @ v.detach().requires_grad_())
        _tied(w)(h)
        with count_backward_calls() as backwards:
            compiled_fn(c_h)
        # not tied: w's gradient comes from the generated code alone (a replay from the second call on);
        # tied: the guard fails, the capture again breaks there, and the backward() statement runs eagerly
        assert backwards == ([] if call == 1 or call == 4 else [1])
        np.testing.assert_array_equal(w.grad.numpy(), c_w.grad.numpy())
    strict = retrograd.compile(_tied(c_w), fullgraph=True)
    strict(x @ c_w)  # a key's first capture records it (its guard walks the graph outside at each call)
    with pytest.raises(retrograd.compiler.Unsupported,
                       match="reached both by the ops of the compiled graph and through the graph"):
        strict(x @ c_w)  # the guard fails, and the capture again breaks


def test_post_accumulate_hooks_of_a_leaf_fire_once_on_either_side():
    w, c_w = _leaf(1, (4, 4), 0.5), _leaf(1, (4, 4), 0.5)
    v = _leaf(2, (4, 4), 0.5)
    fired, c_fired = [], []
    w.register_post_accumulate_grad_hook(lambda t: fired.append(t.grad.numpy().copy()))
    c_w.register_post_accumulate_grad_hook(lambda t: c_fired.append(t.grad.numpy().copy()))
    compiled_fn = retrograd.compile(_tied(c_w))
    x = retrograd.tensor(rand(3, 4, seed=4).astype(np.float32))
    for call, tied in enumerate((False, False, True, True, False)):
        _tied(w)(x @ w if tied else x @ v)
        with count_backward_calls() as backwards:
            compiled_fn(x @ c_w if tied else x @ v)
        # hooked, w is a boundary tensor: the engine accumulates it (untied: a replay from the second
        # call on); tied, its gradient also comes through h's graph: the guard fails and backward() runs
        # eagerly, so that the engine sums both parts before the one accumulation
        assert backwards == ([] if call in (1, 4) else [1])
        assert len(c_fired) == len(fired) == call + 1
        np.testing.assert_array_equal(fired[-1], c_fired[-1])


# ---------------------------------------------------------------------- retain_graph, guards
def test_a_spent_graph_outside_raises_as_eager():
    head, c_head = _make_head(), _make_head()
    eager_fn, compiled_fn = _head_loss(head), retrograd.compile(_head_loss(c_head))
    w = _leaf(1, (4, 5))
    x = retrograd.tensor(rand(3, 4, seed=2).astype(np.float32))
    compiled_fn(_stem(x, w))  # the capture
    h, c_h = _stem(x, w), _stem(x, w)
    eager_fn(h)
    compiled_fn(c_h)  # a replay: the engine frees c_h's graph, as eager's frees h's
    with pytest.raises(RuntimeError) as eager_error:
        eager_fn(h)
    with count_backward_calls() as backwards, pytest.raises(RuntimeError) as error:
        compiled_fn(c_h)
    assert backwards == [] and str(error.value) == str(eager_error.value)
    assert "backward through the graph a second time" in str(error.value)


def test_an_input_that_no_longer_requires_grad_captures_again():
    head, c_head = _make_head(), _make_head()
    eager_fn, compiled_fn = _head_loss(head), retrograd.compile(_head_loss(c_head))
    w, c_w = _leaf(1, (4, 5)), _leaf(1, (4, 5))
    x = retrograd.tensor(rand(3, 4, seed=2).astype(np.float32))
    for kind in ("graph", "graph", "detached", "detached", "graph", "leaf"):
        h, c_h = _stem(x, w), _stem(x, c_w)
        if kind == "detached":
            h, c_h = h.detach(), c_h.detach()
        elif kind == "leaf":  # requires grad, no graph: the engine accumulates it, as eager's
            h, c_h = h.detach().requires_grad_(), c_h.detach().requires_grad_()
        assert eager_fn(h).item() == compiled_fn(c_h).item()
        np.testing.assert_array_equal(w.grad.numpy(), c_w.grad.numpy())
        if kind == "leaf":
            np.testing.assert_array_equal(h.grad.numpy(), c_h.grad.numpy())
        for p, q in zip(head.parameters(), c_head.parameters()):
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    graphs = [g for gs in compiled_fn._compiled.cache.values() for g in gs]
    assert len(graphs) == 2 and all(g is not None and g.trains for g in graphs)  # one per requires_grad


# ---------------------------------------------------------------------- a graph without backward()
def test_zero_grad_then_forward_keeps_the_outputs_graph():
    retrograd.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = retrograd.optim.SGD(model.parameters(), lr=0.1)

    def forward(x):
        opt.zero_grad()
        return model(x).pow(2).sum()

    compiled = retrograd.compile(forward, fullgraph=True)
    x = retrograd.tensor(rand(3, 4, seed=1).astype(np.float32))
    expected = []
    for _ in range(3):
        loss = forward(x)
        loss.backward()
        expected.append([p.grad.numpy().copy() for p in model.parameters()])
        opt.step()
    retrograd.manual_seed(0)
    model.load_state_dict(nn.Linear(4, 2).state_dict())
    for call in range(3):
        loss = compiled(x)
        if call:
            assert isinstance(loss.grad_fn, CompiledFunction)  # a live node: the calls ran in its forward
        loss.backward()
        for a, p in zip(expected[call], model.parameters()):
            np.testing.assert_array_equal(a, p.grad.numpy())
        opt.step()


def test_an_optimizer_step_between_the_ops_and_their_backward_breaks():
    model = nn.Linear(4, 2)
    opt = retrograd.optim.SGD(model.parameters(), lr=0.1)

    def stepped(x):
        loss = model(x).sum()
        opt.step()
        return loss

    with pytest.raises(retrograd.compiler.Unsupported, match="SGD.step.. between ops and the backward"):
        retrograd.compile(stepped, fullgraph=True)(retrograd.tensor(rand(3, 4, seed=1).astype(np.float32)))
