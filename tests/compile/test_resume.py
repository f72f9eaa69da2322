"""Resuming after a graph break (resume.py): the function is split at the breaking statement, the
statements before and after it are captured and replayed, the breaking one runs eagerly; values
and gradients equal eager's; explain counts graphs and breaks as torch._dynamo.explain does."""

import contextlib
import io
import warnings

import numpy as np
import pytest

import retrograd
from retrograd._compile import compiled as _compiled
from retrograd._compile.replay import CompiledFunction
from tests.compile.compare import fresh_compiler  # noqa: F401
from tests.helpers import rand
from tests.reference.store import reference

nn = retrograd.nn


@contextlib.contextmanager
def count_ops():
    """Counts the Function classes applied inside (a replayed segment is one CompiledFunction; an eager
    statement's ops are counted one by one). Only around calls whose guards were seen (a capture
    would not start while a hook holds the op hook)."""
    counts = {}

    def hook(cls, args, kwargs):
        counts[cls.__name__] = counts.get(cls.__name__, 0) + 1
        return NotImplemented

    old = retrograd.autograd.function.profile_hook
    retrograd.autograd.function.profile_hook = hook
    try:
        yield counts
    finally:
        retrograd.autograd.function.profile_hook = old


def _quiet(f, *args):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        return f(*args), out.getvalue()


def _leaf(seed, shape=(4, 3)):
    return retrograd.tensor(rand(*shape, seed=seed), requires_grad=True)


def _same(fn, compiled, calls=4, shape=(4, 3)):
    """compiled gives fn's values, printed text and gradients on each call (fresh inputs each time)."""
    for seed in range(calls):
        a, b = _leaf(seed, shape), _leaf(seed, shape)
        ref, ref_text = _quiet(fn, a)
        out, text = _quiet(compiled, b)
        assert text == ref_text
        np.testing.assert_array_equal(ref.detach().numpy(), out.detach().numpy())
        (ref * ref).sum().backward()
        (out * out).sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    return out


# ---------------------------------------------------------------------- the programs
def _print_item(x):
    y = (x * 2).exp()
    print(y.sum().item())
    return y + 1


def _two_prints(x):
    y = x * 2
    print("y", y.sum().item())
    z = y + 1
    print("z")
    return z * 2


def _branch(x):
    h = x * 3
    if h.sum() > 0:
        return h.tanh()
    return h.sigmoid()


def _item_in_loop(x):
    total = x * 0
    for step in range(3):
        total = total + (x * step).exp()
        print(f"{step}: {total.mean().item():.6f}")
    return total * 2


def _while_on_a_value(x):
    y = x
    while y.abs().sum() > 1:
        y = y * 0.5
    return y + 1


def _unbound_until_the_loop(x):
    for step in range(2):
        out = x * (step + 1)
        print(out.sum().item())
    return out.tanh()


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        h = self.lin(x).relu()
        print(h.sum().item())
        return h * 2


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(3, 3)
        self.block = _Block()

    def forward(self, x):
        h = self.first(x).tanh()
        y = self.block(h)  # the break is inside the block: this statement runs eagerly
        return y.sigmoid() + h


# ---------------------------------------------------------------------- values, gradients, replays
@pytest.mark.parametrize("fn", [_print_item, _two_prints, _branch, _item_in_loop, _while_on_a_value,
                                _unbound_until_the_loop])
def test_values_and_gradients_equal_eager(fn):
    compiled = retrograd.compile(fn)
    _same(fn, compiled)
    _same(fn, compiled, shape=(2, 5))  # new shapes: each segment captures again
    with count_ops() as ops:
        _quiet(compiled, _leaf(0, (2, 5)))
    assert ops.get("CompiledFunction", 0) >= 2  # segments replayed (the whole call ran eagerly before)


def test_branch_takes_each_side_as_eager():
    compiled = retrograd.compile(_branch)
    for sign in (1, -1, 1, -1, -1):
        a, b = _leaf(0) * sign, _leaf(0) * sign
        np.testing.assert_array_equal(_branch(a).detach().numpy(), compiled(b).detach().numpy())


