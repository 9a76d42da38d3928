"""tf.GraphDef, Graph.as_graph_def and tf.import_graph_def over include/tfmini/io.h.

Graphs travel as the bytes of a serialized tensorflow.GraphDef (binary wire format):
GraphDef keeps them with protobuf's SerializeToString/ParseFromString, so files
TensorFlow writes (tf.gfile / open(...).read()) and libtfmini's own go both ways."""
import ctypes

from . import _lib
from ._lib import cstr, fn
from .framework import Graph, get_default_graph


class GraphDef:
    """A serialized tensorflow.GraphDef. Its nodes are not parsed in Python: import it
    into a Graph to look at them."""

    def __init__(self, data=b""):
        self._data = bytes(data)

    @classmethod
    def FromString(cls, data):  # noqa: N802 (protobuf's name)
        return cls(data)

    def SerializeToString(self):  # noqa: N802
        return self._data

    def ParseFromString(self, data):  # noqa: N802
        self._data = bytes(data)
        return len(self._data)

    def ByteSize(self):  # noqa: N802
        return len(self._data)

    def __eq__(self, other):
        return isinstance(other, GraphDef) and other._data == self._data

    def __repr__(self):
        return "<tf.GraphDef of %d bytes>" % len(self._data)


def _buffer_bytes(handle):
    try:
        return ctypes.string_at(fn.tfm_buffer_data(handle), fn.tfm_buffer_size(handle))
    finally:
        fn.tfm_buffer_delete(handle)


def graph_to_graph_def(graph, add_shapes=False, as_text=False):
    """The GraphDef of `graph` (with `_output_shapes` attrs when add_shapes)."""
    return _buffer_bytes(_lib.call(fn.tfm_graph_to_graph_def_ex, graph._ptr, int(bool(as_text)),
                                   int(bool(add_shapes))))


def _serialized(graph_def):
    if isinstance(graph_def, GraphDef):
        return graph_def.SerializeToString()
    if isinstance(graph_def, (bytes, bytearray, memoryview)):
        return bytes(graph_def)
    if hasattr(graph_def, "SerializeToString"):  # a protobuf message (e.g. TensorFlow's own)
        return graph_def.SerializeToString()
    raise TypeError("graph_def must be a GraphDef or its serialized bytes, not %s" % type(graph_def).__name__)


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None, op_dict=None,
                     producer_op_list=None):
    """tf.import_graph_def: imports into the default graph under `name` ("import" when
    None, as TensorFlow; "" for the names as written). input_map maps tensor names of
    the GraphDef ("x:0") to Tensors of the default graph; return_elements names ops or
    tensors ("op", "op:0") of the GraphDef to return, in that order."""
    graph = get_default_graph()
    data = _serialized(graph_def)
    prefix = "import" if name is None else name
    keys, values = [], []
    for key, value in (input_map or {}).items():
        tensor = graph.as_graph_element(value)
        if getattr(tensor, "graph", graph) is not graph:
            raise ValueError("input_map value %r is not in the default graph" % (value,))
        keys.append(cstr(key if ":" in key or key.startswith("^") else key + ":0"))
        values.append(tensor._ptr)
    key_array = (ctypes.c_char_p * len(keys))(*keys) if keys else None
    _lib.call(fn.tfm_import_graph_def_mapped, graph._builder_ptr, data, len(data), 0, cstr(prefix), key_array,
              _lib.handles(values), len(keys))
    if not return_elements:
        return None
    scope = prefix.rstrip("/") + "/" if prefix else ""
    return [graph.as_graph_element(scope + e) for e in return_elements]


def write_graph_def_file(graph_or_graph_def, logdir, name, as_text):
    """tf.train.write_graph for a Graph or a GraphDef."""
    if isinstance(graph_or_graph_def, Graph):
        _lib.call(fn.tfm_write_graph, graph_or_graph_def._ptr, cstr(logdir), cstr(name), int(bool(as_text)))
        return
    temp = Graph()  # a GraphDef: through a graph of its own (text needs the C printer)
    with temp.as_default():
        import_graph_def(graph_or_graph_def, name="")
    _lib.call(fn.tfm_write_graph, temp._ptr, cstr(logdir), cstr(name), int(bool(as_text)))
