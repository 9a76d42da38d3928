"""Op wrappers computed by the library, against NumPy references."""
import numpy as np
import pytest

import tfmini as tf
from conftest import RUN, need

pytestmark = need(RUN)
rng = np.random.RandomState(7)


def run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


A = rng.standard_normal((3, 4)).astype(np.float32)
B = rng.standard_normal((3, 4)).astype(np.float32)
P = (np.abs(rng.standard_normal((3, 4))) + 0.5).astype(np.float32)


@pytest.mark.parametrize("name,tf_fn,np_fn", [
    ("add", tf.add, np.add), ("subtract", tf.subtract, np.subtract), ("multiply", tf.multiply, np.multiply),
    ("divide", tf.divide, np.divide), ("maximum", tf.maximum, np.maximum), ("minimum", tf.minimum, np.minimum),
    ("pow", lambda a, b: tf.pow(tf.abs(a) + 0.5, b), lambda a, b: np.power(np.abs(a) + 0.5, b))])
def test_binary_ops_match_numpy(name, tf_fn, np_fn):
    cfunc = {"add": "tfm_add", "subtract": "tfm_sub", "multiply": "tfm_mul", "divide": "tfm_div",
             "maximum": "tfm_maximum", "minimum": "tfm_minimum", "pow": "tfm_pow"}[name]
    if not tf._lib.has(cfunc):
        pytest.skip("libtfmini lacks " + cfunc)
    got = run(tf_fn(tf.constant(A), tf.constant(B)))
    assert np.allclose(got, np_fn(A.astype(np.float64), B), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("tf_fn,np_fn,cfunc", [
    (tf.square, np.square, "tfm_square"), (tf.sqrt, np.sqrt, "tfm_sqrt"), (tf.exp, np.exp, "tfm_exp"),
    (tf.log, np.log, "tfm_log"), (tf.negative, np.negative, "tfm_neg"),
    (tf.nn.relu, lambda x: np.maximum(x, 0), "tfm_relu"),
    (tf.nn.sigmoid, lambda x: 1 / (1 + np.exp(-x)), "tfm_sigmoid"), (tf.nn.tanh, np.tanh, "tfm_tanh"),
    (tf.nn.softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True), "tfm_softmax")])
