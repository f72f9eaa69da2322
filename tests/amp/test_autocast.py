"""autocast: output dtypes as torch's CPU autocast gives them; parameters and grads stay float32;
saved activations are low precision."""

import numpy as np
import pytest

import retrograd
from helpers import requires_torch, torch

F = retrograd.nn.functional

# (name, fn(t, F, x, w)) run inside autocast on both libraries
CASES = [
    ("matmul", lambda t, F, x, w: x @ w.t()),
    ("mm", lambda t, F, x, w: t.mm(x, w.t())),
    ("linear", lambda t, F, x, w: F.linear(x, w)),
    ("relu after linear", lambda t, F, x, w: t.relu(F.linear(x, w))),
    ("softmax after linear", lambda t, F, x, w: t.softmax(F.linear(x, w), dim=-1)),
    ("cross_entropy", lambda t, F, x, w: F.cross_entropy(F.linear(x, w), t.tensor([0, 1, 2, 1]))),
    ("mse_loss", lambda t, F, x, w: F.mse_loss(F.linear(x, w), t.zeros(4, 3))),
    ("add float32 + bf16", lambda t, F, x, w: F.linear(x, w) + x[:, :3]),
    ("sum", lambda t, F, x, w: F.linear(x, w).sum()),
    ("layer_norm", lambda t, F, x, w: F.layer_norm(F.linear(x, w), (3,))),
    ("conv2d", lambda t, F, x, w: F.conv2d(x.reshape(1, 1, 4, 5), w[:, :4].reshape(3, 1, 2, 2))),
]


def _inputs(t):
    rng = np.random.default_rng(0)
    x = t.tensor(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    w = t.tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    return x, w


@requires_torch
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_output_dtype_matches_torch(name, fn):
    x, w = _inputs(retrograd)
    with retrograd.autocast("cpu", dtype=retrograd.bfloat16):
        out = fn(retrograd, F, x, w)
    tx, tw = _inputs(torch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref = fn(torch, torch.nn.functional, tx, tw)
    assert str(out.dtype) == str(ref.dtype)
    np.testing.assert_allclose(out.float().detach().numpy(), ref.float().detach().numpy(), rtol=2e-2, atol=2e-2)


def test_parameters_and_grads_stay_float32():
    x, w = _inputs(retrograd)
    with retrograd.autocast("cpu"):
        loss = F.linear(x, w).float().pow(2).sum()
    loss.backward()
    assert w.dtype == retrograd.float32 and w.grad.dtype == retrograd.float32
    assert x.grad.dtype == retrograd.float32


def test_saved_activations_are_low_precision():
    from retrograd.autograd.graph import saved_tensors_hooks

    x, w = _inputs(retrograd)
    saved = []
    with saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        with retrograd.autocast("cpu"):
            F.linear(x, w)
    assert saved and all(t.dtype == retrograd.bfloat16 for t in saved)


def test_disabled_and_nested():
    x, w = _inputs(retrograd)
    with retrograd.autocast("cpu"):
        with retrograd.autocast("cpu", enabled=False):
            assert (x @ w.t()).dtype == retrograd.float32
        assert (x @ w.t()).dtype == retrograd.bfloat16
    assert (x @ w.t()).dtype == retrograd.float32
    assert retrograd.cpu.amp.autocast is not None
    with retrograd.amp.autocast("cpu", dtype=retrograd.float16):
        assert (x @ w.t()).dtype == retrograd.float16


def test_bad_dtype_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not supported"):
        retrograd.autocast("cpu", dtype=retrograd.float64)
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        retrograd.autocast("tpu")


def test_checkpoint_inside_autocast_recomputes_in_low_precision():
    from retrograd.utils.checkpoint import checkpoint

    x, w = _inputs(retrograd)
    with retrograd.autocast("cpu"):
        out = checkpoint(lambda a: F.linear(a, w).relu(), x)
    out.float().sum().backward()
    g_ckpt = w.grad.numpy().copy()
    w.grad = None
    with retrograd.autocast("cpu"):
        out = F.linear(x, w).relu()
    out.float().sum().backward()
    np.testing.assert_array_equal(g_ckpt, w.grad.numpy())
