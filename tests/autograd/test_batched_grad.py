"""autograd.grad(is_grads_batched=True): one gradient per batch entry of the grad_outputs, stacked;
values and errors as torch 2.13's (recorded below)."""

import pytest

import retrograd as T


def _x():
    return T.tensor([1.0, 2.0, 3.0], requires_grad=True)


def test_batched_grad_outputs_give_stacked_gradients_as_torch():
    x = _x()
    y = T.tensor([0.5, -1.0, 2.0])
    (g,) = T.autograd.grad(x * y, x, grad_outputs=T.eye(3), is_grads_batched=True)
    assert g.tolist() == [[0.5, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 2.0]]  # the Jacobian rows
    x = _x()
    (g,) = T.autograd.grad([x * 2, (x * 3).sum()], x, grad_outputs=[T.eye(3), T.ones(3)], is_grads_batched=True)
    assert g.tolist() == [[5.0, 3.0, 3.0], [3.0, 5.0, 3.0], [3.0, 3.0, 5.0]]
    x = _x()
    (g,) = T.autograd.grad([(x * 2).sum()], [x], grad_outputs=[T.ones(4)], is_grads_batched=True)
    assert g.shape == (4, 3) and g.tolist() == [[2.0] * 3] * 4


def test_batched_grad_of_unused_inputs_and_graph_release_as_torch():
    x, unused = _x(), _x()
    gx, gu = T.autograd.grad([x * 2], [x, unused], grad_outputs=[T.ones(2, 3)], is_grads_batched=True,
                             allow_unused=True)
    assert gx.tolist() == [[2.0] * 3] * 2 and gu is None
    x = _x()
    gx, gu = T.autograd.grad([x * 2], [x, unused], grad_outputs=[T.ones(2, 3)], is_grads_batched=True,
                             materialize_grads=True)
    assert gu.shape == (3,) and gu.tolist() == [0.0] * 3  # materialised zeros are not batched (torch)
    x = _x()
    z = x * x
    T.autograd.grad(z, x, grad_outputs=T.eye(3), is_grads_batched=True)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        T.autograd.grad(z.sum(), x)  # the last batch entry freed the graph (retain_graph=False)


def test_batched_grad_output_shapes_are_checked_as_torch():
    x = _x()
    with pytest.raises(RuntimeError, match=r"grad_output\[0\] has a shape of .*\[2, 2\].* and output\[0\] has a "
                                           r"shape of .*\[3\]"):
        T.autograd.grad(x * 2, x, grad_outputs=T.ones(2, 2), is_grads_batched=True)
    with pytest.raises(ValueError, match=r"same size in the mapped dimension, got sizes \[2, 4\]"):
        T.autograd.grad([x * 2, x * 3], x, grad_outputs=[T.ones(2, 3), T.ones(4, 3)], is_grads_batched=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        T.autograd.grad(x * 2, x, is_grads_batched=True)
