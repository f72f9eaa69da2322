"""Moving tensors' memory into shared memory: ``Tensor.share_memory_()``, ``Module.share_memory()``
and what an mp queue does to a tensor it sends.

A tensor's array is a view of a root array (the one that owns the memory, or the root itself). torch
moves a whole storage: every tensor on it (its views, ``detach()``, ``.data``, the Parameter made from
it) sees the shared memory afterwards. Here the root's memory is copied into a new segment and every
tensor whose array is on that root gets an array at the same place in the segment; the tensors stay
the same objects (an optimizer's parameters, a module's attributes). The tensors on a root are found
by a scan of the garbage collector's objects, skipped when the root's reference count shows that
only the tensors being moved hold it (a fresh tensor, a module's parameters). NumPy arrays taken out
before (``.numpy()``) keep the old memory, as they would in torch. CUDA memory is not moved (torch's
``share_memory_`` is a no-op for CUDA tensors, which it shares through CUDA IPC).
"""

import gc
import sys

import numpy as np

from . import _segment


def root(arr):
    """The array that owns ``arr``'s memory (NumPy collapses chains of views, but a view of a view
    of a buffer keeps one link per view)."""
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def segment_of(arr):
    """The segment ``arr`` lives in, or None."""
    if not isinstance(arr, np.ndarray):
        return None
    base = root(arr).base
    if isinstance(base, memoryview):
        base = base.obj
    return base if isinstance(base, _segment.Segment) else None


def _address(arr):
    return arr.__array_interface__["data"][0]


def _byte_bounds(arr):
    """[low, high): the bytes ``arr``'s elements span."""
    low = high = _address(arr)
    if arr.size == 0:
        return low, low
    for n, step in zip(arr.shape, arr.strides):
        if step < 0:
            low += (n - 1) * step
        else:
            high += (n - 1) * step
    return low, high + arr.itemsize


def on_segment(seg, offset, shape, dtype, strides, writeable=True):
    """An array on ``seg`` at byte ``offset`` of its data: a view of a 1-D array of ``dtype`` over all
    of it (the storage: ``storage_offset()`` counts from its start, ``resize_`` shrinks within it)."""
    dtype = np.dtype(dtype)
    data = np.ndarray(((len(seg) - seg.start) // dtype.itemsize,), dtype, buffer=seg, offset=seg.start)
    arr = np.ndarray(shape, dtype, buffer=data, offset=offset, strides=strides)
    if not writeable:
        arr.flags.writeable = False
    return arr


def share(tensors):
    """Move the memory of ``tensors`` (and of every tensor on the same memory) into shared memory.
    Tensors already there, and CUDA tensors, are left as they are."""
    from ..tensor import Tensor

    tensors = list({id(t): t for t in tensors}.values())
    alone = _only_held_by(tensors)  # (before anything here refers to the arrays)
    roots = {id(root(t._data)): root(t._data) for t in tensors
             if isinstance(t._data, np.ndarray) and segment_of(t._data) is None}
    if not roots:
        return
    if alone:
        holders = {}
        for t in tensors:
            holders.setdefault(id(t._data), []).append(t)
    else:
        holders = {}
        for o in gc.get_objects():
            # (type(): isinstance would read __class__, which some objects compute, or warn for)
            if issubclass(type(o), Tensor) and isinstance(o._data, np.ndarray) and id(root(o._data)) in roots:
                holders.setdefault(id(root(o._data)), []).append(o)
    for i, r in roots.items():
        _move(r, holders[i])


def _only_held_by(tensors):
    """Whether nothing but ``tensors`` refers to their arrays, each the root of its memory (a fresh
    tensor, a module's parameters): then no other tensor can be on that memory."""
    holders = {}
    for t in tensors:
        if not isinstance(t._data, np.ndarray) or segment_of(t._data) is not None:
            continue  # (not moved)
        if t._data.base is not None:
            return False
        holders[id(t._data)] = holders.get(id(t._data), 0) + 1
    # getrefcount counts its own argument too
    return all(sys.getrefcount(t._data) == holders[id(t._data)] + 1 for t in tensors if id(t._data) in holders)


def _move(r, tensors):
    low, high = _byte_bounds(r)
    seg = _segment.allocate(high - low)
    new_root = on_segment(seg, _address(r) - low, r.shape, r.dtype, r.strides)
    np.copyto(new_root, r, casting="no")
    new_root.flags.writeable = r.flags.writeable
    for t in tensors:
        a = t._data
        t._data = new_root if a is r else on_segment(seg, _address(a) - low, a.shape, a.dtype, a.strides,
                                                     a.flags.writeable)
