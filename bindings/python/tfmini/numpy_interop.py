"""Moving values between NumPy and libtfmini tensors.

Python values follow TensorFlow's conversion rules: a Python float becomes float32,
an int int32 (int64 when it does not fit), a bool bool, str/bytes a string; NumPy
arrays keep their dtype unless a dtype is asked for. A contiguous array of the
right dtype is wrapped without copying: the C tensor holds a reference to the array
(kept in _pinned) that its deallocator drops.
"""
import ctypes
import itertools
import threading

import numpy as np

from . import _lib, dtypes
from ._lib import fn

_pinned = {}
_pinned_lock = threading.Lock()
_next_key = itertools.count(1)


def _release_pinned(data, length, arg):
    with _pinned_lock:
        _pinned.pop(arg, None)


# Kept for the module's life: C holds the function pointer.
_DEALLOCATOR = _lib.DEALLOCATOR(_release_pinned)


def _python_dtype(value):
    """TensorFlow's dtype for a Python scalar or nested list (None: let NumPy decide)."""
    flat = value
    while isinstance(flat, (list, tuple)) and flat:
        flat = flat[0]
    if isinstance(flat, bool):
        return np.bool_
    if isinstance(flat, int):
        arr = np.asarray(value)
        if arr.dtype.kind in "iu" and arr.size and (arr.min() < -2**31 or arr.max() >= 2**31):
            return np.int64
        return np.int32
    if isinstance(flat, float):
        return np.float32
    return None


def to_ndarray(value, dtype=None):
    """`value` as a NumPy array of `dtype` (a DType or None for TensorFlow's rules)."""
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
        if dtype is dtypes.string:
            return _string_array(value)
        arr = np.asarray(value)
        if arr.dtype != dtype.as_numpy_dtype:
            if arr.dtype.kind == "f" and dtype.is_integer and not np.all(np.equal(np.mod(arr, 1), 0)):
                raise TypeError("tfmini: cannot convert %r to %s without losing its fraction"
                                % (value, dtype.name))
            arr = arr.astype(dtype.as_numpy_dtype)
        return arr
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
    else:
        arr = np.asarray(value, dtype=_python_dtype(value))
    if arr.dtype.kind in "OSU":
        return _string_array(arr)
    dtypes.as_dtype(arr.dtype)  # raises TypeError naming the dtype when unsupported
    return arr


def _string_array(value):
    arr = np.asarray(value, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for i, s in enumerate(arr.flat):
        out.flat[i] = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return out


def to_c_tensor(arr):
    """A new C tensor (one reference, the caller's) holding `arr` (from to_ndarray)."""
    dtype = dtypes.as_dtype(arr.dtype)
    dims = _lib.int64s(arr.shape)
    if dtype is dtypes.string:
        t = _lib.call(fn.tfm_tensor_new, dtype.as_datatype_enum, dims, arr.ndim)
        try:
            for i, s in enumerate(arr.flat):
                _lib.call(fn.tfm_tensor_string_set, t, i, s, len(s))
        except Exception:
            fn.tfm_tensor_release(t)
            raise
        return t
    if not arr.flags["C_CONTIGUOUS"]:
        arr = np.ascontiguousarray(arr)
    key = next(_next_key)
    with _pinned_lock:
        _pinned[key] = arr  # dropped by the deallocator, also if the wrap fails
    return _lib.call(fn.tfm_tensor_wrap, dtype.as_datatype_enum, dims, arr.ndim,
                     arr.ctypes.data if arr.nbytes else None, arr.nbytes, _DEALLOCATOR, key)


def from_c_tensor(t):
    """A NumPy copy of C tensor `t` (a NumPy scalar for rank 0). Does not release `t`."""
    dtype = dtypes.as_dtype(fn.tfm_tensor_dtype(t))
    shape = tuple(fn.tfm_tensor_dim(t, i) for i in range(fn.tfm_tensor_rank(t)))
    if dtype is dtypes.string:
        n = fn.tfm_tensor_num_elements(t)
        out = np.empty(n, dtype=object)
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        for i in range(n):
            _lib.call(fn.tfm_tensor_string_get, t, i, ctypes.byref(data), ctypes.byref(size))
            out[i] = ctypes.string_at(data.value, size.value) if size.value else b""
        out = out.reshape(shape)
    else:
        nbytes = fn.tfm_tensor_nbytes(t)
        out = np.empty(shape, dtype=dtype.as_numpy_dtype)
        if nbytes:
            ctypes.memmove(out.ctypes.data, fn.tfm_tensor_data(t), nbytes)
    return out[()] if out.ndim == 0 else out


def take_c_tensors(tensors, n):
    """NumPy copies of the first `n` C tensors of array `tensors`; releases them all,
    also when a copy fails."""
    try:
        return [from_c_tensor(tensors[i]) for i in range(n)]
    finally:
        for i in range(n):
            fn.tfm_tensor_release(tensors[i])


def take_c_tensor(t):
    """from_c_tensor, then releases `t`."""
    try:
        return from_c_tensor(t)
    finally:
        fn.tfm_tensor_release(t)
