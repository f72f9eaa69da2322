"""Neural-network building blocks, as ``torch.nn``."""

from . import functional, init  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .modules import *  # noqa: F401,F403
