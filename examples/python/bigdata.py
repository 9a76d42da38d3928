"""Fitting a line to 8,000,000 noisy points (y = 0.3x - 0.8 + N(0, 0.25)), fed to
placeholders a random batch of 8 at a time. Prints the fit and the training speed.

Run from the source tree:  PYTHONPATH=bindings/python python3 examples/python/bigdata.py [STEPS] [--logdir DIR]
--logdir writes the graph and the loss curve to a TensorBoard event file in DIR; on a
terminal a progress line shows steps, loss, steps/s and ETA."""
import sys
import time

import numpy as np

import tfmini as tf
from tfmini.progress import Progress

args = sys.argv[1:]
logdir = None
if "--logdir" in args:
    i = args.index("--logdir")
    logdir = args[i + 1]
    del args[i:i + 2]
steps = int(args[0]) if args else 10000
n_points = 8000000
batch_size = 8

rng = np.random.RandomState(101)
x_data = np.linspace(0.0, 8.0, n_points).astype(np.float32)
y_data = (0.3 * x_data - 0.8 + rng.normal(0.0, 0.25, n_points)).astype(np.float32)

x_ph = tf.placeholder(tf.float32, [batch_size])
y_ph = tf.placeholder(tf.float32, [batch_size])

m = tf.Variable(-0.5)
b = tf.Variable(1.0)

y_model = m * x_ph + b
error = tf.reduce_sum(tf.square(y_ph - y_model))

train_op = tf.train.GradientDescentOptimizer(learning_rate=0.001).minimize(error)
init = tf.global_variables_initializer()

loss_summary = tf.summary.scalar("loss", error)
writer = tf.summary.FileWriter(logdir, tf.get_default_graph()) if logdir else None
progress = Progress(steps)

with tf.Session() as session:
    session.run(init)
    start = time.time()
    for step in range(steps):
        index = rng.randint(n_points, size=batch_size)
        feed = {x_ph: x_data[index], y_ph: y_data[index]}
        if (writer and step % 100 == 0) or progress.due(step + 1):
            _, loss, summary = session.run([train_op, error, loss_summary], feed_dict=feed)
            if writer and step % 100 == 0:
                writer.add_summary(summary, step)
            progress.update(step + 1, loss)
        else:
            session.run(train_op, feed_dict=feed)
    elapsed = time.time() - start
    progress.close()
    if writer:
        writer.close()
    slope, intercept = session.run([m, b])
    print("Slope: %.5f Intercept: %.5f" % (slope, intercept))
    print("%.0f steps/s" % (steps / elapsed))
