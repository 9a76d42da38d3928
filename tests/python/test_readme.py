"""The README's Python example runs as printed and fits what least squares fits."""
import os
import re
import subprocess
import sys

import numpy as np

from conftest import TRAIN, need

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


@need(TRAIN)
def test_readme_python_example_runs(tmp_path):
    with open(os.path.join(ROOT, "README.md")) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert blocks, "README.md has no Python example"
    script = tmp_path / "fit.py"
    script.write_text(blocks[0])
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    found = re.search(r"Slope: (\S+) Intercept: (\S+)", out.stdout)
    ls_m, ls_b = np.polyfit(np.arange(8.0), [-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00], 1)
    assert found and abs(float(found.group(1)) - ls_m) < 2e-4 and abs(float(found.group(2)) - ls_b) < 5e-4
