"""The same fit with the error written as tensor ops: reduce_sum((y - (m*x + b))**2).

Run from the source tree:  PYTHONPATH=bindings/python python3 examples/python/tensor.py"""
import sys

import tfmini as tf

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10000

x = tf.constant([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
y = tf.constant([-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00])

m = tf.Variable(-0.5)
b = tf.Variable(1.0)

y_model = m * x + b
error = tf.reduce_sum(tf.square(y - y_model))

train_op = tf.train.GradientDescentOptimizer(learning_rate=0.001).minimize(error)
init = tf.global_variables_initializer()

with tf.Session() as session:
    session.run(init)
    for _ in range(steps):
        session.run(train_op)
    slope, intercept = session.run((m, b))
    print("Slope: %.5f Intercept: %.5f" % (slope, intercept))
