"""The modified-saved-tensor error names the in-place op that changed the tensor and the
user's line that ran it, from the log kept on the version counter of saved tensors."""

import inspect

import pytest

import retrograd as T


def _line():
    """The line number of the caller's line."""
    return inspect.currentframe().f_back.f_lineno


def _backward_error(loss):
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    return str(info.value)


def test_error_names_the_inplace_op_and_its_line():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = h.log()  # LogBackward0 saves h
    h.add_(1); line = _line()  # noqa: E702
    msg = _backward_error(y.sum())
    assert f"saved for backward by LogBackward0 and modified by add_ at test_inplace_site.py:{line}" in msg


def test_saved_output_modified_through_a_view_and_by_setitem():
    x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()  # saves its output
    y[1:][0] = 5.0; line = _line()  # noqa: E702
    msg = _backward_error(y.sum())
    assert f"modified by __setitem__ (x[...] = value) at test_inplace_site.py:{line}" in msg


def test_first_change_after_the_save_is_named_and_later_ones_counted():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    h.mul_(3)  # before the save: not the culprit
    y = h.sigmoid() * h  # MulBackward0 saves h at version 1
    h.div_(2); line = _line()  # noqa: E702
    h.sub_(1)
    msg = _backward_error(y.sum())
    assert f"modified by div_ at test_inplace_site.py:{line} (and 1 more in-place op(s) after it)" in msg


def test_out_argument_writes_are_named():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = h.log()
    with T.no_grad():
        T.add(x, 1, out=h); line = _line()  # noqa: E702
    assert f"modified by add(out=...) at test_inplace_site.py:{line}" in _backward_error(y.sum())


def test_tensors_never_saved_keep_a_plain_version_counter():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2  # Mul by a number saves nothing of h
    h.add_(1)
    assert h._vc == [1]
    y = h.log()
    h.add_(1)
    assert h._vc[0] == 2 and h._vc[1][0][1] == "add_"
    del y
