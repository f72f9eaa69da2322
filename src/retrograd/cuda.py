"""``retrograd.cuda``: CUDA through CuPy, when it is installed and a GPU is present.

Without CUDA these behave as torch's without a GPU: ``is_available()`` is False,
``device_count()`` 0, the memory counters 0, ``empty_cache`` and the seeding functions do nothing
observable; what needs a device (``synchronize``, ``current_device``, ``set_device``,
``get_device_name``, ``get_device_properties``, ``current_stream``, ``reset_peak_memory_stats``,
``initial_seed``, ``Event()``, ``Stream()``, ...) raises ``CudaUnavailableError``, which is both
the RuntimeError of torch's CUDA build on a machine without a GPU and the AssertionError of its
CPU-only build.

With CuPy: streams and events are CuPy's (``Stream`` a non-blocking CUDA stream, as torch's;
``stream(s)`` makes it CuPy's current stream, on which retrograd's kernels run); the memory
counters are those of CuPy's default memory pool, which holds retrograd's CUDA tensors, and the
peaks come from a CuPy memory hook installed on the importing thread (allocations made by other
threads are not in the peak).
"""

from . import _backend
from . import random as _random

CudaUnavailableError = _backend.CudaUnavailableError
OutOfMemoryError = _backend.OutOfMemoryError  # torch.cuda.OutOfMemoryError is torch.OutOfMemoryError


def is_available():
    """Whether CUDA tensors can be made: CuPy is installed and sees a GPU."""
    return _backend.cuda_available()


def is_bf16_supported(including_emulation=True):
    """Whether CUDA bfloat16 tensors work here: False without CUDA; with it, natively on compute
    capability 8.0 and up, and on any GPU when ``including_emulation`` (retrograd's CUDA
    bfloat16 is 16-bit patterns computed in float32 on every GPU: docs/cuda.md)."""
    if not _backend.cuda_available():
        return False
    return bool(including_emulation) or get_device_capability()[0] >= 8


def device_count():
    """The number of GPUs CuPy sees (0 without CUDA)."""
    if not _backend.cuda_available():
        return 0
    return _backend.cupy.cuda.runtime.getDeviceCount()


def is_initialized():
    """Whether CUDA can be used here (retrograd initializes CuPy when it is imported)."""
    return _backend.cuda_available()


def _index(device):
    """The GPU index ``device`` names (an int, 'cuda:1', device('cuda', 1)), or None for 'cuda'/None;
    ValueError for a device that is not CUDA, as torch's (checked before CUDA is needed)."""
    if device is None or isinstance(device, int):
        return device
    dev = _backend.device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return dev.index


def _cupy(device=None):
    """CuPy and the index of ``device`` (default: the current one); CudaUnavailableError without CUDA
    (before the device is checked, as torch's)."""
    cupy = _backend.module_for("cuda")
    index = _index(device)
    return cupy, cupy.cuda.runtime.getDevice() if index is None else index


def synchronize(device=None):
    """Wait for the GPU's queued work (every stream of the device)."""
    cupy, index = _cupy(device)
    cupy.cuda.Device(index).synchronize()


def current_device():
    """The index of the current GPU."""
    return _cupy()[1]


def set_device(device):
    """Make ``device`` the current GPU: where device='cuda' tensors are made and kernels run. A
    negative index does nothing, as torch's."""
    index = _index(device)
    if index is not None and index < 0:
        return
    cupy, index = _cupy(index)
    cupy.cuda.runtime.setDevice(index)


class device:
    """``with cuda.device(1):`` runs its body with GPU 1 current (None or a negative index: no change)."""

    def __init__(self, device):
        self.idx = _index(device)
        self._previous = None

    def __enter__(self):
        if self.idx is not None and self.idx >= 0:
            cupy = _backend.module_for("cuda")
            self._previous = cupy.cuda.runtime.getDevice()
            cupy.cuda.runtime.setDevice(self.idx)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            _backend.cupy.cuda.runtime.setDevice(self._previous)
        return False


