"""Optimizers over the library's tfm_optimizer: minimize() adds the gradients and
one update op per variable (ApplyGradientDescent / ApplyMomentum / ApplyAdam)."""
from .. import _lib, errors
from .._lib import fn, cstr
from ..framework import Tensor, TensorOperators, convert_to_tensor, graph_of


class Optimizer:
    """Base class; holds the library's optimizer (freed with this object)."""

    def __init__(self, use_locking, name):
        self._name = name
        self._handle = None
        self._learning_rate = None

    def get_name(self):
        return self._name

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._handle = None
            fn.tfm_optimizer_delete(handle)

    def _create(self, learning_rate, cfunc, *args):
        """Creates the C optimizer; a Tensor learning rate is set at minimize() time."""
        self._learning_rate = learning_rate
        rate = 0.0 if isinstance(learning_rate, (Tensor, TensorOperators)) else float(learning_rate)
        self._handle = _lib.call(cfunc, rate, *args)

    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=1, aggregation_method=None,
                 colocate_gradients_with_ops=False, name=None, grad_loss=None):
        if grad_loss is not None:
            raise errors.unimplemented("Optimizer.minimize(grad_loss=...)")
        graph = graph_of(loss)
        loss = convert_to_tensor(loss, graph=graph)
        if isinstance(self._learning_rate, (Tensor, TensorOperators)):
            rate = convert_to_tensor(self._learning_rate, graph=graph)
            if rate.dtype is not loss.dtype:
                from ..math_ops import cast
                with graph.as_default():
                    rate = cast(rate, loss.dtype)
            _lib.call(fn.tfm_optimizer_set_learning_rate_tensor, self._handle, rate._ptr)
        handles = None if var_list is None else [self._variable(v)._handle for v in var_list]
        step = self._variable(global_step)._handle if global_step is not None else None
        op = _lib.call(fn.tfm_optimizer_minimize, self._handle, graph._builder_ptr, loss._ptr,
                       _lib.handles(handles), 0 if handles is None else len(handles), step, cstr(name))
        return graph._wrap_op(op)

    @staticmethod
    def _variable(v):
        from ..variables import Variable
        if not isinstance(v, Variable):
            raise TypeError("Optimizer: %r is not a tf.Variable" % (v,))
        return v

    def compute_gradients(self, loss, var_list=None, **kwargs):
        from ..gradients import gradients
        from ..variables import trainable_variables
        with graph_of(loss).as_default():
            var_list = list(var_list) if var_list is not None else trainable_variables()
        grads = gradients(loss, var_list)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        raise errors.unimplemented("%s.apply_gradients (use minimize())" % type(self).__name__)


class GradientDescentOptimizer(Optimizer):
    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._create(learning_rate, fn.tfm_optimizer_gradient_descent)


    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """var -= learning_rate * grad through ApplyGradientDescent, one op per pair."""
        from ..array_ops import identity
        from ..control_flow_ops import group
        from ..state_ops import assign_add
        pairs = [(g, self._variable(v)) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable: %s" % [v for _, v in grads_and_vars])
        graph = pairs[0][1].graph
        name = name or self._name
        updates = []
        with graph.as_default(), graph.name_scope(name):
            rate = self._learning_rate
            for grad, var in pairs:
                grad = convert_to_tensor(grad, graph=graph)
                lr = convert_to_tensor(rate, var.dtype, graph=graph)
                updates.append(graph.create_op("ApplyGradientDescent", [var._ref_tensor(), lr, grad],
                                               name="update_" + var.op.name.replace("/", "_"),
                                               attrs={"T": var.dtype, "use_locking": False}))
            if global_step is None:
                return group(*updates, name="apply")
            with graph.control_dependencies(updates):
                return identity(assign_add(global_step, 1)).op


class MomentumOptimizer(Optimizer):
    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(use_locking, name)
        self._create(learning_rate, fn.tfm_optimizer_momentum, float(momentum), int(bool(use_nesterov)))


class AdamOptimizer(Optimizer):
    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08, use_locking=False,
                 name="Adam"):
        super().__init__(use_locking, name)
        self._create(learning_rate, fn.tfm_optimizer_adam, float(beta1), float(beta2), float(epsilon))
