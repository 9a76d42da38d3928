"""tf.Session: runs a graph with feeds and fetches of any nesting.

A Session owns its tfm_session and keeps its Graph alive; close() (or leaving a
`with` block) frees it early. Feed values are wrapped without copying when they
are contiguous NumPy arrays of the fed tensor's dtype; fetched values are copied
into new NumPy arrays and the library's tensors released at once.
"""
import contextlib
import threading
import weakref

from . import _lib, _prepared, errors, numpy_interop
from ._lib import fn
from .framework import Operation, Tensor, get_default_graph

_thread = threading.local()


def _session_stack():
    """This thread's stack of default sessions (as TensorFlow's, per thread)."""
    stack = getattr(_thread, "sessions", None)
    if stack is None:
        stack = _thread.sessions = []
    return stack


def get_default_session():
    stack = _session_stack()
    return stack[-1] if stack else None


def _session_for(session):
    session = session or get_default_session()
    if session is None:
        raise ValueError("Cannot evaluate tensor using `eval()`: No default session is registered. "
                         "Use `with sess.as_default()` or pass an explicit session to `eval(session=sess)`")
    return session


class _FetchPlan:
    """The unique tensors and ops of a nested fetch structure, and how to rebuild it."""

    def __init__(self, graph, fetches):
        self.graph = graph
        self.tensors = []
        self.targets = []
        self._tensor_index = {}
        self.structure = self._flatten(fetches)

    def _flatten(self, f):
        if isinstance(f, (list, tuple)):
            return ("seq", type(f), [self._flatten(x) for x in f])
        if isinstance(f, dict):
            return ("dict", type(f), [(k, self._flatten(v)) for k, v in f.items()])
        if f is None:
            raise TypeError("Fetch argument None has invalid type <class 'NoneType'>")
        element = self.graph.as_graph_element(f)
        if isinstance(element, Operation):
            if element not in self.targets:
                self.targets.append(element)
            return ("op",)
        index = self._tensor_index.get(element)
        if index is None:
            index = self._tensor_index[element] = len(self.tensors)
            self.tensors.append(element)
        return ("tensor", index)

    def rebuild(self, values, node=None):
        node = self.structure if node is None else node
        kind = node[0]
        if kind == "tensor":
            return values[node[1]]
        if kind == "op":
            return None
        if kind == "seq":
            items = [self.rebuild(values, x) for x in node[2]]
            if node[1] in (list, tuple):
                return node[1](items)
            return node[1](*items) if hasattr(node[1], "_fields") else node[1](items)
        return node[1]((k, self.rebuild(values, v)) for k, v in node[2])


_MAX_PREPARED = 64  # run signatures remembered per session


def _fetch_key(f):
    """A hashable key for a fetch structure (None: do not cache this one)."""
    if isinstance(f, (list, tuple)):
        keys = tuple(_fetch_key(x) for x in f)
        return None if None in keys else (type(f), keys)
    if isinstance(f, dict) or f is None:
        return None
    try:
        hash(f)
    except TypeError:
        return None
    return f


def _run_arrays(plan):
    fetches = [t._ptr for t in plan.tensors]
    targets = [op._ptr for op in plan.targets]
    return fetches, targets


