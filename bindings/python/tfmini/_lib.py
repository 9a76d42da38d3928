"""Loads libtfmini and declares every C function with its argtypes and restype.

The library is looked for in this order: the path in the environment variable
TFMINI_LIBRARY; for an installed package, the library installed with it (the libdir
recorded in _config.py by `meson install`); a build tree above this package
(<root>/build/lib/libtfmini.so, the layout of the source tree); the system's
library path. Functions the loaded
library does not export (an older or partial build) are bound to stubs raising
tfmini.errors.UnimplementedError naming the C function, so that importing works
and only the missing feature fails.
"""
import ctypes
import ctypes.util
import os
import threading

from . import errors

c_int, c_int64, c_uint64, c_size_t = ctypes.c_int, ctypes.c_int64, ctypes.c_uint64, ctypes.c_size_t
c_double, c_float, c_char_p, c_void_p = ctypes.c_double, ctypes.c_float, ctypes.c_char_p, ctypes.c_void_p
P = ctypes.POINTER
# Handles are opaque: passed and returned as c_void_p (a Python int, or None for NULL).
HANDLE = c_void_p
HANDLES = P(c_void_p)  # an array of handles (tfm_output *const *, tfm_op *const *, ...)
STATUS = c_void_p

DEALLOCATOR = ctypes.CFUNCTYPE(None, c_void_p, c_size_t, c_void_p)


def _candidates():
    """(description, path-or-name) pairs in lookup order."""
    found = []
    env = os.environ.get("TFMINI_LIBRARY")
    if env:
        found.append(("TFMINI_LIBRARY", env))
    try:
        from . import _config  # written by meson install only
        found.append(("installed", os.path.join(_config.LIBDIR, _config.SONAME)))
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    d = here
    while True:
        found.append(("build tree", os.path.join(d, "build", "lib", "libtfmini.so")))
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    system = ctypes.util.find_library("tfmini")
    if system:
        found.append(("system", system))
    found.append(("system", "libtfmini.so.0"))
    return found


def _load():
    tried = []
    env = os.environ.get("TFMINI_LIBRARY")
    for where, path in _candidates():
        if where in ("build tree", "installed") and not os.path.exists(path):
            tried.append("%s (%s: absent)" % (path, where))
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s: %s)" % (path, where, e))
            if where == "TFMINI_LIBRARY":
                break  # an explicit choice that fails must not silently fall back
    raise ImportError("tfmini: cannot load libtfmini; looked at:\n  " + "\n  ".join(tried) +
                      ("" if env else "\nSet TFMINI_LIBRARY to the path of libtfmini.so."))


lib, path = _load()

