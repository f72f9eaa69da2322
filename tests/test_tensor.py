"""Tensor attributes, conversions, Python protocols and operators, as torch has them."""

import copy
import pickle
import warnings

import numpy as np
import pytest

import retrograd
from tests.helpers import reference, torch

T = retrograd


def _compared(value):
    """What _same compares: a tensor's repr, otherwise the value (a tuple or torch.Size as a list)."""
    if (hasattr(value, "dtype") and not isinstance(value, np.ndarray)) or isinstance(value, complex):
        return repr(value)
    return list(value) if isinstance(value, tuple) else value


def _same(expr):
    """``expr`` gives with M = retrograd what it gives with M = torch (torch's recorded result where
    torch is not installed)."""
    ours = eval(expr, {"M": retrograd, "np": np})
    assert _compared(ours) == reference(lambda: _compared(eval(expr, {"M": torch, "np": np}))), expr
    return ours


# ------------------------------------------------------------------------- metadata


def test_metadata():
    x = T.zeros(2, 3)
    assert x.shape == (2, 3) and isinstance(x.shape, T.Size)
    assert repr(x.shape) == "torch.Size([2, 3])" and str(x.size()) == "torch.Size([2, 3])"
    assert x.size(1) == 3 and x.size(-1) == 3
    assert x.dim() == 2 and x.ndim == 2 and x.ndimension() == 2
    assert x.numel() == 6 and x.nelement() == 6 and x.shape.numel() == 6
    assert x.dtype is T.float32 and x.device == T.device("cpu") and str(x.device) == "cpu"
    assert x.is_leaf and not x.requires_grad and x.grad is None and x.grad_fn is None
    assert x.element_size() == 4 and x.itemsize == 4 and x.nbytes == 24
    assert x.stride() == (3, 1) and x.t().stride() == (1, 3)
    assert x.is_contiguous() and not x.t().is_contiguous()
    assert x.is_floating_point() and not T.zeros(1, dtype=T.int64).is_floating_point()
    assert x.shape[1:] == (3,) and isinstance(x.shape[1:], T.Size)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(2)


@pytest.mark.parametrize("expr", [
    "M.tensor([1., 2.]).item() if False else M.tensor(2.5).item()", "M.tensor(3).item()",
    "M.tensor(True).item()", "M.tensor([[1.5]]).item()", "M.tensor([[1, 2], [3, 4]]).tolist()",
    "M.tensor(2.5).tolist()", "M.tensor([1.5]).tolist()", "M.tensor([True]).tolist()",
    "bool(M.tensor([0.]))", "bool(M.tensor(2))", "bool(M.tensor([[1.]]))",
    "len(M.tensor([[1, 2], [3, 4]]))", "[t.tolist() for t in M.tensor([[1, 2], [3, 4]])]",
    "float(M.tensor([[2.5]]))", "int(M.tensor(2.7))", "int(M.tensor(-2.7))",
    "[1, 2, 3][M.tensor(1)]", "[1, 2, 3][M.tensor([1])]", "complex(M.tensor(2.))",
    "M.tensor([1, 2]).float()", "M.tensor([1.5, 2]).long()", "M.tensor([1.5, 2]).int()",
    "M.tensor([1.5, 0]).bool()", "M.tensor([1.5, 2]).half()", "M.tensor([1.5, 2]).double()",
    "M.tensor([1.5, 2]).bfloat16()", "M.tensor([1.5, 2]).byte()", "M.tensor([1.5, 2]).char()",
    "M.tensor([1.5, 2]).short()", "M.tensor([1.5, 2]).cpu()",
    "M.tensor([1.5, 2]).to(M.float64)", "M.tensor([1.5, 2]).to('cpu')",
    "M.tensor([1.5, 2]).to('cpu', M.int32)", "M.tensor([1.5, 2]).to(M.tensor([1]))",
    "M.tensor([1.5, 2]).to(dtype=M.int16)", "M.tensor([1.5, 2]).to(M.device('cpu'))",
    "M.tensor([1.5, 2]).type()", "M.tensor([1, 2]).type()", "M.tensor([True]).type()",
    "M.tensor([1.5, 2]).type(M.int64)", "M.tensor([1.5, 2]).type('torch.DoubleTensor')",
    "M.tensor([1.5, 2]).type_as(M.tensor([1]))",
    "M.tensor([[1., 2.]]).new_zeros(2, 3)", "M.tensor([[1., 2.]]).new_zeros((2, 3))",
    "M.tensor([[1, 2]]).new_ones(2)", "M.tensor([[1, 2]]).new_full((2,), 3.5)",
    "M.tensor([[1, 2]]).new_tensor([1.5])", "M.tensor([[1, 2]]).new_tensor([1, 3])",
    "M.tensor([[1., 2]]).new_empty(2).shape", "M.tensor([[1., 2]]).new_zeros(2, dtype=M.int32)",
    "M.tensor([1., 2.]).new_ones(2, requires_grad=True)",
    "M.tensor([1., 2.], requires_grad=True).detach()", "M.tensor([1., 2.], requires_grad=True).clone()",
    "M.tensor([1., 2.], requires_grad=True).data", "M.tensor([1., 2.], requires_grad=True).contiguous()",
    "M.tensor([[1., 2.]]).t().contiguous()", "M.tensor([[1., 2.]]).t().contiguous().is_contiguous()",
    "M.tensor([1., 2.], requires_grad=True).double()", "M.tensor([1., 2.], requires_grad=True).long()",
    "M.tensor([1., 2.], requires_grad=True).to(M.float16) * 1",
])
def test_conversions_match_torch(expr):
    _same(expr)


