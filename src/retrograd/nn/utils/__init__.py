"""``torch.nn.utils``: gradient clipping, parameter/vector conversion, and (in
``rnn``) packed sequences. Submodules written by other issues are imported when present."""

import importlib as _importlib
import warnings as _warnings

from . import clip_grad, convert_parameters  # noqa: F401
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401


def _load(names):
    for name in names:
        try:
            mod = _importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                _warnings.warn(f"retrograd.nn.utils.{name} failed to import: {e!r}", stacklevel=2)
            continue
        except Exception as e:  # a submodule being written must not break `import retrograd`
            _warnings.warn(f"retrograd.nn.utils.{name} failed to import: {e!r}", stacklevel=2)
            continue
        globals()[name] = mod
        globals().update({n: getattr(mod, n) for n in getattr(mod, "EXPORTS", [])})


_load(("rnn", "weight_norm", "spectral_norm", "parametrize", "parametrizations", "stateless",
       "fusion", "prune", "init"))
