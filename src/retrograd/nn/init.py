"""Parameter initialisation, as ``torch.nn.init``: each function fills a tensor in place
(outside autograd) and returns it. Random draws come from retrograd's generators, so
seeded values differ from torch's while the distributions are the same."""

import functools
import math
import threading
import warnings

import numpy as np

from .. import _backend
from ..random import _rng

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
           "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_", "uniform", "normal", "constant",
           "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
           "eye", "dirac"]


_skip = threading.local()  # .on: inside nn.utils.skip_init, whose modules are left uninitialized


def _skipped_in_skip_init(fill):
    """``fill`` returns the tensor as it is (neither drawing nor writing) inside ``skip_init``."""
    @functools.wraps(fill)
    def fill_unless_skipping(tensor, *args, **kwargs):
        return tensor if getattr(_skip, "on", False) else fill(tensor, *args, **kwargs)

    return fill_unless_skipping


def _write(tensor, values):
    """Store host array ``values`` into ``tensor``'s memory (its dtype and device)."""
    data = tensor._data
    values = _backend.as_array(values, _backend.array_module(values))  # host, or a device draw
    if not isinstance(data, np.ndarray):
        values = _backend.to_device(values, tensor.device)
    data[...] = values.astype(data.dtype, copy=False)
    tensor._vc[0] += 1
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu, 3/4 for selu."""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"(got shape {list(tensor.shape)})"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check_floating(tensor, fn):
    """Random fills draw real numbers: torch refuses integer and bool tensors (NotImplementedError)."""
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise NotImplementedError(f"{fn} is not implemented for {tensor.dtype} tensors: it draws real "
                                  "numbers; initialise a floating-point tensor")


@_skipped_in_skip_init
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    _check_floating(tensor, "uniform_")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}; "
                           "pass a <= b")
    return _write(tensor, _rng(generator, tensor).uniform(a, b, size=tuple(tensor.shape)))


@_skipped_in_skip_init
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    if tensor.numel():  # torch's kernel never runs (nor refuses) for an empty tensor
        _check_floating(tensor, "normal_")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _write(tensor, _rng(generator, tensor).normal(mean, std, size=tuple(tensor.shape)))


@_skipped_in_skip_init
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) restricted to [a, b] (absolute bounds), by resampling."""
    _check_floating(tensor, "trunc_normal_")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}; "
                           "trunc_normal_ needs a <= b")
    rng = _rng(generator, tensor)
    n = tensor.numel()
    out = rng.normal(mean, std, size=n)
    bad = (out < a) | (out > b)
    for _ in range(1000):
        k = int(bad.sum())
        if not k:
            break
        out[bad] = rng.normal(mean, std, size=k)
        bad = (out < a) | (out > b)
    if bad.any():  # the interval holds almost no mass: fall back to uniform inside it
        out[bad] = rng.uniform(a, b, size=int(bad.sum()))
    return _write(tensor, out.reshape(tuple(tensor.shape)))


@_skipped_in_skip_init
def constant_(tensor, val):
    """Fill with ``val``."""
    return _write(tensor, np.full(tuple(tensor.shape), val))


@_skipped_in_skip_init
def ones_(tensor):
    """Fill with 1."""
    return constant_(tensor, 1.0)


@_skipped_in_skip_init
def zeros_(tensor):
    """Fill with 0."""
    return constant_(tensor, 0.0)


@_skipped_in_skip_init
def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*tuple(tensor.shape)))


@_skipped_in_skip_init
def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-D (conv) weight with the Dirac delta: the identity convolution
    per group."""
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    min_dim = min(out_per_group, sizes[1])
    out = np.zeros(sizes)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            out[(g * out_per_group + d, d) + centre] = 1
    return _write(tensor, out)


@_skipped_in_skip_init
def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


@_skipped_in_skip_init
def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan)


@_skipped_in_skip_init
def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He)."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


@_skipped_in_skip_init
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan) (He)."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


@_skipped_in_skip_init
def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix (from the QR of a Gaussian one) times ``gain``; dims
    after the first are flattened."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    _check_floating(tensor, "orthogonal_")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator, tensor).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (gain * q).reshape(tuple(tensor.shape)))


@_skipped_in_skip_init
def sparse_(tensor, sparsity, std=0.01, generator=None):
    """A 2-D tensor with N(0, std^2) entries and a fraction ``sparsity`` of each column zero."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    _check_floating(tensor, "sparse_")
    rows, cols = tuple(tensor.shape)
    rng = _rng(generator, tensor)
    out = rng.normal(0.0, std, size=(rows, cols))
    zeros = int(math.ceil(sparsity * rows))
    for c in range(cols):
        out[rng.permutation(rows)[:zeros], c] = 0
    return _write(tensor, out)


def _deprecated(fn):
    def old(*args, **kwargs):
        warnings.warn(f"`nn.init.{fn.__name__[:-1]}` is now deprecated in favor of `nn.init.{fn.__name__}`.",
                      FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)

    old.__name__ = fn.__name__[:-1]
    old.__doc__ = f"Deprecated (FutureWarning): {fn.__name__}."
    return old


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)

# private names that some libraries (timm, ...) import from torch.nn.init
_no_grad_uniform_ = uniform_
_no_grad_normal_ = normal_
_no_grad_trunc_normal_ = trunc_normal_
_no_grad_fill_ = constant_
_no_grad_zero_ = zeros_
