"""``SummaryWriter``: log data for TensorBoard, one ``add_*`` call per datum, into event files
of a run directory (written by the tensorboard package's ``EventFileWriter`` on a background
thread: every ``max_queue`` events or ``flush_secs`` seconds, and at ``flush``/``close``).
``FileWriter`` writes protos to one directory's event file."""

import os
import socket
import time
from datetime import datetime

from tensorboard.compat.proto.event_pb2 import Event, SessionLog, TaggedRunMetadata
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from . import summary as _summary
from ._utils import figure_to_image


class FileWriter:
    """Writes Event protos (and the Summary, graph protos wrapped in them) to an event file in
    ``log_dir``; after ``close`` only ``reopen`` writes again (to a new file)."""

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        log_dir = str(log_dir)
        self.event_writer = EventFileWriter(log_dir, max_queue, flush_secs, filename_suffix)

    def get_logdir(self):
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None):
        """Stamps ``event`` with ``walltime`` (now if None) and ``step`` (if given), then queues it."""
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)  # numpy integers too
        self.event_writer.add_event(event)

    def add_summary(self, summary, global_step=None, walltime=None):
        self.add_event(Event(summary=summary), global_step, walltime)

    def add_graph(self, graph_profile, walltime=None):
        """``graph_profile``: (GraphDef, RunMetadata), written as the graph and the run metadata "step1"."""
        graph, run_metadata = graph_profile
        self.add_event(Event(graph_def=graph.SerializeToString()), None, walltime)
        tagged = TaggedRunMetadata(tag="step1", run_metadata=run_metadata.SerializeToString())
        self.add_event(Event(tagged_run_metadata=tagged), None, walltime)

    def add_onnx_graph(self, graph, walltime=None):
        self.add_event(Event(graph_def=graph.SerializeToString()), None, walltime)

    def flush(self):
        self.event_writer.flush()

    def close(self):
        self.event_writer.close()

    def reopen(self):
        self.event_writer.reopen()


def _default_log_dir(comment):
    """runs/<Mon><day>_<HH>-<MM>-<SS>_<host><comment>, as torch names a run."""
    now = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", now + "_" + socket.gethostname() + comment)


