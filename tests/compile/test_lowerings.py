"""Each lowered op (lowerings.py) replays as generated array code, bitwise equal to eager in values
and gradients, with no op left to the generic path."""

import numpy as np
import pytest

import retrograd
import retrograd.nn.functional as F
from tests.compile.compare import assert_same_as_eager, fresh_compiler  # noqa: F401
from tests.helpers import rand


def _gru_step(x, h, w, b):
    xh = retrograd.cat([x, h], dim=1)
    z = F.sigmoid(F.linear(xh, w, b))
    hbar = F.tanh(F.linear(retrograd.cat([x, z * h], dim=1), w, b))
    return retrograd.stack([(1 - z) * h + z * hbar, h], 1)


CASES = {
    "add_sub_mul_broadcast": (lambda a, b: (a + b - 2.5 * a, (b - a) * b, 3 - a * 2, a + 1), [(3, 4), (4,)]),
    "tanh_sigmoid_relu_clone": (lambda a: (a.tanh(), a.sigmoid() * 2, F.relu(a).clone()), [(4, 6)]),
    "relu_large": (lambda a: F.relu(a) * a, [(80, 60)]),
    "linear_mse": (lambda x, w, b, y: F.mse_loss(F.linear(x, w, b).tanh(), y), [(5, 3), (4, 3), (4,), (5, 4)]),
    "mse_sum": (lambda x, y: F.mse_loss(x, y, reduction="sum"), [(5, 3), (5, 3)]),
    "softmax_logsoftmax": (lambda a: (F.softmax(a, -1) * a, F.log_softmax(a, 1)), [(3, 5)]),
    "shape": (lambda a: (a.reshape(6, 2).t() * 2, a.unsqueeze(1).expand(3, 2, 4) + 1, a.permute(1, 0)[1:3] * 3,
                         a[1] + 1), [(3, 4)]),
    "split_cat_stack": (lambda a: (retrograd.cat(a.split(2, dim=1)[::-1], 1) * a, retrograd.stack([a, a * 2], 0)),
                        [(3, 6)]),
    "gru_step": (_gru_step, [(4, 3), (4, 5), (5, 8), (5,)]),
    "attention": (lambda q, k, v, m: (((q @ k.transpose(-2, -1)) * 0.5).masked_fill(m == 0, float("-inf"))
                                      .softmax(-1) @ v), [(2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5), (4, 4)]),
    "powers": (lambda a: (a ** 3.0 + a.pow(2) * a ** 0.5, a ** 0), [(3, 4)]),
}


def _program(compiled):
    graphs = [g for gs in compiled._compiled.cache.values() for g in gs if g is not None]
    assert len(graphs) == 1
    return graphs[0].program


@pytest.mark.parametrize("name", sorted(CASES))
def test_lowered_op_equals_eager(name):
    fn, shapes = CASES[name]
    arrays = [np.abs(rand(*s, seed=i)) + 0.1 for i, s in enumerate(shapes)]
    if name == "attention":
        arrays[-1] = np.tril(np.ones((4, 4)))
    compiled = assert_same_as_eager(fn, arrays)
    assert _program(compiled).generic == 0, _program(compiled).source


def test_float32_inputs_lowered_equal_eager():
    fn, shapes = CASES["linear_mse"]
    compiled = assert_same_as_eager(fn, [rand(*s, seed=i, dtype=np.float32) for i, s in enumerate(shapes)])
    assert _program(compiled).generic == 0


def test_unlowered_cases_take_the_generic_path_and_equal_eager():
    # an int tensor in tanh (float_data casts it), an alpha != 1, a tensor fill value: each op's own code
    fn = lambda a, b, v: (a.tanh() if a.dtype.is_floating_point else a, b.add(b, alpha=2),  # noqa: E731
                          b.masked_fill(b > 0.5, v))
    compiled = assert_same_as_eager(fn, [rand(3), rand(3, seed=1), rand(seed=2)])
    assert _program(compiled).generic == 2


def test_an_input_changed_in_place_before_backward_raises_as_eager():
    # the backward reads x (for w's gradient): CompiledFunction saved it, so its version is checked
    w = retrograd.tensor(rand(3, 3), requires_grad=True)
    f = retrograd.compile(lambda x: (x @ w).tanh().sum())
    x = retrograd.tensor(rand(2, 3))
    f(x)
    y = f(x)
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
