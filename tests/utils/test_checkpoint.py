"""Checkpointing: gradients equal the plain run's; nothing inside a segment is kept;
RNG (dropout-like randomness) is replayed; a mismatching recompute is an error."""

import numpy as np
import pytest

import retrograd as torch
from retrograd.autograd.graph import saved_tensors_hooks
from retrograd.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential


def _params(seed=0):
    torch.manual_seed(seed)
    return [torch.randn(8, 8, dtype=torch.float64).mul_(0.3).requires_grad_() for _ in range(4)]


def _block(x, W):
    return x + torch.tanh(x @ W)


def _grads(run):
    Ws = _params()
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    loss = run(x, Ws)
    loss.backward()
    return loss.item(), [x.grad.numpy().copy()] + [W.grad.numpy().copy() for W in Ws]


def _plain(x, Ws):
    for W in Ws:
        x = _block(x, W)
    return (x ** 2).sum()


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_checkpointed_gradients_equal_plain(use_reentrant):
    def checkpointed(x, Ws):
        for W in Ws:
            x = checkpoint(_block, x, W, use_reentrant=use_reentrant)
        return (x ** 2).sum()

    loss_a, ga = _grads(_plain)
    loss_b, gb = _grads(checkpointed)
    assert loss_a == loss_b
    for a, b in zip(ga, gb):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_segment_keeps_nothing_and_recomputes_once():
    Ws = _params()
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    calls = []

    def segment(h):
        calls.append(1)
        for W in Ws:
            h = _block(h, W)
        return h

    packed = []
    # an outer hook sees only what is saved outside the segment
    with saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        y = checkpoint(segment, x)
        loss = (y ** 2).sum()
    assert len(packed) == 1  # only the pow outside the segment saved its input
    loss.backward()
    assert len(calls) == 2  # forward + exactly one recompute


def test_rng_state_is_replayed_in_recompute():
    def noisy(h):
        return h * torch.rand(h.shape, dtype=torch.float64)

    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(7)
    out = checkpoint(noisy, x)
    out.sum().backward()
    torch.manual_seed(7)
    mask = torch.rand(4, 3, dtype=torch.float64)
    np.testing.assert_allclose(x.grad.numpy(), mask.numpy())


def test_recompute_with_different_shapes_raises_naming_the_op():
    state = {"n": 3}
    W = torch.randn(3, 3, requires_grad=True)

    def changing(h):
        return (h[:, : state["n"]] @ W[: state["n"]]).tanh()

    x = torch.randn(2, 3, requires_grad=True)
    y = checkpoint(changing, x)
    state["n"] = 2
    with pytest.raises(CheckpointError, match="Backward0"):
        y.sum().backward()


def test_checkpoint_sequential_matches_plain():
    Ws = _params()
    fns = [lambda h, W=W: _block(h, W) for W in Ws]
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    checkpoint_sequential(fns, 2, x).pow(2).sum().backward()
    got = [x.grad.numpy().copy()] + [W.grad.numpy().copy() for W in Ws]
    _, want = _grads(_plain)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)
