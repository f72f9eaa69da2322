"""Symbolic scalars (src/retrograd/_compile/symbolic.py): a float argument that changes between calls
becomes an input of the capture after one recompile, as torch 2.13's automatic dynamic makes it a graph
input (specialize_float=False); a float read into Python (control flow, math, a creation function)
stays a guarded constant. Values and gradients bitwise eager's; compile counts as torch's
(``torch._dynamo.utils.counters['stats']['unique_graphs']``, recorded for the bare install).
These tests run under torch's policy (config.specialize_float = False); retrograd's default keeps
floats guarded constants (the last test says why)."""

import contextlib
import io
import math
import pickle
import statistics
import types
import warnings

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd._compile import symbolic
from tests.compile.compare import fresh_compiler, torch_float_policy  # noqa: F401
from tests.compile.test_resume import count_ops
from tests.helpers import rand, requires_torch
from tests.reference.store import reference

pytestmark = pytest.mark.usefixtures("torch_float_policy")

F = retrograd.nn.functional
VALUES = (0.5, 0.7, 0.9, 1.1, 0.7)


def _mul(x, s):
    return x * s


def _reflected(x, s):
    return (s - x) / s + s * x


def _derived(x, s):
    return x * (s * 2 + 1) - (-s) / 3 + x ** 2 * (1 / s)


def _clamp(x, s):
    return x.clamp(min=s) * s


def _pow(x, s):
    return x.abs() ** s


def _alpha(x, s):
    return retrograd.add(x, x.exp(), alpha=s)


def _leaky(x, s):
    return F.leaky_relu(x, s)


def _compare(x, s):
    return (x > s).float() * x


def _two_floats(x, s, t=1.0):
    return x * s + t


# (program, calls as (extra args) after x): each float argument changes once at least
DYNAMIC = [(_mul, [(v,) for v in VALUES]), (_reflected, [(v,) for v in VALUES]), (_derived, [(v,) for v in VALUES]),
           (_clamp, [(v,) for v in VALUES]), (_pow, [(v,) for v in VALUES]), (_alpha, [(v,) for v in VALUES]),
           (_leaky, [(v,) for v in VALUES]), (_compare, [(v,) for v in VALUES]),
           (_two_floats, [(0.5, 1.0), (0.7, 1.0), (0.9, 2.0), (0.3, 4.0)])]


def _both(f, x, extra, compiled):
    """(output, x's gradient) of f on a fresh leaf from array x."""
    t = retrograd.tensor(x, requires_grad=True)
    out = f(t, *extra)
    out.sum().backward()
    return out.detach().numpy(), t.grad.numpy()


def _compiles(c):
    return c._compiled.compiles


def _torch_compiles(fn, calls, x):
    """torch's graphs for ``fn`` called on x (or each of a list of arrays) with each of ``calls``."""
    import torch
    from torch._dynamo.utils import counters

    names = dict(fn.__globals__, retrograd=torch, F=torch.nn.functional)
    torch_fn = types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__)
    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(torch_fn, backend="eager")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for k, extra in enumerate(calls):
            compiled(torch.tensor(x[k] if isinstance(x, list) else x), *extra)
    return counters["stats"]["unique_graphs"]


@pytest.mark.parametrize("fn,calls", DYNAMIC, ids=lambda p: getattr(p, "__name__", ""))
def test_a_changing_float_argument_replays_one_graph_as_torch(fn, calls):
    x = rand(3, 4, seed=1).astype(np.float32)
    compiled = retrograd.compile(fn)
    for extra in calls:
        ref_out, ref_grad = _both(fn, x, extra, False)
        out, grad = _both(compiled, x, extra, True)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(grad, ref_grad)
        assert out.dtype == ref_out.dtype
    # (two floats: the second changes at the third call, a second recompile)
    assert _compiles(compiled) == reference(lambda: _torch_compiles(fn, calls, x)) == (3 if fn is _two_floats else 2)


