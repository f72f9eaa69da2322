"""Shared by the layer tests: run a retrograd module and a torch module with the same weights."""

import numpy as np

import retrograd
from tests.helpers import torch


def copy_from_torch(rg_module, th_module):
    """Load th_module's state (parameters and buffers) into rg_module."""
    state = {k: retrograd.tensor(v.detach().numpy().copy()) for k, v in th_module.state_dict().items()}
    rg_module.load_state_dict(state)


def compare_modules(rg_module, th_module, *inputs, atol=1e-6, rtol=1e-5, copy=True, grad=True):
    """Same weights, same inputs: outputs, input gradients, parameter gradients and buffers must agree."""
    if copy:
        copy_from_torch(rg_module, th_module)
    rg_in = [retrograd.tensor(x, requires_grad=grad and x.dtype.kind == "f") if isinstance(x, np.ndarray) else x
             for x in inputs]
    th_in = [torch.tensor(x, requires_grad=grad and x.dtype.kind == "f") if isinstance(x, np.ndarray) else x
             for x in inputs]
    rg_out, th_out = rg_module(*rg_in), th_module(*th_in)
    if isinstance(th_out, tuple):
        for r, t in zip(rg_out, th_out):
            np.testing.assert_allclose(r.detach().numpy(), t.detach().numpy(), atol=atol, rtol=rtol)
        rg_out, th_out = rg_out[0], th_out[0]
    np.testing.assert_allclose(rg_out.detach().numpy(), th_out.detach().numpy(), atol=atol, rtol=rtol)
    assert str(rg_out.dtype) == str(th_out.dtype)
    if grad and th_out.requires_grad:
        g = np.random.default_rng(7).standard_normal(tuple(th_out.shape))
        (rg_out * retrograd.tensor(g, dtype=rg_out.dtype)).sum().backward()
        (th_out * torch.tensor(g, dtype=th_out.dtype)).sum().backward()
        for r, t in zip(rg_in, th_in):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                np.testing.assert_allclose(r.grad.numpy(), t.grad.numpy(), atol=atol * 10, rtol=rtol * 10)
        rg_params = dict(rg_module.named_parameters())
        for name, p in th_module.named_parameters():
            if p.grad is None:
                assert rg_params[name].grad is None
                continue
            np.testing.assert_allclose(rg_params[name].grad.numpy(), p.grad.numpy(), atol=atol * 10,
                                       rtol=rtol * 10, err_msg=name)
    rg_buffers = dict(rg_module.named_buffers())
    for name, b in th_module.named_buffers():
        np.testing.assert_allclose(rg_buffers[name].numpy(), b.numpy(), atol=atol, rtol=rtol, err_msg=name)
    return rg_out, th_out
