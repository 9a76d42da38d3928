#!/usr/bin/python3
"""Makes the pictures of docs/tensorboard.md (into docs/images/):

  serial_graph.svg/.png   the tutorial's first fit (a loop of scalar ops), model only
  tensor_graph.svg/.png   the tensor fit with its training ops (gradients, update)
  bigdata_loss.png        the loss curve of the bigdata example, read back from the
                          event file it writes with --logdir, by our own reader

Graphs go through Graph.to_dot() and Debian's graphviz (`dot`); the curve through
python3-matplotlib. Run from the source tree after building (build/):

    /usr/bin/python3 docs/make_pictures.py [--steps N]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
os.environ.setdefault("TFMINI_LIBRARY", os.path.join(ROOT, "build", "lib", "libtfmini.so"))

import tfmini as tf  # noqa: E402

IMAGES = os.path.join(ROOT, "docs", "images")
X = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
Y = [-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00]


def render(graph, name):
    """graph -> images/<name>.dot rendered to .svg and .png."""
    dot = os.path.join(IMAGES, name + ".dot")
    with open(dot, "w") as f:
        f.write(graph.to_dot())
    for fmt in ("svg", "png"):
        subprocess.run(["dot", "-T" + fmt, "-Gdpi=72", dot, "-o", os.path.join(IMAGES, "%s.%s" % (name, fmt))],
                       check=True)
    os.remove(dot)
    print("wrote %s.svg and .png" % os.path.join(IMAGES, name))


def serial_graph():
    """examples/python/serial.py's model: one scalar op per point and operation."""
    g = tf.Graph()
    with g.as_default():
        m = tf.Variable(-0.5, name="m")
        b = tf.Variable(1.0, name="b")
        total_error = 0.0
        for x, y in zip(X, Y):
            y_model = m * x + b
            total_error += (y - y_model) ** 2
    return g


def tensor_graph():
    """examples/python/tensor.py, training ops included."""
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(X, name="x")
        y = tf.constant(Y, name="y")
        m = tf.Variable(-0.5, name="m")
        b = tf.Variable(1.0, name="b")
        with tf.name_scope("model"):
            y_model = m * x + b
        with tf.name_scope("loss"):
            error = tf.reduce_sum(tf.square(y - y_model))
        tf.train.GradientDescentOptimizer(learning_rate=0.001).minimize(error)
        tf.global_variables_initializer()
    return g


def loss_curve(steps):
    exe = os.path.join(ROOT, "build", "examples", "bigdata")
    with tempfile.TemporaryDirectory() as logdir:
        subprocess.run([exe, "--steps", str(steps), "--logdir", logdir], check=True, stdout=subprocess.DEVNULL)
        (path,) = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
        points = tf.summary.scalars(path, "loss")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    steps_, _, losses = zip(*points)
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    ax.plot(steps_, losses, linewidth=0.8, color="#1f77b4", label="loss of the batch (every 100 steps)")
    # At the true line the expected loss is the noise: 8 points * 0.25^2.
    ax.axhline(8 * 0.25 ** 2, color="#d62728", linestyle="--", linewidth=0.8, label="noise floor 8 x 0.25^2 = 0.5")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("sum of squared errors of 8 points")
    ax.set_title("bigdata: 8,000,000 points, batches of 8, gradient descent")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = os.path.join(IMAGES, "bigdata_loss.png")
    fig.savefig(out)
    print("wrote %s (%d points from %s)" % (out, len(points), os.path.basename(path)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20000)
    args = ap.parse_args()
    os.makedirs(IMAGES, exist_ok=True)
    render(serial_graph(), "serial_graph")
    render(tensor_graph(), "tensor_graph")
    loss_curve(args.steps)


if __name__ == "__main__":
    main()
