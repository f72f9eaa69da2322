"""``torch.backends.cudnn``: switches of NVIDIA's cuDNN kernels (convolutions, RNNs, ...).

retrograd calls no cuDNN kernel (its CUDA convolutions are CuPy matrix products), so
``is_available()`` is False and ``version()`` None. The switches are kept and returned as
torch keeps them, and they change no result: in torch they only choose among cuDNN
algorithms, which a CPU run (and every retrograd run) never uses. ``benchmark`` asks torch to
time candidate algorithms, ``deterministic`` to pick deterministic ones, ``enabled`` whether
cuDNN is used at all, ``allow_tf32`` whether cuDNN may use TF32 (see set_float32_matmul_precision).
"""

import contextlib
import sys
import types

_flags = {"enabled": True, "benchmark": False, "benchmark_limit": None, "deterministic": False,
          "allow_tf32": True}


def is_available():
    """Whether retrograd can use cuDNN: never (it has no cuDNN kernels)."""
    return False


def version():
    """cuDNN's version: None, as torch's without cuDNN."""
    return None


def _checked(name, value):
    if name == "benchmark_limit":  # None until set, as torch's without cuDNN
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise RuntimeError(f"set_benchmark_limit_cudnn expects an int, but got {type(value).__name__}")
        return value
    if not isinstance(value, bool):
        raise RuntimeError(f"set_{name}_cudnn expects a bool, but got {type(value).__name__}")
    return value


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True):
    """Set the switches for the ``with`` block and restore them after, as torch's."""
    new = {"enabled": enabled, "benchmark": benchmark, "benchmark_limit": benchmark_limit,
           "deterministic": deterministic, "allow_tf32": allow_tf32}
    new = {name: _checked(name, value) for name, value in new.items()}
    old = dict(_flags)
    _flags.update(new)
    try:
        yield
    finally:
        _flags.update(old)


class _CudnnModule(types.ModuleType):
    """The module's switches are properties, type-checked on assignment as torch's."""


def _switch(name):
    def get(self):
        return _flags[name]

    def set(self, value):
        _flags[name] = _checked(name, value)

    return property(get, set, doc=f"cuDNN's {name} switch (kept; retrograd has no cuDNN kernels)")


for _name in _flags:
    setattr(_CudnnModule, _name, _switch(_name))
sys.modules[__name__].__class__ = _CudnnModule
