"""DType objects as tf.float32 & co: .name, .as_numpy_dtype, .as_datatype_enum."""
import builtins

import numpy as np


class DType:
    def __init__(self, enum, name, np_type):
        self._enum = enum
        self.name = name
        self.as_numpy_dtype = np_type

    @property
    def as_datatype_enum(self):
        return self._enum

    @property
    def base_dtype(self):
        return self

    @property
    def is_floating(self):
        return self.as_numpy_dtype in (np.float32, np.float64)

    @property
    def is_integer(self):
        return self.as_numpy_dtype in (np.int32, np.int64, np.uint8)

    @property
    def is_bool(self):
        return self.as_numpy_dtype is np.bool_

    @property
    def size(self):
        return 0 if self is string else np.dtype(self.as_numpy_dtype).itemsize

    def __repr__(self):
        return "tf." + self.name

    def __eq__(self, other):
        try:
            return self is as_dtype(other)
        except TypeError:
            return False

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return self._enum


float32 = DType(1, "float32", np.float32)
float64 = DType(2, "float64", np.float64)
int32 = DType(3, "int32", np.int32)
uint8 = DType(4, "uint8", np.uint8)
string = DType(7, "string", np.object_)
int64 = DType(9, "int64", np.int64)
bool = DType(10, "bool", np.bool_)  # noqa: A001 - TensorFlow's name
double = float64

_ALL = (float32, float64, int32, uint8, string, int64, bool)
_BY_ENUM = {d.as_datatype_enum: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME["double"] = float64
_BY_NUMPY = {np.dtype(d.as_numpy_dtype): d for d in _ALL if d is not string}


def as_dtype(value):
    """A DType from a DType, its enum, its name, or a NumPy dtype or type."""
    if isinstance(value, DType):
        return value
    if isinstance(value, int) and not isinstance(value, builtins.bool):
        if value in _BY_ENUM:
            return _BY_ENUM[value]
    elif isinstance(value, str):
        if value in _BY_NAME:
            return _BY_NAME[value]
    else:
        try:
            dt = np.dtype(value)
        except TypeError:
            dt = None
        if dt is not None:
            if dt in _BY_NUMPY:
                return _BY_NUMPY[dt]
            if dt.kind in "OSU":
                return string
    raise TypeError("tfmini: cannot convert %r to a dtype (supported: %s)"
                    % (value, ", ".join(d.name for d in _ALL)))
