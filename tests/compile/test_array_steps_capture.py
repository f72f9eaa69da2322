"""Arrays an op's caller computes outside any op, under torch.compile: max pooling's window maxima and flat
indices (found again at replay from the input's array), pooling's and interpolate's matrices (functions of
the guarded shapes: constants), argmax/argmin's indices, isnan/isinf/isfinite/isposinf/isneginf's masks and
gather's/scatter's keys from their index (made without an op: made again at replay). Values
and gradients bitwise eager's over replays, with no graph break (fullgraph=True)."""

import numpy as np
import pytest

import retrograd
from tests.compile.compare import assert_same_as_eager, fresh_compiler  # noqa: F401

F = retrograd.nn.functional

rng = np.random.default_rng(0)
IMAGE = rng.normal(size=(2, 3, 5, 7))
SEQ = rng.normal(size=(2, 3, 10))


def max_pool_odd(x):  # 5x7 by 2: not whole blocks, so the windows are searched (the general path)
    return F.max_pool2d(x, 2) * 3


def max_pool_strided_padded(x):
    return F.max_pool2d(x, 3, stride=2, padding=1, dilation=1).tanh()


def max_pool_indices(x):
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    return y, idx


def adaptive_max(x):
    return F.adaptive_max_pool2d(x, (2, 3)).sum(1)


def adaptive_avg(x):
    return F.adaptive_avg_pool2d(x, (1, 1)).flatten(1) + F.adaptive_avg_pool2d(x, (2, 3)).sum((2, 3))


def avg_1d(x):
    return F.adaptive_avg_pool1d(x, 4) * 2


def upsample(x):
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True) \
        + F.interpolate(x, size=(10, 14), mode="nearest")


def arg_indices(x):
    i = x.argmax(1, keepdim=True)
    return x * i, x.argmin(), i


def classified(x):  # (the data has a nan and an inf)
    y = retrograd.where(retrograd.isnan(x), retrograd.zeros_like(x), x)
    return retrograd.where(y.isinf(), retrograd.ones_like(x), y) * 2, x.isfinite(), x.isposinf(), x.isneginf()


def gathered(x, index, src):  # (an RL loss's log_probs.gather(1, actions); one-hot by scatter)
    y = x.gather(1, index) * 2
    z = retrograd.zeros(3, 5, dtype=retrograd.float64).scatter_add(1, index, src)
    return y, z, x.scatter(1, index, src * 3)


MATRIX, INDEX, SRC = rng.normal(size=(3, 5)), rng.integers(0, 5, (3, 2)), rng.normal(size=(3, 2))
SPECIAL = IMAGE.copy()
SPECIAL[0, 0, 0, :3] = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("fn, data", [(max_pool_odd, IMAGE), (max_pool_strided_padded, IMAGE),
                                      (max_pool_indices, IMAGE), (adaptive_max, IMAGE), (adaptive_avg, IMAGE),
                                      (avg_1d, SEQ), (upsample, IMAGE), (arg_indices, IMAGE), (classified, SPECIAL)],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_arrays_computed_outside_ops_replay_eagers_values_and_gradients(fn, data):
    assert_same_as_eager(fn, [data], calls=3)


def test_max_pool_finds_new_windows_at_each_replay():
    """The maxima are found from each call's input (not the capture's)."""
    compiled = retrograd.compile(max_pool_indices, fullgraph=True)
    for seed in range(3):
        x = retrograd.tensor(np.random.default_rng(seed).normal(size=IMAGE.shape))
        (a, i), (b, j) = max_pool_indices(x), compiled(x)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(i.numpy(), j.numpy())


def test_gather_and_scatter_replay_eagers_values_gradients_and_index_checks():
    assert_same_as_eager(gathered, [MATRIX, INDEX, SRC], calls=3)
    compiled = retrograd.compile(gathered, fullgraph=True)
    x, src = retrograd.tensor(MATRIX), retrograd.tensor(SRC)
    compiled(x, retrograd.tensor(INDEX), src)
    bad = retrograd.tensor(np.where(INDEX == INDEX[0, 0], 7, INDEX))
    with pytest.raises(RuntimeError, match="index 7 is out of bounds") as replayed:
        compiled(x, bad, src)  # (the replay checks each call's index, as eager)
    with pytest.raises(RuntimeError) as eager:
        gathered(x, bad, src)
    assert str(replayed.value) == str(eager.value)
