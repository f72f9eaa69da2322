"""Value guards (value_guards.py): the Python values a capture read — globals, closure cells,
attributes of modules and objects — are guarded; a change recaptures (toward the recompile
limit), an unchanged value replays, a function that changes what it read runs eagerly."""

import sys
import warnings

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd._compile import capture as _capture
from tests.compile.compare import fresh_compiler  # noqa: F401
from tests.helpers import rand

SCALE = 2.0
FACTOR = 3.0
USE_RELU = True
WEIGHTS = [1.0, 2.0]
CALLS = 0


@pytest.fixture
def captures(monkeypatch):
    """Counts captures (each a recorded run of a compiled function or segment)."""
    count = [0]
    run = _capture.Capture.run

    def counted(self, *args):
        count[0] += 1
        return run(self, *args)

    monkeypatch.setattr(_capture.Capture, "run", counted)
    return count


@pytest.fixture
def restore_globals():
    saved = {k: globals()[k] for k in ("SCALE", "FACTOR", "USE_RELU", "WEIGHTS", "CALLS")}
    yield
    globals().update(saved)
    WEIGHTS[:] = [1.0, 2.0]


pytestmark = pytest.mark.usefixtures("restore_globals")


def _x(seed=0):
    return retrograd.tensor(rand(2, 3, seed=seed).astype(np.float32))


def _same(compiled, eager, *args):
    np.testing.assert_array_equal(compiled(*args).detach().numpy(), eager(*args).detach().numpy())


class _Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.temp = 1.0

    def forward(self, x):
        return self.lin(x) / self.temp * SCALE


def test_a_global_and_a_module_attribute_recapture_when_changed(captures):
    global SCALE
    retrograd.manual_seed(0)
    m = _Scaled()
    cm, x = retrograd.compile(m), _x()
    _same(cm, m, x)
    SCALE = 3.0
    _same(cm, m, x)
    m.temp = 0.5
    _same(cm, m, x)
    assert captures[0] == 3
    _same(cm, m, x)  # unchanged: replayed
    assert captures[0] == 3


def test_unchanged_values_replay_without_a_new_capture(captures):
    retrograd.manual_seed(0)
    m = _Scaled()
    cm, x = retrograd.compile(m), _x()
    for _ in range(4):
        _same(cm, m, x)
    assert captures[0] == 1 and cm(x).grad_fn.name() == "CompiledFunctionBackward"


def test_a_closure_cell():
    def make():
        k = 2.0

        def fn(x):
            return x * k

        def set_k(v):
            nonlocal k
            k = v

        return fn, set_k

    fn, set_k = make()
    f, x = retrograd.compile(fn), _x()
    _same(f, fn, x)
    set_k(5.0)
    _same(f, fn, x)


def _helper(x):
    return x * FACTOR


def test_a_global_read_by_a_function_the_compiled_function_calls():
    global FACTOR

    def fn(x):
        return _helper(x) + 1

    f, x = retrograd.compile(fn), _x()
    _same(f, fn, x)
    FACTOR = -1.5
    _same(f, fn, x)


class _Scaler:
    def __init__(self):
        self.factor = 2.0
        self.config = type("Config", (), {})()
        self.config.shift = 1.0

    def apply(self, x):
        return x * self.factor + self.config.shift


def test_an_attribute_read_by_a_method_of_another_object():
    scaler = _Scaler()

    def fn(x):
        return scaler.apply(x)

    f, x = retrograd.compile(fn), _x()
    _same(f, fn, x)
    scaler.factor = 7.0
    _same(f, fn, x)
    scaler.config.shift = -4.0  # one object further down
    _same(f, fn, x)


class _Factor:
    def __init__(self, s):
        self.s = s

    def apply(self, x):
        return x * self.s


