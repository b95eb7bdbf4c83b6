"""The backward walk: reverse-mode autograd over the graph that ``Function.apply`` recorded.

``backprop`` visits every tensor that leads to the roots once, children before parents
(creation order: a parent is always older than its child), so the walk is iterative and
deterministic. At each tensor the gradient summed from all its uses is complete; its op's
backward turns it into one gradient per input.

Two modes share the walk:

- first order (the default, and ``Tensor.backward``): gradients are ndarrays and each op's
  ``backward`` runs on arrays, nothing is recorded;
- ``create_graph=True`` (``tc.grad``): gradients are Tensors and each op's
  ``backward_graph`` computes them with Tensor operations, which are recorded, so the
  gradients can be differentiated again.

The module also holds the rest of autograd's state and rules, so a reader looks in one
place: the grad mode that ``Function.apply`` reads (``no_grad``), and what happens at each
tensor on the way back (its hooks, whether and how its ``.grad`` is kept).

It sits below ``function.py`` and imports nothing of the package but ``checks`` and
``workspace``: Tensors are recognised by their ``_ctx`` attribute and new ones are made
with the class of the tensors at hand.
"""

from __future__ import annotations

import contextlib
import operator
import warnings

import numpy as np

from . import workspace
from .checks import check_bool, user_stacklevel

# ----------------------------------------------------------------------------- grad mode
# Read by every ``Function.apply``, so it is a plain module attribute, not a call.
_grad_enabled = True


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, enabled
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager (or decorator) under which ops record nothing: inference, updates."""
    return _grad_mode(False)


def enable_grad():
    """Context manager (or decorator) that records again inside ``no_grad``, as PyTorch's."""
    return _grad_mode(True)


def is_grad_enabled() -> bool:
    """Whether ops record their graph here (False inside ``no_grad``)."""
    return _grad_enabled


# ------------------------------------------------------------------- at each tensor
def _is_tensor(x) -> bool:
    return hasattr(x, "_ctx")


def register_hook(t, fn) -> None:
    """``Tensor.register_hook``: ``fn(grad)`` runs when the walk reaches ``t``."""
    if not callable(fn):
        raise TypeError(f"register_hook: fn must be callable, fn(grad) -> None or ndarray; "
                        f"got {type(fn).__name__} {fn!r:.60}")
    if not t.requires_grad:
        raise ValueError("register_hook() on a tensor that does not require grad: no "
                         "gradient will ever flow into it")
    t._hooks = (*t._hooks, fn)


def run_hooks(t, g):
    """``t``'s gradient after its hooks: each sees an ndarray and may return a replacement."""
    recorded = _is_tensor(g)  # create_graph: hooks still see an ndarray
    for fn in t._hooks:
        result = fn(g.data if recorded else g)
        if result is None:
            continue
        result = np.asarray(result.data if _is_tensor(result) else result)
        if result.shape != t.shape:
            raise ValueError(f"a hook returned a gradient of shape {result.shape} for a "
                             f"tensor of shape {t.shape}; return None or an array of "
                             f"that shape")
        result = result.astype(t.dtype, copy=False)
        g = type(t)._from_op(result) if recorded else result
    return g


def retain_grad(t) -> None:
    """``Tensor.retain_grad``: the walk keeps ``t.grad`` although ``t`` is not a leaf."""
    if not t.requires_grad:
        raise ValueError("retain_grad() on a tensor that does not require grad: it will "
                         "never get a gradient")
    t._retains_grad = True


def accumulate_grad(t, g, stored: set) -> None:
    """Add ``g`` to ``t.grad``; ``stored`` holds the ids of arrays already some ``.grad``."""
    if type(g) is not np.ndarray or g.dtype != t.dtype:
        g = np.asarray(g, dtype=t.dtype)  # numpy scalars from 0-d ops, other dtypes
    elif not (g.flags.owndata or workspace.owns(g)) or id(g) in stored:
        # Never alias an array another node may also hold: a view of an upstream
        # gradient, or the very array `AddOp.backward` handed to both of its inputs.
        g = g.copy()
    if t.grad is None:
        t.grad = g
        stored.add(id(g))
    else:
        t.grad = t.grad + g


# ------------------------------------------------------------------------- the walk
_creation_order = operator.attrgetter("_id")


def graph_nodes(roots) -> list:
    """Every tensor requiring grad that leads to the roots, children before parents."""
    seen = set(roots)  # tensors hash by identity
    stack, nodes = list(roots), []
    while stack:
        node = stack.pop()
        nodes.append(node)
        ctx = node._ctx
        if ctx is not None:
            for parent in ctx.parents:
                if parent.requires_grad and parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    nodes.sort(key=_creation_order, reverse=True)
    return nodes


