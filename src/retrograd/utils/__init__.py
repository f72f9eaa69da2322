"""Utilities: data loading, checkpointing."""

from . import data
from .._lazy import submodule_getattr as _submodule_getattr

__getattr__ = _submodule_getattr(__name__)  # torch's submodules, imported on first access