CONVERSION_ERRORS = [
    ("M.tensor([1., 2.], requires_grad=True).numpy()", RuntimeError, r"Use tensor\.detach\(\)\.numpy\(\)"),
    ("M.tensor([1., 2.]).item()", RuntimeError, "cannot be converted to Scalar"),
    ("bool(M.tensor([1., 2.]))", RuntimeError, "more than one value is ambiguous"),
    ("bool(M.tensor([]))", RuntimeError, "ambiguous"),
    ("float(M.tensor([1., 2.]))", ValueError, "only one element tensors"),
    ("int(M.tensor([1, 2]))", ValueError, "only one element tensors"),
    ("len(M.tensor(2.))", TypeError, "len\\(\\) of a 0-d tensor"),
    ("list(M.tensor(3))", TypeError, "iteration over a 0-d tensor"),
    ("[1, 2][M.tensor(1.)]", TypeError, "only integer tensors of a single element"),
    ("[1, 2][M.tensor([0, 1])]", TypeError, "only integer tensors of a single element"),
    ("M.tensor([1, 2]).requires_grad_()", RuntimeError, "only Tensors of floating point"),
    # requires_grad takes a Python bool only (retrograd took bool(value))
    ("setattr(M.tensor([1.]), 'requires_grad', 1)", RuntimeError, "^requires_grad must be a bool$"),
    ("setattr(M.tensor([1.]), 'requires_grad', np.True_)", RuntimeError, "^requires_grad must be a bool$"),
    ("setattr(M.tensor([1.]), 'requires_grad', M.tensor(True))", RuntimeError, "^requires_grad must be a bool$"),
    ("M.tensor([1.]).requires_grad_(np.True_)", TypeError, "must be bool, not numpy.bool$"),
    ("M.tensor([1.], requires_grad=True).sum().backward(inputs=[])", RuntimeError, "^`inputs` argument to `backward\\(\\)` cannot be empty"),
]


@pytest.mark.parametrize("expr,exc,match", CONVERSION_ERRORS)
def test_conversion_errors_match_torch(expr, exc, match):
    with pytest.raises(exc, match=match):
        eval(expr, {"M": retrograd, "np": np})
    if torch is not None:
        with pytest.raises(exc, match=match):
            eval(expr, {"M": torch, "np": np})


def test_numpy_shares_memory_and_detach_numpy_works():
    x = T.tensor([1.0, 2.0])
    x.numpy()[0] = 5.0
    assert x.tolist() == [5.0, 2.0]
    y = T.tensor([1.0, 2.0], requires_grad=True)
    assert y.detach().numpy().tolist() == [1.0, 2.0]
    assert y.numpy(force=True).tolist() == [1.0, 2.0]
    assert np.asarray(x).tolist() == [5.0, 2.0]
    assert np.asarray(x, dtype=np.float64).dtype == np.float64


