"""Assignments to variables (tf.assign, tf.assign_add, tf.assign_sub)."""
from . import _lib, errors
from ._lib import fn, cstr
from .framework import convert_to_tensor


def _assign(cfunc, ref, value, name):
    from .variables import Variable
    if not isinstance(ref, Variable):
        raise errors.unimplemented("assigning to %r: only tf.Variable objects can be assigned" % (ref,))
    graph = ref.graph
    value = convert_to_tensor(value, ref.dtype, graph=graph)
    return graph._wrap_tensor(_lib.call(cfunc, graph._builder_ptr, ref._handle, value._ptr, cstr(name)))


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    return _assign(fn.tfm_assign, ref, value, name)


def assign_add(ref, value, use_locking=None, name=None):
    return _assign(fn.tfm_assign_add, ref, value, name)


def assign_sub(ref, value, use_locking=None, name=None):
    return _assign(fn.tfm_assign_sub, ref, value, name)
