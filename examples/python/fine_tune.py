"""Fine-tuning a saved model, as a TensorFlow 1.x user writes it: import the newest
meta graph that save_restore wrote under the scope "pretrained", restore its
weights, fetch its tensors by name, freeze them with tf.stop_gradient, and train
only a new convolutional head (conv2d + bias_add + relu, then a 1x1 conv2d +
bias_add, weights from tf.get_variable) to output |m*x + b|. Then save everything.

    python3 fine_tune.py DIR [STEPS]      (DIR holds save_restore's checkpoints)

Run from the source tree:  PYTHONPATH=bindings/python python3 examples/python/fine_tune.py /tmp/fit"""
import os
import sys

import numpy as np

import tfmini as tf

if len(sys.argv) < 2:
    sys.exit("usage: fine_tune.py DIR [STEPS]")
checkpoint_dir = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
hidden = 8

latest = tf.train.latest_checkpoint(checkpoint_dir)
if not latest:
    sys.exit("fine_tune.py: no checkpoint in %s (run save_restore.py first)" % checkpoint_dir)

graph = tf.Graph()
with graph.as_default():
    pretrained_saver = tf.train.import_meta_graph(latest + ".meta", import_scope="pretrained")
    x = graph.get_tensor_by_name("pretrained/x:0")
    y_model = graph.get_tensor_by_name("pretrained/y_model:0")
    m = graph.get_tensor_by_name("pretrained/m/read:0")
    b = graph.get_tensor_by_name("pretrained/b/read:0")

    features = tf.reshape(tf.stop_gradient(y_model), [1, 8, 1, 1], name="features")
    with tf.variable_scope("head"):
        k1 = tf.get_variable("conv1/kernel", [3, 1, 1, hidden],
                             initializer=tf.glorot_uniform_initializer(seed=7))
        b1 = tf.get_variable("conv1/bias", [hidden], initializer=tf.constant_initializer(0.1))
        k2 = tf.get_variable("conv2/kernel", [1, 1, hidden, 1],
                             initializer=tf.glorot_uniform_initializer(seed=8))
        b2 = tf.get_variable("conv2/bias", [1], initializer=tf.zeros_initializer())
        conv1 = tf.nn.conv2d(features, k1, strides=[1, 1, 1, 1], padding="SAME")
        relu1 = tf.nn.relu(tf.nn.bias_add(conv1, b1))
        conv2 = tf.nn.conv2d(relu1, k2, strides=[1, 1, 1, 1], padding="SAME")
        prediction = tf.reshape(tf.nn.bias_add(conv2, b2), [8], name="prediction")
    target = tf.placeholder(tf.float32, [8], name="target")
    loss = tf.reduce_mean(tf.square(prediction - target), name="head_loss")
    head_vars = [k1, b1, k2, b2]
    train_op = tf.train.AdamOptimizer(0.01).minimize(loss, var_list=head_vars, name="head_train")
    init = tf.global_variables_initializer()
    saver = tf.train.Saver()

    x_data = np.arange(8, dtype=np.float32)
    with tf.Session() as sess:
        sess.run(init)
        pretrained_saver.restore(sess, latest)
        m0, b0 = sess.run([m, b])
        print("Pretrained (from %s): Slope: %.5f Intercept: %.5f" % (latest, m0, b0))
        wanted = np.abs(sess.run(y_model, feed_dict={x: x_data}))
        feed = {x: x_data, target: wanted}
        for step in range(steps + 1):
            loss_value, _ = sess.run([loss, train_op], feed_dict=feed)
            if step in (0, steps):
                print("Head loss at step %d: %.6f" % (step, loss_value))
        m1, b1_value = sess.run([m, b])
        unchanged = m1 == m0 and b1_value == b0
        print("Pretrained after: Slope: %.5f Intercept: %.5f (%s)"
              % (m1, b1_value, "unchanged" if unchanged else "CHANGED"))
        print("Saved %s" % saver.save(sess, os.path.join(checkpoint_dir, "fine_tuned.ckpt")))
        if not unchanged:
            sys.exit(1)
