"""saved_tensors_hooks(pack, unpack): every tensor saved for backward passes through them
(checkpointing and offloading are built on this)."""

import numpy as np
import pytest

import retrograd as T
from tests.helpers import reference, requires_torch, torch

# expression -> number of tensors saved (the same count torch's pack hook sees)
SAVED = [
    ("x * y", 2), ("x * 2", 0), ("x.exp()", 1), ("x.sigmoid()", 1), ("x.tanh()", 1),
    ("x.log()", 1), ("x.relu()", 1), ("x ** 2", 1), ("x / y", 2), ("x / 2", 0), ("x @ w", 2),
    ("x.sum()", 0), ("x.mean()", 0), ("x.sqrt()", 1), ("x.abs()", 1), ("x + y", 0),
    ("(x * y).exp().sum()", 3), ("x[0]", 0), ("x.reshape(4)", 0), ("x.t()", 0),
    ("x.pow(y)", 3), ("2 ** x", 2), ("x.unsqueeze(0).expand(2, 2, 2)", 0),
]


def _count(M, expr):
    n = {"pack": 0, "unpack": 0}

    def pack(t):
        n["pack"] += 1
        return t

    def unpack(t):
        n["unpack"] += 1
        return t

    x = M.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, dtype=M.float64)
    y = M.tensor([[1.5, 2.0], [3.0, 4.0]], requires_grad=True, dtype=M.float64)
    w = M.tensor([[1.5, 2.0], [3.0, 4.0]], requires_grad=True, dtype=M.float64)
    with M.autograd.graph.saved_tensors_hooks(pack, unpack):
        out = eval(expr, {"x": x, "y": y, "w": w})
    out.sum().backward()
    return n["pack"], n["unpack"], x.grad.tolist()


@pytest.mark.parametrize("expr,count", SAVED)
def test_every_saved_tensor_goes_through_the_hooks(expr, count):
    packed, unpacked, grad = _count(T, expr)
    assert packed == unpacked == count
    tp, tu, tgrad = reference(lambda: _count(torch, expr))
    assert (tp, tu) == (packed, unpacked)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-12)


def test_pack_can_move_data_out_and_unpack_bring_it_back():
    store = {}

    def pack(t):
        key = len(store)
        store[key] = t.detach().numpy().copy()  # e.g. offload to host memory or disk
        return key

    def unpack(key):
        return T.from_numpy(store.pop(key))

    x = T.tensor([1.0, 2.0], requires_grad=True)
    with T.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = (x.exp() * x).sum()
    assert len(store) == 3
    y.backward()
    assert store == {}
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])),
                               rtol=1e-6)


def test_hooks_apply_only_inside_the_context_and_nest():
    calls = []
    with T.autograd.graph.saved_tensors_hooks(lambda t: calls.append("outer") or t, lambda t: t):
        x = T.tensor([1.0], requires_grad=True)
        x.exp()
        with T.autograd.graph.saved_tensors_hooks(lambda t: calls.append("inner") or t, lambda t: t):
            x.exp()
        x.exp()
    x.exp()
    assert calls == ["outer", "inner", "outer"]


def test_unpacked_values_feed_backward():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    with T.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t * 0 + 5):
        y = x * x
    y.sum().backward()
    assert x.grad.tolist() == [10.0, 10.0]  # d(a*b) uses the unpacked 5s


def test_double_backward_through_hooked_saves():
    x = T.tensor(3.0, requires_grad=True, dtype=T.float64)
    with T.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        y = x ** 3
    (g,) = T.autograd.grad(y, x, create_graph=True)
    (g2,) = T.autograd.grad(g, x)
    assert g.item() == 27.0 and g2.item() == 18.0


def test_disable_saved_tensors_hooks():
    from retrograd.autograd.graph import disable_saved_tensors_hooks

    with disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with T.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
    with T.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        pass


@requires_torch
def test_pack_receives_the_saved_tensor_like_torch():
    out = []
    for M in (T, torch):
        got = []
        x = M.tensor([1.0, 2.0], requires_grad=True, dtype=M.float64)
        with M.autograd.graph.saved_tensors_hooks(lambda t, got=got: got.append(t) or t, lambda t: t):
            y = x.exp()
        out.append([(tuple(t.shape), t.requires_grad, t.tolist()) for t in got])
        assert any(t is x for t in got) or len(got) == 1
        y.sum().backward()
    assert out[0] == out[1]


def test_hooks_of_another_thread_do_not_apply_here():
    """saved_tensors_hooks are per thread (torch's): while another thread is inside a context,
    this thread's saves skip its hooks; the count of open contexts returns to zero."""
    import threading

    from retrograd.autograd import graph

    inside, done = threading.Event(), threading.Event()
    packed = []

    def other():
        with T.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
            x = T.ones(2, requires_grad=True)
            (x * x).sum()
            inside.set()
            done.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(5)
    assert graph._saved_hooks_entered
    before = len(packed)
    x = T.ones(2, requires_grad=True)
    (x * x).sum().backward()
    done.set()
    thread.join()
    assert before == 2 and len(packed) == 2 and x.grad.tolist() == [2.0, 2.0]
    assert not graph._saved_hooks_entered
