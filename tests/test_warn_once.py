"""torch's once-per-process warnings and set_warn_always (src/retrograd/_warn_once.py)."""

import warnings

import numpy as np
import pytest

import retrograd
from tests.helpers import requires_torch, torch


@pytest.fixture
def fresh(monkeypatch):
    """A process that has given no warn-once warning yet, with the flag off."""
    monkeypatch.setattr("retrograd._warn_once._seen", set())
    monkeypatch.setitem(retrograd._warn_once._state, "always", False)


def _count(fn, times=3):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(times):
            fn()
    return len([w for w in caught if issubclass(w.category, UserWarning)])


def _read_only():
    a = np.zeros(2)
    a.setflags(write=False)
    return a


SITES = {
    "from_numpy": lambda m: m.from_numpy(_read_only()),
    "frombuffer": lambda m: m.frombuffer(b"abcd", dtype=m.uint8),
    "index_reduce": lambda m: m.ones(2).index_reduce(0, m.tensor([0]), m.ones(1), "prod"),
    "qr": lambda m: m.qr(m.eye(2)),
    "lu": lambda m: m.lu(m.eye(2)),
}


@pytest.mark.parametrize("site", sorted(SITES))
def test_a_warn_once_site_warns_once_then_every_time_under_set_warn_always(site, fresh):
    call = SITES[site]
    assert _count(lambda: call(retrograd)) == 1
    retrograd.set_warn_always(True)
    assert retrograd.is_warn_always_enabled()
    assert _count(lambda: call(retrograd)) == 3
    retrograd.set_warn_always(False)
    assert not retrograd.is_warn_always_enabled()
    assert _count(lambda: call(retrograd)) == 0


@requires_torch
@pytest.mark.parametrize("site", ["from_numpy", "frombuffer"])
def test_warn_always_counts_as_torchs(site, fresh):
    """torch's count under the flag (its once-mode count depends on what ran before in the process)."""
    torch.set_warn_always(True)
    retrograd.set_warn_always(True)
    try:
        assert _count(lambda: SITES[site](retrograd)) == _count(lambda: SITES[site](torch)) == 3
    finally:
        torch.set_warn_always(False)
        retrograd.set_warn_always(False)


@pytest.mark.parametrize("value", [1, 0, None, "a"])
def test_set_warn_always_takes_a_bool_only(value):
    # torch: RuntimeError "setWarnOnlyOnce expects a bool, but got int"
    with pytest.raises(RuntimeError, match=f"setWarnOnlyOnce expects a bool, but got {type(value).__name__}"):
        retrograd.set_warn_always(value)
    if torch is not None:
        with pytest.raises(RuntimeError, match=f"setWarnOnlyOnce expects a bool, but got {type(value).__name__}"):
            torch.set_warn_always(value)


def test_warnings_name_the_callers_line_not_retrograds_own(fresh):
    """As torch's warnings name the Python line that called into torch, whatever wrappers
    (autocast, out=, axis= names) retrograd's function passes through."""
    x = retrograd.ones(2, requires_grad=True)
    calls = [lambda: retrograd.qr(retrograd.eye(2)),
             lambda: retrograd.index_reduce(retrograd.zeros(3), 0, retrograd.tensor([0, 1]), retrograd.ones(2), "prod"),
             lambda: retrograd.from_numpy(_read_only()),
             lambda: (x * x).sum().backward(create_graph=True)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for call in calls:
            call()
    assert len(caught) == len(calls)
    assert {w.filename for w in caught} == {__file__}, [(w.filename, w.lineno) for w in caught]
