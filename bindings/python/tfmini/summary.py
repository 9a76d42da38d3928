"""tf.summary: summary ops, FileWriter, and a reader of event files.

    loss_summary = tf.summary.scalar("loss", loss)
    merged = tf.summary.merge_all()
    with tf.summary.FileWriter("logs/run1", sess.graph) as writer:
        writer.add_summary(sess.run(merged), global_step=step)

The files are TensorBoard's own (`tensorboard --logdir logs`). `read_events(path)`
lists the events of a file, with attribute names of TensorFlow's Event proto
(event.step, event.summary.value[0].simple_value, ...).
"""
import ctypes
import math

from . import _lib, errors
from ._lib import fn, cstr
from .framework import GraphKeys, Tensor, convert_to_tensor, get_default_graph, graph_of

__all__ = ["scalar", "histogram", "merge", "merge_all", "FileWriter", "read_events", "summary_iterator",
           "Event", "Summary", "SummaryValue", "HistogramProto"]


# ---- ops ----
def _check_family(fname, family):
    if family is not None:
        raise errors.unimplemented("tf.summary.%s(family=...)" % fname)


def _add_to(graph, tensor, collections):
    """TF adds a summary to `collections` (default [SUMMARIES]); the library has already
    put it in SUMMARIES, so only the other keys remain."""
    for key in collections or ():
        if key != GraphKeys.SUMMARIES:
            graph.add_to_collection(key, tensor)


def scalar(name, tensor, collections=None, family=None):
    """tf.summary.scalar: a ScalarSummary of a real scalar tensor, tagged with its
    unique scope name ("loss", "loss_1", "train/loss")."""
    _check_family("scalar", family)
    tensor = convert_to_tensor(tensor)
    graph = tensor.graph
    out = graph._wrap_tensor(_lib.call(fn.tfm_summary_scalar, graph._builder_ptr, cstr(name), tensor._ptr))
    _add_to(graph, out, collections)
    return out


def histogram(name, values, collections=None, family=None):
    """tf.summary.histogram: a HistogramSummary of a real tensor of any shape (TF's
    default buckets). Running it fails with InvalidArgumentError on NaN or infinity."""
    _check_family("histogram", family)
    values = convert_to_tensor(values)
    graph = values.graph
    out = graph._wrap_tensor(_lib.call(fn.tfm_summary_histogram, graph._builder_ptr, cstr(name), values._ptr))
    _add_to(graph, out, collections)
    return out


def merge(inputs, collections=None, name=None):
    """tf.summary.merge: one Summary holding the values of all `inputs`."""
    inputs = [convert_to_tensor(x) for x in inputs]
    graph = graph_of(inputs)
    ptrs = [t._ptr for t in inputs]
    out = graph._wrap_tensor(_lib.call(fn.tfm_summary_merge, graph._builder_ptr, _lib.handles(ptrs), len(ptrs),
                                       cstr(name)))
    for key in collections or ():
        graph.add_to_collection(key, out)
    return out


def merge_all(key=GraphKeys.SUMMARIES, scope=None):
    """tf.summary.merge_all: merges the summaries of collection `key` (of the default
    graph); None when there are none."""
    graph = get_default_graph()
    items = graph.get_collection(key, scope)
    if not items:
        return None
    return merge(items)


# ---- writing ----
def _summary_bytes(summary):
    """A serialized Summary from what a session run returns (bytes, a NumPy string
    scalar) or from a protobuf message."""
    if hasattr(summary, "SerializeToString"):
        return summary.SerializeToString()
    if hasattr(summary, "item") and not isinstance(summary, (bytes, bytearray)):
        summary = summary.item()
    if isinstance(summary, str):
        raise TypeError("add_summary takes the bytes of a serialized Summary, not str")
    if not isinstance(summary, (bytes, bytearray)):
        raise TypeError("add_summary takes a serialized Summary (bytes), got %s" % type(summary).__name__)
    return bytes(summary)


