"""Dtypes: names, aliases, torch's promotion rules (dimensioned tensors, 0-dim tensors and
Python scalars in three tiers), default dtype, bfloat16 through ml_dtypes."""

import itertools

import numpy as np
import pytest

import retrograd
from tests.helpers import reference, torch

NAMES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
         "bool"]


def _operand(module, kind, name):
    if kind == "dim":
        return module.ones(2, dtype=getattr(module, name))
    if kind == "zero":
        return module.ones((), dtype=getattr(module, name))
    return {"int": 2, "float": 2.5, "bool": True}[name]


OPERANDS = ([("dim", n) for n in NAMES] + [("zero", n) for n in NAMES]
            + [("py", n) for n in ("int", "float", "bool")])
PAIRS = [(a, b) for a, b in itertools.product(OPERANDS, OPERANDS) if not (a[0] == b[0] == "py")]


def test_dtype_objects():
    assert repr(retrograd.float32) == "torch.float32"
    assert retrograd.float is retrograd.float32 and retrograd.double is retrograd.float64
    assert retrograd.half is retrograd.float16 and retrograd.long is retrograd.int64
    assert retrograd.int is retrograd.int32 and retrograd.short is retrograd.int16
    assert retrograd.float32.is_floating_point and not retrograd.int64.is_floating_point
    assert retrograd.bfloat16.itemsize == 2 and retrograd.float64.itemsize == 8
    assert not retrograd.uint8.is_signed and retrograd.int8.is_signed
    import pickle

    assert pickle.loads(pickle.dumps(retrograd.bfloat16)) is retrograd.bfloat16


# a hand-written sample of torch's table, so the rules are checked without torch too
KNOWN = [
    ((retrograd.ones(2, dtype=retrograd.int32), 2.5), "float32"),
    ((retrograd.ones(2, dtype=retrograd.int32), 2), "int32"),
    ((retrograd.ones(2, dtype=retrograd.uint8), retrograd.tensor(1000)), "uint8"),
    ((retrograd.ones(2, dtype=retrograd.float16), retrograd.tensor(1.0, dtype=retrograd.float64)),
     "float16"),
    ((retrograd.ones(2, dtype=retrograd.int32), retrograd.tensor(2.5, dtype=retrograd.float64)),
     "float64"),
    ((retrograd.ones(2, dtype=retrograd.float16), retrograd.ones(2, dtype=retrograd.bfloat16)),
     "float32"),
    ((retrograd.ones(2, dtype=retrograd.uint8), retrograd.ones(2, dtype=retrograd.int8)), "int16"),
    ((retrograd.ones(2, dtype=retrograd.bool), True), "bool"),
    ((retrograd.ones(2, dtype=retrograd.bool), 1), "int64"),
    ((retrograd.tensor(1), retrograd.tensor(1.5, dtype=retrograd.float64)), "float64"),
    ((retrograd.tensor(1, dtype=retrograd.int32), 5), "int32"),
    ((retrograd.ones(2, dtype=retrograd.bfloat16), 2.5), "bfloat16"),
]


@pytest.mark.parametrize("operands,expected", KNOWN)
def test_result_type_known_cases(operands, expected):
    assert retrograd.result_type(*operands).name == expected
    assert (operands[0] * operands[1]).dtype.name == expected


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a[0]}-{a[1]}-{b[0]}-{b[1]}" for a, b in PAIRS])
def test_result_type_and_op_dtype_match_torch(a, b):
    expected = reference(lambda: str(torch.result_type(_operand(torch, *a), _operand(torch, *b))))
    assert str(retrograd.result_type(_operand(retrograd, *a), _operand(retrograd, *b))) == expected
    if expected == "torch.bool" and (a[1], b[1]) == ("bool", "bool"):
        return
    assert str((_operand(retrograd, *a) * _operand(retrograd, *b)).dtype) == expected


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_matches_torch(a, b):
    expected = reference(lambda: str(torch.promote_types(getattr(torch, a), getattr(torch, b))))
    assert str(retrograd.promote_types(getattr(retrograd, a), getattr(retrograd, b))) == expected


def test_default_dtype_is_used_for_python_floats():
    retrograd.set_default_dtype(retrograd.float64)
    try:
        assert retrograd.get_default_dtype() is retrograd.float64
        assert retrograd.tensor([1.5]).dtype is retrograd.float64
        assert (retrograd.ones(2, dtype=retrograd.int32) * 2.5).dtype is retrograd.float64
        assert retrograd.arange(2.0).dtype is retrograd.float64
        assert retrograd.zeros(2).dtype is retrograd.float64
        # a float32 tensor stays float32 with a Python float
        assert (retrograd.ones(2, dtype=retrograd.float32) + 2.5).dtype is retrograd.float32
    finally:
        retrograd.set_default_dtype(retrograd.float32)
    with pytest.raises(TypeError):
        retrograd.set_default_dtype(retrograd.int64)


def test_integer_scalars_wrap_like_torch():
    t = retrograd.tensor([1, 2], dtype=retrograd.uint8)
    assert (t + 1000).tolist() == [233, 234]
    assert (1000 - t).tolist() == [231, 230]
    assert (retrograd.tensor([1, 2], dtype=retrograd.int8) * 300).tolist() == [44, 88]


