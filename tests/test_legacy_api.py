"""The legacy API tutorials still use: autograd.Variable, FloatTensor & co, Tensor.type().

Each case is an expression and torch 2.13's result (value and dtype, or exception type),
written down here; ``test_cases_are_torchs`` checks them against torch where it is
installed, ``test_legacy_case`` checks retrograd against them everywhere."""

import warnings

import numpy as np
import pytest

import retrograd
from helpers import requires_torch, torch

CASES = [
    # constructors: data, sizes, nothing, a tensor of the same type
    ("torch.FloatTensor([1, 2])", ([1.0, 2.0], "float32")),
    ("torch.FloatTensor([[1, 2], [3, 4]])", ([[1.0, 2.0], [3.0, 4.0]], "float32")),
    ("torch.FloatTensor((2, 3))", ([2.0, 3.0], "float32")),  # a tuple is data, not a size
    ("torch.FloatTensor(range(3))", ([0.0, 1.0, 2.0], "float32")),
    ("torch.FloatTensor(np.array([1, 2]))", ([1.0, 2.0], "float32")),
    ("torch.FloatTensor([True])", ([1.0], "float32")),
    ("torch.FloatTensor()", ([], "float32")),
    ("torch.FloatTensor([])", ([], "float32")),
    ("torch.FloatTensor(0)", ([], "float32")),
    ("torch.FloatTensor(2, 3).shape", [2, 3]),
    ("torch.FloatTensor(torch.Size([2, 3])).shape", [2, 3]),
    ("torch.FloatTensor(np.int64(2)).shape", [2]),
    ("torch.FloatTensor(2, device='cpu').shape", [2]),
    ("torch.FloatTensor(torch.tensor([1.0, 2.0]))", ([1.0, 2.0], "float32")),
    ("torch.DoubleTensor([1, 2])", ([1.0, 2.0], "float64")),
    ("torch.HalfTensor([1]).dtype", "torch.float16"),
    ("torch.BFloat16Tensor([1]).dtype", "torch.bfloat16"),
    ("torch.LongTensor([1.5, 2])", ([1, 2], "int64")),
    ("torch.IntTensor([1]).dtype", "torch.int32"),
    ("torch.ShortTensor([1]).dtype", "torch.int16"),
    ("torch.CharTensor([1]).dtype", "torch.int8"),
    ("torch.ByteTensor([1, 2])", ([1, 2], "uint8")),
    ("torch.ByteTensor([-1])", ([255], "uint8")),  # wraps within the type's width
    ("torch.BoolTensor([1, 0, 2])", ([True, False, True], "bool")),
    ("torch.BoolTensor(2).dtype", "torch.bool"),
    ("torch.LongTensor(3).dtype", "torch.int64"),
    ("torch.FloatTensor([1, 2]).requires_grad", False),
    ("type(torch.FloatTensor(2)).__name__", "Tensor"),
    ("torch.FloatTensor.dtype", "torch.float32"),
    ("torch.LongTensor.is_cuda", False),
    ("torch.cuda.LongTensor.dtype", "torch.int64"),
    ("torch.cuda.FloatTensor.is_cuda", True),
    ("torch.FloatTensor.__name__", "FloatTensor"),
    # Tensor.new: the legacy constructor of the tensor's own type
    ("torch.zeros(2, dtype=torch.float64).new(2, 3).shape", [2, 3]),
    ("torch.zeros(2, dtype=torch.float64).new([1, 2])", ([1.0, 2.0], "float64")),
    ("torch.zeros(2, dtype=torch.int64).new([1.7])", ([1], "int64")),
    ("torch.zeros(2).new().shape", [0]),
    ("torch.zeros(2).new(torch.Size([2, 1])).shape", [2, 1]),
    ("torch.zeros(2).new((1, 2))", ([1.0, 2.0], "float32")),
    ("torch.zeros(2).new(3).zero_()", ([0.0, 0.0, 0.0], "float32")),
    ("torch.zeros(2).new(torch.tensor([1, 2]))", TypeError),
    ("torch.zeros(2).new(2, requires_grad=True)", TypeError),
    ("torch.zeros(2).new(2, device='cuda')", RuntimeError),
    # constructor errors
    ("torch.FloatTensor('a')", TypeError),
    ("torch.FloatTensor(2.5)", TypeError),
    ("torch.FloatTensor(True)", TypeError),
    ("torch.FloatTensor(-1)", RuntimeError),
    ("torch.FloatTensor([1, 'a'])", TypeError),
    ("torch.FloatTensor([[1, 2], [3]])", ValueError),
    ("torch.FloatTensor(1, 2, 'a')", TypeError),
    ("torch.FloatTensor(2, dtype=torch.float64)", TypeError),
    ("torch.FloatTensor(2, requires_grad=True)", TypeError),
    ("torch.FloatTensor(torch.tensor([1, 2]))", TypeError),  # a tensor of another dtype
    ("torch.FloatTensor(torch.zeros(2, dtype=torch.float64))", TypeError),
    ("torch.ByteTensor([256])", RuntimeError),
    ("torch.CharTensor([200])", RuntimeError),
    ("torch.FloatTensor(2, device='cuda')", RuntimeError),
    # isinstance: by dtype and device, as torch's tensortype
    ("isinstance(torch.zeros(2), torch.FloatTensor)", True),
    ("isinstance(torch.zeros(2, requires_grad=True), torch.FloatTensor)", True),
    ("isinstance(torch.nn.Parameter(torch.zeros(2)), torch.FloatTensor)", True),
    ("isinstance(torch.zeros(2, dtype=torch.float64), torch.FloatTensor)", False),
    ("isinstance(torch.zeros(2), torch.DoubleTensor)", False),
    ("isinstance(torch.zeros(2, dtype=torch.int64), torch.LongTensor)", True),
    ("isinstance(torch.zeros(2), torch.cuda.FloatTensor)", False),
    ("isinstance(1, torch.FloatTensor)", False),
    ("isinstance(torch.FloatTensor(2), torch.Tensor)", True),
    ("issubclass(torch.FloatTensor, torch.Tensor)", False),
    # Tensor.type()
    ("torch.zeros(2).type()", "torch.FloatTensor"),
    ("torch.zeros(2, dtype=torch.int64).type()", "torch.LongTensor"),
    ("torch.zeros(2, dtype=torch.bool).type()", "torch.BoolTensor"),
    ("torch.zeros(2, dtype=torch.bfloat16).type()", "torch.BFloat16Tensor"),
    ("torch.zeros(2, dtype=torch.float16).type()", "torch.HalfTensor"),
    ("torch.zeros(2, dtype=torch.uint8).type()", "torch.ByteTensor"),
    ("torch.zeros(2).type('torch.LongTensor')", ([0, 0], "int64")),
    ("torch.zeros(2).type(torch.LongTensor)", ([0, 0], "int64")),
    ("torch.zeros(2).type(dtype=torch.LongTensor)", ([0, 0], "int64")),
    ("torch.zeros(2).type(torch.LongTensor, non_blocking=True)", ([0, 0], "int64")),
    ("torch.zeros(2).type(torch.int64)", ([0, 0], "int64")),
    ("torch.zeros(2).type(torch.uint8)", ([0, 0], "uint8")),
    ("torch.FloatTensor([1.7, 2]).type(torch.IntTensor)", ([1, 2], "int32")),
    ("torch.zeros(2, dtype=torch.int64).type(torch.Tensor)", ([0.0, 0.0], "float32")),
    ("torch.zeros(2, dtype=torch.int64).type('torch.Tensor')", ([0.0, 0.0], "float32")),
    ("torch.zeros(2).type(torch.DoubleTensor).requires_grad", False),
    ("torch.zeros(2, requires_grad=True).type(torch.DoubleTensor).grad_fn.name()", "ToCopyBackward0"),
    ("torch.zeros(2).type('torch.Foo')", ValueError),
    ("torch.zeros(2).type('LongTensor')", ValueError),
    ("torch.zeros(2).type('torch.float64')", ValueError),
    ("torch.zeros(2).type(3)", TypeError),
    # Variable: a plain Tensor, detached from data's history, requires_grad as asked
    ("type(torch.autograd.Variable(torch.zeros(2))).__name__", "Tensor"),
    ("torch.autograd.Variable(torch.zeros(2), requires_grad=True).requires_grad", True),
    ("torch.autograd.Variable(torch.zeros(2), True).requires_grad", True),
    ("torch.autograd.Variable(torch.zeros(2), requires_grad=1).requires_grad", True),
    ("torch.autograd.Variable(torch.zeros(2)).requires_grad", False),
    ("torch.autograd.Variable(torch.ones(2, requires_grad=True) * 2).grad_fn", None),
    ("torch.autograd.Variable(torch.ones(2, requires_grad=True) * 2).requires_grad", False),
    ("torch.autograd.Variable().shape", [0]),
    ("torch.autograd.Variable().dtype", "torch.float32"),
    ("torch.autograd.Variable(torch.zeros(2), False, False, None, 'w').name", "w"),
    ("isinstance(torch.zeros(2), torch.autograd.Variable)", True),
    ("isinstance(torch.autograd.Variable(torch.zeros(2)), torch.Tensor)", True),
    ("torch.autograd.Variable.__name__", "Variable"),
    ("torch.autograd.Variable([1, 2])", TypeError),
    ("torch.autograd.Variable(torch.zeros(2), requires_grad='a')", TypeError),
    ("torch.autograd.Variable(torch.zeros(2), foo=1)", TypeError),
    ("torch.autograd.Variable(torch.zeros(2), _grad_fn=1)", TypeError),
    ("torch.autograd.Variable(torch.zeros(2), 1, 2, 3, 4, 5)", TypeError),
    ("torch.autograd.Variable(torch.ones(2, dtype=torch.long), requires_grad=True)", RuntimeError),
    ("torch.autograd.variable(torch.zeros(2))", RuntimeError),  # the removed function
    ("__import__(torch.__name__ + '.autograd.variable', fromlist=['Variable']).Variable.__name__", "Variable"),
]
IDS = [expr for expr, _ in CASES]


