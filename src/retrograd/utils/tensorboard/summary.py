"""Builders of TensorBoard ``Summary`` protos, one per kind of data, as torch's
``torch.utils.tensorboard.summary`` names them. Each takes numpy arrays or retrograd tensors
(``make_np``) and returns a ``Summary`` (``hparams`` returns three) for ``FileWriter.add_summary``.
The protos and plugin metadata are the tensorboard package's own."""

import io
import json
import struct
import wave

import numpy as np
from google.protobuf.struct_pb2 import Value
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams.metadata import (EXPERIMENT_TAG, PLUGIN_NAME as HPARAMS_PLUGIN,
                                                  SESSION_END_INFO_TAG, SESSION_START_INFO_TAG)
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo
from tensorboard.plugins.pr_curve.plugin_data_pb2 import PrCurvePluginData

from ...tensor import Tensor
from ._utils import _prepare_video, convert_to_HWC

__all__ = ["half_to_int", "int_to_half", "hparams", "scalar", "histogram_raw", "histogram", "make_histogram",
           "image", "image_boxes", "draw_boxes", "make_image", "video", "make_video", "audio", "custom_scalars",
           "text", "tensor_proto", "pr_curve_raw", "pr_curve", "compute_curve", "mesh", "make_np"]


def make_np(x):
    """A numpy array of ``x``: a tensor (detached), an array, or a Python/numpy scalar (as 1 element)."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, Tensor):
        return x.detach().numpy()
    if np.isscalar(x):
        return np.array([x])
    raise NotImplementedError(f"Got {type(x)}, but numpy array or torch tensor are expected.")


def _metadata(plugin_name, content=b""):
    return SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=plugin_name, content=content))


def _shape(dims):
    return TensorShapeProto(dim=[TensorShapeProto.Dim(size=d) for d in dims])


# ---------------------------------------------------------------------------- scalars and tensors


def scalar(name, tensor, collections=None, new_style=False, double_precision=False):
    """A one-element value: ``simple_value`` (float32), or with ``new_style`` a scalars-plugin tensor
    (float64 kept with ``double_precision``)."""
    if collections is not None:
        raise NotImplementedError("scalar(collections=...): TensorFlow graph collections have no meaning here")
    array = make_np(tensor).squeeze()
    assert array.ndim == 0, (
        "Tensor should contain one element (0 dimensions). "
        f"Was given size: {array.size} and {array.ndim} dimensions.")
    value = float(array)
    if not new_style:
        return Summary(value=[Summary.Value(tag=name, simple_value=value)])
    if double_precision:
        proto = TensorProto(dtype="DT_DOUBLE", double_val=[value])
    else:
        proto = TensorProto(dtype="DT_FLOAT", float_val=[value])
    return Summary(value=[Summary.Value(tag=name, tensor=proto, metadata=_metadata("scalars"))])


def half_to_int(f):
    """The bits of ``f`` as a float32, read as an int32: how torch stores float16 values in ``half_val``."""
    return struct.unpack("i", struct.pack("f", f))[0]


def int_to_half(i):
    """The inverse of ``half_to_int``."""
    return struct.unpack("f", struct.pack("i", i))[0]


# numpy dtype -> (TensorProto dtype, the repeated field holding the values, value converter)
_TENSOR_FIELDS = {
    np.dtype(np.float16): ("DT_HALF", "half_val", half_to_int),
    np.dtype(np.float32): ("DT_FLOAT", "float_val", float),
    np.dtype(np.float64): ("DT_DOUBLE", "double_val", float),
    np.dtype(np.int8): ("DT_INT8", "int_val", int),
    np.dtype(np.uint8): ("DT_UINT8", "uint32_val", int),
    np.dtype(np.int16): ("DT_INT16", "int_val", int),
    np.dtype(np.int32): ("DT_INT32", "int_val", int),
    np.dtype(np.int64): ("DT_INT64", "int64_val", int),
    np.dtype(np.bool_): ("DT_BOOL", "bool_val", bool),
}


def tensor_proto(tag, tensor):
    """A whole tensor for the tensor plugin: its dtype, shape and flattened values."""
    array = make_np(tensor)
    if array.dtype.kind == "c":  # complex: (real, imaginary) pairs
        dtype, field = ("DT_COMPLEX64", "scomplex_val") if array.dtype == np.complex64 else \
            ("DT_COMPLEX128", "dcomplex_val")
        values = [float(v) for c in array.reshape(-1) for v in (c.real, c.imag)]
    elif array.dtype.name == "bfloat16":  # stored as torch stores it: float32 bits in half_val
        dtype, field = "DT_BFLOAT16", "half_val"
        values = [half_to_int(v) for v in array.astype(np.float32).reshape(-1)]
    else:
        if array.dtype not in _TENSOR_FIELDS:
            raise TypeError(f"add_tensor: a tensor of dtype {array.dtype} has no TensorBoard tensor type; "
                            "convert it to a float, integer or bool dtype first")
        dtype, field, convert = _TENSOR_FIELDS[array.dtype]
        values = [convert(v) for v in array.reshape(-1)]
    proto = TensorProto(dtype=dtype, tensor_shape=_shape(array.shape))
    getattr(proto, field).extend(values)
    return Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=_metadata("tensor"))])


def text(tag, text):
    """Markdown text for the text plugin, under ``<tag>/text_summary``."""
    proto = TensorProto(dtype="DT_STRING", tensor_shape=_shape([1]), string_val=[text.encode(encoding="utf_8")])
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", tensor=proto, metadata=_metadata("text"))])


# ---------------------------------------------------------------------------- histograms


def histogram_raw(name, min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    """A histogram given by its statistics: bucket i counts the values up to ``bucket_limits[i]``."""
    histo = HistogramProto(min=min, max=max, num=num, sum=sum, sum_squares=sum_squares,
                           bucket_limit=bucket_limits, bucket=bucket_counts)
    return Summary(value=[Summary.Value(tag=name, histo=histo)])


def _tensorflow_edges():
    """TensorFlow's default bucket edges: 0 and +-1e-12 * 1.1^k up to 1e20 (finer near zero)."""
    positive = [1e-12]
    while positive[-1] < 1e20:
        positive.append(positive[-1] * 1.1)
    positive = np.array(positive[:-1])
    return np.concatenate([-positive[::-1], [0.0], positive])


