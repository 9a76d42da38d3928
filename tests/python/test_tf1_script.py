"""A TensorFlow 1.x training script written the usual way (scopes, get_variable,
dense layers, softmax cross-entropy, Adam, accuracy) runs unchanged on tfmini and
learns a separable toy problem."""
import numpy as np

import tfmini as tf
from conftest import TRAIN, need


def dense(x, units, name, activation=None):
    with tf.variable_scope(name):
        w = tf.get_variable("kernel", [x.shape[1].value, units],
                            initializer=tf.random_normal_initializer(stddev=0.5, seed=1))
        b = tf.get_variable("bias", [units], initializer=tf.zeros_initializer())
        y = tf.nn.bias_add(tf.matmul(x, w), b)
        return activation(y) if activation else y


@need(TRAIN, "tfm_relu", "tfm_softmax", "tfm_bias_add", "tfm_optimizer_adam", "tfm_random_normal")
def test_two_layer_classifier_learns_with_adam():
    rng = np.random.RandomState(0)
    points = rng.standard_normal((256, 2)).astype(np.float32)
    labels = (points[:, 0] * points[:, 1] > 0).astype(np.int64)  # XOR-like quadrants
    onehot = np.eye(2, dtype=np.float32)[labels]

    x = tf.placeholder(tf.float32, [None, 2], name="x")
    y = tf.placeholder(tf.float32, [None, 2], name="y")
    hidden = dense(x, 16, "hidden", tf.nn.relu)
    logits = dense(hidden, 2, "out")
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(y, 1)), tf.float32))
    step = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(0.05).minimize(loss, global_step=step)

    assert [v.name for v in tf.trainable_variables()] == [
        "hidden/kernel:0", "hidden/bias:0", "out/kernel:0", "out/bias:0"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: points, y: onehot})
        for _ in range(300):
            _, last = sess.run([train, loss], feed_dict={x: points, y: onehot})
        acc = sess.run(accuracy, {"x:0": points, "y:0": onehot})
        assert sess.run(step) == 300
    assert last < first / 3 and acc > 0.9