# name: (restype, [argtypes]). The order follows include/tfmini/*.h.
_DECLS = {
    # status.h
    "tfm_status_new": (STATUS, []),
    "tfm_status_delete": (None, [STATUS]),
    "tfm_status_code": (c_int, [STATUS]),
    "tfm_status_message": (c_char_p, [STATUS]),
    "tfm_status_clear": (None, [STATUS]),
    "tfm_code_name": (c_char_p, [c_int]),
    "tfm_version": (c_char_p, []),
    # tensor.h
    "tfm_dtype_size": (c_size_t, [c_int]),
    "tfm_dtype_name": (c_char_p, [c_int]),
    "tfm_tensor_new": (HANDLE, [c_int, P(c_int64), c_int, STATUS]),
    "tfm_tensor_wrap": (HANDLE, [c_int, P(c_int64), c_int, c_void_p, c_size_t, DEALLOCATOR, c_void_p, STATUS]),
    "tfm_tensor_retain": (HANDLE, [HANDLE]),
    "tfm_tensor_release": (None, [HANDLE]),
    "tfm_tensor_dtype": (c_int, [HANDLE]),
    "tfm_tensor_rank": (c_int, [HANDLE]),
    "tfm_tensor_dim": (c_int64, [HANDLE, c_int]),
    "tfm_tensor_num_elements": (c_int64, [HANDLE]),
    "tfm_tensor_nbytes": (c_size_t, [HANDLE]),
    "tfm_tensor_data": (c_void_p, [HANDLE]),
    "tfm_tensor_string_get": (c_int, [HANDLE, c_int64, P(c_void_p), P(c_size_t), STATUS]),
    "tfm_tensor_string_set": (c_int, [HANDLE, c_int64, c_char_p, c_size_t, STATUS]),
    "tfm_set_num_threads": (c_int, [c_int, STATUS]),
    "tfm_get_num_threads": (c_int, []),
    # graph.h
    "tfm_graph_new": (HANDLE, [STATUS]),
    "tfm_graph_delete": (None, [HANDLE]),
    "tfm_default_graph": (HANDLE, []),
    "tfm_reset_default_graph": (c_int, [STATUS]),
    "tfm_graph_set_seed": (None, [HANDLE, c_int64]),
    "tfm_graph_num_ops": (c_int, [HANDLE]),
    "tfm_graph_op_at": (HANDLE, [HANDLE, c_int]),
    "tfm_graph_get_operation_by_name": (HANDLE, [HANDLE, c_char_p, STATUS]),
    "tfm_graph_get_tensor_by_name": (HANDLE, [HANDLE, c_char_p, STATUS]),
    "tfm_graph_push_name_scope": (c_int, [HANDLE, c_char_p, STATUS]),
    "tfm_graph_pop_name_scope": (c_int, [HANDLE, STATUS]),
    "tfm_graph_name_scope": (c_char_p, [HANDLE]),
    "tfm_graph_push_variable_scope": (c_int, [HANDLE, c_char_p, c_int, STATUS]),
    "tfm_graph_pop_variable_scope": (c_int, [HANDLE, STATUS]),
    "tfm_graph_push_control_dependencies": (c_int, [HANDLE, HANDLES, c_int, STATUS]),
    "tfm_graph_pop_control_dependencies": (c_int, [HANDLE, STATUS]),
    "tfm_op_name": (c_char_p, [HANDLE]),
    "tfm_op_type": (c_char_p, [HANDLE]),
    "tfm_op_num_inputs": (c_int, [HANDLE]),
    "tfm_op_input": (HANDLE, [HANDLE, c_int]),
    "tfm_op_num_control_inputs": (c_int, [HANDLE]),
    "tfm_op_control_input": (HANDLE, [HANDLE, c_int]),
    "tfm_op_num_outputs": (c_int, [HANDLE]),
    "tfm_op_output": (HANDLE, [HANDLE, c_int]),
    "tfm_op_graph": (HANDLE, [HANDLE]),
    "tfm_op_attr_int": (c_int, [HANDLE, c_char_p, P(c_int64), STATUS]),
    "tfm_op_attr_float": (c_int, [HANDLE, c_char_p, P(c_float), STATUS]),
    "tfm_op_attr_bool": (c_int, [HANDLE, c_char_p, P(c_int), STATUS]),
    "tfm_op_attr_type": (c_int, [HANDLE, c_char_p, P(c_int), STATUS]),
    "tfm_op_attr_string": (c_int, [HANDLE, c_char_p, P(c_void_p), P(c_size_t), STATUS]),
    "tfm_output_op": (HANDLE, [HANDLE]),
    "tfm_output_index": (c_int, [HANDLE]),
    "tfm_output_dtype": (c_int, [HANDLE]),
    "tfm_output_rank": (c_int, [HANDLE]),
    "tfm_output_dim": (c_int64, [HANDLE, c_int]),
    "tfm_output_name": (c_size_t, [HANDLE, c_char_p, c_size_t]),
    "tfm_op_builder_new": (HANDLE, [HANDLE, c_char_p, c_char_p, STATUS]),
    "tfm_op_builder_add_input": (None, [HANDLE, HANDLE]),
    "tfm_op_builder_add_inputs": (None, [HANDLE, HANDLES, c_int]),
    "tfm_op_builder_add_control_input": (None, [HANDLE, HANDLE]),
    "tfm_op_builder_set_attr_int": (None, [HANDLE, c_char_p, c_int64]),
    "tfm_op_builder_set_attr_float": (None, [HANDLE, c_char_p, c_float]),
    "tfm_op_builder_set_attr_bool": (None, [HANDLE, c_char_p, c_int]),
    "tfm_op_builder_set_attr_type": (None, [HANDLE, c_char_p, c_int]),
    "tfm_op_builder_set_attr_string": (None, [HANDLE, c_char_p, c_char_p, c_size_t]),
    "tfm_op_builder_set_attr_shape": (None, [HANDLE, c_char_p, P(c_int64), c_int]),
    "tfm_op_builder_set_attr_tensor": (None, [HANDLE, c_char_p, HANDLE]),
    "tfm_op_builder_set_attr_int_list": (None, [HANDLE, c_char_p, P(c_int64), c_int]),
    "tfm_op_builder_set_attr_float_list": (None, [HANDLE, c_char_p, P(c_float), c_int]),
    "tfm_op_builder_set_attr_type_list": (None, [HANDLE, c_char_p, P(c_int), c_int]),
    "tfm_op_builder_finish": (HANDLE, [HANDLE, STATUS]),
    "tfm_graph_add_to_collection_op": (c_int, [HANDLE, c_char_p, HANDLE, STATUS]),
    "tfm_graph_add_to_collection_output": (c_int, [HANDLE, c_char_p, HANDLE, STATUS]),
    "tfm_graph_add_to_collection_variable": (c_int, [HANDLE, c_char_p, HANDLE, STATUS]),
    "tfm_graph_add_to_collection_int": (c_int, [HANDLE, c_char_p, c_int64, STATUS]),
    "tfm_graph_add_to_collection_float": (c_int, [HANDLE, c_char_p, c_double, STATUS]),
    "tfm_graph_add_to_collection_bytes": (c_int, [HANDLE, c_char_p, c_char_p, c_size_t, STATUS]),
    "tfm_graph_collection_size": (c_int, [HANDLE, c_char_p]),
    "tfm_graph_num_collections": (c_int, [HANDLE]),
    "tfm_graph_collection_key": (c_char_p, [HANDLE, c_int]),
    "tfm_graph_collection_item_kind": (c_int, [HANDLE, c_char_p, c_int, P(c_int), STATUS]),
    "tfm_graph_collection_op": (HANDLE, [HANDLE, c_char_p, c_int, STATUS]),
    "tfm_graph_collection_output": (HANDLE, [HANDLE, c_char_p, c_int, STATUS]),
    "tfm_graph_collection_variable": (HANDLE, [HANDLE, c_char_p, c_int, STATUS]),
    "tfm_graph_collection_int": (c_int, [HANDLE, c_char_p, c_int, P(c_int64), STATUS]),
    "tfm_graph_collection_float": (c_int, [HANDLE, c_char_p, c_int, P(c_double), STATUS]),
    "tfm_graph_collection_bytes": (c_int, [HANDLE, c_char_p, c_int, P(c_void_p), P(c_size_t), STATUS]),
    # ops.h
    "tfm_constant": (HANDLE, [HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_scalar": (HANDLE, [HANDLE, c_double, c_int, c_char_p, STATUS]),
    "tfm_constant_f32": (HANDLE, [HANDLE, P(c_float), P(c_int64), c_int, c_char_p, STATUS]),
    "tfm_constant_i32": (HANDLE, [HANDLE, P(ctypes.c_int32), c_int64, c_char_p, STATUS]),
    "tfm_placeholder": (HANDLE, [HANDLE, c_int, P(c_int64), c_int, c_char_p, STATUS]),
    "tfm_add_n": (HANDLE, [HANDLE, HANDLES, c_int, c_char_p, STATUS]),
    "tfm_cast": (HANDLE, [HANDLE, HANDLE, c_int, c_char_p, STATUS]),
    "tfm_matmul": (HANDLE, [HANDLE, HANDLE, HANDLE, c_int, c_int, c_char_p, STATUS]),
    "tfm_argmax": (HANDLE, [HANDLE, HANDLE, c_int, c_char_p, STATUS]),
    "tfm_reshape": (HANDLE, [HANDLE, HANDLE, P(c_int64), c_int, c_char_p, STATUS]),
    "tfm_transpose": (HANDLE, [HANDLE, HANDLE, P(ctypes.c_int32), c_int, c_char_p, STATUS]),
    "tfm_expand_dims": (HANDLE, [HANDLE, HANDLE, c_int, c_char_p, STATUS]),
    "tfm_squeeze": (HANDLE, [HANDLE, HANDLE, P(ctypes.c_int32), c_int, c_char_p, STATUS]),
    "tfm_fill": (HANDLE, [HANDLE, HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_zeros": (HANDLE, [HANDLE, P(c_int64), c_int, c_int, c_char_p, STATUS]),
    "tfm_ones": (HANDLE, [HANDLE, P(c_int64), c_int, c_int, c_char_p, STATUS]),
    "tfm_conv2d": (HANDLE, [HANDLE, HANDLE, HANDLE, c_int, c_int, c_char_p, c_char_p, STATUS]),
    "tfm_max_pool": (HANDLE, [HANDLE, HANDLE, c_int, c_int, c_int, c_int, c_char_p, c_char_p, STATUS]),
    "tfm_log_softmax": (HANDLE, [HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_softmax_cross_entropy_with_logits": (HANDLE, [HANDLE, HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_sparse_softmax_cross_entropy_with_logits": (HANDLE, [HANDLE, HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_random_normal": (HANDLE, [HANDLE, P(c_int64), c_int, c_int, c_double, c_double, c_int64, c_char_p, STATUS]),
    "tfm_truncated_normal": (HANDLE, [HANDLE, P(c_int64), c_int, c_int, c_double, c_double, c_int64, c_char_p, STATUS]),
    "tfm_random_uniform": (HANDLE, [HANDLE, P(c_int64), c_int, c_int, c_double, c_double, c_int64, c_char_p, STATUS]),
    "tfm_no_op": (HANDLE, [HANDLE, c_char_p, STATUS]),
    "tfm_group": (HANDLE, [HANDLE, HANDLES, c_int, c_char_p, STATUS]),
    "tfm_variable_new": (HANDLE, [HANDLE, HANDLE, c_int, c_char_p, STATUS]),
    "tfm_get_variable": (HANDLE, [HANDLE, c_char_p, c_int, P(c_int64), c_int, c_int, c_double, c_double, c_int64,
                                  c_int, STATUS]),
    "tfm_variable_op": (HANDLE, [HANDLE]),
    "tfm_variable_name": (c_char_p, [HANDLE]),
    "tfm_variable_ref": (HANDLE, [HANDLE]),
    "tfm_variable_value": (HANDLE, [HANDLE]),
    "tfm_variable_initializer": (HANDLE, [HANDLE]),
    "tfm_variable_trainable": (c_int, [HANDLE]),
    "tfm_graph_num_variables": (c_int, [HANDLE]),
    "tfm_graph_variable_at": (HANDLE, [HANDLE, c_int]),
    "tfm_graph_variable_by_name": (HANDLE, [HANDLE, c_char_p, STATUS]),
    "tfm_assign": (HANDLE, [HANDLE, HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_assign_add": (HANDLE, [HANDLE, HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_assign_sub": (HANDLE, [HANDLE, HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_global_variables_initializer": (HANDLE, [HANDLE, STATUS]),
    "tfm_variables_initializer": (HANDLE, [HANDLE, HANDLES, c_int, c_char_p, STATUS]),
    # session.h
    "tfm_session_new": (HANDLE, [HANDLE, STATUS]),
    "tfm_session_delete": (None, [HANDLE]),
    "tfm_session_run": (c_int, [HANDLE, HANDLES, HANDLES, c_int, HANDLES, HANDLES, c_int, HANDLES, c_int, STATUS]),
    "tfm_session_make_callable": (HANDLE, [HANDLE, HANDLES, c_int, HANDLES, c_int, HANDLES, c_int, STATUS]),
    "tfm_callable_run": (c_int, [HANDLE, HANDLES, HANDLES, STATUS]),
    "tfm_callable_delete": (None, [HANDLE]),
    "tfm_session_variable_value": (HANDLE, [HANDLE, HANDLE, STATUS]),
    # train.h
    "tfm_gradients": (c_int, [HANDLE, HANDLES, c_int, HANDLES, c_int, HANDLES, HANDLES, STATUS]),
    "tfm_optimizer_gradient_descent": (HANDLE, [c_double, STATUS]),
    "tfm_optimizer_momentum": (HANDLE, [c_double, c_double, c_int, STATUS]),
    "tfm_optimizer_adam": (HANDLE, [c_double, c_double, c_double, c_double, STATUS]),
    "tfm_optimizer_set_learning_rate_tensor": (c_int, [HANDLE, HANDLE, STATUS]),
    "tfm_optimizer_delete": (None, [HANDLE]),
    "tfm_optimizer_minimize": (HANDLE, [HANDLE, HANDLE, HANDLE, HANDLES, c_int, HANDLE, c_char_p, STATUS]),
    "tfm_optimizer_apply_gradients": (HANDLE, [HANDLE, HANDLE, HANDLES, HANDLES, c_int, HANDLE, c_char_p,
                                               STATUS]),
    "tfm_train_get_or_create_global_step": (HANDLE, [HANDLE, STATUS]),
    "tfm_train_exponential_decay": (HANDLE, [HANDLE, c_double, HANDLE, c_double, c_double, c_int, c_char_p,
                                             STATUS]),
    "tfm_train_inverse_time_decay": (HANDLE, [HANDLE, c_double, HANDLE, c_double, c_double, c_int, c_char_p,
                                              STATUS]),
    # io.h
    "tfm_buffer_data": (c_void_p, [HANDLE]),
    "tfm_buffer_size": (c_size_t, [HANDLE]),
    "tfm_buffer_delete": (None, [HANDLE]),
    "tfm_saver_new": (HANDLE, [HANDLE, HANDLES, P(c_char_p), c_int, c_int, c_double, STATUS]),
    "tfm_saver_delete": (None, [HANDLE]),
    "tfm_saver_save": (c_int, [HANDLE, HANDLE, c_char_p, c_int64, c_int, c_char_p, c_size_t, STATUS]),
    "tfm_saver_restore": (c_int, [HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_latest_checkpoint": (c_int, [c_char_p, c_char_p, c_size_t, STATUS]),
    "tfm_checkpoint_timer_new": (HANDLE, [HANDLE, c_char_p, c_double, c_int64, STATUS]),
    "tfm_checkpoint_timer_step": (c_int, [HANDLE, HANDLE, c_int64, P(c_int), STATUS]),
    "tfm_checkpoint_timer_delete": (None, [HANDLE]),
    "tfm_export_meta_graph": (c_int, [HANDLE, HANDLE, c_char_p, STATUS]),
    "tfm_import_meta_graph": (HANDLE, [HANDLE, c_char_p, c_char_p, STATUS]),
    "tfm_graph_to_graph_def": (HANDLE, [HANDLE, c_int, STATUS]),
    "tfm_graph_to_graph_def_ex": (HANDLE, [HANDLE, c_int, c_int, STATUS]),
    "tfm_import_graph_def_mapped": (c_int, [HANDLE, c_void_p, c_size_t, c_int, c_char_p, P(c_char_p), HANDLES,
                                            c_int, STATUS]),
    "tfm_write_graph": (c_int, [HANDLE, c_char_p, c_char_p, c_int, STATUS]),
    "tfm_import_graph_def_file": (c_int, [HANDLE, c_char_p, c_char_p, STATUS]),
    "tfm_import_graph_def": (c_int, [HANDLE, c_void_p, c_size_t, c_int, c_char_p, STATUS]),
    "tfm_saved_model_load": (HANDLE, [HANDLE, c_char_p, P(c_char_p), c_int, STATUS]),
    "tfm_saved_model_signature_tensor": (HANDLE, [HANDLE, c_char_p, c_char_p, c_int, STATUS]),
    "tfm_saved_model_delete": (None, [HANDLE]),
    # summary.h
    "tfm_summary_writer_new": (HANDLE, [c_char_p, c_int, c_double, STATUS]),
    "tfm_summary_writer_path": (c_char_p, [HANDLE]),
    "tfm_summary_writer_add_summary": (c_int, [HANDLE, c_char_p, c_size_t, c_int64, STATUS]),
    "tfm_summary_writer_add_scalar": (c_int, [HANDLE, c_char_p, c_double, c_int64, STATUS]),
    "tfm_summary_writer_add_histogram": (c_int, [HANDLE, c_char_p, P(c_double), c_int64, c_int64, STATUS]),
    "tfm_summary_writer_add_graph": (c_int, [HANDLE, HANDLE, c_int64, STATUS]),
    "tfm_summary_writer_add_graph_def": (c_int, [HANDLE, c_char_p, c_size_t, c_int64, STATUS]),
    "tfm_summary_writer_add_meta_graph": (c_int, [HANDLE, c_char_p, c_size_t, c_int64, STATUS]),
    "tfm_summary_writer_add_meta_graph_from": (c_int, [HANDLE, HANDLE, c_int64, STATUS]),
    "tfm_summary_writer_add_event": (c_int, [HANDLE, c_char_p, c_size_t, STATUS]),
    "tfm_summary_writer_flush": (c_int, [HANDLE, STATUS]),
    "tfm_summary_writer_close": (c_int, [HANDLE, STATUS]),
    "tfm_summary_writer_delete": (None, [HANDLE]),
    "tfm_event_reader_new": (HANDLE, [c_char_p, STATUS]),
    "tfm_event_reader_next": (c_int, [HANDLE, STATUS]),
    "tfm_event_reader_truncated": (c_int, [HANDLE]),
    "tfm_event_reader_offset": (c_uint64, [HANDLE]),
    "tfm_event_reader_wall_time": (c_double, [HANDLE]),
    "tfm_event_reader_step": (c_int64, [HANDLE]),
    "tfm_event_reader_kind": (c_int, [HANDLE]),
    "tfm_event_reader_data": (c_void_p, [HANDLE, P(c_size_t)]),
    "tfm_event_reader_record": (c_void_p, [HANDLE, P(c_size_t)]),
    "tfm_event_reader_num_values": (c_int, [HANDLE]),
    "tfm_event_reader_value_tag": (c_char_p, [HANDLE, c_int]),
    "tfm_event_reader_value_kind": (c_int, [HANDLE, c_int]),
    "tfm_event_reader_value_simple": (c_double, [HANDLE, c_int]),
    "tfm_event_reader_value_histogram": (c_int, [HANDLE, c_int, P(c_double), P(P(c_double)), P(P(c_double))]),
    "tfm_event_reader_delete": (None, [HANDLE]),
    "tfm_summary_scalar": (HANDLE, [HANDLE, c_char_p, HANDLE, STATUS]),
    "tfm_summary_histogram": (HANDLE, [HANDLE, c_char_p, HANDLE, STATUS]),
    "tfm_summary_merge": (HANDLE, [HANDLE, HANDLES, c_int, c_char_p, STATUS]),
    "tfm_summary_merge_all": (HANDLE, [HANDLE, c_char_p, STATUS]),
    "tfm_graph_to_dot": (HANDLE, [HANDLE, STATUS]),
    # debug.h
    "tfm_debug_alloc_count": (c_uint64, []),
    "tfm_debug_fail_alloc_after": (None, [c_uint64, c_int]),
    "tfm_debug_bytes_in_use": (c_int64, []),
    "tfm_debug_file_op_count": (c_uint64, []),
    "tfm_debug_fail_file_op_after": (None, [c_uint64, c_int]),
}

# The builders of one shape, declared in bulk.
for _name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "bias_add"):
    _DECLS["tfm_" + _name] = (HANDLE, [HANDLE, HANDLE, HANDLE, c_char_p, STATUS])
for _name in ("neg", "square", "sqrt", "exp", "log", "identity", "stop_gradient", "shape",
              "relu", "sigmoid", "tanh", "softmax"):
    _DECLS["tfm_" + _name] = (HANDLE, [HANDLE, HANDLE, c_char_p, STATUS])
for _name in ("sum", "mean", "max", "min", "prod"):
    _DECLS["tfm_reduce_" + _name] = (HANDLE, [HANDLE, HANDLE, P(ctypes.c_int32), c_int, c_int, c_char_p, STATUS])


def _missing(name):
    def stub(*args):
        raise errors.UnimplementedError(
            None, None, "%s is not implemented by the loaded libtfmini (%s)" % (name, path))
    stub.__name__ = name
    stub.missing = True
    return stub


class _Functions:
    """Attribute access to the declared C functions (missing ones are stubs)."""


fn = _Functions()
for _name, (_res, _args) in _DECLS.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        setattr(fn, _name, _missing(_name))
        continue
    _f.restype = _res
    _f.argtypes = _args
    setattr(fn, _name, _f)


def has(name):
    """Whether the loaded library exports C function `name`."""
    f = getattr(fn, name, None)
    return f is not None and not getattr(f, "missing", False)


# ---- calling with a status ----
_local = threading.local()


def _status():
    holder = getattr(_local, "status", None)
    if holder is None:
        ptr = fn.tfm_status_new()
        if not ptr:
            raise MemoryError("tfm_status_new failed")
        holder = _local.status = _StatusHolder(ptr)
    return holder.ptr


class _StatusHolder:
    """Owns one thread's status; frees it when the thread's storage goes."""

    def __init__(self, ptr):
        self.ptr = ptr

    def __del__(self):
        fn.tfm_status_delete(self.ptr)


def call(f, *args):
    """Calls C function `f` with a status appended; raises the matching OpError on
    failure. A handle-returning function that returns NULL with an OK status is an
    InternalError naming it."""
    st = _status()
    fn.tfm_status_clear(st)
    result = f(*args, st)
    code = fn.tfm_status_code(st)
    if code != 0:
        raise errors.from_code(code, fn.tfm_status_message(st).decode("utf-8", "replace"))
    if result is None and f.restype is HANDLE:
        raise errors.InternalError(None, None, "%s returned NULL without an error" % f.__name__)
    return result


def call_nullable(f, *args):
    """call() for functions whose NULL result with an OK status is a valid answer."""
    st = _status()
    fn.tfm_status_clear(st)
    result = f(*args, st)
    code = fn.tfm_status_code(st)
    if code != 0:
        raise errors.from_code(code, fn.tfm_status_message(st).decode("utf-8", "replace"))
    return result


def handles(items):
    """A C array of handles from a list of ints (or None for an empty list)."""
    if not items:
        return None
    return (c_void_p * len(items))(*items)


def int64s(values):
    values = list(values)
    return (c_int64 * max(len(values), 1))(*values)


def int32s(values):
    values = list(values)
    return (ctypes.c_int32 * max(len(values), 1))(*values)


def cstr(s):
    """A Python name as a C string (None stays NULL)."""
    return None if s is None else s.encode("utf-8")
