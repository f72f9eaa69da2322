"""inspect.why_no_grad: one case per way a path to the loss breaks, each checking the reason,
the operation and the line of this file that made the break (under record_breaks), and what
it deduces from the graph alone."""

import copy
import inspect

import numpy as np

import retrograd as T
from retrograd.autograd import function
from retrograd.inspect import NoGradExplanation, record_breaks, why_no_grad


def _line():
    """The number of the line after the caller's."""
    return inspect.currentframe().f_back.f_lineno + 1


def _leaf(*values):
    return T.tensor(list(values), requires_grad=True) if values else T.randn(3, requires_grad=True)


def _check(e, reason, op, line):
    assert isinstance(e, NoGradExplanation)
    assert (e.reason, e.op, e.location) == (reason, op, f"test_why_no_grad.py:{line}"), repr(e)
    assert f"({reason})" in str(e) and "Fix: " in str(e)


def test_requires_grad_false():
    w = _leaf()
    with record_breaks():
        line = _line()
        b = T.randn(3)
        loss = (w * b).sum()
    loss.backward()
    _check(why_no_grad(b, loss), "requires_grad_false", "randn", line)
    assert why_no_grad(b, loss).lineno == line


def test_detach():
    x, w = _leaf(), _leaf()
    with record_breaks():
        line = _line()
        h = x.detach()
        loss = (h * w).sum()
    loss.backward()
    e = why_no_grad(x, loss)
    _check(e, "detach", "detach", line)
    assert e.path[0] == f"detach (test_why_no_grad.py:{line})"
    assert "Detached" not in str(e) and "remove the detach()" in str(e)


def test_data():
    x, w = _leaf(), _leaf()
    with record_breaks():
        y = x * 2
        line = _line()
        loss = (y.data * w).sum()
    loss.backward()
    _check(why_no_grad(x, loss), "data", "data", line)


def test_item_and_float_values_made_into_new_tensors():
    x, w = _leaf(), _leaf()
    with record_breaks():
        line = _line()
        v = x.sum().item()
        loss = (T.tensor(v) * w).sum()
        line2 = _line()
        f = float(x[0])
        loss2 = (w * f).sum()
    loss.backward()
    _check(why_no_grad(x, loss), "escaped", "item", line)
    _check(why_no_grad(x, loss2), "escaped", "float", line2)


def test_numpy_and_tolist():
    x, w = _leaf(), _leaf()
    with record_breaks():
        line = _line()
        a = x.detach().numpy()
        loss = (T.from_numpy(a) * w).sum()
        line2 = _line()
        values = (x * 2).tolist()
        loss2 = (T.tensor(values) * w).sum()
    e = why_no_grad(x, loss)
    _check(e, "escaped", "numpy", line)  # through detach, but the value left as an array
    assert [p.split(" ")[0] for p in e.path] == ["detach", "numpy", "from_numpy", "mul", "sum"]
    _check(why_no_grad(x, loss2), "escaped", "tolist", line2)


def test_no_grad_and_inference_mode():
    x, w = _leaf(), _leaf()
    with record_breaks():
        with T.no_grad():
            line = _line()
            h = x.exp()
        loss = (h * w).sum()
        with T.inference_mode():
            line2 = _line()
            g = x * 3
        loss2 = (g.clone() * w).sum()
    _check(why_no_grad(x, loss), "no_grad", "exp", line)
    _check(why_no_grad(x, loss2), "inference_mode", "mul", line2)


def test_integer_and_boolean_ops():
    x, w = _leaf(), _leaf()
    with record_breaks():
        line = _line()
        mask = (x > 0).float()
        loss = (mask * w).sum()
        line2 = _line()
        i = x.argmax()
        loss2 = w[i] * 2
        line3 = _line()
        n = x.long()
        loss3 = (n * w).sum()
    _check(why_no_grad(x, loss), "non_differentiable", "gt", line)
    _check(why_no_grad(x, loss2), "non_differentiable", "argmax", line2)
    _check(why_no_grad(x, loss3), "non_differentiable", "long", line3)


def test_piecewise_constant_op_gives_zero_gradient():
    x = _leaf(0.4, 1.6)
    with record_breaks():
        line = _line()
        r = x.round()
        loss = (r * 3).sum()
    loss.backward()
    assert np.array_equal(x.grad.numpy(), [0.0, 0.0])
    _check(why_no_grad(x, loss), "zero_gradient", "round", line)
    assert "x + (x.round() - x).detach()" in str(why_no_grad(x, loss))


def test_tensor_not_used():
    x, unused = _leaf(), _leaf()
    with record_breaks():
        loss = (x * 2).sum()
    loss.backward()
    e = why_no_grad(unused, loss)
    assert (e.reason, e.op, e.location) == ("not_used", None, None)


def test_different_copy_of_the_model():
    model = T.nn.Linear(3, 1)
    with record_breaks():
        line = _line()
        twin = copy.deepcopy(model)
        loss = twin(T.ones(2, 3)).sum()
    loss.backward()
    assert model.weight.grad is None and twin.weight.grad is not None
    _check(why_no_grad(model.weight, loss), "different_copy", "deepcopy", line)


def test_non_leaf_needs_retain_grad():
    with record_breaks():
        line = _line()
        w = T.randn(3, requires_grad=True) * 0.1
        loss = (w * 2).sum()
    loss.backward()
    _check(why_no_grad(w, loss), "non_leaf", "mul", line)


def test_without_the_mode_it_deduces_what_the_graph_shows():
    x, w = _leaf(), _leaf()
    loss = (x.detach() * w).sum()
    loss.backward()
    e = why_no_grad(x, loss)
    assert (e.reason, e.op, e.location) == ("not_in_graph", None, None)
    assert "record_breaks()" in str(e)
    b = T.randn(3)
    e = why_no_grad(b, (b * w).sum())
    assert (e.reason, e.location) == ("requires_grad_false", None) and "record_breaks()" in str(e)
    twin = copy.deepcopy(w)
    loss = (twin * 2).sum()
    loss.backward()
    assert why_no_grad(w, loss).reason == "different_copy"
    assert why_no_grad(twin, loss).reason == "no_break"


def test_the_mode_leaves_nothing_behind():
    mul, data, tensor = T.Tensor.__mul__, T.Tensor.data, T.tensor
    with record_breaks():
        with record_breaks():
            assert T.Tensor.__mul__ is not mul and function.after_apply is not None
        assert T.Tensor.__mul__ is not mul
    assert (T.Tensor.__mul__, T.Tensor.data, T.tensor) == (mul, data, tensor)
    assert function.after_apply is None
