"""Loading the library, version, and the stubs for functions it lacks."""
import os
import subprocess
import sys

import pytest

import tfmini as tf
from tfmini import _lib

PKG_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python")


def _import_with(env_path):
    env = dict(os.environ, PYTHONPATH=PKG_DIR, TFMINI_LIBRARY=env_path)
    return subprocess.run([sys.executable, "-c", "import tfmini"], env=env, capture_output=True, text=True)


def test_version_matches_meson_project_version():
    meson = open(os.path.join(os.path.dirname(__file__), "..", "..", "meson.build")).read()
    assert "version : '%s'" % tf.__version__ in meson


def test_tfmini_library_env_var_is_used():
    env = os.environ.get("TFMINI_LIBRARY")
    if env is None:
        pytest.skip("TFMINI_LIBRARY is not set")
    assert _lib.path == env


def test_build_tree_is_found_without_the_env_var():
    built = os.path.abspath(os.path.join(PKG_DIR, "..", "..", "build", "lib", "libtfmini.so"))
    if not os.path.exists(built):
        pytest.skip("no build tree at %s" % built)
    env = {k: v for k, v in os.environ.items() if k != "TFMINI_LIBRARY"}
    env["PYTHONPATH"] = PKG_DIR
    result = subprocess.run([sys.executable, "-c", "from tfmini import _lib; print(_lib.path)"],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert os.path.samefile(result.stdout.strip(), built)


def test_bad_tfmini_library_is_an_import_error_naming_where_it_looked():
    result = _import_with("/nonexistent/libtfmini.so")
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "/nonexistent/libtfmini.so" in result.stderr and "TFMINI_LIBRARY" in result.stderr


def test_missing_c_function_raises_unimplemented_naming_it():
    stub = _lib._missing("tfm_does_not_exist")
    with pytest.raises(tf.errors.UnimplementedError) as info:
        stub(1, 2)
    assert "tfm_does_not_exist" in info.value.message
    assert info.value.error_code == tf.errors.UNIMPLEMENTED


def test_every_public_header_function_is_declared():
    """Each TFM_API function of include/tfmini/*.h has an argtypes/restype declaration."""
    import re
    inc = os.path.join(os.path.dirname(__file__), "..", "..", "include", "tfmini")
    names = set()
    for header in os.listdir(inc):
        if header.endswith(".h"):
            text = open(os.path.join(inc, header)).read()
            names |= set(re.findall(r"TFM_API[^;(]*?\b(tfm_\w+)\s*\(", text))
    declared = set(_lib._DECLS)
    assert len(names) > 150
    missing = sorted(names - declared)
    assert not missing, "not declared in _lib.py: %s" % missing


def test_exported_functions_get_their_declared_types():
    f = _lib.fn.tfm_dtype_name
    assert f.restype is _lib.c_char_p and f.argtypes == [_lib.c_int]
    assert _lib.fn.tfm_dtype_name(1) == b"float32"


def test_num_threads_round_trip_and_negative_is_invalid_argument():
    before = tf.get_num_threads()
    tf.set_num_threads(1)
    assert tf.get_num_threads() == 1
    tf.set_num_threads(before)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.set_num_threads(-1)
