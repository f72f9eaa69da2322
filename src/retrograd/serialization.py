"""``retrograd.save`` / ``retrograd.load``: checkpoints in torch.save's zip format.

``save`` writes what ``torch.save`` writes: an uncompressed zip archive ``archive/`` holding
``data.pkl`` (the object pickled, each tensor as a ``torch._utils._rebuild_tensor_v2`` call over
a persistent storage, dtypes/``Size``/devices as torch's globals), ``data/<n>`` (each storage's
little-endian bytes), ``byteorder`` and ``version``. ``torch.load(f, weights_only=True)`` reads
such a file when it holds tensors, parameters, numbers, strings, dtypes, ``Size``, devices and
dicts/``OrderedDict``/lists/tuples/sets of them (state dicts, optimizer states); other objects (a
whole ``nn.Module``, custom classes, NumPy arrays) are pickled as torch pickles them, by
reference to their class, and loading them needs ``weights_only=False`` or an allow-list entry
(``retrograd.serialization.add_safe_globals`` / ``safe_globals``), as in torch.

``load`` reads those files and the ones ``torch.save`` writes through an unpickler that admits
only torch's default weights-only globals and the user's allow-list when ``weights_only=True``
(the default, as torch 2.6+), so no code from the file runs. torch's names load as the retrograd
objects of the same name (``torch.nn.modules.linear.Linear`` as ``retrograd.nn.Linear``), so a
whole module saved by ``torch.save(model)`` loads (``weights_only=False``) as the retrograd
module, its parameters and buffers retrograd tensors. A class that subclasses torch's
``nn.Module`` cannot become a retrograd class and is refused with a clear error.

``load`` also reads retrograd's older format (``retrograd.json`` with the structure, tensors
replaced by references, and ``tensors/<n>`` raw bytes; pickled members ``pickles/<n>`` need
``weights_only=False``). ``save(..., torch_compatible=False)`` still writes it, with a
FutureWarning: torch cannot read it. safetensors (``retrograd.safetensors_io``) is the other
way to hand weights to PyTorch.

Writing to a path is atomic: the archive goes to a temporary file in the target's directory,
is flushed and fsync'ed, and replaces the target with ``os.replace``; a crash at any point
leaves any existing file as it was (and the temporary file, removed by the next save of that
target). A symbolic link is written through, as torch.save does.

Loading trusts nothing a file declares: every size, stride, offset, dtype and byte count is
checked against the bytes present before an array is made of them. A corrupt, truncated or
crafted file raises a RuntimeError naming the file and the entry (a tensor whose size or
stride is no integer in a torch.save file: TypeError, as torch raises).
"""

import base64
import collections
import errno
import io
import json
import os
import pickle
import re
import struct
import sys
import tempfile
import warnings
import zipfile
import zlib

import numpy as np

from . import _backend, _dtype
from . import serialization_globals as _globals
from .serialization_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from .tensor import Size, Tensor

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "get_unsafe_globals_in_checkpoint"]

_FORMAT = "retrograd-checkpoint"
_VERSION = 1
_HEADER = "retrograd.json"


# ---------------------------------------------------------------- atomic file writing
_umask_cache = []


def _default_file_mode():
    if not _umask_cache:
        mask = os.umask(0)
        os.umask(mask)
        _umask_cache.append(mask)
    return 0o666 & ~_umask_cache[0]