def test_the_dynamic_graph_reads_the_value_at_each_call_with_no_eager_op():
    x = retrograd.tensor(rand(3, 4, seed=2), requires_grad=True)
    compiled = retrograd.compile(_derived)
    compiled(x, 0.5), compiled(x, 0.7)  # a constant, then a symbolic scalar
    for v in (0.25, -3.0, 1e30):
        with count_ops() as ops:
            out = compiled(x, v)
        assert ops == {"CompiledFunction": 1}
        np.testing.assert_array_equal(out.detach().numpy(), _derived(x, v).detach().numpy())
    assert _compiles(compiled) == 2


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "bool"])
def test_scalar_promotion_is_eagers(dtype):
    # NumPy's scalar-with-array rules as eager's: a Python float times a float32 array stays float32,
    # an integer or bool tensor times a float gives the default float dtype
    data = (rand(2, 3, seed=3) * 4).astype(dtype)
    f = lambda t, s: t * s + s  # noqa: E731
    compiled = retrograd.compile(f)
    for v in VALUES:
        t = retrograd.tensor(data)
        out, ref = compiled(t, v), f(t, v)
        assert out.dtype == ref.dtype
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert _compiles(compiled) == 2


def _branch(x, s):
    return x * 2 if s > 0 else x * 3


def _math(x, s):
    return x * math.sqrt(s)


def _numpy(x, s):
    return x * float(np.exp(s))


def _creation(x, s):
    return x + retrograd.full((3, 4), s)


def _shape(x, n):
    return x[:n] * 2


def _loop(x, n):
    for _ in range(n):
        x = x * 2
    return x


# a number read into Python, steering control flow or a shape: specialized (guarded by value), as torch
# guards it; torch's count can be lower where it guards a relation (s > 0) or traces the read (math.sqrt,
# full, a symbolic shape): each new value here is a recompile
SPECIALIZED = [(_branch, (0.5, 0.7, -0.9, 1.1), 3), (_math, (0.5, 0.7, 0.9, 1.1), 2),
               (_numpy, (0.5, 0.7, 0.9, 1.1), None), (_creation, (0.5, 0.7, 0.9, 1.1), 2),
               (_shape, (1, 2, 3), 2), (_loop, (1, 2, 3), 3)]


@pytest.mark.parametrize("fn,values,torch_count", SPECIALIZED, ids=lambda p: getattr(p, "__name__", ""))
def test_a_number_read_into_python_stays_guarded_by_its_value(fn, values, torch_count):
    x = rand(3, 4, seed=4).astype(np.float32)
    compiled = retrograd.compile(fn)
    for v in (*values, values[0]):
        ref_out, ref_grad = _both(fn, x, (v,), False)
        out, grad = _both(compiled, x, (v,), True)  # (a stale constant would give the first value's result)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(grad, ref_grad)
    assert _compiles(compiled) == len(values)
    if torch_count is not None:
        assert reference(lambda: _torch_compiles(fn, [(v,) for v in values], x)) == torch_count


def test_a_float_printed_is_read():
    def f(x, s):
        print(f"scale {s:.2f}")
        return x * s

    compiled = retrograd.compile(f)
    x = retrograd.tensor(rand(3, seed=5))
    for v in VALUES:
        out, text = _quiet(compiled, x, v)
        assert text == f"scale {v:.2f}\n"
        np.testing.assert_array_equal(out.numpy(), (x * v).numpy())


def _quiet(f, *args):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        return f(*args), out.getvalue()


def test_a_float_returned_or_kept_is_a_plain_float():
    kept = []

    def f(x, s):
        kept.append(s * 2)
        return x * s, s + 1

    compiled = retrograd.compile(f)
    x = retrograd.tensor(rand(3, seed=6))
    for v in VALUES:
        out, number = compiled(x, v)
        assert type(number) is float and number == v + 1
    assert all(float(k) in (2 * v for v in VALUES) for k in kept)
    assert symbolic._active[0] is None


# ---------------------------------------------------------------------- a value read, then resumed
def _item(x):
    h = x * 2
    return h * h.mean().item()


