"""The demo's two models for 1x8x8 digit images (10 classes)."""

from .. import nn


def mlp(hidden=128):
    """Flatten -> Linear(64, hidden) -> ReLU -> Linear(hidden, 10)."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def cnn(channels=(32, 64)):
    """Two blocks of 3x3 convolution (padding 1), ReLU and 2x2 max-pooling
    (1x8x8 -> c1x4x4 -> c2x2x2), then Flatten -> Linear(4*c2, 10)."""
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c2 * 2 * 2, 10),
    )


MODELS = {"mlp": mlp, "cnn": cnn}


def build(name):
    """The model called ``name`` ("mlp" or "cnn")."""
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}") from None