def _atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it, then move it over
    ``path`` (``os.replace``), so ``path`` holds either the old or the complete new content.

    A symbolic link is written through, as ``open(path, "wb")`` (and so torch.save) does: the
    link stays, its target gets the data, and the temporary file lives beside the target.
    Temporary files are named ``.{target}.{pid}.{random}.tmp``; those of the same target left
    by a process that no longer runs (a killed save) are removed first. (Whether a process runs
    is asked of this machine: on a file system shared between machines a save running
    elsewhere with a pid unused here loses its temporary file and fails, leaving the target as
    it was. Without POSIX process ids, on Windows, nothing is removed.)"""
    path = os.path.realpath(os.fsdecode(os.fspath(path)))
    if os.path.islink(path):  # a loop of links that realpath could not resolve
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
    directory, base = os.path.split(path)
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    _remove_stale_temporaries(directory, base)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = _default_file_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (POSIX); not possible everywhere
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _remove_stale_temporaries(directory, base):
    """Remove ``.{base}.{pid}.{random}.tmp`` files in ``directory`` whose process has ended."""
    if os.name != "posix":  # os.kill(pid, 0) is no probe elsewhere (on Windows it terminates)
        return
    pattern = re.compile(rf"\.{re.escape(base)}\.(\d+)\.[a-z0-9_]+\.tmp\Z")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for entry in names:
        m = pattern.match(entry)
        if m and not _process_alive(int(m.group(1))):
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:
                pass


def _process_alive(pid):
    if pid == os.getpid():  # another thread of this process may be saving the same target
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, under another user
        return True
    except (OverflowError, ValueError):  # no process can have this id
        return False
    return True


def _is_path(f):
    return isinstance(f, (str, bytes, os.PathLike))


# ---------------------------------------------------------------- encoding
class _Encoder:
    def __init__(self):
        self.tensors = []  # (array, meta)
        self.tensor_ids = {}
        self.pickles = []

    def tensor_ref(self, t, kind="tensor"):
        key = id(t)
        if key not in self.tensor_ids:
            if isinstance(t, Tensor):
                arr, dev = t._host_array(), str(t.device)
                meta = {"dtype": t.dtype.name, "shape": list(arr.shape), "device": dev,
                        "requires_grad": bool(t._requires_grad)}
                if _is_parameter(t):
                    meta["parameter"] = True
            else:  # a NumPy array
                arr = t
                meta = {"numpy_dtype": arr.dtype.str, "shape": list(arr.shape)}
            self.tensor_ids[key] = len(self.tensors)
            self.tensors.append((arr, meta, t))  # keep t alive so ids stay unique
        return {"__rg__": kind, "id": self.tensor_ids[key]}

    def enc(self, obj):
        t = type(obj)
        if obj is None or t is bool or t is str or t is int:
            return obj
        if t is float:
            return obj if np.isfinite(obj) else {"__rg__": "float", "v": repr(obj)}
        if isinstance(obj, Tensor):
            return self.tensor_ref(obj)
        if t is list:
            return [self.enc(x) for x in obj]
        if t is tuple:
            return {"__rg__": "tuple", "items": [self.enc(x) for x in obj]}
        if t is Size:
            return {"__rg__": "size", "items": list(obj)}
        if t is dict or t is collections.OrderedDict or t is collections.Counter:
            tag = "dict" if t is dict else "odict" if t is collections.OrderedDict else "counter"
            out = {"__rg__": tag, "keys": [self.enc(k) for k in obj],
                   "values": [self.enc(v) for v in obj.values()]}
            meta = getattr(obj, "_metadata", None)
            if meta is not None:
                out["metadata"] = self.enc(meta)
            return out
        if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufc?" and obj.dtype.kind != "c":
            return self.tensor_ref(obj, "ndarray")
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf?":
            return {"__rg__": "npscalar", "dtype": obj.dtype.str, "v": self.enc(obj.item())}
        if isinstance(obj, _dtype.dtype):
            return {"__rg__": "dtype", "name": obj.name}
        if isinstance(obj, _backend.device):
            return {"__rg__": "device", "v": str(obj)}
        if t is complex:
            return {"__rg__": "complex", "re": self.enc(obj.real), "im": self.enc(obj.imag)}
        if t is bytes:
            return {"__rg__": "bytes", "v": base64.b64encode(obj).decode("ascii")}
        if t is set or t is frozenset:
            return {"__rg__": t.__name__, "items": [self.enc(x) for x in obj]}
        # anything else: pickled, loadable only with weights_only=False
        self.pickles.append(obj)
        return {"__rg__": "pickle", "id": len(self.pickles) - 1, "type": f"{t.__module__}.{t.__qualname__}"}


def _is_parameter(t):
    try:
        from .nn.parameter import Parameter
    except ImportError:  # pragma: no cover
        return False
    return isinstance(t, Parameter)


def _write_legacy_archive(obj, fh, pickle_protocol):
    """retrograd's older format (``retrograd.json`` + ``tensors/<n>``), which torch cannot read."""
    enc = _Encoder()
    root = enc.enc(obj)
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        table = []
        for i, (arr, meta, _) in enumerate(enc.tensors):
            arr = np.require(arr, requirements="C")
            if arr.dtype.byteorder == ">":
                arr = arr.astype(arr.dtype.newbyteorder("<"))
            name = f"tensors/{i}"
            with zf.open(name, "w", force_zip64=arr.nbytes > 2**31) as out:
                out.write(memoryview(arr.reshape(-1).view(np.uint8)))
            table.append({**meta, "file": name, "nbytes": int(arr.nbytes)})
        pickled = []
        for i, p in enumerate(enc.pickles):
            name = f"pickles/{i}"
            zf.writestr(name, pickle.dumps(p, protocol=max(pickle_protocol, 2)))
            pickled.append(name)
        header = {"format": _FORMAT, "version": _VERSION, "tensors": table, "pickles": pickled, "root": root}
        zf.writestr(_HEADER, json.dumps(header, allow_nan=False))


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False, *, torch_compatible=None):
    """Save ``obj`` to ``f``, a path (written atomically) or a writable binary file object, in
    torch.save's zip format: ``torch.load`` reads the file, with ``weights_only=True`` when it
    holds state dicts, optimizer states and nested containers of tensors, numbers and strings.

    Other objects (a whole ``nn.Module``, custom classes) are pickled by reference to their
    class, as torch pickles them; loading them needs ``weights_only=False`` or the classes
    marked safe (``retrograd.serialization.safe_globals``). ``_disable_byteorder_record=True``
    leaves out the ``byteorder`` record (readers then take the bytes as little-endian).

    ``torch_compatible`` (retrograd only, deprecated): ``True`` is the default format now;
    ``False`` writes retrograd's older format (``retrograd.json``), which torch cannot read.
    Both warn (FutureWarning); drop the argument.
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise NotImplementedError("retrograd.save: pickle_module is not supported (retrograd pickles with the "
                                  "standard pickle module); drop the argument")
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("retrograd.save: _use_new_zipfile_serialization=False (torch's legacy "
                                  "format) is not supported; retrograd writes zip archives only")
    if type(pickle_protocol) is not int or pickle_protocol > pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"pickle protocol must be <= {pickle.HIGHEST_PROTOCOL}, got {pickle_protocol!r}")
    if pickle_protocol < 2:
        raise NotImplementedError(f"retrograd.save: pickle_protocol={pickle_protocol} is not supported (torch.load "
                                  "cannot read such a file with weights_only=True either); use 2 or higher")
    if torch_compatible is None or torch_compatible:
        if torch_compatible:
            warnings.warn("retrograd.save: torch_compatible=True is deprecated: torch's format is the default now; "
                          "drop the argument", FutureWarning, stacklevel=2)

        write = _write_archive
        if _disable_byteorder_record:
            def write(obj, fh, protocol):
                _write_archive(obj, fh, protocol, byteorder=False)
    else:
        warnings.warn("retrograd.save: torch_compatible=False is deprecated: it writes retrograd's older format, "
                      "which torch.load cannot read (retrograd.load reads both); drop the argument to write "
                      "torch's format", FutureWarning, stacklevel=2)
        if _disable_byteorder_record:
            raise ValueError("retrograd.save: _disable_byteorder_record=True applies to torch's format; retrograd's "
                             "older format (torch_compatible=False) always records little-endian bytes")
        write = _write_legacy_archive
    if _is_path(f):
        _atomic_write(f, lambda fh: write(obj, fh, pickle_protocol))
    else:
        buf = io.BytesIO()
        write(obj, buf, pickle_protocol)
        f.write(buf.getvalue())


# ---------------------------------------------------------------- checks of what a file declares
# Every size, stride, offset, dtype and byte count read from a file (this module's format,
# torch.save's, safetensors) is checked against the bytes present before an array is made of
# them: a corrupt or crafted file raises RuntimeError, never reads outside its buffer, never
# allocates what its header merely claims.
class _Corrupt(RuntimeError):
    """What a file declares contradicts itself or the bytes it holds (the loaders add the file's name)."""


class _AllowListError(Exception):
    """Wraps the ValueError/TypeError of a malformed allow-list entry, which load raises as it is."""


class _BadType(TypeError):
    """A torch.save record gives a size, stride or offset that is no integer (torch raises TypeError)."""


_MAX_DIMS = 64  # NumPy's limit

# the most bytes one stored byte can stand for: 1 uncompressed, about 1032 deflated
_EXPANSION = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1032}


