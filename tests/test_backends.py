"""torch.backends' switches (src/retrograd/backends/): cudnn, cuda.matmul, mps, with torch's
defaults, types and errors. They choose among kernels retrograd does not have, so a test also
checks that they change no result."""

import numpy as np
import pytest

import retrograd as R
from tests.helpers import torch

B = R.backends


@pytest.fixture(autouse=True)
def restore_switches():
    saved = {n: getattr(B.cudnn, n) for n in ("enabled", "benchmark", "benchmark_limit", "deterministic",
                                              "allow_tf32")}
    precision = R.get_float32_matmul_precision()
    yield
    for name, value in saved.items():
        setattr(B.cudnn, name, value)
    R.set_float32_matmul_precision(precision)


def _values(M):
    b = M.backends
    return [b.cudnn.enabled, b.cudnn.benchmark, b.cudnn.deterministic, b.cudnn.allow_tf32, b.cudnn.benchmark_limit,
            b.cudnn.is_available(), b.cudnn.version(), b.mps.is_available(), b.mps.is_built(),
            b.cuda.matmul.allow_tf32, b.cuda.matmul.allow_fp16_reduced_precision_reduction,
            b.cuda.matmul.allow_bf16_reduced_precision_reduction]


def test_defaults_as_torch():
    expected = [True, False, False, True, None, False, None, False, False, False, True, True]
    assert _values(R) == expected
    if torch is not None:
        assert _values(torch) == expected


def test_cudnn_switches_are_kept_and_type_checked():
    B.cudnn.benchmark = True
    B.cudnn.deterministic = True
    B.cudnn.enabled = False
    assert (B.cudnn.benchmark, B.cudnn.deterministic, B.cudnn.enabled) == (True, True, False)
    for M in (R,) if torch is None else (R, torch):
        with pytest.raises(RuntimeError, match="set_benchmark_cudnn expects a bool, but got str"):
            M.backends.cudnn.benchmark = "yes"


def test_cudnn_flags_sets_for_the_block_and_restores():
    with B.cudnn.flags(enabled=False, benchmark=True, deterministic=True):
        assert (B.cudnn.enabled, B.cudnn.benchmark, B.cudnn.deterministic) == (False, True, True)
    assert (B.cudnn.enabled, B.cudnn.benchmark, B.cudnn.deterministic) == (True, False, False)


def test_matmul_allow_tf32_is_the_float32_matmul_precision():
    assert R.get_float32_matmul_precision() == "highest"
    B.cuda.matmul.allow_tf32 = True
    assert R.get_float32_matmul_precision() == "high"
    R.set_float32_matmul_precision("medium")
    assert B.cuda.matmul.allow_tf32
    R.set_float32_matmul_precision("highest")
    assert not B.cuda.matmul.allow_tf32
    for M in (R,) if torch is None else (R, torch):
        with pytest.raises(AttributeError, match="Unknown attribute foo"):
            M.backends.cuda.matmul.foo = 1


def test_mps_is_absent():
    assert not B.mps.is_available() and not B.mps.is_built()
    with pytest.raises(RuntimeError, match="without MPS backend"):
        B.mps.is_macos13_or_newer()


def test_the_switches_change_no_result():
    """torch ignores these on the CPU; retrograd has no kernels they choose among."""
    rng = np.random.default_rng(0)
    x = R.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
    conv = R.nn.Conv2d(3, 4, 3)
    a = R.tensor(rng.standard_normal((64, 64)).astype(np.float32))

    def run():
        return conv(x).detach().numpy().copy(), (a @ a).numpy().copy()

    before = run()
    B.cudnn.benchmark, B.cudnn.deterministic, B.cudnn.enabled, B.cudnn.allow_tf32 = True, True, False, False
    B.cuda.matmul.allow_tf32 = True
    R.set_float32_matmul_precision("medium")
    after = run()
    for u, v in zip(before, after):
        assert np.array_equal(u, v)
