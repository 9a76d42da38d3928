"""Shared fixtures: a fresh default graph per test, and skips for C functions the
library under test does not export yet (each skip names them)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python"))

import tfmini as tf  # noqa: E402
from tfmini import _lib  # noqa: E402

GRAPH = ["tfm_graph_new", "tfm_placeholder", "tfm_constant", "tfm_graph_get_tensor_by_name"]
RUN = GRAPH + ["tfm_session_new", "tfm_session_run"]
TRAIN = RUN + ["tfm_variable_new", "tfm_global_variables_initializer", "tfm_gradients",
               "tfm_optimizer_gradient_descent", "tfm_optimizer_minimize"]


def need(*names):
    """Skips a test when the library lacks any of these functions (lists of names flatten)."""
    flat = []
    for n in names:
        flat.extend(n if isinstance(n, list) else [n])
    missing = [n for n in flat if not _lib.has(n)]
    return pytest.mark.skipif(bool(missing), reason="libtfmini lacks " + ", ".join(missing))


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()