class _TwoFactors(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.factors = [_Factor(2.0), _Factor(3.0)]

    def forward(self, x):
        h = self.lin(x)
        for f in self.factors:
            h = f.apply(h)
        return h


def test_a_method_run_on_two_instances_guards_both(captures):
    retrograd.manual_seed(0)
    m = _TwoFactors()
    cm, x = retrograd.compile(m), _x()
    for _ in range(2):
        _same(cm, m, x)
    m.factors[1].s = 100.0  # (the second self of one code object: its attributes are guarded too)
    _same(cm, m, x)
    m.factors[0].s = -1.0
    _same(cm, m, x)
    assert captures[0] == 3


def _scale_by(k):
    def scale(x):
        return x * k

    return scale


def test_two_closures_of_one_code_guard_both_cells():
    def set_cell(f, v):
        f.__closure__[0].cell_contents = v

    scales = [_scale_by(2.0), _scale_by(3.0)]

    def fn(x):
        for s in scales:
            x = s(x)
        return x

    f, x = retrograd.compile(fn), _x()
    _same(f, fn, x)
    set_cell(scales[1], 7.0)
    _same(f, fn, x)
    set_cell(scales[0], -1.0)
    _same(f, fn, x)


def test_a_bool_flag_switches_the_branch():
    global USE_RELU

    def fn(x):
        return x.relu() if USE_RELU else x.tanh()

    f, x = retrograd.compile(fn), _x()
    _same(f, fn, x)
    USE_RELU = False
    _same(f, fn, x)
    USE_RELU = True
    _same(f, fn, x)


def test_an_attribute_of_a_library_module_called():
    retrograd.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 3), nn.LeakyReLU(0.1))
    cm, x = retrograd.compile(m), _x()
    _same(cm, m, x)
    m[1].negative_slope = 0.5
    _same(cm, m, x)


def test_a_list_changed_in_place():
    def fn(x):
        return x * WEIGHTS[0] + WEIGHTS[1]

    f, x = retrograd.compile(fn), _x()
    _same(f, fn, x)
    WEIGHTS[1] = 10.0
    _same(f, fn, x)


def test_a_function_that_changes_what_it_read_runs_eagerly(captures):
    def fn(x):
        global CALLS
        CALLS += 1
        return x * 2

    f, x = retrograd.compile(fn), _x()
    for n in range(1, 4):
        f(x)
        assert CALLS == n
    assert captures[0] == 1  # not captured again: the function runs eagerly for this guard set


def test_the_recompile_limit_warns_after_eight_values_and_stays_right():
    global SCALE

    def fn(x):
        return x * SCALE

    f, x = retrograd.compile(fn), _x()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for v in range(10):
            SCALE = v + 1  # (an int: a float that changes becomes an input, see test_symbolic_scalars.py)
            _same(f, fn, x)
    limit = [w for w in caught if "recompile_limit" in str(w.message)]
    assert len(limit) == 1 and "G['SCALE'] == 8 (now 9)" in str(limit[0].message)


def test_a_segment_after_a_graph_break_reads_its_globals_at_each_call():
    global SCALE

    def fn(x):
        y = x * 2
        print("step")
        return y * SCALE

    f, x = retrograd.compile(fn), _x()
    for v in (2.0, 2.0, 3.0, 3.0, -1.0):
        SCALE = v
        _same(f, fn, x)


def test_a_learning_rate_changed_between_calls_takes_effect():
    def run(compiled):
        retrograd.manual_seed(0)
        model = nn.Linear(3, 1)
        opt = retrograd.optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            opt.step()
            return loss

        f = retrograd.compile(step) if compiled else step
        losses = []
        for i in range(6):
            if i == 3:
                opt.param_groups[0]["lr"] = 0.5
            losses.append(f(_x(i)).item())
        return losses, model.weight.detach().numpy()

    (a, wa), (b, wb) = run(False), run(True)
    assert a == b
    np.testing.assert_array_equal(wa, wb)


