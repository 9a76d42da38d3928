"""Graph, Operation and Tensor: Python objects over the library's graph handles.

A Graph owns its C graph (freed when the Graph object goes). Operation and Tensor
objects keep their Graph alive. The Graph caches them weakly, one per C handle, so
identity holds while anyone holds them (a Tensor as a dict key, `t.op is u.op`)
and no reference cycle delays freeing the C graph.
"""
import contextlib
import ctypes
import re
import threading
import weakref

import numpy as np

from . import _lib, dtypes, errors, numpy_interop
from ._lib import fn, cstr
from .tensor_shape import TensorShape


class GraphKeys:
    """Standard collection names (tf.GraphKeys)."""
    GLOBAL_VARIABLES = "variables"
    VARIABLES = "variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    TRAIN_OP = "train_op"
    GLOBAL_STEP = "global_step"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    UPDATE_OPS = "update_ops"
    SUMMARIES = "summaries"
    INIT_OP = "init_op"
    SAVERS = "savers"


_KIND_OP, _KIND_OUTPUT, _KIND_VARIABLE, _KIND_INT, _KIND_FLOAT, _KIND_BYTES = range(6)


class Graph:
    """tf.Graph."""

    def __init__(self):
        self._handle = _lib.call(fn.tfm_graph_new)
        self._ops = weakref.WeakValueDictionary()
        self._tensors = weakref.WeakValueDictionary()
        self._variables = weakref.WeakValueDictionary()
        self._py_collections = {}  # items the library cannot hold (arbitrary Python objects)
        self._open_sessions = weakref.WeakSet()
        self._finalized = False
        self.seed = None

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            # Sessions over the graph go first (possible when both are in a garbage cycle).
            for session in list(self._open_sessions):
                session.close()
            self._handle = None
            fn.tfm_graph_delete(handle)

    @property
    def _ptr(self):
        return self._handle

    @property
    def _builder_ptr(self):
        """The handle, for calls that add ops (refused once finalized, as TF does)."""
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        return self._handle

    # ---- default graph ----
    @contextlib.contextmanager
    def as_default(self):
        stack = _graph_stack()
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def finalize(self):
        self._finalized = True

    @property
    def finalized(self):
        return self._finalized

    # ---- wrappers, one per handle ----
    def _wrap_op(self, ptr):
        op = self._ops.get(ptr)
        if op is None:
            op = Operation(self, ptr)
            self._ops[ptr] = op
        return op

    def _wrap_tensor(self, ptr):
        t = self._tensors.get(ptr)
        if t is None:
            t = Tensor(self, ptr)
            self._tensors[ptr] = t
        return t

    def _wrap_variable(self, ptr):
        v = self._variables.get(ptr)
        if v is None:
            from .variables import Variable
            v = Variable._from_handle(self, ptr)
            self._variables[ptr] = v
        return v

    # ---- serialization ----
    def as_graph_def(self, from_version=None, add_shapes=False):
        """The graph as a tf.GraphDef (with `_output_shapes` attrs when add_shapes)."""
        from .importer import GraphDef, graph_to_graph_def
        return GraphDef(graph_to_graph_def(self, add_shapes=add_shapes))

    @property
    def graph_def_versions(self):
        from types import SimpleNamespace
        return SimpleNamespace(producer=26, min_consumer=0)

    # ---- lookups ----
    def get_operations(self):
        return [self._wrap_op(fn.tfm_graph_op_at(self._handle, i))
                for i in range(fn.tfm_graph_num_ops(self._handle))]

    def get_operation_by_name(self, name):
        return self._wrap_op(_lib.call(fn.tfm_graph_get_operation_by_name, self._handle, cstr(name)))

    def get_tensor_by_name(self, name):
        return self._wrap_tensor(_lib.call(fn.tfm_graph_get_tensor_by_name, self._handle, cstr(name)))

    def as_graph_element(self, obj):
        """A Tensor, Operation or Variable from itself or its name ("op" or "op:0")."""
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        if hasattr(obj, "_as_graph_element"):
            obj = obj._as_graph_element()
        if isinstance(obj, (Tensor, Operation)):
            if obj.graph is not self:
                raise ValueError("%s is not an element of this graph." % obj)
            return obj
        raise TypeError("Can not convert a %s into a Tensor or Operation." % type(obj).__name__)

    # ---- scopes ----
    @contextlib.contextmanager
    def name_scope(self, name):
        _lib.call(fn.tfm_graph_push_name_scope, self._handle, cstr(name or ""))
        try:
            scope = fn.tfm_graph_name_scope(self._handle).decode()
            yield scope + "/" if scope else ""
        finally:
            _lib.call(fn.tfm_graph_pop_name_scope, self._handle)

    def get_name_scope(self):
        return fn.tfm_graph_name_scope(self._handle).decode()

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        if control_inputs is None:
            raise errors.unimplemented("control_dependencies(None) (clearing the control dependencies)")
        ops = [_as_op(x, self)._ptr for x in control_inputs]
        _lib.call(fn.tfm_graph_push_control_dependencies, self._handle, _lib.handles(ops), len(ops))
        try:
            yield
        finally:
            _lib.call(fn.tfm_graph_pop_control_dependencies, self._handle)

    # ---- collections ----
    def add_to_collection(self, name, value):
        from .variables import Variable
        h, key = self._handle, cstr(name)
        if isinstance(value, Variable):
            _lib.call(fn.tfm_graph_add_to_collection_variable, h, key, value._handle)
        elif isinstance(value, Tensor):
            _lib.call(fn.tfm_graph_add_to_collection_output, h, key, value._ptr)
        elif isinstance(value, Operation):
            _lib.call(fn.tfm_graph_add_to_collection_op, h, key, value._ptr)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            _lib.call(fn.tfm_graph_add_to_collection_int, h, key, int(value))
        elif isinstance(value, (float, np.floating)):
            _lib.call(fn.tfm_graph_add_to_collection_float, h, key, float(value))
        elif isinstance(value, (bytes, str)):
            data = value.encode() if isinstance(value, str) else value
            _lib.call(fn.tfm_graph_add_to_collection_bytes, h, key, data, len(data))
        else:
            self._py_collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value):
        for name in ([names] if isinstance(names, str) else names):
            self.add_to_collection(name, value)

    def get_collection(self, name, scope=None):
        items = [self._collection_item(name, i)
                 for i in range(fn.tfm_graph_collection_size(self._handle, cstr(name)))]
        items += self._py_collections.get(name, [])
        if scope is None:
            return items
        pattern = re.compile(scope)
        return [x for x in items if hasattr(x, "name") and pattern.match(x.name)]

    def to_dot(self):
        """The graph in Graphviz's DOT language (str): ops labelled with type and
        shape, variables and placeholders drawn distinctly, name scopes as clusters.
        Render with `dot -Tsvg graph.dot -o graph.svg`."""
        buf = _lib.call(fn.tfm_graph_to_dot, self._handle)
        try:
            return ctypes.string_at(fn.tfm_buffer_data(buf), fn.tfm_buffer_size(buf)).decode("utf-8", "replace")
        finally:
            fn.tfm_buffer_delete(buf)

    def get_all_collection_keys(self):
        keys = [fn.tfm_graph_collection_key(self._handle, i).decode()
                for i in range(fn.tfm_graph_num_collections(self._handle))]
        return keys + [k for k in self._py_collections if k not in keys]

    def _collection_item(self, name, i):
        h, key = self._handle, cstr(name)
        kind = ctypes.c_int()
        _lib.call(fn.tfm_graph_collection_item_kind, h, key, i, ctypes.byref(kind))
        kind = kind.value
        if kind == _KIND_OP:
            return self._wrap_op(_lib.call(fn.tfm_graph_collection_op, h, key, i))
        if kind == _KIND_OUTPUT:
            return self._wrap_tensor(_lib.call(fn.tfm_graph_collection_output, h, key, i))
        if kind == _KIND_VARIABLE:
            return self._wrap_variable(_lib.call(fn.tfm_graph_collection_variable, h, key, i))
        if kind == _KIND_INT:
            v = ctypes.c_int64()
            _lib.call(fn.tfm_graph_collection_int, h, key, i, ctypes.byref(v))
            return v.value
        if kind == _KIND_FLOAT:
            v = ctypes.c_double()
            _lib.call(fn.tfm_graph_collection_float, h, key, i, ctypes.byref(v))
            return v.value
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        _lib.call(fn.tfm_graph_collection_bytes, h, key, i, ctypes.byref(data), ctypes.byref(size))
        return ctypes.string_at(data.value, size.value) if size.value else b""

    # ---- generic op creation ----
    def create_op(self, op_type, inputs, dtypes=None, input_types=None, name=None, attrs=None,
                  control_inputs=()):
        """Adds an op of any registered type through the generic builder; returns the
        Operation. attrs: name -> value (DType, bool, int, float, str/bytes, TensorShape,
        NumPy array for a tensor attr, or a list of ints, floats or DTypes). An input
        may be a list (a list input such as AddN's)."""
        del dtypes, input_types  # inferred by the library
        setters = [_attr_setter(k, v) for k, v in (attrs or {}).items()]
        flat_inputs = [[convert_to_tensor(x)._ptr for x in i] if isinstance(i, (list, tuple))
                       else convert_to_tensor(i)._ptr for i in inputs]
        controls = [_as_op(c, self)._ptr for c in control_inputs]
        b = _lib.call(fn.tfm_op_builder_new, self._builder_ptr, cstr(op_type), cstr(name))
        for i in flat_inputs:
            if isinstance(i, list):
                fn.tfm_op_builder_add_inputs(b, _lib.handles(i), len(i))
            else:
                fn.tfm_op_builder_add_input(b, i)
        for c in controls:
            fn.tfm_op_builder_add_control_input(b, c)
        keep = [setter(b) for setter in setters]  # C arrays stay alive until finish
        op = self._wrap_op(_lib.call(fn.tfm_op_builder_finish, b))
        del keep
        return op

    @property
    def version(self):
        return fn.tfm_graph_num_ops(self._handle)


