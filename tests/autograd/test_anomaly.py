"""detect_anomaly / set_detect_anomaly: torch's backward NaN check, and retrograd's forward
check (check_forward=True), which names the first op with a non-finite output, its line and
its inputs' statistics, and costs nothing once off."""

import inspect

import pytest

import retrograd
import retrograd as T
from retrograd.autograd import function
from tests.helpers import requires_torch, torch


def _line():
    return inspect.currentframe().f_back.f_lineno


def test_forward_check_names_the_op_its_line_and_input_statistics():
    x = T.tensor([1.0, -2.0, 3.0], requires_grad=True)
    with T.autograd.detect_anomaly(check_forward=True):
        y = x * 1
        line = _line() + 2
        with pytest.raises(RuntimeError) as info:
            y.log()
    msg = str(info.value)
    assert f"Function 'Log' returned nan values in its 0th output in the forward pass, at " \
           f"test_anomaly.py:{line}" in msg
    assert "input 0: Tensor float32 [3] min=-2 max=3 mean=0.666667 nan=0 inf=0" in msg
    assert function.after_apply is None  # the observer left with the mode


def test_new_infinity_raises_but_a_given_one_passes():
    scores = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    mask = T.tensor([[False, True], [False, False]])
    with T.autograd.detect_anomaly(check_forward=True):
        masked = scores.masked_fill(mask, float("-inf"))  # -inf given as an argument
        p = masked.softmax(-1)  # -inf in, finite out
        assert T.isfinite(p).all()
        with pytest.raises(RuntimeError, match=r"(?s)Function 'Div' returned inf values .*input 1: "
                                               r"Tensor float32 \[2\] min=0 max=0 mean=0"):
            scores / T.zeros(2)


def test_nan_inputs_are_shown_in_the_statistics():
    data = T.tensor([1.0, float("nan"), float("inf")])
    with T.autograd.detect_anomaly(check_forward=True):
        with pytest.raises(RuntimeError, match=r"(?s)Function 'Mul' .* input 0: Tensor float32 \[3\] "
                                               r"min=1 max=1 mean=1 nan=1 inf=1"):
            data * 2


def test_forward_check_is_off_by_default_as_in_torch():
    x = T.tensor([-1.0], requires_grad=True)
    with T.autograd.detect_anomaly():
        assert function.after_apply is None
        y = x.sqrt()  # nan, not checked: torch checks the backward only
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values"):
            y.sum().backward()


def test_backward_rules_are_left_to_the_gradient_check():
    x = T.tensor([0.0], requires_grad=True)
    with T.autograd.detect_anomaly(check_forward=True):
        y = x.sqrt()  # 0: finite; its backward divides by it
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values"):
            (y * 0).sum().backward()


def test_set_detect_anomaly_and_the_decorator_install_and_remove_the_check():
    T.autograd.set_detect_anomaly(True, check_forward=True)
    try:
        assert function.after_apply is not None
        with pytest.raises(RuntimeError, match="Function 'Log'"):
            T.tensor([-1.0]).log()
    finally:
        T.autograd.set_detect_anomaly(False)
    assert function.after_apply is None and not T.autograd.anomaly.is_anomaly_enabled()
    with T.autograd.set_detect_anomaly(True, check_forward=True):
        with T.autograd.detect_anomaly(check_forward=False):  # inner turns it off for a while
            assert function.after_apply is None
            T.tensor([-1.0]).log()
        assert function.after_apply is not None
    assert function.after_apply is None

    @T.autograd.detect_anomaly(check_forward=True)
    def step(v):
        return v.log()

    with pytest.raises(RuntimeError, match="Function 'Log'"):
        step(T.tensor([-1.0]))
    assert function.after_apply is None


@pytest.mark.parametrize("lib", ["retrograd", pytest.param("torch", marks=requires_torch)])
def test_set_anomaly_enabled_and_its_queries(lib):
    t = retrograd if lib == "retrograd" else torch
    assert not t.is_anomaly_enabled() and t.is_anomaly_check_nan_enabled()
    try:
        t.set_anomaly_enabled(True, False)
        assert t.is_anomaly_enabled() and not t.is_anomaly_check_nan_enabled()
        t.set_anomaly_enabled(True)
        assert t.is_anomaly_check_nan_enabled()
        x = t.tensor([0.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="returned nan values in its 0th output"):
            (x.sqrt() * 0).sum().backward()
        with t.autograd.set_detect_anomaly(False):
            assert not t.is_anomaly_enabled()
        assert t.is_anomaly_enabled()  # the context restored the setting
        for bad in ((1,), ("x",), (True, 1)):
            with pytest.raises(TypeError, match="must be bool"):
                t.set_anomaly_enabled(*bad)
    finally:
        t.set_anomaly_enabled(False)
    assert not t.is_anomaly_enabled() and t.is_anomaly_check_nan_enabled()


def test_anomaly_mode_is_process_wide_as_torchs():
    """torch's anomaly mode is one switch for the process: while another thread has it on, this
    thread sees it on and its nodes record a forward trace; off again when that thread leaves."""
    import threading

    inside, done = threading.Event(), threading.Event()
    seen = {}

    def other():
        with T.autograd.detect_anomaly(check_nan=False):
            inside.set()
            done.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(5)
    seen["enabled"], seen["check_nan"] = T.is_anomaly_enabled(), T.is_anomaly_check_nan_enabled()
    x = T.ones(2, requires_grad=True)
    here = (x * 2).grad_fn._anomaly_trace
    done.set()
    thread.join()
    assert seen == {"enabled": True, "check_nan": False}  # (torch 2.13: True, False)
    assert here
    assert not T.is_anomaly_enabled() and T.is_anomaly_check_nan_enabled()


def test_forward_trace_ends_at_the_line_that_called_apply():
    """A node's forward trace (anomaly mode) is the stack up to the caller of Function.apply,
    for one output and for several."""

    class One(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            return g

    class Two(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1, a * 2

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 + 2 * g2

    x = T.ones(2, requires_grad=True)
    with T.autograd.detect_anomaly():
        one = One.apply(x)
        two, _ = Two.apply(x)
    assert one.grad_fn._anomaly_trace.rstrip().splitlines()[-1].strip() == "one = One.apply(x)"
    assert two.grad_fn._anomaly_trace.rstrip().splitlines()[-1].strip() == "two, _ = Two.apply(x)"
