"""The tutorial's first fit, as a TensorFlow 1.x user writes it: y = m*x + b over 8
points, the error a Python loop of scalar ops, minimised by gradient descent.

Run from the source tree:  PYTHONPATH=bindings/python python3 examples/python/serial.py
(with `import tensorflow as tf` instead, it runs on TensorFlow 1.x unchanged)."""
import sys

import tfmini as tf

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10000

x_data = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
y_data = [-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00]

m = tf.Variable(-0.5)
b = tf.Variable(1.0)

total_error = 0.0
for x, y in zip(x_data, y_data):
    y_model = m * x + b
    total_error += (y - y_model) ** 2

train_op = tf.train.GradientDescentOptimizer(learning_rate=0.001).minimize(total_error)
init = tf.global_variables_initializer()

with tf.Session() as session:
    session.run(init)
    for _ in range(steps):
        session.run(train_op)
    slope, intercept = session.run([m, b])
    print("Slope: %.5f Intercept: %.5f" % (slope, intercept))
