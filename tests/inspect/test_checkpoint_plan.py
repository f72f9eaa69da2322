"""inspect.checkpoint_plan: the chosen checkpointing fits the step in budgets of 1/2 and 1/4 of
its unconstrained peak (measured with tracemalloc), trains identically, is the cheapest plan
(the dynamic program against brute force), and says when no plan fits."""

import itertools
import tracemalloc

import numpy as np
import pytest

import retrograd as torch
from bench.workloads import WORKLOADS
from retrograd.inspect import CheckpointBudgetError, CheckpointPlan, checkpoint_plan
from retrograd.inspect.checkpoint_plan import CheckpointSegment, _Model, _profile, _record_step

nn = torch.nn


def _deep():
    """bench's deep workload, small: 32 residual tanh blocks, activations larger than weights."""
    return WORKLOADS["deep"](torch, blocks=32, width=64, batch=1024)


def _loss(out):
    return (out ** 2).mean()


def _step(model, x):
    for p in model.parameters():
        p.grad = None
    _loss(model(x)).backward()


def _measured_peak(model, x):
    _step(model, x)  # warm up
    for p in model.parameters():
        p.grad = None
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        _loss(model(x)).backward()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def deep():
    """The small deep workload and its measured unconstrained peak (tests remove their plans)."""
    w = _deep()
    return w.model, w.inputs[0], _measured_peak(w.model, w.inputs[0])


@pytest.mark.parametrize("fraction", [2, 4])
def test_measured_peak_fits_the_budget(deep, fraction):
    model, x, unconstrained = deep
    budget = unconstrained // fraction
    for p in model.parameters():
        p.grad = None
    plan = checkpoint_plan(model, (x,), budget, loss_fn=_loss, apply=True)
    try:
        assert isinstance(plan, CheckpointPlan) and plan.applied
        assert plan.peak_bytes <= budget and plan.checkpointed
        assert abs(plan.unconstrained_peak_bytes - unconstrained) <= 0.1 * unconstrained
        assert _measured_peak(model, x) <= budget
    finally:
        plan.remove()
    assert "forward" not in model.layers.__dict__ and not plan.applied
    text = str(plan)
    assert "sqrt(n) baseline" in text and "checkpointed segments" in text


def _grads(model, x):
    _step(model, x)
    return [p.grad.numpy().copy() for p in model.parameters()]


