"""Gradients and optimizers, against hand derivatives and NumPy optimizer loops."""
import numpy as np
import pytest

import tfmini as tf
from conftest import TRAIN, need

pytestmark = need(TRAIN)


def test_gradients_match_hand_derivatives():
    x = tf.placeholder(tf.float32, [3])
    w = tf.constant([1.0, -2.0, 0.5])
    y = tf.reduce_sum(tf.square(x * w) + tf.exp(x))
    gx, gw, none = tf.gradients(y, [x, w, tf.constant(1.0)])
    xv = np.array([0.3, -1.0, 2.0], np.float32)
    with tf.Session() as sess:
        dx, dw = sess.run([gx, gw], {x: xv})
    wv = np.array([1.0, -2.0, 0.5])
    assert np.allclose(dx, 2 * xv * wv ** 2 + np.exp(xv), rtol=1e-5)
    assert np.allclose(dw, 2 * wv * xv.astype(np.float64) ** 2, rtol=1e-5)
    assert none is None


def test_stop_gradient_blocks_the_flow():
    x = tf.constant(2.0)
    y = x * tf.stop_gradient(x * 3.0)
    (g,) = tf.gradients(y, [x])
    with tf.Session() as sess:
        assert sess.run(g) == pytest.approx(6.0)


def _fit(optimizer, steps=50):
    """Runs `optimizer` on sum((w*x - t)^2) and returns the w trajectory."""
    x = np.array([1.0, 2.0, 3.0], np.float32)
    t = np.array([2.0, 1.0, -1.0], np.float32)
    w = tf.Variable(np.array([0.5, -0.5, 1.0], np.float32))
    loss = tf.reduce_sum(tf.square(w * x - t))
    step = tf.train.get_or_create_global_step()
    train = optimizer.minimize(loss, global_step=step)
    out = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train)
            out.append(sess.run(w))
        assert sess.run(step) == steps
    return np.array(out), x.astype(np.float64), t.astype(np.float64)


def _grad(w, x, t):
    return 2 * (w * x - t) * x


def test_gradient_descent_matches_numpy():
    got, x, t = _fit(tf.train.GradientDescentOptimizer(0.01))
    w = np.array([0.5, -0.5, 1.0])
    for i in range(len(got)):
        w = w - 0.01 * _grad(w, x, t)
        assert np.allclose(got[i], w, rtol=1e-4, atol=1e-5)


def test_momentum_matches_numpy():
    got, x, t = _fit(tf.train.MomentumOptimizer(0.01, 0.9))
    w, acc = np.array([0.5, -0.5, 1.0]), np.zeros(3)
    for i in range(len(got)):
        acc = 0.9 * acc + _grad(w, x, t)
        w = w - 0.01 * acc
        assert np.allclose(got[i], w, rtol=1e-4, atol=1e-5)


def test_adam_matches_numpy():
    got, x, t = _fit(tf.train.AdamOptimizer(0.1))
    w, m, v = np.array([0.5, -0.5, 1.0]), np.zeros(3), np.zeros(3)
    for i in range(len(got)):
        g = _grad(w, x, t)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        lr = 0.1 * np.sqrt(1 - 0.999 ** (i + 1)) / (1 - 0.9 ** (i + 1))
        w = w - lr * m / (np.sqrt(v) + 1e-8)
        assert np.allclose(got[i], w, rtol=1e-3, atol=1e-4)


def test_var_list_limits_what_is_trained():
    a = tf.Variable(1.0)
    b = tf.Variable(1.0)
    train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.square(a * b), var_list=[a])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        va, vb = sess.run([a, b])
    assert va == pytest.approx(1.0 - 0.1 * 2.0) and vb == 1.0


@need("tfm_train_exponential_decay", "tfm_optimizer_set_learning_rate_tensor")
def test_exponential_decay_schedule_and_global_step():
    step = tf.train.get_or_create_global_step()
    assert tf.train.get_global_step() is step and step.dtype is tf.int64
    lr = tf.train.exponential_decay(0.5, step, 10, 0.5)
    lr_stair = tf.train.exponential_decay(0.5, step, 10, 0.5, staircase=True)
    v = tf.Variable(0.0)
    train = tf.train.GradientDescentOptimizer(lr).minimize(v * 1.0, global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        expected_v = 0.0
        for i in range(15):
            rate, stair = sess.run([lr, lr_stair])
            assert rate == pytest.approx(0.5 * 0.5 ** (i / 10), rel=1e-5)
            assert stair == pytest.approx(0.5 * 0.5 ** (i // 10), rel=1e-5)
            sess.run(train)
            expected_v -= rate
        assert sess.run(v) == pytest.approx(expected_v, rel=1e-4)


@need("tfm_op_builder_new", "tfm_assign_add")
def test_compute_then_apply_gradients_with_clipping_matches_numpy():
    w = tf.Variable(np.array([3.0, -4.0], np.float32))
    loss = tf.reduce_sum(tf.square(w))
    step = tf.train.get_or_create_global_step()
    opt = tf.train.GradientDescentOptimizer(0.1)
    grads_and_vars = opt.compute_gradients(loss)
    assert grads_and_vars[0][1] is w
    clipped = [(tf.maximum(tf.minimum(g, 1.0), -1.0), v) for g, v in grads_and_vars]
    train = opt.apply_gradients(clipped, global_step=step)
    ref = np.array([3.0, -4.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(40):
            sess.run(train)
            ref = ref - 0.1 * np.clip(2 * ref, -1.0, 1.0)
        assert np.allclose(sess.run(w), ref, atol=1e-5) and sess.run(step) == 40
    with pytest.raises(tf.errors.UnimplementedError, match="MomentumOptimizer.apply_gradients"):
        tf.train.MomentumOptimizer(0.1, 0.9).apply_gradients(grads_and_vars)
