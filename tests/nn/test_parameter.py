"""nn.UninitializedParameter / nn.UninitializedBuffer (lazy modules' placeholders): no shape, only
casts and moves allowed (anything else raises torch's errors), materialize() in place; and what torch
does with the same expressions."""

import copy
import pickle

import numpy as np
import pytest
from helpers import requires_torch, torch

import retrograd
from retrograd import nn
from retrograd.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy

SHAPE_ERROR = "Can't access the shape of an uninitialized parameter or buffer"
USE_ERROR = "Attempted to use an uninitialized parameter in"

# expressions on an uninitialized parameter ``w`` (module ``lib``): torch's error type, or None
EXPRESSIONS = {
    "w.shape": RuntimeError, "w + 1": ValueError, "1 - w": ValueError, "w.sum()": ValueError,
    "w.numel()": ValueError, "w.dim()": ValueError, "len(w)": ValueError, "w.tolist()": ValueError,
    "w.detach()": ValueError, "w.clone()": ValueError, "w.requires_grad_(False)": ValueError,
    "w == w": ValueError, "w.numpy()": ValueError, "w[0]": ValueError, "w.share_memory_()": RuntimeError,
    "lib.nn.functional.linear(lib.ones(2, 3), w)": ValueError,
    "w.size()": None, "w.ndim": None, "w.grad": None, "w.is_leaf": None, "w.float()": None, "w.cpu()": None,
    "w.to(lib.float64)": None, "w.is_floating_point()": None, "repr(w)": None, "copy.deepcopy(w)": None,
}


def _outcome(lib, expression):
    w = lib.nn.UninitializedParameter()
    try:
        eval(expression, {"w": w, "lib": lib, "copy": copy})
    except Exception as e:  # noqa: BLE001 -- the type is what is compared
        return type(e)
    return None


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_placeholder_allows_only_casts_and_moves(expression):
    assert _outcome(retrograd, expression) is EXPRESSIONS[expression]


@requires_torch
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_the_expected_outcomes_are_torchs(expression):
    assert _outcome(torch, expression) is EXPRESSIONS[expression]


def test_placeholder_queries_and_messages():
    w = UninitializedParameter(dtype=retrograd.float64)
    assert isinstance(w, nn.Parameter) and w.requires_grad and is_lazy(w) and not is_lazy(retrograd.zeros(1))
    assert (w.dtype, str(w.device), repr(w), str(w), w.size(), w.ndim) == \
           (retrograd.float64, "cpu", "<UninitializedParameter>", "<UninitializedParameter>", (0,), 1)
    with pytest.raises(RuntimeError, match=SHAPE_ERROR):
        w.shape  # noqa: B018
    with pytest.raises(ValueError, match=USE_ERROR + r" <method 'sum'.*torch.nn.parameter.UninitializedParameter"):
        w.sum()
    with pytest.raises(ValueError, match=USE_ERROR):
        retrograd.nn.functional.linear(retrograd.ones(2, 3, dtype=retrograd.float64), w)
    half = w.half()
    assert type(half) is UninitializedParameter and half.dtype == retrograd.float16 and w.float() is not w
    assert w.double() is w
    for copied in (copy.deepcopy(w), pickle.loads(pickle.dumps(w))):
        assert type(copied) is UninitializedParameter and copied.dtype == retrograd.float64 and copied is not w


def test_materialize_turns_the_placeholder_into_a_parameter_in_place():
    w = UninitializedParameter(requires_grad=False)
    w.materialize((2, 3), dtype=retrograd.float64)
    assert type(w) is nn.Parameter and w.shape == (2, 3) and w.dtype == retrograd.float64 and not w.requires_grad
    b = UninitializedBuffer(dtype=retrograd.float64)
    b.materialize(4)
    assert type(b) is retrograd.Tensor and b.shape == (4,) and b.dtype == retrograd.float64
    with pytest.raises(AttributeError):
        w.materialize((1,))  # a Parameter now


def test_buffer_placeholder_is_registered_as_itself():
    b = UninitializedBuffer(persistent=False)
    assert isinstance(b, nn.Buffer) and not b.requires_grad and not b.persistent
    m = nn.Module()
    m.stats = b
    assert m._buffers["stats"] is b and "stats" in m._non_persistent_buffers_set
    m.register_buffer("kept", UninitializedBuffer())
    with pytest.raises(ValueError, match=USE_ERROR):  # a plain module's state_dict detaches it, as torch's
        m.state_dict()
    m.stats.materialize(3)
    assert m._buffers["stats"] is b and np.shape(b.numpy()) == (3,)


def test_deepcopy_of_a_parameter_copies_values_and_requires_grad_only_as_torch():
    """torch's Parameter.__deepcopy__ makes type(p)(p.data.clone(), p.requires_grad): the gradient
    and attributes set on the parameter stay behind (retrograd copied both, as for a tensor)."""
    def run(lib):
        p = lib.nn.Parameter(lib.tensor([1.0, 2.0]))
        p.grad = lib.tensor([3.0, 4.0])
        p.tag = "x"
        frozen = lib.nn.Parameter(lib.tensor([5.0]), requires_grad=False)
        q, f = copy.deepcopy([p, frozen])
        pair = copy.deepcopy([p, p])
        return (type(q).__name__, q.tolist(), q.requires_grad, q.grad, hasattr(q, "tag"), q is not p,
                f.requires_grad, pair[0] is pair[1])

    expected = ("Parameter", [1.0, 2.0], True, None, False, True, False, True)
    assert run(retrograd) == expected
    if torch is not None:
        assert run(torch) == expected
