"""optim.Muon: steps compared with torch's on the same weights and gradients (torch runs the
Newton-Schulz iteration in bfloat16, as retrograd does), its state_dict, and torch's errors."""

import copy

import numpy as np
import pytest

import retrograd
from helpers import reference, torch
from retrograd import optim
from retrograd.nn import Parameter
from tests.optim.test_optimizers import _run as run_optimizer

CONFIGS = [
    dict(),
    dict(lr=0.02, nesterov=False, adjust_lr_fn="match_rms_adamw"),
    dict(lr=0.05, momentum=0.5, weight_decay=0.0, ns_steps=3, adjust_lr_fn="original"),
    dict(lr=0.01, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3),
]
SHAPES = [(4, 3), (3, 5)]


def _data(dtype, steps=4, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, grads


def _run(lib, kwargs, init, grads, opt_state=None):
    return run_optimizer(lib, "Muon", kwargs, init, grads, opt_state)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_steps_match_torch(kwargs, dtype):
    init, grads = _data(dtype)
    _, _, ours = _run(retrograd, kwargs, init, grads)
    theirs = reference(lambda: _run(torch, kwargs, init, grads)[2])
    for a, b in zip(ours, theirs):
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_parameters_match_torch(dtype):
    """Each of torch's ops (the lerps, the weight decay, the update) computes in float32 and rounds
    once to the parameter's dtype (NumPy's float16 and ml_dtypes' bfloat16 would round the decay
    factor 0.998 itself first). bfloat16: up to one rounding step (one unit in the last place) apart where a float32
    matmul of the iteration sums in another order than torch's."""
    init, grads = _data(np.float32, steps=3)

    def run(lib):
        params = [lib.nn.Parameter(lib.tensor(a.copy()).to(getattr(lib, dtype))) for a in init]
        opt = lib.optim.Muon(params, lr=0.02)
        for gs in grads:
            for p, g in zip(params, gs):
                p.grad = lib.tensor(g.copy()).to(getattr(lib, dtype))
            opt.step()
        return [p.detach().float().numpy() for p in params] + [opt.state[p]["momentum_buffer"].float().numpy()
                                                               for p in params]

    for x, y in zip(run(retrograd), reference(lambda: run(torch))):
        np.testing.assert_allclose(x, y, rtol=2**-7 if dtype == "bfloat16" else 0, atol=0)


def test_a_larger_matrix_matches_torch_to_a_bfloat16_rounding_of_the_update():
    """On a 24 x 40 matrix the float32 matmuls may sum in another order than torch's and flip a
    bfloat16 rounding of the iteration: at most a few bfloat16 steps (2^-8) of the update differ."""
    rng = np.random.default_rng(1)
    init = [rng.standard_normal((24, 40)).astype(np.float32)]
    grads = [[rng.standard_normal((24, 40)).astype(np.float32)] for _ in range(3)]
    kwargs = dict(lr=0.02)
    _, _, ours = _run(retrograd, kwargs, init, grads)
    theirs = reference(lambda: _run(torch, kwargs, init, grads)[2])
    for (x,), (y,) in zip(ours, theirs):
        np.testing.assert_allclose(x, y, rtol=0, atol=3 * 0.02 * 2**-7)
    moved = np.abs(ours[-1][0] - init[0]).max()
    assert moved > 0.02  # the steps did move the weights (the tolerance is well below them)


def test_newton_schulz_orthogonalizes():
    """With enough iterations of a convergent polynomial the update's singular values approach 1."""
    from retrograd.optim.muon import _newton_schulz

    g = np.random.default_rng(2).standard_normal((8, 5)).astype(np.float32)
    ortho = _newton_schulz(g, 1.5, -0.5, 0.0, 1e-7, 30)
    assert ortho.shape == g.shape and ortho.dtype == np.float32
    np.testing.assert_allclose(np.linalg.svd(ortho, compute_uv=False), 1.0, atol=2e-2)
    u, _, vt = np.linalg.svd(g, full_matrices=False)
    np.testing.assert_allclose(ortho, u @ vt, atol=2e-2)


@pytest.mark.parametrize("kwargs", CONFIGS[:2])
def test_state_dict_matches_torch_and_round_trips(kwargs):
    init, grads = _data(np.float64)
    opt, params, _ = _run(retrograd, kwargs, init, grads[:2])
    sd = opt.state_dict()
    theirs = reference(lambda: [_run(torch, kwargs, init, grads[:2])[0].state_dict()["state"][i]["momentum_buffer"]
                                .numpy() for i in range(2)])
    assert sd["param_groups"][0]["ns_coefficients"] == kwargs.get("ns_coefficients", (3.4445, -4.775, 2.0315))
    assert sd["param_groups"][0]["adjust_lr_fn"] == kwargs.get("adjust_lr_fn")
    for i in range(2):
        assert list(sd["state"][i]) == ["momentum_buffer"]
        np.testing.assert_allclose(sd["state"][i]["momentum_buffer"].numpy(), theirs[i], rtol=1e-12)
    mid = [p.detach().numpy().copy() for p in params]
    _, _, cont = _run(retrograd, kwargs, init, grads)
    _, _, resumed = _run(retrograd, kwargs, mid, grads[2:], opt_state=copy.deepcopy(sd))
    for a, b in zip(cont[2:], resumed):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_defaults_are_torchs():
    opt = optim.Muon([Parameter(retrograd.zeros(2, 3))])
    assert opt.defaults == dict(lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                                ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None)


def test_a_zero_gradient_leaves_only_the_weight_decay():
    p = Parameter(retrograd.ones(3, 2))
    opt = optim.Muon([p], lr=0.5, weight_decay=0.1)
    p.grad = retrograd.zeros(3, 2)
    opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), np.full((3, 2), 0.95, np.float32))


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4)])
def test_non_matrix_parameters_raise_torchs_value_error(shape):
    with pytest.raises(ValueError, match=r"Muon only supports 2D parameters .* size: torch.Size\(\[" ):
        optim.Muon([Parameter(retrograd.zeros(*shape))])


def test_a_non_matrix_gradient_added_later_raises_at_step():
    opt = optim.Muon([Parameter(retrograd.zeros(2, 3))])
    v = Parameter(retrograd.zeros(3))
    opt.add_param_group({"params": [v]})
    v.grad = retrograd.ones(3)
    with pytest.raises(ValueError, match="Param gradient must be a 2D matrix"):
        opt.step()


@pytest.mark.parametrize("kwargs,message", [
    (dict(lr=-1.0), "Learning rate should be >= 0 but is: -1.0"),
    (dict(weight_decay=-1.0), "weight decay should be >= 0 but is: -1.0"),
    (dict(momentum=-0.5), "momentum should be >= 0 but is: -0.5"),
    (dict(adjust_lr_fn="foo"), "Adjust learning rate function foo is not supported"),
    (dict(lr=retrograd.tensor([0.1, 0.2])), "Tensor lr must be 1-element"),
])
def test_bad_arguments_raise_torchs_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        optim.Muon([Parameter(retrograd.zeros(2, 2))], **kwargs)


@pytest.mark.parametrize("name", ["differentiable", "maximize", "foreach"])
def test_arguments_torchs_muon_lacks_raise_type_error(name):
    with pytest.raises(TypeError, match=name):
        optim.Muon([Parameter(retrograd.zeros(2, 2))], **{name: True})
