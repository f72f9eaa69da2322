"""inspect.watch and inspect.gradient_flow: models built to fail are diagnosed with exactly
their problem (a few seeds each), a healthy residual net with layer norm with none; the
measured quantities (dead/saturated fractions, output gradients, update ratios) equal their
definitions."""

import sys

import numpy as np
import pytest

import retrograd as torch
from retrograd import inspect, nn
from retrograd.inspect.watch import activation_stats
from retrograd.nn import functional as F

SEEDS = (0, 1, 2)


def _mlp(depth, act, width=32, weight_scale=1.0, bias=None):
    layers = []
    for _ in range(depth):
        lin = nn.Linear(width, width)
        with torch.no_grad():
            lin.weight.mul_(weight_scale)
            if bias is not None:
                lin.bias.fill_(bias)
        layers += [lin, act()]
    return nn.Sequential(*layers, nn.Linear(width, 1))


class _Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(width, width)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(self.norm(x))))


def _resnet(width=32, blocks=8):
    return nn.Sequential(nn.Linear(width, width), *[_Block(width) for _ in range(blocks)],
                         nn.LayerNorm(width), nn.Linear(width, 1))


def _backward(model, width=32, watched=True):
    x, y = torch.randn(64, width), torch.randn(64, 1)
    if not watched:
        F.mse_loss(model(x), y).backward()
        return
    with inspect.watch(model):
        F.mse_loss(model(x), y).backward()


@pytest.mark.parametrize("seed", SEEDS)
def test_twenty_layer_sigmoid_mlp_is_vanishing(seed):
    torch.manual_seed(seed)
    model = _mlp(20, nn.Sigmoid)
    _backward(model)
    report = inspect.gradient_flow(model)
    assert report.kinds == ["vanishing"]
    (finding,) = report.problems
    assert finding.layers[0] == "0" and "38" not in finding.layers  # the first layers, not the head
    assert finding.section == "Gradient Flow" and "residual connections" in finding.remedy


@pytest.mark.parametrize("seed", SEEDS)
def test_weights_ten_times_too_large_are_exploding(seed):
    torch.manual_seed(seed)
    model = _mlp(10, nn.ReLU, weight_scale=10.0)
    _backward(model)
    report = inspect.gradient_flow(model)
    assert report.kinds == ["exploding"]
    assert report.problems[0].layers[0] == "0"
    assert "clipping" in report.problems[0].remedy and "initialization" in report.problems[0].remedy


def test_exploding_needs_the_output_gradients_of_a_watched_forward():
    # the parameter gradients stay level here (growing activations times shrinking messages)
    torch.manual_seed(0)
    model = _mlp(10, nn.ReLU, weight_scale=10.0)
    _backward(model, watched=False)
    report = inspect.gradient_flow(model)
    assert report.signal == "parameter gradient" and "exploding" not in report.kinds


@pytest.mark.parametrize("seed", SEEDS)
def test_relu_layers_with_large_negative_biases_are_dead(seed):
    torch.manual_seed(seed)
    model = _mlp(4, nn.ReLU, bias=-3.0)
    _backward(model)
    report = inspect.gradient_flow(model)
    assert report.kinds == ["dead"]
    assert report.problems[0].layers == ["0", "2", "4", "6"]
    assert "no gradient at all reaches" in report.problems[0].message
    assert [r.dead for r in report.layers] == [1.0, 1.0, 1.0, 1.0, None]


@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_residual_net_with_layer_norm_has_no_problem(seed):
    torch.manual_seed(seed)
    model = _resnet()
    _backward(model)
    assert inspect.gradient_flow(model).problems == []
    assert inspect.gradient_flow(model, lr=1e-3).problems == []
    report = inspect.gradient_flow(model, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3))
    assert report.problems == [] and "no problem found" in str(report)


