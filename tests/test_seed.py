"""The seed's snippets (docs/backpropagation.md) run as written and print what it says."""

import pytest

import retrograd as torch


def test_manual_backprop_example():
    x = torch.tensor(2.0, requires_grad=True)
    w = torch.tensor(3.0, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=True)
    y = w * x + b
    L = y ** 2
    L.backward()
    assert repr(w.grad) == "tensor(28.)"
    assert repr(x.grad) == "tensor(42.)"
    assert repr(b.grad) == "tensor(14.)"


def test_relu_example():
    x = torch.tensor([-2.0, 1.0, 3.0], requires_grad=True)
    y = torch.relu(x)
    loss = y.sum()
    loss.backward()
    assert repr(x.grad) == "tensor([0., 1., 1.])"


def test_breaking_the_graph_with_item():
    x = torch.tensor(2.0, requires_grad=True)
    loss = x * x
    loss_value = loss.item()
    assert isinstance(loss_value, float)
    with pytest.raises(AttributeError):
        loss_value.backward()


def test_inplace_modification_of_a_leaf_fails():
    x = torch.randn(3, requires_grad=True)
    y = x ** 2
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        x.add_(1.0)
    loss = y.sum()
    loss.backward()  # x was left untouched, so backward still works
    assert torch.allclose(x.grad, 2 * x) if hasattr(torch, "allclose") else True


def test_inplace_modification_of_a_saved_tensor_fails_in_backward():
    x = torch.randn(3, requires_grad=True)
    h = x * 1.0
    y = h ** 2
    h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_forgetting_zero_grad_accumulates():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):
        loss = (w * 3).sum()
        loss.backward()
    assert repr(w.grad) == "tensor([6., 6.])"  # accumulated over both iterations
    w.grad = None  # what optimizer.zero_grad() does
    (w * 3).sum().backward()
    assert repr(w.grad) == "tensor([3., 3.])"


def test_detached_tensors_stop_gradients_reaching_the_encoder():
    enc_w = torch.tensor([1.0, 2.0], requires_grad=True)
    dec_w = torch.tensor([3.0, 4.0], requires_grad=True)

    def encoder(x):
        return (x * enc_w).tanh()

    def decoder(h):
        return (h * dec_w).sum()

    x = torch.tensor([0.5, -0.5])
    h = encoder(x)
    h = h.detach()
    out = decoder(h)
    loss = out
    loss.backward()
    assert enc_w.grad is None
    assert dec_w.grad is not None


def test_forward_pass_records_the_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = ((x * 2 - 1) ** 2).mean()
    assert repr(loss).startswith("tensor(5., grad_fn=<MeanBackward0>)")
    assert loss.grad_fn.next_functions[0][0].name() == "PowBackward0"
