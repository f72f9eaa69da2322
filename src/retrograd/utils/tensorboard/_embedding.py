"""The embedding projector's files for ``SummaryWriter.add_embedding``: the vectors
(tensors.tsv), their labels (metadata.tsv), a sprite of their images (sprite.png) and the
projector_config.pbtxt that lists them, written as torch writes them."""

import math
from io import BytesIO

import numpy as np
from tensorboard.compat import tf
from tensorboard.plugins.projector.projector_config_pb2 import EmbeddingInfo

from ._utils import make_grid
from .summary import make_np


def _join(a, b):
    # tensorboard's TF stub and real TF spell join differently
    if hasattr(tf.io.gfile, "join"):
        return tf.io.gfile.join(a, b)
    return tf.io.gfile.get_filesystem(a).join(a, b)


def _write(path, data):
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(tf.compat.as_bytes(data))


def make_tsv(metadata, save_path, metadata_header=None):
    """One label a line; with a header, one tab-separated row per data point."""
    if not metadata_header:
        metadata = [str(x) for x in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError("len of header must be equal to the number of columns in metadata")
        metadata = ["\t".join(str(e) for e in row) for row in [metadata_header] + list(metadata)]
    _write(_join(save_path, "metadata.tsv"), "\n".join(metadata) + "\n")


def make_sprite(label_img, save_path):
    """The images (N, C, H, W), values 0..1, in a square grid as one PNG."""
    from PIL import Image

    label_img = make_np(label_img)
    nrow = math.ceil(label_img.shape[0] ** 0.5)
    arranged_CHW = make_grid(label_img, ncols=nrow)
    square_HWC = np.zeros((arranged_CHW.shape[2], arranged_CHW.shape[2], 3))
    arranged_HWC = arranged_CHW.transpose(1, 2, 0)
    square_HWC[:arranged_HWC.shape[0], :, :] = arranged_HWC
    image = Image.fromarray(np.uint8((square_HWC * 255).clip(0, 255)))
    with BytesIO() as buf:
        image.save(buf, format="PNG")
        _write(_join(save_path, "sprite.png"), buf.getvalue())


def get_embedding_info(metadata, label_img, subdir, global_step, tag):
    """The projector config's entry for one embedding."""
    info = EmbeddingInfo()
    info.tensor_name = f"{tag}:{str(global_step).zfill(5)}"
    info.tensor_path = _join(subdir, "tensors.tsv")
    if metadata is not None:
        info.metadata_path = _join(subdir, "metadata.tsv")
    if label_img is not None:
        info.sprite.image_path = _join(subdir, "sprite.png")
        info.sprite.single_image_dim.extend([label_img.shape[3], label_img.shape[2]])
    return info


def write_pbtxt(save_path, contents):
    _write(_join(save_path, "projector_config.pbtxt"), contents)


def make_mat(matlist, save_path):
    """The vectors, one tab-separated row each."""
    _write(_join(save_path, "tensors.tsv"),
           "".join("\t".join(str(i.item()) for i in x) + "\n" for x in matlist))
