"""NumPy's floating-point warnings stay out of retrograd's ops (src/retrograd/_float_warnings.py):
torch computes inf * 0 = nan and 1 / 0 = inf silently, so retrograd does, forward and backward,
while the user's own NumPy calls keep warning."""

import re
import warnings

import numpy as np
import pytest

import retrograd
from retrograd import _float_warnings
from tests.autograd.test_forward_ad_ops import CASES, _arrays

SPECIALS = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 3e38, -3e38, 1e-45])
NUMPY_FLOAT_WARNING = re.compile(r"(invalid value|divide by zero|overflow|underflow) encountered in")


@pytest.fixture(autouse=True)
def _retrograd_filter():
    """retrograd's filter, installed at import, was dropped with the catch_warnings block pytest
    collected this module in: each test runs with it installed again, as a user's process has it."""
    with warnings.catch_warnings():
        _float_warnings.install_filter()
        yield


def _with_specials(a):
    """Float array ``a`` with its first elements replaced by inf, -inf, nan, zeros, huge and tiny values."""
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f" or a.size == 0:
        return a
    a = a.copy()
    flat = a.reshape(-1)
    n = min(flat.size, len(SPECIALS))
    flat[:n] = SPECIALS[:n]
    return a


def _numpy_float_warnings(fn):
    """The NumPy floating-point RuntimeWarnings that ``fn()`` lets through retrograd's filters."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.filterwarnings("always", append=True)  # behind retrograd's filter, as a user's default
        try:
            fn()
        except Exception:  # an op may refuse such inputs (a singular matrix): its warnings still count
            pass
    return [f"{w.filename}:{w.lineno}: {w.message}" for w in seen
            if issubclass(w.category, RuntimeWarning) and NUMPY_FLOAT_WARNING.search(str(w.message))]


@pytest.mark.parametrize("name,fn,specs", [c[:3] for c in CASES], ids=[c[0] for c in CASES])
def test_op_forward_and_backward_on_inf_nan_and_zero_give_no_numpy_warning(name, fn, specs):
    arrays = [_with_specials(a) for a in _arrays(specs, 0)]

    def run():
        xs = [retrograd.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
              for a in arrays]
        outs = fn(retrograd, *xs)
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        outs = [o for o in outs if isinstance(o, retrograd.Tensor) and o.requires_grad]
        if outs:
            retrograd.autograd.backward(outs, [retrograd.ones_like(o) for o in outs])

    assert _numpy_float_warnings(run) == []


def test_inf_times_zero_and_its_gradient_are_nan_silently_as_in_torch():
    x = retrograd.tensor([np.inf, 1.0, -np.inf], requires_grad=True)
    y = retrograd.tensor([0.0, 0.0, np.inf], requires_grad=True)
    assert _numpy_float_warnings(lambda: (x * y).sum().backward()) == []
    np.testing.assert_array_equal((x * y).detach().numpy(), [np.nan, 0.0, -np.inf])
    np.testing.assert_array_equal(y.grad.numpy(), [np.inf, 1.0, -np.inf])


def test_a_backward_stays_silent_under_a_users_error_filter():
    """The engine's error state, not a filter, keeps backward formulas silent: a user's
    ``simplefilter('error')`` in front of every filter does not make inf * 0 there an error."""
    x = retrograd.tensor([np.inf, 1.0])
    w = retrograd.tensor([0.0, 1.0], requires_grad=True)
    z = (w * x * 0.0).sum()  # its backward multiplies a zero gradient by x's inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [np.nan, 0.0])


def test_a_fresh_process_importing_retrograd_prints_no_numpy_warning():
    import subprocess
    import sys
    code = ("import retrograd as t; x = t.tensor([float('inf'), 1.0], requires_grad=True); "
            "y = t.tensor([0.0, 0.0]); (x * y).sum().backward(); t.tensor([float('inf'), -float('inf')]).sum(); "
            "import numpy as np; np.array([np.inf]) * np.array([0.0])")
    err = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True,
                         check=True).stderr
    assert len(NUMPY_FLOAT_WARNING.findall(err)) == 1 and "<string>" in err  # only the user's own NumPy call


def test_the_users_own_numpy_calls_keep_warning():
    with warnings.catch_warnings(record=True) as seen:
        warnings.filterwarnings("always", append=True)
        np.array([np.inf]) * np.array([0.0])
        np.array([np.inf, -np.inf]).sum()
    assert len([w for w in seen if NUMPY_FLOAT_WARNING.search(str(w.message))]) == 2


def test_compiled_code_gives_no_numpy_warning():
    @retrograd.compile
    def f(x, y):
        return (x * y).sum()

    x = retrograd.tensor([np.inf, 1.0], requires_grad=True)
    y = retrograd.tensor([0.0, 2.0])

    def run():
        for _ in range(3):  # capture, then replays of the generated code
            f(x, y).backward()

    assert _numpy_float_warnings(run) == []
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 6.0])
