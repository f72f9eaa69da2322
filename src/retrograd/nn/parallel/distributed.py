"""``DistributedDataParallel``: one model replica per process; gradients averaged across the
ranks of a process group during backward (see ``_reducer``), so every rank takes the same
optimizer step as one process would on the union of the ranks' batches."""

import itertools
import warnings
from contextlib import contextmanager
from dataclasses import fields, is_dataclass

from ... import distributed as dist
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...distributed.algorithms.join import Join, Joinable, _JoinConfig
from ...tensor import Tensor
from ..module import Module
from ._join_hook import DDPJoinHook, find_common_rank, global_requires_backward_grad_sync
from ._reducer import _MB, DEFAULT_BUCKET_CAP_MB, DEFAULT_FIRST_BUCKET_BYTES, Reducer

__all__ = ["DistributedDataParallel"]


def _find_tensors(obj):
    """The tensors in a forward's output (nested lists, tuples, dicts, dataclasses), as torch's."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return list(itertools.chain.from_iterable(map(_find_tensors, obj)))
    if isinstance(obj, dict):
        return list(itertools.chain.from_iterable(map(_find_tensors, obj.values())))
    if is_dataclass(obj) and not isinstance(obj, type):
        return list(itertools.chain.from_iterable(_find_tensors(getattr(obj, f.name)) for f in fields(obj)))
    return []


def _not_here(name, value, why):
    raise NotImplementedError(f"DistributedDataParallel({name}={value!r}): {why}")


class DistributedDataParallel(Module, Joinable):
    """Data parallelism across the ranks of ``process_group`` (default: the world), as torch's.

    At construction rank 0's parameters and buffers are broadcast (``init_sync``). In a
    forward with gradients enabled, the coming backward averages each gradient across the
    ranks, in buckets of ``bucket_cap_mb`` MB (25; the bucket of the last-ready gradients 1 MB)
    whose allreduces run while backward computes the rest; ``.grad`` holds the averages when
    ``backward()`` returns. ``no_sync()`` skips the averaging (gradients accumulate locally and
    are averaged by the first synchronized backward after it). ``find_unused_parameters`` lets
    a forward leave parameters unused; ``broadcast_buffers`` (``forward_sync_buffers``) sends
    rank 0's buffers before each forward; ``gradient_as_bucket_view`` makes each ``.grad`` a
    view into its bucket (no copy back); ``static_graph`` finds the unused parameters once, in
    the first iteration; ``register_comm_hook`` replaces the allreduce (see
    ``retrograd.distributed.algorithms.ddp_comm_hooks``); ``join()`` trains ranks with uneven
    numbers of batches. CPU modules take ``device_ids=None`` and ``output_device=None``, as torch's.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=None, init_sync=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params=False, bucket_cap_mb_list=None, batched_grad_copy=False,
                 forward_sync_buffers=None):
        super().__init__()
        if (delay_all_reduce_named_params is not None) != (param_to_hook_all_reduce is not None):
            raise ValueError("delay_all_reduce_named_params and param_to_hook_all_reduce need to be set at the "
                             "same time.")
        if delay_all_reduce_named_params is not None:
            _not_here("delay_all_reduce_named_params", delay_all_reduce_named_params,
                      "every parameter is reduced in buckets during backward; leave it None")
        if param_to_hook_all_reduce is not None:
            _not_here("param_to_hook_all_reduce", param_to_hook_all_reduce, "see delay_all_reduce_named_params")
        if process_group is not None and device_mesh is not None:
            raise RuntimeError("Cannot specify both process_group and device_mesh arguments.")
        if device_mesh is not None:
            _not_here("device_mesh", device_mesh, "retrograd has no DeviceMesh; pass a process_group instead")
        if mixed_precision is not None:
            _not_here("mixed_precision", mixed_precision,
                      "cast the module yourself, or compress the communication with fp16_compress_hook")
        if skip_all_reduce_unused_params:
            _not_here("skip_all_reduce_unused_params", skip_all_reduce_unused_params,
                      "unused parameters are reduced as zeros; leave it False")
        if process_group is None:
            if not dist.is_initialized():
                raise ValueError("Default process group has not been initialized, please make sure to call "
                                 "init_process_group.")
            process_group = dist.group.WORLD
        self.process_group = process_group

        ignore = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        self.parameters_to_ignore = ignore
        named = [(n, p) for n, p in module.named_parameters() if n not in ignore]
        self._module_parameters = [p for _, p in named]
        if not any(p.requires_grad for p in self._module_parameters):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        devices = {p.device for p in self._module_parameters}
        device_types = {d.type for d in devices}
        if len(device_types) != 1:
            raise ValueError("DistributedDataParallel's input module must be on the same type of devices, but input "
                             f"module parameters locate in {device_types}.")
        self.device_type = next(iter(device_types))
        if device_ids or output_device:
            if self.device_type == "cpu" or len(devices) > 1:
                raise ValueError("DistributedDataParallel device_ids and output_device arguments only work with "
                                 "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                                 f"{device_ids}, output_device {output_device}, and module parameters {devices}.")
            _not_here("device_ids", device_ids, "each rank's module is already on its device; move it there "
                      "with module.to(device) and pass device_ids=None")
        self.device_ids = None
        self.output_device = None
        self.dim = dim  # torch keeps it for scattering inputs over device_ids, which CPU modules do not use
        self.module = module
        self.device = self._module_parameters[0].device

        if broadcast_buffers is not None:
            if forward_sync_buffers is not None:
                warnings.warn("Both `broadcast_buffers` and `forward_sync_buffers` were specified. "
                              "`broadcast_buffers` is deprecated and its value is ignored when "
                              "`forward_sync_buffers` is provided.", FutureWarning, stacklevel=2)
            else:
                warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead. IMPORTANT: "
                              "unlike `broadcast_buffers=False`, `forward_sync_buffers=False` still syncs buffers at "
                              "init. If you rely on buffers NOT being synced at init (e.g. rank-local buffers), keep "
                              "using `broadcast_buffers=False` until `init_sync_buffers` is available.",
                              FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers = forward_sync_buffers
            init_sync_buffers = True
        else:
            self.forward_sync_buffers = broadcast_buffers if broadcast_buffers is not None else True
            init_sync_buffers = self.forward_sync_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.batched_grad_copy = batched_grad_copy
        self.mixed_precision = None
        if check_reduction:
            warnings.warn("The `check_reduction` argument in `DistributedDataParallel` module is deprecated. Please "
                          "avoid using it.", FutureWarning, stacklevel=2)
        self.modules_buffers = [b for n, b in module.named_buffers() if n not in ignore]

        if bucket_cap_mb_list:
            per_bucket = [int(mb * _MB) for mb in bucket_cap_mb_list]
            bucket_cap_mb = max(bucket_cap_mb_list)
            first_cap = int(bucket_cap_mb * _MB)
        else:
            per_bucket = []
            first_cap = DEFAULT_FIRST_BUCKET_BYTES if bucket_cap_mb is None else None
            bucket_cap_mb = DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        self.bucket_bytes_cap = int(bucket_cap_mb * _MB)
        self.bucket_bytes_cap_list = per_bucket
        first_cap = self.bucket_bytes_cap if first_cap is None else first_cap

        params = [(n, p) for n, p in named if p.requires_grad]
        if init_sync:
            self._verify_param_shapes([p for _, p in params])
            self._sync_module_states(init_sync_buffers)
        self.static_graph = bool(static_graph)
        self.reducer = Reducer([p for _, p in params], [n for n, _ in params], process_group,
                               bucket_bytes_cap=self.bucket_bytes_cap, first_bucket_bytes_cap=first_cap,
                               per_bucket_caps=per_bucket, find_unused_parameters=find_unused_parameters,
                               gradient_as_bucket_view=gradient_as_bucket_view, batched_grad_copy=batched_grad_copy,
                               static_graph=self.static_graph)
        self._comm_hooks = []
        self._join_config = _JoinConfig.construct_disabled_join_config()
        self._divide_by_initial_world_size = True

    @property
    def broadcast_buffers(self):
        return self.forward_sync_buffers

    @broadcast_buffers.setter
    def broadcast_buffers(self, value):
        self.forward_sync_buffers = value

    # ------------------------------------------------------------------ construction

    def _verify_param_shapes(self, params):
        """Every rank must wrap the same model: compare the parameter shapes with rank 0's."""
        mine = [tuple(p.shape) for p in params]
        theirs = [mine]
        dist.broadcast_object_list(theirs, src=dist.get_global_rank(self.process_group, 0), group=self.process_group)
        if theirs[0] != mine:
            rank = dist.get_rank(self.process_group)
            if len(theirs[0]) != len(mine):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {rank} has {len(mine)} params, "
                                   f"while rank 0 has inconsistent {len(theirs[0])} params.")
            i = next(i for i, (a, b) in enumerate(zip(mine, theirs[0])) if a != b)
            raise RuntimeError(f"DDP expects same model across all ranks, but Rank {rank} has parameter {i} of shape "
                               f"{list(mine[i])}, while rank 0 has {list(theirs[0][i])}: build the same model on "
                               "every rank")

    def _sync_module_states(self, buffers, src=None):
        """Rank ``src``'s (default: the group's rank 0) parameters (and buffers) to every rank, in place."""
        if src is None:
            src = dist.get_global_rank(self.process_group, 0)
        tensors = list(self._module_parameters)
        if buffers:
            tensors += self.modules_buffers
        with no_grad():
            for t in tensors:
                dist.broadcast(t.detach(), src=src, group=self.process_group)

    # ------------------------------------------------------------------ forward

    def will_sync_module_buffers(self):
        return self.require_forward_param_sync and self.forward_sync_buffers and len(self.modules_buffers) > 0

    def _sync_buffers(self, joined=False):
        """The buffers of the group's rank 0 to every rank; inside ``join()``, of the highest
        rank still training."""
        if self._join_config.enable:
            src = dist.get_global_rank(self.process_group, find_common_rank(self, not joined))
        else:
            src = dist.get_global_rank(self.process_group, 0)
        self.modules_buffers = [b for n, b in self.module.named_buffers() if n not in self.parameters_to_ignore]
        with no_grad():
            for b in self.modules_buffers:
                dist.broadcast(b.detach(), src=src, group=self.process_group)

    def forward(self, *inputs, **kwargs):
        grad_sync = is_grad_enabled() and self.require_backward_grad_sync
        if grad_sync:
            self.reducer.prepare_for_forward()
        count = Join.notify_join_context(self)  # inside join(): the count of ranks still training
        if count is not None:
            self.reducer.set_training_ranks(count, not self._divide_by_initial_world_size)
        if is_grad_enabled():
            self.reducer.rebuild_buckets()
        if self.will_sync_module_buffers():
            self._sync_buffers()
        if self._join_config.enable:
            global_requires_backward_grad_sync(self, joined=False)  # tells the joined ranks
        output = self.module(*inputs, **kwargs)
        if grad_sync:
            self.require_forward_param_sync = True
            find = self.find_unused_parameters or self.static_graph
            self.reducer.prepare_for_backward(_find_tensors(output) if find else [])
        else:
            self.require_forward_param_sync = False
        return output

    @contextmanager
    def no_sync(self):
        """Within it, forward/backward accumulate gradients locally; the first synchronized
        backward after it averages the accumulated gradients (include the forward in it)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------------ uneven inputs

    def join(self, divide_by_initial_world_size=True, enable=True, throw_on_early_termination=False):
        """``with ddp.join():`` around a training loop whose number of iterations differs between
        ranks (see ``distributed.algorithms.Join``): a rank out of inputs contributes zero gradients
        to the others' averages until all are done, then every rank takes the model of the last
        rank to finish. The averages divide by the initial world size, or, with
        ``divide_by_initial_world_size=False``, by the number of ranks still training."""
        return Join([self], enable, throw_on_early_termination,
                    divide_by_initial_world_size=divide_by_initial_world_size)

    def join_hook(self, **kwargs):
        return DDPJoinHook(self, divide_by_initial_world_size=kwargs.get("divide_by_initial_world_size", True))

    @property
    def join_device(self):
        return self.device

    @property
    def join_process_group(self):
        return self.process_group

    # ------------------------------------------------------------------ communication hooks

    def register_comm_hook(self, state, hook):
        """Reduce each bucket with ``hook(state, bucket)`` instead of the averaging allreduce; it
        returns a ``retrograd.futures.Future`` holding the bucket's reduced (averaged) tensor.
        ``state`` is passed through (torch's hooks take the process group, None for the world)."""
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        if self._comm_hooks:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        self._comm_hooks.append((hook, state))
        self.reducer.comm_hook = (state, hook)

    def _get_ddp_bucket_indices(self):
        """The parameter indices of each bucket, in the order their allreduces start."""
        return self.reducer.bucket_indices()
