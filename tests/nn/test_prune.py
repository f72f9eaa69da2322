"""nn.utils.prune: masks, successive pruning (PruningContainer), global pruning, remove, the
forward pre-hook and the gradient to ``<name>_orig``, against torch's results on fixed weights."""

import pytest
from helpers import requires_torch, torch

import retrograd
from retrograd import nn
from retrograd.nn.utils import prune

# torch 2.13's result of _case(torch, torch.nn.utils.prune) (no ties among the weights' magnitudes)
TORCH = {'l1': [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0]], 'l1_again': [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]], 'then_ln': [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]], 'hooks': ['PruningContainer'], 'container': ['L1Unstructured', 'L1Unstructured', 'LnStructured'], 'ln_dim1': [[0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0]], 'ln_inf': [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]], 'global': ([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]], [0.0, 1.0, 0.0], [[0.0, 1.0]]), 'names': (['bias', 'weight_orig'], ['weight_mask'], ['bias', 'weight_orig', 'weight_mask']), 'forward': [[8.0, -4.0, 10.5], [8.0, -4.0, 10.5]], 'grad_orig': [[2.0, 0.0, 2.0, 0.0], [2.0, 2.0, 0.0, 2.0], [2.0, 2.0, 2.0, 2.0]], 'is_pruned': True, 'removed': ([[3.0, -0.0, 4.0, 0.0], [-5.0, 9.0, 0.0, -6.0], [5.5, 3.5, -7.0, 8.0]], 'Parameter', ['bias', 'weight'], 0, False)}


def _case(torch, pr):
    W = torch.tensor([[3., -1.5, 4, 1], [-5, 9, 2, -6], [5.5, 3.5, -7, 8]])
    def lin():
        m = torch.nn.Linear(4, 3)
        with torch.no_grad():
            m.weight.copy_(W)
            m.bias.copy_(torch.tensor([1., -2, 0.5]))
        return m
    out = {}
    m = lin()
    pr.l1_unstructured(m, "weight", 0.5)
    out["l1"] = m.weight_mask.tolist()
    pr.l1_unstructured(m, "weight", 2)
    out["l1_again"] = m.weight_mask.tolist()
    pr.ln_structured(m, "weight", 1, n=2, dim=0)
    out["then_ln"] = m.weight_mask.tolist()
    out["hooks"] = [type(h).__name__ for h in m._forward_pre_hooks.values()]
    out["container"] = [type(h).__name__ for h in list(m._forward_pre_hooks.values())[0]]
    m = lin()
    pr.ln_structured(m, "weight", 0.5, n=1, dim=1)
    out["ln_dim1"] = m.weight_mask.tolist()
    m = lin()
    pr.ln_structured(m, "weight", 1, n=float("inf"), dim=0)
    out["ln_inf"] = m.weight_mask.tolist()
    a, b = lin(), torch.nn.Linear(2, 1)
    with torch.no_grad():
        b.weight.copy_(torch.tensor([[0.5, -7.]]))
    pr.l1_unstructured(a, "bias", 1)
    pr.global_unstructured([(a, "weight"), (a, "bias"), (b, "weight")], pruning_method=pr.L1Unstructured, amount=4)
    out["global"] = (a.weight_mask.tolist(), a.bias_mask.tolist(), b.weight_mask.tolist())
    m = lin()
    pr.l1_unstructured(m, "weight", 3)
    out["names"] = ([n for n, _ in m.named_parameters()], [n for n, _ in m.named_buffers()], list(m.state_dict()))
    y = m(torch.ones(2, 4))
    y.sum().backward()
    out["forward"] = y.tolist()
    out["grad_orig"] = m.weight_orig.grad.tolist()
    out["is_pruned"] = pr.is_pruned(torch.nn.Sequential(m))
    pr.remove(m, "weight")
    out["removed"] = (m.weight.tolist(), type(m.weight).__name__, [n for n, _ in m.named_parameters()],
                      len(m._forward_pre_hooks), pr.is_pruned(m))
    return out


def test_pruning_as_torch():
    assert _case(retrograd, prune) == TORCH


@requires_torch
def test_recorded_result_is_torchs():
    import torch.nn.utils.prune as torch_prune
    assert _case(torch, torch_prune) == TORCH


def test_random_methods_prune_the_amount_and_follow_the_seed():
    def masks():
        retrograd.manual_seed(3)
        m = nn.Linear(5, 4)
        prune.random_unstructured(m, "weight", amount=0.25)
        prune.random_structured(m, "weight", amount=2, dim=1)
        return m.weight_mask
    a, b = masks(), masks()
    assert a.tolist() == b.tolist()
    assert (a.sum(0) == 0).sum().item() == 2  # two whole columns
    assert a.sum().item() <= 20 - 5 and a.sum().item() >= 20 - 5 - 8


@pytest.mark.parametrize("call, exc, match", [
    (lambda m: prune.l1_unstructured(m, "weight", amount=13), ValueError, "smaller than the number"),
    (lambda m: prune.l1_unstructured(m, "weight", amount=1.5), ValueError, "range \\[0, 1\\]"),
    (lambda m: prune.l1_unstructured(m, "weight", amount=-1), ValueError, "non-negative integer"),
    (lambda m: prune.l1_unstructured(m, "weight", amount="a"), TypeError, "Invalid type for amount"),
    (lambda m: prune.l1_unstructured(m, "foo", amount=0.5), AttributeError, "foo"),
    (lambda m: prune.random_structured(m, "bias", amount=1, dim=0), ValueError, "multidimensional"),
    (lambda m: prune.ln_structured(m, "weight", amount=1, n=1, dim=2), IndexError, "Invalid index 2"),
    (lambda m: prune.custom_from_mask(m, "bias", retrograd.ones(2)), AssertionError, "must match"),
    (lambda m: prune.l1_unstructured(m, "weight", 3, importance_scores=retrograd.ones(2, 2)), AssertionError,
     "same shape"),
    (lambda m: prune.remove(m, "weight"), ValueError, "has to be pruned before"),
    (lambda m: prune.global_unstructured([(m, "weight")], pruning_method=prune.RandomStructured, amount=1),
     TypeError, "unstructured"),
])
def test_errors_as_torch(call, exc, match):
    m = nn.Linear(4, 3)
    with pytest.raises(exc, match=match):
        call(m)
    # a failed pruning leaves the parameter (last, as torch re-registers it), no mask and no hook
    assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight"]
    assert list(m.named_buffers()) == [] and not prune.is_pruned(m)
