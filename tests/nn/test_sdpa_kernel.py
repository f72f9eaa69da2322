"""torch.nn.attention.sdpa_kernel / SDPBackend and torch.backends.cuda's SDP switches: on the CPU
MATH runs any inputs, FLASH_ATTENTION the inputs torch's CPU flash kernel takes, and the other
backends none, with torch's errors; the switches come back after the block; MultiheadAttention's
SDPA path (need_weights=False) obeys them as torch's."""

import warnings

import numpy as np
import pytest
from helpers import rand, requires_torch, torch

import retrograd
import retrograd.backends.cuda as bc
import retrograd.nn.functional as F
from retrograd.backends import _sdp
from retrograd.nn.attention import SDPBackend, sdpa_kernel

B = SDPBackend
NO_BACKEND = "No viable backend for scaled_dot_product_attention was found"
NO_KERNEL = "No available kernel.  Aborting execution."

# backend choices: (name, backends) -- names so torch's enum can be built beside ours
CHOICES = [("MATH",), ("FLASH_ATTENTION",), ("EFFICIENT_ATTENTION",), ("CUDNN_ATTENTION",), ("OVERRIDEABLE",),
           ("ERROR",), (), ("CUDNN_ATTENTION", "MATH"), ("EFFICIENT_ATTENTION", "CUDNN_ATTENTION")]


def _qkv(*shapes, lib=retrograd, seed=0):
    shapes = shapes if len(shapes) == 3 else shapes * 3
    return [lib.tensor(rand(*s, seed=seed + i, dtype=np.float32)) for i, s in enumerate(shapes)]


# inputs torch's CPU flash kernel refuses (each with its reason), then ones it takes
FLASH_CASES = {
    "dropout": (((2, 3, 4, 8),), {"dropout_p": 0.5}, "non-zero dropout"),
    "3-D": (((3, 4, 8),), {}, "to be 4 dimensional, but got Query dim: 3"),
    "batch broadcast": (((2, 3, 4, 8), (1, 3, 5, 8), (1, 3, 5, 8)), {}, "the same batch_size"),
    "head broadcast": (((2, 3, 4, 8), (2, 1, 5, 8), (2, 1, 5, 8)), {}, "the same num_heads"),
    "value size": (((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)), {}, r"Value.size\(-1\): 6"),
    "gqa": (((2, 6, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)), {"enable_gqa": True}, None),
    "bool mask, causal, scale": (((2, 3, 4, 8),), {"attn_mask": "bool", "scale": 0.3}, None),
    "float mask": (((2, 3, 4, 8),), {"attn_mask": "float", "is_causal": False}, None),
}


def _kwargs(kwargs, lib):
    out = dict(kwargs)
    if out.get("attn_mask") == "bool":
        out["attn_mask"] = lib.ones(4, 4, dtype=lib.bool).tril()
    elif out.get("attn_mask") == "float":
        out["attn_mask"] = lib.zeros(4, 4)
    return out


@pytest.mark.parametrize("choice", CHOICES, ids=lambda c: "+".join(c) or "none")
def test_which_backends_run_on_the_cpu(choice):
    q, k, v = _qkv((2, 3, 4, 8))
    expected = F.scaled_dot_product_attention(q, k, v).numpy()
    runs = "MATH" in choice or "FLASH_ATTENTION" in choice
    with sdpa_kernel([getattr(B, name) for name in choice]):
        if runs:
            np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v).numpy(), expected)
        else:
            with pytest.raises(RuntimeError, match=NO_BACKEND):
                F.scaled_dot_product_attention(q, k, v)


@pytest.mark.parametrize("case", FLASH_CASES)
def test_flash_alone_takes_the_inputs_torchs_cpu_flash_kernel_takes(case):
    shapes, kwargs, reason = FLASH_CASES[case]
    q, k, v = _qkv(*shapes)
    kwargs = _kwargs(kwargs, retrograd)
    with sdpa_kernel(B.FLASH_ATTENTION):
        if reason is None:
            F.scaled_dot_product_attention(q, k, v, **kwargs)
        else:
            with pytest.warns(UserWarning, match="Flash attention kernel not used because"), \
                    pytest.warns(UserWarning, match=reason), pytest.raises(RuntimeError, match=NO_KERNEL):
                F.scaled_dot_product_attention(q, k, v, **kwargs)
    with sdpa_kernel([B.FLASH_ATTENTION, B.MATH]), warnings.catch_warnings():
        warnings.simplefilter("error")  # math takes the rest, silently
        F.scaled_dot_product_attention(q, k, v, **kwargs)


def test_flash_refuses_a_strided_last_dim_and_a_mask_that_requires_grad():
    q = retrograd.randn(2, 3, 8, 4).transpose(-1, -2)
    k = retrograd.randn(2, 3, 4, 8)
    with sdpa_kernel(B.FLASH_ATTENTION), pytest.warns(UserWarning), pytest.raises(RuntimeError, match=NO_KERNEL):
        F.scaled_dot_product_attention(q, k, k)
    mask = retrograd.zeros(4, 4, requires_grad=True)
    with sdpa_kernel(B.FLASH_ATTENTION), pytest.warns(UserWarning), pytest.raises(RuntimeError, match=NO_KERNEL):
        F.scaled_dot_product_attention(k, k, k, attn_mask=mask)


