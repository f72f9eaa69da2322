"""retrograd.profiler (torch.profiler): what it records of the dispatch (ops forward and
backward, user ranges), its tables in torch's layout, the Chrome trace, the schedule.
No assertion here depends on how long anything took, only on the structure of the times."""

import json
import threading
import warnings

import numpy as np
import pytest

import retrograd
from retrograd.autograd import engine, function
from retrograd.profiler import (ProfilerAction, ProfilerActivity, profile, record_function, schedule,
                                tensorboard_trace_handler)
from tests.helpers import requires_torch, torch

# torch 2.13.0's output for the program below (printed by it: test_torch_prints_this_layout
# checks they are still torch's where torch is installed)
TORCH_SEPARATOR = ("-------------------------------------------------------  ------------  ------------  "
                   "------------  ------------  ------------  ------------  ")
TORCH_HEADER = ("                                                   Name    Self CPU %      Self CPU   "
                "CPU total %     CPU total  CPU time avg    # of Calls  ")
TORCH_MEMORY_HEADER = ("                                                   Name    Self CPU %      Self CPU   "
                       "CPU total %     CPU total  CPU time avg       CPU Mem  Self CPU Mem    # of Calls  ")
TORCH_SHAPES_COLUMNS = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                        "# of Calls", "Input Shapes"]
TORCH_LABEL_CHILDREN = ["aten::matmul", "aten::mul", "aten::relu", "aten::sum"]
TORCH_BACKWARD_NODES = ["MmBackward0", "MulBackward0", "ReluBackward0", "SumBackward0",
                        "torch::autograd::AccumulateGrad"]


def run_program(lib, **kwargs):
    """(x @ w).relu() * 2, summed, inside a labelled range; then backward: profiled."""
    x = lib.tensor(np.linspace(-1, 1, 32, dtype=np.float32).reshape(8, 4), requires_grad=True)
    w = lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), requires_grad=True)
    with lib.profiler.profile(**kwargs) as prof:
        with lib.profiler.record_function("model_inference"):
            loss = ((x @ w).relu() * 2).sum()
        loss.backward()
    return prof


def rows(table):
    """The table's data rows, as lists of cells (columns are 2+ spaces apart)."""
    lines = table.splitlines()
    return [[c.strip() for c in line.strip().split("  ") if c.strip()] for line in lines[3:-2]]


def by_key(events):
    return {e.key: e for e in events}


# ---------------------------------------------------------------------------- torch's layout


def test_table_has_torch_columns():
    table = run_program(retrograd).key_averages().table(sort_by="cpu_time_total", row_limit=10)
    lines = table.splitlines()
    assert lines[0] == TORCH_SEPARATOR and lines[2] == TORCH_SEPARATOR
    assert lines[1] == TORCH_HEADER
    assert lines[-1].startswith("Self CPU time total: ") and lines[-2] == TORCH_SEPARATOR
    assert len(rows(table)) == 10  # row_limit


def test_memory_and_shape_columns_as_torch():
    prof = run_program(retrograd, profile_memory=True)
    assert prof.key_averages().table().splitlines()[1] == TORCH_MEMORY_HEADER
    prof = run_program(retrograd, record_shapes=True)
    header = prof.key_averages(group_by_input_shape=True).table().splitlines()[1]
    assert [c.strip() for c in header.split("  ") if c.strip()] == TORCH_SHAPES_COLUMNS
    # without grouping by shapes, key_averages drops them, as torch's does
    assert "Input Shapes" not in prof.key_averages().table()


@requires_torch
def test_torch_prints_this_layout():
    prof = run_program(torch, profile_memory=True)
    assert prof.key_averages().table().splitlines()[1] == TORCH_MEMORY_HEADER
    prof = run_program(torch, record_shapes=True)
    lines = prof.key_averages().table().splitlines()
    assert lines[:3] == [TORCH_SEPARATOR, TORCH_HEADER, TORCH_SEPARATOR]
    header = prof.key_averages(group_by_input_shape=True).table().splitlines()[1]
    assert [c.strip() for c in header.split("  ") if c.strip()] == TORCH_SHAPES_COLUMNS
    label = next(e for e in prof.events() if e.name == "model_inference")
    assert sorted(c.name for c in label.cpu_children) == TORCH_LABEL_CHILDREN
    assert backward_nodes(prof) == TORCH_BACKWARD_NODES


