"""torch.cuda and torch.accelerator (src/retrograd/cuda.py, src/retrograd/accelerator.py): on a
machine without CUDA they answer as torch's do without a GPU (counters 0, harmless calls do
nothing, calls that need a device raise); with CuPy and a GPU they report CuPy's state."""

import pytest

import retrograd as R
from tests.helpers import torch

no_cuda = pytest.mark.skipif(R.cuda.is_available(), reason="a GPU is available here")


@no_cuda
def test_cuda_without_a_gpu_answers_as_torch():
    for M in (R,) if torch is None or torch.cuda.is_available() else (R, torch):
        c = M.cuda
        assert c.is_available() is False and c.device_count() == 0
        assert c.memory_allocated() == 0 and c.max_memory_allocated() == 0
        assert c.memory_reserved() == 0 and c.max_memory_reserved() == 0 and c.memory_allocated(0) == 0
        assert c.empty_cache() is None and dict(c.memory_stats()) == {} and c.get_rng_state_all() == []
        assert c.manual_seed(1) is None and c.manual_seed_all(1) is None and c.seed() is None
        assert c.seed_all() is None and c.set_rng_state_all([]) is None


@no_cuda
@pytest.mark.parametrize("call", ["synchronize()", "current_device()", "get_device_name()", "get_device_name(0)",
                                  "get_device_capability()", "mem_get_info()", "initial_seed()",
                                  "get_rng_state()"])
def test_cuda_calls_that_need_a_device_raise_without_one(call):
    with pytest.raises(RuntimeError, match="CuPy or a CUDA device is not available"):
        eval("c." + call, {"c": R.cuda})
    if torch is not None and not torch.cuda.is_available():  # torch's CPU build: AssertionError
        with pytest.raises((AssertionError, RuntimeError)):
            eval("c." + call, {"c": torch.cuda})


@no_cuda
def test_reset_peak_memory_stats_is_harmless_without_cuda():
    assert R.cuda.reset_peak_memory_stats() is None and R.cuda.max_memory_allocated() == 0


def test_cuda_seed_seeds_the_cuda_stream_only():
    R.manual_seed(5)
    R.cuda.manual_seed(11)
    assert R.random.cuda_generator.initial_seed() == 11 and R.initial_seed() == 5
    R.cuda.seed()
    assert R.random.cuda_generator.initial_seed() != 11 and R.initial_seed() == 5


@no_cuda
def test_accelerator_without_one_answers_as_torch():
    for M in (R,) if torch is None or torch.cuda.is_available() else (R, torch):
        a = M.accelerator
        assert a.is_available() is False and a.device_count() == 0
        assert a.current_accelerator(check_available=True) is None
        for call in ("current_device_index()", "synchronize()", "memory_allocated()", "empty_cache()",
                     "set_device_index(0)", "max_memory_allocated()", "reset_peak_memory_stats()"):
            with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
                eval("a." + call, {"a": a})


def test_current_accelerator_is_cuda_when_cupy_is_installed():
    expected = None if R._backend.cupy is None else R.device("cuda")
    assert R.accelerator.current_accelerator() == expected
