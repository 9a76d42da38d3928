"""Graphs, names, scopes, collections and lookups (no session needed)."""
import pytest

import tfmini as tf
from conftest import GRAPH, need

pytestmark = need(GRAPH, "tfm_graph_push_name_scope")
ARITH = ["tfm_add", "tfm_sub", "tfm_mul", "tfm_div", "tfm_neg", "tfm_pow"]


@need(ARITH)
def test_tensors_and_ops_have_tf_names_types_and_graphs():
    a = tf.placeholder(tf.float32, [None, 3], name="a")
    c = tf.constant([[1.0, 2.0, 3.0]], name="c")
    s = tf.add(a, c, name="s")
    assert a.name == "a:0" and s.name == "s:0" and s.op.name == "s"
    assert a.op.type == "Placeholder" and c.op.type == "Const"
    assert s.dtype is tf.float32 and s.graph is tf.get_default_graph()
    assert [t.name for t in s.op.inputs] == ["a:0", "c:0"]
    assert s.op.outputs == [s] and s.op.graph is s.graph


@need("tfm_matmul", "tfm_zeros", "tfm_reduce_sum")
def test_static_shapes_are_inferred():
    a = tf.placeholder(tf.float32, [None, 3])
    assert a.shape.as_list() == [None, 3] and a.get_shape().ndims == 2
    assert a.shape[1].value == 3 and a.shape[0].value is None
    b = tf.matmul(a, tf.zeros([3, 5]))
    assert b.shape.as_list() == [None, 5]
    assert tf.placeholder(tf.float32).shape.ndims is None
    assert tf.reduce_sum(tf.zeros([2, 4]), axis=1, keepdims=True).shape.as_list() == [2, 1]


def test_names_are_made_unique_as_tensorflow_does():
    x = tf.constant(1.0)
    y = tf.constant(2.0)
    assert x.op.name == "Const" and y.op.name == "Const_1"


def test_name_scope_prefixes_and_nests():
    with tf.name_scope("outer") as scope:
        assert scope == "outer/"
        with tf.name_scope("inner"):
            c = tf.constant(1.0, name="c")
    assert c.name == "outer/inner/c:0"
    with tf.name_scope("outer"):
        d = tf.constant(1.0, name="d")
    assert d.name == "outer_1/d:0"


def test_lookup_by_name_returns_the_same_objects():
    g = tf.get_default_graph()
    c = tf.constant(3.0, name="three")
    assert g.get_tensor_by_name("three:0") is c
    assert g.get_operation_by_name("three") is c.op
    assert c.op in g.get_operations()


def test_lookup_of_a_missing_name_is_not_found():
    with pytest.raises(tf.errors.NotFoundError, match="nothere"):
        tf.get_default_graph().get_operation_by_name("nothere")
    with pytest.raises((tf.errors.NotFoundError, tf.errors.InvalidArgumentError)):
        tf.get_default_graph().get_tensor_by_name("nothere:0")


def test_graph_as_default_and_reset():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(1.0)
        assert tf.get_default_graph() is g
    assert c.graph is g and tf.get_default_graph() is not g
    before = tf.get_default_graph()
    tf.reset_default_graph()
    assert tf.get_default_graph() is not before


@need(ARITH)
def test_mixing_graphs_is_refused():
    g = tf.Graph()
    with g.as_default():
        a = tf.constant(1.0)
    b = tf.constant(2.0)
    with pytest.raises(ValueError):
        tf.add(a, b)


def test_collections_hold_tensors_ops_numbers_and_python_objects():
    c = tf.constant(1.0, name="c")
    marker = object()
    for item in (c, c.op, 7, 2.5, b"bytes", marker):
        tf.add_to_collection("mine", item)
    got = tf.get_collection("mine")
    assert got[0] is c and got[1] is c.op and got[2:5] == [7, 2.5, b"bytes"] and got[5] is marker
    assert tf.get_collection("absent") == []
    assert "mine" in tf.get_default_graph().get_all_collection_keys()


def test_control_dependencies_are_recorded():
    a = tf.constant(1.0, name="a")
    with tf.control_dependencies([a]):
        b = tf.constant(2.0, name="b")
    assert b.op.control_inputs == [a.op]


@need(ARITH)
def test_operator_overloads_build_the_tf_op_types():
    a = tf.placeholder(tf.float32, [2], name="a")
    b = tf.placeholder(tf.float32, [2], name="b")
    expr = {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "neg": -a, "pow": a ** 2.0, "radd": 1.0 + a}
    types = {k: v.op.type for k, v in expr.items()}
    assert types["+"] in ("Add", "AddV2") and types["-"] == "Sub" and types["*"] == "Mul"
    assert types["/"] in ("RealDiv", "Div") and types["neg"] == "Neg" and types["pow"] == "Pow"
    assert expr["radd"].op.inputs[1] is a


