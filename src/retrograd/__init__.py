"""retrograd: reverse-mode automatic differentiation and neural networks on NumPy,
with PyTorch's public API (``import retrograd as torch``)."""

import math as _math

from . import _backend
from ._float_warnings import install_filter as _install_filter
_install_filter()  # NumPy's inf * 0 warnings stay out of retrograd's ops, as torch gives none
from ._backend import device
from ._backend import AcceleratorError, OutOfMemoryError  # torch's device errors (CuPy's are mapped to them)
from ._dtype import (bfloat16, bool_ as bool, double, dtype, float, float16, float32, float64,  # noqa: A004
                     get_default_dtype, half, int, int8, int16, int32, int64, long, promote_types,
                     set_default_dtype, short, uint8)
from ._dtype import result_type as _result_type
from .autograd.anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference,
                                 is_inference_mode_enabled, no_grad, set_grad_enabled)
from .tensor import Size, Tensor
from ._tensor_str import set_printoptions
from ._type_info import finfo, iinfo
from ._layouts import (channels_last, channels_last_3d, contiguous_format, jagged, layout, memory_format,
                       preserve_format, sparse_bsc, sparse_bsr, sparse_coo, sparse_csc, sparse_csr, strided)
legacy_contiguous_format = contiguous_format  # torch's older name, the same object
from . import ops  # noqa: F401  (registers the Tensor methods)
from .ops.elementwise import *  # noqa: F403
from .ops.comparison import *  # noqa: F403
from .ops.reduction import *  # noqa: F403
from .ops.linalg import *  # noqa: F403
from .ops.shape import *  # noqa: F403
from .ops.indexing import *  # noqa: F403
from .ops.math import *  # noqa: F403
from .ops.activation import *  # noqa: F403
from .ops.softmax import *  # noqa: F403
from .ops.join import *  # noqa: F403
from .ops.sorting import *  # noqa: F403
from .ops.distance import *  # noqa: F403
from .ops.counting import *  # noqa: F403
from .ops.statistics import *  # noqa: F403
from .ops.numeric import *  # noqa: F403  (copysign, ldexp, frexp, nextafter, heaviside, gcd, lcm)
from .ops.calculus import *  # noqa: F403  (trapezoid, cumulative_trapezoid, gradient)
from .ops.complex_parts import *  # noqa: F403  (conj, resolve_conj, adjoint, angle, ...: real tensors)
from .ops.functional_toplevel import *  # noqa: F403  (torch.dropout(input, p, train), torch.batch_norm, ...)
from .ops.toplevel_inplace import *  # noqa: F403  (torch.sigmoid_(x), torch.exp_(x), ..., torch.fill)
from .ops.index_reduce import *  # noqa: F403  (index_reduce; Tensor.index_reduce_)
from .ops.resize import *  # noqa: F403,E402  (resize_as_; Tensor.resize_, resize_as_)
from .ops.lowrank import *  # noqa: F403,E402  (svd_lowrank, pca_lowrank)
from .ops.lobpcg import lobpcg  # noqa: E402
from .ops.segment import *  # noqa: F403  (segment_reduce)
from .ops.view_copies import *  # noqa: F403  (view_copy, permute_copy, ...: a view op, then a copy)
from ._tensor_queries import get_device
from ._symbolic import *  # noqa: F403  (sym_int, sym_max, ...: on plain numbers)
from ._control_flow import cond, while_loop
from .utils.dlpack import from_dlpack, to_dlpack  # (and Tensor.__dlpack__)
from .ops.conv import *  # noqa: F403
from .ops.pooling import *  # noqa: F403
from .ops.normalization import *  # noqa: F403
from .ops.upsample import *  # noqa: F403
from .ops.special import *  # noqa: F403  (lgamma, digamma, polygamma, ...: torch.special's top-level ops)
from .ops._broadcast import broadcast_shapes
from .creation import *  # noqa: F403
from ._windows import *  # noqa: F403  (hann_window, hamming_window, ...)
from .sampling import *  # noqa: F403  (multinomial, bernoulli, poisson, normal; Tensor.bernoulli_, ...)
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from ._threads import get_num_interop_threads, get_num_threads, set_num_interop_threads, set_num_threads
from ._flags import (are_deterministic_algorithms_enabled, get_deterministic_debug_mode, get_float32_matmul_precision,
                     is_deterministic_algorithms_warn_only_enabled, set_deterministic_debug_mode,
                     set_float32_matmul_precision, use_deterministic_algorithms)
