"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d, with torch's arguments,
parameter names, default initialisation and padding modes."""

import math

import numpy as np

from ... import creation
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n):
    """An int repeated n times; a sequence kept as given, as torch's modules do (Conv2d(2, 4, (3,))
    holds kernel_size (3,) and a (4, 2, 3) weight, and its forward raises, as torch's)."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    return tuple(v)


def _mode_index(n, lo, hi, mode):
    """Source positions of a dim of size n padded by (lo, hi) with `mode`."""
    pos = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    if mode == "circular":
        if lo > n or hi > n:
            raise RuntimeError(f"Padding value causes wrapping around more than once (padding ({lo}, {hi}) for a "
                               f"dimension of size {n})")
        return pos % n
    if lo >= n or hi >= n:  # reflect
        raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, but "
                           f"got: padding ({lo}, {hi}) at dimension of size {n}")
    period = 2 * (n - 1)
    pos = np.abs(pos) % period if period else np.zeros_like(pos)
    return np.where(pos >= n, period - pos, pos)


def pad_mode(input, pads, mode):
    """input padded on its last len(pads) dims by pads = ((lo, hi), ...) with reflect, replicate or
    circular values (a gather, so its gradient adds back to the source positions)."""
    nd = len(pads)
    out = input
    for j, (lo, hi) in enumerate(pads):
        if not lo and not hi:
            continue
        dim = input.ndim - nd + j
        idx = _mode_index(input.shape[dim], lo, hi, mode)
        out = out[(slice(None),) * dim + (idx,)]
    return out


