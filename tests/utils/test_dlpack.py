"""DLPack exchange (retrograd/utils/dlpack.py): from_dlpack shares memory with NumPy arrays,
PyTorch tensors and capsules; to_dlpack and Tensor.__dlpack__ export retrograd's memory;
tensors requiring grad refuse, as torch's."""

import numpy as np
import pytest

import retrograd
from tests.helpers import requires_torch, torch


def test_from_dlpack_shares_a_numpy_arrays_memory():
    a = np.arange(3.0)
    t = retrograd.from_dlpack(a)
    t[0] = 9.0
    assert a.tolist() == [9.0, 1.0, 2.0] and t.dtype == retrograd.float64
    assert retrograd.utils.dlpack.from_dlpack is retrograd.from_dlpack


def test_to_dlpack_round_trip_and_numpy_reads_a_tensor():
    t = retrograd.tensor([1.0, 2.0])
    back = retrograd.from_dlpack(retrograd.to_dlpack(t))
    back[1] = 5.0
    assert t.tolist() == [1.0, 5.0]
    view = np.from_dlpack(t)
    view[0] = 3.0
    assert t.tolist() == [3.0, 5.0]


def test_errors():
    with pytest.raises(RuntimeError, match="from_dlpack received an invalid capsule"):
        retrograd.from_dlpack(5)
    with pytest.raises(BufferError, match="Can't export tensors that require gradient, use tensor.detach()"):
        retrograd.to_dlpack(retrograd.ones(2, requires_grad=True))


@requires_torch
def test_exchange_with_torch_both_ways():
    tt = torch.arange(4.0)
    x = retrograd.from_dlpack(tt)
    x[1] = 7.0
    assert tt.tolist() == [0.0, 7.0, 2.0, 3.0]
    assert retrograd.from_dlpack(torch.tensor([1, 2], dtype=torch.int32)).dtype == retrograd.int32
    y = retrograd.tensor([5.0, 6.0])
    z = torch.from_dlpack(y)
    z[0] = 1.0
    assert y.tolist() == [1.0, 6.0]
    assert retrograd.from_dlpack(torch.to_dlpack(torch.tensor([True, False]))).tolist() == [True, False]
    assert torch.from_dlpack(retrograd.to_dlpack(retrograd.tensor([1.5]))).tolist() == [1.5]
