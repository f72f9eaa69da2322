"""``torch.nn.modules.module``: Module lives in ``retrograd.nn.module``."""

from ..module import *  # noqa: F401,F403
from ..module import Module, _addindent, _IncompatibleKeys  # noqa: F401
