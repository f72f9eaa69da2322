"""Writes into an expanded tensor (src/retrograd/ops/_inplace.py's _write, indexing's setitem, out=), as torch 2.13's:
a write is refused only where elements of the written-to tensor share memory, fill_ writes anyway,
and masked_fill_, index_fill_, index_put_ (advanced indexing) warn and write the indexed elements."""

import warnings

import pytest

import retrograd
from tests.helpers import torch

MODULES = [retrograd] + ([torch] if torch is not None else [])
OVERLAP = "more than one element of the written-to tensor refers to a single memory location"


def _expanded(M):
    base = M.zeros(3)
    return base, base.expand(2, 3)


def _set(x, key, value):
    x[key] = value


# write (x is zeros(3).expand(2, 3); base its memory) -> torch 2.13's base afterwards, or None: the overlap error
WRITES = [
    ("x[0, 1] = 5", lambda M, x: _set(x, (0, 1), 5.0), [0.0, 5.0, 0.0]),  # one element: both rows show it
    ("x[0] = [1, 2, 3]", lambda M, x: _set(x, 0, M.tensor([1.0, 2.0, 3.0])), [1.0, 2.0, 3.0]),
    ("x[1, :2] = 4", lambda M, x: _set(x, (1, slice(None, 2)), 4.0), [4.0, 4.0, 0.0]),
    ("x[0].add_(1)", lambda M, x: x[0].add_(1), [1.0, 1.0, 1.0]),
    ("x.fill_(2)", lambda M, x: x.fill_(2), [2.0, 2.0, 2.0]),
    ("x.zero_()", lambda M, x: x.zero_(), [0.0, 0.0, 0.0]),
    ("add(out=x[1])", lambda M, x: M.add(M.ones(3), 1, out=x[1]), [2.0, 2.0, 2.0]),
    ("x[:, 1] = 7", lambda M, x: _set(x, (slice(None), 1), 7.0), None),
    ("x[...] = 1", lambda M, x: _set(x, Ellipsis, 1.0), None),
    ("x.add_(1)", lambda M, x: x.add_(1), None),
    ("x.copy_(ones)", lambda M, x: x.copy_(M.ones(2, 3)), None),
    ("x.exp_()", lambda M, x: x.exp_(), None),
    ("x.uniform_()", lambda M, x: x.uniform_(), None),
    ("x.scatter_", lambda M, x: x.scatter_(1, M.tensor([[0], [0]]), 1.0), None),
    ("add(out=x)", lambda M, x: M.add(M.ones(2, 3), 1, out=x), None),
]


@pytest.mark.parametrize("M", MODULES)
@pytest.mark.parametrize("name,write,expected", WRITES, ids=[w[0] for w in WRITES])
def test_writes_into_an_expanded_tensor_as_torch(M, name, write, expected):
    base, x = _expanded(M)
    if expected is None:
        with pytest.raises(RuntimeError, match=OVERLAP):
            write(M, x)
        assert base.tolist() == [0.0, 0.0, 0.0]
    else:
        write(M, x)
        assert base.tolist() == expected and x.tolist() == [expected, expected]


# the deprecated writes: (write, the op torch's warning names, base afterwards)
DEPRECATED = [
    (lambda M, x: _set(x, (M.tensor([0]), M.tensor([1])), 3.0), "index_put_", [0.0, 3.0, 0.0]),
    (lambda M, x: x.index_put_((M.tensor([1]), M.tensor([2])), M.tensor(4.0)), "index_put_", [0.0, 0.0, 4.0]),
    (lambda M, x: x.masked_fill_(M.tensor([[True, False, False], [True, False, False]]), 1.0), "masked_fill_",
     [1.0, 0.0, 0.0]),
    (lambda M, x: x.index_fill_(1, M.tensor([2]), 6.0), "index_fill_", [0.0, 0.0, 6.0]),
]


@pytest.mark.parametrize("M", MODULES)
@pytest.mark.parametrize("write,op,expected", DEPRECATED)
def test_indexed_writes_into_an_expanded_tensor_warn_and_write_as_torch(M, write, op, expected):
    base, x = _expanded(M)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write(M, x)
    assert any(f"Use of {op} on expanded tensors is deprecated. Please clone() the tensor before performing this "
               "operation." in str(w.message) for w in caught)
    assert base.tolist() == expected


def test_a_read_only_array_stays_read_only():
    import numpy as np

    a = np.zeros(3)
    a.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t = retrograd.from_numpy(a).expand(2, 3)
    with pytest.raises(RuntimeError, match="read-only"):
        t[0].add_(1)
    with pytest.raises(RuntimeError):
        t[0, 1] = 5.0
    assert a.tolist() == [0.0, 0.0, 0.0]