def _attr_setter(name, value):
    """A function setting attr `name` on a builder (converted before the builder exists)."""
    key = cstr(name)
    if isinstance(value, dtypes.DType) or (isinstance(value, type) and issubclass(value, np.generic)):
        enum = dtypes.as_dtype(value).as_datatype_enum
        return lambda b: fn.tfm_op_builder_set_attr_type(b, key, enum)
    if isinstance(value, (bool, np.bool_)):
        return lambda b: fn.tfm_op_builder_set_attr_bool(b, key, int(bool(value)))
    if isinstance(value, (int, np.integer)):
        return lambda b: fn.tfm_op_builder_set_attr_int(b, key, int(value))
    if isinstance(value, (float, np.floating)):
        return lambda b: fn.tfm_op_builder_set_attr_float(b, key, float(value))
    if isinstance(value, (str, bytes)):
        data = value.encode() if isinstance(value, str) else value
        return lambda b: fn.tfm_op_builder_set_attr_string(b, key, data, len(data))
    if isinstance(value, TensorShape):
        if value.ndims is None:
            return lambda b: fn.tfm_op_builder_set_attr_shape(b, key, None, -1)
        dims = _lib.int64s([-1 if d is None else d for d in value.as_list()])
        rank = value.ndims
        return lambda b: (fn.tfm_op_builder_set_attr_shape(b, key, dims, rank), dims)
    if isinstance(value, np.ndarray):
        arr = numpy_interop.to_ndarray(value)

        def set_tensor(b):
            t = numpy_interop.to_c_tensor(arr)
            fn.tfm_op_builder_set_attr_tensor(b, key, t)
            fn.tfm_tensor_release(t)  # the builder keeps its own reference
        return set_tensor
    if isinstance(value, (list, tuple)):
        n = len(value)
        if all(isinstance(v, dtypes.DType) for v in value) and n:
            arr = (ctypes.c_int * n)(*[v.as_datatype_enum for v in value])
            return lambda b: (fn.tfm_op_builder_set_attr_type_list(b, key, arr, n), arr)
        if all(isinstance(v, (int, np.integer)) for v in value):
            arr = _lib.int64s(value)
            return lambda b: (fn.tfm_op_builder_set_attr_int_list(b, key, arr, n), arr)
        if all(isinstance(v, (int, float, np.number)) for v in value):
            arr = (ctypes.c_float * max(n, 1))(*value)
            return lambda b: (fn.tfm_op_builder_set_attr_float_list(b, key, arr, n), arr)
    raise TypeError("tfmini: attr %r: cannot pass a value of type %s" % (name, type(value).__name__))


