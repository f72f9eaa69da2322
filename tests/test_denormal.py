"""torch.set_flush_denormal (src/retrograd/_denormal.py)."""

import threading

import numpy as np
import pytest

import retrograd
from retrograd import _denormal
from tests.helpers import torch

DENORMAL = 1e-310  # below float64's smallest normal, 2.2e-308


def test_flush_denormal_zeroes_denormal_results_where_supported():
    supported = _denormal._libm() is not None
    x = retrograd.tensor([DENORMAL], dtype=retrograd.float64)
    try:
        assert retrograd.set_flush_denormal(True) is supported
        flushed = (x * 1.0).item()
    finally:
        assert retrograd.set_flush_denormal(False) is supported
    assert flushed == (0.0 if supported else DENORMAL)
    assert (x * 1.0).item() == DENORMAL  # off again
    if torch is not None and supported:
        try:
            assert torch.set_flush_denormal(True) is True
        finally:
            torch.set_flush_denormal(False)


def test_flush_denormal_is_the_calling_threads_as_torchs():
    if _denormal._libm() is None:
        pytest.skip("flush-denormal is not supported on this system (set_flush_denormal returns False)")
    seen, flag_set = [], threading.Event()

    def work():  # started before the flag is set (a new thread inherits its creator's register)
        flag_set.wait()
        seen.append(float(np.float64(DENORMAL) * 1.0))

    worker = threading.Thread(target=work)
    worker.start()
    try:
        retrograd.set_flush_denormal(True)
        flag_set.set()
        worker.join()
        assert float(np.float64(DENORMAL) * 1.0) == 0.0
    finally:
        retrograd.set_flush_denormal(False)
    assert seen == [DENORMAL]


@pytest.mark.parametrize("mode", [1, None, "a"])
def test_flush_denormal_takes_a_bool_only(mode):
    for m in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(RuntimeError, match=f"flush_denormal expects a bool, but got {type(mode).__name__}"):
            m.set_flush_denormal(mode)
