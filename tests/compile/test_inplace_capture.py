"""In-place ops under torch.compile: on a tensor an op of the function made (``x.relu_()``, ``out += y``,
``nn.ReLU(inplace=True)``) the op is recorded and the tensor's later reads are its result; on a buffer under
no_grad (``count.add_(1)``) the result is written into the buffer at replay, its version bumped as eager's.
Values and gradients bitwise eager's over replays. What is not captured (a tensor saved for backward before
the change, an input of the function, a view or a tensor sharing memory, a result of another dtype) still
breaks the graph, with eager's result."""

import numpy as np
import pytest

import retrograd
from retrograd._compile.replay import CompiledFunction
from tests.compile.compare import assert_same_as_eager, fresh_compiler  # noqa: F401

nn = retrograd.nn
F = nn.functional

rng = np.random.default_rng(0)
X = rng.normal(size=(4, 5))
Y = rng.normal(size=(4, 5))
W = rng.normal(size=(5, 5))


def add_then_relu(x, y, w):
    h = x @ w
    h += y
    h.relu_()  # (relu saves its output: h, from now on)
    return h * 2


def chain_of_methods(x, y, w):
    h = x * y + 1
    h.mul_(3).add_(w.sum(0))
    h.sigmoid_()
    return h.sum(1), h


def residual(x, y, w):  # ResNet's block: out += shortcut(x); relu(out)
    out = x @ w
    out = out * y
    out += x
    return F.relu(out)


def inplace_modules(x, y, w):
    h = nn.functional.leaky_relu(x @ w, 0.2, inplace=True)
    return F.relu(h - y, inplace=True)


def no_grad_inplace(x, y, w):
    with retrograd.no_grad():
        m = (x * y).abs()
        m.clamp_(max=0.5)
    return x * m


def detached_after(x, y, w):
    h = x * y
    h.add_(1.0)
    d = h.detach()  # reads the new value
    return h * w.sum(0) + d


def filled_constant(x, y, w):  # DCGAN's label = full(...); ...; label.fill_(fake_label)
    label = retrograd.full((4, 5), 1.0, dtype=retrograd.float64)
    a = x + label  # (the value before the write)
    label.fill_(0.5)
    label += y
    return a * label


@pytest.mark.parametrize("fn", [filled_constant, add_then_relu, chain_of_methods, residual, inplace_modules, no_grad_inplace,
                                detached_after])
def test_inplace_ops_on_intermediates_replay_eagers_values_and_gradients(fn):
    assert_same_as_eager(fn, [X, Y, W], calls=3)  # (fullgraph=True: no break)


def test_explain_counts_one_graph_for_inplace_modules():
    model = nn.Sequential(nn.Linear(5, 6), nn.ReLU(inplace=True), nn.Linear(6, 4),
                          nn.LeakyReLU(0.1, inplace=True)).double()
    out = retrograd.compiler.explain(model)(retrograd.tensor(X))
    assert (out.graph_count, out.graph_break_count) == (1, 0), str(out)


class Counter(nn.Module):
    """A buffer counted up under no_grad at each call (as BatchNorm's num_batches_tracked)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(5, 3)
        self.register_buffer("calls", retrograd.tensor(0))
        self.register_buffer("total", retrograd.zeros(3))

    def forward(self, x):
        y = self.lin(x)
        with retrograd.no_grad():
            self.calls.add_(1)
            self.total += y.sum(0)
        return y


def _replays_write_as_eager(make, calls=4):
    """``make()``'s module eagerly and compiled (fullgraph), ``calls`` forward and backward calls: outputs,
    parameters, gradients and buffers equal, and each tensor's version (bumped once per in-place write)."""
    retrograd.manual_seed(0)
    eager = make()
    retrograd.manual_seed(0)
    model = make()
    compiled = retrograd.compile(model, fullgraph=True)
    for call in range(calls):
        x = retrograd.tensor(rng.normal(size=(2, 5)).astype(np.float32))
        a, b = eager(x), compiled(x)
        a.sum().backward()
        b.sum().backward()
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        if call:
            assert isinstance(b.grad_fn, CompiledFunction)
        for (name, u), v in zip([*eager.named_parameters(), *eager.named_buffers()],
                                [*model.parameters(), *model.buffers()]):
            np.testing.assert_array_equal(u.detach().numpy(), v.detach().numpy(), err_msg=name)
            assert (u.grad is None) == (v.grad is None), name
            if u.grad is not None:
                np.testing.assert_array_equal(u.grad.numpy(), v.grad.numpy(), err_msg=name)
            assert u._version == v._version, name
    return model


def test_a_buffer_changed_in_place_under_no_grad_is_written_at_each_replay():
    assert _replays_write_as_eager(Counter).calls.item() == 4


