"""Op families captured and replayed equal eager, bitwise, in values and gradients (replay.py)."""

import numpy as np
import pytest

import retrograd
import retrograd.nn.functional as F
from tests.compile.compare import assert_same_as_eager, fresh_compiler  # noqa: F401
from tests.helpers import rand

CASES = {
    "elementwise": (lambda a, b: (a * b + a / (b.abs() + 1) - b ** 2, a.exp() * b.sin()), [(3, 4), (3, 4)]),
    "broadcast": (lambda a, b: a + b * 2 - a.tanh(), [(3, 4), (4,)]),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 5)]),
    "reductions": (lambda a: (a.sum(0), a.mean(), a.max(1).values, a.var(1), a.logsumexp(0)), [(4, 5)]),
    # (an output that is a view of an input is a graph break: see test_graph_break.py)
    "shape": (lambda a, b: (a.reshape(5, 4).t().unsqueeze(0).permute(2, 1, 0).flatten() * 2,
                            retrograd.cat([a, b], 0)[1:3, ::2], retrograd.stack([a, b]).transpose(0, 2)),
              [(4, 5), (4, 5)]),
    "activations": (lambda a: (F.relu(a), F.gelu(a), F.silu(a), F.softplus(a), a.sigmoid(), F.leaky_relu(a, 0.1)),
                    [(3, 5)]),
    "softmax": (lambda a: (F.softmax(a, -1), F.log_softmax(a, 0)), [(3, 5)]),
    "conv_pool": (lambda x, w: F.max_pool2d(F.conv2d(x, w, padding=1), 2), [(2, 3, 6, 6), (4, 3, 3, 3)]),
    "losses": (lambda a, b: (F.mse_loss(a, b), F.l1_loss(a, b), F.smooth_l1_loss(a, b)), [(4, 3), (4, 3)]),
    "normalization": (lambda a, w, b: (F.layer_norm(a, (5,), w, b) * 2, F.group_norm(a.reshape(2, 2, 5), 2) + 1),
                      [(4, 5), (5,), (5,)]),
    "comparisons": (lambda a, b: (a * (a > 0), a.masked_fill(a < b, 0.0), retrograd.where(0.5 >= b, a, b * 2)),
                    [(4, 3), (4, 3)]),
    "multi_output": (lambda a: a.chunk(2)[0] * 2 + a.split([1, 3])[1][:2].exp(), [(4, 3)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(3, 4), (5, 4), (5,)]),
    "indexing": (lambda a: (a[1] + 1, a[1:, 0] * 3, a[..., -1:].exp()), [(4, 3)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_family_equals_eager(name):
    fn, shapes = CASES[name]
    assert_same_as_eager(fn, [rand(*s, seed=i) for i, s in enumerate(shapes)])


def test_float32_and_no_grad_inputs_equal_eager():
    fn = lambda a, b: (a @ b).relu().sum(1)  # noqa: E731
    assert_same_as_eager(fn, [rand(3, 4, dtype=np.float32), rand(4, 2, dtype=np.float32)])
    assert_same_as_eager(fn, [rand(3, 4), rand(4, 2)], grad=False)


def test_cross_entropy_with_integer_target():
    target = retrograd.tensor([0, 2, 1, 2])
    assert_same_as_eager(lambda logits: F.cross_entropy(logits, target), [rand(4, 3)])


def test_one_node_for_the_whole_forward_and_second_backward_error():
    f = retrograd.compile(lambda a: (a.exp() * 2).sin().sum())
    a = retrograd.tensor(rand(3), requires_grad=True)
    f(a)
    y = f(a)
    assert y.grad_fn.name() == "CompiledFunctionBackward"
    assert [fn.name() for fn, _ in y.grad_fn.next_functions] == ["torch::autograd::AccumulateGrad"]
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    y = f(a)
    y.backward(retain_graph=True)
    y.backward()
    e = np.exp(a.detach().numpy())
    np.testing.assert_allclose(a.grad.numpy(), 3 * (np.cos(e * 2) * 2 * e))


def test_double_backward_raises_as_torch_compile():
    f = retrograd.compile(lambda a: (a ** 3).sum())
    a = retrograd.tensor(rand(3), requires_grad=True)
    f(a)
    with pytest.raises(RuntimeError, match="double backward"):
        retrograd.autograd.grad(f(a), a, create_graph=True)


def test_returning_an_input_returns_that_tensor():
    f = retrograd.compile(lambda a, b: (a, a * b))
    a, b = retrograd.tensor(rand(2), requires_grad=True), retrograd.tensor(rand(2))
    f(a, b)
    out = f(a, b)
    assert out[0] is a and out[1].grad_fn is not None


def test_dropout_draws_the_same_numbers_as_eager():
    drop = retrograd.nn.Dropout(0.5)
    fn = lambda x: drop(x) * 2  # noqa: E731
    compiled = retrograd.compile(fn, fullgraph=True)
    x = retrograd.tensor(rand(50))
    for seed in (0, 1, 2):
        retrograd.manual_seed(seed)
        ref = fn(x)
        retrograd.manual_seed(seed)
        out = compiled(x)
        np.testing.assert_array_equal(ref.numpy(), out.numpy())
    retrograd.manual_seed(3)
    assert not np.array_equal(compiled(x).numpy(), compiled(x).numpy())  # the stream moves on


def test_tensor_hooks_on_inputs_and_outputs_run():
    f = retrograd.compile(lambda a: (a * 3).exp())
    a = retrograd.tensor(rand(3), requires_grad=True)
    f(a)
    seen = []
    a.register_hook(lambda g: seen.append("a") or g * 2)
    y = f(a)
    y.register_hook(lambda g: seen.append("y"))
    y.sum().backward()
    assert seen == ["y", "a"]
    np.testing.assert_allclose(a.grad.numpy(), 2 * 3 * np.exp(3 * a.detach().numpy()))


def test_no_grad_call_records_nothing():
    f = retrograd.compile(lambda a: a * 2)
    a = retrograd.tensor(rand(3), requires_grad=True)
    f(a)
    with retrograd.no_grad():
        f(a)
        y = f(a)
    assert y.grad_fn is None and not y.requires_grad


def test_autocast_casts_at_replay_as_eager():
    lin = retrograd.nn.Linear(4, 3)
    fn = lambda x: lin(x).relu().sum()  # noqa: E731
    compiled = retrograd.compile(fn, fullgraph=True)
    x = retrograd.tensor(rand(5, 4, dtype=np.float32))
    with retrograd.autocast("cpu", dtype=retrograd.bfloat16):
        ref = fn(x)
        ref.backward()
        ref_grad = lin.weight.grad.clone()
        for _ in range(2):
            lin.zero_grad()
            out = compiled(x)
            out.backward()
    assert out.dtype == ref.dtype and isinstance(out.grad_fn, retrograd._compile.replay.CompiledFunction)
    np.testing.assert_array_equal(out.detach().float().numpy(), ref.detach().float().numpy())
    np.testing.assert_array_equal(lin.weight.grad.numpy(), ref_grad.numpy())
    compiled(x)  # autocast off: another guard set, in float32
    assert compiled(x).dtype == retrograd.float32
