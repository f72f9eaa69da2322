"""DistributedDataParallel's reducer: gradient buckets averaged across ranks while backward runs.

The parameters' gradients are grouped into buckets (one flat buffer each, torch's assignment:
``compute_bucket_assignment_by_size``). Each parameter's post-accumulate-grad hook copies its
gradient into its bucket (divided by the world size) and marks it ready; when every gradient
of a bucket is ready, and every bucket before it has been launched, the bucket's allreduce
starts without blocking (``all_reduce(async_op=True)``, or the registered communication hook)
while backward goes on computing the earlier layers' gradients. When the last bucket has been
launched, a final callback of the autograd engine (``queue_callback``) waits for the buckets
and writes the averaged gradients back into ``.grad``.

Buckets are launched in the same order on every rank (MPI matches collectives by order). As
torch's, buckets start in reverse parameter order (the bucket of the first parameters, whose
gradients come last, capped at 1 MB) with ``find_unused_parameters``; otherwise the first
iteration uses one bucket and records the order in which the gradients became ready, and
before the second forward the buckets are rebuilt in that order (rank 0's, broadcast), the
first one capped at 1 MB so that communication starts early (the last one instead with
torch's ``DDP_SET_LAST_BUCKET_CAP=1``).
"""

import functools
import os
import sys
import weakref

import numpy as np

from ... import creation, distributed as dist, int64
from ..._backend import array_module
from ...autograd.engine import queue_callback, queue_outermost_callback
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor

_MB = 1024 * 1024
DEFAULT_BUCKET_CAP_MB = 25
DEFAULT_FIRST_BUCKET_BYTES = 1 * _MB  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES


def compute_bucket_assignment_by_size(tensors, size_limits, tensor_indices=None):
    """torch's ``dist._compute_bucket_assignment_by_size``: ``(buckets, limits)``.

    Tensors are taken in ``tensor_indices`` order (default 0..n-1) and grouped by dtype and
    device; a group's open bucket is closed once its size in bytes reaches its limit, the
    limits taken in turn from ``size_limits`` (the last one repeating). Without
    ``tensor_indices`` the buckets are sorted by the smallest index they hold."""
    order = range(len(tensors)) if tensor_indices is None else tensor_indices
    open_buckets = {}  # (dtype, device) -> [indices, bytes, which limit]
    done = []
    for i in order:
        t = tensors[i]
        key = (str(t.dtype), str(t.device))
        bucket = open_buckets.setdefault(key, [[], 0, 0])
        bucket[0].append(i)
        bucket[1] += t.numel() * t.element_size()
        limit = size_limits[min(bucket[2], len(size_limits) - 1)]
        if bucket[1] >= limit:
            done.append((bucket[0], limit))
            open_buckets[key] = [[], 0, bucket[2] + 1]
    for indices, _, which in open_buckets.values():
        if indices:
            done.append((indices, size_limits[min(which, len(size_limits) - 1)]))
    if tensor_indices is None:
        done.sort(key=lambda b: min(b[0]))
    return [b[0] for b in done], [b[1] for b in done]


def _hook(reducer_ref, index, param):
    reducer = reducer_ref()
    if reducer is not None:
        reducer._autograd_hook(index, param)


def _remove(handles):
    for handle in handles:
        handle.remove()


class GradBucket:
    """What a communication hook gets (torch's ``dist.GradBucket``): ``buffer()``, the flat
    tensor of the bucket's gradients; ``gradients()`` / ``parameters()``, its parameters'
    gradient views and the parameters; ``index()``; ``is_last()``; ``set_buffer(tensor)``."""

    def __init__(self, index, bucket_count, buffer, views, parameters):
        self._index = index
        self._count = bucket_count
        self._buffer = buffer
        self._views = views
        self._parameters = parameters

    def index(self):
        return self._index

    def is_last(self):
        return self._index == self._count - 1

    def buffer(self):
        return self._buffer

    def set_buffer(self, buffer):
        self._buffer = buffer

    def gradients(self):
        return list(self._views)

    def parameters(self):
        return list(self._parameters)


