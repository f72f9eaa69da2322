"""BatchNorm1d/2d/3d: per-channel normalization with batch statistics in training and
running statistics (buffers running_mean, running_var, num_batches_tracked) in eval."""

from ... import creation
from ... import int64 as _long
from ...autograd.grad_mode import no_grad
from .. import functional as F
from ..module import Module
from ..parameter import UninitializedBuffer, UninitializedParameter
from ._sync_batch_norm import SyncBatchNormFunction
from .lazy import LazyModuleMixin
from .normalization import affine_parameters, reset_affine

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyBatchNorm3d"]


class _NormBase(Module):
    """Parameters (weight, bias) and running statistics shared by batch and instance norm."""

    __constants__ = ["track_running_stats", "momentum", "eps", "num_features", "affine"]
    _version = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        affine_parameters(self, affine, bias, num_features, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=_long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        reset_affine(self)

    def _check_input_dim(self, input):
        raise NotImplementedError(f"{type(self).__name__} must define _check_input_dim (abstract base)")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        """A state_dict from before version 2 (no metadata, as one built by hand or converted from
        elsewhere, or version 1) has no num_batches_tracked: the buffer keeps its value, as torch's."""
        version = local_metadata.get("version", None)
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            tracked = self.num_batches_tracked
            state_dict[key] = tracked if tracked is not None else creation.tensor(0, dtype=_long)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self):
        return ("{num_features}, eps={eps}, momentum={momentum}, affine={affine}, bias={use_bias}, "
                "track_running_stats={track_running_stats}".format(**self.__dict__, use_bias=self.bias is not None))


class _BatchNorm(_NormBase):
    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if use_running else None,
                            self.running_var if use_running else None, self.weight, self.bias, bn_training, factor,
                            self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input."""

    def _check_input_dim(self, input):
        if input.dim() != 2 and input.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input."""

    def _check_input_dim(self, input):
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) input."""

    def _check_input_dim(self, input):
        if input.dim() != 5:
            raise ValueError(f"expected 5D input (got {input.dim()}D input)")


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) input whose training statistics are those of the batches of
    every rank of ``process_group`` (default: the world) put together, and whose backward sums
    the gradient statistics over the ranks too (see ``_sync_batch_norm``): each rank's output
    and input gradient equal BatchNorm's on the whole batch. Without an initialized process
    group, with one rank, or in eval mode it is BatchNorm on the local batch, as torch's.
    Unlike torch's (GPU only), CPU tensors are synchronized too (over MPI)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        group, world_size = self._sync_group()
        if group is None:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        running_mean = self.running_mean if self.track_running_stats else None
        running_var = self.running_var if self.track_running_stats else None
        return SyncBatchNormFunction.apply(input, self.weight, self.bias, running_mean, running_var, self.eps, factor,
                                           group, world_size)

    def _sync_group(self):
        """(group, world size) when this forward synchronizes: training with an initialized
        process group of more than one rank; else (None, 1)."""
        if not self.training:
            return None, 1
        from ... import distributed as dist

        if not dist.is_available() or not dist.is_initialized():
            return None, 1
        group = self.process_group if self.process_group else dist.group.WORLD
        world_size = dist.get_world_size(group)
        return (group, world_size) if world_size > 1 else (None, 1)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm*d replaced by a SyncBatchNorm on ``process_group``
        holding the same parameters and buffers (a BatchNorm given itself returns the new layer)."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group, bias=module.bias is not None)
            if module.affine:
                with no_grad():
                    out.weight = module.weight
                    out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


class _LazyNormMixin(LazyModuleMixin):
    """num_features is taken from the first input (dim 1, or dim 0 of an unbatched instance-norm input);
    the UninitializedParameter weight and bias and UninitializedBuffer running statistics get their
    shapes then, keeping the same objects."""

    def _lazy_placeholders(self, device, dtype):
        if self.affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def reset_running_stats(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_running_stats()

    def initialize_parameters(self, input, *args, **kwargs):
        """Shape the parameters and running statistics from the input's channels, and initialize them."""
        if self.has_uninitialized_params():
            unbatched = input.ndim == getattr(self, "_nd", -10) + 1
            self.num_features = c = input.shape[0] if unbatched else input.shape[1]
            self._materialize(dict.fromkeys(("weight", "bias", "running_mean", "running_var"), (c,)))
        stats = self.weight if self.weight is not None else self.running_mean
        if stats is not None:  # (also after load_state_dict materialized them; torch's stays 0 there)
            self.num_features = stats.shape[0]


def _lazy(base, doc):
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None,
                 **kwargs):
        LazyModuleMixin.__init__(self, 0, eps, momentum, affine, track_running_stats, device, dtype, **kwargs)
        self._lazy_placeholders(device, dtype)

    cls = type("Lazy" + base.__name__, (_LazyNormMixin, base), {"__init__": __init__, "__doc__": doc,
                                                                 "cls_to_become": base})
    cls.__module__ = __name__
    return cls


LazyBatchNorm1d = _lazy(BatchNorm1d, "A BatchNorm1d whose num_features is taken from the first input.")
LazyBatchNorm2d = _lazy(BatchNorm2d, "A BatchNorm2d whose num_features is taken from the first input.")
LazyBatchNorm3d = _lazy(BatchNorm3d, "A BatchNorm3d whose num_features is taken from the first input.")