class _ConvNd(Module):
    __constants__ = ["stride", "padding", "dilation", "groups", "padding_mode", "output_padding", "in_channels",
                     "out_channels", "kernel_size"]
    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None, output_padding=0):
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, nd)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride = _ntuple(stride, nd)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, nd)
        self.dilation = _ntuple(dilation, nd)
        self.transposed = self._transposed
        self.output_padding = _ntuple(output_padding, nd)
        self.groups = groups
        self.padding_mode = padding_mode
        if isinstance(self.padding, str):
            pads = []
            for d, k in zip(self.dilation, self.kernel_size):
                total = d * (k - 1) if self.padding == "same" else 0
                pads.append((total // 2, total - total // 2))
        else:
            pads = [(p, p) for p in self.padding]
        self._pads = tuple(pads)
        # torch's attribute: F.pad order (last dim first), each (left, right)
        self._reversed_padding_repeated_twice = [v for lo_hi in reversed(pads) for v in lo_hi]
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(creation.empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # kaiming_uniform_ with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), torch's default
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        nd = self._nd
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * nd:
            s += ", padding={padding}"
        if self.dilation != (1,) * nd:
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * nd:
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)

    def __setstate__(self, state):
        super().__setstate__(state)
        if not hasattr(self, "padding_mode"):
            self.padding_mode = "zeros"
        if "_pads" not in self.__dict__:  # pickled by torch: the pads from its F.pad-order attribute
            r = self._reversed_padding_repeated_twice
            self._pads = tuple(reversed([(r[i], r[i + 1]) for i in range(0, len(r), 2)]))


class _Conv(_ConvNd):
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        conv = getattr(F, self._fn)
        if self.padding_mode != "zeros":
            return conv(pad_mode(input, self._pads, self.padding_mode), weight, bias, self.stride, 0,
                        self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-d convolution over (N, C_in, L): weight (C_out, C_in/groups, k), bias (C_out)."""

    _nd = 1
    _fn = "conv1d"


class Conv2d(_Conv):
    """2-d convolution over (N, C_in, H, W): weight (C_out, C_in/groups, kh, kw), bias (C_out)."""

    _nd = 2
    _fn = "conv2d"


class Conv3d(_Conv):
    """3-d convolution over (N, C_in, D, H, W): weight (C_out, C_in/groups, kd, kh, kw), bias (C_out)."""

    _nd = 3
    _fn = "conv3d"


class _ConvTranspose(_ConvNd):
    _transposed = True
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {self.__class__.__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{self.__class__.__name__}: padding must be an int or a tuple of ints")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, output_padding)

    def _output_padding(self, input, output_size, stride, padding, kernel_size, num_spatial_dims, dilation=None):
        if output_size is None:
            return self.output_padding
        output_size = list(output_size)
        if len(output_size) == num_spatial_dims + 2 or len(output_size) == num_spatial_dims + 1:
            output_size = output_size[-num_spatial_dims:]
        if len(output_size) != num_spatial_dims:
            raise ValueError(f"ConvTranspose{num_spatial_dims}D: for {input.ndim}D input, output_size must have "
                             f"{num_spatial_dims} or {num_spatial_dims + 2} elements (got {len(output_size)})")
        dilation = dilation or self.dilation
        spatial = input.shape[input.ndim - num_spatial_dims:]
        result = []
        for d in range(num_spatial_dims):
            min_size = ((spatial[d] - 1) * stride[d] - 2 * padding[d]
                        + dilation[d] * (kernel_size[d] - 1) + 1)
            max_size = min_size + stride[d] - 1
            if not min_size <= output_size[d] <= max_size:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes range from "
                                 f"{min_size} to {max_size} (for an input of {list(spatial)})")
            result.append(output_size[d] - min_size)
        return tuple(result)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size, self.stride, self.padding, self.kernel_size,
                                              self._nd, self.dilation)
        return getattr(F, self._fn)(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                    self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-d transposed convolution: weight (C_in, C_out/groups, k), bias (C_out)."""

    _nd = 1
    _fn = "conv_transpose1d"


class ConvTranspose2d(_ConvTranspose):
    """2-d transposed convolution: weight (C_in, C_out/groups, kh, kw), bias (C_out)."""

    _nd = 2
    _fn = "conv_transpose2d"


class ConvTranspose3d(_ConvTranspose):
    """3-d transposed convolution: weight (C_in, C_out/groups, kd, kh, kw), bias (C_out)."""

    _nd = 3
    _fn = "conv_transpose3d"


class _LazyConvMixin(LazyModuleMixin):
    """in_channels is taken from the first input; the UninitializedParameter weight and bias get
    their shapes and initial values then (the same objects, so an optimizer made before the
    first call trains them)."""

    def _lazy_placeholders(self, device, dtype):
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if self.bias is not None:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _get_in_channels(self, input):
        unbatched, batched = self._nd + 1, self._nd + 2
        if input.ndim not in (unbatched, batched):
            raise RuntimeError(f"Expected {unbatched}D (unbatched) or {batched}D (batched) input to "
                               f"{self.__class__.__name__}, but got input of size: {input.shape}")
        return input.shape[1] if input.ndim == batched else input.shape[0]

    def initialize_parameters(self, input, *args, **kwargs):
        """Shape the weight from the input's channels (dim 1, or 0 unbatched) and initialize it."""
        if self.has_uninitialized_params():
            c = self.in_channels = self._get_in_channels(input)
            g = self.groups
            if c % g:
                raise ValueError("in_channels must be divisible by groups")
            if self._transposed:
                shape = (c, self.out_channels // g) + self.kernel_size
            else:
                shape = (self.out_channels, c // g) + self.kernel_size
            self._materialize({"weight": shape, "bias": (self.out_channels,)})
        w = self.weight.shape  # (also after load_state_dict materialized it)
        self.in_channels = w[0] if self._transposed else w[1] * self.groups


def _lazy(base, doc):
    def __init__(self, out_channels, kernel_size, *args, device=None, dtype=None, **kwargs):
        LazyModuleMixin.__init__(self, 0, out_channels, kernel_size, *args, device=device, dtype=dtype, **kwargs)
        self._lazy_placeholders(device, dtype)

    cls = type("Lazy" + base.__name__, (_LazyConvMixin, base), {"__init__": __init__, "__doc__": doc,
                                                                 "cls_to_become": base})
    cls.__module__ = __name__
    return cls


LazyConv1d = _lazy(Conv1d, "A Conv1d whose in_channels is taken from the first input.")
LazyConv2d = _lazy(Conv2d, "A Conv2d whose in_channels is taken from the first input.")
LazyConv3d = _lazy(Conv3d, "A Conv3d whose in_channels is taken from the first input.")
LazyConvTranspose1d = _lazy(ConvTranspose1d, "A ConvTranspose1d whose in_channels is taken from the first input.")
LazyConvTranspose2d = _lazy(ConvTranspose2d, "A ConvTranspose2d whose in_channels is taken from the first input.")
LazyConvTranspose3d = _lazy(ConvTranspose3d, "A ConvTranspose3d whose in_channels is taken from the first input.")