def test_saturated_tanh():
    torch.manual_seed(0)
    model = _mlp(6, nn.Tanh, weight_scale=10.0)
    _backward(model)
    report = inspect.gradient_flow(model)
    assert "saturated" in report.kinds
    finding = report.problems[report.kinds.index("saturated")]
    assert finding.section == "Backpropagation Through Activations"
    assert all(r.saturated > 0.5 for r in report.layers[1:-1])


def test_learning_rate_too_high_and_too_low():
    torch.manual_seed(0)
    model = _resnet()
    _backward(model)
    assert inspect.gradient_flow(model, lr=100.0).kinds == ["lr_too_high"]
    assert inspect.gradient_flow(model, lr=1e-8).kinds == ["lr_too_low"]
    sgd = torch.optim.SGD(model.parameters(), lr=100.0)
    assert inspect.gradient_flow(model, optimizer=sgd).kinds == ["lr_too_high"]


def test_update_ratio_is_lr_times_grad_over_weight_and_the_optimizer_trial_step_changes_nothing():
    torch.manual_seed(0)
    model = _resnet(blocks=2)
    _backward(model)
    report = inspect.gradient_flow(model, lr=0.05)
    head = model[-1]
    g = np.sqrt(sum((p.grad.numpy().astype(np.float64) ** 2).sum() for p in head.parameters()))
    w = np.sqrt(sum((p.detach().numpy().astype(np.float64) ** 2).sum() for p in head.parameters()))
    row = report.layers[-1]
    assert row.name == str(len(model) - 1)
    assert row.grad_norm == pytest.approx(g) and row.weight_norm == pytest.approx(w)
    assert row.update_ratio == pytest.approx(0.05 * g / w)
    # plain SGD steps by lr * grad: the optimizer's trial step gives the same ratios
    sgd = torch.optim.SGD(model.parameters(), lr=0.05)
    by_opt = inspect.gradient_flow(model, optimizer=sgd)
    assert [r.update_ratio for r in by_opt.layers] == pytest.approx([r.update_ratio for r in report.layers],
                                                                     rel=1e-5)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    adam.step()
    before = [p.detach().clone() for p in model.parameters()]
    steps = [adam.state[p]["step"].item() for p in model.parameters()]
    with pytest.warns(UserWarning, match="parameters changed"):  # adam.step() above
        inspect.gradient_flow(model, optimizer=adam)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert [adam.state[p]["step"].item() for p in model.parameters()] == steps


def test_activation_statistics_follow_their_definitions():
    relu = activation_stats("r", "relu", None, np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]]))
    assert relu.dead == pytest.approx(1 / 3) and relu.units == 3 and relu.saturated is None
    tanh = activation_stats("t", "tanh", None, np.array([0.995, 0.5, -0.999, 0.99]))
    assert tanh.saturated == 0.5 and tanh.dead is None
    sig = activation_stats("s", "sigmoid", None, np.array([[0.005, 0.5], [0.995, 0.99]]))
    assert sig.saturated == 0.5


class _Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.out = nn.Linear(6, 1)

    def forward(self, x):
        return self.out(torch.sigmoid(F.relu(self.fc(x))))


def test_watch_finds_functional_activations_and_names_reused_modules():
    torch.manual_seed(0)
    model = _Functional()
    with torch.no_grad():
        model.fc.bias[:3] = -100.0  # units 0..2 dead
    with inspect.watch(model) as w:
        model(torch.randn(10, 4))
    assert [(a.name, a.kind, a.layer) for a in w.activations] == [
        ("_Functional:relu", "relu", "fc"), ("_Functional:sigmoid", "sigmoid", None)]
    assert w.activations[0].dead == 0.5
    act = nn.ReLU()
    shared = nn.Sequential(nn.Linear(3, 3), act, nn.Linear(3, 3), act)
    with inspect.watch(shared) as w:
        shared(torch.randn(5, 3))
    assert [(a.name, a.layer) for a in w.activations] == [("1", "0"), ("1#2", "2")]


