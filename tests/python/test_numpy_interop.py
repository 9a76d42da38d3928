"""NumPy <-> library tensors: conversion rules, copies, zero-copy wrapping, strings."""
import sys

import numpy as np
import pytest

from tfmini import _lib, dtypes, numpy_interop as ni

fn = _lib.fn


def roundtrip(value, dtype=None):
    return ni.take_c_tensor(ni.to_c_tensor(ni.to_ndarray(value, dtype)))


@pytest.mark.parametrize("np_type", [np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_])
def test_arrays_round_trip_exactly(np_type):
    rng = np.random.RandomState(1)
    a = (rng.standard_normal((3, 4, 5)) * 100).astype(np_type)
    b = roundtrip(a)
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)


def test_python_values_follow_tensorflow_rules():
    assert ni.to_ndarray(1.5).dtype == np.float32
    assert ni.to_ndarray(3).dtype == np.int32
    assert ni.to_ndarray(2**40).dtype == np.int64
    assert ni.to_ndarray(True).dtype == np.bool_
    assert ni.to_ndarray([[1.0, 2], [3, 4]]).dtype == np.float32
    assert ni.to_ndarray([[1, 2], [3, 4]]).shape == (2, 2)
    assert ni.to_ndarray(np.float64(1.5)).dtype == np.float64  # NumPy values keep theirs
    assert ni.to_ndarray(3, dtypes.float64).dtype == np.float64


def test_a_fraction_is_not_silently_truncated_to_an_integer_dtype():
    with pytest.raises(TypeError, match="int32"):
        ni.to_ndarray(1.5, dtypes.int32)


def test_rank0_comes_back_as_a_numpy_scalar():
    v = roundtrip(2.5)
    assert isinstance(v, np.float32) and v == 2.5


def test_contiguous_array_is_wrapped_without_copy_and_released():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    refs = sys.getrefcount(a)
    t = ni.to_c_tensor(a)
    assert fn.tfm_tensor_data(t) == a.ctypes.data  # the same buffer
    assert sys.getrefcount(a) == refs + 1          # held by the tensor
    a[1, 1] = 100.0
    assert ni.from_c_tensor(t)[1, 1] == 100.0
    fn.tfm_tensor_release(t)
    assert sys.getrefcount(a) == refs and not ni._pinned


def test_non_contiguous_array_is_copied_to_a_contiguous_buffer():
    a = np.arange(12, dtype=np.float64).reshape(3, 4).T
    b = roundtrip(a)
    assert np.array_equal(a, b)


def test_tensor_retained_elsewhere_keeps_the_array_alive():
    t = ni.to_c_tensor(np.full(1000, 7, np.int64))
    extra = fn.tfm_tensor_retain(t)
    fn.tfm_tensor_release(t)
    assert len(ni._pinned) == 1
    assert np.all(ni.from_c_tensor(extra) == 7)
    fn.tfm_tensor_release(extra)
    assert not ni._pinned


def test_strings_round_trip_with_nul_bytes():
    v = roundtrip([["a", b"b\x00c"], ["", "\u00e9"]])
    assert v.dtype == object and v.shape == (2, 2)
    assert v.tolist() == [[b"a", b"b\x00c"], [b"", "\u00e9".encode()]]


def test_empty_arrays_round_trip():
    v = roundtrip(np.zeros((0, 3), np.float32))
    assert v.shape == (0, 3)


def test_wrapping_does_not_grow_library_memory():
    a = np.ones((64, 64), np.float32)
    for _ in range(100):
        fn.tfm_tensor_release(ni.to_c_tensor(a))
    before = fn.tfm_debug_bytes_in_use()
    for _ in range(1000):
        fn.tfm_tensor_release(ni.to_c_tensor(a))
    assert fn.tfm_debug_bytes_in_use() == before and not ni._pinned
