"""Sessions: fetch structures, feeds, errors, callables, lifetimes and memory."""
import collections
import resource

import numpy as np
import pytest

import tfmini as tf
from tfmini import _lib, numpy_interop
from conftest import RUN, TRAIN, need

pytestmark = need(RUN)
ARITH = ["tfm_add", "tfm_mul"]


def test_fetches_of_any_nesting_come_back_in_the_same_structure():
    a = tf.constant(np.array([1.0, 2.0], np.float32))
    b = tf.constant(3, name="b")
    Pair = collections.namedtuple("Pair", "x y")
    with tf.Session() as sess:
        assert isinstance(sess.run(a), np.ndarray) and sess.run(a).dtype == np.float32
        scalar = sess.run(b)
        assert isinstance(scalar, np.int32) and scalar == 3
        out = sess.run({"list": [a, b], "tuple": (b,), "pair": Pair(a, b), "op": b.op, "name": "b:0"})
    assert np.array_equal(out["list"][0], [1.0, 2.0]) and out["list"][1] == 3
    assert isinstance(out["tuple"], tuple) and out["tuple"][0] == 3
    assert isinstance(out["pair"], Pair) and out["pair"].y == 3
    assert out["op"] is None and out["name"] == 3


@need(ARITH)
def test_feeds_by_tensor_or_name_with_numpy_scalars_and_lists():
    x = tf.placeholder(tf.float32, [None], name="x")
    y = x * 2.0 + 1.0
    with tf.Session() as sess:
        assert np.allclose(sess.run(y, {x: np.array([1, 2, 3], np.float32)}), [3, 5, 7])
        assert np.allclose(sess.run(y, feed_dict={"x:0": [0.5]}), [2.0])
        assert np.allclose(sess.run(y, {x: np.arange(4.0)}), np.arange(4.0) * 2 + 1)  # float64 converted


@need(ARITH)
def test_wrong_feed_shape_is_invalid_argument_naming_the_placeholder():
    x = tf.placeholder(tf.float32, [8], name="points")
    y = x + 1.0
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(y, {x: np.zeros(3, np.float32)})
    assert "points" in info.value.message


@need(ARITH)
def test_missing_feed_is_invalid_argument_naming_the_placeholder():
    x = tf.placeholder(tf.float32, [2], name="needed")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="needed"):
            sess.run(x + 1.0)


@need("tfm_variable_new")
def test_uninitialized_variable_is_failed_precondition_naming_it():
    v = tf.Variable(1.0, name="weights")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="weights"):
            sess.run(v)


def test_feeding_a_tensor_value_is_a_type_error():
    x = tf.placeholder(tf.float32, [])
    with tf.Session() as sess:
        with pytest.raises(TypeError):
            sess.run(x, {x: tf.constant(1.0)})


def test_closed_session_refuses_to_run_and_default_session_eval():
    c = tf.constant(2.0)
    sess = tf.Session()
    with sess.as_default():
        assert c.eval() == 2.0
    sess.close()
    sess.close()  # twice is fine
    with pytest.raises(RuntimeError):
        sess.run(c)
    with pytest.raises(ValueError):
        c.eval()


def test_session_keeps_its_graph_alive():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(5.0)
    sess = tf.Session(graph=g)
    del g
    assert sess.run(c) == 5.0
    sess.close()


@need("tfm_session_make_callable", "tfm_callable_run")
@need(ARITH)
def test_make_callable_runs_with_positional_feeds():
    x = tf.placeholder(tf.float32, [2])
    y = x * 3.0
    with tf.Session() as sess:
        f = sess.make_callable([y, y.op], feed_list=[x])
        out = f(np.array([1.0, 2.0], np.float32))
        assert np.allclose(out[0], [3.0, 6.0]) and out[1] is None
    with pytest.raises(RuntimeError):
        f(np.array([1.0, 2.0], np.float32))


def _rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@need(TRAIN)
@need(ARITH)
def test_no_leak_over_ten_thousand_training_steps():
    x = tf.placeholder(tf.float32, [8])
    y = tf.placeholder(tf.float32, [8])
    m = tf.Variable(0.0)
    b = tf.Variable(0.0)
    loss = tf.reduce_sum(tf.square(y - (m * x + b)))
    train = tf.train.GradientDescentOptimizer(0.001).minimize(loss)
    xs = np.linspace(0, 7, 8).astype(np.float32)
    ys = (0.3 * xs - 0.8).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(1000):
            sess.run([train, loss], {x: xs, y: ys})
        bytes_before, rss_before = _lib.fn.tfm_debug_bytes_in_use(), _rss_kb()
        for _ in range(10000):
            sess.run([train, loss], {x: xs, y: ys})
        assert _lib.fn.tfm_debug_bytes_in_use() == bytes_before
        assert _rss_kb() - rss_before < 4096
        assert not numpy_interop._pinned


@need("tfm_no_op")
def test_eval_run_and_interactive_session():
    c = tf.constant([1, 2], name="c")
    noop = tf.no_op()
    sess = tf.InteractiveSession()
    try:
        assert tf.get_default_session() is sess
        assert np.array_equal(c.eval(), [1, 2])
        noop.run()
    finally:
        sess.close()
    assert tf.get_default_session() is None
