"""``torch.backends.cuda``: switches of CUDA kernels.

``matmul.allow_tf32`` permits float32 products on CUDA to use TF32 (it is the same setting as
``set_float32_matmul_precision``: True <-> not 'highest'); ``allow_fp16_reduced_precision_reduction``
and ``allow_bf16_reduced_precision_reduction`` permit half-precision partial sums. retrograd's
products (NumPy, or CuPy on CUDA) use float32 accumulation whatever these say, which each
setting permits; torch on the CPU ignores them too. The values are kept and returned as torch's.
"""

from .. import _backend, _flags


def is_built():
    """Whether retrograd can use CUDA at all: CuPy is installed."""
    return _backend.cupy is not None


class _Matmul:
    """``torch.backends.cuda.matmul``: its switches; setting another name is AttributeError."""

    _reduced = {"allow_fp16_reduced_precision_reduction": True, "allow_bf16_reduced_precision_reduction": True}

    @property
    def allow_tf32(self):
        return _flags.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value):
        if not isinstance(value, bool):
            raise RuntimeError(f"set_allow_tf32_cublas expects a bool, but got {type(value).__name__}")
        _flags.set_float32_matmul_precision("high" if value else "highest")

    def __getattr__(self, name):
        if name in _Matmul._reduced:
            return _Matmul._reduced[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if name == "allow_tf32":
            object.__setattr__(self, name, value)
        elif name in _Matmul._reduced:
            if not isinstance(value, bool):
                raise RuntimeError(f"set_{name} expects a bool, but got {type(value).__name__}")
            _Matmul._reduced[name] = value
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = _Matmul()
