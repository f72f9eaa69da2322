"""retrograd.utils.tensorboard (torch.utils.tensorboard): SummaryWriter writes event files that
TensorBoard's own reader reads back (tags, steps, values, histogram buckets, decoded images),
the same events torch's SummaryWriter writes for the same calls where torch is installed, and
an ImportError as torch's without the tensorboard package."""

import glob
import importlib
import inspect
import io
import os
import re
import socket
import sys

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing import event_accumulator, event_file_loader  # noqa: E402
from tensorboard.compat.proto.summary_pb2 import Summary  # noqa: E402

import retrograd  # noqa: E402
from retrograd.utils.tensorboard import SummaryWriter, summary  # noqa: E402
from retrograd.utils.tensorboard.writer import FileWriter  # noqa: E402
from tests.helpers import requires_torch, torch  # noqa: E402

WALLTIME = 1700000000.0


def accumulate(log_dir):
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0, event_accumulator.IMAGES: 0,
        event_accumulator.TENSORS: 0, event_accumulator.AUDIO: 0})
    acc.Reload()
    return acc


def raw_events(log_dir):
    """{run (sub-directory): [Event, ...]} as written, from every event file under log_dir,
    without the file-version record and wall times (the runs' file names hold the time)."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(str(log_dir), "**", "events.out.tfevents.*"), recursive=True)):
        run = os.path.relpath(os.path.dirname(path), str(log_dir))
        for event in event_file_loader.LegacyEventFileLoader(path).Load():
            if event.HasField("file_version"):
                continue
            event.wall_time = 0
            runs.setdefault(run, []).append(event)
    return runs


def png(encoded):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(encoded)))


# ---------------------------------------------------------------------------- reading back


def test_scalars_read_back(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("loss", retrograd.tensor(0.25, requires_grad=True), 0)  # detached, as torch
        w.add_scalar("loss", np.float64(0.125), 1)
        w.add_scalar("loss", 3, 2)
        w.add_scalar("acc", retrograd.tensor([0.5]), 7, walltime=WALLTIME)
        w.add_scalar("new", 0.1, 1, new_style=True)
        w.add_scalar("double", 0.1, 1, new_style=True, double_precision=True)
    acc = accumulate(tmp_path)
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(0, 0.25), (1, 0.125), (2, 3.0)]
    assert [(e.step, e.value, e.wall_time) for e in acc.Scalars("acc")] == [(7, 0.5, WALLTIME)]
    events = [e for e in raw_events(tmp_path)["."] if e.summary.value]
    by_tag = {e.summary.value[0].tag: e.summary.value[0] for e in events}
    assert by_tag["loss"].simple_value == 3.0 and not by_tag["loss"].HasField("tensor")
    assert by_tag["new"].tensor.float_val == [np.float32(0.1)]
    assert by_tag["new"].metadata.plugin_data.plugin_name == "scalars"
    assert by_tag["double"].tensor.double_val == [0.1]  # float64 kept


def test_scalar_needs_one_element(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="one element"):
            w.add_scalar("x", retrograd.ones(2), 0)
        with pytest.raises(NotImplementedError, match="numpy array or torch tensor"):
            w.add_scalar("x", [1.0], 0)


def test_add_scalars_writes_a_run_per_tag(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("run/loss", {"train": step * 1.0, "test": retrograd.tensor(step * 2.0)}, step)
    assert sorted(d for d in os.listdir(tmp_path) if os.path.isdir(tmp_path / d)) == ["run_loss_test", "run_loss_train"]
    test = accumulate(tmp_path / "run_loss_test")
    assert test.Tags()["scalars"] == ["run/loss"]
    assert [(e.step, e.value) for e in test.Scalars("run/loss")] == [(0, 0.0), (1, 2.0), (2, 4.0)]


def test_histogram_read_back(tmp_path):
    values = np.random.default_rng(0).normal(size=1000)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("tf_bins", retrograd.tensor(values, requires_grad=True), 3)
        w.add_histogram("auto", values, 3, bins="auto")
        w.add_histogram("ten", values, 3, bins=10)
        w.add_histogram("merged", values, 3, bins=100, max_bins=10)
        w.add_histogram("ints", retrograd.tensor([1, 2, 2, 3, 3, 3]), 4, bins=3)
    acc = accumulate(tmp_path)
    for tag in ["tf_bins", "auto", "ten", "merged"]:
        (event,) = acc.Histograms(tag)
        h = event.histogram_value
        assert event.step == 3
        assert (h.num, h.min, h.max) == (1000, values.min(), values.max())
        assert h.sum == pytest.approx(values.sum()) and h.sum_squares == pytest.approx(values @ values)
        assert sum(h.bucket) == 1000 and h.bucket[0] == 0  # an empty bucket left of the data
        assert h.bucket_limit[-1] >= values.max()
    counts, edges = np.histogram(values, bins=10)
    ten = acc.Histograms("ten")[0].histogram_value
    assert list(ten.bucket) == [0] + counts.tolist() and list(ten.bucket_limit) == edges.tolist()
    assert len(acc.Histograms("merged")[0].histogram_value.bucket) <= 11
    tf_bins = acc.Histograms("tf_bins")[0].histogram_value
    assert all(b / a == pytest.approx(1.1) for a, b in zip(tf_bins.bucket_limit[-5:], tf_bins.bucket_limit[-4:]))
    ints = acc.Histograms("ints")[0].histogram_value
    assert list(ints.bucket) == [0, 1, 2, 3] and ints.sum == 14


def test_histogram_of_nothing_raises(tmp_path):
    with SummaryWriter(tmp_path) as w, pytest.raises(ValueError, match="no element"):
        w.add_histogram("empty", np.array([]), 0)


@pytest.mark.parametrize("shape, dataformats", [((3, 5, 7), "CHW"), ((5, 7, 3), "HWC"), ((5, 7), "HW"),
                                                ((1, 5, 7), "CHW"), ((7, 5), "WH")])
def test_image_decodes_to_its_input(tmp_path, shape, dataformats):
    pytest.importorskip("PIL")
    data = np.random.default_rng(1).integers(0, 256, size=shape).astype(np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_image("uint8", data, 2, dataformats=dataformats)
        w.add_image("float", retrograd.tensor(data / 255.0, requires_grad=True), 2, dataformats=dataformats)
    acc = accumulate(tmp_path)
    hwc = np.moveaxis(data, [dataformats.find(c) for c in "HW"], [0, 1]) if len(shape) == 2 else \
        np.transpose(data, [dataformats.find(c) for c in "HWC"])
    hwc = np.broadcast_to(hwc.reshape(hwc.shape[0], hwc.shape[1], -1), hwc.shape[:2] + (3,))
    for tag in ["uint8", "float"]:
        (event,) = acc.Images(tag)
        assert (event.step, event.height, event.width) == (2, 5, 7)
        assert np.array_equal(png(event.encoded_image_string), hwc)


def test_images_batch_is_a_grid(tmp_path):
    pytest.importorskip("PIL")
    batch = np.random.default_rng(2).random((10, 3, 4, 6), dtype=np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_images("batch", batch, 0)
        w.add_images("nhwc", batch.transpose(0, 2, 3, 1), 0, dataformats="NHWC")
    acc = accumulate(tmp_path)
    grid = png(acc.Images("batch")[0].encoded_image_string)
    assert grid.shape == (2 * 4, 8 * 6, 3)  # 8 to a row
    expected = (batch * 255).clip(0, 255).astype(np.uint8)
    assert np.array_equal(grid[4:8, 6:12], expected[9].transpose(1, 2, 0))  # second row, second column
    assert (grid[4:8, 12:] == 0).all()  # the grid's empty cells stay black
    assert np.array_equal(png(acc.Images("nhwc")[0].encoded_image_string), grid)


def test_boxes_need_one_label_each(tmp_path):
    pytest.importorskip("PIL")
    with SummaryWriter(tmp_path) as w, pytest.raises(ValueError, match="2 labels for 1 boxes"):
        w.add_image_with_boxes("b", np.zeros((3, 4, 4)), np.zeros((1, 4)), labels=["a", "b"])  # torch drops them


def test_histogram_with_bin_edges(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("h", np.array([1.0, 2.0]), 0, bins=np.array([0, 1, 3]))
        with pytest.raises(ValueError, match="none of the 2 values"):
            w.add_histogram("outside", np.array([1.0, 2.0]), 0, bins=[5, 6, 7])
    h = accumulate(tmp_path).Histograms("h")[0].histogram_value
    assert (list(h.bucket_limit), list(h.bucket)) == ([1.0, 3.0], [0.0, 2.0])  # the empty first bin left out


def test_image_with_wrong_dataformats(tmp_path):
    with SummaryWriter(tmp_path) as w, pytest.raises(AssertionError, match="different"):
        w.add_image("x", np.zeros((3, 4, 5)), dataformats="HW")


def test_text_read_back(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "hello **world** é", 5)
    (event,) = accumulate(tmp_path).Tensors("notes/text_summary")
    assert event.step == 5 and event.tensor_proto.string_val == ["hello **world** é".encode()]


def test_hparams_read_back(tmp_path):
    from tensorboard.plugins.hparams import metadata

    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.1, "layers": 3, "opt": "sgd", "skip": None, "t": retrograd.tensor(2.5)},
                      {"hparam/accuracy": 0.75}, hparam_domain_discrete={"opt": ["sgd", "adam"]}, run_name="trial")
    events = raw_events(tmp_path)["trial"]
    values = {e.summary.value[0].tag: e.summary.value[0] for e in events}
    start = metadata.parse_session_start_info_plugin_data(
        values[metadata.SESSION_START_INFO_TAG].metadata.plugin_data.content)
    assert {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()} == \
        {"lr": 0.1, "layers": 3.0, "opt": "sgd", "t": 2.5}
    exp = metadata.parse_experiment_plugin_data(values[metadata.EXPERIMENT_TAG].metadata.plugin_data.content)
    assert [m.name.tag for m in exp.metric_infos] == ["hparam/accuracy"]
    opt = next(h for h in exp.hparam_infos if h.name == "opt")
    assert [v.string_value for v in opt.domain_discrete.values] == ["sgd", "adam"]
    assert [(e.step, e.value) for e in accumulate(tmp_path / "trial").Scalars("hparam/accuracy")] == [(0, 0.75)]
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(TypeError, match="dictionary"):
            w.add_hparams([("lr", 0.1)], {})
        with pytest.raises(ValueError, match="int, float, str, bool"):
            w.add_hparams({"lr": [0.1]}, {})
        with pytest.raises(ValueError, match=r"one value, got shape \(2,\)"):  # torch keeps the first silently
            w.add_hparams({"lr": retrograd.ones(2)}, {})


def test_figure_read_back(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([0, 1], [0, 1])
    with SummaryWriter(tmp_path) as w:
        w.add_figure("fig", figure, 1)
    assert not plt.fignum_exists(figure.number)  # closed, as close=True asks
    (event,) = accumulate(tmp_path).Images("fig")
    assert (event.width, event.height) == (100, 50)
    assert png(event.encoded_image_string).shape == (50, 100, 3)


def test_audio_pr_curve_tensor_and_mesh_read_back(tmp_path):
    sound = np.sin(np.linspace(0, 20, 800))
    labels = np.array([0, 1, 1, 0, 1])
    predictions = np.array([0.1, 0.9, 0.6, 0.4, 0.2])
    with SummaryWriter(tmp_path) as w:
        w.add_audio("sound", retrograd.tensor(sound).unsqueeze(0), 0, sample_rate=8000)
        w.add_pr_curve("pr", labels, predictions, 0, num_thresholds=5)
        w.add_tensor("t", retrograd.arange(6, dtype=retrograd.int32).reshape(2, 3), 0)
        w.add_mesh("m", vertices=np.zeros((1, 4, 3)), faces=np.array([[[0, 1, 2], [0, 2, 3]]]), global_step=0)
    acc = accumulate(tmp_path)
    (clip,) = acc.Audio("sound")
    assert (clip.sample_rate, clip.length_frames, clip.content_type) == (8000, 800, "audio/wav")
    curve = acc.Tensors("pr")[0].tensor_proto
    data = np.array(curve.float_val).reshape(6, 5)
    assert data[0, 0] == 3 and data[1, 0] == 2  # all positives and negatives are above threshold 0
    assert data[4, 3] == 1.0  # precision at threshold 0.75: the one prediction above is positive
    t = acc.Tensors("t")[0].tensor_proto
    assert t.dtype == 3 and list(t.int_val) == list(range(6)) and [d.size for d in t.tensor_shape.dim] == [2, 3]
    assert sorted(acc.Tags()["tensors"]) == ["m_FACE", "m_VERTEX", "pr", "t"]


def test_video_grid():
    from retrograd.utils.tensorboard._utils import _prepare_video

    # N videos of T frames: one grid per frame, N padded with black videos to a power of two
    for n, (rows, cols) in {1: (1, 1), 3: (1, 4), 4: (2, 2), 5: (2, 4), 9: (2, 8), 17: (4, 8)}.items():
        videos = np.arange(1, n + 1, dtype=np.float32).reshape(n, 1, 1, 1, 1) * np.ones((n, 2, 3, 1, 1), np.float32)
        frames = _prepare_video(videos)
        assert frames.shape == (2, rows, cols, 3)
        assert frames[1, :, :, 0].reshape(-1).tolist() == list(range(1, n + 1)) + [0] * (rows * cols - n)
    uint8 = _prepare_video(np.full((1, 1, 3, 1, 1), 51, dtype=np.uint8))
    assert uint8.dtype == np.float32 and (uint8 == np.float32(0.2)).all()


def test_video_read_back(tmp_path):
    pytest.importorskip("moviepy")
    from PIL import Image, ImageSequence

    videos = np.random.default_rng(6).random((3, 4, 3, 8, 6)).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_video("v", retrograd.tensor(videos), 0, fps=5)
    (event,) = accumulate(tmp_path).Images("v")
    assert (event.width, event.height) == (4 * 6, 8)  # 3 videos padded to 4, in one row
    frames = list(ImageSequence.Iterator(Image.open(io.BytesIO(event.encoded_image_string))))
    assert len(frames) == 4


def test_video_without_moviepy(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "moviepy", None)  # as if not installed
    with SummaryWriter(tmp_path) as w:
        w.add_video("v", np.zeros((1, 2, 3, 4, 4), np.float32), 0)
    assert "add_video needs package moviepy" in capsys.readouterr().out
    (event,) = [e for e in raw_events(tmp_path)["."] if e.summary.value]
    assert event.summary.value[0].tag == "v" and not event.summary.value[0].HasField("image")  # as torch


def test_embedding_sprite_and_precision(tmp_path):
    pytest.importorskip("PIL")
    images = np.random.default_rng(4).random((5, 3, 4, 6)).astype(np.float32)
    mat = np.array([[0.1, 1.0]], dtype=np.float32).repeat(5, axis=0)
    with SummaryWriter(tmp_path) as w:
        w.add_embedding(mat, label_img=images)
    folder = tmp_path / "00000" / "default"
    assert (folder / "tensors.tsv").read_text().splitlines()[0] == "0.10000000149011612\t1.0"  # float32 as float64
    sprite = png((folder / "sprite.png").read_bytes())
    assert sprite.shape == (18, 18, 3)  # 3 thumbnails to a row, on a square black canvas
    cells = (images * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    assert np.array_equal(sprite[4:8, 6:12], cells[4]) and (sprite[8:] == 0).all() and (sprite[4:8, 12:] == 0).all()
    assert 'single_image_dim: 6' in (tmp_path / "projector_config.pbtxt").read_text()


@requires_torch
def test_embedding_files_as_torch(tmp_path):
    pytest.importorskip("PIL")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    rng = np.random.default_rng(5)
    mat, images = rng.random((7, 3)).astype(np.float32), rng.random((7, 3, 4, 6)).astype(np.float32)
    for lib, writer_class in [(retrograd, SummaryWriter), (torch, TorchWriter)]:
        with writer_class(tmp_path / lib.__name__) as w:
            w.add_embedding(lib.tensor(mat), metadata=[["a", 1]] * 7, label_img=lib.tensor(images), tag="e/1",
                            metadata_header=["name", "n"])
            w.add_embedding(lib.tensor(mat), label_img=lib.tensor((images * 255).astype(np.uint8)), global_step=3)
    ours = sorted(p.relative_to(tmp_path / "retrograd") for p in (tmp_path / "retrograd").rglob("*")
                  if p.is_file() and "tfevents" not in p.name)
    theirs = sorted(p.relative_to(tmp_path / "torch") for p in (tmp_path / "torch").rglob("*")
                    if p.is_file() and "tfevents" not in p.name)
    assert ours == theirs and len(ours) == 6
    for path in ours:
        if path.suffix == ".png":
            assert np.array_equal(png((tmp_path / "retrograd" / path).read_bytes()),
                                  png((tmp_path / "torch" / path).read_bytes())), path
        else:
            assert (tmp_path / "retrograd" / path).read_text() == (tmp_path / "torch" / path).read_text(), path


@requires_torch
def test_figures_as_torch(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    for name, writer_class in [("retrograd", SummaryWriter), ("torch", TorchWriter)]:
        figures = [plt.figure(figsize=(2, 1), dpi=30) for _ in range(3)]
        for i, figure in enumerate(figures):
            figure.gca().plot([0, 1], [i, 1 - i])
        with writer_class(tmp_path / name) as w:
            w.add_figure("one", figures[0], 0, close=False)
            w.add_figure("grid", figures, 1)
        assert not plt.fignum_exists(figures[0].number)
    assert raw_events(tmp_path / "retrograd")["."] == raw_events(tmp_path / "torch")["."]


def test_custom_scalars_and_embedding_files(tmp_path):
    from tensorboard.plugins.custom_scalar import layout_pb2

    with SummaryWriter(tmp_path) as w:
        w.add_custom_scalars({"cat": {"chart": ["Multiline", ["a", "b"]]}})
        w.add_embedding(retrograd.tensor([[1.0, 2.0], [3.0, 4.0]]), metadata=["x", "y"], tag="emb/1")
    (event,) = accumulate(tmp_path).Tensors("custom_scalars__config__")
    layout = layout_pb2.Layout.FromString(event.tensor_proto.string_val[0])
    assert layout.category[0].chart[0].multiline.tag == ["a", "b"]
    folder = tmp_path / "00000" / "emb%2f1"
    assert (folder / "tensors.tsv").read_text() == "1.0\t2.0\n3.0\t4.0\n"
    assert (folder / "metadata.tsv").read_text() == "x\ny\n"
    assert 'tensor_name: "emb/1:00000"' in (tmp_path / "projector_config.pbtxt").read_text()


# ---------------------------------------------------------------------------- the writer's life


def test_default_log_dir_as_torch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    parent, name = os.path.split(w.get_logdir())
    assert parent == "runs"
    assert re.fullmatch(r"[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname()) + "_lr0.1", name)
    assert glob.glob(os.path.join(tmp_path, "runs", name, "events.out.tfevents.*"))


def test_flush_close_reopen_and_suffix(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=100, flush_secs=3600, filename_suffix=".mine")
    w.add_scalar("x", 1.0, 0)
    w.flush()  # the queue holds 100 and the timer an hour: only flush writes it now
    assert [e.value for e in accumulate(tmp_path).Scalars("x")] == [1.0]
    w.close()
    w.close()  # a second close does nothing, as torch's
    w.flush()
    w.add_scalar("x", 2.0, 1)  # after close: a new event file
    w.close()
    files = sorted(glob.glob(str(tmp_path / "events.out.tfevents.*")))
    assert len(files) == 2 and all(f.endswith(".mine") for f in files)
    assert [e.value for e in accumulate(tmp_path).Scalars("x")] == [1.0, 2.0]


def test_purge_step_marks_the_restart(tmp_path):
    with SummaryWriter(tmp_path, purge_step=5) as w:
        w.add_scalar("x", 1.0, 5)
    events = raw_events(tmp_path)["."]
    assert events[0].step == 5 and events[0].session_log.status == events[0].session_log.START


def test_file_writer_directly(tmp_path):
    fw = FileWriter(tmp_path)
    fw.add_summary(Summary(value=[Summary.Value(tag="y", simple_value=2.0)]), global_step=np.int64(4))
    fw.close()
    assert [(e.step, e.value) for e in accumulate(tmp_path).Scalars("y")] == [(4, 2.0)]


class Net:
    """A model with nested modules and a constant, built from lib (retrograd or torch)."""

    def __new__(cls, lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.nn.Linear(3, 4)
                self.act = lib.nn.ReLU()
                self.head = lib.nn.Sequential(lib.nn.Tanh(), lib.nn.Linear(4, 2))

            def forward(self, x):
                return self.head(self.act(self.fc(x))) + lib.ones(1, 2)

        return Net()


def op_scopes(graph_def):
    return sorted({n.name.rpartition("/")[0] for n in graph_def.node if n.op.startswith("aten::")})


def io_nodes(graph_def):
    return [(n.name, [d.size for d in n.attr["_output_shapes"].list.shape[0].dim])
            for n in graph_def.node if n.op == "IO Node"]


def test_graph_read_back(tmp_path, capsys):
    model = Net(retrograd)
    model.train()
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model, retrograd.ones(5, 3), verbose=True)
    assert model.training and model.head[0].training  # traced in eval mode, modes restored
    assert "Net/Linear[fc]/" in capsys.readouterr().out
    acc = accumulate(tmp_path)
    assert acc.Tags()["graph"] and acc.Tags()["run_metadata"] == ["step1"]
    g = acc.Graph()
    nodes = {n.name: n for n in g.node}
    assert io_nodes(g) == [("input/x", [5, 3]), ("output/output.1", [5, 2])]
    assert nodes["Net/Linear[fc]/weight"].op == "prim::GetAttr"
    assert op_scopes(g) == ["Net", "Net/Linear[fc]", "Net/ReLU[act]", "Net/Sequential[head]/Linear[1]",
                           "Net/Sequential[head]/Tanh[0]"]
    # the edges follow the data: input -> fc's addmm -> relu -> head's addmm -> add (with a constant) -> output
    addmm = next(n for n in g.node if n.op == "aten::addmm" and n.name.startswith("Net/Linear[fc]"))
    assert "input/x" in addmm.input and "Net/Linear[fc]/bias" in addmm.input
    relu = next(n for n in g.node if n.op == "aten::relu")
    assert list(relu.input) == [addmm.name]
    (out,) = [n for n in g.node if n.name == "output/output.1"]
    add = nodes[out.input[0]]
    assert add.op == "aten::add" and any(nodes[i].op == "prim::Constant" for i in add.input)
    assert all(i in nodes for n in g.node for i in n.input)  # every edge names a node of the graph


def test_graph_inputs_and_outputs(tmp_path):
    class Two(retrograd.nn.Module):
        def forward(self, a, b):
            return [a + b, a * b]

    with SummaryWriter(tmp_path) as w:
        with pytest.warns(UserWarning, match="list at the output"):
            w.add_graph(Two(), [retrograd.ones(2), retrograd.ones(2)])
        w.add_graph(Two(), (retrograd.ones(2), retrograd.ones(2)), use_strict_trace=False)  # no warning
        with pytest.raises(RuntimeError, match="input_to_model"):
            w.add_graph(Two())
    assert [name for name, _ in io_nodes(accumulate(tmp_path).Graph())] == \
        ["input/a", "input/b", "output/output.1", "output/output.2"]


@requires_torch
@pytest.mark.filterwarnings("ignore:`torch.jit.trace:DeprecationWarning")
def test_graph_as_torch(tmp_path):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    with SummaryWriter(tmp_path / "retrograd") as w:
        w.add_graph(Net(retrograd), retrograd.ones(5, 3))
    with TorchWriter(tmp_path / "torch") as w:
        w.add_graph(Net(torch), torch.ones(5, 3))
    ours, theirs = accumulate(tmp_path / "retrograd"), accumulate(tmp_path / "torch")
    assert ours.Tags()["run_metadata"] == theirs.Tags()["run_metadata"]
    assert ours.RunMetadata("step1") == theirs.RunMetadata("step1")
    assert io_nodes(ours.Graph()) == io_nodes(theirs.Graph())
    assert op_scopes(ours.Graph()) == op_scopes(theirs.Graph())


def onnx_file(path):
    """A small ONNX model: Z = LeakyRelu(Relu(X @ W)), X of shape (2, batch)."""
    pytest.importorskip("onnx.helper")  # a submodule: tests/onnx answers `import onnx` without the package
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("MatMul", ["X", "W"], ["h"]), helper.make_node("Relu", ["h"], ["Y"]),
             helper.make_node("LeakyRelu", ["Y"], ["Z"], alpha=0.5)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, "batch"])],
                              [helper.make_tensor_value_info("Z", TensorProto.INT64, [2, 4])],
                              initializer=[numpy_helper.from_array(np.ones((3, 4), np.float32), "W")])
    onnx.save(helper.make_model(graph), str(path))
    return str(path)


def test_onnx_graph_read_back(tmp_path):
    with SummaryWriter(tmp_path / "run") as w:
        w.add_onnx_graph(onnx_file(tmp_path / "m.onnx"))
    g = accumulate(tmp_path / "run").Graph()
    assert [(n.name, n.op, list(n.input)) for n in g.node] == [
        ("X", "Variable", []), ("Z", "Variable", []), ("h", "MatMul", ["X", "W"]), ("Y", "Relu", ["h"]),
        ("Z", "LeakyRelu", ["Y"])]
    assert [d.size for d in g.node[0].attr["shape"].shape.dim] == [2, -1]  # a symbolic size: unknown
    assert g.node[1].attr["dtype"].type == 9  # DT_INT64
    assert g.node[4].attr["parameters"].s == b"alpha = 0.5 = 1"  # name = value = ONNX attribute type (FLOAT)


def test_pr_curve_raw_rejects_weights(tmp_path):
    counts = np.ones(3)
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(NotImplementedError, match="weights"):
            w.add_pr_curve_raw("pr", counts, counts, counts, counts, counts, counts, 0, 3, weights=counts)
        w.add_pr_curve_raw("pr", counts, counts, counts, counts, counts, counts, 0, 3)


def test_import_without_tensorboard_raises_as_torch(monkeypatch):
    for name in [n for n in sys.modules if n.startswith("retrograd.utils.tensorboard")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed
    with pytest.raises(ImportError, match="TensorBoard logging requires TensorBoard version 1.15 or above") as e:
        importlib.import_module("retrograd.utils.tensorboard")
    assert e.value.name == "tensorboard" and "pip install" in str(e.value)


def test_every_argument_is_read():
    from tests.test_no_ignored_arguments import _unread

    public = [f for cls in (SummaryWriter, FileWriter) for n, f in vars(cls).items()
              if inspect.isfunction(f) and (not n.startswith("_") or n == "__init__")]
    public += [getattr(summary, n) for n in summary.__all__]
    assert len(public) > 40
    assert {f.__qualname__: _unread(f) for f in public if _unread(f)} == {}


# ---------------------------------------------------------------------------- against torch


@requires_torch
def test_signatures_as_torch():
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    names = [n for n in vars(TorchWriter) if callable(getattr(TorchWriter, n)) and not n.startswith("__")]
    for name in names + ["__init__", "__enter__", "__exit__"]:
        ours, theirs = inspect.signature(getattr(SummaryWriter, name)), inspect.signature(getattr(TorchWriter, name))
        assert [(p.name, p.default, p.kind) for p in ours.parameters.values()] == \
            [(p.name, p.default, p.kind) for p in theirs.parameters.values()], name


def write_everything(lib, writer_class, log_dir):
    """The same calls, with lib's tensors: scalars, histograms, images, text, hparams, ..."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=500)
    image = rng.random((3, 6, 5)).astype(np.float32)
    with writer_class(log_dir, purge_step=1) as w:
        for step in range(3):
            w.add_scalar("loss", lib.tensor(1.0 / (step + 1), requires_grad=True), step, walltime=WALLTIME)
            w.add_scalar("new", lib.tensor(0.1 * step), step, new_style=True, double_precision=step == 2)
            w.add_scalars("pair", {"a": step, "b": lib.tensor(2.0 * step)}, step, walltime=WALLTIME)
        w.add_histogram("h", lib.tensor(values), 0)
        w.add_histogram("h_fd", values, 0, bins="fd", max_bins=7)
        w.add_histogram("h_int", lib.tensor([1, 5, 5, 9]), 0, bins=4)
        w.add_histogram_raw("raw", 0.0, 2.0, 3, 3.0, 5.0, [1.0, 2.0], [1, 2], 0)
        w.add_image("img", lib.tensor(image), 0)
        w.add_image("img_hw", lib.tensor(image[0]), 0, dataformats="HW")
        w.add_images("imgs", lib.tensor(np.stack([image, image[::-1]])), 0)
        w.add_image_with_boxes("boxes", lib.tensor(image), lib.tensor([[0.0, 0.0, 3.0, 3.0]]), 0, labels=["it"])
        big = rng.random((3, 30, 40)).astype(np.float32)
        w.add_image_with_boxes("boxes_half", lib.tensor(big), lib.tensor([[2.0, 3.0, 20.0, 15.0], [5.0, 5.0, 9.0, 9.0]]),
                               0, rescale=0.5, labels=["one", "two"])
        w.add_histogram("h_tf_merged", lib.tensor(values), 0, max_bins=5)
        w.add_text("txt", "some *text*", 4)
        w.add_hparams({"lr": 0.01, "flag": True, "opt": "adam"}, {"m": 1.5}, run_name="hp", global_step=2)
        w.add_audio("snd", lib.tensor(np.sin(np.arange(64) / 3.0)), 0, sample_rate=100)
        w.add_pr_curve("pr", rng.integers(0, 2, 50), rng.random(50), 0, num_thresholds=20, weights=rng.random(50))
        w.add_tensor("tensor", lib.tensor([[1.5, 2.0]], dtype=lib.float64), 0)
        w.add_tensor("half", lib.tensor([1.5, 2.0], dtype=lib.float16), 0)
        w.add_custom_scalars_marginchart(["a", "b", "c"])
        w.add_custom_scalars_multilinechart(["loss", "new"], category="c", title="t")
        w.add_mesh("mesh", lib.tensor(rng.random((1, 3, 3))), colors=lib.tensor(np.full((1, 3, 3), 200)),
                   config_dict={"camera": {"fov": 60}}, global_step=0)
        w.add_mesh("bare_mesh", lib.tensor(rng.random((1, 4, 3))), faces=lib.tensor([[[0, 1, 2]]]))


@requires_torch
def test_same_events_as_torch(tmp_path):
    pytest.importorskip("PIL")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    write_everything(retrograd, SummaryWriter, tmp_path / "retrograd")
    write_everything(torch, TorchWriter, tmp_path / "torch")
    ours, theirs = raw_events(tmp_path / "retrograd"), raw_events(tmp_path / "torch")
    assert sorted(ours) == sorted(theirs) == [".", "hp", "pair_a", "pair_b"]
    for run in ours:
        ours[run] = [e for e in ours[run] if e.summary.value or e.HasField("session_log")]
        theirs[run] = [e for e in theirs[run] if e.summary.value or e.HasField("session_log")]
        assert len(ours[run]) == len(theirs[run]) > 0
        for a, b in zip(ours[run], theirs[run]):
            assert a == b, (run, str(a)[:2000], str(b)[:2000])
