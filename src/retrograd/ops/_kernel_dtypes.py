"""Which dtypes an op's kernel takes, and torch's error for the others.

torch names dtypes in these errors by their scalar type ('Long', 'Half', ...) and raises
NotImplementedError when a kernel has no version for a dtype: ``"mse_cpu" not implemented
for 'Long'``. Ops call ``check_floating``/``check_integral`` before computing, so an
integer or bool input is refused as in torch instead of being promoted silently.

Half precision (float16/bfloat16) on the CPU is computed by torch's kernels in float32 and rounded
once at the end (their "opmath"): ``opmath(x)`` and ``rounded(out, half)`` do the same around a
NumPy formula.
"""

import numpy as np

SCALAR_NAME = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool"}


def scalar_name(dtype):
    """torch's scalar type name of a retrograd dtype: float32 -> 'Float'."""
    return SCALAR_NAME.get(dtype.name, dtype.name)


def not_implemented_for(kernel, dtype, hint):
    return NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_name(dtype)}' ({hint})")


def check_floating(kernel, *tensors):
    """Refuse integer and bool tensors, as torch's float-only kernels do."""
    for t in tensors:
        if t is not None and not t.dtype.is_floating_point:
            raise not_implemented_for(kernel, t.dtype, f"it takes float tensors: convert with .float(), got {t.dtype}")


def check_floating_result(kernel, *operands):
    """Refuse operands whose promoted dtype is not floating, as torch's float-only kernels of
    several inputs do (they run on the common dtype: float32 with a bool tensor is float32)."""
    from .._dtype import result_type

    common = result_type(*operands)
    if not common.is_floating_point:
        raise not_implemented_for(kernel, common, f"it takes float tensors: convert with .float(), got {common}")


def check_integer_result(kernel, *operands):
    """Refuse operands whose promoted dtype is floating or bool, as torch's integer-only kernels
    of several inputs do (gcd of a bool and an int32 tensor runs on int32)."""
    from .._dtype import result_type

    common = result_type(*operands)
    if common.is_floating_point or common.name == "bool":
        raise not_implemented_for(kernel, common, f"it takes integer tensors, got {common}")


def check_integral(kernel, *tensors):
    """Refuse floating tensors, as torch's integer/bool-only kernels (bitwise ops) do."""
    for t in tensors:
        if t is not None and t.dtype.is_floating_point:
            raise not_implemented_for(kernel, t.dtype, f"it takes integer or bool tensors, got {t.dtype}")


def check_not_bool(kernel, *tensors):
    """Refuse bool tensors, as torch's arithmetic kernels without a Bool version do."""
    for t in tensors:
        if t is not None and t.dtype.name == "bool":
            raise not_implemented_for(kernel, t.dtype, "convert the bool tensor with .int() or .float() first")


def opmath(x):
    """(x in float32, its dtype) for a float16/bfloat16 NumPy array, which torch's CPU kernels compute
    in float32 and round once; else (x, None)."""
    if x.dtype.itemsize == 2 and type(x) is np.ndarray:
        return x.astype(np.float32), x.dtype
    return x, None


def rounded(out, half):
    """``out`` rounded back to the half dtype ``opmath`` gave (unchanged for None)."""
    return out if half is None else out.astype(half)


def opmath_tensors(*tensors):
    """(the tensors in float32, their half dtype) when the first is a float16/bfloat16 CPU tensor,
    else (the tensors, None): torch's CPU backward kernels (silu_backward, tanh_backward, ...)
    compute such gradients in float32 and round once, where a formula of tensor ops rounds at
    every op. The widening is itself an op, so a graph recorded through it (create_graph) stays whole."""
    x = tensors[0]._data
    if x.dtype.itemsize == 2 and type(x) is np.ndarray:
        return tuple(None if t is None else t.float() for t in tensors), tensors[0].dtype
    return tensors, None


def rounded_tensor(t, half):
    """The tensor ``t`` rounded back to the half dtype ``opmath_tensors`` gave (unchanged for None)."""
    return t if half is None else t.to(half)
