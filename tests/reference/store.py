"""torch's values, recorded so that the torch comparisons check something without torch.

``reference(compute, inputs)`` is torch's value for the current test: ``compute()`` (which runs
torch) where torch is installed, the value recorded by ``python tests/reference/record.py`` where
it is not (the bare install). Each value is filed under the test's node id and the call's index
within the test, with a digest of the inputs, so a changed test reads as a missing or stale
entry and fails with the command that records it again, never as a silent pass.

The fixture, torch_values.npz beside this file: "index", the UTF-8 JSON of {key: [digest,
tree]}, where tree is the value with each array replaced by {"@": [dtype, offset, shape]}, and
one flat array per NumPy dtype that those offsets point into (compressed).
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

try:
    import torch
except ImportError:
    torch = None

PATH = Path(__file__).with_name("torch_values.npz")
RECORD = "python tests/reference/record.py"
recording = os.environ.get("RETROGRAD_RECORD_TORCH") == "1"

_calls = {}  # test node id -> reference() calls made by it so far
_recorded = None  # the fixture's entries, read on first use
_pools = None
_new = {}  # key -> (digest, value) recorded in this session


def _test_id():
    current = os.environ.get("PYTEST_CURRENT_TEST")
    return None if current is None else current.rsplit(" (", 1)[0]  # drop " (call)"


def _in_hypothesis():
    try:
        from hypothesis.control import currently_in_test_context
    except ImportError:
        return False
    return currently_in_test_context()


def digest(inputs):
    """A short hash of the arrays and arguments a comparison ran on."""
    h = hashlib.sha1()
    for x in inputs:
        if isinstance(x, np.ndarray):
            h.update(f"{x.dtype.str}{x.shape}".encode())
            h.update(np.ascontiguousarray(x).tobytes())
        else:
            h.update(repr(x).encode())
    return h.hexdigest()[:12]


def _encode(value, arrays):
    if isinstance(value, (np.ndarray, np.generic)):
        arrays.append(np.asarray(value))
        return {"@": len(arrays) - 1}
    if isinstance(value, (list, tuple)):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, dict) and "@" not in value:
        return {str(k): _encode(v, arrays) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"reference(): compute() returned a {type(value).__name__}; return NumPy "
                    "arrays, Python scalars, strings and lists or dicts of them (tensor.numpy(), "
                    "str(dtype)) so the value can be recorded")


def _decode(tree, array):
    if isinstance(tree, dict) and "@" in tree:
        return array(tree["@"])
    if isinstance(tree, list):
        return [_decode(v, array) for v in tree]
    if isinstance(tree, dict):
        return {k: _decode(v, array) for k, v in tree.items()}
    return tree


def as_recorded(value):
    """``value`` as reference() returns a recorded one: tuples as lists, NumPy scalars as 0-d arrays."""
    arrays = []
    return _decode(_encode(value, arrays), arrays.__getitem__)


def _load():
    global _recorded, _pools
    if _recorded is None:
        if PATH.exists():
            with np.load(PATH) as f:
                _pools = {k: f[k] for k in f.files if k != "index"}
                _recorded = json.loads(f["index"].tobytes().decode())
        else:
            _recorded, _pools = {}, {}
    return _recorded


def _from_pool(ref):
    dtype, offset, shape = ref
    return _pools[dtype][offset:offset + int(np.prod(shape, dtype=np.int64))].reshape(shape).copy()


def reference(compute, inputs=()):
    """torch's value for this call of this test: computed with torch, else the recorded one."""
    test = _test_id()
    if torch is not None:
        value = compute()
        arrays = []
        tree = _encode(value, arrays)
        if recording and test is not None and not _in_hypothesis():
            n = _calls[test] = _calls.get(test, -1) + 1
            _new[f"{test}#{n}"] = (digest(inputs), tree, arrays)
        return _decode(tree, lambda i: arrays[i].copy())  # the same types as a recorded value
    if test is None or _in_hypothesis():
        pytest.skip("torch is not installed (and values are recorded for pytest tests only)")
    n = _calls[test] = _calls.get(test, -1) + 1
    key = f"{test}#{n}"
    entry = _load().get(key)
    if entry is None:
        pytest.fail(f"no torch value recorded for {key} in {PATH.name}: run `{RECORD}` where "
                    "torch 2.13.0 is installed, and commit the file", pytrace=False)
    if entry[0] != digest(inputs):
        pytest.fail(f"the inputs of {key} changed since torch's values were recorded: run "
                    f"`{RECORD}` where torch 2.13.0 is installed, and commit {PATH.name}",
                    pytrace=False)
    return _decode(entry[1], _from_pool)


def save_if_recording(items):
    """Write this session's values; entries of tests not run in it are kept (see record.py)."""
    if not recording:
        return
    ran = {item.nodeid for item in items}
    kept = {k: v for k, v in _load().items() if k.rsplit("#", 1)[0] not in ran}
    pools, index = {}, {}
    for key, (d, tree) in kept.items():  # old entries: their arrays move to the new pools
        index[key] = [d, _repool(tree, _from_pool, pools)]
    for key, (d, tree, arrays) in _new.items():
        index[key] = [d, _repool(tree, arrays.__getitem__, pools)]
    flat = {dtype: np.concatenate(parts) for dtype, (parts, _) in pools.items()}
    blob = np.frombuffer(json.dumps(index, sort_keys=True, separators=(",", ":")).encode(), np.uint8)
    np.savez_compressed(PATH, index=blob, **flat)


def _repool(tree, array, pools):
    """The tree with each array appended to the flat pool of its dtype: {"@": [dtype, offset, shape]}."""
    if isinstance(tree, dict) and "@" in tree:
        a = array(tree["@"])
        parts, size = pools.setdefault(a.dtype.name, ([], [0]))
        parts.append(a.ravel())
        size[0] += a.size
        return {"@": [a.dtype.name, size[0] - a.size, list(a.shape)]}
    if isinstance(tree, list):
        return [_repool(v, array, pools) for v in tree]
    if isinstance(tree, dict):
        return {k: _repool(v, array, pools) for k, v in tree.items()}
    return tree
