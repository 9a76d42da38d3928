"""tfmini: TensorFlow 1.x's Python names over libtfmini (pure Python, ctypes).

Change `import tensorflow as tf` to `import tfmini as tf`. What the library does
not support fails with tfmini.errors.UnimplementedError naming it.
"""
from . import _lib, errors, dtypes
from .dtypes import DType, as_dtype, float32, float64, double, int32, int64, uint8, string, bool  # noqa: A004
from .tensor_shape import TensorShape, Dimension
from .framework import (Graph, Operation, Tensor, GraphKeys, get_default_graph, reset_default_graph,
                        name_scope, control_dependencies, add_to_collection, add_to_collections,
                        get_collection, convert_to_tensor)
from .math_ops import (add, subtract, multiply, divide, div, truediv, realdiv, floordiv, mod, floormod, pow,
                       maximum, minimum, squared_difference, negative, square, sqrt, exp, log, sigmoid, tanh,
                       abs, sign, reciprocal, rsqrt, floor, less, less_equal, greater, greater_equal, equal,
                       not_equal, logical_and, logical_or, logical_not, add_n, cast, to_float, to_double,
                       to_int32, to_int64, matmul, reduce_sum, reduce_mean, reduce_max, reduce_min,
                       reduce_prod, argmax, argmin, where, range)
from .array_ops import (constant, placeholder, placeholder_with_default, zeros, ones, zeros_like, ones_like,
                        fill, identity, stop_gradient, reshape, transpose, expand_dims, squeeze, shape, size,
                        rank, concat, stack, tile)
from .random_ops import set_random_seed, random_normal, random_uniform, truncated_normal
from .init_ops import (zeros_initializer, ones_initializer, constant_initializer, random_normal_initializer,
                       truncated_normal_initializer, random_uniform_initializer, glorot_uniform_initializer)
from .variables import (Variable, VariableScope, AUTO_REUSE, variable_scope, get_variable_scope, get_variable,
                        global_variables, all_variables, trainable_variables, local_variables,
                        model_variables, global_variables_initializer, initialize_all_variables,
                        variables_initializer, local_variables_initializer)
from .state_ops import assign, assign_add, assign_sub
from .control_flow_ops import no_op, group, cond, while_loop
from .session import Session, InteractiveSession, get_default_session
from .gradients import gradients
from .importer import GraphDef, import_graph_def
from . import nn, train, summary

__version__ = _lib.fn.tfm_version().decode()
newaxis = None


def set_num_threads(n):
    """The number of threads the library's kernels use (0 = one per core)."""
    _lib.call(_lib.fn.tfm_set_num_threads, int(n))


def get_num_threads():
    return _lib.fn.tfm_get_num_threads()


class ConfigProto:
    """Accepted and ignored (tfmini has no devices to configure)."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class _Unsupported:
    """A module-like placeholder: any attribute use names the missing module."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        raise errors.unimplemented("tf.%s.%s" % (self._name, attr))


layers = _Unsupported("layers")
contrib = _Unsupported("contrib")
data = _Unsupported("data")
estimator = _Unsupported("estimator")
