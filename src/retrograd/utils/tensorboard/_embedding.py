"""The projector plugin's files for ``add_embedding``: the points (tensors.tsv), their labels
(metadata.tsv), their thumbnails in one square sprite (sprite.png), and the run's
projector_config.pbtxt listing every embedding."""

import math
import os

import numpy as np


def _join(a, b):
    """A path inside the log dir as the projector reads it: "/"-separated on every OS."""
    return a.rstrip("/") + "/" + b


def _write(path, data):
    with open(path, "w", encoding="utf-8") as f:
        f.write(data)


def make_tsv(metadata, save_path, metadata_header=None):
    """metadata.tsv: one label per line, or with ``metadata_header`` a header line and one
    tab-separated row per point."""
    if metadata_header is None:
        lines = [str(x) for x in metadata]
    else:
        assert len(metadata_header) == len(metadata[0]), \
            "len of header must be equal to the number of columns in metadata"
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header] + list(metadata)]
    _write(os.path.join(save_path, "metadata.tsv"), "".join(line + "\n" for line in lines))


def make_sprite(label_img, save_path):
    """sprite.png: the N thumbnails (N x C x H x W, floats in [0, 1]) in rows of ceil(sqrt(N)), on a
    black square canvas (the projector cuts a square sprite into the thumbnails' cells)."""
    from PIL import Image

    from ._utils import make_grid
    from .summary import make_np

    images = make_np(label_img)
    grid = make_grid(images, ncols=int(math.ceil(math.sqrt(images.shape[0])))).transpose(1, 2, 0)
    side = max(grid.shape[:2])
    square = np.zeros((side, side, grid.shape[2]), dtype=np.uint8)
    square[:grid.shape[0], :grid.shape[1]] = (grid * 255.0).clip(0, 255).astype(np.uint8)  # uint8 too, as torch
    Image.fromarray(square).save(os.path.join(save_path, "sprite.png"))


def make_mat(matlist, save_path):
    """tensors.tsv: one point per line, its coordinates tab-separated."""
    lines = ["\t".join(str(x.item()) for x in row) + "\n" for row in matlist]  # float32 written as float64
    _write(os.path.join(save_path, "tensors.tsv"), "".join(lines))


def get_embedding_info(metadata, label_img, subdir, global_step, tag):
    """The projector's EmbeddingInfo of one embedding stored in ``subdir`` of the log dir."""
    from tensorboard.plugins.projector.projector_config_pb2 import EmbeddingInfo

    info = EmbeddingInfo(tensor_name=f"{tag}:{str(global_step).zfill(5)}",
                         tensor_path=_join(subdir, "tensors.tsv"))
    if metadata is not None:
        info.metadata_path = _join(subdir, "metadata.tsv")
    if label_img is not None:
        info.sprite.image_path = _join(subdir, "sprite.png")
        info.sprite.single_image_dim.extend([label_img.shape[3], label_img.shape[2]])
    return info


def write_pbtxt(save_path, contents):
    """projector_config.pbtxt in ``save_path``: ``contents`` (a ProjectorConfig) in text format."""
    from google.protobuf import text_format

    _write(os.path.join(save_path, "projector_config.pbtxt"), text_format.MessageToString(contents))
