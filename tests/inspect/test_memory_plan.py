"""inspect.memory_plan: the predicted peak of a training step agrees with tracemalloc's measured
peak (NumPy reports its buffers to it) on each bench workload, run small; the table and rows
say where the memory goes."""

import dataclasses
import tracemalloc

import pytest

import retrograd as torch
from bench.workloads import WORKLOADS
from retrograd.inspect import MemoryRow, memory_plan


def _small(name):
    """The bench workload with a small batch (and, for deep, small layers) so the test is fast."""
    w = WORKLOADS[name](torch, blocks=8, width=256, batch=64) if name == "deep" else WORKLOADS[name](torch)
    if name == "mlp":
        w.inputs, w.target = (w.inputs[0][:16],), w.target[:16]
    elif name == "cnn":
        w.inputs, w.target = (w.inputs[0][:8],), w.target[:8]
    elif name == "transformer":
        w.inputs, w.target = (w.inputs[0][:2, :32],), w.target[:2, :32]
    elif name == "lstm":
        w.inputs, w.target = (w.inputs[0][:4, :16],), w.target[:4]
    return w


def _step_fn(w, momentum=0.0):
    opt = torch.optim.SGD(w.model.parameters(), lr=0.01, momentum=momentum)

    def step():
        opt.zero_grad()
        loss = w.loss_fn(w.model(*w.inputs), w.target)
        loss.backward()
        opt.step()

    return step, opt


def _measured_peak(step):
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["mlp", "cnn", "transformer", "lstm", "deep"])
def test_predicted_peak_is_within_10_percent_of_measured(name):
    w = _small(name)
    step, opt = _step_fn(w)
    step()  # the first step makes lazily built things (BLAS buffers, caches)
    opt.zero_grad()
    plan = memory_plan(step)
    opt.zero_grad()
    measured = _measured_peak(step)
    assert abs(plan.peak_bytes - measured) <= 0.10 * measured, (name, plan.peak_bytes, measured)
    assert sum(plan.breakdown.values()) == plan.peak_bytes


def test_rows_attribute_memory_to_modules_by_kind():
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 8))
    x, y = torch.randn(8, 64), torch.randn(8, 8)  # a small batch: weights dominate
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step():
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()

    plan = memory_plan(step)
    rows = {r.module: r for r in plan.rows}
    assert all(isinstance(r, MemoryRow) for r in plan.rows)
    assert [f.name for f in dataclasses.fields(MemoryRow)] == [
        "module", "activations", "gradients", "optimizer_state", "temporaries", "total"]
    # the step's peak is in the optimizer step: the momentum buffers appear as optimizer state
    # of the modules owning the parameters, next to the parameters' gradients
    assert plan.peak_phase == "optimizer"
    assert rows["0"].gradients == (64 * 256 + 256) * 4
    assert rows["2"].gradients == (256 * 8 + 8) * 4
    assert plan.breakdown["optimizer_state"] >= (64 * 256 + 256) * 4
    assert plan.breakdown["gradients"] == sum(p.numel() * 4 for p in model.parameters())
    for r in plan.rows:
        assert r.total == r.activations + r.gradients + r.optimizer_state + r.temporaries
    text = str(plan)
    assert "optimizer state" in text and "predicted peak of the step" in text
    assert text.splitlines()[-1].startswith("total")


def test_forward_and_loss_alone_reports_the_saved_activations():
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 128), nn.Tanh(), nn.Linear(128, 1))
    x = torch.randn(256, 32)
    kept = []
    plan = memory_plan(lambda: kept.append(model(x).pow(2).mean()))
    # Tanh keeps its output (256 x 128 float32) for backward, the second Linear's output is
    # kept by pow (256 x 1); the first Linear's output (256 x 128) is freed by then
    assert 256 * 128 * 4 <= plan.activation_bytes <= 256 * 128 * 4 + 4096
    assert plan.breakdown["gradients"] == 0 and plan.breakdown["optimizer_state"] == 0
    assert plan.peak_phase == "forward"


def test_refuses_to_run_inside_a_profile():
    with torch.profiler.profile():
        with pytest.raises(RuntimeError, match="profile"):
            memory_plan(lambda: None)
