"""Constants, placeholders and shape manipulation (tf.constant, tf.reshape, ...)."""
import numpy as np

from . import _lib, dtypes, errors, numpy_interop
from ._lib import fn, cstr
from .framework import (Tensor, TensorOperators, constant_from_array, convert_to_tensor, get_default_graph,
                        graph_of)
from .math_ops import generic, unary
from .tensor_shape import TensorShape


def _static_dims(shape, what):
    """A list of ints from a shape given as a list, tuple, TensorShape or NumPy array."""
    if isinstance(shape, (Tensor, TensorOperators)):
        raise errors.unimplemented("%s with a shape given as a Tensor (pass a list of ints)" % what)
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    if isinstance(shape, (int, np.integer)):
        shape = [shape]
    dims = [int(d) if d is not None else -1 for d in shape]
    return dims


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    arr = numpy_interop.to_ndarray(value, dtype)
    if shape is not None:
        dims = _static_dims(shape, "tf.constant")
        if arr.size == int(np.prod(dims, dtype=np.int64)):
            arr = arr.reshape(dims)
        elif arr.size == 1 and not verify_shape:
            arr = np.full(dims, arr.reshape(()), dtype=arr.dtype)
        else:
            raise TypeError("Expected Tensor's shape: %s, got %s." % (tuple(dims), arr.shape))
    return constant_from_array(get_default_graph(), arr, name)


def placeholder(dtype, shape=None, name=None):
    dtype = dtypes.as_dtype(dtype)
    graph = get_default_graph()
    if shape is None or (isinstance(shape, TensorShape) and shape.ndims is None):
        dims, rank = None, -1
    else:
        d = _static_dims(shape, "tf.placeholder")
        dims, rank = _lib.int64s(d), len(d)
    return graph._wrap_tensor(_lib.call(fn.tfm_placeholder, graph._builder_ptr, dtype.as_datatype_enum, dims,
                                        rank, cstr(name)))


def placeholder_with_default(input, shape, name=None):  # noqa: A002
    raise errors.unimplemented("tf.placeholder_with_default")


def _filled(cfunc, shape, dtype, name):
    dims = _static_dims(shape, "tf.zeros/tf.ones")
    graph = get_default_graph()
    dtype = dtypes.as_dtype(dtype)
    return graph._wrap_tensor(_lib.call(cfunc, graph._builder_ptr, _lib.int64s(dims), len(dims),
                                        dtype.as_datatype_enum, cstr(name)))


def zeros(shape, dtype=dtypes.float32, name=None):
    return _filled(fn.tfm_zeros, shape, dtype, name)


def ones(shape, dtype=dtypes.float32, name=None):
    return _filled(fn.tfm_ones, shape, dtype, name)


def _like(cfunc, op_type, tensor, dtype, name):
    graph = graph_of(tensor)
    tensor = convert_to_tensor(tensor, graph=graph)
    dtype = dtypes.as_dtype(dtype) if dtype is not None else tensor.dtype
    if tensor.shape.is_fully_defined():
        with graph.as_default():
            return _filled(cfunc, tensor.shape.as_list(), dtype, name)
    out = generic(op_type, [tensor], name)
    return out if out.dtype is dtype else cast_to(out, dtype)


def cast_to(x, dtype):
    from .math_ops import cast
    return cast(x, dtype)


def zeros_like(tensor, dtype=None, name=None, optimize=True):
    return _like(fn.tfm_zeros, "ZerosLike", tensor, dtype, name)


def ones_like(tensor, dtype=None, name=None, optimize=True):
    return _like(fn.tfm_ones, "OnesLike", tensor, dtype, name)


def fill(dims, value, name=None):
    graph = graph_of(dims, value)
    if not isinstance(dims, (Tensor, TensorOperators)):
        dims = convert_to_tensor(_static_dims(dims, "tf.fill"), dtypes.int32, graph=graph)
    dims = convert_to_tensor(dims, graph=graph)
    value = convert_to_tensor(value, graph=graph)
    return graph._wrap_tensor(_lib.call(fn.tfm_fill, graph._builder_ptr, dims._ptr, value._ptr, cstr(name)))


def identity(input, name=None):  # noqa: A002
    return unary(fn.tfm_identity, input, name)


def stop_gradient(input, name=None):  # noqa: A002
    return unary(fn.tfm_stop_gradient, input, name)


def reshape(tensor, shape, name=None):
    graph = graph_of(tensor)
    tensor = convert_to_tensor(tensor, graph=graph)
    dims = _static_dims(shape, "tf.reshape")
    return graph._wrap_tensor(_lib.call(fn.tfm_reshape, graph._builder_ptr, tensor._ptr, _lib.int64s(dims),
                                        len(dims), cstr(name)))


