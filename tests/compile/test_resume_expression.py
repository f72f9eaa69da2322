"""Resuming inside a statement (resume.py's ``Plan._anf``): the statement that breaks is split in
Python's evaluation order around the breaking call; what it evaluates before the call joins the
segment before, the call runs eagerly, the rest of the statement joins the segment after. Values,
gradients and the order of side effects equal eager's; the rest replays; explain counts graphs and
breaks as torch._dynamo.explain does; a break evaluated conditionally or repeatedly keeps its
statement eager."""

import contextlib
import io
import types
import warnings
import weakref

import numpy as np
import pytest

import retrograd
from tests.compile.compare import fresh_compiler, torch_float_policy  # noqa: F401
from tests.compile.test_resume import count_ops
from tests.helpers import rand
from tests.reference.store import reference

nn = retrograd.nn


def _linear(seed):
    retrograd.manual_seed(seed)
    return nn.Linear(3, 3, dtype=retrograd.float64)


LIN1, LIN2 = _linear(1), _linear(2)
HEADS = [LIN1, LIN2]
LOG = []  # what `rec` saw, in order


@retrograd.compiler.disable
def untraceable(t):
    return t.sin()


@retrograd.compiler.disable
def rec(tag, value):
    """A call that cannot be traced (it runs eagerly on every call) noting the order it ran in."""
    LOG.append(tag)
    return value


def reg(w):
    return (w * w).sum()


# ---------------------------------------------------------------------- the programs
def _operand(x):
    h = x.exp()
    y = LIN2(h * x.sum().item()) + LIN1(h)  # torch resumes after .item(): LIN2, LIN1 and + in its 2nd graph
    return y * 2


def _loss_value(x):
    loss = (LIN1(x) ** 2).mean()
    v = loss.item() * 2 + reg(x)
    return v + 1


def _untraceable_call(x):
    y = x.exp()
    h = LIN2(untraceable(LIN1(y)))
    return h + 1


def _two_reads(x):
    y = x * 2
    z = y * x.sum().item() * x.mean().item()
    return z + 1


def _read_then_untraceable(x):
    y = x * 2
    z = y * x.sum().item() + untraceable(y)
    return z + 1


def _reads_as_arguments(x):
    y = x * 2
    print("y", y.sum().item(), y.mean().item())
    return y + 1


def _conditional_test(x):
    y = x * 2
    z = (y if x.sum().item() > 0 else -y) + 1  # the test runs once, unconditionally: split there
    return z.tanh()


def _return_expression(x):
    y = x.exp()
    return y * x.sum().item() + LIN1(y)


def _keyword_and_subscript(x):
    y = x * 2
    z = retrograd.clamp(y[0] * x.max().item(), min=y.min()) + y[1:].sum(dim=0)
    return z * 3


def _called_by_index(x):
    h = x.exp()
    y = HEADS[1](h * x.sum().item()) + HEADS[0](h)  # HEADS[1] read after the break, as a name is
    return y * 2


def _computed_callable(x):
    h = x.exp()
    y = getattr(LIN2, "forward")(h * x.sum().item())  # a callable computed before the break: eager, as before
    return y * 2


PROGRAMS = [_operand, _loss_value, _untraceable_call, _two_reads, _read_then_untraceable, _reads_as_arguments,
            _conditional_test, _return_expression, _keyword_and_subscript, _called_by_index, _computed_callable]