def test_item_then_multiply_resumes_compiled_as_torch():
    compiled = retrograd.compile(_item)
    for seed in range(5):
        a = rand(3, 4, seed=10 + seed)
        ref_out, ref_grad = _both(lambda t: _item(t), a, (), False)
        out, grad = _both(compiled, a, (), True)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(grad, ref_grad)
    with count_ops() as ops:
        compiled(retrograd.tensor(rand(3, 4, seed=20), requires_grad=True))
    assert ops == {"CompiledFunction": 2}  # both segments replayed: `h * <value>` in the second
    segments = compiled._compiled.split.plan.segments
    total = compiled._compiled.compiles + sum(s.compiles for s in segments) - 1  # (the first, broken capture)
    xs = [rand(3, 4, seed=10 + seed) for seed in range(5)]
    assert total == reference(lambda: _torch_compiles(_item, [()] * 5, xs)) == 3


# ---------------------------------------------------------------------- training
def _training(compiled, write_lr=False):
    """12 steps whose loss is scaled by a warm-up factor that changes every step (or that sets the
    optimizer's lr itself): the losses, the parameters, the ops of the last step, the compiled step."""
    retrograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = retrograd.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(x, y, factor):
        if write_lr:
            for g in opt.param_groups:
                g["lr"] = factor
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean() * factor
        loss.backward()
        opt.step()
        return loss

    run = retrograd.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    losses, ops = [], None
    for i in range(12):
        x = retrograd.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        y = retrograd.tensor(rng.standard_normal((4, 2)).astype(np.float32))
        factor = [0.1, 0.2][i % 2] if write_lr else min(1.0, (i + 1) / 10)
        with count_ops() if compiled and i == 11 else contextlib.nullcontext() as ops:
            losses.append(run(x, y, factor).detach().numpy())
    return losses, [p.detach().numpy() for p in model.parameters()], ops, run


def test_a_training_step_with_a_changing_float_replays_after_one_recompile():
    ref_losses, ref_params, _, _ = _training(False)
    losses, params, ops, run = _training(True)
    for a, b in zip(ref_losses + ref_params, losses + params):
        np.testing.assert_array_equal(a, b)
    assert ops == {"CompiledFunction": 0} or set(ops) <= {"CompiledFunction"}  # (a training run: no op at all)
    assert _compiles(run) == 2


def test_a_step_writing_the_optimizers_lr_runs_eagerly_with_eagers_result():
    # the replay would not run `g["lr"] = factor`: the optimizer would step with the lr another call set
    ref_losses, ref_params, _, _ = _training(False, write_lr=True)
    losses, params, _, run = _training(True, write_lr=True)
    for a, b in zip(ref_losses + ref_params, losses + params):
        np.testing.assert_array_equal(a, b)
    assert "param_groups" in run._compiled.last_breaks[0].reason


# ---------------------------------------------------------------------- guarded globals and attributes
SCALE = 0.5


def _global(x):
    return x * SCALE + SCALE


