"""Training with uneven inputs: ``Join``, ``Joinable`` and ``JoinHook``, as torch's.

Ranks with fewer batches leave the training loop early. A collective that the ranks still
training call would then wait forever for them; inside ``with Join([model, ...]):`` a rank
that has run out of inputs stays in the context's exit instead and, once per iteration of the
others, runs each joinable's ``main_hook``, which calls the same collectives with neutral
contributions (DDP: zero gradients). The ranks count who is still training with one
allreduce per iteration: each training rank's joinable announces itself
(``Join.notify_join_context`` contributes 1, called by the joinable each iteration, e.g. in
DDP's forward) and each joined rank contributes 0. When the count reaches 0 every rank runs
each joinable's ``post_hook(is_last_joiner)`` (DDP: every rank takes the model of the last
rank to join).
"""

import warnings
from abc import ABC, abstractmethod
from typing import NamedTuple

from ... import creation
from .. import collectives as _c
from ..process_group import get_rank

_WARN_AFTER = 1000  # iterations a rank has shadowed: the others may be training forever


class JoinHook:
    """What a joined rank runs for one joinable: ``main_hook()`` once per iteration of the
    ranks still training (shadowing their collectives), ``post_hook(is_last_joiner)`` once
    when every rank has joined. Both do nothing here; joinables return a subclass."""

    def main_hook(self):
        pass

    def post_hook(self, is_last_joiner: bool):
        pass


class _JoinConfig(NamedTuple):
    enable: bool
    throw_on_early_termination: bool
    is_first_joinable: bool

    @staticmethod
    def construct_disabled_join_config():
        return _JoinConfig(enable=False, throw_on_early_termination=False, is_first_joinable=False)


class Joinable(ABC):
    """A class that can take part in ``Join``: it gives a ``join_hook``, the device and the
    process group of its collectives, and calls ``Join.notify_join_context(self)`` once per
    iteration (before its collectives)."""

    @abstractmethod
    def __init__(self):
        super().__init__()
        self._join_config = _JoinConfig.construct_disabled_join_config()

    @abstractmethod
    def join_hook(self, **kwargs) -> JoinHook:
        """The hook a joined rank runs for this joinable; ``kwargs`` are Join's."""

    @property
    @abstractmethod
    def join_device(self):
        """The device of the collectives (the count of training ranks is made there)."""

    @property
    @abstractmethod
    def join_process_group(self):
        """The process group of the collectives."""


class Join:
    """``with Join(joinables):`` around a training loop of uneven length per rank. On leaving
    it, a rank shadows the collectives of the ranks still training (``JoinHook.main_hook``)
    until all have left, then every rank runs ``post_hook``. ``enable=False`` makes it do
    nothing; ``throw_on_early_termination=True`` makes every rank raise as soon as one runs
    out of inputs instead. Other keyword arguments go to each ``joinable.join_hook``."""

    def __init__(self, joinables, enable=True, throw_on_early_termination=False, **kwargs):
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = list(joinables)
        self._join_hooks = [j.join_hook(**kwargs) for j in self._joinables]
        self._enable = enable
        self._throw_on_early_termination = throw_on_early_termination
        groups = {id(j.join_process_group) for j in self._joinables}
        if len(groups) > 1:
            raise ValueError("Using join context manager with multiple process groups")
        self._process_group = self._joinables[0].join_process_group
        self._device = self._joinables[0].join_device
        self._set_joinable_configs()
        self._rank = get_rank(self._process_group)

    def _set_joinable_configs(self):
        """Only the first joinable announces its rank each iteration (one allreduce for all)."""
        for i, joinable in enumerate(self._joinables):
            joinable._join_config = _JoinConfig(enable=self._enable,
                                                throw_on_early_termination=self._throw_on_early_termination,
                                                is_first_joinable=i == 0)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if not self._enable or exc_type is not None:
            return False  # an exception goes on as it is: the other ranks' watchdog ends the job
        all_joined, is_last_joiner, shadowed = False, True, 0
        while not all_joined:
            if shadowed == _WARN_AFTER:
                warnings.warn(f"Detected uneven input skew of greater than {_WARN_AFTER}. This means that rank "
                              f"{self._rank} has at least {_WARN_AFTER} fewer inputs than other currently-active "
                              "ranks. This level of skew could lead to performance degradation during training.")
            if self._count_training_ranks() == 0:
                all_joined = True
                continue
            if self._throw_on_early_termination:
                self._notify_procs_to_terminate()
            for hook in self._join_hooks:
                hook.main_hook()
            is_last_joiner = False
            shadowed += 1
        for hook in self._join_hooks:
            hook.post_hook(is_last_joiner)
        return False

    def _count_training_ranks(self):
        """The joined side of the per-iteration count: contribute 0, learn how many still train."""
        count = creation.zeros(1, device=self._device)
        # nonblocking, as the training ranks' notify_join_context: MPI never matches a blocking
        # collective with a nonblocking one
        _c.all_reduce(count, group=self._process_group, async_op=True).wait()
        return int(count.item())

    def _notify_procs_to_terminate(self):
        """throw_on_early_termination: answer the training ranks' second allreduce with 1, so
        that they raise, and raise here."""
        ones = creation.ones(1, device=self._device)
        _c.all_reduce(ones, group=self._process_group)
        raise RuntimeError(f"Rank {self._rank} exhausted all inputs.")

    @staticmethod
    def notify_join_context(joinable):
        """Called by a joinable once per iteration while its rank trains: contribute 1 to the
        count of training ranks (returns the async Work of that allreduce, whose tensor holds
        the count, or None when not in an enabled Join or not the first joinable). With
        throw_on_early_termination, raise on every rank once one has run out of inputs."""
        config = joinable._join_config
        if not config.is_first_joinable or not config.enable:
            return None
        device, group = joinable.join_device, joinable.join_process_group
        ones = creation.ones(1, device=device)
        work = _c.all_reduce(ones, group=group, async_op=True)  # work.result()[0]: the count
        if config.throw_on_early_termination:
            should_throw = creation.zeros(1, device=device)
            _c.all_reduce(should_throw, group=group)
            if should_throw.item():
                raise RuntimeError("Detected at least one rank that exhausted inputs. Throwing across all ranks.")
        return work
