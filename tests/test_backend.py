"""retrograd/_backend.py: the device class's equality and hash (torch's: no string equals a device,
no index is a wildcard), ``with_current_index`` and ``to_device``; the device errors
torch.OutOfMemoryError (also torch.cuda.OutOfMemoryError) and torch.AcceleratorError, and the
allocator that makes CuPy's errors them (checked with a fake CuPy whose allocator raises: there is
no GPU here)."""

import types

import numpy as np
import pytest
import strict_device

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


# torch 2.13's answers (python -c "import torch; d = torch.device; print(<expression>)"), recorded so
# that they are checked without torch too; test_the_recorded_device_answers_are_torchs rechecks them
DEVICE_ANSWERS = {
    "d('cpu') == 'cpu'": False,
    "'cpu' == d('cpu')": False,
    "d('cpu') != 'cpu'": True,
    "d('cuda') == 'cuda'": False,
    "d('cuda:0') == 'cuda:0'": False,
    "d('cpu') == None": False,
    "d('cpu') != None": True,
    "d('cpu') == 0": False,
    "d('cuda', 0) == 0": False,
    "d('cpu') == d('cpu')": True,
    "d('cuda') == d('cuda')": True,
    "d('cuda:0') == d('cuda', 0)": True,
    "d('cuda') == d('cuda:0')": False,
    "d('cuda') == d('cuda', 0)": False,
    "d('cuda') != d('cuda', 0)": True,
    "d('cpu') == d('cpu', 0)": False,
    "d('cpu') == d('cpu:0')": False,
    "d('cuda:0') == d('cuda:1')": False,
    "d('cpu') == d('cuda')": False,
    "d(d('cuda:1')) == d('cuda', 1)": True,
    "d('cpu:0').index": 0,
    "d('cpu', 0).index": 0,
    "d('cpu').index": None,
    "str(d('cpu:0'))": "cpu:0",
    "repr(d('cpu:0'))": "device(type='cpu', index=0)",
    "repr(d('cuda'))": "device(type='cuda')",
    "str(d('cuda', 1))": "cuda:1",
    "d('cpu') in {'cpu'}": False,
    "'cpu' in {d('cpu')}": False,
    "d('cpu') in ['cpu']": False,
    "d('cpu') in {d('cpu')}": True,
    "d('cuda', 0) in {d('cuda:0')}": True,
    "d('cuda') in {d('cuda:0')}": False,
    "d('cpu', 0) in {d('cpu')}": False,
    "{d('cuda:1'): 'x'}.get(d('cuda', 1))": "x",
    "{d('cuda:1'): 'x'}.get(d('cuda'))": None,
    "hash(d('cuda:1')) == hash(d('cuda', 1))": True,
    "len({d('cpu'), d('cpu', 0), d('cuda'), d('cuda', 0), d('cuda:0')})": 4,
}


def test_a_device_equals_and_hashes_as_torchs():
    """Against the recorded answers: the old device equalled 'cpu', took a missing index as any
    index (device('cuda') == device('cuda', 0)) and hashed its type only."""
    for expression, expected in DEVICE_ANSWERS.items():
        assert eval(expression, {"d": retrograd.device}) == expected, expression


@requires_torch
def test_the_recorded_device_answers_are_torchs():
    import torch

    for expression, expected in DEVICE_ANSWERS.items():
        assert eval(expression, {"d": torch.device}) == expected, expression


def test_an_ordering_of_devices_is_a_type_error_as_torchs():
    with pytest.raises(TypeError):
        retrograd.device("cpu") < retrograd.device("cuda")


def test_torchs_other_device_types_are_refused_by_name():
    """torch.device('meta') exists (the model-ensembling tutorial moves a copy there): a
    NotImplementedError naming it, still a RuntimeError; the old error called 'meta' unknown."""
    model = retrograd.nn.Linear(2, 2)
    for name in ("meta", "mps", "xla:0"):
        with pytest.raises(NotImplementedError, match=f"retrograd has no '{name.split(':')[0]}' device"):
            retrograd.device(name)
    with pytest.raises(NotImplementedError, match="no 'meta' device") as caught:
        model.to("meta")
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type at start of device string: tpu"):
        retrograd.device("tpu")  # no device type of torch's


@requires_torch
def test_torch_knows_the_device_types_refused_by_name():
    import torch

    for name in _backend.TORCH_DEVICE_TYPES:
        assert torch.device(name).type == name
    with pytest.raises(RuntimeError, match=", ".join(_backend.TORCH_DEVICE_TYPES)):
        torch.device("tpu")


def test_with_current_index_gives_cuda_the_current_gpus_index(monkeypatch):
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 4, getDevice=lambda: 3)
    monkeypatch.setattr(_backend, "cupy", types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime)))
    assert _backend.with_current_index("cuda") == retrograd.device("cuda", 3)
    assert _backend.with_current_index(retrograd.device("cuda")) == retrograd.device("cuda", 3)
    assert _backend.with_current_index("cuda:1") == retrograd.device("cuda", 1)
    assert _backend.with_current_index("cpu:0") == retrograd.device("cpu", 0)  # a CPU index stays
    assert _backend.with_current_index("cpu") == retrograd.device("cpu")


def test_with_current_index_without_cuda_leaves_the_device_for_module_fors_error(monkeypatch):
    monkeypatch.setattr(_backend, "cupy", None)
    assert _backend.with_current_index("cuda").index is None
    with pytest.raises(_backend.CudaUnavailableError, match="Cannot use device 'cuda'"):
        _backend.to_device(np.ones(2), "cuda")


def test_to_device_leaves_an_array_where_it_is():
    a = np.ones(3)
    for where in ("cpu", "cpu:0", retrograd.device("cpu", 0), retrograd.device("cpu")):
        assert _backend.to_device(a, where) is a


def test_to_cuda_of_a_tensor_on_the_current_gpu_is_the_tensor():
    """device('cuda') is not device('cuda', 0), but .to('cuda') means the current GPU, as torch's."""
    with strict_device.installed():
        t = retrograd.ones(3, device="cuda")
        assert t.device == retrograd.device("cuda", 0) and t.device != retrograd.device("cuda")
        for where in ("cuda", retrograd.device("cuda"), "cuda:0", 0):
            assert t.to(where) is t and t.to(device=where, dtype=retrograd.float32) is t
        assert t.cuda() is t and t.cuda(0) is t
        assert _backend.to_device(t._data, "cuda") is t._data
        with pytest.raises(TypeError, match="invalid combination"):  # torch's normal(Tensor, float) takes no device=
            retrograd.normal(t, 1.0, device="cuda")


def test_to_cpu_0_copies_as_torchs():
    """torch's device('cpu', 0) is not a CPU tensor's device('cpu'): .to('cpu:0') copies (recorded:
    torch 2.13's t.to('cpu:0') is a ToCopyBackward0 copy of device 'cpu')."""
    t = retrograd.ones(2, requires_grad=True)
    for where in ("cpu:0", retrograd.device("cpu", 0)):
        u = t.to(where)
        assert u is not t and u._data is not t._data and u.device == retrograd.device("cpu")
        assert u.grad_fn.name() == "ToCopyBackward0"
        u.sum().backward()
    assert t.grad.tolist() == [2.0, 2.0]
    assert t.to("cpu") is t and t.cpu() is t and t.to(retrograd.device("cpu")) is t


@requires_torch
def test_to_cpu_0_copies_in_torch_too():
    import torch

    t = torch.ones(2, requires_grad=True)
    assert t.to("cpu:0") is not t and t.to("cpu:0").data_ptr() != t.data_ptr() and t.to("cpu") is t
