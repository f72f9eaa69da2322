"""retrograd/_backend.py's device errors: torch.OutOfMemoryError (also torch.cuda.OutOfMemoryError)
and torch.AcceleratorError, and the allocator that makes CuPy's errors them (checked with a fake
CuPy whose allocator raises: there is no GPU here)."""

import types

import pytest

import retrograd
from retrograd import _backend
from tests.helpers import requires_torch


class _CupyOutOfMemory(MemoryError):  # as cupy.cuda.memory.OutOfMemoryError
    pass


class _CudaRuntimeError(RuntimeError):  # as cupy.cuda.runtime.CUDARuntimeError
    pass


@pytest.fixture
def fake_cupy(monkeypatch):
    cuda = types.SimpleNamespace(memory=types.SimpleNamespace(OutOfMemoryError=_CupyOutOfMemory),
                                 runtime=types.SimpleNamespace(CUDARuntimeError=_CudaRuntimeError))
    monkeypatch.setattr(_backend, "cupy", types.SimpleNamespace(cuda=cuda))


def test_the_device_errors_are_runtime_errors_and_cudas_is_the_same_class():
    assert issubclass(retrograd.OutOfMemoryError, RuntimeError) and issubclass(retrograd.AcceleratorError, RuntimeError)
    assert retrograd.cuda.OutOfMemoryError is retrograd.OutOfMemoryError
    assert not issubclass(retrograd.OutOfMemoryError, MemoryError)  # torch's is not a MemoryError either


@requires_torch
def test_the_device_errors_have_torchs_bases():
    import torch

    for name in ("OutOfMemoryError", "AcceleratorError"):
        ours, theirs = getattr(retrograd, name), getattr(torch, name)
        assert [c.__name__ for c in ours.__mro__[1:]] == [c.__name__ for c in theirs.__mro__[1:]]


def test_the_allocator_raises_cupys_out_of_memory_as_torchs(fake_cupy):
    def malloc(nbytes):
        if nbytes > 1024:
            raise _CupyOutOfMemory(f"Out of memory allocating {nbytes} bytes (allocated so far: 0 bytes).")
        return ("block", nbytes)

    allocate = _backend.device_allocator(malloc)
    assert allocate(512) == ("block", 512)
    with pytest.raises(retrograd.cuda.OutOfMemoryError, match=r"CUDA out of memory. Tried to allocate 3.00 GiB") \
            as info:
        allocate(3 << 30)
    assert type(info.value.__cause__) is _CupyOutOfMemory and "empty_cache" in str(info.value)


def test_the_installed_allocator_is_cupys_pool_with_torchs_errors(fake_cupy):
    installed = []

    def malloc(nbytes):
        raise _CupyOutOfMemory("Out of memory")

    _backend.cupy.cuda.set_allocator = installed.append
    _backend.cupy.get_default_memory_pool = lambda: types.SimpleNamespace(malloc=malloc)
    _backend.install_device_allocator()
    with pytest.raises(retrograd.OutOfMemoryError, match="Tried to allocate 2.00 KiB"):
        installed[0](2048)


def test_the_allocator_raises_a_cuda_error_as_accelerator_error(fake_cupy):
    def malloc(nbytes):
        raise _CudaRuntimeError("cudaErrorIllegalAddress: an illegal memory access was encountered")

    with pytest.raises(retrograd.AcceleratorError, match="CUDA error: cudaErrorIllegalAddress") as info:
        _backend.device_allocator(malloc)(8)
    assert type(info.value.__cause__) is _CudaRuntimeError
