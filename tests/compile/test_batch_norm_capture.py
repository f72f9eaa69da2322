"""Batch (and instance) norm under torch.compile: training mode's statistics and running-statistics update (one recorded
step calling normalization._batch_stats again at replay), num_batches_tracked's ``add_(1)`` (a captured
in-place write into a buffer), eval mode's statistics from the running buffers (normalization._eval_stats):
values, gradients, running statistics and their versions bitwise eager's over several replays; the train/eval
switch guarded; what is not captured (half precision, running statistics made inside the call, a buffer an
op saved before the update) still breaks the graph."""

import numpy as np
import pytest

import retrograd
from retrograd._compile.replay import CompiledFunction
from tests.compile.compare import captures, fresh_compiler  # noqa: F401

nn = retrograd.nn


def _pair(make):
    retrograd.manual_seed(0)
    eager = make()
    retrograd.manual_seed(0)
    model = make()
    return eager, model


def _same_state(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy(), err_msg=name)
    for (name, u), v in zip(a.named_buffers(), b.buffers()):
        np.testing.assert_array_equal(u.numpy(), v.numpy(), err_msg=name)
        assert u._version == v._version, name  # each update bumps the buffer's version once, as eager's


def _steps(eager, model, shape, steps=5, dtype=np.float64, compiled=None):
    """``steps`` forward/backward calls of the eager and the compiled model (``compiled``, or ``model``
    compiled) on the same inputs: outputs and gradients bitwise, running statistics and their versions equal
    after each; the replays are one node."""
    compiled = compiled or retrograd.compile(model, fullgraph=True)
    rng = np.random.default_rng(1)
    for step in range(steps):
        x = rng.normal(size=shape).astype(dtype)
        a, b = eager(retrograd.tensor(x)), compiled(retrograd.tensor(x))
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        if step and b.requires_grad:
            assert isinstance(b.grad_fn, CompiledFunction)
        w = retrograd.tensor(rng.normal(size=a.shape).astype(dtype))
        if a.requires_grad:
            (a * w).sum().backward()
            (b * w).sum().backward()
        _same_state(eager, model)
    return compiled


@pytest.mark.parametrize("shape, make", [
    ((6, 3, 5, 5), lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())),
    ((8, 5), lambda: nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Tanh())),
    ((4, 3, 7), lambda: nn.Sequential(nn.BatchNorm1d(3), nn.Conv1d(3, 2, 3))),
    ((2, 3, 3, 4, 4), lambda: nn.BatchNorm3d(3, momentum=0.3, eps=1e-3)),
    ((6, 4, 3, 3), lambda: nn.BatchNorm2d(4, affine=False)),
    ((6, 4, 3, 3), lambda: nn.BatchNorm2d(4, track_running_stats=False)),
], ids=["conv-bn2d-relu", "linear-bn1d", "bn1d-3d-input", "bn3d-momentum", "no-affine", "no-running-stats"])
def test_training_mode_replays_eagers_values_gradients_and_running_statistics(shape, make, captures):
    eager, model = _pair(lambda: make().double())
    _steps(eager, model, shape)
    assert captures[0] == 1  # captured once, then replayed


def test_float32_training_is_bitwise_too():
    eager, model = _pair(lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)))
    _steps(eager, model, (5, 2, 6, 6), dtype=np.float32)


def test_eval_mode_replays_with_the_running_statistics(captures):
    eager, model = _pair(lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU()).double())
    compiled = _steps(eager, model, (4, 2, 6, 6), steps=3)
    eager.eval()
    model.eval()
    _steps(eager, model, (4, 2, 6, 6), steps=3, compiled=compiled)
    assert captures[0] == 2  # the eval graph is another capture: the training flag is guarded
    eager.train()
    model.train()
    _steps(eager, model, (4, 2, 6, 6), steps=3, compiled=compiled)
    assert captures[0] == 2  # back to training: the first graph again
    assert compiled._orig_mod is model