def backward_nodes(prof):
    evaluate = "autograd::engine::evaluate_function: "
    outer = sorted({e.name[len(evaluate):] for e in prof.events() if e.name.startswith(evaluate)})
    inner = sorted({e.name for e in prof.events()
                    if e.cpu_parent is not None and e.cpu_parent.name.startswith(evaluate)})
    assert outer == inner  # each node's rule runs inside the engine's step for it
    return outer


# ---------------------------------------------------------------------------- what is recorded


def test_ops_and_backward_nodes_named_as_torch():
    prof = run_program(retrograd)
    label = next(e for e in prof.events() if e.name == "model_inference")
    assert label.is_user_annotation
    assert sorted(c.name for c in label.cpu_children) == TORCH_LABEL_CHILDREN
    assert backward_nodes(prof) == TORCH_BACKWARD_NODES


def test_call_counts_and_times_nest():
    x = retrograd.ones(3, requires_grad=True)
    with profile() as prof:
        with record_function("outer"):
            for _ in range(3):
                y = x * 2
            y.sum().backward()
    avg = by_key(prof.key_averages())
    assert avg["aten::mul"].count == 3 and avg["aten::sum"].count == 1
    assert avg["MulBackward0"].count == 1
    assert avg["torch::autograd::AccumulateGrad"].count == 1
    for e in prof.events():  # a range holds its children: total = self + children's totals
        children = sum(c.cpu_time_total for c in e.cpu_children)
        assert e.cpu_time_total >= children >= 0
        assert e.self_cpu_time_total == pytest.approx(e.cpu_time_total - children)
        for c in e.cpu_children:
            assert e.time_range.start <= c.time_range.start <= c.time_range.end <= e.time_range.end
    outer = avg["outer"]
    assert outer.cpu_time_total == pytest.approx(
        prof.events().self_cpu_time_total)  # nothing ran outside the label
    assert avg["aten::mul"].cpu_time == pytest.approx(avg["aten::mul"].cpu_time_total / 3)


def test_sort_by_and_row_limit():
    prof = run_program(retrograd)
    for key in ("cpu_time_total", "self_cpu_time_total", "count", "cpu_time"):
        table = prof.key_averages().table(sort_by=key, row_limit=5, max_name_column_width=None)
        names = [r[0] for r in rows(table)]
        values = [getattr(by_key(prof.key_averages())[n], key) for n in names]
        assert len(names) == 5 and values == sorted(values, reverse=True)
    # torch's device columns sort too (all zero on the CPU), and an unknown key is an error
    prof.key_averages().table(sort_by="self_cuda_time_total")
    with pytest.raises(AttributeError):
        prof.key_averages().table(sort_by="bogus")


def test_percentages_are_of_total_self_time():
    prof = run_program(retrograd)
    averages = prof.key_averages()
    total = averages.self_cpu_time_total
    for row in rows(averages.table(time_unit="us", max_name_column_width=None)):
        e = by_key(averages)[row[0]]
        assert row[1] == f"{e.self_cpu_time_total * 100 / total:.2f}%"
        assert row[2] == f"{e.self_cpu_time_total:.3f}us"
        assert int(row[-1]) == e.count


def test_record_shapes_grouped():
    a, b = retrograd.ones(2, 3), retrograd.ones(4)
    with profile(record_shapes=True) as prof:
        a * a
        a * a
        b * b
    grouped = [e for e in prof.key_averages(group_by_input_shape=True) if e.key == "aten::mul"]
    assert [(e.input_shapes, e.count) for e in grouped] == [([[2, 3], [2, 3]], 2), ([[4], [4]], 1)]
    assert [e.count for e in prof.key_averages() if e.key == "aten::mul"] == [3]


