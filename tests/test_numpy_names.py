"""NumPy's axis=/keepdims= on the callables torch writes in C++ (src/retrograd/_numpy_names.py)."""

import inspect
import types

import numpy as np
import pytest

import retrograd
import retrograd.nn.functional as F
from retrograd._numpy_names import NATIVE
from tests.helpers import requires_torch

try:
    import torch
except ImportError:
    torch = None


def x():
    return retrograd.tensor(np.arange(12.0).reshape(3, 4) - 5.0)


def test_reductions_take_axis_and_keepdims():
    a = x()
    assert retrograd.equal(a.sum(axis=1), a.sum(dim=1))
    assert a.mean(axis=0, keepdims=True).shape == (1, 4)
    assert retrograd.sum(a, axis=1, keepdims=True).shape == (3, 1)
    assert a.sum(1, keepdims=True).shape == (3, 1)
    values, indices = a.max(axis=1)
    assert retrograd.equal(indices, a.argmax(axis=1))
    assert a.std(axis=0).shape == (4,) and a.size(axis=1) == 4


def test_joins_softmax_and_in_place_methods_take_axis():
    a = x()
    assert retrograd.cat([a, a], axis=1).shape == (3, 8)
    assert retrograd.concatenate([a, a], axis=1).shape == (3, 8)
    assert retrograd.stack([a, a], axis=1).shape == (3, 2, 4)
    assert retrograd.allclose(a.softmax(axis=1), a.softmax(dim=1))
    assert retrograd.equal(a.clone().cumsum_(axis=1), a.cumsum(1))
    assert retrograd.equal(F.cosine_similarity(a, a, axis=0), F.cosine_similarity(a, a, dim=0))
    assert retrograd.equal(retrograd.linalg.vector_norm(a, axis=1), retrograd.linalg.vector_norm(a, dim=1))
    assert retrograd.special.logsumexp(a, axis=1).shape == (3,)


def test_axis_keeps_gradients_flowing():
    a = x().requires_grad_()
    retrograd.cat([a, a * 2], axis=1).sum(axis=1).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 4), 3.0))


def test_both_names_or_a_python_written_function_raise_type_error():
    a = x()
    with pytest.raises(TypeError, match="both dim= and axis="):
        a.sum(axis=1, dim=1)
    with pytest.raises(TypeError, match="multiple values"):
        retrograd.sum(a, 1, axis=1)
    for call in (lambda: F.softmax(a, axis=1), lambda: a.split(1, axis=0), lambda: retrograd.norm(a, axis=1),
                 lambda: a.transpose(axis0=0, axis1=1)):
        with pytest.raises(TypeError, match="axis"):  # as in torch: these are written in Python
            call()


def _takes_dim(fn, namespace, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if any(p.kind == p.VAR_POSITIONAL for p in params.values()) and name.endswith("_"):
        base = getattr(namespace, name[:-1], None)  # an in-place method passes its arguments on
        return base is not None and _takes_dim(base, namespace, name[:-1])
    return "dim" in params or "keepdim" in params


@requires_torch
def test_native_lists_torchs_c_callables_that_take_dim():
    namespaces = {"torch": (torch, retrograd), "Tensor": (torch.Tensor, retrograd.Tensor),
                  "nn.functional": (torch.nn.functional, F), "linalg": (torch.linalg, retrograd.linalg),
                  "special": (torch.special, retrograd.special)}
    native = (types.BuiltinFunctionType, types.MethodDescriptorType)
    for label, (theirs, ours) in namespaces.items():
        expected = set()
        for name in dir(ours):
            if name.startswith("_"):
                continue
            fn, their = getattr(ours, name), getattr(theirs, name, None)
            if their is None or isinstance(fn, type) or not callable(fn):
                continue
            if isinstance(inspect.getattr_static(theirs, name), native) and _takes_dim(fn, ours, name):
                expected.add(name)
        assert set(NATIVE[label]) == expected, label
