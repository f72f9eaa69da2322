"""The exporter's exceptions, as ``torch.onnx.errors`` names them."""

__all__ = ["OnnxExporterError", "UnsupportedOperatorError"]


class OnnxExporterError(RuntimeError):
    """An export failed: the model does something the ONNX exporter cannot write."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op the model ran has no ONNX lowering."""