def make_histogram(values, bins, max_bins=None):
    """The HistogramProto of ``values`` with numpy's ``bins`` ("tensorflow": TensorFlow's edges).

    At most ``max_bins`` buckets: neighbouring buckets are summed in groups of ``n // max_bins``.
    Then only the buckets from the first to the last non-empty one are kept, with an empty bucket
    in front, whose limit is the left edge of the first (TensorBoard reads bucket i as the values
    between limit i-1 and limit i)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("The input has no element.")
    counts, edges = np.histogram(values, bins=_tensorflow_edges() if isinstance(bins, str) and bins == "tensorflow" else bins)
    if max_bins is not None and len(counts) > max_bins:
        group = len(counts) // max_bins
        padding = -len(counts) % group
        counts = np.pad(counts, (0, padding)).reshape(-1, group).sum(axis=1)
        edges = np.concatenate([edges[:-1:group], edges[-1:]])
    nonzero = np.flatnonzero(counts)
    if nonzero.size == 0:
        raise ValueError(f"The histogram is empty: none of the {values.size} values lies within the bins "
                         f"[{edges[0]}, {edges[-1]}]; pass bins that cover the values")
    first, last = nonzero[0], nonzero[-1]
    return HistogramProto(min=values.min(), max=values.max(), num=len(values), sum=values.sum(),
                          sum_squares=values @ values, bucket_limit=edges[first:last + 2].tolist(),
                          bucket=[0.0] + counts[first:last + 1].tolist())


def histogram(name, values, bins, max_bins=None):
    return Summary(value=[Summary.Value(tag=name, histo=make_histogram(make_np(values), bins, max_bins))])


# ---------------------------------------------------------------------------- images


def _to_uint8(array):
    """uint8 pixels: uint8 arrays as they are, others taken as [0, 1] and scaled by 255 (clipped)."""
    if array.dtype == np.uint8:
        return array
    return (array * 255.0).clip(0, 255).astype(np.uint8)


def make_image(tensor, rescale=1, rois=None, labels=None):
    """An encoded PNG ``Summary.Image`` of an HWC uint8 array (boxes ``rois`` drawn first), resized
    by ``rescale``; its height and width fields keep the array's size, as torch writes them."""
    from PIL import Image

    height, width, channel = tensor.shape
    picture = Image.fromarray(tensor)
    if rois is not None:
        picture = draw_boxes(picture, rois, labels=labels)
    picture = picture.resize((int(width * rescale), int(height * rescale)), Image.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return Summary.Image(height=height, width=width, colorspace=channel,
                         encoded_image_string=buffer.getvalue())


def image(tag, tensor, rescale=1, dataformats="NCHW"):
    """An image (a grid of them for a batch) in ``dataformats``, floats in [0, 1] or uint8."""
    array = _to_uint8(convert_to_HWC(make_np(tensor), dataformats))
    return Summary(value=[Summary.Value(tag=tag, image=make_image(array, rescale=rescale))])


def _draw_single_box(image, xmin, ymin, xmax, ymax, display_str, color="black", color_text="black", thickness=2):
    """One box outline on a PIL image, with ``display_str`` on a filled label inside its
    bottom-left corner (the label's bottom on the box's bottom edge)."""
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(image)
    draw.line([(xmin, ymin), (xmin, ymax), (xmax, ymax), (xmax, ymin), (xmin, ymin)], width=thickness, fill=color)
    if display_str:
        font = ImageFont.load_default()
        left, top, right, bottom = font.getbbox(display_str)
        text_width, text_height = right - left, bottom - top
        margin = int(np.ceil(0.05 * text_height))
        draw.rectangle([(xmin, ymax - text_height - 2 * margin), (xmin + text_width, ymax)], fill=color)
        draw.text((xmin + margin, ymax - text_height - margin), display_str, fill=color_text, font=font)
    return image


def draw_boxes(disp_image, boxes, labels=None):
    """Red boxes (xmin, ymin, xmax, ymax rows of ``boxes``) with their ``labels`` on a PIL image."""
    for i, (xmin, ymin, xmax, ymax) in enumerate(boxes):
        label = None if labels is None else labels[i]
        disp_image = _draw_single_box(disp_image, xmin, ymin, xmax, ymax, label, color="Red")
    return disp_image


def image_boxes(tag, tensor_image, tensor_boxes, rescale=1, dataformats="CHW", labels=None):
    """An image with bounding boxes (N x 4: xmin, ymin, xmax, ymax in pixels) and their labels."""
    array = _to_uint8(convert_to_HWC(make_np(tensor_image), dataformats))
    boxes = make_np(tensor_boxes)
    if isinstance(labels, str):
        labels = [labels]
    if labels is not None and len(labels) != boxes.shape[0]:
        raise ValueError(f"add_image_with_boxes: {len(labels)} labels for {boxes.shape[0]} boxes; "
                         "pass one label per box (or labels=None)")
    return Summary(value=[Summary.Value(tag=tag, image=make_image(array, rescale=rescale, rois=boxes,
                                                                  labels=labels))])


# ---------------------------------------------------------------------------- video and audio


def make_video(tensor, fps):
    """An animated GIF ``Summary.Image`` of a T x H x W x C uint8 array (needs the moviepy package)."""
    try:
        import moviepy  # noqa: F401
    except ImportError:
        print("add_video needs package moviepy (pip install moviepy): no video written")
        return None  # an empty value under the tag, as torch writes then
    try:
        from moviepy import ImageSequenceClip
    except ImportError:
        from moviepy.editor import ImageSequenceClip
    import os
    import tempfile

    t, h, w, c = tensor.shape
    clip = ImageSequenceClip(list(tensor), fps=fps)
    handle, filename = tempfile.mkstemp(suffix=".gif")
    os.close(handle)
    try:
        clip.write_gif(filename, logger=None)
        with open(filename, "rb") as f:
            encoded = f.read()
    finally:
        os.remove(filename)
    return Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=encoded)


