"""Tensors on CUDA (src/retrograd/tensor.py, creation.py, _legacy.py, _backend.py with CuPy arrays):
made from CuPy arrays without a host round trip, views' storage offsets, the legacy constructor's
CPU-only rule, the device check across two GPUs. The GPU tests skip without CuPy and a device."""

import numpy as np
import pytest

import retrograd as R
from tests.helpers import gpu_cupy, torch


def test_legacy_constructor_refuses_cuda_as_torchs():
    for M in (R,) if torch is None else (R, torch):
        for call in ("Tensor(2, 3, device='cuda')", "Tensor([1.0, 2.0], device='cuda:1')"):
            with pytest.raises(RuntimeError, match="legacy constructor expects device type: cpu but device type: "
                                                   "cuda was passed"):
                eval("M." + call, {"M": M})
    assert R.Tensor(2, 3, device="cpu").shape == (2, 3)


def test_tensor_from_a_cupy_array_stays_on_its_gpu():
    cupy = gpu_cupy()
    a = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    t = R.tensor(a)
    assert isinstance(t._data, cupy.ndarray) and t.device == R.device("cuda", 0) and t.dtype == R.float32
    a[0, 0] = 7  # a copy
    assert float(t[0, 0]) == 0
    shared = R.as_tensor(a)
    assert shared._data is a
    assert R.tensor(a, dtype=R.float64).dtype == R.float64
    legacy = R.Tensor(a)  # torch's legacy constructor copies CUDA array-interface data to the CPU
    assert legacy.device == R.device("cpu") and legacy.tolist() == [[7, 1, 2], [3, 4, 5]]
    t.data = cupy.ones((2, 3), dtype=cupy.float32)
    assert isinstance(t._data, cupy.ndarray) and float(t.sum()) == 6
    assert R.cuda.FloatTensor(2, 3).device.type == "cuda"


def test_storage_offset_of_cupy_views():
    gpu_cupy()
    x = R.arange(24.0, device="cuda").reshape(4, 6)
    assert x.storage_offset() == 0 and x[1:, 2:].storage_offset() == 8 and x[2].storage_offset() == 12
    assert x.t()[3].storage_offset() == 3


def test_float16_matmul_and_sum_run_natively_on_cuda():
    cupy = gpu_cupy()
    a = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float16)
    x = R.tensor(a, device="cuda")
    np.testing.assert_allclose((x @ x).cpu().numpy().astype(np.float32),
                               (a.astype(np.float32) @ a.astype(np.float32)), rtol=2e-2, atol=2e-1)
    ones = R.ones(100000, dtype=R.float16, device="cuda")
    assert float(ones.sum()) == 100000  # float32 accumulation (a float16 accumulator stops at 2048)
    assert isinstance((x @ x)._data, cupy.ndarray)


def test_tensors_on_two_gpus_fail_the_device_check():
    cupy = gpu_cupy()
    if cupy.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("needs two GPUs")
    a, b = R.ones(3, device="cuda:0"), R.ones(3, device="cuda:1")
    assert b.device == R.device("cuda", 1)
    message = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cuda:1!"
    for op in (lambda: a + b, lambda: a.reshape(3, 1) @ b.reshape(1, 3)):
        with pytest.raises(RuntimeError, match=message):
            op()
