"""The 8x8 handwritten digits shipped in ``retrograd/data/digits.csv.gz`` (UCI, CC BY 4.0).

1,797 rows of 64 pixel values in 0..16 and a label 0..9 (see ``retrograd/data/README.md``).
"""

import gzip
import math
from importlib import resources

import numpy as np

N_CLASSES = 10
IMAGE_SHAPE = (1, 8, 8)


def digits_path():
    """The path of the shipped ``digits.csv.gz``."""
    return resources.files("retrograd").joinpath("data", "digits.csv.gz")


def load_digits():
    """All 1,797 digits: ``(images, labels)`` as NumPy arrays, images float32 of shape
    (N, 64) scaled to [0, 1], labels int64 of shape (N,)."""
    with resources.as_file(digits_path()) as path, gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    images = table[:, :64] / np.float32(16.0)
    labels = table[:, 64].astype(np.int64)
    return images, labels


def train_test_split(images, labels, test_fraction=0.2, seed=0):
    """A seeded random split: ``(x_train, y_train, x_test, y_test)``; the test set gets
    ``ceil(test_fraction * N)`` rows (360 of 1,797 for 0.2)."""
    n = len(labels)
    n_test = int(math.ceil(test_fraction * n))
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return images[train], labels[train], images[test], labels[test]


def load_split(test_fraction=0.2, seed=0, subset=None):
    """Load the digits and split them; ``subset`` keeps only that many rows (chosen with
    the same seed) before splitting, for quick runs."""
    images, labels = load_digits()
    if subset is not None and subset < len(labels):
        keep = np.random.default_rng(seed + 1).permutation(len(labels))[:subset]
        images, labels = images[keep], labels[keep]
    return train_test_split(images, labels, test_fraction, seed)
