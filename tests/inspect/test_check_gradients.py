"""inspect.check_gradients: each module's backward against float64 finite differences of that
module alone, on its real input. A custom autograd.Function with a planted error inside a
larger model is named; a correct model (with ReLU/max-pool kinks, dropout, batch norm) passes,
and the check leaves the model, its buffers and the RNG as they were."""

import pytest

import retrograd as torch
from retrograd import inspect, nn
from retrograd.nn import functional as F


class _ScaleFn(torch.autograd.Function):
    """z = x * w (w broadcast over rows); ``bug`` plants an error in one gradient."""

    @staticmethod
    def forward(ctx, x, w, bug):
        ctx.save_for_backward(x, w)
        ctx.bug = bug
        return x * w

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gx, gw = g * w, (g * x).sum(0)
        if ctx.bug == "input":
            gx = gx * 1.01
        elif ctx.bug == "weight":
            gw = gw + 1e-2 * gw.abs().mean()
        elif ctx.bug == "raise":
            raise RuntimeError("planted")
        return gx, gw, None


class _Scale(nn.Module):
    def __init__(self, n, bug=None):
        super().__init__()
        self.w = nn.Parameter(torch.rand(n) + 0.5)
        self.bug = bug

    def forward(self, x):
        return _ScaleFn.apply(x, self.w, self.bug)


def _model(bug=None):
    head = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), _Scale(16, bug), nn.Dropout(0.3),
                         nn.LayerNorm(16), nn.Linear(16, 3))
    body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten())
    return nn.Sequential(body, head)


def _data():
    return torch.randn(8, 1, 8, 8), torch.randint(0, 3, (8,))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_correct_model_passes(seed):
    torch.manual_seed(seed)
    model = _model()
    x, y = _data()
    report = inspect.check_gradients(model, x, lambda out: F.cross_entropy(out, y))
    assert report.ok and report.first_failure is None
    names = [m.name for m in report.modules]
    # forward order, a module after its submodules, the loss last
    assert names == ["0.0", "0.1", "0.2", "0.3", "0.4", "0", "1.0", "1.1", "1.2", "1.3", "1.4",
                     "1.5", "1", "Sequential", "loss_fn"]
    assert all(m.status == "ok" for m in report.modules)
    assert all(m.max_error < 1e-6 for m in report.modules)
    conv = report.modules[0]
    assert set(conv.errors) == {"input 0", "weight", "bias"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_planted_error_in_a_custom_function_is_named(seed):
    torch.manual_seed(seed)
    model = _model(bug="input")
    x, y = _data()
    report = inspect.check_gradients(model, x, lambda out: F.cross_entropy(out, y))
    assert report.first_failure == "1.2"
    bad = report.failures[0]
    assert bad.type == "_Scale" and bad.errors["input 0"] > 1e-3 and bad.errors["w"] < 1e-6
    assert [m.name for m in report.failures] == ["1.2", "1", "Sequential"]  # and the modules holding it
    assert "first failure: '1.2' (_Scale)" in str(report)


def test_an_error_in_a_parameter_gradient_only():
    torch.manual_seed(0)
    model = _model(bug="weight")
    x, y = _data()
    report = inspect.check_gradients(model, x, lambda out: F.cross_entropy(out, y))
    assert report.first_failure == "1.2"
    assert report.failures[0].errors["w"] > 1e-3 and report.failures[0].errors["input 0"] < 1e-6
    assert [m.name for m in report.failures] == ["1.2"]  # the containers' own tensors are right


def test_a_backward_that_raises_fails_the_check():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), _Scale(4, bug="raise"))
    report = inspect.check_gradients(model, torch.randn(3, 4), lambda out: out.sum())
    assert report.first_failure == "1"
    assert "backward raised RuntimeError: planted" in report.failures[0].note


def test_the_check_changes_nothing():
    torch.manual_seed(0)
    model = _model()
    x, y = _data()
    bn = model[0][1]
    stats = (bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone())
    state = torch.get_rng_state()
    inspect.check_gradients(model, x, lambda out: F.cross_entropy(out, y))
    assert torch.equal(state, torch.get_rng_state())
    assert all(torch.equal(a, b) for a, b in zip(stats, (bn.running_mean, bn.running_var, bn.num_batches_tracked)))
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_kinks_at_the_real_input():
    torch.manual_seed(0)
    # the second ReLU receives exact zeros: checked on its input jittered off the kink
    model = nn.Sequential(nn.Linear(5, 5), nn.ReLU(), nn.ReLU())
    report = inspect.check_gradients(model, torch.randn(6, 5), lambda out: out.sum())
    second = report.modules[2]
    assert second.status == "ok" and "kink" in second.note

    class AtKink(nn.Module):  # a parameter at relu's kink: jittering the input cannot help
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(3))

        def forward(self, x):
            return x * F.relu(self.w)

    report = inspect.check_gradients(AtKink(), torch.randn(2, 3), lambda out: out.sum())
    assert report.modules[0].status == "nonsmooth" and report.ok
    assert report.modules[0].errors["w"] is None and report.modules[0].errors["input 0"] < 1e-6


def test_calls_per_module_and_loss_modules():
    torch.manual_seed(0)
    cell = nn.Linear(4, 4)

    class Unrolled(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def forward(self, x):
            for _ in range(5):
                x = torch.tanh(self.cell(x))
            return x

    report = inspect.check_gradients(Unrolled(), torch.randn(2, 4), lambda out: F.mse_loss(out, torch.zeros(2, 4)))
    assert [(m.name, m.call) for m in report.modules][:3] == [("cell", 1), ("cell", 2), ("cell", 3)]
    assert report.ok
    loss = nn.MSELoss()
    target = torch.randn(2, 4, dtype=torch.float64)
    report = inspect.check_gradients(nn.Linear(4, 4).double(), torch.randn(2, 4, dtype=torch.float64),
                                     lambda out: loss(out, target))
    assert report.modules[-1].name == "loss_fn" and report.modules[-1].status == "ok"


def test_str_is_a_table():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), _Scale(3, bug="input"))
    text = str(inspect.check_gradients(model, torch.randn(4, 3), lambda out: out.pow(2).sum()))
    lines = text.splitlines()
    assert lines[0].startswith("gradient check of Sequential: each module alone in float64")
    assert lines[1].split() == ["module", "type", "call", "max", "rel", "error", "status", "worst",
                                "tensor", "/", "note"]
    assert lines[3].split()[:2] == ["1", "_Scale"] and "FAILED" in lines[3]


def test_errors():
    with pytest.raises(TypeError, match="nn.Module"):
        inspect.check_gradients(lambda x: x, torch.randn(2), lambda out: out.sum())
    with pytest.raises(TypeError, match="callable"):
        inspect.check_gradients(nn.Linear(2, 2), torch.randn(2), "mse")
    with pytest.raises(ValueError, match="directions"):
        inspect.check_gradients(nn.Linear(2, 2), torch.randn(2), lambda out: out.sum(), directions=0)
    with pytest.raises(ValueError, match="eps"):
        inspect.check_gradients(nn.Linear(2, 2), torch.randn(2), lambda out: out.sum(), eps=0)


def test_an_in_place_module_is_checked_on_the_input_it_received():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=True), nn.Linear(6, 2))
    report = inspect.check_gradients(model, torch.randn(5, 4), lambda out: out.sum())
    relu = report.modules[1]
    # relu's input had negative entries: checked there, not on its own (in place) output, whose
    # zeros are kinks
    assert relu.type == "ReLU" and relu.status == "ok" and relu.note == ""
    assert report.ok