class FileWriter:
    """tf.summary.FileWriter: writes events.out.tfevents.<time>.<host> in `logdir`
    (created when missing). Events reach the file every `flush_secs`, when
    `max_queue` are pending, on flush() and on close(). Usable as a context manager
    and from several threads."""

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None, filename_suffix=None,
                 session=None):
        if filename_suffix:
            raise errors.unimplemented("FileWriter(filename_suffix=...)")
        if session is not None and graph is None:
            graph = session.graph
        self._logdir = str(logdir)
        self._handle = None
        self._handle = _lib.call(fn.tfm_summary_writer_new, cstr(self._logdir), int(max_queue), float(flush_secs))
        self._closed = False
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)
            if graph is not None:  # TF then writes the meta graph too (no saver)
                _lib.call(fn.tfm_summary_writer_add_meta_graph_from, self._ptr(), graph._ptr, 0)

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._handle = None
            fn.tfm_summary_writer_delete(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _ptr(self):
        if self._handle is None:
            raise errors.FailedPreconditionError(None, None, "FileWriter is deleted")
        return self._handle

    def get_logdir(self):
        return self._logdir

    @property
    def path(self):
        """The event file being written."""
        return fn.tfm_summary_writer_path(self._ptr()).decode()

    def add_summary(self, summary, global_step=None):
        data = _summary_bytes(summary)
        _lib.call(fn.tfm_summary_writer_add_summary, self._ptr(), data, len(data), int(global_step or 0))

    def add_scalar(self, tag, value, global_step=None):
        """Logs a scalar without building ops (a tfmini extension)."""
        _lib.call(fn.tfm_summary_writer_add_scalar, self._ptr(), cstr(tag), float(value), int(global_step or 0))

    def add_histogram(self, tag, values, global_step=None):
        """Logs a histogram of `values` without building ops (a tfmini extension)."""
        import numpy as np
        arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64).ravel())
        ptr = arr.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        _lib.call(fn.tfm_summary_writer_add_histogram, self._ptr(), cstr(tag), ptr, arr.size, int(global_step or 0))

    def add_graph(self, graph, global_step=None, graph_def=None):
        """The graph as TensorBoard shows it (GraphDef with _output_shapes); or the bytes
        of a serialized GraphDef given as graph_def."""
        if graph_def is not None:
            data = graph_def.SerializeToString() if hasattr(graph_def, "SerializeToString") else bytes(graph_def)
            _lib.call(fn.tfm_summary_writer_add_graph_def, self._ptr(), data, len(data), int(global_step or 0))
            return
        graph = graph if graph is not None else get_default_graph()
        _lib.call(fn.tfm_summary_writer_add_graph, self._ptr(), graph._ptr, int(global_step or 0))

    def add_meta_graph(self, meta_graph_def, global_step=None):
        """A MetaGraphDef: serialized (bytes, e.g. a .meta file's contents), or a Graph
        whose meta graph is made here."""
        if hasattr(meta_graph_def, "get_operations"):
            _lib.call(fn.tfm_summary_writer_add_meta_graph_from, self._ptr(), meta_graph_def._ptr,
                      int(global_step or 0))
            return
        data = (meta_graph_def.SerializeToString() if hasattr(meta_graph_def, "SerializeToString")
                else bytes(meta_graph_def))
        _lib.call(fn.tfm_summary_writer_add_meta_graph, self._ptr(), data, len(data), int(global_step or 0))

    def add_event(self, event):
        """A serialized Event, written as is."""
        data = event.SerializeToString() if hasattr(event, "SerializeToString") else bytes(event)
        _lib.call(fn.tfm_summary_writer_add_event, self._ptr(), data, len(data))

    def flush(self):
        _lib.call(fn.tfm_summary_writer_flush, self._ptr())

    def close(self):
        if self._handle is not None:
            _lib.call(fn.tfm_summary_writer_close, self._handle)
        self._closed = True


# ---- reading ----
class HistogramProto:
    """A histogram value: min, max, num, sum, sum_squares, bucket_limit, bucket."""
    __slots__ = ("min", "max", "num", "sum", "sum_squares", "bucket_limit", "bucket")

    def __repr__(self):
        return "HistogramProto(num=%g, min=%g, max=%g, %d buckets)" % (self.num, self.min, self.max,
                                                                      len(self.bucket))


class SummaryValue:
    """One value of a Summary: tag, and simple_value or histo (the other None)."""
    __slots__ = ("tag", "simple_value", "histo")

    def HasField(self, name):  # noqa: N802 - protobuf's name
        return getattr(self, name, None) is not None

    def __repr__(self):
        what = "simple_value=%r" % self.simple_value if self.simple_value is not None else repr(self.histo)
        return "SummaryValue(tag=%r, %s)" % (self.tag, what)