class Operation:
    """tf.Operation: a node of a Graph."""

    def __init__(self, graph, ptr):
        self._graph = graph
        self._ptr = ptr
        self._name = fn.tfm_op_name(ptr).decode()
        self._type = fn.tfm_op_type(ptr).decode()

    name = property(lambda self: self._name)
    type = property(lambda self: self._type)
    graph = property(lambda self: self._graph)

    @property
    def inputs(self):
        return [self._graph._wrap_tensor(fn.tfm_op_input(self._ptr, i))
                for i in range(fn.tfm_op_num_inputs(self._ptr))]

    @property
    def outputs(self):
        return [self._graph._wrap_tensor(fn.tfm_op_output(self._ptr, i))
                for i in range(fn.tfm_op_num_outputs(self._ptr))]

    def values(self):
        return tuple(self.outputs)

    @property
    def control_inputs(self):
        return [self._graph._wrap_op(fn.tfm_op_control_input(self._ptr, i))
                for i in range(fn.tfm_op_num_control_inputs(self._ptr))]

    def get_attr(self, name):
        """The attr's value, whatever its kind (int, float, bool, DType or bytes)."""
        key = cstr(name)
        getters = [(ctypes.c_int64, fn.tfm_op_attr_int, lambda v: v.value),
                   (ctypes.c_float, fn.tfm_op_attr_float, lambda v: v.value),
                   (ctypes.c_int, fn.tfm_op_attr_bool, lambda v: bool(v.value)),
                   (ctypes.c_int, fn.tfm_op_attr_type, lambda v: dtypes.as_dtype(v.value))]
        for ctype, getter, convert in getters:
            v = ctype()
            try:
                _lib.call(getter, self._ptr, key, ctypes.byref(v))
                return convert(v)
            except errors.InvalidArgumentError:
                continue  # another kind of attr
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        _lib.call(fn.tfm_op_attr_string, self._ptr, key, ctypes.byref(data), ctypes.byref(size))
        return ctypes.string_at(data.value, size.value) if size.value else b""

    def run(self, feed_dict=None, session=None):
        from .session import _session_for
        _session_for(session).run(self, feed_dict=feed_dict)

    @property
    def node_def(self):
        raise errors.unimplemented("Operation.node_def")

    def __repr__(self):
        return "<tf.Operation '%s' type=%s>" % (self._name, self._type)

    __str__ = __repr__


