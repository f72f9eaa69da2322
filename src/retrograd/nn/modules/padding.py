"""Padding layers: Zero-, Constant-, Reflection-, Replication- and CircularPad{1,2,3}d, each
F.pad with a fixed padding (an int for every side, or a tuple (left, right, top, bottom,
front, back) from the last dim backwards) and mode, as torch's nn/modules/padding.py."""

from collections.abc import Iterable

from .. import functional as F
from ..module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d"]


def _sides(padding, n):
    """torch's _ntuple(n): a sequence as given (its length is checked by F.pad), a number for all n sides."""
    if isinstance(padding, Iterable):
        return tuple(padding)
    return (padding,) * n


class _PadNd(Module):
    """F.pad(input, padding, mode) with a padding for each of the last ``dims`` dims."""

    __constants__ = ["padding"]
    dims = 0  # how many trailing dims the subclass pads
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _sides(padding, 2 * self.dims)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input):
        if input.dim() not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"expected {self.dims + 1}D or {self.dims + 2}D input (got {input.dim()}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    """Pads the last dim by wrapping around: (C, W) or (N, C, W)."""
    dims = 1


class CircularPad2d(_CircularPadNd):
    """Pads the last 2 dims by wrapping around: (C, H, W) or (N, C, H, W)."""
    dims = 2


class CircularPad3d(_CircularPadNd):
    """Pads the last 3 dims by wrapping around: (C, D, H, W) or (N, C, D, H, W)."""
    dims = 3


class _ReflectionPadNd(_PadNd):
    mode = "reflect"


class ReflectionPad1d(_ReflectionPadNd):
    """Pads the last dim with its reflection (the edge not repeated)."""
    dims = 1


class ReflectionPad2d(_ReflectionPadNd):
    """Pads the last 2 dims with their reflection (the edge not repeated)."""
    dims = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Pads the last 3 dims with their reflection (the edge not repeated)."""
    dims = 3


class _ReplicationPadNd(_PadNd):
    mode = "replicate"


class ReplicationPad1d(_ReplicationPadNd):
    """Pads the last dim by repeating its edge values."""
    dims = 1


class ReplicationPad2d(_ReplicationPadNd):
    """Pads the last 2 dims by repeating their edge values."""
    dims = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Pads the last 3 dims by repeating their edge values."""
    dims = 3


class _ConstantPadNd(_PadNd):
    """Pads with ``value`` (negative padding crops), any number of leading dims."""

    __constants__ = ["padding", "value"]

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with a constant."""
    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pads the last 2 dims with a constant."""
    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last 3 dims with a constant."""
    dims = 3


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last 2 dims with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pads the last 3 dims with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"
