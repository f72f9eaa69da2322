"""copysign, ldexp, frexp, nextafter, heaviside, gcd, lcm: values (and gradients where torch
has them) against torch, its errors, and the dtypes of the results."""

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op
from tests.reference.store import reference


def _away_from_zero(shape, seed):
    x = np.random.default_rng(seed).uniform(0.2, 2.0, shape)
    return x * np.where(np.random.default_rng(seed + 1).random(shape) < 0.5, -1, 1)


def test_copysign_values_and_gradients():
    check_op(lambda t, a, b: t.copysign(a, b), _away_from_zero((3, 4), 0), _away_from_zero((4,), 5))
    check_op(lambda t, a: t.copysign(a, -2.0), _away_from_zero((5,), 1))


def test_copysign_of_zeros_and_integers():
    for lib in (retrograd,):
        a = lib.tensor([-1.5, 0.0, 2.0, -0.0], requires_grad=True)
        b = lib.tensor([1.0, -2.0, -0.0, 3.0], requires_grad=True)
        c = lib.copysign(a, b)
        c.sum().backward()
        assert np.array_equal(np.signbit(c.detach().numpy()), [False, True, True, False])
        np.testing.assert_array_equal(a.grad.numpy(), [-1, 0, -1, 0])  # sign(a) * sign(result); 0 at 0
        np.testing.assert_array_equal(b.grad.numpy(), 0)
        assert c.grad_fn.name() == "CopysignBackward0" and lib.copysign(a, 1).grad_fn.name() == "CopysignBackward1"
        assert lib.copysign(lib.tensor([1, -2]), lib.tensor([-1, 1])).dtype == lib.float32


def test_ldexp_is_input_times_two_to_the_other():
    check_op(lambda t, a, e: t.ldexp(a, e), (3, 2), (2,), gradgradcheck=False)
    assert retrograd.ldexp(retrograd.tensor([1, 3]), retrograd.tensor([2, 1])).tolist() == [4.0, 6.0]


def test_frexp_mantissa_and_exponent():
    x = np.array([8.5, 0.3, -5.0, 1e-3, 7.5])  # away from powers of two, where the mantissa jumps
    check_op(lambda t, a: t.frexp(a).mantissa, x, gradgradcheck=False)
    m, e = retrograd.frexp(retrograd.tensor([8.0, 0.3, 0.0, -5.0]))
    assert e.dtype == retrograd.int32 and e.tolist() == [4, -1, 0, 3]
    np.testing.assert_allclose(m.numpy(), [0.5, 0.6, 0.0, -0.625], rtol=1e-7)
    with pytest.raises(RuntimeError, match="only supports floating-point dtypes"):
        retrograd.frexp(retrograd.tensor([8]))


def test_nextafter_steps_one_ulp_and_passes_the_gradient():
    check_op(lambda t, a, b: t.nextafter(a, b), (4,), (4,), gradgradcheck=False)
    x = retrograd.tensor([1.0, 0.0])
    y = retrograd.nextafter(x, retrograd.tensor([2.0, -1.0]))
    assert y[0].item() == np.nextafter(np.float32(1), np.float32(2)) and y[1].item() < 0
    with pytest.raises(NotImplementedError, match="nextafter_cpu\" not implemented for 'Long'"):
        retrograd.nextafter(retrograd.tensor([1]), retrograd.tensor([2]))


def _torch_value(fn, *arrays):
    def compute():
        import torch
        out = fn(torch, *[torch.from_numpy(a) for a in arrays])
        return out.numpy(), str(out.dtype)
    return reference(compute, inputs=list(arrays))


@pytest.mark.parametrize("op", ["gcd", "lcm"])
def test_gcd_and_lcm_of_integers(op):
    a = np.array([[12, -18, 0, 7, 9]], dtype=np.int64).repeat(2, 0)
    b = np.array([[8], [-12]], dtype=np.int16)
    want, dtype = _torch_value(lambda t, x, y: getattr(t, op)(x, y), a, b)
    got = getattr(retrograd, op)(retrograd.from_numpy(a), retrograd.from_numpy(b))
    assert str(got.dtype) == dtype
    np.testing.assert_array_equal(got.numpy(), want)
    with pytest.raises(NotImplementedError, match=f"{op}_cpu\" not implemented for 'Float'"):
        getattr(retrograd, op)(retrograd.tensor([4.0]), retrograd.tensor([6.0]))


