"""tf.no_op, tf.group, and the control-flow constructs tfmini does not have."""
from . import _lib, errors
from ._lib import fn, cstr
from .framework import _as_op, get_default_graph, graph_of


def no_op(name=None):
    graph = get_default_graph()
    return graph._wrap_op(_lib.call(fn.tfm_no_op, graph._builder_ptr, cstr(name)))


def group(*inputs, **kwargs):
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError("Unknown keyword arguments: " + ", ".join(kwargs))
    flat = []
    for x in inputs:
        flat.extend(x if isinstance(x, (list, tuple)) else [x])
    graph = graph_of(*flat)
    ops = [_as_op(x, graph)._ptr for x in flat]
    return graph._wrap_op(_lib.call(fn.tfm_group, graph._builder_ptr, _lib.handles(ops), len(ops), cstr(name)))


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TensorFlow's name
    raise errors.unimplemented("tf.tuple")


def cond(*args, **kwargs):
    raise errors.unimplemented("tf.cond (control flow)")


def while_loop(*args, **kwargs):
    raise errors.unimplemented("tf.while_loop (control flow)")
