"""``torch.utils.tensorboard``: ``SummaryWriter`` writes TensorBoard event files (scalars,
histograms, images, text, hyperparameters, ...) with the ``tensorboard`` package, an optional
dependency (``pip install retrograd[tensorboard]``): importing this module without it raises
ImportError, as torch's does."""

try:
    import tensorboard
except ImportError as e:
    raise ModuleNotFoundError(
        "TensorBoard logging requires TensorBoard version 1.15 or above: the tensorboard package is not "
        "installed (pip install tensorboard, or retrograd[tensorboard])", name="tensorboard") from e


def _version_tuple(version):
    parts = []
    for part in version.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


if not hasattr(tensorboard, "__version__") or _version_tuple(tensorboard.__version__) < (1, 15):
    raise ImportError("TensorBoard logging requires TensorBoard version 1.15 or above")

del tensorboard

from tensorboard.summary.writer.record_writer import RecordWriter  # noqa: E402

from .writer import FileWriter, SummaryWriter  # noqa: E402

__all__ = ["FileWriter", "RecordWriter", "SummaryWriter"]