# what runs eagerly on a call after the split's segments captured: each segment one CompiledFunction; the
# break itself (untraceable's Sin); and, after a value read, the operation that combines its Python value with
# a tensor (torch's graph holds it with a symbolic float; here a segment would be guarded by the value)
EAGER_AFTER = {
    # (a float value read's result is a symbolic scalar of the segment after: h * <value> replayed there)
    _operand: {"CompiledFunction": 2},  # h * <value>, LIN2, LIN1 and + replayed
    _loss_value: {"CompiledFunction": 2},  # <value> * 2 + reg(x): the scalar's * 2 and reg(x) and + replayed
    _untraceable_call: {"CompiledFunction": 2, "Sin": 1},
    _two_reads: {"CompiledFunction": 3},
    _read_then_untraceable: {"CompiledFunction": 3, "Sin": 1},
    _reads_as_arguments: {"CompiledFunction": 3},
    _conditional_test: {"CompiledFunction": 2},  # (`> 0` on a Python float: no op, before the segment)
    _return_expression: {"CompiledFunction": 2},
    # (y[0], evaluated before the break, is an output of the first segment and a view of its output y: made
    # again from y at replay, one Index, so that it is a view of y as eager's)
    _keyword_and_subscript: {"CompiledFunction": 2, "Index": 1},
    _called_by_index: {"CompiledFunction": 2},
    _computed_callable: {"CompiledFunction": 2, "Sum": 1, "Mul": 1, "TMatrix": 1, "Addmm": 1},  # (x.exp() before, y * 2 after)
}


def _quiet(f, *args):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        return f(*args), out.getvalue()


def _params():
    return [*LIN1.parameters(), *LIN2.parameters()]


def _run(f, seed):
    """(output, printed text, the input's and the parameters' gradients) of one call and backward."""
    for p in _params():
        p.grad = None
    x = retrograd.tensor(rand(4, 3, seed=seed), requires_grad=True)
    out, text = _quiet(f, x)
    (out * out).sum().backward()
    grads = [x.grad] + [p.grad for p in _params()]
    return out.detach().numpy(), text, [None if g is None else g.numpy().copy() for g in grads]


# with floats guarded constants (retrograd's default, config.specialize_float): the operation combining a
# float value read's result with a tensor runs eagerly, so the segment after is not guarded by the value
EAGER_AFTER_GUARDED = {**EAGER_AFTER, **{
    _operand: {"CompiledFunction": 2, "Mul": 1},  # h * <value>; LIN2, LIN1 and + replayed
    _loss_value: {"CompiledFunction": 3, "Add": 1},  # <value> * 2 + reg(x): reg(x) replayed before the Add
    _two_reads: {"CompiledFunction": 3, "Mul": 2},
    _read_then_untraceable: {"CompiledFunction": 2, "Mul": 1, "Sin": 1},
    _return_expression: {"CompiledFunction": 2, "Mul": 1},
    _keyword_and_subscript: {"CompiledFunction": 2, "Mul": 1, "Index": 1},
    _called_by_index: {"CompiledFunction": 2, "Mul": 1},
}}


@pytest.fixture(params=["guarded", "torch"])
def float_policy(request):
    from retrograd._compile.compiled import config

    config.specialize_float = request.param == "guarded"
    yield request.param
    config.specialize_float = True


@pytest.mark.parametrize("fn", PROGRAMS, ids=lambda f: f.__name__)
def test_values_gradients_and_the_rest_replayed(fn, float_policy):
    compiled = retrograd.compile(fn)
    for seed in range(4):  # capture; split, segments capture; replays (a new input each call)
        ref_out, ref_text, ref_grads = _run(fn, seed)
        out, text, grads = _run(compiled, seed)
        np.testing.assert_array_equal(ref_out, out)
        assert text == ref_text
        for a, b in zip(ref_grads, grads):
            assert (a is None) == (b is None)
            np.testing.assert_array_equal(a, b)
    with count_ops() as ops:  # a fifth input: the segments replay (none is guarded by the values read)
        _quiet(compiled, retrograd.tensor(rand(4, 3, seed=9), requires_grad=True))
    assert ops == (EAGER_AFTER if float_policy == "torch" else EAGER_AFTER_GUARDED)[fn]


# ---------------------------------------------------------------------- side effects in order
def _ordered_calls(x):
    y = x * 2
    a, w = y.exp(), y.cos()
    z = rec("a", y + 1) * rec("b", x.sum()).item() + rec("c", y.mean()) * a[0, rec("d", 1)]
    w += rec("e", x.tanh()) * rec("f", y).max().item()  # `w` read first; an in-place add (its segment: eager)
    return z + w