def video(tag, tensor, fps=4):
    """A video of an N x T x C x H x W batch (a grid per frame), as an animated GIF."""
    array = _to_uint8(_prepare_video(make_np(tensor)))
    encoded = make_video(array, fps)
    return Summary(value=[Summary.Value(tag=tag, image=encoded)])


def audio(tag, tensor, sample_rate=44100):
    """A mono clip (values in [-1, 1], clipped) encoded as 16-bit PCM WAV."""
    array = make_np(tensor).squeeze()
    if np.abs(array).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        array = array.clip(-1, 1)
    assert array.ndim == 1, "input tensor should be 1 dimensional."
    pcm = (array * np.iinfo(np.int16).max).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    clip = Summary.Audio(sample_rate=sample_rate, num_channels=1, length_frames=array.shape[-1],
                         encoded_audio_string=buffer.getvalue(), content_type="audio/wav")
    return Summary(value=[Summary.Value(tag=tag, audio=clip)])


# ---------------------------------------------------------------------------- hyperparameters


def _hparam_value(value):
    """(api_pb2.Value, DataType) of one hyperparameter: numbers (bool, tensors too) as float64."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"add_hparams: a hyperparameter tensor must hold one value, got shape "
                             f"{tuple(value.shape)}; pass tensor.item() or a one-element tensor")
        value = make_np(value).reshape(-1)[0]
    if isinstance(value, str):
        return Value(string_value=value), api_pb2.DATA_TYPE_STRING
    if isinstance(value, (int, float, np.number, np.bool_)):
        return Value(number_value=float(value)), api_pb2.DATA_TYPE_FLOAT64
    raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")


def hparams(hparam_dict=None, metric_dict=None, hparam_domain_discrete=None):
    """The hparams plugin's three summaries: the experiment (each hyperparameter's type and
    discrete domain, the metrics' tags), a session's start (its values) and end (success).
    None values are left out."""
    if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
        raise TypeError("hparam_dict and metric_dict should be dictionary.")
    hparam_domain_discrete = {} if hparam_domain_discrete is None else hparam_domain_discrete
    if not isinstance(hparam_domain_discrete, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, domain in hparam_domain_discrete.items():
        if (k not in hparam_dict or not isinstance(domain, list)
                or not all(isinstance(d, type(hparam_dict[k])) for d in domain)):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                            f"hparam_dict[{k}].")

    infos, start = [], SessionStartInfo()
    for k, v in hparam_dict.items():
        if v is None:
            continue
        value, data_type = _hparam_value(v)
        start.hparams[k].CopyFrom(value)
        info = api_pb2.HParamInfo(name=k, type=data_type)
        if k in hparam_domain_discrete:
            info.domain_discrete.values.extend(
                _hparam_value(d)[0] for d in hparam_domain_discrete[k])
        infos.append(info)
    experiment = api_pb2.Experiment(
        hparam_infos=infos,
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=k)) for k in metric_dict])

    def summary(tag, data):
        content = data.SerializeToString()
        return Summary(value=[Summary.Value(tag=tag, metadata=_metadata(HPARAMS_PLUGIN, content))])

    end = SessionEndInfo(status=api_pb2.STATUS_SUCCESS)
    return (summary(EXPERIMENT_TAG, HParamsPluginData(experiment=experiment)),
            summary(SESSION_START_INFO_TAG, HParamsPluginData(session_start_info=start)),
            summary(SESSION_END_INFO_TAG, HParamsPluginData(session_end_info=end)))


# ---------------------------------------------------------------------------- custom scalars


def custom_scalars(layout):
    """The custom-scalars plugin's layout: ``{category: {chart title: ["Multiline", tags] or
    ["Margin", [value, lower, upper]]}}``."""
    categories = []
    for category, charts in layout.items():
        protos = []
        for title, (kind, tags) in charts.items():
            if kind == "Multiline":
                chart = layout_pb2.Chart(title=title, multiline=layout_pb2.MultilineChartContent(tag=tags))
            elif kind == "Margin":
                if len(tags) != 3:
                    raise ValueError(f"custom_scalars: a Margin chart takes 3 tags (value, lower, upper), "
                                     f"got {len(tags)} in {category}/{title}")
                series = layout_pb2.MarginChartContent.Series(value=tags[0], lower=tags[1], upper=tags[2])
                chart = layout_pb2.Chart(title=title, margin=layout_pb2.MarginChartContent(series=[series]))
            else:
                raise ValueError(f"custom_scalars: chart {category}/{title} has type {kind!r}; "
                                 "use 'Multiline' or 'Margin'")
            protos.append(chart)
        categories.append(layout_pb2.Category(title=category, chart=protos))
    proto = TensorProto(dtype="DT_STRING", tensor_shape=TensorShapeProto(),
                        string_val=[layout_pb2.Layout(category=categories).SerializeToString()])
    return Summary(value=[Summary.Value(tag="custom_scalars__config__", tensor=proto,
                                        metadata=_metadata("custom_scalars"))])


# ---------------------------------------------------------------------------- precision-recall curves


def compute_curve(labels, predictions, num_thresholds=None, weights=None):
    """The 6 x num_thresholds PR data: rows TP, FP, TN, FN, precision, recall, at thresholds
    i / (num_thresholds - 1). A prediction p counts as positive at every threshold <= p."""
    epsilon = 1e-7
    weights = 1.0 if weights is None else weights
    buckets = np.floor(predictions * (num_thresholds - 1)).astype(np.int64)
    true = np.bincount(buckets, weights=labels * weights, minlength=num_thresholds)[:num_thresholds]
    false = np.bincount(buckets, weights=(1 - labels) * weights, minlength=num_thresholds)[:num_thresholds]
    tp = np.cumsum(true[::-1])[::-1]  # predictions at or above each threshold
    fp = np.cumsum(false[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(epsilon, tp + fp)
    recall = tp / np.maximum(epsilon, tp + fn)
    return np.stack([tp, fp, tn, fn, precision, recall])


def _pr_curve_summary(tag, data, num_thresholds):
    data = np.asarray(data, dtype=np.float32)
    proto = TensorProto(dtype="DT_FLOAT", tensor_shape=_shape(data.shape), float_val=data.reshape(-1).tolist())
    content = PrCurvePluginData(version=0, num_thresholds=num_thresholds).SerializeToString()
    return Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=_metadata("pr_curves", content))])


def pr_curve(tag, labels, predictions, num_thresholds=127, weights=None):
    """A PR curve of binary ``labels`` against ``predictions`` in [0, 1] (``weights`` per example),
    at most 127 thresholds (TensorBoard's limit, as torch clamps)."""
    num_thresholds = min(num_thresholds, 127)
    data = compute_curve(labels, predictions, num_thresholds=num_thresholds, weights=weights)
    return _pr_curve_summary(tag, data, num_thresholds)


def pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, num_thresholds=127, weights=None):
    """A PR curve from counts already computed, one per threshold."""
    if weights is not None:
        raise NotImplementedError("pr_curve_raw(weights=...): the counts are already weighted; weights "
                                  "only apply to add_pr_curve (pass weights=None)")
    num_thresholds = min(num_thresholds, 127)
    return _pr_curve_summary(tag, np.stack([tp, fp, tn, fn, precision, recall]), num_thresholds)


