"""Tensor.resize_ / resize_as_ (src/retrograd/ops/resize.py): torch's values, strides and errors."""

import numpy as np
import pytest

import retrograd
from tests.helpers import torch


def _same_as_torch(make, act):
    """act on retrograd's and torch's tensor: the same values where initialized, shape and strides."""
    got = act(make(retrograd))
    if torch is not None:
        want = act(make(torch))
        assert tuple(got.shape) == tuple(want.shape) and got.stride() == want.stride()
    return got


def test_shrinking_keeps_the_leading_values_in_row_major_order_and_shares_memory():
    x = retrograd.arange(6.0)
    y = _same_as_torch(lambda m: m.arange(6.0), lambda t: t.resize_(2, 2))
    assert y.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    r = x.resize_(2, 2)
    assert r is x and x.shape == (2, 2) and x.stride() == (2, 1)
    x.resize_(6)  # the memory was kept: the values come back, as torch's storage
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_transposed_tensor_is_reinterpreted_from_its_memory_as_torch():
    t = _same_as_torch(lambda m: m.arange(6.0).reshape(2, 3).t(), lambda t: t.resize_(2, 2))
    assert t.tolist() == [[0.0, 1.0], [2.0, 3.0]]  # memory order, not the transposed values
    same = _same_as_torch(lambda m: m.arange(6.0).reshape(2, 3).t(), lambda t: t.resize_(3, 2))
    assert same.stride() == (1, 3)  # the same size: left unchanged, strides too


def test_a_view_resizes_from_its_storage_offset_and_writes_reach_its_base():
    base = retrograd.arange(6.0)
    v = base[1:4]
    v.resize_(5)
    assert v.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0] and v.storage_offset() == 1
    v[0] = 10.0
    assert base[1].item() == 10.0
    if torch is not None:
        tb = torch.arange(6.0)
        assert tb[1:4].resize_(5).tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_growing_keeps_the_old_values_and_adds_elements_bumping_the_version():
    x = retrograd.arange(6.0)
    x.resize_(3, 3)
    assert x.shape == (3, 3) and x[:2].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x._version == 1
    x.resize_(3, 3)
    assert x._version == 1  # unchanged size: nothing happens, as torch's
    if torch is not None:
        t = torch.arange(6.0)
        t.resize_(3, 3)
        assert t._version == 1 and t[:2].tolist() == x[:2].tolist()


def test_resize_as_takes_the_templates_size():
    x = _same_as_torch(lambda m: m.arange(6.0), lambda t: t.resize_as_(m_ones(t, 3, 2)))
    assert x.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    with pytest.raises(TypeError, match="argument 'the_template' \\(position 1\\) must be Tensor, not list"):
        retrograd.arange(6.0).resize_as_([1])
    y = retrograd.arange(6.0)
    assert retrograd.resize_as_(y, retrograd.ones(2, 2)) is y and y.tolist() == [[0.0, 1.0], [2.0, 3.0]]


def m_ones(t, *shape):
    return t.new_ones(shape)


@pytest.mark.parametrize("case", ["requires_grad", "no_grad_leaf", "non_leaf", "resize_as"])
def test_tensors_that_require_grad_are_refused_as_torch(case):
    def act(m):
        x = m.arange(6.0, requires_grad=True)
        if case == "requires_grad":
            return x.resize_(2)
        if case == "no_grad_leaf":
            with m.no_grad():
                return x.resize_(2)
        if case == "non_leaf":
            return (x * 1).resize_(2)
        return x.resize_as_(m.ones(2))

    for m in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            act(m)


def test_memory_formats_as_torch():
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        retrograd.arange(6.0).resize_(2, 3, memory_format=retrograd.channels_last)
    with pytest.raises(RuntimeError, match="Unsupported memory formatPreserve"):
        retrograd.arange(6.0).resize_(2, 3, memory_format=retrograd.preserve_format)
    with pytest.raises(NotImplementedError, match="memory_format"):  # retrograd is row-major only
        retrograd.arange(24.0).resize_(1, 2, 3, 4, memory_format=retrograd.channels_last)
    x = retrograd.arange(6.0).resize_((2, 3), memory_format=retrograd.contiguous_format)
    assert x.shape == (2, 3)