def test_the_order_of_side_effects_is_eagers():
    compiled = retrograd.compile(_ordered_calls)
    for seed in range(4):
        LOG.clear()
        ref_out, ref_text, ref_grads = _run(_ordered_calls, seed)
        expected = list(LOG)
        LOG.clear()
        out, _, grads = _run(compiled, seed)
        assert LOG == expected == ["a", "b", "c", "d", "e", "f"]
        np.testing.assert_array_equal(ref_out, out)
        np.testing.assert_array_equal(ref_grads[0], grads[0])
    with count_ops() as ops:
        _quiet(compiled, retrograd.tensor(rand(4, 3, seed=9), requires_grad=True))
    assert ops.pop("CompiledFunction") >= 3 and "Exp" not in ops and "Tanh" not in ops  # replayed


# ---------------------------------------------------------------------- temporaries are dropped
_HELD = []


@retrograd.compiler.disable
def _note(t):
    _HELD[:] = [weakref.ref(t)]
    return t.sin()


@retrograd.compiler.disable
def _freed():
    return _HELD[0]() is None


def _drops(x):
    h = LIN2(_note(LIN1(x)))  # LIN1(x) goes to the call through a temporary
    return h * 2, _freed()


def test_the_driver_drops_a_temporary_once_read():
    compiled = retrograd.compile(_drops)
    with retrograd.no_grad():
        for seed in range(2):  # capture, then the segments' captures (which hold what they record)
            compiled(retrograd.tensor(rand(4, 3, seed=seed)))
        assert _drops(retrograd.tensor(rand(4, 3, seed=5)))[1]
        assert compiled(retrograd.tensor(rand(4, 3, seed=5)))[1]  # freed after the call, as eager's


# ---------------------------------------------------------------------- names read before the call
SCALE = [1.0]
HEAD = [LIN1]


@retrograd.compiler.disable
def _rebinds(t):
    """A call that rebinds the global and the attribute read before it in its statement."""
    global SCALE_NOW
    SCALE_NOW = SCALE_NOW + 100.0
    _HOLDER.lin = LIN2
    return t.sin()


SCALE_NOW = 1.0
_HOLDER = types.SimpleNamespace(lin=LIN1)


def _read_before_rebinding(x):
    y = x * 2
    z = SCALE_NOW * _HOLDER.lin(_rebinds(y))  # Python reads SCALE_NOW and _HOLDER.lin before _rebinds runs
    return z + 1


def test_a_global_or_attribute_read_before_the_breaking_call_is_the_value_before_it():
    global SCALE_NOW
    compiled = retrograd.compile(_read_before_rebinding)
    for seed in range(4):  # capture, the segments' captures, replays
        x = retrograd.tensor(rand(4, 3, seed=seed))
        SCALE_NOW, _HOLDER.lin = 1.0, LIN1
        expected = _read_before_rebinding(x)
        SCALE_NOW, _HOLDER.lin = 1.0, LIN1
        np.testing.assert_array_equal(compiled(x).detach().numpy(), expected.detach().numpy())
    SCALE_NOW, _HOLDER.lin = 1.0, LIN1
    with count_ops() as ops:
        compiled(retrograd.tensor(rand(4, 3, seed=9)))
    assert ops.get("CompiledFunction", 0) >= 1 and "Add" not in ops  # the rest (z + 1) replays


# ---------------------------------------------------------------------- conditional or repeated: eager
def _conditional(x, flag):
    y = x * 2
    a = y.tanh() + (flag and x.sum().item())  # `and`'s right side
    b = y.sin() * (x.mean().item() if flag else 1.0)  # one side of a conditional expression
    c = [y.cos() * x.max().item() for _ in range(2)][0]  # a comprehension: repeated
    d = y.sigmoid() * (n := x.min()).item() + n  # a walrus
    e = f"{x.sum().item():.4f} {y.abs().sum().item()}"  # f-string parts
    f = y.relu() * (lambda: x.sum().item())()  # a lambda
    return a + b + c + d + len(e) + f