# ---------------------------------------------------------------------------- meshes


def _mesh_part(name, display_name, description, array, content_type, components, json_config):
    """One of a mesh's tensors (vertices, faces or colors) with the mesh plugin's metadata."""
    from tensorboard.plugins.mesh import metadata

    meta = metadata.create_summary_metadata(name, display_name, content_type, components, array.shape,
                                            description, json_config=json_config)
    proto = TensorProto(dtype="DT_FLOAT", tensor_shape=_shape(array.shape),
                        float_val=array.reshape(-1).astype(np.float32).tolist())
    return Summary.Value(tag=metadata.get_instance_name(name, content_type), tensor=proto, metadata=meta)


def mesh(tag, vertices, colors, faces, config_dict, display_name=None, description=None):
    """A 3D mesh: vertices (B x N x 3), optional faces (B x F x 3) and colors (B x N x 3, 0-255)."""
    from tensorboard.plugins.mesh import metadata
    from tensorboard.plugins.mesh.plugin_data_pb2 import MeshPluginData

    json_config = json.dumps({} if config_dict is None else config_dict, sort_keys=True)
    parts = [(vertices, MeshPluginData.VERTEX), (faces, MeshPluginData.FACE), (colors, MeshPluginData.COLOR)]
    parts = [(make_np(array), kind) for array, kind in parts if array is not None]
    components = metadata.get_components_bitmask([kind for _, kind in parts])
    return Summary(value=[_mesh_part(tag, display_name, description, array, kind, components, json_config)
                          for array, kind in parts])
