"""Watch backward run: the chain rule at every op, with the numbers backward computes.

``explain_backward(loss)`` runs the backward pass of ``loss`` the way ``tc.grad`` does
(``autograd.backprop`` capturing the leaves' gradients: no ``.grad`` changes, the graph is
kept) and lets backprop report each op it visits (its ``watch`` argument). So the numbers
shown are not recomputed: they are the arrays backward itself produced, in the order it
produced them, and ``tc.grad`` gives the same ones bit for bit.

Each step shows an op with its hyper-parameters (``describe()``), its derivative rule in one
line (the op class's ``rule``; for a custom ``tc.Function`` without one, the first line of
its ``backward`` docstring), the gradient arriving at its output y and the gradient it
sends to each input, named as the op's ``forward`` names them (``x``, ``kernel``, ``bias``).
``viz.draw_graph(root, show_backward=True)`` draws the same steps on the graph.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from .autograd import backprop, graph_nodes
from .checks import check_int
from .function import Function

__all__ = ["BackwardStep", "explain_backward", "operand_names", "rule_of"]


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One op as backward visits it (``index`` 1 is the op that made the root)."""

    index: int
    op: str  # the op's label with its hyper-parameters: "conv2d 3×3 s1 same"
    rule: str  # its derivative rule in one line
    grad_output: np.ndarray  # ∂L/∂y: the gradient summed at the op's output y
    grad_inputs: tuple  # ∂L/∂input for each input, in forward's order; None where none is sent
    output: object  # the Tensor y
    inputs: tuple  # the op's input Tensors
    input_names: tuple  # how the op's forward names them: ("x", "kernel", "bias")


@dataclass(frozen=True, eq=False)
class _Walk:
    steps: list
    leaves: list  # (leaf Tensor, its final gradient) in the order backward finished them
    seed: np.ndarray
    root: object


def rule_of(op) -> str:
    """The op's derivative rule: its ``rule``, else the first line of the docstring of the
    ``backward`` (or ``derivative``) its class wrote, else a line saying there is none."""
    rule = getattr(op, "rule", None)
    if rule:
        return rule
    for cls in type(op).__mro__:
        if cls is Function:
            break  # the base class's docstrings describe the machinery, not this op
        for method in ("backward", "derivative"):
            doc = getattr(cls.__dict__.get(method), "__doc__", None)
            first = next((line.strip() for line in (doc or "").splitlines() if line.strip()),
                         None)
            if first:
                return f"{op.name}: {first}"
    return f"{op.name}: no rule given (its class has no `rule` and its backward no docstring)"


def operand_names(op) -> tuple:
    """Names of the op's inputs as its ``forward`` calls them: ``("x", "kernel", "bias")``.

    A lone input that forward calls ``a`` reads ``x``, as the rules write y = f(x).
    """
    count = len(op.parents)
    try:
        params = list(inspect.signature(type(op).forward).parameters.values())[1:]  # no self
    except (TypeError, ValueError):  # a forward that inspect cannot read
        params = []
    names = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            names += [f"{p.name}[{i}]" for i in range(count - len(names))]
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    names = names[:count]
    if names == ["a"]:
        names = ["x"]
    return tuple(names) + tuple(f"input {i}" for i in range(len(names), count))


def _seed(root, grad_output) -> np.ndarray:
    if grad_output is None:
        if root.size != 1:
            raise ValueError(f"root has shape {root.shape}; a non-scalar root needs "
                             f"grad_output, an array of that shape to start backward from")
        return np.ones_like(root.data)
    g = np.asarray(grad_output.data if hasattr(grad_output, "_ctx") else grad_output)
    if g.dtype.kind not in "fiu":
        raise TypeError(f"grad_output must hold numbers; got dtype {g.dtype}")
    if g.shape != root.shape:
        raise ValueError(f"grad_output has shape {g.shape} but root has shape {root.shape}; "
                         f"they must be equal")
    return np.array(g, dtype=root.dtype)


def trace(root, grad_output=None) -> _Walk:
    """Run backward from ``root`` without touching ``.grad`` and keep what each op did."""
    if not hasattr(root, "_ctx"):
        raise TypeError(f"root must be a tinygrad_cnn Tensor (e.g. the loss); got "
                        f"{type(root).__name__} {root!r:.60}")
    if not root.requires_grad:
        raise ValueError("root does not require grad: it does not depend on any tensor with "
                         "requires_grad=True (or it ran under no_grad()), so backward has "
                         "nothing to do")
    seed = _seed(root, grad_output)
    leaves = [t for t in graph_nodes([root]) if t._ctx is None]
    seen = []

    def watch(node, grad, input_grads):
        seen.append((node, grad, input_grads))

    found = backprop([root], [seed.copy()], retain_graph=True, capture=leaves, watch=watch)
    steps = []
    for index, (node, grad, input_grads) in enumerate(seen, 1):
        op = node._ctx
        sent = tuple(None if g is None or not parent.requires_grad else np.array(g)
                     for parent, g in zip(op.parents, input_grads))
        steps.append(BackwardStep(index, op.describe(), rule_of(op), np.array(grad), sent,
                                  node, tuple(op.parents), operand_names(op)))
    finished = [(t, np.array(found[t], dtype=t.dtype)) for t in leaves if t in found]
    return _Walk(steps, finished, seed, root)


