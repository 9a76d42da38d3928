"""tf.nn: activations, convolution, pooling and losses built from them."""
from . import _lib, errors
from ._lib import fn, cstr
from .framework import convert_to_tensor, graph_of
from . import math_ops
from .math_ops import unary as _unary


def relu(features, name=None):
    return _unary(fn.tfm_relu, features, name)


def sigmoid(x, name=None):
    return _unary(fn.tfm_sigmoid, x, name)


def tanh(x, name=None):
    return _unary(fn.tfm_tanh, x, name)


def softmax(logits, axis=None, name=None, dim=None):
    axis = dim if axis is None else axis
    if axis not in (None, -1):
        logits_t = convert_to_tensor(logits)
        if axis != logits_t.shape.ndims - 1:
            raise errors.unimplemented("tf.nn.softmax over an axis other than the last")
    return _unary(fn.tfm_softmax, logits, name)


def _nhwc(data_format, what):
    if data_format not in (None, "NHWC"):
        raise errors.unimplemented("%s with data_format=%r (only NHWC)" % (what, data_format))


def _hw(values, what, name):
    """The (h, w) of a 4-element NHWC list whose N and C entries are 1."""
    values = list(values)
    if len(values) == 2:
        return values
    if len(values) != 4 or values[0] != 1 or values[3] != 1:
        raise errors.unimplemented("%s with %s=%r (only [1, h, w, 1])" % (what, name, values))
    return values[1], values[2]


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa: A002
           data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None):
    filter = filters if filter is None else filter
    _nhwc(data_format, "tf.nn.conv2d")
    if list(dilations) not in ([1, 1, 1, 1], [1, 1]):
        raise errors.unimplemented("tf.nn.conv2d with dilations=%r" % (dilations,))
    sh, sw = _hw(strides, "tf.nn.conv2d", "strides")
    graph = graph_of(input, filter)
    x = convert_to_tensor(input, graph=graph)
    w = convert_to_tensor(filter, x.dtype, graph=graph)
    return graph._wrap_tensor(_lib.call(fn.tfm_conv2d, graph._builder_ptr, x._ptr, w._ptr, int(sh), int(sw),
                                        cstr(padding), cstr(name)))


def bias_add(value, bias, data_format=None, name=None):
    _nhwc(data_format, "tf.nn.bias_add")
    graph = graph_of(value, bias)
    x = convert_to_tensor(value, graph=graph)
    b = convert_to_tensor(bias, x.dtype, graph=graph)
    return graph._wrap_tensor(_lib.call(fn.tfm_bias_add, graph._builder_ptr, x._ptr, b._ptr, cstr(name)))


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None):
    _nhwc(data_format, "tf.nn.max_pool")
    kh, kw = _hw(ksize, "tf.nn.max_pool", "ksize")
    sh, sw = _hw(strides, "tf.nn.max_pool", "strides")
    graph = graph_of(value)
    x = convert_to_tensor(value, graph=graph)
    return graph._wrap_tensor(_lib.call(fn.tfm_max_pool, graph._builder_ptr, x._ptr, int(kh), int(kw), int(sh),
                                        int(sw), cstr(padding), cstr(name)))


def l2_loss(t, name=None):
    """sum(t ** 2) / 2, built from Square, Sum and Mul."""
    return math_ops.multiply(math_ops.reduce_sum(math_ops.square(t)), 0.5, name=name)


def log_softmax(logits, axis=None, name=None, dim=None):
    axis = dim if axis is None else axis
    if axis not in (None, -1):
        logits_t = convert_to_tensor(logits)
        if axis != logits_t.shape.ndims - 1:
            raise errors.unimplemented("tf.nn.log_softmax over an axis other than the last")
    return _unary(fn.tfm_log_softmax, logits, name)


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None):
    """-sum(labels * log_softmax(logits)) over the last axis: the library's
    SoftmaxCrossEntropyWithLogits op for matrices, else built from LogSoftmax."""
    if labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits needs labels= and logits=")
    axis = dim if axis is None else axis
    graph = graph_of(logits, labels)
    x = convert_to_tensor(logits, graph=graph)
    z = convert_to_tensor(labels, x.dtype, graph=graph)
    if x.shape.ndims == 2 and axis in (-1, 1):
        return graph._wrap_tensor(_lib.call(fn.tfm_softmax_cross_entropy_with_logits, graph._builder_ptr,
                                            z._ptr, x._ptr, cstr(name)))
    return math_ops.negative(math_ops.reduce_sum(math_ops.multiply(z, log_softmax(x, axis)), axis=axis),
                             name=name)


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """The loss of integer class labels [batch] against logits [batch, classes]."""
    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits needs labels= and logits=")
    graph = graph_of(logits, labels)
    x = convert_to_tensor(logits, graph=graph)
    y = convert_to_tensor(labels, graph=graph)
    return graph._wrap_tensor(_lib.call(fn.tfm_sparse_softmax_cross_entropy_with_logits, graph._builder_ptr,
                                        y._ptr, x._ptr, cstr(name)))


softmax_cross_entropy_with_logits_v2 = softmax_cross_entropy_with_logits


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """max(x, 0) - x * z + log(1 + exp(-|x|)), the numerically stable form."""
    if labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits needs labels= and logits=")
    x = convert_to_tensor(logits)
    z = convert_to_tensor(labels, x.dtype)
    abs_x = math_ops.maximum(x, math_ops.negative(x))
    return math_ops.add(math_ops.subtract(relu(x), math_ops.multiply(x, z)),
                        math_ops.log(math_ops.add(math_ops.exp(math_ops.negative(abs_x)), 1.0)), name=name)


def dropout(*args, **kwargs):
    raise errors.unimplemented("tf.nn.dropout")


__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "sparse_softmax_cross_entropy_with_logits", "conv2d", "bias_add", "max_pool", "l2_loss",
           "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
           "sigmoid_cross_entropy_with_logits", "dropout"]
