"""Element-wise math, reductions, matmul and casts (tf.add, tf.reduce_sum, ...).

Typed C builders are used where the library has one; other ops go through the
generic builder (framework.Graph.create_op), which fails with UnimplementedError
naming the op type when the library does not register it.
"""
import numpy as np

from . import _lib, dtypes, errors
from ._lib import fn, cstr
from .framework import Tensor, convert_to_tensor, convert_like, graph_of, TensorOperators


def _pair(x, y):
    """Both operands as Tensors of one graph; a Python value takes the other's dtype."""
    graph = graph_of(x, y)
    if isinstance(x, (Tensor, TensorOperators)):
        x = convert_to_tensor(x, graph=graph)
        y = convert_like(y, x)
    elif isinstance(y, (Tensor, TensorOperators)):
        y = convert_to_tensor(y, graph=graph)
        x = convert_like(x, y)
    else:
        x = convert_to_tensor(x, graph=graph)
        y = convert_like(y, x)
    return graph, x, y


def _binary(cfunc, x, y, name):
    graph, x, y = _pair(x, y)
    return graph._wrap_tensor(_lib.call(cfunc, graph._builder_ptr, x._ptr, y._ptr, cstr(name)))


def unary(cfunc, x, name):
    """Output of a typed one-input C builder applied to `x`."""
    graph = graph_of(x)
    x = convert_to_tensor(x, graph=graph)
    return graph._wrap_tensor(_lib.call(cfunc, graph._builder_ptr, x._ptr, cstr(name)))


def generic(op_type, inputs, name=None, attrs=None, with_t=True):
    """Output 0 of a new op of `op_type` (generic builder). with_t sets attr T to the
    dtype of the first input, as TensorFlow's element-wise ops declare it."""
    graph = graph_of(*inputs)
    tensors = [convert_to_tensor(i, graph=graph) for i in inputs]
    attrs = dict(attrs or {})
    if with_t and tensors:
        attrs.setdefault("T", tensors[0].dtype)
    return graph.create_op(op_type, tensors, name=name, attrs=attrs).outputs[0]


def _generic_binary(op_type, x, y, name):
    graph, x, y = _pair(x, y)
    return generic(op_type, [x, y], name)


def add(x, y, name=None):
    return _binary(fn.tfm_add, x, y, name)


def subtract(x, y, name=None):
    return _binary(fn.tfm_sub, x, y, name)


def multiply(x, y, name=None):
    return _binary(fn.tfm_mul, x, y, name)


def div(x, y, name=None):
    """Python 2 division: floor for integers, true division for floats."""
    graph, x, y = _pair(x, y)
    if x.dtype.is_integer:
        return floordiv(x, y, name)
    return _binary(fn.tfm_div, x, y, name)


def truediv(x, y, name=None):
    """x / y; integers are cast to float64 first (TensorFlow's rule)."""
    graph, x, y = _pair(x, y)
    if x.dtype.is_integer:
        x, y = cast(x, dtypes.float64), cast(y, dtypes.float64)
    return _binary(fn.tfm_div, x, y, name)


divide = truediv
realdiv = truediv


def floordiv(x, y, name=None):
    return _generic_binary("FloorDiv", x, y, name)


def mod(x, y, name=None):
    return _generic_binary("FloorMod", x, y, name)


floormod = mod


def pow(x, y, name=None):  # noqa: A001 - TensorFlow's name
    return _binary(fn.tfm_pow, x, y, name)


def maximum(x, y, name=None):
    return _binary(fn.tfm_maximum, x, y, name)


def minimum(x, y, name=None):
    return _binary(fn.tfm_minimum, x, y, name)


def squared_difference(x, y, name=None):
    return _generic_binary("SquaredDifference", x, y, name)


def negative(x, name=None):
    return unary(fn.tfm_neg, x, name)


def square(x, name=None):
    return unary(fn.tfm_square, x, name)


def sqrt(x, name=None):
    return unary(fn.tfm_sqrt, x, name)


def exp(x, name=None):
    return unary(fn.tfm_exp, x, name)


def log(x, name=None):
    return unary(fn.tfm_log, x, name)


def sigmoid(x, name=None):
    return unary(fn.tfm_sigmoid, x, name)


def tanh(x, name=None):
    return unary(fn.tfm_tanh, x, name)


def abs(x, name=None):  # noqa: A001 - TensorFlow's name
    return generic("Abs", [x], name)


def sign(x, name=None):
    return generic("Sign", [x], name)


def reciprocal(x, name=None):
    return generic("Reciprocal", [x], name)


def rsqrt(x, name=None):
    return generic("Rsqrt", [x], name)


def floor(x, name=None):
    return generic("Floor", [x], name)


def less(x, y, name=None):
    return _generic_binary("Less", x, y, name)


def less_equal(x, y, name=None):
    return _generic_binary("LessEqual", x, y, name)


def greater(x, y, name=None):
    return _generic_binary("Greater", x, y, name)


def greater_equal(x, y, name=None):
    return _generic_binary("GreaterEqual", x, y, name)