def _member(zf, name, entry):
    """The ZipInfo of member ``name`` of ``zf``, checked before anything is read: it exists, is
    stored or deflated (what torch and retrograd write) and claims no more bytes than the
    archive can hold for it."""
    if not isinstance(name, str):
        raise _Corrupt(f"{entry} names the member {name!r}, which is no file name")
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise _Corrupt(f"{entry}: the archive has no member {name!r}") from None
    expansion = _EXPANSION.get(info.compress_type)
    if expansion is None:
        raise _Corrupt(f"{entry}: member {name!r} declares compression method {info.compress_type}; "
                       "checkpoints are stored (0) or deflated (8)")
    room = zf.start_dir - info.header_offset
    if info.compress_size > room or info.file_size > expansion * info.compress_size:
        raise _Corrupt(f"{entry}: member {name!r} declares {info.file_size} bytes ({info.compress_size} "
                       f"stored), more than the {room} bytes the archive has for it can hold")
    return info


def _read_member(zf, name, entry):
    return zf.read(_member(zf, name, entry))


def _shape(value, entry):
    """``value``, a shape read from a file, as a tuple of non-negative ints."""
    if not isinstance(value, (list, tuple)) or not all(type(n) is int and n >= 0 for n in value):
        raise _Corrupt(f"{entry} has shape {value!r}; a shape is a list of non-negative integers")
    if len(value) > _MAX_DIMS:
        raise _Corrupt(f"{entry} has {len(value)} dimensions; NumPy arrays have at most {_MAX_DIMS}")
    return tuple(value)


def _nbytes(shape, itemsize):
    """The bytes of a C-contiguous array of ``shape`` (in Python ints: no overflow)."""
    n = itemsize
    for s in shape:
        n *= s
    return n


