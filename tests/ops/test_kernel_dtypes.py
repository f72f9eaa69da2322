"""Inputs torch refuses are refused with torch's exception type (found by the differential
fuzz test, tests/ops/test_fuzz_torch.py): integer/bool tensors to float-only kernels,
floats to bitwise kernels, bool tensors to arithmetic without a Bool kernel, Python numbers
where torch requires a Tensor, and the dim checks of 0-d and empty tensors.

Each case names the exception torch 2.13 raises (None: torch returns a result); with torch
installed the test also checks that torch still does so."""

import pytest

import retrograd
from helpers import torch


def _t(L, values, dtype):
    return L.tensor(values, dtype=getattr(L, dtype))


CASES = {
    # float-only kernels given integer or bool tensors
    "mse_loss int": (lambda L: L.nn.functional.mse_loss(_t(L, [1, 2], "int64"), _t(L, [1, 2], "int64")),
                     NotImplementedError),
    "mse_loss none bool": (lambda L: L.nn.functional.mse_loss(_t(L, [True], "bool"), _t(L, [True], "bool"),
                                                              reduction="none"), NotImplementedError),
    "smooth_l1_loss int": (lambda L: L.nn.functional.smooth_l1_loss(_t(L, [1], "int64"), _t(L, [1], "int64")),
                           NotImplementedError),
    "huber_loss int": (lambda L: L.nn.functional.huber_loss(_t(L, [1], "int64"), _t(L, [1], "int64")),
                       NotImplementedError),
    "glu int": (lambda L: L.nn.functional.glu(_t(L, [1, 2], "int64")), NotImplementedError),
    "layer_norm int": (lambda L: L.nn.functional.layer_norm(_t(L, [1, 2], "int64"), (2,)), NotImplementedError),
    "softmax int": (lambda L: L.softmax(_t(L, [1, 2], "int32"), 0), NotImplementedError),
    "softmax empty int": (lambda L: L.softmax(_t(L, [], "int32"), 0), None),
    "log_softmax uint8": (lambda L: L.log_softmax(_t(L, [1, 2], "uint8"), 0), NotImplementedError),
    "softmax 0-d dim 5": (lambda L: L.softmax(_t(L, 1.0, "float32"), 5), IndexError),
    "cross_entropy int input": (lambda L: L.nn.functional.cross_entropy(_t(L, [1, 2], "int64"), _t(L, 0, "int64")),
                                NotImplementedError),
    "hypot int int": (lambda L: L.hypot(_t(L, [1], "int64"), _t(L, [1], "int64")), NotImplementedError),
    "hypot int float": (lambda L: L.hypot(_t(L, [1], "int32"), _t(L, [1.0], "float32")), None),
    "frac int": (lambda L: L.frac(_t(L, [1], "int64")), NotImplementedError),
    # bool tensors where torch has no Bool kernel
    "floor bool": (lambda L: L.floor(_t(L, [True], "bool")), NotImplementedError),
    "round bool": (lambda L: L.round(_t(L, [True], "bool")), NotImplementedError),
    "floor int": (lambda L: L.floor(_t(L, [3], "int64")), None),
    "abs bool": (lambda L: L.abs(_t(L, [True], "bool")), NotImplementedError),
    "softsign bool": (lambda L: L.nn.functional.softsign(_t(L, [True], "bool")), NotImplementedError),
    "hardshrink int": (lambda L: L.nn.functional.hardshrink(_t(L, [1, 2], "int64")), NotImplementedError),
    "hardshrink bool": (lambda L: L.nn.functional.hardshrink(_t(L, [True], "bool")), NotImplementedError),
    "hardtanh bool": (lambda L: L.nn.functional.hardtanh(_t(L, [True], "bool")), RuntimeError),
    "median bool": (lambda L: L.median(_t(L, [True, False], "bool")), NotImplementedError),
    "median dim bool": (lambda L: L.median(_t(L, [True, False], "bool"), 0), NotImplementedError),
    "argmax bool": (lambda L: L.argmax(_t(L, [True, False], "bool")), RuntimeError),
    "fmod bool bool": (lambda L: L.fmod(_t(L, [True], "bool"), _t(L, [True], "bool")), NotImplementedError),
    "fmod bool int": (lambda L: L.fmod(_t(L, [True], "bool"), 2), None),
    "fmod uint8 True": (lambda L: L.fmod(_t(L, [3], "uint8"), True), None),
    "remainder bool": (lambda L: L.remainder(_t(L, [True], "bool"), _t(L, [True], "bool")), NotImplementedError),
    "floor_divide bool": (lambda L: L.floor_divide(_t(L, [True], "bool"), _t(L, [True], "bool")),
                          NotImplementedError),
    "fmod int by zero, empty result": (lambda L: L.fmod(L.zeros(1, 0, 4, dtype=L.int16),
                                                        L.zeros(1, 1, 4, dtype=L.int16)), None),
    "sub bool - float": (lambda L: _t(L, [True], "bool") - _t(L, [1.0], "float32"), RuntimeError),
    "sub float - bool": (lambda L: _t(L, [1.0], "float32") - _t(L, [True], "bool"), RuntimeError),
    "sub bool - 1": (lambda L: _t(L, [True], "bool") - 1, RuntimeError),
    "pow bool bool": (lambda L: L.pow(_t(L, [True], "bool"), _t(L, [True], "bool")), NotImplementedError),
    # integer-only kernels given floats
    "bitwise_and float": (lambda L: L.bitwise_and(_t(L, [1.0], "float64"), _t(L, [1.0], "float64")),
                          NotImplementedError),
    "bitwise_and int & 1.5": (lambda L: _t(L, [1], "int64") & 1.5, NotImplementedError),
    "bitwise_not half": (lambda L: L.bitwise_not(_t(L, [1.0], "float16")), NotImplementedError),
    "~ half": (lambda L: ~_t(L, [1.0], "float16"), TypeError),
    "left shift float": (lambda L: _t(L, [1.0], "float32") << 1, NotImplementedError),
    # a Python number where torch requires a Tensor
    "atan2 scalar": (lambda L: L.atan2(_t(L, [1.0], "float32"), 2.0), TypeError),
    "hypot scalar": (lambda L: L.hypot(_t(L, [1.0], "float32"), 2), TypeError),
    "logical_and scalar": (lambda L: L.logical_and(_t(L, [1.0], "float32"), 2), TypeError),
    "logaddexp scalar": (lambda L: L.logaddexp(_t(L, [1.0], "float32"), 1.0), TypeError),
    "isclose scalar": (lambda L: L.isclose(_t(L, [1.0], "float32"), 1.0), TypeError),
    # dims of 0-d and empty tensors, and argument types
    "roll 0-d dim 0": (lambda L: L.roll(_t(L, 1.0, "float32"), 1, 0), IndexError),
    "roll empty, dim out of range": (lambda L: L.roll(L.zeros(1, 0, 1), 1, 3), None),
    "transpose 0-d dim 1": (lambda L: _t(L, 1.0, "float32").transpose(0, 1), IndexError),
    "prod 0-d dim -2": (lambda L: L.prod(_t(L, 2, "int64"), -2), IndexError),
    "prod tuple dim": (lambda L: L.prod(_t(L, [2.0], "float32"), (0,)), TypeError),
    "permute no dims": (lambda L: _t(L, 1.0, "float32").permute(), TypeError),
    "index_select dim 0 out of range": (lambda L: L.zeros(3, 2).index_select(0, _t(L, [3], "int64")), IndexError),
    "index_select dim 1 out of range": (lambda L: L.zeros(3, 2).index_select(1, _t(L, [3], "int64")),
                                        RuntimeError),
    "index_select empty dim 0": (lambda L: L.zeros(0, 2).index_select(0, _t(L, [3], "int64")), RuntimeError),
    "index_select empty rows": (lambda L: L.zeros(2, 0).index_select(0, _t(L, [2], "int64")), RuntimeError),
    "index_select empty 1-d": (lambda L: L.zeros(0).index_select(0, _t(L, [1], "int64")), IndexError),
    "index_select 0-d, dim 1": (lambda L: _t(L, 1.0, "float32").index_select(1, _t(L, [0, 0], "int64")), IndexError),
    "median empty bool": (lambda L: L.median(L.zeros(0, 3, dtype=L.bool)), None),
    "median empty bool, dim": (lambda L: L.median(L.zeros(1, 0, dtype=L.bool), 0), NotImplementedError),
    "median empty reduced dim bool": (lambda L: L.median(L.zeros(1, 0, dtype=L.bool), 1), IndexError),
    "nanmedian bool": (lambda L: L.nanmedian(_t(L, [True, False], "bool")), NotImplementedError),
    "nanmedian dim bool": (lambda L: L.nanmedian(_t(L, [[True, False]], "bool"), 1), NotImplementedError),
    "nanmedian 0-d bool dim 3": (lambda L: L.nanmedian(_t(L, True, "bool"), 3), IndexError),
    "left shift bool << bool": (lambda L: _t(L, [True], "bool") << _t(L, [True], "bool"), NotImplementedError),
    "left shift bool << True": (lambda L: _t(L, [True], "bool") << True, NotImplementedError),
    "right shift bool >> 0-d bool": (lambda L: L.bitwise_right_shift(_t(L, [True], "bool"), _t(L, True, "bool")),
                                     NotImplementedError),
    "left shift bool << int8": (lambda L: _t(L, [True], "bool") << _t(L, 1, "int8"), None),
    "index_select 0-d, 3 indices": (lambda L: _t(L, 1.0, "float32").index_select(0, _t(L, [0, 0, 0], "int64")),
                                    RuntimeError),
    "linear 3-d weight": (lambda L: L.nn.functional.linear(L.ones(2, 4), L.ones(2, 4, 4)), RuntimeError),
    "cross_entropy 0-d input": (lambda L: L.nn.functional.cross_entropy(_t(L, 1.0, "float32"), _t(L, 0, "int64")),
                                RuntimeError),
    "cross_entropy no rows, no classes": (lambda L: L.nn.functional.cross_entropy(
        L.zeros(0, 0), L.zeros(0, dtype=L.int64), reduction="none"), None),
    "cross_entropy no classes": (lambda L: L.nn.functional.cross_entropy(L.zeros(4, 0), L.zeros(4, dtype=L.int64)),
                                 IndexError),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refused_as_torch_refuses(name):
    fn, expected = CASES[name]
    if torch is not None:  # the recorded expectation is still torch's behaviour
        if expected is None:
            fn(torch)
        else:
            with pytest.raises(expected):
                fn(torch)
    if expected is None:
        fn(retrograd)
        return
    with pytest.raises(Exception) as info:
        fn(retrograd)
    assert type(info.value) is expected, f"retrograd raised {type(info.value).__name__}: {info.value}"


def test_errors_name_torch_scalar_types():
    with pytest.raises(NotImplementedError, match="\"mse_cpu\" not implemented for 'Long'"):
        retrograd.nn.functional.mse_loss(retrograd.tensor([1]), retrograd.tensor([1]))
    with pytest.raises(NotImplementedError, match="not implemented for 'Half'"):
        retrograd.bitwise_not(retrograd.tensor([1.0], dtype=retrograd.float16))


def test_bool_powers_keep_torch_dtypes():
    b = retrograd.tensor([True, False])
    assert (b ** True).dtype == retrograd.bool and (b ** True).tolist() == [True, False]
    assert (b ** False).tolist() == [True, True]
    assert retrograd.square(b).dtype == retrograd.int64


@pytest.mark.parametrize("fn", [
    lambda r: r.clamp(r.tensor([True]), max=True), lambda r: r.clamp(r.tensor([True]), r.tensor(False), r.tensor([True])),
    lambda r: r.clamp_min(r.tensor([True]), False), lambda r: r.tensor([True]).clamp_max(True)])
def test_clamp_of_bool_tensors_is_refused_as_torch(fn):
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        fn(retrograd)
    assert retrograd.tensor([True]).clamp_max(retrograd.tensor([False])).tolist() == [False]  # minimum's kernel
