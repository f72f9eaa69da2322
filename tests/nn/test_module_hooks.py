"""nn.Module's full backward hooks (nn/module.py's _InputsHook and _OutputsHook) as torch's
BackwardHookFunction: the module's inputs and outputs pass through a custom Function returning
them as-is, so they are views that may not be modified in place."""

import re
import warnings

import pytest
from helpers import requires_torch, torch

import retrograd

# the same program on retrograd and on torch (skipped where torch is not installed)
_BOTH = [pytest.param(retrograd, id="retrograd"), pytest.param(torch, id="torch", marks=requires_torch)]
_CUSTOM_VIEW = re.escape("is a view and is being modified inplace. This view was created inside a custom Function "
                         "(or because an input was returned as-is)")


@pytest.mark.parametrize("lib", _BOTH)
def test_an_in_place_op_on_a_hooked_modules_input_or_output_raises_as_torch(lib):
    nn = lib.nn
    calls = []

    def hook(module, grad_input, grad_output):
        calls.append(type(module).__name__)

    lib.manual_seed(0)
    relu = nn.ReLU(inplace=True)
    relu.register_full_backward_hook(hook)
    lin = nn.Linear(3, 3)
    x = lib.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Output 0 of BackwardHookFunction " + _CUSTOM_VIEW):
        relu(lin(x))  # ReLU(inplace=True) writes into its input: the hook's view of lin's output
    hooked = nn.Linear(3, 3)
    hooked.register_full_backward_hook(hook)
    assert hooked(x).grad_fn.name() == "BackwardHookFunctionBackward"
    with pytest.raises(RuntimeError, match="Output 0 of BackwardHookFunction " + _CUSTOM_VIEW):
        hooked(x).relu_()  # its output is the hook's view too
    with pytest.raises(RuntimeError, match="Output 0 of View " + _CUSTOM_VIEW):
        hooked(x).view(-1).add_(1)

    class Pair(nn.Module):
        def forward(self, x):
            return x * 2, x * 3

    pair = Pair()
    pair.register_full_backward_hook(hook)
    with pytest.raises(RuntimeError, match="Output 1 of BackwardHookFunction is a view and is being modified inplace. "
                                           "This view is the output of a function that returns multiple views"):
        pair(x)[1].add_(1)
    # in-place inside a hooked container, on tensors that are not the hook's, runs; so does a clone
    seq = nn.Sequential(nn.Linear(3, 3), nn.ReLU(inplace=True))
    seq.register_full_backward_hook(hook)
    calls.clear()
    out = hooked(x).clone()
    out.relu_()
    (seq(x).sum() + out.sum()).backward()
    assert sorted(calls) == ["Linear", "Sequential"] and x.grad.shape == (2, 3)


@pytest.mark.parametrize("lib", _BOTH)
def test_a_backward_hook_without_inputs_requiring_grad_warns_as_torch(lib):
    """The hooks then see grad_input all None (the gradients are with respect to the outputs): torch
    warns so, also for a backward pre-hook alone; an input requiring grad gives no warning."""
    seen = []
    hooked = lib.nn.Linear(2, 2)
    hooked.register_full_backward_hook(lambda m, grad_input, grad_output: seen.append(grad_input))
    pre_only = lib.nn.Linear(2, 2)
    pre_only.register_full_backward_pre_hook(lambda m, grad_output: None)
    for module in (hooked, pre_only):
        with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are computed with "
                                             "respect to module outputs since no inputs require gradients"):
            module(lib.ones(1, 2)).sum().backward()
    assert seen == [(None,)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hooked(lib.ones(1, 2, requires_grad=True)).sum().backward()
    assert seen[-1][0].shape == (1, 2)