@pytest.mark.parametrize("a,b,shape_b,want", [
    ("bfloat16", "float16", (1,), "float32"), ("float16", "float64", (1,), "float64"),
    ("float16", "float64", (), "float16"), ("float16", "int8", (1,), "float16"),
    ("int64", "float64", (), "float64"), ("int8", "int8", (1,), "float32"), ("bool", "bool", (1,), "float32")])
def test_ldexp_result_dtype_is_torchs(a, b, shape_b, want):
    """ldexp promotes its operands as torch (it kept the input's dtype: bfloat16 with float16 was
    bfloat16, float16 with float64 float16)."""
    x = retrograd.ones(1, dtype=getattr(retrograd, a))
    e = (retrograd.ones(shape_b) * 2).to(getattr(retrograd, b))
    got = retrograd.ldexp(x, e)
    assert got.dtype == getattr(retrograd, want) and got.tolist() == [2.0 if b == "bool" else 4.0]


def test_ldexp_refuses_a_bool_exponent_of_a_float_input_as_torch():
    with pytest.raises(NotImplementedError, match="ldexp_cpu_exp\" not implemented for 'Bool'"):
        retrograd.ldexp(retrograd.tensor([1.0]), retrograd.tensor([True]))


def test_kernels_take_the_promoted_dtype_as_torch():
    """torch checks the common dtype: a bool tensor with an int32 one is an int32 gcd, a uint8
    tensor with a float32 one a float32 nextafter; a bool pair is still refused."""
    t = retrograd.tensor
    got = retrograd.lcm(t([True, False]), t(6, dtype=retrograd.int32))
    assert got.dtype == retrograd.int32 and got.tolist() == [6, 0]
    assert retrograd.gcd(t(True), t([4], dtype=retrograd.int8)).tolist() == [1]
    got = retrograd.nextafter(t(1.0), t([2], dtype=retrograd.uint8))
    assert got.dtype == retrograd.float32 and got.item() == np.nextafter(np.float32(1), np.float32(2))
    with pytest.raises(NotImplementedError, match="lcm_cpu\" not implemented for 'Bool'"):
        retrograd.lcm(t([True]), t([True]))
    with pytest.raises(NotImplementedError, match="gcd_cpu\" not implemented for 'Float'"):
        retrograd.gcd(t(1.0), t([2], dtype=retrograd.int32))


def test_heaviside_steps_and_has_no_derivative():
    x = np.array([-1.0, 0.0, 2.0, -0.0])
    v = np.array([0.5])
    want, dtype = _torch_value(lambda t, a, b: t.heaviside(a, b), x, v)
    np.testing.assert_array_equal(retrograd.heaviside(retrograd.tensor(x), retrograd.tensor(v)).numpy(), want)
    assert retrograd.heaviside(retrograd.tensor([-1, 0, 3]), retrograd.tensor([7])).tolist() == [0, 7, 1]
    with pytest.raises(RuntimeError, match="different dtypes"):
        retrograd.heaviside(retrograd.tensor([1.0]), retrograd.tensor([1]))
    y = retrograd.heaviside(retrograd.tensor([1.0], requires_grad=True), retrograd.tensor([0.5]))
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        y.sum().backward()


def test_frexp_and_copysign_batch_under_vmap():
    from retrograd import func

    x = retrograd.randn(4, 3) * 10
    func.reset_vmap_fallbacks()
    m, e = func.vmap(retrograd.frexp)(x)
    assert retrograd.equal(m, retrograd.frexp(x).mantissa) and retrograd.equal(e, retrograd.frexp(x).exponent)
    grads = func.vmap(func.grad(lambda a: retrograd.copysign(a, -1.0).sum()))(x)
    assert retrograd.equal(grads, -retrograd.sign(x)) and func.vmap_fallbacks() == {}