def test_the_segments_around_a_print_are_replayed():
    compiled = retrograd.compile(_print_item)
    for seed in range(3):
        _quiet(compiled, _leaf(seed))
    with count_ops() as ops:
        out, text = _quiet(compiled, _leaf(5))
    # two segments (exp of x*2 with the sum .item() reads; y + 1), one replay each; no op runs eagerly
    assert ops == {"CompiledFunction": 2}
    assert float(text) == pytest.approx(np.exp(rand(4, 3, seed=5) * 2).sum())
    assert isinstance(out.grad_fn, CompiledFunction)


def _late_break(x):
    y = x * 2
    if y.sum() > 0:
        z = y + 1
    else:
        z = y - 1
        print(z.sum().item())  # first seen when a call takes this side: that segment is split then
    return z * 3


def test_a_break_seen_later_splits_that_segment_from_the_next_call():
    compiled = retrograd.compile(_late_break)
    for sign in (1, 1, -1, -1, -1, 1):
        a, b = _leaf(0) * sign, _leaf(0) * sign
        ref, ref_text = _quiet(_late_break, a)
        out, text = _quiet(compiled, b)
        assert text == ref_text
        np.testing.assert_array_equal(ref.detach().numpy(), out.detach().numpy())
    with count_ops() as ops:
        _quiet(compiled, _leaf(0) * -1)
    assert ops.pop("Mul") == 1 and ops == {"CompiledFunction": 3}  # (the -1 of the argument: eager)


def test_the_loop_body_is_replayed_on_every_iteration():
    compiled = retrograd.compile(_item_in_loop)
    for seed in range(3):
        _quiet(compiled, _leaf(seed))
    with count_ops() as ops:
        _quiet(compiled, _leaf(5))
    # `total = x * 0`, then per iteration the step with the mean .item() reads, then `total * 2`
    assert ops == {"CompiledFunction": 5}


def test_a_break_inside_a_module_forward():
    retrograd.manual_seed(0)
    net = _Net()
    compiled = retrograd.compile(net)
    x = retrograd.tensor(rand(4, 3, seed=1, dtype=np.float32))
    ref, ref_text = _quiet(net, x)
    for _ in range(3):
        out, text = _quiet(compiled, x)
        assert text == ref_text
        np.testing.assert_array_equal(ref.detach().numpy(), out.detach().numpy())
    with count_ops() as ops:
        _quiet(compiled, x)
    # _Net.forward: [first, tanh] replayed; `y = self.block(h)` eagerly (its Linear, ReLU, Sum, Mul);
    # [sigmoid, add] replayed
    assert ops.pop("CompiledFunction") == 2
    assert {"Relu", "Sum", "Mul"} <= set(ops) and not {"Tanh", "Sigmoid", "Add"} & set(ops)


def _split_block(requires_grad=False):
    """(a _Block, it compiled, an input) after the calls that capture, split and capture its segments."""
    retrograd.manual_seed(0)
    block = _Block()
    compiled = retrograd.compile(block)
    x = retrograd.tensor(rand(4, 3, seed=1, dtype=np.float32), requires_grad=requires_grad)
    for _ in range(3):
        _quiet(compiled, x)
    return block, compiled, x


def test_the_broken_module_compiled_alone_resumes():
    block, compiled, x = _split_block(requires_grad=True)
    with count_ops() as ops:
        out, _ = _quiet(compiled, x)
    assert ops == {"CompiledFunction": 2}
    out.sum().backward()
    grads = [p.grad.numpy().copy() for p in block.parameters()]
    block.zero_grad()
    _quiet(block, x)[0].sum().backward()
    for g, p in zip(grads, block.parameters()):
        np.testing.assert_array_equal(g, p.grad.numpy())


def test_hooks_added_to_a_split_module_run():
    block, compiled, x = _split_block()
    calls = []
    block.register_forward_hook(lambda m, i, o: calls.append(1))
    _quiet(compiled, x), _quiet(compiled, x)
    assert calls == [1, 1]


def test_parameters_updated_between_calls_take_effect():
    block, compiled, x = _split_block()
    with retrograd.no_grad():
        block.lin.weight.mul_(-2)
        block.lin.bias.add_(0.5)
    ref, ref_text = _quiet(block, x)
    out, text = _quiet(compiled, x)
    assert text == ref_text
    np.testing.assert_array_equal(ref.detach().numpy(), out.detach().numpy())


