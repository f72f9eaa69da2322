"""How tensors cross process boundaries through multiprocessing (queues, pipes, pools, a spawned
process's arguments): as torch's, a CPU tensor is moved to shared memory (``share_memory_()``) and a
handle to that memory is sent, not its values, so the receiver's tensor is on the sender's memory.
``init_reductions()`` registers this with multiprocessing's pickler (``ForkingPickler``) for Tensor,
and each Tensor subclass is registered as it is made; importing retrograd does it, as importing torch
does. Plain ``pickle`` and ``retrograd.save`` still copy.

What arrives is what torch's gives: a Tensor or a Parameter (also for a Parameter subclass) with its
``requires_grad`` (not its ``.grad``); a Tensor subclass of its class with its instance attributes. A
class with its own ``__reduce_ex__`` (uninitialized parameters) is pickled by it.
"""

import pickle
from multiprocessing.reduction import ForkingPickler

from . import _segment, _share

_NON_LEAF = ("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd does "
             "not support crossing process boundaries.  If you just want to transfer the data, call "
             "detach() on the tensor before serializing (e.g., putting it on the queue).")


def reduce_tensor(tensor):
    """``(rebuild_tensor, args)`` for a tensor: its memory's handle, its place in it, its class."""
    from ..nn.parameter import Parameter
    from ..tensor import Tensor

    cls = type(tensor)
    if cls.__reduce_ex__ not in (Tensor.__reduce_ex__, Parameter.__reduce_ex__):
        return tensor.__reduce_ex__(pickle.DEFAULT_PROTOCOL)
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
    if isinstance(tensor, Parameter) or cls is Tensor:  # (as torch's: their attributes stay behind)
        cls, state = (Parameter if isinstance(tensor, Parameter) else Tensor), {}
    else:  # a subclass's own attributes (not those Tensor declares: retrograd's state of the tensor)
        state = {k: v for k, v in vars(tensor).items() if not hasattr(Tensor, k)}
    return (rebuild_tensor, (cls, _segment.handle(seg), offset, arr.shape, arr.dtype, arr.strides,
                             arr.flags.writeable, tensor.requires_grad, state))


def rebuild_tensor(cls, handle, offset, shape, dtype, strides, writeable, requires_grad, state):
    """The receiving side of ``reduce_tensor``: a tensor of class ``cls`` on the sender's memory."""
    opener, args = handle
    t = object.__new__(cls)
    t._init(_share.on_segment(opener(*args), offset, shape, dtype, strides, writeable))
    t._requires_grad = requires_grad
    vars(t).update(state)
    return t


def register(cls):
    """Send tensors of class ``cls`` (Tensor or a subclass) by ``reduce_tensor``."""
    ForkingPickler.register(cls, reduce_tensor)


def init_reductions():
    """Register ``reduce_tensor`` with multiprocessing's pickler for Tensor and its subclasses."""
    from ..tensor import Tensor

    classes = [Tensor]
    while classes:
        cls = classes.pop()
        register(cls)
        classes += cls.__subclasses__()