def test_profile_memory_counts_output_bytes():
    x = retrograd.ones(1000)  # float32: 4000 bytes per new array
    with profile(profile_memory=True) as prof:
        with record_function("block"):
            y = x * 2  # a new array
            y.view(10, 100)  # a view: nothing allocated
            (y + 1).sum()  # 4000 + 4 bytes
    avg = by_key(prof.key_averages())
    assert avg["aten::mul"].self_cpu_memory_usage == 4000
    assert avg["aten::view"].self_cpu_memory_usage == 0
    assert avg["aten::sum"].self_cpu_memory_usage == 4
    assert avg["block"].cpu_memory_usage == 8004 and avg["block"].self_cpu_memory_usage == 0
    assert "7.82 KB" in prof.key_averages().table()  # 8004 bytes, torch's format


def test_custom_function_named_by_its_class():
    class Double(retrograd.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = retrograd.ones(3, requires_grad=True)
    with profile() as prof:
        Double.apply(x).sum().backward()
    keys = [e.key for e in prof.key_averages()]
    assert "Double" in keys and "DoubleBackward" in keys
    double = next(e for e in prof.events() if e.name == "Double")
    assert [c.name for c in double.cpu_children] == ["aten::mul"]  # the ops its forward ran


def test_record_function_as_decorator_and_outside_a_profile():
    @record_function("step_fn")
    def step(x):
        return (x * 3).sum()

    x = retrograd.ones(2)
    assert step(x).item() == 6.0  # no profile: runs, records nothing
    with profile() as prof:
        step(x)
        step(x)
    avg = by_key(prof.key_averages())
    assert avg["step_fn"].count == 2 and avg["step_fn"].is_user_annotation
    with pytest.raises(TypeError):
        record_function("x", args=3)


def test_hooks_off_outside_a_profile():
    x = retrograd.ones(2, requires_grad=True)
    with profile() as prof:
        assert function.profile_hook is not None and engine.profile_hook is not None
        x * 2
    assert function.profile_hook is None and engine.profile_hook is None
    (x * 2).sum().backward()  # not recorded
    assert [e.key for e in prof.events()] == ["aten::mul"]


def test_one_profile_at_a_time():
    with profile():
        with pytest.raises(RuntimeError, match="already enabled"):
            with profile():
                pass
    with profile():  # the failed one left nothing behind
        pass


def test_an_op_that_raises_is_recorded_and_recording_goes_on():
    with profile() as prof:
        with pytest.raises(RuntimeError):
            retrograd.ones(2, 3) @ retrograd.ones(2, 3)
        retrograd.ones(2) * 2
    assert [e.key for e in prof.events()] == ["aten::matmul", "aten::mul"]
    assert all(e.cpu_parent is None for e in prof.events())


def test_threads_keep_their_own_nesting():
    x = retrograd.ones(4)

    def work():
        with record_function("worker"):
            x * 2

    with profile() as prof:
        with record_function("main"):
            t = threading.Thread(target=work)
            t.start()
            t.join()
            x + 1
    events = by_key(prof.events())
    assert [c.name for c in events["main"].cpu_children] == ["aten::add"]
    assert [c.name for c in events["worker"].cpu_children] == ["aten::mul"]
    assert events["worker"].cpu_parent is None and events["worker"].thread != events["main"].thread


def test_with_stack_source_location_and_export_stacks(tmp_path):
    x = retrograd.ones(2)
    with profile(with_stack=True) as prof:
        x * 2
    mul = prof.events()[0]
    assert mul.stack[0].startswith(__file__) and mul.stack[0].endswith(
        ": test_with_stack_source_location_and_export_stacks")
    assert "Source Location" in prof.key_averages(group_by_stack_n=1).table()
    prof.export_stacks(str(tmp_path / "stacks.txt"))
    line = (tmp_path / "stacks.txt").read_text().splitlines()[0]
    frames, value = line.rsplit(" ", 1)
    assert frames.split(";")[-1].startswith(__file__) and int(value) >= 0


# ---------------------------------------------------------------------------- Chrome trace


def test_chrome_trace_is_valid_and_nested(tmp_path):
    prof = run_program(retrograd, record_shapes=True, profile_memory=True)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    complete = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(complete) == len(prof.events())
    for e in complete:
        assert isinstance(e["name"], str) and e["dur"] >= 0 and isinstance(e["ts"], float)
        assert e["cat"] in ("cpu_op", "user_annotation")
    label = next(e for e in complete if e["name"] == "model_inference")
    assert label["cat"] == "user_annotation"
    matmul = next(e for e in complete if e["name"] == "aten::matmul")
    assert matmul["args"]["Input Dims"] == [[8, 4], [4, 3]]
    assert label["ts"] <= matmul["ts"] and matmul["ts"] + matmul["dur"] <= label["ts"] + label["dur"]
    memory = [e for e in trace["traceEvents"] if e["name"] == "[memory]"]
    assert {"Bytes": 96, "Device Type": "CPU", "Op": "aten::matmul"} in [e["args"] for e in memory]
    assert any(e["ph"] == "M" and e["name"] == "thread_name" for e in trace["traceEvents"])
    # each forward op and its backward node share a sequence number, linked by an arrow
    seq = {}
    for e in complete:  # the first of each name: the forward ops (backward rules run some again)
        seq.setdefault(e["name"], e["args"].get("Sequence number"))
    for op, node in (("aten::matmul", "MmBackward0"), ("aten::relu", "ReluBackward0"),
                     ("aten::mul", "MulBackward0"), ("aten::sum", "SumBackward0")):
        assert seq[op] is not None and seq[op] == seq[node] == seq[
            "autograd::engine::evaluate_function: " + node]
    arrows = [(e["ph"], e["id"]) for e in trace["traceEvents"] if e.get("cat") == "fwdbwd"]
    assert sorted(arrows) == sorted((ph, n) for n in range(4) for ph in "sf")


def test_chrome_trace_gzip_and_tensorboard_handler(tmp_path):
    import gzip

    x = retrograd.ones(2)
    with profile(on_trace_ready=tensorboard_trace_handler(str(tmp_path / "tb"), worker_name="w0",
                                                          use_gzip=True)):
        x * 2
    (written,) = list((tmp_path / "tb").iterdir())
    assert written.name.startswith("w0.") and written.name.endswith(".pt.trace.json.gz")
    names = [e["name"] for e in json.loads(gzip.open(written).read())["traceEvents"]]
    assert "aten::mul" in names


# ---------------------------------------------------------------------------- schedule


def test_schedule_actions_as_torch():
    fn = schedule(wait=1, warmup=1, active=2, repeat=1, skip_first=1)
    A = ProfilerAction
    assert [fn(i) for i in range(7)] == [A.NONE, A.NONE, A.WARMUP, A.RECORD, A.RECORD_AND_SAVE,
                                         A.NONE, A.NONE]
    with pytest.raises(AssertionError):
        schedule(wait=0, warmup=0, active=0)
    with pytest.warns(UserWarning, match="warmup"):
        schedule(wait=0, warmup=0, active=1)


def test_schedule_with_steps_and_on_trace_ready():
    x = retrograd.ones(2, requires_grad=True)
    ready = []

    def handler(p):
        ready.append((p.step_num, [(e.key, e.count) for e in p.key_averages()]))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                     on_trace_ready=handler) as prof:
            for _ in range(10):
                (x * 2).sum().backward()
                prof.step()
    # as torch: a trace at the end of each active cycle (steps 2-3 and 6-7), each holding the
    # two "ProfilerStep#N" ranges of its steps
    assert [step for step, _ in ready] == [4, 8]
    for _, keys in ready:
        assert keys[:3] == [("ProfilerStep*", 2), ("aten::mul", 2), ("aten::sum", 2)]
    steps = [e.trace_name for e in prof.events() if e.key == "ProfilerStep*"]
    assert steps == ["ProfilerStep#6", "ProfilerStep#7"]
    assert any("clears events at the end of each cycle" in str(w.message) for w in caught)