def _training(compiled):
    """20 steps of a training step with a logging .item() at its end: the losses (and the printed text)."""
    retrograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = retrograd.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        print(f"loss {loss.item():.8f}")
        return loss

    run = retrograd.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    losses, ops = [], None
    for i in range(20):
        x = retrograd.tensor(rng.standard_normal((8, 6)).astype(np.float32))
        y = retrograd.tensor(rng.integers(0, 3, 8))
        if i == 19 and compiled:
            with count_ops() as ops:
                loss, text = _quiet(run, x, y)
        else:
            loss, text = _quiet(run, x, y)
        losses.append((loss.item(), text))
    return losses, ops, model


def test_a_training_step_with_a_logging_item_matches_the_eager_loop():
    eager, _, eager_model = _training(False)
    compiled, ops, model = _training(True)
    assert compiled == eager  # losses bitwise, and the same printed lines
    for p, q in zip(eager_model.parameters(), model.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert ops == {}  # the step before the print replays as one generated program: no op runs eagerly


def _numbered_training(compiled, calls=20):
    """A step given its step number, logging every 5th: (the losses, the captures made)."""
    retrograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = retrograd.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(i, x, y):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        if i % 5 == 0:
            print(f"step {i} loss {loss.item():.8f}")
        return loss

    run = retrograd.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    x, y = (retrograd.tensor(rng.standard_normal(s).astype(np.float32)) for s in ((8, 6), (8, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no recompile-limit warning)
        losses = [(loss.item(), text) for loss, text in (_quiet(run, i, x, y) for i in range(calls))]
    return losses, _compiled._recompiles.get(step.__code__, 0)


def test_a_step_number_argument_does_not_recompile_a_split_function_on_every_call():
    # once the function runs split, a call differing only in a Python value runs split too: the segment
    # before the branch does not take `i` and replays (eager's losses, bitwise); 20 step numbers, 2 captures
    eager, _ = _numbered_training(False)
    losses, captures = _numbered_training(True)
    assert losses == eager
    assert captures == 1


# ---------------------------------------------------------------------- explain
def _explain(fn, x):
    report, _ = _quiet(retrograd.compiler.explain(fn), x)
    return report


def _torch_explain(name):
    import torch

    torch._dynamo.reset()
    fn = {"print_item": _print_item, "two_prints": _two_prints, "branch": _branch, "module": None}[name]
    if fn is None:
        import torch.nn as tnn

        class Block(tnn.Module):
            def __init__(self):
                super().__init__()
                self.lin = tnn.Linear(3, 3)

            forward = _Block.forward

        fn = Block()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        report = torch._dynamo.explain(fn)(torch.tensor(rand(4, 3, seed=1, dtype=np.float32)))
    return np.array([report.graph_count, report.graph_break_count])


@pytest.mark.parametrize("name", ["print_item", "two_prints", "branch", "module"])
def test_explain_counts_as_torch(name):
    expected = reference(lambda: _torch_explain(name))
    fn = {"print_item": _print_item, "two_prints": _two_prints, "branch": _branch, "module": None}[name]
    if fn is None:
        retrograd.manual_seed(0)
        fn = _Block()
    report = _explain(fn, retrograd.tensor(rand(4, 3, seed=1, dtype=np.float32)))
    assert [report.graph_count, report.graph_break_count] == list(expected)
    assert report.break_reasons[0].user_stack[0].filename == __file__


def test_explain_of_a_loop_counts_each_segment_once():
    report = _explain(_item_in_loop, retrograd.tensor(rand(4, 3)))
    # (torch's dynamo skips a frame whose loop body breaks: it reports no graph for this one)
    assert report.graph_count == 3 and report.graph_break_count == 3


def test_fullgraph_still_raises_at_the_first_break():
    with pytest.raises(retrograd.compiler.Unsupported, match=r"test_resume\.py:\d+.*item"):
        _quiet(retrograd.compile(_print_item, fullgraph=True), _leaf(0))


def test_each_segment_has_its_own_recompile_count():
    compiled = retrograd.compile(_print_item, recompile_limit=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in (2, 3):  # the function and each of its segments compile twice: within the limit
            _quiet(compiled, _leaf(0, (n, 3)))
            _quiet(compiled, _leaf(0, (n, 3)))
    with pytest.warns(UserWarning, match="recompile_limit"):
        _quiet(compiled, _leaf(0, (5, 3)))
    _same(_print_item, compiled, shape=(6, 3))  # past the limit: eager, with eager's results


# ---------------------------------------------------------------------- what still runs eagerly
def _generator_user(x):
    def gen():
        yield x * 2

    for y in gen():
        print(y.sum().item())
    return y + 1


def _closure_writer():
    state = 0

    def fn(x):
        nonlocal state
        state += 1
        print(x.sum().item())
        return x * state

    return fn


@pytest.mark.parametrize("make", [lambda: _generator_user, _closure_writer])
def test_fallbacks_equal_eager(make):
    fn, compiled_fn = make(), make()
    compiled = retrograd.compile(compiled_fn)
    for seed in range(3):
        ref, ref_text = _quiet(fn, _leaf(seed))
        out, text = _quiet(compiled, _leaf(seed))
        assert text == ref_text
        np.testing.assert_array_equal(ref.detach().numpy(), out.detach().numpy())


def test_a_function_without_source_runs_eagerly():
    namespace = {}
    exec("def f(x):\n    y = x * 2\n    print(y.sum().item())\n    return y + 1\n", namespace)
    compiled = retrograd.compile(namespace["f"])
    for seed in range(3):
        _same(namespace["f"], compiled, calls=1)
    assert compiled._compiled.split is False and "source" in compiled._compiled.unsplittable


def test_a_lambda_and_a_closure_writer_are_not_split():
    f = retrograd.compile(lambda x: x * x.sum().item())
    _same(lambda x: x * x.sum().item(), f)
    assert f._compiled.split is False
    g = retrograd.compile(_closure_writer())
    _quiet(g, _leaf(0))
    assert g._compiled.split is False and "nonlocal" in g._compiled.unsplittable


def test_a_segment_that_changes_a_list_it_was_given_runs_eagerly():
    def fn(x):
        seen = []
        print(x.sum().item())
        seen.append(x * 2)  # a segment given `seen`: appending to it is no replayable op
        return seen[0] + len(seen)

    compiled = retrograd.compile(fn)
    _same(fn, compiled)


def test_a_list_an_eager_statement_appends_to_is_read_by_content():
    def fn(x):
        seen = [x.sum()]
        for step in range(2):
            seen.append(x.mean().item())  # eager: the list is the next segment's input, guarded by its values
            x = x * len(seen) + seen[-1]
        return x

    compiled = retrograd.compile(fn)
    _same(fn, compiled)


def test_python_values_pass_between_segments():
    def fn(x, scale=3):
        n = x.shape[0] * scale
        y = x * n
        print(y.sum().item())
        return y + n

    compiled = retrograd.compile(fn)
    _same(fn, compiled)
    assert _compiled._SPLIT in compiled._compiled.cache[next(iter(compiled._compiled.cache))]


def test_a_segment_returns_an_object_it_was_given_as_itself():
    class Options:
        pass

    options = Options()

    def fn(opts, x):
        a, y = opts, x * 2  # a segment's output: the object it was given, not one of its tensors
        print("hi")
        return y + 1, a

    compiled = retrograd.compile(fn)
    x = _leaf(0)
    for _ in range(4):  # captures, then the split's segments capture, then they replay
        (out, got), _ = _quiet(compiled, options, x)
        assert got is options
        np.testing.assert_array_equal(out.detach().numpy(), (x * 2 + 1).detach().numpy())


def test_explain_says_why_a_function_that_cannot_be_split_runs_eagerly():
    def fn(x):
        y = x * 2
        try:
            print(y.sum().item())
        finally:
            pass
        return y * 3

    report = _explain(fn, retrograd.tensor(rand(4, 3, seed=1)))
    assert report.graph_break_count == 1
    reason = report.break_reasons[0].reason
    assert reason.startswith("Tensor.item() reads a value into Python; capture cannot resume after it here")
    assert "inside a Try statement (line" in reason  # (Compiled.unsplittable: resume.Unsplittable's reason)
