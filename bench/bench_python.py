"""The Python cost of one training step of the tutorial's line fit, tfmini beside
PyTorch doing the same step in the same run (when python3-torch is installed).

  tensor   8 points held in the graph: loss = sum((y - (m*x + b))^2), one step of
           gradient descent (lr 0.001).
  bigdata  the same model on a batch of 8 points drawn at random from 8,000,000
           (NumPy arrays) and fed each step; the drawing is part of every step, for
           both libraries, and is also timed alone.

tfmini is timed as a TF 1.x user writes the step (sess.run(train_op, feed_dict=...))
and through sess.make_callable (TensorFlow's way to run one step many times).
PyTorch is timed as its users write the step: forward, zero_grad, backward,
optimizer.step(). Each figure is the median of several batches of steps, batches
of the two libraries alternating, so that both see the same machine state.

Run from the source tree after building:
  PYTHONPATH=bindings/python /usr/bin/python3 bench/bench_python.py [--steps N] [--repeats R]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import tfmini as tf  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

X = np.arange(8, dtype=np.float32)
Y = np.array([-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00], dtype=np.float32)
N_BIG = 8000000
LR = 0.001


def big_data():
    rng = np.random.RandomState(101)
    x = np.linspace(0.0, 8.0, N_BIG).astype(np.float32)
    y = (0.3 * x - 0.8 + rng.normal(0.0, 0.25, N_BIG)).astype(np.float32)
    return x, y


def batches(x_all, y_all, seed=7):
    """An endless stream of (x, y) batches of 8, the same for every contender."""
    rng = np.random.RandomState(seed)
    while True:
        idx = rng.randint(N_BIG, size=8)
        yield x_all[idx], y_all[idx]


# ---- tfmini ----
def tfmini_tensor():
    g = tf.Graph()
    with g.as_default():
        m, b = tf.Variable(-0.5), tf.Variable(1.0)
        loss = tf.reduce_sum(tf.square(tf.constant(Y) - (m * tf.constant(X) + b)))
        train = tf.train.GradientDescentOptimizer(LR).minimize(loss)
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
    return sess, train, (m, b)


def tfmini_bigdata():
    g = tf.Graph()
    with g.as_default():
        x, y = tf.placeholder(tf.float32, [8]), tf.placeholder(tf.float32, [8])
        m, b = tf.Variable(-0.5), tf.Variable(1.0)
        train = tf.train.GradientDescentOptimizer(LR).minimize(tf.reduce_sum(tf.square(y - (m * x + b))))
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
    return sess, train, x, y, (m, b)


# ---- PyTorch ----
def torch_model():
    m = torch.tensor(-0.5, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=True)
    return m, b, torch.optim.SGD([m, b], lr=LR)


def torch_step(m, b, opt, x, y):
    loss = ((y - (m * x + b)) ** 2).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()


def median_ns_per_step(contenders, steps, repeats):
    """{name: median ns per step} over `repeats` batches of `steps`, interleaved."""
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run(steps)
            times[name].append((time.perf_counter() - start) / steps * 1e9)
    return {name: statistics.median(t) for name, t in times.items()}


def report(title, results, baseline):
    print(title)
    base = results.get(baseline)
    for name, ns in results.items():
        ratio = ""
        if base and name != baseline:
            ratio = "  %.2fx %s's time" % (ns / base, baseline)
        print("  %-38s %9.2f us/step%s" % (name, ns / 1000.0, ratio))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    steps, repeats = args.steps, args.repeats

    print("tfmini %s (%s), NumPy %s, %s" % (tf.__version__, tf._lib.path, np.__version__,
                                            "PyTorch %s with %d thread(s)" % (torch.__version__, torch.get_num_threads())
                                            if torch else "PyTorch absent (install python3-torch): its column skipped"))
    print("%d steps x %d repeats per figure, median" % (steps, repeats))

    # tensor: 8 points in the graph
    sess, train, tf_vars = tfmini_tensor()
    run_step = sess.make_callable(train)

    def tf_run(n):
        for _ in range(n):
            sess.run(train)

    def tf_callable(n):
        for _ in range(n):
            run_step()

    contenders = {"tfmini sess.run(train_op)": tf_run, "tfmini sess.make_callable(train_op)": tf_callable}
    if torch:
        tm, tb, topt = torch_model()
        tx, ty = torch.from_numpy(X), torch.from_numpy(Y)

        def torch_run(n):
            for _ in range(n):
                torch_step(tm, tb, topt, tx, ty)
        contenders["PyTorch forward/backward/step"] = torch_run
    results = median_ns_per_step(contenders, steps, repeats)
    report("tensor (8 points in the graph):", results, "PyTorch forward/backward/step" if torch else None)
    # the fits agree after the same number of steps
    if torch:
        tf_fit = sess.run(list(tf_vars))
        print("  after %d steps each: tfmini m=%.5f b=%.5f, PyTorch m=%.5f b=%.5f"
              % (steps * repeats * 2, tf_fit[0], tf_fit[1], tm.item(), tb.item()))
    sess.close()

    # bigdata: a batch of 8 drawn from 8M points and fed each step
    x_all, y_all = big_data()
    sess, train, x_ph, y_ph, _ = tfmini_bigdata()
    step_fn = sess.make_callable(train, feed_list=[x_ph, y_ph])
    streams = {}

    def stream(name):
        if name not in streams:
            streams[name] = batches(x_all, y_all)
        return streams[name]

    def draw_only(n, s=stream("draw")):
        for _ in range(n):
            next(s)

    def tf_feed(n, s=stream("tf_feed")):
        for _ in range(n):
            xb, yb = next(s)
            sess.run(train, feed_dict={x_ph: xb, y_ph: yb})

    def tf_feed_callable(n, s=stream("tf_callable")):
        for _ in range(n):
            xb, yb = next(s)
            step_fn(xb, yb)

    def tf_feed_general(n, s=stream("tf_general")):
        for _ in range(n):  # the path every run took before prepared runs (for reference)
            xb, yb = next(s)
            sess._run_general(train, {x_ph: xb, y_ph: yb})

    contenders = {"drawing the batch alone": draw_only, "tfmini sess.run(train_op, feed_dict)": tf_feed,
                  "tfmini make_callable(train_op, [x, y])": tf_feed_callable,
                  "tfmini unprepared sess.run (before)": tf_feed_general}
    if torch:
        bm, bb, bopt = torch_model()

        def torch_feed(n, s=stream("torch")):
            for _ in range(n):
                xb, yb = next(s)
                torch_step(bm, bb, bopt, torch.from_numpy(xb), torch.from_numpy(yb))
        contenders["PyTorch forward/backward/step"] = torch_feed
    results = median_ns_per_step(contenders, steps, repeats)
    report("bigdata (a batch of 8 of 8,000,000 points fed each step):", results,
           "PyTorch forward/backward/step" if torch else None)
    sess.close()
    if torch:
        print("goal: a tfmini step faster than PyTorch's (ratio below 1.00x)")


if __name__ == "__main__":
    main()