@pytest.mark.parametrize("flag", [True, False])
def test_breaks_evaluated_conditionally_or_repeatedly_keep_their_statement_eager(flag):
    compiled = retrograd.compile(_conditional)
    for seed in range(4):
        x, x2 = (retrograd.tensor(rand(4, 3, seed=seed), requires_grad=True) for _ in range(2))
        ref, out = _conditional(x, flag), compiled(x2, flag)
        np.testing.assert_array_equal(ref.detach().numpy(), out.detach().numpy())
        ref.sum().backward()
        out.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), x2.grad.numpy())
    with count_ops() as ops:
        compiled(retrograd.tensor(rand(4, 3, seed=9), requires_grad=True), flag)
    assert {"Tanh", "Sin", "Cos", "Sigmoid", "Relu"} <= set(ops)  # each of those statements ran eagerly


# ---------------------------------------------------------------------- explain, as torch counts
def _torch_explain(fn):
    import torch

    @torch._dynamo.disable
    def t_untraceable(t):
        return t.sin()

    def t_linear(module):
        out = torch.nn.Linear(3, 3, dtype=torch.float64)
        with torch.no_grad():
            out.weight.copy_(torch.tensor(module.weight.detach().numpy()))
            out.bias.copy_(torch.tensor(module.bias.detach().numpy()))
        return out

    lin1, lin2 = t_linear(LIN1), t_linear(LIN2)
    names = dict(fn.__globals__, LIN1=lin1, LIN2=lin2, HEADS=[lin1, lin2], untraceable=t_untraceable,
                 retrograd=torch)
    torch_fn = types.FunctionType(fn.__code__, names, fn.__name__)
    torch._dynamo.reset()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        report = torch._dynamo.explain(torch_fn)(torch.tensor(rand(4, 3, seed=1)))
    return np.array([report.graph_count, report.graph_break_count])


@pytest.mark.parametrize("fn", PROGRAMS, ids=lambda f: f.__name__)
def test_explain_counts_as_torch(fn):
    expected = reference(lambda: _torch_explain(fn))
    report, _ = _quiet(retrograd.compiler.explain(fn), retrograd.tensor(rand(4, 3, seed=1)))
    assert [report.graph_count, report.graph_break_count] == list(expected)


# ---------------------------------------------------------------------- a training step
def _training(compiled):
    """20 SGD steps whose step logs `loss.item() * 1.0 + reg(w)` before backward(): (the logged values,
    the ops run eagerly on the last step (compiled), the parameters)."""
    retrograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = retrograd.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.MSELoss()
    w = model[2].weight

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss_val = loss.item() * 1.0 + reg(w)
        loss.backward()
        opt.step()
        return loss_val

    run = retrograd.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    logged, ops = [], None
    for i in range(20):
        x = retrograd.tensor(rng.standard_normal((8, 2)).astype(np.float32))
        y = retrograd.tensor(rng.standard_normal((8, 1)).astype(np.float32))
        with count_ops() if i == 19 and compiled else contextlib.nullcontext() as ops:
            logged.append(run(x, y).detach().numpy())
    return logged, ops, [p.detach().numpy() for p in model.parameters()]


@pytest.mark.usefixtures("torch_float_policy")  # (the counts: floats symbolic as torch's)
def test_a_training_step_logging_a_mixed_value_matches_eager_and_replays_the_rest():
    eager, _, eager_params = _training(False)
    compiled, ops, params = _training(True)
    for a, b in zip(eager + eager_params, compiled + params):
        np.testing.assert_array_equal(a, b)
    # all replayed after the .item(): the logged number is a symbolic scalar of the segment after, whose
    # `* 1.0 + reg(w)` ends its segment before backward() (its result requires grad)
    assert set(ops) == {"CompiledFunction"}
