"""The fast path for running one signature many times: a training loop calls
sess.run(train_op, feed_dict={x: xb, y: yb}) thousands of times with the same
fetches and feed keys, and the Python around the C call is most of its cost.

A _PreparedRun is made once per (fetches, feed keys) signature: a tfm_callable, a
status, ctypes arrays for the call, and for every feed whose placeholder has a fully
known shape and a numeric dtype, a library tensor allocated once into which each
step's value is copied (session.h: a run reads its feeds and does not keep them, so
reusing them is safe). Fetched values of known shape are copied out through a NumPy
view of the result's buffer, cached while the buffer stays the same (the executor
reuses its buffers between runs). One thread uses a prepared run at a time (a lock
taken without waiting; a busy one sends the caller down the general path).
"""
import ctypes
import threading

import numpy as np

from . import _lib, dtypes, errors, numpy_interop
from ._lib import fn

# The C entry point without ctypes' per-call argument conversion: every argument
# is passed as an already built ctypes object.
_raw_callable_run = _lib.lib.tfm_callable_run if hasattr(_lib.lib, "tfm_callable_run") else None
if _raw_callable_run is not None:
    _raw_callable_run = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                         ctypes.c_void_p)(ctypes.cast(_raw_callable_run, ctypes.c_void_p).value)


def _known_shape(tensor):
    shape = tensor.shape
    if shape.dims is None or not shape.is_fully_defined():
        return None
    return tuple(int(d) for d in shape.as_list())


class _Feed:
    """How one feed's value reaches the library."""
    __slots__ = ("tensor", "np_dtype", "shape", "handle", "view")

    def __init__(self, tensor):
        self.tensor = tensor
        self.np_dtype = None if tensor.dtype is dtypes.string else np.dtype(tensor.dtype.as_numpy_dtype)
        self.shape = _known_shape(tensor) if self.np_dtype is not None else None
        self.handle = None
        self.view = None
        if self.shape is not None:
            dims = _lib.int64s(self.shape)
            self.handle = _lib.call(fn.tfm_tensor_new, tensor.dtype.as_datatype_enum, dims, len(self.shape))
            n = int(np.prod(self.shape, dtype=np.int64))
            if n:
                buf = (ctypes.c_char * (n * self.np_dtype.itemsize)).from_address(fn.tfm_tensor_data(self.handle))
                self.view = np.frombuffer(buf, dtype=self.np_dtype).reshape(self.shape)
            else:
                self.view = np.empty(self.shape, self.np_dtype)

    def release(self):
        if self.handle:
            handle, self.handle, self.view = self.handle, None, None
            fn.tfm_tensor_release(handle)


class _Fetch:
    """How one fetched value comes back: a copy through a cached view when the shape
    is known, the general conversion otherwise."""
    __slots__ = ("np_dtype", "shape", "nbytes", "ptr", "view")

    def __init__(self, tensor):
        self.np_dtype = None if tensor.dtype is dtypes.string else np.dtype(tensor.dtype.as_numpy_dtype)
        self.shape = _known_shape(tensor) if self.np_dtype is not None else None
        self.nbytes = 0 if self.shape is None else int(np.prod(self.shape, dtype=np.int64)) * self.np_dtype.itemsize
        self.ptr = None
        self.view = None

    def take(self, t):
        """The value of C tensor `t` as NumPy (a copy); releases `t`."""
        try:
            if self.shape is None or self.nbytes == 0 or fn.tfm_tensor_nbytes(t) != self.nbytes:
                return numpy_interop.from_c_tensor(t)
            ptr = fn.tfm_tensor_data(t)
            if ptr != self.ptr:
                buf = (ctypes.c_char * self.nbytes).from_address(ptr)
                self.view = np.frombuffer(buf, dtype=self.np_dtype).reshape(self.shape)
                self.ptr = ptr
            out = self.view.copy()
            return out[()] if out.ndim == 0 else out
        finally:
            fn.tfm_tensor_release(t)


class PreparedRun:
    """One run signature of a session: fetch plan, feeds in a fixed order."""

    def __init__(self, session, plan, feed_tensors):
        self.lock = threading.Lock()
        self.plan = plan
        self.feeds = []
        self.handle = None
        self.status = None
        try:
            self.feeds = [_Feed(t) for t in feed_tensors]
            self.fetches = [_Fetch(t) for t in plan.tensors]
            fetch_ptrs = [t._ptr for t in plan.tensors]
            target_ptrs = [op._ptr for op in plan.targets]
            feed_ptrs = [t._ptr for t in feed_tensors]
            self.handle = _lib.call(fn.tfm_session_make_callable, session._checked_handle(),
                                    _lib.handles(feed_ptrs), len(feed_ptrs), _lib.handles(fetch_ptrs),
                                    len(fetch_ptrs), _lib.handles(target_ptrs), len(target_ptrs))
            self.status = fn.tfm_status_new()
            if not self.status:
                raise MemoryError("tfm_status_new failed")
        except BaseException:
            self.delete()
            raise
        self.c_handle = ctypes.c_void_p(self.handle)
        self.c_status = ctypes.c_void_p(self.status)
        self.c_feeds = (ctypes.c_void_p * max(len(self.feeds), 1))(*[f.handle for f in self.feeds])
        self.c_out = (ctypes.c_void_p * max(len(self.fetches), 1))()
        self.only_targets = not self.fetches and plan.structure == ("op",)

    def run(self, values):
        """Runs with `values` in the order of the feeds. Holds self.lock (the caller
        took it)."""
        temporary = []
        try:
            for i, (feed, value) in enumerate(zip(self.feeds, values)):
                if feed.view is not None:
                    if type(value) is not np.ndarray or value.dtype != feed.np_dtype:
                        value = _convert(value, feed.tensor)
                    if value.shape == feed.shape:
                        feed.view[...] = value
                        self.c_feeds[i] = feed.handle
                        continue
                    # another shape: wrapped as is, so the library names the mismatch
                else:
                    value = _convert(value, feed.tensor)
                t = numpy_interop.to_c_tensor(value)
                temporary.append(t)
                self.c_feeds[i] = t
            code = _raw_callable_run(self.c_handle, self.c_feeds, self.c_out, self.c_status)
        finally:
            for t in temporary:
                fn.tfm_tensor_release(t)
        if code != 0:
            raise errors.from_code(code, fn.tfm_status_message(self.status).decode("utf-8", "replace"))
        if self.only_targets:
            return None
        out = self.c_out
        values = []
        try:
            for i, fetch in enumerate(self.fetches):
                t, out[i] = out[i], None
                values.append(fetch.take(t))
        finally:
            for i in range(len(self.fetches)):  # after a failed copy, the rest
                if out[i]:
                    t, out[i] = out[i], None
                    fn.tfm_tensor_release(t)
        return self.plan.rebuild(values)

    def delete(self):
        for f in self.feeds:
            f.release()
        if self.handle:
            handle, self.handle = self.handle, None
            fn.tfm_callable_delete(handle)
        if self.status:
            status, self.status = self.status, None
            fn.tfm_status_delete(status)

    def __del__(self):
        self.delete()


def _convert(value, tensor):
    from .framework import Operation, Tensor
    if isinstance(value, (Tensor, Operation)) or hasattr(value, "_as_tensor"):
        raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed "
                        "values include Python scalars, strings, lists, numpy ndarrays.")
    return numpy_interop.to_ndarray(value, tensor.dtype)


def available():
    return _raw_callable_run is not None and _lib.has("tfm_session_make_callable")
