"""How tensors cross process boundaries through multiprocessing (queues, pipes, pools, a spawned
process's arguments): as torch's, a CPU tensor is moved to shared memory (``share_memory_()``) and a
handle to that memory is sent, not its values, so the receiver's tensor is on the sender's memory.
``init_reductions()`` registers this with multiprocessing's pickler (``ForkingPickler``); importing
retrograd does it, as importing torch does. Plain ``pickle`` and ``retrograd.save`` still copy.
"""

from multiprocessing.reduction import ForkingPickler

from . import _segment, _share

_NON_LEAF = ("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd does "
             "not support crossing process boundaries.  If you just want to transfer the data, call "
             "detach() on the tensor before serializing (e.g., putting it on the queue).")


def reduce_tensor(tensor):
    """``(rebuild_tensor, args)`` for a Tensor or Parameter: its memory's handle and its place in it."""
    if tensor.requires_grad and not tensor.is_leaf:
        raise RuntimeError(_NON_LEAF)
    if tensor.is_cuda:
        raise NotImplementedError(
            f"sending a CUDA tensor ({tensor.device}, shape {list(tensor.shape)}) to another process is not "
            "implemented in retrograd (torch shares it through CUDA IPC); send tensor.cpu() instead")
    _share.share([tensor])
    arr = tensor._data
    seg = _share.segment_of(arr)
    offset = _share._address(arr) - seg.address - seg.start
    return (rebuild_tensor, (type(tensor), _segment.handle(seg), offset, arr.shape, arr.dtype, arr.strides,
                             arr.flags.writeable, tensor.requires_grad))


def rebuild_tensor(cls, handle, offset, shape, dtype, strides, writeable, requires_grad):
    """The receiving side of ``reduce_tensor``: a tensor of type ``cls`` on the sender's memory."""
    from ..nn.parameter import Parameter
    from ..tensor import Tensor

    opener, args = handle
    t = Tensor._make(_share.on_segment(opener(*args), offset, shape, dtype, strides, writeable))
    if cls is Parameter:
        return Parameter(t, requires_grad=requires_grad)
    return t.requires_grad_(requires_grad) if requires_grad else t


def init_reductions():
    """Register ``reduce_tensor`` with multiprocessing's pickler for Tensor and Parameter."""
    from ..nn.parameter import Parameter
    from ..tensor import Tensor

    for cls in (Tensor, Parameter):
        ForkingPickler.register(cls, reduce_tensor)
