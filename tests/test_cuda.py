"""torch.cuda and torch.accelerator (src/retrograd/cuda.py, src/retrograd/accelerator.py): on a
machine without CUDA they answer as torch's do without a GPU (counters 0, harmless calls do
nothing, calls that need a device raise); with CuPy and a GPU they report CuPy's state."""

import pytest

import numpy as np

import retrograd as R
from tests.helpers import gpu_cupy, torch

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
        assert c.is_bf16_supported() is False and c.is_bf16_supported(including_emulation=False) is False


# torch 2.13's CPU build without a GPU, call by call: the exception type it raises, or None where
# the call returns quietly (checked against torch below when it is installed)
WITHOUT_CUDA = [("synchronize()", AssertionError), ("current_device()", AssertionError),
                ("get_device_name()", AssertionError), ("get_device_name(0)", AssertionError),
                ("get_device_properties(0)", AssertionError), ("get_device_capability()", AssertionError),
                ("mem_get_info()", AssertionError), ("initial_seed()", AssertionError),
                ("get_rng_state()", AssertionError), ("current_stream()", AssertionError),
                ("default_stream()", AssertionError), ("Event()", RuntimeError),
                ("Event(enable_timing=True)", RuntimeError), ("Stream()", RuntimeError),
                ("set_device('cpu')", ValueError), ("synchronize('cpu')", AssertionError),
                ("set_device(-1)", None), ("stream(None)", None), ("memory_allocated('cpu')", None),
                ("set_rng_state(M.zeros(16, dtype=M.uint8))", None)]
# torch's CPU build fails these with AttributeError (a binding missing from the build); its CUDA
# build without a GPU raises RuntimeError; retrograd raises CudaUnavailableError, which is both
# RuntimeError and AssertionError
TORCH_ATTRIBUTE_ERROR = ["set_device(0)", "set_device('cuda:1')", "reset_peak_memory_stats()"]


@no_cuda
@pytest.mark.parametrize("call, expected", WITHOUT_CUDA + [(c, RuntimeError) for c in TORCH_ATTRIBUTE_ERROR])
def test_cuda_calls_without_a_gpu_raise_or_return_as_torchs(call, expected):
    state = R.random.cuda_generator.get_state()
    if expected is None:
        eval("M.cuda." + call, {"M": R})
    else:
        with pytest.raises(expected) as info:
            eval("M.cuda." + call, {"M": R})
        if expected is not ValueError:  # the message says what to do
            assert type(info.value) is R.cuda.CudaUnavailableError and "pip install cupy" in str(info.value)
    R.random.cuda_generator.set_state(state)
    if torch is not None and not torch.cuda.is_available() and call not in TORCH_ATTRIBUTE_ERROR:
        if expected is None:
            eval("M.cuda." + call, {"M": torch})
        else:
            with pytest.raises(expected):
                eval("M.cuda." + call, {"M": torch})


def test_cuda_unavailable_error_is_runtime_and_assertion_error():
    assert issubclass(R.cuda.CudaUnavailableError, RuntimeError)
    assert issubclass(R.cuda.CudaUnavailableError, AssertionError)


@no_cuda
def test_tensors_on_cuda_without_a_gpu_raise_as_torchs_cpu_build():
    for call in ("zeros(2, device='cuda')", "randn(2, device='cuda')", "zeros(2).cuda()", "zeros(2).to('cuda')"):
        with pytest.raises(AssertionError):
            eval("M." + call, {"M": R})
        if torch is not None and not torch.cuda.is_available():
            with pytest.raises(AssertionError):
                eval("M." + call, {"M": torch})


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


# ------------------------------------------------------------------------------ on a GPU


def test_bf16_is_supported_on_every_gpu_with_emulation_natively_from_ampere():
    gpu_cupy()
    assert R.cuda.is_bf16_supported() is True
    assert R.cuda.is_bf16_supported(including_emulation=False) is (R.cuda.get_device_capability()[0] >= 8)
    x = R.ones(2, device="cuda", dtype=R.bfloat16)
    assert (x + x).tolist() == [2.0, 2.0]


def test_events_time_the_work_between_them_and_streams_order_it():
    gpu_cupy()
    start, end = R.cuda.Event(enable_timing=True), R.cuda.Event(enable_timing=True)
    x = R.randn(1024, 1024, device="cuda")
    start.record()
    for _ in range(10):
        x = x @ x / 1024
    end.record()
    end.synchronize()
    assert end.query() and R.cuda.current_stream().query()
    assert start.elapsed_time(end) > 0
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        R.cuda.Event().elapsed_time(end)
    s = R.cuda.Stream()
    assert s != R.cuda.current_stream() and R.cuda.current_stream() == R.cuda.default_stream()
    with R.cuda.stream(s):
        assert R.cuda.current_stream() == s
        y = x * 2
        done = s.record_event()
    R.cuda.current_stream().wait_stream(s)
    done.synchronize()
    assert R.cuda.current_stream() == R.cuda.default_stream()
    np.testing.assert_allclose(y.cpu().numpy(), 2 * x.cpu().numpy())
    R.cuda.synchronize()


def test_memory_counters_follow_tensors_and_the_peak_resets():
    gpu_cupy()
    R.cuda.empty_cache()
    R.cuda.reset_peak_memory_stats()
    before = R.cuda.memory_allocated()
    big = R.empty(2**20, device="cuda")  # 4 MiB
    assert R.cuda.memory_allocated() - before >= 4 * 2**20
    assert R.cuda.max_memory_allocated() >= R.cuda.memory_allocated() and R.cuda.memory_reserved() >= 4 * 2**20
    del big
    assert R.cuda.memory_allocated() == before and R.cuda.max_memory_allocated() >= before + 4 * 2**20
    R.cuda.reset_peak_memory_stats()
    assert R.cuda.max_memory_allocated() == before
    stats = R.cuda.memory_stats()
    assert stats["allocated_bytes.all.peak"] >= stats["allocated_bytes.all.current"]
    R.cuda.empty_cache()
    assert R.cuda.memory_reserved() <= R.cuda.max_memory_reserved()


def test_device_queries_and_set_device():
    cupy = gpu_cupy()
    n = R.cuda.device_count()
    assert n == cupy.cuda.runtime.getDeviceCount() >= 1
    props = R.cuda.get_device_properties(0)
    assert props.name == R.cuda.get_device_name() and props.total_memory > 2**30
    assert R.cuda.get_device_capability() == (props.major, props.minor) and "MB" in repr(props)
    R.cuda.set_device(0)
    assert R.cuda.current_device() == 0
    with R.cuda.device(n - 1):
        assert R.cuda.current_device() == n - 1
        assert R.zeros(2, device="cuda").device == R.device("cuda", n - 1)
    assert R.cuda.current_device() == 0
