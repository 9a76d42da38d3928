"""Variables: tf.Variable, tf.get_variable, tf.variable_scope and the variable lists.

A Variable wraps a tfm_variable (owned by its graph). Used as a tensor it is its
value ("<name>/read:0"); its .name is that of its storage ("<name>:0"), as in TF.
"""
import contextlib

from . import _lib, dtypes, errors, init_ops
from ._lib import fn, cstr
from .framework import (GraphKeys, TensorOperators, convert_to_tensor, get_default_graph, get_collection,
                        add_to_collection)
from .tensor_shape import TensorShape


class Variable(TensorOperators):
    """tf.Variable(initial_value, trainable=True, collections=None, name=None, dtype=None)."""

    def __init__(self, initial_value=None, trainable=True, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None, expected_shape=None,
                 import_scope=None, constraint=None, use_resource=None, synchronization=None,
                 aggregation=None):
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        if variable_def is not None:
            raise errors.unimplemented("tf.Variable(variable_def=...)")
        if collections is not None and GraphKeys.GLOBAL_VARIABLES not in collections:
            raise errors.unimplemented("a tf.Variable outside the global variables collection")
        graph = get_default_graph()
        if callable(initial_value):
            initial_value = initial_value()
        value = convert_to_tensor(initial_value, dtype, graph=graph)
        handle = _lib.call(fn.tfm_variable_new, graph._builder_ptr, value._ptr, int(bool(trainable)),
                           cstr(name or "Variable"))
        self._init_from(graph, handle)
        graph._variables[handle] = self
        for key in collections or ():
            if key not in (GraphKeys.GLOBAL_VARIABLES, GraphKeys.TRAINABLE_VARIABLES):
                graph.add_to_collection(key, self)

    @classmethod
    def _from_handle(cls, graph, handle):
        v = cls.__new__(cls)
        v._init_from(graph, handle)
        return v

    def _init_from(self, graph, handle):
        self._graph = graph
        self._handle = handle
        self._op_name = fn.tfm_variable_name(handle).decode()
        self._value = graph._wrap_tensor(fn.tfm_variable_value(handle))
        self._ref = graph._wrap_tensor(fn.tfm_variable_ref(handle))

    # ---- what TensorFlow shows ----
    name = property(lambda self: self._ref.name)
    graph = property(lambda self: self._graph)
    dtype = property(lambda self: self._value.dtype)
    shape = property(lambda self: self._value.shape)

    def get_shape(self):
        return self.shape

    @property
    def op(self):
        return self._graph._wrap_op(fn.tfm_variable_op(self._handle))

    @property
    def initializer(self):
        return self._graph._wrap_op(fn.tfm_variable_initializer(self._handle))

    @property
    def initial_value(self):
        return self.initializer.inputs[1]

    @property
    def trainable(self):
        return bool(fn.tfm_variable_trainable(self._handle))

    def value(self):
        return self._value

    def read_value(self):
        return self._value

    def _as_tensor(self):
        return self._value

    def _as_graph_element(self):
        return self._value

    def _ref_tensor(self):
        return self._ref

    def eval(self, session=None):
        return self._value.eval(session=session)

    def assign(self, value, use_locking=False, name=None, read_value=True):
        from .state_ops import assign
        return assign(self, value, name=name)

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        from .state_ops import assign_add
        return assign_add(self, delta, name=name)

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        from .state_ops import assign_sub
        return assign_sub(self, delta, name=name)

    def load(self, value, session=None):
        from .session import _session_for
        session = _session_for(session)
        session.run(self.initializer, feed_dict={self.initial_value: value})

    def __repr__(self):
        return "<tf.Variable '%s' shape=%s dtype=%s_ref>" % (self.name, self.shape, self.dtype.name)


# ---- variable scopes ----
AUTO_REUSE = object()  # tf.AUTO_REUSE


class VariableScope:
    """What `with tf.variable_scope(...) as scope` yields."""

    def __init__(self, name, reuse=False, initializer=None, regularizer=None, dtype=None):
        self.name = name
        self._reuse = reuse
        self.initializer = initializer
        self.regularizer = regularizer
        self.dtype = dtype
        self.original_name_scope = ""

    @property
    def reuse(self):
        return self._reuse

    def reuse_variables(self):
        self._reuse = True

    def set_initializer(self, initializer):
        self.initializer = initializer


def _scope_stack(graph=None):
    """The graph's stack of VariableScope objects, the root first."""
    graph = graph or get_default_graph()
    stack = getattr(graph, "_variable_scopes", None)
    if stack is None:
        stack = graph._variable_scopes = [VariableScope("")]
    return stack