def test_bfloat16_arithmetic_and_backward():
    x = retrograd.tensor([1.5, 2.25, 3.0], dtype=retrograd.bfloat16, requires_grad=True)
    y = (x * 2.5 + 1).exp() / 3
    assert y.dtype is retrograd.bfloat16
    y.sum().backward()
    assert x.grad.dtype is retrograd.bfloat16
    assert x.grad.tolist() == [96.0, 628.0, 4128.0]  # torch's bfloat16 values
    assert x.float().dtype is retrograd.float32
    assert x.detach().numpy().dtype.name == "bfloat16"


def test_dtype_conversion_accepts_numpy_and_python_types():
    from retrograd._dtype import to_dtype

    assert to_dtype(np.float64) is retrograd.float64
    assert to_dtype(float) is retrograd.float32
    assert to_dtype(int) is retrograd.int64
    assert to_dtype(bool) is retrograd.bool
    assert to_dtype("torch.int16") is retrograd.int16
    with pytest.raises(TypeError):
        retrograd.tensor(np.array([1], dtype=np.uint16))


def test_can_cast():
    assert retrograd.can_cast(retrograd.int32, retrograd.float32)
    assert not retrograd.can_cast(retrograd.float32, retrograd.int32)


def _run(code, **env_extra):
    """Run ``code`` in a fresh interpreter (bfloat16's NumPy type is loaded on first use, once per process)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, **env_extra)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_bfloat16_creation_and_conversion_give_bfloat16():
    import ml_dtypes

    bf = retrograd.bfloat16
    made = [retrograd.zeros(2, dtype=bf), retrograd.ones(2, 3, dtype=bf), retrograd.full((2,), 1.5, dtype=bf),
            retrograd.empty(2, dtype=bf), retrograd.tensor([1.0, 2.0], dtype=bf), retrograd.randn(3, dtype=bf),
            retrograd.arange(3, dtype=bf), retrograd.randn(3).to(bf), retrograd.randn(3).bfloat16(),
            retrograd.tensor([1, 2]).to(dtype=bf), retrograd.zeros_like(retrograd.randn(2), dtype=bf),
            retrograd.from_numpy(np.ones(2, dtype=ml_dtypes.bfloat16))]
    for t in made:
        assert t.dtype is bf and t.numpy().dtype == np.dtype(ml_dtypes.bfloat16)
    assert retrograd.tensor([1.0, 2.0], dtype=bf).tolist() == [1.0, 2.0]


def test_bfloat16_loads_ml_dtypes_on_first_use():
    code = """
import sys
import numpy as np
import retrograd as t
print("ml_dtypes" in sys.modules)
z = t.zeros(2, dtype=t.bfloat16)
x = t.tensor([1.5, 2.25], requires_grad=True)
y = x.to(t.bfloat16)
(y * 2).sum().backward()
print("ml_dtypes" in sys.modules, z.dtype, y.dtype, x.grad.tolist())
"""
    assert _run(code) == ["False", "True", "torch.bfloat16", "torch.bfloat16", "[2.0,", "2.0]"]


def test_bfloat16_of_an_ml_dtypes_array_made_after_import():
    # ml_dtypes imported by the user after retrograd: from_numpy finds bfloat16, and it is differentiable
    code = """
import numpy as np
import retrograd as t
import ml_dtypes
x = t.from_numpy(np.array([1.0, 3.0], dtype=ml_dtypes.bfloat16)).requires_grad_()
(x * x).sum().backward()
print(x.dtype, x.grad.dtype, x.grad.tolist())
"""
    assert _run(code) == ["torch.bfloat16", "torch.bfloat16", "[2.0,", "6.0]"]


_WITHOUT_ML_DTYPES = """
import sys
sys.modules["ml_dtypes"] = None  # as if it were not installed
import retrograd as t
from retrograd.utils.checkpoint import checkpoint



def linear_under_bf16_autocast():
    with t.autocast("cpu", dtype=t.bfloat16):
        t.nn.functional.linear(t.randn(2, 3), t.randn(4, 3))


for use in (lambda: t.zeros(2, dtype=t.bfloat16), lambda: t.randn(2).to(t.bfloat16),
            lambda: t.randn(2).bfloat16(), lambda: t.ones(2, dtype="bfloat16"), linear_under_bf16_autocast):
    try:
        use()
        print("no-error")
    except ImportError as e:
        print("ImportError" if "pip install ml_dtypes" in str(e) else "unclear:" + str(e))
x = t.randn(3, 4, requires_grad=True)
w = t.randn(4, 2, requires_grad=True)
y = checkpoint(lambda a: (a @ w).tanh(), x, use_reentrant=False).sum() + (x.float() * 2).sum()
y.backward()
with t.autocast("cpu", enabled=False):
    pass
print(y.dtype, x.grad.dtype, w.grad.shape == (4, 2), t.zeros(2, dtype=t.float16).dtype)
"""


def test_without_ml_dtypes_bfloat16_raises_and_float32_works():
    out = _run(_WITHOUT_ML_DTYPES)
    assert out == ["ImportError"] * 5 + ["torch.float32", "torch.float32", "True", "torch.float16"]


def test_bfloat16_to_integer_types_converts_as_torch():
    """ml_dtypes converts bfloat16 to uint8/int8 by saturating to 0; torch (like float32)
    wraps: -2 -> 254, 300 -> 44."""
    x = retrograd.tensor([-2.0, 300.0, -1.5], dtype=retrograd.bfloat16)
    assert x.to(retrograd.uint8).tolist() == [254, 44, 255]
    assert x.to(retrograd.int8).tolist() == [-2, 44, -1]
    z = retrograd.zeros(3, dtype=retrograd.uint8)
    z.copy_(x)
    assert z.tolist() == [254, 44, 255]
