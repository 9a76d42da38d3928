"""tf.train.Saver and the meta-graph / graph file functions, over include/tfmini/io.h.

While the loaded library lacks these functions, each call raises
tfmini.errors.UnimplementedError naming the missing C function."""
import ctypes
import numbers
import operator
import os

from .. import _lib
from .._lib import cstr, fn
from ..framework import get_default_graph

_PATH_MAX = 4096


class Saver:
    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False,
                 saver_def=None, builder=None, defer_build=False, allow_empty=False,
                 write_version=2, pad_step_number=False, save_relative_paths=False, filename=None,
                 _handle=None, _graph=None):
        self._handle = None
        self._graph = _graph or get_default_graph()
        if _handle is not None:
            self._handle = _handle
            return
        keys = None
        if isinstance(var_list, dict):
            keys = [cstr(k) for k in var_list]
            var_list = list(var_list.values())
        handles = [v._handle for v in var_list] if var_list else []
        key_array = (ctypes.c_char_p * len(keys))(*keys) if keys else None
        self._handle = _lib.call(fn.tfm_saver_new, self._graph._builder_ptr, _lib.handles(handles), key_array,
                                 len(handles), int(max_to_keep) if max_to_keep is not None else 0,
                                 float(keep_checkpoint_every_n_hours))

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._handle = None
            fn.tfm_saver_delete(handle)

    def save(self, sess, save_path, global_step=None, latest_filename=None, meta_graph_suffix="meta",
             write_meta_graph=True, write_state=True, strip_default_attrs=False):
        if global_step is None:
            step = -1
        elif isinstance(global_step, numbers.Integral) or hasattr(global_step, "__index__"):
            step = operator.index(global_step)  # int, numpy integer
        else:
            step = int(sess.run(global_step))  # a Tensor or Variable
        buf = ctypes.create_string_buffer(_PATH_MAX)
        _lib.call(fn.tfm_saver_save, self._handle, sess._checked_handle(), cstr(save_path), step,
                  int(bool(write_meta_graph)), buf, _PATH_MAX)
        return buf.value.decode()

    def restore(self, sess, save_path):
        _lib.call(fn.tfm_saver_restore, self._handle, sess._checked_handle(), cstr(save_path))


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    from .. import errors
    buf = ctypes.create_string_buffer(_PATH_MAX)
    try:
        _lib.call(fn.tfm_latest_checkpoint, cstr(checkpoint_dir), buf, _PATH_MAX)
    except errors.NotFoundError:
        return None  # as TensorFlow: no checkpoint yet
    return buf.value.decode()


def export_meta_graph(filename=None, saver=None, graph=None, **kwargs):
    graph = graph or get_default_graph()
    _lib.call(fn.tfm_export_meta_graph, graph._ptr, saver._handle if saver else None, cstr(filename))


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **kwargs):
    graph = get_default_graph()
    handle = _lib.call_nullable(fn.tfm_import_meta_graph, graph._builder_ptr, cstr(meta_graph_or_file),
                                cstr(import_scope))
    return Saver(_handle=handle, _graph=graph) if handle else None


def write_graph(graph_or_graph_def, logdir, name, as_text=True):
    from ..importer import write_graph_def_file
    write_graph_def_file(graph_or_graph_def, logdir, name, as_text)
    return os.path.join(logdir, name)
