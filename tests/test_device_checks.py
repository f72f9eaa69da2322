"""Checks of device data without a host round trip (src/retrograd/_device_checks.py): on the CPU
an index out of range raises at once; on a device (tests/strict_device.py) the op asks the device
nothing and the error comes at the next synchronisation, as torch's device-side assert."""

import re

import numpy as np
import pytest

import retrograd
import strict_device
from retrograd import _device_checks
from strict_device import syncs


@pytest.fixture
def cuda():
    with strict_device.installed():
        yield


BAD_INDEX = [
    ("embedding", lambda r, d: r.nn.functional.embedding(r.tensor([0, 5], device=d), r.ones(4, 2, device=d)),
     IndexError, "index out of range in self"),
    ("cross_entropy", lambda r, d: r.nn.functional.cross_entropy(r.ones(2, 3, device=d), r.tensor([0, 3], device=d)),
     IndexError, "Target 3 is out of bounds"),
    ("gather", lambda r, d: r.ones(2, 3, device=d).gather(1, r.tensor([[0], [3]], device=d)),
     RuntimeError, "index 3 is out of bounds for dimension 1 with size 3"),
    ("index_select", lambda r, d: r.ones(2, 3, device=d).index_select(0, r.tensor([2], device=d)),
     IndexError, "index 2 is out of range for dimension 0 with size 2"),
    ("binary_cross_entropy", lambda r, d: r.nn.functional.binary_cross_entropy(r.tensor([0.5, 1.5], device=d),
                                                                               r.ones(2, device=d)),
     RuntimeError, "all elements of input should be between 0 and 1"),
    ("max_unpool", lambda r, d: r.nn.functional.max_unpool1d(r.ones(1, 1, 2, device=d), r.tensor([[[0, 9]]], device=d), 2),
     RuntimeError, "Found an invalid max index: 9"),
]


@pytest.mark.parametrize("name,op,error,message", BAD_INDEX, ids=[c[0] for c in BAD_INDEX])
def test_a_bad_index_raises_at_once_on_the_cpu(name, op, error, message):
    with pytest.raises(error, match=message):
        op(retrograd, "cpu")
    assert not _device_checks._pending


@pytest.mark.parametrize("name,op,error,message", BAD_INDEX, ids=[c[0] for c in BAD_INDEX])
def test_a_bad_index_on_the_device_raises_at_the_next_synchronisation(name, op, error, message, cuda):
    syncs.clear()
    out = op(retrograd, "cuda")  # no error yet, and no host round trip
    assert len(syncs) == 0 and len(_device_checks._pending) >= 1
    message_start = re.escape(f"device-side assert triggered ({error.__name__}: ")
    with pytest.raises(retrograd.AcceleratorError, match=message_start) as info:  # torch's type, a RuntimeError
        out.sum().item()
    assert type(info.value.__cause__) is error and message in str(info.value) and not _device_checks._pending
    assert retrograd.ones(2, device="cuda").sum().item() == 2.0  # reported once


def test_good_indices_on_the_device_pass_in_one_transfer(cuda):
    w = retrograd.ones(4, 2, device="cuda")
    for _ in range(3):
        w = retrograd.nn.functional.embedding(retrograd.tensor([0, 3], device="cuda"), w).repeat(2, 1)
    assert len(_device_checks._pending) == 3
    syncs.clear()
    assert w.cpu().shape == (4, 2)
    assert [what for what, _ in syncs.events] == ["get", "get"]  # the checks' flags, then the data


def test_checks_are_read_when_too_many_wait(cuda):
    x = strict_device.cupy.zeros(3, dtype=bool)
    for _ in range(_device_checks.LIMIT - 1):
        _device_checks.check(x, lambda: IndexError("never"))
    syncs.clear()
    _device_checks.check(x, lambda: IndexError("never"))
    assert len(syncs) == 1 and not _device_checks._pending
    with pytest.raises(IndexError, match="at once"):
        _device_checks.check(np.array([False, True]), lambda: IndexError("at once"))
