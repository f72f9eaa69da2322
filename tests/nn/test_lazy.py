"""LazyModuleMixin and the lazy layers (LazyLinear, LazyConv*, LazyBatchNorm*, LazyInstanceNorm*):
placeholders in state_dict, load_state_dict into a module that has not run materializing from the
checkpoint (as torch), the first call initializing the rest, optimizers made before it, and torch's
errors."""

import numpy as np
import pytest
from helpers import rand, requires_torch, torch

import retrograd
from retrograd import nn
from retrograd.nn.modules.lazy import LazyModuleMixin
from retrograd.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy

# (layer, constructor arguments, input shape, the concrete class it becomes)
LAYERS = [
    ("LazyLinear", (4,), (2, 3), "Linear"),
    ("LazyConv2d", (4, 3), (2, 3, 5, 5), "Conv2d"),
    ("LazyConvTranspose1d", (4, 2), (1, 6, 3), "ConvTranspose1d"),
    ("LazyBatchNorm1d", (), (4, 3), "BatchNorm1d"),
    ("LazyInstanceNorm2d", (), (2, 3, 4, 4), "InstanceNorm2d"),
]


def _run(m, shape, seed=0):
    return m(retrograd.tensor(rand(*shape, seed=seed, dtype=np.float32)))


@pytest.mark.parametrize("name,args,shape,becomes", LAYERS)
def test_state_dict_holds_placeholders_until_the_first_call(name, args, shape, becomes):
    m = getattr(nn, name)(*args)
    assert m.has_uninitialized_params()
    state = m.state_dict()
    lazy = [k for k, v in state.items() if is_lazy(v)]
    assert lazy and all(k in ("weight", "bias", "running_mean", "running_var") for k in lazy)
    assert all(v is getattr(m, k) for k, v in state.items() if k in lazy)  # not detached copies
    _run(m, shape)
    assert type(m).__name__ == becomes and not m._forward_pre_hooks
    assert not any(is_lazy(v) for v in m.state_dict().values())


@pytest.mark.parametrize("name,args,shape,becomes", LAYERS)
def test_load_state_dict_into_a_module_that_has_not_run(name, args, shape, becomes):
    trained = getattr(nn, name)(*args)
    _run(trained, shape)
    for state in (trained.state_dict(), {k: v.numpy() for k, v in trained.state_dict().items()}):
        fresh = getattr(nn, name)(*args)
        assert not fresh.load_state_dict(state).missing_keys
        assert type(fresh).__name__ == name and not fresh.has_uninitialized_params()  # lazy until its first call
        for key, value in trained.state_dict().items():
            np.testing.assert_array_equal(fresh.state_dict()[key].numpy(), value.numpy())
        trained.eval(), fresh.eval()
        np.testing.assert_array_equal(_run(fresh, shape, seed=1).detach().numpy(),
                                      _run(trained, shape, seed=1).detach().numpy())  # the loaded values stay
        assert type(fresh).__name__ == becomes
        trained.train()


def test_placeholders_into_placeholders_and_a_partial_checkpoint():
    m = nn.LazyLinear(4)
    assert not m.load_state_dict(nn.LazyLinear(4).state_dict()).missing_keys
    assert is_lazy(m.weight) and is_lazy(m.bias)
    trained = nn.LazyLinear(4)
    _run(trained, (2, 3))
    result = m.load_state_dict({"weight": trained.weight.detach()}, strict=False)
    assert result.missing_keys == ["bias"] and not is_lazy(m.weight) and is_lazy(m.bias)
    _run(m, (2, 3))  # the first call shapes what the checkpoint left
    assert type(m) is nn.Linear and m.bias.shape == (4,) and m.in_features == 3
    np.testing.assert_array_equal(m.weight.detach().numpy(), trained.weight.detach().numpy())


def test_an_optimizer_made_before_the_first_call_trains_the_parameters():
    m = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(1))
    params = list(m.parameters())
    assert all(type(p) is UninitializedParameter for p in params)
    opt = retrograd.optim.Adam(m.parameters(), lr=0.1)
    _run(m, (5, 2)).sum().backward()
    before = [p.detach().numpy().copy() for p in params]
    opt.step()
    assert [type(p) for p in m.parameters()] == [nn.Parameter] * 4 and list(m.parameters()) == params
    assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, params))


def test_moves_before_the_first_call_choose_the_dtype():
    m = nn.LazyBatchNorm1d().double()
    assert type(m.running_mean) is UninitializedBuffer and m.running_mean.dtype == retrograd.float64
    m(retrograd.tensor(rand(4, 3)))
    assert m.running_mean.dtype == m.weight.dtype == retrograd.float64


class _Incomplete(LazyModuleMixin, nn.Module):
    def __init__(self):
        super().__init__()
        self.w = UninitializedParameter()

    def initialize_parameters(self, x):
        pass

    def forward(self, x):
        return x


def test_torchs_errors():
    with pytest.raises(RuntimeError, match="module _Incomplete has not been fully initialized"):
        _Incomplete()(retrograd.ones(1))
    with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented for LazyLinear"):
        LazyModuleMixin.initialize_parameters(nn.LazyLinear(3))
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d, but "
                                           r"got input of size: torch.Size\(\[5, 3\]\)"):
        nn.LazyConv2d(4, 3)(retrograd.ones(5, 3))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(retrograd.ones(1, 3, 5, 5))


@requires_torch
@pytest.mark.parametrize("name,args,shape,becomes", LAYERS)
def test_state_dict_keys_and_a_torch_checkpoint_load_as_torchs(name, args, shape, becomes):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [type(v).__name__ for v in ours.state_dict().values()] == \
           [type(v).__name__ for v in theirs.state_dict().values()]
    x = rand(*shape, seed=2, dtype=np.float32)
    theirs(torch.tensor(x))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(retrograd.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert type(ours).__name__ == type(theirs).__name__ == becomes


def test_an_unrun_lazy_checkpoint_into_a_plain_module_raises_torchs_error():
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter or buffer"):
        nn.Linear(3, 4).load_state_dict(nn.LazyLinear(4).state_dict())