def test_applied_plan_trains_identically(deep):
    model, x, unconstrained = deep
    plain = _grads(model, x)
    plan = checkpoint_plan(model, (x,), unconstrained // 3, loss_fn=_loss, apply=True)
    try:
        assert any(s.checkpoint and s.stop - s.start > 1 for s in plan.segments)  # runs of blocks
        for a, b in zip(plain, _grads(model, x)):
            np.testing.assert_array_equal(a, b)
        assert sorted(model.state_dict()) == sorted(_deep().model.state_dict())
    finally:
        plan.remove()


class _Looped(nn.Module):
    """A ModuleList called by the model's own loop, with ops between its modules."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(nn.Sequential(nn.Linear(64, 64), nn.Tanh()) for _ in range(12))

    def forward(self, x):
        for layer in self.layers:
            x = x + layer(x) * 0.5
        return x


def test_modulelist_modules_are_checkpointed_one_by_one():
    torch.manual_seed(0)
    model = _Looped()
    x = torch.randn(512, 64)
    plain = _grads(model, x)
    unconstrained = _measured_peak(model, x)
    plan = checkpoint_plan(model, x, int(unconstrained * 0.7), loss_fn=_loss, apply=True)
    assert plan.sequence == "layers" and plan.checkpointed
    assert all(s.stop - s.start == 1 for s in plan.segments if s.checkpoint)
    assert _measured_peak(model, x) <= int(unconstrained * 0.7)
    for a, b in zip(plain, _grads(model, x)):
        np.testing.assert_array_equal(a, b)


def _all_plans(n, model):
    """Every cut of n modules into segments, each plain or checkpointed."""
    for cuts in itertools.product([False, True], repeat=n - 1):
        bounds = [0] + [i + 1 for i, c in enumerate(cuts) if c] + [n]
        pairs = list(zip(bounds, bounds[1:]))
        for flags in itertools.product([False, True], repeat=len(pairs)):
            if all(model.allowed(j, k, f) for (j, k), f in zip(pairs, flags)):
                yield [CheckpointSegment(j, k, [], f) for (j, k), f in zip(pairs, flags)]


def _seven_module_cost_model():
    """The cost model of a recorded 7-module Linear/Tanh Sequential, with fixed recompute costs
    (so that the optimum is unique to check)."""
    torch.manual_seed(0)
    widths = [16, 64, 24, 96, 32]
    mods = []
    for a, b in zip(widths, widths[1:]):
        mods += [nn.Linear(a, b), nn.Tanh()]
    model = nn.Sequential(*mods[:-1])
    x = torch.randn(64, 16)
    rec = _record_step(model, (x,), _loss, list(model.children()))
    prof = _profile(rec, model)
    prof.fwd_s = [1.0 + (i * 7) % 5 for i in range(prof.n)]
    return prof, _Model(prof, sequential=True)


def test_dynamic_program_is_optimal_against_brute_force():
    prof, cost = _seven_module_cost_model()
    plans = list(_all_plans(prof.n, cost))
    peaks = sorted({cost.peak(p) for p in plans})
    assert len(peaks) > 5
    for budget in peaks[:: max(1, len(peaks) // 12)] + [peaks[0] - 1]:
        feasible = [cost.recompute(p) for p in plans if cost.peak(p) <= budget]
        best = cost.best(budget)
        if not feasible:
            assert best is None and not cost.feasible(budget)
            continue
        segs = [CheckpointSegment(j, k, [], c) for j, k, c in best]
        assert cost.peak(segs) <= budget
        assert cost.recompute(segs) == pytest.approx(min(feasible))
    assert cost.min_peak() == pytest.approx(peaks[0], rel=1e-3)


def test_infeasible_budget_names_the_smallest_peak(deep):
    model, x, _ = deep
    with pytest.raises(CheckpointBudgetError, match="smallest peak a plan reaches") as info:
        checkpoint_plan(model, (x,), 4096, loss_fn=_loss)
    assert isinstance(info.value, ValueError) and info.value.min_peak_bytes > 4096
    # the smallest peak is reachable (5% over it: each recording's op scratch differs a little)
    budget = int(info.value.min_peak_bytes * 1.05)
    plan = checkpoint_plan(model, (x,), budget, loss_fn=_loss)
    assert plan.peak_bytes <= budget and not plan.applied
    with pytest.raises(ValueError, match="no nn.Sequential or nn.ModuleList"):
        checkpoint_plan(nn.Linear(4, 4), torch.randn(2, 4), 10**6)


def test_infeasible_because_of_new_gradients_says_so():
    w = WORKLOADS["deep"](torch, blocks=8, width=256, batch=16)  # weights >> activations
    with pytest.raises(CheckpointBudgetError, match="new .grad buffers, which checkpointing does not reduce"):
        checkpoint_plan(w.model, w.inputs, 500_000, loss_fn=_loss)


def _two_level_plans(n, model):
    """Every plan of one level, and with each checkpointed segment of two or more modules also
    recomputed under every inner plan of its modules."""
    for plan in _all_plans(n, model):
        options = []
        for s in plan:
            opts = [s]
            if s.checkpoint and s.stop - s.start >= 2:
                for inner in _all_plans(s.stop - s.start, model):
                    opts.append(CheckpointSegment(s.start, s.stop, [], True,
                                                  [CheckpointSegment(i.start + s.start, i.stop + s.start, [],
                                                                     i.checkpoint) for i in inner]))
            options.append(opts)
        yield from (list(p) for p in itertools.product(*options))


def test_two_level_program_finds_every_feasible_budget_against_brute_force():
    prof, cost = _seven_module_cost_model()
    peaks = {}
    for p in _two_level_plans(prof.n, cost):
        peak = cost.peak(p)
        peaks[peak] = min(peaks.get(peak, float("inf")), cost.recompute(p))
    assert cost.min_peak(two_level=True) == pytest.approx(min(peaks), rel=1e-3)
    ordered = sorted(peaks)
    for budget in ordered[:: max(1, len(ordered) // 12)] + [ordered[0] - 1]:
        fits = [c for p, c in peaks.items() if p <= budget]
        best = cost.best(budget, two_level=True)
        assert cost.feasible(budget, two_level=True) == bool(fits) == (best is not None)
        if fits:
            segs = [CheckpointSegment(j, k, [], c, inner) for j, k, c, inner in best]
            assert cost.peak(segs) <= budget
            flat = cost.best(budget)  # two levels never cost more than the best single level
            if flat is not None:
                assert cost.recompute(segs) <= cost.recompute([CheckpointSegment(j, k, [], c) for j, k, c in flat]) + 1e-9


def test_two_level_plan_fits_where_one_level_cannot(deep):
    model, x, unconstrained = deep
    rec = _record_step(model, (x,), _loss, list(model.layers.children()))
    cost = _Model(_profile(rec, model.layers), sequential=True)
    one, two = cost.min_peak(), cost.min_peak(two_level=True)
    assert two < 0.9 * one
    budget = (one + two) // 2
    plain = _grads(model, x)
    plan = checkpoint_plan(model, (x,), budget, loss_fn=_loss, apply=True)
    try:
        assert plan.method == "dp2" and any(s.inner for s in plan.segments)
        assert "recomputed with" in str(plan) and "two levels" in str(plan)
        assert _measured_peak(model, x) <= budget
        for a, b in zip(plain, _grads(model, x)):
            np.testing.assert_array_equal(a, b)
    finally:
        plan.remove()