class _Tempered(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.temp = 0.5

    def forward(self, x):
        return self.lin(x) / self.temp


def test_a_global_float_that_changes_becomes_an_input_as_torch():
    global SCALE
    compiled = retrograd.compile(_global)
    x = rand(3, 4, seed=7).astype(np.float32)
    for v in VALUES:
        SCALE = v
        np.testing.assert_array_equal(_both(compiled, x, (), True)[0], _both(_global, x, (), False)[0])
    assert type(SCALE) is float  # (the SymFloat it held while the capture ran is gone)

    def torch_count():
        global SCALE
        import torch

        names = dict(_global.__globals__)
        fn = types.FunctionType(_global.__code__, names, "_global")
        torch._dynamo.reset()
        from torch._dynamo.utils import counters

        counters.clear()
        c = torch.compile(fn, backend="eager")
        for v in VALUES:
            names["SCALE"] = v
            c(torch.tensor(x))
        return counters["stats"]["unique_graphs"]

    assert _compiles(compiled) == reference(torch_count) == 2
    with count_ops() as ops:
        SCALE = -2.5
        out = compiled(retrograd.tensor(x, requires_grad=True))
    assert ops == {"CompiledFunction": 1}
    np.testing.assert_array_equal(out.detach().numpy(), x * np.float32(-2.5) + np.float32(-2.5))


def test_a_module_attribute_and_a_closure_float_that_change_become_inputs():
    retrograd.manual_seed(0)
    model = _Tempered()
    compiled = retrograd.compile(model)
    x = retrograd.tensor(rand(2, 4, seed=8).astype(np.float32))
    for v in VALUES:
        model.temp = v
        np.testing.assert_array_equal(compiled(x).detach().numpy(), model(x).detach().numpy())
    assert compiled._compiled.compiles == 2 and type(model.temp) is float
    scale = 0.5

    def closure(t):
        return t * scale

    f = retrograd.compile(closure)
    for scale in VALUES:  # noqa: B007  (the closure's cell)
        np.testing.assert_array_equal(f(x).numpy(), (x * scale).numpy())
    assert f._compiled.compiles == 2


def test_a_global_float_steering_control_flow_stays_guarded():
    global SCALE

    def fn(x):
        return x * 2 if SCALE > 0.6 else x * SCALE

    compiled = retrograd.compile(fn)
    x = retrograd.tensor(rand(3, seed=9))
    for v in (0.5, 0.7, 0.9, 0.3, 0.5):
        SCALE = v
        np.testing.assert_array_equal(compiled(x).numpy(), fn(x).numpy())
    assert _compiles(compiled) == 4  # (one per value: the comparison read it)


def _scale_twice():
    return SCALE * 2


class _MathTemper(nn.Module):
    def __init__(self):
        super().__init__()
        self.temp = 0.5

    def forward(self, x):
        return x * math.exp(self.temp)


@pytest.mark.parametrize("how", ["global", "returned", "attribute"])
def test_a_guarded_float_a_math_function_reads_stays_guarded(how):
    # math's C functions read a float without calling its methods: seen from the calling frame
    global SCALE
    model = _MathTemper()
    fn = {"global": lambda x: x * math.sqrt(SCALE), "returned": lambda x: x * math.exp(_scale_twice()),
          "attribute": model}[how]
    compiled = retrograd.compile(fn)
    x = retrograd.tensor(rand(3, seed=11))
    for v in (0.5, 0.7, 0.9, 1.1):
        SCALE = model.temp = v
        np.testing.assert_array_equal(compiled(x).numpy(), fn(x).numpy())


def _index_read(x, idx):
    h = x * 3
    y = h[idx.sum().item()] * 2  # an int value read used as an index: the indexing runs eagerly
    return y.sum()


def test_a_value_read_used_as_an_index_keeps_the_segment_after_unguarded_by_it():
    compiled = retrograd.compile(_index_read)
    x = retrograd.tensor(rand(8, 4, seed=12))
    for i in range(7):
        idx = retrograd.tensor([i])
        np.testing.assert_array_equal(compiled(x, idx).numpy(), _index_read(x, idx).numpy())
    # (were the int an argument of the segment after, each index would be a recompile)
    assert [s.compiles for s in compiled._compiled.split.plan.segments] == [1, 1]


def test_a_replayed_clamp_gradient_is_a_float_array_as_eagers():
    # clamp's backward selects the gradient by a bit mask: a float view of a uint32 array; a step's backward
    # delivering it took that array (of the same shape) as .grad, which held the float bits as uint32 integers
    def step(x, s):
        x.clamp(min=s).sum().backward()

    compiled = retrograd.compile(step)
    data = rand(3, 4, seed=13).astype(np.float32)
    for v in (0.1, 0.3, -0.2, 0.5):
        x, ref = retrograd.tensor(data, requires_grad=True), retrograd.tensor(data, requires_grad=True)
        compiled(x, v), step(ref, v)
        assert x.grad.numpy().dtype == np.float32
        np.testing.assert_array_equal(x.grad.numpy(), ref.grad.numpy())


def _signed(x, s):
    return x * float(s)  # (float() reads the value: a constant of the graph, guarded by it)


def test_negative_zero_is_not_replayed_as_zero():
    # -0.0 == 0.0 (and hashes so), but x * -0.0 is -0.0: a guard on a zero float checks its sign
    global SCALE
    x = rand(3, seed=14)
    compiled = retrograd.compile(_signed)
    for v in (0.0, -0.0, 0.0, -0.0, np.float64(0.0), np.float64(-0.0)):
        out = compiled(retrograd.tensor(x), v).numpy()
        np.testing.assert_array_equal(np.signbit(out), np.signbit(_signed(retrograd.tensor(x), v).numpy()))
    f = lambda t: t * float(SCALE)  # noqa: E731
    fn = retrograd.compile(f)
    for SCALE in (0.0, -0.0, 0.0, -0.0):  # noqa: B007  (a guarded global)
        t = retrograd.tensor(x)
        np.testing.assert_array_equal(np.signbit(fn(t).numpy()), np.signbit(f(t).numpy()))


def _in_attribute(x, s):
    box = types.SimpleNamespace(s=s)

    def scale():  # (C code reading an object's attribute in a callee)
        return math.exp(box.s)

    return x * scale()


def _pickled(x, s):
    return x * pickle.loads(pickle.dumps(s)) * statistics.mean([s, 1.0])


@pytest.mark.parametrize("fn", [_in_attribute, _pickled], ids=lambda f: f.__name__)
def test_a_float_in_an_attribute_pickled_or_rebuilt_by_its_type_is_eagers(fn):
    # math.exp read one kept in an object's attribute unseen (its first value replayed); pickle refused the
    # SymFloat (PicklingError), statistics.mean rebuilt one by its type without a slot (AttributeError)
    compiled = retrograd.compile(fn)
    x = rand(3, 4, seed=15).astype(np.float32)
    for v in VALUES:
        out, grad = _both(compiled, x, (v,), True)
        ref_out, ref_grad = _both(fn, x, (v,), False)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(grad, ref_grad)


def _root(x, s):
    return x * s ** 0.5


def test_a_power_whose_type_the_value_decides_stays_guarded():
    # s ** 0.5 is complex for s < 0: replayed as a symbolic scalar, -0.5 gave a complex64 tensor where eager
    # raises TypeError; such a power reads the value (an integral exponent or a base >= 0 need not)
    compiled = retrograd.compile(_root)
    x = retrograd.tensor(rand(3, seed=16).astype(np.float32))
    for v in (0.5, 0.7):
        np.testing.assert_array_equal(compiled(x, v).numpy(), _root(x, v).numpy())
    with pytest.raises(TypeError, match="complex"):
        _root(x, -0.5)
    with pytest.raises(TypeError, match="complex"):
        compiled(x, -0.5)
    f = retrograd.compile(_derived)  # (s ** 2-like powers and 1 / s stay symbolic)
    for v in VALUES:
        np.testing.assert_array_equal(f(x, v).numpy(), _derived(x, v).numpy())
    assert _compiles(f) == 2


@pytest.mark.parametrize("specialize", [True, False])
def test_old_style_formatting_of_a_float_value_read_is_right_under_both_policies(specialize):
    """'%.4f' % v reads the float in C without calling a method of it: a symbolic float replayed the string
    of its capture (the logged loss of call 4 printed call 3's). The default guards by value; under torch's
    policy the stack watch (stack_watch.py) sees the str % float instruction and specializes the value
    (where the watch cannot run, the profile hook alone missed it: the float policy's default stays)."""
    from retrograd._compile import stack_watch
    from retrograd._compile.compiled import config

    config.specialize_float = specialize
    w = retrograd.tensor(rand(4, 3), requires_grad=True)

    def step(x):
        loss = (x @ w).pow(2).mean()
        v = loss.item()
        print("%.4f" % v)
        return loss

    f = retrograd.compile(step)
    logged, expected = io.StringIO(), io.StringIO()
    for i in range(4):
        x = retrograd.tensor(rand(5, 4, seed=i))
        with contextlib.redirect_stdout(expected):
            step(x)
        with contextlib.redirect_stdout(logged):
            f(x)
    assert (logged.getvalue() == expected.getvalue()) is (specialize or stack_watch._SUPPORTED)


# ---------------------------------------------------------------------- symbolic ints
def _int_mul(x, n):
    return x * n


def _int_reflected(x, n):
    return (n - x) / n + n * x + (x + n) ** 2


def _int_derived(x, n):
    return x * (n * 2 + 1) - (-n) // 3 + x ** 2 * (n % 4) + x / (n + 1)


def _int_pow(x, n):
    return x.abs() ** n + x ** (n - 1)


def _int_times_float(x, n):
    return x * (2.5 * n) + x * (n * 0.5) + x / (n / 4)


def _int_and_float(x, n, s=1.0):
    return x * n + s


# (program, calls after x): each int argument changes once at least; torch's graphs for these calls
# (torch._dynamo.utils.counters['stats']['unique_graphs'], backend='eager'; test_torch_counts checks them)
INT_DYNAMIC = [(_int_mul, [(v,) for v in (2, 3, 4, 5, 3)], 2), (_int_reflected, [(v,) for v in (2, 3, 4, 5)], 2),
               (_int_derived, [(v,) for v in (2, 3, 4, 5)], 2), (_int_pow, [(v,) for v in (2, 3, 4, 1)], 2),
               (_int_times_float, [(v,) for v in (2, 3, 4, 5)], 2),
               (_int_and_float, [(2, 1.0), (3, 1.0), (4, 2.0), (5, 0.5)], 3)]


@pytest.mark.parametrize("fn,calls,torch_count", INT_DYNAMIC, ids=lambda p: getattr(p, "__name__", ""))
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_a_changing_int_argument_replays_one_graph_as_torch(fn, calls, torch_count, dtype):
    from retrograd._compile import stack_watch

    x = (rand(3, 4, seed=21) * 3).astype(dtype)
    compiled = retrograd.compile(fn)
    grad = dtype == "float32"
    for extra in calls:
        if grad:
            ref_out, ref_grad = _both(fn, x, extra, False)
            out, out_grad = _both(compiled, x, extra, True)
            np.testing.assert_array_equal(out_grad, ref_grad)
        else:
            ref_out, out = fn(retrograd.tensor(x), *extra).numpy(), compiled(retrograd.tensor(x), *extra).numpy()
        np.testing.assert_array_equal(out, ref_out)
        assert out.dtype == ref_out.dtype  # (an int tensor times an int stays an int tensor, as eager's)
    if stack_watch._SUPPORTED:
        assert _compiles(compiled) == torch_count
    else:  # (no stack watch: every int a guarded constant)
        assert _compiles(compiled) == len({extra for extra in calls})


def test_the_dynamic_int_graph_reads_the_value_at_each_call_with_no_eager_op():
    from retrograd._compile import stack_watch

    x = retrograd.tensor(rand(3, 4, seed=22), requires_grad=True)
    compiled = retrograd.compile(_int_derived)
    compiled(x, 2), compiled(x, 3)
    for v in (7, -4, 10 ** 30, 1):
        with count_ops() as ops:
            out = compiled(x, v)
        if stack_watch._SUPPORTED:
            assert ops == {"CompiledFunction": 1}
        np.testing.assert_array_equal(out.detach().numpy(), _int_derived(x, v).detach().numpy())


def test_an_int_outside_the_tensors_dtype_range_is_eagers():
    # an int8 tensor plus 300: the op's forward takes it as eager does (the replay runs that forward, not a
    # bare NumPy add, for a symbolic int)
    f = lambda t, n: t + n  # noqa: E731
    compiled = retrograd.compile(f)
    t = retrograd.tensor(np.array([1, -2, 100], dtype=np.int8))
    for n in (1, 2, 300, -300, 2 ** 40):
        try:
            ref = f(t, n).numpy()
        except Exception as e:  # noqa: BLE001  (whatever eager raises, the compiled call raises too)
            with pytest.raises(type(e)):
                compiled(t, n)
            continue
        out = compiled(t, n).numpy()
        assert out.dtype == ref.dtype
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dynamic,torch_count", [(None, 2), (False, 4), (True, 1)])
def test_compile_dynamic_argument_as_torch(dynamic, torch_count):
    """dynamic=False: every new value recompiles; None: symbolic after one recompile; True: symbolic from
    the first capture (torch's counts for x * n with n = 2, 3, 4, 5, 3; shapes stay static here)."""
    from retrograd._compile import stack_watch

    compiled = retrograd.compile(_int_mul, dynamic=dynamic)
    x = rand(3, 4, seed=23).astype(np.float32)
    for n in (2, 3, 4, 5, 3):
        np.testing.assert_array_equal(compiled(retrograd.tensor(x), n).numpy(), x * np.float32(n))
    assert _compiles(compiled) == (torch_count if stack_watch._SUPPORTED or dynamic is False else 4)
    g = retrograd.compile(_mul, dynamic=True)  # (a float argument too, under retrograd's float default)
    for v in VALUES:
        np.testing.assert_array_equal(g(retrograd.tensor(x), v).numpy(), (retrograd.tensor(x) * v).numpy())
    assert _compiles(g) == 1


def _int_item(x, k):
    h = x * 2
    return h * k.sum().item()


def test_an_int_value_read_then_multiplied_resumes_with_a_symbolic_int():
    # .item() of an int tensor gives an int, an argument of the segment after: symbolic after one recompile
    from retrograd._compile import stack_watch

    compiled = retrograd.compile(_int_item)
    x = rand(3, 4, seed=24).astype(np.float32)
    for v in (2, 3, 4, 5, 6):
        k = retrograd.tensor([v, 1])
        np.testing.assert_array_equal(compiled(retrograd.tensor(x), k).numpy(),
                                      _int_item(retrograd.tensor(x), k).numpy())
    after = compiled._compiled.split.plan.segments[-1]
    assert after.compiles == (2 if stack_watch._SUPPORTED else 4)  # (the first value ran in the whole capture)


# torch 2.13's graph counts for the programs above (recorded here: the bare install has no torch)
TORCH_COUNTS = {fn.__name__: (calls, count) for fn, calls, count in INT_DYNAMIC}


@requires_torch
def test_torch_counts():
    x = (rand(3, 4, seed=21) * 3).astype(np.float32)
    for fn, calls, count in INT_DYNAMIC:
        assert _torch_compiles(fn, calls, x) == count, fn.__name__
    import torch
    from torch._dynamo.utils import counters

    for dynamic, count in ((None, 2), (False, 4), (True, 1)):
        torch._dynamo.reset()
        counters.clear()
        c = torch.compile(lambda t, n: t * n, backend="eager", dynamic=dynamic)
        for n in (2, 3, 4, 5, 3):
            c(torch.tensor(x), n)
        assert counters["stats"]["unique_graphs"] == count
    item = types.FunctionType(_int_item.__code__, {"__builtins__": __builtins__}, "_int_item")
    torch._dynamo.reset()
    counters.clear()
    c = torch.compile(item, backend="eager")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for v in (2, 3, 4, 5, 6):
            c(torch.tensor(x), torch.tensor([v, 1]))
    assert counters["stats"]["unique_graphs"] == 3  # (the graph before .item(), and the one after: twice)


def test_a_training_step_with_a_step_number_replays_after_one_recompile():
    # the step number scales the loss (recorded Python arithmetic, the op's int operand): one graph for all
    # steps from the second on, losses and parameters bitwise eager's
    from retrograd._compile import stack_watch

    def run(compiled):
        retrograd.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
        opt = retrograd.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y, i):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean() * (i % 3 + 1) / (i + 2)
            loss.backward()
            opt.step()
            return loss

        f = retrograd.compile(step) if compiled else step
        rng = np.random.default_rng(1)
        losses = []
        for i in range(10):
            x = retrograd.tensor(rng.standard_normal((4, 3)).astype(np.float32))
            y = retrograd.tensor(rng.standard_normal((4, 2)).astype(np.float32))
            losses.append(f(x, y, i).detach().numpy())
        return losses + [p.detach().numpy() for p in model.parameters()], f

    ref, _ = run(False)
    out, f = run(True)
    for a, b in zip(ref, out):
        np.testing.assert_array_equal(a, b)
    assert _compiles(f) == (2 if stack_watch._SUPPORTED else 8)  # (8: the recompile limit, then eager)


def test_dynamic_false_keeps_a_changing_global_float_a_guarded_constant():
    # (under torch's float policy a changed global float becomes an input; dynamic=False makes nothing dynamic)
    global SCALE
    compiled = retrograd.compile(_global, dynamic=False)
    x = rand(3, 4, seed=25).astype(np.float32)
    for v in VALUES:
        SCALE = v
        np.testing.assert_array_equal(_both(compiled, x, (), True)[0], _both(_global, x, (), False)[0])
    assert _compiles(compiled) == len(set(VALUES))