@need(ARITH)
def test_python_operand_takes_the_tensor_dtype():
    a = tf.placeholder(tf.float64, [2])
    assert (a * 2).dtype is tf.float64 and (3 - a).dtype is tf.float64


@need("tfm_matmul", "tfm_zeros")
def test_shape_mismatch_at_build_time_is_invalid_argument_naming_shapes():
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.matmul(tf.zeros([2, 3]), tf.zeros([4, 2]))


def test_tensor_is_not_a_python_bool():
    with pytest.raises(TypeError):
        bool(tf.constant(1.0))


def test_unsupported_features_fail_naming_them():
    with pytest.raises(tf.errors.UnimplementedError, match="tf.cond"):
        tf.cond(True, lambda: 1, lambda: 2)
    with pytest.raises(tf.errors.UnimplementedError, match="tf.data"):
        tf.data.Dataset


@need("tfm_op_builder_new")
def test_generic_op_builder_adds_registered_ops_and_names_unknown_ones():
    g = tf.get_default_graph()
    a = tf.constant([1.0, -2.0])
    op = g.create_op("Identity", [a], attrs={"T": tf.float32}, name="via_builder")
    assert op.type == "Identity" and op.outputs[0].shape.as_list() == [2]
    with pytest.raises(tf.errors.UnimplementedError, match="NoSuchOp"):
        g.create_op("NoSuchOp", [a])


@need("tfm_variable_new", "tfm_get_variable")
def test_variables_scopes_and_reuse():
    v = tf.Variable(tf.zeros([2]), name="v")
    assert v.name == "v:0" and v.op.name == "v" and v.op.type == "VariableV2"
    assert v.initializer.type == "Assign" and v.dtype is tf.float32 and v.shape.as_list() == [2]
    with tf.variable_scope("layer"):
        w = tf.get_variable("w", [3, 4], initializer=tf.zeros_initializer())
    assert w.name == "layer/w:0" and w.shape.as_list() == [3, 4]
    with tf.variable_scope("layer", reuse=True):
        assert tf.get_variable("w", [3, 4]) is w
    with tf.variable_scope("layer") as scope:
        scope.reuse_variables()
        assert tf.get_variable("w", [3, 4]) is w
    with tf.variable_scope("layer", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("w", [3, 4]) is w
        fresh = tf.get_variable("b", [4], initializer=tf.zeros_initializer())
    assert fresh.name == "layer/b:0"
    with pytest.raises((tf.errors.AlreadyExistsError, ValueError)):
        with tf.variable_scope("layer"):
            tf.get_variable("w", [3, 4])
    assert tf.global_variables() == [v, w, fresh]
    assert tf.trainable_variables() == [v, w, fresh]
    t = tf.Variable(1, trainable=False, name="t")
    assert t in tf.global_variables() and t not in tf.trainable_variables()


def test_dropped_graphs_free_their_library_memory_without_gc():
    import gc
    from tfmini import _lib

    def build_and_drop():
        g = tf.Graph()
        with g.as_default():
            x = tf.placeholder(tf.float32, [4], name="x")
            for i in range(20):
                tf.add_to_collection("c", tf.constant(float(i)))
            g.get_collection("c")
            assert g.get_tensor_by_name("x:0") is x

    build_and_drop()
    gc.disable()
    try:
        before = _lib.fn.tfm_debug_bytes_in_use()
        for _ in range(50):
            build_and_drop()
        assert _lib.fn.tfm_debug_bytes_in_use() == before
    finally:
        gc.enable()


def test_wrappers_are_one_per_handle_while_held():
    c = tf.constant(1.0, name="held")
    op = c.op
    assert c.op is op and tf.get_default_graph().get_operation_by_name("held") is op


@need("tfm_op_builder_new")
def test_a_list_holding_tensors_is_packed():
    a = tf.constant(1.0)
    packed = tf.convert_to_tensor([a, 2.0, a])
    assert packed.op.type == "Pack" and packed.shape.as_list() == [3]


def test_as_default_is_per_thread():
    import threading
    g = tf.Graph()
    inside = threading.Event()
    leave = threading.Event()
    seen = []

    def worker():
        with g.as_default():
            seen.append(tf.get_default_graph())
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    try:
        assert seen == [g] and tf.get_default_graph() is not g
    finally:
        leave.set()
        t.join()
