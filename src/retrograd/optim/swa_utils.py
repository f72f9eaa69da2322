"""Stochastic weight averaging and EMA of weights: AveragedModel, SWALR, update_bn."""

import copy
import itertools
import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..creation import tensor
from .. import _dtype
from .lr_scheduler import LRScheduler
from .optimizer import _lerp_

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_avg_fn", "get_swa_avg_fn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn"]


def get_ema_avg_fn(decay=0.999):
    """avg <- decay*avg + (1 - decay)*current."""

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """avg <- avg + (current - avg) / (n + 1): the running mean."""

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def get_ema_multi_avg_fn(decay=0.999):
    """The EMA update over lists of tensors, in place."""

    @no_grad()
    def ema_update(ema_param_list, current_param_list, _):
        for e, c in zip(ema_param_list, current_param_list):
            e.copy_(e * decay + c * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """The running-mean update over lists of tensors, in place."""

    @no_grad()
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = float(num_averaged)
        for a, c in zip(averaged_param_list, current_param_list):
            a.copy_(a + (c - a) / (n + 1))

    return swa_update


def _module_base():
    from ..nn.module import Module

    return Module


class AveragedModel(_module_base()):
    """A copy of ``model`` whose parameters are the running average (SWA, the default) or an
    EMA (``avg_fn=get_ema_avg_fn(decay)``) of ``model``'s, updated by ``update_parameters``."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=_dtype.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Fold ``model``'s current parameters (and buffers with ``use_buffers``) into the average."""
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.parameters(), model.parameters()
        n = int(self.n_averaged.item())
        with no_grad():
            pairs = [(a, b.detach().to(a.device)) for a, b in zip(mine, theirs)]
            if n == 0:
                for a, b in pairs:
                    a.detach().copy_(b)
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn([a.detach() for a, _ in pairs], [b for _, b in pairs], self.n_averaged)
            elif self.avg_fn is not None:
                for a, b in pairs:
                    a.detach().copy_(self.avg_fn(a.detach(), b, self.n_averaged.to(a.device)))
            else:  # the running mean, as a lerp toward the current value with weight 1/(n+1)
                for a, b in pairs:
                    if a.dtype.is_floating_point:
                        _lerp_(a._data, b._data, 1.0 / (n + 1))
                    else:  # integer buffers (num_batches_tracked): integer division, as torch
                        a._data += np.trunc((b._data - a._data) / (n + 1)).astype(a._data.dtype)
                    a._vc[0] += 1
            if not self.use_buffers:  # buffers are not averaged: keep them in sync with the model
                for a, b in zip(self.module.buffers(), model.buffers()):
                    a.detach().copy_(b.detach().to(a.device))
        self.n_averaged.add_(1)


def update_bn(loader, model, device=None):
    """Recompute the BatchNorm running statistics of ``model`` with one pass over ``loader``
    (cumulative averages: momentum=None), as needed after weight averaging."""
    momenta = {}
    for module in model.modules():
        if hasattr(module, "reset_running_stats") and hasattr(module, "running_mean"):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr to ``swa_lr`` over ``anneal_epochs`` (cos or linear), then hold it."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        swa_lrs = swa_lr if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(optimizer.param_groups)
        if len(swa_lrs) != len(optimizer.param_groups):
            raise ValueError(f"swa_lr must have the same length as optimizer.param_groups: swa_lr has "
                             f"{len(swa_lrs)}, optimizer.param_groups has {len(optimizer.param_groups)}")
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got {anneal_strategy}")
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        self._warn_if_called_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")} | {
            "anneal_strategy": "cos" if self.anneal_func == self._cosine_anneal else "linear"}

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        strategy = state_dict.pop("anneal_strategy", None)
        self.__dict__.update(state_dict)
        if strategy is not None:
            self.anneal_func = self._cosine_anneal if strategy == "cos" else self._linear_anneal
