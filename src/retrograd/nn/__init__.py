"""Neural-network building blocks, as ``torch.nn``."""

from .parameter import Buffer, Parameter  # noqa: F401
from .module import Module  # noqa: F401
from . import functional, init  # noqa: F401
from .modules import *  # noqa: F401,F403
from . import modules, utils  # noqa: F401