class TensorOperators:
    """The operator overloads of Tensor and Variable (TensorFlow's, through math_ops)."""

    def __add__(self, other):
        return _math().add(self, other)

    def __radd__(self, other):
        return _math().add(other, self)

    def __sub__(self, other):
        return _math().subtract(self, other)

    def __rsub__(self, other):
        return _math().subtract(other, self)

    def __mul__(self, other):
        return _math().multiply(self, other)

    def __rmul__(self, other):
        return _math().multiply(other, self)

    def __truediv__(self, other):
        return _math().truediv(self, other)

    def __rtruediv__(self, other):
        return _math().truediv(other, self)

    def __floordiv__(self, other):
        return _math().floordiv(self, other)

    def __rfloordiv__(self, other):
        return _math().floordiv(other, self)

    def __mod__(self, other):
        return _math().mod(self, other)

    def __pow__(self, other):
        return _math().pow(self, other)

    def __rpow__(self, other):
        return _math().pow(other, self)

    def __matmul__(self, other):
        return _math().matmul(self, other)

    def __rmatmul__(self, other):
        return _math().matmul(other, self)

    def __neg__(self):
        return _math().negative(self)

    def __abs__(self):
        return _math().abs(self)

    def __lt__(self, other):
        return _math().less(self, other)

    def __le__(self, other):
        return _math().less_equal(self, other)

    def __gt__(self, other):
        return _math().greater(self, other)

    def __ge__(self, other):
        return _math().greater_equal(self, other)

    def __and__(self, other):
        return _math().logical_and(self, other)

    def __or__(self, other):
        return _math().logical_or(self, other)

    def __invert__(self):
        return _math().logical_not(self)

    def __getitem__(self, key):
        from . import array_ops
        return array_ops.strided_slice_from_key(self, key)

    def __bool__(self):
        raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed. "
                        "Use `if t is not None:` instead of `if t:`.")

    def __iter__(self):
        raise TypeError("Tensor objects are only iterable when eager execution is enabled.")

    __hash__ = object.__hash__
    __array_ufunc__ = None  # NumPy operands defer to our reflected operators


