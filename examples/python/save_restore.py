"""Training that outlives the process, as a TensorFlow 1.x user writes it: the line
fit saved every 1,000 steps with tf.train.Saver(max_to_keep=3), and resumed by the
next run from tf.train.latest_checkpoint, global step included.

    python3 save_restore.py DIR [STEPS [SAVE_EVERY]]

Two runs of 5,000 steps end where one of 10,000 does (0.29702, -0.86083). The files
are TensorFlow's own (and the same as examples/save_restore.c writes: either
program resumes the other's checkpoints).

Run from the source tree:  PYTHONPATH=bindings/python python3 examples/python/save_restore.py /tmp/fit"""
import os
import sys

import tfmini as tf

if len(sys.argv) < 2:
    sys.exit("usage: save_restore.py DIR [STEPS [SAVE_EVERY]]")
checkpoint_dir = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
save_every = int(sys.argv[3]) if len(sys.argv) > 3 else 1000

x_data = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
y_data = [-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00]

x = tf.placeholder(tf.float32, [8], name="x")
y = tf.placeholder(tf.float32, [8], name="y")
m = tf.Variable(-0.5, name="m")
b = tf.Variable(1.0, name="b")
y_model = tf.add(m * x, b, name="y_model")
loss = tf.reduce_sum(tf.square(y - y_model), name="loss")

global_step = tf.train.get_or_create_global_step()
train_op = tf.train.GradientDescentOptimizer(0.001).minimize(loss, global_step=global_step, name="train")
init = tf.global_variables_initializer()
saver = tf.train.Saver(max_to_keep=3)

if not os.path.isdir(checkpoint_dir):
    os.makedirs(checkpoint_dir)
prefix = os.path.join(checkpoint_dir, "model.ckpt")
feed = {x: x_data, y: y_data}

with tf.Session() as sess:
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    if latest:
        saver.restore(sess, latest)
        print("Restored %s" % latest)
    else:
        sess.run(init)
        print("No checkpoint in %s: starting from m = -0.5, b = 1.0" % checkpoint_dir)
    step = sess.run(global_step)
    saved = []
    for _ in range(steps):
        sess.run(train_op, feed_dict=feed)
        step += 1  # minimize() increments global_step
        if step % save_every == 0:
            saver.save(sess, prefix, global_step=step)
            saved.append(step)
    if step % save_every != 0:
        saver.save(sess, prefix, global_step=step)
        saved.append(step)
    print("Saved %s-STEP (the newest 3 kept) at steps: %s" % (prefix, " ".join(str(s) for s in saved)))
    slope, intercept = sess.run([m, b])
    print("Step: %d Slope: %.5f Intercept: %.5f" % (step, slope, intercept))
