"""Weights interchange with PyTorch (and others) through safetensors files.

``save_safetensors(state_dict, path, metadata=None)`` writes a ``{name: Tensor}`` mapping
(a Module's ``state_dict()``) to a ``.safetensors`` file that
``safetensors.torch.load_file`` reads; ``load_safetensors(path)`` reads one written by
``safetensors.torch.save_file`` (or by us) into ``{name: Tensor}`` ready for
``load_state_dict``. The same weights give the same outputs in both libraries.

The optional ``safetensors`` package (``pip install retrograd[safetensors]``) does the
work when it is installed (``safetensors.numpy``); without it, or for bfloat16 tensors,
which NumPy cannot name, a small built-in reader/writer of the same format is used (the
format is an 8-byte little-endian header length, a JSON header of
``{name: {dtype, shape, data_offsets}}`` and the raw little-endian bytes).
Files are written atomically, as ``retrograd.save`` writes.
"""

import collections
import json
import os
import struct

import numpy as np

from . import _backend, _dtype
from .serialization import _atomic_write
from .tensor import Tensor

__all__ = ["save_safetensors", "load_safetensors", "save_file", "load_file"]

_CODES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
          "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}
_FROM_CODE = {v: k for k, v in _CODES.items()}


def _safetensors_numpy():
    try:
        import safetensors.numpy as stn
    except ImportError:
        return None
    return stn


def _arrays(tensors):
    if not isinstance(tensors, collections.abc.Mapping):
        raise TypeError(f"save_safetensors expects a dict of name -> Tensor (a state_dict), got "
                        f"{type(tensors).__name__}")
    out = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"safetensors keys must be strings, got {name!r}")
        if isinstance(t, Tensor):
            arr = t._host_array()
        elif isinstance(t, np.ndarray):
            arr = t
        else:
            raise TypeError(f"safetensors stores tensors only; {name!r} is a {type(t).__name__}")
        out[name] = np.require(arr, requirements="C")
    return out


def _serialize(arrays, metadata):
    """The bytes of a safetensors file (built-in writer)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    # larger alignments first, as the reference writer orders them, then by name
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    for name in order:
        arr = arrays[name]
        code = _CODES.get(_dtype.from_numpy_dtype(arr.dtype).name)
        header[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    parts = [struct.pack("<Q", len(raw)), raw]
    for name in order:
        arr = arrays[name]
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        parts.append(arr.reshape(-1).view(np.uint8).tobytes())
    return b"".join(parts)


def _read_header(data, name):
    """The tensors' entries of a safetensors header (checked for shape and bounds)."""
    if len(data) < 8:
        raise RuntimeError(f"{name} is not a safetensors file (truncated header)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise RuntimeError(f"{name} is not a safetensors file or is truncated (header length {n})")
    try:
        header = json.loads(data[8:8 + n])
        header.pop("__metadata__", None)
        size = len(data) - 8 - n
        for key, info in header.items():
            begin, end = info["data_offsets"]
            if not 0 <= begin <= end <= size:
                raise ValueError(f"tensor {key!r} data is out of bounds")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise RuntimeError(f"{name} is not a valid safetensors file: corrupt or truncated ({e})") from e
    return header


def _deserialize(data, name):
    """{name: ndarray} from the bytes of a safetensors file (built-in reader)."""
    header = _read_header(data, name)
    (n,) = struct.unpack("<Q", data[:8])
    body = memoryview(data)[8 + n:]
    out = {}
    for key, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dname = _FROM_CODE.get(info["dtype"])
        if dname is None:
            raise RuntimeError(f"{name}: tensor {key!r} has dtype {info['dtype']}, which retrograd does not support")
        dt = _dtype._BY_NAME[dname].np
        if dt is None:
            raise RuntimeError(f"{name}: tensor {key!r} is bfloat16, which needs the ml_dtypes package")
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        if end > len(body) or end - begin != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise RuntimeError(f"{name}: tensor {key!r} data is out of bounds (truncated or corrupt file)")
        out[key] = np.frombuffer(body[begin:end], dtype=dt.newbyteorder("<")).astype(dt).reshape(shape)
    return out


def save_safetensors(tensors, path, metadata=None):
    """Write ``{name: Tensor}`` to the safetensors file ``path`` (atomically).
    ``metadata``: optional ``{str: str}`` stored in the header."""
    arrays = _arrays(tensors)
    stn = _safetensors_numpy()
    if stn is not None and all(a.dtype != _dtype.bfloat16.np for a in arrays.values()):
        blob = stn.save(arrays, metadata=metadata)
    else:
        blob = _serialize(arrays, metadata)
    _atomic_write(path, lambda fh: fh.write(blob))


def load_safetensors(path, device="cpu"):
    """Read a safetensors file into an ``OrderedDict`` of name -> Tensor (in file order),
    placed on ``device``."""
    path = os.fspath(path)
    with open(path, "rb") as fh:
        data = fh.read()
    header = _read_header(data, repr(path))
    order = [k for k, _ in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])]
    stn = _safetensors_numpy()
    if stn is not None and all(info["dtype"] != "BF16" for info in header.values()):
        try:
            arrays = stn.load(data)
        except Exception as e:  # the package's SafetensorError for corrupt files
            raise RuntimeError(f"load_safetensors: {path!r} is not a valid safetensors file ({e})") from e
        arrays = {k: arrays[k] for k in order}
    else:  # no package, or bfloat16 (which NumPy cannot name): the built-in reader
        arrays = _deserialize(data, repr(path))
    out = collections.OrderedDict()
    for k, arr in arrays.items():
        arr = np.array(arr, copy=True)  # writable, owning its memory
        if str(device) != "cpu":
            arr = _backend.to_device(arr, device)
        out[k] = Tensor._make(arr)
    return out


# the names safetensors' own modules use
save_file = save_safetensors
load_file = load_safetensors