def _math():
    from . import math_ops
    return math_ops


class Tensor(TensorOperators):
    """tf.Tensor: a symbolic output of an Operation."""

    def __init__(self, graph, ptr):
        self._graph = graph
        self._ptr = ptr
        buf = ctypes.create_string_buffer(256)
        n = fn.tfm_output_name(ptr, buf, 256)
        if n >= 256:
            buf = ctypes.create_string_buffer(n + 1)
            fn.tfm_output_name(ptr, buf, n + 1)
        self._name = buf.value.decode()
        self._dtype = dtypes.as_dtype(fn.tfm_output_dtype(ptr))

    name = property(lambda self: self._name)
    dtype = property(lambda self: self._dtype)
    graph = property(lambda self: self._graph)

    @property
    def op(self):
        return self._graph._wrap_op(fn.tfm_output_op(self._ptr))

    @property
    def value_index(self):
        return fn.tfm_output_index(self._ptr)

    @property
    def shape(self):
        rank = fn.tfm_output_rank(self._ptr)
        if rank < 0:
            return TensorShape(None)
        return TensorShape([fn.tfm_output_dim(self._ptr, i) for i in range(rank)])

    def get_shape(self):
        return self.shape

    def set_shape(self, shape):
        if not self.shape.is_compatible_with(shape):
            raise ValueError("Tensor %s: shape %s is not compatible with %s" % (self._name, self.shape, shape))
        if TensorShape(shape) != self.shape:
            raise errors.unimplemented("Tensor.set_shape refining a shape the library inferred")

    @property
    def consumers(self):
        raise errors.unimplemented("Tensor.consumers")

    def eval(self, feed_dict=None, session=None):
        from .session import _session_for
        return _session_for(session).run(self, feed_dict=feed_dict)

    def _as_graph_element(self):
        return self

    def __repr__(self):
        return "<tf.Tensor '%s' shape=%s dtype=%s>" % (self._name, self.shape, self._dtype.name)

    def __str__(self):
        return 'Tensor("%s", shape=%s, dtype=%s)' % (self._name, self.shape, self._dtype.name)


def _as_op(x, graph):
    """An Operation from an Operation, Tensor or Variable (for control dependencies)."""
    if hasattr(x, "_as_graph_element"):
        x = x._as_graph_element()
    if isinstance(x, Tensor):
        x = x.op
    if not isinstance(x, Operation):
        raise TypeError("Can not convert a %s into an Operation." % type(x).__name__)
    if x.graph is not graph:
        raise ValueError("Operation %s is from another graph." % x.name)
    return x


