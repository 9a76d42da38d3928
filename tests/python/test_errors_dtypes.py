"""Status codes as exceptions; DType objects."""
import numpy as np
import pytest

import tfmini as tf
from tfmini import _lib, errors


@pytest.mark.parametrize("code,cls", [
    (3, errors.InvalidArgumentError), (5, errors.NotFoundError), (6, errors.AlreadyExistsError),
    (8, errors.ResourceExhaustedError), (9, errors.FailedPreconditionError), (11, errors.OutOfRangeError),
    (12, errors.UnimplementedError), (13, errors.InternalError), (15, errors.DataLossError),
    (1, errors.CancelledError), (2, errors.UnknownError)])
def test_codes_map_to_tf_error_classes(code, cls):
    e = errors.from_code(code, "msg")
    assert type(e) is cls and isinstance(e, errors.OpError)
    assert e.error_code == code and e.message == "msg" and str(e) == "msg"
    # the numbering is TensorFlow's, as the C header's
    assert _lib.fn.tfm_code_name(code).decode().replace("_", "") == cls.__name__[:-5].upper()


def test_c_status_message_reaches_the_exception():
    with pytest.raises(errors.InvalidArgumentError) as info:
        _lib.call(_lib.fn.tfm_tensor_new, 1, _lib.int64s([2, -3]), 2)
    assert "-3" in info.value.message and info.value.error_code == errors.INVALID_ARGUMENT


def test_status_is_cleared_between_calls():
    with pytest.raises(errors.InvalidArgumentError):
        _lib.call(_lib.fn.tfm_tensor_new, 1, _lib.int64s([-1]), 1)
    t = _lib.call(_lib.fn.tfm_tensor_new, 1, _lib.int64s([2]), 1)
    _lib.fn.tfm_tensor_release(t)


def test_error_classes_construct_like_tensorflow():
    e = tf.errors.NotFoundError(None, None, "no such op")
    assert e.error_code == tf.errors.NOT_FOUND and e.node_def is None and e.op is None


@pytest.mark.parametrize("dtype,name,np_type,enum", [
    (tf.float32, "float32", np.float32, 1), (tf.float64, "float64", np.float64, 2),
    (tf.int32, "int32", np.int32, 3), (tf.uint8, "uint8", np.uint8, 4), (tf.string, "string", np.object_, 7),
    (tf.int64, "int64", np.int64, 9), (tf.bool, "bool", np.bool_, 10)])
def test_dtypes_have_tf_names_numpy_types_and_enums(dtype, name, np_type, enum):
    assert dtype.name == name and dtype.as_numpy_dtype is np_type and dtype.as_datatype_enum == enum
    assert tf.as_dtype(name) is dtype and tf.as_dtype(enum) is dtype
    assert _lib.fn.tfm_dtype_name(enum).decode() == name
    if dtype is not tf.string:
        assert tf.as_dtype(np.dtype(np_type)) is dtype and dtype == np_type
        assert dtype.size == np.dtype(np_type).itemsize


def test_dtype_properties_and_unsupported_dtype():
    assert tf.float32.is_floating and not tf.int32.is_floating and tf.int64.is_integer
    assert tf.float64 is tf.double and repr(tf.float32) == "tf.float32"
    with pytest.raises(TypeError, match="complex64"):
        tf.as_dtype(np.complex64)