class _Counting(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        self.last_rows = x.shape[0]
        return x * 2


def test_a_module_writing_its_attributes_runs_eagerly_and_counts_each_call():
    m = _Counting()
    cm, x = retrograd.compile(m), _x()
    for n in range(1, 4):
        _same(cm, lambda a: a * 2, x)
        assert m.calls == n


class _Remembering(nn.Module):
    def forward(self, x):
        self.last_rows = x.shape[0]  # a new attribute: a replay would not set it
        return x * 2


def test_a_module_setting_a_new_attribute_runs_eagerly():
    m = _Remembering()
    cm = retrograd.compile(m)
    cm(_x())
    del m.last_rows
    cm(_x())
    assert m.last_rows == 2


def test_an_attribute_of_a_users_python_module(tmp_path, monkeypatch):
    (tmp_path / "vg_hparams.py").write_text("scale = 2.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import vg_hparams

    def fn(x):
        return x * vg_hparams.scale

    try:
        f, x = retrograd.compile(fn), _x()
        _same(f, fn, x)
        vg_hparams.scale = 5.0
        _same(f, fn, x)
    finally:
        import sys

        sys.modules.pop("vg_hparams", None)


def test_under_a_tracer_or_a_profiler_the_values_are_still_guarded():
    import cProfile
    import sys

    global FACTOR

    def fn(x):
        return _helper(x) * SCALE

    def tracer(frame, event, arg):  # a tracer holds sys.settrace: the recorder uses sys.setprofile
        return None

    f, x = retrograd.compile(fn), _x()
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        _same(f, fn, x)
        FACTOR = 4.0  # read by the helper
        _same(f, fn, x)
    finally:
        sys.settrace(previous)
    g = retrograd.compile(fn)
    profiler = cProfile.Profile()  # a tracer and a C profiler: the compiled function's own reads
    sys.settrace(tracer)
    profiler.enable()
    try:
        _same(g, fn, x)
        globals()["SCALE"] = -2.0
        _same(g, fn, x)
    finally:
        profiler.disable()
        sys.settrace(previous)


def test_a_namedtuple_attribute_replaced():
    import collections

    Hyper = collections.namedtuple("Hyper", "scale shift")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hyper = Hyper(2.0, 1.0)

        def forward(self, x):
            return x * self.hyper.scale + self.hyper.shift

    m = Net()
    cm, x = retrograd.compile(m), _x()
    _same(cm, m, x)
    m.hyper = Hyper(-3.0, 1.0)
    _same(cm, m, x)


def test_a_recorder_start_that_raises_leaves_nothing_installed(monkeypatch):
    from retrograd._compile import value_guards

    start = value_guards.Recorder.start

    def failing(self):
        start(self)  # (its hook installed, then a failure)
        raise RuntimeError("start failed")

    monkeypatch.setattr(value_guards.Recorder, "start", failing)
    f = retrograd.compile(lambda x: x * 2.0)
    with pytest.raises(RuntimeError, match="start failed"):
        f(_x())
    assert sys.gettrace() is None and not _capture._active


# ---------------------------------------------------------------------- attributes no code reads
class _Policy(nn.Module):
    """The actor-critic example's shape: lists on the module that the training loop appends to between
    calls, never read by forward."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.saved_actions, self.rewards, self.episode = [], [], 0

    def forward(self, x):
        return self.lin(x).softmax(-1)


def test_attributes_no_code_reads_do_not_recapture(captures):
    retrograd.manual_seed(0)
    m = _Policy()
    cm = retrograd.compile(m)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no recompile-limit warning)
        for i in range(12):
            out = cm(_x(i))
            m.saved_actions.append(out)
            m.rewards.append(float(i))
            m.episode += 1
            np.testing.assert_array_equal(out.detach().numpy(), m(_x(i)).detach().numpy())
    assert captures[0] == 1


class _ReadsItsList(_Policy):
    def forward(self, x):
        y = self.lin(x)
        for w in self.weights:
            y = y * w
        return y


class _ReadsByComputedName(_Policy):
    def forward(self, x):
        return self.lin(x) * getattr(self, "wei" + "ghts")[0]


class _DropoutWithCount(nn.Dropout):  # (retrograd's Dropout.forward reads p: its attributes stay guarded)
    def __init__(self):
        super().__init__(0.0)
        self.calls = 0


@pytest.mark.parametrize("cls", [_ReadsItsList, _ReadsByComputedName])
def test_attributes_the_code_reads_still_recapture_when_changed(cls, captures):
    retrograd.manual_seed(0)
    m = cls()
    m.weights = [2.0]
    cm, x = retrograd.compile(m), _x()
    _same(cm, m, x)
    m.weights[0] = 5.0  # changed in place: a replay of the first capture would multiply by 2
    _same(cm, m, x)
    assert captures[0] == 2


def test_attributes_a_library_forward_reads_still_recapture_when_changed(captures):
    m = _DropoutWithCount()
    cm, x = retrograd.compile(m), _x()
    _same(cm, m, x)
    m.p = 1.0  # read by retrograd's Dropout.forward, which is not traced: every attribute stays guarded
    np.testing.assert_array_equal(cm(x).detach().numpy(), np.zeros((2, 3), np.float32))
    assert captures[0] == 2


# ---------------------------------------------------------------------- random numbers drawn in Python
_RNG = np.random.default_rng(0)
_DATA = retrograd.arange(100.0)


def _draw_from_a_global_generator(x):
    s = _RNG.integers(0, 90)
    return _DATA[s:s + 3] * x


def _draw_from_numpys_global_state(x):
    return x * float(np.random.random_sample())


def _draw_from_pythons_random(x):
    import random

    return x * random.random()


def _draw_from_a_given_generator(x, rng):
    return x * rng.random()


class _Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.rng = np.random.RandomState(0)

    def forward(self, x):
        return x + self.rng.uniform()


@pytest.mark.parametrize("fn", [_draw_from_a_global_generator, _draw_from_numpys_global_state,
                                _draw_from_pythons_random, _draw_from_a_given_generator, _Noisy()])
def test_numbers_drawn_from_numpys_or_pythons_generators_are_drawn_at_each_call(fn):
    # a replay would reuse the first call's draw (a slice's start, a scale): the capture breaks there and
    # the function runs eagerly, drawing anew at each call
    compiled = retrograd.compile(fn)
    extra = (np.random.default_rng(1),) if fn is _draw_from_a_given_generator else ()
    outs = [compiled(retrograd.ones(3), *extra).numpy() for _ in range(4)]
    assert all(not np.array_equal(outs[0], o) for o in outs[1:])
    report = retrograd.compiler.explain(compiled)(retrograd.ones(3), *extra)
    assert report.graph_count == 0 and "drew random numbers" in report.break_reasons[0].reason


def test_a_generator_read_but_not_drawn_from_replays(captures):
    rng = np.random.default_rng(0)

    def f(x):
        return x * 2 if rng is not None else x

    compiled = retrograd.compile(f)
    for _ in range(3):
        compiled(retrograd.ones(3))
    assert captures[0] == 1


def _batches():
    for i in range(10):
        yield retrograd.full((3,), float(i))


_BATCHES = _batches()
_LIST_ITERATOR = iter([retrograd.full((3,), float(i)) for i in range(10)])
_ENUMERATED = enumerate([retrograd.full((3,), float(i)) for i in range(10)])


def _next_of_a_generator(x):
    return next(_BATCHES) * x


def _next_of_a_list_iterator(x):
    return next(_LIST_ITERATOR) * x


def _next_of_an_enumerate(x):
    return next(_ENUMERATED)[1] * x


@pytest.mark.parametrize("fn", [_next_of_a_generator, _next_of_a_list_iterator, _next_of_an_enumerate])
def test_an_iterator_advanced_inside_gives_its_next_item_at_each_call(fn):
    # a replay would return the first call's item again: the capture sees the iterator move and breaks
    compiled = retrograd.compile(fn)
    assert [compiled(retrograd.ones(3)).numpy()[0] for _ in range(3)] == [0.0, 1.0, 2.0]
    assert "it advanced a" in retrograd.compiler.explain(compiled)(retrograd.ones(3)).break_reasons[0].reason


def test_a_generator_made_and_used_inside_replays(captures):
    ys = [retrograd.full((3,), float(i)) for i in range(3)]

    def f(x):
        return sum(y * x for y in ys)

    compiled = retrograd.compile(f)
    for _ in range(3):
        np.testing.assert_array_equal(compiled(retrograd.ones(3)).numpy(), np.full(3, 3.0, np.float32))
    assert captures[0] == 1


class _Holder:
    def __init__(self):
        self.t = retrograd.zeros(3)


_HOLDER = _Holder()
_QUEUE = __import__("collections").deque(retrograd.full((3,), float(i)) for i in range(10))


def _reads_a_tensor_attribute_of_an_object(x):
    return _HOLDER.t * x


def _pops_a_deque(x):
    return _QUEUE.popleft() * x


def test_a_tensor_attribute_of_an_object_bound_anew_is_read_anew():
    # (a replay would multiply by the tensor the first call found there)
    compiled = retrograd.compile(_reads_a_tensor_attribute_of_an_object)
    assert compiled(retrograd.ones(3)).numpy().tolist() == [0.0] * 3
    _HOLDER.t = retrograd.full((3,), 5.0)
    assert compiled(retrograd.ones(3)).numpy().tolist() == [5.0] * 3


def test_a_deque_popped_inside_gives_its_next_item_at_each_call():
    compiled = retrograd.compile(_pops_a_deque)
    assert [compiled(retrograd.ones(3)).numpy()[0] for _ in range(3)] == [0.0, 1.0, 2.0]


# ---------------------------------------------------------------------- values read further out
# (each a value torch's dynamo guards: a change recaptures, where a replay would use the captured one)
class _Constants:
    scale = 2.0  # a class attribute, read through an instance, the instance's class or the class


_CONSTANTS = _Constants()


def _class_attribute_through_an_instance(x):
    return x * _CONSTANTS.scale


def _class_attribute_through_type(x):
    return x * type(_CONSTANTS).scale


def _class_attribute_of_a_global_class(x):
    return x * _Constants.scale


class _ClassScaled(nn.Module):
    scale = 2.0

    def forward(self, x):
        return x * self.scale


class _Slotted:
    __slots__ = ("scale",)

    def __init__(self):
        self.scale = 2.0


_SLOTTED = _Slotted()


def _slot_attribute(x):
    return x * _SLOTTED.scale


def _node(**attributes):
    return type("Node", (), {})() if not attributes else _set(type("Node", (), {})(), attributes)


def _set(obj, attributes):
    obj.__dict__.update(attributes)
    return obj


_DEEP = _node(model=_node(block=_node(head=_node(scale=2.0))))


def _four_objects_down(x):
    return x * _DEEP.model.block.head.scale


def _set_class_scale(v):
    _Constants.scale = v


def _set_module_class_scale(v):
    _ClassScaled.scale = v


def _set_slot(v):
    _SLOTTED.scale = v


def _set_deep(v):
    _DEEP.model.block.head.scale = v


_CHANGES = {
    "class attribute through an instance": (_class_attribute_through_an_instance, _set_class_scale),
    "class attribute through type(obj)": (_class_attribute_through_type, _set_class_scale),
    "class attribute of a global class": (_class_attribute_of_a_global_class, _set_class_scale),
    "class attribute of a module": (_ClassScaled(), _set_module_class_scale),
    "__slots__ attribute": (_slot_attribute, _set_slot),
    "attribute four objects down": (_four_objects_down, _set_deep),
}


def _scaled_by_default(x, scale=2.0):
    return x * scale


def _calls_a_function_with_a_default(x):
    return _scaled_by_default(x)


def _scaled_by_a_list_default(x, box=[2.0]):  # noqa: B006 (the mutable default is the point)
    return x * box[0]


def _calls_a_function_with_a_list_default(x):
    return _scaled_by_a_list_default(x)


def _scaled_by_its_attribute(x):
    return x * _scaled_by_its_attribute.scale


_scaled_by_its_attribute.scale = 2.0


def _calls_a_function_reading_its_attribute(x):
    return _scaled_by_its_attribute(x)


def _times(x, scale):
    return x * scale


_PARTIAL = __import__("functools").partial(_times, scale=2.0)


def _calls_a_partial(x):
    return _PARTIAL(x)


_IN_A_DICT = {"head": _node(scale=2.0)}
_IN_A_LIST = [_node(scale=2.0)]


def _reads_an_object_in_a_dict(x):
    return x * _IN_A_DICT["head"].scale


def _reads_an_object_in_a_list(x):
    return x * _IN_A_LIST[0].scale


_CONTEXT_SCALE = __import__("contextvars").ContextVar("scale", default=2.0)


def _reads_a_context_variable(x):
    return x * _CONTEXT_SCALE.get()


def _set_defaults(v):
    _scaled_by_default.__defaults__ = (v,)


def _set_list_default(v):
    _scaled_by_a_list_default.__defaults__[0][0] = v


def _set_function_attribute(v):
    _scaled_by_its_attribute.scale = v


def _set_partial(v):
    _PARTIAL.keywords["scale"] = v


def _set_in_a_dict(v):
    _IN_A_DICT["head"].scale = v


def _set_in_a_list(v):
    _IN_A_LIST[0].scale = v


_CHANGES.update({
    "default argument rebound": (_calls_a_function_with_a_default, _set_defaults),
    "mutable default changed in place": (_calls_a_function_with_a_list_default, _set_list_default),
    "attribute of a function": (_calls_a_function_reading_its_attribute, _set_function_attribute),
    "keyword of a functools.partial": (_calls_a_partial, _set_partial),
    "attribute of an object in a dict": (_reads_an_object_in_a_dict, _set_in_a_dict),
    "attribute of an object in a list": (_reads_an_object_in_a_list, _set_in_a_list),
    "ContextVar": (_reads_a_context_variable, _CONTEXT_SCALE.set),
})


@pytest.fixture
def restore_objects():
    yield
    _Constants.scale = _ClassScaled.scale = _SLOTTED.scale = _DEEP.model.block.head.scale = 2.0
    vars(_CONSTANTS).pop("scale", None)
    for change in (_set_defaults, _set_list_default, _set_function_attribute, _set_partial, _set_in_a_dict,
                   _set_in_a_list, _CONTEXT_SCALE.set):
        change(2.0)


def test_the_default_dtype_of_a_creation_function_is_guarded():
    def fn(x):
        return x.sum() + retrograd.zeros(2)

    compiled, x = retrograd.compile(fn), _x()
    try:
        for dtype in (retrograd.float32, retrograd.float64, retrograd.float32):
            retrograd.set_default_dtype(dtype)
            assert compiled(x).dtype == fn(x).dtype == dtype  # (the old code replayed float32)
    finally:
        retrograd.set_default_dtype(retrograd.float32)


@pytest.mark.parametrize("name", sorted(_CHANGES))
@pytest.mark.usefixtures("restore_objects")
def test_a_value_read_further_out_recaptures_when_changed(name, captures):
    fn, change = _CHANGES[name]
    compiled, x = retrograd.compile(fn), _x()
    for v in (2.0, 3.0, 3.0, -1.5):  # (the old code replayed 2.0 every time)
        change(v)
        _same(compiled, fn, x)
    assert captures[0] == 3  # (2.0, 3.0, -1.5; the second 3.0 replays)


@pytest.mark.usefixtures("restore_objects")
def test_an_instance_attribute_shadowing_a_class_attribute_recaptures():
    compiled, x = retrograd.compile(_class_attribute_through_an_instance), _x()
    _same(compiled, _class_attribute_through_an_instance, x)
    _CONSTANTS.scale = 5.0  # set on the instance: read first now
    _same(compiled, _class_attribute_through_an_instance, x)


def _counts_its_calls(x):
    _Counter.calls += 1
    return x * _Counter.calls


class _Counter:
    calls = 0


def test_a_class_attribute_the_function_changes_runs_eagerly():
    compiled = retrograd.compile(_counts_its_calls)
    assert [compiled(retrograd.ones(1)).item() for _ in range(3)] == [1.0, 2.0, 3.0]
    assert _Counter.calls == 3


def _reads_a_builtin(x):
    return x * _rg_test_builtin_scale  # noqa: F821 (bound in builtins by the test)


def test_a_builtin_rebound_recaptures(monkeypatch):
    import builtins

    monkeypatch.setattr(builtins, "_rg_test_builtin_scale", 2.0, raising=False)
    compiled, x = retrograd.compile(_reads_a_builtin), _x()
    _same(compiled, _reads_a_builtin, x)
    monkeypatch.setattr(builtins, "_rg_test_builtin_scale", 4.0)
    _same(compiled, _reads_a_builtin, x)
    monkeypatch.setitem(globals(), "_rg_test_builtin_scale", -1.0)  # a global of that name now shadows it
    _same(compiled, _reads_a_builtin, x)


def _reads_a_library_modules_number(x):
    import math

    return x * math._rg_test_scale


def test_a_number_of_a_library_module_recaptures(monkeypatch):
    import math

    monkeypatch.setattr(math, "_rg_test_scale", 2.0, raising=False)
    compiled, x = retrograd.compile(_reads_a_library_modules_number), _x()
    _same(compiled, _reads_a_library_modules_number, x)
    monkeypatch.setattr(math, "_rg_test_scale", 0.25)
    _same(compiled, _reads_a_library_modules_number, x)


def _environ_get(x):
    import os

    return x * float(os.environ.get("RG_TEST_SCALE", "1.0"))


def _environ_item(x):
    import os

    return x * float(os.environ["RG_TEST_SCALE"])


def _getenv(x):
    import os

    return x * float(os.getenv("RG_TEST_SCALE", "1.0"))  # (torch 2.13 replays the first value here)


def _environ_contains(x):
    import os

    return x * 2 if "RG_TEST_SCALE" in os.environ else x


@pytest.mark.parametrize("fn", [_environ_get, _environ_item, _getenv, _environ_contains])
def test_an_environment_variable_recaptures_when_changed(fn, monkeypatch, captures):
    monkeypatch.setenv("RG_TEST_SCALE", "2.0")
    compiled, x = retrograd.compile(fn), _x()
    _same(compiled, fn, x)
    _same(compiled, fn, x)
    monkeypatch.setenv("RG_TEST_SCALE", "3.0")
    _same(compiled, fn, x)
    if fn is not _environ_item:
        monkeypatch.delenv("RG_TEST_SCALE")
        _same(compiled, fn, x)
    assert captures[0] == (2 if fn is _environ_item else 3)  # (the unchanged second call replays)


def test_a_hyperparameter_the_function_reads_recaptures_when_changed(captures):
    # (the optimizer's step reads its groups at replay: an lr change between steps does not recapture; a
    # read by the function itself, baked into the graph, does)
    lin = nn.Linear(3, 3)
    opt = retrograd.optim.SGD(lin.parameters(), lr=0.5)

    def fn(x):
        return x * opt.param_groups[0]["lr"]

    compiled, x = retrograd.compile(fn), _x()
    for lr in (0.5, 0.25, 0.25):
        opt.param_groups[0]["lr"] = lr
        _same(compiled, fn, x)  # (the old code replayed 0.5)
    assert captures[0] == 2


def test_the_default_dtype_read_by_the_function_is_guarded():
    def fn(x):
        return x * (2.0 if retrograd.get_default_dtype() == retrograd.float64 else 1.0)

    compiled, x = retrograd.compile(fn), _x()
    try:
        for dtype in (retrograd.float32, retrograd.float64):
            retrograd.set_default_dtype(dtype)
            _same(compiled, fn, x)
    finally:
        retrograd.set_default_dtype(retrograd.float32)


def _reads_sys_argv(x):
    return x * 2 if "--rg-test-flag" in sys.argv else x


def test_a_small_list_of_a_library_module_is_guarded(monkeypatch):
    compiled, x = retrograd.compile(_reads_sys_argv), _x()
    _same(compiled, _reads_sys_argv, x)
    monkeypatch.setattr(sys, "argv", [*sys.argv, "--rg-test-flag"])
    _same(compiled, _reads_sys_argv, x)


class _ReadsASubmodulesFlag(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.flagged = nn.Dropout()  # read, never called

    def forward(self, x):
        return self.lin(x) * (2.0 if self.flagged.training else 1.0)


def test_the_training_flag_of_a_module_read_but_not_called_is_guarded(captures):
    m = _ReadsASubmodulesFlag()
    compiled, x = retrograd.compile(m), _x()
    for training in (True, False, True, False):
        m.flagged.train(training)  # (the module itself stays in training mode; the old code replayed 2.0)
        _same(compiled, m, x)
    assert captures[0] == 2


def test_modules_of_the_users_that_import_each_other(tmp_path, monkeypatch):
    # (walking a module's attributes the code loads went round the cycle until the recursion limit)
    (tmp_path / "vg_cycle_a.py").write_text("import vg_cycle_b\nSCALE = 2.0\n")
    (tmp_path / "vg_cycle_b.py").write_text("import vg_cycle_a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import vg_cycle_a
        import vg_cycle_b

        def fn(x):
            return x * vg_cycle_b.vg_cycle_a.SCALE * vg_cycle_a.vg_cycle_b.vg_cycle_a.SCALE

        compiled, x = retrograd.compile(fn), _x()
        _same(compiled, fn, x)
        vg_cycle_a.SCALE = 3.0
        _same(compiled, fn, x)
    finally:
        sys.modules.pop("vg_cycle_a", None)
        sys.modules.pop("vg_cycle_b", None)
