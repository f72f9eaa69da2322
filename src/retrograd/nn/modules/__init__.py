"""The layer classes of ``torch.nn``, one family per file.

Each family file defines ``__all__``; the families written by other issues (conv,
pooling, normalization, dropout, sparse, upsampling, pixelshuffle, rnn, transformer,
...) are picked up here as soon as they exist."""

import importlib as _importlib
import warnings as _warnings

from .module import Module  # noqa: F401
from .container import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403

_MINE = ("module", "container", "linear", "flatten", "activation", "loss")
# the other families, in a fixed order first, then any other file of this package
_FAMILIES = ("conv", "pooling", "normalization", "batchnorm", "instancenorm", "dropout", "sparse",
             "upsampling", "pixelshuffle", "padding", "fold", "rnn", "attention", "transformer")


def _load_families():
    import pkgutil

    g = globals()
    found = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]  # noqa: F405
    names = [n for n in _FAMILIES if n in found] + sorted(n for n in found if n not in _FAMILIES + _MINE)
    for name in names:
        try:
            mod = _importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__name__}.{name}":
                continue
            _warnings.warn(f"retrograd.nn: layer family {name!r} failed to import: {e!r}", stacklevel=2)
            continue
        except Exception as e:  # a family being written must not break `import retrograd`
            _warnings.warn(f"retrograd.nn: layer family {name!r} failed to import: {e!r}", stacklevel=2)
            continue
        g.update({n: getattr(mod, n) for n in getattr(mod, "__all__", [])})


_load_families()