def _outcome(lib, expr):
    """What ``expr`` gives with ``torch`` bound to ``lib``: a value in plain Python terms, or
    the exception type."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = eval(expr, {"torch": lib, "np": np})
    except Exception as e:  # noqa: BLE001 (the exception type is the outcome)
        return type(e)
    if isinstance(value, lib.Tensor):
        return value.tolist(), str(value.dtype).replace("torch.", "")
    if isinstance(value, (lib.Size, tuple)):
        return list(value)
    if isinstance(value, lib.dtype):
        return str(value)
    return value


@pytest.mark.parametrize("expr, expected", CASES, ids=IDS)
def test_legacy_case(expr, expected):
    assert _outcome(retrograd, expr) == expected


@requires_torch
@pytest.mark.parametrize("expr, expected", CASES, ids=IDS)
def test_cases_are_torchs(expr, expected):
    assert _outcome(torch, expr) == expected


def test_sizes_give_zeros_and_tensors_alias():
    """torch leaves FloatTensor(2, 3) uninitialised; retrograd fills it with zeros. From a
    tensor of the same type the result shares its memory and history (torch's alias)."""
    assert retrograd.FloatTensor(2, 3).tolist() == [[0.0] * 3] * 2
    t = retrograd.zeros(2, requires_grad=True)
    a = retrograd.FloatTensor(t)
    assert a is not t and a.requires_grad and a.data_ptr() == t.data_ptr()


def test_variable_shares_memory_and_version():
    t = retrograd.zeros(2)
    v = retrograd.autograd.Variable(t)
    assert v is not t and v.data_ptr() == t.data_ptr()
    v.add_(1)
    assert t.tolist() == [1.0, 1.0] and t._version == v._version == 1


def test_variable_trains_as_a_leaf():
    x = retrograd.autograd.Variable(retrograd.tensor([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    assert x.is_leaf and x.grad.tolist() == [2.0, 4.0]


def test_volatile_warns_as_torch():
    with pytest.warns(UserWarning, match="volatile was removed and now has no effect"):
        v = retrograd.autograd.Variable(retrograd.zeros(2), volatile=True)
    assert not v.requires_grad


def test_cuda_types_need_cuda():
    if retrograd.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(TypeError, match="torch.cuda.FloatTensor not available"):
        retrograd.cuda.FloatTensor([1.0])
    with pytest.raises(RuntimeError, match="cuda"):
        retrograd.zeros(2).type("torch.cuda.FloatTensor")


def test_tensor_type_round_trips_its_name():
    for dtype in (retrograd.float32, retrograd.float64, retrograd.float16, retrograd.bfloat16,
                  retrograd.int64, retrograd.int32, retrograd.int16, retrograd.int8,
                  retrograd.uint8, retrograd.bool):
        t = retrograd.zeros(2, dtype=dtype)
        assert t.type(t.type()) is t
        assert isinstance(t, getattr(retrograd, t.type().split(".")[-1]))
        assert retrograd.zeros(2).type(t.type()).dtype is dtype