from ._warn_once import is_warn_always_enabled, set_warn_always
from ._denormal import set_flush_denormal
from . import accelerator  # noqa: F401  (torch.accelerator)
from . import autograd, random  # noqa: F401
from . import linalg  # noqa: F401  (torch.linalg)
from . import nn, optim, utils  # noqa: F401
from .compiler import compile  # noqa: A001,E402  (torch.compile: retrograd/compiler.py)
from .serialization import load, save
from . import amp  # noqa: F401
from . import backends  # noqa: F401  (retrograd.backends.set_malloc_tuning_enabled)
from .amp import GradScaler, autocast, get_autocast_dtype, is_autocast_enabled  # noqa: F401 (torch's names)
from ._legacy_autocast import *  # noqa: F403  (is_autocast_cpu_enabled, get_autocast_gpu_dtype, ...)
from . import _legacy_autocast  # noqa: E402
from ._legacy import *  # noqa: F403  (FloatTensor, LongTensor, ...: the legacy tensor types)
from . import _legacy
from .func import vmap  # noqa: E402  (torch.vmap is torch.func.vmap)
from ._lazy import submodule_getattr as _submodule_getattr

__getattr__ = _submodule_getattr(__name__)  # torch's submodules, imported on first access (retrograd._lazy)

from .torch_version import RETROGRAD_VERSION as _RETROGRAD_VERSION, TORCH_API_VERSION as _TORCH_API_VERSION
from .torch_version import TorchVersion as _TorchVersion
# torch's API version, so programs branching on torch.__version__ take their 2.13 paths; retrograd's
# own version is the local label, as torch's "+cpu" names its build (retrograd/torch_version.py)
__version__ = _TorchVersion(f"{_TORCH_API_VERSION}+retrograd.{_RETROGRAD_VERSION}")
uint8 = uint8
float32 = float32
pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan
newaxis = None


def result_type(tensor1, tensor2):
    """The dtype of an arithmetic result of the two operands (torch's promotion rules)."""
    return _result_type(tensor1, tensor2)


def can_cast(from_, to):
    """Whether ``from_`` converts to ``to`` under torch's casting rules."""
    return from_._category <= to._category


def is_floating_point(input):
    """True if input's dtype is a floating-point type."""
    return input.is_floating_point()


def is_complex(input):
    """True if input's dtype is complex: never in retrograd, which has no complex dtypes."""
    return input.dtype.is_complex


def is_signed(input):
    """True if input's dtype is signed (every dtype but bool and uint8)."""
    return input.dtype.is_signed


def is_same_size(input, other):
    """True if the two tensors have the same shape."""
    return input.shape == other.shape


def typename(obj):
    """The type name torch prints: ``'torch.FloatTensor'`` for a tensor, else the module-qualified
    name of the object (a class or function) or of its type (``'int'`` for builtins)."""
    if isinstance(obj, Tensor):
        return obj.type()
    if hasattr(obj, "__qualname__") or hasattr(obj, "__name__"):
        module, name = getattr(obj, "__module__", "") or "", getattr(obj, "__qualname__", None) or obj.__name__
    else:
        module, name = type(obj).__module__ or "", type(obj).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


def is_nonzero(input):
    """True if a one-element tensor is non-zero (RuntimeError for more elements)."""
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return input.item() != 0


Tensor.is_signed = is_signed
Tensor.is_same_size = is_same_size
Tensor.is_nonzero = is_nonzero
matrix_power = linalg.matrix_power  # torch's older name of linalg.matrix_power
Tensor.matrix_power = linalg.matrix_power.__wrapped__  # (the method: without out=)


class _DeviceAmp:
    """``retrograd.cpu.amp`` / ``retrograd.cuda.amp``: the older per-device spellings."""

    def __init__(self, device_type):
        self.device_type = device_type
        self.amp = self
        vars(self).update(_legacy_autocast.device_amp(device_type))  # autocast, GradScaler, ... (deprecated, as torch's)


from . import cuda  # noqa: E402  (torch.cuda: CUDA through CuPy)
from . import multiprocessing  # noqa: E402,F401  (registers tensors with multiprocessing's pickler, as import torch)
cuda.amp = _DeviceAmp("cuda")
vars(cuda).update(_legacy.CUDA_TYPES)  # torch.cuda.FloatTensor, ...
cpu = _DeviceAmp("cpu")

from ._numpy_names import install as _install_numpy_names  # noqa: E402
_install_numpy_names(__import__("sys").modules[__name__])  # x.sum(axis=1, keepdims=True), torch.cat(ts, axis=1)
