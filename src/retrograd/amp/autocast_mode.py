"""autocast: inside the region, ops listed as lower-precision (matmul, linear, conv, ...)
run in float16/bfloat16, ops listed as float32 (losses, and on CUDA also reductions,
softmax and norms) run in float32, as torch's autocast op lists say for each device.

The cast is an ordinary differentiable op recorded in the graph, so parameters and
their ``.grad`` stay float32 while the activations an op saves are low precision.
Ops are looked up by their Function class name (``Function.apply`` asks ``cast_args``).
"""

import functools
import threading

from .. import _dtype

# Function class names per device and policy (torch 2.x autocast op lists, restricted to
# the ops retrograd has; names are the Function subclasses in retrograd.ops).
_LOWER_COMMON = {"Matmul", "Mm", "Bmm", "Addmm", "Baddbmm", "Linear", "Bilinear", "Conv", "ConvNd",
                 "Conv1d", "Conv2d", "Conv3d", "ConvTranspose", "ConvTransposeNd", "ConvTranspose1d",
                 "ConvTranspose2d", "Prelu", "PReLU", "ScaledDotProductAttention", "Einsum", "Dot",
                 "Vdot", "Outer", "Tensordot"}
_FP32_COMMON = {"MseLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropy",
                "CrossEntropyLoss", "NllLoss", "NLLLoss", "BinaryCrossEntropy", "BCELoss",
                "BinaryCrossEntropyWithLogits", "BCEWithLogits", "KlDiv", "KLDiv", "CosineEmbeddingLoss",
                "MarginRankingLoss", "TripletMarginLoss", "PoissonNllLoss", "PoissonNLLLoss",
                "GaussianNllLoss", "Cdist", "Trace", "Prod", "Inv", "Cholesky", "Pinverse", "CTCLoss",
                "CtcLoss"}
_FP32_CUDA_ONLY = {"Exp", "Log", "Log2", "Log10", "Log1p", "Expm1", "Pow", "Reciprocal", "Rsqrt",
                   "Acos", "Asin", "Cosh", "Sinh", "Tan", "Erfinv", "Softplus", "LayerNorm", "GroupNorm",
                   "Softmax", "LogSoftmax", "Sum", "Cumsum", "Cumprod", "Logsumexp", "Norm", "VectorNorm",
                   "CosineSimilarity", "RmsNorm", "RMSNorm"}
POLICIES = {
    "cpu": {"lower": _LOWER_COMMON, "fp32": _FP32_COMMON},
    "cuda": {"lower": _LOWER_COMMON | {"RNNLayer", "LSTMLayer", "GRULayer"},
             "fp32": _FP32_COMMON | _FP32_CUDA_ONLY},
}
_DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}


class _AutocastState(threading.local):
    enabled = False
    device_type = None
    dtype = None
    lower = frozenset()
    fp32 = frozenset()


_state = _AutocastState()


def is_autocast_enabled(device_type=None):
    """True inside an enabled autocast region (for device_type, when given)."""
    if device_type is None:
        return _state.enabled
    return _state.enabled and _state.device_type == device_type


def get_autocast_dtype(device_type):
    """The lower-precision dtype autocast uses for device_type (the current region's, else the device default)."""
    return _state.dtype if _state.device_type == device_type and _state.dtype else \
        getattr(_dtype, _DEFAULT_DTYPE[device_type])


def current_state():
    """A snapshot of the autocast state (checkpoint's recompute restores it)."""
    return (_state.enabled, _state.device_type, _state.dtype)


def restore_state(snapshot):
    enabled, device_type, dtype = snapshot
    if device_type is None:
        return autocast("cpu", enabled=False)
    return autocast(device_type, dtype=dtype, enabled=enabled)


def cast_args(cls, args):
    """The arguments of op ``cls`` cast as the active autocast policy says."""
    name = cls.__name__
    if name in _state.lower:
        target = _state.dtype
    elif name in _state.fp32:
        target = _dtype.float32
    else:
        return args
    from ..tensor import Tensor

    out = []
    for a in args:
        if isinstance(a, Tensor) and a._data.dtype.kind in "fV" and a._data.dtype != target.np:
            a = a.to(target)
        out.append(a)
    return tuple(out)


class autocast:
    """Run ops in mixed precision inside this context (or decorated function).

    ``autocast(device_type='cpu', dtype=retrograd.bfloat16)``; on CPU the default dtype is
    bfloat16 (stored through ml_dtypes), on CUDA float16.
    """

    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        if device_type not in POLICIES:
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}': "
                f"retrograd supports {sorted(POLICIES)}")
        self.device_type = device_type
        self.fast_dtype = _dtype.to_dtype(dtype) if dtype is not None else getattr(
            _dtype, _DEFAULT_DTYPE[device_type])
        if self.fast_dtype not in (_dtype.bfloat16, _dtype.float16):
            raise RuntimeError(
                f"In {device_type} autocast, but the target dtype is not supported: {self.fast_dtype}. "
                "retrograd's autocast supports torch.bfloat16 and torch.float16.")
        if self.fast_dtype is _dtype.bfloat16 and _dtype.bfloat16.np is None:
            raise RuntimeError("bfloat16 needs the ml_dtypes package: pip install ml_dtypes")
        self.enabled = bool(enabled)

    def __enter__(self):
        self._prev = (_state.enabled, _state.device_type, _state.dtype, _state.lower, _state.fp32)
        if self.enabled:
            policy = POLICIES[self.device_type]
            _state.enabled, _state.device_type, _state.dtype = True, self.device_type, self.fast_dtype
            _state.lower, _state.fp32 = policy["lower"], policy["fp32"]
        else:
            _state.enabled = False
            _state.lower = _state.fp32 = frozenset()
        return self

    def __exit__(self, *exc):
        (_state.enabled, _state.device_type, _state.dtype, _state.lower, _state.fp32) = self._prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return func(*args, **kwargs)

        return wrapper


def custom_fwd(fwd=None, *, device_type="cuda", cast_inputs=None):
    """Decorator for a custom Function's forward (accepted for compatibility)."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd=None, *, device_type="cuda"):
    """Decorator for a custom Function's backward (accepted for compatibility; returns it unchanged)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