def test_acc_events_keeps_every_cycle():
    x = retrograd.ones(2)
    with profile(schedule=schedule(wait=0, warmup=1, active=1, repeat=3), acc_events=True) as prof:
        for _ in range(6):
            x * 2
            prof.step()
    assert by_key(prof.key_averages())["aten::mul"].count == 3


def test_results_before_recording_raise():
    with pytest.raises(AssertionError, match="initialized before getting key averages"):
        profile().key_averages()


def test_activities_and_unsupported_arguments():
    with pytest.warns(UserWarning, match="CUDA kernels are not timed"):
        profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    with pytest.warns(FutureWarning, match="use_cuda"):
        profile(use_cuda=False)
    for kwargs in ({"with_flops": True}, {"with_modules": True}, {"experimental_config": object()},
                   {"activities": [ProfilerActivity.XPU]}):
        with pytest.raises(NotImplementedError):
            profile(**kwargs)
    with pytest.raises(NotImplementedError):
        run_program(retrograd).export_memory_timeline("x.html")


def test_reachable_as_torch_profiler():
    import subprocess
    import sys

    code = "import retrograd as torch; print(torch.profiler.profile.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "profile"


# ---------------------------------------------------------------------------- optimizer ranges


def run_training_step(lib, optimizer_class):
    """One zero_grad / forward / backward / step of a linear model, profiled; a step pre-hook
    opens its own range (torch runs the hooks inside the step's range)."""
    model = lib.nn.Linear(3, 2)
    opt = optimizer_class(lib, model.parameters())

    def pre_hook(optimizer, args, kwargs):
        with lib.profiler.record_function("pre_hook"):
            pass

    opt.register_step_pre_hook(pre_hook)
    x = lib.ones(4, 3)
    with lib.profiler.profile() as prof:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
        opt.step()
    return prof