def _check_strided(entry, size, stride, offset, numel):
    """Check that a tensor of ``size`` and ``stride`` (in elements) at ``offset`` of a storage of
    ``numel`` elements stays inside it, as torch's ``set_`` checks: TypeError for arguments
    that are no int64, RuntimeError for values out of range."""
    if not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)):
        raise _BadType(f"{entry}: a tensor's size and stride are tuples of ints, got {size!r} and {stride!r}")
    for what, v in [("size", n) for n in size] + [("stride", n) for n in stride] + [("storage offset", offset)]:
        if type(v) is not int or not -2**63 <= v < 2**63:
            raise _BadType(f"{entry}: a tensor's {what} must be an int64, got {v!r} (size {size!r}, stride "
                           f"{stride!r}, storage offset {offset!r})")
    described = f"a tensor of size {list(size)}, stride {list(stride)} and storage offset {offset}"
    if len(size) != len(stride):
        raise _Corrupt(f"{entry}: {described} has unequal size length ({len(size)}) and stride length "
                       f"({len(stride)})")
    if len(size) > _MAX_DIMS:
        raise _Corrupt(f"{entry}: {described} has {len(size)} dimensions; NumPy arrays have at most {_MAX_DIMS}")
    if any(n < 0 for n in size) or offset < 0:
        raise _Corrupt(f"{entry}: {described}: sizes and the storage offset cannot be negative")
    if 0 in size:  # no element is read
        return
    if any(st < 0 for n, st in zip(size, stride) if n > 1):
        raise _Corrupt(f"{entry}: {described}: negative strides are not supported")
    last = offset + sum((n - 1) * st for n, st in zip(size, stride))
    if last >= numel:
        raise _Corrupt(f"{entry}: {described} reaches element {last}, out of bounds for the storage's {numel} "
                       "elements")


# ---------------------------------------------------------------- decoding
def _map_device(saved, map_location):
    """The device a tensor saved on ``saved`` loads to."""
    if map_location is None:
        return saved
    if isinstance(map_location, (str, _backend.device)):
        return str(map_location)
    if isinstance(map_location, dict):
        return str(map_location.get(saved, saved))
    return saved


def _place(t, saved, map_location):
    if callable(map_location) and not isinstance(map_location, (str, _backend.device, dict)):
        out = map_location(t, saved)
        return out if isinstance(out, Tensor) else t
    dev = _map_device(saved, map_location)
    if _backend.device(dev).type == "cuda":
        if not _backend.cuda_available():
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. "
                "If you are running on a CPU-only machine, please use torch.load with "
                "map_location=torch.device('cpu') to map your storages to the CPU.")
        t._data = _backend.to_device(t._data, dev)
    return t


def _numpy_dtype(meta, entry):
    """The NumPy dtype of a tensor table entry (a torch dtype's name, or a plain NumPy array's)."""
    if "numpy_dtype" in meta:
        try:
            dt = np.dtype(meta["numpy_dtype"]) if isinstance(meta["numpy_dtype"], str) else None
        except (TypeError, ValueError):
            dt = None
        if dt is None or dt.kind not in "biuf" or dt.names is not None or dt.subdtype is not None:
            raise _Corrupt(f"{entry} has NumPy dtype {meta['numpy_dtype']!r}; checkpoints hold bool, integer and "
                           "floating point arrays")
        return dt
    name = meta.get("dtype")
    d = _dtype._BY_NAME.get(name) if isinstance(name, str) else None
    if d is None:
        raise _Corrupt(f"{entry} has dtype {name!r}, which is not a dtype")
    return d.np


def _read_array(zf, meta, i):
    """Tensor ``i`` of the table, its shape and dtype checked against its member's size first."""
    entry = f"tensor {i}"
    if not isinstance(meta, dict):
        raise _Corrupt(f"{entry} is described by {meta!r}, not a table")
    dt = _numpy_dtype(meta, entry)
    shape = _shape(meta.get("shape"), entry)
    info = _member(zf, meta.get("file"), entry)
    want = _nbytes(shape, dt.itemsize)
    if info.file_size != want or meta.get("nbytes", want) != want:
        raise _Corrupt(f"{entry} ({info.filename}) has shape {list(shape)} of {dt.name}, {want} bytes, but the "
                       f"archive holds {info.file_size} bytes for it")
    little = dt.newbyteorder("<")  # the bytes are little-endian whatever byte order the array had
    arr = np.empty(shape, dtype=little)
    view = memoryview(arr.reshape(-1).view(np.uint8))
    with zf.open(info) as fh:
        got = 0
        while got < len(view):
            n = fh.readinto(view[got:])
            if not n:
                break
            got += n
        if got != len(view) or fh.read(1):
            raise _Corrupt(f"{entry} ({info.filename}) holds {got} bytes where {want} were declared")
    return arr.astype(dt.newbyteorder("="), copy=False)


