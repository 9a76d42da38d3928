"""Initializers (tf.zeros_initializer, tf.random_normal_initializer, ...).

Each is callable as in TensorFlow (init(shape, dtype) -> Tensor) and also knows
its tfm_initializer form (c_spec), which tf.get_variable hands to the library."""
import math

import numpy as np

from . import dtypes, errors
from .array_ops import constant, zeros, ones
from .random_ops import random_normal, random_uniform, truncated_normal

# tfm_initializer values (include/tfmini/ops.h)
INIT_ZEROS, INIT_ONES, INIT_CONSTANT, INIT_RANDOM_NORMAL = 0, 1, 2, 3
INIT_TRUNCATED_NORMAL, INIT_RANDOM_UNIFORM, INIT_GLOROT_UNIFORM = 4, 5, 6


class Initializer:
    dtype = None

    def c_spec(self):
        """(tfm_initializer, a, b, seed) for the library, or None if not expressible."""
        return None

    def _dtype(self, dtype):
        return dtypes.as_dtype(dtype or self.dtype or dtypes.float32)


class Zeros(Initializer):
    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return zeros(shape, self._dtype(dtype))

    def c_spec(self):
        return INIT_ZEROS, 0.0, 0.0, -1


class Ones(Initializer):
    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return ones(shape, self._dtype(dtype))

    def c_spec(self):
        return INIT_ONES, 0.0, 0.0, -1


class Constant(Initializer):
    def __init__(self, value=0, dtype=dtypes.float32, verify_shape=False):
        self.value = value
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return constant(self.value, self._dtype(dtype), shape)

    def c_spec(self):
        if np.ndim(self.value) != 0:
            raise errors.unimplemented("tf.get_variable with constant_initializer of a non-scalar value "
                                       "(use tf.Variable(tf.constant(value)))")
        return INIT_CONSTANT, float(self.value), 0.0, -1


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_normal(shape, self.mean, self.stddev, self._dtype(dtype), self.seed)

    def c_spec(self):
        return INIT_RANDOM_NORMAL, float(self.mean), float(self.stddev), _seed(self.seed)


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None, partition_info=None):
        return truncated_normal(shape, self.mean, self.stddev, self._dtype(dtype), self.seed)

    def c_spec(self):
        return INIT_TRUNCATED_NORMAL, float(self.mean), float(self.stddev), _seed(self.seed)


class RandomUniform(Initializer):
    def __init__(self, minval=0.0, maxval=None, seed=None, dtype=dtypes.float32):
        self.minval, self.maxval, self.seed, self.dtype = minval, maxval, seed, dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_uniform(shape, self.minval, self.maxval, self._dtype(dtype), self.seed)

    def c_spec(self):
        maxval = 1.0 if self.maxval is None else self.maxval
        return INIT_RANDOM_UNIFORM, float(self.minval), float(maxval), _seed(self.seed)


class GlorotUniform(Initializer):
    def __init__(self, seed=None, dtype=dtypes.float32):
        self.seed, self.dtype = seed, dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        fan_in, fan_out = _fans(list(shape))
        limit = math.sqrt(6.0 / max(1.0, fan_in + fan_out))
        return random_uniform(shape, -limit, limit, self._dtype(dtype), self.seed)

    def c_spec(self):
        return INIT_GLOROT_UNIFORM, 0.0, 0.0, _seed(self.seed)


def _seed(seed):
    return -1 if seed is None else int(seed)


def _fans(shape):
    """Glorot's fan_in and fan_out: a conv kernel's spatial size multiplies both."""
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


# TensorFlow 1.x's names
zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
random_uniform_initializer = RandomUniform
glorot_uniform_initializer = GlorotUniform