def test_switches_come_back_after_the_block_and_as_a_decorator():
    assert _sdp.enabled == set(_sdp.DEFAULT_ORDER)
    bc.enable_math_sdp(False)
    try:
        with sdpa_kernel(B.FLASH_ATTENTION):
            assert bc.flash_sdp_enabled() and not bc.mem_efficient_sdp_enabled() and not bc.cudnn_sdp_enabled()
        assert not bc.math_sdp_enabled() and bc.flash_sdp_enabled() and bc.mem_efficient_sdp_enabled()
        with pytest.raises(ValueError), sdpa_kernel(B.MATH):
            raise ValueError
        assert not bc.math_sdp_enabled()
    finally:
        bc.enable_math_sdp(True)

    @sdpa_kernel(B.MATH)
    def inside():
        return bc.math_sdp_enabled(), bc.flash_sdp_enabled()

    assert inside() == (True, False) and bc.flash_sdp_enabled()


def test_set_priority_orders_the_backends_as_torch():
    with sdpa_kernel([B.CUDNN_ATTENTION, B.FLASH_ATTENTION], set_priority=True):
        assert [int(b) for b in _sdp.priority] == [3, 1, 2, 0, 4]  # torch._C._get_sdp_priority_order()
    with sdpa_kernel([B.CUDNN_ATTENTION, B.FLASH_ATTENTION]):
        assert [int(b) for b in _sdp.priority] == [1, 2, 0, 3, 4]


def test_backend_enum_and_errors():
    assert repr(B.MATH) == "<SDPBackend.MATH: 0>" and str(B.MATH) == "SDPBackend.MATH"
    assert int(B.ERROR) == -1 and B(3) is B.CUDNN_ATTENTION and B.MATH != 0
    assert bc.SDPBackend is B and retrograd.nn.attention.SDPBackend is B
    for bad in ("MATH", (B.MATH,), 0, ["x"]):
        with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend or a list"), \
                sdpa_kernel(bad):
            pass
    with pytest.raises(RuntimeError, match="enable_math_sdp expects a bool, but got int"):
        bc.enable_math_sdp(1)


def test_cuda_sdp_switches():
    bc.enable_flash_sdp(False)
    bc.enable_math_sdp(False)
    try:
        with pytest.raises(RuntimeError, match=NO_BACKEND):
            F.scaled_dot_product_attention(*_qkv((2, 3, 4, 8)))
    finally:
        bc.enable_flash_sdp(True)
        bc.enable_math_sdp(True)
    with pytest.warns(FutureWarning, match=r"torch.backends.cuda.sdp_kernel\(\)` is deprecated"):
        with bc.sdp_kernel(enable_cudnn=False):
            assert (bc.flash_sdp_enabled(), bc.math_sdp_enabled(), bc.cudnn_sdp_enabled()) == (True, True, False)
            assert B.OVERRIDEABLE not in _sdp.enabled
    assert bc.cudnn_sdp_enabled() and not bc.is_flash_attention_available() and not bc.is_ck_sdpa_available()
    assert not bc.fp16_bf16_reduction_math_sdp_allowed()
    bc.allow_fp16_bf16_reduction_math_sdp(True)
    assert bc.fp16_bf16_reduction_math_sdp_allowed()
    bc.allow_fp16_bf16_reduction_math_sdp(False)


def test_multihead_attention_uses_sdpa_only_without_weights():
    m = retrograd.nn.MultiheadAttention(8, 2)
    x = retrograd.randn(5, 3, 8)
    with sdpa_kernel(B.EFFICIENT_ATTENTION):
        m(x, x, x)  # need_weights=True: not torch's SDPA path
        with pytest.raises(RuntimeError, match=NO_BACKEND):
            m(x, x, x, need_weights=False)


def test_on_cuda_only_the_math_kernel_is_there():
    class OnCuda:
        device = retrograd.device("cuda")

    with sdpa_kernel(B.FLASH_ATTENTION), pytest.raises(NotImplementedError, match="only the math kernel"):
        _sdp.check(OnCuda, OnCuda, OnCuda, None, 0.0, False)
    with sdpa_kernel(B.MATH):
        _sdp.check(OnCuda, OnCuda, OnCuda, None, 0.0, False)


@requires_torch
@pytest.mark.parametrize("choice", CHOICES, ids=lambda c: "+".join(c) or "none")
@pytest.mark.parametrize("case", FLASH_CASES)
def test_runs_and_refusals_equal_torchs(choice, case):
    shapes, kwargs, _ = FLASH_CASES[case]
    outcomes = []
    for lib, attention in ((retrograd, retrograd.nn.attention), (torch, torch.nn.attention)):
        q, k, v = _qkv(*shapes, lib=lib)
        try:
            with attention.sdpa_kernel([getattr(attention.SDPBackend, n) for n in choice]), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lib.manual_seed(0)
                out = lib.nn.functional.scaled_dot_product_attention(q, k, v, **_kwargs(kwargs, lib))
            outcomes.append(("ok", tuple(out.shape)) if "dropout_p" in kwargs else ("ok", out.numpy()))
        except RuntimeError as e:
            outcomes.append(("error", str(e).split(" (retrograd:")[0]))
    (ours, our_value), (theirs, their_value) = outcomes
    assert ours == theirs
    if ours == "ok" and isinstance(our_value, np.ndarray):
        np.testing.assert_allclose(our_value, their_value, rtol=1e-5, atol=1e-6)
    else:
        assert our_value == their_value