class _Decoder:
    def __init__(self, zf, header, map_location, weights_only, name):
        self.zf = zf
        self.table = header["tensors"]
        self.pickles = header.get("pickles", [])
        self.map_location = map_location
        self.weights_only = weights_only
        self.name = name
        self.cache = {}

    def tensor(self, i, kind):
        if i not in self.cache:
            if type(i) is not int or not 0 <= i < len(self.table):
                raise _Corrupt(f"a reference to tensor {i!r} of a table of {len(self.table)}")
            meta = self.table[i]
            arr = _read_array(self.zf, meta, i)
            if kind == "ndarray":
                self.cache[i] = arr
            else:
                t = Tensor._make(arr)
                if meta.get("parameter"):
                    from .nn.parameter import Parameter

                    t = Parameter(t, requires_grad=meta.get("requires_grad", True))
                elif meta.get("requires_grad"):
                    t._requires_grad = True
                self.cache[i] = _place(t, meta.get("device", "cpu"), self.map_location)
        return self.cache[i]

    def dec(self, obj):
        if not isinstance(obj, (dict, list)):
            return obj
        if isinstance(obj, list):
            return [self.dec(x) for x in obj]
        tag = obj["__rg__"]
        if tag in ("tensor", "ndarray"):
            return self.tensor(obj["id"], tag)
        if tag in ("dict", "odict", "counter"):
            out = {"dict": dict, "odict": collections.OrderedDict, "counter": collections.Counter}[tag](
                zip((self.dec(k) for k in obj["keys"]), (self.dec(v) for v in obj["values"])))
            if "metadata" in obj and tag == "odict":
                out._metadata = self.dec(obj["metadata"])
            return out
        if tag == "tuple":
            return tuple(self.dec(x) for x in obj["items"])
        if tag == "size":
            return Size(obj["items"])
        if tag == "float":
            return float(obj["v"])
        if tag == "npscalar":
            return _numpy_dtype({"numpy_dtype": obj["dtype"]}, "a NumPy scalar").type(self.dec(obj["v"]))
        if tag == "dtype":
            return _dtype._BY_NAME[obj["name"]]
        if tag == "device":
            return _backend.device(obj["v"])
        if tag == "complex":
            return complex(self.dec(obj["re"]), self.dec(obj["im"]))
        if tag == "bytes":
            return base64.b64decode(obj["v"])
        if tag in ("set", "frozenset"):
            return (set if tag == "set" else frozenset)(self.dec(x) for x in obj["items"])
        if tag == "pickle":
            if self.weights_only:
                raise pickle.UnpicklingError(
                    f"Weights only load failed: {self.name} holds a pickled object of type {obj['type']}, and "
                    "unpickling can run arbitrary code. If you trust the source of the file, call "
                    "retrograd.load(..., weights_only=False).")
            i = obj["id"]
            if type(i) is not int or not 0 <= i < len(self.pickles):
                raise _Corrupt(f"a reference to pickled object {i!r} of {len(self.pickles)}")
            return pickle.loads(_read_member(self.zf, self.pickles[i], f"pickled object {i}"))
        raise _Corrupt(f"unknown tag {tag!r}")


def _reason(e):
    return str(e) if isinstance(e, _Corrupt) else f"{type(e).__name__}: {e}"


def _zip_source(f):
    """What zipfile can open: a path, a seekable file, or the bytes of an unseekable one."""
    if _is_path(f):
        return os.fspath(f)
    return f if hasattr(f, "seek") and hasattr(f, "tell") else io.BytesIO(f.read())


def _describe(f):
    if _is_path(f):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else "<file-like object>"