def equal(x, y, name=None):
    return _generic_binary("Equal", x, y, name)


def not_equal(x, y, name=None):
    return _generic_binary("NotEqual", x, y, name)


def logical_and(x, y, name=None):
    return generic("LogicalAnd", [x, y], name, with_t=False)


def logical_or(x, y, name=None):
    return generic("LogicalOr", [x, y], name, with_t=False)


def logical_not(x, name=None):
    return generic("LogicalNot", [x], name, with_t=False)


def add_n(inputs, name=None):
    if not inputs:
        raise ValueError("inputs must be a non-empty list of Tensors")
    graph = graph_of(*inputs)
    tensors = [convert_to_tensor(i, graph=graph) for i in inputs]
    ptrs = [t._ptr for t in tensors]
    return graph._wrap_tensor(_lib.call(fn.tfm_add_n, graph._builder_ptr, _lib.handles(ptrs), len(ptrs),
                                        cstr(name)))


def cast(x, dtype, name=None):
    dtype = dtypes.as_dtype(dtype)
    graph = graph_of(x)
    x = convert_to_tensor(x, graph=graph)
    if x.dtype is dtype and name is None:
        return x
    return graph._wrap_tensor(_lib.call(fn.tfm_cast, graph._builder_ptr, x._ptr, dtype.as_datatype_enum,
                                        cstr(name)))


def to_float(x, name=None):
    return cast(x, dtypes.float32, name)


def to_double(x, name=None):
    return cast(x, dtypes.float64, name)


def to_int32(x, name=None):
    return cast(x, dtypes.int32, name)


def to_int64(x, name=None):
    return cast(x, dtypes.int64, name)


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    graph, a, b = _pair(a, b)
    ta, tb = bool(transpose_a or adjoint_a), bool(transpose_b or adjoint_b)
    return graph._wrap_tensor(_lib.call(fn.tfm_matmul, graph._builder_ptr, a._ptr, b._ptr, int(ta), int(tb),
                                        cstr(name)))


def _axes(axis, reduction_indices):
    if axis is None:
        axis = reduction_indices
    if axis is None:
        return None
    if isinstance(axis, (Tensor, TensorOperators)):
        raise errors.unimplemented("reduction axes given as a Tensor (pass Python ints)")
    return [int(a) for a in np.atleast_1d(axis)]


def _keep(keepdims, keep_dims):
    return bool(keepdims if keepdims is not None else (keep_dims or False))


def _reduce(cfunc, x, axis, keepdims, name, reduction_indices, keep_dims):
    graph = graph_of(x)
    x = convert_to_tensor(x, graph=graph)
    axes = _axes(axis, reduction_indices)
    arr = _lib.int32s(axes or [])
    n = 0 if axes is None else len(axes)
    if axes is not None and n == 0:
        return identity_like(x, name)
    return graph._wrap_tensor(_lib.call(cfunc, graph._builder_ptr, x._ptr, arr if n else None, n,
                                        int(_keep(keepdims, keep_dims)), cstr(name)))


def identity_like(x, name):
    from . import array_ops
    return array_ops.identity(x, name)


def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    return _reduce(fn.tfm_reduce_sum, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    return _reduce(fn.tfm_reduce_mean, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    return _reduce(fn.tfm_reduce_max, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_min(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    return _reduce(fn.tfm_reduce_min, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_prod(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    return _reduce(fn.tfm_reduce_prod, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    axis = dimension if axis is None else axis
    axis_t = convert_to_tensor(0 if axis is None else int(axis), graph=graph_of(input))
    return generic("ArgMax", [input, axis_t], name,
                   attrs={"Tidx": dtypes.int32, "output_type": dtypes.as_dtype(output_type)})


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    axis = dimension if axis is None else axis
    axis_t = convert_to_tensor(0 if axis is None else int(axis), graph=graph_of(input))
    return generic("ArgMin", [input, axis_t], name,
                   attrs={"Tidx": dtypes.int32, "output_type": dtypes.as_dtype(output_type)})


def where(condition, x=None, y=None, name=None):
    """tf.where(condition, x, y): element-wise choice (Select). The one-argument form
    (indices of true elements) is not supported."""
    if x is None or y is None:
        raise errors.unimplemented("tf.where(condition) without x and y (indices of true elements)")
    graph, x, y = _pair(x, y)
    cond = convert_to_tensor(condition, dtypes.bool, graph=graph)
    return graph.create_op("Select", [cond, x, y], name=name, attrs={"T": x.dtype}).outputs[0]


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001 - TensorFlow's name
    if limit is None:
        start, limit = 0, start
    graph = graph_of(start, limit, delta)
    if dtype is None:
        dtype = dtypes.float32 if any(isinstance(v, float) for v in (start, limit, delta)) else dtypes.int32
    args = [convert_to_tensor(v, dtype, graph=graph) for v in (start, limit, delta)]
    return graph.create_op("Range", args, name=name, attrs={"Tidx": args[0].dtype}).outputs[0]
