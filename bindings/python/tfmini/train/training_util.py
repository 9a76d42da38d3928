"""The global step and learning-rate schedules."""
from .. import _lib, errors
from .._lib import cstr, fn
from ..framework import GraphKeys, convert_to_tensor, get_default_graph


def get_or_create_global_step(graph=None):
    graph = graph or get_default_graph()
    return graph._wrap_variable(_lib.call(fn.tfm_train_get_or_create_global_step, graph._builder_ptr))


def create_global_step(graph=None):
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    return get_or_create_global_step(graph)


def get_global_step(graph=None):
    graph = graph or get_default_graph()
    items = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(items) > 1:
        raise TypeError("Multiple tensors in global_step collection.")
    return items[0] if items else None


def global_step(sess, global_step_tensor):
    return int(sess.run(global_step_tensor))


def _decay(cfunc, learning_rate, global_step, decay_steps, decay_rate, staircase, name):
    if global_step is None:
        raise ValueError("global_step is required for a decay schedule.")
    graph = getattr(global_step, "graph", None) or get_default_graph()
    step = convert_to_tensor(global_step, graph=graph)
    if not isinstance(learning_rate, (int, float)):
        raise errors.unimplemented("a learning-rate schedule whose initial rate is a Tensor")
    return graph._wrap_tensor(_lib.call(cfunc, graph._builder_ptr, float(learning_rate), step._ptr,
                                        float(decay_steps), float(decay_rate), int(bool(staircase)),
                                        cstr(name)))


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    return _decay(fn.tfm_train_exponential_decay, learning_rate, global_step, decay_steps, decay_rate,
                  staircase, name)


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    return _decay(fn.tfm_train_inverse_time_decay, learning_rate, global_step, decay_steps, decay_rate,
                  staircase, name)
