"""Reverse-mode automatic differentiation: Function, backward, grad, grad modes, hooks."""

from . import functional, graph  # noqa: F401
from .anomaly import detect_anomaly, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx, InplaceFunction, NestedIOFunction, once_differentiable
from .grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .multithreading import is_multithreading_enabled, set_multithreading_enabled
from .variable import Variable, variable  # noqa: F401 (the function shadows its module, as in torch)
from .._lazy import submodule_getattr as _submodule_getattr

__getattr__ = _submodule_getattr(__name__)  # torch's submodules, imported on first access

__all__ = ["Function", "FunctionCtx", "InplaceFunction", "NestedIOFunction", "once_differentiable",
           "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck", "GradcheckError",
           "graph", "functional", "Variable"]
