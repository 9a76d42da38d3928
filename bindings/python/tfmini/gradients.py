"""tf.gradients: symbolic derivatives through the library's autodiff."""
from . import _lib
from ._lib import fn
from .framework import convert_to_tensor, graph_of


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False,
              gate_gradients=False, aggregation_method=None, stop_gradients=None):
    """d(sum of ys)/d(x) for each x in xs (None where no path connects them). A
    Variable in xs stands for its value."""
    if stop_gradients is not None:
        from . import errors
        raise errors.unimplemented("tf.gradients(stop_gradients=...) (use tf.stop_gradient)")
    ys, xs = _as_list(ys), _as_list(xs)
    graph = graph_of(ys, xs)
    ys = [convert_to_tensor(y, graph=graph) for y in ys]
    xs = [convert_to_tensor(x, graph=graph) for x in xs]
    gys = None
    if grad_ys is not None:
        grad_ys = _as_list(grad_ys)
        gys = _lib.handles([convert_to_tensor(g, y.dtype, graph=graph)._ptr for g, y in zip(grad_ys, ys)])
    dxs = (_lib.c_void_p * len(xs))()
    _lib.call(fn.tfm_gradients, graph._builder_ptr, _lib.handles([y._ptr for y in ys]), len(ys),
              _lib.handles([x._ptr for x in xs]), len(xs), gys, dxs)
    return [graph._wrap_tensor(dxs[i]) if dxs[i] else None for i in range(len(xs))]