# ---- the default graph: one global graph, and a per-thread stack of as_default() ----
_thread = threading.local()
_default_graph = None


def _graph_stack():
    stack = getattr(_thread, "graphs", None)
    if stack is None:
        stack = _thread.graphs = []
    return stack


def get_default_graph():
    global _default_graph
    stack = _graph_stack()
    if stack:
        return stack[-1]
    if _default_graph is None:
        _default_graph = Graph()
    return _default_graph


def reset_default_graph():
    global _default_graph
    if _graph_stack():
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. "
                             "If you need a cleared graph, exit the nesting and create a new graph.")
    _default_graph = None


def graph_of(*values):
    """The graph of the Tensors/Variables among `values` (all the same), else the default."""
    graph = None
    for v in values:
        if isinstance(v, (list, tuple)):
            g = graph_of(*v) if any(hasattr(x, "graph") for x in v) else None
        else:
            g = getattr(v, "graph", None) if isinstance(v, (Tensor, Operation, TensorOperators)) else None
        if g is None:
            continue
        if graph is None:
            graph = g
        elif g is not graph:
            raise ValueError("%s must be from the same graph as the other inputs." % (v,))
    return graph if graph is not None else get_default_graph()


# ---- tensors from values ----
def constant_from_array(graph, arr, name="Const"):
    """A Const op holding NumPy array `arr` (copied by the library)."""
    t = numpy_interop.to_c_tensor(arr)
    try:
        return graph._wrap_tensor(_lib.call(fn.tfm_constant, graph._builder_ptr, t, cstr(name)))
    finally:
        fn.tfm_tensor_release(t)


def convert_to_tensor(value, dtype=None, name=None, graph=None):
    """tf.convert_to_tensor: a Tensor as is (dtype checked), a Variable's value, or a
    Const holding a Python/NumPy value (converted to `dtype` when given)."""
    if hasattr(value, "_as_tensor"):
        value = value._as_tensor()
    if isinstance(value, Tensor):
        if dtype is not None and dtypes.as_dtype(dtype) is not value.dtype:
            raise ValueError("Tensor conversion requested dtype %s for Tensor with dtype %s: %r"
                             % (dtypes.as_dtype(dtype).name, value.dtype.name, value))
        return value
    if isinstance(value, Operation):
        raise TypeError("Can not convert an Operation (%s) into a Tensor." % value.name)
    if isinstance(value, (list, tuple)) and _holds_tensors(value):
        from .array_ops import stack  # [t1, t2] packs, as in TensorFlow
        graph = graph or graph_of(value)
        return stack([convert_to_tensor(v, dtype, graph=graph) for v in value], name=name or "packed")
    arr = numpy_interop.to_ndarray(value, dtype)
    return constant_from_array(graph or get_default_graph(), arr, name or "Const")


def _holds_tensors(value):
    return any(isinstance(v, (Tensor, TensorOperators)) or
               (isinstance(v, (list, tuple)) and _holds_tensors(v)) for v in value)


def convert_like(value, other):
    """A Tensor from `value`; Python values take the dtype of Tensor `other`, as in TF."""
    if hasattr(value, "_as_tensor") or isinstance(value, Tensor):
        return convert_to_tensor(value)
    dtype = other.dtype if isinstance(other, Tensor) else None
    return convert_to_tensor(value, dtype, graph=other.graph if isinstance(other, Tensor) else None)


def name_scope(name, default_name=None, values=None):
    """tf.name_scope(name, default_name=None, values=None): yields the scope "a/b/"."""
    graph = graph_of(*values) if values else get_default_graph()
    if name is None and default_name is not None:
        name = default_name
    return graph.name_scope(name)


def control_dependencies(control_inputs):
    return get_default_graph().control_dependencies(control_inputs)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)
