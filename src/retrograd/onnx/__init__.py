"""``torch.onnx``: export a model as an ONNX graph (``export``), traced from one run of it.

``import retrograd.onnx`` works without the ``onnx`` package; ``export`` needs it
(``pip install onnx``, or the ``onnx`` extra) and says so when it is missing. See
``retrograd.onnx.export``'s module docstring for how the export works and how it differs
from torch's.
"""

from . import errors
from ._trace import _exporting
from .errors import OnnxExporterError
from .export import OperatorExportTypes, TrainingMode, export

__all__ = ["export", "is_in_onnx_export", "TrainingMode", "OperatorExportTypes", "OnnxExporterError", "errors"]


def is_in_onnx_export():
    """True while ``export`` runs the model (a forward may check it, as with torch's)."""
    return _exporting[0]
