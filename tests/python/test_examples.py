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


EXAMPLES_DIR = os.environ.get("TFM_EXAMPLES_DIR", os.path.join(ROOT, "build", "examples"))


def run_program(argv):
    """Runs an example; skips the test while the library answers UNIMPLEMENTED for it."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and re.search(r"UNIMPLEMENTED|UnimplementedError", result.stderr):
        pytest.skip("the library does not implement it yet: " + result.stderr.strip().splitlines()[-1])
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def run_example(name, *args):
    out = run_program([sys.executable, os.path.join(ROOT, "examples", "python", name)] + [str(a) for a in args])
    found = re.search(r"Slope: (\S+) Intercept: (\S+)", out)
    assert found, out
    return float(found.group(1)), float(found.group(2)), out


def run_c_example(name, *args):
    exe = os.path.join(EXAMPLES_DIR, name)
    if not os.access(exe, os.X_OK):
        pytest.skip("the C example %s is not built" % exe)
    return run_program([exe] + [str(a) for a in args])


def fit_after(out, label):
    found = re.search(re.escape(label) + r".*?Slope: (\S+) Intercept: (\S+)", out)
    assert found, out
    return float(found.group(1)), float(found.group(2))


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


def assert_descent(fit, steps):
    ref_m, ref_b = reference_descent(steps)
    assert abs(fit[0] - ref_m) < 2e-4 and abs(fit[1] - ref_b) < 5e-4, (fit, (ref_m, ref_b))


@need(TRAIN)
def test_save_restore_resumes_in_a_fresh_process(tmp_path):
    # 150 + 150 steps, far from converged: a resume that restarted or lost a step shows
    out = run_example("save_restore.py", tmp_path, 150, 50)[2]
    assert "No checkpoint" in out
    assert_descent(fit_after(out, "Step: 150"), 150)
    out = run_example("save_restore.py", tmp_path, 150, 50)[2]
    assert "Restored" in out and "model.ckpt-150" in out
    assert_descent(fit_after(out, "Step: 300"), 300)
    kept = sorted(int(f.split("-")[1].split(".")[0]) for f in os.listdir(tmp_path) if f.endswith(".index"))
    assert kept == [200, 250, 300]  # max_to_keep=3


@need(TRAIN)
def test_fine_tune_trains_only_the_head(tmp_path):
    run_example("save_restore.py", tmp_path, 10000)
    out = run_example("fine_tune.py", tmp_path, 3000)[2]
    assert "(unchanged)" in out
    assert_descent(fit_after(out, "Pretrained after"), 10000)
    losses = [float(v) for v in re.findall(r"Head loss at step \d+: (\S+)", out)]
    assert len(losses) == 2 and losses[1] < 1e-3 and losses[1] < losses[0] / 20, losses
    assert os.path.exists(os.path.join(tmp_path, "fine_tuned.ckpt.index"))


@need(TRAIN)
@pytest.mark.parametrize("first,second", [("python", "c"), ("c", "python")])
def test_checkpoints_move_between_python_and_c(tmp_path, first, second):
    """A checkpoint saved by one language's example is resumed by the other's, and its
    meta graph fine-tuned by the other's."""
    def save_restore(lang):
        if lang == "python":
            return run_example("save_restore.py", tmp_path, 150, 50)[2]
        return run_c_example("save_restore", tmp_path, "--steps", 150, "--every", 50)

    save_restore(first)
    out = save_restore(second)
    assert "Restored" in out
    assert_descent(fit_after(out, "Step: 300"), 300)
    # the second language's meta graph goes back to the first for fine-tuning
    if first == "python":
        out = run_example("fine_tune.py", tmp_path, 500)[2]
    else:
        out = run_c_example("fine_tune", tmp_path, "--steps", 500)
    assert "(unchanged)" in out
    assert_descent(fit_after(out, "Pretrained after"), 300)
