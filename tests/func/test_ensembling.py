"""Model ensembling as in torch's tutorial: stack_module_state + vmap over functional_call."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd.func import functional_call, reset_vmap_fallbacks, stack_module_state, vmap, vmap_fallbacks
from tests.helpers import reference, torch


def _models(t, n=4):
    t.manual_seed(0)
    return [t.nn.Sequential(t.nn.Linear(5, 7), t.nn.ReLU(), t.nn.Linear(7, 3)) for _ in range(n)]


def test_stack_module_state():
    models = _models(retrograd)
    params, buffers = stack_module_state(models)
    assert list(params) == ["0.weight", "0.bias", "2.weight", "2.bias"] and buffers == {}
    assert params["0.weight"].shape == (4, 7, 5)
    assert params["0.weight"].requires_grad and params["0.weight"].is_leaf
    np.testing.assert_array_equal(params["2.bias"][1].detach().numpy(), models[1][2].bias.detach().numpy())
    bn = [nn.BatchNorm1d(3) for _ in range(2)]
    assert stack_module_state(bn)[1]["running_mean"].shape == (2, 3)


def test_stack_module_state_errors():
    with pytest.raises(RuntimeError, match="at least one model"):
        stack_module_state([])
    a, b = _models(retrograd, 2)
    b.eval()
    with pytest.raises(RuntimeError, match="training/eval mode"):
        stack_module_state([a, b])
    with pytest.raises(RuntimeError, match="same class"):
        stack_module_state([nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2))])
    # found by the session-26 hunt: mixed requires_grad was stacked as requiring grad, and a
    # generator was accepted (torch's RuntimeError and TypeError)
    with pytest.raises(RuntimeError, match="Expected weight from each model to have the same .requires_grad"):
        stack_module_state([nn.Linear(2, 2), nn.Linear(2, 2).requires_grad_(False)])
    with pytest.raises(TypeError):
        stack_module_state(m for m in [nn.Linear(2, 2)])
    params, _ = stack_module_state([nn.Linear(2, 2).requires_grad_(False)] * 2)
    assert not params["weight"].requires_grad


def _ensemble(t, models, x, same_minibatch):
    params, buffers = t.func.stack_module_state(models)
    def fmodel(p, b, xb):
        return t.func.functional_call(models[0], (p, b), (xb,))

    in_dims = (0, 0, None) if same_minibatch else (0, 0, 0)
    return t.func.vmap(fmodel, in_dims=in_dims)(params, buffers, x)


@pytest.mark.parametrize("same_minibatch", [True, False])
def test_ensemble_equals_each_model(same_minibatch):
    models = _models(retrograd)
    x = retrograd.randn(6, 5) if same_minibatch else retrograd.randn(4, 6, 5)
    reset_vmap_fallbacks()
    out = _ensemble(retrograd, models, x, same_minibatch)
    assert vmap_fallbacks() == {}
    for i, m in enumerate(models):
        expected = m(x if same_minibatch else x[i])
        np.testing.assert_allclose(out[i].detach().numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_ensemble_gradients_reach_the_stacked_parameters():
    models = _models(retrograd)
    params, buffers = stack_module_state(models)
    x = retrograd.randn(6, 5)
    out = vmap(lambda p, b, xb: functional_call(models[0], (p, b), (xb,)), in_dims=(0, 0, None))(params, buffers, x)
    out.square().sum().backward()
    for i, m in enumerate(models):
        m(x).square().sum().backward()
        np.testing.assert_allclose(params["0.weight"].grad[i].numpy(), m[0].weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_functional_call_against_torch():
    def run(t):
        t.manual_seed(0)
        m = t.nn.Linear(3, 2)
        w = t.ones(2, 3)
        x = t.arange(6.0).reshape(2, 3)
        one = t.func.functional_call(m, {"weight": w}, (x,))
        two = t.func.functional_call(m, ({"weight": w}, {"bias": t.zeros(2)}), x)
        kw = t.func.functional_call(m, {"weight": w, "bias": t.ones(2)}, (), {"input": x})
        return [one.detach().numpy()[:, :0], two.detach().numpy(), kw.detach().numpy()]

    ours, theirs = run(retrograd), reference(lambda: run(torch))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    m = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="multiple dictionaries"):
        functional_call(m, ({"weight": retrograd.ones(2, 3)}, {"weight": retrograd.ones(2, 3)}), (retrograd.ones(1, 3),))
    with pytest.raises(RuntimeError):
        functional_call(m, {"weight": retrograd.ones(2, 3)}, (retrograd.ones(1, 3),), strict=True)


def _norms(nn):
    return nn.Sequential(nn.BatchNorm1d(3), nn.Sequential(nn.BatchNorm2d(2, affine=False)),
                         nn.InstanceNorm1d(3, track_running_stats=True), nn.SyncBatchNorm(3), nn.GroupNorm(1, 3))


def test_replace_all_batch_norm_modules_stops_running_stats_in_place_as_torch():
    from retrograd.func import replace_all_batch_norm_modules_

    root = _norms(retrograd.nn)
    assert replace_all_batch_norm_modules_(root) is root
    for i in ("0", "1.0", "3"):
        bn = root.get_submodule(i)
        assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
        assert bn.track_running_stats is False
    assert root[2].track_running_stats and root[2].running_mean is not None  # InstanceNorm: not a batch norm
    keys = list(root.state_dict())
    if torch is not None:
        theirs = torch.func.replace_all_batch_norm_modules_(_norms(torch.nn))
        assert keys == list(theirs.state_dict())
    bn = replace_all_batch_norm_modules_(retrograd.nn.BatchNorm1d(3)).eval()
    out = bn(retrograd.randn(8, 3))  # eval mode normalizes by the batch now
    assert retrograd.allclose(out.mean(0), retrograd.zeros(3), atol=1e-5)
