# ruff: noqa: E501  (expected reprs are long literal strings)
"""Tensor repr in torch's exact layout: formats, widths, summarisation, suffixes.

Each expected string was printed by torch 2.13; where torch is installed the test also
prints the same expression with torch and compares.
"""

import math

import pytest

import retrograd
from tests.helpers import torch

CASES = [
    ('tensor(2.)',
     'tensor(2.)'),
    ('tensor(3)',
     'tensor(3)'),
    ('tensor(True)',
     'tensor(True)'),
    ('tensor(-5.5)',
     'tensor(-5.5000)'),
    ('tensor(1e-08)',
     'tensor(1.0000e-08)'),
    ('tensor(nan)',
     'tensor(nan)'),
    ('tensor([1., 2., 3.])',
     'tensor([1., 2., 3.])'),
    ('tensor([1.5, -2.25, 3.])',
     'tensor([ 1.5000, -2.2500,  3.0000])'),
    ('tensor([-1, 2, -300])',
     'tensor([  -1,    2, -300])'),
    ('tensor([True, False])',
     'tensor([ True, False])'),
    ('tensor([1e-05, 1.0])',
     'tensor([1.0000e-05, 1.0000e+00])'),
    ('tensor([1e10, 1.0])',
     'tensor([1.0000e+10, 1.0000e+00])'),
    ('tensor([123456789.0])',
     'tensor([1.2346e+08])'),
    ('tensor([1e8, 1.])',
     'tensor([1.0000e+08, 1.0000e+00])'),
    ('tensor([1., 1001.])',
     'tensor([1.0000e+00, 1.0010e+03])'),
    ('tensor([1., 1000.])',
     'tensor([   1., 1000.])'),
    ('tensor([0.1, 0.25, 100.])',
     'tensor([  0.1000,   0.2500, 100.0000])'),
    ('tensor([1.23456789, 2.])',
     'tensor([1.2346, 2.0000])'),
    ('tensor([0., 0.])',
     'tensor([0., 0.])'),
    ('tensor([-0., 0.])',
     'tensor([-0., 0.])'),
    ('tensor([nan, 1., inf])',
     'tensor([nan, 1., inf])'),
    ('tensor([nan, 1.5, -inf])',
     'tensor([   nan, 1.5000,   -inf])'),
    ('tensor([inf, 0.])',
     'tensor([inf, 0.])'),
    ('tensor([[nan, 2.], [3., 4.]])',
     'tensor([[nan, 2.],\n        [3., 4.]])'),
    ('tensor([[1., 2.], [3., 4.]])',
     'tensor([[1., 2.],\n        [3., 4.]])'),
    ('tensor([[[1., 2.], [3., 4.]], [[5., 6.], [7., 8.]]])',
     'tensor([[[1., 2.],\n         [3., 4.]],\n\n        [[5., 6.],\n         [7., 8.]]])'),
    ('tensor([[1e-05, 2.], [3., 400000.]])',
     'tensor([[1.0000e-05, 2.0000e+00],\n        [3.0000e+00, 4.0000e+05]])'),
    ('arange(25).reshape(5, 5) - 12',
     'tensor([[-12, -11, -10,  -9,  -8],\n        [ -7,  -6,  -5,  -4,  -3],\n        [ -2,  -1,   0,   1,   2],\n        [  3,   4,   5,   6,   7],\n        [  8,   9,  10,  11,  12]])'),
    ('arange(100.) / 7',
     'tensor([ 0.0000,  0.1429,  0.2857,  0.4286,  0.5714,  0.7143,  0.8571,  1.0000,\n         1.1429,  1.2857,  1.4286,  1.5714,  1.7143,  1.8571,  2.0000,  2.1429,\n         2.2857,  2.4286,  2.5714,  2.7143,  2.8571,  3.0000,  3.1429,  3.2857,\n         3.4286,  3.5714,  3.7143,  3.8571,  4.0000,  4.1429,  4.2857,  4.4286,\n         4.5714,  4.7143,  4.8571,  5.0000,  5.1429,  5.2857,  5.4286,  5.5714,\n         5.7143,  5.8571,  6.0000,  6.1429,  6.2857,  6.4286,  6.5714,  6.7143,\n         6.8571,  7.0000,  7.1429,  7.2857,  7.4286,  7.5714,  7.7143,  7.8571,\n         8.0000,  8.1429,  8.2857,  8.4286,  8.5714,  8.7143,  8.8571,  9.0000,\n         9.1429,  9.2857,  9.4286,  9.5714,  9.7143,  9.8571, 10.0000, 10.1429,\n        10.2857, 10.4286, 10.5714, 10.7143, 10.8571, 11.0000, 11.1429, 11.2857,\n        11.4286, 11.5714, 11.7143, 11.8571, 12.0000, 12.1429, 12.2857, 12.4286,\n        12.5714, 12.7143, 12.8571, 13.0000, 13.1429, 13.2857, 13.4286, 13.5714,\n        13.7143, 13.8571, 14.0000, 14.1429])'),
    ('arange(60.).reshape(3, 20) * 11.1',
     'tensor([[  0.0000,  11.1000,  22.2000,  33.3000,  44.4000,  55.5000,  66.6000,\n          77.7000,  88.8000,  99.9000, 111.0000, 122.1000, 133.2000, 144.3000,\n         155.4000, 166.5000, 177.6000, 188.7000, 199.8000, 210.9000],\n        [222.0000, 233.1000, 244.2000, 255.3000, 266.4000, 277.5000, 288.6000,\n         299.7000, 310.8000, 321.9000, 333.0000, 344.1000, 355.2000, 366.3000,\n         377.4000, 388.5000, 399.6000, 410.7000, 421.8000, 432.9000],\n        [444.0000, 455.1000, 466.2000, 477.3000, 488.4000, 499.5000, 510.6000,\n         521.7000, 532.8000, 543.9000, 555.0000, 566.1000, 577.2000, 588.3000,\n         599.4000, 610.5000, 621.6000, 632.7000, 643.8000, 654.9000]])'),
    ('arange(2000.)',
     'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])'),
    ('arange(2000)',
     'tensor([   0,    1,    2,  ..., 1997, 1998, 1999])'),
    ('arange(1200).reshape(40, 30)',
     'tensor([[   0,    1,    2,  ...,   27,   28,   29],\n        [  30,   31,   32,  ...,   57,   58,   59],\n        [  60,   61,   62,  ...,   87,   88,   89],\n        ...,\n        [1110, 1111, 1112,  ..., 1137, 1138, 1139],\n        [1140, 1141, 1142,  ..., 1167, 1168, 1169],\n        [1170, 1171, 1172,  ..., 1197, 1198, 1199]])'),
    ('arange(2000.).reshape(2, 1000)',
     'tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.9700e+02, 9.9800e+02,\n         9.9900e+02],\n        [1.0000e+03, 1.0010e+03, 1.0020e+03,  ..., 1.9970e+03, 1.9980e+03,\n         1.9990e+03]])'),
    ('ones(1001).bool()',
     'tensor([True, True, True,  ..., True, True, True])'),
    ('tensor([1., 2.], dtype=float64)',
     'tensor([1., 2.], dtype=torch.float64)'),
    ('tensor([1., 2.], dtype=float16)',
     'tensor([1., 2.], dtype=torch.float16)'),
    ('tensor([1.5, 2.], dtype=bfloat16)',
     'tensor([1.5000, 2.0000], dtype=torch.bfloat16)'),
    ('tensor([1, 2], dtype=int32)',
     'tensor([1, 2], dtype=torch.int32)'),
    ('tensor([1, 2], dtype=uint8)',
     'tensor([1, 2], dtype=torch.uint8)'),
    ('tensor([1, 2, 3], dtype=int8)',
     'tensor([1, 2, 3], dtype=torch.int8)'),
    ('tensor([1, 2], dtype=int16)',
     'tensor([1, 2], dtype=torch.int16)'),
    ('zeros(0)',
     'tensor([])'),
    ('zeros(2, 0)',
     'tensor([], size=(2, 0))'),
    ('zeros(0, 3, dtype=int32)',
     'tensor([], size=(0, 3), dtype=torch.int32)'),
    ('zeros(0, 3, dtype=int64)',  # (int64 and bool name their dtype when no value shows it)
     'tensor([], size=(0, 3), dtype=torch.int64)'),
    ('zeros(0, dtype=bool)',
     'tensor([], dtype=torch.bool)'),
    ('zeros(2, 0, dtype=float64, requires_grad=True)',
     'tensor([], size=(2, 0), dtype=torch.float64, requires_grad=True)'),
    ('tensor([1., 2.], requires_grad=True)',
     'tensor([1., 2.], requires_grad=True)'),
    ('tensor([1., 2.], requires_grad=True) * 2',
     'tensor([2., 4.], grad_fn=<MulBackward0>)'),
    ('tensor([1., 2.], dtype=float64, requires_grad=True) + 1',
     'tensor([2., 3.], dtype=torch.float64, grad_fn=<AddBackward0>)'),
    ('tensor([[1., 2.], [3., 4.]], requires_grad=True).sum(0)',
     'tensor([4., 6.], grad_fn=<SumBackward1>)'),
    ('tensor([[1., 2.], [3., 4.]], requires_grad=True).sum()',
     'tensor(10., grad_fn=<SumBackward0>)'),
    ('tensor([38.5, 251., 1640.], dtype=bfloat16, requires_grad=True) * 1',
     'tensor([  38.5000,  251.0000, 1640.0000], dtype=torch.bfloat16,\n       grad_fn=<MulBackward0>)'),
    ('tensor([1.5, 2.5, 3.5, 4.25, 5.5, 6.5, 7.5, 8.5, 9.125], dtype=float16, requires_grad=True) * 1',
     'tensor([1.5000, 2.5000, 3.5000, 4.2500, 5.5000, 6.5000, 7.5000, 8.5000, 9.1250],\n       dtype=torch.float16, grad_fn=<MulBackward0>)'),
    ('tensor([1.5, 2.5, 3.5, 4.25, 5.5, 6.5, 7.5, 8.5, 9.125, 11.5, 12.5, 13.5], requires_grad=True)',
     'tensor([ 1.5000,  2.5000,  3.5000,  4.2500,  5.5000,  6.5000,  7.5000,  8.5000,\n         9.1250, 11.5000, 12.5000, 13.5000], requires_grad=True)'),
]

