"""torch's default DDP communication hooks: each takes ``(process_group, bucket)`` (``None`` for
the world) and returns a ``retrograd.futures.Future`` holding the bucket's averaged gradients.

``allreduce_hook`` averages as DDP does without a hook. ``fp16_compress_hook`` and
``bf16_compress_hook`` send the bucket as float16 / bfloat16 (half the bytes of float32),
divided by the world size before the sum, and cast the result back into the bucket. The
wrappers do the same around another hook. bfloat16 runs on MPI here (torch's needs NCCL).
"""

from .... import bfloat16, float16
from ... import all_reduce, group as _group

__all__ = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook", "fp16_compress_wrapper",
           "bf16_compress_wrapper"]


def _allreduce_fut(process_group, tensor):
    """Average ``tensor`` over the group in place; a Future of it."""
    group_to_use = process_group if process_group is not None else _group.WORLD
    tensor.div_(group_to_use.size())
    return all_reduce(tensor, group=group_to_use, async_op=True).get_future().then(lambda fut: fut.value()[0])


def allreduce_hook(process_group, bucket):
    """Average the bucket by allreduce: the same result as DDP without a hook."""
    return _allreduce_fut(process_group, bucket.buffer())


def _compress_hook(dtype, process_group, bucket):
    group_to_use = process_group if process_group is not None else _group.WORLD
    buffer = bucket[0] if isinstance(bucket, tuple) else bucket.buffer()
    compressed = buffer.to(dtype).div_(group_to_use.size())

    def decompress(fut):
        buffer.copy_(fut.value()[0])
        return buffer

    return all_reduce(compressed, group=group_to_use, async_op=True).get_future().then(decompress)


def fp16_compress_hook(process_group, bucket):
    """Allreduce the bucket cast to float16 and divided by the world size; cast back."""
    return _compress_hook(float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket):
    """Allreduce the bucket cast to bfloat16 and divided by the world size; cast back."""
    return _compress_hook(bfloat16, process_group, bucket)


def _compress_wrapper(dtype, hook):
    def wrapper(hook_state, bucket):
        bucket.set_buffer(bucket.buffer().to(dtype))
        fut = hook(hook_state, bucket)

        def decompress(fut):
            decompressed = bucket.buffer()
            decompressed.copy_(fut.value())
            return decompressed

        # the bucket's own buffer is restored by DDP, which copies the hook's result into it
        return fut.then(decompress)
    return wrapper


def fp16_compress_wrapper(hook):
    """``hook`` run on the bucket cast to float16 (its result cast back by DDP's copy)."""
    return _compress_wrapper(float16, hook)


def bf16_compress_wrapper(hook):
    """``hook`` run on the bucket cast to bfloat16 (its result cast back by DDP's copy)."""
    return _compress_wrapper(bfloat16, hook)