class _CudaDeviceProperties:
    """A GPU's properties, the fields torch's get_device_properties names, read from CUDA."""

    _FIELDS = (("name", "name"), ("major", "major"), ("minor", "minor"), ("total_memory", "totalGlobalMem"),
               ("multi_processor_count", "multiProcessorCount"), ("is_integrated", "integrated"),
               ("is_multi_gpu_board", "isMultiGpuBoard"), ("max_threads_per_multi_processor",
                                                           "maxThreadsPerMultiProcessor"),
               ("warp_size", "warpSize"), ("L2_cache_size", "l2CacheSize"))

    def __init__(self, props):
        for ours, cudas in self._FIELDS:
            value = props.get(cudas)
            setattr(self, ours, value.decode() if isinstance(value, bytes) else value)

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // 2**20}MB, multi_processor_count={self.multi_processor_count}, "
                f"L2_cache_size={(self.L2_cache_size or 0) // 2**20}MB)")


def get_device_properties(device=None):
    """The GPU's properties: name, major, minor, total_memory, multi_processor_count, ..."""
    cupy, index = _cupy(device)
    return _CudaDeviceProperties(cupy.cuda.runtime.getDeviceProperties(index))


def get_device_name(device=None):
    """The GPU's name."""
    return get_device_properties(device).name


def get_device_capability(device=None):
    """The GPU's compute capability ``(major, minor)``."""
    props = get_device_properties(device)
    return props.major, props.minor


def mem_get_info(device=None):
    """``(free, total)`` bytes of the GPU's memory."""
    cupy, index = _cupy(device)
    with cupy.cuda.Device(index):
        return cupy.cuda.runtime.memGetInfo()


# ---------------------------------------------------------------------------- streams and events


class Stream:
    """A CUDA stream (CuPy's, non-blocking, as torch's): kernels queued on it run in order, and
    concurrently with other streams'. ``with cuda.stream(s):`` makes retrograd's kernels use it."""

    def __init__(self, device=None, priority=0, **kwargs):
        if kwargs:
            raise NotImplementedError(f"cuda.Stream({', '.join(kwargs)}=...): retrograd makes new streams only "
                                      "(wrapping an existing stream by id is not supported)")
        cupy, index = _cupy(device)
        with cupy.cuda.Device(index):  # CuPy's priority argument only where one is asked for
            self._stream = cupy.cuda.Stream(non_blocking=True, **({"priority": priority} if priority else {}))
        self.device = _backend.device("cuda", index)
        self.priority = priority

    @classmethod
    def _wrap(cls, cupy_stream, index):
        s = object.__new__(cls)
        s._stream, s.device, s.priority = cupy_stream, _backend.device("cuda", index), 0
        return s

    @property
    def cuda_stream(self):
        """The cudaStream_t handle, as an int."""
        return self._stream.ptr

    def query(self):
        """True when all work queued on the stream is done."""
        return bool(self._stream.done)

    def synchronize(self):
        """Wait for the work queued on the stream."""
        self._stream.synchronize()

    def wait_event(self, event):
        """Make the stream's later work wait for ``event``."""
        self._stream.wait_event(event._event)

    def wait_stream(self, stream):
        """Make the stream's later work wait for the work queued on ``stream`` so far."""
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        """Record ``event`` (a new one if None) on the stream; returns it."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other):
        return isinstance(other, Stream) and self.cuda_stream == other.cuda_stream and self.device == other.device

    def __hash__(self):
        return hash((self.cuda_stream, str(self.device)))

    def __repr__(self):
        return f"<torch.cuda.Stream device={self.device} cuda_stream={hex(self.cuda_stream)}>"


class Event:
    """A CUDA event (CuPy's): a marker in a stream to wait for or to time the work between two."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False, external=False):
        if external:
            raise NotImplementedError("cuda.Event(external=True): retrograd's events are CuPy events, not "
                                      "importable into CUDA graphs; pass external=False")
        cupy = _backend.module_for("cuda")
        self._event = cupy.cuda.Event(block=blocking, disable_timing=not enable_timing, interprocess=interprocess)
        self.enable_timing = enable_timing

    @property
    def cuda_event(self):
        """The cudaEvent_t handle, as an int."""
        return self._event.ptr

    def record(self, stream=None):
        """Record the event on ``stream`` (default: the current stream)."""
        self._event.record((current_stream() if stream is None else stream)._stream)

    def wait(self, stream=None):
        """Make ``stream``'s (default: the current stream's) later work wait for the event."""
        (current_stream() if stream is None else stream).wait_event(self)

    def query(self):
        """True when the work before the event's record is done."""
        return bool(self._event.done)

    def synchronize(self):
        """Wait until the event has happened."""
        self._event.synchronize()

    def elapsed_time(self, end_event):
        """Milliseconds between this event and ``end_event`` (both recorded, both with enable_timing)."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True' to measure the "
                               "time between them")
        return float(_backend.cupy.cuda.get_elapsed_time(self._event, end_event._event))

    def __repr__(self):
        return f"<torch.cuda.Event {hex(self.cuda_event)}>"


def current_stream(device=None):
    """The stream retrograd's kernels run on now (CuPy's current stream of ``device``)."""
    cupy, index = _cupy(device)
    with cupy.cuda.Device(index):
        return Stream._wrap(cupy.cuda.get_current_stream(), index)


def default_stream(device=None):
    """The device's default (null) stream."""
    cupy, index = _cupy(device)
    return Stream._wrap(cupy.cuda.Stream.null, index)