def test_item_and_tolist_types():
    assert type(T.tensor(2.5).item()) is float and type(T.tensor(3).item()) is int
    assert type(T.tensor(True).item()) is bool
    assert type(T.tensor([1, 2]).tolist()[0]) is int


def test_iteration_yields_views():
    x = T.arange(6.0).reshape(3, 2)
    rows = list(x)
    assert len(rows) == 3 and rows[1].tolist() == [2.0, 3.0]
    rows[0][0] = 9.0
    assert x[0, 0].item() == 9.0


# ------------------------------------------------------------------------- graph state


def test_requires_grad_and_leaf_rules():
    x = T.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad and x.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        y.requires_grad = False
    y.requires_grad_(True)  # allowed (no-op) on a non-leaf
    x.requires_grad_(False)
    assert not x.requires_grad
    z = (x * 2)
    assert not z.requires_grad and z.is_leaf


def test_detach_shares_memory_and_version():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d[0] = 5.0
    assert x.tolist() == [5.0, 2.0]
    assert x._version == d._version == 1


def test_detach_in_place():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    assert h.detach_() is h
    assert not h.requires_grad and h.grad_fn is None and h.is_leaf
    v = (x * 2)[:1]
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        v.detach_()


def test_clone_is_a_differentiable_copy():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn.name() == "CloneBackward0"
    c.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    c2 = x.detach().clone()
    c2[0] = 7.0
    assert x.tolist() == [1.0, 2.0]


def test_data_is_detached_and_assignable():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad
    d.mul_(2)  # changes x without autograd knowing
    assert x.tolist() == [2.0, 4.0]
    x.data = T.tensor([7.0, 8.0])
    assert x.tolist() == [7.0, 8.0] and x.requires_grad


def test_data_assignment_is_checked_as_torch():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="has to be a tensor"):
        x.data = [1.0, 2.0]  # was converted
    with pytest.raises(RuntimeError, match="floating point or complex"):
        x.data = T.arange(2)  # a leaf that requires grad became int64
    with pytest.raises(RuntimeError, match="floating point or complex"):
        (x * 2).data = T.arange(2)
    y = T.ones(2)
    y.data = T.arange(3)  # no grad: any dtype and shape, as torch
    assert y.dtype is T.int64 and y.shape == (3,)


def test_to_keeps_graph_and_returns_self_when_nothing_changes():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    assert x.to(T.float32) is x and x.to("cpu") is x and x.float() is x
    assert x.to(T.float32, copy=True) is not x
    y = x.to(T.float64)
    assert y.grad_fn.name() == "ToCopyBackward0"
    (y * y).sum().backward()
    assert x.grad.dtype is T.float32 and x.grad.tolist() == [2.0, 4.0]
    assert not x.long().requires_grad


# ------------------------------------------------------------------------- .grad

_NON_LEAF_GRAD = "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"


