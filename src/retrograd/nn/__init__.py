"""Neural-network building blocks, as ``torch.nn``."""

import importlib as _importlib

from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa: F401
from .module import Module  # noqa: F401
from . import functional, init  # noqa: F401
from .modules import *  # noqa: F401,F403
from . import modules, utils  # noqa: F401
# torch.nn.attention (sdpa_kernel), in place of the star import's nn.modules.attention (MultiheadAttention)
attention = _importlib.import_module(f"{__name__}.attention")
from .._lazy import submodule_getattr as _submodule_getattr

__getattr__ = _submodule_getattr(__name__)  # torch's submodules, imported on first access