def sgd(lib, params):
    return lib.optim.SGD(params, lr=0.1)


def users_optimizer(lib, params):
    class PlainDescent(lib.optim.Optimizer):  # a user's optimizer: its own step
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

        def step(self, closure=None):
            with lib.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.sub_(p.grad * group["lr"])

    return PlainDescent(params)


def optimizer_ranges(prof):
    """(name, user annotation?, parent's name, its children's user ranges) of the optimizer ranges."""
    return [(e.name, e.is_user_annotation, e.cpu_parent and e.cpu_parent.name,
             [c.name for c in e.cpu_children if c.is_user_annotation])
            for e in prof.events() if e.name.startswith("Optimizer.")]


@pytest.mark.parametrize("make, name", [(sgd, "SGD"), (users_optimizer, "PlainDescent")])
def test_optimizer_step_and_zero_grad_are_ranges(make, name):
    prof = run_training_step(retrograd, make)
    assert optimizer_ranges(prof) == [
        (f"Optimizer.zero_grad#{name}.zero_grad", True, None, []),
        (f"Optimizer.step#{name}.step", True, None, ["pre_hook"]),
        (f"Optimizer.step#{name}.step", True, None, ["pre_hook"])]
    assert by_key(prof.key_averages())[f"Optimizer.step#{name}.step"].count == 2
    if name == "PlainDescent":  # its update's ops are recorded inside the step
        step = next(e for e in prof.events() if e.name.startswith("Optimizer.step"))
        assert "aten::mul" in [c.name for c in step.cpu_children]


@requires_torch
@pytest.mark.parametrize("make", [sgd, users_optimizer])
def test_optimizer_ranges_as_torch(make):
    assert optimizer_ranges(run_training_step(retrograd, make)) == \
        optimizer_ranges(run_training_step(torch, make))


def test_optimizer_outside_a_profile_records_nothing():
    model = retrograd.nn.Linear(3, 2)
    opt = retrograd.optim.SGD(model.parameters(), lr=0.1)
    model(retrograd.ones(1, 3)).sum().backward()
    opt.step()  # no profile: nothing to record into, and no range left open
    opt.zero_grad()
    with profile() as prof:
        pass
    assert list(prof.events()) == []