class _Bucket:
    def __init__(self, indices, params, limit):
        self.indices = list(indices)
        self.limit = limit
        numels = [params[i].numel() for i in self.indices]
        first = params[self.indices[0]]
        self.buffer = creation.zeros(sum(numels), dtype=first.dtype, device=first.device)
        self.views = []
        offset = 0
        for i, n in zip(self.indices, numels):
            self.views.append(self.buffer.narrow(0, offset, n).view(params[i].shape))
            offset += n
        self.pending = len(self.indices)
        self.work = None  # the allreduce in flight (no comm hook)
        self.future = None  # the comm hook's future


class Reducer:
    """The bucketed gradient averaging of one DistributedDataParallel module."""

    def __init__(self, params, names, group, *, bucket_bytes_cap, first_bucket_bytes_cap, per_bucket_caps,
                 find_unused_parameters, gradient_as_bucket_view, batched_grad_copy, static_graph):
        self.params = params
        self.names = names
        self.group = group
        self.world_size = dist.get_world_size(group)
        self.bucket_bytes_cap = bucket_bytes_cap
        self.first_bucket_bytes_cap = first_bucket_bytes_cap
        self.per_bucket_caps = list(per_bucket_caps)
        self.find_unused = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.batched_grad_copy = batched_grad_copy
        self.static_graph = static_graph
        self.comm_hook = None  # (state, hook)
        self.index_of = {id(p): i for i, p in enumerate(params)}
        self.expect_hooks = False
        self.require_finalize = False
        self.num_iterations = 0
        self.has_rebuilt = False
        self.ready_order = []
        self.locally_used = np.zeros(len(params), dtype=bool)
        self.static_unused = None  # static_graph: the unused parameters found in the first iteration
        self.hooks_per_iteration = None  # static_graph: how often each parameter's hook fired then
        self.hook_count = np.zeros(len(params), dtype=np.int64)
        self.delayed = False  # static_graph's first iteration: reduce everything after backward
        self.static_globally_used = None  # static_graph: which parameters some rank used then
        self.unused = []
        self.training_ranks = None  # inside join(): the Work counting the ranks still training
        self.divide_by_training_ranks = False
        self._reset_iteration()
        if self.per_bucket_caps:
            limits = self.per_bucket_caps
        elif static_graph or not find_unused_parameters:
            limits = [sys.maxsize]  # one bucket until the ready order is known
        else:
            limits = self._limits()
        buckets, caps = compute_bucket_assignment_by_size(params, limits)
        self._initialize_buckets(list(reversed(buckets)), list(reversed(caps)))
        # the hooks hold the reducer weakly and go when it does (as torch's Reducer removes its
        # hooks in its destructor), so a module wrapped again is not reduced by a dead DDP
        self.handles = [p.register_post_accumulate_grad_hook(functools.partial(_hook, weakref.ref(self), i))
                        for i, p in enumerate(params)]
        weakref.finalize(self, _remove, self.handles)

    def _limits(self):
        if self.first_bucket_bytes_cap < self.bucket_bytes_cap:
            return [self.first_bucket_bytes_cap, self.bucket_bytes_cap]
        return [self.bucket_bytes_cap]

    def _reset_iteration(self):
        self.hook_count[:] = 0
        self.delayed = False
        self.divisor = None  # the world size, or inside join() the ranks training (known in backward)
        self.ready = np.zeros(len(self.params), dtype=bool)
        self.next_bucket = 0
        self.marked_unused = False

    def _initialize_buckets(self, bucket_indices, caps):
        self.buckets = [_Bucket(indices, self.params, cap) for indices, cap in zip(bucket_indices, caps)]
        self.location = {}
        for b, bucket in enumerate(self.buckets):
            for pos, i in enumerate(bucket.indices):
                self.location[i] = (b, pos)
                grad = self.params[i].grad
                if self.gradient_as_bucket_view and grad is not None:
                    with no_grad():
                        bucket.views[pos].copy_(grad)
                    self.params[i].grad = bucket.views[pos]

    def bucket_indices(self):
        """The parameter indices of each bucket, in launch order."""
        return [list(b.indices) for b in self.buckets]

    # ------------------------------------------------------------------ each iteration

    def prepare_for_forward(self):
        """Raise torch's error when the previous synchronized backward did not finish (some
        parameter got no gradient, so its bucket never completed)."""
        if not self.require_finalize:
            return
        missing = [i for i in range(len(self.params)) if not self.ready[i]]
        if self.static_graph:
            msg = ("Expected to have finished reduction in the prior iteration before starting a new one. This "
                   "error indicates that your training graph has changed in this iteration, e.g., one parameter is "
                   "used in first iteration, but then got unused in the second iteration. this is not compatible "
                   "with static_graph set to True.")
        else:
            msg = ("Expected to have finished reduction in the prior iteration before starting a new one. This "
                   "error indicates that your module has parameters that were not used in producing loss. You can "
                   "enable unused parameter detection by passing the keyword argument `find_unused_parameters=True` "
                   "to `torch.nn.parallel.DistributedDataParallel`, and by \nmaking sure all `forward` function "
                   "outputs participate in calculating loss. \nIf you already have done the above, then the "
                   "distributed data parallel module wasn't able to locate the output tensors in the return value "
                   "of your module's `forward` function. Please include the loss function and the structure of the "
                   "return value of `forward` of your module when reporting this issue (e.g. list, dict, iterable).")
        rank = dist.get_rank(self.group)
        if os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF").upper() in ("INFO", "DETAIL"):
            msg += (f"\nParameters which did not receive grad for rank {rank}: "
                    + ", ".join(self.names[i] for i in missing))
        else:
            msg += (f"\nParameter indices which did not receive grad for rank {rank}: "
                    + " ".join(str(i) for i in missing)
                    + "\n In addition, you can set the environment variable TORCH_DISTRIBUTED_DEBUG to either INFO or "
                      "DETAIL to print out information about which particular parameters did not receive gradient "
                      "on this rank as part of this error")
        raise RuntimeError(msg)

    def rebuild_buckets(self):
        """Once, before the second synchronized forward: buckets in the order the gradients became
        ready (rank 0's), as torch's. Returns True if the buckets were rebuilt."""
        if self.has_rebuilt or not self.ready_order or (self.find_unused and not self.static_graph):
            return False
        self.has_rebuilt = True
        seen = set(self.ready_order)
        order = self.ready_order + [i for i in range(len(self.params)) if i not in seen]
        order_t = creation.tensor(order, dtype=int64)
        dist.broadcast(order_t, src=dist.get_global_rank(self.group, 0), group=self.group)
        order = order_t.tolist()
        limits = self.per_bucket_caps or self._limits()
        last_small = os.environ.get("DDP_SET_LAST_BUCKET_CAP") == "1"  # torch's switch: the small cap last
        if last_small:
            order.reverse()
        buckets, caps = compute_bucket_assignment_by_size(self.params, limits, order)
        if last_small:
            buckets.reverse()
            caps.reverse()
        self._initialize_buckets(buckets, caps)
        self.ready_order = []
        return True

    def set_training_ranks(self, work, divide_by_training_ranks):
        """Inside ``join()``: the allreduce counting the ranks still training this iteration,
        waited for before the gradients are averaged (and divided by that count if asked)."""
        if self.training_ranks is not None:  # a forward without a synchronized backward (no_sync)
            self.training_ranks.wait()
        self.training_ranks = work
        self.divide_by_training_ranks = divide_by_training_ranks

    def _divisor(self):
        if self.divisor is None:
            self.divisor = self.world_size
            work, self.training_ranks = self.training_ranks, None
            if work is not None:
                work.wait()
                if self.divide_by_training_ranks:
                    self.divisor = int(work.result()[0].item())
        return self.divisor

    def shadow_backward(self):
        """On a rank that has joined: the collectives of a synchronized backward of the others,
        with zero gradients (each bucket's allreduce or comm hook, then the used-parameters
        allreduce where the others make one)."""
        pending = []
        for b, bucket in enumerate(self.buckets):
            zeros = _Bucket(bucket.indices, self.params, bucket.limit)
            if self.comm_hook is None:
                pending.append(dist.all_reduce(zeros.buffer, group=self.group, async_op=True))
            else:
                state, hook = self.comm_hook
                pending.append(hook(state, GradBucket(b, len(self.buckets), zeros.buffer, zeros.views,
                                                      [self.params[i] for i in bucket.indices])))
        for p in pending:
            p.wait()
        if self.static_globally_used is None and (self.find_unused or self.static_graph):
            used = creation.tensor(np.zeros(len(self.params), dtype=np.int32))
            dist.all_reduce(used, group=self.group)
            if self.static_graph:
                self.static_globally_used = used._data > 0

    def prepare_for_backward(self, outputs):
        """Expect the hooks of the coming backward; with ``find_unused_parameters`` (or in the
        first iteration of a static graph) find the parameters ``outputs`` do not depend on."""
        self.expect_hooks = True
        self.require_finalize = True
        self._reset_iteration()
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.work = bucket.future = None
        if self.static_graph:
            # the first iteration counts the hooks and reduces after backward (the graph is not
            # walked: a reentrant backward reaches parameters the forward's graph does not show)
            self.delayed = self.static_unused is None
            self.unused = self.static_unused or []
        elif self.find_unused:
            used = self._reachable(outputs)
            self.unused = [i for i in range(len(self.params)) if i not in used]
        else:
            self.unused = []

    def _reachable(self, outputs):
        """Indices of the parameters whose gradient accumulator the graph of ``outputs`` reaches."""
        seen = set()
        used = set()
        stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
        for t in outputs:
            if t.grad_fn is None and id(t) in self.index_of:
                used.add(self.index_of[id(t)])
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            var = getattr(node, "variable", None)
            if var is not None and id(var) in self.index_of:
                used.add(self.index_of[id(var)])
            stack.extend(fn for fn, _ in node._next if fn is not None)
        return used

    # ------------------------------------------------------------------ during backward

    def _autograd_hook(self, index, param):
        if param.grad is not None:
            self.locally_used[index] = True  # also under no_sync: used once in the session is used
        if not self.expect_hooks:
            return  # no_sync(), or a backward of no synchronized forward: gradients just accumulate
        if self.static_graph:
            # a parameter used in several reentrant backwards (checkpoints) is ready at its last hook
            self.hook_count[index] += 1
            if self.delayed:
                if self.hook_count[index] == 1 and not self.has_rebuilt:
                    self.ready_order.append(index)
                if self.hook_count.sum() == 1:
                    queue_outermost_callback(self._delayed_reduce)
                return
            if self.hook_count[index] < self.hooks_per_iteration[index]:
                return
        if not self.has_rebuilt:
            self.ready_order.append(index)
        if not self.marked_unused:
            self.marked_unused = True
            for i in self.unused:
                self._mark_ready(i)
        self._mark_ready(index)

    def _mark_ready(self, index):
        if self.ready[index]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. This error is caused by one of the following "
                f"reasons: 1) Use of a module parameter outside the `forward` function. 2) Reused parameters in "
                f"multiple reentrant backward passes. Parameter at index {index} with name {self.names[index]} has "
                f"been marked as ready twice. This means that multiple autograd engine hooks have fired for this "
                f"particular parameter during this iteration.")
        self.ready[index] = True
        b, pos = self.location[index]
        bucket = self.buckets[b]
        if not self.batched_grad_copy:
            self._copy_grad_to_bucket(bucket, pos)
        bucket.pending -= 1
        if bucket.pending:
            self._progress()
            return
        if self.batched_grad_copy:
            for p in range(len(bucket.indices)):
                self._copy_grad_to_bucket(bucket, p)
        while self.next_bucket < len(self.buckets) and not self.buckets[self.next_bucket].pending:
            self._launch(self.next_bucket)
            self.next_bucket += 1
        if self.next_bucket == len(self.buckets):
            queue_callback(self._finalize)

    def _delayed_reduce(self):
        """static_graph's first iteration, after the whole backward: the hook counts and the
        unused parameters are now known; every bucket is reduced at once."""
        self.hooks_per_iteration = self.hook_count.copy()
        self.static_unused = [i for i in range(len(self.params)) if not self.hook_count[i]]
        self.delayed = False
        for i in range(len(self.params)):
            self._mark_ready(i)

    def _copy_grad_to_bucket(self, bucket, pos):
        """The gradient into its bucket view, divided by the world size unless a comm hook
        averages (torch divides while copying: one pass)."""
        param = self.params[bucket.indices[pos]]
        view = bucket.views[pos]
        grad = param.grad
        divide = self.comm_hook is None
        if grad is None:  # an unused parameter contributes zeros
            view._data[...] = 0
        elif grad is view:  # gradient_as_bucket_view: accumulated in place already
            if divide:
                view._data /= self._divisor()
        else:
            if divide:
                array_module(view._data).divide(grad._data, self._divisor(), out=view._data)
            else:
                view._data[...] = grad._data
            if self.gradient_as_bucket_view:
                param.grad = view

    def _launch(self, b):
        bucket = self.buckets[b]
        if self.comm_hook is None:
            bucket.work = dist.all_reduce(bucket.buffer, group=self.group, async_op=True)
        else:
            state, hook = self.comm_hook
            grad_bucket = GradBucket(b, len(self.buckets), bucket.buffer, bucket.views,
                                     [self.params[i] for i in bucket.indices])
            bucket.future = hook(state, grad_bucket)

    def _progress(self):
        """Let MPI move the allreduces in flight along (MPICH progresses nonblocking collectives
        only inside MPI calls): one test per launched, unfinished bucket."""
        for bucket in self.buckets[:self.next_bucket]:
            if bucket.work is not None:
                if bucket.work.is_completed():
                    continue
            elif bucket.future is not None and bucket.future.done():
                continue
            break  # later ones are queued behind this one

    # ------------------------------------------------------------------ after backward

    def _finalize(self):
        self._divisor()  # (completes join()'s count when no gradient was divided)
        for bucket in self.buckets:
            if bucket.work is not None:
                bucket.work.wait()
            else:
                result = bucket.future.wait()
                if not isinstance(result, Tensor):
                    raise RuntimeError(f"a DDP communication hook's future must hold a tensor (the reduced "
                                       f"bucket), got {type(result).__name__}")
                if result is not bucket.buffer:
                    if result.numel() != bucket.buffer.numel():
                        raise RuntimeError(f"the communication hook returned {result.numel()} values for a bucket "
                                           f"of {bucket.buffer.numel()}")
                    bucket.buffer._data[...] = result._data.reshape(-1).astype(bucket.buffer._data.dtype,
                                                                                copy=False)
        globally_used = self.static_globally_used
        if globally_used is None and (self.find_unused or self.static_graph):
            used = creation.tensor(self.locally_used.astype(np.int32))
            dist.all_reduce(used, group=self.group)
            globally_used = used._data > 0
            if self.static_graph:  # found once, in the first iteration
                self.static_globally_used = globally_used
        with no_grad():
            for bucket in self.buckets:
                for i, view in zip(bucket.indices, bucket.views):
                    if globally_used is not None and not globally_used[i]:
                        continue  # no rank used it: .grad stays as it is, as torch's
                    param = self.params[i]
                    if param.grad is view:
                        continue
                    if self.gradient_as_bucket_view or param.grad is None:
                        param.grad = view if self.gradient_as_bucket_view else view.clone()
                    else:
                        param.grad.copy_(view)
        self.expect_hooks = False
        self.require_finalize = False
        self.locally_used[:] = False
        self.num_iterations += 1
