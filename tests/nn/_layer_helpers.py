"""Shared by the layer tests: a retrograd module and torch's, with the same seeded weights, on the
same inputs (torch's results recorded in tests/reference/ where torch is not installed)."""

import numpy as np

import retrograd
from tests.helpers import as_recorded, rand, reference, torch


def _run(lib, build, steps):
    """build(lib), a module of lib.nn in float64 whose parameters are set to seeded uniforms, on
    each step: a tuple of inputs (NumPy arrays become tensors, floating ones requiring grad; a
    trailing dict holds keyword arguments), or "eval" to switch to eval mode. Per step: outputs
    (dtype, values), input and parameter gradients from a seeded upstream gradient of the first
    output, and the buffers after it; then the module's repr and state_dict keys."""
    m = build(lib).double()
    with lib.no_grad():
        for i, (_, p) in enumerate(sorted(m.named_parameters(), key=lambda item: item[0])):
            p.copy_(lib.tensor(rand(*p.shape, seed=100 + i)))
    results = []
    for step in steps:
        if step == "eval":
            m.eval()
            continue
        kwargs = step[-1] if step and isinstance(step[-1], dict) else {}
        inputs = [lib.tensor(x, requires_grad=x.dtype.kind == "f") if isinstance(x, np.ndarray) else x
                  for x in step[:len(step) - bool(kwargs)]]
        outs = m(*inputs, **kwargs)
        outs = list(outs) if isinstance(outs, tuple) else [outs]
        if outs[0].requires_grad:
            g = np.random.default_rng(7).standard_normal(tuple(outs[0].shape))
            (outs[0] * lib.tensor(g, dtype=outs[0].dtype)).sum().backward()
        results.append({
            "outs": [(str(o.dtype), o.detach().numpy()) for o in outs],
            "input_grads": [None if x.grad is None else x.grad.numpy() for x in inputs
                            if isinstance(x, lib.Tensor) and x.requires_grad],
            "param_grads": [(n, None if p.grad is None else p.grad.numpy()) for n, p in m.named_parameters()],
            "buffers": [(n, b.numpy()) for n, b in m.named_buffers()]})
        m.zero_grad(set_to_none=True)
    return {"repr": repr(m), "state_dict": list(m.state_dict()), "steps": results}


def _assert_close(ours, theirs, where, atol, rtol):
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray) and ours.shape == theirs.shape, (where, ours, theirs.shape)
        np.testing.assert_allclose(ours, theirs, atol=atol, rtol=rtol, err_msg=where)
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (where, ours, theirs)
        for i, (o, t) in enumerate(zip(ours, theirs)):
            _assert_close(o, t, f"{where}[{i}]", atol, rtol)
    else:
        assert ours == theirs, (where, ours, theirs)


def compare_modules(build, *steps, atol=1e-6, rtol=1e-5):
    """build(retrograd) and build(torch), with the same weights, give the same outputs, input and
    parameter gradients (10x the tolerance) and buffers on each step, the same repr and state_dict
    keys (see _run). Without torch, its recorded results stand in."""
    ours = as_recorded(_run(retrograd, build, steps))
    arrays = [x for step in steps if step != "eval" for x in step if isinstance(x, np.ndarray)]
    theirs = reference(lambda: _run(torch, build, steps), inputs=arrays)
    assert ours["repr"] == theirs["repr"] and ours["state_dict"] == theirs["state_dict"]
    assert len(ours["steps"]) == len(theirs["steps"])
    for i, (o, t) in enumerate(zip(ours["steps"], theirs["steps"])):
        for key, scale in (("outs", 1), ("input_grads", 10), ("param_grads", 10), ("buffers", 1)):
            _assert_close(o[key], t[key], f"step {i} {key}", atol * scale, rtol * scale)