_NAMES = ["tensor", "arange", "ones", "zeros", "float64", "float16", "bfloat16", "int32", "uint8",
          "int8", "int16", "int64", "bool"]


def _eval(module, expr):
    ns = {k: getattr(module, k) for k in _NAMES}
    ns.update(nan=math.nan, inf=math.inf)
    return eval(expr, ns)


@pytest.mark.parametrize("expr,expected", CASES, ids=[c[0] for c in CASES])
def test_repr_matches_torch(expr, expected):
    assert repr(_eval(retrograd, expr)) == expected
    if torch is not None:
        assert repr(_eval(torch, expr)) == expected


def test_str_equals_repr_and_print(capsys):
    t = retrograd.tensor([1.0, 2.0], requires_grad=True)
    print(t)
    assert capsys.readouterr().out == "tensor([1., 2.], requires_grad=True)\n"
    assert str(t) == repr(t)


def test_parameter_repr():
    p = retrograd.nn.Parameter(retrograd.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"


def test_default_dtype_changes_the_dtype_suffix():
    retrograd.set_default_dtype(retrograd.float64)
    try:
        assert repr(retrograd.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"
        assert repr(retrograd.tensor([1.5], dtype=retrograd.float32)) == (
            "tensor([1.5000], dtype=torch.float32)")
    finally:
        retrograd.set_default_dtype(retrograd.float32)


def test_format_of_zero_dim_tensor():
    assert f"{retrograd.tensor(2.5):.2f}" == "2.50"
    assert f"{retrograd.tensor(3)}" == "3"


def test_views_and_non_contiguous_tensors_print_their_values():
    x = retrograd.arange(6.0).reshape(2, 3)
    assert repr(x.t()) == "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])"
    assert repr(x[:, ::2]) == "tensor([[0., 2.],\n        [3., 5.]])"


PRINT_OPTIONS = [
    ({'precision': 2}, 'tensor([1.23456, 2.5, 0.001])',
     'tensor([1.23e+00, 2.50e+00, 1.00e-03])'),
    ({'precision': 2}, 'arange(12.).reshape(3, 4) / 7',
     'tensor([[0.00, 0.14, 0.29, 0.43],\n        [0.57, 0.71, 0.86, 1.00],\n        [1.14, 1.29, 1.43, 1.57]])'),
    ({'sci_mode': True}, 'tensor([1., 2.])',
     'tensor([1.0000e+00, 2.0000e+00])'),
    ({'sci_mode': False}, 'tensor([1.23456, 2.5, 1e-5])',
     'tensor([1.2346, 2.5000, 0.0000])'),
    ({'threshold': 5}, 'arange(10)',
     'tensor([0, 1, 2,  ..., 7, 8, 9])'),
    ({'edgeitems': 1, 'threshold': 5}, 'arange(10)',
     'tensor([0,  ..., 9])'),
    ({'linewidth': 30}, 'arange(10.)',
     'tensor([0., 1., 2., 3., 4.,\n        5., 6., 7., 8., 9.])'),
    ({'profile': 'short'}, 'tensor([1.23456, 2.5])',
     'tensor([1.23, 2.50])'),
    ({'profile': 'bad'}, 'tensor([1.23456, 2.5])',  # an unknown profile changes nothing
     'tensor([1.2346, 2.5000])'),
    ({'edgeitems': 0}, 'tensor([1.5, 2.25])',  # edgeitems=0: every size shows, a summary is [...]
     'tensor([1.5000, 2.2500], size=(2,))'),
    ({'edgeitems': 0}, 'ones(2, 600)',
     'tensor([...], size=(2, 600))'),
    ({'edgeitems': 0}, 'ones(1200, dtype=int64)',
     'tensor([...], size=(1200,))'),
    ({'edgeitems': 0}, 'ones(0)',
     'tensor([])'),
    ({'edgeitems': -1, 'threshold': 5}, 'arange(8.)',  # torch's slices [:-1] and [1:]
     'tensor([0., 1., 2., 3., 4., 5., 6.,  ..., 1., 2., 3., 4., 5., 6., 7.])'),
    ({'threshold': -1, 'edgeitems': 2}, 'arange(5.)',
     'tensor([0., 1.,  ..., 3., 4.])'),
    ({'linewidth': -5}, 'tensor([1.5, 2.])',
     'tensor([1.5000,\n        2.0000])'),
]


def test_set_printoptions_keeps_any_value_and_fails_when_printing_as_torch():
    # torch 2.13 stores every value unchecked: an unknown profile leaves the options as they were, a bad
    # value raises what Python raises when a tensor is printed with it
    modules = [retrograd] if torch is None else [retrograd, torch]
    bad = [({"precision": "a"}, ValueError), ({"precision": 2.5}, ValueError), ({"threshold": "a"}, TypeError),
           ({"linewidth": "a"}, TypeError)]
    for module in modules:
        try:
            module.set_printoptions(precision=7)
            module.set_printoptions(profile="bad")
            assert repr(module.tensor([1 / 3])) == "tensor([0.3333333])", module.__name__
            for options, error in bad:
                module.set_printoptions(profile="default")
                module.set_printoptions(**options)
                with pytest.raises(error):
                    repr(module.tensor([1.5, 2.25]))
        finally:
            module.set_printoptions(profile="default")


@pytest.mark.parametrize("options,expr,expected", PRINT_OPTIONS)
def test_set_printoptions_like_torch(options, expr, expected):
    modules = [retrograd] if torch is None else [retrograd, torch]
    for module in modules:
        module.set_printoptions(**options)
        try:
            assert repr(_eval(module, expr)) == expected, module.__name__
        finally:
            module.set_printoptions(profile="default")