class SummaryWriter:
    """Writes scalars, histograms, images, text, graphs, ... for TensorBoard into ``log_dir``
    (default ``runs/<date>_<host><comment>``). ``purge_step``: a restarted run's first step;
    TensorBoard hides the events of the earlier run at and after it."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        self.log_dir = _default_log_dir(comment) if not log_dir else str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None  # {log dir: FileWriter}: this run and add_scalars' runs
        self._get_file_writer()

    def _get_file_writer(self):
        """The run's FileWriter, made (again, after close) on first use; a purge_step is written
        first, as a restart marker."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                step, self.purge_step = self.purge_step, None
                self.file_writer.add_event(Event(step=step, file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=step, session_log=SessionLog(status=SessionLog.START)))
        return self.file_writer

    def get_logdir(self):
        return self.log_dir

    def _add(self, summary, global_step, walltime):
        self._get_file_writer().add_summary(summary, global_step, walltime)

    # ------------------------------------------------------------------------ scalars, tensors, text

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """Hyperparameters and their final metrics, in a sub-run ``run_name`` (default: the time)."""
        summaries = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        run_dir = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=run_dir) as run:
            for s in summaries:
                run.file_writer.add_summary(s, global_step)
            for tag, value in metric_dict.items():
                run.add_scalar(tag, value, global_step)

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        self._add(_summary.scalar(tag, scalar_value, new_style=new_style, double_precision=double_precision),
                  global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Each value in its own run ``<log_dir>/<main_tag with / as _>_<key>``, all under ``main_tag``,
        so TensorBoard draws them in one chart."""
        walltime = time.time() if walltime is None else walltime
        log_dir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            run_dir = log_dir + "/" + main_tag.replace("/", "_") + "_" + tag
            if run_dir not in self.all_writers:
                self.all_writers[run_dir] = FileWriter(run_dir, self.max_queue, self.flush_secs,
                                                       self.filename_suffix)
            self.all_writers[run_dir].add_summary(_summary.scalar(main_tag, value), global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None):
        self._add(_summary.tensor_proto(tag, tensor), global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._add(_summary.text(tag, text_string), global_step, walltime)

    # ------------------------------------------------------------------------ histograms

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        """A histogram of ``values`` with numpy's ``bins`` (or "tensorflow": TensorFlow's buckets)."""
        self._add(_summary.histogram(tag, values, bins, max_bins=max_bins), global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts,
                          global_step=None, walltime=None):
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._add(_summary.histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts),
                  global_step, walltime)

    # ------------------------------------------------------------------------ images, video, audio

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        self._add(_summary.image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        self._add(_summary.image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_image_with_boxes(self, tag, img_tensor, box_tensor, global_step=None, walltime=None, rescale=1,
                             dataformats="CHW", labels=None):
        """An image with boxes (N x 4 rows xmin, ymin, xmax, ymax, in pixels) and one label per box."""
        self._add(_summary.image_boxes(tag, img_tensor, box_tensor, rescale=rescale, dataformats=dataformats,
                                       labels=labels), global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (a list of them: a grid) rendered as an image; closed unless close=False."""
        if isinstance(figure, list):
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime, dataformats="CHW")

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        """An N x T x C x H x W video batch as an animated GIF (needs moviepy)."""
        self._add(_summary.video(tag, vid_tensor, fps), global_step, walltime)

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100, walltime=None):
        self._add(_summary.audio(tag, snd_tensor, sample_rate=sample_rate), global_step, walltime)

    # ------------------------------------------------------------------------ graphs

    def add_onnx_graph(self, prototxt):
        """The graph of an ONNX model file (needs the onnx package)."""
        from ._onnx_graph import load_onnx_graph

        self._get_file_writer().add_onnx_graph(load_onnx_graph(prototxt))

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """The graph of one run of ``model(*input_to_model)``, traced op by op."""
        from ._pytorch_graph import graph

        self._get_file_writer().add_graph(graph(model, input_to_model, verbose, use_strict_trace))

    # ------------------------------------------------------------------------ embeddings

    @staticmethod
    def _encode(rawstr):
        """A tag as a folder name: "%" and "/" escaped as in a URL, lower-case hex as torch writes it."""
        return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag="default",
                      metadata_header=None):
        """N points (``mat``: N x D) for the projector, in ``<log_dir>/<step:05>/<tag>/`` with their
        labels (``metadata``) and thumbnails (``label_img``: N x C x H x W), listed in
        projector_config.pbtxt."""
        from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

        from ._embedding import get_embedding_info, make_mat, make_sprite, make_tsv, write_pbtxt

        mat = _summary.make_np(mat)
        global_step = 0 if global_step is None else global_step
        subdir = f"{str(global_step).zfill(5)}/{self._encode(tag)}"
        save_path = os.path.join(self._get_file_writer().get_logdir(), subdir)
        if os.path.exists(save_path):
            print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
        else:
            os.makedirs(save_path)
        if metadata is not None:
            assert mat.shape[0] == len(metadata), "#labels should equal with #data points"
            make_tsv(metadata, save_path, metadata_header=metadata_header)
        if label_img is not None:
            assert mat.shape[0] == label_img.shape[0], "#images should equal with #data points"
            make_sprite(label_img, save_path)
        assert mat.ndim == 2, "mat should be 2D, where mat.size(0) is the number of data points"
        make_mat(mat, save_path)
        if not hasattr(self, "_projector_config"):
            self._projector_config = ProjectorConfig()
        self._projector_config.embeddings.append(
            get_embedding_info(metadata, label_img, subdir, global_step, tag))
        write_pbtxt(self._get_file_writer().get_logdir(), self._projector_config)

    # ------------------------------------------------------------------------ PR curves

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127, weights=None,
                     walltime=None):
        labels, predictions = _summary.make_np(labels), _summary.make_np(predictions)
        weights = None if weights is None else _summary.make_np(weights)
        self._add(_summary.pr_curve(tag, labels, predictions, num_thresholds, weights), global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts, true_negative_counts,
                         false_negative_counts, precision, recall, global_step=None, num_thresholds=127,
                         weights=None, walltime=None):
        counts = [_summary.make_np(c) for c in (true_positive_counts, false_positive_counts, true_negative_counts,
                                                false_negative_counts, precision, recall)]
        self._add(_summary.pr_curve_raw(tag, *counts, num_thresholds, weights), global_step, walltime)

    # ------------------------------------------------------------------------ custom scalars

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        assert len(tags) == 3
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_custom_scalars(self, layout):
        """The custom-scalars layout ``{category: {title: ["Multiline" or "Margin", tags]}}``."""
        self._get_file_writer().add_summary(_summary.custom_scalars(layout))

    # ------------------------------------------------------------------------ meshes

    def add_mesh(self, tag, vertices, colors=None, faces=None, config_dict=None, global_step=None,
                 walltime=None):
        self._add(_summary.mesh(tag, vertices, colors, faces, config_dict), global_step, walltime)

    # ------------------------------------------------------------------------ life

    def flush(self):
        """Writes every queued event to disk now (nothing after close)."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self):
        """Flushes and closes every event file; a later add_* opens a new one."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()