class BaseSession:
    def __init__(self, target="", graph=None, config=None):
        if target:
            raise errors.unimplemented("distributed sessions (target=%r)" % (target,))
        self._graph = graph or get_default_graph()
        self._handle = None
        self._handle = _lib.call(fn.tfm_session_new, self._graph._ptr)
        self._callables = weakref.WeakSet()
        self._prepared = {}
        self._graph._open_sessions.add(self)

    graph = property(lambda self: self._graph)

    @property
    def graph_def(self):
        return self._graph.as_graph_def()

    def _checked_handle(self):
        if not self._handle:
            raise RuntimeError("Attempted to use a closed Session.")
        return self._handle

    def close(self):
        """Frees the library's session (its variables' values) now."""
        if self._handle:
            prepared, self._prepared = self._prepared, {}
            for p in prepared.values():
                p.delete()
            for c in list(self._callables):
                c._delete()
            handle, self._handle = self._handle, None
            fn.tfm_session_delete(handle)

    def __del__(self):
        if getattr(self, "_handle", None):
            self.close()

    @contextlib.contextmanager
    def as_default(self):
        stack = _session_stack()
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def __enter__(self):
        self._default = self.as_default()
        self._default.__enter__()
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self._default.__exit__(exc_type, exc_value, tb)
        self.close()

    # ---- running ----
    def _feeds(self, feed_dict):
        """(fed tensors, C tensors) from a feed_dict; the caller releases the C tensors."""
        keys, values = [], []
        try:
            for key, value in (feed_dict or {}).items():
                tensor = self._feed_tensor(key)
                if isinstance(value, (Tensor, Operation)) or hasattr(value, "_as_tensor"):
                    raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed "
                                    "values include Python scalars, strings, lists, numpy ndarrays.")
                keys.append(tensor._ptr)
                values.append(numpy_interop.to_c_tensor(numpy_interop.to_ndarray(value, tensor.dtype)))
        except Exception:
            for v in values:
                fn.tfm_tensor_release(v)
            raise
        return keys, values

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        # The same fetches and feed keys as an earlier run: its prepared callable.
        key = _fetch_key(fetches)
        if key is not None and self._handle:
            key = (key, tuple(feed_dict)) if feed_dict else (key, ())
            prepared = self._prepared.get(key)
            if prepared is None and len(self._prepared) < _MAX_PREPARED and _prepared.available():
                plan = _FetchPlan(self._graph, fetches)
                feeds = [self._feed_tensor(k) for k in key[1]]
                prepared = self._prepared[key] = _prepared.PreparedRun(self, plan, feeds)
            if prepared is not None and prepared.lock.acquire(False):
                try:
                    return prepared.run(feed_dict.values() if feed_dict else ())
                finally:
                    prepared.lock.release()
        return self._run_general(fetches, feed_dict)

    def _feed_tensor(self, key):
        tensor = self._graph.as_graph_element(key)
        if not isinstance(tensor, Tensor):
            raise TypeError("Cannot interpret feed_dict key %r as a Tensor" % (key,))
        return tensor

    def _run_general(self, fetches, feed_dict):
        handle = self._checked_handle()
        plan = _FetchPlan(self._graph, fetches)
        fetch_ptrs, target_ptrs = _run_arrays(plan)
        feed_keys, feed_values = self._feeds(feed_dict)
        out = (_lib.c_void_p * max(len(fetch_ptrs), 1))()
        try:
            _lib.call(fn.tfm_session_run, handle, _lib.handles(feed_keys), _lib.handles(feed_values),
                      len(feed_keys), _lib.handles(fetch_ptrs), out, len(fetch_ptrs),
                      _lib.handles(target_ptrs), len(target_ptrs))
        finally:
            for v in feed_values:
                fn.tfm_tensor_release(v)
        return plan.rebuild(numpy_interop.take_c_tensors(out, len(fetch_ptrs)))

    def make_callable(self, fetches, feed_list=None, accept_options=False):
        """A function running `fetches` with positional feed values for `feed_list`."""
        return _Callable(self, fetches, feed_list or [])


class _Callable:
    """Session.make_callable: a prepared run called with positional feed values."""

    def __init__(self, session, fetches, feed_list):
        self._session = session
        plan = _FetchPlan(session.graph, fetches)
        self._n_feeds = len(feed_list)
        self._prepared = _prepared.PreparedRun(session, plan, [session._feed_tensor(f) for f in feed_list])
        session._callables.add(self)

    def __call__(self, *feed_values):
        prepared = self._prepared
        if prepared is None or not prepared.handle:
            raise RuntimeError("Attempted to use a callable of a closed Session.")
        if len(feed_values) != self._n_feeds:
            raise TypeError("callable takes %d feed values, got %d" % (self._n_feeds, len(feed_values)))
        with prepared.lock:  # one thread at a time: the feed buffers are shared
            return prepared.run(feed_values)

    def _delete(self):
        prepared, self._prepared = getattr(self, "_prepared", None), None
        if prepared is not None:
            prepared.delete()

    def __del__(self):
        self._delete()


class Session(BaseSession):
    """tf.Session(target='', graph=None, config=None); config is accepted and ignored."""


class InteractiveSession(BaseSession):
    """A Session that makes itself the default session on creation."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        _session_stack().append(self)

    def close(self):
        stack = _session_stack()
        if self in stack:
            stack.remove(self)
        super().close()
