"""Variable._execution_engine.queue_callback: a callback queued during backward runs once the
whole backward has finished (after every leaf's gradient is written), as torch's does."""

import pytest

import retrograd as torch


def test_callback_runs_after_every_leaf_is_accumulated():
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    seen = []

    def hook(p):
        seen.append(("hook", p.shape[0]))
        if len(seen) == 1:
            torch.autograd.Variable._execution_engine.queue_callback(
                lambda: seen.append(("final", a.grad is not None and b.grad is not None)))

    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    ((a * 2).sum() + (b * 3).sum()).backward()
    assert seen[-1] == ("final", True)
    assert sorted(seen[:2]) == [("hook", 2), ("hook", 3)]


def test_a_callback_may_queue_another_and_each_runs_once():
    x = torch.ones(2, requires_grad=True)
    seen = []
    queue = torch.autograd.Variable._execution_engine.queue_callback

    def first():
        seen.append(1)
        queue(lambda: seen.append(2))

    x.register_post_accumulate_grad_hook(lambda p: queue(first))
    x.sum().backward()
    assert seen == [1, 2]
    x.sum().backward()
    assert seen == [1, 2, 1, 2]


def test_queue_callback_outside_backward_raises_torchs_error():
    with pytest.raises(RuntimeError, match="Final callbacks can only be installed during backward pass"):
        torch.autograd.Variable._execution_engine.queue_callback(lambda: None)