def test_a_training_step_compiled_whole_matches_eager_over_steps():
    """forward, loss, backward() and SGD's step in one compiled function: losses, parameters and the
    running statistics bitwise eager's over 6 steps."""
    def make():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                             nn.Flatten(), nn.Linear(64, 3)).double()

    eager, model = _pair(make)

    def step_of(net, opt):
        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss
        return step

    eager_step = step_of(eager, retrograd.optim.SGD(eager.parameters(), lr=0.1, momentum=0.9))
    step = retrograd.compile(step_of(model, retrograd.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)),
                             fullgraph=True)
    rng = np.random.default_rng(2)
    for _ in range(6):
        x, y = rng.normal(size=(8, 1, 4, 4)), rng.integers(0, 3, 8)
        a = eager_step(retrograd.tensor(x), retrograd.tensor(y))
        b = step(retrograd.tensor(x), retrograd.tensor(y))
        assert a.item() == b.item()
        _same_state(eager, model)
        for p, q in zip(eager.parameters(), model.parameters()):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_explain_counts_no_break_for_batch_norm_in_either_mode():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(inplace=True))
    x = retrograd.randn(4, 2, 5, 5)
    for train in (True, False):
        model.train(train)
        out = retrograd.compiler.explain(model)(x)
        assert (out.graph_count, out.graph_break_count) == (1, 0), str(out)


def test_half_precision_training_still_breaks_with_eagers_result():
    """float16 batch statistics are rounded to the input's dtype outside the recorded step: not captured."""
    model = nn.BatchNorm1d(3).half()
    out = retrograd.compiler.explain(model)(retrograd.randn(4, 3).half())
    assert out.graph_break_count >= 1
    with pytest.raises(retrograd.compiler.Unsupported):
        retrograd.compile(nn.BatchNorm1d(3).half(), fullgraph=True)(retrograd.randn(4, 3).half())


def test_running_statistics_given_to_the_function_break():
    """A replay would update the tensors of the capture, not the call's: the update is not captured."""
    def fn(x, rm, rv):
        return nn.functional.batch_norm(x, rm, rv, training=True)

    compiled = retrograd.compile(fn, fullgraph=True)
    with pytest.raises(retrograd.compiler.Unsupported, match="running statistics"):
        compiled(retrograd.randn(4, 3), retrograd.zeros(3), retrograd.ones(3))
    rm, rv, x = retrograd.zeros(3), retrograd.ones(3), retrograd.randn(4, 3)
    eager_rm, eager_rv = rm.clone(), rv.clone()
    lenient = retrograd.compile(fn)
    for _ in range(3):  # runs eagerly each call: the arguments' statistics are updated
        lenient(x, rm, rv)
        fn(x, eager_rm, eager_rv)
    np.testing.assert_array_equal(rm.numpy(), eager_rm.numpy())
    np.testing.assert_array_equal(rv.numpy(), eager_rv.numpy())


def test_a_buffer_saved_for_backward_before_its_update_breaks():
    """Eager's backward raises on a running_mean an op saved before batch norm updated it: the replay would
    compute with the updated values, so the capture breaks (and backward raises, as eager's)."""
    bn = nn.BatchNorm1d(3)

    def fn(x):
        y = x * bn.running_mean
        return bn(x) + y

    x = retrograd.randn(4, 3, requires_grad=True)
    with pytest.raises(retrograd.compiler.Unsupported, match="saved for backward"):
        retrograd.compile(fn, fullgraph=True)(x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        retrograd.compile(fn)(x).sum().backward()


def test_momentum_none_still_breaks_with_eagers_running_average():
    """The cumulative average reads num_batches_tracked into Python (``.item()``): a graph break; the
    result and running statistics are eager's."""
    eager, model = _pair(lambda: nn.BatchNorm1d(3, momentum=None).double())
    compiled = retrograd.compile(model)
    rng = np.random.default_rng(3)
    for _ in range(4):
        x = rng.normal(size=(5, 3))
        np.testing.assert_array_equal(eager(retrograd.tensor(x)).detach().numpy(),
                                      compiled(retrograd.tensor(x)).detach().numpy())
    _same_state(eager, model)
    assert retrograd.compiler.explain(model)(retrograd.tensor(x)).graph_break_count == 1


@pytest.mark.parametrize("make, shape", [(lambda: nn.InstanceNorm2d(3, affine=True), (4, 3, 5, 5)),
                                         (lambda: nn.InstanceNorm1d(4), (2, 4, 7))], ids=["2d-affine", "1d"])
def test_instance_norm_without_running_statistics_is_captured(make, shape, captures):
    """(WGAN-GP's critic: its statistics are a recorded step, as layer and group norm's.)"""
    eager, model = _pair(lambda: nn.Sequential(make(), nn.LeakyReLU(0.2)).double())
    _steps(eager, model, shape)
    assert captures[0] == 1


def test_instance_norm_with_running_statistics_is_captured(captures):
    """Its statistics and running-statistics update (normalization._instance_stats) are one recorded step."""
    eager, model = _pair(lambda: nn.InstanceNorm1d(3, track_running_stats=True, affine=True).double())
    _steps(eager, model, (2, 3, 6))
    assert captures[0] == 1