def get_variable_scope():
    return _scope_stack()[-1]


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name=None, values=None, initializer=None, regularizer=None,
                   caching_device=None, partitioner=None, custom_getter=None, reuse=None, dtype=None,
                   use_resource=None, constraint=None, auxiliary_name_scope=True):
    graph = get_default_graph()
    stack = _scope_stack(graph)
    parent = stack[-1]
    if isinstance(name_or_scope, VariableScope):
        name = name_or_scope.name.rsplit("/", 1)[-1]
        initializer = initializer or name_or_scope.initializer
        regularizer = regularizer or name_or_scope.regularizer
        dtype = dtype or name_or_scope.dtype
    else:
        name = name_or_scope if name_or_scope is not None else default_name
    if name is None:
        raise TypeError("If default_name is None then name_or_scope is required")
    inherited = parent.reuse
    if reuse is AUTO_REUSE or (reuse is None and inherited is AUTO_REUSE):
        mode = AUTO_REUSE
    else:
        mode = bool(reuse) or inherited is True
    # The library's scope reuses only for reuse=True; AUTO_REUSE and reuse_variables()
    # are resolved here, in get_variable.
    _lib.call(fn.tfm_graph_push_variable_scope, graph._builder_ptr, cstr(name), int(mode is True))
    scope = VariableScope(parent.name + "/" + name if parent.name else name, mode,
                          initializer or parent.initializer, regularizer or parent.regularizer,
                          dtype or parent.dtype)
    scope._reuse_pushed = mode is True
    scope.original_name_scope = fn.tfm_graph_name_scope(graph._ptr).decode() + "/"
    stack.append(scope)
    try:
        yield scope
    finally:
        stack.pop()
        _lib.call(fn.tfm_graph_pop_variable_scope, graph._ptr)


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=None,
                 collections=None, caching_device=None, partitioner=None, validate_shape=True,
                 use_resource=None, custom_getter=None, constraint=None, synchronization=None,
                 aggregation=None):
    graph = get_default_graph()
    scope = _scope_stack(graph)[-1]
    dtype = dtypes.as_dtype(dtype or scope.dtype or dtypes.float32)
    trainable = True if trainable is None else trainable
    full_name = scope.name + "/" + name if scope.name else name
    if scope.reuse is AUTO_REUSE or (scope.reuse is True and not _c_scope_reuses(scope)):
        try:
            existing = graph._wrap_variable(_lib.call(fn.tfm_graph_variable_by_name, graph._ptr,
                                                      cstr(full_name)))
        except errors.NotFoundError:
            if scope.reuse is True:
                raise ValueError("Variable %s does not exist, or was not created with tf.get_variable(). "
                                 "Did you mean to set reuse=tf.AUTO_REUSE in VarScope?" % full_name)
        else:
            if shape is not None and not existing.shape.is_compatible_with(shape):
                raise ValueError("Trying to share variable %s, but specified shape %s and found shape %s."
                                 % (full_name, TensorShape(shape), existing.shape))
            return existing
    initializer = initializer or scope.initializer
    if initializer is None:
        initializer = init_ops.GlorotUniform() if dtype.is_floating else init_ops.Zeros()
    if isinstance(initializer, type):
        initializer = initializer()
    if not isinstance(initializer, init_ops.Initializer):
        raise errors.unimplemented("tf.get_variable with an initializer of type %s (use a tf.*_initializer)"
                                   % type(initializer).__name__)
    if shape is None:
        raise ValueError("Shape of a new variable (%s) must be fully defined, but instead was None." % full_name)
    dims = [int(d) for d in TensorShape(shape).as_list()]
    kind, a, b, seed = initializer.c_spec()
    handle = _lib.call(fn.tfm_get_variable, graph._builder_ptr, cstr(name), dtype.as_datatype_enum,
                       _lib.int64s(dims), len(dims), kind, a, b, seed, int(bool(trainable)))
    var = graph._wrap_variable(handle)
    regularizer = regularizer or scope.regularizer
    if regularizer is not None:
        loss = regularizer(var)
        if loss is not None:
            add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return var


def _c_scope_reuses(scope):
    """Whether the library's scope was pushed with reuse (so it resolves reuse itself)."""
    return getattr(scope, "_reuse_pushed", None) is True


def global_variables(scope=None):
    return get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def trainable_variables(scope=None):
    return get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope=None):
    return get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope=None):
    return get_collection(GraphKeys.MODEL_VARIABLES, scope)


def global_variables_initializer():
    graph = get_default_graph()
    return graph._wrap_op(_lib.call(fn.tfm_global_variables_initializer, graph._builder_ptr))


initialize_all_variables = global_variables_initializer


def variables_initializer(var_list, name="init"):
    graph = get_default_graph()
    handles = [v._handle for v in var_list]
    return graph._wrap_op(_lib.call(fn.tfm_variables_initializer, graph._builder_ptr, _lib.handles(handles),
                                    len(handles), cstr(name)))


def local_variables_initializer():
    from .control_flow_ops import no_op
    if local_variables():
        raise errors.unimplemented("local variables")
    return no_op(name="init_1")
