"""Graphs as files through the bindings: as_graph_def / import_graph_def (prefix,
input_map, return_elements), write_graph, Session.graph_def, export_meta_graph /
import_meta_graph with collections and continued training. Values are checked
against numpy."""
import os

import numpy as np
import pytest

import tfmini as tf
from conftest import RUN, TRAIN, need

GRAPH_IO = ("tfm_graph_to_graph_def_ex", "tfm_import_graph_def_mapped", "tfm_write_graph")
META = ("tfm_export_meta_graph", "tfm_import_meta_graph", "tfm_saver_new", "tfm_saver_save", "tfm_saver_restore")

W = np.array([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]], np.float32)
X = np.array([[1, 2, 3], [-1, 0, 0.5]], np.float32)


def build_model():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.constant(W, name="w")
    return tf.nn.relu(tf.matmul(x, w), name="out")


def reference():
    return np.maximum(X.astype(np.float64) @ W.astype(np.float64), 0)


@need(RUN, *GRAPH_IO)
def test_as_graph_def_then_import_gives_the_same_graph_and_values():
    build_model()
    g1 = tf.get_default_graph()
    gd = g1.as_graph_def()
    assert isinstance(gd, tf.GraphDef) and gd.ByteSize() > 0
    g2 = tf.Graph()
    with g2.as_default():
        assert tf.import_graph_def(gd, name="") is None
        with tf.Session() as sess:
            out = sess.run("out:0", {"x:0": X})
            assert sess.graph_def == gd  # exporting the import gives the same bytes
    assert [op.name for op in g2.get_operations()] == [op.name for op in g1.get_operations()]
    assert [op.type for op in g2.get_operations()] == [op.type for op in g1.get_operations()]
    np.testing.assert_allclose(out, reference(), rtol=1e-6)


@need(RUN, *GRAPH_IO)
def test_import_graph_def_names_maps_inputs_and_returns_elements():
    build_model()
    gd = tf.get_default_graph().as_graph_def()
    tf.reset_default_graph()
    feed = tf.constant(X, name="my_x")
    out, op = tf.import_graph_def(gd, input_map={"x": feed}, return_elements=["out:0", "out"])
    assert out.name == "import/out:0" and op.name == "import/out"  # TF's default prefix
    (again,) = tf.import_graph_def(gd, input_map={"x:0": feed}, return_elements=["out:0"], name="m")
    assert again.name == "m/out:0"
    with tf.Session() as sess:
        a, b = sess.run([out, again])
    np.testing.assert_allclose(a, reference(), rtol=1e-6)
    np.testing.assert_array_equal(a, b)


@need(RUN, *GRAPH_IO)
def test_import_graph_def_errors_are_typed_and_named():
    build_model()
    gd = tf.get_default_graph().as_graph_def().SerializeToString()
    with pytest.raises(tf.errors.DataLossError):
        tf.import_graph_def(b"\x0a\xff\xff\xff\xff\x0f", name="bad")
    bad = gd.replace(b"Relu", b"Relz")  # the op type of node "out"
    with pytest.raises(tf.errors.UnimplementedError, match="'out'.*Relz"):
        tf.import_graph_def(bad, name="u")
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.import_graph_def(gd, name="")
    n = len(tf.get_default_graph().get_operations())
    tf.import_graph_def(gd, name="ok")
    assert len(tf.get_default_graph().get_operations()) == 2 * n


@need(RUN, *GRAPH_IO)
def test_write_graph_binary_and_text(tmp_path):
    build_model()
    g = tf.get_default_graph()
    path = tf.train.write_graph(g, str(tmp_path), "model.pb", as_text=False)
    assert path == os.path.join(str(tmp_path), "model.pb")
    with open(path, "rb") as f:
        assert tf.GraphDef.FromString(f.read()) == g.as_graph_def()
    text_path = tf.train.write_graph(g.as_graph_def(), str(tmp_path), "model.pbtxt", as_text=True)
    text = open(text_path).read()
    assert text.startswith("node {") and 'name: "out"' in text and 'op: "Relu"' in text


@need(TRAIN, *GRAPH_IO, *META)
def test_meta_graph_round_trip_continues_training(tmp_path):
    xs = np.arange(8, dtype=np.float32)
    ys = np.array([-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00], np.float32)
    m = tf.Variable(-0.5, name="m")
    b = tf.Variable(1.0, name="b")
    with tf.name_scope("loss"):
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        loss = tf.reduce_sum(tf.square(m * xs + b - ys), name="loss")
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss, global_step=step, name="train_op")
    tf.add_to_collection("hyperparameters", 0.5)
    tf.add_to_collection("hyperparameters", 3)
    saver = tf.train.Saver()
    prefix = str(tmp_path / "model")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run(train)
        path = saver.save(sess, prefix, global_step=5)
        mv, bv = sess.run([m, b])
    assert os.path.exists(path + ".meta")

    tf.reset_default_graph()
    saver2 = tf.train.import_meta_graph(path + ".meta")
    g = tf.get_default_graph()
    assert [v.name for v in tf.trainable_variables()] == ["m:0", "b:0"]
    assert len(tf.global_variables()) == 3
    assert tf.get_collection("hyperparameters") == [0.5, 3.0]  # a FloatList, as TF writes it
    assert tf.get_collection("train_op")[0].name == "loss/train_op"
    gs = g.get_tensor_by_name("loss/global_step:0")
    train2 = g.get_operation_by_name("loss/train_op")
    with tf.Session() as sess:
        saver2.restore(sess, path)
        np.testing.assert_array_equal(sess.run(["m:0", "b:0"]), [mv, bv])
        for _ in range(3):
            sess.run(train2)
        m3, b3, s3 = sess.run(["m/read:0", "b/read:0", gs])
    # The same three steps in float64: d/dm = sum(2 e x), d/db = sum(2 e).
    mr, br = float(mv), float(bv)
    for _ in range(3):
        e = mr * xs.astype(np.float64) + br - ys
        mr, br = mr - 0.01 * np.sum(2 * e * xs), br - 0.01 * np.sum(2 * e)
    assert s3 == 8
    np.testing.assert_allclose([m3, b3], [mr, br], rtol=1e-4, atol=1e-5)  # float32 sums of 8 terms


@need(RUN, *META)
def test_export_meta_graph_and_import_under_a_scope(tmp_path):
    build_model()
    v = tf.Variable([1.0, 2.0], name="v")
    path = str(tmp_path / "g.meta")
    tf.train.export_meta_graph(path)
    tf.reset_default_graph()
    assert tf.train.import_meta_graph(path, import_scope="s") is None  # no Saver in it
    g = tf.get_default_graph()
    assert g.get_tensor_by_name("s/out:0").op.type == "Relu"
    assert [x.name for x in tf.global_variables()] == ["s/v:0"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run("s/out:0", {"s/x:0": X}), reference(), rtol=1e-6)
        assert list(sess.run("s/v:0")) == [1.0, 2.0]
    assert v is not None