def set_stream(stream):
    """Make ``stream`` the current stream (None: no change)."""
    if stream is not None:
        stream._stream.use()


class StreamContext:
    """The body runs with ``stream`` current (None: unchanged); the previous stream is restored after."""

    def __init__(self, stream):
        self.stream = stream
        self._previous = None

    def __enter__(self):
        if self.stream is not None:
            self._previous = _backend.cupy.cuda.get_current_stream()
            self.stream._stream.use()
        return self.stream

    def __exit__(self, *exc):
        if self._previous is not None:
            self._previous.use()
        return False


def stream(stream):
    """``with cuda.stream(s):`` queues the body's kernels on ``s`` (None: a no-op context)."""
    return StreamContext(stream)


# --------------------------------------------------------------------------------------- memory


def _pool(device):
    """CuPy's default memory pool, or None without CUDA."""
    if not _backend.cuda_available():
        return None
    return _cupy(device)[0].get_default_memory_pool()


def _pool_bytes(device, which):
    pool = _pool(device)
    if pool is None:
        return 0
    with _backend.cupy.cuda.Device(_cupy(device)[1]):
        return getattr(pool, which)()


# device index -> peak bytes, for "used_bytes" (allocated) and "total_bytes" (reserved)
_peaks = {"used_bytes": {}, "total_bytes": {}}


def _make_peak_hook(cupy):
    """A CuPy memory hook keeping the running allocated and reserved bytes' peaks per device. It
    counts the sizes CuPy reports to it rather than asking the pool from inside an allocation."""
    from cupy.cuda import memory_hook

    class PeakHook(memory_hook.MemoryHook):
        name = "retrograd_peak_memory"

        def __init__(self):
            pool = cupy.get_default_memory_pool()
            self.now = {"used_bytes": {}, "total_bytes": {}}
            self.base_device = cupy.cuda.runtime.getDevice()  # its counts from before the hook
            self.base = {"used_bytes": pool.used_bytes(), "total_bytes": pool.total_bytes()}

        def _add(self, which, device_id, nbytes):
            now = self.now[which]
            now[device_id] = now.get(device_id, self.base[which] if device_id == self.base_device else 0) + nbytes
            peaks = _peaks[which]
            peaks[device_id] = max(peaks.get(device_id, 0), now[device_id])

        def malloc_postprocess(self, **kw):  # a block handed out by the pool
            self._add("used_bytes", kw["device_id"], kw["mem_size"])

        def free_postprocess(self, **kw):  # a block given back to the pool
            self._add("used_bytes", kw["device_id"], -kw["mem_size"])

        def alloc_postprocess(self, **kw):  # the pool grew by a cudaMalloc
            self._add("total_bytes", kw["device_id"], kw["mem_size"])

    return PeakHook()