def _checked(ctx, grads, create_graph: bool = False) -> tuple:
    """The op's gradients, after checking there is one per input with the input's shape
    (and, for a custom op, of the input's dtype and of the kind this walk computes in)."""
    parents = ctx.parents
    if type(grads) is not tuple or len(grads) != len(parents):
        if not isinstance(grads, (tuple, list)) or len(grads) != len(parents):
            count = (len(grads) if isinstance(grads, (tuple, list))
                     else f"a {type(grads).__name__}")
            raise ValueError(f"op '{ctx.name}' ({type(ctx).__name__}): backward returned "
                             f"{count} gradient(s) for {len(parents)} input(s); return a tuple "
                             f"with one gradient (or None) per input of forward")
    custom = ctx.custom
    for i, (parent, g) in enumerate(zip(parents, grads)):
        if g is None:
            continue
        if custom and parent.requires_grad:
            _check_custom_gradient(ctx, i, parent, g, create_graph)
        shape = getattr(g, "shape", None)
        if shape is None:  # a Python number from a custom backward
            shape = np.shape(g)
        if shape != parent.shape:
            raise ValueError(f"op '{ctx.name}' ({type(ctx).__name__}): backward returned a "
                             f"gradient of shape {np.shape(g)} for input {i}, whose shape is "
                             f"{parent.shape}; each gradient must have its input's shape")
    return grads


def _check_custom_gradient(ctx, i: int, parent, g, create_graph: bool) -> None:
    """A custom op's gradient for input ``i``: an ndarray in the first-order walk, a Tensor
    under ``create_graph``, in the input's dtype (a Python number is taken as it is)."""
    op, method = f"op '{ctx.name}' ({type(ctx).__name__})", ctx.gradient_method(create_graph)
    if create_graph and not _is_tensor(g):
        raise TypeError(
            f"{op}: {method} returned {type(g).__name__} for input {i} under "
            f"create_graph=True; return Tensors computed with Tensor operations from grad, "
            f"inputs and output (e.g. grad * inputs[0]), so the gradient is recorded and can "
            f"be differentiated again; arrays (.data, self.saved) only as constant factors")
    if not create_graph and _is_tensor(g):
        if method == "derivative":
            raise TypeError(f"{op}: derivative returned a Tensor for input {i} from ndarrays; "
                            f"in a first-order backward it gets ndarrays and must return "
                            f"ndarrays: use only the operations that arrays and Tensors "
                            f"share (docs/custom_ops.md)")
        raise TypeError(f"{op}: backward returned a Tensor for input {i}; backward works on "
                        f"ndarrays and must return ndarrays (a Tensor's array is t.data). "
                        f"Gradients in Tensor operations belong in backward_graph(self, "
                        f"grad, inputs, output), which create_graph=True calls")
    dtype = getattr(g, "dtype", None)
    if dtype is not None and dtype != parent.dtype:
        raise ValueError(
            f"{op}: {method} returned a {dtype} gradient for input {i}, whose dtype is "
            f"{parent.dtype}; return each gradient in its input's dtype (e.g. "
            f"g.astype(x.dtype), or compute it from grad and the input only)")


class _BackwardWarnings:
    """numpy's floating-point warnings inside a backward, reported once with the op's name."""

    def __init__(self):
        self.op = None
        self.reported = set()

    def __call__(self, kind: str, flag: int) -> None:
        if self.op is not None and (self.op.name, kind) not in self.reported:
            self.reported.add((self.op.name, kind))
            what = {"divide by zero": "divided by zero", "overflow": "overflowed",
                    "invalid value": "met an invalid value (0/0, inf−inf)"}.get(kind, kind)
            warnings.warn(f"the backward of '{self.op.name}' {what}, so some gradients are "
                          f"inf or nan (e.g. sqrt or log at 0, as in PyTorch); check the "
                          f"inputs of '{self.op.name}'", RuntimeWarning,
                          stacklevel=user_stacklevel())


def backprop(roots, root_grads, *, retain_graph: bool, create_graph: bool = False,
             capture=None, watch=None):
    """Push ``root_grads`` back from ``roots``.

    With ``capture=None`` the gradients accumulate into ``.grad`` of the leaves (and of
    tensors that called ``retain_grad()``; with ``retain_graph`` of every tensor, for
    drawing). Otherwise ``capture`` lists the tensors whose gradients are returned, in a
    dict keyed by tensor, and no ``.grad`` is touched.

    ``watch(tensor, grad, input_grads)``, if given, is called after each op's backward with
    the tensor the op made, the gradient summed there and what the op returned for each
    input: ``explain_backward`` shows the walk from these, so it needs no walk of its own.
    """
    order = graph_nodes(roots)
    pending = {}  # tensor -> gradient summed so far
    for root, g in zip(roots, root_grads):
        pending[root] = g if root not in pending else pending[root] + g
    wanted = None if capture is None else set(capture)
    found = {}
    stored: set[int] = set()  # ids of arrays that became some tensor's .grad in this call
    reporter = _BackwardWarnings()
    with np.errstate(divide="call", over="call", invalid="call", call=reporter):
        for node in order:
            g = pending.pop(node, None)
            if g is None:
                continue
            if node._hooks:
                g = run_hooks(node, g)
            ctx = node._ctx
            if wanted is not None:
                if node in wanted:
                    found[node] = g
            elif ctx is None or retain_graph or node._retains_grad:
                accumulate_grad(node, g, stored)
            if ctx is None:
                continue
            if ctx.saved is None:
                raise RuntimeError(
                    f"the graph through '{ctx.name}' was already released by an earlier "
                    f"backward(); call backward(retain_graph=True) to backprop twice"
                )
            reporter.op = ctx
            if create_graph:
                parent_grads = _checked(ctx, ctx.backward_graph(g, ctx.parents, node), True)
            else:
                parent_grads = _checked(ctx, ctx.backward(g))
            reporter.op = None
            if watch is not None:
                watch(node, g, parent_grads)
            for parent, pg in zip(ctx.parents, parent_grads):
                if pg is None or not parent.requires_grad:
                    continue
                pending[parent] = pg if parent not in pending else pending[parent] + pg
            if not retain_graph:
                ctx.release()
    return found


