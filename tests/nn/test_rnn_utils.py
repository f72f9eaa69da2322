"""nn.utils.rnn: pad_sequence, pack/pad round trips and their gradients, as torch."""

import numpy as np
import pytest

import retrograd
from retrograd.nn.utils import rnn as U
from helpers import rand, requires_torch, torch

LENGTHS = [2, 4, 3, 1]


def _seqs(mod, lengths=LENGTHS, grad=True):
    return [mod.tensor(rand(n, 2, seed=i), requires_grad=grad) for i, n in enumerate(lengths)]


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(batch_first, padding_side):
    r = U.pad_sequence(_seqs(retrograd), batch_first, -1.0, padding_side)
    t = torch.nn.utils.rnn.pad_sequence(_seqs(torch), batch_first, -1.0, padding_side)
    np.testing.assert_array_equal(r.detach().numpy(), t.detach().numpy())


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_pack_pad_round_trip(batch_first, enforce_sorted):
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    rs, ts = _seqs(retrograd, lengths), _seqs(torch, lengths)
    rp = U.pack_padded_sequence(U.pad_sequence(rs, batch_first), retrograd.tensor(lengths),
                                batch_first, enforce_sorted)
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.nn.utils.rnn.pad_sequence(ts, batch_first),
                                                 torch.tensor(lengths), batch_first, enforce_sorted)
    np.testing.assert_array_equal(rp.data.detach().numpy(), tp.data.detach().numpy())
    np.testing.assert_array_equal(rp.batch_sizes.numpy(), tp.batch_sizes.numpy())
    for a, b in ((rp.sorted_indices, tp.sorted_indices), (rp.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    rpad, rl = U.pad_packed_sequence(rp, batch_first, padding_value=0.5, total_length=6)
    tpad, tl = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first, padding_value=0.5,
                                                      total_length=6)
    np.testing.assert_array_equal(rpad.detach().numpy(), tpad.detach().numpy())
    np.testing.assert_array_equal(rl.numpy(), tl.numpy())
    assert rl.dtype == retrograd.int64
    g = rand(*tpad.shape, seed=9)
    (rpad * retrograd.tensor(g)).sum().backward()
    (tpad * torch.tensor(g)).sum().backward()
    for a, b in zip(rs, ts):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())


def test_gradcheck_and_gradgradcheck():
    seqs = _seqs(retrograd, [3, 1, 2])

    def fn(*seqs):
        p = U.pack_sequence(list(seqs), enforce_sorted=False)
        return U.pad_packed_sequence(p, batch_first=True)[0] * 2

    assert retrograd.autograd.gradcheck(fn, seqs)
    assert retrograd.autograd.gradgradcheck(fn, seqs)


def test_unpad_unpack_and_packed_methods():
    seqs = _seqs(retrograd, grad=False)
    packed = U.pack_sequence(seqs, enforce_sorted=False)
    for a, b in zip(U.unpack_sequence(packed), seqs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    padded = U.pad_sequence(seqs)
    for a, b in zip(U.unpad_sequence(padded, retrograd.tensor(LENGTHS)), seqs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert packed.float().data.dtype == retrograd.float32
    assert packed.to(retrograd.float32).batch_sizes is packed.batch_sizes
    assert isinstance(packed, tuple) and packed._fields == ("data", "batch_sizes", "sorted_indices",
                                                            "unsorted_indices")
    assert not packed.is_cuda


def test_errors():
    x = retrograd.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        U.pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(RuntimeError, match="batch_size"):  # torch 2.13's type
        U.pack_padded_sequence(x, [4, 2])
    p = U.pack_padded_sequence(x, [4, 2, 1])
    with pytest.raises(ValueError, match="total_length"):
        U.pad_packed_sequence(p, total_length=2)


def test_pad_sequence_keeps_the_first_sequences_dtype_as_torch():
    out = U.pad_sequence([retrograd.ones(2), retrograd.ones(3, dtype=retrograd.float64)])
    assert out.dtype is retrograd.float32  # cat promoted it to float64
    out = U.pad_sequence([retrograd.ones(2, dtype=retrograd.int64), retrograd.ones(3)], padding_value=0.5)
    assert out.dtype is retrograd.int64 and out[:, 0].tolist() == [1, 1, 0]


def test_rnn_utils_raise_torchs_runtime_errors():
    x = retrograd.arange(12.0).reshape(4, 3)
    with pytest.raises(RuntimeError, match="one of left or right"):
        U.pad_sequence([x, x], padding_side="middle")  # was ValueError
    with pytest.raises(RuntimeError, match="0-dim"):
        U.pad_sequence([retrograd.ones(()), retrograd.ones(())])  # was IndexError
    with pytest.raises(RuntimeError, match="equal to batch_size"):
        U.pack_padded_sequence(x, retrograd.tensor([4, 2]))  # was ValueError
    with pytest.raises(RuntimeError, match="1D"):
        U.pack_padded_sequence(x, retrograd.tensor([[4, 2, 1]]))  # was flattened and accepted
