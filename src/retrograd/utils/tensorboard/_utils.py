"""Image layout helpers for the summaries: any layout of "N", "C", "H", "W" to HWC, a batch
tiled as a grid, videos as grids per frame, and matplotlib figures as RGB arrays."""

import numpy as np


def figure_to_image(figures, close=True):
    """A matplotlib figure (or a list of them) rendered as a CHW uint8 RGB array (stacked: NCHW)."""
    if isinstance(figures, list):
        return np.stack([figure_to_image(figure, close) for figure in figures])
    import matplotlib.backends.backend_agg as plt_backend_agg
    import matplotlib.pyplot as plt

    canvas = plt_backend_agg.FigureCanvasAgg(figures)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype=np.uint8)
    if close:
        plt.close(figures)
    return np.ascontiguousarray(rgba[:, :, :3].transpose(2, 0, 1))


def make_grid(I, ncols=8):
    """An N x C x H x W batch tiled row by row, ``ncols`` to a row, as one C x H' x W' image;
    cells past the last image stay 0. One channel becomes three (gray to RGB)."""
    assert isinstance(I, np.ndarray), "plugin error, should pass numpy array here"
    if I.shape[1] == 1:
        I = np.concatenate([I, I, I], axis=1)
    if I.ndim != 4 or I.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    n, c, h, w = I.shape
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    canvas = np.zeros((c, h * nrows, w * ncols), dtype=I.dtype)
    for i in range(n):
        row, col = divmod(i, ncols)
        canvas[:, row * h:(row + 1) * h, col * w:(col + 1) * w] = I[i]
    return canvas


def _prepare_video(V):
    """An N x T x C x H x W video batch as T x H' x W' x C frames: the N videos in a grid per frame,
    N padded with black videos to the next power of two, 2^(floor(log2 N) // 2) rows of them.
    uint8 videos become floats in [0, 1]."""
    n, t, c, h, w = V.shape
    if V.dtype == np.uint8:
        V = np.float32(V) / 255.0
    padded = 1 << (n - 1).bit_length()  # the next power of two
    rows = 1 << ((n.bit_length() - 1) // 2)
    cols = padded // rows
    V = np.concatenate([V, np.zeros((padded - n, t, c, h, w), dtype=V.dtype)], axis=0)
    V = V.reshape(rows, cols, t, c, h, w).transpose(2, 0, 4, 1, 5, 3)  # T, rows, H, cols, W, C
    return V.reshape(t, rows * h, cols * w, c)


def convert_to_HWC(tensor, input_format):
    """``tensor`` laid out as ``input_format`` (letters N, C, H, W, each at most once) as H x W x 3
    (or 4): a batch (N) becomes a grid, one channel or none becomes three."""
    assert len(set(input_format)) == len(input_format), (
        f"You can not use the same dimension shorthand twice. input_format: {input_format}")
    assert len(tensor.shape) == len(input_format), (
        "size of input tensor and input format are different. "
        f"tensor shape: {tensor.shape}, input_format: {input_format}")
    input_format = input_format.upper()
    if len(input_format) == 4:
        nchw = tensor.transpose([input_format.find(c) for c in "NCHW"])
        return make_grid(nchw).transpose(1, 2, 0)
    if len(input_format) == 3:
        hwc = tensor.transpose([input_format.find(c) for c in "HWC"])
        return np.concatenate([hwc, hwc, hwc], axis=2) if hwc.shape[2] == 1 else hwc
    if len(input_format) == 2:
        hw = tensor.transpose([input_format.find(c) for c in "HW"])
        return np.stack([hw, hw, hw], axis=2)
    raise ValueError(f"dataformats {input_format!r}: an image has 2, 3 or 4 dimensions (HW, CHW, NCHW, ...)")