def test_unary_ops_match_numpy(tf_fn, np_fn, cfunc):
    if not tf._lib.has(cfunc):
        pytest.skip("libtfmini lacks " + cfunc)
    assert np.allclose(run(tf_fn(tf.constant(P))), np_fn(P.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_operators_broadcast_like_numpy():
    if not all(tf._lib.has(f) for f in ("tfm_add", "tfm_sub", "tfm_mul", "tfm_div", "tfm_neg", "tfm_pow")):
        pytest.skip("libtfmini lacks an element-wise builder")
    a, row = tf.constant(A), tf.constant(B[0])
    got = run([a + row, a - 1.0, 2.0 * a, a / row, -a, a ** 2])
    ref = [A + B[0], A - 1.0, 2.0 * A, A / B[0], -A, A ** 2]
    for g, r in zip(got, ref):
        assert np.allclose(g, r, rtol=1e-5, atol=1e-6)


@need("tfm_matmul")
def test_matmul_and_operator_with_transposes():
    c = rng.standard_normal((4, 5)).astype(np.float32)
    got = run([tf.matmul(tf.constant(A), tf.constant(c)), tf.constant(A) @ tf.constant(c),
               tf.matmul(tf.constant(A), tf.constant(B), transpose_b=True)])
    assert np.allclose(got[0], A.astype(np.float64) @ c, atol=1e-5)
    assert np.allclose(got[1], got[0])
    assert np.allclose(got[2], A.astype(np.float64) @ B.T, atol=1e-5)


@pytest.mark.parametrize("tf_fn,np_fn,cfunc", [
    (tf.reduce_sum, np.sum, "tfm_reduce_sum"), (tf.reduce_mean, np.mean, "tfm_reduce_mean"),
    (tf.reduce_max, np.max, "tfm_reduce_max"), (tf.reduce_min, np.min, "tfm_reduce_min"),
    (tf.reduce_prod, np.prod, "tfm_reduce_prod")])
def test_reductions_with_axis_and_both_keepdims_spellings(tf_fn, np_fn, cfunc):
    if not tf._lib.has(cfunc):
        pytest.skip("libtfmini lacks " + cfunc)
    a = tf.constant(P)
    ref = P.astype(np.float64)
    got = run([tf_fn(a), tf_fn(a, axis=1), tf_fn(a, axis=0, keepdims=True), tf_fn(a, 1, keep_dims=True),
               tf_fn(a, reduction_indices=[0, 1])])
    assert np.allclose(got[0], np_fn(ref), rtol=1e-5) and np.ndim(got[0]) == 0
    assert np.allclose(got[1], np_fn(ref, axis=1), rtol=1e-5)
    assert got[2].shape == (1, 4) and np.allclose(got[2], np_fn(ref, axis=0, keepdims=True), rtol=1e-5)
    assert got[3].shape == (3, 1)
    assert np.allclose(got[4], np_fn(ref), rtol=1e-5)


@need("tfm_reshape", "tfm_transpose", "tfm_cast", "tfm_zeros", "tfm_ones", "tfm_fill", "tfm_identity",
      "tfm_stop_gradient")
def test_array_ops_match_numpy():
    a = tf.constant(A)
    got = run([tf.reshape(a, [4, -1]), tf.transpose(a), tf.cast(a * 10.0, tf.int32), tf.zeros([2, 3]),
               tf.ones([2], tf.int64), tf.fill([2, 2], 7.0), tf.identity(a), tf.stop_gradient(a),
               tf.constant(1.5, shape=[2, 2])])
    assert np.array_equal(got[0], A.reshape(4, -1)) and np.array_equal(got[1], A.T)
    assert got[2].dtype == np.int32 and np.array_equal(got[2], (A * np.float32(10)).astype(np.int32))
    assert np.array_equal(got[3], np.zeros((2, 3))) and got[4].dtype == np.int64
    assert np.array_equal(got[5], np.full((2, 2), 7.0)) and np.array_equal(got[6], A)
    assert np.array_equal(got[7], A) and np.array_equal(got[8], np.full((2, 2), 1.5))


@need("tfm_conv2d", "tfm_bias_add", "tfm_max_pool")
def test_conv2d_bias_add_and_max_pool_match_loops():
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    conv = tf.nn.conv2d(tf.constant(x), tf.constant(w), strides=[1, 1, 1, 1], padding="VALID")
    got_conv, got_pool = run([tf.nn.bias_add(conv, tf.constant(bias)),
                              tf.nn.max_pool(tf.constant(x), [1, 2, 2, 1], [1, 2, 2, 1], "VALID")])
    ref = np.zeros((1, 3, 3, 4))
    for i in range(3):
        for j in range(3):
            ref[0, i, j] = np.tensordot(x[0, i:i + 3, j:j + 3].astype(np.float64), w, axes=3) + bias
    assert np.allclose(got_conv, ref, atol=1e-4)
    pool = x[0, :4, :4].reshape(2, 2, 2, 2, 2).max(axis=(1, 3))
    assert np.array_equal(got_pool[0], pool)


@need("tfm_random_uniform", "tfm_get_variable")
def test_glorot_uniform_variable_stays_within_its_limit():
    g = tf.get_variable("g", [40, 60], initializer=tf.glorot_uniform_initializer(seed=1))
    with tf.Session() as sess:
        sess.run(g.initializer)
        gv = sess.run(g)
    limit = np.sqrt(6.0 / (40 + 60))
    # uniform on [-limit, limit]: standard deviation limit / sqrt(3)
    assert np.abs(gv).max() <= limit and abs(gv.std() - limit / np.sqrt(3)) < 0.05 * limit


@need("tfm_random_normal", "tfm_random_uniform", "tfm_truncated_normal")
def test_random_ops_have_the_asked_moments_and_seeds_repeat():
    tf.set_random_seed(3)
    n = tf.random_normal([20000], mean=2.0, stddev=0.5, seed=1)
    u = tf.random_uniform([20000], minval=-1.0, maxval=3.0, seed=2)
    t = tf.truncated_normal([20000], stddev=1.0, seed=4)
    with tf.Session() as sess:
        a, b, c = sess.run([n, u, t])
        a2 = sess.run(n)
    assert abs(a.mean() - 2.0) < 0.02 and abs(a.std() - 0.5) < 0.02
    assert b.min() >= -1.0 and b.max() < 3.0 and abs(b.mean() - 1.0) < 0.05
    assert np.abs(c).max() <= 2.0
    assert not np.array_equal(a, a2)  # a new draw each run
    tf.reset_default_graph()
    tf.set_random_seed(3)
    n = tf.random_normal([20000], mean=2.0, stddev=0.5, seed=1)
    with tf.Session() as sess:
        assert np.array_equal(sess.run(n), a)  # same seeds, same first draw


@need("tfm_variable_new", "tfm_assign", "tfm_assign_add", "tfm_global_variables_initializer")
def test_variables_assign_and_initializers():
    v = tf.Variable([1.0, 2.0])
    with tf.variable_scope("s"):
        c = tf.get_variable("c", [2, 2], initializer=tf.constant_initializer(0.25))
        z = tf.get_variable("z", [3], dtype=tf.int32, initializer=tf.zeros_initializer())
    add = v.assign_add([1.0, 1.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert np.array_equal(sess.run(c), np.full((2, 2), 0.25)) and sess.run(z).dtype == np.int32
        sess.run(add)
        assert np.array_equal(sess.run(v), [2.0, 3.0])
        sess.run(tf.assign(v, [5.0, 6.0]))
        assert np.array_equal(v.eval(sess), [5.0, 6.0])


@need("tfm_reshape", "tfm_expand_dims", "tfm_squeeze", "tfm_shape", "tfm_zeros", "tfm_fill", "tfm_op_builder_new")
def test_shape_ops_and_generic_builder_ops_match_numpy():
    a = tf.constant(A)
    got = run([tf.shape(a), tf.expand_dims(a, 0), tf.squeeze(tf.zeros([1, 3, 1])), tf.zeros_like(a),
               tf.reshape(a, [-1]), tf.concat([a, a], 0), tf.stack([a, a], axis=1),
               tf.size(a), tf.rank(a)])
    assert got[0].dtype == np.int32 and np.array_equal(got[0], [3, 4])
    assert got[1].shape == (1, 3, 4) and got[2].shape == (3,) and np.array_equal(got[3], np.zeros((3, 4)))
    assert np.array_equal(got[4], A.ravel())
    assert np.array_equal(got[5], np.concatenate([A, A], 0)) and np.array_equal(got[6], np.stack([A, A], 1))
    assert got[7] == 12 and got[8] == 2


@need("tfm_op_builder_new", "tfm_add")
def test_numpy_operands_defer_to_tensor_operators():
    a = tf.constant(A)
    got = run([np.float32(2.0) * a, B + a])
    assert np.allclose(got[0], 2 * A) and np.allclose(got[1], A + B)


@need("tfm_op_builder_new", "tfm_add", "tfm_matmul")  # the math op family is in
def test_where_range_tile_and_comparisons_match_numpy():
    a, b = tf.constant(A), tf.constant(B)
    got = run([tf.where(a < b, a, b), tf.range(2, 11, 3), tf.range(5), tf.tile(a, [2, 1]),
               a >= b, tf.equal(a, a), tf.squared_difference(a, b), tf.argmax(a, axis=1)])
    assert np.array_equal(got[0], np.where(A < B, A, B))
    assert np.array_equal(got[1], np.arange(2, 11, 3)) and got[1].dtype == np.int32
    assert np.array_equal(got[2], np.arange(5)) and np.array_equal(got[3], np.tile(A, [2, 1]))
    assert got[4].dtype == np.bool_ and np.array_equal(got[4], A >= B) and got[5].all()
    assert np.allclose(got[6], (A.astype(np.float64) - B) ** 2, rtol=1e-5)
    assert got[7].dtype == np.int64 and np.array_equal(got[7], A.argmax(axis=1))


@need("tfm_op_builder_new")
def test_indexing_matches_numpy():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    c = tf.constant(a)
    keys = [0, -1, (1, 2), (slice(None), 1), (Ellipsis, 2), (slice(None, None, 2),), (None, 0),
            (slice(1, None), slice(None, None, -1)), (0, slice(1, 3), slice(None, None, 3))]
    tensors = [c[k] for k in keys]
    for k, t, got in zip(keys, tensors, run(tensors)):
        assert t.shape.as_list() == list(a[k].shape), k
        assert np.array_equal(got, a[k]), k