def test_sizes_as_torch_takes_them():
    assert retrograd.arange(6.0).resize_(retrograd.Size([3, 2])).shape == (3, 2)
    assert retrograd.arange(6.0).resize_(()).shape == ()
    with pytest.raises(TypeError):
        retrograd.arange(6.0).resize_(2.5)
    a = np.arange(4.0)
    t = retrograd.from_numpy(a)
    t.resize_(2)
    t[0] = 7.0
    assert a[0] == 7.0  # shrinking shares the array's memory


def _set_outcome(M, case):
    """What each set_ case gives in module M: values, shape, strides, storage offset and versions,
    or the error's type and first words."""
    s = M.arange(6.0)
    x = M.tensor([1.0, 2.0, 3.0])
    try:
        if case == "source":
            x.set_(s[2:])
            x.add_(1)  # writes reach the source's memory; only x's version counts them
            return x.tolist(), s.tolist(), x.storage_offset(), x._version, s._version, x.is_set_to(s[2:])
        if case == "empty":
            return x.set_() is x, tuple(x.shape), str(x.dtype), x._version
        if case == "restrided":
            x.set_(s, 1, (2, 2), (2, 1))
            x[1, 1] = 9.0
            return x.tolist(), x.stride(), x.storage_offset(), s.tolist()
        if case == "row-major size":
            x.set_(source=s, storage_offset=0, size=(2, 3))
            return x.tolist(), x.stride()
        if case == "other dtype":
            x.set_(s.double())
        if case == "number":
            x.set_(5)
        if case == "negative offset":
            x.set_(s, -1, (2,))
        if case == "leaf that requires grad":
            x.requires_grad_().set_(s)
        if case == "recorded":
            y = M.tensor([1.0, 2.0], requires_grad=True) * 2
            y.set_(s)
            name = y.grad_fn.name()
            with pytest.raises(RuntimeError) as e:
                y.sum().backward()
            return name, type(e.value).__name__, str(e.value)[:14]  # (torch: "set_", here "aten::set_")
        if case == "leaf under no_grad":
            x.requires_grad_()
            with M.no_grad():
                x.set_(s)
            return x.requires_grad, x.is_leaf, x.tolist()
    except (RuntimeError, TypeError) as e:
        return type(e).__name__, str(e).split("\n")[0][:60]


_SET_CASES = {  # torch 2.13's outcomes
    "source": ([3.0, 4.0, 5.0, 6.0], [0.0, 1.0, 3.0, 4.0, 5.0, 6.0], 2, 2, 0, True),
    "empty": (True, (0,), "torch.float32", 1),
    "restrided": ([[1.0, 2.0], [3.0, 9.0]], (2, 1), 1, [0.0, 1.0, 2.0, 3.0, 9.0, 5.0]),
    "row-major size": ([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], (3, 1)),
    "other dtype": ("RuntimeError", "Could not set tensor of type double to a tensor of type floa"),
    "number": ("TypeError", "set_() received an invalid combination of arguments - got (i"),
    "negative offset": ("RuntimeError", "Tensor: invalid storage offset -1"),
    "leaf that requires grad": ("RuntimeError", "a leaf Variable that requires grad is being used in an in-pl"),
    "recorded": ("torch::autograd::NotImplemented", "RuntimeError", "derivative for"),
    "leaf under no_grad": (True, True, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
}


@pytest.mark.parametrize("case", list(_SET_CASES))
def test_set_as_torch(case):
    assert _set_outcome(retrograd, case) == _SET_CASES[case]
    if torch is not None:
        assert _set_outcome(torch, case) == _SET_CASES[case]


def test_set_over_memory_elements_share_is_read_only():
    """torch writes each element of an overlapping tensor in turn; NumPy would too, the last write
    winning silently: such a set_ result refuses writes with torch's overlap error."""
    x = retrograd.tensor([1.0])
    x.set_(retrograd.arange(6.0), 0, (2, 2), (0, 1))
    assert x.tolist() == [[0.0, 1.0], [0.0, 1.0]]
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        x.add_(1)