def _breaks(fn, *args, requires_grad=True):
    """fn's graph breaks (fullgraph raises); explain's output."""
    with pytest.raises(retrograd.compiler.Unsupported):
        retrograd.compile(fn, fullgraph=True)(*[retrograd.tensor(a, requires_grad=requires_grad) for a in args])
    retrograd.compiler.reset()
    return retrograd.compiler.explain(fn)(*[retrograd.tensor(a, requires_grad=requires_grad) for a in args])


def test_a_tensor_saved_for_backward_then_changed_breaks_and_backward_raises_as_eagers():
    def fn(x):
        s = x.sigmoid()  # saves its output for backward
        s.mul_(2)
        return s

    out = _breaks(fn, X)
    assert "saved for backward" in out.break_reasons[0].reason
    compiled = retrograd.compile(fn)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            compiled(retrograd.tensor(X, requires_grad=True)).sum().backward()


def test_an_inplace_change_of_an_input_breaks():
    def fn(x, y):
        y.add_(1.0)
        return x * 2

    _breaks(fn, X, Y, requires_grad=False)
    compiled = retrograd.compile(fn)
    ya, yb = retrograd.tensor(Y), retrograd.tensor(Y)
    for _ in range(3):
        compiled(retrograd.tensor(X), yb)
        fn(retrograd.tensor(X), ya)
    np.testing.assert_array_equal(ya.numpy(), yb.numpy())  # changed at each call, as eager


@pytest.mark.parametrize("write", ["view", "alias"])
def test_an_inplace_change_seen_through_another_tensor_breaks(write):
    def fn(x):
        h = x * 2
        v = h[0] if write == "view" else h.view(-1)
        if write == "view":
            v.add_(1.0)  # a view written: its base changes
        else:
            h.add_(1.0)  # a base written: its view changes
        return h + v.sum()

    _breaks(fn, X)
    compiled = retrograd.compile(fn)
    for _ in range(2):
        np.testing.assert_array_equal(compiled(retrograd.tensor(X)).detach().numpy(),
                                      fn(retrograd.tensor(X)).detach().numpy())


def test_an_inplace_result_of_another_dtype_breaks():
    def fn(x):
        h = (x * 2).float()
        h += x  # float32 += float64: the float64 result is cast on writing
        return h

    _breaks(fn, X)
    compiled = retrograd.compile(fn)
    for _ in range(2):
        a, b = fn(retrograd.tensor(X)), compiled(retrograd.tensor(X))
        assert b.dtype == retrograd.float32
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_an_inplace_change_of_a_callers_array_breaks():
    """as_tensor shares the caller's NumPy array: eager writes into it at each call, so the change is not captured."""
    array = np.zeros(3)

    def fn(x):
        t = retrograd.as_tensor(array)
        t.add_(1.0)
        return x * t

    with pytest.raises(retrograd.compiler.Unsupported):
        retrograd.compile(fn, fullgraph=True)(retrograd.ones(3, dtype=retrograd.float64))
    compiled = retrograd.compile(fn)
    for _ in range(3):
        compiled(retrograd.ones(3, dtype=retrograd.float64))
    assert array.tolist() == [4.0, 4.0, 4.0]  # (once under fullgraph, three times after)


def test_an_inplace_op_that_makes_a_tensor_require_grad_breaks():
    def fn(x, w):
        h = x * 2  # (does not require grad)
        h += w  # (now it does)
        return h * 3

    x, w = retrograd.tensor(X), retrograd.tensor(Y, requires_grad=True)
    with pytest.raises(retrograd.compiler.Unsupported):
        retrograd.compile(fn, fullgraph=True)(x, w)
    compiled = retrograd.compile(fn)
    for _ in range(2):
        compiled(x, w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full(Y.shape, 6.0))


class MomentumEncoder(nn.Module):
    """A key encoder updated as an average of the query encoder's parameters under no_grad at each call (MoCo,
    BYOL); ``late`` updates it after using it, so its Linear saved the weight before the change."""

    def __init__(self, late=False):
        super().__init__()
        self.late = late
        self.query, self.key = nn.Linear(5, 3), nn.Linear(5, 3)

    def update(self):
        with retrograd.no_grad():
            for k, q in zip(self.key.parameters(), self.query.parameters()):
                k.mul_(0.9).add_(q, alpha=0.1)

    def forward(self, x):
        if not self.late:
            self.update()
        out = self.query(x) + self.key(x)
        if self.late:
            self.update()
        return out


def test_an_average_of_parameters_under_no_grad_is_written_at_each_replay():
    _replays_write_as_eager(MomentumEncoder)


def test_a_parameter_updated_after_an_op_saved_it_breaks():
    model = MomentumEncoder(late=True)
    x = retrograd.tensor(rng.normal(size=(2, 5)).astype(np.float32), requires_grad=True)  # (its gradient needs W)
    with pytest.raises(retrograd.compiler.Unsupported):  # (linear's weight.t() shares its memory, too)
        retrograd.compile(model, fullgraph=True)(x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        retrograd.compile(model)(x).sum().backward()  # (as eager's backward)