def _peak(device, which):
    pool = _pool(device)
    if pool is None:
        return 0
    index = _cupy(device)[1]
    return max(_peaks[which].get(index, 0), _pool_bytes(device, which))


def empty_cache():
    """Give the memory CuPy's pool holds but no tensor uses back to the GPU (nothing without CUDA)."""
    pool = _pool(None)
    if pool is not None:
        pool.free_all_blocks()
        if _hook:
            index = _cupy()[1]
            _hook[0].now["total_bytes"][index] = _pool_bytes(None, "total_bytes")


def memory_allocated(device=None):
    """Bytes held by CUDA tensors (0 without CUDA)."""
    return _pool_bytes(device, "used_bytes")


def memory_reserved(device=None):
    """Bytes CuPy's pool holds from the GPU (0 without CUDA)."""
    return _pool_bytes(device, "total_bytes")


def max_memory_allocated(device=None):
    """The peak of memory_allocated since the start or reset_peak_memory_stats (0 without CUDA)."""
    return _peak(device, "used_bytes")


def max_memory_reserved(device=None):
    """The peak of memory_reserved since the start or reset_peak_memory_stats (0 without CUDA)."""
    return _peak(device, "total_bytes")


def reset_peak_memory_stats(device=None):
    """Start the peaks again from the current allocated and reserved bytes."""
    cupy, index = _cupy(device)
    for which in _peaks:
        _peaks[which][index] = _pool_bytes(index, which)


def memory_stats(device=None):
    """The allocator's counters: {} without CUDA, else the current and peak allocated and reserved bytes."""
    if _pool(device) is None:
        return {}
    return {"allocated_bytes.all.current": memory_allocated(device),
            "allocated_bytes.all.peak": max_memory_allocated(device),
            "reserved_bytes.all.current": memory_reserved(device),
            "reserved_bytes.all.peak": max_memory_reserved(device)}


_hook = []  # the installed peak hook (with CuPy and a GPU)
if _backend.cuda_available():
    _backend.install_device_allocator()  # CuPy's out-of-memory error becomes torch's OutOfMemoryError
    _hook.append(_make_peak_hook(_backend.cupy))
    _hook[0].__enter__()  # CuPy's hooks are per thread: this one sees the importing thread's allocations


# ----------------------------------------------------------------------------------------- random


def manual_seed(seed):
    """Seed the random numbers of CUDA tensors (see random.cuda_manual_seed)."""
    _random.cuda_manual_seed(seed)


manual_seed_all = manual_seed


def seed():
    """Seed the random numbers of CUDA tensors from fresh OS entropy."""
    _random.cuda_seed()


seed_all = seed


def initial_seed():
    """The seed of CUDA tensors' random numbers (CudaUnavailableError without CUDA, as torch's)."""
    _cupy()
    return _random.cuda_generator.initial_seed()


def get_rng_state(device="cuda"):
    """The state of CUDA tensors' random numbers: torch's 16 bytes (seed, offset) as a uint8 tensor."""
    _cupy(device)
    return _random.cuda_generator.get_state()


def set_rng_state(new_state, device="cuda"):
    """Restore the state of CUDA tensors' random numbers (also without CUDA, as torch's, which keeps
    it for when CUDA starts)."""
    _index(device)
    _random.cuda_generator.set_state(new_state)


def get_rng_state_all():
    """One state per GPU ([] without CUDA)."""
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states):
    """Restore one state per GPU."""
    for index, state in enumerate(new_states):
        set_rng_state(state, index)
