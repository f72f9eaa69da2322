"""``ReduceOp``: how a reduction combines the ranks' tensors, and its MPI operation."""

import numpy as np

from . import _mpi


class ReduceOp:
    """The reductions of ``all_reduce``, ``reduce`` and ``reduce_scatter_tensor``.

    SUM, AVG, MAX, MIN and PRODUCT run on MPI; AVG is SUM divided by the group's size (floating
    dtypes only). PREMUL_SUM and the bitwise BAND, BOR, BXOR raise NotImplementedError.
    """

    class RedOpType:
        def __init__(self, name, value):
            self.name, self.value = name, value
            self._mpi_ops = {}  # NumPy dtype character -> MPI op (filled by mpi_op)

        def __repr__(self):
            return f"<RedOpType.{self.name}: {self.value}>"

        def __eq__(self, other):
            if isinstance(other, ReduceOp):
                other = other.op
            return isinstance(other, ReduceOp.RedOpType) and other.value == self.value

        def __hash__(self):
            return hash(self.value)

    def __init__(self, op=None):
        self.op = op if op is not None else ReduceOp.SUM

    def __eq__(self, other):
        return self.op == other

    def __hash__(self):
        return hash(self.op)

    def __repr__(self):
        return repr(self.op)


for _name, _value in (("SUM", 0), ("AVG", 1), ("PRODUCT", 2), ("MIN", 3), ("MAX", 4), ("BAND", 5),
                      ("BOR", 6), ("BXOR", 7), ("PREMUL_SUM", 8)):  # torch's numbering
    setattr(ReduceOp, _name, ReduceOp.RedOpType(_name, _value))
SUPPORTED = ("SUM", "AVG", "PRODUCT", "MIN", "MAX")

_BFLOAT16_OPS = {}


def _op_type(op):
    op = op.op if isinstance(op, ReduceOp) else op
    if not isinstance(op, ReduceOp.RedOpType):
        raise TypeError(f"op must be a torch.distributed.ReduceOp (e.g. ReduceOp.SUM), got {op!r}")
    if op.name not in SUPPORTED:
        raise NotImplementedError(
            f"ReduceOp.{op.name} is not supported by retrograd.distributed (MPI): use one of "
            + ", ".join(f"ReduceOp.{n}" for n in SUPPORTED))
    return op


def mpi_op(op, arr, op_name):
    """The MPI operation computing ``op`` over arrays like ``arr``; checks the pairing.

    The result is cached in ``op._mpi_ops`` by dtype character, where all_reduce looks first."""
    op = _op_type(op)
    found = op._mpi_ops.get(arr.dtype.char)
    if found is None:
        found = op._mpi_ops[arr.dtype.char] = _make_mpi_op(op, arr.dtype, op_name)
    return found


def _make_mpi_op(op, dtype, op_name):
    MPI = _mpi.mpi()
    if op.name == "AVG" and dtype.kind != "f" and not _mpi.is_bfloat16(dtype):
        raise ValueError(
            f"{op_name}: ReduceOp.AVG needs a floating-point tensor, got {dtype.name}: "
            "reduce with ReduceOp.SUM and divide, or convert the tensor to a float dtype first")
    if dtype == np.bool_:  # as torch's NCCL: SUM of bools is OR, PRODUCT is AND
        return {"SUM": MPI.LOR, "MAX": MPI.LOR, "MIN": MPI.LAND, "PRODUCT": MPI.LAND}[op.name]
    if _mpi.is_bfloat16(dtype):
        return _bfloat16_op(op.name)
    return {"SUM": MPI.SUM, "AVG": MPI.SUM, "MAX": MPI.MAX, "MIN": MPI.MIN, "PRODUCT": MPI.PROD}[op.name]


def is_avg(op):
    return (op.op if isinstance(op, ReduceOp) else op) is ReduceOp.AVG


def _bfloat16_op(name):
    """A user-defined MPI op combining bfloat16 elements (sent as uint16) in bfloat16, as torch does."""
    if name not in _BFLOAT16_OPS:
        import ml_dtypes

        combine = {"SUM": np.add, "AVG": np.add, "MAX": np.maximum, "MIN": np.minimum,
                   "PRODUCT": np.multiply}[name]

        def reduce_bfloat16(inbuf, inoutbuf, datatype):
            a = np.frombuffer(inbuf, dtype=ml_dtypes.bfloat16)
            b = np.frombuffer(inoutbuf, dtype=ml_dtypes.bfloat16)
            combine(a, b, out=b)

        _BFLOAT16_OPS[name] = _mpi.mpi().Op.Create(reduce_bfloat16, commute=True)
    return _BFLOAT16_OPS[name]
