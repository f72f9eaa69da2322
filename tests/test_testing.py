"""torch.testing.assert_close (retrograd/testing.py): each call's outcome (OK, or the exception
and its message) written down from torch 2.13, checked against torch where it is installed and
against retrograd everywhere. Class names in TypeErrors are compared with retrograd's module
names read as torch's."""

import numpy as np
import pytest

import retrograd
from tests.helpers import requires_torch, torch

CASES = [
    ('ac(m.tensor([1.,2,3]), m.tensor([1.,2.1,3]))',
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 3 (33.3%)\nGreatest absolute difference: 0.09999990463256836 at index (1,) (up to 1e-05 allowed)\nGreatest relative difference: 0.04761900380253792 at index (1,) (up to 1.3e-06 allowed)'),
    ('ac(m.tensor([1.,2,3]), m.tensor([1.,2,3.0000001]))',
     'OK'),
    ('ac(m.tensor([1.,2]), m.tensor([1.,2,3]))',
     "AssertionError: The values for attribute 'shape' do not match: torch.Size([2]) != torch.Size([3])."),
    ('ac(m.tensor([1.,2]), m.tensor([1.,2], dtype=m.float64))',
     "AssertionError: The values for attribute 'dtype' do not match: torch.float32 != torch.float64."),
    ('ac(m.tensor([1.,2]), m.tensor([1.,2], dtype=m.float64), check_dtype=False)',
     'OK'),
    ('ac(m.tensor([1,2]), m.tensor([1,3]))',
     'AssertionError: Tensor-likes are not equal!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 1 at index (1,)\nGreatest relative difference: 0.3333333432674408 at index (1,)'),
    ("ac(m.tensor([[1.,float('nan')]]), m.tensor([[1.,float('nan')]]))",
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: nan at index (0, 1) (up to 1e-05 allowed)\nGreatest relative difference: nan at index (0, 1) (up to 1.3e-06 allowed)'),
    ("ac(m.tensor([[1.,float('nan')]]), m.tensor([[1.,float('nan')]]), equal_nan=True)",
     'OK'),
    ('ac(1.0, 1.0 + 1e-9)',
     'OK'),
    ('ac(1.0, 1.1)',
     'AssertionError: Scalars are not close!\n\nExpected 1.1 but got 1.0.\nAbsolute difference: 0.10000000000000009 (up to 1e-07 allowed)\nRelative difference: 0.09090909090909098 (up to 1e-07 allowed)'),
    ('ac(1, 1.0)',
     "AssertionError: The (d)types do not match: <class 'int'> != <class 'float'>."),
    ('ac([m.tensor(1.), 2.0], [m.tensor(1.), 2.0])',
     'OK'),
    ('ac([m.tensor(1.), 2.0], [m.tensor(1.5), 2.0])',
     'AssertionError: Scalars are not close!\n\nExpected 1.5 but got 1.0.\nAbsolute difference: 0.5 (up to 1e-05 allowed)\nRelative difference: 0.3333333333333333 (up to 1.3e-06 allowed)\n\nThe failure occurred for item [0]'),
    ("ac({'a': m.tensor(1.)}, {'a': m.tensor(1.5)})",
     "AssertionError: Scalars are not close!\n\nExpected 1.5 but got 1.0.\nAbsolute difference: 0.5 (up to 1e-05 allowed)\nRelative difference: 0.3333333333333333 (up to 1.3e-06 allowed)\n\nThe failure occurred for item ['a']"),
    ("ac({'a': m.tensor(1.)}, {'b': m.tensor(1.)})",
     "AssertionError: The keys of the mappings do not match:\nMissing keys in the actual mapping: ['b']\nAdditional keys in the actual mapping: ['a']"),
    ('ac([1,2], [1,2,3])',
     'AssertionError: The length of the sequences mismatch: 2 != 3'),
    ('ac(m.tensor([1.,2]), [1.,2])',
     "TypeError: No comparison pair was able to handle inputs of type <class 'torch.Tensor'> and <class 'list'>."),
    ('ac(m.tensor([1.,2]), m.tensor([1.,2]), rtol=0)',
     "ValueError: Both 'rtol' and 'atol' must be either specified or omitted, but got no atol."),
    ("ac(m.tensor([1.,2]), m.tensor([1.,2.5]), msg='custom')",
     'AssertionError: custom'),
    ("ac(m.tensor([1.,2]), m.tensor([1.,2.5]), msg=lambda s: 'X'+s[:10])",
     'AssertionError: XTensor-lik'),
    ('ac(m.tensor([1.,2]), m.tensor([1.,2.5]), atol=1, rtol=0)',
     'OK'),
    ('ac(m.tensor(True), m.tensor(False))',
     'AssertionError: Scalars are not equal!\n\nExpected False but got True.\nAbsolute difference: 1\nRelative difference: inf'),
    ('ac(m.zeros(2,3), m.ones(2,3))',
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 6 / 6 (100.0%)\nGreatest absolute difference: 1.0 at index (0, 0) (up to 1e-05 allowed)\nGreatest relative difference: 1.0 at index (0, 0) (up to 1.3e-06 allowed)'),
    ('ac(m.tensor([1.,2], requires_grad=True), m.tensor([1.,2]))',
     'OK'),
    ('ac(np.array([1.,2]), np.array([1.,2.5]))',
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 0.5 at index (1,) (up to 1e-07 allowed)\nGreatest relative difference: 0.2 at index (1,) (up to 1e-07 allowed)'),
    ("ac('a', 'a')",
     "TypeError: No comparison pair was able to handle inputs of type <class 'str'> and <class 'str'>."),
    ('ac(m.tensor([1.]), 1.0)',
     "TypeError: No comparison pair was able to handle inputs of type <class 'torch.Tensor'> and <class 'float'>."),
    ('ac(m.tensor([1., 2.]).half(), m.tensor([1., 2.001]).half())',
     'OK'),
    ('ac(m.tensor([1.]), m.tensor([2.]))',
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 1 (100.0%)\nGreatest absolute difference: 1.0 at index (0,) (up to 1e-05 allowed)\nGreatest relative difference: 0.5 at index (0,) (up to 1.3e-06 allowed)'),
    ('ac(m.nn.Parameter(m.tensor([1.])), m.tensor([1.]), allow_subclasses=False)',
     "TypeError: No comparison pair was able to handle inputs of type <class 'torch.nn.parameter.Parameter'> and <class 'torch.Tensor'>."),
    ('ac(m.nn.Parameter(m.tensor([1.])), m.tensor([1.]))',
     'OK'),
    ('ac(m.tensor([1,2]), m.tensor([1.,2.5]), check_dtype=False)',
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)\nGreatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 allowed)'),
    ('ac(m.tensor([1,2]).float(), m.tensor([1.,2.5]).half(), check_dtype=False)',
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)\nGreatest relative difference: 0.20000000298023224 at index (1,) (up to 0.001 allowed)'),
    ('ac(m.tensor([[1.,2],[3,4]]).t(), m.tensor([[1.,3],[2,4]]), check_stride=True)',
     "AssertionError: The values for attribute 'stride()' do not match: (1, 2) != (2, 1)."),
    ('ac(m.zeros(0), m.zeros(0))',
     'OK'),
    ("ac(m.tensor([float('inf')]), m.tensor([float('inf')]))",
     'OK'),
    ("ac(m.tensor([float('inf'), 1]), m.tensor([-float('inf'), 1]))",
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: inf at index (0,) (up to 1e-05 allowed)\nGreatest relative difference: nan at index (0,) (up to 1.3e-06 allowed)'),
    ('ac((1, 2), [1, 2])',
     'OK'),
    ('ac(None, None)',
     'OK'),
    ('ac(True, True)',
     'OK'),
    ('ac(2, 3)',
     'AssertionError: Scalars are not equal!\n\nExpected 3 but got 2.\nAbsolute difference: 1\nRelative difference: 0.3333333333333333'),
    ('ac(m.tensor([1, 2], dtype=m.uint8), m.tensor([3, 2], dtype=m.uint8))',
     'AssertionError: Tensor-likes are not equal!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 2 at index (0,)\nGreatest relative difference: 0.6666666865348816 at index (0,)'),
    ('ac(m.tensor([0.]), m.tensor([1e-6]))',
     'OK'),
    ('ac(m.tensor([0., 5]), m.tensor([1., 5]))',
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 1.0 at index (0,) (up to 1e-05 allowed)\nGreatest relative difference: 1.0 at index (0,) (up to 1.3e-06 allowed)'),
    ('ac(m.tensor([1., 2]), m.tensor([1., 2]), rtol=1e-3)',
     "ValueError: Both 'rtol' and 'atol' must be either specified or omitted, but got no atol."),
    ('ac([[m.tensor([1., 2])]], [[m.tensor([1., 3])]])',
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 1.0 at index (1,) (up to 1e-05 allowed)\nGreatest relative difference: 0.3333333432674408 at index (1,) (up to 1.3e-06 allowed)\n\nThe failure occurred for item [0][0]'),
    ('ac(m.tensor([[1., 2], [3, 4]]), m.tensor([[1., 2], [3, 4.5]]), rtol=0, atol=0)',
     'AssertionError: Tensor-likes are not equal!\n\nMismatched elements: 1 / 4 (25.0%)\nGreatest absolute difference: 0.5 at index (1, 1)\nGreatest relative difference: 0.1111111119389534 at index (1, 1)'),
    ('ac(m.tensor([1, 5]), m.tensor([2, 5]), rtol=0.1, atol=0)',
     'AssertionError: Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 1 at index (0,) (up to 0 allowed)\nGreatest relative difference: 0.5 at index (0,) (up to 0.1 allowed)'),
    ('ac(m.tensor([True, False]), m.tensor([True, True]))',
     'AssertionError: Tensor-likes are not equal!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 1 at index (1,)\nGreatest relative difference: 1.0 at index (1,)'),
    ('ac(m.tensor([1., 2], dtype=m.bfloat16), m.tensor([1., 2.01], dtype=m.bfloat16))',
     'OK'),
]


def _outcome(m, expr):
    try:
        eval(expr, {"ac": m.testing.assert_close, "m": m, "np": np})
    except Exception as e:  # noqa: BLE001 (the exception is the outcome)
        text = f"{type(e).__name__}: {e}"
        for ours, theirs in (("retrograd.tensor.Tensor", "torch.Tensor"),
                             ("retrograd.nn.parameter.Parameter", "torch.nn.parameter.Parameter")):
            text = text.replace(ours, theirs)
        return text
    return "OK"


@pytest.mark.parametrize("expr, expected", CASES, ids=[e for e, _ in CASES])
def test_assert_close(expr, expected):
    assert _outcome(retrograd, expr) == expected


@requires_torch
@pytest.mark.parametrize("expr, expected", CASES, ids=[e for e, _ in CASES])
def test_cases_are_torchs(expr, expected):
    assert _outcome(torch, expr) == expected