def test_reading_grad_of_a_non_leaf_warns_like_torch():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    with pytest.warns(UserWarning, match=_NON_LEAF_GRAD) as record:
        assert h.grad is None
    assert record[0].filename == __file__  # points at the reading line, not at tensor.py
    ours = str(record[0].message)
    assert "retain_grad()" in ours
    if torch is not None:
        th = torch.tensor([1.0, 2.0], requires_grad=True) * 2
        with pytest.warns(UserWarning) as theirs:
            assert th.grad is None
        assert str(theirs[0].message).startswith(ours)  # torch adds where it was triggered
    k = x * 3
    k.retain_grad()
    h.grad = T.tensor([5.0, 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None and T.tensor([1.0]).grad is None and k.grad is None
        assert h.grad.tolist() == [5.0, 5.0]  # a non-leaf with a grad set by hand: no warning


@pytest.mark.parametrize("value, exc, match", [
    ("0.", TypeError, "assigned grad expected to be a Tensor or None but got grad of type float"),
    ("[1., 2.]", TypeError, "but got grad of type list"),
    ("np.zeros(2)", TypeError, "but got grad of type numpy.ndarray"),
    ("x", RuntimeError, "can't assign Variable as its own grad"),
    ("M.zeros(3)", RuntimeError, r"gradient of size '\[3\]' to a tensor of size '\[2\]'"),
    ("M.zeros(2, 1)", RuntimeError, r"gradient of size '\[2, 1\]' to a tensor of size '\[2\]'"),
    ("M.zeros(())", RuntimeError, r"gradient of size '\[\]' to a tensor of size '\[2\]'"),
    ("M.zeros(2, dtype=M.float64)", RuntimeError, "attempting to assign a gradient with dtype"),
    ("M.zeros(2, dtype=M.float16)", RuntimeError, "attempting to assign a gradient with dtype"),
    ("M.zeros(2, dtype=M.int64)", RuntimeError, "attempting to assign a gradient with dtype"),
    ("M.zeros(3, dtype=M.float64)", RuntimeError, "with dtype"),  # dtype is checked first
])
def test_grad_assignment_is_checked_like_torch(value, exc, match):
    for M in [retrograd] + ([torch] if torch is not None else []):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(exc, match=match):
            x.grad = eval(value, {"M": M, "np": np, "x": x})
        assert x.grad is None


def test_grad_assignment_accepts_what_torch_accepts():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    for value in [T.zeros(2), T.zeros(2, 2)[:, 0], T.nn.Parameter(T.zeros(2)),
                  T.zeros(2, requires_grad=True), (x * 2)]:
        x.grad = value
        assert x.grad is value
    x.grad = None
    assert x.grad is None
    x.grad = T.ones(2)
    del x.grad
    assert x.grad is None
    d = T.tensor([1, 2])  # any tensor may hold a grad of its own dtype, as in torch
    d.grad = T.tensor([3, 4])
    assert d.grad.tolist() == [3, 4]
    m = T.tensor([1.0, 2.0], dtype=T.float64) * T.tensor([1.0, 1.0], dtype=T.float64, requires_grad=True)
    m.grad = T.zeros(2, dtype=T.float64)  # non-leaves too
    assert m.grad.tolist() == [0.0, 0.0]


def test_library_code_reading_and_writing_grads_does_not_warn():
    from retrograd.inspect import saved_tensors
    from retrograd.utils.checkpoint import checkpoint

    model = T.nn.Sequential(T.nn.Linear(3, 4), T.nn.Tanh(), T.nn.Linear(4, 1))
    opt = T.optim.Adam(model.parameters())
    x = T.randn(5, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", "Using backward.. with create_graph=True")  # torch's own, once per process
        h = model[0](x)
        a = model[1](h)
        a.retain_grad()
        out = model[2](a).sum()
        out.backward(inputs=[h] + list(model.parameters()), create_graph=True)  # h: non-leaf
        assert h.grad.shape == a.grad.shape == (5, 4)
        T.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        T.nn.utils.clip_grad_value_(model.parameters(), 0.1)
        opt.step()
        model.zero_grad(set_to_none=False)
        assert all(p.grad.abs().sum().item() == 0 for p in model.parameters())
        model.double()
        assert all(p.grad.dtype is T.float64 for p in model.parameters())
        copy.deepcopy(model)
        checkpoint(model, x.double().requires_grad_(), use_reentrant=True).sum().backward()
        saved_tensors(model(x.double()).sum())


def test_contiguous():
    x = T.arange(6.0).reshape(2, 3)
    assert x.contiguous() is x
    c = x.t().contiguous()
    assert c.is_contiguous() and c.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]


def test_pickle_and_deepcopy():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    assert y.tolist() == [1.0, 2.0] and y.requires_grad
    z = copy.deepcopy(x)
    assert z is not x and z.tolist() == [1.0, 2.0] and z.requires_grad
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


def test_hash_is_identity():
    x, y = T.zeros(1), T.zeros(1)
    assert len({x, y}) == 2


# ------------------------------------------------------------------------- operators


OPERATORS = [
    "M.tensor([1., 2.]) + 1", "1 + M.tensor([1., 2.])", "M.tensor([1., 2.]) - 1",
    "1 - M.tensor([2.])", "M.tensor([1., 2.]) * 2", "2 * M.tensor([1, 2])",
    "M.tensor([1, 2]) / 2", "1 / M.tensor([2])", "M.tensor(2.) ** 2", "2 ** M.tensor(2.)",
    "2 ** M.tensor(2)", "M.tensor([2]) ** 2.", "M.tensor([2]) ** M.tensor(2.)",
    "-M.tensor([3])", "+M.tensor([3])", "abs(M.tensor([-3]))", "~M.tensor([True])",
    "M.tensor([3]) & M.tensor([1])", "M.tensor([3]) | 4", "M.tensor([3]) ^ 1", "1 & M.tensor([3])",
    "M.tensor([1, 2]) @ M.tensor([3, 4])", "M.tensor([[1., 2.]]) @ M.tensor([[1.], [2.]])",
    "M.tensor([1.5]) * np.float64(2)", "np.float64(2) * M.tensor([1.5])",
    "M.tensor([1.5]) + np.int64(2)", "M.tensor([1]) + np.float32(2)",
    "M.tensor([1., 2.]) == M.tensor([1., 3.])", "M.tensor([1., 2.]) < 2", "2 < M.tensor([1., 2.])",
    "M.tensor([1, 2]) == 1.", "M.tensor([1., 2.]) != 2", "M.tensor([1., 2.]) >= 2",
    "M.tensor([1., 2.]) <= M.tensor(1.)", "M.tensor([1., 2.]) > M.tensor([[0.], [3.]])",
    "M.tensor([5, 7]) // 2", "7 // M.tensor([5, 7])", "M.tensor([5, -7]) % 3", "10 % M.tensor([5, 7])",
    "M.tensor([5., -7.5]) // 2", "M.tensor([5., -7.5]) % 2", "M.tensor([5, 7]) << 1",
    "M.tensor([5, 7]) >> 1", "1 << M.tensor([5, 7])",
]


@pytest.mark.parametrize("expr", OPERATORS)
def test_operators_match_torch(expr):
    _same(expr)


def test_in_place_operators_keep_identity_and_bump_version():
    x = T.tensor([1.0, 2.0])
    ident = id(x)
    x += 1
    x -= 0.5
    x *= 2
    x /= 4
    x **= 2
    assert id(x) == ident and x._version == 5
    k = T.tensor([7, 9])
    k //= 2
    k %= 2
    assert k.tolist() == [1, 0] and k._version == 2
    i = T.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i /= 2  # an int tensor cannot hold the float result, as in torch
    with pytest.raises(RuntimeError, match="can't be cast"):
        i += 1.5


def test_comparisons_give_bool_tensors_without_grad():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    c = x > 1
    assert c.dtype is T.bool and not c.requires_grad and c.grad_fn is None
    assert c.tolist() == [False, True]


# ------------------------------------------------------------------------- bad input


BAD_INPUT = [
    ("M.ones(2, 3) + M.ones(4)", RuntimeError, r"\(3\) must match the size of tensor b \(4\)"),
    ("M.ones(2, 3) * M.ones(2, 4)", RuntimeError, "must match the size"),
    ("M.ones(2, 3) @ M.ones(4, 5)", RuntimeError, r"2x3 and 4x5"),
    ("M.ones(3) @ M.ones(4)", RuntimeError, None),
    ("M.ones(3) @ M.ones(4, 2)", RuntimeError, None),
    ("M.ones(2, 3, 4) @ M.ones(3, 5, 6)", RuntimeError, None),
    ("M.tensor(1.) @ M.ones(2)", RuntimeError, "at least 1D"),
    ("M.ones(2, 3).sum(2)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3).sum(-3)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3).mean(5)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3).transpose(0, 2)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3).unsqueeze(3)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3).unsqueeze(-4)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3).squeeze(3)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3).flatten(0, 2)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3).permute(0, 2)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3).size(2)", IndexError, "Dimension out of range"),
    ("M.ones(2, 3)[2]", IndexError, None),
    ("M.ones(2, 3)[0, 3]", IndexError, None),
    ("M.ones(2, 3)[0, 0, 0]", IndexError, None),
    ("M.ones(2, 3).view(4)", RuntimeError, "invalid for input of size 6"),
    ("M.ones(2, 3).view(-1, -1)", RuntimeError, "only one dimension can be inferred"),
    ("M.ones(2, 3).t().view(6)", RuntimeError, "view size is not compatible"),
    ("M.ones(2, 3).expand(3, 3)", RuntimeError, "expanded size"),
    ("M.ones(2, 3).permute(0, 0)", RuntimeError, None),
    ("M.tensor([True]) - M.tensor([True])", RuntimeError, "Subtraction, the `-` operator"),
    ("-M.tensor([True])", RuntimeError, "Negation, the `-` operator"),
    ("M.ones(2).mean(dtype=None) if False else M.tensor([1, 2]).mean()", RuntimeError,
     "mean\\(\\): could not infer output dtype"),
]


@pytest.mark.parametrize("expr,exc,match", BAD_INPUT)
def test_bad_input_raises_like_torch(expr, exc, match):
    with pytest.raises(exc, match=match):
        eval(expr, {"M": retrograd})
    if torch is not None:
        with pytest.raises(exc):
            eval(expr, {"M": torch})


def test_shape_errors_name_both_shapes():
    with pytest.raises(RuntimeError, match=r"\[2, 3\] and \[4\]"):
        T.ones(2, 3) + T.ones(4)
    with pytest.raises(RuntimeError, match=r"\[2, 3, 4\] and \[3, 5, 6\]"):
        T.ones(2, 3, 4) @ T.ones(3, 5, 6)
    with pytest.raises(RuntimeError, match=r"2x3 and 4x5"):
        T.ones(2, 3) @ T.ones(4, 5)


def test_dtype_mismatch_in_place_names_both_dtypes():
    with pytest.raises(RuntimeError, match="Float.*Long"):
        T.tensor([1, 2]).add_(T.tensor([0.5, 0.5]))


def test_device_mismatch_names_both_devices():
    from retrograd.ops.elementwise import _device_error

    err = _device_error(np.zeros(1), np.zeros(1))
    assert "Expected all tensors to be on the same device" in str(err)
    assert str(err).count("cpu") == 2
    with pytest.raises(RuntimeError, match="CuPy or a CUDA device is not available"):
        if not T.cuda.is_available():
            T.zeros(1, device="cuda")
        else:  # pragma: no cover - only on a GPU machine
            T.zeros(1) + T.zeros(1, device="cuda")


def test_comparison_with_non_numbers_falls_back_like_torch():
    x = T.tensor([1.0, 2.0])
    assert (x == None) is False and (x != "a") is True  # noqa: E711
    assert [None, "a", x].index(x) == 2
    with pytest.raises(TypeError):
        x < None  # noqa: B015
    assert (2 == x).tolist() == [False, True]


def test_legacy_constructor_and_storage_helpers():
    assert repr(T.Tensor()) == "tensor([])"
    assert T.Tensor(2, 3).shape == (2, 3) and T.Tensor([1, 2]).dtype is T.float32
    x = T.arange(6.0).reshape(2, 3)
    assert x.storage_offset() == 0 and x[1].storage_offset() == 3 and x[1, 1:].storage_offset() == 4
    assert not x.is_shared()
    assert x.apply_(lambda v: v * 2)[1].tolist() == [6.0, 8.0, 10.0] and x._version == 1
    y = T.tensor([1.0, 2.0]).map_(T.tensor([3.0, 4.0]), lambda a, b: a + b)
    assert y.tolist() == [4.0, 6.0]


# ------------------------------------------------------------------------- membership, lists of arrays


@pytest.mark.parametrize("expr", [
    "2. in M.tensor([[1., 2.], [3., 4.]])", "5 in M.tensor([1, 2])", "M.tensor(3.) in M.tensor([[1., 3.]])",
    "M.tensor([1., 5.]) in M.tensor([[1., 2.], [3., 4.]])", "np.float64(4) in M.tensor([4.])",
    "True in M.tensor([1, 0])", "1. in M.ones(2, requires_grad=True)",
    "M.tensor([np.ones(2, dtype=np.float32), np.zeros(2, dtype=np.float32)])",
    "M.tensor([np.ones(2, dtype=np.int32), np.ones(2, dtype=np.int32)])",
    "M.tensor([np.ones(2, dtype=np.int32), [1.5, 2]])", "M.tensor([np.ones(2), np.ones(2, dtype=np.float32)])",
    "M.tensor([np.ones(2, dtype=np.int64), np.ones(2, dtype=np.float16)])",
    "M.tensor([np.ones(2, dtype=np.uint8), [300, 1]])", "M.as_tensor((np.arange(3), np.arange(3)))",
    "M.tensor([np.ones(2, dtype=np.float32)], dtype=M.float64)",
])
def test_membership_and_lists_of_numpy_arrays_as_torch(expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a list of arrays warns once: below)
        _same(expr)


def test_membership_refuses_other_objects_as_torch():
    for element in ("a", None, [1.0]):
        with pytest.raises(RuntimeError, match=f"only supports Tensor or scalar, but you passed in a {type(element)}"):
            element in T.tensor([1.0])  # noqa: B015


def test_a_list_of_numpy_arrays_warns_that_it_is_slow_and_an_array_operand_says_what_to_do():
    from retrograd import _warn_once
    _warn_once._seen.discard("tensor from ndarrays")
    with pytest.warns(UserWarning, match="Creating a tensor from a list of numpy.ndarrays is extremely slow") as record:
        T.tensor([np.ones(2), np.ones(2)])
    assert record[0].filename == __file__
    with pytest.raises(TypeError, match=r"ndarray \(shape \[2\], dtype float64\).*torch.as_tensor\(array\)"):
        T.ones(2).sub(np.ones(2))  # (the operator - hands it to NumPy, as torch's: tests/ops/test_numpy_operands.py)


@pytest.mark.parametrize("M", [T] + ([torch] if torch is not None else []))
def test_grad_dtype_casts_a_leafs_gradients_as_torch(M):
    """Tensor.grad_dtype (torch 2.13): the leaf's dtype by default; set, backward casts the gradients
    it accumulates (before the leaf's hooks see them) and autograd.grad those it returns; None takes
    them as they come; .grad = g must have it. Values recorded from torch 2.13."""
    x = M.ones(3, requires_grad=True)
    assert x.grad_dtype == M.float32 and M.ones(2, dtype=M.float64).grad_dtype == M.float64
    x.grad_dtype = M.float64
    seen = []
    x.register_hook(lambda g: seen.append(g.dtype))
    (x * 2).sum().backward()
    (x * 2).sum().backward()
    assert x.grad.dtype == M.float64 and x.grad.tolist() == [4.0, 4.0, 4.0] and seen == [M.float64] * 2
    assert M.autograd.grad((x * 2).sum(), x)[0].dtype == M.float64
    y = M.ones(3, requires_grad=True)
    y.grad_dtype = M.float16
    (y * 3.3).sum().backward()
    assert y.grad.dtype == M.float16 and y.grad.tolist() == [3.30078125] * 3  # 3.3 rounded to float16
    z = M.ones(3, dtype=M.float64, requires_grad=True)
    z.grad_dtype = M.float32
    (z / 3).sum().backward()
    assert z.grad.dtype == M.float32
    w = M.ones(3, requires_grad=True)
    w.grad_dtype = None
    assert w.grad_dtype is None
    w.grad = M.ones(3, dtype=M.float64)  # any dtype; a float32 gradient accumulates into it
    (w * 2).sum().backward()
    assert w.grad.dtype == M.float64 and w.grad.tolist() == [3.0, 3.0, 3.0]
    assert x.detach().grad_dtype == M.float32  # not carried to a new tensor


@pytest.mark.parametrize("M", [T] + ([torch] if torch is not None else []))
def test_grad_dtype_errors_as_torch(M):
    x = M.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype 'double' to a tensor with "
                                           "grad_dtype 'Float'. The gradient must match the tensor's grad_dtype"):
        x.grad = M.ones(3, dtype=M.float64)
    with pytest.raises(RuntimeError, match="grad_dtype can only be accessed on leaf tensors."):
        (x * 2).grad_dtype
    with pytest.raises(RuntimeError, match="grad_dtype can only be set on leaf tensors."):
        (x * 2).grad_dtype = M.float64
    with pytest.raises(RuntimeError, match="grad_dtype must be a torch.dtype or None, but got str"):
        x.grad_dtype = "float64"
    x.grad = M.zeros(3)
    with pytest.raises(RuntimeError, match="Cannot set grad_dtype to 'Double' because there is already a gradient "
                                           "with dtype 'float'"):
        x.grad_dtype = M.float64
    x.grad_dtype = None  # None always; so is the gradient's own dtype
    x.grad_dtype = M.float32


def test_new_tensor_of_a_tensor_warns_as_torch():
    x = retrograd.ones(2, dtype=retrograd.float64)
    with pytest.warns(UserWarning, match=r"rather than tensor.new_tensor\(sourceTensor\)"):
        y = x.new_tensor(retrograd.tensor([1, 2]))
    assert y.dtype == retrograd.float64 and y.tolist() == [1.0, 2.0]