def _check_load_options(f, pickle_module, weights_only, mmap, pickle_load_args):
    """The options of torch.load that retrograd's reader does not have: refused, never ignored."""
    if pickle_module is not None and pickle_module is not pickle:
        raise NotImplementedError("retrograd.load: pickle_module is not supported (retrograd unpickles with "
                                  "its own restricted unpickler); drop the argument")
    if mmap:
        if not _is_path(f):
            raise ValueError("f must be a file path in order to use the mmap argument")
        raise NotImplementedError("retrograd.load: mmap=True is not supported: the checkpoint is read into "
                                  "memory; drop mmap")
    if pickle_load_args:
        if weights_only:  # torch's behaviour: the restricted unpickler takes no options
            warnings.warn("pickle_load_args only works if `weights_only=False`.", UserWarning, stacklevel=3)
        else:
            raise NotImplementedError(f"retrograd.load: pickle_load_args {sorted(pickle_load_args)} are not "
                                      "supported; drop them")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Load an object saved with ``retrograd.save`` or ``torch.save`` (or retrograd's older format)
    from a path or a readable binary file.

    ``map_location``: a device (``'cpu'``), a dict from saved to wanted device, or a function
    ``(tensor, saved_location) -> tensor``. ``weights_only`` (default True, as torch 2.6+): the
    pickle may name only torch's default weights-only globals (tensors, storages, dtypes,
    ``Size``, devices, ``OrderedDict``, ``Counter``, ``set``, ``complex``, ``bytearray``) and
    those marked safe with ``add_safe_globals`` / ``safe_globals``; any other raises torch's
    ``UnpicklingError``. torch's names load as retrograd's objects of the same names.
    """
    weights_only = True if weights_only is None else weights_only
    _check_load_options(f, pickle_module, weights_only, mmap, pickle_load_args)
    name = _describe(f)
    source = _zip_source(f)
    try:
        zf = zipfile.ZipFile(source, "r")
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise RuntimeError(
            f"retrograd.load: {name} is not a valid retrograd checkpoint: the file is truncated, corrupt or "
            f"not a checkpoint ({type(e).__name__}: {e})") from e
    with zf:
        names = zf.namelist()
        if _HEADER not in names:
            pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
            if pkl:
                try:
                    return _load_torch_archive(zf, pkl[0], map_location, weights_only, name)
                except _AllowListError as e:  # a malformed add_safe_globals entry: torch's ValueError/TypeError
                    raise e.args[0] from None
                except _BadType as e:
                    raise TypeError(f"retrograd.load: {name} (a torch.save archive): {e}") from e
                except (_Corrupt, zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, zlib.error,
                        EOFError, struct.error, OSError) as e:
                    raise RuntimeError(f"retrograd.load: {name} (a torch.save archive) is corrupt or truncated "
                                       f"and cannot be read ({_reason(e)})") from e
            raise RuntimeError(f"retrograd.load: {name} is not a retrograd checkpoint (no {_HEADER} inside); "
                               "the file is corrupt or of another format")
        try:
            header = json.loads(_read_member(zf, _HEADER, "the header"))
            if not isinstance(header, dict) or header.get("format") != _FORMAT:
                raise _Corrupt("wrong format marker")
            if header.get("version", 0) > _VERSION:
                raise RuntimeError(f"retrograd.load: {name} was written by a newer retrograd (format version "
                                   f"{header['version']}); upgrade retrograd to read it")
            if not isinstance(header.get("tensors"), list) or not isinstance(header.get("pickles", []), list):
                raise _Corrupt("the header's tensor or pickle table is not a list")
            return _Decoder(zf, header, map_location, weights_only, name).dec(header["root"])
        except RecursionError as e:
            raise RuntimeError(f"retrograd.load: {name} is corrupt: its header nests deeper than Python's "
                               f"recursion limit ({sys.getrecursionlimit()})") from e
        except (_Corrupt, zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, zlib.error, EOFError,
                struct.error, OSError) as e:
            raise RuntimeError(
                f"retrograd.load: {name} is corrupt or truncated and cannot be read ({_reason(e)})") from e


# ---------------------------------------------------------------- files written by torch.save
_TORCH_STORAGES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
                   "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
                   "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool"}


class _TorchStorageType:
    def __init__(self, dtype_name):
        self.dtype = _dtype._BY_NAME[dtype_name]


class _TorchStorage:
    def __init__(self, array, location, entry):
        self.array, self.location, self.entry = array, location, entry


class _TorchUnpickler(pickle.Unpickler):
    """Reads torch.save's data.pkl allowing only the classes of tensors, state dicts and
    optimizer states (like torch's weights_only loader): no arbitrary code runs. Each storage's
    byte count, and each tensor's size, stride and offset within its storage, are checked
    before a view of them is made."""

    def __init__(self, file, zf, prefix, map_location, weights_only, name, big_endian):
        super().__init__(file)
        self.zf, self.prefix, self.map_location = zf, prefix, map_location
        self.weights_only, self.name, self.big_endian = weights_only, name, big_endian
        self.storages = {}

    # torch's default weights-only globals that retrograd has (besides storages, dtypes and the
    # tensor-rebuilding functions): anything else needs weights_only=False or the allow-list
    _SAFE = {("collections", "OrderedDict"): collections.OrderedDict, ("collections", "Counter"): collections.Counter,
             ("torch", "Size"): Size, ("torch", "device"): _backend.device, ("builtins", "set"): set,
             ("builtins", "complex"): complex, ("builtins", "bytearray"): bytearray}

    def _default_global(self, module, name):
        """The object torch's weights-only loader allows by default for ``module.name``, or None."""
        if (module, name) in self._SAFE:
            return self._SAFE[(module, name)]
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self.rebuild_tensor
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return self.rebuild_parameter
        if module in ("torch", "torch.cuda") and name in _TORCH_STORAGES:
            return _TorchStorageType(_TORCH_STORAGES[name])
        if module == "torch" and name in _dtype._BY_NAME:
            return _dtype._BY_NAME[name]
        if (module, name) == ("_codecs", "encode"):
            import codecs

            return codecs.encode
        if (module, name) == ("torch._tensor", "_rebuild_from_type_v2"):
            return _rebuild_from_type_v2
        if (module, name) in (("torch.nn.parameter", "Parameter"), ("torch", "Tensor")):
            return _globals.retrograd_object(module, name)
        return None

    def find_class(self, module, name):
        module, name = _globals.normalize(module, name)
        full_path = f"{module}.{name}"
        if self.weights_only and module in _globals._BLOCKLISTED_MODULES:
            raise pickle.UnpicklingError(f"Weights only load failed: {self.name} names the global {full_path}: "
                                         f"Trying to load unsupported GLOBAL {full_path} whose module {module} is "
                                         "blocked.")
        obj = self._default_global(module, name)
        if obj is not None:
            return obj
        from_torch = module == "torch" or module.startswith("torch.")
        obj = _globals.retrograd_object(module, name) if from_torch else None
        if self.weights_only:
            try:
                allowed = _globals.user_allowed()
            except (ValueError, TypeError) as e:
                raise _AllowListError(e) from None
            if from_torch and obj is not None and (full_path in allowed or any(obj is v for v in allowed.values())):
                pass
            elif not from_torch and full_path in allowed:
                obj = allowed[full_path]
            else:
                raise pickle.UnpicklingError(_globals.weights_only_error(_globals.display_path(module, name)))
        elif from_torch:
            if obj is None:
                raise pickle.UnpicklingError(
                    f"retrograd.load: {self.name} needs torch's {full_path}, which retrograd does not have; save "
                    "the object's state_dict() with torch and load that into the retrograd object instead")
        else:
            obj = super().find_class(module, name)
        _refuse_torch_subclass(obj, full_path, self.name)
        return obj

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, location, numel = pid
        entry = f"storage {key!r}"
        if not isinstance(storage_type, _TorchStorageType) or not isinstance(key, str) or \
                not isinstance(location, str) or type(numel) is not int or numel < 0:
            raise _Corrupt(f"{entry} is declared as {pid!r}; expected ('storage', <storage type>, key, location, "
                           "element count)")
        if key not in self.storages:
            dt = storage_type.dtype
            member = f"{self.prefix}data/{key}"
            raw = _read_member(self.zf, member, entry)
            if len(raw) != numel * dt.itemsize:
                raise _Corrupt(f"{entry}: record size ({len(raw)} bytes) does not match expected size "
                               f"({numel * dt.itemsize} bytes = {numel} elements * {dt.itemsize} bytes/element) "
                               f"for dtype {dt.name}")
            np_dt = dt.np.newbyteorder(">" if self.big_endian else "<")
            arr = np.frombuffer(raw, dtype=np_dt).astype(dt.np)
            self.storages[key] = _TorchStorage(arr, location, entry)
        return self.storages[key]

    def rebuild_tensor(self, storage, storage_offset, size, stride, requires_grad, backward_hooks=None,
                       metadata=None):
        """torch._utils._rebuild_tensor_v2: a tensor viewing a storage, copied out of it once checked."""
        if not isinstance(storage, _TorchStorage):
            raise _Corrupt(f"_rebuild_tensor_v2 expects a storage, got {type(storage).__name__}")
        arr = storage.array
        _check_strided(storage.entry, size, stride, storage_offset, arr.size)
        if 0 in size:
            out = np.zeros(tuple(size), dtype=arr.dtype)
        else:
            strides = tuple(st * arr.itemsize if n > 1 else 0 for n, st in zip(size, stride))
            view = np.lib.stride_tricks.as_strided(arr[storage_offset:], shape=tuple(size), strides=strides)
            out = np.array(view)  # each tensor owns its memory (views of one storage load as copies)
        t = Tensor._make(out)
        t._requires_grad = bool(requires_grad) and t.dtype.is_floating_point
        return _place(t, storage.location, self.map_location)

    def rebuild_parameter(self, data, requires_grad, backward_hooks=None, state=None):
        from .nn.parameter import Parameter

        if not isinstance(data, Tensor):
            raise _Corrupt(f"_rebuild_parameter expects a tensor, got {type(data).__name__}")
        param = Parameter(data, requires_grad=requires_grad)
        if state:  # _rebuild_parameter_with_state: the Python attributes the parameter had
            if isinstance(state, tuple) and len(state) == 2:  # (__dict__, slots)
                state = {**(state[0] or {}), **(state[1] or {})}
            if not isinstance(state, dict):
                raise _Corrupt(f"_rebuild_parameter_with_state expects a dict of attributes, got {type(state).__name__}")
            for k, v in state.items():
                setattr(param, k, v)
        return param


def _rebuild_from_type_v2(func, new_type, args, state):
    """torch._tensor._rebuild_from_type_v2: a tensor with Python attributes (``state``) or of a
    Tensor subclass; retrograd rebuilds Tensor and Parameter, and refuses other subclasses."""
    out = func(*args)
    if not (isinstance(new_type, type) and isinstance(out, new_type)):
        raise pickle.UnpicklingError(f"the checkpoint holds a tensor of the subclass {new_type!r}, which retrograd "
                                     "cannot rebuild; save it as a plain tensor")
    if isinstance(state, tuple) and len(state) == 2:  # (__dict__, slots)
        state = {**(state[0] or {}), **(state[1] or {})}
    for k, v in (state or {}).items():
        setattr(out, k, v)
    return out


def _refuse_torch_subclass(obj, full_path, name):
    """A class defined outside torch that subclasses one of torch's (``class Net(torch.nn.Module)``)
    would rebuild as a torch object holding retrograd tensors: refused, with what to do."""
    if not isinstance(obj, type):
        return
    for base in obj.__mro__:
        if base.__module__ == "torch" or base.__module__.startswith("torch."):
            raise pickle.UnpicklingError(
                f"retrograd.load: {name} holds an object of class {full_path}, which subclasses torch's "
                f"{base.__module__}.{base.__qualname__}: retrograd cannot rebuild a torch class. Define the class "
                "on retrograd's base (`import retrograd as torch`), save model.state_dict() with torch and load it "
                "with model.load_state_dict(retrograd.load(path))")


def _load_torch_archive(zf, pkl_name, map_location, weights_only, name):
    """A state dict (or other plain data) from a file written by ``torch.save``."""
    prefix = pkl_name[: -len("data.pkl")]
    big = False
    if f"{prefix}byteorder" in zf.namelist():
        big = _read_member(zf, f"{prefix}byteorder", "the byte order record").strip() == b"big"
    data = _read_member(zf, pkl_name, "the pickle")
    return _TorchUnpickler(io.BytesIO(data), zf, prefix, map_location, weights_only, name, big).load()


def get_unsafe_globals_in_checkpoint(f):
    """The globals (``"module.name"``) that a file written by ``save``/``torch.save`` names and
    a ``weights_only`` load would refuse: neither allowed by default nor marked safe. The
    pickle is read, not run: globals a pickle only computes while loading are not listed."""
    name = _describe(f)
    source = _zip_source(f)
    try:
        zf = zipfile.ZipFile(source, "r")
    except (zipfile.BadZipFile, EOFError, ValueError):
        raise ValueError("Expected input to be a checkpoint returned by torch.save") from None
    with zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            detail = (" (retrograd's older format: its pickled objects load only with weights_only=False)"
                      if _HEADER in names else "")
            raise ValueError(f"Expected input to be a checkpoint returned by torch.save{detail}")
        data = _read_member(zf, pkl[0], "the pickle")
        policy = _TorchUnpickler(io.BytesIO(b""), zf, "", None, True, name, False)
        allowed = _globals.user_allowed()
        unsafe = set()
        for module, global_name in _globals.globals_in_pickle(data):
            module, global_name = _globals.normalize(module, global_name)
            full_path = f"{module}.{global_name}"
            if policy._default_global(module, global_name) is None and full_path not in allowed:
                obj = _globals.retrograd_object(module, global_name)
                if obj is None or not any(obj is v for v in allowed.values()):
                    unsafe.add(full_path)
        return sorted(unsafe)


# ---------------------------------------------------------------- writing torch.save's format
class _TorchGlobal:
    """Pickled as the reference ``module.name`` (torch need not be importable here)."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle's save_reduce insists on a callable
        raise TypeError(f"{self.module}.{self.name} is a reference for torch, not a function here")


_TORCH_STORAGE_NAMES = {v: k for k, v in _TORCH_STORAGES.items()}


class _StorageRef:
    def __init__(self, key, array, dtype_name, location):
        self.key, self.array, self.dtype_name, self.location = key, array, dtype_name, location


class _TorchPickler(pickle._Pickler):
    """Pickles as torch.save does: a tensor as ``_rebuild_tensor_v2`` over a persistent storage
    (a parameter wrapped in ``_rebuild_parameter``), retrograd's dtypes, ``Size`` and devices as
    torch's globals; every other object by its own reduction, as pickle (and torch) does."""

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file, protocol):
        super().__init__(file, protocol=protocol)
        self.storages = []

    def _save_torch_global(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[_TorchGlobal] = _save_torch_global
    dispatch[_dtype.dtype] = lambda self, d: self._save_torch_global(_TorchGlobal("torch", d.name))

    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            return ("storage", _TorchGlobal("torch", _TORCH_STORAGE_NAMES[obj.dtype_name]), str(obj.key),
                    obj.location, int(obj.array.size))
        return None

    def reducer_override(self, obj):
        t = type(obj)
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if t is _Rebuilt:
            return obj.reduced
        if t is Size:
            return (_TorchGlobal("torch", "Size"), (tuple(obj),))
        if t is _backend.device:
            return (_TorchGlobal("torch", "device"), (str(obj),))
        if t is collections.OrderedDict:  # with its attributes (a state dict's _metadata), as pickle does
            return (_TorchGlobal("collections", "OrderedDict"), (), vars(obj) or None, None, iter(obj.items()))
        return NotImplemented

    def _reduce_tensor(self, obj):
        arr = np.require(obj._host_array(), requirements="C")
        location = "cpu" if obj.device.type == "cpu" else f"{obj.device.type}:{obj.device.index or 0}"
        storage = _StorageRef(len(self.storages), arr, obj.dtype.name, location)
        self.storages.append(storage)
        stride, acc = [], 1
        for n in reversed(arr.shape):
            stride.append(acc)
            acc *= n
        param = _is_parameter(obj)
        rebuilt = (_TorchGlobal("torch._utils", "_rebuild_tensor_v2"),
                   (storage, 0, Size(arr.shape), tuple(reversed(stride)), bool(obj._requires_grad) and not param,
                    collections.OrderedDict()))
        if param:
            return (_TorchGlobal("torch._utils", "_rebuild_parameter"),
                    (_Rebuilt(rebuilt), bool(obj._requires_grad), collections.OrderedDict()))
        return rebuilt


class _Rebuilt:
    def __init__(self, reduced):
        self.reduced = reduced


def _write_archive(obj, fh, pickle_protocol, byteorder=True):
    """``obj`` in torch.save's zip format."""
    buf = io.BytesIO()
    pickler = _TorchPickler(buf, pickle_protocol)
    pickler.dump(obj)
    prefix = "archive/"
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(prefix + "data.pkl", buf.getvalue())
        zf.writestr(prefix + ".format_version", "1")
        zf.writestr(prefix + ".storage_alignment", "64")
        if byteorder:
            zf.writestr(prefix + "byteorder", "little")
        for st in pickler.storages:
            with zf.open(f"{prefix}data/{st.key}", "w", force_zip64=st.array.nbytes > 2**31) as out:
                out.write(memoryview(st.array.reshape(-1).view(np.uint8)))
        zf.writestr(prefix + "version", "3\n")
        zf.writestr(prefix + ".data/serialization_id", "0")
