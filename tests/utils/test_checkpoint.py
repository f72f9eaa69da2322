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
    # an outer hook sees what is saved outside the segment and the segment's input (as torch's)
    with saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        y = checkpoint(segment, x)
        loss = (y ** 2).sum()
    assert len(packed) == 2 and packed[0] is x  # the segment's input, then the pow's input
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


def _transformer_block(d=16, heads=2, seed=0):
    torch.manual_seed(seed)
    nn = torch.nn
    return nn.TransformerEncoderLayer(d, heads, dim_feedforward=32, dropout=0.1, batch_first=True,
                                      dtype=torch.float64)


def _block_grads(block, x, use_checkpoint):
    block.zero_grad()
    torch.manual_seed(123)  # dropout masks come from the global generator
    out = checkpoint(block, x) if use_checkpoint else block(x)
    out.pow(2).sum().backward()
    return [p.grad.numpy().copy() for p in block.parameters()]


def test_transformer_block_with_dropout_checkpointed_equals_plain():
    block = _transformer_block()
    block.train()  # dropout active: the recompute must replay the same masks
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    plain = _block_grads(block, x, False)
    ckpt = _block_grads(block, x, True)
    for a, b in zip(plain, ckpt):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_offload_inside_checkpoint_composes(tmp_path):
    import os

    from retrograd.autograd.graph import save_on_disk

    Ws = _params()
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    with save_on_disk(str(tmp_path)):
        h = checkpoint(lambda a: _block(_block(a, Ws[0]), Ws[1]), x)
        loss = (torch.tanh(h @ Ws[2]) ** 2).sum()
    assert os.listdir(tmp_path)  # the ops outside the segment went to disk
    loss.backward()
    got = [x.grad.numpy().copy(), Ws[0].grad.numpy().copy(), Ws[2].grad.numpy().copy()]
    for W in Ws:
        W.grad = None
    x.grad = None
    (torch.tanh(_block(_block(x, Ws[0]), Ws[1]) @ Ws[2]) ** 2).sum().backward()
    want = [x.grad.numpy(), Ws[0].grad.numpy(), Ws[2].grad.numpy()]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert os.listdir(tmp_path) == []


def test_checkpoint_frees_each_segment_during_backward():
    import tracemalloc

    torch.manual_seed(0)
    layers = [torch.nn.Linear(128, 128) for _ in range(8)]
    x = torch.randn(2048, 128)  # activations (1 MiB each) dominate the weights

    def run(every):
        def seg(s):
            def f(h):
                for layer in layers[s:s + every]:
                    h = h + torch.tanh(layer(h))
                return h
            return f

        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            h = x
            for s in range(0, 8, every):
                h = checkpoint(seg(s), h) if every < 8 else seg(0)(h)
            loss = (h * h).mean()
            tracemalloc.reset_peak()
            loss.backward()
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
            for layer in layers:
                layer.zero_grad()

    plain, every4 = run(8), run(4)
    # ideal: 2 segment inputs + one segment's 8 activations, against all 16: about 0.6
    assert every4 < 0.75 * plain


def _nested(x, Ws):
    """An outer checkpoint around two inner ones (of two blocks each)."""
    def inner(Wpair):
        def f(h):
            for W in Wpair:
                h = _block(h, W)
            return h
        return f

    def outer(h):
        h = checkpoint(inner(Ws[:2]), h, use_reentrant=False)
        return checkpoint(inner(Ws[2:]), h, use_reentrant=False)

    return (checkpoint(outer, x, use_reentrant=False) ** 2).sum()


def test_nested_checkpoints_give_the_plain_gradients():
    loss_a, ga = _grads(_plain)
    loss_b, gb = _grads(_nested)
    assert loss_a == loss_b
    for a, b in zip(ga, gb):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_nested_checkpoint_keeps_only_the_outermost_input():
    """The inner segments' inputs are saved through the outer checkpoint's hooks, so the forward
    keeps only the outer input (as torch, whose outer saved-tensor hook also sees the inner input)."""
    Ws = _params()
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    packed = []
    with saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        loss = _nested(x, Ws)
    assert len(packed) == 2 and packed[0] is x  # the outer input and the final pow's input
    loss.backward()  # the inner inputs come back from the outer recompute
    assert x.grad is not None and all(W.grad is not None for W in Ws)


def test_recomputed_values_leave_as_backward_passes_them():
    """A recomputed activation is dropped once the nodes that saved it have run their backward,
    not kept until the whole segment is done."""
    import weakref

    Ws = _params()
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    made, seen = [], {}

    def segment(h):
        outs = []
        for W in Ws:
            h = _block(h, W)
            outs.append(h)
        made.append([weakref.ref(o) for o in outs])  # forward, then the recompute's
        outs[1].register_hook(lambda g: seen.update(alive=[r() is not None for r in made[-1]]))
        return h

    (checkpoint(segment, x, use_reentrant=False) ** 2).sum().backward()
    # when block 1's output gets its gradient, blocks 2 and 3 are done: block 2's output (saved
    # by block 3's matmul) is gone, block 0's output (saved by block 1's matmul) is still there
    assert seen["alive"] == [True, False, False, False]


def test_double_backward_through_a_checkpoint_equals_the_plain_calls():
    """A gradient penalty (create_graph=True) differentiates the recomputed values, as torch's
    non-reentrant checkpoint: second-order gradients reach the parameters and the segment's input."""
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1),
                                  torch.nn.Sigmoid()).double()
    x0 = torch.tensor(np.random.default_rng(0).normal(size=(5, 3)), requires_grad=True)

    def second_order(checkpointed):
        net.zero_grad()
        x = x0 * 1.5  # not a leaf: the path to x0 runs through the segment's input
        y = checkpoint(net, x, use_reentrant=False) if checkpointed else net(x)
        g, = torch.autograd.grad(y.sum(), x, create_graph=True)
        penalty = (g.norm() - 1) ** 2
        gx, = torch.autograd.grad(penalty, x0, retain_graph=True)
        penalty.backward()
        return [gx] + [p.grad for p in net.parameters()]

    for plain, checkpointed in zip(second_order(False), second_order(True)):
        assert plain.abs().sum().item() > 0
        np.testing.assert_allclose(checkpointed.numpy(), plain.numpy(), rtol=1e-12, atol=1e-15)
