"""Conv and ConvTranspose modules: torch's parameters, init, repr, padding modes; same results as torch."""

import math

import numpy as np
import pytest

import retrograd
from retrograd import nn
from tests.helpers import rand, reference, requires_torch, torch
from tests.nn._layer_helpers import compare_modules

CONV2D = [
    dict(),
    dict(stride=2, padding=1, bias=False),
    dict(padding="same", dilation=2),
    dict(padding=(1, 2), padding_mode="reflect"),
    dict(padding=1, padding_mode="replicate", stride=2),
    dict(padding=2, padding_mode="circular", groups=2),
    dict(padding="same", padding_mode="reflect"),
]


@pytest.mark.parametrize("kw", CONV2D)
def test_conv2d_like_torch(kw):
    compare_modules(lambda lib: lib.nn.Conv2d(4, 6, 3, **kw), (rand(2, 4, 6, 7),))


def test_conv1d_conv3d_like_torch():
    compare_modules(lambda lib: lib.nn.Conv1d(2, 3, 3, padding=1, padding_mode="circular"), (rand(2, 2, 6),))
    compare_modules(lambda lib: lib.nn.Conv3d(2, 2, 2, stride=(1, 2, 1)), (rand(1, 2, 3, 4, 3),))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1), dict(groups=2, dilation=2)])
def test_conv_transpose2d_like_torch(kw):
    compare_modules(lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, **kw), (rand(2, 4, 3, 4),))


def test_conv_transpose_output_size_and_1d():
    compare_modules(lambda lib: lib.nn.ConvTranspose2d(2, 3, 3, stride=2),
                    (rand(1, 2, 4, 4), {"output_size": [10, 10]}), atol=1e-10)
    compare_modules(lambda lib: lib.nn.ConvTranspose1d(2, 2, 3, stride=3), (rand(2, 2, 4),))


def test_parameters_init_and_state_dict():
    m = nn.Conv2d(8, 16, 3, groups=2)
    assert tuple(m.weight.shape) == (16, 4, 3, 3) and tuple(m.bias.shape) == (16,)
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias"]
    bound = 1 / math.sqrt(4 * 9)  # kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    assert m.weight.dtype == retrograd.float32
    t = nn.ConvTranspose2d(4, 6, 2, groups=2)
    assert tuple(t.weight.shape) == (4, 3, 2, 2)
    assert set(nn.Conv1d(2, 2, 1, bias=False).state_dict()) == {"weight"}


def test_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='Only "zeros"'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(RuntimeError, match="channels"):
        nn.Conv2d(3, 4, 3)(retrograd.zeros(1, 2, 5, 5))


def test_small_convnet_trains():
    retrograd.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Dropout(0.1), nn.Linear(8, 3))
    y = np.arange(12) % 3
    x = np.random.default_rng(0).standard_normal((12, 1, 8, 8)) * 0.3
    for i, c in enumerate(y):  # the class is where the bright bar is
        x[i, 0, :, 3 * c:3 * c + 2] += 2.0
    x, y = retrograd.tensor(x, dtype=retrograd.float32), retrograd.tensor(y)
    opt = retrograd.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


@requires_torch
@pytest.mark.parametrize("name,args,shape", [("LazyConv2d", (4, 3), (2, 3, 5, 5)), ("LazyConv1d", (2, 3), (5, 7)),
                                             ("LazyConvTranspose2d", (4, 2), (1, 6, 3, 3))])
def test_lazy_conv(name, args, shape):
    m = getattr(nn, name)(*args)
    params = list(m.parameters())
    y = m(retrograd.randn(*shape))
    t = getattr(torch.nn, name)(*args)
    yt = t(torch.randn(*shape))
    assert type(m).__name__ == type(t).__name__ and repr(m) == repr(t)
    assert tuple(y.shape) == tuple(yt.shape) and tuple(m.weight.shape) == tuple(t.weight.shape)
    assert params[0] is m.weight  # an optimizer built before the first call keeps working


@pytest.mark.parametrize("layer", [nn.Conv2d(3, 4, 3), nn.ConvTranspose2d(3, 4, 3, stride=2), nn.MaxPool2d(2),
                                   nn.AvgPool2d(2), nn.AdaptiveMaxPool2d(2), nn.LayerNorm(5), nn.GroupNorm(1, 3),
                                   nn.Upsample(scale_factor=2)])
def test_empty_batch(layer):
    x = retrograd.zeros(0, 3, 5, 5, requires_grad=True)
    y = layer(x)
    assert y.shape[0] == 0
    y.sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 5, 5)


@pytest.mark.parametrize("make, x", [(lambda: nn.LazyConv2d(4, 3), (1, 2, 5, 5)),
                                     (lambda: nn.LazyConvTranspose1d(4, 3), (1, 2, 5))])
def test_lazy_convs_materialize_in_the_dtype_they_were_moved_to(make, x):
    m = make().double()  # materialized float32 before: mixed-dtype error in forward
    assert m(retrograd.ones(*x, dtype=retrograd.float64)).dtype is retrograd.float64
    assert all(p.dtype is retrograd.float64 for p in m.parameters())


def _outcome(f):
    """What ``f()`` gives: its output's shape, or the type of the exception it raises."""
    try:
        return ["shape", list(f().shape)]
    except Exception as e:  # noqa: BLE001 (the type is what is compared)
        return ["raises", type(e).__name__]


SIZE_LENGTHS = [  # (module, args, kwargs, input's dims): tuples of another length than the module's dims
    ("Conv1d", (2, 4, (3, 3)), {}, 1), ("Conv2d", (2, 4, (3,)), {}, 2), ("Conv2d", (2, 4, (3, 3, 3)), {}, 2),
    ("Conv2d", (2, 4, 3), {"stride": (2,)}, 2), ("Conv2d", (2, 4, 3), {"padding": (1,)}, 2),
    ("Conv2d", (2, 4, 3), {"dilation": (2,)}, 2), ("Conv2d", (2, 4, (3,)), {"stride": (2,)}, 2),
    ("Conv2d", (2, 4, (3,)), {"padding": "same"}, 2), ("Conv3d", (2, 4, (3,)), {}, 3),
    ("Conv3d", (2, 4, (3, 3)), {}, 3), ("ConvTranspose2d", (2, 4, (3,)), {}, 2),
    ("ConvTranspose2d", (2, 4, 3), {"stride": 2, "output_padding": (1,)}, 2), ("ConvTranspose3d", (2, 4, (3,)), {}, 3),
]


@pytest.mark.parametrize("name,args,kwargs,nd", SIZE_LENGTHS, ids=[f"{c[0]}{c[1][2:]}{c[2]}" for c in SIZE_LENGTHS])
def test_sizes_of_another_length_are_kept_as_given_and_the_forward_raises_as_torch(name, args, kwargs, nd):
    """torch's modules keep a kernel_size (or stride, padding, dilation) tuple as given, not
    expanded: Conv2d(2, 4, (3,)) holds a (4, 2, 3) weight, and its forward raises RuntimeError."""
    def run(t):
        m = getattr(t.nn, name)(*args, **kwargs)
        return [list(m.kernel_size), list(m.stride), list(m.weight.shape),
                _outcome(lambda: m(t.ones((1, 2) + (8,) * nd)))]

    assert run(retrograd) == reference(lambda: run(torch), inputs=[name, repr(args), repr(kwargs)])
