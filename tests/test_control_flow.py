"""torch.cond and torch.while_loop run eagerly (retrograd/_control_flow.py): the branch taken and
the iterations are Python's, gradients flow through the ops they ran, torch's errors."""

import pytest

import retrograd
from tests.helpers import requires_torch, torch


@pytest.mark.parametrize("lib", ["retrograd", pytest.param("torch", marks=requires_torch)])
def test_cond_differentiates_the_branch_taken(lib):
    t = retrograd if lib == "retrograd" else torch
    x = t.tensor([1.0, 2.0], requires_grad=True)
    y = t.cond(x.sum() > 0, lambda a: a * a, lambda a: a - 1, (x,))
    y.sum().backward()
    assert y.tolist() == [1.0, 4.0] and x.grad.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="Expected pred to be bool or single-element tensor"):
        t.cond(t.tensor([True, False]), lambda a: a, lambda a: a, (x,))


@pytest.mark.parametrize("lib", ["retrograd", pytest.param("torch", marks=requires_torch)])
def test_while_loop_iterates_until_cond_fails(lib):
    t = retrograd if lib == "retrograd" else torch
    i, s = t.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 2), (t.tensor(0), t.tensor(1.0)))
    assert (i.item(), s.item()) == (4, 16.0)
    i, s = t.while_loop(lambda i, s: i < 0, lambda i, s: (i + 1, s.clone()), (t.tensor(0), t.tensor(1.0)))
    assert (i.item(), s.item()) == (0, 1.0)


def test_while_loop_body_must_keep_its_arity():
    with pytest.raises(RuntimeError, match="must return as many values as carried_inputs"):
        retrograd.while_loop(lambda i, s: i < 2, lambda i, s: (i + 1,), (retrograd.tensor(0), retrograd.tensor(1.0)))