def test_watch_records_the_output_gradient_and_removes_its_hooks():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    x = torch.randn(7, 3)
    with inspect.watch(model) as w:
        hidden = model[0](x)
        hidden.retain_grad()
        out = model[2](model[1](hidden))
        out.retain_grad()
        (out ** 2).sum().backward()
    # the calls above bypass the Sequential: each layer's hook still records
    assert w.output_grad_norms["0"] == pytest.approx(float(hidden.grad.norm()))
    assert w.output_grad_norms["2"] == pytest.approx(float(out.grad.norm()))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    records = list(w.activations)
    model(torch.randn(2, 3))
    assert w.activations == records
    assert inspect.gradient_flow(model).layers[0].output_grad_norm == w.output_grad_norms["0"]


def test_str_is_a_table_then_the_findings():
    torch.manual_seed(0)
    model = _mlp(20, nn.Sigmoid)
    _backward(model)
    text = str(inspect.gradient_flow(model, lr=0.1))
    lines = text.splitlines()
    assert lines[0].startswith("gradient flow of Sequential (depth criteria on the output gradient")
    assert lines[1].split() == ["layer", "type", "params", "grad", "norm", "weight", "norm",
                                "update/weight", "out", "grad", "dead", "saturated"]
    assert lines[2].split()[:3] == ["0", "Linear", "1,056"]
    assert "vanishing: dL/d(output) of '0'" in text and 'section "Gradient Flow"' in text


def test_without_watch_the_parameter_gradients_still_show_vanishing():
    torch.manual_seed(0)
    model = _mlp(20, nn.Sigmoid)
    _backward(model, watched=False)
    report = inspect.gradient_flow(model)
    assert report.signal == "parameter gradient" and report.kinds == ["vanishing"]
    assert all(r.dead is None and r.output_grad_norm is None for r in report.layers)


def test_errors():
    model = nn.Linear(2, 1)
    with pytest.raises(RuntimeError, match="backward"):
        inspect.gradient_flow(model)
    model(torch.randn(3, 2)).sum().backward()
    with pytest.raises(ValueError, match="not both"):
        inspect.gradient_flow(model, lr=0.1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="positive"):
        inspect.gradient_flow(model, lr=-1.0)
    with pytest.raises(TypeError, match="nn.Module"):
        inspect.gradient_flow(lambda x: x)
    with pytest.raises(TypeError, match="nn.Module"):
        inspect.watch(lambda x: x)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    torch.manual_seed(0)
    model = _mlp(4, nn.ReLU, bias=-3.0)
    _backward(model)
    path = inspect.gradient_flow(model, lr=0.1).plot(tmp_path / "flow.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_plot_without_matplotlib_raises_import_error(monkeypatch, tmp_path):
    torch.manual_seed(0)
    model = _mlp(2, nn.ReLU)
    _backward(model)
    report = inspect.gradient_flow(model)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        report.plot(tmp_path / "flow.png")


def test_records_from_before_an_optimizer_step_are_left_out_with_a_warning():
    torch.manual_seed(0)
    model = _mlp(4, nn.ReLU, bias=-3.0)
    _backward(model)
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    with pytest.warns(UserWarning, match="since the forward inspect.watch recorded"):
        report = inspect.gradient_flow(model)
    assert report.signal == "parameter gradient" and "dead" not in report.kinds


def test_every_remedy_cites_a_section_of_the_founding_document():
    import os

    from retrograd.inspect.gradient_flow import REMEDIES

    root = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "backpropagation.md")
    with open(root, encoding="utf-8") as f:
        headings = {line.lstrip("#").strip() for line in f if line.startswith("#")}
    assert set(REMEDIES) == {"vanishing", "exploding", "dead", "saturated", "lr_too_high", "lr_too_low"}
    assert {section for section, _ in REMEDIES.values()} <= headings


def test_a_watched_model_can_be_garbage_collected():
    import gc
    import weakref

    model = _mlp(2, nn.ReLU)
    with inspect.watch(model):
        model(torch.randn(3, 32)).sum().backward()
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
