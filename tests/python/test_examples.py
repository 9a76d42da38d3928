"""The Python examples run as a user runs them, and fit what an independent float64
NumPy reference of the same gradient descent fits."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import TRAIN, need

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
X = np.arange(8, dtype=np.float64)
Y = np.array([-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00])


def run_example(name, *args):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", name)] + list(args),
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    found = re.search(r"Slope: (\S+) Intercept: (\S+)", result.stdout)
    assert found, result.stdout
    return float(found.group(1)), float(found.group(2)), result.stdout


def reference_descent(steps, lr=0.001, m=-0.5, b=1.0):
    for _ in range(steps):
        err = Y - (m * X + b)
        m, b = m + lr * 2 * np.sum(err * X), b + lr * 2 * np.sum(err)
    return m, b


@need(TRAIN, "tfm_pow")
@pytest.mark.parametrize("example", ["serial.py", "tensor.py"])
def test_small_examples_match_a_float64_gradient_descent(example):
    slope, intercept, _ = run_example(example)
    ref_m, ref_b = reference_descent(10000)
    assert abs(slope - ref_m) < 2e-3 and abs(intercept - ref_b) < 5e-3
    # and the descent has converged near least squares
    ls_m, ls_b = np.polyfit(X, Y, 1)
    assert abs(slope - ls_m) < 0.02 and abs(intercept - ls_b) < 0.1


@need(TRAIN)
def test_bigdata_recovers_the_generating_line():
    slope, intercept, out = run_example("bigdata.py")
    assert abs(slope - 0.3) < 0.03 and abs(intercept + 0.8) < 0.15
    assert re.search(r"\d+ steps/s", out)