def backward(root, grad=None, retain_graph: bool = False) -> None:
    """``Tensor.backward``: the root's gradient checked, then ``backprop`` into ``.grad``."""
    retain_graph = check_bool(retain_graph, "retain_graph")
    if not root.requires_grad:
        raise ValueError(
            "backward() called on a tensor that does not require grad: no input of the "
            "computation had requires_grad=True (or it ran under no_grad())"
        )
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"backward() without a gradient needs a scalar root; this tensor has shape "
                f"{root.shape}. Pass backward(grad) with an array of shape {root.shape}"
            )
        grad = np.ones_like(root.data)
    else:
        grad = np.asarray(grad.data if _is_tensor(grad) else grad)
        if grad.shape != root.shape:
            raise ValueError(
                f"backward(grad): grad has shape {grad.shape} but the tensor has shape "
                f"{root.shape}; they must be equal"
            )
        grad = np.array(grad, dtype=root.dtype)  # a copy: .grad never aliases the caller's
    backprop([root], [grad], retain_graph=retain_graph)


def _as_list(value, arg: str) -> list:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for i, t in enumerate(items):
        if not hasattr(t, "_ctx"):
            where = f"{arg}[{i}]" if isinstance(value, (list, tuple)) else arg
            raise TypeError(f"{where} must be a Tensor; got {type(t).__name__} {t!r:.60}")
    return items


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs`` (``torch.autograd.grad``).

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors that require grad (leaves or not).
        grad_outputs: for each output, the gradient to start from (an ndarray or Tensor of
            its shape); may be None for scalar outputs (a gradient of 1).
        retain_graph: keep the graph for another backward; defaults to ``create_graph``.
        create_graph: record the gradients in the graph, so they can be differentiated
            again (a Hessian-vector product is ``grad((g * v).sum(), x)`` of such a ``g``).
        allow_unused: give None for an input the outputs do not depend on, instead of
            raising ValueError.

    Returns:
        A tuple of Tensors, one per input. No ``.grad`` attribute is changed.
    """
    outputs = _as_list(outputs, "outputs")
    inputs = _as_list(inputs, "inputs")
    create_graph = check_bool(create_graph, "create_graph")
    allow_unused = check_bool(allow_unused, "allow_unused")
    retain_graph = create_graph if retain_graph is None else check_bool(retain_graph,
                                                                        "retain_graph")
    if not outputs or not inputs:
        raise ValueError(f"grad() needs at least one output and one input; got "
                         f"{len(outputs)} output(s) and {len(inputs)} input(s)")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise ValueError(f"inputs[{i}] does not require grad, so it has no gradient; "
                             f"create it with requires_grad=True")
    for i, t in enumerate(outputs):
        if not t.requires_grad:
            raise ValueError(f"outputs[{i}] does not require grad: it does not depend on any "
                             f"tensor with requires_grad=True (or it ran under no_grad())")
    make = type(outputs[0])
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs has {len(grad_outputs)} entries for {len(outputs)} "
                         f"output(s); give one per output")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if out.size != 1:
                raise ValueError(f"outputs[{i}] has shape {out.shape}; a non-scalar output "
                                 f"needs grad_outputs[{i}], an array of that shape")
            g = np.ones_like(out.data)
        elif not hasattr(g, "_ctx"):
            g = np.asarray(g)
            if g.dtype.kind not in "fiu":
                raise TypeError(f"grad_outputs[{i}] must hold numbers; got dtype {g.dtype}")
        if np.shape(g) != out.shape:
            raise ValueError(f"grad_outputs[{i}] has shape {np.shape(g)} but outputs[{i}] "
                             f"has shape {out.shape}; they must be equal")
        if hasattr(g, "_ctx"):
            seeds.append(g if create_graph else g.data)
        else:
            g = np.array(g, dtype=out.dtype)
            seeds.append(make(g) if create_graph else g)
    found = backprop(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                     capture=inputs)
    result = []
    for i, t in enumerate(inputs):
        g = found.get(t)
        if g is None:
            if not allow_unused:
                raise ValueError(f"inputs[{i}] was not used to compute the outputs, so it has "
                                 f"no gradient; pass allow_unused=True to get None for it")
            result.append(None)
        elif create_graph:
            result.append(g)
        else:
            result.append(make._from_op(np.array(g, dtype=t.dtype)))
    return tuple(result)