# ------------------------------------------------------------------------ the printout
def format_values(a, max_values: int) -> str:
    """Every value of a small array (4 significant digits); a large one as its summary."""
    a = np.asarray(a)
    if a.size > max_values:
        g = a.astype(np.float64)
        return (f"shape {a.shape}, norm {np.sqrt(np.sum(g * g)):.4g}, min {g.min():.4g}, "
                f"max {g.max():.4g}")
    if a.ndim == 0:
        return f"{a.item():.4g}"
    width = max((len(f"{v:.4g}") for v in a.ravel()), default=1)
    text = np.array2string(a, separator=", ", max_line_width=88,
                           formatter={"all": lambda v: f"{v:.4g}".rjust(width)})
    return "\n".join(line.rstrip() for line in text.split("\n") if line.strip())


def _leaf_names(walk: _Walk) -> dict:
    names, unnamed = {}, 0
    for t in [t for t, _ in walk.leaves] + [t for s in walk.steps for t in s.inputs]:
        if id(t) in names or t._ctx is not None:
            continue
        if t.name:
            names[id(t)] = t.name
        elif t.requires_grad:
            unnamed += 1
            names[id(t)] = f"unnamed leaf #{unnamed} {t.shape}"
        else:
            names[id(t)] = "an input"
    return names


def _lines(walk: _Walk, max_values: int) -> list[str]:
    step_of = {id(s.output): s for s in walk.steps}
    leaf_names = _leaf_names(walk)

    def where(t) -> str:
        if t._ctx is None:
            return leaf_names[id(t)]
        s = step_of.get(id(t))
        return f"step {s.index} ({s.op})" if s else t._ctx.describe()

    def table(rows) -> list[str]:
        """Rows (label, text, destination) as aligned columns; a long value on its own lines."""
        width = max(len(label) for label, _, _ in rows)
        texts = [text.split("\n") for _, text, _ in rows]
        column = max((len(t[0]) for t, (_, _, to) in zip(texts, rows) if len(t) == 1 and to),
                     default=0)
        pad = " " * (8 + width + 2)
        lines = []
        for (label, _, to), text in zip(rows, texts):
            arrow = f"  → {to}" if to else ""
            if len(text) == 1:
                lines.append(f"        {label:<{width}}  {text[0]:<{column}}{arrow}".rstrip())
            else:
                lines.append(f"        {label:<{width}}{arrow}")
                lines += [pad + line for line in text]
        return lines

    root = walk.root
    value = f" = {root.data.item():.4g}" if root.size == 1 else ""
    seed = ("∂L/∂L = 1" if root.size == 1 and np.all(walk.seed == 1)
            else "∂L/∂root = the grad_output given")
    out = [f"L{value}, a {root.shape} {root.dtype} tensor. Backward starts from {seed} and "
           f"visits {len(walk.steps)} ops;",
           "at each: its rule, the gradient ∂L/∂y at its output y, and the gradient sent to "
           "each input."]
    for s in walk.steps:
        rows = [("rule", s.rule, None), ("∂L/∂y", format_values(s.grad_output, max_values),
                                         None)]
        for name, parent, g in zip(s.input_names, s.inputs, s.grad_inputs):
            if g is not None:
                rows.append((f"∂L/∂{name}", format_values(g, max_values), where(parent)))
            elif not parent.requires_grad:
                rows.append((f"∂L/∂{name}", f"none sent: {name} ({where(parent)}) does not "
                                            f"require grad", None))
            else:
                rows.append((f"∂L/∂{name}", "none sent: backward returned None", None))
        out.append(f"step {s.index}  {s.op}")
        rule, *gradients = table(rows)
        out += [rule.rstrip()] + gradients
    if walk.leaves:
        out.append("Leaves, with their final gradients (what L.backward() would add to .grad):")
        out += table([(leaf_names[id(t)], format_values(g, max_values), None)
                      for t, g in walk.leaves])
    return out


def explain_backward(root, max_values=6, grad_output=None) -> list:
    """Run ``root``'s backward pass on its own and print every step of it.

    Like ``tc.grad``: no ``.grad`` changes and the graph is kept, so ``root.backward()``
    still works afterwards. Prints one numbered step per op, in the order backward visits
    them: the op with its hyper-parameters, its derivative rule in one line, the gradient
    arriving at its output and the gradient sent to each input; then every leaf
    (parameters by their layer name, ``conv2d.kernel``) with its final gradient.

    Args:
        root: the Tensor to backpropagate from, usually a scalar loss.
        max_values: a tensor of at most this many elements is printed in full; a larger
            one as its shape, norm, min and max.
        grad_output: the gradient to start from, an array of ``root``'s shape; needed when
            ``root`` is not a scalar (default: 1).

    Returns:
        A list of ``BackwardStep``, one per op (``index``, ``op``, ``rule``, ``grad_output``,
        ``grad_inputs``, and the ``output``/``inputs`` Tensors with ``input_names``): the
        arrays backward computed, copied.

    Raises:
        TypeError/ValueError: root is not a Tensor or does not require grad, a bad
            ``max_values``, a non-scalar root without ``grad_output``, or a ``grad_output``
            of the wrong shape.
        RuntimeError: the graph was already released by a ``backward()``.
    """
    max_values = check_int(max_values, "max_values", 1, "tensors of at most this many "
                                                        "elements are printed in full")
    walk = trace(root, grad_output)
    print("\n".join(_lines(walk, max_values)))
    return walk.steps
