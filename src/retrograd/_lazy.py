"""Submodules reachable as attributes after ``import retrograd``, as torch's are after ``import
torch``, without importing them all up front (PEP 562's module ``__getattr__``).

``SUBMODULES`` names, per package, the public submodules that ``import torch`` makes reachable
and retrograd does not import eagerly. A package's ``__getattr__ = submodule_getattr(__name__)``
imports one of them on first access (``retrograd.utils.checkpoint.checkpoint(...)`` works with
no further import), so ``import retrograd`` stays fast, and a submodule written later is
reachable as soon as its file exists. A name retrograd has no file for raises AttributeError,
as any missing attribute does. tests/test_module_paths.py checks each retrograd submodule that
torch makes reachable this way is reachable the same way.
"""

import importlib

SUBMODULES = {
    "retrograd": (
        "accelerator", "ao", "compiler", "cpu", "cuda", "distributed", "distributions", "export", "fft",
        "func", "functional", "futures", "fx", "hub", "jit", "library", "masked", "monitor", "mps",
        "multiprocessing", "nested", "onnx", "overrides", "package", "profiler", "quantization",
        "quasirandom", "return_types", "signal", "sparse", "special", "storage", "testing",
        "torch_version", "types", "version", "xpu"),
    "retrograd.autograd": ("anomaly_mode", "forward_ad", "profiler", "profiler_legacy", "profiler_util"),
    "retrograd.nn": ("attention", "common_types", "grad", "parallel"),
    "retrograd.utils": ("backcompat", "backend_registration", "checkpoint", "collect_env", "cpp_backtrace",
                        "deterministic", "dlpack", "hooks", "throughput_benchmark", "weak"),
}


def submodule_getattr(package):
    """A module ``__getattr__`` for ``package`` that imports its ``SUBMODULES`` on first access."""
    names = frozenset(SUBMODULES[package])

    def __getattr__(name):
        if name in names:
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as e:
                if e.name != f"{package}.{name}":
                    raise  # the submodule exists but needs something that is missing: say so
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