def transpose(a, perm=None, name="transpose", conjugate=False):
    graph = graph_of(a)
    a = convert_to_tensor(a, graph=graph)
    if perm is None:
        arr, n = None, 0
    else:
        perm = _static_dims(perm, "tf.transpose")
        arr, n = _lib.int32s(perm), len(perm)
    return graph._wrap_tensor(_lib.call(fn.tfm_transpose, graph._builder_ptr, a._ptr, arr, n, cstr(name)))


def expand_dims(input, axis=None, name=None, dim=None):  # noqa: A002
    axis = dim if axis is None else axis
    if axis is None:
        raise ValueError("tf.expand_dims: axis is required")
    graph = graph_of(input)
    x = convert_to_tensor(input, graph=graph)
    return graph._wrap_tensor(_lib.call(fn.tfm_expand_dims, graph._builder_ptr, x._ptr, int(axis), cstr(name)))


def squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    axis = squeeze_dims if axis is None else axis
    graph = graph_of(input)
    x = convert_to_tensor(input, graph=graph)
    if axis is None:
        arr, n = None, 0
    else:
        axes = [int(a) for a in np.atleast_1d(axis)]
        arr, n = _lib.int32s(axes), len(axes)
    return graph._wrap_tensor(_lib.call(fn.tfm_squeeze, graph._builder_ptr, x._ptr, arr, n, cstr(name)))


def shape(input, name=None, out_type=dtypes.int32):  # noqa: A002
    out = unary(fn.tfm_shape, input, name)
    return out if out.dtype is dtypes.as_dtype(out_type) else cast_to(out, out_type)


def size(input, name=None, out_type=dtypes.int32):  # noqa: A002
    x = convert_to_tensor(input, graph=graph_of(input))
    if x.shape.is_fully_defined():
        return constant(x.shape.num_elements(), dtype=out_type, name=name or "Size")
    raise errors.unimplemented("tf.size of a tensor whose shape is not known statically")


def rank(input, name=None):  # noqa: A002
    x = convert_to_tensor(input, graph=graph_of(input))
    if x.shape.ndims is None:
        raise errors.unimplemented("tf.rank of a tensor of unknown rank")
    return constant(x.shape.ndims, dtype=dtypes.int32, name=name or "Rank")


def concat(values, axis, name="concat"):
    graph = graph_of(*values)
    tensors = [convert_to_tensor(v, graph=graph) for v in values]
    axis_t = convert_to_tensor(int(axis), dtypes.int32, graph=graph)
    return graph.create_op("ConcatV2", [tensors, axis_t], name=name,
                           attrs={"N": len(tensors), "T": tensors[0].dtype,
                                  "Tidx": dtypes.int32}).outputs[0]


def stack(values, axis=0, name="stack"):
    graph = graph_of(*values)
    tensors = [convert_to_tensor(v, graph=graph) for v in values]
    return graph.create_op("Pack", [tensors], name=name,
                           attrs={"N": len(tensors), "T": tensors[0].dtype, "axis": int(axis)}).outputs[0]


def tile(input, multiples, name=None):  # noqa: A002
    graph = graph_of(input)
    x = convert_to_tensor(input, graph=graph)
    m = convert_to_tensor(_static_dims(multiples, "tf.tile"), dtypes.int32, graph=graph)
    return graph.create_op("Tile", [x, m], name=name, attrs={"T": x.dtype, "Tmultiples": dtypes.int32}).outputs[0]


def strided_slice_from_key(tensor, key):
    """tensor[key] for ints, slices (with steps), Ellipsis and tf.newaxis (StridedSlice)."""
    if not isinstance(key, tuple):
        key = (key,)
    begin, end, strides = [], [], []
    begin_mask = end_mask = shrink = ellipsis = new_axis = 0
    for i, k in enumerate(key):
        if isinstance(k, slice):
            begin.append(0 if k.start is None else int(k.start))
            end.append(0 if k.stop is None else int(k.stop))
            strides.append(1 if k.step is None else int(k.step))
            begin_mask |= (k.start is None) << i
            end_mask |= (k.stop is None) << i
        elif k is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            ellipsis |= 1 << i
        elif k is None:
            begin.append(0), end.append(0), strides.append(1)
            new_axis |= 1 << i
        elif isinstance(k, (int, np.integer)):
            begin.append(int(k)), end.append(int(k) + 1), strides.append(1)
            shrink |= 1 << i
        else:
            raise errors.unimplemented("indexing a Tensor with %s" % type(k).__name__)
    graph = tensor.graph
    tensor = convert_to_tensor(tensor)
    consts = [convert_to_tensor(np.array(v, dtype=np.int32), graph=graph) for v in (begin, end, strides)]
    return graph.create_op("StridedSlice", [tensor] + consts, name="strided_slice",
                           attrs={"T": tensor.dtype, "Index": dtypes.int32, "begin_mask": begin_mask,
                                  "end_mask": end_mask, "ellipsis_mask": ellipsis,
                                  "new_axis_mask": new_axis, "shrink_axis_mask": shrink}).outputs[0]
