"""sess.run and make_callable repeated with one signature go through a prepared
callable (tfmini/_prepared.py) with reused feed buffers and cached fetch views; it
must give what a fresh run gives, every time, with values that never alias."""
import threading

import numpy as np
import pytest

import tfmini as tf
from conftest import RUN, need


def model():
    x = tf.placeholder(tf.float32, [4], name="x")
    w = tf.constant(np.array([1.0, 2.0, 3.0, 4.0], np.float32))
    return x, x * w, tf.reduce_sum(x * w)


@need(RUN)
def test_repeated_runs_match_numpy_each_time():
    x, prod, total = model()
    rng = np.random.RandomState(0)
    with tf.Session() as sess:
        for _ in range(50):
            xv = rng.randn(4).astype(np.float32)
            p, t = sess.run([prod, total], feed_dict={x: xv})
            assert np.array_equal(p, xv * np.array([1, 2, 3, 4], np.float32))
            assert isinstance(t, np.float32) and np.isclose(t, np.dot(xv.astype(np.float64), [1, 2, 3, 4]), rtol=1e-6)
        assert len(sess._prepared) == 1  # one signature, prepared once


@need(RUN)
def test_fetched_arrays_are_copies_that_later_runs_leave_alone():
    x, prod, _ = model()
    with tf.Session() as sess:
        first = sess.run(prod, feed_dict={x: np.ones(4, np.float32)})
        second = sess.run(prod, feed_dict={x: np.full(4, 2.0, np.float32)})
        assert np.array_equal(first, [1, 2, 3, 4]) and np.array_equal(second, [2, 4, 6, 8])
        first[:] = -1  # writable, and writing it changes nothing else
        third = sess.run(prod, feed_dict={x: np.ones(4, np.float32)})
        assert np.array_equal(third, [1, 2, 3, 4])


@need(RUN)
def test_the_fed_array_is_not_kept_or_changed():
    x, prod, _ = model()
    feed = np.ones(4, np.float32)
    with tf.Session() as sess:
        fetched_x = sess.run(x, feed_dict={x: feed})
        feed[:] = 5
        assert np.array_equal(fetched_x, np.ones(4))
        assert np.array_equal(sess.run(prod, feed_dict={x: feed}), [5, 10, 15, 20])
        assert np.array_equal(feed, np.full(4, 5.0))


@need(RUN)
def test_values_are_converted_as_on_the_general_path():
    x, prod, _ = model()
    with tf.Session() as sess:
        for value in ([1, 1, 1, 1], [1.0, 1.0, 1.0, 1.0], np.ones(4, np.float64), np.ones(8, np.float32)[::2]):
            assert np.array_equal(sess.run(prod, feed_dict={x: value}), [1, 2, 3, 4])


@need(RUN)
def test_errors_still_name_the_placeholder():
    x, prod, _ = model()
    with tf.Session() as sess:
        sess.run(prod, feed_dict={x: np.ones(4, np.float32)})
        with pytest.raises(tf.errors.InvalidArgumentError, match="x"):
            sess.run(prod, feed_dict={x: np.ones(5, np.float32)})
        with pytest.raises(TypeError, match="cannot be a tf.Tensor"):
            sess.run(prod, feed_dict={x: prod})
        # and the signature still works afterwards
        assert np.array_equal(sess.run(prod, feed_dict={x: np.ones(4, np.float32)}), [1, 2, 3, 4])


@need(RUN)
def test_unknown_shapes_and_scalars():
    x = tf.placeholder(tf.float32, [None], name="x")
    s = tf.placeholder(tf.float32, [], name="s")
    y = tf.reduce_sum(x) * s
    with tf.Session() as sess:
        for n in (1, 3, 7, 3):
            assert sess.run(y, feed_dict={x: np.ones(n, np.float32), s: 2.0}) == 2.0 * n


@need(RUN)
def test_make_callable_and_threads_share_a_signature_safely():
    x, prod, total = model()
    with tf.Session() as sess:
        step = sess.make_callable([prod, total], feed_list=[x])
        failures = []

        def worker(seed):
            rng = np.random.RandomState(seed)
            for _ in range(300):
                xv = rng.randn(4).astype(np.float32)
                p, _ = step(xv)
                q = sess.run(prod, feed_dict={x: xv})
                if not (np.array_equal(p, xv * np.array([1, 2, 3, 4], np.float32)) and np.array_equal(q, p)):
                    failures.append(seed)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures
    with pytest.raises(RuntimeError, match="closed"):
        step(np.ones(4, np.float32))
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(prod, feed_dict={x: np.ones(4, np.float32)})


@need(RUN)
def test_training_with_prepared_runs_matches_a_float64_descent():
    xs = np.arange(8, dtype=np.float32)
    ys = np.array([-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00], np.float32)
    x, y = tf.placeholder(tf.float32, [8]), tf.placeholder(tf.float32, [8])
    m, b = tf.Variable(-0.5), tf.Variable(1.0)
    train = tf.train.GradientDescentOptimizer(0.001).minimize(tf.reduce_sum(tf.square(y - (m * x + b))))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(500):
            assert sess.run(train, feed_dict={x: xs, y: ys}) is None
        got = sess.run([m, b])
    rm, rb = -0.5, 1.0
    for _ in range(500):
        err = ys.astype(np.float64) - (rm * xs + rb)
        rm, rb = rm + 0.002 * np.sum(err * xs), rb + 0.002 * np.sum(err)
    assert abs(got[0] - rm) < 1e-4 and abs(got[1] - rb) < 1e-4


def _rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@need(RUN)
def test_a_long_fed_loop_holds_no_memory():
    from tfmini import numpy_interop
    x = tf.placeholder(tf.float32, [8], name="x")
    n = tf.placeholder(tf.float32, [None], name="n")  # unknown shape: wrapped each step
    total = tf.reduce_sum(x) + tf.reduce_sum(n)
    xb, nb = np.ones(8, np.float32), np.ones(3, np.float32)
    with tf.Session() as sess:
        for _ in range(2000):
            sess.run(total, feed_dict={x: xb, n: nb})
        before = _rss_kb()
        for _ in range(30000):
            sess.run(total, feed_dict={x: xb, n: nb})
        grown = _rss_kb() - before
        assert not numpy_interop._pinned  # every wrapped feed was released
    assert grown < 2048, "RSS grew by %d kB over 30,000 runs" % grown
