"""inspect.saved_tensors: what backward keeps, deduplicated, attributed, and the expected
peak of backward agreeing with measured memory (tracemalloc sees NumPy's buffers)."""

import tracemalloc

import retrograd as torch
from retrograd.inspect import saved_tensors


def _deep(Ws, x):
    h = x
    for W in Ws:
        h = h + torch.tanh(h @ W)
    return (h * h).mean()


def test_counts_each_buffer_once_and_names_the_ops():
    W = torch.randn(4, 4, requires_grad=True)
    x = torch.randn(3, 4)
    h = torch.tanh(x @ W)
    # h saved twice by one Mul: one buffer; x @ W saves x only (W's gradient reads x), as torch; W * W saves W
    loss = (h * h).sum() + (W * W).sum()
    report = saved_tensors(loss)
    acts = [r for r in report.records if r.kind == "activation"]
    assert len(acts) == 1 and acts[0].bytes == 3 * 4 * 4
    assert sorted(acts[0].saved_by) == ["MulBackward0", "MulBackward0", "TanhBackward0"]
    kinds = {r.kind for r in report.records}
    assert kinds == {"activation", "parameter", "input"}
    assert "expected peak" in str(report)


def test_expected_peak_agrees_with_measured_memory():
    torch.manual_seed(0)
    Ws = [torch.randn(256, 256).mul_(0.05).requires_grad_() for _ in range(6)]
    x = torch.randn(512, 256)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        loss = _deep(Ws, x)
        report = saved_tensors(loss)
        after_forward = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.reset_peak()
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert abs(report.activation_bytes - after_forward) <= 0.10 * after_forward
    assert abs(report.expected_peak_bytes - peak) <= 0.10 * peak


def test_modules_are_named_by_path():
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    loss = model(torch.randn(5, 4)).pow(2).sum()
    report = saved_tensors(loss, model=model)
    names = {s.module for s in report.by_module()}
    assert "1" in names  # the Tanh at index 1 saved its output