class Summary:
    __slots__ = ("value",)

    def __repr__(self):
        return "Summary(%r)" % self.value


_KINDS = {0: None, 1: "file_version", 2: "graph_def", 3: "summary", 4: "meta_graph_def", 5: "other"}


class Event:
    """An event of a file: wall_time, step, and the field it holds (`what`):
    file_version (str), graph_def / meta_graph_def (bytes), summary (Summary), or
    None; `record` is the whole serialized Event and `offset` its place in the file."""
    __slots__ = ("wall_time", "step", "what", "file_version", "graph_def", "meta_graph_def", "summary", "record",
                 "offset")

    def HasField(self, name):  # noqa: N802 - protobuf's name
        return self.what == name

    def __repr__(self):
        return "Event(step=%d, wall_time=%.3f, %s)" % (self.step, self.wall_time, self.what)


def _current_event(r):
    ev = Event()
    ev.offset = fn.tfm_event_reader_offset(r)
    ev.wall_time = fn.tfm_event_reader_wall_time(r)
    ev.step = fn.tfm_event_reader_step(r)
    ev.what = _KINDS.get(fn.tfm_event_reader_kind(r), "other")
    size = ctypes.c_size_t()
    rec = fn.tfm_event_reader_record(r, ctypes.byref(size))
    ev.record = ctypes.string_at(rec, size.value) if size.value else b""
    data = fn.tfm_event_reader_data(r, ctypes.byref(size))
    payload = ctypes.string_at(data, size.value) if size.value else b""
    ev.file_version = payload.decode("utf-8", "replace") if ev.what == "file_version" else None
    ev.graph_def = payload if ev.what == "graph_def" else None
    ev.meta_graph_def = payload if ev.what == "meta_graph_def" else None
    ev.summary = None
    if ev.what == "summary":
        ev.summary = Summary()
        ev.summary.value = [_value(r, i) for i in range(fn.tfm_event_reader_num_values(r))]
    return ev


def _value(r, i):
    v = SummaryValue()
    v.tag = fn.tfm_event_reader_value_tag(r, i).decode("utf-8", "replace")
    v.simple_value = v.histo = None
    kind = fn.tfm_event_reader_value_kind(r, i)
    if kind == 1:
        v.simple_value = fn.tfm_event_reader_value_simple(r, i)
    elif kind == 2:
        stats = (ctypes.c_double * 5)()
        limits, counts = ctypes.POINTER(ctypes.c_double)(), ctypes.POINTER(ctypes.c_double)()
        n = fn.tfm_event_reader_value_histogram(r, i, stats, ctypes.byref(limits), ctypes.byref(counts))
        h = HistogramProto()
        h.min, h.max, h.num, h.sum, h.sum_squares = list(stats)
        h.bucket_limit = [limits[k] for k in range(n)]
        h.bucket = [counts[k] for k in range(n)]
        v.histo = h
    return v


def summary_iterator(path):
    """Yields the events of an event file in order (tf.train.summary_iterator). A
    truncated last record (a writer still at work, or a crash) ends the iteration;
    a corrupt record raises DataLossError naming the file and offset."""
    r = _lib.call(fn.tfm_event_reader_new, cstr(str(path)))
    try:
        while True:
            st = _lib._status()
            fn.tfm_status_clear(st)
            code = fn.tfm_event_reader_next(r, st)
            if code == 11:  # OUT_OF_RANGE: the end
                return
            if code != 0:
                raise errors.from_code(code, fn.tfm_status_message(st).decode("utf-8", "replace"))
            yield _current_event(r)
    finally:
        fn.tfm_event_reader_delete(r)


def read_events(path):
    """All events of an event file, as a list (see summary_iterator)."""
    return list(summary_iterator(path))


def scalars(path, tag):
    """[(step, wall_time, value)] of the simple values tagged `tag` in a file: a loss
    curve, ready to plot."""
    out = []
    for ev in summary_iterator(path):
        if ev.summary is not None:
            out.extend((ev.step, ev.wall_time, v.simple_value) for v in ev.summary.value
                       if v.tag == tag and v.simple_value is not None and not math.isnan(v.simple_value))
    return out
