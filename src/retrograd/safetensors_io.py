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
import sys

import numpy as np

from . import _backend, _dtype
from .serialization import _atomic_write, _nbytes, _shape
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


_MAX_HEADER = 100_000_000  # the reference implementation's limit


def _read_header(data, name):
    """The tensors of a safetensors file as ``[(key, dtype name, shape, begin, end)]`` in file
    order, every entry checked as the reference implementation checks it before anything is
    read: known dtype, shape of non-negative ints, offsets that tile the data exactly and span
    as many bytes as shape and dtype need."""
    if len(data) < 8:
        raise RuntimeError(f"{name} is not a safetensors file (truncated header)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        raise RuntimeError(f"{name} is not a safetensors file or is truncated (header length {n}, file length "
                           f"{len(data)})")
    try:
        header = json.loads(bytes(data[8:8 + n]))
    except RecursionError as e:
        raise RuntimeError(f"{name} is not a valid safetensors file: its header nests deeper than Python's "
                           f"recursion limit ({sys.getrecursionlimit()})") from e
    except ValueError as e:  # also invalid UTF-8
        raise RuntimeError(f"{name} is not a valid safetensors file: its header is no JSON ({e})") from e
    if not isinstance(header, dict):
        raise RuntimeError(f"{name} is not a valid safetensors file: its header is a {type(header).__name__}, "
                           "not an object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise RuntimeError(f"{name} is not a valid safetensors file: __metadata__ {meta!r} is not a map of strings")
    entries = [_entry(key, info, name) for key, info in header.items()]
    entries.sort(key=lambda e: (e[3], e[4]))
    position = 0
    for key, dname, shape, begin, end in entries:
        if begin != position:
            raise RuntimeError(f"{name} is not a valid safetensors file: tensor {key!r} starts at byte {begin} of "
                               f"the data where {position} was expected (the tensors must tile the data)")
        need = _nbytes(shape, _dtype._BY_NAME[dname].itemsize)
        if end - begin != need:
            raise RuntimeError(f"{name} is not a valid safetensors file: tensor {key!r} of shape {list(shape)} and "
                               f"dtype {_CODES[dname]} needs {need} bytes but its data_offsets [{begin}, {end}] "
                               f"span {end - begin}")
        position = end
    if 8 + n + position != len(data):
        raise RuntimeError(f"{name} is not a valid safetensors file or is truncated: its tensors span {position} "
                           f"bytes of data but the file holds {len(data) - 8 - n}")
    return entries


def _entry(key, info, name):
    """(key, dtype name, shape, begin, end) of one header entry; RuntimeError naming it if malformed."""
    where = f"{name} is not a valid safetensors file: tensor {key!r}"
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        raise RuntimeError(f"{where} is described by {info!r}; expected dtype, shape and data_offsets")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    dname = _FROM_CODE.get(code) if isinstance(code, str) else None
    if dname is None:
        raise RuntimeError(f"{where} has dtype {code!r}, which retrograd does not support (supported: "
                           f"{', '.join(_FROM_CODE)})")
    shape = _shape(shape, where)  # a RuntimeError naming the tensor
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int and o >= 0 for o in offsets) \
            or offsets[0] > offsets[1]:
        raise RuntimeError(f"{where} has data_offsets {offsets!r}; expected [begin, end] with 0 <= begin <= end")
    return key, dname, shape, offsets[0], offsets[1]


def _deserialize(data, name):
    """{name: ndarray} from the bytes of a safetensors file (built-in reader)."""
    entries = _read_header(data, name)
    (n,) = struct.unpack("<Q", data[:8])
    body = memoryview(data)[8 + n:]
    out = {}
    for key, dname, shape, begin, end in entries:
        dt = _dtype._BY_NAME[dname].np
        out[key] = np.frombuffer(body[begin:end], dtype=dt.newbyteorder("<")).astype(dt).reshape(shape)
    return out


def save_safetensors(tensors, path, metadata=None):
    """Write ``{name: Tensor}`` to the safetensors file ``path`` (atomically).
    ``metadata``: optional ``{str: str}`` stored in the header."""
    arrays = _arrays(tensors)
    stn = _safetensors_numpy()
    if stn is not None and all(a.dtype.name != "bfloat16" for a in arrays.values()):
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
    entries = _read_header(data, repr(path))
    order = [key for key, *_ in entries]
    stn = _safetensors_numpy()
    if stn is not None and all(dname != "bfloat16" for _, dname, *_ in entries):
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
