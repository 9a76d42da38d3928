"""Random tensors (tf.random_normal, tf.random_uniform, tf.truncated_normal) and the
graph-level seed (tf.set_random_seed)."""
from . import _lib, dtypes
from ._lib import fn, cstr
from .array_ops import _static_dims
from .framework import get_default_graph


def set_random_seed(seed):
    graph = get_default_graph()
    graph.seed = seed
    fn.tfm_graph_set_seed(graph._ptr, int(seed))


def _random(cfunc, shape, dtype, a, b, seed, name):
    dims = _static_dims(shape, "random ops")
    graph = get_default_graph()
    dtype = dtypes.as_dtype(dtype)
    return graph._wrap_tensor(_lib.call(cfunc, graph._builder_ptr, _lib.int64s(dims), len(dims),
                                        dtype.as_datatype_enum, float(a), float(b),
                                        -1 if seed is None else int(seed), cstr(name)))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    return _random(fn.tfm_random_normal, shape, dtype, mean, stddev, seed, name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    return _random(fn.tfm_truncated_normal, shape, dtype, mean, stddev, seed, name)


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    dtype = dtypes.as_dtype(dtype)
    if maxval is None:
        if dtype.is_integer:
            raise ValueError("Must specify maxval for integer dtype %r" % dtype)
        maxval = 1.0
    return _random(fn.tfm_random_uniform, shape, dtype, minval, maxval, seed, name)
